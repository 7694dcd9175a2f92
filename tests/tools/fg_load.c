/*
 * fg-load: CLIENTS concurrent clients, each its own user with its own
 * ES256 credential (enrolled with attestation "none" before the clock
 * starts), running auth.begin and auth.finish with real signatures for
 * SECONDS against one agent, while a prober asks for status every 50 ms.
 *
 *   fg-load SOCKET CLIENTS SECONDS RP_ID
 *
 * A closed loop: each client starts its next login when the last one
 * ends. Prints one summary line, latencies from each login's start:
 *
 *   logins=N errors=E status_max_ms=M status_n=S logins_per_s=R
 *   p50_ms=A p99_ms=B
 *
 *   fg-load --rate RATE SOCKET CLIENTS SECONDS RP_ID
 *
 * An open loop: RATE logins a second are offered for SECONDS, login k
 * due at start + k / RATE whether or not earlier ones have ended, each
 * run by whichever of the CLIENTS connections is free. Its latency runs
 * from when it was due, not from when it could start, so a slow agent is
 * not measured only on the few logins it let through (no coordinated
 * omission); "late" counts the logins no connection was free for within
 * 1 ms of their time, "missed" those none was free for within 10 s (not
 * run; they make the run fail):
 *
 *   mode=open rate=R offered=K logins=N errors=E late=L missed=M
 *   status_max_ms=S status_n=Q logins_per_s=A p50_ms= p99_ms= p999_ms=
 *   max_ms=
 *
 * Exits 1 on any error. The test checks the agent's descriptors and
 * memory from outside.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cbor.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "fg.h"

#define LATE_US 1000	   /* an open-loop login this late started late */
#define MISSED_US 10000000 /* and this late, not at all */

static const char *sock, *rp_id;
static int seconds;
static long rate;	     /* open loop: logins offered a second; 0: closed */
static long offered;	     /* open loop: logins due in the run */
static int64_t start_us;     /* when login 0 is due (set before "go") */
static atomic_long next_due; /* open loop: the next login to run */
static atomic_long logins, errors, late, missed;
static atomic_int stop;
/* the clients and the prober: all enrolled, then the clock has started */
static pthread_barrier_t enrolled, go;

/* login latencies (begin + finish), microseconds, per client */
struct lat {
	uint32_t *us;
	size_t n, cap;
};
static struct lat *lats;

static int64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void
lat_add(struct lat *l, int64_t us)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 4096;
		uint32_t *p = realloc(l->us, cap * sizeof(*p));
		if (p == NULL)
			return;
		l->us = p;
		l->cap = cap;
	}
	l->us[l->n++] = (uint32_t)(us > UINT32_MAX ? UINT32_MAX : us);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

/* the p-th percentile of every client's latencies, in milliseconds */
static double
percentile(long clients, double p)
{
	size_t total = 0, k = 0;
	uint32_t *all;
	double v;

	for (long i = 0; i < clients; i++)
		total += lats[i].n;
	if (total == 0 || (all = malloc(total * sizeof(*all))) == NULL)
		return 0;
	for (long i = 0; i < clients; i++) {
		memcpy(all + k, lats[i].us, lats[i].n * sizeof(*all));
		k += lats[i].n;
	}
	qsort(all, total, sizeof(*all), cmp_u32);
	v = all[(size_t)((double)(total - 1) * p)] / 1000.0;
	free(all);
	return v;
}

static json_t *
call(int fd, json_t *req)
{
	json_t *reply = NULL;
	int r;

	json_object_set_new(req, "v", json_integer(FG_PROTO_VERSION));
	if ((r = fg_call(fd, req, 10000, &reply)) != FG_OK ||
	    !json_is_true(json_object_get(reply, "ok"))) {
		if (r != FG_OK)
			fprintf(stderr, "fg-load: %s: %s\n",
			    fg_json_str(req, "op"), fg_strerror(r));
		if (reply != NULL) {
			char *s = json_dumps(reply, JSON_COMPACT);
			fprintf(stderr, "fg-load: %s\n", s);
			free(s);
		}
		json_decref(reply);
		reply = NULL;
	}
	json_decref(req);
	return reply;
}

static void
put_b64(json_t *o, const char *k, const uint8_t *p, size_t n)
{
	char *s = fg_b64url_encode(p, n);

	json_object_set_new(o, k, json_string(s));
	free(s);
}

/* authData: rpIdHash, flags, counter, and with AT the credential. */
static size_t
authdata(uint8_t *out, uint8_t flags, uint32_t count, const uint8_t *cred,
    const uint8_t *cose, size_t cose_len)
{
	size_t n = 37;

	fg_sha256(rp_id, strlen(rp_id), out);
	out[32] = flags;
	out[33] = (uint8_t)(count >> 24);
	out[34] = (uint8_t)(count >> 16);
	out[35] = (uint8_t)(count >> 8);
	out[36] = (uint8_t)count;
	if (cred != NULL) {
		memset(out + n, 0, 16);
		out[n + 16] = 0;
		out[n + 17] = 32;
		memcpy(out + n + 18, cred, 32);
		memcpy(out + n + 50, cose, cose_len);
		n += 50 + cose_len;
	}
	return n;
}

static size_t
cose_key(EVP_PKEY *pk, uint8_t *out, size_t max)
{
	uint8_t pub[65];
	size_t len = 0;
	cbor_item_t *m = cbor_new_definite_map(5);
	unsigned char *buf = NULL;
	size_t buflen = 0, n;

	EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_PUB_KEY, pub,
	    sizeof(pub), &len);
	cbor_map_add(m, (struct cbor_pair){ cbor_move(cbor_build_uint8(1)),
			    cbor_move(cbor_build_uint8(2)) });
	cbor_map_add(m, (struct cbor_pair){ cbor_move(cbor_build_uint8(3)),
			    cbor_move(cbor_build_negint8(6)) });
	cbor_map_add(m, (struct cbor_pair){ cbor_move(cbor_build_negint8(0)),
			    cbor_move(cbor_build_uint8(1)) });
	cbor_map_add(m, (struct cbor_pair){ cbor_move(cbor_build_negint8(1)),
			    cbor_move(cbor_build_bytestring(pub + 1, 32)) });
	cbor_map_add(m, (struct cbor_pair){ cbor_move(cbor_build_negint8(2)),
			    cbor_move(cbor_build_bytestring(pub + 33, 32)) });
	n = cbor_serialize_alloc(m, &buf, &buflen);
	cbor_decref(&m);
	if (n == 0 || n > max) {
		free(buf);
		return 0;
	}
	memcpy(out, buf, n);
	free(buf);
	return n;
}

static size_t
sign(EVP_PKEY *pk, const uint8_t *ad, size_t ad_len, const char *cdj,
    uint8_t *sig, size_t max)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t msg[512];
	size_t n = max;

	memcpy(msg, ad, ad_len);
	fg_sha256(cdj, strlen(cdj), msg + ad_len);
	if (ctx == NULL ||
	    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pk) != 1 ||
	    EVP_DigestSign(ctx, sig, &n, msg, ad_len + 32) != 1)
		n = 0;
	EVP_MD_CTX_free(ctx);
	return n;
}

/* Enrol cred for user with attestation "none"; 0 on success. */
static int
enrol(int fd, const char *user, const uint8_t *cred, const uint8_t *cose,
    size_t cose_len)
{
	uint8_t ad[256], *chal = NULL;
	size_t ad_len, chal_len;
	json_t *b, *req, *r;
	char *cdj;

	if ((b = call(fd, json_pack("{s:s,s:s}", "op", FG_OP_ENROLL_BEGIN, "user",
		      user))) == NULL ||
	    fg_json_b64(b, "challenge", &chal, &chal_len) != FG_OK) {
		json_decref(b);
		return -1;
	}
	cdj = fg_client_data_json("webauthn.create", chal, chal_len,
	    fg_json_str(b, "origin"));
	ad_len = authdata(ad, 0x41, 0, cred, cose, cose_len);
	req = json_pack("{s:s,s:s,s:s}", "op", FG_OP_ENROLL_FINISH, "session",
	    fg_json_str(b, "session"), "fmt", "none");
	put_b64(req, "authenticator_data", ad, ad_len);
	put_b64(req, "attestation_statement", (const uint8_t *)"\xa0", 1);
	put_b64(req, "client_data_json", (const uint8_t *)cdj, strlen(cdj));
	free(cdj);
	free(chal);
	json_decref(b);
	if ((r = call(fd, req)) == NULL)
		return -1;
	json_decref(r);
	return 0;
}

/* One client: a connection, a user and its key. */
struct client {
	char user[32];
	uint8_t cred[32];
	EVP_PKEY *pk;
	uint32_t count;
	int fd;
};

/* auth.begin, a signature, auth.finish: 0 when the agent allowed it. */
static int
login(struct client *c)
{
	uint8_t ad[256], sig[80], *chal = NULL;
	size_t ad_len, sig_len, chal_len;
	const char *result;
	json_t *b, *req, *r;
	char *cdj;
	int ret = -1;

	if ((b = call(c->fd, json_pack("{s:s,s:s}", "op", FG_OP_AUTH_BEGIN,
		      "user", c->user))) == NULL ||
	    fg_json_b64(b, "challenge", &chal, &chal_len) != FG_OK) {
		json_decref(b);
		return -1;
	}
	cdj = fg_client_data_json("webauthn.get", chal, chal_len,
	    fg_json_str(b, "origin"));
	ad_len = authdata(ad, 0x01, ++c->count, NULL, NULL, 0);
	sig_len = sign(c->pk, ad, ad_len, cdj, sig, sizeof(sig));
	req = json_pack("{s:s,s:s}", "op", FG_OP_AUTH_FINISH, "session",
	    fg_json_str(b, "session"));
	put_b64(req, "credential_id", c->cred, sizeof(c->cred));
	put_b64(req, "authenticator_data", ad, ad_len);
	put_b64(req, "client_data_json", (const uint8_t *)cdj, strlen(cdj));
	put_b64(req, "signature", sig, sig_len);
	free(cdj);
	free(chal);
	json_decref(b);
	r = call(c->fd, req);
	result = fg_json_str(r, "result");
	if (result != NULL && strcmp(result, "allow") == 0)
		ret = 0;
	json_decref(r);
	return ret;
}

/* Closed loop: the next login starts when the last one ends. */
static int
run_closed(struct client *c, struct lat *l)
{
	while (!atomic_load(&stop)) {
		int64_t t0 = now_us();

		if (login(c) != 0)
			return -1;
		atomic_fetch_add(&logins, 1);
		lat_add(l, now_us() - t0);
	}
	return 0;
}

/* Open loop: take the next login due, wait for its time, run it; its
 * latency counts from its time, however late it could start. */
static int
run_open(struct client *c, struct lat *l)
{
	long k;

	while ((k = atomic_fetch_add(&next_due, 1)) < offered) {
		int64_t due = start_us + k * 1000000 / rate, now = now_us();

		if (now < due) {
			struct timespec ts = { .tv_sec = due / 1000000,
				.tv_nsec = (long)(due % 1000000) * 1000 };
			while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME,
				   &ts, NULL) == EINTR)
				;
		} else if (now - due > MISSED_US) {
			atomic_fetch_add(&missed, 1);
			continue;
		} else if (now - due > LATE_US)
			atomic_fetch_add(&late, 1);
		if (login(c) != 0)
			return -1;
		atomic_fetch_add(&logins, 1);
		lat_add(l, now_us() - due);
	}
	return 0;
}

static void *
client(void *arg)
{
	struct client c = { .fd = -1 };
	uint8_t cose[128];
	size_t cose_len;
	long i = (long)(intptr_t)arg;
	int ok;

	snprintf(c.user, sizeof(c.user), "%s%ld", rate ? "open" : "load", i);
	fg_random(c.cred, sizeof(c.cred));
	c.pk = EVP_EC_gen("P-256");
	ok = c.pk != NULL && fg_connect(sock, 5000, &c.fd) == FG_OK &&
	    (cose_len = cose_key(c.pk, cose, sizeof(cose))) != 0 &&
	    enrol(c.fd, c.user, c.cred, cose, cose_len) == 0;
	pthread_barrier_wait(&enrolled);
	pthread_barrier_wait(&go);
	if (!ok || (rate ? run_open(&c, &lats[i]) : run_closed(&c, &lats[i])) !=
		0)
		atomic_fetch_add(&errors, 1);
	if (c.fd >= 0)
		close(c.fd);
	EVP_PKEY_free(c.pk);
	return NULL;
}

static void
usage(void)
{
	fprintf(stderr, "usage: fg-load [--rate LOGINS_PER_S] SOCKET CLIENTS "
			"SECONDS RP_ID\n");
}

int
main(int argc, char **argv)
{
	pthread_t *t;
	long i, n, status_n = 0;
	int64_t end, worst = 0;
	double elapsed;

	if (argc == 7 && strcmp(argv[1], "--rate") == 0) {
		rate = atol(argv[2]);
		argv += 2;
		argc -= 2;
		if (rate < 1 || rate > 1000000) {
			usage();
			return 2;
		}
	}
	if (argc != 5) {
		usage();
		return 2;
	}
	sock = argv[1];
	n = atol(argv[2]);
	seconds = atoi(argv[3]);
	rp_id = argv[4];
	offered = rate * seconds;
	if (n < 1 || n > 1024 || seconds < 1 ||
	    (t = calloc((size_t)n, sizeof(*t))) == NULL ||
	    (lats = calloc((size_t)n, sizeof(*lats))) == NULL)
		return 2;
	pthread_barrier_init(&enrolled, NULL, (unsigned)n + 1);
	pthread_barrier_init(&go, NULL, (unsigned)n + 1);
	for (i = 0; i < n; i++)
		pthread_create(&t[i], NULL, client, (void *)(intptr_t)i);
	/* every client enrolled: the measured run starts */
	pthread_barrier_wait(&enrolled);
	start_us = now_us();
	pthread_barrier_wait(&go);
	/* the prober: a fresh connection each time, as an admin would */
	end = start_us / 1000 + (int64_t)seconds * 1000;
	while (now_us() / 1000 < end) {
		int64_t t0 = now_us() / 1000, dt;
		int fd;
		json_t *r = NULL;

		if (fg_connect(sock, 5000, &fd) == FG_OK) {
			r = call(fd, json_pack("{s:s}", "op", FG_OP_STATUS));
			close(fd);
		}
		dt = now_us() / 1000 - t0;
		if (r == NULL)
			atomic_fetch_add(&errors, 1);
		json_decref(r);
		if (dt > worst)
			worst = dt;
		if (dt >= 100)
			fprintf(stderr, "fg-load: status took %lld ms at %.1f s\n",
			    (long long)dt,
			    (double)(t0 - (end - (int64_t)seconds * 1000)) / 1000);
		status_n++;
		usleep(50000);
	}
	atomic_store(&stop, 1);
	for (i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	if (rate == 0)
		printf("logins=%ld errors=%ld status_max_ms=%lld status_n=%ld "
		       "logins_per_s=%.0f p50_ms=%.3f p99_ms=%.3f\n",
		    atomic_load(&logins), atomic_load(&errors),
		    (long long)worst, status_n,
		    (double)atomic_load(&logins) / seconds,
		    percentile(n, 0.50), percentile(n, 0.99));
	else {
		/* over the whole run: the last logins may end past SECONDS */
		elapsed = (double)(now_us() - start_us) / 1e6;
		if (elapsed < seconds)
			elapsed = seconds;
		printf("mode=open rate=%ld offered=%ld logins=%ld errors=%ld "
		       "late=%ld missed=%ld status_max_ms=%lld status_n=%ld "
		       "logins_per_s=%.0f p50_ms=%.3f p99_ms=%.3f "
		       "p999_ms=%.3f max_ms=%.3f\n",
		    rate, offered, atomic_load(&logins), atomic_load(&errors),
		    atomic_load(&late), atomic_load(&missed), (long long)worst,
		    status_n, (double)atomic_load(&logins) / elapsed,
		    percentile(n, 0.50), percentile(n, 0.99),
		    percentile(n, 0.999), percentile(n, 1.0));
	}
	for (i = 0; i < n; i++)
		free(lats[i].us);
	free(lats);
	free(t);
	return atomic_load(&errors) == 0 && atomic_load(&missed) == 0 ? 0 : 1;
}
