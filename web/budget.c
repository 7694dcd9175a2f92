/*
 * The request budgets: a token bucket per client address (an IPv4
 * address, an IPv6 /64) and per class of endpoint, so that no one address
 * can make the agent open transactions, challenges or audit rows faster
 * than a person signing in would. The table is allocated once, at its
 * full size: a flood of addresses evicts the one used least recently,
 * and never grows the table. Its hash is keyed by a random secret, so
 * that addresses cannot be chosen to collide. The clock is the caller's
 * (monotonic milliseconds), which lets the unit tests drive it.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web.h"

/* a request costs UNIT; a bucket refills per_min units a millisecond */
#define UNIT 60000ULL
#define NIL UINT32_MAX
/* a line about one address's refusals at most this often */
#define REPORT_EVERY_MS 10000
/* and one about the table being too small */
#define FULL_EVERY_MS 60000

struct bucket {
	uint64_t tokens; /* in units */
	uint64_t at;	 /* ms: when tokens was right */
};

struct entry {
	struct fg_addr_key key;
	uint32_t next; /* the hash chain */
	uint32_t newer, older;
	struct bucket b[FG_BUDGET_CLASSES];
	uint64_t reported_at;  /* ms */
	bool reported;	       /* once at least */
	unsigned long refused; /* since the last report */
};

struct fg_budget {
	pthread_mutex_t lock;
	struct fg_rate rate[FG_BUDGET_CLASSES];
	uint8_t secret[16];
	struct entry *e;
	uint32_t *head; /* the hash's chains */
	uint32_t mask;
	uint32_t size, used;
	uint32_t newest, oldest; /* the LRU list */
	uint64_t evicted, evicted_early, full_reported_at;
	bool full_reported;
};

static uint64_t
cap(const struct fg_rate *r)
{
	return (uint64_t)r->burst * UNIT;
}

/* the bucket as it stands at now */
static void
refill(const struct fg_rate *r, struct bucket *b, uint64_t now)
{
	uint64_t elapsed, room = cap(r) - b->tokens;

	if (now <= b->at)
		return;
	elapsed = now - b->at;
	b->at = now;
	if (elapsed >= room / r->per_min + 1)
		b->tokens = cap(r);
	else
		b->tokens += elapsed * r->per_min;
}

/* an entry whose buckets are all full again: forgetting it loses
 * nothing */
static bool
rested(const struct fg_budget *bu, const struct entry *e, uint64_t now)
{
	struct bucket b;
	int c;

	for (c = 0; c < FG_BUDGET_CLASSES; c++) {
		if (bu->rate[c].per_min == 0)
			continue;
		b = e->b[c];
		refill(&bu->rate[c], &b, now);
		if (b.tokens < cap(&bu->rate[c]))
			return false;
	}
	return true;
}

static void
lru_unlink(struct fg_budget *bu, uint32_t i)
{
	struct entry *e = &bu->e[i];

	if (e->newer != NIL)
		bu->e[e->newer].older = e->older;
	else
		bu->newest = e->older;
	if (e->older != NIL)
		bu->e[e->older].newer = e->newer;
	else
		bu->oldest = e->newer;
	e->newer = e->older = NIL;
}

static void
lru_push(struct fg_budget *bu, uint32_t i)
{
	struct entry *e = &bu->e[i];

	e->older = bu->newest;
	e->newer = NIL;
	if (bu->newest != NIL)
		bu->e[bu->newest].newer = i;
	bu->newest = i;
	if (bu->oldest == NIL)
		bu->oldest = i;
}

static uint32_t
chain_of(const struct fg_budget *bu, const struct fg_addr_key *key)
{
	return (uint32_t)(fg_addr_hash(key, bu->secret) & bu->mask);
}

static void
chain_remove(struct fg_budget *bu, uint32_t i)
{
	uint32_t *p = &bu->head[chain_of(bu, &bu->e[i].key)];

	while (*p != NIL && *p != i)
		p = &bu->e[*p].next;
	if (*p == i)
		*p = bu->e[i].next;
	bu->e[i].next = NIL;
}

/* the entry of key, made (evicting the oldest) when there is none */
static struct entry *
entry_of(struct fg_budget *bu, const struct fg_addr_key *key, uint64_t now,
    bool *full_note)
{
	uint32_t h = chain_of(bu, key), i;
	int c;

	for (i = bu->head[h]; i != NIL; i = bu->e[i].next)
		if (memcmp(bu->e[i].key.b, key->b, sizeof(key->b)) == 0) {
			lru_unlink(bu, i);
			lru_push(bu, i);
			return &bu->e[i];
		}
	if (bu->used < bu->size) {
		i = bu->used++;
	} else {
		i = bu->oldest;
		bu->evicted++;
		if (!rested(bu, &bu->e[i], now)) {
			/* more addresses within a refill than the table
			 * holds: this one starts afresh */
			bu->evicted_early++;
			if (!bu->full_reported ||
			    now - bu->full_reported_at >= FULL_EVERY_MS) {
				bu->full_reported = true;
				bu->full_reported_at = now;
				*full_note = true;
			}
		}
		lru_unlink(bu, i);
		chain_remove(bu, i);
	}
	memset(&bu->e[i], 0, sizeof(bu->e[i]));
	bu->e[i].key = *key;
	for (c = 0; c < FG_BUDGET_CLASSES; c++) {
		bu->e[i].b[c].tokens = cap(&bu->rate[c]);
		bu->e[i].b[c].at = now;
	}
	bu->e[i].next = bu->head[h];
	bu->head[h] = i;
	bu->e[i].newer = bu->e[i].older = NIL;
	lru_push(bu, i);
	return &bu->e[i];
}

int
fg_rate_parse(const char *s, struct fg_rate *out)
{
	unsigned long n, burst, per = 60;
	char *end;

	if (strcmp(s, "off") == 0) {
		out->per_min = 0;
		out->burst = 0;
		return FG_OK;
	}
	if (*s < '0' || *s > '9')
		return FG_ERR_INVALID;
	n = strtoul(s, &end, 10);
	if (strncmp(end, "/s", 2) == 0) {
		end += 2;
	} else if (strncmp(end, "/m", 2) == 0) {
		per = 1;
		end += 2;
	}
	if (*end != ',' || end[1] < '0' || end[1] > '9')
		return FG_ERR_INVALID;
	burst = strtoul(end + 1, &end, 10);
	if (*end != '\0' || n < 1 || n > FG_RATE_MAX * 60 / per || burst < 1 ||
	    burst > FG_BURST_MAX)
		return FG_ERR_INVALID;
	out->per_min = (unsigned)(n * per);
	out->burst = (unsigned)burst;
	return FG_OK;
}

struct fg_budget *
fg_budget_new(size_t addresses, const struct fg_rate rate[FG_BUDGET_CLASSES])
{
	struct fg_budget *bu;
	size_t chains = 1, i;

	if (addresses < 1 || addresses > FG_BUDGET_TABLE_MAX)
		return NULL;
	while (chains < 2 * addresses)
		chains *= 2;
	if ((bu = calloc(1, sizeof(*bu))) == NULL)
		return NULL;
	bu->e = calloc(addresses, sizeof(*bu->e));
	bu->head = malloc(chains * sizeof(*bu->head));
	if (bu->e == NULL || bu->head == NULL ||
	    fg_random(bu->secret, sizeof(bu->secret)) != FG_OK ||
	    pthread_mutex_init(&bu->lock, NULL) != 0) {
		free(bu->e);
		free(bu->head);
		free(bu);
		return NULL;
	}
	for (i = 0; i < chains; i++)
		bu->head[i] = NIL;
	memcpy(bu->rate, rate, sizeof(bu->rate));
	bu->mask = (uint32_t)(chains - 1);
	bu->size = (uint32_t)addresses;
	bu->newest = bu->oldest = NIL;
	return bu;
}

void
fg_budget_free(struct fg_budget **bu)
{
	if (bu == NULL || *bu == NULL)
		return;
	pthread_mutex_destroy(&(*bu)->lock);
	free((*bu)->e);
	free((*bu)->head);
	free(*bu);
	*bu = NULL;
}

bool
fg_budget_take(struct fg_budget *bu, const struct fg_addr_key *key,
    enum fg_budget_class cls, uint64_t now, struct fg_budget_verdict *v)
{
	const struct fg_rate *r = &bu->rate[cls];
	struct entry *e;
	struct bucket *b;
	uint64_t wait_ms;
	bool ok;

	memset(v, 0, sizeof(*v));
	if (r->per_min == 0)
		return true; /* no budget for this class */
	pthread_mutex_lock(&bu->lock);
	e = entry_of(bu, key, now, &v->table_full);
	b = &e->b[cls];
	refill(r, b, now);
	ok = b->tokens >= UNIT;
	if (ok) {
		b->tokens -= UNIT;
	} else {
		wait_ms = (UNIT - b->tokens + r->per_min - 1) / r->per_min;
		v->retry_after = (unsigned)((wait_ms + 999) / 1000);
		if (v->retry_after == 0)
			v->retry_after = 1;
		e->refused++;
		if (!e->reported || now - e->reported_at >= REPORT_EVERY_MS) {
			v->report = e->refused;
			e->refused = 0;
			e->reported_at = now;
			e->reported = true;
		}
	}
	pthread_mutex_unlock(&bu->lock);
	return ok;
}

void
fg_budget_stats(struct fg_budget *bu, size_t *held, uint64_t *evicted,
    uint64_t *evicted_early)
{
	pthread_mutex_lock(&bu->lock);
	*held = bu->used;
	*evicted = bu->evicted;
	*evicted_early = bu->evicted_early;
	pthread_mutex_unlock(&bu->lock);
}
