/*
 * libFuzzer: client credentials from an Authorization header (web/basic.c):
 * client_secret_basic, the Bearer token, and the form decoding inside
 * Basic. The first byte chooses whether "Basic " is put in front, so that
 * the base64 and what it hides get most of the work. Anything accepted
 * must be what the front relays: a non-empty id and a secret of at most
 * FG_PARAM_MAX bytes, without NUL.
 */
#include <stdlib.h>
#include <string.h>

#include "../../web/web.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *h, *id = NULL, *secret = NULL;
	const char *tok;
	size_t off, n;
	int r;

	if (size == 0 || (h = malloc(size + 8)) == NULL)
		return 0;
	off = (data[0] & 1) ? 6 : 0;
	memcpy(h, "Basic ", off);
	memcpy(h + off, data + 1, size - 1);
	h[off + size - 1] = '\0';
	r = fg_basic_decode(h, &id, &secret);
	if (r == FG_OK) {
		if (id == NULL || secret == NULL || strlen(id) == 0 ||
		    strlen(id) > FG_PARAM_MAX || strlen(secret) > FG_PARAM_MAX)
			abort();
	} else if (id != NULL || secret != NULL) {
		abort(); /* outputs only on success */
	}
	free(id);
	free(secret);
	if (fg_bearer_token(h, &tok, &n) == FG_OK &&
	    (n == 0 || tok[n] != '\0' || memchr(tok, ' ', n) != NULL))
		abort();
	if (fg_form_decode(h, &n) == FG_OK && n != strlen(h))
		abort(); /* a NUL decoded */
	free(h);
	return 0;
}
