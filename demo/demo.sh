#!/bin/bash
# make demo: fido2gate's two gates, end to end.
#
# Part one, the workstation: it starts fido2gated on a fresh SQLite store,
# has an admin enrol a (software) security key for alice, and shows through
# a real PAM stack that her password alone is not enough: the login is
# refused without her key and accepted with it.
#
# Part two, the Matrix homeserver (demo/matrix.sh): a second agent is the
# OpenID Connect provider of a real Synapse (SYNAPSE_PYTHON, or the shared
# build ../shared/synapse/build), or, without one, of Debian's authlib as
# an independent relying party; headless Chromium logs in with a virtual
# authenticator: a password login refused, single sign-on without alice's
# key refused, and with it accepted.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build="$top/build"
dir=$(mktemp -d "${TMPDIR:-/tmp}/fido2gate-demo.XXXXXX")
agent=
cleanup() {
	set +u # whatever state an error left, clean up all of it
	# part two's agent, front, browser and homeserver (demo/matrix.sh)
	declare -F matrix_cleanup > /dev/null && matrix_cleanup
	[ -n "$agent" ] && kill "$agent" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

sock="$dir/agent.sock"
pam_wrapper=$(ls /usr/lib/*/libpam_wrapper.so | head -n 1)
export SOFTKEY_STATE="$dir/alice-key"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
indent() { sed 's/^/   /'; }
ctl() { "$build/fido2gatectl" --socket "$sock" "$@"; }
# a login through Linux-PAM (pam_wrapper + pamtester), with the test key
# plugged in or not
login() {
	env "$@" LD_PRELOAD="$pam_wrapper:$build/test/softkey.so" \
		PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$dir/pam.d" \
		setsid stdbuf -o0 pamtester login alice authenticate < /dev/null 2>&1 |
		grep -v PWRAP_ | indent
	return "${PIPESTATUS[0]}"
}
verdict() {
	if [ "$1" -eq 0 ]; then
		printf '   => \033[32mACCEPTED\033[0m %s\n' "$2"
	else
		printf '   => \033[31mREFUSED\033[0m %s\n' "$2"
	fi
}

say "Starting the agent, fido2gated, on a fresh SQLite store"
printf '[relying_party]\nid = demo.fido2gate.test\nname = fido2gate demo\n' > "$dir/agent.conf"
"$build/fido2gated" --socket "$sock" --db "$dir/store.db" \
	--config "$dir/agent.conf" 2> "$dir/agent.log" &
agent=$!
for _ in $(seq 100); do ctl status > /dev/null 2>&1 && break; sleep 0.05; done
ctl status | indent

say "The workstation's PAM stack asks fido2gate for a security key"
mkdir -p "$dir/pam.d"
printf 'auth required %s socket=%s\naccount required pam_permit.so\n' \
	"$build/pam_fido2gate.so" "$sock" > "$dir/pam.d/login"
printf 'auth required pam_deny.so\n' > "$dir/pam.d/other"
sed 's/^/   \/etc\/pam.d\/login: /' "$dir/pam.d/login"

say "An admin enrols alice's security key (a software test key)"
echo "   \$ fido2gatectl enroll alice --label 'alice laptop key'"
LD_PRELOAD="$build/test/softkey.so" ctl enroll alice \
	--label "alice laptop key" < /dev/null 2>&1 | indent
ctl list | indent

say "An attacker who knows alice's password, but has no key, logs in"
login SOFTKEY_STATE=
verdict $? "no security key is plugged in"

say "The attacker plugs in a key of their own"
login SOFTKEY_STATE="$dir/attacker-key"
verdict $? "that key is not enrolled for alice"

say "Alice logs in with her own key and touches it"
login
verdict $? "the agent verified her key's signature"

say "Alice's key, but nobody touches it (a key left in a stolen laptop)"
login SOFTKEY_TOUCH=no SOFTKEY_TOUCH_TIMEOUT_MS=1000
verdict $? "the key demands a touch"

say "Every decision is in the agent's audit log"
ctl audit | indent
echo

# shellcheck source=demo/matrix.sh
. "$top/demo/matrix.sh"
