#!/bin/bash
# A PostgreSQL failover under load: a primary and a synchronous streaming
# standby (tests/lib/pg.sh), two agents on one multi-host connection
# string (target_session_attrs=read-write). While the agents take logins,
# enrolments and revocations, the primary is killed with SIGKILL and,
# a little later, the standby promoted. In between every login is refused
# (fail closed) and the agents say PostgreSQL cannot be reached; after
# the promotion both agents, never restarted, let logins in again; and
# every enrolment, revocation and login an agent acknowledged is on the
# new primary, the last acknowledged counter of each key included, under
# one intact audit chain.
. "$(dirname "$0")/../../lib/tap.sh"
. "$TOP/tests/lib/pg.sh"
if why=$(pg_missing); then
	echo "1..0 # SKIP $why"
	exit 0
fi
[ -x "$PG_BIN/pg_basebackup" ] || {
	echo "1..0 # SKIP no $PG_BIN/pg_basebackup"
	exit 0
}
# its stores are its own, whatever FG_TEST_STORE says
FG_TEST_STORE=sqlite
. "$TOP/tests/lib/gate.sh"
AGENT2_PID='' LOGINS='' WRITES=''
trap 'touch "$T/stop"; [ -z "$LOGINS$WRITES" ] || wait $LOGINS $WRITES
	agent_stop; [ -z "$AGENT2_PID" ] || { kill "$AGENT2_PID"; wait "$AGENT2_PID"; }
	pg_cleanup; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
# the seconds between the kill and the promotion, as an operator's (or a
# failover manager's) reaction time
PROMOTE_DELAY=2

now() { date +%s.%N; }

pg_start
ok $? "a PostgreSQL cluster, the primary" || exit 1
pg_createdb fg
pg_standby_start
ok $? "a streaming standby of it (pg_basebackup -R), on its own socket" || exit 1
pg_sync_standby
ok $? "the standby is synchronous (synchronous_standby_names, synchronous_commit = on)" || exit 1
DB="postgresql:$(pg_conninfo_failover fg)"

agent_start
ok $? "an agent on host=PRIMARY,STANDBY target_session_attrs=read-write" || exit 1
SOCK2="$T/agent2.sock"
"$BUILD/fido2gated" --socket "$SOCK2" --db "$DB" --config "$CONF" \
	2>> "$T/agent2.log" &
AGENT2_PID=$!
wait_for 20 "$BUILD/fido2gatectl" --socket "$SOCK2" status > /dev/null 2>&1
ok $? "and a second agent, its own socket, the same string"
pam_service gate2 "socket=$SOCK2" timeout=5
ctl2() { "$BUILD/fido2gatectl" --socket "$SOCK2" "$@"; }
is "$(pg_sql_on "$PGS" fg "SELECT max(version) FROM schema_version")" \
	"$(pg_sql fg "SELECT max(version) FROM schema_version")" \
	"the schema the agent made is on the standby too"

SOFTKEY_STATE="$T/key-la" enrol la > /dev/null 2>&1 &&
	SOFTKEY_STATE="$T/key-lb" enrol lb > /dev/null 2>&1 &&
	SOFTKEY_STATE="$T/key-lc" enrol lc > /dev/null 2>&1
ok $? "enrol la, lb and lc, who log in through the load"

# The load, in two loops until $T/stop: PAM logins one at a time (never
# two pamtesters at once: pam_wrapper's set-up in pam_start is not safe
# in two processes at the same instant), la at the first agent, lb at
# the second and lc at either, in turn; and enrolments and revocations
# through fido2gatectl, each enrolment at one agent and a revocation of
# an earlier one at the other. Every operation is a line "START END KIND
# AGENT WHO STATUS"; status 0 is an acknowledgement.
#
# A key's counter goes up by one at each signature, and the key's state
# file changes then and only then: its counter is the number of changes
# seen. At each acknowledged login the counter is written down ($T/ack-U)
# with a copy of the key as it was just before ($T/clone-U: it signs that
# counter again, a clone the store must refuse if it kept the counter).
# lc logs in only until the kill ($T/killed), so that no later login
# writes its counter over one the new primary might have lost.
login_loop() {
	local i=0 s e rc u svc n_la=0 n_lb=0 n_lc=0 n
	while [ ! -e "$T/stop" ]; do
		case $((i % 4)) in
		0) u=la svc=gate ;;
		1) u=lc svc=gate2 ;;
		2) u=lb svc=gate2 ;;
		3) u=lc svc=gate ;;
		esac
		i=$((i + 1))
		[ $u != lc ] || [ ! -e "$T/killed" ] || continue
		cp "$T/key-$u" "$T/pre-$u"
		s=$(now)
		SERVICE=$svc pam_auth $u SOFTKEY_STATE="$T/key-$u" < /dev/null
		rc=$?
		e=$(now)
		cmp -s "$T/key-$u" "$T/pre-$u" || eval "n_$u=\$((n_$u + 1))"
		eval "n=\$n_$u"
		if [ $rc = 0 ]; then
			echo "$n" > "$T/ack-$u"
			cp "$T/pre-$u" "$T/clone-$u"
		fi
		echo "$s $e login $svc $u $rc" >> "$T/ops.login"
		sleep 0.05
	done
}
write_loop() {
	local i=0 s e rc a b queue=() who
	while [ ! -e "$T/stop" ]; do
		i=$((i + 1))
		if [ $((i % 2)) = 0 ]; then a=$SOCK2 b=$SOCK; else a=$SOCK b=$SOCK2; fi
		s=$(now)
		SOFTKEY_STATE="$T/key-e$i" sk "$BUILD/fido2gatectl" --socket "$a" \
			enroll "e$i" --label k < /dev/null > /dev/null 2>&1
		rc=$?
		e=$(now)
		echo "$s $e enrol ${a##*/} e$i $rc" >> "$T/ops.write"
		[ $rc != 0 ] || queue+=("e$i")
		# the latest enrolment stays active; an earlier one is revoked
		if [ ${#queue[@]} -ge 2 ]; then
			who=${queue[0]}
			queue=("${queue[@]:1}")
			s=$(now)
			"$BUILD/fido2gatectl" --socket "$b" revoke "$who" k > /dev/null 2>&1
			rc=$?
			e=$(now)
			echo "$s $e revoke ${b##*/} $who $rc" >> "$T/ops.write"
		fi
		sleep 0.05
	done
}

# acks KIND [AFTER [AGENT]]: how many KIND operations were acknowledged
# (those started after time AFTER, at AGENT)
acks() {
	cat "$T/ops.login" "$T/ops.write" 2> /dev/null |
		awk -v k="$1" -v t="${2:-0}" -v a="${3:-}" \
			'$3 == k && $6 == 0 && $1 > t && (a == "" || $4 == a) { n++ } END { print n + 0 }'
}
# between AFTER BEFORE AGENT: logins at AGENT started after AFTER and
# over before BEFORE, and how many of them got in ("N M")
between() {
	awk -v t="$1" -v u="$2" -v a="$3" \
		'$3 == "login" && $4 == a && $1 > t && $2 < u { n++; if ($6 == 0) m++ } END { print n + 0, m + 0 }' \
		"$T/ops.login"
}
# n_at_least N KIND [AFTER [AGENT]]
n_at_least() { [ "$(acks "$2" "${3:-0}" "${4:-}")" -ge "$1" ]; }
loaded() { n_at_least 6 login && n_at_least 4 enrol && n_at_least 3 revoke; }

: > "$T/ops.login"
: > "$T/ops.write"
login_loop &
LOGINS=$!
write_loop &
WRITES=$!
# show_ops: the last operations, for a failure
show_ops() { tail -n 20 "$T/ops.login" "$T/ops.write" | sed 's/^/#   /'; }
wait_for 120 loaded
ok $? "under load: logins, enrolments and revocations acknowledged at both agents" ||
	show_ops

: > "$T/killed"
t_kill=$(now)
pg_kill_primary
ok $? "the primary killed (SIGKILL, postmaster and every backend) mid-load"

# no primary: both agents refuse, and say so
refused_at() { [ "$(between "$t_kill" 9999999999 "$1")" != "0 0" ]; }
wait_for 60 refused_at gate && wait_for 60 refused_at gate2
ok $? "logins were tried at both agents while there is no primary"
like "$(ctl status 2>&1)" "PostgreSQL cannot be reached" \
	"fido2gatectl status at the first agent says PostgreSQL cannot be reached"
like "$(ctl2 status 2>&1)" "PostgreSQL cannot be reached" "and at the second"
sleep "$PROMOTE_DELAY"
t_prom=$(now)
pg_promote
ok $? "the standby promoted (pg_ctl promote)"

after() {
	n_at_least 3 login "$t_prom" gate && n_at_least 3 login "$t_prom" gate2 &&
		n_at_least 2 enrol "$t_prom" && n_at_least 2 revoke "$t_prom"
}
wait_for 120 after
ok $? "after the promotion, logins, enrolments and revocations are acknowledged again at both agents" ||
	show_ops
touch "$T/stop"
wait $LOGINS $WRITES
LOGINS='' WRITES=''

for a in gate gate2; do
	r=$(between "$t_kill" "$t_prom" "$a")
	like "$r" "^[1-9][0-9]* 0$" \
		"$a: every login between the kill and the promotion was refused (tried, accepted: $r)"
done
agent_alive && kill -0 "$AGENT2_PID"
ok $? "both agents stayed up: nothing was restarted"
grep -q "connected to PostgreSQL again" "$T/agent.log" &&
	grep -q "connected to PostgreSQL again" "$T/agent2.log"
ok $? "both logs say they connected again" || diag_file "$T/agent.log"
unlike "$(ctl status 2>&1; ctl2 status 2>&1)" "cannot be reached" \
	"and status no longer says PostgreSQL is away"

# the time from the kill to the first login accepted after it
first=$(awk -v t="$t_kill" '$3 == "login" && $6 == 0 && $1 > t { print $2 }' "$T/ops.login" | sort -n | head -n 1)
diag "$(awk -v k="$t_kill" -v p="$t_prom" -v f="$first" -v d="$PROMOTE_DELAY" \
	'BEGIN { printf "first login accepted %.3f s after the kill, %.3f s after the promotion (promoted %.1f s after the kill)", f - k, f - p, p - k }')"

diag "acknowledged: $(acks login) logins, $(acks enrol) enrolments, $(acks revoke) revocations; $(grep -vc ' 0$' "$T/ops.login") logins and $(grep -vc ' 0$' "$T/ops.write") writes refused"

# lost DIR DB: what was acknowledged and is not in DB on the server in
# DIR, one line each (nothing: nothing lost)
lost() {
	local dir=$1 db=$2 u want got
	pg_sql_on "$dir" "$db" "SELECT u.name FROM users u JOIN credentials c ON c.user_id = u.id" |
		sort -u > "$T/have.enrol"
	awk '$3 == "enrol" && $6 == 0 { print $5 }' "$T/ops.write" | sort -u |
		comm -23 - "$T/have.enrol" | sed 's/^/enrolment /'
	pg_sql_on "$dir" "$db" "SELECT u.name FROM users u JOIN credentials c ON c.user_id = u.id WHERE c.state = 'revoked'" |
		sort -u > "$T/have.revoke"
	awk '$3 == "revoke" && $6 == 0 { print $5 }' "$T/ops.write" | sort -u |
		comm -23 - "$T/have.revoke" | sed 's/^/revocation /'
	want=$(cat "$T/ack-lc")
	got=$(pg_sql_on "$dir" "$db" "SELECT sign_count FROM credentials c JOIN users u ON u.id = c.user_id WHERE u.name = 'lc'")
	[ "${got:-0}" -ge "$want" ] || echo "counter lc: $want acknowledged, $got stored"
	for u in la lb lc; do
		want=$(awk -v u="$u" '$3 == "login" && $5 == u && $6 == 0 { n++ } END { print n + 0 }' "$T/ops.login")
		got=$(pg_sql_on "$dir" "$db" "SELECT count(*) FROM audit WHERE event LIKE 'auth%' AND result = 'allow' AND \"user\" = '$u'")
		[ "$got" -ge "$want" ] || echo "logins $u: $want acknowledged, $got audited"
	done
}
is "$(lost "$PGS" fg)" "" \
	"on the new primary: every acknowledged enrolment and revocation, an audit record for every acknowledged login, lc's last acknowledged counter"

# lc's key as it was just before its last acknowledged login, before the
# kill, signs that login's counter again: the new primary must know it
SERVICE=gate2 pam_auth lc SOFTKEY_STATE="$T/clone-lc" < /dev/null
ok $((! $?)) "lc: a clone at the last counter acknowledged before the kill ($(cat "$T/ack-lc")) is refused"
audit_has "credential.suspicious +lc +deny .*counter_regression"
ok $? "as a counter regression"

ctl audit --verify > "$T/verify" 2>&1
ok $? "the audit chain verifies at the first agent" || diag_file "$T/verify"
ctl2 audit --verify > "$T/verify2" 2>&1
ok $? "and at the second" || diag_file "$T/verify2"

# A switchover back: the killed primary rebuilt as a synchronous standby
# of the new one, which is then fenced (every transaction read-only, its
# server and the agents' connections up) and the rebuilt one promoted.
# An agent whose write is refused as read-only drops that connection and
# finds the primary again, still without a restart.
pg_rebuild && pg_sync_standby
ok $? "the killed primary rebuilt as a synchronous standby of the new one" || exit 1
pam_auth la SOFTKEY_STATE="$T/key-la" < /dev/null
ok $? "a login before the switchover" || diag "$OUT"
pg_fence && pg_promote
ok $? "the primary fenced (default_transaction_read_only = on), the standby promoted"
# login_in SERVICE USER: accepted within 30 s (a refused login takes 2 s)
login_in() {
	local end=$(($(date +%s) + 30))
	until SERVICE=$1 pam_auth "$2" SOFTKEY_STATE="$T/key-$2" < /dev/null; do
		[ "$(date +%s)" -lt "$end" ] || return 1
	done
}
login_in gate la && login_in gate2 lb
ok $? "logins are accepted again at both agents" || diag "$OUT"
grep -q "takes no writes there any more" "$T/agent.log" &&
	grep -q "takes no writes there any more" "$T/agent2.log"
ok $? "both logs say the server took no writes, and they looked for the primary"
agent_alive && kill -0 "$AGENT2_PID"
ok $? "neither agent was restarted"
is "$(lost "$PGS" fg)" "" "the switchover lost nothing acknowledged"
ctl audit --verify > "$T/verify" 2>&1
ok $? "the audit chain verifies" || diag_file "$T/verify"

# The check can fail: on a copy of the store with one acknowledged
# enrolment deleted, one acknowledged revocation undone and one counter
# set back, it names exactly those three.
agent_stop
kill "$AGENT2_PID"
wait "$AGENT2_PID" 2> /dev/null
AGENT2_PID=
pg_sql_on "$PGS" postgres "CREATE DATABASE scratch TEMPLATE fg"
e=$(awk '$3 == "enrol" && $6 == 0 { print $5 }' "$T/ops.write" | tail -n 1)
r=$(awk '$3 == "revoke" && $6 == 0 { print $5 }' "$T/ops.write" | head -n 1)
pg_sql_on "$PGS" scratch "DELETE FROM credentials WHERE user_id = (SELECT id FROM users WHERE name = '$e');
UPDATE credentials SET state = 'active', revoked = NULL WHERE user_id = (SELECT id FROM users WHERE name = '$r');
UPDATE credentials SET sign_count = $(($(cat "$T/ack-lc") - 1)) WHERE user_id = (SELECT id FROM users WHERE name = 'lc')"
like "$(lost "$PGS" scratch | tr '\n' ';')" \
	"^enrolment $e;revocation $r;counter lc: $(cat "$T/ack-lc") acknowledged, $(($(cat "$T/ack-lc") - 1)) stored;$" \
	"the check finds a deleted enrolment, an undone revocation and a counter set back"

done_testing
