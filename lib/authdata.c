/*
 * authenticatorData (WebAuthn §6.1): rpIdHash, flags, signCount, then the
 * attested credential data when AT is set and an extensions map when ED is
 * set, and nothing after them. The CBOR items are measured with libcbor.
 */
#include <string.h>

#include <cbor.h>

#include "fg.h"

/* One CBOR map at p: its encoded length, or 0 when it is not a map. */
static size_t
cbor_map_len(const uint8_t *p, size_t len)
{
	struct cbor_load_result res;
	cbor_item_t *item;
	size_t n = 0;

	if (len == 0 || (item = fg_cbor_load(p, len, &res)) == NULL)
		return 0;
	if (res.error.code == CBOR_ERR_NONE && cbor_isa_map(item))
		n = res.read;
	cbor_decref(&item);
	return n;
}

int
fg_authdata_parse(const uint8_t *p, size_t len, struct fg_authdata *ad)
{
	size_t off = FG_AD_MIN, n;

	memset(ad, 0, sizeof(*ad));
	if (p == NULL || len < FG_AD_MIN)
		return FG_ERR_INVALID;
	ad->rp_id_hash = p;
	ad->flags = p[32];
	ad->sign_count = (uint32_t)p[33] << 24 | (uint32_t)p[34] << 16 |
	    (uint32_t)p[35] << 8 | p[36];
	if (ad->flags & FG_AD_AT) {
		if (len - off < 18)
			return FG_ERR_INVALID;
		ad->aaguid = p + off;
		n = (size_t)p[off + 16] << 8 | p[off + 17];
		off += 18;
		if (n == 0 || n > 1023 || len - off < n)
			return FG_ERR_INVALID;
		ad->cred_id = p + off;
		ad->cred_id_len = n;
		off += n;
		if ((n = cbor_map_len(p + off, len - off)) == 0)
			return FG_ERR_INVALID;
		ad->cose_key = p + off;
		ad->cose_key_len = n;
		off += n;
	}
	if (ad->flags & FG_AD_ED) {
		if ((n = cbor_map_len(p + off, len - off)) == 0)
			return FG_ERR_INVALID;
		off += n;
	}
	if (off != len)
		return FG_ERR_INVALID;
	return FG_OK;
}
