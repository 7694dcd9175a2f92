/*
 * cbor_load() for outside input. libcbor allocates a definite array or map
 * for the count its header declares, before reading a single element, so
 * five bytes can ask for gigabytes. We first walk the item with libcbor's
 * own streaming decoder, which allocates nothing, and refuse any count
 * that the bytes left could not hold (every element takes at least one
 * byte) and any indefinite length (CTAP2 encodings are canonical). Then,
 * on the loaded item, we refuse any map, at any depth, that repeats a key:
 * canonical CBOR never does, and a repeat lets two readers of the same
 * bytes see different values.
 */
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "fg.h"

struct walk {
	size_t pending; /* items still to come, the current one included */
	size_t left;	/* bytes after the current item's first byte */
	bool bad;
};

/* A map key as it is compared. Keys are equal exactly when they are the
 * same data item: the same major type and value, however wide the
 * encoding of the integer or of the string's length. */
struct key {
	cbor_type type;
	uint64_t val; /* an integer's value, a string's length */
	const unsigned char *str;
};

/* The current item announces n * per more items: they, and the items
 * already pending, need a byte each at least. */
static void
counted(void *ctx, size_t n, size_t per)
{
	struct walk *w = ctx;

	if (n > w->left / per || n * per > w->left - (w->pending - 1))
		w->bad = true;
	else
		w->pending += n * per;
}

static void
on_array(void *ctx, uint64_t n)
{
	counted(ctx, n > SIZE_MAX ? SIZE_MAX : (size_t)n, 1);
}

static void
on_map(void *ctx, uint64_t n)
{
	counted(ctx, n > SIZE_MAX ? SIZE_MAX : (size_t)n, 2);
}

static void
on_tag(void *ctx, uint64_t tag)
{
	(void)tag;
	counted(ctx, 1, 1);
}

static void
on_indefinite(void *ctx)
{
	((struct walk *)ctx)->bad = true;
}

/* Integers and strings: the keys of every map a FIDO authenticator sends
 * (COSE labels, extension identifiers, attStmt and attestation object
 * members). Other keys could only be compared by a deep walk; they are
 * refused rather than let through unchecked. */
static bool
key_of(const cbor_item_t *item, struct key *k)
{
	k->type = cbor_typeof(item);
	k->str = NULL;
	switch (k->type) {
	case CBOR_TYPE_UINT:
	case CBOR_TYPE_NEGINT:
		k->val = cbor_get_int(item);
		return true;
	case CBOR_TYPE_BYTESTRING:
		if (!cbor_bytestring_is_definite(item))
			return false;
		k->val = cbor_bytestring_length(item);
		k->str = cbor_bytestring_handle(item);
		return true;
	case CBOR_TYPE_STRING:
		if (!cbor_string_is_definite(item))
			return false;
		k->val = cbor_string_length(item);
		k->str = cbor_string_handle(item);
		return true;
	default:
		return false;
	}
}

static int
key_cmp(const void *a, const void *b)
{
	const struct key *x = a, *y = b;

	if (x->type != y->type)
		return x->type < y->type ? -1 : 1;
	if (x->val != y->val)
		return x->val < y->val ? -1 : 1;
	if (x->str == NULL || x->val == 0)
		return 0;
	return memcmp(x->str, y->str, (size_t)x->val);
}

static bool
reserve(const cbor_item_t ***v, size_t *cap, size_t need)
{
	const cbor_item_t **grown;
	size_t n = *cap;

	if (need <= n)
		return true;
	while (n < need)
		n = n == 0 ? 16 : n * 2;
	if ((grown = reallocarray(*v, n, sizeof(**v))) == NULL)
		return false;
	*v = grown;
	*cap = n;
	return true;
}

/* FG_OK when no map in root, at any depth, repeats a key. Iterative, so
 * that deep nesting costs heap, not stack; each map's keys are sorted, so
 * a map of n keys costs O(n log n) comparisons, not n * n. */
static int
keys_unique(const cbor_item_t *root)
{
	const cbor_item_t **todo = NULL;
	struct key *keys = NULL;
	size_t n_todo = 0, cap_todo = 0, cap_keys = 0, i, n;
	int ret = FG_ERR_NOMEM;

	if (!reserve(&todo, &cap_todo, 1))
		goto out;
	todo[n_todo++] = root;
	while (n_todo > 0) {
		const cbor_item_t *item = todo[--n_todo];
		cbor_item_t *tagged;

		switch (cbor_typeof(item)) {
		case CBOR_TYPE_ARRAY:
			n = cbor_array_size(item);
			if (!reserve(&todo, &cap_todo, n_todo + n))
				goto out;
			for (i = 0; i < n; i++)
				todo[n_todo++] = cbor_array_handle(item)[i];
			break;
		case CBOR_TYPE_MAP:
			n = cbor_map_size(item);
			if (!reserve(&todo, &cap_todo, n_todo + n))
				goto out;
			if (n > cap_keys) {
				free(keys);
				if ((keys = calloc(n, sizeof(*keys))) == NULL)
					goto out;
				cap_keys = n;
			}
			for (i = 0; i < n; i++) {
				struct cbor_pair *p = &cbor_map_handle(item)[i];
				if (!key_of(p->key, &keys[i])) {
					ret = FG_ERR_INVALID;
					goto out;
				}
				todo[n_todo++] = p->value;
			}
			if (n > 1)
				qsort(keys, n, sizeof(*keys), key_cmp);
			for (i = 1; i < n; i++)
				if (key_cmp(&keys[i - 1], &keys[i]) == 0) {
					ret = FG_ERR_INVALID;
					goto out;
				}
			break;
		case CBOR_TYPE_TAG:
			/* cbor_tag_item() takes a reference; item keeps one */
			if (!reserve(&todo, &cap_todo, n_todo + 1))
				goto out;
			tagged = cbor_tag_item(item);
			todo[n_todo++] = tagged;
			cbor_decref(&tagged);
			break;
		default:
			break;
		}
	}
	ret = FG_OK;
out:
	free(todo);
	free(keys);
	return ret;
}

bool
fg_cbor_well_sized(const uint8_t *p, size_t len, size_t *item_len)
{
	struct cbor_callbacks cb = cbor_empty_callbacks;
	struct walk w = { .pending = 1 };
	size_t off = 0;

	cb.array_start = on_array;
	cb.map_start = on_map;
	cb.tag = on_tag;
	cb.indef_array_start = on_indefinite;
	cb.indef_map_start = on_indefinite;
	cb.byte_string_start = on_indefinite;
	cb.string_start = on_indefinite;
	cb.indef_break = on_indefinite;
	while (w.pending > 0) {
		struct cbor_decoder_result r;

		if (off >= len || w.pending - 1 > len - off - 1)
			return false;
		w.left = len - off - 1;
		r = cbor_stream_decode(p + off, len - off, &cb, &w);
		if (r.status != CBOR_DECODER_FINISHED || r.read == 0)
			return false;
		off += r.read;
		w.pending--;
		if (w.bad)
			return false;
	}
	if (item_len != NULL)
		*item_len = off;
	return true;
}

cbor_item_t *
fg_cbor_load(const uint8_t *p, size_t len, struct cbor_load_result *res)
{
	cbor_item_t *item;
	int r;

	memset(res, 0, sizeof(*res));
	if (p == NULL || !fg_cbor_well_sized(p, len, NULL)) {
		res->error.code = CBOR_ERR_MALFORMATED;
		return NULL;
	}
	if ((item = cbor_load(p, len, res)) == NULL)
		return NULL;
	if ((r = keys_unique(item)) != FG_OK) {
		cbor_decref(&item);
		res->error.code = CBOR_ERR_MALFORMATED;
		if (r == FG_ERR_NOMEM)
			res->error.code = CBOR_ERR_MEMERROR;
		return NULL;
	}
	return item;
}
