/*
 * The credential store: SQLite (the embedded default) or PostgreSQL (the
 * store several agents share), behind one interface (agent.h) written once
 * over the backends' primitives (store_db.h), with a schema_version table
 * and numbered migrations. Every change runs in one transaction together
 * with its audit record; enrolments, revocations and lockouts durable, so
 * that once acknowledged they survive a crash or a power loss (see
 * change() for logins). The audit table is append-only, enforced by
 * triggers, and a hash chain (auditchain.c) that shows what was done to it
 * behind the triggers' back.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "agent.h"
#include "store_db.h"

/* Prepared statements are kept, keyed by their SQL's address (every SQL
 * string here is a literal): parsing SQL was a third of a login's cost. */
#define STMT_CACHE 80

struct fg_store {
	struct db *db;
	struct {
		const char *sql;
		struct db_stmt *st;
	} cache[STMT_CACHE];
	size_t ncache;
	size_t maxcache; /* STMT_CACHE unless fg_store_set_stmt_cache() */
	unsigned anchor_every; /* 0: no anchors (fg_store_set_anchor_every) */
};

/* The one place a backend's error becomes ours, logged in the backend's
 * words. A broken UNIQUE constraint is no failure of the store: the row is
 * already there (a credential enrolled twice), and the caller tells the
 * user so. */
static int
db_error(struct fg_store *s, const char *what)
{
	if (s->db->ops->errcode(s->db) == FG_ERR_EXISTS)
		return FG_ERR_EXISTS;
	fprintf(stderr, "fido2gated: store: %s: %s\n", what,
	    s->db->ops->errmsg(s->db));
	return FG_ERR_STORE;
}

static int
prepare(struct fg_store *s, const char *sql, struct db_stmt **st)
{
	size_t i;
	int r;

	for (i = 0; i < s->ncache; i++)
		if (s->cache[i].sql == sql) {
			*st = s->cache[i].st;
			return FG_OK;
		}
	if ((r = s->db->ops->prepare(s->db, sql, st)) != FG_OK) {
		*st = NULL;
		return r == FG_ERR_STORE ? db_error(s, "prepare") : r;
	}
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
release(struct fg_store *s, struct db_stmt *st)
{
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < s->ncache; i++)
		if (s->cache[i].st == st) {
			db_reset(st);
			s->db->ops->clear_bindings(st);
			return;
		}
	s->db->ops->finalize(st);
}

/* One statement without parameters (a literal), or several (migrations). */
static int
exec(struct fg_store *s, const char *sql)
{
	struct db_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	if (strchr(sql, ';') != NULL) {
		ret = s->db->ops->exec(s->db, sql);
		goto out;
	}
	if ((r = prepare(s, sql, &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	while ((r = db_step(st)) == DB_ROW)
		;
	if (r != DB_DONE) {
		ret = db_error(s, sql);
		goto out;
	}
	ret = FG_OK;
out:
	release(s, st);
	return ret;
}

/* A write transaction, under the store's one writer lock. */
static int
begin(struct fg_store *s)
{
	if (s->db->ops->begin(s->db) != FG_OK)
		return db_error(s, "begin");
	return FG_OK;
}

/* Ends a transaction that failed, unless the backend already has (SQLite
 * after a full disk, PostgreSQL after a lost connection). */
static void
rollback(struct fg_store *s)
{
	if (s->db->ops->in_transaction(s->db))
		exec(s, "ROLLBACK");
}

static void
durable(struct fg_store *s, bool on)
{
	s->db->ops->durable(s->db, on);
}

/* The columns of the audit record st stands on, for the chain. */
static int
stmt_cols(struct db_stmt *st, struct fg_audit_col *cols, size_t *n)
{
	int i, count = db_column_count(st);

	if (count < 0 || (size_t)count > FG_AUDIT_COLS_MAX)
		return FG_ERR_STORE;
	for (i = 0; i < count; i++) {
		struct fg_audit_col *c = &cols[i];

		memset(c, 0, sizeof(*c));
		c->name = db_column_name(st, i);
		switch (db_column_type(st, i)) {
		case DB_INTEGER:
			c->type = 'i';
			c->i = db_column_int64(st, i);
			break;
		case DB_FLOAT:
			c->type = 'r';
			c->r = db_column_double(st, i);
			break;
		case DB_TEXT:
			c->type = 't';
			c->p = db_column_text(st, i);
			c->n = (size_t)db_column_bytes(st, i);
			break;
		case DB_BLOB:
			c->type = 'b';
			c->p = db_column_blob(st, i);
			c->n = (size_t)db_column_bytes(st, i);
			break;
		}
	}
	*n = (size_t)count;
	return FG_OK;
}

static int
hash_row(struct db_stmt *st, char hash[FG_AUDIT_HASH_HEX])
{
	struct fg_audit_col cols[FG_AUDIT_COLS_MAX];
	size_t n = 0;
	int r;

	if ((r = stmt_cols(st, cols, &n)) != FG_OK)
		return r;
	return fg_audit_hash_cols(cols, n, hash);
}

/* The record id, just written or chained with its prev: hashed as
 * verification will read it, and sealed with its hash. */
static int
seal(struct fg_store *s, int64_t id, char hash[FG_AUDIT_HASH_HEX])
{
	struct db_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s, "SELECT * FROM audit WHERE id = ?", &st)) !=
	    FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_int64(st, 1, id);
	if (db_step(st) != DB_ROW) {
		ret = db_error(s, "audit");
		goto out;
	}
	if ((r = hash_row(st, hash)) != FG_OK) {
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
	db_bind_text(st, 1, hash);
	db_bind_int64(st, 2, id);
	if (db_step(st) != DB_DONE) {
		ret = db_error(s, "audit");
		goto out;
	}
	if (db_changes(s->db) != 1) {
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
	struct db_stmt *next = NULL, *link = NULL;
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
		db_bind_int64(next, 1, id);
		if ((r = db_step(next)) == DB_DONE)
			break;
		if (r != DB_ROW) {
			ret = db_error(s, "audit chain");
			goto out;
		}
		id = db_column_int64(next, 0);
		db_reset(next);
		db_bind_text(link, 1, prev);
		db_bind_int64(link, 2, id);
		if (db_step(link) != DB_DONE) {
			ret = db_error(s, "audit chain");
			goto out;
		}
		db_reset(link);
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

/* max(version) of schema_version: 0 for none. */
static int
schema_version(struct fg_store *s, int *version)
{
	struct db_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s, "SELECT max(version) FROM schema_version", &st)) !=
	    FG_OK) {
		ret = r;
		goto out;
	}
	if (db_step(st) != DB_ROW) {
		ret = db_error(s, "schema_version");
		goto out;
	}
	*version = db_column_int(st, 0);
	ret = FG_OK;
out:
	release(s, st);
	return ret;
}

/* The migrations the store lacks, in the caller's write transaction. */
static int
migrate_steps(struct fg_store *s, char *err, size_t errlen)
{
	struct db_stmt *st = NULL;
	size_t k;
	int version, i, r, ret = FG_ERR_INTERNAL;

	if ((r = exec(s,
		 "CREATE TABLE IF NOT EXISTS schema_version ("
		 "version INTEGER NOT NULL)")) != FG_OK ||
	    (r = schema_version(s, &version)) != FG_OK) {
		ret = r;
		goto out;
	}
	if (version > (int)s->db->ops->n_migrations) {
		snprintf(err, errlen,
		    "the store has schema version %d; this agent knows %d",
		    version, (int)s->db->ops->n_migrations);
		ret = FG_ERR_STORE;
		goto out;
	}
	for (i = version; i < (int)s->db->ops->n_migrations; i++) {
		if ((r = exec(s, s->db->ops->migrations[i])) != FG_OK) {
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
		db_bind_int64(st, 1, i + 1);
		if (db_step(st) != DB_DONE) {
			ret = db_error(s, "schema_version");
			goto out;
		}
		release(s, st);
		st = NULL;
	}
	ret = FG_OK;
out:
	/* the backend's message first: the ROLLBACK replaces it */
	if (ret != FG_OK && err[0] == '\0')
		snprintf(err, errlen, "migration failed: %s",
		    s->db->ops->errmsg(s->db));
	release(s, st);
	return ret;
}

static int
migrate(struct fg_store *s, char *err, size_t errlen)
{
	int r, ret = FG_ERR_INTERNAL;

	if ((r = begin(s)) != FG_OK ||
	    (r = migrate_steps(s, err, errlen)) != FG_OK ||
	    (r = exec(s, "COMMIT")) != FG_OK) {
		ret = r;
		goto out;
	}
	ret = FG_OK;
out:
	if (ret != FG_OK && err[0] == '\0')
		snprintf(err, errlen, "migration failed: %s",
		    s->db->ops->errmsg(s->db));
	if (ret != FG_OK)
		rollback(s);
	return ret;
}

/*
 * where: sqlite:PATH, postgresql:CONNINFO (a libpq connection string,
 * several hosts allowed), or a bare path (SQLite, as before there was a
 * choice).
 */
int
fg_store_open(const char *where, struct fg_store **out, char *err,
    size_t errlen)
{
	return fg_store_open_with(where, NULL, out, err, errlen);
}

/* The store at where as it is: no migration (fg_store_copy's source is
 * only read, and its target migrated in the copy's transaction). */
static int
open_raw(const char *where, const char *passfile, struct fg_store **out,
    char *err, size_t errlen)
{
	const struct db_ops *ops = &fg_db_sqlite;
	struct fg_store *s = NULL;
	int r, ret = FG_ERR_INTERNAL;

	*out = NULL;
	err[0] = '\0';
	if (strncmp(where, "sqlite:", 7) == 0) {
		where += 7;
	} else if (strncmp(where, "postgresql:", 11) == 0) {
		ops = &fg_db_pg;
		where += 11;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		ret = FG_ERR_NOMEM;
		goto out;
	}
	s->maxcache = STMT_CACHE;
	if ((r = ops->open(where, passfile, &s->db, err, errlen)) != FG_OK) {
		ret = r;
		goto out;
	}
	*out = s;
	s = NULL;
	ret = FG_OK;
out:
	fg_store_close(&s);
	return ret;
}

int
fg_store_open_with(const char *where, const char *passfile,
    struct fg_store **out, char *err, size_t errlen)
{
	struct fg_store *s = NULL;
	int r, ret = FG_ERR_INTERNAL;

	*out = NULL;
	if ((r = open_raw(where, passfile, &s, err, errlen)) != FG_OK ||
	    (r = migrate(s, err, errlen)) != FG_OK) {
		ret = r;
		goto out;
	}
	*out = s;
	s = NULL;
	ret = FG_OK;
out:
	/* finalizes what migrate() cached, or closing would refuse */
	fg_store_close(&s);
	return ret;
}

void
fg_store_close(struct fg_store **s)
{
	if (s == NULL || *s == NULL)
		return;
	if ((*s)->db != NULL) {
		while ((*s)->ncache > 0)
			(*s)->db->ops->finalize(
			    (*s)->cache[--(*s)->ncache].st);
		(*s)->db->ops->close((*s)->db);
	}
	free(*s);
	*s = NULL;
}

const char *
fg_store_backend(const struct fg_store *s)
{
	return s->db->ops->name;
}

int
fg_store_check(struct fg_store *s, char *why, size_t whylen)
{
	struct db_stmt *st = NULL;
	int r, ret = FG_ERR_STORE;

	why[0] = '\0';
	if ((r = prepare(s, "SELECT 1", &st)) == FG_OK &&
	    db_step(st) == DB_ROW)
		ret = FG_OK;
	else
		snprintf(why, whylen, "%s", s->db->ops->errmsg(s->db));
	release(s, st);
	return ret;
}

int
fg_store_set_stmt_cache(struct fg_store *s, size_t max)
{
	if (max > STMT_CACHE)
		return FG_ERR_INVALID;
	/* between two calls no statement is in use: the surplus can go */
	while (s->ncache > max)
		s->db->ops->finalize(s->cache[--s->ncache].st);
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
	struct db_stmt *st = NULL;
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
	if ((r = db_step(st)) == DB_ROW) {
		h = db_column_text(st, 0);
		snprintf(prev, sizeof(prev), "%s",
		    h != NULL ? (const char *)h : "");
	} else if (r != DB_DONE) {
		ret = db_error(s, "audit");
		goto out;
	}
	release(s, st);
	st = NULL;
	if ((r = prepare(s, s->db->ops->audit_insert, &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_int64(st, 1, now_s());
	db_bind_text(st, 2, a->event);
	db_bind_text(st, 3, a->user);
	db_bind_text(st, 4, a->credential);
	db_bind_int64(st, 5, (int64_t)a->caller_uid);
	db_bind_int64(st, 6, (int64_t)a->caller_pid);
	db_bind_text(st, 7, a->result);
	db_bind_text(st, 8, a->reason);
	db_bind_text(st, 9, a->detail);
	db_bind_text(st, 10, prev);
	if (db_step(st) != DB_ROW) {
		ret = db_error(s, "audit");
		goto out;
	}
	*id = db_column_int64(st, 0);
	if (db_step(st) != DB_DONE) {
		ret = db_error(s, "audit");
		goto out;
	}
	if ((r = seal(s, *id, hash)) != FG_OK) {
		ret = r;
		goto out;
	}
	ret = FG_OK;
out:
	release(s, st);
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
	if (s->db->ops->flush(s->db) == FG_OK)
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

	if ((r = begin(s)) != FG_OK ||
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
change(struct fg_store *s, struct db_stmt *const *st, size_t n, bool need_row,
    const struct fg_audit *a, bool durable_commit)
{
	char hash[FG_AUDIT_HASH_HEX];
	int64_t id = 0;
	size_t i;
	int r, ret = FG_ERR_INTERNAL;

	if (durable_commit)
		durable(s, true);
	if ((r = begin(s)) != FG_OK) {
		ret = r;
		goto out;
	}
	for (i = 0; i < n; i++)
		if (db_step(st[i]) != DB_DONE) {
			ret = db_error(s, "change");
			goto out;
		}
	if (need_row && db_changes(s->db) != 1) {
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
	if (durable_commit)
		durable(s, false);
	return ret;
}

int
fg_store_user_find(struct fg_store *s, const char *name, struct fg_user *u)
{
	struct db_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	memset(u, 0, sizeof(*u));
	if ((r = prepare(s, "SELECT id, handle FROM users WHERE name = ?",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_text(st, 1, name);
	if ((r = db_step(st)) == DB_DONE) {
		ret = FG_ERR_NOTFOUND;
		goto out;
	}
	if (r != DB_ROW) {
		ret = db_error(s, "user");
		goto out;
	}
	/* the schema says 32 bytes: anything else is a damaged store */
	if (db_column_bytes(st, 1) != 32) {
		fprintf(stderr,
		    "fido2gated: store: user: a handle of %d bytes\n",
		    db_column_bytes(st, 1));
		ret = FG_ERR_STORE;
		goto out;
	}
	u->id = db_column_int64(st, 0);
	memcpy(u->handle, db_column_blob(st, 1), 32);
	snprintf(u->name, sizeof(u->name), "%s", name);
	ret = FG_OK;
out:
	release(s, st);
	return ret;
}

static char *
col_strdup(struct db_stmt *st, int i)
{
	const unsigned char *t = db_column_text(st, i);

	return strdup(t != NULL ? (const char *)t : "");
}

static int
read_cred(struct db_stmt *st, struct fg_cred *c)
{
	const unsigned char *state;
	const void *p;
	int n, ret = FG_ERR_INTERNAL;

	memset(c, 0, sizeof(*c));
	c->id = db_column_int64(st, 0);
	c->user_id = db_column_int64(st, 1);
	if ((p = db_column_text(st, 2)) != NULL)
		snprintf(c->user, sizeof(c->user), "%s", (const char *)p);
	c->alg = db_column_int(st, 4);
	c->sign_count = (uint32_t)db_column_int64(st, 6);
	c->uv = db_column_int(st, 7) != 0;
	c->be = db_column_int(st, 8) != 0;
	c->bs = db_column_int(st, 9) != 0;
	if ((p = db_column_blob(st, 10)) != NULL &&
	    db_column_bytes(st, 10) == 16)
		memcpy(c->aaguid, p, 16);
	c->created = db_column_int64(st, 13);
	c->last_used = db_column_int64(st, 14);
	/* a state we cannot read is not 'active' */
	state = db_column_text(st, 15);
	c->revoked =
	    state == NULL || strcmp((const char *)state, "active") != 0;
	snprintf(c->state, sizeof(c->state), "%s",
	    state != NULL ? (const char *)state : "unknown");
	c->not_before = db_column_int64(st, 17);
	c->suspicious = db_column_int(st, 16) != 0;
	c->uv_required = db_column_int(st, 19) != 0;
	c->id_pending = db_column_int(st, 20) != 0;
	if (db_column_type(st, 18) != DB_NULL &&
	    (c->rp_id = col_strdup(st, 18)) == NULL) {
		ret = FG_ERR_NOMEM;
		goto out;
	}
	if ((n = db_column_bytes(st, 3)) <= 0 ||
	    (c->cred_id = malloc((size_t)n)) == NULL) {
		ret = FG_ERR_NOMEM;
		goto out;
	}
	memcpy(c->cred_id, db_column_blob(st, 3), (size_t)n);
	c->cred_id_len = (size_t)n;
	if ((n = db_column_bytes(st, 5)) <= 0 ||
	    (c->pubkey = malloc((size_t)n)) == NULL) {
		ret = FG_ERR_NOMEM;
		goto out;
	}
	memcpy(c->pubkey, db_column_blob(st, 5), (size_t)n);
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
collect(struct fg_store *s, struct db_stmt *st, struct fg_cred **list,
    size_t *n)
{
	struct fg_cred *l = NULL, *nl;
	size_t cnt = 0;
	int r, ret = FG_ERR_INTERNAL;

	while ((r = db_step(st)) == DB_ROW) {
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
	if (r != DB_DONE) {
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
	struct db_stmt *st = NULL;
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
	db_bind_int64(st, 1, user_id);
	db_bind_int64(st, 2, active_only);
	ret = collect(s, st, list, n);
out:
	release(s, st);
	return ret;
}

int
fg_store_creds_page(struct fg_store *s, int64_t user_id, int64_t after,
    int limit, struct fg_cred **list, size_t *n)
{
	struct db_stmt *st = NULL;
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
	db_bind_int64(st, 1, user_id);
	db_bind_int64(st, 2, after);
	db_bind_int64(st, 3, limit);
	ret = collect(s, st, list, n);
out:
	release(s, st);
	return ret;
}

int
fg_store_cred_get(struct fg_store *s, int64_t user_id, const uint8_t *cred_id,
    size_t len, struct fg_cred *out)
{
	struct db_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	memset(out, 0, sizeof(*out));
	if ((r = prepare(s,
		 "SELECT " CRED_COLUMNS
		 " WHERE c.user_id = ? AND c.credential_id = ?",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_int64(st, 1, user_id);
	db_bind_blob(st, 2, cred_id, (int)len);
	if ((r = db_step(st)) == DB_DONE) {
		ret = FG_ERR_NOTFOUND;
		goto out;
	}
	if (r != DB_ROW) {
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
    struct db_stmt **st)
{
	int r;

	if ((r = prepare(s,
		 "INSERT INTO requests (id, action, \"user\", credential,"
		 " requested_by, requested_cred, reason, created, expires)"
		 " VALUES (?1, ?2, ?3, (SELECT id FROM credentials"
		 "  WHERE credential_id = ?4), ?5, ?6, ?7, ?8, ?9)",
		 st)) != FG_OK)
		return r;
	db_bind_text(*st, 1, rq->id);
	db_bind_text(*st, 2, rq->action);
	db_bind_text(*st, 3, rq->user);
	if (rq->cred_id != NULL)
		db_bind_blob(*st, 4, rq->cred_id, (int)rq->cred_id_len);
	db_bind_text(*st, 5, rq->requested_by);
	db_bind_text(*st, 6, rq->requested_cred);
	if (rq->reason[0] != '\0')
		db_bind_text(*st, 7, rq->reason);
	db_bind_int64(*st, 8, rq->created);
	db_bind_int64(*st, 9, rq->expires);
	return FG_OK;
}

/* The first-admin bootstrap's rule, as a condition on ?1, the user being
 * enrolled: no admin registered, and no other user known. */
#define FIRST_ADMIN_ONLY                                             \
	" NOT EXISTS (SELECT 1 FROM admins) AND NOT EXISTS"          \
	" (SELECT 1 FROM users WHERE name <> ?1)"

/* The statements that enrol c for user: the user (unless known: then
 * their handle stays), then the credential; with first, only while the
 * first-admin bootstrap's rule holds inside the transaction (else the
 * credential's insert makes no row). */
static int
cred_statements(struct fg_store *s, const char *user,
    const uint8_t handle[32], const struct fg_cred *c, bool first,
    struct db_stmt **st)
{
	int r;

	if ((r = prepare(s,
		 first ? "INSERT INTO users (name, handle, created)"
			 " SELECT ?1, ?2, ?3 WHERE" FIRST_ADMIN_ONLY
			 " ON CONFLICT (name) DO NOTHING" :
			 "INSERT INTO users (name, handle, created)"
			 " VALUES (?1, ?2, ?3) ON CONFLICT (name) DO NOTHING",
		 &st[0])) != FG_OK ||
	    (r = prepare(s,
		 first ? "INSERT INTO credentials (user_id, credential_id,"
			 " alg, public_key, sign_count, uv, backup_eligible,"
			 " backed_up, aaguid, fmt, label, created, state,"
			 " not_before) SELECT id, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
			 " ?9, ?10, ?11, ?12, ?13, ?14 FROM users"
			 " WHERE name = ?1 AND" FIRST_ADMIN_ONLY :
			 "INSERT INTO credentials (user_id, credential_id,"
			 " alg, public_key, sign_count, uv, backup_eligible,"
			 " backed_up, aaguid, fmt, label, created, state,"
			 " not_before) SELECT id, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
			 " ?9, ?10, ?11, ?12, ?13, ?14 FROM users"
			 " WHERE name = ?1",
		 &st[1])) != FG_OK)
		return r;
	db_bind_text(st[0], 1, user);
	db_bind_blob(st[0], 2, handle, 32);
	db_bind_int64(st[0], 3, now_s());
	db_bind_text(st[1], 1, user);
	db_bind_blob(
	    st[1], 2, c->cred_id, (int)c->cred_id_len);
	db_bind_int64(st[1], 3, c->alg);
	db_bind_blob(
	    st[1], 4, c->pubkey, (int)c->pubkey_len);
	db_bind_int64(st[1], 5, c->sign_count);
	db_bind_int64(st[1], 6, c->uv);
	db_bind_int64(st[1], 7, c->be);
	db_bind_int64(st[1], 8, c->bs);
	db_bind_blob(st[1], 9, c->aaguid, 16);
	db_bind_text(st[1], 10, c->fmt);
	db_bind_text(st[1], 11, c->label);
	db_bind_int64(st[1], 12, now_s());
	db_bind_text(st[1], 13, c->state[0] != '\0' ? c->state : "active");
	if (c->not_before != 0)
		db_bind_int64(st[1], 14, c->not_before);
	return FG_OK;
}

static int
cred_add(struct fg_store *s, const char *user, const uint8_t handle[32],
    const struct fg_cred *c, const struct fg_request *rq, bool first,
    const struct fg_audit *a)
{
	struct db_stmt *st[3] = {NULL, NULL, NULL};
	int r, ret = FG_ERR_INTERNAL;

	if ((r = cred_statements(s, user, handle, c, first, st)) != FG_OK ||
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
fg_store_cred_add(struct fg_store *s, const char *user,
    const uint8_t handle[32], const struct fg_cred *c,
    const struct fg_request *rq, const struct fg_audit *a)
{
	return cred_add(s, user, handle, c, rq, false, a);
}

/*
 * The first-admin bootstrap's enrolment: the agent checked its rule when
 * the enrolment began and when it finished, but agents sharing one
 * database answer at once; inside the transaction, under the writer's
 * lock, the rule is the database's to decide.
 */
int
fg_store_cred_add_first(struct fg_store *s, const char *user,
    const uint8_t handle[32], const struct fg_cred *c,
    const struct fg_audit *a)
{
	return cred_add(s, user, handle, c, NULL, true, a);
}

int
fg_store_cred_known(struct fg_store *s, const uint8_t *cred_id, size_t len)
{
	struct db_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s, "SELECT 1 FROM credentials WHERE credential_id = ?",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_blob(st, 1, cred_id, (int)len);
	if ((r = db_step(st)) == DB_DONE)
		ret = FG_ERR_NOTFOUND;
	else if (r == DB_ROW)
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
	struct db_stmt *st[2] = { NULL, NULL };
	struct {
		int64_t id;
		char hash[FG_AUDIT_HASH_HEX];
	} *chained;
	static const uint8_t zero_aaguid[16];
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
		 " SELECT id, ?, ?, ?, 0, 0, ?, ?, ?, ?, ?, ?, ?"
		 " FROM users WHERE name = ?",
		 &st[1])) != FG_OK ||
	    (durable(s, true), r = begin(s)) != FG_OK) {
		ret = r;
		goto out;
	}
	for (i = 0; i < n; i++) {
		const struct fg_cred *c = &creds[i];

		db_reset(st[0]);
		db_reset(st[1]);
		db_bind_text(st[0], 1, c->user);
		db_bind_blob(st[0], 2, handles[i], 32);
		db_bind_int64(st[0], 3, now_s());
		db_bind_blob(st[1], 1, c->cred_id, (int)c->cred_id_len);
		db_bind_int64(st[1], 2, c->alg);
		db_bind_blob(st[1], 3, c->pubkey, (int)c->pubkey_len);
		db_bind_blob(st[1], 4, zero_aaguid, sizeof(zero_aaguid));
		db_bind_text(st[1], 5, c->fmt);
		db_bind_text(st[1], 6, c->label);
		db_bind_int64(st[1], 7, now_s());
		db_bind_text(st[1], 8, c->rp_id);
		db_bind_int64(st[1], 9, c->uv_required);
		db_bind_int64(st[1], 10, c->id_pending);
		db_bind_text(st[1], 11, c->user);
		if (db_step(st[0]) != DB_DONE ||
		    db_step(st[1]) != DB_DONE) {
			ret = db_error(s, "import");
			goto out;
		}
		if (db_changes(s->db) != 1) {
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
	durable(s, false);
	release(s, st[0]);
	release(s, st[1]);
	free(chained);
	return ret;
}

int
fg_store_cred_used(struct fg_store *s, int64_t id, uint32_t count,
    uint8_t flags, const struct fg_audit *a)
{
	struct db_stmt *st[2] = {NULL, NULL};
	int r, ret = FG_ERR_INTERNAL;

	/* the user's failed attempts end with a login; the WHERE clause
	 * re-checks the counter inside the transaction */
	if ((r = prepare(s,
		 "DELETE FROM failures WHERE \"user\" = (SELECT u.name"
		 " FROM users u JOIN credentials c ON c.user_id = u.id"
		 " WHERE c.id = ?)",
		 &st[0])) != FG_OK ||
	    (r = prepare(s,
		 "UPDATE credentials SET sign_count = ?, last_used = ?,"
		 " backed_up = ? WHERE id = ? AND state = 'active'"
		 " AND suspicious = 0"
		 " AND (sign_count < ?1 OR (?1 = 0 AND sign_count = 0))",
		 &st[1])) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_int64(st[0], 1, id);
	db_bind_int64(st[1], 1, count);
	db_bind_int64(st[1], 2, now_s());
	db_bind_int64(st[1], 3, (flags & FG_AD_BS) != 0);
	db_bind_int64(st[1], 4, id);
	ret = change(s, st, 2, true, a, false);
out:
	release(s, st[0]);
	release(s, st[1]);
	return ret;
}

/* The time that means the same at every agent on the store (the
 * monotonic clock is each host's own, since its boot): expiries and the
 * failed attempts' window. */
static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One statement (no transaction of its own); *changed the rows. */
static int
plain_step(struct fg_store *s, struct db_stmt *st, int64_t *changed)
{
	if (db_step(st) != DB_DONE)
		return db_error(s, "change");
	if (changed != NULL)
		*changed = db_changes(s->db);
	return FG_OK;
}

/*
 * One more failed attempt of user, now (wall_ms()): counted in the store,
 * so that every agent on it counts every attempt (a guesser spreading
 * tries over several agents gains nothing); a count whose last failure is
 * more than window_ms old starts again. *n: the count with this one. One
 * statement, atomic on its own: no transaction, no writer's lock.
 */
int
fg_store_failure_add(struct fg_store *s, const char *user, int64_t window_ms,
    int64_t *n)
{
	struct db_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	*n = 0;
	if ((r = prepare(s,
		 "INSERT INTO failures (\"user\", n, last_fail)"
		 " VALUES (?1, 1, ?2) ON CONFLICT (\"user\") DO UPDATE"
		 " SET n = CASE WHEN ?2 - failures.last_fail > ?3 THEN 1"
		 " ELSE failures.n + 1 END, last_fail = ?2 RETURNING n",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_text(st, 1, user);
	db_bind_int64(st, 2, wall_ms());
	db_bind_int64(st, 3, window_ms);
	if (db_step(st) != DB_ROW) {
		ret = db_error(s, "failures");
		goto out;
	}
	*n = db_column_int64(st, 0);
	ret = plain_step(s, st, NULL);
out:
	release(s, st);
	return ret;
}

/* The counts past their window: one row per name ever tried would
 * otherwise stay. */
int
fg_store_failures_sweep(struct fg_store *s, int64_t window_ms)
{
	struct db_stmt *st = NULL;
	int r;

	if ((r = prepare(s, "DELETE FROM failures WHERE last_fail < ?",
		 &st)) == FG_OK) {
		db_bind_int64(st, 1, wall_ms() - window_ms);
		r = plain_step(s, st, NULL);
	}
	release(s, st);
	return r;
}

/* The user's failed attempts forgotten (an admin's unlock). */
int
fg_store_failures_clear(struct fg_store *s, const char *user)
{
	struct db_stmt *st = NULL;
	int r;

	if ((r = prepare(s, "DELETE FROM failures WHERE \"user\" = ?",
		 &st)) == FG_OK) {
		db_bind_text(st, 1, user);
		r = plain_step(s, st, NULL);
	}
	release(s, st);
	return r;
}

int
fg_store_cred_bind(struct fg_store *s, int64_t id, const uint8_t *cred_id,
    size_t len, uint32_t count, uint8_t flags, const struct fg_audit *a)
{
	struct db_stmt *st = NULL;
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
	db_bind_blob(st, 1, cred_id, (int)len);
	db_bind_int64(st, 2, count);
	db_bind_int64(st, 3, now_s());
	db_bind_int64(st, 4, (flags & FG_AD_BS) != 0);
	db_bind_int64(st, 5, id);
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
	struct db_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s,
		 "UPDATE credentials SET suspicious = 1 WHERE id = ?", &st)) !=
	    FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_int64(st, 1, id);
	ret = change(s, &st, 1, true, a, true);
out:
	release(s, st);
	return ret;
}

int
fg_store_cred_revoke(struct fg_store *s, int64_t id, const struct fg_audit *a)
{
	struct db_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s,
		 "UPDATE credentials SET state = 'revoked', revoked = ?"
		 " WHERE id = ? AND state = 'active'",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_int64(st, 1, now_s());
	db_bind_int64(st, 2, id);
	ret = change(s, &st, 1, true, a, true);
out:
	release(s, st);
	return ret;
}

/* A value of a row, as JSON. A text that is not UTF-8 (json_string()
 * refuses it) is NULL: the caller leaves that field out. */
static json_t *
column_json(struct db_stmt *st, int i)
{
	switch (db_column_type(st, i)) {
	case DB_INTEGER:
		return json_integer(db_column_int64(st, i));
	case DB_NULL:
		return json_null();
	default:
		return json_string((const char *)db_column_text(st, i));
	}
}

int
fg_store_audit_list(struct fg_store *s, const char *user, int64_t since,
    int limit, json_t **out)
{
	struct db_stmt *st = NULL;
	json_t *arr = NULL, *row;
	int i, r, ret = FG_ERR_INTERNAL;

	*out = NULL;
	/* every column, those of later migrations too; two statements, as
	 * "?1 IS NULL OR user = ?1" would not use the index on user */
	if ((r = prepare(s,
		 user != NULL ? "SELECT * FROM audit WHERE \"user\" = ?1"
				" AND ts >= ?2 ORDER BY id DESC LIMIT ?3"
			      : "SELECT * FROM audit WHERE ?1 IS NULL"
				" AND ts >= ?2 ORDER BY id DESC LIMIT ?3",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_text(st, 1, user);
	db_bind_int64(st, 2, since);
	db_bind_int64(st, 3, limit);
	if ((arr = json_array()) == NULL) {
		ret = FG_ERR_NOMEM;
		goto out;
	}
	while ((r = db_step(st)) == DB_ROW) {
		/* the newest first from SQLite, the oldest first to callers */
		if ((row = json_object()) == NULL ||
		    json_array_insert_new(arr, 0, row) != 0) {
			ret = FG_ERR_NOMEM;
			goto out;
		}
		for (i = 0; i < db_column_count(st); i++)
			json_object_set_new(row, db_column_name(st, i),
			    column_json(st, i));
	}
	if (r != DB_DONE) {
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

/* fg_audit_verify_walk's records, from the store's statement. */
static int
walk_next(void *ctx, struct fg_audit_col *cols, size_t *n)
{
	struct db_stmt *st = ctx;
	int r = db_step(st);

	if (r == DB_DONE)
		return 0;
	if (r != DB_ROW)
		return FG_ERR_STORE;
	return stmt_cols(st, cols, n) == FG_OK ? 1 : FG_ERR_STORE;
}

int
fg_store_audit_verify(struct fg_store *s, const struct fg_anchor *from,
    size_t max, const struct fg_anchor *anchors, size_t n_anchors,
    json_t **out)
{
	struct db_stmt *st = NULL;
	int r;

	*out = NULL;
	if ((r = prepare(s, "SELECT * FROM audit WHERE id > ? ORDER BY id",
		 &st)) != FG_OK)
		return r;
	/* from the lowest id there is: a record planted below 1 is found */
	db_bind_int64(st, 1, from != NULL ? from->id : INT64_MIN);
	r = fg_audit_verify_walk(walk_next, st, from, max, anchors, n_anchors,
	    out);
	if (r == FG_ERR_STORE)
		db_error(s, "audit");
	else if (r != FG_OK)
		fprintf(stderr, "fido2gated: store: cannot check the audit "
				"chain: %s\n",
		    fg_strerror(r));
	release(s, st);
	return r;
}

/*
 * audit --verify --db: the chain of the store at where, checked without
 * the agent. Opened as it is (never migrated: a check writes nothing) and
 * walked whole in one read-only snapshot, so the agents writing meanwhile
 * are neither waited for nor half seen.
 */
int
fg_store_audit_verify_at(const char *where, const char *passfile,
    const struct fg_anchor *anchors, size_t n_anchors, json_t **out, char *err,
    size_t errlen)
{
	struct fg_store *s = NULL;
	int r, ret = FG_ERR_INTERNAL;

	*out = NULL;
	if ((r = open_raw(where, passfile, &s, err, errlen)) != FG_OK) {
		ret = r;
		goto out;
	}
	if ((r = exec(s, s->db->ops->snapshot)) != FG_OK ||
	    (r = fg_store_audit_verify(s, NULL, 0, anchors, n_anchors, out)) !=
		FG_OK) {
		snprintf(err, errlen, "cannot read the audit log: %s",
		    s->db->ops->errmsg(s->db));
		ret = r;
		goto out;
	}
	ret = FG_OK;
out:
	if (ret != FG_OK && err[0] == '\0')
		snprintf(err, errlen, "%s", fg_strerror(ret));
	if (s != NULL)
		rollback(s);
	fg_store_close(&s);
	return ret;
}

int
fg_store_counts(struct fg_store *s, int64_t *users, int64_t *active,
    int64_t *revoked)
{
	struct db_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s,
		 "SELECT (SELECT count(*) FROM users),"
		 " (SELECT count(*) FROM credentials WHERE state = 'active'),"
		 " (SELECT count(*) FROM credentials WHERE state = 'revoked')",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	if (db_step(st) != DB_ROW) {
		ret = db_error(s, "counts");
		goto out;
	}
	*users = db_column_int64(st, 0);
	*active = db_column_int64(st, 1);
	*revoked = db_column_int64(st, 2);
	ret = FG_OK;
out:
	release(s, st);
	return ret;
}

int
fg_store_lock_get(struct fg_store *s, const char *user, int64_t *locked_at,
    int64_t *failures)
{
	struct db_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	*locked_at = 0;
	*failures = 0;
	if ((r = prepare(s,
		 "SELECT locked_at, failures FROM lockouts WHERE \"user\" = ?",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_text(st, 1, user);
	if ((r = db_step(st)) == DB_ROW) {
		*locked_at = db_column_int64(st, 0);
		*failures = db_column_int64(st, 1);
	} else if (r != DB_DONE) {
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
	struct db_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s,
		 "INSERT INTO lockouts (\"user\", locked_at, failures)"
		 " VALUES (?, ?, ?) ON CONFLICT (\"user\") DO UPDATE"
		 " SET failures = excluded.failures",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_text(st, 1, user);
	db_bind_int64(st, 2, now_s());
	db_bind_int64(st, 3, failures);
	ret = change(s, &st, 1, false, a, true);
out:
	release(s, st);
	return ret;
}

int
fg_store_lock_clear(struct fg_store *s, const char *user,
    const struct fg_audit *a)
{
	struct db_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s, "DELETE FROM lockouts WHERE \"user\" = ?", &st)) !=
	    FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_text(st, 1, user);
	ret = change(s, &st, 1, true, a, true);
out:
	release(s, st);
	return ret;
}

int
fg_store_lock_reason(struct fg_store *s, const char *user, char *reason,
    size_t reasonlen, char *by, size_t bylen)
{
	struct db_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	reason[0] = '\0';
	by[0] = '\0';
	if ((r = prepare(s,
		 "SELECT reason, locked_by FROM lockouts WHERE \"user\" = ?"
		 " AND reason IS NOT NULL",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_text(st, 1, user);
	if ((r = db_step(st)) == DB_ROW) {
		snprintf(reason, reasonlen, "%s",
		    (const char *)db_column_text(st, 0));
		if (db_column_text(st, 1) != NULL)
			snprintf(by, bylen, "%s",
			    (const char *)db_column_text(st, 1));
	} else if (r != DB_DONE) {
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
 * the reason and this lock's time; an unlock that waits for a second admin
 * was asked about the lock before this one, so it ends here too.
 */
int
fg_store_lock_admin(struct fg_store *s, const char *user, const char *reason,
    const char *by, int64_t *revoked, const struct fg_audit *a)
{
	struct db_stmt *st[4] = { NULL, NULL, NULL, NULL };
	int64_t now = now_s();
	int r, ret = FG_ERR_INTERNAL;

	*revoked = 0;
	if ((r = prepare(s,
		 "SELECT count(*) FROM approvals WHERE \"user\" = ?"
		 " AND consumed IS NULL AND revoked IS NULL",
		 &st[2])) != FG_OK ||
	    (r = prepare(s,
		 "INSERT INTO lockouts (\"user\", locked_at, failures, reason,"
		 " locked_by) VALUES (?, ?, 0, ?, ?) ON CONFLICT (\"user\")"
		 " DO UPDATE SET reason = excluded.reason,"
		 " locked_by = excluded.locked_by,"
		 " locked_at = excluded.locked_at",
		 &st[0])) != FG_OK ||
	    (r = prepare(s,
		 "UPDATE approvals SET revoked = ? WHERE \"user\" = ?"
		 " AND consumed IS NULL AND revoked IS NULL",
		 &st[1])) != FG_OK ||
	    (r = prepare(s,
		 "UPDATE requests SET expires = ? WHERE \"user\" = ?"
		 " AND action = 'unlock' AND approved IS NULL"
		 " AND expires > ?",
		 &st[3])) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_text(st[2], 1, user);
	if (db_step(st[2]) != DB_ROW) {
		ret = db_error(s, "lock");
		goto out;
	}
	*revoked = db_column_int64(st[2], 0);
	db_bind_text(st[0], 1, user);
	db_bind_int64(st[0], 2, now);
	db_bind_text(st[0], 3, reason);
	db_bind_text(st[0], 4, by);
	db_bind_int64(st[1], 1, now);
	db_bind_text(st[1], 2, user);
	db_bind_int64(st[3], 1, now);
	db_bind_text(st[3], 2, user);
	db_bind_int64(st[3], 3, now);
	/* the lock, the approvals, the unlock requests: one transaction */
	{
		struct db_stmt *const run[3] = { st[0], st[1], st[3] };
		ret = change(s, run, 3, false, a, true);
	}
out:
	release(s, st[0]);
	release(s, st[1]);
	release(s, st[2]);
	release(s, st[3]);
	return ret;
}

int
fg_store_locked_count(struct fg_store *s, int64_t *n)
{
	struct db_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	*n = 0;
	if ((r = prepare(s, "SELECT count(*) FROM lockouts", &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	if (db_step(st) != DB_ROW) {
		ret = db_error(s, "lockouts");
		goto out;
	}
	*n = db_column_int64(st, 0);
	ret = FG_OK;
out:
	release(s, st);
	return ret;
}

int
fg_store_sessions(struct fg_store *s, const char *user, int limit,
    json_t **out)
{
	struct db_stmt *st = NULL;
	json_t *arr = NULL;
	int r, ret = FG_ERR_INTERNAL;

	*out = NULL;
	if ((r = prepare(s,
		 "SELECT sid, client FROM approvals WHERE \"user\" = ?"
		 " ORDER BY id DESC LIMIT ?",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_text(st, 1, user);
	db_bind_int64(st, 2, limit);
	if ((arr = json_array()) == NULL) {
		ret = FG_ERR_NOMEM;
		goto out;
	}
	while ((r = db_step(st)) == DB_ROW)
		if (json_array_append_new(arr, json_pack("{s:s,s:s}", "sid",
			(const char *)db_column_text(st, 0), "client",
			(const char *)db_column_text(st, 1))) != 0) {
			ret = FG_ERR_NOMEM;
			goto out;
		}
	if (r != DB_DONE) {
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
	struct db_stmt *st[2] = { NULL, NULL };
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
	db_bind_text(st[0], 1, name);
	db_bind_blob(st[0], 2, fresh, (int)len);
	if (db_step(st[0]) != DB_DONE) {
		ret = db_error(s, "secret");
		goto out;
	}
	db_bind_text(st[1], 1, name);
	if (db_step(st[1]) != DB_ROW ||
	    (size_t)db_column_bytes(st[1], 0) != len) {
		ret = db_error(s, "secret");
		goto out;
	}
	memcpy(out, db_column_blob(st[1], 0), len);
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
	struct db_stmt *st[2] = { NULL, NULL };
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
	if (db_step(st[0]) != DB_ROW) {
		ret = db_error(s, "shape");
		goto out;
	}
	top = db_column_int64(st[0], 0);
	db_bind_int64(st[1], 1, top > 0 ? (int64_t)(pick % (uint64_t)top) + 1 : 1);
	if ((r = db_step(st[1])) == DB_DONE) {
		ret = FG_OK; /* nobody enrolled, or only past the pick */
		goto out;
	}
	if (r != DB_ROW) {
		ret = db_error(s, "shape");
		goto out;
	}
	user_id = db_column_int64(st[1], 0);
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
	db_bind_int64(st[1], 1, user_id);
	while ((r = db_step(st[1])) == DB_ROW && *n < max)
		lens[(*n)++] = (size_t)db_column_int64(st[1], 0);
	if (r != DB_ROW && r != DB_DONE) {
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
	struct db_stmt *st = NULL;
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
	db_bind_int64(st, 1, since);
	if ((arr = json_array()) == NULL) {
		ret = FG_ERR_NOMEM;
		goto out;
	}
	while ((r = db_step(st)) == DB_ROW) {
		json_error_t jerr;
		json_t *jwk = json_loads(
		    (const char *)db_column_text(st, 2), 0, &jerr);
		row = json_pack("{s:s?,s:s?,s:o*,s:I,s:I}", "kid",
		    (const char *)db_column_text(st, 0), "alg",
		    (const char *)db_column_text(st, 1), "jwk", jwk,
		    "created", (json_int_t)db_column_int64(st, 3),
		    "retired", (json_int_t)db_column_int64(st, 4));
		if (row == NULL || jwk == NULL ||
		    json_array_append_new(arr, row) != 0) {
			json_decref(row);
			ret = FG_ERR_STORE;
			goto out;
		}
	}
	if (r != DB_DONE) {
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
	struct db_stmt *st[2] = { NULL, NULL };
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s,
		 "UPDATE signing_keys SET retired = ? WHERE alg = ?"
		 " AND retired IS NULL AND ? <> 0",
		 &st[0])) != FG_OK ||
	    (r = prepare(s,
		 "INSERT INTO signing_keys (kid, alg, jwk, created)"
		 " VALUES (?, ?, ?, ?)",
		 &st[1])) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_int64(st[0], 1, (int64_t)time(NULL));
	db_bind_text(st[0], 2, alg);
	db_bind_int64(st[0], 3, retire_others);
	db_bind_text(st[1], 1, kid);
	db_bind_text(st[1], 2, alg);
	db_bind_text(st[1], 3, jwk);
	db_bind_int64(st[1], 4, (int64_t)time(NULL));
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
	struct db_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s,
		 "INSERT INTO approvals (\"user\", sid, client, created)"
		 " VALUES (?, ?, ?, ?)",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_text(st, 1, user);
	db_bind_text(st, 2, sid);
	db_bind_text(st, 3, client);
	db_bind_int64(st, 4, (int64_t)time(NULL));
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
	struct db_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s,
		 "UPDATE approvals SET revoked = ? WHERE sid = ?"
		 " AND revoked IS NULL",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_int64(st, 1, (int64_t)time(NULL));
	db_bind_text(st, 2, sid);
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
	struct db_stmt *st = NULL;
	int64_t now = (int64_t)time(NULL), id = 0;
	char hash[FG_AUDIT_HASH_HEX];
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s,
		 "UPDATE approvals SET consumed = ?1 WHERE id = ("
		 " SELECT id FROM approvals WHERE \"user\" = ?2"
		 " AND (?4 IS NULL OR client = ?4)"
		 " AND consumed IS NULL AND revoked IS NULL"
		 " AND created > ?1 - ?3 ORDER BY created DESC, id DESC"
		 " LIMIT 1) AND consumed IS NULL AND revoked IS NULL"
		 " RETURNING sid",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_int64(st, 1, now);
	db_bind_text(st, 2, user);
	db_bind_int64(st, 3, window);
	db_bind_text(st, 4, client);
	if ((r = begin(s)) != FG_OK) {
		ret = r;
		goto out;
	}
	if ((r = db_step(st)) == DB_ROW) {
		snprintf(sid, sidlen, "%s",
		    (const char *)db_column_text(st, 0));
		r = db_step(st);
	} else if (r == DB_DONE) {
		ret = FG_ERR_NOTFOUND;
		goto out;
	}
	if (r != DB_DONE) {
		ret = db_error(s, "approval");
		goto out;
	}
	db_reset(st);
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
	struct db_stmt *st = NULL;
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
	while ((r = db_step(st)) == DB_ROW)
		if (json_array_append_new(arr,
			json_pack("{s:s,s:I,s:s}", "name",
			    (const char *)db_column_text(st, 0), "created",
			    (json_int_t)db_column_int64(st, 1),
			    "added_by",
			    (const char *)db_column_text(st, 2))) != 0) {
			ret = FG_ERR_NOMEM;
			goto out;
		}
	if (r != DB_DONE) {
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
	struct db_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	*all = 0;
	*is_admin = false;
	if ((r = prepare(s,
		 "SELECT count(*), coalesce(sum(CASE WHEN name = ? THEN 1"
		 " ELSE 0 END), 0) FROM admins",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_text(st, 1, name != NULL ? name : "");
	if (db_step(st) != DB_ROW) {
		ret = db_error(s, "admins");
		goto out;
	}
	*all = db_column_int64(st, 0);
	*is_admin = db_column_int64(st, 1) != 0;
	ret = FG_OK;
out:
	release(s, st);
	return ret;
}

/* The statements an approved (or single-admin) action runs, in *st. */
static int
action_statement(struct fg_store *s, const struct fg_request *rq,
    const char *by, int64_t not_before, struct db_stmt **st)
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
		db_bind_int64(*st, 1, rq->credential);
		if (not_before != 0)
			db_bind_int64(*st, 2, not_before);
	} else if (strcmp(rq->action, "unlock") == 0) {
		/* never a lock made after the request */
		if ((r = prepare(s, "DELETE FROM lockouts WHERE \"user\" = ?"
				    " AND locked_at <= ?",
			 st)) != FG_OK)
			return r;
		db_bind_text(*st, 1, rq->user);
		db_bind_int64(*st, 2, rq->created);
	} else if (strcmp(rq->action, "admin.add") == 0) {
		if ((r = prepare(s,
			 "INSERT INTO admins (name, created, added_by)"
			 " VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
			 st)) != FG_OK)
			return r;
		db_bind_text(*st, 1, rq->user);
		db_bind_int64(*st, 2, now_s());
		db_bind_text(*st, 3, by);
	} else if (strcmp(rq->action, "admin.remove") == 0) {
		if ((r = prepare(s, "DELETE FROM admins WHERE name = ?", st)) !=
		    FG_OK)
			return r;
		db_bind_text(*st, 1, rq->user);
	}
	return r;
}

int
fg_store_act(struct fg_store *s, const struct fg_request *rq, const char *by,
    const struct fg_audit *a)
{
	struct db_stmt *st = NULL;
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
	struct db_stmt *st = NULL;
	int r;

	if ((r = request_insert(s, rq, &st)) == FG_OK)
		r = change(s, &st, 1, true, a, true);
	release(s, st);
	return r;
}

#define REQUEST_COLUMNS \
	"id, action, \"user\", coalesce(credential, 0), requested_by," \
	" requested_cred, coalesce(reason, ''), created, expires," \
	" approved_by FROM requests"

static void
read_request(struct db_stmt *st, struct fg_request *rq)
{
	const char *t;

	memset(rq, 0, sizeof(*rq));
#define COPY(field, i)                                                         \
	t = (const char *)db_column_text(st, i);                         \
	snprintf(rq->field, sizeof(rq->field), "%s", t != NULL ? t : "")
	COPY(id, 0);
	COPY(action, 1);
	COPY(user, 2);
	COPY(requested_by, 4);
	COPY(requested_cred, 5);
	COPY(reason, 6);
	COPY(approved_by, 9);
#undef COPY
	rq->credential = db_column_int64(st, 3);
	rq->created = db_column_int64(st, 7);
	rq->expires = db_column_int64(st, 8);
}

int
fg_store_request_get(struct fg_store *s, const char *id,
    struct fg_request *rq)
{
	struct db_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	memset(rq, 0, sizeof(*rq));
	if ((r = prepare(s, "SELECT " REQUEST_COLUMNS " WHERE id = ?", &st)) !=
	    FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_text(st, 1, id);
	if ((r = db_step(st)) == DB_DONE) {
		ret = FG_ERR_NOTFOUND;
		goto out;
	}
	if (r != DB_ROW) {
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
	struct db_stmt *st = NULL;
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
	db_bind_int64(st, 1, now_s());
	while ((r = db_step(st)) == DB_ROW) {
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
	if (r != DB_DONE) {
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
	struct db_stmt *st[2] = { NULL, NULL };
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
	db_bind_text(st[1], 1, rq->id);
	db_bind_text(st[1], 2, by);
	db_bind_text(st[1], 3, by_cred);
	db_bind_int64(st[1], 4, now_s());
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
	struct db_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s,
		 "UPDATE credentials SET state = coalesce(?3, state),"
		 " label = coalesce(?4, label) WHERE id = ?1 AND state = ?2",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_int64(st, 1, id);
	db_bind_text(st, 2, from);
	if (state != NULL)
		db_bind_text(st, 3, state);
	if (label != NULL)
		db_bind_text(st, 4, label);
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
	struct db_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s,
		 "INSERT INTO invitations (token_hash, \"user\", created_by,"
		 " created, expires) VALUES (?, ?, ?, ?, ?)",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_blob(st, 1, hash, 32);
	db_bind_text(st, 2, user);
	db_bind_text(st, 3, by);
	db_bind_int64(st, 4, now_s());
	db_bind_int64(st, 5, expires);
	ret = change(s, &st, 1, true, a, true);
out:
	release(s, st);
	return ret;
}

int
fg_store_invite_get(struct fg_store *s, const uint8_t hash[32],
    struct fg_invitation *inv)
{
	struct db_stmt *st = NULL;
	const char *t;
	int r, ret = FG_ERR_INTERNAL;

	memset(inv, 0, sizeof(*inv));
	if ((r = prepare(s,
		 "SELECT \"user\", created_by, expires, coalesce(used, 0)"
		 " FROM invitations WHERE token_hash = ?",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_blob(st, 1, hash, 32);
	if ((r = db_step(st)) == DB_DONE) {
		ret = FG_ERR_NOTFOUND;
		goto out;
	}
	if (r != DB_ROW) {
		ret = db_error(s, "invitation");
		goto out;
	}
	t = (const char *)db_column_text(st, 0);
	snprintf(inv->user, sizeof(inv->user), "%s", t != NULL ? t : "");
	t = (const char *)db_column_text(st, 1);
	snprintf(inv->created_by, sizeof(inv->created_by), "%s",
	    t != NULL ? t : "");
	inv->expires = db_column_int64(st, 2);
	inv->used = db_column_int64(st, 3);
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
	struct db_stmt *st[4] = {NULL, NULL, NULL, NULL};
	int r, ret = FG_ERR_INTERNAL;

	if ((r = cred_statements(s, rq->user, handle, c, false, st)) !=
		FG_OK ||
	    (r = request_insert(s, rq, &st[2])) != FG_OK ||
	    (r = prepare(s,
		 "UPDATE invitations SET used = ?2 WHERE token_hash = ?1"
		 " AND used IS NULL AND expires > ?2 AND \"user\" = ?3",
		 &st[3])) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_blob(st[3], 1, hash, 32);
	db_bind_int64(st[3], 2, now_s());
	db_bind_text(st[3], 3, rq->user);
	ret = change(s, st, 4, true, a, true);
out:
	release(s, st[0]);
	release(s, st[1]);
	release(s, st[2]);
	release(s, st[3]);
	return ret;
}

/*
 * The browser's logins (oidc.c): transactions, their challenge, codes and
 * access tokens. Nothing here is audited by itself: the records are
 * oidc.c's, of the decisions these rows carry.
 */

/* n statements in one write transaction, without an audit record; with
 * need_row the last must change one row, or nothing is written
 * (FG_ERR_NOTFOUND). */
static int
plain_change(struct fg_store *s, struct db_stmt *const *st, size_t n,
    bool need_row)
{
	size_t i;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = begin(s)) != FG_OK) {
		ret = r;
		goto out;
	}
	for (i = 0; i < n; i++)
		if (db_step(st[i]) != DB_DONE) {
			ret = db_error(s, "change");
			goto out;
		}
	if (need_row && db_changes(s->db) != 1) {
		ret = FG_ERR_NOTFOUND;
		goto out;
	}
	if ((r = exec(s, "COMMIT")) != FG_OK) {
		ret = r;
		goto out;
	}
	ret = FG_OK;
out:
	if (ret != FG_OK)
		rollback(s);
	return ret;
}

/* Column i, a body of text, for the caller to free. */
static int
body_of(struct db_stmt *st, int i, char **body)
{
	const unsigned char *t = db_column_text(st, i);

	if (t == NULL || (*body = strdup((const char *)t)) == NULL)
		return FG_ERR_NOMEM;
	return FG_OK;
}

int
fg_store_tx_add(struct fg_store *s, const uint8_t id[32],
    const uint8_t *state, const char *body, int64_t expires, int64_t cap,
    const char *net, int64_t net_cap, bool *net_full)
{
	struct db_stmt *st = NULL;
	int64_t n = 0, now = wall_ms();
	int r, ret = FG_ERR_INTERNAL;

	*net_full = false;
	/* the caps count the live ones, all in all and from the client's
	 * network: a flood of /authorize is bounded in the store as it was
	 * in memory, and one network cannot take every slot */
	if ((r = prepare(s,
		 "INSERT INTO oidc_tx (id_hash, state_hash, body, expires, net)"
		 " SELECT ?1, ?2, ?3, ?4, ?7 WHERE (SELECT count(*) FROM oidc_tx"
		 " WHERE expires > ?5) < ?6 AND (SELECT count(*) FROM oidc_tx"
		 " WHERE net = ?7 AND expires > ?5) < ?8",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_blob(st, 1, id, 32);
	if (state != NULL)
		db_bind_blob(st, 2, state, 32);
	else
		db_bind_null(st, 2);
	db_bind_text(st, 3, body);
	db_bind_int64(st, 4, expires);
	db_bind_int64(st, 5, now);
	db_bind_int64(st, 6, cap);
	db_bind_text(st, 7, net);
	db_bind_int64(st, 8, net_cap);
	if ((r = plain_step(s, st, &n)) != FG_OK) {
		ret = r;
		goto out;
	}
	if (n == 1) {
		ret = FG_OK;
		goto out;
	}
	/* which cap: the network's, or everyone's */
	release(s, st);
	st = NULL;
	if ((r = prepare(s,
		 "SELECT count(*) FROM oidc_tx WHERE net = ? AND expires > ?",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_text(st, 1, net);
	db_bind_int64(st, 2, now);
	if (db_step(st) != DB_ROW) {
		ret = db_error(s, "transaction");
		goto out;
	}
	*net_full = db_column_int64(st, 0) >= net_cap;
	ret = FG_ERR_LIMIT;
out:
	release(s, st);
	return ret;
}

int
fg_store_tx_get(struct fg_store *s, const uint8_t id[32], char **body,
    int64_t *expires)
{
	struct db_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	*body = NULL;
	if ((r = prepare(s,
		 "SELECT body, expires FROM oidc_tx WHERE id_hash = ?"
		 " AND expires > ?",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_blob(st, 1, id, 32);
	db_bind_int64(st, 2, wall_ms());
	if ((r = db_step(st)) == DB_DONE) {
		ret = FG_ERR_NOTFOUND;
		goto out;
	}
	if (r != DB_ROW) {
		ret = db_error(s, "transaction");
		goto out;
	}
	*expires = db_column_int64(st, 1);
	ret = body_of(st, 0, body);
out:
	release(s, st);
	return ret;
}

int
fg_store_tx_of_state(struct fg_store *s, const uint8_t state[32],
    const uint8_t *rekey, uint8_t id[32], char **body, int64_t *expires)
{
	struct db_stmt *st = NULL;
	bool take = rekey != NULL;
	int r, ret = FG_ERR_INTERNAL;

	*body = NULL;
	/* spent, and given its new key, by the statement that finds it:
	 * one agent gets it */
	if ((r = prepare(s, take ?
		     "UPDATE oidc_tx SET state_hash = NULL, id_hash = ?3"
		     " WHERE state_hash = ?1 AND expires > ?2"
		     " RETURNING id_hash, body, expires" :
		     "SELECT id_hash, body, expires FROM oidc_tx WHERE"
		     " state_hash = ?1 AND expires > ?2",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	if (take)
		db_bind_blob(st, 3, rekey, 32);
	db_bind_blob(st, 1, state, 32);
	db_bind_int64(st, 2, wall_ms());
	if (take && (r = begin(s)) != FG_OK) {
		ret = r;
		goto out;
	}
	if ((r = db_step(st)) == DB_DONE) {
		ret = FG_ERR_NOTFOUND;
		goto out;
	}
	if (r != DB_ROW || db_column_bytes(st, 0) != 32) {
		ret = db_error(s, "transaction");
		goto out;
	}
	memcpy(id, db_column_blob(st, 0), 32);
	*expires = db_column_int64(st, 2);
	if ((ret = body_of(st, 1, body)) != FG_OK)
		goto out;
	while ((r = db_step(st)) == DB_ROW)
		;
	if (r != DB_DONE) {
		ret = db_error(s, "transaction");
		goto out;
	}
	db_reset(st);
	if (take && (r = exec(s, "COMMIT")) != FG_OK) {
		ret = r;
		goto out;
	}
	ret = FG_OK;
out:
	if (ret != FG_OK) {
		free(*body);
		*body = NULL;
		if (take)
			rollback(s);
	}
	release(s, st);
	return ret;
}

int
fg_store_tx_set(struct fg_store *s, const uint8_t id[32], const char *body)
{
	struct db_stmt *st = NULL;
	int64_t n = 0;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s,
		 "UPDATE oidc_tx SET body = ? WHERE id_hash = ?"
		 " AND expires > ?",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_text(st, 1, body);
	db_bind_blob(st, 2, id, 32);
	db_bind_int64(st, 3, wall_ms());
	if ((r = plain_step(s, st, &n)) != FG_OK) {
		ret = r;
		goto out;
	}
	ret = n == 1 ? FG_OK : FG_ERR_NOTFOUND;
out:
	release(s, st);
	return ret;
}

int
fg_store_tx_del(struct fg_store *s, const uint8_t id[32])
{
	struct db_stmt *st[2] = { NULL, NULL };
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s, "DELETE FROM oidc_challenges WHERE tx_hash = ?",
		 &st[0])) != FG_OK ||
	    (r = prepare(s, "DELETE FROM oidc_tx WHERE id_hash = ?",
		 &st[1])) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_blob(st[0], 1, id, 32);
	db_bind_blob(st[1], 1, id, 32);
	ret = plain_change(s, st, 2, false);
out:
	release(s, st[0]);
	release(s, st[1]);
	return ret;
}

int
fg_store_web_chal_set(struct fg_store *s, const uint8_t id[32],
    const uint8_t session[32], const struct fg_web_chal *c, int64_t cap)
{
	struct db_stmt *st[2] = { NULL, NULL };
	int r, ret = FG_ERR_INTERNAL;

	/* one challenge per login at a time: a new begin replaces it; and
	 * cap per user and client network (the transaction's), at all
	 * agents together: a stranger who begins logins for a user's name
	 * fills the slots of their own network only, not the user's */
	if ((r = prepare(s, "DELETE FROM oidc_challenges WHERE tx_hash = ?",
		 &st[0])) != FG_OK ||
	    (r = prepare(s,
		 "INSERT INTO oidc_challenges (session_hash, tx_hash,"
		 " challenge, \"user\", uv, detail, expires)"
		 " SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE (SELECT count(*)"
		 " FROM oidc_challenges c JOIN oidc_tx t"
		 " ON t.id_hash = c.tx_hash WHERE c.\"user\" = ?4"
		 " AND c.expires > ?8 AND t.net = coalesce((SELECT net"
		 " FROM oidc_tx WHERE id_hash = ?2), '')) < ?9",
		 &st[1])) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_blob(st[0], 1, id, 32);
	db_bind_blob(st[1], 1, session, 32);
	db_bind_blob(st[1], 2, id, 32);
	db_bind_blob(st[1], 3, c->challenge, FG_CHALLENGE_LEN);
	db_bind_text(st[1], 4, c->user);
	db_bind_int64(st[1], 5, c->uv);
	db_bind_text(st[1], 6, c->detail);
	db_bind_int64(st[1], 7, c->expires);
	db_bind_int64(st[1], 8, wall_ms());
	db_bind_int64(st[1], 9, cap);
	ret = plain_change(s, st, 2, true);
	if (ret == FG_ERR_NOTFOUND)
		ret = FG_ERR_LIMIT;
out:
	release(s, st[0]);
	release(s, st[1]);
	return ret;
}

/* A challenge row's columns from i on. */
static void
read_web_chal(struct db_stmt *st, int i, struct fg_web_chal *c)
{
	const unsigned char *t;

	memset(c, 0, sizeof(*c));
	if (db_column_bytes(st, i) == FG_CHALLENGE_LEN)
		memcpy(c->challenge, db_column_blob(st, i), FG_CHALLENGE_LEN);
	t = db_column_text(st, i + 1);
	snprintf(c->user, sizeof(c->user), "%s", t != NULL ? (const char *)t : "");
	c->uv = db_column_int64(st, i + 2) != 0;
	t = db_column_text(st, i + 3);
	snprintf(c->detail, sizeof(c->detail), "%s",
	    t != NULL ? (const char *)t : "");
	c->expires = db_column_int64(st, i + 4);
}

int
fg_store_web_chal_take(struct fg_store *s, const uint8_t id[32],
    const uint8_t session[32], struct fg_web_chal *out)
{
	struct db_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	memset(out, 0, sizeof(*out));
	if ((r = prepare(s,
		 "DELETE FROM oidc_challenges WHERE session_hash = ?"
		 " AND tx_hash = ?"
		 " RETURNING challenge, \"user\", uv, detail, expires",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_blob(st, 1, session, 32);
	db_bind_blob(st, 2, id, 32);
	if ((r = begin(s)) != FG_OK) {
		ret = r;
		goto out;
	}
	if ((r = db_step(st)) == DB_DONE) {
		ret = FG_ERR_NOTFOUND;
		goto out;
	}
	if (r != DB_ROW) {
		ret = db_error(s, "challenge");
		goto out;
	}
	read_web_chal(st, 0, out);
	while ((r = db_step(st)) == DB_ROW)
		;
	if (r != DB_DONE) {
		ret = db_error(s, "challenge");
		goto out;
	}
	db_reset(st);
	if ((r = exec(s, "COMMIT")) != FG_OK) {
		ret = r;
		goto out;
	}
	ret = out->expires > wall_ms() ? FG_OK : FG_ERR_TIMEOUT;
out:
	if (ret != FG_OK && ret != FG_ERR_TIMEOUT) {
		rollback(s);
		OPENSSL_cleanse(out, sizeof(*out));
	}
	release(s, st);
	return ret;
}

int
fg_store_code_add(struct fg_store *s, const uint8_t hash[32],
    const char *user, const char *body, int64_t expires, int64_t cap)
{
	struct db_stmt *st = NULL;
	int64_t n = 0;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s,
		 "INSERT INTO oidc_codes (code_hash, \"user\", body, expires)"
		 " SELECT ?1, ?2, ?3, ?4 WHERE (SELECT count(*) FROM"
		 " oidc_codes WHERE expires > ?5) < ?6",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_blob(st, 1, hash, 32);
	db_bind_text(st, 2, user);
	db_bind_text(st, 3, body);
	db_bind_int64(st, 4, expires);
	db_bind_int64(st, 5, wall_ms());
	db_bind_int64(st, 6, cap);
	if ((r = plain_step(s, st, &n)) != FG_OK) {
		ret = r;
		goto out;
	}
	ret = n == 1 ? FG_OK : FG_ERR_LIMIT;
out:
	release(s, st);
	return ret;
}

int
fg_store_code_get(struct fg_store *s, const uint8_t hash[32], char **body,
    int64_t *used)
{
	struct db_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	*body = NULL;
	if ((r = prepare(s,
		 "SELECT body, coalesce(used, 0) FROM oidc_codes"
		 " WHERE code_hash = ? AND (expires > ? OR used IS NOT NULL)",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_blob(st, 1, hash, 32);
	db_bind_int64(st, 2, wall_ms());
	if ((r = db_step(st)) == DB_DONE) {
		ret = FG_ERR_NOTFOUND;
		goto out;
	}
	if (r != DB_ROW) {
		ret = db_error(s, "code");
		goto out;
	}
	*used = db_column_int64(st, 1);
	ret = body_of(st, 0, body);
out:
	release(s, st);
	return ret;
}

int
fg_store_code_redeem(struct fg_store *s, const uint8_t hash[32],
    const uint8_t token[32], const char *token_body, int64_t token_expires,
    const char *user, const char *sid, const char *client,
    const struct fg_audit *a)
{
	struct db_stmt *st[3] = { NULL, NULL, NULL };
	char chain[FG_AUDIT_HASH_HEX];
	int64_t now = wall_ms(), id = 0;
	size_t i;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s,
		 "UPDATE oidc_codes SET used = ?1, token_hash = ?2"
		 " WHERE code_hash = ?3 AND used IS NULL AND expires > ?1",
		 &st[0])) != FG_OK ||
	    (r = prepare(s,
		 "INSERT INTO oidc_tokens (token_hash, \"user\", body,"
		 " expires) VALUES (?, ?, ?, ?)",
		 &st[1])) != FG_OK ||
	    (r = prepare(s,
		 "INSERT INTO approvals (\"user\", sid, client, created)"
		 " VALUES (?, ?, ?, ?)",
		 &st[2])) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_int64(st[0], 1, now);
	db_bind_blob(st[0], 2, token, 32);
	db_bind_blob(st[0], 3, hash, 32);
	db_bind_blob(st[1], 1, token, 32);
	db_bind_text(st[1], 2, user);
	db_bind_text(st[1], 3, token_body);
	db_bind_int64(st[1], 4, token_expires);
	db_bind_text(st[2], 1, user);
	db_bind_text(st[2], 2, sid);
	db_bind_text(st[2], 3, client);
	db_bind_int64(st[2], 4, now_s());
	if ((r = begin(s)) != FG_OK) {
		ret = r;
		goto out;
	}
	/* the code spent first, under the writer lock: of two redemptions
	 * at once the second finds it spent, and writes nothing */
	if (db_step(st[0]) != DB_DONE) {
		ret = db_error(s, "code");
		goto out;
	}
	if (db_changes(s->db) != 1) {
		ret = FG_ERR_NOTFOUND;
		goto out;
	}
	for (i = 1; i < 3; i++)
		if (db_step(st[i]) != DB_DONE) {
			ret = db_error(s, "code");
			goto out;
		}
	/* not fsynced, as an approval alone was not (approval_add) */
	if ((r = audit_insert(s, a, &id, chain)) != FG_OK ||
	    (r = exec(s, "COMMIT")) != FG_OK) {
		ret = r;
		goto out;
	}
	committed(s, a, id, chain);
	ret = FG_OK;
out:
	if (ret != FG_OK)
		rollback(s);
	release(s, st[0]);
	release(s, st[1]);
	release(s, st[2]);
	return ret;
}

int
fg_store_code_spend(struct fg_store *s, const uint8_t hash[32])
{
	struct db_stmt *st = NULL;
	int64_t n = 0;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s,
		 "UPDATE oidc_codes SET used = ?1 WHERE code_hash = ?2"
		 " AND used IS NULL",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_int64(st, 1, wall_ms());
	db_bind_blob(st, 2, hash, 32);
	if ((r = plain_step(s, st, &n)) != FG_OK) {
		ret = r;
		goto out;
	}
	ret = n == 1 ? FG_OK : FG_ERR_NOTFOUND;
out:
	release(s, st);
	return ret;
}

int
fg_store_code_token_drop(struct fg_store *s, const uint8_t hash[32])
{
	struct db_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s,
		 "DELETE FROM oidc_tokens WHERE token_hash = (SELECT"
		 " token_hash FROM oidc_codes WHERE code_hash = ?)",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_blob(st, 1, hash, 32);
	ret = plain_step(s, st, NULL);
out:
	release(s, st);
	return ret;
}

int
fg_store_token_get(struct fg_store *s, const uint8_t hash[32], char **body)
{
	struct db_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	*body = NULL;
	if ((r = prepare(s,
		 "SELECT body FROM oidc_tokens WHERE token_hash = ?"
		 " AND expires > ?",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_blob(st, 1, hash, 32);
	db_bind_int64(st, 2, wall_ms());
	if ((r = db_step(st)) == DB_DONE) {
		ret = FG_ERR_NOTFOUND;
		goto out;
	}
	if (r != DB_ROW) {
		ret = db_error(s, "token");
		goto out;
	}
	ret = body_of(st, 0, body);
out:
	release(s, st);
	return ret;
}

int
fg_store_token_del(struct fg_store *s, const uint8_t hash[32])
{
	struct db_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = prepare(s, "DELETE FROM oidc_tokens WHERE token_hash = ?",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_blob(st, 1, hash, 32);
	ret = plain_step(s, st, NULL);
out:
	release(s, st);
	return ret;
}

int
fg_store_oidc_drop_user(struct fg_store *s, const char *user, int64_t *codes,
    int64_t *tokens)
{
	struct db_stmt *st[3] = { NULL, NULL, NULL };
	int r, ret = FG_ERR_INTERNAL;

	*codes = *tokens = 0;
	if ((r = prepare(s,
		 "DELETE FROM oidc_codes WHERE \"user\" = ? AND used IS NULL",
		 &st[0])) != FG_OK ||
	    (r = prepare(s, "DELETE FROM oidc_codes WHERE \"user\" = ?",
		 &st[1])) != FG_OK ||
	    (r = prepare(s, "DELETE FROM oidc_tokens WHERE \"user\" = ?",
		 &st[2])) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_text(st[0], 1, user);
	db_bind_text(st[1], 1, user);
	db_bind_text(st[2], 1, user);
	if ((r = begin(s)) != FG_OK) {
		ret = r;
		goto out;
	}
	if ((r = plain_step(s, st[0], codes)) != FG_OK ||
	    (r = plain_step(s, st[1], NULL)) != FG_OK ||
	    (r = plain_step(s, st[2], tokens)) != FG_OK ||
	    (r = exec(s, "COMMIT")) != FG_OK) {
		ret = r;
		goto out;
	}
	ret = FG_OK;
out:
	if (ret != FG_OK)
		rollback(s);
	release(s, st[0]);
	release(s, st[1]);
	release(s, st[2]);
	return ret;
}

int
fg_store_oidc_sweep(struct fg_store *s, int64_t now,
    void (*expired)(const struct fg_web_chal *c, void *arg), void *arg)
{
	/* a redeemed code stays until the token it gave expires: presented
	 * again, even late, it is a replay, and the token is revoked */
	static const char *const gone[] = {
		"DELETE FROM oidc_tx WHERE expires <= ?1",
		"DELETE FROM oidc_tokens WHERE expires <= ?1",
		"DELETE FROM oidc_codes WHERE expires <= ?1 AND (used IS NULL"
		" OR NOT EXISTS (SELECT 1 FROM oidc_tokens t"
		" WHERE t.token_hash = oidc_codes.token_hash))",
	};
	struct db_stmt *st = NULL;
	struct fg_web_chal *c = NULL, *more;
	size_t i, n = 0, cap = 0;
	int r, ret = FG_ERR_INTERNAL;

	/* each challenge left unanswered is deleted by one agent, which
	 * alone tells of it, once the statement is done (the telling
	 * writes to the store) */
	if ((r = prepare(s,
		 "DELETE FROM oidc_challenges WHERE expires <= ?"
		 " RETURNING challenge, \"user\", uv, detail, expires",
		 &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_int64(st, 1, now);
	while ((r = db_step(st)) == DB_ROW) {
		if (n == cap) {
			if ((more = realloc(c, (cap * 2 + 8) * sizeof(*c))) ==
			    NULL) {
				ret = FG_ERR_NOMEM;
				goto out;
			}
			c = more;
			cap = cap * 2 + 8;
		}
		read_web_chal(st, 0, &c[n++]);
	}
	if (r != DB_DONE) {
		ret = db_error(s, "sweep");
		goto out;
	}
	release(s, st);
	st = NULL;
	for (i = 0; expired != NULL && i < n; i++)
		expired(&c[i], arg);
	for (i = 0; i < sizeof(gone) / sizeof(gone[0]); i++) {
		if ((r = prepare(s, gone[i], &st)) != FG_OK) {
			ret = r;
			goto out;
		}
		db_bind_int64(st, 1, now);
		if ((r = plain_step(s, st, NULL)) != FG_OK) {
			ret = r;
			goto out;
		}
		release(s, st);
		st = NULL;
	}
	ret = FG_OK;
out:
	release(s, st);
	if (c != NULL)
		OPENSSL_cleanse(c, cap * sizeof(*c));
	free(c);
	return ret;
}

/*
 * Copying a store to another (fg_store_copy): SQLite to PostgreSQL and
 * back, over the backends' primitives alone. Every row goes across as it
 * is, ids and the audit records' prev and hash included, so that the
 * target holds the same chain, not a new one that would vouch for
 * whatever the copy got wrong.
 */

/* The schema's tables, a table after those it refers to. The target's
 * schema is checked against this list: a table a later migration adds
 * and this list lacks stops every copy rather than being left behind. */
static const char *const copy_tables[] = { "users", "credentials", "audit",
	"lockouts", "secrets", "signing_keys", "approvals", "admins",
	"requests", "invitations", "failures" };
#define COPY_TABLES (sizeof(copy_tables) / sizeof(copy_tables[0]))

/* The store's own bookkeeping, made by the migrations, not copied. */
static bool
copy_known(const char *name, bool *bookkeeping)
{
	size_t i;

	/* the browser's logins under way are no more copied than the
	 * agents' memory was: they end with the move */
	*bookkeeping = strcmp(name, "schema_version") == 0 ||
	    strcmp(name, "audit_seq") == 0 || strcmp(name, "oidc_tx") == 0 ||
	    strcmp(name, "oidc_challenges") == 0 ||
	    strcmp(name, "oidc_codes") == 0 || strcmp(name, "oidc_tokens") == 0;
	if (*bookkeeping)
		return true;
	for (i = 0; i < COPY_TABLES; i++)
		if (strcmp(name, copy_tables[i]) == 0)
			return true;
	return false;
}

/*
 * The store's tables: *n the copied ones, *schema whether schema_version
 * is there; an unknown table is refused (it would not be copied).
 */
static int
copy_tables_check(struct fg_store *s, const char *which, bool strict,
    size_t *n, bool *schema, char *err, size_t errlen)
{
	struct db_stmt *st = NULL;
	const unsigned char *name;
	bool bookkeeping;
	int r, ret = FG_ERR_INTERNAL;

	*n = 0;
	*schema = false;
	if ((r = prepare(s, s->db->ops->tables, &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	while ((r = db_step(st)) == DB_ROW) {
		name = db_column_text(st, 0);
		/* not strict: an unknown table is one more (not empty) */
		if (!strict && name != NULL &&
		    !copy_known((const char *)name, &bookkeeping)) {
			(*n)++;
			continue;
		}
		if (name == NULL ||
		    !copy_known((const char *)name, &bookkeeping)) {
			snprintf(err, errlen,
			    "%s has a table no store has: %s", which,
			    name != NULL ? (const char *)name : "?");
			ret = FG_ERR_INVALID;
			goto out;
		}
		if (strcmp((const char *)name, "schema_version") == 0)
			*schema = true;
		else if (!bookkeeping)
			(*n)++;
	}
	if (r != DB_DONE) {
		ret = db_error(s, "tables");
		goto out;
	}
	ret = FG_OK;
out:
	release(s, st);
	return ret;
}


/* One number from a statement built here (not cached: its address is
 * no literal's); no row is 0. */
static int
copy_number(struct fg_store *s, const char *sql, int64_t *v)
{
	struct db_stmt *st = NULL;
	int r, ret = FG_ERR_INTERNAL;

	*v = 0;
	if ((r = s->db->ops->prepare(s->db, sql, &st)) != FG_OK) {
		st = NULL;
		ret = db_error(s, sql);
		goto out;
	}
	if ((r = db_step(st)) == DB_ROW)
		*v = db_column_int64(st, 0);
	else if (r != DB_DONE) {
		ret = db_error(s, sql);
		goto out;
	}
	ret = FG_OK;
out:
	if (st != NULL)
		s->db->ops->finalize(st);
	return ret;
}

static int
copy_count(struct fg_store *s, const char *table, int64_t *n)
{
	char sql[128];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM \"%s\"", table);
	return copy_number(s, sql, n);
}

/* INSERT INTO "table" ("c1", ...) VALUES (?1, ...), from the columns of
 * the row st stands on. */
static char *
copy_insert_sql(struct db_stmt *st, const char *table)
{
	char *sql = NULL, *p;
	const char *name;
	size_t len = 64 + strlen(table);
	int i, n = db_column_count(st);

	for (i = 0; i < n; i++) {
		name = db_column_name(st, i);
		/* names are the schema's own: a quote in one is no name of
		 * ours */
		if (name == NULL || strchr(name, '"') != NULL)
			return NULL;
		len += strlen(name) + 16;
	}
	if ((sql = malloc(len)) == NULL)
		return NULL;
	p = sql + sprintf(sql, "INSERT INTO \"%s\" (", table);
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s\"%s\"", i > 0 ? ", " : "",
		    db_column_name(st, i));
	p += sprintf(p, ") VALUES (");
	for (i = 0; i < n; i++)
		p += sprintf(p, "%s?%d", i > 0 ? ", " : "", i + 1);
	sprintf(p, ")");
	return sql;
}

/* Every row of table from src to dst, as it is, in key order; *n rows. */
static int
copy_table(struct fg_store *src, struct fg_store *dst, const char *table,
    int64_t *n, char *err, size_t errlen)
{
	struct db_stmt *get = NULL, *put = NULL;
	char sql[128], *ins = NULL;
	const unsigned char *t;
	int i, cols, r, ret = FG_ERR_INTERNAL;

	*n = 0;
	snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\" ORDER BY 1", table);
	if (src->db->ops->prepare(src->db, sql, &get) != FG_OK) {
		get = NULL;
		ret = db_error(src, table);
		goto out;
	}
	while ((r = db_step(get)) == DB_ROW) {
		cols = db_column_count(get);
		if (put == NULL) {
			if ((ins = copy_insert_sql(get, table)) == NULL) {
				ret = FG_ERR_NOMEM;
				goto out;
			}
			if (dst->db->ops->prepare(dst->db, ins, &put) !=
			    FG_OK) {
				put = NULL;
				ret = db_error(dst, table);
				goto out;
			}
		}
		for (i = 0; i < cols; i++) {
			switch (db_column_type(get, i)) {
			case DB_NULL:
				db_bind_null(put, i + 1);
				break;
			case DB_INTEGER:
				db_bind_int64(put, i + 1,
				    db_column_int64(get, i));
				break;
			case DB_TEXT:
				t = db_column_text(get, i);
				if (t == NULL ||
				    strlen((const char *)t) !=
					(size_t)db_column_bytes(get, i)) {
					snprintf(err, errlen,
					    "%s: a text with a NUL in it",
					    table);
					ret = FG_ERR_INVALID;
					goto out;
				}
				db_bind_text(put, i + 1, (const char *)t);
				break;
			case DB_BLOB:
				/* an empty blob is no NULL */
				db_bind_blob(put, i + 1,
				    db_column_bytes(get, i) > 0
					? db_column_blob(get, i)
					: "",
				    db_column_bytes(get, i));
				break;
			default:
				/* the schema has no real column: a value
				 * that would not come back the same */
				snprintf(err, errlen,
				    "%s: column %s holds a number with a "
				    "fraction",
				    table, db_column_name(get, i));
				ret = FG_ERR_INVALID;
				goto out;
			}
		}
		if (db_step(put) != DB_DONE) {
			ret = db_error(dst, table);
			goto out;
		}
		db_reset(put);
		dst->db->ops->clear_bindings(put);
		(*n)++;
	}
	if (r != DB_DONE) {
		ret = db_error(src, table);
		goto out;
	}
	ret = FG_OK;
out:
	if (get != NULL)
		src->db->ops->finalize(get);
	if (put != NULL)
		dst->db->ops->finalize(put);
	free(ins);
	return ret;
}

/* The target's generated ids go on after the copied ones, and its audit
 * ids after the source's last (a record cut from the end stays cut). */
static int
copy_ids(struct fg_store *src, struct fg_store *dst, int64_t head,
    char *err, size_t errlen)
{
	const char *const *q;
	struct db_stmt *st = NULL;
	int64_t last;
	int r, ret = FG_ERR_INTERNAL;

	if ((r = copy_number(src, src->db->ops->audit_seq_get, &last)) !=
	    FG_OK) {
		ret = r;
		goto out;
	}
	if (last < head)
		last = head;
	for (q = dst->db->ops->ids_continue; *q != NULL; q++)
		if ((r = exec(dst, *q)) != FG_OK) {
			ret = r;
			goto out;
		}
	if ((r = prepare(dst, dst->db->ops->audit_seq_set, &st)) != FG_OK) {
		ret = r;
		goto out;
	}
	db_bind_int64(st, 1, last);
	if (db_step(st) != DB_DONE || db_changes(dst->db) != 1) {
		snprintf(err, errlen, "cannot set the audit ids' counter: %s",
		    dst->db->ops->errmsg(dst->db));
		ret = FG_ERR_STORE;
		goto out;
	}
	ret = FG_OK;
out:
	release(dst, st);
	return ret;
}

static bool
is_pg(const char *where)
{
	return strncmp(where, "postgresql:", 11) == 0;
}

/* The whole chain's verdict; FG_ERR_UNTRUSTED when it is broken. */
static int
copy_verify(struct fg_store *s, json_t **verdict)
{
	int r;

	if ((r = fg_store_audit_verify(s, NULL, 0, NULL, 0, verdict)) !=
	    FG_OK)
		return r;
	return json_is_true(json_object_get(*verdict, "intact"))
	    ? FG_OK
	    : FG_ERR_UNTRUSTED;
}

int
fg_store_copy(const char *from, const char *to, const char *passfile,
    json_t **out, char *err, size_t errlen)
{
	struct fg_store *src = NULL, *dst = NULL;
	json_t *sv = NULL, *dv = NULL, *tables = NULL;
	const char *sh, *dh;
	int64_t n, count, head = 0;
	size_t k, ntables;
	bool schema;
	int version, r, ret = FG_ERR_INTERNAL;

	*out = NULL;
	err[0] = '\0';
	if ((tables = json_object()) == NULL) {
		ret = FG_ERR_NOMEM;
		goto out;
	}
	/* the password file is the PostgreSQL side's (SQLite's open
	 * refuses one: given for two SQLite stores, it is the source's) */
	if ((r = open_raw(from, is_pg(from) || !is_pg(to) ? passfile : NULL,
		 &src, err, errlen)) != FG_OK ||
	    (r = open_raw(to, is_pg(to) ? passfile : NULL, &dst, err,
		 errlen)) != FG_OK) {
		ret = r;
		goto out;
	}
	/* the source: read, in one snapshot, and only when whole */
	if ((r = exec(src, src->db->ops->snapshot)) != FG_OK ||
	    (r = copy_tables_check(src, "the source", true, &ntables, &schema,
		 err, errlen)) != FG_OK) {
		ret = r;
		goto out;
	}
	if (!schema || (r = schema_version(src, &version)) != FG_OK ||
	    version != (int)src->db->ops->n_migrations) {
		snprintf(err, errlen,
		    "the source is no store of schema version %d (an agent "
		    "of this version upgrades it when it starts)",
		    (int)src->db->ops->n_migrations);
		ret = FG_ERR_INVALID;
		goto out;
	}
	if ((r = copy_verify(src, &sv)) != FG_OK) {
		if (r == FG_ERR_UNTRUSTED)
			snprintf(err, errlen,
			    "the source's audit chain is broken at record "
			    "%lld (%s): %s",
			    (long long)json_integer_value(json_object_get(
				json_object_get(sv, "bad"), "id")),
			    fg_json_str(json_object_get(sv, "bad"),
				"problem"),
			    fg_json_str(json_object_get(sv, "bad"),
				"message"));
		ret = r;
		goto out;
	}
	head = json_integer_value(
	    json_object_get(json_object_get(sv, "head"), "id"));
	/* the target: empty, under its writer lock until the end */
	durable(dst, true);
	if ((r = begin(dst)) != FG_OK ||
	    (r = copy_tables_check(dst, "the target", false, &ntables, &schema,
		 err, errlen)) != FG_OK) {
		ret = r;
		goto out;
	}
	version = 0;
	if (ntables > 0 ||
	    (schema && (r = schema_version(dst, &version)) != FG_OK) ||
	    version != 0) {
		snprintf(err, errlen,
		    "the target is not empty: a store is copied into an "
		    "empty database only");
		ret = FG_ERR_EXISTS;
		goto out;
	}
	if ((r = migrate_steps(dst, err, errlen)) != FG_OK ||
	    (r = copy_tables_check(dst, "the target's schema", true,
		 &ntables, &schema, err, errlen)) != FG_OK) {
		ret = r;
		goto out;
	}
	if (ntables != COPY_TABLES) {
		snprintf(err, errlen,
		    "the schema has %zu tables, the copy knows %zu", ntables,
		    COPY_TABLES);
		ret = FG_ERR_INTERNAL;
		goto out;
	}
	for (k = 0; k < COPY_TABLES; k++) {
		if ((r = copy_table(src, dst, copy_tables[k], &n, err,
			 errlen)) != FG_OK) {
			ret = r;
			goto out;
		}
		json_object_set_new(tables, copy_tables[k], json_integer(n));
	}
	if ((r = copy_ids(src, dst, head, err, errlen)) != FG_OK) {
		ret = r;
		goto out;
	}
	/* the same chain, the same head, the same rows, before the commit */
	if ((r = copy_verify(dst, &dv)) != FG_OK) {
		snprintf(err, errlen, "the copy's audit chain does not verify");
		ret = r == FG_ERR_UNTRUSTED ? FG_ERR_STORE : r;
		goto out;
	}
	sh = fg_json_str(json_object_get(sv, "head"), "hash");
	dh = fg_json_str(json_object_get(dv, "head"), "hash");
	if (json_integer_value(json_object_get(dv, "records")) !=
		json_integer_value(json_object_get(sv, "records")) ||
	    json_integer_value(json_object_get(json_object_get(dv, "head"),
		"id")) != head ||
	    (sh == NULL) != (dh == NULL) ||
	    (sh != NULL && strcmp(sh, dh) != 0)) {
		snprintf(err, errlen,
		    "the copy's audit chain has another head than the "
		    "source's");
		ret = FG_ERR_STORE;
		goto out;
	}
	for (k = 0; k < COPY_TABLES; k++) {
		if ((r = copy_count(src, copy_tables[k], &count)) != FG_OK ||
		    (r = copy_count(dst, copy_tables[k], &n)) != FG_OK) {
			ret = r;
			goto out;
		}
		if (n != count || n != json_integer_value(json_object_get(
					  tables, copy_tables[k]))) {
			snprintf(err, errlen,
			    "%s: %lld rows in the source, %lld in the copy",
			    copy_tables[k], (long long)count, (long long)n);
			ret = FG_ERR_STORE;
			goto out;
		}
	}
	if ((r = exec(dst, "COMMIT")) != FG_OK) {
		ret = r;
		goto out;
	}
	*out = json_pack("{s:s,s:s,s:O,s:O,s:O}", "from",
	    fg_store_backend(src), "to", fg_store_backend(dst), "tables",
	    tables, "records", json_object_get(sv, "records"), "head",
	    json_object_get(sv, "head"));
	ret = *out != NULL ? FG_OK : FG_ERR_NOMEM;
out:
	if (ret != FG_OK && err[0] == '\0')
		snprintf(err, errlen, "%s", fg_strerror(ret));
	if (ret == FG_ERR_UNTRUSTED && *out == NULL) {
		*out = sv;
		sv = NULL;
	}
	if (dst != NULL)
		rollback(dst);
	if (src != NULL)
		rollback(src);
	fg_store_close(&src);
	fg_store_close(&dst);
	json_decref(sv);
	json_decref(dv);
	json_decref(tables);
	return ret;
}
