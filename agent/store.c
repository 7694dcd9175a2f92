/*
 * The credential store: one SQLite database in WAL mode, created 0600,
 * with a schema_version table and numbered migrations. Every change runs in
 * one transaction together with its audit record; enrolments, revocations
 * and lockouts with synchronous=FULL, so that once acknowledged they survive
 * a crash or a power loss (see change() for logins). The audit table
 * is append-only, enforced by triggers.
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
};
#define SCHEMA_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

static int
db_error(struct fg_store *s, const char *what)
{
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
	if (s->ncache < STMT_CACHE) {
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
	release(s, st);
}

/* One statement without parameters (a literal), or several (migrations). */
static int
exec(struct fg_store *s, const char *sql)
{
	sqlite3_stmt *st = NULL;
	char *msg = NULL;
	int r;

	if (strchr(sql, ';') == NULL) {
		if (prepare(s, sql, &st) != FG_OK)
			return FG_ERR_STORE;
		while ((r = sqlite3_step(st)) == SQLITE_ROW)
			;
		release(s, st);
		if (r != SQLITE_DONE) {
			fprintf(stderr, "fido2gated: store: %s\n",
			    sqlite3_errmsg(s->db));
			return FG_ERR_STORE;
		}
		return FG_OK;
	}
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "fido2gated: store: %s\n",
		    msg != NULL ? msg : sqlite3_errmsg(s->db));
		sqlite3_free(msg);
		return FG_ERR_STORE;
	}
	return FG_OK;
}

static int
migrate(struct fg_store *s, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int version = 0, i, ret = FG_ERR_STORE;

	if (exec(s, "BEGIN IMMEDIATE") != FG_OK)
		return FG_ERR_STORE;
	if (exec(s, "CREATE TABLE IF NOT EXISTS schema_version ("
		    "version INTEGER NOT NULL)") != FG_OK)
		goto out;
	if (prepare(s, "SELECT max(version) FROM schema_version", &st) != FG_OK)
		goto out;
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	release(s, st);
	st = NULL;
	if (version > SCHEMA_VERSION) {
		snprintf(err, errlen,
		    "the store has schema version %d; this agent knows %d",
		    version, SCHEMA_VERSION);
		goto out;
	}
	for (i = version; i < SCHEMA_VERSION; i++) {
		int r;

		if (exec(s, migrations[i]) != FG_OK)
			goto out;
		if (prepare(s, "INSERT INTO schema_version VALUES (?)", &st) !=
		    FG_OK)
			goto out;
		sqlite3_bind_int(st, 1, i + 1);
		r = sqlite3_step(st);
		release(s, st);
		st = NULL;
		if (r != SQLITE_DONE)
			goto out;
	}
	if (exec(s, "COMMIT") != FG_OK)
		goto out;
	return FG_OK;
out:
	if (err[0] == '\0')
		snprintf(err, errlen, "migration failed: %s",
		    sqlite3_errmsg(s->db));
	exec(s, "ROLLBACK");
	return ret;
}

/* Create the file ourselves, 0600 and never through a symlink, so that
 * SQLite (which copies the database's mode to -wal and -shm) never makes a
 * readable store. */
static int
create_private(const char *path, char *err, size_t errlen)
{
	struct stat sb;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return FG_ERR_IO;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return FG_ERR_IO;
	}
	if (sb.st_uid != geteuid() || (sb.st_mode & 077) != 0) {
		snprintf(err, errlen,
		    "%s: must be owned by uid %u and not readable by others "
		    "(mode 0600)",
		    path, (unsigned)geteuid());
		close(fd);
		return FG_ERR_DENIED;
	}
	close(fd);
	return FG_OK;
}

/* Whoever can write the store's folder can swap the store, or plant a
 * -wal or -shm file for SQLite to trust: it must be ours (or root's) and
 * writable by no one else. */
static int
check_folder(const char *path, char *err, size_t errlen)
{
	char *copy = strdup(path);
	const char *dir;
	struct stat sb;
	int ret = FG_ERR_DENIED;

	if (copy == NULL)
		return FG_ERR_NOMEM;
	dir = dirname(copy);
	if (stat(dir, &sb) != 0) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		ret = FG_ERR_IO;
	} else if (!S_ISDIR(sb.st_mode))
		snprintf(err, errlen, "%s: not a folder", dir);
	else if (sb.st_uid != geteuid() && sb.st_uid != 0)
		snprintf(err, errlen,
		    "%s: the store's folder must be owned by uid %u or root, "
		    "not uid %u",
		    dir, (unsigned)geteuid(), (unsigned)sb.st_uid);
	else if ((sb.st_mode & 022) != 0)
		snprintf(err, errlen,
		    "%s: the store's folder is writable by group or others "
		    "(mode %03o); run chmod go-w on it",
		    dir, (unsigned)(sb.st_mode & 0777));
	else
		ret = FG_OK;
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
	struct fg_store *s;
	int r;

	*out = NULL;
	err[0] = '\0';
	if (strlen(path) >= 4000) {
		snprintf(err, errlen, "the store's path is too long");
		return FG_ERR_INVALID;
	}
	if ((r = check_folder(path, err, errlen)) != FG_OK ||
	    (r = create_private(path, err, errlen)) != FG_OK ||
	    (r = check_sidecars(path, err, errlen)) != FG_OK)
		return r;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return FG_ERR_NOMEM;
	if (sqlite3_open_v2(path, &s->db,
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW |
		    SQLITE_OPEN_FULLMUTEX,
		NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path,
		    s->db ? sqlite3_errmsg(s->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 5000);
	sqlite3_extended_result_codes(s->db, 1);
	if (exec(s, "PRAGMA journal_mode = WAL") != FG_OK ||
	    exec(s, "PRAGMA synchronous = NORMAL") != FG_OK ||
	    exec(s, "PRAGMA foreign_keys = ON") != FG_OK ||
	    exec(s, "PRAGMA secure_delete = ON") != FG_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(s->db));
		goto fail;
	}
	if (migrate(s, err, errlen) != FG_OK)
		goto fail;
	*out = s;
	return FG_OK;
fail:
	sqlite3_close(s->db);
	free(s);
	return FG_ERR_STORE;
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

static int64_t
now_s(void)
{
	return (int64_t)time(NULL);
}

static int
bind_text(sqlite3_stmt *st, int i, const char *v)
{
	return v == NULL ? sqlite3_bind_null(st, i) :
			   sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

static int
audit_insert(struct fg_store *s, const struct fg_audit *a)
{
	sqlite3_stmt *st = NULL;
	int ret = FG_ERR_STORE;

	if (prepare(s,
		"INSERT INTO audit (ts, event, user, credential, caller_uid,"
		" caller_pid, result, reason, detail)"
		" VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		&st) != FG_OK)
		return FG_ERR_STORE;
	sqlite3_bind_int64(st, 1, now_s());
	bind_text(st, 2, a->event);
	bind_text(st, 3, a->user);
	bind_text(st, 4, a->credential);
	sqlite3_bind_int64(st, 5, (int64_t)a->caller_uid);
	sqlite3_bind_int64(st, 6, (int64_t)a->caller_pid);
	bind_text(st, 7, a->result);
	bind_text(st, 8, a->reason);
	bind_text(st, 9, a->detail);
	if (sqlite3_step(st) != SQLITE_DONE)
		db_error(s, "audit");
	else
		ret = FG_OK;
	release(s, st);
	return ret;
}

int
fg_store_audit(struct fg_store *s, const struct fg_audit *a)
{
	return audit_insert(s, a);
}

/*
 * Run one prepared change and its audit record as a single transaction.
 * Durable changes (enrolments, revocations, lockouts, suspensions) are
 * fsynced before we answer (synchronous=FULL). Logins are not: in WAL mode
 * with synchronous=NORMAL a commit survives the agent's crash but the last
 * ones may not survive a power loss. No check is weakened: a stored sign
 * counter can then only lag behind the key's, and every challenge dies with
 * the agent anyway; the audit records of the last logins can be lost. It
 * saves an fsync per login.
 */
static int
change(struct fg_store *s, sqlite3_stmt *st, bool need_row,
    const struct fg_audit *a, bool durable)
{
	int ret = FG_ERR_STORE;

	if (durable && exec(s, "PRAGMA synchronous = FULL") != FG_OK)
		return FG_ERR_STORE;
	if (exec(s, "BEGIN IMMEDIATE") != FG_OK)
		goto done;
	if (sqlite3_step(st) != SQLITE_DONE) {
		ret = sqlite3_extended_errcode(s->db) ==
			SQLITE_CONSTRAINT_UNIQUE ?
		    FG_ERR_EXISTS :
		    db_error(s, "change");
		goto out;
	}
	if (need_row && sqlite3_changes(s->db) != 1) {
		ret = FG_ERR_NOTFOUND;
		goto out;
	}
	if (audit_insert(s, a) != FG_OK)
		goto out;
	if (exec(s, "COMMIT") != FG_OK)
		goto out;
	ret = FG_OK;
	goto done;
out:
	exec(s, "ROLLBACK");
done:
	if (durable)
		exec(s, "PRAGMA synchronous = NORMAL");
	return ret;
}

int
fg_store_user_find(struct fg_store *s, const char *name, struct fg_user *u)
{
	sqlite3_stmt *st = NULL;
	int r, ret = FG_ERR_STORE;

	memset(u, 0, sizeof(*u));
	if (prepare(s, "SELECT id, handle FROM users WHERE name = ?", &st) !=
	    FG_OK)
		return FG_ERR_STORE;
	bind_text(st, 1, name);
	if ((r = sqlite3_step(st)) == SQLITE_ROW &&
	    sqlite3_column_bytes(st, 1) == 32) {
		u->id = sqlite3_column_int64(st, 0);
		memcpy(u->handle, sqlite3_column_blob(st, 1), 32);
		snprintf(u->name, sizeof(u->name), "%s", name);
		ret = FG_OK;
	} else if (r == SQLITE_DONE)
		ret = FG_ERR_NOTFOUND;
	else
		db_error(s, "user");
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
	const void *p;
	int n;

	memset(c, 0, sizeof(*c));
	c->id = sqlite3_column_int64(st, 0);
	c->user_id = sqlite3_column_int64(st, 1);
	snprintf(c->user, sizeof(c->user), "%s",
	    (const char *)sqlite3_column_text(st, 2));
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
	c->revoked = strcmp((const char *)sqlite3_column_text(st, 15),
			 "active") != 0;
	c->suspicious = sqlite3_column_int(st, 16) != 0;
	if ((n = sqlite3_column_bytes(st, 3)) <= 0 ||
	    (c->cred_id = malloc((size_t)n)) == NULL)
		goto fail;
	memcpy(c->cred_id, sqlite3_column_blob(st, 3), (size_t)n);
	c->cred_id_len = (size_t)n;
	if ((n = sqlite3_column_bytes(st, 5)) <= 0 ||
	    (c->pubkey = malloc((size_t)n)) == NULL)
		goto fail;
	memcpy(c->pubkey, sqlite3_column_blob(st, 5), (size_t)n);
	c->pubkey_len = (size_t)n;
	if ((c->fmt = col_strdup(st, 11)) == NULL ||
	    (c->label = col_strdup(st, 12)) == NULL)
		goto fail;
	return FG_OK;
fail:
	fg_cred_clear(c);
	return FG_ERR_NOMEM;
}

#define CRED_COLUMNS \
	"c.id, c.user_id, u.name, c.credential_id, c.alg, c.public_key," \
	" c.sign_count, c.uv, c.backup_eligible, c.backed_up, c.aaguid,"   \
	" c.fmt, c.label, c.created, c.last_used, c.state, c.suspicious"   \
	" FROM credentials c JOIN users u ON u.id = c.user_id"

/* Step a bound statement over CRED_COLUMNS into a new list, then release
 * it. */
static int
collect(struct fg_store *s, sqlite3_stmt *st, struct fg_cred **list,
    size_t *n)
{
	struct fg_cred *l = NULL, *nl;
	size_t cnt = 0;
	int r, ret = FG_ERR_STORE;

	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if ((nl = realloc(l, (cnt + 1) * sizeof(*l))) == NULL) {
			ret = FG_ERR_NOMEM;
			goto out;
		}
		l = nl;
		if ((ret = read_cred(st, &l[cnt])) != FG_OK)
			goto out;
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
	release(s, st);
	return ret;
}

int
fg_store_creds(struct fg_store *s, int64_t user_id, bool active_only,
    struct fg_cred **list, size_t *n)
{
	sqlite3_stmt *st = NULL;

	*list = NULL;
	*n = 0;
	if (prepare(s,
		"SELECT " CRED_COLUMNS " WHERE c.user_id = ?1"
		" AND (?2 = 0 OR c.state = 'active') ORDER BY c.id",
		&st) != FG_OK)
		return FG_ERR_STORE;
	sqlite3_bind_int64(st, 1, user_id);
	sqlite3_bind_int(st, 2, active_only);
	return collect(s, st, list, n);
}

int
fg_store_creds_page(struct fg_store *s, int64_t user_id, int64_t after,
    int limit, struct fg_cred **list, size_t *n)
{
	sqlite3_stmt *st = NULL;

	*list = NULL;
	*n = 0;
	if (limit < 1)
		return FG_ERR_INVALID;
	/* two statements: "?1 = 0 OR user_id = ?1" would scan the table */
	if (prepare(s,
		user_id != 0 ?
		    "SELECT " CRED_COLUMNS " WHERE c.user_id = ?1"
		    " AND c.id > ?2 ORDER BY c.id LIMIT ?3" :
		    "SELECT " CRED_COLUMNS " WHERE ?1 = 0"
		    " AND c.id > ?2 ORDER BY c.id LIMIT ?3",
		&st) != FG_OK)
		return FG_ERR_STORE;
	sqlite3_bind_int64(st, 1, user_id);
	sqlite3_bind_int64(st, 2, after);
	sqlite3_bind_int(st, 3, limit);
	return collect(s, st, list, n);
}

int
fg_store_cred_get(struct fg_store *s, int64_t user_id, const uint8_t *cred_id,
    size_t len, struct fg_cred *out)
{
	sqlite3_stmt *st = NULL;
	int r, ret = FG_ERR_STORE;

	memset(out, 0, sizeof(*out));
	if (prepare(s,
		"SELECT " CRED_COLUMNS
		" WHERE c.user_id = ? AND c.credential_id = ?",
		&st) != FG_OK)
		return FG_ERR_STORE;
	sqlite3_bind_int64(st, 1, user_id);
	sqlite3_bind_blob(st, 2, cred_id, (int)len, SQLITE_TRANSIENT);
	if ((r = sqlite3_step(st)) == SQLITE_ROW)
		ret = read_cred(st, out);
	else if (r == SQLITE_DONE)
		ret = FG_ERR_NOTFOUND;
	else
		db_error(s, "credential");
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

int
fg_store_cred_add(struct fg_store *s, const char *user,
    const uint8_t handle[32], const struct fg_cred *c,
    const struct fg_audit *a)
{
	sqlite3_stmt *st = NULL;
	int ret = FG_ERR_STORE;

	/* an enrolment is durable: fsynced before we answer */
	if (exec(s, "PRAGMA synchronous = FULL") != FG_OK)
		return FG_ERR_STORE;
	if (exec(s, "BEGIN IMMEDIATE") != FG_OK) {
		exec(s, "PRAGMA synchronous = NORMAL");
		return FG_ERR_STORE;
	}
	if (prepare(s,
		"INSERT INTO users (name, handle, created) VALUES (?, ?, ?)"
		" ON CONFLICT (name) DO NOTHING",
		&st) != FG_OK)
		goto out;
	bind_text(st, 1, user);
	sqlite3_bind_blob(st, 2, handle, 32, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, now_s());
	if (sqlite3_step(st) != SQLITE_DONE) {
		db_error(s, "user");
		goto out;
	}
	release(s, st);
	if (prepare(s,
		"INSERT INTO credentials (user_id, credential_id, alg,"
		" public_key, sign_count, uv, backup_eligible, backed_up,"
		" aaguid, fmt, label, created)"
		" SELECT id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM users"
		" WHERE name = ?",
		&st) != FG_OK)
		goto out;
	sqlite3_bind_blob(st, 1, c->cred_id, (int)c->cred_id_len,
	    SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, c->alg);
	sqlite3_bind_blob(st, 3, c->pubkey, (int)c->pubkey_len,
	    SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, c->sign_count);
	sqlite3_bind_int(st, 5, c->uv);
	sqlite3_bind_int(st, 6, c->be);
	sqlite3_bind_int(st, 7, c->bs);
	sqlite3_bind_blob(st, 8, c->aaguid, 16, SQLITE_TRANSIENT);
	bind_text(st, 9, c->fmt);
	bind_text(st, 10, c->label);
	sqlite3_bind_int64(st, 11, now_s());
	bind_text(st, 12, user);
	if (sqlite3_step(st) != SQLITE_DONE) {
		ret = sqlite3_extended_errcode(s->db) ==
			SQLITE_CONSTRAINT_UNIQUE ?
		    FG_ERR_EXISTS :
		    db_error(s, "credential");
		goto out;
	}
	if (audit_insert(s, a) != FG_OK || exec(s, "COMMIT") != FG_OK)
		goto out;
	release(s, st);
	exec(s, "PRAGMA synchronous = NORMAL");
	return FG_OK;
out:
	release(s, st);
	exec(s, "ROLLBACK");
	exec(s, "PRAGMA synchronous = NORMAL");
	return ret;
}

int
fg_store_cred_used(struct fg_store *s, int64_t id, uint32_t count,
    uint8_t flags, const struct fg_audit *a)
{
	sqlite3_stmt *st = NULL;
	int ret;

	/* the WHERE clause re-checks the counter inside the transaction */
	if (prepare(s,
		"UPDATE credentials SET sign_count = ?, last_used = ?,"
		" backed_up = ? WHERE id = ? AND state = 'active'"
		" AND suspicious = 0"
		" AND (sign_count < ?1 OR (?1 = 0 AND sign_count = 0))",
		&st) != FG_OK)
		return FG_ERR_STORE;
	sqlite3_bind_int64(st, 1, count);
	sqlite3_bind_int64(st, 2, now_s());
	sqlite3_bind_int(st, 3, (flags & FG_AD_BS) != 0);
	sqlite3_bind_int64(st, 4, id);
	ret = change(s, st, true, a, false);
	release(s, st);
	return ret;
}

int
fg_store_cred_mark_suspicious(struct fg_store *s, int64_t id,
    const struct fg_audit *a)
{
	sqlite3_stmt *st = NULL;
	int ret;

	if (prepare(s, "UPDATE credentials SET suspicious = 1 WHERE id = ?",
		&st) != FG_OK)
		return FG_ERR_STORE;
	sqlite3_bind_int64(st, 1, id);
	ret = change(s, st, true, a, true);
	release(s, st);
	return ret;
}

int
fg_store_cred_revoke(struct fg_store *s, int64_t id, const struct fg_audit *a)
{
	sqlite3_stmt *st = NULL;
	int ret;

	if (prepare(s,
		"UPDATE credentials SET state = 'revoked', revoked = ?"
		" WHERE id = ? AND state = 'active'",
		&st) != FG_OK)
		return FG_ERR_STORE;
	sqlite3_bind_int64(st, 1, now_s());
	sqlite3_bind_int64(st, 2, id);
	ret = change(s, st, true, a, true);
	release(s, st);
	return ret;
}

int
fg_store_audit_list(struct fg_store *s, int limit, json_t **out)
{
	sqlite3_stmt *st = NULL;
	json_t *arr;
	int r, i;

	*out = NULL;
	if (prepare(s,
		"SELECT id, ts, event, user, credential, caller_uid,"
		" caller_pid, result, reason, detail FROM audit"
		" ORDER BY id DESC LIMIT ?",
		&st) != FG_OK)
		return FG_ERR_STORE;
	sqlite3_bind_int(st, 1, limit);
	if ((arr = json_array()) == NULL) {
		release(s, st);
		return FG_ERR_NOMEM;
	}
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		static const char *const names[] = { "id", "ts", "event",
			"user", "credential", "caller_uid", "caller_pid",
			"result", "reason", "detail" };
		json_t *row = json_object();
		for (i = 0; i < 10; i++) {
			json_t *v;
			switch (sqlite3_column_type(st, i)) {
			case SQLITE_INTEGER:
				v = json_integer(sqlite3_column_int64(st, i));
				break;
			case SQLITE_NULL:
				v = json_null();
				break;
			default:
				v = json_string((const char *)
					sqlite3_column_text(st, i));
			}
			json_object_set_new(row, names[i], v);
		}
		json_array_insert_new(arr, 0, row);
	}
	release(s, st);
	if (r != SQLITE_DONE) {
		json_decref(arr);
		return db_error(s, "audit");
	}
	*out = arr;
	return FG_OK;
}

int
fg_store_counts(struct fg_store *s, int64_t *users, int64_t *active,
    int64_t *revoked)
{
	sqlite3_stmt *st = NULL;
	int ret = FG_ERR_STORE;

	if (prepare(s,
		"SELECT (SELECT count(*) FROM users),"
		" (SELECT count(*) FROM credentials WHERE state = 'active'),"
		" (SELECT count(*) FROM credentials WHERE state = 'revoked')",
		&st) != FG_OK)
		return FG_ERR_STORE;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*users = sqlite3_column_int64(st, 0);
		*active = sqlite3_column_int64(st, 1);
		*revoked = sqlite3_column_int64(st, 2);
		ret = FG_OK;
	} else
		db_error(s, "counts");
	release(s, st);
	return ret;
}

int
fg_store_lock_get(struct fg_store *s, const char *user, int64_t *locked_at,
    int64_t *failures)
{
	sqlite3_stmt *st = NULL;
	int r, ret = FG_ERR_STORE;

	*locked_at = 0;
	*failures = 0;
	if (prepare(s, "SELECT locked_at, failures FROM lockouts WHERE user = ?",
		&st) != FG_OK)
		return FG_ERR_STORE;
	bind_text(st, 1, user);
	if ((r = sqlite3_step(st)) == SQLITE_ROW) {
		*locked_at = sqlite3_column_int64(st, 0);
		*failures = sqlite3_column_int64(st, 1);
		ret = FG_OK;
	} else if (r == SQLITE_DONE)
		ret = FG_OK;
	else
		db_error(s, "lockout");
	release(s, st);
	return ret;
}

int
fg_store_lock_set(struct fg_store *s, const char *user, int64_t failures,
    const struct fg_audit *a)
{
	sqlite3_stmt *st = NULL;
	int ret;

	if (prepare(s,
		"INSERT INTO lockouts (user, locked_at, failures)"
		" VALUES (?, ?, ?) ON CONFLICT (user) DO UPDATE"
		" SET failures = excluded.failures",
		&st) != FG_OK)
		return FG_ERR_STORE;
	bind_text(st, 1, user);
	sqlite3_bind_int64(st, 2, now_s());
	sqlite3_bind_int64(st, 3, failures);
	ret = change(s, st, false, a, true);
	release(s, st);
	return ret;
}

int
fg_store_lock_clear(struct fg_store *s, const char *user,
    const struct fg_audit *a)
{
	sqlite3_stmt *st = NULL;
	int ret;

	if (prepare(s, "DELETE FROM lockouts WHERE user = ?", &st) != FG_OK)
		return FG_ERR_STORE;
	bind_text(st, 1, user);
	ret = change(s, st, true, a, true);
	release(s, st);
	return ret;
}
