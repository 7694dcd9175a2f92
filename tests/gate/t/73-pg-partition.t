#!/bin/bash
# PostgreSQL over TCP whose host vanishes without closing its connections
# (a power cut, a network partition): every packet to its port dropped by
# nftables, in a network namespace of the test's own (the machine's
# firewall is never touched), so that no FIN or RST ever reaches the
# agent. A request that finds the connection silent is refused within a
# bounded time (tcp_user_timeout, connect_timeout), said in the agent's
# log with its audit record, and the agent stays up; an idle connection
# to the vanished host is given up by itself (keepalives), and so is one
# whose statement waits for a reply (the writer lock, held by psql);
# with the packets flowing again, logins resume without a restart. The
# agent's keepalive defaults are on its connection, and keepalives_idle
# in the admin's connection string wins over them.

# the whole test runs in its own network namespace: re-run there first
if [ -z "${FG_NET_NS:-}" ]; then
	why=
	[ "$(id -u)" = 0 ] || why="needs root (a network namespace, nftables)"
	[ -n "$why" ] || command -v nft > /dev/null ||
		why="no nft (apt-get install nftables)"
	[ -n "$why" ] || command -v ip > /dev/null ||
		why="no ip (apt-get install iproute2)"
	[ -n "$why" ] || command -v ss > /dev/null ||
		why="no ss (apt-get install iproute2)"
	[ -n "$why" ] || unshare --net true 2> /dev/null ||
		why="unshare --net is not permitted here"
	[ -n "$why" ] || unshare --net nft list ruleset > /dev/null 2>&1 ||
		why="nftables does not work here (no nf_tables in the kernel?)"
	if [ -n "$why" ]; then
		echo "1..0 # SKIP $why"
		exit 0
	fi
	FG_NET_NS=1 exec unshare --net "$0" "$@"
fi

. "$(dirname "$0")/../../lib/tap.sh"
. "$TOP/tests/lib/pg.sh"
if why=$(pg_missing); then
	echo "1..0 # SKIP $why"
	exit 0
fi
# its store is its own, whatever FG_TEST_STORE says
FG_TEST_STORE=sqlite
. "$TOP/tests/lib/gate.sh"
AGENT2_PID=
trap 'agent_stop; [ -z "$AGENT2_PID" ] || { kill "$AGENT2_PID"; wait "$AGENT2_PID"; }
	pg_cleanup; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

CALL="/usr/bin/python3 $TOP/tests/tools/fg_call.py"
ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
secs() { printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000)); }

# partition / heal: every packet to or from PostgreSQL's port dropped on
# its way in (the loopback's only hook that both directions cross), so
# neither end hears from the other, and nothing tells either of it
partition() {
	nft -f - << 'EOF'
table inet fg_partition {
	chain input {
		type filter hook input priority 0; policy accept;
		tcp dport 5432 drop
		tcp sport 5432 drop
	}
}
EOF
}
heal() {
	nft delete table inet fg_partition
}

# pg_conns PID: PID's TCP connections to PostgreSQL that are established
pg_conns() {
	ss -tnpH state established '( dport = :5432 )' | grep -c "pid=$1,"
}

# ka_timer PID: the seconds (whole) left on the keepalive timer of PID's
# connection to PostgreSQL, as ss shows it: 4.520ms is 4 s 520 ms,
# 1min5.100ms is 65 s, 119min is 7140 s
ka_timer() {
	local t s=0
	t=$(ss -tnpoH state established '( dport = :5432 )' | grep "pid=$1," |
		grep -o 'timer:(keepalive,[^,]*' | head -n 1)
	[ -n "$t" ] || return 1
	t=${t#*keepalive,}
	if [[ $t =~ ^([0-9]+)min(.*)$ ]]; then
		s=$((BASH_REMATCH[1] * 60))
		t=${BASH_REMATCH[2]}
	fi
	[[ $t =~ ^([0-9]+)(\.|sec) ]] && s=$((s + BASH_REMATCH[1]))
	echo "$s"
}

ip link set lo up
ok $? "a network namespace of our own, its loopback up" || exit 1
PG_LISTEN=127.0.0.1
pg_start
ok $? "a PostgreSQL cluster listening on 127.0.0.1:5432" || exit 1
pg_createdb fg
TCP="host=127.0.0.1 port=5432 user=fido2gate dbname=fg"
DB="postgresql:$TCP"
agent_start
ok $? "an agent on $DB" || exit 1
enrol bob > /dev/null 2>&1
ok $? "enrol bob"
pam_auth bob < /dev/null
ok $? "bob logs in, over TCP" || diag "$OUT"

# the defaults, and the admin's string over them
is "$(pg_conns "$AGENT_PID")" 1 "the agent has one connection to PostgreSQL"
t=$(ka_timer "$AGENT_PID")
ok $((! (${t:-9999} <= 5))) "its keepalive timer is the agent's default, 5 s idle (${t:-none} s left)" ||
	ss -tnpoH state established '( dport = :5432 )' | sed 's/^/#   /'
DB="postgresql:$TCP keepalives_idle=60" agent2_start
ok $? "a second agent, its string saying keepalives_idle=60" || diag_file "$T/agent2.log"
t=$(ka_timer "$AGENT2_PID")
ok $((! (${t:-0} > 5 && ${t:-0} <= 60))) "its keepalive timer is the string's (${t:-none} s left)" ||
	ss -tnpoH state established '( dport = :5432 )' | sed 's/^/#   /'
kill "$AGENT2_PID"
wait "$AGENT2_PID"
AGENT2_PID=

# the host vanishes: the next request's statement is never acknowledged
partition
ok $? "PostgreSQL's port cut off (nothing sent, nothing closed)" || exit 1
t0=$(ms)
reply=$(echo '{"op":"auth.begin","user":"bob","service":"gate"}' | timeout 120 $CALL "$SOCK" 2>&1)
took=$(($(ms) - t0))
like "$reply" '"error": "store"' "a login begun meanwhile is refused: the store failed" ||
	diag_file "$T/agent.log"
diag "refused after $(secs "$took") s"
ok $((! (took < 30000))) "within 30 s of its request"
agent_alive
ok $? "the agent stays up"
grep -q "PostgreSQL cannot be reached" "$T/agent.log"
ok $? "its log says PostgreSQL cannot be reached" || diag_file "$T/agent.log"
grep -q "audit write failed: auth.* bob" "$T/agent.log"
ok $? "and has the audit record it could not store" || diag_file "$T/agent.log"
t0=$(ms)
pam_auth bob < /dev/null
rc=$?
took=$(($(ms) - t0))
ok $((! rc)) "a PAM login is refused too" || diag "$OUT"
diag "refused after $(secs "$took") s"
ok $((! (took < 10000))) "within the module's 10 s wait for the agent"
t0=$(ms)
status=$(ctl status 2>&1)
took=$(($(ms) - t0))
like "$status" "PostgreSQL cannot be reached" "fido2gatectl status says so"
diag "status answered after $(secs "$took") s"

heal
ok $? "the packets flow again"
pid=$AGENT_PID
t0=$(ms)
for _ in $(seq 30); do
	pam_auth bob < /dev/null && break
	sleep 1
done
ok $? "bob logs in again without restarting the agent" || diag "$OUT"
diag "accepted $(secs $(($(ms) - t0))) s after the packets flowed again"
is "$AGENT_PID" "$pid" "(the same agent process)"
grep -q "connected to PostgreSQL again" "$T/agent.log"
ok $? "its log says it reconnected"

# the host vanishes while the agent is idle: its connection is given up
# by the keepalives, without a request
is "$(pg_conns "$AGENT_PID")" 1 "the agent has its connection again"
partition
t0=$(ms)
while [ $(($(ms) - t0)) -lt 60000 ]; do
	[ "$(pg_conns "$AGENT_PID")" = 0 ] && break
	sleep 0.1
done
took=$(($(ms) - t0))
is "$(pg_conns "$AGENT_PID")" 0 "cut off while idle, it gives its connection up by itself"
diag "after $(secs "$took") s"
ok $((! (took < 20000))) "within 20 s"
t0=$(ms)
reply=$(echo '{"op":"auth.begin","user":"bob","service":"gate"}' | timeout 120 $CALL "$SOCK" 2>&1)
took=$(($(ms) - t0))
like "$reply" '"error": "store"' "then a login begun is refused"
diag "after $(secs "$took") s"
ok $((! (took < 10000))) "within 10 s"
heal
for _ in $(seq 30); do
	pam_auth bob < /dev/null && break
	sleep 1
done
ok $? "and accepted once the packets flow again" || diag "$OUT"
agent_alive
ok $? "the agent is up throughout"

# write_waits REPLY NAME: psql (on the Unix socket, which stays up) takes
# the writer lock and keeps it ($LOCKER); a lock of bob at the second
# agent then waits for it ($CALLER, its reply in $T/REPLY); ok NAME once
# it does
write_waits() {
	advisory() {
		pg_sql fg "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND $1"
	}
	PGAPPNAME=fg_locker "$PG_BIN/psql" -X -q -h "$PGT" -U fido2gate -d fg \
		-c "SELECT pg_advisory_lock(7379250776883241332)" -c "SELECT pg_sleep(600)" \
		> /dev/null 2>&1 &
	LOCKER=$!
	for _ in $(seq 100); do
		[ "$(advisory granted)" = 1 ] && break
		sleep 0.1
	done
	echo "{\"op\":\"user.lock\",\"user\":\"bob\",\"reason\":\"$1\"}" |
		timeout 120 $CALL "$SOCK2" > "$T/$1" 2>&1 &
	CALLER=$!
	for _ in $(seq 100); do
		[ "$(advisory "NOT granted")" = 1 ] && break
		sleep 0.1
	done
	is "$(advisory "NOT granted")" 1 "$2"
}

# the host vanishes while a statement waits for its reply: the statement
# was acknowledged, nothing is left to send, only the keepalives can tell.
# It waits for the writer lock, which psql holds (on the Unix socket,
# which stays up); this agent's string lets it wait 60 s for it.
DB="postgresql:$TCP options='-c lock_timeout=60s'" agent2_start
ok $? "a second agent, whose string lets it wait 60 s for a lock" || diag_file "$T/agent2.log"
write_waits reply2 "a lock of bob (a write) at it waits for the writer lock"
partition
t0=$(ms)
wait "$CALLER"
took=$(($(ms) - t0))
like "$(cat "$T/reply2")" '"error": "store"' "cut off then, it fails: the store failed"
diag "after $(secs "$took") s"
ok $((! (took < 20000))) "within 20 s of the cut, not the 60 s of its lock wait"
kill -0 "$AGENT2_PID"
ok $? "that agent stays up"
heal
pg_sql fg "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'fg_locker'" > /dev/null
wait "$LOCKER"

# begin_ok SOCKET: an auth.begin for bob answered with a challenge
begin_ok() {
	echo '{"op":"auth.begin","user":"bob","service":"gate"}' |
		timeout 30 $CALL "$1" 2>&1 | grep -q '"ok": true'
}
# a server restarted (not a vanished host) while a write waited 12 s for
# the writer lock: the wait is no reason to leave it alone that long
# once it is back (the pause is 5 s at most)
for _ in $(seq 60); do begin_ok "$SOCK2" && break; sleep 0.5; done
begin_ok "$SOCK2"
ok $? "the second agent serves again" || diag_file "$T/agent2.log"
write_waits reply3 "a write at the second agent waits for the writer lock again"
sleep 12
pg_down
pg_up
ok $? "PostgreSQL restarted while the write waited 12 s" || exit 1
tup=$(ms)
wait "$CALLER"
wait "$LOCKER" 2> /dev/null
until begin_ok "$SOCK2"; do
	[ $(($(ms) - tup)) -lt 30000 ] || break
	sleep 0.25
done
took=$(($(ms) - tup))
diag "served again $(secs "$took") s after the restart"
ok $((! (took < 9000))) "served again within 9 s of the restart, not after the 12 s the write had waited" ||
	diag_file "$T/agent2.log" 8

done_testing
