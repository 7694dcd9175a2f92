#!/bin/bash
# bench/pg_failover.sh [ROUNDS [PROMOTE_DELAY]]: how long logins stop when
# the PostgreSQL primary dies. Each round: a throwaway primary and a
# synchronous streaming standby (tests/lib/pg.sh), one agent on
# host=PRIMARY,STANDBY target_session_attrs=read-write, and a client that
# logs in over the agent's protocol (test/fg-client with the soft key: no
# PAM, so no failure delay) again and again. The primary is killed with
# SIGKILL, the standby promoted PROMOTE_DELAY seconds later (default 1),
# and the time to the first accepted login is taken from the kill (what
# users see) and from the promotion (what the agent adds). Progress on
# stderr; on stdout one JSON object, the medians over ROUNDS (default 3)
# and every round's figures. As root (the clusters belong to nobody).
# FG_BUILD: another build tree.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${FG_BUILD:-$TOP/build}
ROUNDS=${1:-3}
DELAY=${2:-1}
SOFTKEY_SO="$BUILD/test/softkey.so"
. "$TOP/tests/lib/pg.sh"
if why=$(pg_missing); then
	echo "bench: $why" >&2
	exit 1
fi
T=$(mktemp -d)
AGENT='' PROBE=''
stop() {
	[ -z "$PROBE" ] || { touch "$T/stop"; wait "$PROBE" || true; }
	[ -z "$AGENT" ] || { kill "$AGENT" 2> /dev/null; wait "$AGENT" 2> /dev/null || true; }
	AGENT='' PROBE=''
	pg_cleanup
}
trap 'stop; rm -rf "$T"' EXIT
now() { date +%s.%N; }
say() { echo "$*" >&2; }

# probe SOCK KEY: a login as u every 10 ms until $T/stop, "START END
# STATUS" a line in $T/probes
probe() {
	local s rc
	while [ ! -e "$T/stop" ]; do
		s=$(now)
		rc=0
		env LD_PRELOAD="$SOFTKEY_SO" SOFTKEY_STATE="$2" \
			"$BUILD/test/fg-client" "$1" login u > /dev/null 2>&1 || rc=$?
		echo "$s $(now) $rc" >> "$T/probes"
		sleep 0.01
	done
}
# accepted AFTER: logins accepted that started after AFTER
accepted() { awk -v t="$1" '$3 == 0 && $1 > t { n++ } END { print n + 0 }' "$T/probes"; }
wait_accepted() {
	local i
	for i in $(seq 600); do
		[ "$(accepted "$1")" -ge "$2" ] && return 0
		sleep 0.1
	done
	say "bench: no login accepted after $1"
	return 1
}

round() {
	local d="$T/r$1" t_kill t_prom first
	mkdir -p "$d"
	chmod 700 "$d"
	rm -f "$T/stop"
	: > "$T/probes"
	pg_start && pg_createdb fg && pg_standby_start && pg_sync_standby ||
		{ say "bench: no primary and synchronous standby"; return 1; }
	printf '[relying_party]\nid = fido2gate.test\n[admin]\nbootstrap = open\n' > "$d/conf"
	"$BUILD/fido2gated" --socket "$d/s" --config "$d/conf" \
		--db "postgresql:$(pg_conninfo_failover fg)" 2> "$d/log" &
	AGENT=$!
	for _ in $(seq 400); do
		"$BUILD/fido2gatectl" --socket "$d/s" status > /dev/null 2>&1 && break
		sleep 0.05
	done
	env LD_PRELOAD="$SOFTKEY_SO" SOFTKEY_STATE="$d/key" \
		"$BUILD/fido2gatectl" --socket "$d/s" enroll u < /dev/null > "$d/enrol" 2>&1 ||
		{ say "bench: cannot enrol"; cat "$d/enrol" >&2; return 1; }
	probe "$d/s" "$d/key" &
	PROBE=$!
	wait_accepted 0 20
	t_kill=$(now)
	pg_kill_primary
	sleep "$DELAY"
	t_prom=$(now)
	pg_promote
	wait_accepted "$t_prom" 1
	# the first accepted login that started after the kill: none can
	# have been accepted before the promotion (fail closed)
	first=$(awk -v t="$t_kill" '$3 == 0 && $1 > t { print $2 }' "$T/probes" |
		sort -n | head -n 1)
	awk -v t="$t_kill" -v p="$t_prom" '$3 == 0 && $1 > t && $2 < p { n++ } END { exit n > 0 }' \
		"$T/probes" || { say "bench: a login was accepted with no primary"; return 1; }
	awk -v k="$t_kill" -v p="$t_prom" -v f="$first" \
		'BEGIN { printf "%.3f %.3f\n", f - k, f - p }' >> "$T/figures"
	say "round $1: $(tail -n 1 "$T/figures") (s from the kill, from the promotion)"
	stop
}

say "pg_failover: $ROUNDS rounds, the standby promoted ${DELAY} s after the kill"
for i in $(seq "$ROUNDS"); do
	round "$i"
done
# median COLUMN: of the rounds' figures
median() {
	cut -d ' ' -f "$1" "$T/figures" | sort -n |
		awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}
printf '{"pg_failover_kill_to_login_s": %s, "pg_failover_promote_to_login_s": %s, "pg_failover_promote_delay_s": %s, "rounds": [%s]}\n' \
	"$(median 1)" "$(median 2)" "$DELAY" \
	"$(sed 's/^\(.*\) \(.*\)$/[\1, \2]/' "$T/figures" | paste -s -d , - | sed 's/\],\[/], [/g')"
