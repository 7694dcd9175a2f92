#!/bin/bash
# The systemd units: systemd-analyze verifies them clean and rates each
# service 2.0 or lower; sysusers and tmpfiles make what they say. Socket
# activation for real: systemd's own systemd-socket-activate makes the
# socket and starts the built agent on the first connection; status, an
# enrolment and a PAM login go through it, the socket outlives the agent,
# and the agent refuses any inherited socket but the one it serves.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"

UNITS="$TOP/systemd"
for tool in systemd-analyze systemd-socket-activate systemd-sysusers \
	systemd-tmpfiles python3; do
	if ! command -v "$tool" > /dev/null; then
		echo "1..0 # SKIP $tool is not installed"
		exit 0
	fi
done

# verify: in a root holding the system's units and stubs at the ExecStart
# paths (the real binaries are not installed here), every warning counts
R="$T/root"
mkdir -p "$R/usr/sbin" "$R/etc/systemd/system" "$R/usr/lib/systemd" "$R/etc"
cp -r /usr/lib/systemd/system "$R/usr/lib/systemd/"
for b in fido2gated fido2gate-web; do
	printf '#!/bin/sh\nexit 1\n' > "$R/usr/sbin/$b"
	chmod 755 "$R/usr/sbin/$b"
done
cp "$UNITS"/fido2gated.socket "$UNITS"/*.service "$R/etc/systemd/system/"
systemd-analyze verify --man=no --root="$R" fido2gated.socket \
	fido2gated.service fido2gate-web.service > "$T/verify" 2>&1
st=$?
is "$st:$(cat "$T/verify")" "0:" "systemd-analyze verify: the three units, clean" ||
	diag_file "$T/verify"

for unit in fido2gated.service fido2gate-web.service; do
	systemd-analyze security --offline=true "$UNITS/$unit" > "$T/sec" 2>&1
	score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$T/sec")
	awk -v s="$score" 'BEGIN { exit !(s != "" && s + 0 <= 2.0) }'
	ok $? "systemd-analyze security rates $unit ${score:-?} (2.0 or lower)" ||
		diag_file "$T/sec"
done
# the ExecStart lines use options the programs have
for unit in fido2gated fido2gate-web; do
	flags=$(sed -n 's/^ExecStart=[^ ]* //p' "$UNITS/$unit.service" | grep -o -- '--[a-z-]*' | sort -u)
	help=$("$BUILD/$unit" --help 2>&1)
	missing=
	for f in $flags; do
		grep -q -- "$f" <<< "$help" || missing="$missing $f"
	done
	is "${flags:+some}:$missing" "some:" "$unit.service's ExecStart options are in $unit --help"
done
grep -q '^RestrictAddressFamilies=AF_UNIX$' "$UNITS/fido2gated.service" &&
	grep -q '^PrivateNetwork=yes$' "$UNITS/fido2gated.service"
ok $? "the agent's unit gives it no network: Unix sockets only"

systemd-sysusers --root="$R" "$UNITS/fido2gate.sysusers" > "$T/sysusers" 2>&1
ok $? "systemd-sysusers takes fido2gate.sysusers" || diag_file "$T/sysusers"
users=$(cut -d: -f1 "$R/etc/passwd" 2> /dev/null | sort | tr '\n' ' ')
like "$users" "(^| )_fido2gate _fido2gate-web " "it makes _fido2gate and _fido2gate-web"
grep -q '^fido2gate-admin:' "$R/etc/group" 2> /dev/null
ok $? "and the group fido2gate-admin"
systemd-tmpfiles --root="$R" --create "$UNITS/fido2gate.tmpfiles" > "$T/tmpfiles" 2>&1
ok $? "systemd-tmpfiles takes fido2gate.tmpfiles" || diag_file "$T/tmpfiles"
is "$(stat -c '%a %U' "$R/run/fido2gate" 2> /dev/null)" "755 root" \
	"/run/fido2gate: root's, 0755 (the clients trust no other folder)"

# activate PATH ARGS...: the agent behind systemd-socket-activate, which
# execs it in its own place on the first connection (so $! is the agent)
activate() {
	systemd-socket-activate "$@" "$BUILD/fido2gated" --socket "$SOCK" \
		--db "$DB" --config "$CONF" 2>> "$T/agent.log" &
	AGENT_PID=$!
}
agent_is_up() {
	[ "$(readlink "/proc/$AGENT_PID/exe")" = "$(readlink -f "$BUILD/fido2gated")" ]
}

activate --seqpacket -l "$SOCK"
wait_for 10 test -S "$SOCK"
ok $? "systemd-socket-activate listens on the agent's path"
agent_is_up
ok $((! $?)) "and the agent is not running yet"
ctl status > "$T/status" 2>&1
ok $? "fido2gatectl status through the activated socket" || diag_file "$T/agent.log"
like "$(cat "$T/status")" "rp_id +$RP" "answered by the agent"
agent_is_up
ok $? "the first connection started the agent"
enrol alice --label key > "$T/enrol" 2>&1
ok $? "an enrolment through the activated socket" || diag_file "$T/enrol"
pam_auth alice < /dev/null
ok $? "a PAM login with the soft key through the activated socket"
pam_auth alice SOFTKEY_STATE= < /dev/null
ok $((! $?)) "and without the key, refused"
agent_stop
is "$AGENT_STATUS" 0 "the agent stops cleanly on SIGTERM"
test -S "$SOCK"
ok $? "the inherited socket is left in place: systemd owns it"

# refused: every inherited socket but a listening SOCK_SEQPACKET Unix socket
# bound to --socket; the agent says so and exits 1
refused() { # DESCRIPTION TRIGGER... (after activate)
	local what=$1
	shift
	wait_for 10 grep -q "Listening on" "$T/agent.log"
	"$@" > /dev/null 2>&1
	if ! wait_for 10 agent_exited; then
		kill "$AGENT_PID"
		diag "the agent served it"
	fi
	wait "$AGENT_PID"
	is "$?" 1 "the agent refuses $what" || diag_file "$T/agent.log"
	AGENT_PID=
	like "$(cat "$T/agent.log")" "fido2gated: (refusing the socket systemd passed|systemd passed 2 sockets)" \
		"and says why"
}
agent_exited() { # a zombie, or gone
	[ ! -e "/proc/$AGENT_PID" ] || [ "$(sed 's/.*) //' "/proc/$AGENT_PID/stat" | cut -c1)" = Z ]
}
stream_connect() { # PATH
	python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).connect(sys.argv[1])' "$1"
}
rm -f "$SOCK"
systemd-socket-activate -l "$SOCK" "$BUILD/fido2gated" --socket "$SOCK" \
	--db "$DB" --config "$CONF" 2> "$T/agent.log" &
AGENT_PID=$!
refused "a SOCK_STREAM socket at its path" stream_connect "$SOCK"
rm -f "$SOCK"

systemd-socket-activate --seqpacket -l "$T/other.sock" "$BUILD/fido2gated" \
	--socket "$SOCK" --db "$DB" --config "$CONF" 2> "$T/agent.log" &
AGENT_PID=$!
refused "a socket bound to another path" \
	"$BUILD/test/fg-client" "$T/other.sock" raw <<< '{"v":1,"op":"status"}'
test -e "$SOCK"
ok $((! $?)) "and makes no socket of its own"

systemd-socket-activate --seqpacket -l "$SOCK" -l "$T/second.sock" \
	"$BUILD/fido2gated" --socket "$SOCK" --db "$DB" --config "$CONF" \
	2> "$T/agent.log" &
AGENT_PID=$!
refused "two sockets" "$BUILD/test/fg-client" "$SOCK" raw <<< '{"v":1,"op":"status"}'
rm -f "$SOCK" "$T/second.sock"

# TCP: a free port, taken again by systemd-socket-activate (retried if
# someone else took it in between)
for _ in 1 2 3 4 5; do
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	systemd-socket-activate -l "127.0.0.1:$port" "$BUILD/fido2gated" \
		--socket "$SOCK" --db "$DB" --config "$CONF" 2> "$T/agent.log" &
	AGENT_PID=$!
	wait_for 10 grep -q "Listening on\|Failed" "$T/agent.log"
	grep -q "Listening on" "$T/agent.log" && break
	wait "$AGENT_PID"
done
refused "a TCP listener" python3 -c "import socket; socket.create_connection(('127.0.0.1', $port)).close()"

# without systemd (no LISTEN_FDS): it binds the socket itself, and removes it
agent_start
ok $? "without socket activation the agent binds its socket itself"
agent_stop
test -e "$SOCK"
ok $((! $?)) "and removes it when it stops"

done_testing
