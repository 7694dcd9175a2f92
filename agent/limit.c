/*
 * Abuse limits, in memory: a token bucket per calling uid, and failure
 * counts with exponential backoff per calling uid and per user name. Root
 * is exempt from the per-caller limits because root is the PAM stack of
 * every service (sshd, login); the per-user limits hold for everyone.
 * The only state that must outlive the agent, a lockout, is in the store.
 */
#include <stdlib.h>
#include <string.h>

#include "agent.h"

#define NBUCKETS 4096

struct fg_tally {
	char *user; /* NULL for a caller entry */
	uid_t uid;
	double tokens;
	int64_t refilled;  /* ms */
	unsigned failures;
	int64_t last_fail; /* ms */
	size_t conns;
	size_t sessions; /* a user's pending challenges */
	struct fg_tally *next;
};

struct fg_limits {
	struct fg_tally *buckets[NBUCKETS];
	size_t count;
};

/* FNV-1a: the keys are user names and uids, chosen by callers, but an
 * attacker gains nothing from collisions beyond longer chains. */
static size_t
hash(const char *user, uid_t uid)
{
	uint64_t h = 1469598103934665603ULL;
	size_t i;

	if (user != NULL)
		for (i = 0; user[i] != '\0'; i++)
			h = (h ^ (uint8_t)user[i]) * 1099511628211ULL;
	else
		for (i = 0; i < sizeof(uid); i++)
			h = (h ^ ((uid >> (8 * i)) & 0xff)) * 1099511628211ULL;
	return (size_t)(h % NBUCKETS);
}

static struct fg_tally *
find(struct fg_limits *l, const char *user, uid_t uid, bool create)
{
	size_t b = hash(user, uid);
	struct fg_tally *t;

	for (t = l->buckets[b]; t != NULL; t = t->next)
		if (user != NULL ? t->user != NULL && strcmp(t->user, user) == 0 :
				   t->user == NULL && t->uid == uid)
			return t;
	if (!create || (t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if (user != NULL && (t->user = strdup(user)) == NULL) {
		free(t);
		return NULL;
	}
	t->uid = uid;
	t->tokens = -1; /* full at first use */
	t->next = l->buckets[b];
	l->buckets[b] = t;
	l->count++;
	return t;
}

int
fg_limits_new(struct fg_limits **out)
{
	*out = calloc(1, sizeof(**out));
	return *out != NULL ? FG_OK : FG_ERR_NOMEM;
}

void
fg_limits_free(struct fg_limits **l)
{
	size_t i;

	if (l == NULL || *l == NULL)
		return;
	for (i = 0; i < NBUCKETS; i++) {
		struct fg_tally *t = (*l)->buckets[i], *next;
		for (; t != NULL; t = next) {
			next = t->next;
			free(t->user);
			free(t);
		}
	}
	free(*l);
	*l = NULL;
}

int
fg_limits_request(struct fg_limits *l, const struct fg_config *cfg,
    uid_t uid, int64_t now)
{
	struct fg_tally *t;

	if (uid == 0)
		return FG_OK;
	if ((t = find(l, NULL, uid, true)) == NULL)
		return FG_ERR_NOMEM;
	if (t->tokens < 0)
		t->tokens = cfg->caller_burst;
	else
		t->tokens += (double)(now - t->refilled) * cfg->caller_rate /
		    1000.0;
	if (t->tokens > cfg->caller_burst)
		t->tokens = cfg->caller_burst;
	t->refilled = now;
	if (t->tokens < 1)
		return FG_ERR_LIMIT;
	t->tokens -= 1;
	return FG_OK;
}

/* Milliseconds until the tally's backoff ends; 0 when it has. */
static int64_t
backoff_wait(const struct fg_config *cfg, const struct fg_tally *t,
    int64_t now)
{
	int64_t delay;
	unsigned shift;

	if (t == NULL || t->failures < cfg->backoff_after ||
	    now - t->last_fail > (int64_t)cfg->failure_window * 1000)
		return 0;
	shift = t->failures - cfg->backoff_after;
	delay = (int64_t)cfg->backoff_base * 1000 << (shift > 20 ? 20 : shift);
	if (delay > (int64_t)cfg->backoff_max * 1000)
		delay = (int64_t)cfg->backoff_max * 1000;
	return t->last_fail + delay > now ? t->last_fail + delay - now : 0;
}

int64_t
fg_limits_wait(struct fg_limits *l, const struct fg_config *cfg,
    const char *user, uid_t uid, int64_t now)
{
	int64_t a = backoff_wait(cfg, find(l, user, 0, false), now), b = 0;

	if (uid != 0)
		b = backoff_wait(cfg, find(l, NULL, uid, false), now);
	return a > b ? a : b;
}

unsigned
fg_limits_fail(struct fg_limits *l, const struct fg_config *cfg,
    const char *user, uid_t uid, int64_t now)
{
	struct fg_tally *t[2] = { NULL, NULL };
	size_t i;

	if (user != NULL)
		t[0] = find(l, user, 0, true);
	if (uid != 0)
		t[1] = find(l, NULL, uid, true);
	for (i = 0; i < 2; i++) {
		if (t[i] == NULL)
			continue;
		if (now - t[i]->last_fail > (int64_t)cfg->failure_window * 1000)
			t[i]->failures = 0;
		if (t[i]->failures < 1000000)
			t[i]->failures++;
		t[i]->last_fail = now;
	}
	if (user == NULL)
		return 0;
	/* out of memory: count it as the worst case, never as no failure */
	return t[0] != NULL ? t[0]->failures : ~0u;
}

void
fg_limits_success(struct fg_limits *l, const char *user, uid_t uid)
{
	struct fg_tally *t;

	if ((t = find(l, user, 0, false)) != NULL)
		t->failures = 0;
	if (uid != 0 && (t = find(l, NULL, uid, false)) != NULL)
		t->failures = 0;
}

int
fg_limits_conn(struct fg_limits *l, const struct fg_config *cfg, uid_t uid,
    int delta)
{
	struct fg_tally *t;

	if (uid == 0)
		return FG_OK;
	if ((t = find(l, NULL, uid, delta > 0)) == NULL)
		return delta > 0 ? FG_ERR_NOMEM : FG_OK;
	if (delta > 0) {
		if (t->conns >= cfg->max_connections_per_uid)
			return FG_ERR_LIMIT;
		t->conns++;
	} else if (t->conns > 0)
		t->conns--;
	return FG_OK;
}

int
fg_limits_session(struct fg_limits *l, const struct fg_config *cfg,
    const char *user, int delta)
{
	struct fg_tally *t;

	if ((t = find(l, user, 0, delta > 0)) == NULL)
		return delta > 0 ? FG_ERR_NOMEM : FG_OK;
	if (delta > 0) {
		if (t->sessions >= cfg->max_pending_per_user)
			return FG_ERR_LIMIT;
		t->sessions++;
	} else if (t->sessions > 0)
		t->sessions--;
	return FG_OK;
}

/* Drop entries that hold nothing: no connection, no pending challenge, a
 * full bucket, and no failure inside the window. */
void
fg_limits_sweep(struct fg_limits *l, const struct fg_config *cfg,
    int64_t now)
{
	size_t i;

	for (i = 0; i < NBUCKETS; i++) {
		struct fg_tally **pp = &l->buckets[i], *t;
		while ((t = *pp) != NULL) {
			double tokens = t->tokens +
			    (double)(now - t->refilled) * cfg->caller_rate /
				1000.0;
			bool idle = t->conns == 0 && t->sessions == 0 &&
			    (t->tokens < 0 || tokens >= cfg->caller_burst) &&
			    (t->failures == 0 ||
				now - t->last_fail >
				    (int64_t)cfg->failure_window * 1000);
			if (idle) {
				*pp = t->next;
				free(t->user);
				free(t);
				l->count--;
			} else
				pp = &t->next;
		}
	}
}

size_t
fg_limits_tracked(const struct fg_limits *l)
{
	return l->count;
}
