/*
 * The front's connections, seen from the socket: how many each address
 * holds (the per-address connection limit, which libmicrohttpd's own
 * cannot lift for a trusted proxy), and how long each has taken to bring
 * its request in. libmicrohttpd 0.9.75 has only an idle timeout, which a
 * client sending a byte every few seconds never meets; here a request's
 * headers and body must be in within a deadline counted from the
 * connection's start (or the end of its previous request), or a thread
 * of ours shuts the socket down and libmicrohttpd closes it.
 *
 * libmicrohttpd tells of each connection's end (NOTIFY_CLOSED) before it
 * closes the socket, and both run under this table's lock, so the reaper
 * never shuts down a descriptor that has been closed and reused.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "web.h"

/* one line about refused or expired connections at most this often */
#define LOG_EVERY_MS 1000

struct count {
	struct fg_addr_key key;
	unsigned n;
	struct count *next;
};

/* events logged at most once per LOG_EVERY_MS, with how many */
struct lograte {
	uint64_t at;
	bool once;
	unsigned long held;
};

struct fg_conns {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t reaper;
	bool reaping, stopping;
	unsigned per_addr;
	uint64_t deadline_ms; /* 0: none */
	uint8_t secret[16];
	struct count **chain;
	uint32_t mask;
	struct fg_conn *first, *last; /* bringing a request in, oldest first */
	struct lograte refused_log, expired_log;
};

/* this event counted: how many to report now (this one among them), or
 * 0 to stay quiet */
static unsigned long
lograte_due(struct lograte *l, uint64_t now)
{
	unsigned long n;

	l->held++;
	if (l->once && now - l->at < LOG_EVERY_MS)
		return 0;
	n = l->held;
	l->held = 0;
	l->at = now;
	l->once = true;
	return n;
}

static struct count **
count_slot(struct fg_conns *cs, const struct fg_addr_key *key)
{
	struct count **p = &cs->chain[fg_addr_hash(key, cs->secret) & cs->mask];

	while (*p != NULL && memcmp((*p)->key.b, key->b, sizeof(key->b)) != 0)
		p = &(*p)->next;
	return p;
}

static void
wait_unlink(struct fg_conns *cs, struct fg_conn *c)
{
	if (!c->waiting)
		return;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		cs->first = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	else
		cs->last = c->prev;
	c->prev = c->next = NULL;
	c->waiting = false;
}

static void
wait_push(struct fg_conns *cs, struct fg_conn *c, uint64_t now)
{
	if (cs->deadline_ms == 0 || c->expired)
		return;
	wait_unlink(cs, c);
	c->since = now;
	c->prev = cs->last;
	c->next = NULL;
	if (cs->last != NULL)
		cs->last->next = c;
	else
		cs->first = c;
	cs->last = c;
	c->waiting = true;
	if (cs->first == c)
		pthread_cond_signal(&cs->wake);
}

static void
log_refused(struct fg_conns *cs, const struct fg_ip *peer, uint64_t now)
{
	char addr[FG_IP_STR_MAX];
	unsigned long n = lograte_due(&cs->refused_log, now);

	if (n == 0)
		return;
	fprintf(stderr,
	    "fido2gate-web: %s: over the connection limit of %u per "
	    "address: refused (%lu since the last line)\n",
	    fg_ip_str(peer, addr, sizeof(addr)), cs->per_addr, n);
}

static void *
reap(void *arg)
{
	struct fg_conns *cs = arg;
	struct fg_conn *c;
	struct timespec ts;
	char addr[FG_IP_STR_MAX];
	uint64_t now, due;
	unsigned long n;

	pthread_mutex_lock(&cs->lock);
	while (!cs->stopping) {
		now = (uint64_t)fg_now_ms();
		while ((c = cs->first) != NULL &&
		    now - c->since >= cs->deadline_ms) {
			wait_unlink(cs, c);
			c->expired = true;
			/* libmicrohttpd reads the end of the stream, and
			 * closes the connection in its own thread */
			shutdown(c->fd, SHUT_RDWR);
			if ((n = lograte_due(&cs->expired_log, now)) > 0)
				fprintf(stderr,
				    "fido2gate-web: %s: no whole request "
				    "within %llu s: connection closed (%lu "
				    "since the last line)\n",
				    fg_ip_str(&c->peer, addr, sizeof(addr)),
				    (unsigned long long)(cs->deadline_ms /
					1000),
				    n);
		}
		if (cs->first == NULL) {
			pthread_cond_wait(&cs->wake, &cs->lock);
			continue;
		}
		due = cs->first->since + cs->deadline_ms;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (time_t)((due - now) / 1000);
		ts.tv_nsec += (long)((due - now) % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		(void)pthread_cond_timedwait(&cs->wake, &cs->lock, &ts);
	}
	pthread_mutex_unlock(&cs->lock);
	return NULL;
}

struct fg_conns *
fg_conns_new(unsigned max_connections, unsigned per_addr, unsigned deadline_s)
{
	struct fg_conns *cs;
	pthread_condattr_t ca;
	size_t chains = 16;

	while (chains < max_connections)
		chains *= 2;
	if ((cs = calloc(1, sizeof(*cs))) == NULL)
		return NULL;
	if ((cs->chain = calloc(chains, sizeof(*cs->chain))) == NULL ||
	    fg_random(cs->secret, sizeof(cs->secret)) != FG_OK) {
		free(cs->chain);
		free(cs);
		return NULL;
	}
	cs->mask = (uint32_t)(chains - 1);
	cs->per_addr = per_addr;
	cs->deadline_ms = (uint64_t)deadline_s * 1000;
	pthread_mutex_init(&cs->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&cs->wake, &ca);
	pthread_condattr_destroy(&ca);
	if (cs->deadline_ms > 0) {
		if (pthread_create(&cs->reaper, NULL, reap, cs) != 0) {
			fg_conns_free(&cs);
			return NULL;
		}
		cs->reaping = true;
	}
	return cs;
}

void
fg_conns_free(struct fg_conns **csp)
{
	struct fg_conns *cs;
	struct count *k, *next;
	size_t i;

	if (csp == NULL || (cs = *csp) == NULL)
		return;
	if (cs->reaping) {
		pthread_mutex_lock(&cs->lock);
		cs->stopping = true;
		pthread_cond_signal(&cs->wake);
		pthread_mutex_unlock(&cs->lock);
		pthread_join(cs->reaper, NULL);
	}
	for (i = 0; i <= cs->mask; i++)
		for (k = cs->chain[i]; k != NULL; k = next) {
			next = k->next;
			free(k);
		}
	free(cs->chain);
	pthread_cond_destroy(&cs->wake);
	pthread_mutex_destroy(&cs->lock);
	free(cs);
	*csp = NULL;
}

bool
fg_conns_admit(struct fg_conns *cs, const struct fg_ip *peer, bool trusted)
{
	struct fg_addr_key key;
	struct count *k;
	bool ok;

	if (trusted)
		return true;
	fg_ip_key(peer, &key);
	pthread_mutex_lock(&cs->lock);
	k = *count_slot(cs, &key);
	ok = k == NULL || k->n < cs->per_addr;
	if (!ok)
		log_refused(cs, peer, (uint64_t)fg_now_ms());
	pthread_mutex_unlock(&cs->lock);
	return ok;
}

struct fg_conn *
fg_conns_open(
    struct fg_conns *cs, const struct fg_ip *peer, bool trusted, int fd)
{
	struct fg_conn *c;
	struct count **slot, *k;
	uint64_t now = (uint64_t)fg_now_ms();

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->peer = *peer;
	c->trusted = trusted;
	c->fd = fd;
	fg_ip_key(peer, &c->key);
	fg_ip_str(peer, c->client, sizeof(c->client));
	pthread_mutex_lock(&cs->lock);
	if (!trusted) {
		/* the accept policy let it in; others from the same
		 * address may have been let in at the same time, by other
		 * threads: this is where the limit holds exactly */
		slot = count_slot(cs, &c->key);
		if ((k = *slot) == NULL &&
		    (k = calloc(1, sizeof(*k))) != NULL) {
			k->key = c->key;
			*slot = k;
		}
		if (k == NULL || k->n >= cs->per_addr) {
			if (k != NULL)
				log_refused(cs, peer, now);
			pthread_mutex_unlock(&cs->lock);
			free(c);
			return NULL;
		}
		k->n++;
		c->counted = true;
	}
	wait_push(cs, c, now);
	pthread_mutex_unlock(&cs->lock);
	return c;
}

void
fg_conns_close(struct fg_conns *cs, struct fg_conn *c)
{
	struct count **slot, *k;

	if (c == NULL)
		return;
	pthread_mutex_lock(&cs->lock);
	wait_unlink(cs, c);
	if (c->counted) {
		slot = count_slot(cs, &c->key);
		if ((k = *slot) != NULL && --k->n == 0) {
			*slot = k->next;
			free(k);
		}
	}
	pthread_mutex_unlock(&cs->lock);
	free(c);
}

void
fg_conns_received(struct fg_conns *cs, struct fg_conn *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&cs->lock);
	wait_unlink(cs, c);
	pthread_mutex_unlock(&cs->lock);
}

void
fg_conns_idle(struct fg_conns *cs, struct fg_conn *c)
{
	if (c == NULL)
		return;
	pthread_mutex_lock(&cs->lock);
	wait_push(cs, c, (uint64_t)fg_now_ms());
	pthread_mutex_unlock(&cs->lock);
}
