/*
 * cbor_load() for outside input. libcbor allocates a definite array or map
 * for the count its header declares, before reading a single element, so
 * five bytes can ask for gigabytes. We first walk the item with libcbor's
 * own streaming decoder, which allocates nothing, and refuse any count
 * that the bytes left could not hold (every element takes at least one
 * byte) and any indefinite length (CTAP2 encodings are canonical).
 */
#include <string.h>

#include <cbor.h>

#include "fg.h"

struct walk {
	size_t pending; /* items still to come, the current one included */
	size_t left;	/* bytes after the current item's first byte */
	bool bad;
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
	memset(res, 0, sizeof(*res));
	if (p == NULL || !fg_cbor_well_sized(p, len, NULL)) {
		res->error.code = CBOR_ERR_MALFORMATED;
		return NULL;
	}
	return cbor_load(p, len, res);
}
