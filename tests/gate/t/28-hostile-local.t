#!/bin/bash
# A hostile local user against the agent's socket: a flood of connections
# must not freeze the logins of others, held connections must not crowd
# out root (the PAM stack of every service), a stalled session is closed,
# records over a caller's budget are dropped unparsed, a frozen agent does
# not hang a login, and status tells others' activity to admins only.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"

if [ "$(id -u)" != 0 ] || ! command -v setpriv > /dev/null; then
	echo "1..0 # SKIP needs root and setpriv to act as another user"
	exit 0
fi
# the other user runs a copy in $T: the checkout may sit where it cannot go
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
HOSTILE="/usr/bin/python3 $(share "$TOP/tests/tools/hostile.py") $SOCK"
# slower under the sanitizers, which is not what is measured here
BOUND_MS=1000
[ -n "${FG_SANITIZE:-}" ] && BOUND_MS=3000

ms() { date +%s%3N; }
# wait_connections N: until the agent holds N connections besides the one
# asking (it sees a hang-up only when it next polls)
connections() {
	ctl --json status | sed -n 's/.*"connections": \([0-9]*\).*/\1/p'
}
wait_connections() {
	wait_for 30 eval "[ \"\$(connections)\" = $(($1 + 1)) ]" ||
		{ diag "the agent still holds $(connections) connections"; return 1; }
}

agent_start
enrol alice > /dev/null 2>&1
ok $? "enrol alice"

# --- a flood of connections by one unprivileged user ---
as_nobody $HOSTILE flood 10 > "$T/flood.out" 2> "$T/flood.err" &
flooder=$!
wait_for 30 grep -q flooding "$T/flood.out"
worst=0
answered=0
for _ in $(seq 8); do
	t0=$(ms)
	ctl status > /dev/null 2>> "$T/status.err" && answered=$((answered + 1))
	dt=$(($(ms) - t0))
	[ "$dt" -gt "$worst" ] && worst=$dt
	sleep 0.5
done
pam_auth alice < /dev/null
login=$?
wait "$flooder"
like "$(cat "$T/flood.out")" "connects [0-9]+" "the flooder ran ($(tail -n 1 "$T/flood.out") $(cat "$T/flood.err"))"
is "$answered" 8 "status answered every time during the flood"
ok $((! (worst < BOUND_MS))) "each within ${BOUND_MS} ms (worst $worst ms; it took 8 s before)"
ok $login "a root PAM login with the key succeeds during the flood"
agent_alive
ok $? "the agent is still up"

# --- held connections: the last slots are root's ---
write_conf << 'CONF'
[limits]
max_connections = 8
max_connections_per_uid = 16
challenge_timeout = 2
idle_timeout = 30
CONF
agent_stop
agent_start
as_nobody $HOSTILE hold 12 20 > "$T/hold.out" 2>&1 &
holder=$!
wait_for 30 grep -q held "$T/hold.out"
is "$(cat "$T/hold.out")" "held 7" "a user holds every slot but root's reserved one (max 8, 1 reserved)"
pam_auth alice < /dev/null
ok $? "root's PAM login still gets through on the reserved slot"
ctl status > /dev/null
ok $? "and so does root's status"
kill "$holder" 2> /dev/null
wait "$holder" 2> /dev/null
wait_connections 0

# a connection that holds a session without progress is closed once its
# challenge has expired (challenge_timeout 2 s, plus 5 s to hear why)
got=$(as_nobody $HOSTILE stall 60 2>&1)
like "$got" "<closed> after ([7-9]|[1-5][0-9]) s" "a stalled session's connection is closed after its challenge expires ($got)"

# --- status: others' activity is for admins ---
mine=$(as_nobody "$BUILD/fido2gatectl" --socket "$SOCK" --json status 2>&1)
like "$mine" '"version"' "a user's status answers"
unlike "$mine" "pending_challenges|connections|rate_tracked|dropped_unread" \
	"and tells nothing of others' logins"
like "$(ctl --json status)" '"pending_challenges"' "an admin's status tells them"

# --- records over the caller's budget are dropped unparsed ---
write_conf << 'CONF'
[rate_limit]
caller_rate = 1
caller_burst = 3
CONF
agent_stop
agent_start
before=$(ctl --json status | sed -n 's/.*"dropped_unread": \([0-9]*\).*/\1/p')
got=$(as_nobody $HOSTILE garbage 20 2>&1)
like "$got" "replies 20" "each of 20 large garbage records is answered ($got)"
after=$(ctl --json status | sed -n 's/.*"dropped_unread": \([0-9]*\).*/\1/p')
ok $((! (after - before >= 16))) "at least 16 were over the budget and dropped unparsed ($before -> $after)"

# --- a frozen agent with a full queue does not hang a login ---
kill -STOP "$AGENT_PID"
$HOSTILE fill 60 > "$T/fill.out" 2>&1 &
filler=$!
wait_for 30 grep -q filled "$T/fill.out"
like "$(cat "$T/fill.out")" "filled [0-9]+" "the agent's listen queue is full"
t0=$(ms)
OUT=$(env LD_PRELOAD="$PRE$PAM_WRAPPER_SO:$SOFTKEY_SO" PAM_WRAPPER=1 \
	PAM_WRAPPER_SERVICE_DIR="$T/pam.d" timeout 60 setsid pamtester gate alice \
	authenticate 2>&1 < /dev/null)
st=$?
dt=$(($(ms) - t0))
ok $((st == 0 || st == 124)) "the login is refused, not hung (exit $st after $dt ms)"
like "$OUT" "unavailable" "and the user is told the service is unavailable"
kill "$filler" 2> /dev/null
wait "$filler" 2> /dev/null
kill -CONT "$AGENT_PID"
ctl status > /dev/null
ok $? "the agent serves again once it runs"

done_testing
