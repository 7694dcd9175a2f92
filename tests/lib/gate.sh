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

# FG_TEST_STORE: the backend the agent is started on, asked by the test
# harness (only tests read it; the agent and the PAM module read no
# environment). sqlite, the default: the file $DB. postgresql: a database
# of its own in a throwaway cluster (tests/lib/pg.sh) made here and
# removed at exit, or, with FG_TEST_PGT (71-on-postgresql.t), in a cluster
# that is already up, in that folder; $DB is then postgresql:CONNINFO.
# A test that reads or writes the store behind the agent's back does it
# through store_sql, or says it is SQLite's alone with sqlite_only.
FG_TEST_STORE=${FG_TEST_STORE:-sqlite}
STORE_PGDB=
STORE_OWN_PG=

# gate_cleanup: the agent stopped, the store's cluster or database gone,
# $T removed; a test's own EXIT trap ends with it
gate_cleanup() {
	agent_stop
	if [ -n "$STORE_OWN_PG" ]; then
		pg_cleanup
	elif [ -n "$STORE_PGDB" ]; then
		# and the copies a test made of it, named after it
		# (60-audit-chain's ${STORE_PGDB}_pristine)
		for d in $(pg_sql postgres "SELECT datname FROM pg_database
			WHERE starts_with(datname, '$STORE_PGDB')" 2> /dev/null); do
			pg_sql postgres "DROP DATABASE \"$d\" WITH (FORCE)" \
				> /dev/null 2>&1
		done
	fi
	[ -n "${KEEP:-}" ] || rm -rf "$T"
}
trap gate_cleanup EXIT

# store_sql SQL: SQL run in the agent's store, behind its back, by
# sqlite3 or psql (the rows unaligned, columns split by |, alike in both).
# Keep to SQL both understand: "user" quoted, no strftime or char().
store_sql() {
	if [ "$FG_TEST_STORE" = postgresql ]; then
		pg_sql "$STORE_PGDB" "$1"
	else
		sqlite3 "$DB" "$1"
	fi
}

# on_postgresql: the store is PostgreSQL (for the lines SQL cannot share)
on_postgresql() {
	[ "$FG_TEST_STORE" = postgresql ]
}

# sqlite_only WHY: the whole test is about SQLite's file; on another
# backend it is skipped, with the reason
sqlite_only() {
	if [ "$FG_TEST_STORE" != sqlite ]; then
		echo "1..0 # SKIP SQLite's alone: $1"
		exit 0
	fi
}

# write_conf: the agent's config, our RP ID plus any lines on stdin. Root
# and the admin group act without an admin's key until an admin is
# registered ([admin] bootstrap = open), unless the lines say otherwise:
# the tests of the admins' own keys (64-admin*) do.
write_conf() {
	local lines
	lines=$(cat)
	{
		printf '[relying_party]\nid = %s\n' "$RP"
		printf '%s\n' "$lines"
		case $lines in
		*bootstrap*) ;;
		*) printf '[admin]\nbootstrap = open\n' ;;
		esac
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

# agent2_start [WRAPPER...]: a second agent on the same store, its socket
# $SOCK2 ($T/agent2.sock unless set), its pid in AGENT2_PID, its log
# $T/agent2.log; status 0 once it answers
agent2_start() {
	SOCK2=${SOCK2:-$T/agent2.sock}
	"$@" "$BUILD/fido2gated" --socket "$SOCK2" --db "$DB" --config "$CONF" \
		2>> "$T/agent2.log" &
	AGENT2_PID=$!
	for _ in $(seq 400); do
		"$BUILD/fido2gatectl" --socket "$SOCK2" status > /dev/null 2>&1 &&
			return 0
		kill -0 "$AGENT2_PID" 2> /dev/null || break
		sleep 0.05
	done
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

# the store the agent is started on: FG_TEST_STORE, above
case $FG_TEST_STORE in
sqlite) ;;
postgresql)
	. "$TOP/tests/lib/pg.sh"
	if why=$(pg_missing); then
		echo "1..0 # SKIP FG_TEST_STORE=postgresql: $why"
		exit 0
	fi
	if [ -n "${FG_TEST_PGT:-}" ]; then
		PGT=$FG_TEST_PGT
	else
		STORE_OWN_PG=1
		pg_start || { echo "Bail out! no PostgreSQL cluster for the store"; exit 1; }
	fi
	STORE_PGDB="fg_${T##*.}"
	pg_createdb "$STORE_PGDB" || { echo "Bail out! no database $STORE_PGDB"; exit 1; }
	DB="postgresql:$(pg_conninfo "$STORE_PGDB")"
	diag "the store: $DB"
	;;
*)
	echo "Bail out! FG_TEST_STORE=$FG_TEST_STORE: sqlite or postgresql"
	exit 1
	;;
esac

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

# The three logins that show the key is asked after the password and only
# then (30-pam-stack, 57-pam-auth-update): the right password and the key
# get in; the right password without the key is refused; a wrong password
# is refused before the agent is even asked. The PAM service "login"
# includes $T/pam.d/common-auth by absolute path (pam_wrapper redirects
# service files, not @include, which would otherwise read the machine's
# own); the agent is started and alice enrolled first.
stack_after_password() {
	local before
	printf '@include %s\naccount required pam_permit.so\n' \
		"$T/pam.d/common-auth" > "$T/pam.d/login"
	agent_start
	enrol alice > /dev/null 2>&1
	ok $? "enrol alice"

	SERVICE=login pam_auth alice <<< secret
	ok $? "the right password and the key: in" || diag "$OUT"
	like "$OUT" "Touch your security key" "the key was asked for after the password"

	SERVICE=login pam_auth alice SOFTKEY_STATE="$T/other" <<< secret
	ok $((! $?)) "the right password without the key: refused"

	before=$(auth_audit_count)
	SERVICE=login pam_auth alice <<< wrong
	ok $((! $?)) "a wrong password with the key: refused"
	unlike "$OUT" "Touch your security key" "and the key is never asked for"
	is "$(auth_audit_count)" "$before" "the agent was not asked (nothing audited)"
}
auth_audit_count() { ctl --json audit --limit 1000 | grep -c '"event": "auth\.'; }

# wire_secrets CAPTURE [last]: the secrets of the first (or last)
# auth.finish in a capture of the wire (one record a line, as fault.so
# writes it) in $session, $sig and $chal, for checking that no log holds
# them.
wire_secrets() {
	local finish
	if [ "${2:-}" = last ]; then
		finish=$(grep '"op":"auth.finish"' "$1" | tail -n 1)
	else
		finish=$(grep '"op":"auth.finish"' "$1" | head -n 1)
	fi
	_wire_field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p" <<< "$finish"; }
	session=$(_wire_field session)
	sig=$(_wire_field signature)
	chal=$(_wire_field client_data_json | tr '_-' '/+' | base64 -d 2> /dev/null |
		sed -n 's/.*"challenge":"\([^"]*\)".*/\1/p')
	ok $((! (${#session} > 10 && ${#sig} > 40 && ${#chal} > 40))) \
		"the secrets to look for were found on the wire"
}
