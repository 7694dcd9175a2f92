/*
 * The credential store: one SQLite database in WAL mode, created 0600,
 * with a schema_version table and numbered migrations. Every change runs in
 * one transaction together with its audit record; enrolments, revocations
 * and lockouts with synchronous=FULL, so that once acknowledged they survive
 * a crash or a power loss (see change() for logins). The audit table
 * is append-only, enforced by triggers, and a hash chain (auditchain.c)
 * that shows what was done to it behind the triggers' back.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <sqlite3.h>

#include "agent.h"

/* Prepared statements are kept, keyed by their SQL's address (every SQL
 * string here is a literal): parsing SQL was a third of a login's cost. */
#define STMT_CACHE 48

struct fg_store {
	sqlite3 *db;
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} cache[STMT_CACHE];
	size_t ncache;
	size_t maxcache; /* STMT_CACHE unless fg_store_set_stmt_cache() */
	unsigned anchor_every; /* 0: no anchors (fg_store_set_anchor_every) */
};

static const char *const migrations[] = {
	/* 1: the first schema */
	"CREATE TABLE users ("
	"  id INTEGER PRIMARY KEY,"
	"  name TEXT NOT NULL UNIQUE,"
	"  handle BLOB NOT NULL UNIQUE CHECK (length(handle) = 32),"
	"  created INTEGER NOT NULL);"
	"CREATE TABLE credentials ("
	"  id INTEGER PRIMARY KEY,"
	"  user_id INTEGER NOT NULL REFERENCES users(id),"
	"  credential_id BLOB NOT NULL UNIQUE,"
	"  alg INTEGER NOT NULL,"
	"  public_key BLOB NOT NULL,"
	"  sign_count INTEGER NOT NULL CHECK (sign_count >= 0),"
	"  uv INTEGER NOT NULL DEFAULT 0,"
	"  backup_eligible INTEGER NOT NULL DEFAULT 0,"
	"  backed_up INTEGER NOT NULL DEFAULT 0,"
	"  aaguid BLOB,"
	"  fmt TEXT NOT NULL,"
	"  label TEXT NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  last_used INTEGER,"
	"  state TEXT NOT NULL DEFAULT 'active'"
	"    CHECK (state IN ('active', 'revoked')),"
	"  suspicious INTEGER NOT NULL DEFAULT 0,"
	"  revoked INTEGER);"
	"CREATE INDEX credentials_user ON credentials(user_id);"
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  ts INTEGER NOT NULL,"
	"  event TEXT NOT NULL,"
	"  user TEXT,"
	"  credential TEXT,"
	"  caller_uid INTEGER,"
	"  caller_pid INTEGER,"
	"  result TEXT NOT NULL,"
	"  reason TEXT,"
	"  detail TEXT);"
	"CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
	"  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
	"CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
	"  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
	/* 2: lockouts, which an admin clears */
	"CREATE TABLE lockouts ("
	"  user TEXT PRIMARY KEY,"
	"  locked_at INTEGER NOT NULL,"
	"  failures INTEGER NOT NULL);",
	/* 3: the agent's own secrets, made once (the decoy IDs' key) */
	"CREATE TABLE secrets ("
	"  name TEXT PRIMARY KEY,"
	"  value BLOB NOT NULL);",
	/* 4: the homeserver gate: id_token signing keys (private JWKs, which
	 * never leave the agent), and the approvals a homeserver login
	 * consumes, one each */
	"CREATE TABLE signing_keys ("
	"  kid TEXT PRIMARY KEY,"
	"  alg TEXT NOT NULL,"
	"  jwk TEXT NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  retired INTEGER);"
	"CREATE TABLE approvals ("
	"  id INTEGER PRIMARY KEY,"
	"  user TEXT NOT NULL,"
	"  sid TEXT NOT NULL UNIQUE,"
	"  client TEXT NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  consumed INTEGER,"
	"  revoked INTEGER);"
	"CREATE INDEX approvals_user ON approvals(user, created);",
	/* 5: admins, who act with their own key; the requests a second
	 * admin must approve; credentials that wait for that approval
	 * (pending) or that an admin set aside (disabled), and a recovered
	 * key's cooling-off (not_before). SQLite cannot change a CHECK in
	 * place: the table is rebuilt, in the migration's transaction. */
	"CREATE TABLE credentials_new ("
	"  id INTEGER PRIMARY KEY,"
	"  user_id INTEGER NOT NULL REFERENCES users(id),"
	"  credential_id BLOB NOT NULL UNIQUE,"
	"  alg INTEGER NOT NULL,"
	"  public_key BLOB NOT NULL,"
	"  sign_count INTEGER NOT NULL CHECK (sign_count >= 0),"
	"  uv INTEGER NOT NULL DEFAULT 0,"
	"  backup_eligible INTEGER NOT NULL DEFAULT 0,"
	"  backed_up INTEGER NOT NULL DEFAULT 0,"
	"  aaguid BLOB,"
	"  fmt TEXT NOT NULL,"
	"  label TEXT NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  last_used INTEGER,"
	"  state TEXT NOT NULL DEFAULT 'active'"
	"    CHECK (state IN ('active', 'revoked', 'pending', 'disabled')),"
	"  suspicious INTEGER NOT NULL DEFAULT 0,"
	"  revoked INTEGER,"
	"  not_before INTEGER);"
	"INSERT INTO credentials_new SELECT *, NULL FROM credentials;"
	"DROP TABLE credentials;"
	"ALTER TABLE credentials_new RENAME TO credentials;"
	"CREATE INDEX credentials_user ON credentials(user_id);"
	"CREATE TABLE admins ("
	"  name TEXT PRIMARY KEY,"
	"  created INTEGER NOT NULL,"
	"  added_by TEXT NOT NULL);"
	"CREATE TABLE requests ("
	"  id TEXT PRIMARY KEY,"
	"  action TEXT NOT NULL"
	"    CHECK (action IN ('recover', 'unlock', 'admin.add',"
	"      'admin.remove')),"
	"  user TEXT NOT NULL,"
	"  credential INTEGER,"
	"  requested_by TEXT NOT NULL,"
	"  requested_cred TEXT NOT NULL,"
	"  reason TEXT,"
	"  created INTEGER NOT NULL,"
	"  expires INTEGER NOT NULL,"
	"  approved_by TEXT,"
	"  approved_cred TEXT,"
	"  approved INTEGER);",
	/* 6: an administrator's lock (fido2gatectl lock): a lockout with
	 * the reason and who locked; failures alone leave them NULL */
	"ALTER TABLE lockouts ADD COLUMN reason TEXT;"
	"ALTER TABLE lockouts ADD COLUMN locked_by TEXT;",
	/* 7: credentials imported from pam-u2f keep their relying party
	 * (NULL: the configured rp_id) and their own policy (a PIN or
	 * built-in user verification at every use) */
	"ALTER TABLE credentials ADD COLUMN rp_id TEXT"
	"  CHECK (rp_id IS NULL OR length(rp_id) BETWEEN 1 AND 253);"
	"ALTER TABLE credentials ADD COLUMN uv_required INTEGER NOT NULL"
	"  DEFAULT 0;"
	/* a resident credential's file holds no credential ID: a placeholder
	 * stands in until its first login (fg_store_cred_bind) */
	"ALTER TABLE credentials ADD COLUMN id_pending INTEGER NOT NULL"
	"  DEFAULT 0;",
	/* 8: remote enrolment by invitation (docs/admin-guide.md): the
	 * links' tokens, of which only a hash is kept, and the request an
	 * admin confirms an invited key with (action 'invite'; the CHECK
	 * is rebuilt with the table, as in 5) */
	"CREATE TABLE invitations ("
	"  token_hash BLOB PRIMARY KEY CHECK (length(token_hash) = 32),"
	"  user TEXT NOT NULL,"
	"  created_by TEXT NOT NULL,"
	"  created INTEGER NOT NULL,"
	"  expires INTEGER NOT NULL,"
	"  used INTEGER);"
	"CREATE TABLE requests_new ("
	"  id TEXT PRIMARY KEY,"
	"  action TEXT NOT NULL"
	"    CHECK (action IN ('recover', 'unlock', 'admin.add',"
	"      'admin.remove', 'invite')),"
	"  user TEXT NOT NULL,"
	"  credential INTEGER,"
	"  requested_by TEXT NOT NULL,"
	"  requested_cred TEXT NOT NULL,"
	"  reason TEXT,"
	"  created INTEGER NOT NULL,"
	"  expires INTEGER NOT NULL,"
	"  approved_by TEXT,"
	"  approved_cred TEXT,"
	"  approved INTEGER);"
	"INSERT INTO requests_new SELECT * FROM requests;"
	"DROP TABLE requests;"
	"ALTER TABLE requests_new RENAME TO requests;",
	/* 9: the audit log as a hash chain (see the comment above
	 * audit_insert()): each record holds the hash of the one before and
	 * its own. The update trigger now lets a record's hash be set once,
	 * and nothing else: the records written before this version are
	 * chained by chain_all() in this same transaction. */
	"ALTER TABLE audit ADD COLUMN prev TEXT;"
	"ALTER TABLE audit ADD COLUMN hash TEXT;"
	"CREATE INDEX audit_user ON audit(user, id);"
	"DROP TRIGGER audit_no_update;"
	"CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
	"  WHEN OLD.hash IS NOT NULL OR NEW.id IS NOT OLD.id"
	"  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;",
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

/* The one place an SQLite error becomes ours, logged in SQLite's words. A
 * broken UNIQUE constraint is no failure of the store: the row is already
 * there (a credential enrolled twice), and the caller tells the user so. */
static int
db_error(struct fg_store *s, const char *what)
{
	if (sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_UNIQUE ||
	    sqlite3_extended_errcode(s->db) == SQLITE_CONSTRAINT_PRIMARYKEY)
		return FG_ERR_EXISTS;
	fprintf(stderr, "fido2gated: store: %s: %s\n", what,
	    sqlite3_errmsg(s->db));
	return FG_ERR_STORE;
}

static int
prepare(struct fg_store *s, const char *sql, sqlite3_stmt **st)
{
	size_t i;

	for (i = 0; i < s->ncache; i++)
		if (s->cache[i].sql == sql) {
			*st = s->cache[i].st;
			return FG_OK;
		}
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st,
		NULL) != SQLITE_OK)
		return db_error(s, "prepare");
	if (s->ncache < s->maxcache) {
		s->cache[s->ncache].sql = sql;
		s->cache[s->ncache].st = *st;
		s->ncache++;
	}
	return FG_OK;
}

/* Done with a statement from prepare(): reset it for the next use, or
 * finalize it when the cache had no room for it. */
static void
release(struct fg_store *s, sqlite3_stmt *st)
{
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < s->ncache; i++)
		if (s->cache[i].st == st) {
			sqlite3_reset(st);
			sqlite3_clear_bindings(st);
			return;
		}
	sqlite3_finalize(st);
}

/* One statement without parameters (a literal), or several (migrations). */
static int
exec(struct fg_store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;
	char *msg = NULL;
	int r, ret = FG_ERR_INTERNAL;

	if (strchr(sql, ';') != NULL) {
		if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
			fprintf(stderr, "fido2gated: store: %s\n",
			    msg != NULL ? msg : sqlite3_errmsg(s->db));
			ret = FG_ERR_STORE;
			goto out;
		}
	} else {
		if ((r = prepare(s, sql, &st)) != FG_OK) {
			ret = r;
			goto out;
		}
		while ((r = sqlite3_step(st)) == SQLITE_ROW)
			;
		if (r != SQLITE_DONE) {
			ret = db_error(s, sql);
			goto out;
		}
	}
	ret = FG_OK;
out:
	release(s, st);
	sqlite3_free(msg);
	return ret;
}

/* Ends a transaction that failed, unless SQLite already has: after some
 * errors (a full disk, an I/O error) it rolls back by itself, and our
 * ROLLBACK would only log that no transaction is active. */
static void
rollback(struct fg_store *s)
{
	if (sqlite3_get_autocommit(s->db) == 0)
		exec(s, "ROLLBACK");
}

static int
bind_text(sqlite3_stmt *st, int i, const char *v)
{
	return v == NULL ? sqlite3_bind_null(st, i) :
			   sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

/* The record id, just written or chained with its prev: hashed as
 * verification will read it, and sealed with its hash. */
static int
seal(struct fg_store *s, int64_t id, char hash[FG_AUDIT_HASH_HEX])
{
	sqlite3_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s, "SELECT * FROM audit WHERE id = ?", &st)) !=
	    FG_OK) {
		ret = r;
		goto out;
	}
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) != SQLITE_ROW) {
		ret = db_error(s, "audit");
		goto out;
	}
	if ((r = fg_audit_hash(st, hash)) != FG_OK) {
		fprintf(stderr, "fido2gated: store: cannot hash audit record "
				"%lld\n",
		    (long long)id);
		ret = r;
		goto out;
	}
	release(s, st);
	st = NULL;
	if ((r = prepare(s,
		 "UPDATE audit SET hash = ? WHERE id = ? AND hash IS NULL",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	bind_text(st, 1, hash);
	sqlite3_bind_int64(st, 2, id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		ret = db_error(s, "audit");
		goto out;
	}
	if (sqlite3_changes(s->db) != 1) {
		ret = FG_ERR_STORE;
		goto out;
	}
	ret = FG_OK;
out:
	release(s, st);
	return ret;
}

/*
 * Migration 5: the records written before the chain existed are chained
 * as they stand, in id order, the first with FG_AUDIT_GENESIS as its prev.
 * The chain vouches for them from the upgrade on, not for what was done
 * to them before (when only the triggers kept them).
 */
static int
chain_all(struct fg_store *s)
{
	sqlite3_stmt *next = NULL, *link = NULL;
	char prev[FG_AUDIT_HASH_HEX] = FG_AUDIT_GENESIS, hash[FG_AUDIT_HASH_HEX];
	int64_t id = 0;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s, "SELECT id FROM audit WHERE id > ? ORDER BY id"
			    " LIMIT 1",
		 &next)) != FG_OK ||
	    (r = prepare(s, "UPDATE audit SET prev = ? WHERE id = ?",
		 &link)) != FG_OK) {
		ret = r;
		goto out;
	}
	for (;;) {
		sqlite3_bind_int64(next, 1, id);
		if ((r = sqlite3_step(next)) == SQLITE_DONE)
			break;
		if (r != SQLITE_ROW) {
			ret = db_error(s, "audit chain");
			goto out;
		}
		id = sqlite3_column_int64(next, 0);
		sqlite3_reset(next);
		bind_text(link, 1, prev);
		sqlite3_bind_int64(link, 2, id);
		if (sqlite3_step(link) != SQLITE_DONE) {
			ret = db_error(s, "audit chain");
			goto out;
		}
		sqlite3_reset(link);
		if ((r = seal(s, id, hash)) != FG_OK) {
			ret = r;
			goto out;
		}
		memcpy(prev, hash, sizeof(prev));
	}
	ret = FG_OK;
out:
	release(s, next);
	release(s, link);
	return ret;
}

/* The code a migration runs after its SQL, in the same transaction. */
static const struct {
	int version;
	int (*fn)(struct fg_store *);
} migration_code[] = {
	{ 9, chain_all },
};

static int
migrate(struct fg_store *s, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	size_t k;
	int version, i, r, ret = FG_ERR_INTERNAL;

	if ((r = exec(s, "BEGIN IMMEDIATE")) != FG_OK ||
	    (r = exec(s,
		 "CREATE TABLE IF NOT EXISTS schema_version ("
		 "version INTEGER NOT NULL)")) != FG_OK ||
	    (r = prepare(s, "SELECT max(version) FROM schema_version", &st)) !=
		FG_OK) {
		ret = r;
		goto out;
	}
	if (sqlite3_step(st) != SQLITE_ROW) {
		ret = db_error(s, "schema_version");
		goto out;
	}
	version = sqlite3_column_int(st, 0);
	release(s, st);
	st = NULL;
	if (version > SCHEMA_VERSION) {
		snprintf(err, errlen,
		    "the store has schema version %d; this agent knows %d",
		    version, SCHEMA_VERSION);
		ret = FG_ERR_STORE;
		goto out;
	}
	for (i = version; i < SCHEMA_VERSION; i++) {
		if ((r = exec(s, migrations[i])) != FG_OK) {
			ret = r;
			goto out;
		}
		for (k = 0; k < sizeof(migration_code) /
			sizeof(migration_code[0]); k++)
			if (migration_code[k].version == i + 1 &&
			    (r = migration_code[k].fn(s)) != FG_OK) {
				ret = r;
				goto out;
			}
		if ((r = prepare(s, "INSERT INTO schema_version VALUES (?)",
			 &st)) != FG_OK) {
			ret = r;
			goto out;
		}
		sqlite3_bind_int(st, 1, i + 1);
		if (sqlite3_step(st) != SQLITE_DONE) {
			ret = db_error(s, "schema_version");
			goto out;
		}
		release(s, st);
		st = NULL;
	}
	if ((r = exec(s, "COMMIT")) != FG_OK) {
		ret = r;
		goto out;
	}
	ret = FG_OK;
out:
	/* SQLite's message first: the ROLLBACK replaces it */
	if (ret != FG_OK && err[0] == '\0')
		snprintf(err, errlen, "migration failed: %s",
		    sqlite3_errmsg(s->db));
	release(s, st);
	if (ret != FG_OK)
		rollback(s);
	return ret;
}

/* Create the file ourselves, 0600 and never through a symlink, so that
 * SQLite (which copies the database's mode to -wal and -shm) never makes a
 * readable store. */
static int
create_private(const char *path, char *err, size_t errlen)
{
	struct stat sb;
	int fd, ret = FG_ERR_INTERNAL;

	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		ret = FG_ERR_IO;
		goto out;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		ret = FG_ERR_IO;
		goto out;
	}
	if (sb.st_uid != geteuid() || (sb.st_mode & 077) != 0) {
		snprintf(err, errlen,
		    "%s: must be owned by uid %u and not readable by others "
		    "(mode 0600)",
		    path, (unsigned)geteuid());
		ret = FG_ERR_DENIED;
		goto out;
	}
	ret = FG_OK;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

/* Whoever can write the store's folder can swap the store, or plant a
 * -wal or -shm file for SQLite to trust: it must be ours (or root's) and
 * writable by no one else. */
static int
check_folder(const char *path, char *err, size_t errlen)
{
	char *copy = NULL;
	const char *dir;
	struct stat sb;
	int ret = FG_ERR_INTERNAL;

	if ((copy = strdup(path)) == NULL) {
		ret = FG_ERR_NOMEM;
		goto out;
	}
	dir = dirname(copy);
	if (stat(dir, &sb) != 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		ret = FG_ERR_IO;
		goto out;
	}
	if (!S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a folder", dir);
		ret = FG_ERR_DENIED;
		goto out;
	}
	if (sb.st_uid != geteuid() && sb.st_uid != 0) {
		snprintf(err, errlen,
		    "%s: the store's folder must be owned by uid %u or root, "
		    "not uid %u",
		    dir, (unsigned)geteuid(), (unsigned)sb.st_uid);
		ret = FG_ERR_DENIED;
		goto out;
	}
	if ((sb.st_mode & 022) != 0) {
		snprintf(err, errlen,
		    "%s: the store's folder is writable by group or others "
		    "(mode %03o); run chmod go-w on it",
		    dir, (unsigned)(sb.st_mode & 0777));
		ret = FG_ERR_DENIED;
		goto out;
	}
	ret = FG_OK;
out:
	free(copy);
	return ret;
}

/* SQLite's own files beside the store: absent, or private and ours. */
static int
check_sidecars(const char *path, char *err, size_t errlen)
{
	static const char *const suffix[] = { "-wal", "-shm", "-journal" };
	char side[4096];
	struct stat sb;
	size_t i;

	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(side, sizeof(side), "%s%s", path, suffix[i]);
		if (lstat(side, &sb) != 0)
			continue;
		if (!S_ISREG(sb.st_mode) || sb.st_uid != geteuid() ||
		    (sb.st_mode & 077) != 0) {
			snprintf(err, errlen,
			    "%s: must be a regular file owned by uid %u, mode "
			    "0600 (found mode %03o, uid %u%s)",
			    side, (unsigned)geteuid(),
			    (unsigned)(sb.st_mode & 0777), (unsigned)sb.st_uid,
			    S_ISLNK(sb.st_mode) ? ", a symlink" : "");
			return FG_ERR_DENIED;
		}
	}
	return FG_OK;
}

int
fg_store_open(const char *path, struct fg_store **out, char *err,
    size_t errlen)
{
	struct fg_store *s = NULL;
	int r, ret = FG_ERR_INTERNAL;

	*out = NULL;
	err[0] = '\0';
	if (strlen(path) >= 4000) {
		snprintf(err, errlen, "the store's path is too long");
		ret = FG_ERR_INVALID;
		goto out;
	}
	if ((r = check_folder(path, err, errlen)) != FG_OK ||
	    (r = create_private(path, err, errlen)) != FG_OK ||
	    (r = check_sidecars(path, err, errlen)) != FG_OK) {
		ret = r;
		goto out;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		ret = FG_ERR_NOMEM;
		goto out;
	}
	s->maxcache = STMT_CACHE;
	if (sqlite3_open_v2(path, &s->db,
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW |
		    SQLITE_OPEN_FULLMUTEX,
		NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
		    s->db ? sqlite3_errmsg(s->db) : "cannot open");
		ret = FG_ERR_STORE;
		goto out;
	}
	sqlite3_busy_timeout(s->db, 5000);
	sqlite3_extended_result_codes(s->db, 1);
	if (exec(s, "PRAGMA journal_mode = WAL") != FG_OK ||
	    exec(s, "PRAGMA synchronous = NORMAL") != FG_OK ||
	    exec(s, "PRAGMA foreign_keys = ON") != FG_OK ||
	    exec(s, "PRAGMA secure_delete = ON") != FG_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
		ret = FG_ERR_STORE;
		goto out;
	}
	if ((r = migrate(s, err, errlen)) != FG_OK) {
		ret = r;
		goto out;
	}
	*out = s;
	s = NULL;
	ret = FG_OK;
out:
	/* finalizes what migrate() cached, or sqlite3_close() would refuse */
	fg_store_close(&s);
	return ret;
}

void
fg_store_close(struct fg_store **s)
{
	if (s == NULL || *s == NULL)
		return;
	while ((*s)->ncache > 0)
		sqlite3_finalize((*s)->cache[--(*s)->ncache].st);
	sqlite3_close((*s)->db);
	free(*s);
	*s = NULL;
}

int
fg_store_set_stmt_cache(struct fg_store *s, size_t max)
{
	if (max > STMT_CACHE)
		return FG_ERR_INVALID;
	/* between two calls no statement is in use: the surplus can go */
	while (s->ncache > max)
		sqlite3_finalize(s->cache[--s->ncache].st);
	s->maxcache = max;
	return FG_OK;
}

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

/* Is record id one whose hash goes out as an anchor? */
static bool
anchor_due(const struct fg_store *s, int64_t id)
{
	return s->anchor_every != 0 && id % s->anchor_every == 0;
}

/*
 * One audit record, linked to the chain's head. The caller holds a write
 * transaction (BEGIN IMMEDIATE), so the head read here is still the head
 * when the record is committed: two agents on one store cannot fork the
 * chain. The record is inserted with its prev, then sealed with its hash
 * (seal()), in id and hash for the journal.
 */
static int
audit_insert(struct fg_store *s, const struct fg_audit *a, int64_t *id,
    char hash[FG_AUDIT_HASH_HEX])
{
	sqlite3_stmt *st = NULL;
	char prev[FG_AUDIT_HASH_HEX] = FG_AUDIT_GENESIS;
	const unsigned char *h;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s, "SELECT hash FROM audit ORDER BY id DESC LIMIT 1",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	/* a head without a hash (written behind the agent's back) links to
	 * "": verification names that record either way */
	if ((r = sqlite3_step(st)) == SQLITE_ROW) {
		h = sqlite3_column_text(st, 0);
		snprintf(prev, sizeof(prev), "%s",
		    h != NULL ? (const char *)h : "");
	} else if (r != SQLITE_DONE) {
		ret = db_error(s, "audit");
		goto out;
	}
	release(s, st);
	st = NULL;
	if ((r = prepare(s,
		 "INSERT INTO audit (ts, event, user, credential, caller_uid,"
		 " caller_pid, result, reason, detail, prev)"
		 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	sqlite3_bind_int64(st, 1, now_s());
	bind_text(st, 2, a->event);
	bind_text(st, 3, a->user);
	bind_text(st, 4, a->credential);
	sqlite3_bind_int64(st, 5, (int64_t)a->caller_uid);
	sqlite3_bind_int64(st, 6, (int64_t)a->caller_pid);
	bind_text(st, 7, a->result);
	bind_text(st, 8, a->reason);
	bind_text(st, 9, a->detail);
	bind_text(st, 10, prev);
	if (sqlite3_step(st) != SQLITE_DONE) {
		ret = db_error(s, "audit");
		goto out;
	}
	*id = sqlite3_last_insert_rowid(s->db);
	if ((r = seal(s, *id, hash)) != FG_OK) {
		ret = r;
		goto out;
	}
	ret = FG_OK;
out:
	release(s, st);
	return ret;
}

/*
 * The WAL on disk. A login's commit is not fsynced (change()), and an
 * anchor must not outlive its record, or a power loss would pass for a
 * cut log; SQLite cannot change the safety level of a transaction under
 * way, and a checkpoint costs several times this one fdatasync.
 */
static int
sync_wal(struct fg_store *s)
{
	const char *wal = sqlite3_filename_wal(sqlite3_db_filename(s->db,
	    "main"));
	int fd, ret = FG_ERR_IO;

	if (wal == NULL ||
	    (fd = open(wal, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return FG_ERR_IO;
	if (fdatasync(fd) == 0)
		ret = FG_OK;
	close(fd);
	return ret;
}

/* A record is committed: its copy to the journal, and every anchor_every
 * records the chain's head as an anchor, once its record is on disk. */
static void
committed(struct fg_store *s, const struct fg_audit *a, int64_t id,
    const char *hash)
{
	fg_journal_audit(a, id, hash);
	if (!anchor_due(s, id))
		return;
	if (sync_wal(s) == FG_OK)
		fg_journal_anchor(id, hash);
	else
		fprintf(stderr, "fido2gated: store: cannot sync the WAL: "
				"no anchor for audit record %lld\n",
		    (long long)id);
}

int
fg_store_audit(struct fg_store *s, const struct fg_audit *a)
{
	char hash[FG_AUDIT_HASH_HEX];
	int64_t id = 0;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = exec(s, "BEGIN IMMEDIATE")) != FG_OK ||
	    (r = audit_insert(s, a, &id, hash)) != FG_OK ||
	    (r = exec(s, "COMMIT")) != FG_OK) {
		ret = r;
		goto out;
	}
	committed(s, a, id, hash);
	ret = FG_OK;
out:
	if (ret != FG_OK)
		rollback(s);
	return ret;
}

void
fg_store_set_anchor_every(struct fg_store *s, unsigned every)
{
	s->anchor_every = every;
}

/*
 * Run a change and its audit record as a single transaction: the n
 * prepared statements in order, then the audit record, all or nothing.
 * need_row: the last statement (the change proper; any before it prepare
 * for it, as creating the user a credential belongs to) must change exactly
 * one row, else FG_ERR_NOTFOUND and nothing is written.
 *
 * Durable changes (enrolments, revocations, lockouts, suspensions) are
 * fsynced before we answer (synchronous=FULL). Logins are not: in WAL mode
 * with synchronous=NORMAL a commit survives the agent's crash but the last
 * ones may not survive a power loss. No check is weakened: a stored sign
 * counter can then only lag behind the key's, and every challenge dies with
 * the agent anyway; the audit records of the last logins can be lost. It
 * saves an fsync per login.
 */
static int
change(struct fg_store *s, sqlite3_stmt *const *st, size_t n, bool need_row,
    const struct fg_audit *a, bool durable)
{
	char hash[FG_AUDIT_HASH_HEX];
	int64_t id = 0;
	size_t i;
	int r, ret = FG_ERR_INTERNAL;

	if ((durable && (r = exec(s, "PRAGMA synchronous = FULL")) != FG_OK) ||
	    (r = exec(s, "BEGIN IMMEDIATE")) != FG_OK) {
		ret = r;
		goto out;
	}
	for (i = 0; i < n; i++)
		if (sqlite3_step(st[i]) != SQLITE_DONE) {
			ret = db_error(s, "change");
			goto out;
		}
	if (need_row && sqlite3_changes(s->db) != 1) {
		ret = FG_ERR_NOTFOUND;
		goto out;
	}
	if ((r = audit_insert(s, a, &id, hash)) != FG_OK ||
	    (r = exec(s, "COMMIT")) != FG_OK) {
		ret = r;
		goto out;
	}
	committed(s, a, id, hash); /* the journal says what happened */
	ret = FG_OK;
out:
	if (ret != FG_OK)
		rollback(s);
	if (durable)
		exec(s, "PRAGMA synchronous = NORMAL");
	return ret;
}

int
fg_store_user_find(struct fg_store *s, const char *name, struct fg_user *u)
{
	sqlite3_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	memset(u, 0, sizeof(*u));
	if ((r = prepare(s, "SELECT id, handle FROM users WHERE name = ?",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	bind_text(st, 1, name);
	if ((r = sqlite3_step(st)) == SQLITE_DONE) {
		ret = FG_ERR_NOTFOUND;
		goto out;
	}
	if (r != SQLITE_ROW) {
		ret = db_error(s, "user");
		goto out;
	}
	/* the schema says 32 bytes: anything else is a damaged store */
	if (sqlite3_column_bytes(st, 1) != 32) {
		fprintf(stderr,
		    "fido2gated: store: user: a handle of %d bytes\n",
		    sqlite3_column_bytes(st, 1));
		ret = FG_ERR_STORE;
		goto out;
	}
	u->id = sqlite3_column_int64(st, 0);
	memcpy(u->handle, sqlite3_column_blob(st, 1), 32);
	snprintf(u->name, sizeof(u->name), "%s", name);
	ret = FG_OK;
out:
	release(s, st);
	return ret;
}

static char *
col_strdup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return strdup(t != NULL ? (const char *)t : "");
}

static int
read_cred(sqlite3_stmt *st, struct fg_cred *c)
{
	const unsigned char *state;
	const void *p;
	int n, ret = FG_ERR_INTERNAL;

	memset(c, 0, sizeof(*c));
	c->id = sqlite3_column_int64(st, 0);
	c->user_id = sqlite3_column_int64(st, 1);
	if ((p = sqlite3_column_text(st, 2)) != NULL)
		snprintf(c->user, sizeof(c->user), "%s", (const char *)p);
	c->alg = sqlite3_column_int(st, 4);
	c->sign_count = (uint32_t)sqlite3_column_int64(st, 6);
	c->uv = sqlite3_column_int(st, 7) != 0;
	c->be = sqlite3_column_int(st, 8) != 0;
	c->bs = sqlite3_column_int(st, 9) != 0;
	if ((p = sqlite3_column_blob(st, 10)) != NULL &&
	    sqlite3_column_bytes(st, 10) == 16)
		memcpy(c->aaguid, p, 16);
	c->created = sqlite3_column_int64(st, 13);
	c->last_used = sqlite3_column_int64(st, 14);
	/* a state we cannot read is not 'active' */
	state = sqlite3_column_text(st, 15);
	c->revoked =
	    state == NULL || strcmp((const char *)state, "active") != 0;
	snprintf(c->state, sizeof(c->state), "%s",
	    state != NULL ? (const char *)state : "unknown");
	c->not_before = sqlite3_column_int64(st, 17);
	c->suspicious = sqlite3_column_int(st, 16) != 0;
	c->uv_required = sqlite3_column_int(st, 19) != 0;
	c->id_pending = sqlite3_column_int(st, 20) != 0;
	if (sqlite3_column_type(st, 18) != SQLITE_NULL &&
	    (c->rp_id = col_strdup(st, 18)) == NULL) {
		ret = FG_ERR_NOMEM;
		goto out;
	}
	if ((n = sqlite3_column_bytes(st, 3)) <= 0 ||
	    (c->cred_id = malloc((size_t)n)) == NULL) {
		ret = FG_ERR_NOMEM;
		goto out;
	}
	memcpy(c->cred_id, sqlite3_column_blob(st, 3), (size_t)n);
	c->cred_id_len = (size_t)n;
	if ((n = sqlite3_column_bytes(st, 5)) <= 0 ||
	    (c->pubkey = malloc((size_t)n)) == NULL) {
		ret = FG_ERR_NOMEM;
		goto out;
	}
	memcpy(c->pubkey, sqlite3_column_blob(st, 5), (size_t)n);
	c->pubkey_len = (size_t)n;
	if ((c->fmt = col_strdup(st, 11)) == NULL ||
	    (c->label = col_strdup(st, 12)) == NULL) {
		ret = FG_ERR_NOMEM;
		goto out;
	}
	ret = FG_OK;
out:
	if (ret != FG_OK)
		fg_cred_clear(c);
	return ret;
}

#define CRED_COLUMNS \
	"c.id, c.user_id, u.name, c.credential_id, c.alg, c.public_key," \
	" c.sign_count, c.uv, c.backup_eligible, c.backed_up, c.aaguid,"   \
	" c.fmt, c.label, c.created, c.last_used, c.state, c.suspicious,"  \
	" c.not_before, c.rp_id, c.uv_required, c.id_pending"               \
	" FROM credentials c JOIN users u ON u.id = c.user_id"

/* Step a bound statement over CRED_COLUMNS into a new list. */
static int
collect(struct fg_store *s, sqlite3_stmt *st, struct fg_cred **list,
    size_t *n)
{
	struct fg_cred *l = NULL, *nl;
	size_t cnt = 0;
	int r, ret = FG_ERR_INTERNAL;

	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if ((nl = realloc(l, (cnt + 1) * sizeof(*l))) == NULL) {
			ret = FG_ERR_NOMEM;
			goto out;
		}
		l = nl;
		if ((r = read_cred(st, &l[cnt])) != FG_OK) {
			ret = r;
			goto out;
		}
		cnt++;
	}
	if (r != SQLITE_DONE) {
		ret = db_error(s, "credentials");
		goto out;
	}
	*list = l;
	*n = cnt;
	l = NULL;
	cnt = 0;
	ret = FG_OK;
out:
	fg_cred_list_free(&l, cnt);
	return ret;
}

int
fg_store_creds(struct fg_store *s, int64_t user_id, bool active_only,
    struct fg_cred **list, size_t *n)
{
	sqlite3_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	*list = NULL;
	*n = 0;
	if ((r = prepare(s,
		 "SELECT " CRED_COLUMNS " WHERE c.user_id = ?1"
		 " AND (?2 = 0 OR c.state = 'active') ORDER BY c.id",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	sqlite3_bind_int64(st, 1, user_id);
	sqlite3_bind_int(st, 2, active_only);
	ret = collect(s, st, list, n);
out:
	release(s, st);
	return ret;
}

int
fg_store_creds_page(struct fg_store *s, int64_t user_id, int64_t after,
    int limit, struct fg_cred **list, size_t *n)
{
	sqlite3_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	*list = NULL;
	*n = 0;
	if (limit < 1) {
		ret = FG_ERR_INVALID;
		goto out;
	}
	/* two statements: "?1 = 0 OR user_id = ?1" would scan the table */
	if ((r = prepare(s,
		 user_id != 0 ? "SELECT " CRED_COLUMNS " WHERE c.user_id = ?1"
				" AND c.id > ?2 ORDER BY c.id LIMIT ?3"
			      : "SELECT " CRED_COLUMNS " WHERE ?1 = 0"
				" AND c.id > ?2 ORDER BY c.id LIMIT ?3",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	sqlite3_bind_int64(st, 1, user_id);
	sqlite3_bind_int64(st, 2, after);
	sqlite3_bind_int(st, 3, limit);
	ret = collect(s, st, list, n);
out:
	release(s, st);
	return ret;
}

int
fg_store_cred_get(struct fg_store *s, int64_t user_id, const uint8_t *cred_id,
    size_t len, struct fg_cred *out)
{
	sqlite3_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	memset(out, 0, sizeof(*out));
	if ((r = prepare(s,
		 "SELECT " CRED_COLUMNS
		 " WHERE c.user_id = ? AND c.credential_id = ?",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	sqlite3_bind_int64(st, 1, user_id);
	sqlite3_bind_blob(st, 2, cred_id, (int)len, SQLITE_TRANSIENT);
	if ((r = sqlite3_step(st)) == SQLITE_DONE) {
		ret = FG_ERR_NOTFOUND;
		goto out;
	}
	if (r != SQLITE_ROW) {
		ret = db_error(s, "credential");
		goto out;
	}
	ret = read_cred(st, out);
out:
	release(s, st);
	return ret;
}

void
fg_cred_clear(struct fg_cred *c)
{
	free(c->cred_id);
	free(c->pubkey);
	free(c->label);
	free(c->fmt);
	free(c->rp_id);
	memset(c, 0, sizeof(*c));
}

void
fg_cred_list_free(struct fg_cred **list, size_t n)
{
	size_t i;

	if (list == NULL || *list == NULL)
		return;
	for (i = 0; i < n; i++)
		fg_cred_clear(&(*list)[i]);
	free(*list);
	*list = NULL;
}

/* A request for a second admin's approval; a recovery's credential is
 * named by its credential ID, inserted in the same transaction. */
static int
request_insert(struct fg_store *s, const struct fg_request *rq,
    sqlite3_stmt **st)
{
	int r;

	if ((r = prepare(s,
		 "INSERT INTO requests (id, action, user, credential,"
		 " requested_by, requested_cred, reason, created, expires)"
		 " VALUES (?1, ?2, ?3, (SELECT id FROM credentials"
		 "  WHERE credential_id = ?4), ?5, ?6, ?7, ?8, ?9)",
		 st)) != FG_OK)
		return r;
	bind_text(*st, 1, rq->id);
	bind_text(*st, 2, rq->action);
	bind_text(*st, 3, rq->user);
	if (rq->cred_id != NULL)
		sqlite3_bind_blob(*st, 4, rq->cred_id, (int)rq->cred_id_len,
		    SQLITE_TRANSIENT);
	bind_text(*st, 5, rq->requested_by);
	bind_text(*st, 6, rq->requested_cred);
	if (rq->reason[0] != '\0')
		bind_text(*st, 7, rq->reason);
	sqlite3_bind_int64(*st, 8, rq->created);
	sqlite3_bind_int64(*st, 9, rq->expires);
	return FG_OK;
}

/* The statements that enrol c for user: the user (unless known: then
 * their handle stays), then the credential. */
static int
cred_statements(struct fg_store *s, const char *user,
    const uint8_t handle[32], const struct fg_cred *c, sqlite3_stmt **st)
{
	int r;

	if ((r = prepare(s,
		 "INSERT INTO users (name, handle, created) VALUES (?, ?, ?)"
		 " ON CONFLICT (name) DO NOTHING",
		 &st[0])) != FG_OK ||
	    (r = prepare(s,
		 "INSERT INTO credentials (user_id, credential_id, alg,"
		 " public_key, sign_count, uv, backup_eligible, backed_up,"
		 " aaguid, fmt, label, created, state, not_before)"
		 " SELECT id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM users"
		 " WHERE name = ?",
		 &st[1])) != FG_OK)
		return r;
	bind_text(st[0], 1, user);
	sqlite3_bind_blob(st[0], 2, handle, 32, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st[0], 3, now_s());
	sqlite3_bind_blob(
	    st[1], 1, c->cred_id, (int)c->cred_id_len, SQLITE_TRANSIENT);
	sqlite3_bind_int(st[1], 2, c->alg);
	sqlite3_bind_blob(
	    st[1], 3, c->pubkey, (int)c->pubkey_len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st[1], 4, c->sign_count);
	sqlite3_bind_int(st[1], 5, c->uv);
	sqlite3_bind_int(st[1], 6, c->be);
	sqlite3_bind_int(st[1], 7, c->bs);
	sqlite3_bind_blob(st[1], 8, c->aaguid, 16, SQLITE_TRANSIENT);
	bind_text(st[1], 9, c->fmt);
	bind_text(st[1], 10, c->label);
	sqlite3_bind_int64(st[1], 11, now_s());
	bind_text(st[1], 12, c->state[0] != '\0' ? c->state : "active");
	if (c->not_before != 0)
		sqlite3_bind_int64(st[1], 13, c->not_before);
	bind_text(st[1], 14, user);
	return FG_OK;
}

int
fg_store_cred_add(struct fg_store *s, const char *user,
    const uint8_t handle[32], const struct fg_cred *c,
    const struct fg_request *rq, const struct fg_audit *a)
{
	sqlite3_stmt *st[3] = {NULL, NULL, NULL};
	int r, ret = FG_ERR_INTERNAL;

	if ((r = cred_statements(s, user, handle, c, st)) != FG_OK ||
	    (rq != NULL && (r = request_insert(s, rq, &st[2])) != FG_OK)) {
		ret = r;
		goto out;
	}
	/* an enrolment is durable: fsynced before we answer; a recovery's
	 * request names the credential just inserted (the last statement:
	 * change() checks that it made its row) */
	ret = change(s, st, rq != NULL ? 3 : 2, true, a, true);
out:
	release(s, st[0]);
	release(s, st[1]);
	release(s, st[2]);
	return ret;
}

int
fg_store_cred_known(struct fg_store *s, const uint8_t *cred_id, size_t len)
{
	sqlite3_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s, "SELECT 1 FROM credentials WHERE credential_id = ?",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	sqlite3_bind_blob(st, 1, cred_id, (int)len, SQLITE_TRANSIENT);
	if ((r = sqlite3_step(st)) == SQLITE_DONE)
		ret = FG_ERR_NOTFOUND;
	else if (r == SQLITE_ROW)
		ret = FG_OK;
	else
		ret = db_error(s, "credential");
out:
	release(s, st);
	return ret;
}

/*
 * Every credential of an import, each with its audit record, in one
 * durable transaction: all are stored or none. A user is created with
 * handles[i] when creds[i] is their first credential.
 */
int
fg_store_cred_import(struct fg_store *s, const struct fg_cred *creds,
    const uint8_t (*handles)[32], const struct fg_audit *audits, size_t n)
{
	sqlite3_stmt *st[2] = { NULL, NULL };
	struct {
		int64_t id;
		char hash[FG_AUDIT_HASH_HEX];
	} *chained;
	size_t i;
	int r, ret = FG_ERR_INTERNAL;

	/* each record's number and hash, for the journal once committed */
	if ((chained = calloc(n > 0 ? n : 1, sizeof(*chained))) == NULL)
		return FG_ERR_NOMEM;
	if ((r = prepare(s,
		 "INSERT INTO users (name, handle, created) VALUES (?, ?, ?)"
		 " ON CONFLICT (name) DO NOTHING",
		 &st[0])) != FG_OK ||
	    (r = prepare(s,
		 "INSERT INTO credentials (user_id, credential_id, alg,"
		 " public_key, sign_count, uv, aaguid, fmt, label, created,"
		 " rp_id, uv_required, id_pending)"
		 " SELECT id, ?, ?, ?, 0, 0, zeroblob(16), ?, ?, ?, ?, ?, ?"
		 " FROM users WHERE name = ?",
		 &st[1])) != FG_OK ||
	    (r = exec(s, "PRAGMA synchronous = FULL")) != FG_OK ||
	    (r = exec(s, "BEGIN IMMEDIATE")) != FG_OK) {
		ret = r;
		goto out;
	}
	for (i = 0; i < n; i++) {
		const struct fg_cred *c = &creds[i];

		sqlite3_reset(st[0]);
		sqlite3_reset(st[1]);
		bind_text(st[0], 1, c->user);
		sqlite3_bind_blob(st[0], 2, handles[i], 32, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st[0], 3, now_s());
		sqlite3_bind_blob(st[1], 1, c->cred_id, (int)c->cred_id_len,
		    SQLITE_TRANSIENT);
		sqlite3_bind_int(st[1], 2, c->alg);
		sqlite3_bind_blob(st[1], 3, c->pubkey, (int)c->pubkey_len,
		    SQLITE_TRANSIENT);
		bind_text(st[1], 4, c->fmt);
		bind_text(st[1], 5, c->label);
		sqlite3_bind_int64(st[1], 6, now_s());
		bind_text(st[1], 7, c->rp_id);
		sqlite3_bind_int(st[1], 8, c->uv_required);
		sqlite3_bind_int(st[1], 9, c->id_pending);
		bind_text(st[1], 10, c->user);
		if (sqlite3_step(st[0]) != SQLITE_DONE ||
		    sqlite3_step(st[1]) != SQLITE_DONE) {
			ret = db_error(s, "import");
			goto out;
		}
		if (sqlite3_changes(s->db) != 1) {
			ret = FG_ERR_STORE;
			goto out;
		}
		if ((r = audit_insert(s, &audits[i], &chained[i].id,
			 chained[i].hash)) != FG_OK) {
			ret = r;
			goto out;
		}
	}
	if ((r = exec(s, "COMMIT")) != FG_OK) {
		ret = r;
		goto out;
	}
	for (i = 0; i < n; i++)
		committed(s, &audits[i], chained[i].id, chained[i].hash);
	ret = FG_OK;
out:
	if (ret != FG_OK)
		rollback(s);
	exec(s, "PRAGMA synchronous = NORMAL");
	release(s, st[0]);
	release(s, st[1]);
	free(chained);
	return ret;
}

int
fg_store_cred_used(struct fg_store *s, int64_t id, uint32_t count,
    uint8_t flags, const struct fg_audit *a)
{
	sqlite3_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	/* the WHERE clause re-checks the counter inside the transaction */
	if ((r = prepare(s,
		 "UPDATE credentials SET sign_count = ?, last_used = ?,"
		 " backed_up = ? WHERE id = ? AND state = 'active'"
		 " AND suspicious = 0"
		 " AND (sign_count < ?1 OR (?1 = 0 AND sign_count = 0))",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	sqlite3_bind_int64(st, 1, count);
	sqlite3_bind_int64(st, 2, now_s());
	sqlite3_bind_int(st, 3, (flags & FG_AD_BS) != 0);
	sqlite3_bind_int64(st, 4, id);
	ret = change(s, &st, 1, true, a, false);
out:
	release(s, st);
	return ret;
}

int
fg_store_cred_bind(struct fg_store *s, int64_t id, const uint8_t *cred_id,
    size_t len, uint32_t count, uint8_t flags, const struct fg_audit *a)
{
	sqlite3_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s,
		 "UPDATE credentials SET credential_id = ?, id_pending = 0,"
		 " sign_count = ?, last_used = ?, backed_up = ?"
		 " WHERE id = ? AND id_pending = 1 AND state = 'active'"
		 " AND suspicious = 0",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	sqlite3_bind_blob(st, 1, cred_id, (int)len, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, count);
	sqlite3_bind_int64(st, 3, now_s());
	sqlite3_bind_int(st, 4, (flags & FG_AD_BS) != 0);
	sqlite3_bind_int64(st, 5, id);
	/* the credential's identity changes: durable, as an enrolment */
	ret = change(s, &st, 1, true, a, true);
out:
	release(s, st);
	return ret;
}

int
fg_store_cred_mark_suspicious(struct fg_store *s, int64_t id,
    const struct fg_audit *a)
{
	sqlite3_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s,
		 "UPDATE credentials SET suspicious = 1 WHERE id = ?", &st)) !=
	    FG_OK) {
		ret = r;
		goto out;
	}
	sqlite3_bind_int64(st, 1, id);
	ret = change(s, &st, 1, true, a, true);
out:
	release(s, st);
	return ret;
}

int
fg_store_cred_revoke(struct fg_store *s, int64_t id, const struct fg_audit *a)
{
	sqlite3_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s,
		 "UPDATE credentials SET state = 'revoked', revoked = ?"
		 " WHERE id = ? AND state = 'active'",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	sqlite3_bind_int64(st, 1, now_s());
	sqlite3_bind_int64(st, 2, id);
	ret = change(s, &st, 1, true, a, true);
out:
	release(s, st);
	return ret;
}

/* A value of a row, as JSON. A text that is not UTF-8 (json_string()
 * refuses it) is NULL: the caller leaves that field out. */
static json_t *
column_json(sqlite3_stmt *st, int i)
{
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER:
		return json_integer(sqlite3_column_int64(st, i));
	case SQLITE_NULL:
		return json_null();
	default:
		return json_string((const char *)sqlite3_column_text(st, i));
	}
}

int
fg_store_audit_list(struct fg_store *s, const char *user, int64_t since,
    int limit, json_t **out)
{
	sqlite3_stmt *st = NULL;
	json_t *arr = NULL, *row;
	int i, r, ret = FG_ERR_INTERNAL;

	*out = NULL;
	/* every column, those of later migrations too; two statements, as
	 * "?1 IS NULL OR user = ?1" would not use the index on user */
	if ((r = prepare(s,
		 user != NULL ? "SELECT * FROM audit WHERE user = ?1"
				" AND ts >= ?2 ORDER BY id DESC LIMIT ?3"
			      : "SELECT * FROM audit WHERE ?1 IS NULL"
				" AND ts >= ?2 ORDER BY id DESC LIMIT ?3",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	bind_text(st, 1, user);
	sqlite3_bind_int64(st, 2, since);
	sqlite3_bind_int(st, 3, limit);
	if ((arr = json_array()) == NULL) {
		ret = FG_ERR_NOMEM;
		goto out;
	}
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		/* the newest first from SQLite, the oldest first to callers */
		if ((row = json_object()) == NULL ||
		    json_array_insert_new(arr, 0, row) != 0) {
			ret = FG_ERR_NOMEM;
			goto out;
		}
		for (i = 0; i < sqlite3_column_count(st); i++)
			json_object_set_new(row, sqlite3_column_name(st, i),
			    column_json(st, i));
	}
	if (r != SQLITE_DONE) {
		ret = db_error(s, "audit");
		goto out;
	}
	*out = arr;
	arr = NULL;
	ret = FG_OK;
out:
	json_decref(arr);
	release(s, st);
	return ret;
}

int
fg_store_audit_verify(struct fg_store *s, const struct fg_anchor *from,
    size_t max, const struct fg_anchor *anchors, size_t n_anchors,
    json_t **out)
{
	int r = fg_audit_verify(s->db, from, max, anchors, n_anchors, out);

	if (r == FG_ERR_STORE)
		db_error(s, "audit");
	else if (r != FG_OK)
		fprintf(stderr, "fido2gated: store: cannot check the audit "
				"chain: %s\n",
		    fg_strerror(r));
	return r;
}

int
fg_store_counts(struct fg_store *s, int64_t *users, int64_t *active,
    int64_t *revoked)
{
	sqlite3_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s,
		 "SELECT (SELECT count(*) FROM users),"
		 " (SELECT count(*) FROM credentials WHERE state = 'active'),"
		 " (SELECT count(*) FROM credentials WHERE state = 'revoked')",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	if (sqlite3_step(st) != SQLITE_ROW) {
		ret = db_error(s, "counts");
		goto out;
	}
	*users = sqlite3_column_int64(st, 0);
	*active = sqlite3_column_int64(st, 1);
	*revoked = sqlite3_column_int64(st, 2);
	ret = FG_OK;
out:
	release(s, st);
	return ret;
}

int
fg_store_lock_get(struct fg_store *s, const char *user, int64_t *locked_at,
    int64_t *failures)
{
	sqlite3_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	*locked_at = 0;
	*failures = 0;
	if ((r = prepare(s,
		 "SELECT locked_at, failures FROM lockouts WHERE user = ?",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	bind_text(st, 1, user);
	if ((r = sqlite3_step(st)) == SQLITE_ROW) {
		*locked_at = sqlite3_column_int64(st, 0);
		*failures = sqlite3_column_int64(st, 1);
	} else if (r != SQLITE_DONE) {
		ret = db_error(s, "lockout");
		goto out;
	}
	ret = FG_OK;
out:
	release(s, st);
	return ret;
}

int
fg_store_lock_set(struct fg_store *s, const char *user, int64_t failures,
    const struct fg_audit *a)
{
	sqlite3_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s,
		 "INSERT INTO lockouts (user, locked_at, failures)"
		 " VALUES (?, ?, ?) ON CONFLICT (user) DO UPDATE"
		 " SET failures = excluded.failures",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	bind_text(st, 1, user);
	sqlite3_bind_int64(st, 2, now_s());
	sqlite3_bind_int64(st, 3, failures);
	ret = change(s, &st, 1, false, a, true);
out:
	release(s, st);
	return ret;
}

int
fg_store_lock_clear(struct fg_store *s, const char *user,
    const struct fg_audit *a)
{
	sqlite3_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s, "DELETE FROM lockouts WHERE user = ?", &st)) !=
	    FG_OK) {
		ret = r;
		goto out;
	}
	bind_text(st, 1, user);
	ret = change(s, &st, 1, true, a, true);
out:
	release(s, st);
	return ret;
}

int
fg_store_lock_reason(struct fg_store *s, const char *user, char *reason,
    size_t reasonlen, char *by, size_t bylen)
{
	sqlite3_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	reason[0] = '\0';
	by[0] = '\0';
	if ((r = prepare(s,
		 "SELECT reason, locked_by FROM lockouts WHERE user = ?"
		 " AND reason IS NOT NULL",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	bind_text(st, 1, user);
	if ((r = sqlite3_step(st)) == SQLITE_ROW) {
		snprintf(reason, reasonlen, "%s",
		    (const char *)sqlite3_column_text(st, 0));
		if (sqlite3_column_text(st, 1) != NULL)
			snprintf(by, bylen, "%s",
			    (const char *)sqlite3_column_text(st, 1));
	} else if (r != SQLITE_DONE) {
		ret = db_error(s, "lockout");
		goto out;
	}
	ret = FG_OK;
out:
	release(s, st);
	return ret;
}

/*
 * An administrator's lock, and the revocation of every approval of the
 * user no login has consumed yet, in one transaction with its audit
 * record: once it is acknowledged no new login of the user can start or
 * finish. A user already locked after failures keeps the lock, now with
 * the reason.
 */
int
fg_store_lock_admin(struct fg_store *s, const char *user, const char *reason,
    const char *by, int64_t *revoked, const struct fg_audit *a)
{
	sqlite3_stmt *st[3] = { NULL, NULL, NULL };
	int64_t now = now_s();
	int r, ret = FG_ERR_INTERNAL;

	*revoked = 0;
	if ((r = prepare(s,
		 "SELECT count(*) FROM approvals WHERE user = ?"
		 " AND consumed IS NULL AND revoked IS NULL",
		 &st[2])) != FG_OK ||
	    (r = prepare(s,
		 "INSERT INTO lockouts (user, locked_at, failures, reason,"
		 " locked_by) VALUES (?, ?, 0, ?, ?) ON CONFLICT (user)"
		 " DO UPDATE SET reason = excluded.reason,"
		 " locked_by = excluded.locked_by",
		 &st[0])) != FG_OK ||
	    (r = prepare(s,
		 "UPDATE approvals SET revoked = ? WHERE user = ?"
		 " AND consumed IS NULL AND revoked IS NULL",
		 &st[1])) != FG_OK) {
		ret = r;
		goto out;
	}
	bind_text(st[2], 1, user);
	if (sqlite3_step(st[2]) != SQLITE_ROW) {
		ret = db_error(s, "lock");
		goto out;
	}
	*revoked = sqlite3_column_int64(st[2], 0);
	bind_text(st[0], 1, user);
	sqlite3_bind_int64(st[0], 2, now);
	bind_text(st[0], 3, reason);
	bind_text(st[0], 4, by);
	sqlite3_bind_int64(st[1], 1, now);
	bind_text(st[1], 2, user);
	ret = change(s, st, 2, false, a, true);
out:
	release(s, st[0]);
	release(s, st[1]);
	release(s, st[2]);
	return ret;
}

int
fg_store_locked_count(struct fg_store *s, int64_t *n)
{
	sqlite3_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	*n = 0;
	if ((r = prepare(s, "SELECT count(*) FROM lockouts", &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	if (sqlite3_step(st) != SQLITE_ROW) {
		ret = db_error(s, "lockouts");
		goto out;
	}
	*n = sqlite3_column_int64(st, 0);
	ret = FG_OK;
out:
	release(s, st);
	return ret;
}

int
fg_store_sessions(struct fg_store *s, const char *user, int limit,
    json_t **out)
{
	sqlite3_stmt *st = NULL;
	json_t *arr = NULL;
	int r, ret = FG_ERR_INTERNAL;

	*out = NULL;
	if ((r = prepare(s,
		 "SELECT sid, client FROM approvals WHERE user = ?"
		 " ORDER BY id DESC LIMIT ?",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	bind_text(st, 1, user);
	sqlite3_bind_int(st, 2, limit);
	if ((arr = json_array()) == NULL) {
		ret = FG_ERR_NOMEM;
		goto out;
	}
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		if (json_array_append_new(arr, json_pack("{s:s,s:s}", "sid",
			(const char *)sqlite3_column_text(st, 0), "client",
			(const char *)sqlite3_column_text(st, 1))) != 0) {
			ret = FG_ERR_NOMEM;
			goto out;
		}
	if (r != SQLITE_DONE) {
		ret = db_error(s, "sessions");
		goto out;
	}
	*out = arr;
	arr = NULL;
	ret = FG_OK;
out:
	json_decref(arr);
	release(s, st);
	return ret;
}

int
fg_store_secret(struct fg_store *s, const char *name, uint8_t *out,
    size_t len)
{
	sqlite3_stmt *st[2] = { NULL, NULL };
	uint8_t fresh[64];
	int r, ret = FG_ERR_INTERNAL;

	if (len > sizeof(fresh) || fg_random(fresh, len) != FG_OK)
		goto out;
	/* the first agent to ask makes it; every later one reads it */
	if ((r = prepare(s,
		 "INSERT INTO secrets (name, value) VALUES (?, ?)"
		 " ON CONFLICT (name) DO NOTHING",
		 &st[0])) != FG_OK ||
	    (r = prepare(s, "SELECT value FROM secrets WHERE name = ?",
		 &st[1])) != FG_OK) {
		ret = r;
		goto out;
	}
	bind_text(st[0], 1, name);
	sqlite3_bind_blob(st[0], 2, fresh, (int)len, SQLITE_TRANSIENT);
	if (sqlite3_step(st[0]) != SQLITE_DONE) {
		ret = db_error(s, "secret");
		goto out;
	}
	bind_text(st[1], 1, name);
	if (sqlite3_step(st[1]) != SQLITE_ROW ||
	    (size_t)sqlite3_column_bytes(st[1], 0) != len) {
		ret = db_error(s, "secret");
		goto out;
	}
	memcpy(out, sqlite3_column_blob(st[1], 0), len);
	ret = FG_OK;
out:
	OPENSSL_cleanse(fresh, sizeof(fresh));
	release(s, st[0]);
	release(s, st[1]);
	return ret;
}

int
fg_store_list_shape(struct fg_store *s, uint64_t pick, size_t *n,
    size_t *lens, size_t max)
{
	sqlite3_stmt *st[2] = { NULL, NULL };
	int64_t top, user_id;
	int r, ret = FG_ERR_INTERNAL;

	*n = 0;
	/* a credential row chosen by pick, by rowid: O(log n) however many */
	if ((r = prepare(s, "SELECT max(id) FROM credentials", &st[0])) !=
		FG_OK ||
	    (r = prepare(s,
		 "SELECT user_id FROM credentials"
		 " WHERE state = 'active' AND id >= ? ORDER BY id LIMIT 1",
		 &st[1])) != FG_OK) {
		ret = r;
		goto out;
	}
	if (sqlite3_step(st[0]) != SQLITE_ROW) {
		ret = db_error(s, "shape");
		goto out;
	}
	top = sqlite3_column_int64(st[0], 0);
	sqlite3_bind_int64(st[1], 1, top > 0 ? (int64_t)(pick % (uint64_t)top) + 1 : 1);
	if ((r = sqlite3_step(st[1])) == SQLITE_DONE) {
		ret = FG_OK; /* nobody enrolled, or only past the pick */
		goto out;
	}
	if (r != SQLITE_ROW) {
		ret = db_error(s, "shape");
		goto out;
	}
	user_id = sqlite3_column_int64(st[1], 0);
	release(s, st[1]);
	st[1] = NULL;
	if ((r = prepare(s,
		 "SELECT length(credential_id) FROM credentials"
		 " WHERE user_id = ? AND state = 'active' AND suspicious = 0"
		 " ORDER BY id",
		 &st[1])) != FG_OK) {
		ret = r;
		goto out;
	}
	sqlite3_bind_int64(st[1], 1, user_id);
	while ((r = sqlite3_step(st[1])) == SQLITE_ROW && *n < max)
		lens[(*n)++] = (size_t)sqlite3_column_int64(st[1], 0);
	if (r != SQLITE_ROW && r != SQLITE_DONE) {
		ret = db_error(s, "shape");
		goto out;
	}
	ret = FG_OK;
out:
	release(s, st[0]);
	release(s, st[1]);
	return ret;
}

int
fg_store_keys(struct fg_store *s, int64_t since, json_t **out)
{
	sqlite3_stmt *st = NULL;
	json_t *arr = NULL, *row;
	int r, ret = FG_ERR_INTERNAL;

	*out = NULL;
	if ((r = prepare(s,
		 "SELECT kid, alg, jwk, created, retired FROM signing_keys"
		 " WHERE retired IS NULL OR retired > ? ORDER BY created",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	sqlite3_bind_int64(st, 1, since);
	if ((arr = json_array()) == NULL) {
		ret = FG_ERR_NOMEM;
		goto out;
	}
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		json_error_t jerr;
		json_t *jwk = json_loads(
		    (const char *)sqlite3_column_text(st, 2), 0, &jerr);
		row = json_pack("{s:s?,s:s?,s:o*,s:I,s:I}", "kid",
		    (const char *)sqlite3_column_text(st, 0), "alg",
		    (const char *)sqlite3_column_text(st, 1), "jwk", jwk,
		    "created", (json_int_t)sqlite3_column_int64(st, 3),
		    "retired", (json_int_t)sqlite3_column_int64(st, 4));
		if (row == NULL || jwk == NULL ||
		    json_array_append_new(arr, row) != 0) {
			json_decref(row);
			ret = FG_ERR_STORE;
			goto out;
		}
	}
	if (r != SQLITE_DONE) {
		ret = db_error(s, "keys");
		goto out;
	}
	*out = arr;
	arr = NULL;
	ret = FG_OK;
out:
	json_decref(arr);
	release(s, st);
	return ret;
}

int
fg_store_key_add(struct fg_store *s, const char *kid, const char *alg,
    const char *jwk, bool retire_others, const struct fg_audit *a)
{
	sqlite3_stmt *st[2] = { NULL, NULL };
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s,
		 "UPDATE signing_keys SET retired = ? WHERE alg = ?"
		 " AND retired IS NULL AND ?",
		 &st[0])) != FG_OK ||
	    (r = prepare(s,
		 "INSERT INTO signing_keys (kid, alg, jwk, created)"
		 " VALUES (?, ?, ?, ?)",
		 &st[1])) != FG_OK) {
		ret = r;
		goto out;
	}
	sqlite3_bind_int64(st[0], 1, (sqlite3_int64)time(NULL));
	bind_text(st[0], 2, alg);
	sqlite3_bind_int(st[0], 3, retire_others);
	bind_text(st[1], 1, kid);
	bind_text(st[1], 2, alg);
	bind_text(st[1], 3, jwk);
	sqlite3_bind_int64(st[1], 4, (sqlite3_int64)time(NULL));
	ret = change(s, st, 2, true, a, true);
out:
	release(s, st[0]);
	release(s, st[1]);
	return ret;
}

int
fg_store_approval_add(struct fg_store *s, const char *user, const char *sid,
    const char *client, const struct fg_audit *a)
{
	sqlite3_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s,
		 "INSERT INTO approvals (user, sid, client, created)"
		 " VALUES (?, ?, ?, ?)",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	bind_text(st, 1, user);
	bind_text(st, 2, sid);
	bind_text(st, 3, client);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL));
	/* not fsynced: an approval a power loss takes away only makes the
	 * login it was for fail (closed); consuming and revoking one are */
	ret = change(s, &st, 1, true, a, false);
out:
	release(s, st);
	return ret;
}

int
fg_store_approval_revoke(struct fg_store *s, const char *sid,
    const struct fg_audit *a)
{
	sqlite3_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s,
		 "UPDATE approvals SET revoked = ? WHERE sid = ?"
		 " AND revoked IS NULL",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL));
	bind_text(st, 2, sid);
	ret = change(s, &st, 1, false, a, true);
out:
	release(s, st);
	return ret;
}

/*
 * Consumes the newest approval of user younger than window seconds, not
 * consumed or revoked: in one statement, so that two logins can never both
 * take one approval. FG_ERR_NOTFOUND when there is none; the audit record
 * is written either way by the caller.
 */
int
fg_store_approval_consume(struct fg_store *s, const char *user,
    const char *client, unsigned window, char *sid, size_t sidlen,
    const struct fg_audit *a)
{
	sqlite3_stmt *st = NULL;
	int64_t now = (int64_t)time(NULL), id = 0;
	char hash[FG_AUDIT_HASH_HEX];
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s,
		 "UPDATE approvals SET consumed = ?1 WHERE id = ("
		 " SELECT id FROM approvals WHERE user = ?2"
		 " AND (?4 IS NULL OR client = ?4)"
		 " AND consumed IS NULL AND revoked IS NULL"
		 " AND created > ?1 - ?3 ORDER BY created DESC, id DESC"
		 " LIMIT 1) RETURNING sid",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	sqlite3_bind_int64(st, 1, now);
	bind_text(st, 2, user);
	sqlite3_bind_int64(st, 3, window);
	bind_text(st, 4, client);
	if ((r = exec(s, "BEGIN IMMEDIATE")) != FG_OK) {
		ret = r;
		goto out;
	}
	if ((r = sqlite3_step(st)) == SQLITE_ROW) {
		snprintf(sid, sidlen, "%s",
		    (const char *)sqlite3_column_text(st, 0));
		r = sqlite3_step(st);
	} else if (r == SQLITE_DONE) {
		ret = FG_ERR_NOTFOUND;
		goto out;
	}
	if (r != SQLITE_DONE) {
		ret = db_error(s, "approval");
		goto out;
	}
	sqlite3_reset(st);
	if ((r = audit_insert(s, a, &id, hash)) != FG_OK ||
	    (r = exec(s, "COMMIT")) != FG_OK) {
		ret = r;
		goto out;
	}
	committed(s, a, id, hash); /* the journal says what happened */
	ret = FG_OK;
out:
	if (ret != FG_OK)
		rollback(s);
	release(s, st);
	return ret;
}

/* Admins and the requests a second admin approves (docs/admin-guide.md). */

int
fg_store_admins(struct fg_store *s, json_t **out)
{
	sqlite3_stmt *st = NULL;
	json_t *arr = json_array();
	int r, ret = FG_ERR_INTERNAL;

	*out = NULL;
	if (arr == NULL) {
		ret = FG_ERR_NOMEM;
		goto out;
	}
	if ((r = prepare(s,
		 "SELECT name, created, added_by FROM admins ORDER BY name",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	while ((r = sqlite3_step(st)) == SQLITE_ROW)
		if (json_array_append_new(arr,
			json_pack("{s:s,s:I,s:s}", "name",
			    (const char *)sqlite3_column_text(st, 0), "created",
			    (json_int_t)sqlite3_column_int64(st, 1),
			    "added_by",
			    (const char *)sqlite3_column_text(st, 2))) != 0) {
			ret = FG_ERR_NOMEM;
			goto out;
		}
	if (r != SQLITE_DONE) {
		ret = db_error(s, "admins");
		goto out;
	}
	*out = arr;
	arr = NULL;
	ret = FG_OK;
out:
	json_decref(arr);
	release(s, st);
	return ret;
}

int
fg_store_admin_count(struct fg_store *s, const char *name, int64_t *all,
    bool *is_admin)
{
	sqlite3_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	*all = 0;
	*is_admin = false;
	if ((r = prepare(s,
		 "SELECT count(*), coalesce(sum(name = ?), 0) FROM admins",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	bind_text(st, 1, name != NULL ? name : "");
	if (sqlite3_step(st) != SQLITE_ROW) {
		ret = db_error(s, "admins");
		goto out;
	}
	*all = sqlite3_column_int64(st, 0);
	*is_admin = sqlite3_column_int64(st, 1) != 0;
	ret = FG_OK;
out:
	release(s, st);
	return ret;
}

/* The statements an approved (or single-admin) action runs, in *st. */
static int
action_statement(struct fg_store *s, const struct fg_request *rq,
    const char *by, int64_t not_before, sqlite3_stmt **st)
{
	int r = FG_ERR_INVALID;

	/* an invited key, as a recovered one, waits in state pending */
	if (strcmp(rq->action, "recover") == 0 ||
	    strcmp(rq->action, "invite") == 0) {
		if ((r = prepare(s,
			 "UPDATE credentials SET state = 'active',"
			 " not_before = ?2 WHERE id = ?1 AND state = 'pending'",
			 st)) != FG_OK)
			return r;
		sqlite3_bind_int64(*st, 1, rq->credential);
		if (not_before != 0)
			sqlite3_bind_int64(*st, 2, not_before);
	} else if (strcmp(rq->action, "unlock") == 0) {
		if ((r = prepare(s, "DELETE FROM lockouts WHERE user = ?",
			 st)) != FG_OK)
			return r;
		bind_text(*st, 1, rq->user);
	} else if (strcmp(rq->action, "admin.add") == 0) {
		if ((r = prepare(s,
			 "INSERT INTO admins (name, created, added_by)"
			 " VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
			 st)) != FG_OK)
			return r;
		bind_text(*st, 1, rq->user);
		sqlite3_bind_int64(*st, 2, now_s());
		bind_text(*st, 3, by);
	} else if (strcmp(rq->action, "admin.remove") == 0) {
		if ((r = prepare(s, "DELETE FROM admins WHERE name = ?", st)) !=
		    FG_OK)
			return r;
		bind_text(*st, 1, rq->user);
	}
	return r;
}

int
fg_store_act(struct fg_store *s, const struct fg_request *rq, const char *by,
    const struct fg_audit *a)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = action_statement(s, rq, by, 0, &st)) == FG_OK)
		r = change(s, &st, 1, false, a, true);
	release(s, st);
	return r;
}

int
fg_store_request_add(struct fg_store *s, const struct fg_request *rq,
    const struct fg_audit *a)
{
	sqlite3_stmt *st = NULL;
	int r;

	if ((r = request_insert(s, rq, &st)) == FG_OK)
		r = change(s, &st, 1, true, a, true);
	release(s, st);
	return r;
}

#define REQUEST_COLUMNS \
	"id, action, user, coalesce(credential, 0), requested_by," \
	" requested_cred, coalesce(reason, ''), created, expires," \
	" approved_by FROM requests"

static void
read_request(sqlite3_stmt *st, struct fg_request *rq)
{
	const char *t;

	memset(rq, 0, sizeof(*rq));
#define COPY(field, i)                                                         \
	t = (const char *)sqlite3_column_text(st, i);                         \
	snprintf(rq->field, sizeof(rq->field), "%s", t != NULL ? t : "")
	COPY(id, 0);
	COPY(action, 1);
	COPY(user, 2);
	COPY(requested_by, 4);
	COPY(requested_cred, 5);
	COPY(reason, 6);
	COPY(approved_by, 9);
#undef COPY
	rq->credential = sqlite3_column_int64(st, 3);
	rq->created = sqlite3_column_int64(st, 7);
	rq->expires = sqlite3_column_int64(st, 8);
}

int
fg_store_request_get(struct fg_store *s, const char *id,
    struct fg_request *rq)
{
	sqlite3_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	memset(rq, 0, sizeof(*rq));
	if ((r = prepare(s, "SELECT " REQUEST_COLUMNS " WHERE id = ?", &st)) !=
	    FG_OK) {
		ret = r;
		goto out;
	}
	bind_text(st, 1, id);
	if ((r = sqlite3_step(st)) == SQLITE_DONE) {
		ret = FG_ERR_NOTFOUND;
		goto out;
	}
	if (r != SQLITE_ROW) {
		ret = db_error(s, "request");
		goto out;
	}
	read_request(st, rq);
	ret = FG_OK;
out:
	release(s, st);
	return ret;
}

int
fg_store_requests(struct fg_store *s, json_t **out)
{
	sqlite3_stmt *st = NULL;
	struct fg_request rq;
	json_t *arr = json_array();
	int r, ret = FG_ERR_INTERNAL;

	*out = NULL;
	if (arr == NULL) {
		ret = FG_ERR_NOMEM;
		goto out;
	}
	if ((r = prepare(s,
		 "SELECT " REQUEST_COLUMNS " WHERE approved IS NULL"
		 " AND expires > ? ORDER BY created, id",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	sqlite3_bind_int64(st, 1, now_s());
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		read_request(st, &rq);
		if (json_array_append_new(arr,
			json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:I,s:I}", "id",
			    rq.id, "action", rq.action, "user", rq.user,
			    "requested_by", rq.requested_by, "requested_cred",
			    rq.requested_cred, "reason", rq.reason, "created",
			    (json_int_t)rq.created, "expires",
			    (json_int_t)rq.expires)) != 0) {
			ret = FG_ERR_NOMEM;
			goto out;
		}
	}
	if (r != SQLITE_DONE) {
		ret = db_error(s, "requests");
		goto out;
	}
	*out = arr;
	arr = NULL;
	ret = FG_OK;
out:
	json_decref(arr);
	release(s, st);
	return ret;
}

/*
 * The second admin's approval and the action, in one transaction. The
 * request's own update comes last and must find its row: still pending,
 * not expired, and asked by someone else, or nothing happens
 * (FG_ERR_NOTFOUND), whatever another approver did a moment before.
 */
int
fg_store_request_approve(struct fg_store *s, const struct fg_request *rq,
    const char *by, const char *by_cred, int64_t not_before,
    const struct fg_audit *a)
{
	sqlite3_stmt *st[2] = { NULL, NULL };
	int r, ret = FG_ERR_INTERNAL;

	if ((r = action_statement(s, rq, by, not_before, &st[0])) != FG_OK ||
	    (r = prepare(s,
		 "UPDATE requests SET approved_by = ?2, approved_cred = ?3,"
		 " approved = ?4 WHERE id = ?1 AND approved IS NULL"
		 " AND expires > ?4 AND requested_by <> ?2",
		 &st[1])) != FG_OK) {
		ret = r;
		goto out;
	}
	bind_text(st[1], 1, rq->id);
	bind_text(st[1], 2, by);
	bind_text(st[1], 3, by_cred);
	sqlite3_bind_int64(st[1], 4, now_s());
	ret = change(s, st, 2, true, a, true);
out:
	release(s, st[0]);
	release(s, st[1]);
	return ret;
}

/* A credential's label or state; from: the state it must be in. */
int
fg_store_cred_set(struct fg_store *s, int64_t id, const char *from,
    const char *state, const char *label, const struct fg_audit *a)
{
	sqlite3_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s,
		 "UPDATE credentials SET state = coalesce(?3, state),"
		 " label = coalesce(?4, label) WHERE id = ?1 AND state = ?2",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	sqlite3_bind_int64(st, 1, id);
	bind_text(st, 2, from);
	if (state != NULL)
		bind_text(st, 3, state);
	if (label != NULL)
		bind_text(st, 4, label);
	ret = change(s, &st, 1, true, a, true);
out:
	release(s, st);
	return ret;
}

int
fg_store_invite_add(struct fg_store *s, const uint8_t hash[32],
    const char *user, const char *by, int64_t expires,
    const struct fg_audit *a)
{
	sqlite3_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s,
		 "INSERT INTO invitations (token_hash, user, created_by,"
		 " created, expires) VALUES (?, ?, ?, ?, ?)",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_TRANSIENT);
	bind_text(st, 2, user);
	bind_text(st, 3, by);
	sqlite3_bind_int64(st, 4, now_s());
	sqlite3_bind_int64(st, 5, expires);
	ret = change(s, &st, 1, true, a, true);
out:
	release(s, st);
	return ret;
}

int
fg_store_invite_get(struct fg_store *s, const uint8_t hash[32],
    struct fg_invitation *inv)
{
	sqlite3_stmt *st = NULL;
	const char *t;
	int r, ret = FG_ERR_INTERNAL;

	memset(inv, 0, sizeof(*inv));
	if ((r = prepare(s,
		 "SELECT user, created_by, expires, coalesce(used, 0)"
		 " FROM invitations WHERE token_hash = ?",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_TRANSIENT);
	if ((r = sqlite3_step(st)) == SQLITE_DONE) {
		ret = FG_ERR_NOTFOUND;
		goto out;
	}
	if (r != SQLITE_ROW) {
		ret = db_error(s, "invitation");
		goto out;
	}
	t = (const char *)sqlite3_column_text(st, 0);
	snprintf(inv->user, sizeof(inv->user), "%s", t != NULL ? t : "");
	t = (const char *)sqlite3_column_text(st, 1);
	snprintf(inv->created_by, sizeof(inv->created_by), "%s",
	    t != NULL ? t : "");
	inv->expires = sqlite3_column_int64(st, 2);
	inv->used = sqlite3_column_int64(st, 3);
	ret = FG_OK;
out:
	release(s, st);
	return ret;
}

/*
 * An invited key: the credential (pending), the request an admin
 * confirms it with, and the invitation spent, in one transaction. The
 * invitation's update comes last and must find its row (still unused,
 * unexpired, for this user), or nothing is written (FG_ERR_NOTFOUND):
 * two browsers finishing one link at once enrol one key.
 */
int
fg_store_invite_enrol(struct fg_store *s, const uint8_t hash[32],
    const uint8_t handle[32], const struct fg_cred *c,
    const struct fg_request *rq, const struct fg_audit *a)
{
	sqlite3_stmt *st[4] = {NULL, NULL, NULL, NULL};
	int r, ret = FG_ERR_INTERNAL;

	if ((r = cred_statements(s, rq->user, handle, c, st)) != FG_OK ||
	    (r = request_insert(s, rq, &st[2])) != FG_OK ||
	    (r = prepare(s,
		 "UPDATE invitations SET used = ?2 WHERE token_hash = ?1"
		 " AND used IS NULL AND expires > ?2 AND user = ?3",
		 &st[3])) != FG_OK) {
		ret = r;
		goto out;
	}
	sqlite3_bind_blob(st[3], 1, hash, 32, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st[3], 2, now_s());
	bind_text(st[3], 3, rq->user);
	ret = change(s, st, 4, true, a, true);
out:
	release(s, st[0]);
	release(s, st[1]);
	release(s, st[2]);
	release(s, st[3]);
	return ret;
}
