#!/bin/bash
# What the module and the agent leave behind: no secret (PIN, challenge,
# session, signature) in any log, even with debug on; no descriptor leaked
# to a child started after authentication; no path that a planted symlink
# or a writable folder could redirect.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"

FAULT_SO="$BUILD/test/fault.so"
PIN=7391468205
printf '[policy]\nuser_verification = required\n' | write_conf
agent_start
export SOFTKEY_PIN=$PIN
echo "$PIN" | sk "$BUILD/fido2gatectl" --socket "$SOCK" enroll alice > /dev/null 2>&1
ok $? "enrol alice with a PIN"
pam_service debug "socket=$SOCK" timeout=5 debug

# logins with debug on, every syslog line shown (PAM_WRAPPER_DEBUGLEVEL=4),
# syslog(3) itself and every record sent to the agent captured by fault.so
logged_login() { # PIN
	env PAM_WRAPPER_DEBUGLEVEL=4 FAULT_SYSLOG="$T/syslog" FAULT_WIRE="$T/wire" \
		LD_PRELOAD="$PRE$FAULT_SO:$PAM_WRAPPER_SO:$SOFTKEY_SO" PAM_WRAPPER=1 \
		PAM_WRAPPER_SERVICE_DIR="$T/pam.d" \
		setsid pamtester debug alice authenticate <<< "$1" >> "$T/pam.out" 2>&1
}
logged_login "$PIN"
ok $? "alice logs in with debug on"
logged_login 0000000000
ok $((! $?)) "a wrong PIN is refused with debug on"
grep -q "SYSLOG(7)" "$T/pam.out"
ok $? "debug lines were captured (the check below can see them)"

wire_secrets "$T/wire"
ctl --json audit --limit 100 > "$T/audit.json"
logs="$T/pam.out $T/agent.log $T/audit.json"
[ -e "$T/syslog" ] && logs="$logs $T/syslog"
for what in PIN session sig chal; do
	# shellcheck disable=SC2086
	! grep -qF -- "${!what}" $logs
	ok $? "no $what in the module's syslog, the agent's log or the audit log"
done

# descriptors: a child started after authentication inherits nothing new
got=$(LD_PRELOAD="$PRE$PAM_WRAPPER_SO:$SOFTKEY_SO" PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/pam.d" \
	setsid "$BUILD/test/pam-child" gate alice <<< "$PIN" 2> /dev/null)
like "$got" "auth: 0" "pam-child authenticates"
is "$(sed -n 's/^after://p' <<< "$got")" "$(sed -n 's/^before://p' <<< "$got")" \
	"no descriptor leaks from the module to a child started after authentication"
leaky=0
for f in /proc/"$AGENT_PID"/fdinfo/*; do
	fd=${f##*/}
	[ "$fd" -le 2 ] && continue
	flags=$(sed -n 's/^flags:\s*//p' "$f")
	[ $((8#$flags & 02000000)) -ne 0 ] || { leaky=$((leaky + 1)); diag "agent fd $fd: $(readlink /proc/$AGENT_PID/fd/$fd)"; }
done
is "$leaky" 0 "every descriptor the agent holds is close-on-exec (it closed what it inherited) ($(ls /proc/$AGENT_PID/fd | wc -l) open)"

# symlinks and writable folders
ln -s "$SOCK" "$T/link.sock"
pam_service viasymlink "socket=$T/link.sock" timeout=5
SERVICE=viasymlink pam_auth alice <<< "$PIN"
ok $((! $?)) "the module refuses an agent socket reached through a symlink"
like "$OUT" "unavailable" "and says the service is unavailable"
mkdir -m 1777 "$T/open"
"$BUILD/fido2gated" --socket "$T/open/agent.sock" --db "$T/open-store.db" 2> /dev/null &
open_pid=$!
open_alive() {
	printf '%s\n' '{"v":1,"op":"status"}' |
		"$BUILD/test/fg-client" "$T/open/agent.sock" raw | grep -q '"ok":true'
}
wait_for 30 open_alive
ok $? "an agent answers in the world-writable folder (fg-client raw trusts anything)"
pam_service openfolder "socket=$T/open/agent.sock" timeout=5
SERVICE=openfolder pam_auth alice <<< "$PIN"
ok $((! $?)) "the module refuses an agent socket in a world-writable folder"
kill "$open_pid"
wait "$open_pid" 2> /dev/null
agent_stop
ln -s "$T/elsewhere" "$T/planted.sock"
"$BUILD/fido2gated" --socket "$T/planted.sock" --db "$DB" --config "$CONF" 2> "$T/err"
ok $((! $?)) "the agent will not listen through a planted symlink"
like "$(cat "$T/err")" "not a socket" "and says why"

done_testing
