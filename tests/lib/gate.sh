# Helpers for tests of the gate itself: an agent on a temporary store, the
# CLI, and pam_fido2gate.so in a real PAM stack (pam_wrapper + pamtester),
# with the soft key preloaded. Sourced after tap.sh.

SOCK="$T/agent.sock"
DB="$T/store.db"
CONF="$T/agent.conf"
RP=fido2gate.test
AGENT_PID=
AGENT_STATUS=
AGENT_WRAPPER=${AGENT_WRAPPER:-}
export SOFTKEY_STATE="$T/key"

trap 'agent_stop; rm -rf "$T"' EXIT

# write_conf: the agent's config, our RP ID plus any lines on stdin.
write_conf() {
	{
		printf '[relying_party]\nid = %s\n' "$RP"
		cat
	} > "$CONF"
}
write_conf < /dev/null

# AGENT_WRAPPER: a command to run the agent under (valgrind, say)
agent_start() {
	$AGENT_WRAPPER "$BUILD/fido2gated" --socket "$SOCK" --db "$DB" --config "$CONF" \
		2>> "$T/agent.log" &
	AGENT_PID=$!
	for _ in $(seq 400); do
		"$BUILD/fido2gatectl" --socket "$SOCK" status > /dev/null 2>&1 &&
			return 0
		kill -0 "$AGENT_PID" 2> /dev/null || break
		sleep 0.05
	done
	diag "the agent did not start:"
	sed 's/^/#   /' "$T/agent.log"
	return 1
}

agent_stop() {
	if [ -n "$AGENT_PID" ]; then
		kill "$AGENT_PID" 2> /dev/null
		wait "$AGENT_PID" 2> /dev/null
		AGENT_STATUS=$?
		AGENT_PID=
	fi
}

agent_alive() {
	[ -n "$AGENT_PID" ] && kill -0 "$AGENT_PID" 2> /dev/null
}

ctl() {
	"$BUILD/fido2gatectl" --socket "$SOCK" "$@"
}

# enrol USER [ARGS...]: with the soft key in $SOFTKEY_STATE
enrol() {
	sk "$BUILD/fido2gatectl" --socket "$SOCK" enroll "$@" < /dev/null
}

client() {
	sk "$BUILD/test/fg-client" "$SOCK" "$@"
}

mkdir -p "$T/pam.d"
cat > "$T/pam.d/other" << PAM
auth required pam_deny.so
account required pam_deny.so
PAM

# pam_service NAME [MODULE-ARGS...]
pam_service() {
	local name=$1
	shift
	printf 'auth required %s %s\naccount required pam_permit.so\n' \
		"$BUILD/pam_fido2gate.so" "$*" > "$T/pam.d/$name"
}
pam_service gate "socket=$SOCK" timeout=5

# pam_auth USER [VAR=VALUE...]: pamtester through pam_wrapper; stdin is the
# conversation's input. Output in $OUT, status returned.
pam_auth() {
	local user=$1
	shift
	OUT=$(env "$@" LD_PRELOAD="$PRE$PAM_WRAPPER_SO:$SOFTKEY_SO" PAM_WRAPPER=1 \
		PAM_WRAPPER_SERVICE_DIR="$T/pam.d" \
		setsid $PAMTESTER_WRAPPER pamtester "${SERVICE:-gate}" "$user" authenticate 2>&1)
}

# audit_has REGEX: the latest audit records match
audit_has() {
	ctl audit --limit 20 | grep -Eq -- "$1"
}
