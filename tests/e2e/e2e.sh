# Helpers for the browser and relying-party tests (tests/gate/t/42-*.t,
# 43-*.t), sourced after tap.sh and gate.sh: the skip checks, free
# loopback ports, the web front run as nobody, background servers stopped
# at exit, and the Chromium driver (driver.mjs) as a coprocess.

E2E="$TOP/tests/e2e"
. "$TOP/tests/lib/intl.sh" # the front's French catalog
SYS_PYTHON=/usr/bin/python3 # Debian's, where python3-authlib lives
CHROMIUM=${FG_CHROMIUM:-/usr/bin/chromium} # lib.mjs reads FG_CHROMIUM too
E2E_PIDS=
DRIVER_PID=

e2e_cleanup() {
	local p
	if [ -n "$DRIVER_PID" ]; then
		# EOF on its stdin: the driver closes Chromium and exits
		[ -n "${DRIVER[1]:-}" ] && eval "exec ${DRIVER[1]}>&-"
		wait_for 20 e2e_gone "$DRIVER_PID" || kill "$DRIVER_PID" 2> /dev/null
		DRIVER_PID=
	fi
	for p in $E2E_PIDS; do
		kill "$p" 2> /dev/null
	done
	for p in $E2E_PIDS; do
		wait "$p" 2> /dev/null
	done
	E2E_PIDS=
}
trap 'e2e_cleanup; gate_cleanup' EXIT

e2e_gone() { ! kill -0 "$1" 2> /dev/null; }

# e2e_driver_stop PID FD: a driver run as a coprocess, told to go by EOF on
# its stdin (FD, the coprocess's input): it closes Chromium and exits, or
# is killed after 20 s
e2e_driver_stop() {
	[ -n "$1" ] || return 0
	[ -n "${2:-}" ] && eval "exec $2>&-"
	wait_for 20 e2e_gone "$1" || kill "$1" 2> /dev/null
}

# e2e_skip_unless_browser: the whole test needs Chromium, Node.js 20 and
# tests/e2e's npm packages (scripts/deps.sh installs all three)
e2e_skip_unless_browser() {
	local why=
	if [ ! -x "$CHROMIUM" ]; then
		why="Chromium is not installed ($CHROMIUM; scripts/deps.sh installs it)"
	elif ! command -v node > /dev/null; then
		why="Node.js is not installed (scripts/deps.sh installs it)"
	elif [ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
		why="Node.js $(node --version) is too old for playwright-core (20 or later)"
	elif [ ! -d "$E2E/node_modules/playwright-core" ] ||
		[ ! -d "$E2E/node_modules/openid-client" ]; then
		why="tests/e2e's npm packages are missing (scripts/deps.sh runs npm ci there)"
	elif ! command -v jq > /dev/null || ! command -v curl > /dev/null ||
		! command -v setpriv > /dev/null; then
		why="jq, curl or setpriv is missing (scripts/deps.sh installs them)"
	elif [ ! -x "$BUILD/fido2gate-web" ] || [ ! -x "$BUILD/test/fg-webkey" ]; then
		why="$BUILD/fido2gate-web or $BUILD/test/fg-webkey is not built"
	elif [ "$(id -u)" -ne 0 ]; then
		why="needs root: the web front runs as nobody, and the agent enrols as root"
	fi
	if [ -n "$why" ]; then
		echo "1..0 # SKIP $why"
		exit 0
	fi
}

# free_ports N: N loopback TCP ports nobody listens on now
free_ports() {
	python3 - "$1" << 'PY'
import socket, sys
held = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    held.append(s)
print(" ".join(str(s.getsockname()[1]) for s in held))
PY
}

# spawn CMD...: start CMD in the background, stopped at exit; its pid in $!
spawn() {
	"$@" &
	E2E_PIDS="$E2E_PIDS $!"
}

# url_ok URL: the URL answers 200
url_ok() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' "$1")" = 200 ]
}

# front_start PORT: fido2gate-web on 127.0.0.1:PORT as nobody (the agent's
# [web] user), with nothing but its own binary, copied where nobody can
# read it, the agent's socket and the French catalog (with_catalog).
# FRONT is its origin. Its idle timeout is longer than any of these tests:
# Synapse's HTTP client (Twisted's pool) and the browser reuse idle
# connections, and a request sent on one just as the front closes it is
# lost (Synapse: "Timeout waiting for response", ResponseNeverReceived);
# with the default 5 s, a step that happens to wait about 5 s raced it.
front_start() {
	local bin
	FRONT="http://localhost:$1"
	bin=$(share "$BUILD/fido2gate-web") || return 1
	spawn "${WITH_CATALOG[@]}" setpriv --reuid=nobody --regid=nogroup --clear-groups --no-new-privs \
		"$bin" --agent "$SOCK" --listen "127.0.0.1:$1" --base-url "$FRONT" \
		--timeout 300 2>> "$T/front.log"
	FRONT_PID=$!
	wait_for 30 url_ok "$FRONT/.well-known/openid-configuration" && return 0
	diag "the web front did not start:"
	diag_file "$T/front.log"
	return 1
}

# webkey USER [--uv]: enrol a fresh key for USER through the agent; its
# JSON in $T/key-USER.json
webkey() {
	"$BUILD/test/fg-webkey" "$SOCK" "$@" > "$T/key-$1.json" 2>> "$T/webkey.log"
}

# driver_start: Chromium (tests/e2e/driver.mjs) as a coprocess
driver_start() {
	coproc DRIVER { exec node "$E2E/driver.mjs" 2>> "$T/driver.log"; }
}

# browse JSON: one login scenario (see driver.mjs); its result in $R
browse() {
	printf '%s\n' "$1" >&"${DRIVER[1]}"
	if ! IFS= read -r -t 240 R <&"${DRIVER[0]}"; then
		R='{"outcome":"driver_error","error":"no answer from the driver"}'
		diag_file "$T/driver.log"
	fi
	if [ "$(jv "$R" .outcome)" = driver_error ]; then
		jv "$R" .error | sed 's/^/#   driver: /' | head -n 15
	fi
}

# client_secret FILE: a client secret, 0600, with the characters that
# client_secret_basic must form-urlencode (RFC 6749 §2.3.1): '+', '/' and
# '=', as `openssl rand -base64` makes them half the time
# client_secret FILE: a secret as docs/configuration.md says to make one
# (the agent refuses characters that form-encoding would change)
client_secret() {
	openssl rand -hex 32 > "$1" && chmod 600 "$1"
}

# jv JSON FILTER: one value out of JSON (jq -r)
jv() {
	jq -r "$2" <<< "$1"
}

# audit_count REGEX: how many audit records match
audit_count() {
	ctl audit --limit 1000 | grep -Ec -- "$1"
}
