/*
 * The audit log's hash chain, over SQLite rows of the audit table. Made in
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

/* The hash of the row st stands on (a SELECT * FROM audit). */
int fg_audit_hash(sqlite3_stmt *st, char hex[FG_AUDIT_HASH_HEX]);
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
