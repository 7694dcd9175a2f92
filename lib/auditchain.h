/*
 * The audit log's hash chain, over rows of the audit table of either
 * store (SQLite or PostgreSQL), each read as a list of columns. Made in
 * agent/auditchain.c, which the agent's store and fido2gatectl's offline
 * check link; the PAM module and the web front do not.
 */
#ifndef FG_AUDITCHAIN_H
#define FG_AUDITCHAIN_H

#include <sqlite3.h>

#include "fg.h"

/* An audit record's hash in hex, with its NUL. */
#define FG_AUDIT_HASH_HEX 65
/* The prev of the chain's first record. */
#define FG_AUDIT_GENESIS                                                       \
	"0000000000000000000000000000000000000000000000000000000000000000"
/* Ahead of every record's serialisation: a hash of ours, of this
 * layout, can never be mistaken for a hash of anything else. */
#define FG_AUDIT_TAG "fido2gate audit record v1"

/* A chain head an admin kept: the record id and its hash, in hex. */
struct fg_anchor {
	int64_t id;
	char hash[FG_AUDIT_HASH_HEX];
};

/* A column of an audit record, as both stores give it. */
struct fg_audit_col {
	const char *name;
	char type; /* 'i' integer, 'r' real, 't' text, 'b' blob; 0: NULL */
	int64_t i;
	double r;
	const void *p; /* text or blob, n bytes */
	size_t n;
};
#define FG_AUDIT_COLS_MAX 32

/* The next record of a SELECT * FROM audit WHERE id > (from's id, or 0)
 * ORDER BY id: 1 with its columns in cols, 0 past the last, or an
 * FG_ERR_*. */
typedef int (*fg_audit_next_fn)(void *ctx, struct fg_audit_col *cols,
    size_t *n);

/* The hash of a record, from its columns in the table's order. */
int fg_audit_hash_cols(const struct fg_audit_col *cols, size_t n,
    char hex[FG_AUDIT_HASH_HEX]);
/* The hash of the SQLite row st stands on (a SELECT * FROM audit). */
int fg_audit_hash(sqlite3_stmt *st, char hex[FG_AUDIT_HASH_HEX]);
/* fg_audit_verify's walk over any store's records. */
int fg_audit_verify_walk(fg_audit_next_fn next, void *ctx,
    const struct fg_anchor *from, size_t max,
    const struct fg_anchor *anchors, size_t n_anchors, json_t **out);
/* The chain checked against the anchors, from the record after from (the
 * first when NULL), at most max records (0: to the end): a verdict
 * {intact, records, head {id, hash}, more} (more: the walk stopped at max;
 * go on from head) or {intact: false, records, bad {id, problem,
 * message}}, problem one of edited, unchained, deleted, anchor,
 * truncated. FG_OK whatever the verdict; FG_ERR_STORE when SQLite failed
 * (its message is db's). */
int fg_audit_verify(sqlite3 *db, const struct fg_anchor *from, size_t max,
    const struct fg_anchor *anchors, size_t n_anchors, json_t **out);

#endif
