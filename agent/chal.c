/*
 * Pending challenges: 32 random bytes each, found by a random 16-byte
 * session ID, bound to a purpose, a user and the caller's uid, and taken
 * out of the table by the first request that names them (single use). The
 * table has a hard cap; expired entries are swept by the agent's loop.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "agent.h"

struct fg_chal_table {
	struct fg_chal **buckets;
	size_t nbuckets; /* a power of two */
	size_t count;
	size_t cap;	  /* native (PAM) and enrolment challenges */
	size_t web_count;
	size_t web_cap;	  /* the browser's, in a pool of their own */
	fg_chal_expired_fn on_expire; /* every expiry, swept or presented */
	void *arg;
};

int
fg_chal_table_new(size_t cap, size_t web_cap, fg_chal_expired_fn on_expire,
    void *arg, struct fg_chal_table **out)
{
	struct fg_chal_table *t;
	size_t n = 1024;

	*out = NULL;
	while (n < cap && n < (1u << 22))
		n <<= 1;
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->buckets = calloc(n, sizeof(*t->buckets))) == NULL) {
		free(t);
		return FG_ERR_NOMEM;
	}
	t->nbuckets = n;
	t->cap = cap;
	t->web_cap = web_cap;
	t->on_expire = on_expire;
	t->arg = arg;
	*out = t;
	return FG_OK;
}

void
fg_chal_free(struct fg_chal **c)
{
	if (c == NULL || *c == NULL)
		return;
	free((*c)->user);
	free((*c)->label);
	free((*c)->bound);
	free((*c)->actor);
	free((*c)->detail);
	OPENSSL_cleanse(*c, sizeof(**c));
	free(*c);
	*c = NULL;
}

void
fg_chal_table_free(struct fg_chal_table **t)
{
	size_t i;

	if (t == NULL || *t == NULL)
		return;
	for (i = 0; i < (*t)->nbuckets; i++) {
		struct fg_chal *c = (*t)->buckets[i], *next;
		for (; c != NULL; c = next) {
			next = c->next;
			fg_chal_free(&c);
		}
	}
	free((*t)->buckets);
	free(*t);
	*t = NULL;
}

/* Session IDs are uniformly random: their first bytes are a fine hash. */
static size_t
bucket(const struct fg_chal_table *t, const uint8_t *session)
{
	uint64_t h;

	memcpy(&h, session, sizeof(h));
	return (size_t)(h & (t->nbuckets - 1));
}

/* The pool a challenge counts in: the browser's never crowd out PAM's. */
static size_t *
pool(struct fg_chal_table *t, enum fg_purpose purpose)
{
	return purpose == FG_PURPOSE_WEB || purpose == FG_PURPOSE_INVITE ?
	    &t->web_count :
	    &t->count;
}

int
fg_chal_issue(struct fg_chal_table *t, enum fg_purpose purpose,
    const char *user, uid_t caller, unsigned ttl_s, struct fg_chal **out)
{
	struct fg_chal *c;
	size_t b;

	*out = NULL;
	if (*pool(t, purpose) >=
	    (pool(t, purpose) == &t->web_count ? t->web_cap : t->cap))
		return FG_ERR_LIMIT;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->user = strdup(user)) == NULL) {
		free(c);
		return FG_ERR_NOMEM;
	}
	if (fg_random(c->session, sizeof(c->session)) != FG_OK ||
	    fg_random(c->challenge, sizeof(c->challenge)) != FG_OK) {
		fg_chal_free(&c);
		return FG_ERR_INTERNAL;
	}
	c->purpose = purpose;
	c->caller = caller;
	c->expires = fg_now_ms() + (int64_t)ttl_s * 1000;
	b = bucket(t, c->session);
	c->next = t->buckets[b];
	t->buckets[b] = c;
	(*pool(t, purpose))++;
	*out = c;
	return FG_OK;
}

/* The one place that decides a challenge has expired. */
static bool
expired(const struct fg_chal *c, int64_t now)
{
	return c->expires <= now;
}

/* Unlinks *pp and expires it: the owner hears of it once, however the
 * expiry was found. */
static void
expire(struct fg_chal_table *t, struct fg_chal **pp)
{
	struct fg_chal *c = *pp;

	*pp = c->next;
	(*pool(t, c->purpose))--;
	if (t->on_expire != NULL)
		t->on_expire(c, t->arg);
	fg_chal_free(&c);
}

static struct fg_chal **
slot(struct fg_chal_table *t, const uint8_t *session, size_t len)
{
	struct fg_chal **pp;

	if (len != FG_SESSION_LEN)
		return NULL;
	for (pp = &t->buckets[bucket(t, session)]; *pp != NULL;
	     pp = &(*pp)->next)
		if (CRYPTO_memcmp((*pp)->session, session, len) == 0)
			return pp;
	return NULL;
}

int
fg_chal_find(struct fg_chal_table *t, const uint8_t *session, size_t len,
    int64_t now, struct fg_chal **out)
{
	struct fg_chal **pp = slot(t, session, len);

	*out = NULL;
	if (pp == NULL)
		return FG_ERR_NOTFOUND;
	if (expired(*pp, now)) {
		expire(t, pp);
		return FG_ERR_TIMEOUT;
	}
	*out = *pp;
	return FG_OK;
}

void
fg_chal_take(struct fg_chal_table *t, struct fg_chal *c)
{
	struct fg_chal **pp = slot(t, c->session, sizeof(c->session));

	if (pp == NULL || *pp != c)
		return;
	*pp = c->next;
	c->next = NULL;
	(*pool(t, c->purpose))--;
}

size_t
fg_chal_expire(struct fg_chal_table *t, int64_t now)
{
	struct fg_chal **pp;
	size_t i, n = 0;

	for (i = 0; i < t->nbuckets; i++) {
		pp = &t->buckets[i];
		while (*pp != NULL) {
			if (expired(*pp, now)) {
				expire(t, pp);
				n++;
			} else
				pp = &(*pp)->next;
		}
	}
	return n;
}

size_t
fg_chal_pending(const struct fg_chal_table *t)
{
	return t->count + t->web_count;
}
