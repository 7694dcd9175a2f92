#!/bin/bash
# bench/run.sh [quick]: every benchmark in one run on this machine, each
# peer measured in the same run. Writes bench/results/latest.json,
# latest.md and latest.png (the ratios against their targets).
# FG_BUILD: another build tree (as for the tests); BENCH_OUT: write the
# results there instead (a trial run that must not replace latest.*).
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${FG_BUILD:-$TOP/build}
OUT=${BENCH_OUT:-$TOP/bench/results}
QUICK=${1:-}
# OPEN_RATE logins/s offered for OPEN_SECS: the agent's latency at a fixed
# load, measured open loop (see tests/tools/fg_load.c)
SECS=5 PAM_RUNS=21 BIG=1000000 MID=100000 LOADS=10 OPEN_RATE=1000 OPEN_SECS=30
if [ "$QUICK" = quick ]; then
	SECS=2 PAM_RUNS=9 BIG=200000 MID=50000 LOADS=4 OPEN_SECS=8
fi
T=$(mktemp -d)
AGENT=
stop_agent() {
	if [ -n "$AGENT" ]; then kill "$AGENT" 2> /dev/null; wait "$AGENT" 2> /dev/null || true; fi
	AGENT=
}
trap 'stop_agent; rm -rf "$T"' EXIT
mkdir -p "$OUT"
json() { printf '%s' "$1" | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }
declare -A R

# an agent on a store in $1, RP fido2gate.test; extra config lines on stdin
start_agent() {
	local dir=$1
	mkdir -p "$dir"
	chmod 700 "$dir"
	{ printf '[relying_party]\nid = fido2gate.test\n'; cat; printf '[admin]\nbootstrap = open\n'; } > "$dir/agent.conf"
	"$BUILD/fido2gated" --socket "$dir/s" --db "$dir/store.db" --config "$dir/agent.conf" 2> "$dir/log" &
	AGENT=$!
	for _ in $(seq 400); do [ -S "$dir/s" ] && "$BUILD/fido2gatectl" --socket "$dir/s" status > /dev/null 2>&1 && return 0; sleep 0.05; done
	echo "bench: agent did not start" >&2
	cat "$dir/log" >&2
	exit 1
}
# kv KEY LINE: KEY's value in fg-load's "k=v k=v" line (whole keys only:
# max_ms is not status_max_ms)
kv() { tr ' ' '\n' <<< "$2" | sed -n "s/^$1=\\([0-9.]*\\)$/\\1/p"; }
rss_kib() { sed -n 's/^VmRSS:\s*\([0-9]*\) kB/\1/p' "/proc/$AGENT/status"; }

echo "== 1. verifier vs OpenSSL (one core)"
v=$(taskset -c 0 "$BUILD/bench/verify-bench" "$SECS" "$T")
echo "$v"
for k in verify_es256_per_s openssl_es256_per_s verify_vs_openssl_es256 verify_eddsa_per_s openssl_eddsa_per_s verify_vs_openssl_eddsa; do
	R[$k]=$(json "$v" "$k")
done

echo "== 2. @simplewebauthn/server on the same ES256 assertions"
if [ ! -d "$TOP/bench/peers/node_modules" ]; then
	(cd "$TOP/bench/peers" && npm ci --no-audit --no-fund > /dev/null)
fi
s=$(taskset -c 0 node "$TOP/bench/peers/verify.mjs" "$T/es256.jsonl" "$SECS")
echo "$s"
R[simplewebauthn_es256_per_s]=$(json "$s" simplewebauthn_es256_per_s)
R[verify_vs_simplewebauthn]=$(python3 -c "print(round(${R[verify_es256_per_s]} / ${R[simplewebauthn_es256_per_s]}, 3))")

echo "== 3. the agent under load (begin + finish over the socket)"
start_agent "$T/a" <<< ""
# a short warm-up fills the caches; the agent's memory growth counts from
# there, over every run below
"$BUILD/test/fg-load" "$T/a/s" 64 2 fido2gate.test > /dev/null
rss0=$(rss_kib)
for c in 1 8 64; do
	o=$("$BUILD/test/fg-load" "$T/a/s" "$c" "$LOADS" fido2gate.test)
	echo "c$c: $o"
	R[agent_auth_per_s_c$c]=$(kv logins_per_s "$o")
	if [ "$c" = 64 ]; then
		R[agent_p99_ms_c64]=$(kv p99_ms "$o")
		# the worst of the status probes (one every 50 ms) under that load
		R[agent_status_max_ms_c64]=$(kv status_max_ms "$o")
	fi
done

echo "== 3b. the agent at a fixed offered load: $OPEN_RATE logins/s for $OPEN_SECS s, open loop"
# logins start on schedule whatever the agent's pace, each timed from when
# it was due; 64 connections carry them
o=$("$BUILD/test/fg-load" --rate "$OPEN_RATE" "$T/a/s" 64 "$OPEN_SECS" fido2gate.test) ||
	echo "bench: the open-loop run had errors or missed logins (see below)" >&2
echo "open: $o"
R[agent_open_rate]=$OPEN_RATE
R[agent_open_seconds]=$OPEN_SECS
for k in logins_per_s p50_ms p99_ms p999_ms max_ms late missed errors; do
	R[agent_open_$k]=$(kv "$k" "$o")
	[ -n "${R[agent_open_$k]}" ] || { echo "bench: no $k in: $o" >&2; exit 1; }
done
rss1=$(rss_kib)
R[agent_rss_growth_kib_load]=$((rss1 - rss0))
echo "agent RSS $rss0 kB after the warm-up, $rss1 kB after the load runs"
stop_agent

echo "== 4. one PAM login: pam_fido2gate vs pam_u2f, the same soft key"
PW=$(ls /usr/lib/*/libpam_wrapper.so | head -n 1)
U2F=$(ls /lib/*/security/pam_u2f.so /usr/lib/*/security/pam_u2f.so 2> /dev/null | head -n 1)
export SOFTKEY_STATE="$T/key"
# pam_u2f reads its authfile as the user, who must exist: use ours
ME=$(id -un)
start_agent "$T/p" <<< ""
LD_PRELOAD="$BUILD/test/softkey.so" "$BUILD/fido2gatectl" --socket "$T/p/s" enroll "$ME" < /dev/null > /dev/null
mkdir -p "$T/pam.d"
echo "auth required $BUILD/pam_fido2gate.so socket=$T/p/s nocue" > "$T/pam.d/gate"
LD_PRELOAD="$BUILD/test/softkey.so" pamu2fcfg -u "$ME" -o pam://u2f -i pam://u2f > "$T/u2f_keys"
echo "auth required $U2F authfile=$T/u2f_keys origin=pam://u2f appid=pam://u2f" > "$T/pam.d/u2f"
median_ms() { # SERVICE: the median wall time of PAM_RUNS logins
	local svc=$1 i t0 t1
	for i in $(seq "$PAM_RUNS"); do
		t0=$(date +%s%N)
		LD_PRELOAD="$PW:$BUILD/test/softkey.so" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/pam.d" \
			pamtester "$svc" "$ME" authenticate < /dev/null > /dev/null 2>&1 ||
			{ echo "bench: $svc login failed" >&2; exit 1; }
		t1=$(date +%s%N)
		echo $(((t1 - t0) / 1000))
	done | sort -n | sed -n "$(((PAM_RUNS + 1) / 2))p" | awk '{ printf "%.2f", $1 / 1000 }'
}
R[pam_fido2gate_ms]=$(median_ms gate)
R[pam_u2f_ms]=$(median_ms u2f)
R[pam_vs_pam_u2f]=$(python3 -c "print(round(${R[pam_fido2gate_ms]} / ${R[pam_u2f_ms]}, 3))")
echo "pam_fido2gate ${R[pam_fido2gate_ms]} ms, pam_u2f ${R[pam_u2f_ms]} ms"
stop_agent

echo "== 4b. pam_u2f with one authfile of $MID users"
python3 - "$T/u2f_keys" "$T/u2f_big" "$MID" << 'PY'
import base64, os, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
alice = open(src).read().strip()
with open(dst, "w") as f:
    for i in range(n):
        kh = base64.b64encode(os.urandom(64)).decode()
        pk = base64.b64encode(b"\x04" + os.urandom(64)).decode()
        f.write(f"user{i}:{kh},{pk},es256,+presence\n")
    f.write(alice + "\n")
PY
echo "auth required $U2F authfile=$T/u2f_big origin=pam://u2f appid=pam://u2f" > "$T/pam.d/u2fbig"
R[pam_u2f_ms_authfile_100k]=$(median_ms u2fbig)
echo "pam_u2f with $MID users: ${R[pam_u2f_ms_authfile_100k]} ms"

echo "== 5. store scale: authentication with 10, $MID and $BIG users"
scale_ms() { # USERS: ms per login, one client, that many users in the store
	local n=$1 dir="$T/s$1"
	mkdir -p "$dir"
	chmod 700 "$dir"
	start_agent "$dir" <<< ""
	stop_agent
	sqlite3 "$dir/store.db" > /dev/null << SQL
PRAGMA journal_mode = WAL;
BEGIN;
WITH RECURSIVE i(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM i WHERE x < $n)
INSERT INTO users (name, handle, created) SELECT 'user' || x, randomblob(32), 0 FROM i;
INSERT INTO credentials (user_id, credential_id, alg, public_key, sign_count, fmt, label, created)
  SELECT id, randomblob(64), -7, randomblob(77), 0, 'none', 'key', 0 FROM users;
COMMIT;
SQL
	start_agent "$dir" <<< ""
	local o
	o=$("$BUILD/test/fg-load" "$dir/s" 1 "$LOADS" fido2gate.test)
	stop_agent
	python3 -c "print(round(1000 / $(kv logins_per_s "$o"), 3))"
}
R[auth_ms_users_10]=$(scale_ms 10)
R[auth_ms_users_100k]=$(scale_ms "$MID")
R[auth_ms_users_1m]=$(scale_ms "$BIG")
R[store_users_big]=$BIG
R[store_scale_1m_vs_10]=$(python3 -c "print(round(${R[auth_ms_users_1m]} / ${R[auth_ms_users_10]}, 3))")
echo "10: ${R[auth_ms_users_10]} ms, $MID: ${R[auth_ms_users_100k]} ms, $BIG: ${R[auth_ms_users_1m]} ms"

echo "== 6. agent memory with 100000 pending challenges"
start_agent "$T/m" <<< "$(printf '[limits]\nmax_pending = 200000\nchallenge_timeout = 600\nidle_timeout = 900\n')"
python3 - "$T/m/s" << 'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect(sys.argv[1])
# one user each: a user may have only max_pending_per_user under way
for i in range(100000):
    s.send(json.dumps({"v": 1, "op": "auth.begin", "user": f"user{i}"}).encode())
    r = json.loads(s.recv(70000))
    if not r.get("ok"):
        sys.exit(f"auth.begin {i}: {r}")
PY
pending=$("$BUILD/fido2gatectl" --socket "$T/m/s" --json status | python3 -c "import json,sys; print(json.load(sys.stdin)['pending_challenges'])")
rss=$(sed -n 's/^VmRSS:\s*\([0-9]*\) kB/\1/p' "/proc/$AGENT/status")
R[agent_rss_mib_100k_pending]=$(python3 -c "print(round($rss / 1024, 1))")
echo "pending $pending, RSS ${R[agent_rss_mib_100k_pending]} MiB"
stop_agent

# WEB_SECS for fido2gate and for the peer at each of 1, 8 and 64 clients,
# in WEB_ROUNDS turns each after WEB_WARMUP s: about 3 minutes in all
# (1 quick)
WEB_SECS=20 WEB_ROUNDS=2 WEB_WARMUP=2
if [ "$QUICK" = quick ]; then
	WEB_SECS=4 WEB_WARMUP=1
fi
echo "== 7. the web login ceremony, authorize to a checked id_token: fido2gate vs oidc-provider + @simplewebauthn/server"
w=$("$TOP/bench/web_login.sh" "$BUILD" "$T/w" "$WEB_SECS" "$WEB_WARMUP" "$WEB_ROUNDS")
for k in $(python3 -c "import json,sys; print(' '.join(json.loads(sys.argv[1])))" "$w"); do
	R[$k]=$(json "$w" "$k")
done
echo "fido2gate ${R[web_fg_logins_per_s]} logins/s, the peer ${R[web_peer_logins_per_s]}: ratio ${R[web_login_ratio]}; front RSS ${R[web_front_rss_mib_c64]} MiB at 64 clients"

# merge JSON: each key of that object into R, its value as JSON
merge() {
	local k v
	while read -r k v; do
		R[$k]=$v
	done < <(python3 -c 'import json, sys
for k, v in json.loads(sys.argv[1]).items(): print(k, json.dumps(v))' "$1")
}
# without PostgreSQL 15 the PostgreSQL measures are skipped, the reason
# in the results
# shellcheck source=tests/lib/pg.sh
. "$TOP/tests/lib/pg.sh"
PG_WHY=
if PG_WHY=$(pg_missing); then
	R[store_pg_skipped]=$(python3 -c 'import json, sys; print(json.dumps(sys.argv[1]))' "$PG_WHY")
fi

echo "== 8. PostgreSQL: one agent against SQLite, two agents on one database, 10 and $BIG users"
if [ -n "$PG_WHY" ]; then
	echo "skipped: $PG_WHY"
else
	p=$("$TOP/bench/store_pg.sh" "$BUILD" "$T/pg" "$LOADS" "$BIG")
	merge "$p"
	echo "logins/s at 64 clients: SQLite ${R[store_sqlite_auth_per_s_c64]}, PostgreSQL ${R[store_pg_auth_per_s_c64]}" \
		"(${R[store_pg_vs_sqlite_auth]}x), two agents on it ${R[store_pg2_auth_per_s_c64]} (${R[store_pg2_vs_pg_auth]}x);" \
		"PostgreSQL with 10 users ${R[auth_ms_pg_users_10]} ms, $BIG ${R[auth_ms_pg_users_1m]} ms"
fi

# Failover time on PostgreSQL: bench/pg_failover.sh [ROUNDS] (one round
# in a quick run, three else) prints one JSON object of results on stdout
# (progress on stderr), and its keys join these results
if [ -x "$TOP/bench/pg_failover.sh" ]; then
	echo "== 9. PostgreSQL failover"
	if [ -n "$PG_WHY" ]; then
		echo "skipped: $PG_WHY"
	else
		merge "$(FG_BUILD="$BUILD" "$TOP/bench/pg_failover.sh" \
			"$([ -n "$QUICK" ] && echo 1 || echo 3)")"
	fi
fi

# results
{
	printf '{\n  "date": "%s",\n  "machine": "%s",\n  "quick": %s' "$(date -u +%FT%TZ)" \
		"$(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -n 1)" \
		"$([ "$QUICK" = quick ] && echo true || echo false)"
	for k in $(printf '%s\n' "${!R[@]}" | sort); do printf ',\n  "%s": %s' "$k" "${R[$k]}"; done
	printf '\n}\n'
} > "$OUT/latest.json"
python3 "$TOP/bench/report.py" "$OUT/latest.json" "$OUT/latest.md" "$OUT/ratios.dat"
gnuplot -e "datafile='$OUT/ratios.dat'; outfile='$OUT/latest.png'" "$TOP/bench/ratios.gp"
echo "bench: wrote $OUT/latest.json, latest.md and latest.png"
