#!/bin/bash
# bench/store_pg.sh BUILD DIR SECONDS BIG: the agent on PostgreSQL against
# the agent on SQLite, measured here in the same way one after the other:
# logins/s and p99 with 64 clients (fg-load, closed loop, as section 3 of
# bench/run.sh) for one agent on SQLite, one on PostgreSQL, one on
# PostgreSQL with synchronous_commit = off (how much of the difference is
# waiting for the disk) and two agents on one PostgreSQL database (32
# clients each, at once); then ms per login with one client and 10 or BIG
# users in a PostgreSQL store, filled with SQL as section 5 fills SQLite.
# A throwaway cluster (tests/lib/pg.sh), a database of its own for each
# case. Progress on stderr; one JSON object of results on stdout. Section
# 8 of bench/run.sh; runs alone too (`make bench-pg`). Work files in DIR.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -ne 4 ]; then
	echo "usage: bench/store_pg.sh BUILD DIR SECONDS BIG" >&2
	exit 2
fi
BUILD=$1 D=$2 SECS=$3 BIG=$4
CLIENTS=64
# shellcheck source=tests/lib/pg.sh
. "$TOP/tests/lib/pg.sh"

PIDS=()
stop_agents() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2> /dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2> /dev/null || true; done
	PIDS=()
}
trap 'stop_agents; pg_cleanup' EXIT
say() { echo "$*" >&2; }
die() {
	say "bench: $*"
	exit 1
}
if why=$(pg_missing); then
	die "$why"
fi
mkdir -p "$D"
chmod 700 "$D"
pg_start >&2 || die "PostgreSQL did not start"

# start_agent DIR STORE: an agent on STORE (sqlite:PATH or
# postgresql:CONNINFO) with its socket DIR/s, RP fido2gate.test
start_agent() {
	local dir=$1 store=$2 pid
	mkdir -p "$dir"
	chmod 700 "$dir"
	printf '[relying_party]\nid = fido2gate.test\n[admin]\nbootstrap = open\n' > "$dir/agent.conf"
	"$BUILD/fido2gated" --socket "$dir/s" --db "${store#sqlite:}" --config "$dir/agent.conf" 2> "$dir/log" &
	pid=$!
	PIDS+=("$pid")
	for _ in $(seq 400); do
		[ -S "$dir/s" ] && "$BUILD/fido2gatectl" --socket "$dir/s" status > /dev/null 2>&1 && return 0
		sleep 0.05
	done
	cat "$dir/log" >&2
	die "the agent on $store did not start"
}
# kv KEY LINE: KEY's value in fg-load's "k=v k=v" line
kv() { tr ' ' '\n' <<< "$2" | sed -n "s/^$1=\\([0-9.]*\\)$/\\1/p"; }
# load SOCKET CLIENTS SECONDS: fg-load's line, or the bench fails
load() {
	"$BUILD/test/fg-load" "$1" "$2" "$3" fido2gate.test || die "fg-load on $1 failed"
}
# settle: each case starts from a clean server, not in the checkpoint (or
# its fsyncs) the writes of the case before set off
settle() {
	pg_sql postgres CHECKPOINT > /dev/null
}
# pg_db NAME: a new database, and its store argument
pg_db() {
	pg_createdb "$1" >&2
	echo "postgresql:$(pg_conninfo "$1")"
}
declare -A R

# one agent, CLIENTS clients: after a short warm-up (as in section 3), so
# that every case runs on users that exist and caches that are warm
one_agent() { # NAME STORE
	local o
	start_agent "$D/$1" "$2"
	load "$D/$1/s" "$CLIENTS" 2 > /dev/null
	settle
	o=$(load "$D/$1/s" "$CLIENTS" "$SECS")
	say "$1: $o"
	R[store_$1_auth_per_s_c$CLIENTS]=$(kv logins_per_s "$o")
	R[store_$1_p99_ms_c$CLIENTS]=$(kv p99_ms "$o")
	stop_agents
}
say "one agent on SQLite, $CLIENTS clients"
one_agent sqlite "sqlite:$D/sqlite.db"
say "one agent on PostgreSQL, $CLIENTS clients"
one_agent pg "$(pg_db one)"
# The SQLite store does not wait for the disk on a login's commit
# (synchronous=NORMAL, see change() in agent/store.c); PostgreSQL's
# synchronous_commit = on does, for every commit. The same again with
# synchronous_commit = off for the agent's sessions (libpq's options)
# tells how much of the gap is that wait.
say "one agent on PostgreSQL with synchronous_commit = off, $CLIENTS clients"
one_agent pgasync "$(pg_db async) options='-c synchronous_commit=off'"

# two agents on one database, half the clients each, at once. Each warms
# up alone first: the users then exist before the two race to enrol
# their clients' new keys (a user made by two agents at once is one
# agent's refusal, as it should be). fg-load reports one p99 per process:
# the p99 of all the logins lies between the two, so the worse one bounds
# it from above.
say "two agents on one PostgreSQL database, $((CLIENTS / 2)) clients each"
two=$(pg_db two)
start_agent "$D/pga" "$two"
start_agent "$D/pgb" "$two"
load "$D/pga/s" $((CLIENTS / 2)) 2 > /dev/null
load "$D/pgb/s" $((CLIENTS / 2)) 2 > /dev/null
settle
"$BUILD/test/fg-load" "$D/pga/s" $((CLIENTS / 2)) "$SECS" fido2gate.test > "$D/pga.out" &
la=$!
"$BUILD/test/fg-load" "$D/pgb/s" $((CLIENTS / 2)) "$SECS" fido2gate.test > "$D/pgb.out" &
lb=$!
wait "$la" || die "fg-load on the first of two agents failed: $(cat "$D/pga.out")"
wait "$lb" || die "fg-load on the second of two agents failed: $(cat "$D/pgb.out")"
oa=$(cat "$D/pga.out") ob=$(cat "$D/pgb.out")
say "agent 1: $oa"
say "agent 2: $ob"
stop_agents
R[store_pg2_auth_per_s_c$CLIENTS]=$(python3 -c "print(round($(kv logins_per_s "$oa") + $(kv logins_per_s "$ob"), 2))")
R[store_pg2_p99_ms_c$CLIENTS]=$(python3 -c "print(max($(kv p99_ms "$oa"), $(kv p99_ms "$ob")))")

# store scale on PostgreSQL, as section 5 on SQLite: the agent makes the
# schema, the users and their credentials come in one transaction of SQL
# (random handles and keys, as SQLite's randomblob), then one client
# logs in for SECONDS. ANALYZE as autovacuum would soon after such a load:
# the planner must not plan for the empty tables it last saw.
scale_ms() { # USERS: ms per login, one client, that many users in the store
	local n=$1 db=scale$1 store o t0 t1
	store=$(pg_db "$db")
	start_agent "$D/$db" "$store"
	stop_agents
	t0=$(date +%s)
	pg_sql "$db" "
BEGIN;
INSERT INTO users (name, handle, created)
  SELECT 'user' || x, uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()), 0
  FROM generate_series(1, $n) x;
INSERT INTO credentials (user_id, credential_id, alg, public_key, sign_count, fmt, label, created)
  SELECT id, uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()) ||
      uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()), -7,
    substr(uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()) ||
      uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()) ||
      uuid_send(gen_random_uuid()), 1, 77), 0, 'none', 'key', 0
  FROM users;
COMMIT;
ANALYZE users;
ANALYZE credentials;" > /dev/null
	t1=$(date +%s)
	echo $((t1 - t0)) > "$D/$db.fill"
	say "$n users in $((t1 - t0)) s"
	settle
	start_agent "$D/$db" "$store"
	o=$(load "$D/$db/s" 1 "$SECS")
	say "$n users: $o"
	stop_agents
	python3 -c "print(round(1000 / $(kv logins_per_s "$o"), 3))"
}
R[auth_ms_pg_users_10]=$(scale_ms 10)
R[auth_ms_pg_users_1m]=$(scale_ms "$BIG")

c=$CLIENTS
python3 - "$c" << PY
import json, sys
c = sys.argv[1]
r = {
    "store_clients": int(c),
    "store_sqlite_auth_per_s_c$c": ${R[store_sqlite_auth_per_s_c$c]},
    "store_sqlite_p99_ms_c$c": ${R[store_sqlite_p99_ms_c$c]},
    "store_pg_auth_per_s_c$c": ${R[store_pg_auth_per_s_c$c]},
    "store_pg_p99_ms_c$c": ${R[store_pg_p99_ms_c$c]},
    "store_pgasync_auth_per_s_c$c": ${R[store_pgasync_auth_per_s_c$c]},
    "store_pgasync_p99_ms_c$c": ${R[store_pgasync_p99_ms_c$c]},
    "store_pg2_auth_per_s_c$c": ${R[store_pg2_auth_per_s_c$c]},
    "store_pg2_p99_ms_c$c": ${R[store_pg2_p99_ms_c$c]},
    "auth_ms_pg_users_10": ${R[auth_ms_pg_users_10]},
    "auth_ms_pg_users_1m": ${R[auth_ms_pg_users_1m]},
    "store_pg_users_big": $BIG,
    "store_pg_fill_seconds": $(cat "$D/scale$BIG.fill"),
}
def ratio(a, b):
    return round(r[a] / r[b], 3) if r[b] else 0
r["store_pg_vs_sqlite_auth"] = ratio(f"store_pg_auth_per_s_c{c}", f"store_sqlite_auth_per_s_c{c}")
r["store_pg_vs_sqlite_p99"] = ratio(f"store_pg_p99_ms_c{c}", f"store_sqlite_p99_ms_c{c}")
r["store_pgasync_vs_sqlite_auth"] = ratio(f"store_pgasync_auth_per_s_c{c}", f"store_sqlite_auth_per_s_c{c}")
r["store_pg2_vs_pg_auth"] = ratio(f"store_pg2_auth_per_s_c{c}", f"store_pg_auth_per_s_c{c}")
r["store_pg2_vs_pg_p99"] = ratio(f"store_pg2_p99_ms_c{c}", f"store_pg_p99_ms_c{c}")
r["store_pg_scale_1m_vs_10"] = ratio("auth_ms_pg_users_1m", "auth_ms_pg_users_10")
print(json.dumps(r, sort_keys=True))
PY
