#!/bin/bash
# The audit log is a hash chain: a store with records from real logins
# and admin actions verifies intact; each kind of tampering with the
# SQLite file behind the agent's back (a record edited, one deleted from
# the middle or the start, the last ones cut off, the whole tail rewritten
# with fresh hashes) is found, and audit --verify names exactly the first
# bad record. A log cut short is found with an anchor, which the agent
# writes to its log every [audit] anchor_every records. Stores of the
# previous schema are chained at the upgrade. audit --user and --since
# filter in the agent; every login decision says which PAM service, remote
# host and tty it came from. On PostgreSQL too (71-on-postgresql.t): the
# tampering is done with psql on copies of the database, and audit
# --verify --db FILE, which reads SQLite files only, is skipped.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"

write_conf << 'CONF'
[rate_limit]
backoff_after = 100
lockout_after = 0
[audit]
anchor_every = 5
CONF

# pamtester with a remote host and a tty, as sshd would set them
login() { # USER [VAR=VALUE...]
	local user=$1
	shift
	env "$@" LD_PRELOAD="$PRE$PAM_WRAPPER_SO:$SOFTKEY_SO" PAM_WRAPPER=1 \
		PAM_WRAPPER_SERVICE_DIR="$T/pam.d" setsid pamtester \
		-I rhost=192.0.2.7 -I tty=pts/3 gate "$user" authenticate \
		< /dev/null > /dev/null 2>&1
}
# jq-less JSON reads: python3 on a file
py() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); $1" "${@:2}"; }

agent_start
enrol alice --label laptop > /dev/null 2>&1
ok $? "enrol alice"
login alice
ok $? "alice logs in with her key"
login alice SOFTKEY_STATE="$T/other"
ok $((! $?)) "alice with another key is refused"
login alice
ok $? "alice logs in again"
ctl unlock alice > /dev/null
ok $? "an admin clears alice's backoff"

# a second phase, at least a second later, for --since
since=$(($(date +%s) + 1))
wait_for 5 eval '[ "$(date +%s)" -ge '"$since"' ]'
SOFTKEY_STATE="$T/kb" enrol bob > /dev/null 2>&1
ok $? "enrol bob"
login bob SOFTKEY_STATE="$T/kb"
ok $? "bob logs in"
login bob
ok $((! $?)) "bob with alice's key is refused"
ctl revoke alice laptop > /dev/null
ok $? "an admin revokes alice's key"
login alice
ok $((! $?)) "alice's revoked key is refused"

ctl --json audit --limit 1000 > "$T/all.json"
n=$(py 'print(len(d))' "$T/all.json")
ok $((! (n >= 10))) "the operations left $n audit records"
is "$(py 'print(" ".join(str(r["id"]) for r in d))' "$T/all.json")" "$(seq -s ' ' 1 "$n")" \
	"numbered 1 to $n"
is "$(py 'print(sum(1 for i, r in enumerate(d) if r["prev"] == (d[i-1]["hash"] if i else "0"*64) and len(r["hash"]) == 64))' "$T/all.json")" "$n" \
	"each holds its hash and the hash of the one before (64 zeros for the first)"

# --- where each decision came from, and who acted ---
py 'import re
for r in d:
    if r["event"].startswith("auth."):
        assert r["detail"] == "service=gate rhost=192.0.2.7 tty=pts/3", r
        assert r["caller_uid"] == 0 and r["caller_pid"] > 1, r
    if r["event"] in ("enroll", "revoke", "unlock"):
        assert r["caller_uid"] == 0 and r["caller_pid"] > 1, r' "$T/all.json" 2> "$T/err"
ok $? "every login record (begin and decision) names the PAM service, remote host and tty, and the caller's uid and pid; every admin action its caller" ||
	diag_file "$T/err"
like "$(py 'print(" ".join(sorted({r["event"] + ":" + r["result"] for r in d if r["event"].startswith("auth.")})))' "$T/all.json")" \
	"^auth.abort:deny auth.finish:allow$" "allowed and refused logins are among them"

# --- filters, done by the agent ---
ctl --json audit --user bob > "$T/bob.json"
is "$(py 'print(sorted({r["user"] for r in d}), len(d))' "$T/bob.json")" \
	"$(py 'b = [r for r in d if r["user"] == "bob"]; print(sorted({r["user"] for r in b}), len(b))' "$T/all.json")" \
	"--user bob: every record of bob's and only them"
want=$(py 'print(" ".join(str(r["id"]) for r in d if r["ts"] >= '"$since"'))' "$T/all.json")
ok $((! ${#want})) "some records are of the second phase"
is "$(ctl --json audit --since "$since" | py 'print(" ".join(str(r["id"]) for r in d))' /dev/stdin)" \
	"$want" "--since UNIX-TIME: the records from then on"
iso=$(date -u -d "@$since" +%Y-%m-%dT%H:%M:%SZ)
is "$(ctl --json audit --since "$iso" | py 'print(" ".join(str(r["id"]) for r in d))' /dev/stdin)" \
	"$want" "--since $iso: the same"
is "$(ctl --json audit --since "$(date -u -d "@$since" '+%Y-%m-%d %H:%M:%S')" --user bob | py 'print(len(d))' /dev/stdin)" \
	"$(py 'print(sum(1 for r in d if r["user"] == "bob" and r["ts"] >= '"$since"'))' "$T/all.json")" \
	"--since with --user: both apply"
is "$(ctl --json audit --since 1h | py 'print(len(d))' /dev/stdin)" "$n" "--since 1h: every record"
is "$(ctl --json audit --since "$(date -u -d tomorrow +%Y-%m-%d)" | py 'print(len(d))' /dev/stdin)" 0 \
	"--since tomorrow: none"
ctl audit --since yesterday > /dev/null 2>&1
is $? 2 "--since yesterday is a usage error"
ctl audit --user -x > /dev/null 2>&1
is $? 2 "--user with a name no user can have is refused by the agent (a bad request)"

# --- the chain's head, and its anchors in the agent's log ---
head=$(ctl audit --anchor)
is "$head" "$(py 'print("%d:%s" % (d[-1]["id"], d[-1]["hash"]))' "$T/all.json")" \
	"audit --anchor prints the head as ID:HASH"
for id in 5 10; do
	line=$(py 'print("fido2gated: audit anchor %d:%s" % (d['"$id"' - 1]["id"], d['"$id"' - 1]["hash"]))' "$T/all.json")
	grep -qxF -- "$line" "$T/agent.log"
	ok $? "record $id's anchor line is in the agent's log" || diag_file "$T/agent.log"
done
is "$(grep -c 'audit anchor' "$T/agent.log")" "$((n / 5))" "one anchor every 5 records, no more"
a10=$(sed -n 's/^fido2gated: audit anchor \(10:[0-9a-f]*\)$/\1/p' "$T/agent.log")

# verify [ARGS...]: the agent's human verdict in $out, its JSON one in
# $T/v.json, the status returned; and the same from fido2gatectl itself,
# on the store file (--db, read-only), which must say exactly the same
verify() {
	ctl --json audit --verify "$@" > "$T/v.json"
	local j=$?
	out=$(ctl audit --verify "$@")
	local h=$?
	[ "$j" = "$h" ] || echo "# --json exited $j, the human verdict $h"
	offline=$("$BUILD/fido2gatectl" audit --verify --db "$DB" "$@")
	local o=$?
	[ "$o" = "$h" ] && [ "$offline" = "$out" ] ||
		echo "# the offline verdict ($o) differs: $offline"
	return $h
}
# the offline verdict, after verify: the same as the agent's
same_offline() { # WHAT
	is "$offline" "$out" "$1: audit --verify --db STORE, without the agent, says the same"
}
verify
ok $? "an untouched store verifies (exit 0)"
is "$out" "intact, $n records, head ${head/:/ }" "intact, with the record count and the head"
same_offline "intact"
verify --anchor "$head" --anchor "$a10"
ok $? "and holds its anchors"
is "$(py 'print(d["intact"], d["records"], "%d:%s" % (d["head"]["id"], d["head"]["hash"]))' "$T/v.json")" \
	"True $n $head" "--json: intact, records, head"
ctl audit --verify --anchor "3:nothex" > /dev/null 2>&1
is $? 2 "a malformed anchor is a usage error"
ctl audit --verify --user bob > /dev/null 2>&1
is $? 2 "--verify takes no filter"
"$BUILD/fido2gatectl" audit --verify --db "$T/no-such.db" > /dev/null 2>&1
is $? 2 "--db with a file that is not there: exit 2"
ctl audit --db "$DB" > /dev/null 2>&1
is $? 2 "--db without --verify is a usage error"
if on_postgresql; then
	skip 2 "the SQLite store's own spellings"
else
	is "$("$BUILD/fido2gatectl" audit --verify --db "sqlite:$DB" 2>&1)" "$out" \
		"--db sqlite:FILE, as [store] store names it, is the same file"
	printf 'x\n' > "$T/pgpass" && chmod 0600 "$T/pgpass"
	"$BUILD/fido2gatectl" audit --verify --db "$DB" --password-file "$T/pgpass" > /dev/null 2>&1
	is $? 2 "--password-file is PostgreSQL's: with a SQLite store, a usage error"
fi
agent_stop
ok $? "the agent stops"

# every case below starts from a copy of this store (on PostgreSQL a
# database made from it as a template, which gate.sh drops at exit)
# fresh_copy: the store as it was kept aside
if on_postgresql; then
	pg_sql postgres "CREATE DATABASE \"${STORE_PGDB}_pristine\" TEMPLATE \"$STORE_PGDB\""
	ok $? "the store is kept aside"
	fresh_copy() {
		pg_sql postgres "DROP DATABASE \"$STORE_PGDB\" WITH (FORCE)" &&
			pg_sql postgres "CREATE DATABASE \"$STORE_PGDB\" TEMPLATE \"${STORE_PGDB}_pristine\""
	}
	unguard="ALTER TABLE audit DISABLE TRIGGER USER;"
else
	mkdir "$T/pristine"
	cp "$DB"* "$T/pristine/"
	ok $((! $(ls "$T/pristine" | wc -l) >= 1)) "the store is kept aside"
	fresh_copy() {
		rm -f "$DB" "$DB-wal" "$DB-shm"
		cp "$T/pristine/"* "$T/"
	}
	unguard="DROP TRIGGER audit_no_update; DROP TRIGGER audit_no_delete;"
fi

# tamper NAME SQL: a fresh copy of the store, changed by sqlite3 or psql
# with the append-only triggers dropped first, as root could; the agent
# restarted
tamper() {
	agent_stop
	fresh_copy
	store_sql "$unguard $2" 2> "$T/err"
	ok $? "$1 (SQL)" || diag_file "$T/err"
	agent_start
}
# bad ID PROBLEM DESCRIPTION [ANCHORS...]: verify names exactly that record
bad() {
	local id=$1 problem=$2 what=$3
	shift 3
	verify "$@"
	is $? 1 "$what: audit --verify exits 1"
	like "$out" "^tampered: record $id \($problem\): " "$what: it names record $id ($problem)"
	is "$(py 'print(d["intact"], d["bad"]["id"], d["bad"]["problem"])' "$T/v.json")" \
		"False $id $problem" "$what: --json says the same"
	same_offline "$what"
}

tamper "edit record 4's reason" "UPDATE audit SET reason = 'all fine' WHERE id = 4"
bad 4 edited "an edited record"
tamper "edit record 7's time" "UPDATE audit SET ts = ts - 3600 WHERE id = 7"
bad 7 edited "a redated record"
tamper "delete record 6" "DELETE FROM audit WHERE id = 6"
bad 6 deleted "a deleted record"
tamper "delete records 1 and 2" "DELETE FROM audit WHERE id <= 2"
bad 1 deleted "the first records deleted"
tamper "delete record 6 and renumber the rest" \
	"DELETE FROM audit WHERE id = 6; UPDATE audit SET id = -id WHERE id > 6;
	 UPDATE audit SET id = -id - 1 WHERE id < 0"
bad 6 edited "a record deleted and the ids closed up"
tamper "plant a record with id 0, which audit would list" \
	"INSERT INTO audit (id, ts, event, \"user\", caller_uid, caller_pid, result, reason, prev, hash)
	 SELECT 0, ts, 'admin.add', 'mallory', 0, 1, 'ok', 'admin registered', prev, hash FROM audit WHERE id = 1"
bad 0 inserted "a record planted below the first"
tamper "plant a record with a negative id and no hash" \
	"INSERT INTO audit (id, ts, event, \"user\", result) VALUES (-7, 1, 'approve', 'mallory', 'ok')"
bad -7 inserted "a record planted with a negative id"
tamper "delete records $((n - 2)) to $n" "DELETE FROM audit WHERE id >= $((n - 2))"
verify
ok $? "a cut-off tail cannot be seen without an anchor"
bad $((n - 2)) truncated "the last records deleted, with the head as an anchor" --anchor "$head"
bad $((n - 2)) truncated "the same, whatever the order of the anchors" --anchor "$head" --anchor "$a10"
ctl unlock carol > /dev/null
bad $((n - 2)) deleted "the tail cut and a new record written after it: the ids jump, found without an anchor"

# rehash STORE MODE ID [PSQL]: an independent implementation of the
# documented serialisation (docs/architecture.md), for forgeries that fit
# it, on the SQLite file or, through psql, on PostgreSQL (the rows as
# psql's json_agg gives them, columns in the table's order).
# rewrite: record ID edited, and it and every record after it given a
# fresh prev and hash; renumber: record ID deleted, the later ones
# renumbered down and rehashed, each keeping the prev it had.
cat > "$T/rehash.py" << 'PY'
import hashlib, json, sqlite3, struct, subprocess, sys
where, mode, at = sys.argv[1], sys.argv[2], int(sys.argv[3])
if where.startswith("postgresql:"):
    # one psql a statement: what goes into them is numbers and hex
    def sql(q):
        return subprocess.run([sys.argv[4], "-X", "-q", "-At", "-v",
                               "ON_ERROR_STOP=1", "-d", where[11:], "-c", q],
                              check=True, capture_output=True, text=True).stdout
    def rows():
        return json.loads(sql("SELECT json_agg(a ORDER BY id) FROM audit a"))
    commit = lambda: None
    sql("ALTER TABLE audit DISABLE TRIGGER USER")
else:
    db = sqlite3.connect(where)
    sql = db.execute
    def rows():
        cur = db.execute("SELECT * FROM audit ORDER BY id")
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]
    commit = db.commit
    sql("DROP TRIGGER audit_no_update")
    sql("DROP TRIGGER audit_no_delete")
if mode == "rewrite":
    sql("UPDATE audit SET reason = 'nothing happened' WHERE id = %d" % at)
else:
    sql("DELETE FROM audit WHERE id = %d" % at)
    sql("UPDATE audit SET id = -id WHERE id > %d" % at)
    sql("UPDATE audit SET id = -id - 1 WHERE id < 0")
def lp(b): return struct.pack(">I", len(b)) + b
prev = "0" * 64
for rec in rows():
    if mode == "rewrite":
        rec["prev"] = prev
    m = hashlib.sha256(lp(b"fido2gate audit record v1"))
    for c, v in rec.items():
        if c == "hash" or v is None: continue
        m.update(lp(c.encode()))
        if isinstance(v, int): m.update(b"i" + struct.pack(">q", v))
        else: m.update(b"t" + lp(v.encode()))
    prev = m.hexdigest()
    if rec["id"] >= at:
        sql("UPDATE audit SET prev = '%s', hash = '%s' WHERE id = %d"
            % (rec["prev"], prev, rec["id"]))
commit()
PY
rehash() { # WHAT MODE ID
	agent_stop
	fresh_copy
	python3 "$T/rehash.py" "$DB" "$2" "$3" "${PG_BIN:-}/psql" > "$T/err" 2>&1
	ok $? "$1 (python3)" || diag_file "$T/err"
	agent_start
}
rehash "record 6 deleted, the later ones renumbered and given fresh hashes" renumber 6
bad 6 deleted "a record deleted and the chain renumbered: its successor does not follow record 5"
rehash "record 3 edited and every hash from it on recomputed" rewrite 3
verify
ok $? "a consistently rewritten chain verifies without an anchor (the serialisation is as documented)"
bad 10 anchor "the rewritten chain against the anchor of record 10" --anchor "$a10"
bad $n anchor "the rewritten chain against the head kept before" --anchor "$head"

# --- a column a later migration adds (NULL in the records before it)
# leaves their hashes alone, and is covered from then on ---
tamper "add a column, as a later migration would" "ALTER TABLE audit ADD COLUMN step_up TEXT"
verify
ok $? "the old records still verify"
ctl unlock dave > /dev/null
verify
ok $? "and so does a new one"
tamper "add the column and fill it in an old record" \
	"ALTER TABLE audit ADD COLUMN step_up TEXT; UPDATE audit SET step_up = 'yes' WHERE id = 2"
bad 2 edited "a value put in the added column"

# --- a store of the previous schema is chained at the upgrade ---
# (schema 8: the tables of the migrations after 9 go too)
latest=$(store_sql 'SELECT max(version) FROM schema_version')
later="DROP TABLE failures; DROP TABLE oidc_tx; DROP TABLE oidc_challenges;
	DROP TABLE oidc_codes; DROP TABLE oidc_tokens;"
if on_postgresql; then
	tamper "turn the store back into schema 8" \
		"DROP TRIGGER audit_no_update ON audit; DROP INDEX audit_user;
		 ALTER TABLE audit DROP COLUMN prev, DROP COLUMN hash;
		 DELETE FROM schema_version WHERE version >= 9; $later
		 CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
		   FOR EACH ROW EXECUTE FUNCTION audit_append_only();
		 ALTER TABLE audit ENABLE TRIGGER USER;"
else
	tamper "turn the store back into schema 8" \
		"DROP INDEX audit_user; ALTER TABLE audit DROP COLUMN prev;
		 ALTER TABLE audit DROP COLUMN hash; DELETE FROM schema_version WHERE version >= 9; $later
		 CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
		   BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
		 CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
		   BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
fi
is "$(store_sql 'SELECT max(version) FROM schema_version')" "$latest" "the agent upgraded it"
verify
ok $? "its $n old records are chained: intact"
like "$out" "^intact, $n records, head $n " "all of them"
store_sql "UPDATE audit SET reason = 'x' WHERE id = 2" 2> "$T/err"
ok $((! $?)) "the upgraded table still refuses updates"
store_sql "DELETE FROM audit WHERE id = 2" 2> "$T/err"
ok $((! $?)) "and deletes"

done_testing
