#!/bin/bash
# Abuse limits: backoff after failed attempts, a lockout that only an admin
# clears (and that outlives the agent), a token bucket per calling uid,
# caps on connections, pending challenges and message size, and idle
# connections closed. Each limit is set small here and seen to bite.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"

# Debian's python3, and the script copied where nobody can read it (the
# tests also run it as nobody, and the checkout may be out of its reach)
PEER="/usr/bin/python3 $(share "$TOP/tests/tools/sockpeer.py")"
# until the agent has seen every hang-up, its listening socket then the only
# socket it holds (with, on PostgreSQL, its one connection to the store):
# it accepts newcomers before it reads hang-ups, so a client that comes
# too soon after a full house is turned away
IDLE_SOCKETS=1
! on_postgresql || IDLE_SOCKETS=2
all_hung_up() {
	[ "$(ls -l "/proc/$AGENT_PID/fd" | grep -c 'socket:')" = "$IDLE_SOCKETS" ]
}
wait_hangups() { wait_for 30 all_hung_up || diag "the agent still holds a connection"; }

write_conf << 'CONF'
[rate_limit]
backoff_after = 2
backoff_base = 6
backoff_max = 8
lockout_after = 4
failure_window = 60
CONF
agent_start
enrol alice > /dev/null 2>&1
ok $? "enrol alice"

# --- backoff per user ---
pam_auth alice SOFTKEY_STATE="$T/other" < /dev/null
pam_auth alice SOFTKEY_STATE="$T/other" < /dev/null
ok $((! $?)) "two failed attempts with another key"
# the second failure's pam_fail_delay (1.5 to 2.5 s) and a pamtester start
# pass before this attempt: backoff_base leaves a margin for a busy machine
pam_auth alice < /dev/null
ok $((! $?)) "backoff_refuses_even_the_right_key_right_after_failures"
like "$OUT" "try again in [1-6] s" "the user is told how long to wait"
audit_has "auth.begin +alice +deny .*backing off"
ok $? "the refusal is audited"
# two fail delays (at least 1.5 s each) and this sleep: past the 6 s
sleep 4
pam_auth alice < /dev/null
ok $? "after the backoff the right key gets in"
pam_auth alice SOFTKEY_STATE="$T/other" < /dev/null
pam_auth alice < /dev/null
ok $? "a success reset the count: one failure does not back off"

# --- lockout, persistent, cleared by an admin ---
# each refusal already takes pam_fail_delay (2 s, which libpam varies by a
# quarter either way); wait out the rest (6 s, then 8) with a margin. Only
# lower bounds: a busy machine makes the waits longer, never shorter
fail_and_wait() { # fail once, then wait out the backoff
	pam_auth "$1" SOFTKEY_STATE="$T/other" < /dev/null
	sleep "$2"
}
fail_and_wait alice 0
fail_and_wait alice 5
fail_and_wait alice 7.5
fail_and_wait alice 0
like "$OUT" "security key check failed" "the fourth failure in a row is refused"
pam_auth alice < /dev/null
ok $((! $?)) "lockout_refuses_the_right_key"
like "$OUT" "locked until an administrator" "the user is told to ask an admin"
audit_has "lockout +alice +deny .*4 failed attempts"
ok $? "the lockout is audited"
agent_stop
agent_start
pam_auth alice < /dev/null
ok $((! $?)) "the lockout outlives a restart of the agent"
ctl unlock alice > "$T/unlock.out"
ok $? "fido2gatectl unlock alice succeeds"
like "$(cat "$T/unlock.out")" "unlocked alice \(locked after 4 failed" "and says what it cleared"
audit_has "unlock +alice +ok .*lockout cleared"
ok $? "the unlock is audited"
pam_auth alice < /dev/null
ok $? "alice gets in after the unlock"
ctl unlock alice > "$T/unlock.out"
like "$(cat "$T/unlock.out")" "was not locked" "unlocking an unlocked user says so"

# an unknown user backs off and locks exactly like a known one
fail_and_wait ghost 0
fail_and_wait ghost 5
fail_and_wait ghost 7.5
fail_and_wait ghost 0
pam_auth ghost < /dev/null
like "$OUT" "locked until an administrator" "an unknown user is locked the same way (no enumeration)"
ctl unlock ghost > /dev/null

# expired challenges count as failures: begin and walk away
write_conf << 'CONF'
[limits]
challenge_timeout = 1
idle_timeout = 2
[rate_limit]
backoff_after = 2
backoff_base = 30
CONF
agent_stop
agent_start
for _ in 1 2; do
	printf '%s\n' '{"v":1,"op":"auth.begin","user":"bob"}' | "$BUILD/test/fg-client" "$SOCK" raw > /dev/null
done
# the agent's sweep expires them (each a failure) within a second or so of
# challenge_timeout; wait until it has, however long a busy machine takes
none_pending() { ctl --json status | grep -q '"pending_challenges": 0\b'; }
wait_for 30 none_pending || diag "challenges still pending after 30 s: $(ctl --json status)"
got=$(printf '%s\n' '{"v":1,"op":"auth.begin","user":"bob"}' | "$BUILD/test/fg-client" "$SOCK" raw)
like "$got" '"error":"rate_limited"' "challenges left to expire count as failed attempts"
like "$got" '"retry_after":' "and the reply says when to retry"

# --- idle connections ---
# wait for the agent to hang up (idle_timeout plus up to a second's sweep)
got=$($PEER "$SOCK" hangup 60 2> "$T/peer.err")
like "$got" "<closed> after" "a connection idle past idle_timeout is closed" || diag_file "$T/peer.err"
after=$(sed -n 's/.*after \([0-9.]*\) s.*/\1/p' <<< "$got")
awk -v t="${after:-0}" 'BEGIN { exit !(t >= 2) }'
ok $? "but not before idle_timeout ($after s)"
like "$($PEER "$SOCK" idle 0.5)" '"ok":true' "a connection used within idle_timeout is served"

# --- message size ---
write_conf << 'CONF'
[limits]
max_message = 2048
max_pending = 3
max_connections = 6
max_connections_per_uid = 2
CONF
agent_stop
agent_start
like "$($PEER "$SOCK" size 2000)" '"ok":true' "a request under max_message is served"
like "$($PEER "$SOCK" size 3000)" '"error":"too_large"' "a request over max_message is refused"

# --- pending challenges ---
got=$(for _ in 1 2 3 4; do printf '%s\n' '{"v":1,"op":"auth.begin","user":"carol"}'; done |
	"$BUILD/test/fg-client" "$SOCK" raw | tail -n 1)
like "$got" '"error":"limit"' "the max_pending+1th challenge is refused"

# --- connections ---
got=$($PEER "$SOCK" hold 7 0.1 2> "$T/peer.err" | tail -n 1)
like "$got" '"error":"limit".*too many connections"' "the max_connections+1th connection is turned away" ||
	diag_file "$T/peer.err"
wait_hangups
ctl status > /dev/null
ok $? "and the agent serves again once they close"

# --- a client that never reads its replies ---
# the replies it leaves unread fill the agent's send buffer, and the
# agent's send never blocks: it hangs up; the client sends until it does
got=$($PEER "$SOCK" flood 60 2> "$T/peer.err")
like "$got" "got [1-9][0-9]* <closed>" "a client that does not read its replies is hung up on" ||
	diag_file "$T/peer.err"
ctl status > /dev/null
ok $? "the agent serves others after it"

if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
	# nobody runs copies in $T (755), never from the checkout
	as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
	CTL_NOBODY=$(share "$BUILD/fido2gatectl")
	got=$(as_nobody $PEER "$SOCK" hold 3 0.1 2> "$T/peer.err" | tail -n 1)
	like "$got" "too many connections from this user" "a non-root uid is capped at max_connections_per_uid" ||
		diag_file "$T/peer.err"
	wait_hangups
	as_nobody "$CTL_NOBODY" --socket "$SOCK" unlock alice 2> "$T/err"
	is $? 4 "a non-admin cannot unlock" || diag_file "$T/err"

	write_conf << 'CONF'
[rate_limit]
caller_rate = 1
caller_burst = 3
CONF
	agent_stop
	agent_start
	n_ok=0
	: > "$T/err"
	for _ in 1 2 3 4 5 6; do
		as_nobody "$CTL_NOBODY" --socket "$SOCK" status > /dev/null 2>> "$T/err" &&
			n_ok=$((n_ok + 1))
	done
	# the burst (3) is served, and not all six (unless six calls took 3 s)
	ok $((!(n_ok >= 3 && n_ok < 6))) "a non-root caller's burst is capped by its token bucket ($n_ok of 6 served)" ||
		diag_file "$T/err"
	like "$(cat "$T/err")" "too many requests" "and is told to slow down"
	for _ in 1 2 3 4 5 6; do ctl status > /dev/null || break; done
	ok $? "root, the PAM stack of every service, is not throttled per caller"
	sleep 1.2
	as_nobody "$CTL_NOBODY" --socket "$SOCK" status > /dev/null 2> "$T/err"
	ok $? "the bucket refills" || diag_file "$T/err"
else
	skip 5 "needs root and setpriv to act as another user"
fi

# --- credentials per user ---
write_conf << 'CONF'
[limits]
max_credentials_per_user = 2
CONF
agent_stop
agent_start
SOFTKEY_STATE="$T/c1" enrol carol > /dev/null 2>&1
SOFTKEY_STATE="$T/c2" enrol carol > /dev/null 2>&1
ok $? "two credentials for carol"
SOFTKEY_STATE="$T/c3" enrol carol 2> "$T/err" > /dev/null
ok $((! $?)) "a third is refused at max_credentials_per_user"
like "$(cat "$T/err")" "revoke one first" "with a message saying what to do"
ctl revoke alice "$(ctl --json list alice | sed -n 's/.*"credential_id": "\(.\{8\}\).*/\1/p' | head -n 1)" > /dev/null
ctl revoke carol "$(ctl --json list carol | sed -n 's/.*"credential_id": "\(.\{8\}\).*/\1/p' | head -n 1)" > /dev/null
SOFTKEY_STATE="$T/c3" enrol carol > /dev/null 2>&1
ok $? "revoked credentials do not count"

# --- bad limit settings ---
printf '[limits]\nchallenge_timeout = 60\nidle_timeout = 30\n' > "$T/bad.conf"
"$BUILD/fido2gated" --check-config --config "$T/bad.conf" 2> "$T/err"
ok $((! $?)) "idle_timeout not above challenge_timeout is refused"
like "$(cat "$T/err")" "idle_timeout" "and named"
printf '[limits]\nmax_message = 100000\n' > "$T/bad.conf"
"$BUILD/fido2gated" --check-config --config "$T/bad.conf" 2> /dev/null
ok $((! $?)) "max_message above the protocol's 65536 is refused"
printf '[rate_limit]\nbackoff_after = 5\nlockout_after = 3\n' > "$T/bad.conf"
"$BUILD/fido2gated" --check-config --config "$T/bad.conf" 2> /dev/null
ok $((! $?)) "a lockout before the backoff starts is refused"

done_testing
