/*
 * Unit tests of the credential store, on a real SQLite file in a private
 * temporary folder, or (store-unit CONNINFO) on a new database of a real
 * PostgreSQL for each test: a statement the cache has no room for is
 * finalized (not recursed on, not leaked), and every change is all or
 * nothing together with its audit record.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "agent.h"

struct fixture {
	char dir[512];
	char path[600]; /* what fg_store_open() is given */
	char pgdb[64];	/* PostgreSQL: the test's own database */
	struct fg_store *s;
};

/* PostgreSQL's connection string (argv[1]), or NULL: SQLite */
static const char *pg_base;

/* sql on PostgreSQL, in database db (base's when NULL) */
static void
pg_run(const char *db, const char *sql)
{
	char info[1024];
	PGconn *c;
	PGresult *res;

	snprintf(info, sizeof(info), "%s%s%s", pg_base,
	    db != NULL ? " dbname=" : "", db != NULL ? db : "");
	c = PQconnectdb(info);
	if (PQstatus(c) != CONNECTION_OK)
		fprintf(stderr, "store_test: %s", PQerrorMessage(c));
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	res = PQexec(c, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK)
		fprintf(stderr, "store_test: %s: %s", sql,
		    PQresultErrorMessage(res));
	assert_true(PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK);
	PQclear(res);
	PQfinish(c);
}

static const uint8_t handle_a[32] = {0xa1, 0xa1, 0xa1};
static const uint8_t handle_b[32] = {0xb2, 0xb2, 0xb2};
/* the store keeps the COSE key as a blob; it never parses it */
static const uint8_t pubkey[] = {0xa5, 0x01, 0x02, 0x03, 0x26};

static int
setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	struct fixture *f;
	char err[512];

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return -1;
	/* mkdtemp's 0700: the store refuses a folder others can write */
	snprintf(f->dir, sizeof(f->dir), "%s/fg-store-unit.XXXXXX",
	    tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/store.db", f->dir);
	if (pg_base != NULL) {
		static unsigned n;
		char sql[128];

		snprintf(f->pgdb, sizeof(f->pgdb), "fgunit_%ld_%u",
		    (long)getpid(), n++);
		snprintf(sql, sizeof(sql), "CREATE DATABASE %s", f->pgdb);
		pg_run(NULL, sql);
		snprintf(f->path, sizeof(f->path), "postgresql:%s dbname=%s",
		    pg_base, f->pgdb);
	}
	if (fg_store_open(f->path, &f->s, err, sizeof(err)) != FG_OK) {
		fprintf(stderr, "store_test: %s\n", err);
		rmdir(f->dir);
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	static const char *const suffix[] = {"", "-wal", "-shm", "-journal"};
	struct fixture *f = *state;
	char p[700];
	size_t i;

	fg_store_close(&f->s);
	if (f->pgdb[0] != '\0') {
		snprintf(p, sizeof(p), "DROP DATABASE %s WITH (FORCE)", f->pgdb);
		pg_run(NULL, p);
	}
	for (i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
		unlink(p);
	}
	rmdir(f->dir);
	free(f);
	return 0;
}

/* A credential whose ID is the user's name, then tag, zero-padded. */
static void
cred_for(struct fg_cred *c, uint8_t id[16], const char *user, uint8_t tag,
    const char *label)
{
	memset(id, 0, 16);
	memcpy(id, user, strlen(user) < 15 ? strlen(user) : 15);
	id[15] = tag;
	memset(c, 0, sizeof(*c));
	c->cred_id = id;
	c->cred_id_len = 16;
	c->alg = -7;
	c->pubkey = (uint8_t *)(uintptr_t)pubkey;
	c->pubkey_len = sizeof(pubkey);
	c->fmt = (char *)(uintptr_t) "none";
	c->label = (char *)(uintptr_t)label;
}

static struct fg_audit
audit_for(const char *event, const char *user)
{
	struct fg_audit a = {.event = event, .user = user, .result = "ok"};

	a.caller_uid = getuid();
	a.caller_pid = getpid();
	return a;
}

/* The audit records for user (all of them when NULL). */
static size_t
audit_rows(struct fg_store *s, const char *user)
{
	json_t *rows = NULL, *row;
	const char *who;
	size_t i, n = 0;

	assert_int_equal(fg_store_audit_list(s, NULL, 0, 1000, &rows), FG_OK);
	json_array_foreach(rows, i, row)
	{
		who = json_string_value(json_object_get(row, "user"));
		if (user == NULL || (who != NULL && strcmp(who, user) == 0))
			n++;
	}
	json_decref(rows);
	return n;
}

static void
assert_counts(
    struct fg_store *s, int64_t users, int64_t active, int64_t revoked)
{
	int64_t u = -1, a = -1, r = -1;

	assert_int_equal(fg_store_counts(s, &u, &a, &r), FG_OK);
	assert_int_equal(u, users);
	assert_int_equal(a, active);
	assert_int_equal(r, revoked);
}

/* Every public function of the store, each result checked: whatever the
 * cache holds, the store must answer the same. */
static void
exercise(struct fg_store *s, const char *user)
{
	struct fg_audit au = audit_for("enroll", user);
	struct fg_cred c, got, *list = NULL;
	struct fg_user u;
	uint8_t id[16], handle[32];
	int64_t locked_at = -1, failures = -1;
	json_t *rows = NULL;
	size_t n = 0;

	/* user handles are unique too: each user's is their name */
	memset(handle, 0, sizeof(handle));
	memcpy(handle, user, strlen(user) < 32 ? strlen(user) : 32);
	cred_for(&c, id, user, 1, "main");
	assert_int_equal(fg_store_cred_add(s, user, handle, &c, NULL, &au), FG_OK);
	assert_int_equal(fg_store_user_find(s, user, &u), FG_OK);
	assert_memory_equal(u.handle, handle, 32);
	assert_int_equal(fg_store_creds(s, u.id, true, &list, &n), FG_OK);
	assert_int_equal(n, 1);
	assert_memory_equal(list[0].cred_id, id, sizeof(id));
	fg_cred_list_free(&list, n);
	assert_int_equal(fg_store_creds_page(s, u.id, 0, 10, &list, &n), FG_OK);
	assert_int_equal(n, 1);
	fg_cred_list_free(&list, n);
	assert_int_equal(fg_store_creds_page(s, 0, 0, 100, &list, &n), FG_OK);
	assert_true(n >= 1);
	fg_cred_list_free(&list, n);

	assert_int_equal(
	    fg_store_cred_get(s, u.id, id, sizeof(id), &got), FG_OK);
	assert_string_equal(got.user, user);
	assert_string_equal(got.label, "main");
	au.event = "auth";
	assert_int_equal(fg_store_cred_used(s, got.id, 5, 0, &au), FG_OK);
	/* the counter must move forward */
	assert_int_equal(
	    fg_store_cred_used(s, got.id, 5, 0, &au), FG_ERR_NOTFOUND);
	au.event = "suspicious";
	assert_int_equal(fg_store_cred_mark_suspicious(s, got.id, &au), FG_OK);
	au.event = "revoke";
	assert_int_equal(fg_store_cred_revoke(s, got.id, &au), FG_OK);
	assert_int_equal(fg_store_cred_revoke(s, got.id, &au), FG_ERR_NOTFOUND);
	fg_cred_clear(&got);
	assert_int_equal(
	    fg_store_cred_get(s, u.id, id, sizeof(id), &got), FG_OK);
	assert_int_equal(got.sign_count, 5);
	assert_true(got.suspicious);
	assert_true(got.revoked);
	fg_cred_clear(&got);

	au.event = "lock";
	assert_int_equal(fg_store_lock_set(s, user, 3, &au), FG_OK);
	assert_int_equal(
	    fg_store_lock_get(s, user, &locked_at, &failures), FG_OK);
	assert_true(locked_at != 0);
	assert_int_equal(failures, 3);
	au.event = "unlock";
	assert_int_equal(fg_store_lock_clear(s, user, &au), FG_OK);
	assert_int_equal(fg_store_lock_clear(s, user, &au), FG_ERR_NOTFOUND);
	assert_int_equal(
	    fg_store_lock_get(s, user, &locked_at, &failures), FG_OK);
	assert_int_equal(locked_at, 0);

	au.event = "status";
	assert_int_equal(fg_store_audit(s, &au), FG_OK);
	/* enroll, auth, suspicious, revoke, lock, unlock, status */
	assert_int_equal(audit_rows(s, user), 7);
	assert_int_equal(fg_store_audit_list(s, NULL, 0, 2, &rows), FG_OK);
	assert_int_equal(json_array_size(rows), 2);
	json_decref(rows);
}

/* Under the old release() this recursed until the stack ran out: with no
 * cache, every statement takes that path, the transaction's too. */
static void
statements_outside_the_cache_are_released(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(fg_store_set_stmt_cache(f->s, 0), FG_OK);
	exercise(f->s, "alice");
	exercise(f->s, "bob");
	assert_counts(f->s, 2, 0, 2);
}

/* Some statements cached, the rest finalized after each use, and the
 * surplus of a shrunk cache finalized at once. */
static void
a_full_cache_releases_the_rest(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(fg_store_set_stmt_cache(f->s, 3), FG_OK);
	exercise(f->s, "alice");
	exercise(f->s, "bob");
	assert_int_equal(fg_store_set_stmt_cache(f->s, 1), FG_OK);
	exercise(f->s, "carol");
	assert_counts(f->s, 3, 0, 3);
}

/* Finalized, not dropped: SQLite's memory stays flat over thousands of
 * uncached statements (each one kept would cost kilobytes). */
static void
released_statements_do_not_leak(void **state)
{
	struct fixture *f = *state;
	struct fg_audit au = audit_for("enroll", "alice");
	struct fg_cred c, got, *list = NULL;
	struct fg_user u;
	uint8_t id[16];
	int64_t before = 0, users, active, revoked, locked_at, failures;
	size_t n;
	int i;

	if (pg_base != NULL)
		skip(); /* SQLite's own memory count */
	assert_int_equal(fg_store_set_stmt_cache(f->s, 0), FG_OK);
	cred_for(&c, id, "alice", 1, "main");
	assert_int_equal(
	    fg_store_cred_add(f->s, "alice", handle_a, &c, NULL, &au), FG_OK);
	for (i = 0; i < 1100; i++) {
		/* the first rounds warm SQLite's page cache */
		if (i == 100)
			before = sqlite3_memory_used();
		assert_int_equal(fg_store_user_find(f->s, "alice", &u), FG_OK);
		assert_int_equal(
		    fg_store_creds(f->s, u.id, true, &list, &n), FG_OK);
		fg_cred_list_free(&list, n);
		assert_int_equal(
		    fg_store_cred_get(f->s, u.id, id, sizeof(id), &got), FG_OK);
		fg_cred_clear(&got);
		assert_int_equal(
		    fg_store_counts(f->s, &users, &active, &revoked), FG_OK);
		assert_int_equal(
		    fg_store_lock_get(f->s, "alice", &locked_at, &failures),
		    FG_OK);
	}
	assert_true(before > 0);
	/* 5000 statements kept would be megabytes */
	assert_true(sqlite3_memory_used() - before < 64 * 1024);
}

static void
the_cache_cannot_grow_past_its_size(void **state)
{
	struct fixture *f = *state;
	struct fg_user u;

	assert_int_equal(
	    fg_store_set_stmt_cache(f->s, SIZE_MAX), FG_ERR_INVALID);
	assert_int_equal(
	    fg_store_user_find(f->s, "alice", &u), FG_ERR_NOTFOUND);
}

/* The user row, the credential row and the audit record are written
 * together or not at all: bob, new, enrols a key alice already has. */
static void
a_duplicate_credential_leaves_no_user_and_no_audit_record(void **state)
{
	struct fixture *f = *state;
	struct fg_audit au = audit_for("enroll", "alice");
	struct fg_cred c, *list = NULL;
	struct fg_user u;
	uint8_t id[16];
	size_t n, round;

	cred_for(&c, id, "alice", 1, "first");
	assert_int_equal(
	    fg_store_cred_add(f->s, "alice", handle_a, &c, NULL, &au), FG_OK);
	/* once with the statements cached, once finalized after each use */
	for (round = 0; round < 2; round++) {
		if (round == 1)
			assert_int_equal(
			    fg_store_set_stmt_cache(f->s, 0), FG_OK);
		au.user = "bob";
		assert_int_equal(
		    fg_store_cred_add(f->s, "bob", handle_b, &c, NULL, &au),
		    FG_ERR_EXISTS);
		assert_int_equal(
		    fg_store_user_find(f->s, "bob", &u), FG_ERR_NOTFOUND);
		assert_int_equal(audit_rows(f->s, "bob"), 0);

		/* alice again: still one credential, under its first label */
		au.user = "alice";
		c.label = (char *)(uintptr_t) "second";
		assert_int_equal(
		    fg_store_cred_add(f->s, "alice", handle_a, &c, NULL, &au),
		    FG_ERR_EXISTS);
		assert_int_equal(fg_store_user_find(f->s, "alice", &u), FG_OK);
		assert_int_equal(
		    fg_store_creds(f->s, u.id, false, &list, &n), FG_OK);
		assert_int_equal(n, 1);
		assert_string_equal(list[0].label, "first");
		fg_cred_list_free(&list, n);

		assert_counts(f->s, 1, 1, 0);
		assert_int_equal(audit_rows(f->s, NULL), 1);
	}
}

/* The audit record is the last write of a change: when it fails, the user
 * and credential rows written before it are gone too. */
static void
a_change_whose_audit_record_fails_is_undone(void **state)
{
	struct fixture *f = *state;
	struct fg_audit au = audit_for("enroll", "carol");
	struct fg_cred c, got, *list = NULL;
	struct fg_user u;
	uint8_t id[16];
	size_t n;

	/* the audit table's result column is NOT NULL */
	au.result = NULL;
	cred_for(&c, id, "carol", 1, "main");
	assert_int_equal(
	    fg_store_cred_add(f->s, "carol", handle_a, &c, NULL, &au), FG_ERR_STORE);
	assert_int_equal(
	    fg_store_user_find(f->s, "carol", &u), FG_ERR_NOTFOUND);
	assert_int_equal(
	    fg_store_creds_page(f->s, 0, 0, 100, &list, &n), FG_OK);
	assert_int_equal(n, 0);
	assert_counts(f->s, 0, 0, 0);
	assert_int_equal(audit_rows(f->s, NULL), 0);

	/* and a revocation that cannot be audited does not happen */
	au.result = "ok";
	assert_int_equal(
	    fg_store_cred_add(f->s, "carol", handle_a, &c, NULL, &au), FG_OK);
	assert_int_equal(fg_store_user_find(f->s, "carol", &u), FG_OK);
	assert_int_equal(
	    fg_store_cred_get(f->s, u.id, id, sizeof(id), &got), FG_OK);
	au.event = "revoke";
	au.result = NULL;
	assert_int_equal(fg_store_cred_revoke(f->s, got.id, &au), FG_ERR_STORE);
	fg_cred_clear(&got);
	assert_int_equal(
	    fg_store_cred_get(f->s, u.id, id, sizeof(id), &got), FG_OK);
	assert_false(got.revoked);
	fg_cred_clear(&got);
	assert_counts(f->s, 1, 1, 0);
	assert_int_equal(audit_rows(f->s, NULL), 1);
}

/* A change that must find its row and does not is FG_ERR_NOTFOUND, and
 * leaves no audit record claiming it happened. */
static void
a_change_that_finds_no_row_writes_nothing(void **state)
{
	struct fixture *f = *state;
	struct fg_audit au = audit_for("revoke", "dave");

	assert_int_equal(fg_store_cred_revoke(f->s, 999, &au), FG_ERR_NOTFOUND);
	assert_int_equal(
	    fg_store_cred_mark_suspicious(f->s, 999, &au), FG_ERR_NOTFOUND);
	assert_int_equal(
	    fg_store_cred_used(f->s, 999, 1, 0, &au), FG_ERR_NOTFOUND);
	assert_int_equal(
	    fg_store_lock_clear(f->s, "dave", &au), FG_ERR_NOTFOUND);
	assert_int_equal(audit_rows(f->s, NULL), 0);
}

/* cred_add creates the user only once: a later key keeps the first
 * handle, which the keys already enrolled were given. */
static void
a_second_key_keeps_the_users_handle(void **state)
{
	struct fixture *f = *state;
	struct fg_audit au = audit_for("enroll", "erin");
	struct fg_cred c, *list = NULL;
	struct fg_user u;
	uint8_t id[16];
	size_t n;

	cred_for(&c, id, "erin", 1, "first");
	assert_int_equal(
	    fg_store_cred_add(f->s, "erin", handle_a, &c, NULL, &au), FG_OK);
	cred_for(&c, id, "erin", 2, "second");
	assert_int_equal(
	    fg_store_cred_add(f->s, "erin", handle_b, &c, NULL, &au), FG_OK);
	assert_int_equal(fg_store_user_find(f->s, "erin", &u), FG_OK);
	assert_memory_equal(u.handle, handle_a, 32);
	assert_int_equal(fg_store_creds(f->s, u.id, true, &list, &n), FG_OK);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].label, "first");
	assert_string_equal(list[1].label, "second");
	fg_cred_list_free(&list, n);
	assert_int_equal(audit_rows(f->s, "erin"), 2);
}

/* An administrator's lock: in one transaction, the lock with its reason
 * and the revocation of the approvals no login consumed; the consumed
 * ones stay, for back-channel logout to name their sessions. A lockout
 * after failures that follows keeps the reason; unlock clears both. */
static void
an_admin_lock_revokes_the_unconsumed_approvals(void **state)
{
	struct fixture *f = *state;
	struct fg_audit au = audit_for("oidc.token", "frank");
	char reason[129], by[64], sid[64];
	int64_t revoked = -1, locked_at, failures;
	json_t *sessions = NULL;

	assert_int_equal(fg_store_approval_add(f->s, "frank", "s1", "synapse",
			     &au), FG_OK);
	assert_int_equal(fg_store_approval_consume(f->s, "frank", NULL, 300,
			     sid, sizeof(sid), &au), FG_OK);
	assert_int_equal(fg_store_approval_add(f->s, "frank", "s2", "synapse",
			     &au), FG_OK);
	assert_int_equal(fg_store_lock_reason(f->s, "frank", reason,
			     sizeof(reason), by, sizeof(by)), FG_OK);
	assert_string_equal(reason, "");
	au.event = "lock";
	assert_int_equal(fg_store_lock_admin(f->s, "frank", "phished", "root",
			     &revoked, &au), FG_OK);
	assert_int_equal(revoked, 1);
	assert_int_equal(fg_store_lock_get(f->s, "frank", &locked_at,
			     &failures), FG_OK);
	assert_true(locked_at != 0);
	assert_int_equal(fg_store_lock_reason(f->s, "frank", reason,
			     sizeof(reason), by, sizeof(by)), FG_OK);
	assert_string_equal(reason, "phished");
	assert_string_equal(by, "root");
	/* nothing left for a login to consume */
	assert_int_equal(fg_store_approval_consume(f->s, "frank", NULL, 300,
			     sid, sizeof(sid), &au), FG_ERR_NOTFOUND);
	/* both sessions, newest first */
	assert_int_equal(fg_store_sessions(f->s, "frank", 64, &sessions), FG_OK);
	assert_int_equal(json_array_size(sessions), 2);
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(sessions, 0), "sid")),
	    "s2");
	json_decref(sessions);
	au.event = "lockout";
	assert_int_equal(fg_store_lock_set(f->s, "frank", 10, &au), FG_OK);
	assert_int_equal(fg_store_lock_reason(f->s, "frank", reason,
			     sizeof(reason), by, sizeof(by)), FG_OK);
	assert_string_equal(reason, "phished");
	au.event = "unlock";
	assert_int_equal(fg_store_lock_clear(f->s, "frank", &au), FG_OK);
	assert_int_equal(fg_store_lock_reason(f->s, "frank", reason,
			     sizeof(reason), by, sizeof(by)), FG_OK);
	assert_string_equal(reason, "");
}

/* The verdict of the chain: intact (with how many records), or the first
 * bad record's id and problem. */
static void
verdict_is(struct fg_store *s, const struct fg_anchor *from, size_t max,
    const struct fg_anchor *anchors, size_t n, bool intact, int64_t id,
    const char *problem)
{
	json_t *v = NULL;

	assert_int_equal(
	    fg_store_audit_verify(s, from, max, anchors, n, &v), FG_OK);
	assert_int_equal(json_is_true(json_object_get(v, "intact")), intact);
	if (intact)
		assert_int_equal(json_integer_value(json_object_get(v,
				     "records")),
		    id);
	else {
		json_t *bad = json_object_get(v, "bad");
		assert_int_equal(json_integer_value(json_object_get(bad, "id")),
		    id);
		assert_string_equal(
		    json_string_value(json_object_get(bad, "problem")),
		    problem);
	}
	json_decref(v);
}

static void
assert_verdict(struct fg_store *s, const struct fg_anchor *anchors, size_t n,
    bool intact, int64_t id, const char *problem)
{
	verdict_is(s, NULL, 0, anchors, n, intact, id, problem);
}

/* a step of at most max records from the record after from */
static void
assert_verdict_from(struct fg_store *s, const struct fg_anchor *from,
    size_t max, bool intact, int64_t id, const char *problem)
{
	verdict_is(s, from, max, NULL, 0, intact, id, problem);
}

/* sql run on the store behind its back, triggers dropped first */
static void
behind_its_back(const struct fixture *f, const char *sql)
{
	const char *path = f->path;
	sqlite3 *db = NULL;
	char full[512];

	if (pg_base != NULL) {
		snprintf(full, sizeof(full),
		    "DROP TRIGGER IF EXISTS audit_no_update ON audit;"
		    " DROP TRIGGER IF EXISTS audit_no_delete ON audit; %s",
		    sql);
		pg_run(f->pgdb, full);
		return;
	}
	snprintf(full, sizeof(full),
	    "DROP TRIGGER IF EXISTS audit_no_update;"
	    " DROP TRIGGER IF EXISTS audit_no_delete; %s",
	    sql);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, full, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* Every record, standalone or with a change, links to the one before;
 * one whose change failed leaves no trace in the chain. */
static void
the_chain_links_every_record(void **state)
{
	struct fixture *f = *state;
	struct fg_audit au = audit_for("unlock", "alice");
	struct fg_cred c;
	uint8_t id[16];
	int i;

	assert_verdict(f->s, NULL, 0, true, 0, NULL);
	for (i = 0; i < 5; i++)
		assert_int_equal(fg_store_audit(f->s, &au), FG_OK);
	cred_for(&c, id, "alice", 1, "main");
	au.event = "enroll";
	assert_int_equal(
	    fg_store_cred_add(f->s, "alice", handle_a, &c, NULL, &au), FG_OK);
	au.result = NULL; /* the record fails: so does the change */
	assert_int_equal(fg_store_audit(f->s, &au), FG_ERR_STORE);
	au.result = "ok";
	assert_int_equal(fg_store_audit(f->s, &au), FG_OK);
	assert_verdict(f->s, NULL, 0, true, 7, NULL);
}

/* An edit, a deletion, a cut-off tail (against an anchor): each is found
 * at the first bad record. */
static void
the_chain_names_the_first_bad_record(void **state)
{
	struct fixture *f = *state;
	struct fg_audit au = audit_for("unlock", "bob");
	struct fg_anchor head = { 0 };
	json_t *v = NULL;
	int i;

	for (i = 0; i < 8; i++)
		assert_int_equal(fg_store_audit(f->s, &au), FG_OK);
	assert_int_equal(fg_store_audit_verify(f->s, NULL, 0, NULL, 0, &v), FG_OK);
	head.id = json_integer_value(
	    json_object_get(json_object_get(v, "head"), "id"));
	snprintf(head.hash, sizeof(head.hash), "%s",
	    json_string_value(
		json_object_get(json_object_get(v, "head"), "hash")));
	json_decref(v);
	assert_int_equal(head.id, 8);
	assert_verdict(f->s, &head, 1, true, 8, NULL);

	behind_its_back(f, "DELETE FROM audit WHERE id >= 7");
	assert_verdict(f->s, NULL, 0, true, 6, NULL);
	assert_verdict(f->s, &head, 1, false, 7, "truncated");
	behind_its_back(f, "DELETE FROM audit WHERE id = 5");
	assert_verdict(f->s, NULL, 0, false, 5, "deleted");
	behind_its_back(f, "UPDATE audit SET \"user\" = 'eve' WHERE id = 3");
	assert_verdict(f->s, NULL, 0, false, 3, "edited");
	behind_its_back(f, "UPDATE audit SET hash = NULL WHERE id = 2");
	assert_verdict(f->s, NULL, 0, false, 2, "unchained");
}

/* The head of a verdict, as an anchor to go on from. */
static void
head_of(const json_t *v, struct fg_anchor *a)
{
	const json_t *head = json_object_get(v, "head");

	a->id = json_integer_value(json_object_get(head, "id"));
	snprintf(a->hash, sizeof(a->hash), "%s",
	    json_string_value(json_object_get(head, "hash")));
}

/* A walk in steps, each from the last one's head, finds what one walk
 * would: an anchor past the end (which only the last step sees), an edit
 * in a later step. */
static void
the_chain_can_be_walked_in_steps(void **state)
{
	struct fixture *f = *state;
	struct fg_audit au = audit_for("unlock", "dave");
	struct fg_anchor from, past = { .id = 99 };
	json_t *v = NULL, *bad;
	int64_t total = 0;
	int i, steps = 0;

	for (i = 0; i < 10; i++)
		assert_int_equal(fg_store_audit(f->s, &au), FG_OK);
	memset(past.hash, 'a', 64);
	for (;;) {
		assert_int_equal(fg_store_audit_verify(f->s,
				     steps > 0 ? &from : NULL, 3, &past, 1, &v),
		    FG_OK);
		total += json_integer_value(json_object_get(v, "records"));
		steps++;
		if (!json_is_true(json_object_get(v, "intact")) ||
		    !json_is_true(json_object_get(v, "more")))
			break;
		head_of(v, &from);
		json_decref(v);
	}
	/* 3 + 3 + 3 + 1 records, the last step reaching the end */
	assert_int_equal(steps, 4);
	assert_int_equal(total, 10);
	bad = json_object_get(v, "bad");
	assert_int_equal(json_integer_value(json_object_get(bad, "id")), 11);
	assert_string_equal(json_string_value(json_object_get(bad, "problem")),
	    "truncated");
	json_decref(v);

	behind_its_back(f, "UPDATE audit SET \"user\" = 'eve' WHERE id = 8");
	assert_int_equal(fg_store_audit_verify(f->s, NULL, 6, NULL, 0, &v),
	    FG_OK);
	assert_true(json_is_true(json_object_get(v, "more")));
	head_of(v, &from);
	json_decref(v);
	assert_int_equal(from.id, 6);
	assert_verdict_from(f->s, &from, 1, true, 1, NULL);
	assert_verdict_from(f->s, &from, 3, false, 8, "edited");
}

/* Two agents on one store, writing at once: one chain, not two. */
static void
two_writers_do_not_fork_the_chain(void **state)
{
	struct fixture *f = *state;
	struct fg_audit au = audit_for("unlock", "carol");
	struct fg_store *other = NULL;
	char err[256];
	int i, status;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int bad = fg_store_open(f->path, &other, err, sizeof(err));
		for (i = 0; i < 200 && bad == FG_OK; i++)
			bad = fg_store_audit(other, &au);
		fg_store_close(&other);
		_exit(bad == FG_OK ? 0 : 1);
	}
	for (i = 0; i < 200; i++)
		assert_int_equal(fg_store_audit(f->s, &au), FG_OK);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	assert_verdict(f->s, NULL, 0, true, 400, NULL);
}

/* The last id the store's audit table gave out (the copy's counter). */
static int64_t
last_audit_id(struct fg_store *s)
{
	json_t *rows = NULL;
	int64_t id;

	assert_int_equal(fg_store_audit_list(s, NULL, 0, 1, &rows), FG_OK);
	id = json_integer_value(
	    json_object_get(json_array_get(rows, 0), "id"));
	json_decref(rows);
	return id;
}

/* A copy (into SQLite, from either backend) holds the same chain with
 * the same head; an id the source gave out is never given again, even
 * one cut off the end; a second copy into it is refused, and so is a
 * source whose chain is broken. */
static void
a_copy_holds_the_same_chain_and_gives_no_id_twice(void **state)
{
	struct fixture *f = *state;
	struct fg_audit au = audit_for("unlock", "alice");
	struct fg_store *c = NULL;
	struct fg_cred cr;
	json_t *out = NULL;
	char to[700], side[720], err[512];
	uint8_t id[16];
	int i;

	for (i = 0; i < 5; i++)
		assert_int_equal(fg_store_audit(f->s, &au), FG_OK);
	cred_for(&cr, id, "alice", 1, "main");
	au.event = "enroll";
	assert_int_equal(
	    fg_store_cred_add(f->s, "alice", handle_a, &cr, NULL, &au), FG_OK);
	/* record 7, the head, cut off behind the store's back */
	assert_int_equal(fg_store_audit(f->s, &au), FG_OK);
	behind_its_back(f, "DELETE FROM audit WHERE id = 7");
	snprintf(to, sizeof(to), "sqlite:%s/copy.db", f->dir);
	assert_int_equal(fg_store_copy(f->path, to, NULL, &out, err,
			     sizeof(err)),
	    FG_OK);
	assert_int_equal(json_integer_value(json_object_get(out, "records")),
	    6);
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(out, "tables"), "credentials")),
	    1);
	json_decref(out);
	out = NULL;
	assert_int_equal(fg_store_copy(f->path, to, NULL, &out, err,
			     sizeof(err)),
	    FG_ERR_EXISTS);
	assert_null(out);
	assert_int_equal(fg_store_open(to, &c, err, sizeof(err)), FG_OK);
	assert_verdict(c, NULL, 0, true, 6, NULL);
	assert_int_equal(fg_store_audit(c, &au), FG_OK);
	/* 8, not 7: the cut is found at the next record, in the copy as
	 * it would have been in the source */
	assert_int_equal(last_audit_id(c), 8);
	assert_verdict(c, NULL, 0, false, 7, "deleted");
	cred_for(&cr, id, "bob", 2, "main");
	assert_int_equal(fg_store_cred_add(c, "bob", handle_b, &cr, NULL, &au),
	    FG_OK);
	assert_counts(c, 2, 2, 0);
	fg_store_close(&c);
	/* a source whose chain is broken: refused, with its verdict */
	behind_its_back(f, "UPDATE audit SET reason = 'x' WHERE id = 2");
	unlink(to + 7);
	assert_int_equal(fg_store_copy(f->path, to, NULL, &out, err,
			     sizeof(err)),
	    FG_ERR_UNTRUSTED);
	assert_int_equal(json_integer_value(json_object_get(
			     json_object_get(out, "bad"), "id")),
	    2);
	json_decref(out);
	for (i = 0; i < 4; i++) {
		static const char *const suffix[] = { "", "-wal", "-shm",
			"-journal" };

		snprintf(side, sizeof(side), "%s%s", to + 7, suffix[i]);
		unlink(side);
	}
}

/* The first-admin bootstrap: keys for one user only, and none once an
 * admin is registered; decided in the transaction, so that two agents on
 * one database cannot both pass the rule. */
static void
the_bootstrap_enrols_one_user_until_an_admin_exists(void **state)
{
	struct fixture *f = *state;
	struct fg_audit au = audit_for("enroll", "alice");
	struct fg_request rq;
	struct fg_cred c, *list = NULL;
	struct fg_user u;
	uint8_t id[16];
	size_t n;

	cred_for(&c, id, "alice", 1, "first");
	assert_int_equal(
	    fg_store_cred_add_first(f->s, "alice", handle_a, &c, &au), FG_OK);
	cred_for(&c, id, "alice", 2, "second");
	assert_int_equal(
	    fg_store_cred_add_first(f->s, "alice", handle_a, &c, &au), FG_OK);

	/* another user: nothing written, not even the user */
	au.user = "bob";
	cred_for(&c, id, "bob", 1, "first");
	assert_int_equal(fg_store_cred_add_first(f->s, "bob", handle_b, &c, &au),
	    FG_ERR_NOTFOUND);
	assert_int_equal(fg_store_user_find(f->s, "bob", &u), FG_ERR_NOTFOUND);
	assert_int_equal(audit_rows(f->s, "bob"), 0);
	/* (with an admin's authority, bob is enrolled) */
	assert_int_equal(
	    fg_store_cred_add(f->s, "bob", handle_b, &c, NULL, &au), FG_OK);

	/* alice registered as admin: the bootstrap is over, for her too */
	memset(&rq, 0, sizeof(rq));
	snprintf(rq.action, sizeof(rq.action), "admin.add");
	snprintf(rq.user, sizeof(rq.user), "alice");
	au = audit_for("admin.add", "alice");
	assert_int_equal(fg_store_act(f->s, &rq, "root", &au), FG_OK);
	au = audit_for("enroll", "alice");
	cred_for(&c, id, "alice", 3, "third");
	assert_int_equal(
	    fg_store_cred_add_first(f->s, "alice", handle_a, &c, &au),
	    FG_ERR_NOTFOUND);
	assert_int_equal(fg_store_user_find(f->s, "alice", &u), FG_OK);
	assert_int_equal(fg_store_creds(f->s, u.id, false, &list, &n), FG_OK);
	assert_int_equal(n, 2);
	fg_cred_list_free(&list, n);
}

/* A browser login's state in the store (oidc.c): a code is redeemed
 * once, its second redemption writing nothing (no second token, no
 * second approval); a challenge is taken once, late or not. */
static int64_t
later_ms(int64_t ms)
{
	return (int64_t)time(NULL) * 1000 + ms;
}

static void
a_code_is_redeemed_once(void **state)
{
	struct fixture *f = *state;
	struct fg_audit au = audit_for("oidc.token", "alice");
	uint8_t code[32], t1[32], t2[32];
	char *body = NULL;
	int64_t used = -1, n = 0, m = 0;

	memset(code, 1, sizeof(code));
	memset(t1, 2, sizeof(t1));
	memset(t2, 3, sizeof(t2));
	assert_int_equal(fg_store_code_add(f->s, code, "alice", "{}",
			     later_ms(60000), 10),
	    FG_OK);
	assert_int_equal(fg_store_code_get(f->s, code, &body, &used), FG_OK);
	assert_string_equal(body, "{}");
	assert_int_equal(used, 0);
	free(body);
	assert_int_equal(fg_store_code_redeem(f->s, code, t1, "{\"t\":1}",
			     later_ms(60000), "alice", "sid-1", "synapse", &au),
	    FG_OK);
	assert_int_equal(fg_store_code_redeem(f->s, code, t2, "{\"t\":2}",
			     later_ms(60000), "alice", "sid-2", "synapse", &au),
	    FG_ERR_NOTFOUND);
	assert_int_equal(fg_store_code_get(f->s, code, &body, &used), FG_OK);
	assert_true(used > 0);
	free(body);
	assert_int_equal(fg_store_token_get(f->s, t1, &body), FG_OK);
	free(body);
	assert_int_equal(fg_store_token_get(f->s, t2, &body), FG_ERR_NOTFOUND);
	/* the replay drops the token the first redemption gave */
	assert_int_equal(fg_store_code_token_drop(f->s, code), FG_OK);
	assert_int_equal(fg_store_token_get(f->s, t1, &body), FG_ERR_NOTFOUND);
	assert_int_equal(fg_store_oidc_drop_user(f->s, "alice", &n, &m), FG_OK);
	assert_int_equal(n, 0); /* the one code was used */
}

static unsigned expired_calls;

static void
count_expired(const struct fg_web_chal *c, void *arg)
{
	(void)arg;
	assert_string_equal(c->user, "bob");
	expired_calls++;
}

static void
a_web_challenge_is_taken_once(void **state)
{
	struct fixture *f = *state;
	struct fg_web_chal c = { .uv = true }, got;
	uint8_t tx[32], s1[32], s2[32];
	bool net_full = true;

	memset(tx, 4, sizeof(tx));
	memset(s1, 5, sizeof(s1));
	memset(s2, 6, sizeof(s2));
	memset(c.challenge, 7, sizeof(c.challenge));
	snprintf(c.user, sizeof(c.user), "bob");
	snprintf(c.detail, sizeof(c.detail), "synapse");
	c.expires = later_ms(60000);
	assert_int_equal(fg_store_tx_add(f->s, tx, NULL, "{}", later_ms(60000),
			     1, "", 10, &net_full),
	    FG_OK);
	assert_false(net_full);
	/* the cap counts live transactions */
	memset(s2, 8, sizeof(s2));
	assert_int_equal(fg_store_tx_add(f->s, s2, NULL, "{}", later_ms(60000),
			     1, "", 10, &net_full),
	    FG_ERR_LIMIT);
	assert_false(net_full);
	memset(s2, 6, sizeof(s2));
	assert_int_equal(fg_store_web_chal_set(f->s, tx, s1, &c, 4), FG_OK);
	/* a new begin replaces it */
	assert_int_equal(fg_store_web_chal_set(f->s, tx, s2, &c, 1), FG_OK);
	/* and a user's live challenges are capped, whichever login */
	assert_int_equal(fg_store_web_chal_set(f->s, s2, s1, &c, 1),
	    FG_ERR_LIMIT);
	assert_int_equal(fg_store_web_chal_take(f->s, tx, s1, &got),
	    FG_ERR_NOTFOUND);
	assert_int_equal(fg_store_web_chal_take(f->s, s1, s2, &got),
	    FG_ERR_NOTFOUND); /* another transaction's */
	assert_int_equal(fg_store_web_chal_take(f->s, tx, s2, &got), FG_OK);
	assert_memory_equal(got.challenge, c.challenge, sizeof(c.challenge));
	assert_string_equal(got.user, "bob");
	assert_true(got.uv);
	assert_int_equal(fg_store_web_chal_take(f->s, tx, s2, &got),
	    FG_ERR_NOTFOUND);
	/* late: taken all the same, and said so */
	c.expires = later_ms(-1000);
	assert_int_equal(fg_store_web_chal_set(f->s, tx, s1, &c, 4), FG_OK);
	assert_int_equal(fg_store_web_chal_take(f->s, tx, s1, &got),
	    FG_ERR_TIMEOUT);
	/* left unanswered: the sweep tells of it once */
	assert_int_equal(fg_store_web_chal_set(f->s, tx, s1, &c, 4), FG_OK);
	expired_calls = 0;
	assert_int_equal(fg_store_oidc_sweep(f->s, later_ms(0), count_expired,
			     NULL),
	    FG_OK);
	assert_int_equal(fg_store_oidc_sweep(f->s, later_ms(0), count_expired,
			     NULL),
	    FG_OK);
	assert_int_equal(expired_calls, 1);
	assert_int_equal(fg_store_web_chal_take(f->s, tx, s1, &got),
	    FG_ERR_NOTFOUND);
}

/* The caps on browser logins count per client network too: one network
 * fills its own slots, of transactions and of a user's challenges,
 * and no other's. */
static void
a_network_fills_its_own_login_slots(void **state)
{
	struct fixture *f = *state;
	struct fg_web_chal c = { .uv = true };
	uint8_t a1[32], a2[32], b1[32], s1[32], s2[32], s3[32];
	bool net_full = false;

	memset(a1, 0x11, 32);
	memset(a2, 0x12, 32);
	memset(b1, 0x21, 32);
	memset(s1, 0x31, 32);
	memset(s2, 0x32, 32);
	memset(s3, 0x33, 32);
	memset(c.challenge, 7, sizeof(c.challenge));
	snprintf(c.user, sizeof(c.user), "carol");
	c.expires = later_ms(60000);
	assert_int_equal(fg_store_tx_add(f->s, a1, NULL, "{}", later_ms(60000),
			     100, "192.0.2.1", 2, &net_full),
	    FG_OK);
	assert_int_equal(fg_store_tx_add(f->s, a2, NULL, "{}", later_ms(60000),
			     100, "192.0.2.1", 2, &net_full),
	    FG_OK);
	assert_int_equal(fg_store_tx_add(f->s, s3, NULL, "{}", later_ms(60000),
			     100, "192.0.2.1", 2, &net_full),
	    FG_ERR_LIMIT);
	assert_true(net_full);
	assert_int_equal(fg_store_tx_add(f->s, b1, NULL, "{}", later_ms(60000),
			     100, "2001:db8:1:2::/64", 2, &net_full),
	    FG_OK);
	assert_false(net_full);
	/* an expired transaction holds no slot */
	assert_int_equal(fg_store_tx_add(f->s, s3, NULL, "{}", later_ms(-1),
			     100, "198.51.100.7", 1, &net_full),
	    FG_OK);
	memset(s3, 0x34, 32);
	assert_int_equal(fg_store_tx_add(f->s, s3, NULL, "{}", later_ms(60000),
			     100, "198.51.100.7", 1, &net_full),
	    FG_OK);
	/* carol's one slot from 192.0.2.1 is taken by the first login
	 * there; a second from there is refused; from her own network
	 * she still begins */
	assert_int_equal(fg_store_web_chal_set(f->s, a1, s1, &c, 1), FG_OK);
	assert_int_equal(fg_store_web_chal_set(f->s, a2, s2, &c, 1),
	    FG_ERR_LIMIT);
	assert_int_equal(fg_store_web_chal_set(f->s, b1, s2, &c, 1), FG_OK);
	/* another user's slots are apart */
	snprintf(c.user, sizeof(c.user), "dave");
	assert_int_equal(fg_store_web_chal_set(f->s, a2, s3, &c, 1), FG_OK);
}

/* The provider's state is spent once, and gives its transaction a new
 * key in the same statement: the old one finds nothing after it. */
static void
a_state_is_spent_once_and_rekeys_its_transaction(void **state)
{
	struct fixture *f = *state;
	uint8_t id[32], st[32], fresh[32], other[32], got[32];
	char *body = NULL;
	int64_t expires = 0;
	bool net_full = false;

	memset(id, 0x51, 32);
	memset(st, 0x52, 32);
	memset(fresh, 0x53, 32);
	memset(other, 0x54, 32);
	assert_int_equal(fg_store_tx_add(f->s, id, st, "{\"a\":1}",
			     later_ms(60000), 10, "", 10, &net_full),
	    FG_OK);
	/* looked at: not spent */
	assert_int_equal(fg_store_tx_of_state(f->s, st, NULL, got, &body,
			     &expires),
	    FG_OK);
	assert_memory_equal(got, id, 32);
	free(body);
	body = NULL;
	assert_int_equal(fg_store_tx_of_state(f->s, st, fresh, got, &body,
			     &expires),
	    FG_OK);
	assert_memory_equal(got, fresh, 32);
	assert_string_equal(body, "{\"a\":1}");
	free(body);
	body = NULL;
	assert_int_equal(fg_store_tx_of_state(f->s, st, other, got, &body,
			     &expires),
	    FG_ERR_NOTFOUND);
	assert_int_equal(fg_store_tx_get(f->s, id, &body, &expires),
	    FG_ERR_NOTFOUND);
	assert_int_equal(fg_store_tx_get(f->s, fresh, &body, &expires), FG_OK);
	free(body);
}

/* A redeemed code outlives its expiry while the token it gave lives: a
 * late replay is still told as one, and the token can be revoked. */
static void
a_redeemed_code_is_kept_while_its_token_lives(void **state)
{
	struct fixture *f = *state;
	struct fg_audit a = { .event = "oidc.token", .user = "erin",
		.result = "ok" };
	uint8_t code[32], unused[32], token[32];
	char *body = NULL;
	int64_t used = 0;

	memset(code, 0x41, 32);
	memset(unused, 0x42, 32);
	memset(token, 0x43, 32);
	assert_int_equal(fg_store_code_add(f->s, code, "erin", "{}",
			     later_ms(60000), 10),
	    FG_OK);
	assert_int_equal(fg_store_code_add(f->s, unused, "erin", "{}",
			     later_ms(60000), 10),
	    FG_OK);
	assert_int_equal(fg_store_code_redeem(f->s, code, token, "{}",
			     later_ms(3600000), "erin", "sid-erin", "app", &a),
	    FG_OK);
	/* both codes past their expiry, the token not */
	assert_int_equal(fg_store_oidc_sweep(f->s, later_ms(120000), NULL,
			     NULL),
	    FG_OK);
	assert_int_equal(fg_store_code_get(f->s, unused, &body, &used),
	    FG_ERR_NOTFOUND);
	assert_int_equal(fg_store_code_get(f->s, code, &body, &used), FG_OK);
	assert_true(used != 0);
	free(body);
	body = NULL;
	/* its token revoked: the code goes with the next sweep */
	assert_int_equal(fg_store_code_token_drop(f->s, code), FG_OK);
	assert_int_equal(fg_store_token_get(f->s, token, &body),
	    FG_ERR_NOTFOUND);
	assert_int_equal(fg_store_oidc_sweep(f->s, later_ms(120000), NULL,
			     NULL),
	    FG_OK);
	assert_int_equal(fg_store_code_get(f->s, code, &body, &used),
	    FG_ERR_NOTFOUND);
}

/* A user's failed attempts, counted in the store for every agent: the
 * count grows, restarts once past its window, ends with a login, an
 * unlock's clear, or the sweep. */
static void
failed_attempts_are_counted_for_every_agent(void **state)
{
	struct fixture *f = *state;
	struct fg_audit au = audit_for("enroll", "alice");
	struct fg_cred c, *list = NULL;
	struct fg_user u;
	uint8_t id[16];
	int64_t n;
	size_t k;

	assert_int_equal(fg_store_failure_add(f->s, "alice", 60000, &n), FG_OK);
	assert_int_equal(n, 1);
	assert_int_equal(fg_store_failure_add(f->s, "alice", 60000, &n), FG_OK);
	assert_int_equal(n, 2);
	assert_int_equal(fg_store_failure_add(f->s, "bob", 60000, &n), FG_OK);
	assert_int_equal(n, 1);
	/* a window of -1 ms: the last failure is always past it */
	assert_int_equal(fg_store_failure_add(f->s, "alice", -1, &n), FG_OK);
	assert_int_equal(n, 1);
	assert_int_equal(fg_store_failure_add(f->s, "alice", 60000, &n), FG_OK);
	assert_int_equal(n, 2);

	/* a login ends alice's count, not bob's */
	cred_for(&c, id, "alice", 1, "main");
	assert_int_equal(
	    fg_store_cred_add(f->s, "alice", handle_a, &c, NULL, &au), FG_OK);
	assert_int_equal(fg_store_user_find(f->s, "alice", &u), FG_OK);
	assert_int_equal(fg_store_creds(f->s, u.id, false, &list, &k), FG_OK);
	assert_int_equal(k, 1);
	au = audit_for("auth", "alice");
	assert_int_equal(fg_store_cred_used(f->s, list[0].id, 5, 0, &au), FG_OK);
	fg_cred_list_free(&list, k);
	assert_int_equal(fg_store_failure_add(f->s, "alice", 60000, &n), FG_OK);
	assert_int_equal(n, 1);
	assert_int_equal(fg_store_failure_add(f->s, "bob", 60000, &n), FG_OK);
	assert_int_equal(n, 2);

	/* an unlock's clear; the sweep of counts past their window */
	assert_int_equal(fg_store_failures_clear(f->s, "bob"), FG_OK);
	assert_int_equal(fg_store_failure_add(f->s, "bob", 60000, &n), FG_OK);
	assert_int_equal(n, 1);
	assert_int_equal(fg_store_failures_sweep(f->s, 60000), FG_OK);
	assert_int_equal(fg_store_failure_add(f->s, "bob", 60000, &n), FG_OK);
	assert_int_equal(n, 2);
	assert_int_equal(fg_store_failures_sweep(f->s, -1000), FG_OK);
	assert_int_equal(fg_store_failure_add(f->s, "bob", 60000, &n), FG_OK);
	assert_int_equal(n, 1);
}

int
main(int argc, char **argv)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(statements_outside_the_cache_are_released),
	    T(a_full_cache_releases_the_rest),
	    T(released_statements_do_not_leak),
	    T(the_cache_cannot_grow_past_its_size),
	    T(a_duplicate_credential_leaves_no_user_and_no_audit_record),
	    T(a_change_whose_audit_record_fails_is_undone),
	    T(a_change_that_finds_no_row_writes_nothing),
	    T(a_second_key_keeps_the_users_handle),
	    T(an_admin_lock_revokes_the_unconsumed_approvals),
	    T(the_chain_links_every_record),
	    T(the_chain_names_the_first_bad_record),
	    T(the_chain_can_be_walked_in_steps),
	    T(two_writers_do_not_fork_the_chain),
	    T(a_copy_holds_the_same_chain_and_gives_no_id_twice),
	    T(the_bootstrap_enrols_one_user_until_an_admin_exists),
	    T(failed_attempts_are_counted_for_every_agent),
	    T(a_code_is_redeemed_once),
	    T(a_web_challenge_is_taken_once),
	    T(a_network_fills_its_own_login_slots),
	    T(a_redeemed_code_is_kept_while_its_token_lives),
	    T(a_state_is_spent_once_and_rekeys_its_transaction),
	};
#undef T

	if (argc > 1)
		pg_base = argv[1];
	return cmocka_run_group_tests_name(
	    pg_base != NULL ? "store on PostgreSQL" : "store on SQLite", tests,
	    NULL, NULL);
}
