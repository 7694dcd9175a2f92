/*
 * The audit log's hash chain (docs/architecture.md, "The audit chain"):
 * how a record is hashed, and the walk that checks the chain. Shared by the
 * agent, which writes and checks the chain of its store, and by
 * fido2gatectl, which checks a copy of a store offline (it links this one
 * file of the agent's); no secret is involved.
 */
#include <stdarg.h>
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
 * of the row st stands on (a SELECT * FROM audit) but hash itself and
 * those that are NULL, in the table's order, each as its name and a
 * typed, length-prefixed value. No two different records serialise
 * alike, whatever bytes their text holds, and a column added by a later
 * migration is covered without a change here. id, ts and prev are columns
 * like the others: a record moved, redated or relinked no longer matches
 * its hash.
 */
int
fg_audit_hash(sqlite3_stmt *st, char hex[FG_AUDIT_HASH_HEX])
{
	EVP_MD_CTX *ctx = NULL;
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, k;
	const char *name;
	const void *p;
	double d;
	uint64_t bits;
	int i, n = sqlite3_column_count(st), ret = FG_ERR_INTERNAL;
	bool good;

	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    !put_bytes(ctx, FG_AUDIT_TAG, strlen(FG_AUDIT_TAG)))
		goto out;
	for (i = 0; i < n; i++) {
		if ((name = sqlite3_column_name(st, i)) == NULL)
			goto out;
		/* NULL is left out, name and all: a column a later
		 * migration adds is NULL in the records before it, whose
		 * hashes then stay as they were */
		if (strcmp(name, "hash") == 0 ||
		    sqlite3_column_type(st, i) == SQLITE_NULL)
			continue;
		good = put_bytes(ctx, name, strlen(name));
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_INTEGER:
			good = good && EVP_DigestUpdate(ctx, "i", 1) == 1 &&
			    put_u64(ctx, (uint64_t)sqlite3_column_int64(st, i));
			break;
		case SQLITE_FLOAT:
			d = sqlite3_column_double(st, i);
			memcpy(&bits, &d, sizeof(bits));
			good = good && EVP_DigestUpdate(ctx, "r", 1) == 1 &&
			    put_u64(ctx, bits);
			break;
		case SQLITE_TEXT:
			p = sqlite3_column_text(st, i);
			good = good && EVP_DigestUpdate(ctx, "t", 1) == 1 &&
			    put_bytes(
				ctx, p, (size_t)sqlite3_column_bytes(st, i));
			break;
		case SQLITE_BLOB:
			p = sqlite3_column_blob(st, i);
			good = good && EVP_DigestUpdate(ctx, "b", 1) == 1 &&
			    put_bytes(
				ctx, p, (size_t)sqlite3_column_bytes(st, i));
			break;
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
fg_audit_verify(sqlite3 *db, const struct fg_anchor *from, size_t max,
    const struct fg_anchor *anchors, size_t n_anchors, json_t **out)
{
	sqlite3_stmt *st = NULL;
	char prev[FG_AUDIT_HASH_HEX] = FG_AUDIT_GENESIS,
	     hash[FG_AUDIT_HASH_HEX];
	const char *name, *stored, *link;
	int64_t id, expect = 1, checked = 0, last = 0;
	bool more = false;
	int c_id = -1, c_prev = -1, c_hash = -1, i, r, ret = FG_ERR_INTERNAL;
	const struct fg_anchor *missing = NULL;
	json_t *v = NULL;
	size_t k;

	*out = NULL;
	if (from != NULL) {
		memcpy(prev, from->hash, sizeof(prev));
		prev[sizeof(prev) - 1] = '\0';
		last = from->id;
		expect = from->id + 1;
	}
	if (sqlite3_prepare_v2(db,
		"SELECT * FROM audit WHERE id > ? ORDER BY id", -1, &st,
		NULL) != SQLITE_OK) {
		ret = FG_ERR_STORE;
		goto out;
	}
	sqlite3_bind_int64(st, 1, last);
	for (i = 0; i < sqlite3_column_count(st); i++) {
		name = sqlite3_column_name(st, i);
		if (strcmp(name, "id") == 0)
			c_id = i;
		else if (strcmp(name, "prev") == 0)
			c_prev = i;
		else if (strcmp(name, "hash") == 0)
			c_hash = i;
	}
	if (c_id < 0 || c_prev < 0 || c_hash < 0) {
		v = tampered(1, "unchained", 0,
		    "the audit table has no id, prev or hash column");
		goto done;
	}
	while ((r = sqlite3_step(st)) == SQLITE_ROW) {
		if (max != 0 && (size_t)checked == max) {
			more = true;
			break;
		}
		id = sqlite3_column_int64(st, c_id);
		stored = (const char *)sqlite3_column_text(st, c_hash);
		link = (const char *)sqlite3_column_text(st, c_prev);
		if ((r = fg_audit_hash(st, hash)) != FG_OK) {
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
	if (!more && r != SQLITE_DONE) {
		ret = FG_ERR_STORE;
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
	sqlite3_finalize(st);
	return ret;
}
