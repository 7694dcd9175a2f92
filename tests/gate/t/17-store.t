#!/bin/bash
# The store: versioned, append-only audit; what the agent acknowledged
# survives kill -9; a store it cannot trust stops it from starting instead
# of turning into "nobody is enrolled", and one that breaks under it
# refuses. On SQLite (the file's mode, WAL, its folder and sidecar files)
# and, run by 71-on-postgresql.t, on PostgreSQL, where what is SQLite's
# file alone is skipped and the store is broken with SQL instead.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"

agent_start
enrol alice --label first > /dev/null 2>&1
ok $? "enrol alice"
if on_postgresql; then
	skip 3 "the file's mode and WAL are SQLite's"
else
	is "$(stat -c %a "$DB")" 600 "the store is created mode 0600"
	is "$(stat -c %a "$DB-wal")" 600 "its write-ahead log too"
	is "$(sqlite3 "$DB" 'PRAGMA journal_mode')" wal "the store is in WAL mode"
fi
is "$(store_sql 'SELECT max(version) FROM schema_version')" 12 "the schema version is recorded"
is "$(store_sql 'SELECT length(handle) FROM users')" 32 "alice has a 32-byte random user handle"
store_sql "DELETE FROM audit" 2> "$T/err"
ok $((! $?)) "the audit table refuses deletes"
store_sql "UPDATE audit SET result = 'allow'" 2> "$T/err"
ok $((! $?)) "the audit table refuses updates"

# acknowledged writes survive kill -9
SOFTKEY_STATE="$T/k2" enrol alice --label second > /dev/null 2>&1
ok $? "a second enrolment is acknowledged"
kill -9 "$AGENT_PID"
wait "$AGENT_PID" 2> /dev/null
AGENT_PID=
if on_postgresql; then
	is "$(store_sql 'SELECT count(*) FROM credentials')" 2 "the store holds both keys after kill -9"
else
	is "$(sqlite3 "$DB" 'PRAGMA integrity_check')" ok "the store is consistent after kill -9"
fi
agent_start
like "$(ctl list alice)" "second" "the acknowledged enrolment survived kill -9"
ctl revoke alice second > /dev/null
kill -9 "$AGENT_PID"
wait "$AGENT_PID" 2> /dev/null
AGENT_PID=
agent_start
like "$(ctl list alice)" "revoked .* second" "the acknowledged revocation survived kill -9"
pam_auth alice < /dev/null
ok $? "alice logs in after the restarts"
"$BUILD/fido2gated" --socket "$SOCK" --db "$T/second.db" 2> "$T/err"
ok $((! $?)) "a second agent does not take over a live agent's socket"
like "$(cat "$T/err")" "another agent" "and says why"
ctl status > /dev/null
ok $? "the first agent still serves its socket"
agent_stop

if on_postgresql; then
	# a database of a newer version
	store_sql "INSERT INTO schema_version VALUES (99)"
	"$BUILD/fido2gated" --socket "$SOCK" --db "$DB" 2> "$T/err"
	ok $((! $?)) "a store from a newer version is refused"
	like "$(cat "$T/err")" "schema version 99" "and the message names the version"
	store_sql "DELETE FROM schema_version WHERE version = 99"
	skip 13 "a store file, its folder and its sidecar files are SQLite's"
else
	# stores the agent must not use
	"$BUILD/fido2gated" --socket "$SOCK" --db "$T/missing-dir/store.db" 2> "$T/err"
	ok $((! $?)) "a store in a missing folder is an error"
	ln -s "$DB" "$T/link.db"
	"$BUILD/fido2gated" --socket "$SOCK" --db "$T/link.db" 2> "$T/err"
	ok $((! $?)) "a store reached through a symlink is refused"
	cp "$DB" "$T/open.db"
	chmod 644 "$T/open.db"
	"$BUILD/fido2gated" --socket "$SOCK" --db "$T/open.db" 2> "$T/err"
	ok $((! $?)) "a store readable by others is refused"
	like "$(cat "$T/err")" "0600" "and the message says what mode it needs"
	head -c 8192 /dev/urandom > "$T/corrupt.db"
	chmod 600 "$T/corrupt.db"
	"$BUILD/fido2gated" --socket "$SOCK" --db "$T/corrupt.db" 2> "$T/err"
	ok $((! $?)) "a corrupt store stops the agent"
	like "$(cat "$T/err")" "store" "with a message about the store"
	cp "$DB" "$T/future.db"
	sqlite3 "$T/future.db" "INSERT INTO schema_version VALUES (99)"
	"$BUILD/fido2gated" --socket "$SOCK" --db "$T/future.db" 2> "$T/err"
	ok $((! $?)) "a store from a newer version is refused"
	like "$(cat "$T/err")" "schema version 99" "and the message names the version"

	# the folder, SQLite's sidecar files and the config must be ours alone
	mkdir -m 700 "$T/d"
	chmod 770 "$T/d"
	"$BUILD/fido2gated" --socket "$SOCK" --db "$T/d/store.db" 2> "$T/err"
	ok $((! $?)) "a store in a group-writable folder is refused"
	like "$(cat "$T/err")" "writable by group or others \(mode 770\)" "and the message says why"
	chmod 700 "$T/d"
	chown nobody "$T/d"
	"$BUILD/fido2gated" --socket "$SOCK" --db "$T/d/store.db" 2> "$T/err"
	ok $((! $?)) "a store in a folder owned by another user is refused"
	like "$(cat "$T/err")" "must be owned by uid 0" "and the message names the owner it needs"
	chown root "$T/d"
	ln -s "$T/elsewhere" "$T/d/store.db-wal"
	"$BUILD/fido2gated" --socket "$SOCK" --db "$T/d/store.db" 2> "$T/err"
	ok $((! $?)) "a planted symlink in place of the write-ahead log is refused"
	like "$(cat "$T/err")" "store.db-wal: .*a symlink" "and named"
	[ ! -e "$T/elsewhere" ]
	ok $? "nothing was written through it"
	rm -f "$T/d/store.db-wal"
fi
cp "$CONF" "$T/open.conf"
chmod 666 "$T/open.conf"
"$BUILD/fido2gated" --socket "$SOCK" --db "$DB" --config "$T/open.conf" 2> "$T/err"
ok $((! $?)) "a world-writable config is refused"
like "$(cat "$T/err")" "writable by group or others" "and the message says why"
chmod 644 "$T/open.conf"
chown nobody "$T/open.conf"
"$BUILD/fido2gated" --socket "$SOCK" --db "$DB" --config "$T/open.conf" 2> "$T/err"
ok $((! $?)) "a config owned by another user is refused"
ln -s "$CONF" "$T/link.conf"
"$BUILD/fido2gated" --socket "$SOCK" --db "$DB" --config "$T/link.conf" 2> "$T/err"
ok $((! $?)) "a config reached through a symlink is refused"
"$BUILD/fido2gated" --socket "$SOCK" --db "$DB" --config "$T" 2> "$T/err"
ok $((! $?)) "a config that is a folder is refused"
"$BUILD/fido2gated" --socket "$SOCK" --db "$DB" --config "$T/missing.conf" 2> "$T/err"
ok $((! $?)) "a missing config is an error, not the defaults"

# a store that breaks under a running agent refuses, never allows
agent_start
if on_postgresql; then
	# a table the agent needs gone from under it
	store_sql "ALTER TABLE credentials RENAME TO credentials_gone"
else
	sqlite3 "$DB" 'PRAGMA wal_checkpoint(TRUNCATE)' > /dev/null
	size=$(stat -c %s "$DB")
	dd if=/dev/urandom of="$DB" bs=1024 seek=1 count=$((size / 1024 - 1)) conv=notrunc 2> /dev/null
fi
pam_auth alice < /dev/null
st=$?
ok $((! st)) "pam refuses when the store is corrupted under the agent"
like "$OUT" "unavailable|failed" "with a refusal message"
agent_alive
ok $? "the agent stays up to refuse"
agent_stop

done_testing
