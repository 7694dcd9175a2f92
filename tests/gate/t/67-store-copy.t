#!/bin/bash
# fido2gatectl store copy: a store moved from SQLite to PostgreSQL and
# back (a throwaway cluster, tests/lib/pg.sh), every row as it was, ids
# included, and the same audit chain: the agent on the copy lists the
# same users, verifies the same head, and gives new ids after the copied
# ones. A target that is not empty, or a source whose audit log was
# tampered with, is refused, and nothing is written.
. "$(dirname "$0")/../../lib/tap.sh"
. "$TOP/tests/lib/pg.sh"
if why=$(pg_missing); then
	echo "1..0 # SKIP $why"
	exit 0
fi
# its stores are its own, whatever FG_TEST_STORE says
FG_TEST_STORE=sqlite
. "$TOP/tests/lib/gate.sh"
trap 'agent_stop; pg_cleanup; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

copy() {
	"$BUILD/fido2gatectl" store copy "$@"
}

# dump FILE|DB: every table's rows, in key order, the same text from
# sqlite3 and psql (blobs in lower-case hex, NULL empty)
dump_sql() {
	local u=$1
	echo "SELECT id, name, lower(hex(handle)), created FROM users ORDER BY id;
SELECT id, user_id, lower(hex(credential_id)), alg, lower(hex(public_key)), sign_count, uv, backup_eligible, backed_up, lower(hex(aaguid)), fmt, label, created, last_used, state, suspicious, revoked, not_before, rp_id, uv_required, id_pending FROM credentials ORDER BY id;
SELECT id, ts, event, $u, credential, caller_uid, caller_pid, result, reason, detail, prev, hash FROM audit ORDER BY id;
SELECT $u, locked_at, failures, reason, locked_by FROM lockouts ORDER BY 1;
SELECT name, lower(hex(value)) FROM secrets ORDER BY 1;
SELECT kid, alg, jwk, created, retired FROM signing_keys ORDER BY 1;
SELECT id, $u, sid, client, created, consumed, revoked FROM approvals ORDER BY 1;
SELECT name, created, added_by FROM admins ORDER BY 1;
SELECT id, action, $u, credential, requested_by, requested_cred, reason, created, expires, approved_by, approved_cred, approved FROM requests ORDER BY 1;
SELECT lower(hex(token_hash)), $u, created_by, created, expires, used FROM invitations ORDER BY 1;
SELECT $u, n, last_fail FROM failures ORDER BY 1;"
}
dump_lite() {
	sqlite3 "$1" "$(dump_sql user)"
}
dump_pg() {
	# psql has no hex(): encode() under the same name
	pg_sql "$1" "$(dump_sql '"user"' | sed 's/lower(hex(\([a-z_]*\)))/encode(\1, '"'hex'"')/g')"
}

pg_start
ok $? "a PostgreSQL cluster on a Unix socket" || exit 1
pg_createdb fg
pg_createdb fg_other
PG="postgresql:$(pg_conninfo fg)"
LITE="$DB"

# a store with some history: users, a revoked key, a lock, an admin
agent_start
ok $? "the agent starts on SQLite" || exit 1
enrol alice > /dev/null 2>&1
ok $? "enrol alice"
SOFTKEY_STATE="$T/key-bob" enrol bob > /dev/null 2>&1 &&
	SOFTKEY_STATE="$T/key-bob2" enrol bob --label spare > /dev/null 2>&1
ok $? "enrol bob, two keys"
SOFTKEY_STATE="$T/key-carol" enrol carol > /dev/null 2>&1
ok $? "enrol carol"
ctl revoke bob spare > /dev/null 2>&1
ok $? "revoke bob's spare"
ctl lock carol --reason "a lost laptop" > /dev/null 2>&1
ok $? "lock carol"
head=$(ctl audit --anchor)
like "$head" '^[0-9]+:[0-9a-f]{64}$' "the chain's head: $head"
list=$(ctl list)
agent_stop

# SQLite to PostgreSQL
copy "$LITE" "$PG" > "$T/out" 2> "$T/err"
ok $? "store copy sqlite -> postgresql" || diag_file "$T/err"
like "$(cat "$T/out")" "^copied from sqlite to postgresql: [0-9]+ audit records, head ${head%%:*} ${head#*:}$" \
	"it says what it copied, with the head" || diag_file "$T/out"
dump_lite "$LITE" > "$T/dump.lite"
dump_pg fg > "$T/dump.pg"
[ -s "$T/dump.lite" ] && cmp -s "$T/dump.lite" "$T/dump.pg"
ok $? "every table's rows are the same in PostgreSQL, ids, prev and hash included" ||
	diff "$T/dump.lite" "$T/dump.pg" | head -20 | sed 's/^/#   /'
is "$(pg_sql fg 'SELECT last FROM audit_seq')" "${head%%:*}" \
	"PostgreSQL's audit counter is at the head"

# the agent on the copy
DB="$PG"
agent_start
ok $? "the agent starts on the PostgreSQL copy" || exit 1
is "$(ctl list)" "$list" "list shows the same keys"
out=$(ctl audit --verify 2>&1)
ok $? "audit --verify: intact" || diag "$out"
like "$out" "head ${head%%:*} ${head#*:}$" "with the same head as on SQLite"
ctl status > "$T/status" 2>&1
ok $? "status" || diag_file "$T/status"
like "$(cat "$T/status")" "postgresql" "status names the PostgreSQL store"
like "$(ctl show carol 2>&1)" "LOCKED" "carol is still locked"
users_max=$(pg_sql fg 'SELECT max(id) FROM users')
creds_max=$(pg_sql fg 'SELECT max(id) FROM credentials')
SOFTKEY_STATE="$T/key-dave" enrol dave > "$T/err" 2>&1
ok $? "enrol dave on the copy" || diag_file "$T/err"
is "$(pg_sql fg "SELECT u.id, c.id FROM users u JOIN credentials c ON c.user_id = u.id WHERE u.name = 'dave'")" \
	"$((users_max + 1))|$((creds_max + 1))" "dave's user and credential ids follow the copied ones"
is "$(pg_sql fg "SELECT min(id) FROM audit WHERE id > ${head%%:*}")" "$((${head%%:*} + 1))" \
	"the next audit record follows the copied head"
out=$(ctl audit --verify 2>&1)
ok $? "the chain stays intact after the copy's first records" || diag "$out"
head2=$(ctl audit --anchor)
list2=$(ctl list)
agent_stop

# and back to SQLite, a new file
copy "$PG" "sqlite:$T/back.db" > "$T/out" 2> "$T/err"
ok $? "store copy postgresql -> sqlite" || diag_file "$T/err"
dump_pg fg > "$T/dump.pg"
dump_lite "$T/back.db" > "$T/dump.back"
cmp -s "$T/dump.pg" "$T/dump.back"
ok $? "every row is back in SQLite as it was in PostgreSQL" ||
	diff "$T/dump.pg" "$T/dump.back" | head -20 | sed 's/^/#   /'
out=$("$BUILD/fido2gatectl" audit --verify --db "$T/back.db" 2>&1)
ok $? "audit --verify --db on the SQLite copy: intact" || diag "$out"
like "$out" "head ${head2%%:*} ${head2#*:}$" "with PostgreSQL's head"
DB="$T/back.db"
agent_start
ok $? "the agent starts on the copy back" || exit 1
is "$(ctl list)" "$list2" "list shows the same keys"
SOFTKEY_STATE="$T/key-erin" enrol erin > "$T/err" 2>&1
ok $? "enrol erin" || diag_file "$T/err"
is "$(sqlite3 "$DB" "SELECT min(id) FROM audit WHERE id > ${head2%%:*}")" "$((${head2%%:*} + 1))" \
	"SQLite's next audit id follows the copied head"
out=$(ctl audit --verify 2>&1)
ok $? "and the chain is intact" || diag "$out"
agent_stop

# a target that is not empty: refused, nothing written
before=$(dump_pg fg)
copy "$LITE" "$PG" > "$T/out" 2> "$T/err"
is $? 1 "a copy into a PostgreSQL store that has rows is refused"
like "$(cat "$T/err")" "not empty" "it says the target is not empty" || diag_file "$T/err"
is "$(dump_pg fg)" "$before" "and the target is as it was"
copy "$PG" "$T/back.db" > /dev/null 2>&1
is $? 1 "so is a copy into a SQLite store"
pg_sql fg_other "CREATE TABLE notes (t TEXT)"
copy "$LITE" "postgresql:$(pg_conninfo fg_other)" > /dev/null 2> "$T/err"
is $? 1 "and into a database with a table of someone else's"
is "$(pg_sql fg_other "SELECT string_agg(tablename, ',') FROM pg_tables WHERE schemaname = 'public'")" \
	notes "no table was made there"
pg_sql fg_other "DROP TABLE notes"

# a tampered source: refused, the record named, nothing written
cp "$LITE" "$T/tampered.db"
sqlite3 "$T/tampered.db" "DROP TRIGGER audit_no_update; UPDATE audit SET reason = 'all fine' WHERE id = 3"
copy "$T/tampered.db" "postgresql:$(pg_conninfo fg_other)" > "$T/out" 2> "$T/err"
is $? 1 "a source whose audit log was edited is refused"
like "$(cat "$T/err")" "tampered with: record 3 \(edited\)" "record 3 is named" ||
	diag_file "$T/err"
is "$(pg_sql fg_other "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")" 0 \
	"nothing was written to the target"

# what is not a copy
copy "$T/nothing.db" "sqlite:$T/new.db" > /dev/null 2>&1
is $? 2 "a SQLite source that is not there is a usage error"
[ ! -e "$T/nothing.db" ]
ok $? "and it is not made"
printf 'x\n' > "$T/pass" && chmod 0644 "$T/pass"
copy --password-file "$T/pass" "$LITE" "postgresql:$(pg_conninfo fg_other)" > /dev/null 2> "$T/err"
ok $(($? == 0)) "a password file readable by others is refused"
like "$(cat "$T/err")" "mode 0600" "it says so" || diag_file "$T/err"
copy "$LITE" > /dev/null 2>&1
is $? 2 "store copy without TO is a usage error"

done_testing
