/*
 * Parsed public keys, by credential: turning a COSE key into a checked
 * OpenSSL key (point on the curve and all) cost as much as verifying the
 * signature. Direct-mapped by the credential's row ID; an entry is used
 * only when the stored COSE bytes are the same, so a changed row is
 * parsed again.
 */
#include <stdlib.h>
#include <string.h>

#include "agent.h"

#define SLOTS 4096

struct slot {
	int64_t id;
	uint8_t *cose;
	size_t len;
	struct fg_pubkey *key;
};

struct fg_keycache {
	struct slot slots[SLOTS];
};

int
fg_keycache_new(struct fg_keycache **out)
{
	*out = calloc(1, sizeof(**out));
	return *out != NULL ? FG_OK : FG_ERR_NOMEM;
}

static void
slot_clear(struct slot *s)
{
	free(s->cose);
	fg_pubkey_free(&s->key);
	memset(s, 0, sizeof(*s));
}

void
fg_keycache_free(struct fg_keycache **c)
{
	size_t i;

	if (c == NULL || *c == NULL)
		return;
	for (i = 0; i < SLOTS; i++)
		slot_clear(&(*c)->slots[i]);
	free(*c);
	*c = NULL;
}

const struct fg_pubkey *
fg_keycache_get(struct fg_keycache *c, const struct fg_cred *cred, int *status)
{
	struct slot *s = &c->slots[(uint64_t)cred->id % SLOTS];
	struct fg_pubkey *key = NULL;
	uint8_t *copy;

	if (s->key != NULL && s->id == cred->id && s->len == cred->pubkey_len &&
	    memcmp(s->cose, cred->pubkey, s->len) == 0) {
		*status = FG_OK;
		return s->key;
	}
	if ((*status = fg_pubkey_from_cose(cred->pubkey, cred->pubkey_len,
		 &key)) != FG_OK)
		return NULL;
	/* the cache owns what it returns: no room for the copy, no key */
	if ((copy = malloc(cred->pubkey_len)) == NULL) {
		*status = FG_ERR_NOMEM;
		fg_pubkey_free(&key);
		return NULL;
	}
	memcpy(copy, cred->pubkey, cred->pubkey_len);
	slot_clear(s);
	s->id = cred->id;
	s->cose = copy;
	s->len = cred->pubkey_len;
	s->key = key;
	return key;
}
