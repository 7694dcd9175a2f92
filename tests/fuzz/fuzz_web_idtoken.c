/*
 * libFuzzer: the web front's checks of the organisation's provider's
 * id_token (web/idtoken.c, fg_idtoken_check), its token response, its
 * userinfo and its discovery document. The first byte picks how the rest is
 * read:
 *
 *   even: "JWKS\nTOKEN", both as they are: a JWKS and a token of any
 *         shape, checked against the fixed expectations below;
 *   odd:  "HEADER\nPAYLOAD": JSON texts the harness base64url-encodes and
 *         signs with its own keys, chosen by the header's alg (RS256 and
 *         ES256 with keys of the JWKS; HS256 keyed with the RSA public
 *         key, the classic confusion; anything else left unsigned), so
 *         that the claim checks are reached with good signatures.
 *
 * Whatever the input, an accepted token must satisfy an independent
 * oracle: its header's alg one of the configured ones (RS256, ES256),
 * iss, aud, azp, exp, iat and nonce as expected. A refusal must say why
 * in printable ASCII, short enough for the agent's audit.
 */
#include <stdlib.h>
#include <string.h>

#include <jose/jose.h>

#include "../../web/web.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ISSUER "https://idp.example.org/realms/x"
#define CLIENT "fido2gate"
#define NONCE "n-0S6_WzA2Mj"
#define NOW 1700000000
#define SKEW 60

static json_t *rsa, *ec, *hmac, *jwks;

static void
keys_once(void)
{
	json_t *pub;

	if (jwks != NULL)
		return;
	rsa =
	    json_pack("{s:s,s:i,s:s}", "kty", "RSA", "bits", 2048, "kid", "r1");
	ec = json_pack(
	    "{s:s,s:s,s:s}", "kty", "EC", "crv", "P-256", "kid", "e1");
	if (rsa == NULL || ec == NULL || !jose_jwk_gen(NULL, rsa) ||
	    !jose_jwk_gen(NULL, ec))
		abort();
	jwks = json_pack("{s:[]}", "keys");
	pub = json_deep_copy(rsa);
	if (pub == NULL || !jose_jwk_pub(NULL, pub))
		abort();
	/* the RSA public key's JSON as an HMAC secret */
	{
		char *s = json_dumps(pub, JSON_SORT_KEYS | JSON_COMPACT);
		char *k = s != NULL
		    ? fg_b64url_encode((const uint8_t *)s, strlen(s))
		    : NULL;
		hmac = k != NULL ? json_pack("{s:s,s:s}", "kty", "oct", "k", k)
				 : NULL;
		free(s);
		free(k);
		if (hmac == NULL)
			abort();
	}
	json_array_append_new(json_object_get(jwks, "keys"), pub);
	pub = json_deep_copy(ec);
	if (pub == NULL || !jose_jwk_pub(NULL, pub))
		abort();
	json_array_append_new(json_object_get(jwks, "keys"), pub);
}

/* "b64(header).b64(payload).signature", signed as the header's alg says */
static char *
sign(const char *hdr, size_t hlen, const char *pay, size_t plen)
{
	char *h = fg_b64url_encode((const uint8_t *)hdr, hlen);
	char *p = fg_b64url_encode((const uint8_t *)pay, plen);
	json_t *hj = json_loadb(hdr, hlen, 0, NULL), *jws = NULL, *sig = NULL;
	const char *alg = json_string_value(json_object_get(hj, "alg"));
	const json_t *key = NULL;
	const char *s = "";
	char *out = NULL;

	if (h == NULL || p == NULL)
		goto out;
	if (alg != NULL && strcmp(alg, "RS256") == 0)
		key = rsa;
	else if (alg != NULL && strcmp(alg, "ES256") == 0)
		key = ec;
	else if (alg != NULL && strcmp(alg, "HS256") == 0)
		key = hmac;
	if (key != NULL && (jws = json_pack("{s:s}", "payload", p)) != NULL &&
	    (sig = json_pack("{s:s}", "protected", h)) != NULL &&
	    jose_jws_sig(NULL, jws, sig, key))
		s = json_string_value(json_object_get(jws, "signature"));
	if (s == NULL)
		s = "";
	if (asprintf(&out, "%s.%s.%s", h, p, s) < 0)
		out = NULL;
out:
	free(h);
	free(p);
	json_decref(hj);
	json_decref(jws);
	json_decref(sig);
	return out;
}

/* the header's alg, read here, not by the code under test */
static char *
header_alg(const char *jwt)
{
	const char *dot = strchr(jwt, '.');
	char *h = dot != NULL ? strndup(jwt, (size_t)(dot - jwt)) : NULL, *alg;
	uint8_t *d = NULL;
	size_t n = 0;
	json_t *o = NULL;

	if (h != NULL && fg_b64url_decode(h, &d, &n) == FG_OK)
		o = json_loadb((const char *)d, n, 0, NULL);
	alg = json_is_string(json_object_get(o, "alg"))
	    ? strdup(json_string_value(json_object_get(o, "alg")))
	    : NULL;
	json_decref(o);
	free(d);
	free(h);
	return alg;
}

static bool
aud_ok(const json_t *aud)
{
	size_t i;
	bool has = false;

	if (json_is_string(aud))
		return strcmp(json_string_value(aud), CLIENT) == 0;
	if (!json_is_array(aud))
		return false;
	for (i = 0; i < json_array_size(aud); i++)
		if (json_is_string(json_array_get(aud, i)) &&
		    strcmp(json_string_value(json_array_get(aud, i)), CLIENT) ==
			0)
			has = true;
	return has;
}

static void
oracle(const char *jwt, const json_t *c)
{
	char *alg = header_alg(jwt);
	const json_t *exp = json_object_get(c, "exp");
	const json_t *iat = json_object_get(c, "iat");
	const char *azp = fg_json_str(c, "azp");

	if (alg == NULL ||
	    (strcmp(alg, "RS256") != 0 && strcmp(alg, "ES256") != 0))
		abort();
	free(alg);
	if (fg_json_str(c, "iss") == NULL ||
	    strcmp(fg_json_str(c, "iss"), ISSUER) != 0 ||
	    fg_json_str(c, "nonce") == NULL ||
	    strcmp(fg_json_str(c, "nonce"), NONCE) != 0 ||
	    !aud_ok(json_object_get(c, "aud")) || !json_is_number(exp) ||
	    json_number_value(exp) <= NOW - SKEW || !json_is_number(iat) ||
	    json_number_value(iat) > NOW + SKEW ||
	    fg_json_str(c, "sub") == NULL)
		abort();
	if (json_is_array(json_object_get(c, "aud")) &&
	    json_array_size(json_object_get(c, "aud")) > 1 &&
	    (azp == NULL || strcmp(azp, CLIENT) != 0))
		abort();
}

static void
why_ok(const char *why)
{
	size_t i;

	if (why == NULL || strlen(why) == 0 || strlen(why) > 110)
		abort();
	for (i = 0; why[i] != '\0'; i++)
		if (why[i] < 0x20 || why[i] > 0x7e)
			abort();
}

static void
check(const char *jwt, const json_t *keys)
{
	struct fg_idtoken_want w = {
	    ISSUER, CLIENT, NONCE, "RS256 ES256", NOW, SKEW};
	const char *why = NULL;
	json_t *claims = NULL;
	int r = fg_idtoken_check(jwt, keys, &w, &claims, &why);

	if (r == FG_OK) {
		if (claims == NULL)
			abort();
		oracle(jwt, claims);
		json_decref(claims);
		return;
	}
	if (claims != NULL)
		abort();
	why_ok(why);
}

/* the same bytes as a token response and a discovery document */
static void
others(const char *s, size_t n)
{
	struct fg_idtoken_want w = {
	    ISSUER, CLIENT, NONCE, "RS256 ES256", NOW, SKEW};
	struct fg_up_endpoints ep;
	const char *why = NULL;
	char *idt = NULL, *at = NULL;
	json_t *doc, *ui = NULL;

	if (fg_up_token_reply(200, s, n, &idt, &at, &why) == FG_OK) {
		if (idt == NULL || strlen(idt) > FG_UP_JWT_MAX ||
		    (at != NULL && strlen(at) > 4096))
			abort();
		free(idt);
		free(at);
	} else {
		why_ok(why);
	}
	/* as userinfo, plain and signed: the sub must be the one asked */
	if (fg_up_userinfo(200, "application/json", s, n, jwks, &w, "s", &ui,
		&why) == FG_OK) {
		if (fg_json_str(ui, "sub") == NULL ||
		    strcmp(fg_json_str(ui, "sub"), "s") != 0)
			abort();
		json_decref(ui);
	}
	if (fg_up_userinfo(200, "application/jwt", s, n, jwks, &w, "s", &ui,
		&why) == FG_OK) {
		if (strcmp(fg_json_str(ui, "sub"), "s") != 0)
			abort();
		json_decref(ui);
	}
	doc = json_loadb(s, n, 0, NULL);
	if (fg_up_discovery(doc, ISSUER, &ep, &why) == FG_OK) {
		if (strncmp(ep.token, "https://", 8) != 0 ||
		    strncmp(ep.jwks, "https://", 8) != 0 ||
		    strncmp(ep.authorization, "https://", 8) != 0 ||
		    (ep.userinfo != NULL &&
			strncmp(ep.userinfo, "https://", 8) != 0))
			abort();
		fg_up_endpoints_clear(&ep);
	}
	json_decref(doc);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data + 1, *nl;
	size_t n = size - 1;
	char *a = NULL, *b = NULL, *jwt = NULL;
	json_t *keys = NULL;

	if (size < 2 || size > 32768)
		return 0;
	keys_once();
	if ((nl = memchr(in, '\n', n)) == NULL)
		return 0;
	if ((a = strndup(in, (size_t)(nl - in))) == NULL ||
	    (b = strndup(nl + 1, n - (size_t)(nl - in) - 1)) == NULL)
		goto out;
	if (data[0] % 2 == 0) {
		keys = json_loads(a, 0, NULL);
		check(b, keys != NULL ? keys : jwks);
		others(b, strlen(b));
	} else if ((jwt = sign(a, strlen(a), b, strlen(b))) != NULL) {
		check(jwt, jwks);
	}
out:
	json_decref(keys);
	free(jwt);
	free(a);
	free(b);
	return 0;
}
