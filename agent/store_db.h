/*
 * The store's two backends, behind store.c: SQLite (store_sqlite.c), the
 * embedded default, and PostgreSQL through libpq (store_pg.c), the store
 * several agents share. store.c writes every operation once, in SQL both
 * accept ("?" or "?N" parameters, which the PostgreSQL backend numbers as
 * $N), over these primitives, modelled on SQLite's. What differs is here:
 * the schema's DDL, how a write transaction takes the store's single
 * writer lock, what makes a commit durable, and the errors.
 */
#ifndef FG_STORE_DB_H
#define FG_STORE_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What db_step() returns; anything else is an error, which errcode()
 * and errmsg() describe. */
#define DB_ROW 100
#define DB_DONE 101

enum db_type { DB_NULL, DB_INTEGER, DB_FLOAT, DB_TEXT, DB_BLOB };

struct db_ops;

/* The first member of each backend's connection and statement. */
struct db {
	const struct db_ops *ops;
};

struct db_stmt {
	struct db *db;
};

struct db_ops {
	const char *name;
	/* the numbered schema, one string per version, same count in both */
	const char *const *migrations;
	size_t n_migrations;
	/* an audit record's INSERT (store.c binds ?1 to ?10), RETURNING id */
	const char *audit_insert;
	/* For fg_store_copy(). A read-only transaction on one snapshot: */
	const char *snapshot;
	/* the store's tables, one name a row (empty for a new store): */
	const char *tables;
	/* the last audit id ever given out (no row: none): */
	const char *audit_seq_get;
	/* make it ?1, after rows were inserted with their ids: */
	const char *audit_seq_set;
	/* and the other tables' generated ids go on after the copied ones
	 * (statements without parameters, NULL at the end) */
	const char *const *ids_continue;
	/* passfile: PostgreSQL's password file, or NULL */
	int (*open)(const char *where, const char *passfile, struct db **out,
	    char *err, size_t errlen);
	void (*close)(struct db *db);
	int (*prepare)(struct db *db, const char *sql, struct db_stmt **out);
	void (*finalize)(struct db_stmt *st);
	/* for the next step; the bindings stay */
	void (*reset)(struct db_stmt *st);
	void (*clear_bindings)(struct db_stmt *st);
	/* several statements without parameters (the DDL) */
	int (*exec)(struct db *db, const char *sql);
	void (*bind_int64)(struct db_stmt *st, int i, int64_t v);
	void (*bind_text)(struct db_stmt *st, int i, const char *v);
	void (*bind_blob)(struct db_stmt *st, int i, const void *p, int n);
	/* a NULL of no type: the column's, whatever it is */
	void (*bind_null)(struct db_stmt *st, int i);
	int (*step)(struct db_stmt *st);
	int (*column_count)(struct db_stmt *st);
	const char *(*column_name)(struct db_stmt *st, int i);
	int (*column_type)(struct db_stmt *st, int i);
	int64_t (*column_int64)(struct db_stmt *st, int i);
	double (*column_double)(struct db_stmt *st, int i);
	const unsigned char *(*column_text)(struct db_stmt *st, int i);
	const void *(*column_blob)(struct db_stmt *st, int i);
	int (*column_bytes)(struct db_stmt *st, int i);
	/* rows changed by the last statement stepped to its end */
	int64_t (*changes)(struct db *db);
	/* a write transaction, holding the store's one writer lock until
	 * it ends: the audit chain's head read in it stays the head */
	int (*begin)(struct db *db);
	bool (*in_transaction)(struct db *db);
	/* the next commits fsynced before they return (true), or as the
	 * backend does by default (false) */
	int (*durable)(struct db *db, bool on);
	/* what was committed is on disk (before an anchor goes out) */
	int (*flush)(struct db *db);
	/* FG_ERR_EXISTS (a unique constraint) or FG_ERR_STORE */
	int (*errcode)(struct db *db);
	const char *(*errmsg)(struct db *db);
};

extern const struct db_ops fg_db_sqlite;
extern const struct db_ops fg_db_pg;

static inline int
db_step(struct db_stmt *st)
{
	return st->db->ops->step(st);
}

static inline void
db_reset(struct db_stmt *st)
{
	st->db->ops->reset(st);
}

static inline void
db_bind_int64(struct db_stmt *st, int i, int64_t v)
{
	st->db->ops->bind_int64(st, i, v);
}

static inline void
db_bind_text(struct db_stmt *st, int i, const char *v)
{
	st->db->ops->bind_text(st, i, v);
}

static inline void
db_bind_blob(struct db_stmt *st, int i, const void *p, int n)
{
	st->db->ops->bind_blob(st, i, p, n);
}

static inline void
db_bind_null(struct db_stmt *st, int i)
{
	st->db->ops->bind_null(st, i);
}

static inline int
db_column_count(struct db_stmt *st)
{
	return st->db->ops->column_count(st);
}

static inline const char *
db_column_name(struct db_stmt *st, int i)
{
	return st->db->ops->column_name(st, i);
}

static inline int
db_column_type(struct db_stmt *st, int i)
{
	return st->db->ops->column_type(st, i);
}

static inline int64_t
db_column_int64(struct db_stmt *st, int i)
{
	return st->db->ops->column_int64(st, i);
}

static inline int
db_column_int(struct db_stmt *st, int i)
{
	return (int)st->db->ops->column_int64(st, i);
}

static inline double
db_column_double(struct db_stmt *st, int i)
{
	return st->db->ops->column_double(st, i);
}

static inline const unsigned char *
db_column_text(struct db_stmt *st, int i)
{
	return st->db->ops->column_text(st, i);
}

static inline const void *
db_column_blob(struct db_stmt *st, int i)
{
	return st->db->ops->column_blob(st, i);
}

static inline int
db_column_bytes(struct db_stmt *st, int i)
{
	return st->db->ops->column_bytes(st, i);
}

static inline int64_t
db_changes(struct db *db)
{
	return db->ops->changes(db);
}

#endif
