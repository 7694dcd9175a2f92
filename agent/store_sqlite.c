/*
 * The store's SQLite backend (store_db.h): one database file in WAL mode,
 * created 0600 in a folder no one else can write. Logins commit with
 * synchronous=NORMAL, the rest with FULL (store.c's change()).
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "agent.h"
#include "store_db.h"

struct lite {
	struct db base;
	sqlite3 *db;
};

struct lite_stmt {
	struct db_stmt base;
	sqlite3_stmt *st;
};

#define LITE(d) ((struct lite *)(void *)(d))
#define LST(s) (((struct lite_stmt *)(void *)(s))->st)

static const char *const lite_migrations[] = {
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
	/* 10: a user's failed attempts, counted by every agent on the store
	 * (in ms, as the backoff's clock) */
	"CREATE TABLE failures ("
	"  user TEXT PRIMARY KEY,"
	"  n INTEGER NOT NULL CHECK (n > 0),"
	"  last_fail INTEGER NOT NULL);",
	/* 11: the browser's logins, so that agents sharing a store can take
	 * each other's steps (oidc.c): transactions, their one challenge,
	 * authorization codes and access tokens, each keyed by the SHA-256
	 * of its bearer value, with an expiry in wall-clock milliseconds */
	"CREATE TABLE oidc_tx ("
	"  id_hash BLOB PRIMARY KEY CHECK (length(id_hash) = 32),"
	"  state_hash BLOB UNIQUE"
	"    CHECK (state_hash IS NULL OR length(state_hash) = 32),"
	"  body TEXT NOT NULL,"
	"  expires INTEGER NOT NULL);"
	"CREATE INDEX oidc_tx_expires ON oidc_tx(expires);"
	"CREATE TABLE oidc_challenges ("
	"  session_hash BLOB PRIMARY KEY CHECK (length(session_hash) = 32),"
	"  tx_hash BLOB NOT NULL UNIQUE,"
	"  challenge BLOB NOT NULL CHECK (length(challenge) = 32),"
	"  user TEXT NOT NULL,"
	"  uv INTEGER NOT NULL,"
	"  detail TEXT,"
	"  expires INTEGER NOT NULL);"
	"CREATE INDEX oidc_challenges_expires ON oidc_challenges(expires);"
	"CREATE INDEX oidc_challenges_user ON oidc_challenges(user);"
	"CREATE TABLE oidc_codes ("
	"  code_hash BLOB PRIMARY KEY CHECK (length(code_hash) = 32),"
	"  user TEXT NOT NULL,"
	"  body TEXT NOT NULL,"
	"  expires INTEGER NOT NULL,"
	"  used INTEGER,"
	"  token_hash BLOB);"
	"CREATE INDEX oidc_codes_user ON oidc_codes(user);"
	"CREATE INDEX oidc_codes_expires ON oidc_codes(expires);"
	"CREATE TABLE oidc_tokens ("
	"  token_hash BLOB PRIMARY KEY CHECK (length(token_hash) = 32),"
	"  user TEXT NOT NULL,"
	"  body TEXT NOT NULL,"
	"  expires INTEGER NOT NULL);"
	"CREATE INDEX oidc_tokens_user ON oidc_tokens(user);"
	"CREATE INDEX oidc_tokens_expires ON oidc_tokens(expires);",
	/* 12: the client network of each browser login (as the web front
	 * names it), which its caps count by */
	"ALTER TABLE oidc_tx ADD COLUMN net TEXT NOT NULL DEFAULT '';"
	"CREATE INDEX oidc_tx_net ON oidc_tx(net, expires);",
};
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

static int
lite_errcode(struct db *d)
{
	int e = sqlite3_extended_errcode(LITE(d)->db);

	return e == SQLITE_CONSTRAINT_UNIQUE ||
		e == SQLITE_CONSTRAINT_PRIMARYKEY
	    ? FG_ERR_EXISTS
	    : FG_ERR_STORE;
}

static const char *
lite_errmsg(struct db *d)
{
	return sqlite3_errmsg(LITE(d)->db);
}

static int
lite_exec(struct db *d, const char *sql)
{
	char *msg = NULL;
	int ret = FG_OK;

	if (sqlite3_exec(LITE(d)->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "fido2gated: store: %s\n",
		    msg != NULL ? msg : sqlite3_errmsg(LITE(d)->db));
		ret = FG_ERR_STORE;
	}
	sqlite3_free(msg);
	return ret;
}

static void
lite_close(struct db *d)
{
	if (d == NULL)
		return;
	sqlite3_close(LITE(d)->db);
	free(d);
}

static int
lite_open(const char *path, const char *passfile, struct db **out, char *err,
    size_t errlen)
{
	struct lite *l = NULL;
	int r, ret = FG_ERR_INTERNAL;

	*out = NULL;
	if (passfile != NULL) {
		snprintf(err, errlen, "a password file is for a PostgreSQL "
				      "store, not SQLite");
		ret = FG_ERR_INVALID;
		goto out;
	}
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
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		ret = FG_ERR_NOMEM;
		goto out;
	}
	l->base.ops = &fg_db_sqlite;
	if (sqlite3_open_v2(path, &l->db,
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW |
		    SQLITE_OPEN_FULLMUTEX,
		NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
		    l->db ? sqlite3_errmsg(l->db) : "cannot open");
		ret = FG_ERR_STORE;
		goto out;
	}
	sqlite3_busy_timeout(l->db, 5000);
	sqlite3_extended_result_codes(l->db, 1);
	if (lite_exec(&l->base, "PRAGMA journal_mode = WAL;"
				"PRAGMA synchronous = NORMAL;"
				"PRAGMA foreign_keys = ON;"
				"PRAGMA secure_delete = ON") != FG_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(l->db));
		ret = FG_ERR_STORE;
		goto out;
	}
	*out = &l->base;
	l = NULL;
	ret = FG_OK;
out:
	lite_close(l != NULL ? &l->base : NULL);
	return ret;
}

static int
lite_prepare(struct db *d, const char *sql, struct db_stmt **out)
{
	struct lite_stmt *st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return FG_ERR_NOMEM;
	st->base.db = d;
	if (sqlite3_prepare_v3(LITE(d)->db, sql, -1,
		SQLITE_PREPARE_PERSISTENT, &st->st, NULL) != SQLITE_OK) {
		free(st);
		return FG_ERR_STORE;
	}
	*out = &st->base;
	return FG_OK;
}

static void
lite_finalize(struct db_stmt *st)
{
	if (st == NULL)
		return;
	sqlite3_finalize(LST(st));
	free(st);
}

static void
lite_reset(struct db_stmt *st)
{
	sqlite3_reset(LST(st));
}

static void
lite_clear_bindings(struct db_stmt *st)
{
	sqlite3_clear_bindings(LST(st));
}

static void
lite_bind_int64(struct db_stmt *st, int i, int64_t v)
{
	sqlite3_bind_int64(LST(st), i, v);
}

static void
lite_bind_text(struct db_stmt *st, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(LST(st), i);
	else
		sqlite3_bind_text(LST(st), i, v, -1, SQLITE_TRANSIENT);
}

static void
lite_bind_blob(struct db_stmt *st, int i, const void *p, int n)
{
	sqlite3_bind_blob(LST(st), i, p, n, SQLITE_TRANSIENT);
}

static void
lite_bind_null(struct db_stmt *st, int i)
{
	sqlite3_bind_null(LST(st), i);
}

static int
lite_step(struct db_stmt *st)
{
	switch (sqlite3_step(LST(st))) {
	case SQLITE_ROW:
		return DB_ROW;
	case SQLITE_DONE:
		return DB_DONE;
	default:
		return FG_ERR_STORE;
	}
}

static int
lite_column_count(struct db_stmt *st)
{
	return sqlite3_column_count(LST(st));
}

static const char *
lite_column_name(struct db_stmt *st, int i)
{
	return sqlite3_column_name(LST(st), i);
}

static int
lite_column_type(struct db_stmt *st, int i)
{
	switch (sqlite3_column_type(LST(st), i)) {
	case SQLITE_INTEGER:
		return DB_INTEGER;
	case SQLITE_FLOAT:
		return DB_FLOAT;
	case SQLITE_TEXT:
		return DB_TEXT;
	case SQLITE_BLOB:
		return DB_BLOB;
	default:
		return DB_NULL;
	}
}

static int64_t
lite_column_int64(struct db_stmt *st, int i)
{
	return sqlite3_column_int64(LST(st), i);
}

static double
lite_column_double(struct db_stmt *st, int i)
{
	return sqlite3_column_double(LST(st), i);
}

static const unsigned char *
lite_column_text(struct db_stmt *st, int i)
{
	return sqlite3_column_text(LST(st), i);
}

static const void *
lite_column_blob(struct db_stmt *st, int i)
{
	return sqlite3_column_blob(LST(st), i);
}

static int
lite_column_bytes(struct db_stmt *st, int i)
{
	return sqlite3_column_bytes(LST(st), i);
}

static int64_t
lite_changes(struct db *d)
{
	return sqlite3_changes64(LITE(d)->db);
}

/* SQLite's one writer: the lock is taken at BEGIN, not at the first
 * write, so the audit chain's head read first stays the head. */
static int
lite_begin(struct db *d)
{
	return lite_exec(d, "BEGIN IMMEDIATE");
}

/* After some errors (a full disk, an I/O error) SQLite rolls back by
 * itself, and a ROLLBACK would only log that no transaction is active. */
static bool
lite_in_transaction(struct db *d)
{
	return sqlite3_get_autocommit(LITE(d)->db) == 0;
}

static int
lite_durable(struct db *d, bool on)
{
	return lite_exec(d, on ? "PRAGMA synchronous = FULL"
			       : "PRAGMA synchronous = NORMAL");
}

/*
 * The WAL on disk. A login's commit is not fsynced (store.c's change()),
 * and an anchor must not outlive its record, or a power loss would pass
 * for a cut log; SQLite cannot change the safety level of a transaction
 * under way, and a checkpoint costs several times this one fdatasync.
 */
static int
lite_flush(struct db *d)
{
	const char *wal = sqlite3_filename_wal(sqlite3_db_filename(LITE(d)->db,
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

/* The audit table's AUTOINCREMENT keeps its last id in sqlite_sequence
 * (a row once the table had one); the other tables' ids are max + 1. */
static const char *const lite_ids_continue[] = {
	"DELETE FROM sqlite_sequence WHERE name = 'audit'",
	NULL,
};

const struct db_ops fg_db_sqlite = {
	.name = "sqlite",
	.migrations = lite_migrations,
	.n_migrations = sizeof(lite_migrations) / sizeof(lite_migrations[0]),
	.audit_insert =
	    "INSERT INTO audit (ts, event, user, credential, caller_uid,"
	    " caller_pid, result, reason, detail, prev)"
	    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
	/* deferred: the snapshot is the first read's, kept to the end */
	.snapshot = "BEGIN",
	.tables = "SELECT name FROM sqlite_master WHERE type = 'table'"
		  " AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
	.audit_seq_get = "SELECT seq FROM sqlite_sequence WHERE name = 'audit'",
	.audit_seq_set = "INSERT INTO sqlite_sequence (name, seq)"
			 " VALUES ('audit', ?1)",
	.ids_continue = lite_ids_continue,
	.open = lite_open,
	.close = lite_close,
	.prepare = lite_prepare,
	.finalize = lite_finalize,
	.reset = lite_reset,
	.clear_bindings = lite_clear_bindings,
	.exec = lite_exec,
	.bind_int64 = lite_bind_int64,
	.bind_text = lite_bind_text,
	.bind_blob = lite_bind_blob,
	.bind_null = lite_bind_null,
	.step = lite_step,
	.column_count = lite_column_count,
	.column_name = lite_column_name,
	.column_type = lite_column_type,
	.column_int64 = lite_column_int64,
	.column_double = lite_column_double,
	.column_text = lite_column_text,
	.column_blob = lite_column_blob,
	.column_bytes = lite_column_bytes,
	.changes = lite_changes,
	.begin = lite_begin,
	.in_transaction = lite_in_transaction,
	.durable = lite_durable,
	.flush = lite_flush,
	.errcode = lite_errcode,
	.errmsg = lite_errmsg,
};
