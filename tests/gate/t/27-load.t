#!/bin/bash
# Load: LOAD_CLIENTS (64) concurrent clients, each enrolled with its own
# ES256 credential, doing auth.begin + auth.finish with real signatures
# for LOAD_SECONDS (20 here; `make load` runs 120) against one agent, while
# a prober asks for status every 50 ms. No error, no leaked descriptor,
# memory bounded, status answered within 100 ms throughout.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"

CLIENTS=${LOAD_CLIENTS:-64}
SECONDS_=${LOAD_SECONDS:-20}
# under the sanitizers: memory errors are the point, not speed or RSS
SAN=${FG_SANITIZE:+1}
[ -n "$SAN" ] && SECONDS_=${LOAD_SECONDS:-5}
agent_start
fds() { ls "/proc/$AGENT_PID/fd" | wc -l; }
rss() { sed -n 's/^VmRSS:\s*\([0-9]*\) kB/\1/p' "/proc/$AGENT_PID/status"; }
fd0=$(fds)

# a short warm-up run fills the caches, then the measured run
"$BUILD/test/fg-load" "$SOCK" "$CLIENTS" 2 "$RP" > /dev/null
rss0=$(rss)
out=$("$BUILD/test/fg-load" "$SOCK" "$CLIENTS" "$SECONDS_" "$RP")
ok $? "$CLIENTS clients for $SECONDS_ s: no error"
diag "$out"
rss1=$(rss)
logins=$(sed -n 's/.*logins=\([0-9]*\).*/\1/p' <<< "$out")
ok $((! (logins > CLIENTS))) "logins went through ($logins)"
worst=$(sed -n 's/.*status_max_ms=\([0-9]*\).*/\1/p' <<< "$out")
if [ -z "$SAN" ]; then
	ok $((! (worst < 100))) "status was answered within 100 ms throughout (worst $worst ms)"
fi
sleep 0.5
is "$(fds)" "$fd0" "no descriptor leaked (the agent holds $fd0, as before)"
diag "agent RSS: $rss0 kB after warm-up, $rss1 kB after the run"
if [ -z "$SAN" ]; then
	ok $((! (rss1 < rss0 + 8192))) "memory stayed bounded (grew $((rss1 - rss0)) kB; limit 8 MiB)"
fi
pending=$(ctl --json status | sed -n 's/.*"pending_challenges": \([0-9]*\).*/\1/p')
is "$pending" 0 "no challenge was left pending"
agent_alive
ok $? "the agent is still up"

done_testing
