/*
 * The audit log's hash chain (docs/architecture.md, "The audit chain"):
 * how a record is hashed, and the walk that checks the chain. Shared by the
 * agent, which writes and checks the chain of its store, and by
 * fido2gatectl, which checks a copy of a store offline (it links this one
 * file of the agent's); no secret is involved.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "auditchain.h"

/* SHA-256 input: a length (32 bits, big-endian), then the bytes. */
static bool
put_bytes(EVP_MD_CTX *ctx, const void *p, size_t n)
{
	uint8_t len[4] = {(uint8_t)(n >> 24), (uint8_t)(n >> 16),
	    (uint8_t)(n >> 8), (uint8_t)n};

	return n <= UINT32_MAX && EVP_DigestUpdate(ctx, len, 4) == 1 &&
	    (n == 0 || EVP_DigestUpdate(ctx, p, n) == 1);
}

static bool
put_u64(EVP_MD_CTX *ctx, uint64_t v)
{
	uint8_t b[8];
	int i;

	for (i = 7; i >= 0; i--, v >>= 8)
		b[i] = (uint8_t)v;
	return EVP_DigestUpdate(ctx, b, 8) == 1;
}

/*
 * The hash of an audit record: SHA-256 over FG_AUDIT_TAG, then every column
 * of the record (a row of SELECT * FROM audit) but hash itself and
 * those that are NULL, in the table's order, each as its name and a
 * typed, length-prefixed value. No two different records serialise
 * alike, whatever bytes their text holds, and a column added by a later
 * migration is covered without a change here. id, ts and prev are columns
 * like the others: a record moved, redated or relinked no longer matches
 * its hash. Both stores give a record the same columns and types, so a
 * record hashes alike in SQLite and in PostgreSQL.
 */
int
fg_audit_hash_cols(const struct fg_audit_col *cols, size_t n,
    char hex[FG_AUDIT_HASH_HEX])
{
	EVP_MD_CTX *ctx = NULL;
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, k;
	uint64_t bits;
	size_t i;
	int ret = FG_ERR_INTERNAL;
	bool good;

	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    !put_bytes(ctx, FG_AUDIT_TAG, strlen(FG_AUDIT_TAG)))
		goto out;
	for (i = 0; i < n; i++) {
		if (cols[i].name == NULL)
			goto out;
		/* NULL is left out, name and all: a column a later
		 * migration adds is NULL in the records before it, whose
		 * hashes then stay as they were */
		if (strcmp(cols[i].name, "hash") == 0 || cols[i].type == 0)
			continue;
		good = put_bytes(ctx, cols[i].name, strlen(cols[i].name));
		switch (cols[i].type) {
		case 'i':
			good = good && EVP_DigestUpdate(ctx, "i", 1) == 1 &&
			    put_u64(ctx, (uint64_t)cols[i].i);
			break;
		case 'r':
			memcpy(&bits, &cols[i].r, sizeof(bits));
			good = good && EVP_DigestUpdate(ctx, "r", 1) == 1 &&
			    put_u64(ctx, bits);
			break;
		case 't':
		case 'b':
			good = good &&
			    EVP_DigestUpdate(ctx, &cols[i].type, 1) == 1 &&
			    put_bytes(ctx, cols[i].p, cols[i].n);
			break;
		default:
			good = false;
		}
		if (!good)
			goto out;
	}
	if (EVP_DigestFinal_ex(ctx, md, &mdlen) != 1 || mdlen != 32)
		goto out;
	for (k = 0; k < mdlen; k++)
		snprintf(hex + 2 * k, 3, "%02x", md[k]);
	ret = FG_OK;
out:
	EVP_MD_CTX_free(ctx);
	return ret;
}

/* The columns of the SQLite row st stands on. */
static int
sqlite_cols(sqlite3_stmt *st, struct fg_audit_col *cols, size_t *n)
{
	int i, count = sqlite3_column_count(st);

	if (count < 0 || (size_t)count > FG_AUDIT_COLS_MAX)
		return FG_ERR_STORE;
	for (i = 0; i < count; i++) {
		struct fg_audit_col *c = &cols[i];

		memset(c, 0, sizeof(*c));
		c->name = sqlite3_column_name(st, i);
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_INTEGER:
			c->type = 'i';
			c->i = sqlite3_column_int64(st, i);
			break;
		case SQLITE_FLOAT:
			c->type = 'r';
			c->r = sqlite3_column_double(st, i);
			break;
		case SQLITE_TEXT:
			c->type = 't';
			c->p = sqlite3_column_text(st, i);
			c->n = (size_t)sqlite3_column_bytes(st, i);
			break;
		case SQLITE_BLOB:
			c->type = 'b';
			c->p = sqlite3_column_blob(st, i);
			c->n = (size_t)sqlite3_column_bytes(st, i);
			break;
		}
	}
	*n = (size_t)count;
	return FG_OK;
}

int
fg_audit_hash(sqlite3_stmt *st, char hex[FG_AUDIT_HASH_HEX])
{
	struct fg_audit_col cols[FG_AUDIT_COLS_MAX];
	size_t n = 0;
	int r;

	if ((r = sqlite_cols(st, cols, &n)) != FG_OK)
		return r;
	return fg_audit_hash_cols(cols, n, hex);
}

/* The verdict's first bad record. */
static __attribute__((format(printf, 4, 5))) json_t *
tampered(int64_t id, const char *problem, int64_t checked, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return json_pack("{s:b,s:I,s:{s:I,s:s,s:s}}", "intact", 0, "records",
	    (json_int_t)checked, "bad", "id", (json_int_t)id, "problem",
	    problem, "message", msg);
}

/* A column of a record by name, or NULL. */
static const struct fg_audit_col *
col_named(const struct fg_audit_col *cols, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(cols[i].name, name) == 0)
			return &cols[i];
	return NULL;
}

/* A text column as a C string (hex hashes): NULL when absent, NULL or
 * not text. */
static const char *
col_hex(const struct fg_audit_col *c, char buf[FG_AUDIT_HASH_HEX + 1])
{
	if (c == NULL || c->type != 't')
		return NULL;
	snprintf(buf, FG_AUDIT_HASH_HEX + 1, "%.*s",
	    (int)(c->n < FG_AUDIT_HASH_HEX ? c->n : FG_AUDIT_HASH_HEX),
	    (const char *)c->p);
	return buf;
}

/*
 * Walks the chain, oldest first, from the record after from (the start
 * when NULL), at most max records (0: all), and stops at the first record
 * that is wrong: its hash does not match its content (edited), it has none
 * (unchained), ids jump or its prev is not the hash of the record before
 * (deleted), it differs from an anchor (rewritten), or the chain ends
 * before an anchor (truncated, known only once the end is reached). A walk
 * cut at max records says so ("more"), with the last record checked as
 * its head: the next walk goes on from there. Nothing is kept but the last
 * hash: any size of log.
 */
int
fg_audit_verify_walk(fg_audit_next_fn next, void *ctx,
    const struct fg_anchor *from, size_t max,
    const struct fg_anchor *anchors, size_t n_anchors, json_t **out)
{
	struct fg_audit_col cols[FG_AUDIT_COLS_MAX];
	const struct fg_audit_col *c_id;
	char prev[FG_AUDIT_HASH_HEX] = FG_AUDIT_GENESIS,
	     hash[FG_AUDIT_HASH_HEX], sbuf[FG_AUDIT_HASH_HEX + 1],
	     lbuf[FG_AUDIT_HASH_HEX + 1];
	const char *stored, *link;
	int64_t id, expect = 1, checked = 0, last = 0;
	bool more = false;
	int r, ret = FG_ERR_INTERNAL;
	const struct fg_anchor *missing = NULL;
	json_t *v = NULL;
	size_t k, n = 0;

	*out = NULL;
	if (from != NULL) {
		memcpy(prev, from->hash, sizeof(prev));
		prev[sizeof(prev) - 1] = '\0';
		last = from->id;
		expect = from->id + 1;
	}
	while ((r = next(ctx, cols, &n)) == 1) {
		if (max != 0 && (size_t)checked == max) {
			more = true;
			break;
		}
		if ((c_id = col_named(cols, n, "id")) == NULL ||
		    c_id->type != 'i' || col_named(cols, n, "prev") == NULL ||
		    col_named(cols, n, "hash") == NULL) {
			v = tampered(1, "unchained", 0,
			    "the audit table has no id, prev or hash column");
			goto done;
		}
		id = c_id->i;
		if (id < 1) {
			v = tampered(id, "inserted", checked,
			    "record %lld has an id below 1: the agent never "
			    "writes one, so it was put there behind its back",
			    (long long)id);
			goto done;
		}
		stored = col_hex(col_named(cols, n, "hash"), sbuf);
		link = col_hex(col_named(cols, n, "prev"), lbuf);
		if ((r = fg_audit_hash_cols(cols, n, hash)) != FG_OK) {
			ret = r;
			goto out;
		}
		if (stored == NULL) {
			v = tampered(id, "unchained", checked,
			    "record %lld has no hash: it was not written by "
			    "the agent",
			    (long long)id);
			goto done;
		}
		if (strcmp(stored, hash) != 0) {
			v = tampered(id, "edited", checked,
			    "record %lld does not match its hash: its content "
			    "was changed",
			    (long long)id);
			goto done;
		}
		if (id != expect) {
			v = id > expect + 1
			    ? tampered(expect, "deleted", checked,
				  "records %lld to %lld are missing (the next "
				  "record is %lld)",
				  (long long)expect, (long long)id - 1,
				  (long long)id)
			    : tampered(expect, "deleted", checked,
				  "record %lld is missing (the next record is "
				  "%lld)",
				  (long long)expect, (long long)id);
			goto done;
		}
		if (link == NULL || strcmp(link, prev) != 0) {
			v = tampered(id, "deleted", checked,
			    "record %lld does not follow record %lld: its "
			    "previous hash differs (a record was removed or "
			    "replaced)",
			    (long long)id, (long long)id - 1);
			goto done;
		}
		for (k = 0; k < n_anchors; k++)
			if (anchors[k].id == id &&
			    strcmp(anchors[k].hash, hash) != 0) {
				v = tampered(id, "anchor", checked,
				    "record %lld differs from the anchor "
				    "%lld:%.12s...: the log was rewritten up "
				    "to here",
				    (long long)id, (long long)id,
				    anchors[k].hash);
				goto done;
			}
		memcpy(prev, hash, sizeof(prev));
		last = id;
		expect = id + 1;
		checked++;
	}
	if (!more && r != 0) {
		ret = r < 0 ? r : FG_ERR_STORE;
		goto out;
	}
	for (k = 0; k < n_anchors && !more; k++)
		if (anchors[k].id > last &&
		    (missing == NULL || anchors[k].id < missing->id))
			missing = &anchors[k];
	if (missing != NULL) {
		v = tampered(last + 1, "truncated", checked,
		    "the log ends at record %lld, before the anchor's record "
		    "%lld: records from %lld on were removed",
		    (long long)last, (long long)missing->id,
		    (long long)last + 1);
		goto done;
	}
	v = json_pack("{s:b,s:I,s:{s:I,s:s},s:b}", "intact", 1, "records",
	    (json_int_t)checked, "head", "id", (json_int_t)last, "hash", prev,
	    "more", more);
done:
	if (v == NULL) {
		ret = FG_ERR_NOMEM;
		goto out;
	}
	*out = v;
	ret = FG_OK;
out:
	return ret;
}

/* fg_audit_verify_walk's rows from SQLite. */
static int
sqlite_next(void *ctx, struct fg_audit_col *cols, size_t *n)
{
	sqlite3_stmt *st = ctx;
	int r = sqlite3_step(st);

	if (r == SQLITE_DONE)
		return 0;
	if (r != SQLITE_ROW)
		return FG_ERR_STORE;
	return sqlite_cols(st, cols, n) == FG_OK ? 1 : FG_ERR_STORE;
}

int
fg_audit_verify(sqlite3 *db, const struct fg_anchor *from, size_t max,
    const struct fg_anchor *anchors, size_t n_anchors, json_t **out)
{
	sqlite3_stmt *st = NULL;
	int ret = FG_ERR_INTERNAL;

	*out = NULL;
	if (sqlite3_prepare_v2(db,
		"SELECT * FROM audit WHERE id > ? ORDER BY id", -1, &st,
		NULL) != SQLITE_OK) {
		ret = FG_ERR_STORE;
		goto out;
	}
	sqlite3_bind_int64(st, 1, from != NULL ? from->id : INT64_MIN);
	ret = fg_audit_verify_walk(sqlite_next, st, from, max, anchors,
	    n_anchors, out);
out:
	sqlite3_finalize(st);
	return ret;
}
