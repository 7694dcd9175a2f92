/*
 * Client addresses, for the request budgets and the connection limit:
 * taken from a socket or from an X-Forwarded-For entry, grouped into the
 * keys the tables count by (an IPv4 address, an IPv6 /64, the Unix
 * socket), matched against the trusted proxies, and the client found
 * behind them. No socket and no global state: the unit tests call it as
 * the server does.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "web.h"

/* an X-Forwarded-For entry longer than this is nobody's address */
#define ENTRY_MAX 64
/* entries walked from the right before giving up on finding a client */
#define XFF_WALK_MAX 64

static const uint8_t v4_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* an IPv4-mapped IPv6 address is the IPv4 one */
static void
set_v6(struct fg_ip *out, const uint8_t a[16])
{
	memset(out, 0, sizeof(*out));
	if (memcmp(a, v4_mapped, sizeof(v4_mapped)) == 0) {
		out->family = AF_INET;
		memcpy(out->a, a + 12, 4);
	} else {
		out->family = AF_INET6;
		memcpy(out->a, a, 16);
	}
}

static bool
digits(const char *s, size_t len, size_t max)
{
	size_t i;

	if (len == 0 || len > max)
		return false;
	for (i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

bool
fg_ip_from_sockaddr(const struct sockaddr *sa, struct fg_ip *out)
{
	memset(out, 0, sizeof(*out));
	if (sa == NULL ||
	    (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)) {
		out->family = AF_UNIX; /* the only other kind we listen on */
		return true;
	}
	if (sa->sa_family == AF_INET) {
		out->family = AF_INET;
		memcpy(out->a, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else {
		set_v6(
		    out, ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr);
	}
	return true;
}

bool
fg_ip_parse(const char *s, size_t len, struct fg_ip *out)
{
	char text[ENTRY_MAX + 1];
	const char *host = s, *colon;
	size_t hlen;
	uint8_t a[16];

	while (len > 0 && (*s == ' ' || *s == '\t')) {
		s++;
		len--;
	}
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0 || len > ENTRY_MAX || memchr(s, '\0', len) != NULL)
		return false;
	host = s;
	hlen = len;
	if (s[0] == '[') {
		/* [v6] or [v6]:port */
		const char *close = memchr(s, ']', len);
		size_t rest;

		if (close == NULL)
			return false;
		host = s + 1;
		hlen = (size_t)(close - host);
		rest = len - (size_t)(close - s) - 1;
		if (rest > 0 &&
		    (close[1] != ':' || !digits(close + 2, rest - 1, 5)))
			return false;
	} else if ((colon = memchr(s, ':', len)) != NULL &&
	    memchr(colon + 1, ':', len - (size_t)(colon - s) - 1) == NULL) {
		/* one colon: v4:port */
		hlen = (size_t)(colon - s);
		if (!digits(colon + 1, len - hlen - 1, 5))
			return false;
	}
	if (hlen == 0)
		return false;
	memcpy(text, host, hlen);
	text[hlen] = '\0';
	memset(out, 0, sizeof(*out));
	if (host == s && inet_pton(AF_INET, text, a) == 1) {
		out->family = AF_INET;
		memcpy(out->a, a, 4);
		return true;
	}
	if (inet_pton(AF_INET6, text, a) == 1) {
		set_v6(out, a);
		return true;
	}
	return false;
}

const char *
fg_ip_str(const struct fg_ip *ip, char *buf, size_t len)
{
	if (ip->family == AF_INET || ip->family == AF_INET6) {
		if (inet_ntop(ip->family, ip->a, buf, (socklen_t)len) != NULL)
			return buf;
	} else if (len > 4) {
		memcpy(buf, "unix", 5);
		return buf;
	}
	if (len > 0)
		buf[0] = '\0';
	return buf;
}

const char *
fg_ip_net_str(const struct fg_ip *ip, char *buf, size_t len)
{
	struct fg_ip net;
	size_t n;

	if (ip->family != AF_INET6)
		return fg_ip_str(ip, buf, len);
	net = *ip;
	memset(net.a + 8, 0, 8);
	fg_ip_str(&net, buf, len);
	n = strlen(buf);
	if (n == 0 || n + 4 > len) {
		if (len > 0)
			buf[0] = '\0';
		return buf;
	}
	memcpy(buf + n, "/64", 4);
	return buf;
}

void
fg_ip_key(const struct fg_ip *ip, struct fg_addr_key *key)
{
	memset(key, 0, sizeof(*key));
	if (ip->family == AF_INET) {
		key->b[0] = 4;
		memcpy(key->b + 1, ip->a, 4);
	} else if (ip->family == AF_INET6) {
		/* one /64 is one subscriber, who has 2^64 addresses */
		key->b[0] = 6;
		memcpy(key->b + 1, ip->a, 8);
	}
}

/* SipHash-2-4 (Aumasson and Bernstein), keyed by each table's own random
 * secret: addresses the client chooses cannot be made to collide. */
#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                               \
	do {                                                                   \
		v0 += v1;                                                      \
		v1 = ROTL(v1, 13);                                             \
		v1 ^= v0;                                                      \
		v0 = ROTL(v0, 32);                                             \
		v2 += v3;                                                      \
		v3 = ROTL(v3, 16);                                             \
		v3 ^= v2;                                                      \
		v0 += v3;                                                      \
		v3 = ROTL(v3, 21);                                             \
		v3 ^= v0;                                                      \
		v2 += v1;                                                      \
		v1 = ROTL(v1, 17);                                             \
		v1 ^= v2;                                                      \
		v2 = ROTL(v2, 32);                                             \
	} while (0)

static uint64_t
le64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

uint64_t
fg_addr_hash(const struct fg_addr_key *key, const uint8_t secret[16])
{
	const uint8_t *in = key->b;
	size_t len = sizeof(key->b), i, left;
	uint64_t k0 = le64(secret), k1 = le64(secret + 8);
	uint64_t v0 = 0x736f6d6570736575ULL ^ k0;
	uint64_t v1 = 0x646f72616e646f6dULL ^ k1;
	uint64_t v2 = 0x6c7967656e657261ULL ^ k0;
	uint64_t v3 = 0x7465646279746573ULL ^ k1;
	uint64_t m, b = (uint64_t)len << 56;

	for (i = 0; i + 8 <= len; i += 8) {
		m = le64(in + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (left = 0; i + left < len; left++)
		b |= (uint64_t)in[i + left] << (8 * left);
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

static bool
in_net(const struct fg_net *n, const struct fg_ip *ip)
{
	unsigned full = n->prefix / 8, bits = n->prefix % 8;

	if (n->ip.family != ip->family)
		return false;
	if (memcmp(n->ip.a, ip->a, full) != 0)
		return false;
	return bits == 0 ||
	    ((n->ip.a[full] ^ ip->a[full]) & (uint8_t)(0xff << (8 - bits))) ==
	    0;
}

/* one ADDR[/PREFIX] of --trusted-proxy */
static bool
net_parse(const char *s, size_t len, struct fg_net *n, const char **why)
{
	char text[ENTRY_MAX + 1], *slash;
	uint8_t a[16];
	unsigned long prefix;
	unsigned max, i;
	bool v6;

	*why = "expected an IPv4 or IPv6 address, optionally /PREFIX";
	if (len == 0 || len > ENTRY_MAX)
		return false;
	memcpy(text, s, len);
	text[len] = '\0';
	if ((slash = strchr(text, '/')) != NULL)
		*slash = '\0';
	memset(n, 0, sizeof(*n));
	if (inet_pton(AF_INET, text, a) == 1) {
		n->ip.family = AF_INET;
		memcpy(n->ip.a, a, 4);
		v6 = false;
	} else if (inet_pton(AF_INET6, text, a) == 1) {
		set_v6(&n->ip, a);
		v6 = true;
	} else {
		return false;
	}
	max = n->ip.family == AF_INET ? 32 : 128;
	prefix = max;
	if (slash != NULL) {
		if (!digits(slash + 1, strlen(slash + 1), 3)) {
			*why = "a prefix length is a number";
			return false;
		}
		prefix = strtoul(slash + 1, NULL, 10);
		if (v6 && n->ip.family == AF_INET) /* ::ffff:a.b.c.d/N */
			prefix = prefix >= 96 ? prefix - 96 : 0;
		if (prefix < 8 || prefix > max) {
			*why = "a prefix length from 8 to 32 (IPv4) or to 128 "
			       "(IPv6): a shorter one trusts the world";
			return false;
		}
	}
	n->prefix = (unsigned)prefix;
	/* the network itself: host bits cleared */
	for (i = n->prefix; i < max; i++)
		n->ip.a[i / 8] &= (uint8_t) ~(0x80u >> (i % 8));
	return true;
}

int
fg_proxies_add(struct fg_proxies *p, const char *spec, const char **why)
{
	const char *s = spec, *end;

	for (;;) {
		end = strchr(s, ',');
		if (end == NULL)
			end = s + strlen(s);
		if (p->n == FG_WEB_PROXIES_MAX) {
			*why = "too many trusted proxies";
			return FG_ERR_INVALID;
		}
		if (!net_parse(s, (size_t)(end - s), &p->net[p->n], why))
			return FG_ERR_INVALID;
		p->n++;
		if (*end == '\0')
			return FG_OK;
		s = end + 1;
	}
}

bool
fg_proxies_has(const struct fg_proxies *p, const struct fg_ip *ip)
{
	size_t i;

	if (ip->family == AF_UNIX)
		return true; /* on a Unix socket, every peer is the proxy */
	for (i = 0; i < p->n; i++)
		if (in_net(&p->net[i], ip))
			return true;
	return false;
}

bool
fg_xff_client(const struct fg_proxies *p, const char *const *values, size_t n,
    struct fg_ip *out)
{
	struct fg_ip ip, last;
	bool have_last = false;
	unsigned walked = 0;
	const char *v, *end, *start;

	while (n-- > 0) {
		v = values[n];
		end = v + strlen(v);
		while (end > v) {
			start = end;
			while (start > v && start[-1] != ',')
				start--;
			if (start == end ||
			    strspn(start, " \t") >= (size_t)(end - start)) {
				/* an empty entry: nobody's */
			} else if (++walked > XFF_WALK_MAX ||
			    !fg_ip_parse(start, (size_t)(end - start), &ip)) {
				/* what a trusted proxy wrote is an address:
				 * this was not written by one */
				return false;
			} else if (!fg_proxies_has(p, &ip)) {
				*out = ip;
				return true;
			} else {
				last = ip;
				have_last = true;
			}
			end = start > v ? start - 1 : v;
		}
	}
	/* every entry a trusted proxy: the request started at the leftmost */
	if (have_last)
		*out = last;
	return have_last;
}
