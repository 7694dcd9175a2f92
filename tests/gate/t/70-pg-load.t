#!/bin/bash
# Two agents on one PostgreSQL (tests/lib/pg.sh), under a load of PAM
# logins at both and of enrolments and revocations through the CLI, each
# acknowledged one written down. Agent 1 killed with SIGKILL mid-load:
# agent 2 goes on accepting logins, during and after; the store is whole
# (the audit chain intact through the agent and through audit --verify
# --db postgresql:..., every acknowledged enrolment and revocation there,
# the counters only ever moved forward); a new agent 1 on the same
# database serves. PostgreSQL stopped under load (fast, then immediate):
# logins are refused at both agents, which stay up and say why; started
# again: logins resume at both without a restart, and nothing
# acknowledged was lost.
. "$(dirname "$0")/../../lib/tap.sh"
. "$TOP/tests/lib/pg.sh"
if why=$(pg_missing); then
	echo "1..0 # SKIP $why"
	exit 0
fi
# its stores are its own, whatever FG_TEST_STORE says
FG_TEST_STORE=sqlite
. "$TOP/tests/lib/gate.sh"
AGENT2_PID=
LOADS=
trap 'touch "$T/stop"; [ -z "$LOADS" ] || wait $LOADS 2> /dev/null
	agent_stop; [ -z "$AGENT2_PID" ] || { kill "$AGENT2_PID"; wait "$AGENT2_PID"; }
	pg_cleanup; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

SOCK2="$T/agent2.sock"
ctl2() {
	"$BUILD/fido2gatectl" --socket "$SOCK2" "$@"
}

agent2_start() {
	"$BUILD/fido2gated" --socket "$SOCK2" --db "$DB" --config "$CONF" \
		2>> "$T/agent2.log" &
	AGENT2_PID=$!
	for _ in $(seq 400); do
		ctl2 status > /dev/null 2>&1 && return 0
		kill -0 "$AGENT2_PID" 2> /dev/null || break
		sleep 0.05
	done
	diag "the second agent did not start:"
	sed 's/^/#   /' "$T/agent2.log"
	return 1
}

# pg_crash: PostgreSQL stopped as by a power cut (pg_down is a clean
# shutdown): no checkpoint, the WAL replayed at the next start
pg_crash() {
	pg_as "$PG_BIN/pg_ctl" -D "$PGT/data" -m immediate -w -t 30 stop > /dev/null
}

# The load. Each login is one line of $T/load.NAME: when it started,
# when it ended (EPOCHREALTIME, microseconds) and pamtester's status.
# pam_wrapper's set-up in pam_start is not safe in two processes at once
# (66-postgresql): a loop holds $T/pam.lock until its login is past
# pam_start, which pam_exec, first in the stack, says.
cat > "$T/started" << EOF
#!/bin/sh
: > "$T/started.\$PAM_SERVICE"
EOF
chmod 755 "$T/started"
# load_pam SERVICE SOCKET
load_pam() {
	printf 'auth requisite pam_exec.so %s\nauth required %s socket=%s timeout=5\naccount required pam_permit.so\n' \
		"$T/started" "$BUILD/pam_fido2gate.so" "$2" > "$T/pam.d/$1"
}
us() { echo "${EPOCHREALTIME/./}"; }
# load_logins NAME SERVICE USER KEY, until $T/stop
load_logins() {
	local n=0 t0 pid rc
	exec 9> "$T/pam.lock"
	while [ ! -e "$T/stop" ]; do
		n=$((n + 1))
		rm -f "$T/started.$2"
		flock 9
		t0=$(us)
		env SOFTKEY_STATE="$4" LD_PRELOAD="$PRE$PAM_WRAPPER_SO:$SOFTKEY_SO" \
			PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/pam.d" \
			setsid pamtester "$2" "$3" authenticate < /dev/null \
			> "$T/out.$1.$n" 2>&1 &
		pid=$!
		while [ ! -e "$T/started.$2" ] && kill -0 "$pid" 2> /dev/null; do
			sleep 0.01
		done
		flock -u 9
		wait "$pid"
		rc=$?
		echo "$t0 $(us) $rc" >> "$T/load.$1"
		[ "$rc" != 0 ] || rm -f "$T/out.$1.$n"
		sleep 0.05
	done
}
# load_admin: enrolments at either agent in turn, every third user's
# key revoked after; each acknowledged one a line of $T/acked
load_admin() {
	local i=0 s
	while [ ! -e "$T/stop" ]; do
		i=$((i + 1))
		s=$SOCK
		[ $((i % 2)) = 0 ] || s=$SOCK2
		if SOFTKEY_STATE="$T/key-e$i" sk "$BUILD/fido2gatectl" --socket "$s" \
			enroll "e$i" --label k < /dev/null > /dev/null 2>&1; then
			echo "enrol e$i" >> "$T/acked"
			if [ $((i % 3)) = 0 ] &&
				"$BUILD/fido2gatectl" --socket "$s" revoke "e$i" k \
					> /dev/null 2>&1; then
				echo "revoke e$i" >> "$T/acked"
			fi
		fi
		sleep 0.1
	done
}
# the load users' counters in PostgreSQL, a line each time it answers
load_counters() {
	while [ ! -e "$T/stop" ]; do
		pg_sql fg "SELECT u.name, c.sign_count FROM credentials c JOIN users u ON u.id = c.user_id WHERE u.name IN ('loada', 'loadb') ORDER BY 1" \
			>> "$T/counters" 2> /dev/null
		sleep 0.2
	done
}

# logins NAME FROM [TO] [RC]: logins of NAME's loop started at FROM or
# later and ended before TO, of status RC (0: accepted; x: refused)
logins() {
	awk -v from="$2" -v to="${3:-99999999999999999}" -v rc="${4:-any}" '
		$1 >= from && $2 < to && (rc == "any" || (rc == "x" && $3 != 0) ||
			(rc != "x" && $3 == rc)) { n++ }
		END { print n + 0 }' "$T/load.$1" 2> /dev/null || echo 0
}
# wait_logins N NAME FROM RC: until there are N (90 s at most)
wait_logins() {
	for _ in $(seq 900); do
		[ "$(logins "$2" "$3" "" "$4")" -ge "$1" ] && return 0
		sleep 0.1
	done
	diag "$2: $(logins "$2" "$3" "" "$4") logins of status $4 since $3, not $1"
	tail -n 5 "$T/load.$2" | sed 's/^/#   /'
	return 1
}
acked_count() { cat "$T/acked" 2> /dev/null | wc -l; }
wait_acked() {
	local n=$(($(acked_count) + $1))
	for _ in $(seq 900); do
		[ "$(acked_count)" -ge "$n" ] && return 0
		sleep 0.1
	done
	diag "no CLI operation was acknowledged"
	return 1
}
both_alive() {
	agent_alive && kill -0 "$AGENT2_PID" 2> /dev/null
}

pg_start
ok $? "a PostgreSQL cluster on a Unix socket" || exit 1
pg_createdb fg
DB="postgresql:$(pg_conninfo fg)"
agent_start
ok $? "agent 1 starts on the database" || exit 1
agent2_start
ok $? "agent 2 starts on the same database" || exit 1
SOFTKEY_STATE="$T/key-a" enrol loada > /dev/null 2>&1 &&
	SOFTKEY_STATE="$T/key-b" enrol loadb > /dev/null 2>&1
ok $? "enrol the load's two users" || exit 1
load_pam gate-a "$SOCK"
load_pam gate-b "$SOCK2"

load_logins a gate-a loada "$T/key-a" &
LOADS="$LOADS $!"
load_logins b gate-b loadb "$T/key-b" &
LOADS="$LOADS $!"
load_admin &
LOADS="$LOADS $!"
load_counters &
LOADS="$LOADS $!"
wait_logins 3 a 0 0 && wait_logins 3 b 0 0 && wait_acked 2
ok $? "under load: logins at both agents, enrolments and revocations"

# --- agent 1 killed mid-load ---
kill -9 "$AGENT_PID"
t_kill=$(us)
wait "$AGENT_PID" 2> /dev/null
AGENT_PID=
wait_logins 3 b "$t_kill" 0 && wait_logins 2 a "$t_kill" x
ok $? "agent 1 killed (SIGKILL): agent 2 goes on accepting logins"
out=$("$BUILD/fido2gatectl" audit --verify --db "$DB" 2>&1)
ok $? "audit --verify --db postgresql:... under load, without agent 1: intact" || diag "$out"
like "$out" "^intact, [0-9]+ records, head [0-9]+ [0-9a-f]{64}$" "it says so, with the head"
out=$(ctl2 audit --verify 2>&1)
ok $? "and through agent 2: intact" || diag "$out"
t_start=$(us)
agent_start
ok $? "a new agent 1 starts on the same database" || exit 1
during=$(logins b "$t_kill" "$t_start" 0)
wait_logins 3 a "$t_start" 0 && wait_logins 3 b "$t_start" 0 && wait_acked 2
ok $? "and serves logins, as agent 2 goes on doing, and the CLI's operations"
after=$(logins b "$t_start" "" 0)
diag "agent 2 accepted $during logins while agent 1 was away, $after since"
is "$(logins a "$t_kill" "$t_start" 0)" 0 \
	"no login was accepted at agent 1's socket while it was away (fail closed)"

# --- PostgreSQL away ---
# pg_away HOW: stopped under load; refused at both, both stay up and say
# why; back: logins resume at both, the same processes
pg_away() {
	local pids="$AGENT_PID $AGENT2_PID" t_down t_up n1 n2
	n1=$(grep -c "PostgreSQL cannot be reached" "$T/agent.log")
	n2=$(grep -c "PostgreSQL cannot be reached" "$T/agent2.log")
	if [ "$1" = immediate ]; then
		pg_crash
	else
		pg_down
	fi
	ok $? "PostgreSQL stopped ($1) under load"
	t_down=$(us)
	wait_logins 3 a "$t_down" x && wait_logins 3 b "$t_down" x
	ok $? "logins go on being tried at both agents"
	t_up=$(us)
	is "$(($(logins a "$t_down" "$t_up" 0) + $(logins b "$t_down" "$t_up" 0)))" 0 \
		"none is accepted while PostgreSQL is away (fail closed)"
	both_alive
	ok $? "both agents stay up"
	[ "$(grep -c "PostgreSQL cannot be reached" "$T/agent.log")" -gt "$n1" ] &&
		[ "$(grep -c "PostgreSQL cannot be reached" "$T/agent2.log")" -gt "$n2" ]
	ok $? "both logs say PostgreSQL cannot be reached" ||
		{ diag_file "$T/agent.log"; diag_file "$T/agent2.log"; }
	like "$(ctl2 status 2>&1)" "PostgreSQL cannot be reached" "status says so"
	pg_up
	ok $? "PostgreSQL started again"
	t_up=$(us)
	wait_logins 3 a "$t_up" 0 && wait_logins 3 b "$t_up" 0 && wait_acked 2
	ok $? "logins resume at both agents, and the CLI's operations"
	is "$AGENT_PID $AGENT2_PID" "$pids" "(the same agent processes)"
}
pg_away fast
pg_away immediate

touch "$T/stop"
wait $LOADS
LOADS=

# --- nothing acknowledged lost, nothing damaged ---
out=$("$BUILD/fido2gatectl" audit --verify --db "$DB" 2>&1)
ok $? "audit --verify --db postgresql:...: intact" || diag "$out"
head=$(ctl audit --anchor)
like "$out" "head ${head%%:*} ${head#*:}$" "the head the agents have"
out=$(ctl audit --verify 2>&1)
ok $? "audit --verify through agent 1: intact" || diag "$out"
out=$(ctl2 audit --verify 2>&1)
ok $? "and through agent 2" || diag "$out"

lost=0
while read -r op u; do
	state=$(pg_sql fg "SELECT c.state FROM credentials c JOIN users u ON u.id = c.user_id WHERE u.name = '$u'")
	want=active
	[ "$op" = enrol ] && grep -qx "revoke $u" "$T/acked" && want=revoked
	[ "$op" = revoke ] && want=revoked
	if [ "$state" != "$want" ]; then
		diag "$op $u was acknowledged, but its key is '$state' in the database"
		lost=$((lost + 1))
	fi
done < "$T/acked"
is "$lost" 0 "every acknowledged enrolment and revocation ($(acked_count)) is in the database"
is "$(pg_sql fg "SELECT count(*) FROM users WHERE name LIKE 'e%'")" \
	"$(pg_sql fg "SELECT count(DISTINCT user_id) FROM credentials c JOIN users u ON u.id = c.user_id WHERE u.name LIKE 'e%'")" \
	"no user without a key was left half enrolled"

for x in a b; do
	accepted=$(logins "$x" 0 "" 0)
	audited=$(pg_sql fg "SELECT count(*) FROM audit WHERE event LIKE 'auth%' AND result = 'allow' AND \"user\" = 'load$x'")
	[ "$audited" -ge "$accepted" ]
	ok $? "load$x: every accepted login ($accepted) has its audit record ($audited)"
	count=$(pg_sql fg "SELECT c.sign_count FROM credentials c JOIN users u ON u.id = c.user_id WHERE u.name = 'load$x'")
	[ "$count" -ge "$accepted" ]
	ok $? "load$x: the counter ($count) moved at least once a login accepted"
done
backward=$(awk -F'|' '$2 < last[$1] { print $1 ": " last[$1] " then " $2 } { last[$1] = $2 }' "$T/counters")
is "$backward" "" "the counters only moved forward ($(wc -l < "$T/counters") samples)"

# a tampered store: --db postgresql:... names the record
id=$(pg_sql fg "SELECT min(id) FROM audit WHERE event LIKE 'auth%'")
pg_sql fg "ALTER TABLE audit DISABLE TRIGGER USER; UPDATE audit SET reason = 'all fine' WHERE id = $id" > /dev/null
out=$("$BUILD/fido2gatectl" audit --verify --db "$DB" 2>&1)
is $? 1 "audit --verify --db postgresql:...: a record edited behind the agents' backs is found"
like "$out" "tampered: record $id \(edited\)" "and named" || diag "$out"
agent_stop
kill "$AGENT2_PID"
wait "$AGENT2_PID" 2> /dev/null
AGENT2_PID=

# what is not a store
out=$("$BUILD/fido2gatectl" audit --verify --db "postgresql:host=$PGT dbname=nothere user=fido2gate" 2>&1)
is $? 1 "a database that is not there: exit 1"
like "$out" "nothere" "and it is named" || diag "$out"
printf '*:*:*:*:x\n' > "$T/pgpass" && chmod 0644 "$T/pgpass"
out=$("$BUILD/fido2gatectl" audit --verify --db "$DB" --password-file "$T/pgpass" 2>&1)
ok $(($? == 0)) "a password file readable by others is refused"
like "$out" "mode 0600" "it says so" || diag "$out"
chmod 0600 "$T/pgpass"
out=$("$BUILD/fido2gatectl" audit --verify --db "$DB" --password-file "$T/pgpass" 2>&1)
is $? 1 "with a private one, the check runs (and finds the edit)" || diag "$out"
"$BUILD/fido2gatectl" audit --verify --db "$T/store.db" --password-file "$T/pgpass" > /dev/null 2>&1
is $? 2 "a password file for a SQLite store is a usage error"

done_testing
