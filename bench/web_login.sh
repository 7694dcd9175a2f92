#!/bin/bash
# bench/web_login.sh BUILD DIR SECONDS WARMUP ROUNDS: the whole web login,
# as a browser and a relying party make it, against fido2gate (fido2gated
# and fido2gate-web on loopback, default settings but the per-address
# limits) and against its peer,
# npm's oidc-provider with @simplewebauthn/server
# (bench/peers/peer_server.mjs), both driven by one load client
# (bench/peers/ceremony.mjs) with the same settings: 1, 8 and 64 clients
# for SECONDS each, in ROUNDS turns (fido2gate, the peer; the peer,
# fido2gate; ...), each turn after WARMUP seconds unmeasured. Each
# provider first has to refuse four bad logins (no UV, a flipped signature
# bit, a replayed finish, a code redeemed twice). Progress on stderr; one
# JSON object of results on stdout. Section 7 of bench/run.sh; runs alone
# too, as root (fg-webkey enrols through the agent as root). Work files
# in DIR.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -ne 5 ]; then
	echo "usage: bench/web_login.sh BUILD DIR SECONDS WARMUP ROUNDS" >&2
	exit 2
fi
BUILD=$1 D=$2 SECS=$3 WARMUP=$4 ROUNDS=$5
PEERS="$TOP/bench/peers"
CB=https://app.bench.test/cb
USERS=65 # 64 clients, and one for the probes

PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2> /dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2> /dev/null || true; done
}
trap cleanup EXIT
say() { echo "$*" >&2; }
die() {
	say "bench: $*"
	exit 1
}
# wait_log FILE REGEX: until FILE has a line matching REGEX (20 s at most)
wait_log() {
	for _ in $(seq 200); do grep -q "$2" "$1" 2> /dev/null && return 0; sleep 0.1; done
	cat "$1" >&2
	return 1
}
# vm PID FIELD: a /proc/PID/status memory figure in KiB (0 once it is gone)
vm() {
	local v
	v=$(sed -n "s/^$2:\\s*\\([0-9]*\\) kB/\\1/p" "/proc/$1/status" 2> /dev/null)
	echo "${v:-0}"
}

mkdir -p "$D"
chmod 700 "$D"
# the peers' packages, exactly as locked (again when the lock has moved)
if [ ! -d "$PEERS/node_modules/oidc-provider" ] ||
	[ "$PEERS/package-lock.json" -nt "$PEERS/node_modules/.package-lock.json" ]; then
	(cd "$PEERS" && npm ci --no-audit --no-fund --loglevel=error > /dev/null)
fi
openssl rand -hex 32 > "$D/secret"
chmod 600 "$D/secret"
read -r FPORT <<< "$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
FRONT=http://localhost:$FPORT

# fido2gate: the agent, as root, serving the front (run as root too: the
# benchmark measures work, not privilege separation)
mkdir -p "$D/g"
chmod 700 "$D/g"
cat > "$D/g/agent.conf" << CONF
[relying_party]
id = localhost
origins = $FRONT
[oidc]
issuer = $FRONT
[web]
user = $(id -un)
[client.app]
secret_file = $D/secret
redirect_uri = $CB
[admin]
bootstrap = open
CONF
chmod 600 "$D/g/agent.conf"
"$BUILD/fido2gated" --socket "$D/g/s" --db "$D/g/store.db" --config "$D/g/agent.conf" 2> "$D/g/agent.log" &
AGENT_PID=$!
PIDS+=("$AGENT_PID")
wait_log "$D/g/agent.log" "listening on" || die "the agent did not start"
# every client comes from 127.0.0.1: the per-address budgets and
# connection limit, which would refuse all but the first few, are lifted
# (the peer has none)
"$BUILD/fido2gate-web" --agent "$D/g/s" --listen "127.0.0.1:$FPORT" --base-url "$FRONT" \
	--login-budget off --token-budget off --document-budget off \
	--max-connections-per-ip 256 2> "$D/g/front.log" &
FRONT_PID=$!
PIDS+=("$FRONT_PID")
wait_log "$D/g/front.log" "listening on" || die "fido2gate-web did not start"
# each user's key made and enrolled through the agent protocol
# (attestation none, with UV: from then on the agent requires UV of it)
: > "$D/g/keys.jsonl"
for i in $(seq 0 $((USERS - 1))); do
	"$BUILD/test/fg-webkey" "$D/g/s" "bench$i" --uv >> "$D/g/keys.jsonl" 2>> "$D/g/webkey.log" ||
		die "fg-webkey bench$i: $(cat "$D/g/webkey.log")"
done

# the peer: its users' keys made by the load client, their public halves
# in its store
node "$PEERS/ceremony.mjs" keys "$USERS" "$D/peer-keys.jsonl" "$D/peer-store.jsonl"
node "$PEERS/peer_server.mjs" --users "$D/peer-store.jsonl" --secret-file "$D/secret" \
	--redirect-uri "$CB" > "$D/peer.out" 2> "$D/peer.log" &
PEER_PID=$!
PIDS+=("$PEER_PID")
wait_log "$D/peer.out" "listening on" || die "the peer did not start: $(cat "$D/peer.log")"
PEER=$(sed -n 's/^peer: listening on //p' "$D/peer.out")

# ticks PID...: the CPU time the processes have used, in clock ticks
ticks() {
	local p t=0
	for p in "$@"; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done
	echo "$t"
}
# run NAME ISSUER KEYS RSS_PID CPU_PIDS [--probes]: one run of the load
# client ($c clients, round $round) to $D/NAME-cC-rROUND.{json,lat,cpu}
# (.cpu: the ticks CPU_PIDS used meanwhile); RSS_PID's RSS while the
# clients ran in $RSS (the last sample: the run's end) and $RSS_MAX (the
# largest)
run() {
	local name=$1 issuer=$2 keys=$3 pid=$4 cpu_pids=$5 probes=${6:-} out client t0
	out="$D/$name-c$c-r$round"
	RSS=0
	RSS_MAX=0
	# shellcheck disable=SC2086 # a list of pids
	t0=$(ticks $cpu_pids)
	node "$PEERS/ceremony.mjs" run --issuer "$issuer" --users "$keys" \
		--secret-file "$D/secret" --redirect-uri "$CB" --clients "$c" \
		--seconds "$SLICE" --warmup "$WARMUP" --latencies "$out.lat" ${probes:+"$probes"} > "$out.json" &
	client=$!
	while kill -0 "$client" 2> /dev/null; do
		RSS=$(vm "$pid" VmRSS)
		[ "$RSS" -le "$RSS_MAX" ] || RSS_MAX=$RSS
		sleep 0.1
	done
	wait "$client" || true
	# shellcheck disable=SC2086
	echo $(($(ticks $cpu_pids) - t0)) > "$out.cpu"
	say "$name c$c round $round: $(cat "$out.json")"
	[ -s "$out.json" ] || die "$name: the load client failed"
	# a refused or failed login is a defect, not a figure (a budget or a
	# limit in the way once made every login here a 429)
	python3 -c "import json,sys; o=json.load(open(sys.argv[1])); sys.exit(1 if o['errors'] or not o['logins'] else 0)" "$out.json" ||
		die "$name: logins failed: $(cat "$out.json")"
	if [ -n "$probes" ]; then
		python3 -c "import json,sys; sys.exit(1 if json.load(open(sys.argv[1]))['accepted'] else 0)" "$out.json" ||
			die "$name accepted a login it must refuse: $(cat "$out.json")"
	fi
}
fg() {
	run web_fg "$FRONT" "$D/g/keys.jsonl" "$FRONT_PID" "$AGENT_PID $FRONT_PID" $probes
	FRONT_RSS=$RSS
	[ "$RSS_MAX" -le "$FRONT_PEAK" ] || FRONT_PEAK=$RSS_MAX
}
peer() {
	run web_peer "$PEER" "$D/peer-keys.jsonl" "$PEER_PID" "$PEER_PID" $probes
	PEER_RSS=$RSS
}
# fido2gate and the peer take turns, ROUNDS slices of SECONDS/ROUNDS each
# at each client count, in the order ABBA ABBA...: a load on the machine
# that comes, goes or drifts weighs on both alike
SLICE=$(python3 -c "print($SECS / $ROUNDS)")
FRONT_PEAK=0
probes=--probes
for c in 1 8 64; do
	for round in $(seq "$ROUNDS"); do
		if [ $((round % 2)) = 1 ]; then
			fg
			peer
		else
			peer
			fg
		fi
		probes=
	done
done
# the front's peak: the largest sample, or the kernel's high-water mark
# (which it updates only now and then) if larger
hwm=$(vm "$FRONT_PID" VmHWM)
[ "$hwm" -le "$FRONT_PEAK" ] || FRONT_PEAK=$hwm
python3 - "$D" "$ROUNDS" "$FRONT_RSS" "$FRONT_PEAK" "$PEER_RSS" "$(getconf CLK_TCK)" << 'PY'
import json, math, sys
d, rounds = sys.argv[1], int(sys.argv[2])
front_rss, front_peak, peer_rss, hz = (int(x) for x in sys.argv[3:7])

def pct(xs, p):  # ceremony.mjs's: the smallest value with p% at or below it
    return xs[min(len(xs) - 1, math.ceil(p / 100 * len(xs)) - 1)] if xs else 0

r = {}
for name in ("web_fg", "web_peer"):
    cpu = done = 0
    for c in (1, 8, 64):
        logins = errors = 0
        secs, lat = 0.0, []
        for i in range(1, rounds + 1):
            base = f"{d}/{name}-c{c}-r{i}"
            o = json.load(open(base + ".json"))
            logins, errors, secs = logins + o["logins"], errors + o["errors"], secs + o["seconds"]
            lat += [float(x) for x in open(base + ".lat").read().split()]
            cpu, done = cpu + int(open(base + ".cpu").read()), done + o["all_logins"]
        lat.sort()
        r[f"{name}_logins_per_s_c{c}"] = round(logins / secs, 2)
        r[f"{name}_p50_ms_c{c}"] = round(pct(lat, 50), 2)
        r[f"{name}_p99_ms_c{c}"] = round(pct(lat, 99), 2)
        r[f"{name}_errors_c{c}"] = errors
    # the servers' CPU time per login (fido2gate: the agent and the front),
    # over every run: what a login costs whoever else shares the machine
    r[f"{name}_cpu_ms_per_login"] = round(cpu * 1000 / hz / done, 3) if done else 0
    # capacity: the best rate over the three client counts
    r[f"{name}_logins_per_s"] = max(r[f"{name}_logins_per_s_c{c}"] for c in (1, 8, 64))
fg, peer = r["web_fg_logins_per_s"], r["web_peer_logins_per_s"]
r["web_login_ratio"] = round(fg / peer, 3) if peer else 0
r["web_errors"] = sum(v for k, v in r.items() if "_errors_c" in k)
fg_cpu, peer_cpu = r["web_fg_cpu_ms_per_login"], r["web_peer_cpu_ms_per_login"]
r["web_cpu_ratio"] = round(peer_cpu / fg_cpu, 3) if fg_cpu else 0
r["web_front_rss_mib_c64"] = round(front_rss / 1024, 1)
r["web_front_peak_mib"] = round(front_peak / 1024, 1)
r["web_peer_rss_mib_c64"] = round(peer_rss / 1024, 1)
print(json.dumps(r, sort_keys=True))
PY
