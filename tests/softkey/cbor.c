/*
 * Small typed accessors over libcbor items: the soft key reads CTAP maps
 * keyed by integers and strings and refuses every other shape.
 */
#include <stdlib.h>
#include <string.h>

#include "softkey.h"

bool
sk_cbor_int(const cbor_item_t *item, int64_t *out)
{
	uint64_t v;

	if (item == NULL)
		return false;
	if (cbor_isa_uint(item)) {
		v = cbor_get_int(item);
		if (v > INT64_MAX)
			return false;
		*out = (int64_t)v;
		return true;
	}
	if (cbor_isa_negint(item)) {
		v = cbor_get_int(item);
		if (v > INT64_MAX)
			return false;
		*out = -1 - (int64_t)v;
		return true;
	}
	return false;
}

bool
sk_cbor_bytes(const cbor_item_t *item, const uint8_t **ptr, size_t *len)
{
	if (item == NULL || !cbor_isa_bytestring(item) ||
	    !cbor_bytestring_is_definite(item))
		return false;
	*ptr = cbor_bytestring_handle(item);
	*len = cbor_bytestring_length(item);
	if (*ptr == NULL && *len == 0)
		*ptr = (const uint8_t *)"";
	return true;
}

char *
sk_cbor_text(const cbor_item_t *item)
{
	char *s;
	size_t len;

	if (item == NULL || !cbor_isa_string(item) ||
	    !cbor_string_is_definite(item))
		return NULL;
	len = cbor_string_length(item);
	if ((s = malloc(len + 1)) == NULL)
		return NULL;
	if (len > 0)
		memcpy(s, cbor_string_handle(item), len);
	s[len] = '\0';
	if (strlen(s) != len) { /* embedded NUL */
		free(s);
		return NULL;
	}
	return s;
}

const cbor_item_t *
sk_map_get_int(const cbor_item_t *map, int64_t key)
{
	struct cbor_pair *p;
	size_t n;
	int64_t k;

	if (map == NULL || !cbor_isa_map(map))
		return NULL;
	p = cbor_map_handle(map);
	n = cbor_map_size(map);
	for (size_t i = 0; i < n; i++)
		if (sk_cbor_int(p[i].key, &k) && k == key)
			return p[i].value;
	return NULL;
}

const cbor_item_t *
sk_map_get_str(const cbor_item_t *map, const char *key)
{
	struct cbor_pair *p;
	size_t n, klen = strlen(key);

	if (map == NULL || !cbor_isa_map(map))
		return NULL;
	p = cbor_map_handle(map);
	n = cbor_map_size(map);
	for (size_t i = 0; i < n; i++) {
		if (!cbor_isa_string(p[i].key) ||
		    !cbor_string_is_definite(p[i].key))
			continue;
		if (cbor_string_length(p[i].key) == klen &&
		    memcmp(cbor_string_handle(p[i].key), key, klen) == 0)
			return p[i].value;
	}
	return NULL;
}

/* CTAP canonical CBOR wants the shortest encoding, so pick the width. */
static cbor_item_t *
build_width(uint64_t u, bool neg)
{
	if (u <= UINT8_MAX)
		return neg ? cbor_build_negint8((uint8_t)u)
			   : cbor_build_uint8((uint8_t)u);
	if (u <= UINT16_MAX)
		return neg ? cbor_build_negint16((uint16_t)u)
			   : cbor_build_uint16((uint16_t)u);
	if (u <= UINT32_MAX)
		return neg ? cbor_build_negint32((uint32_t)u)
			   : cbor_build_uint32((uint32_t)u);
	return neg ? cbor_build_negint64(u) : cbor_build_uint64(u);
}

cbor_item_t *
sk_cbor_new_int(int64_t v)
{
	if (v >= 0)
		return build_width((uint64_t)v, false);
	return build_width((uint64_t)(-1 - v), true);
}

static bool
map_put(cbor_item_t *map, cbor_item_t *key, cbor_item_t *value)
{
	bool ok = false;

	if (key != NULL && value != NULL)
		ok = cbor_map_add(
		    map, (struct cbor_pair){.key = key, .value = value});
	if (key != NULL)
		cbor_decref(&key);
	if (value != NULL)
		cbor_decref(&value);
	return ok;
}

bool
sk_map_put_int(cbor_item_t *map, int64_t key, cbor_item_t *value)
{
	return map_put(map, sk_cbor_new_int(key), value);
}

bool
sk_map_put_str(cbor_item_t *map, const char *key, cbor_item_t *value)
{
	return map_put(map, cbor_build_string(key), value);
}

int
sk_cbor_encode(const cbor_item_t *item, uint8_t **out, size_t *out_len)
{
	unsigned char *buf = NULL;
	size_t cap = 0, len;

	if ((len = cbor_serialize_alloc(item, &buf, &cap)) == 0) {
		free(buf);
		return -1;
	}
	*out = buf;
	*out_len = len;
	return 0;
}
