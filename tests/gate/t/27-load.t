#!/bin/bash
# Load: LOAD_CLIENTS (64) concurrent clients, each enrolled with its own
# ES256 credential, doing auth.begin + auth.finish with real signatures
# for LOAD_SECONDS (20 here; `make load` runs 120) against one agent, while
# a prober asks for status every 50 ms. No error, logins go through, no
# descriptor leaked, nothing left pending, the agent still up. Only what
# the agent did, never how fast: `make bench` reports the worst status
# answer under this load and the agent's memory growth.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"

CLIENTS=${LOAD_CLIENTS:-64}
SECONDS_=${LOAD_SECONDS:-20}
# under the sanitizers: memory errors are the point, not a long run
[ -n "${FG_SANITIZE:-}" ] && SECONDS_=${LOAD_SECONDS:-5}
agent_start
fds() { ls "/proc/$AGENT_PID/fd" | wc -l; }
# the baseline once agent_start's own status connection is closed: the
# listening socket is then the only socket the agent holds
only_listener() { [ "$(ls -l "/proc/$AGENT_PID/fd" | grep -c 'socket:')" = 1 ]; }
wait_for 30 only_listener || diag "the agent still holds a connection"
fd0=$(fds)

# a short warm-up run fills the caches, then the measured run
"$BUILD/test/fg-load" "$SOCK" "$CLIENTS" 2 "$RP" > /dev/null 2> "$T/load.err"
out=$("$BUILD/test/fg-load" "$SOCK" "$CLIENTS" "$SECONDS_" "$RP" 2>> "$T/load.err")
ok $? "$CLIENTS clients for $SECONDS_ s: no error" || diag_file "$T/load.err"
diag "$out"
logins=$(sed -n 's/.*logins=\([0-9]*\).*/\1/p' <<< "$out")
ok $((! (${logins:-0} > CLIENTS))) "logins went through (${logins:-none})"
# the agent closes each connection when it sees the hang-up: wait for it
fds_back() { [ "$(fds)" = "$fd0" ]; }
wait_for 30 fds_back
is "$(fds)" "$fd0" "no descriptor leaked (the agent holds $fd0, as before)" ||
	ls -l "/proc/$AGENT_PID/fd" | sed 's/^/#   /'
pending=$(ctl --json status | sed -n 's/.*"pending_challenges": \([0-9]*\).*/\1/p')
is "$pending" 0 "no challenge was left pending"
agent_alive
ok $? "the agent is still up"

done_testing
