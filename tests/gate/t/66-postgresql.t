#!/bin/bash
# The shared store: fido2gated on PostgreSQL (a throwaway cluster of
# Debian's postgresql-15, on a Unix socket), two agents on one database.
# The database decides the races: of two logins with one key's clones at
# the same counter, at two agents at once, exactly one gets in; a lock made
# at one agent holds at the other. PostgreSQL stopped: logins are refused,
# the agent stays up and says why; PostgreSQL back: logins resume without
# restarting the agent.
. "$(dirname "$0")/../../lib/tap.sh"
. "$TOP/tests/lib/pg.sh"
if why=$(pg_missing); then
	echo "1..0 # SKIP $why"
	exit 0
fi
# its stores are its own, whatever FG_TEST_STORE says
FG_TEST_STORE=sqlite
. "$TOP/tests/lib/gate.sh"
AGENT2_PID=
trap 'agent_stop; [ -z "$AGENT2_PID" ] || { kill "$AGENT2_PID"; wait "$AGENT2_PID"; }
	pg_cleanup; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

pg_start
ok $? "a PostgreSQL cluster on a Unix socket" || exit 1
pg_createdb fg
DB="postgresql:$(pg_conninfo fg)"
printf '[rate_limit]\nbackoff_after = 4\nlockout_after = 4\n' | write_conf

agent_start
ok $? "the agent starts on store = postgresql:..." || exit 1
is "$(pg_sql fg 'SELECT max(version) FROM schema_version')" 12 \
	"the schema was made on PostgreSQL, every migration"
enrol alice > /dev/null 2>&1
ok $? "enrol alice"
pam_auth alice < /dev/null
ok $? "alice logs in through PAM" || diag "$OUT"
count=$(pg_sql fg "SELECT sign_count FROM credentials c JOIN users u ON u.id = c.user_id WHERE u.name = 'alice'")
[ "${count:-0}" -gt 0 ]
ok $? "the counter is in PostgreSQL ($count)"

# the second agent: its own socket, the same database
SOCK2="$T/agent2.sock"
agent2_start
ok $? "a second agent on the same database"
pam_service gate2 "socket=$SOCK2" timeout=5

cp "$T/key" "$T/key.old"
SERVICE=gate2 pam_auth alice < /dev/null
ok $? "alice logs in at the second agent, with the key the first one knows" || diag "$OUT"
SERVICE=gate2 pam_auth alice SOFTKEY_STATE="$T/key.old" < /dev/null
ok $((! $?)) "a clone at an older counter is refused by the other agent"
pam_auth alice < /dev/null
ok $((! $?)) "and the credential, now suspicious, at the first too"

# login_at SERVICE USER KEY: in the background, its status in $T/rc.*
login_at() {
	env SOFTKEY_STATE="$3" LD_PRELOAD="$PRE$PAM_WRAPPER_SO:$SOFTKEY_SO" \
		PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/pam.d" \
		setsid pamtester "$1" "$2" authenticate > "$T/out.$1.$2" 2>&1
	echo $? > "$T/rc.$1.$2"
}

# The race's start line: pam_exec, before pam_fido2gate, says the login
# is ready and waits for $T/go. The logins start one by one, each once
# the one before is at the line (pam_wrapper's set-up in pam_start is
# not safe in two processes at once), then all are let go together.
cat > "$T/line" <<EOF
#!/bin/sh
: > "$T/ready.\$PAM_SERVICE.\$PAM_USER"
while [ ! -e "$T/go" ]; do sleep 0.01; done
EOF
chmod 755 "$T/line"
sock=$SOCK
for s in race race2; do
	printf 'auth requisite pam_exec.so %s\nauth required %s socket=%s timeout=30\naccount required pam_permit.so\n' \
		"$T/line" "$BUILD/pam_fido2gate.so" "$sock" > "$T/pam.d/$s"
	sock=$SOCK2
done
# at_line SERVICE USER: wait (30 s at most) for that login at the line
at_line() {
	for _ in $(seq 3000); do
		[ -e "$T/ready.$1.$2" ] && return 0
		sleep 0.01
	done
	diag "the login of $2 at $1 did not reach the start line"
	sed 's/^/#   /' "$T/out.$1.$2" >&2
	return 1
}

# a key and its clone, at one counter, at both agents at once: the
# database's compare-and-set lets exactly one in, for every user
users="bob carol dave erin frank ivan judy ken"
for u in $users; do
	SOFTKEY_STATE="$T/key-$u" enrol "$u" > /dev/null 2>&1 ||
		diag "cannot enrol $u"
	cp "$T/key-$u" "$T/key-$u.clone"
done
for u in $users; do
	login_at race "$u" "$T/key-$u" &
	at_line race "$u"
	login_at race2 "$u" "$T/key-$u.clone" &
	at_line race2 "$u"
done
: > "$T/go"
wait $(jobs -p | grep -v "^$AGENT_PID\$" | grep -v "^$AGENT2_PID\$") 2> /dev/null
one=0
for u in $users; do
	a=$(cat "$T/rc.race.$u" 2> /dev/null)
	b=$(cat "$T/rc.race2.$u" 2> /dev/null)
	if [ "$a" = 0 ] && [ "$b" = 0 ]; then
		diag "$u: both clones got in"
	elif [ "$a" != 0 ] && [ "$b" != 0 ]; then
		diag "$u: neither got in ($a, $b)"
		sed 's/^/#   /' "$T/out.race.$u" "$T/out.race2.$u"
	else
		one=$((one + 1))
	fi
done
is "$one" 8 "two agents, two clones at one counter at once: exactly one login of each pair accepted"
accepted=$(pg_sql fg "SELECT count(*) FROM audit WHERE event LIKE 'auth%' AND result = 'allow' AND \"user\" IN ('bob','carol','dave','erin','frank','ivan','judy','ken')")
is "$accepted" 8 "the audit has eight accepted logins for them, no more"
refused=$(pg_sql fg "SELECT count(*) FROM audit WHERE event LIKE 'auth%' AND result = 'deny' AND \"user\" IN ('bob','carol','dave','erin','frank','ivan','judy','ken')")
is "$refused" 8 "and eight refused: every loser reached an agent and lost there"

# a lock made at one agent holds at the other at once
SOFTKEY_STATE="$T/key-gina" enrol gina > /dev/null 2>&1
ctl lock gina --reason "a lost laptop" > /dev/null 2>&1
ok $? "gina is locked at the first agent"
SERVICE=gate2 pam_auth gina SOFTKEY_STATE="$T/key-gina" < /dev/null
ok $((! $?)) "and refused at the second"

# failed attempts count at every agent: two at each of the two lock a
# user out at lockout_after = 4, as four at one agent would
SOFTKEY_STATE="$T/key-hank" enrol hank > /dev/null 2>&1
for s in gate gate2 gate gate2; do
	SERVICE=$s pam_auth hank SOFTKEY_STATE="$T/key-bob" < /dev/null
done
is "$(pg_sql fg "SELECT count(*) FROM audit WHERE event = 'lockout' AND \"user\" = 'hank'")" 1 \
	"two failed attempts at each agent lock hank out (lockout_after = 4)"
SERVICE=gate2 pam_auth hank SOFTKEY_STATE="$T/key-hank" < /dev/null
ok $((! $?)) "and his own key is refused at either agent" || diag "$OUT"

ctl audit --verify > "$T/verify" 2>&1
ok $? "one audit chain, intact, whichever agent wrote" || diag_file "$T/verify"

# PostgreSQL goes away: refused, said, the agent stays
SOFTKEY_STATE="$T/key-henry" enrol henry > /dev/null 2>&1
pg_down
ok $? "PostgreSQL stopped"
pam_auth henry SOFTKEY_STATE="$T/key-henry" < /dev/null
ok $((! $?)) "a login is refused while PostgreSQL is away (fail closed)"
agent_alive
ok $? "the agent stays up"
grep -q "PostgreSQL cannot be reached" "$T/agent.log"
ok $? "its log says PostgreSQL cannot be reached" || diag_file "$T/agent.log"
status=$(ctl status 2>&1)
like "$status" "PostgreSQL cannot be reached" "fido2gatectl status says so"

pg_up
ok $? "PostgreSQL back"
pid=$AGENT_PID
pam_auth henry SOFTKEY_STATE="$T/key-henry" < /dev/null
ok $? "logins resume without restarting the agent" || diag "$OUT"
is "$AGENT_PID" "$pid" "(the same agent process)"
grep -q "connected to PostgreSQL again" "$T/agent.log"
ok $? "its log says it reconnected"
status=$(ctl status 2>&1)
unlike "$status" "cannot be reached" "and status no longer says it is away"

# the setting: [store] store instead of --db; a password file others can
# read is refused, not ignored as libpq would
store_conf() {
	{
		printf '[relying_party]\nid = %s\n[store]\nstore = %s\n' "$RP" "$DB"
		cat
	} > "$T/agent3.conf"
}
store_conf < /dev/null
"$BUILD/fido2gated" --socket "$T/agent3.sock" --config "$T/agent3.conf" \
	2>> "$T/agent3.log" &
pid3=$!
for _ in $(seq 200); do
	"$BUILD/fido2gatectl" --socket "$T/agent3.sock" status > /dev/null 2>&1 && break
	sleep 0.05
done
like "$("$BUILD/fido2gatectl" --socket "$T/agent3.sock" list alice 2>&1)" "alice" \
	"an agent with [store] store = postgresql:... and no --db sees the same credentials"
like "$("$BUILD/fido2gatectl" --socket "$T/agent3.sock" status 2>&1)" "store +postgresql" \
	"its status names the backend"
kill "$pid3"
wait "$pid3" 2> /dev/null
echo "*:*:*:*:secret" > "$T/pgpass"
chmod 0644 "$T/pgpass"
store_conf <<< "password_file = $T/pgpass"
err=$(timeout 20 "$BUILD/fido2gated" --socket "$T/agent4.sock" --config "$T/agent3.conf" 2>&1)
is "$?" 1 "a password file others can read: the agent does not start"
like "$err" "mode 0600" "and says why"
printf '[relying_party]\nid = %s\n[store]\nstore = postgresql:host=%s password=x dbname=fg\n' \
	"$RP" "$PGT" > "$T/agent5.conf"
err=$(timeout 20 "$BUILD/fido2gated" --socket "$T/agent5.sock" --config "$T/agent5.conf" 2>&1)
is "$?" 1 "a password in the connection string: the agent does not start"
like "$err" "password file" "and says where it goes"

done_testing
