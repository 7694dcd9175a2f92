/*
 * The organisation's provider, as its relying party sees it without a
 * socket: its discovery document (the issuer must be the configured one;
 * only the endpoints it names are ever fetched), the authorization request
 * the browser is sent with, the token endpoint's answer, and the id_token
 * (OpenID Connect Core §3.1.3.7), checked in the order that keeps a forged
 * token from choosing how it is checked: the algorithm against the
 * configured list first, then the key by kid and by the kty the algorithm
 * needs, the signature (libjose), and only then the claims.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jose/jose.h>
#include <openssl/crypto.h>

#include "web.h"

#define ALGS_MAX 16

/* what key each asymmetric algorithm takes */
struct alg_key {
	const char *alg;
	const char *kty;
	const char *crv; /* NULL: RSA; else EC */
};

static const struct alg_key alg_keys[] = {
    {"RS256", "RSA", NULL},
    {"RS384", "RSA", NULL},
    {"RS512", "RSA", NULL},
    {"PS256", "RSA", NULL},
    {"PS384", "RSA", NULL},
    {"PS512", "RSA", NULL},
    {"ES256", "EC", "P-256"},
    {"ES384", "EC", "P-384"},
    {"ES512", "EC", "P-521"},
};

#define RSA_MIN_BYTES 256 /* 2048 bits */

/* the parameters we set ourselves: an extra one may not repeat them */
static const char *const own_params[] = {"response_type", "client_id",
    "redirect_uri", "scope", "state", "nonce", "code_challenge",
    "code_challenge_method", NULL};

/* --- helpers --- */

static bool
https_url(const char *s)
{
	return s != NULL && strncmp(s, "https://", 8) == 0 && fg_url_sane(s) &&
	    strchr(s, '#') == NULL;
}

static const struct alg_key *
alg_key(const char *alg)
{
	size_t i;

	for (i = 0; i < sizeof(alg_keys) / sizeof(alg_keys[0]); i++)
		if (strcmp(alg_keys[i].alg, alg) == 0)
			return &alg_keys[i];
	return NULL;
}

/* alg is one of the space-separated words of list */
static bool
has_word(const char *list, const char *alg)
{
	size_t n = strlen(alg);
	const char *p = list;

	while (p != NULL && *p != '\0') {
		while (*p == ' ')
			p++;
		if (strncmp(p, alg, n) == 0 && (p[n] == ' ' || p[n] == '\0'))
			return n > 0;
		p = strchr(p, ' ');
	}
	return false;
}

static void
add_param(struct fg_buf *b, const char *name, const char *value)
{
	fg_buf_str(b, "&");
	fg_buf_str(b, name);
	fg_buf_str(b, "=");
	fg_buf_urlenc(b, value);
}

/* k=v&k=v as the configuration gives it: already URL-encoded, names of
 * [A-Za-z0-9_.-], none of ours, no empty pair */
static bool
params_valid(const char *params)
{
	const char *p = params, *eq, *amp;
	size_t i, n;

	if (*p == '\0')
		return true;
	if (strspn(params,
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		"0123456789-._~%=&+:/,*!$'()") != strlen(params))
		return false;
	for (;;) {
		amp = strchr(p, '&');
		n = amp != NULL ? (size_t)(amp - p) : strlen(p);
		eq = memchr(p, '=', n);
		if (eq == NULL || eq == p ||
		    (size_t)(eq - p) > FG_WEB_NAME_MAX ||
		    strspn(p,
			"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			"0123456789-._") != (size_t)(eq - p))
			return false;
		for (i = 0; own_params[i] != NULL; i++)
			if (strlen(own_params[i]) == (size_t)(eq - p) &&
			    strncmp(own_params[i], p, (size_t)(eq - p)) == 0)
				return false;
		if (amp == NULL)
			return true;
		p = amp + 1;
	}
}

/* base64url to a JSON object, no repeated member; NULL otherwise */
static json_t *
b64_object(const char *s, size_t n)
{
	char *copy = strndup(s, n);
	uint8_t *d = NULL;
	size_t dlen = 0;
	json_t *o = NULL;

	if (copy != NULL && fg_b64url_decode(copy, &d, &dlen) == FG_OK)
		o = json_loadb(
		    (const char *)d, dlen, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		o = NULL;
	}
	if (d != NULL)
		fg_wipe_free(d, dlen);
	free(copy);
	return o;
}

static bool
b64_part(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
			(s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
			s[i] == '_'))
			return false;
	return n % 4 != 1;
}

/* a JSON number as seconds; false when it is not one */
static bool
seconds(const json_t *v, double *out)
{
	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return *out > -1e15 && *out < 1e15;
}

/* the public part of key, fit for alg: a new object, or NULL */
static json_t *
key_for(const json_t *key, const char *alg, const struct alg_key *ak)
{
	const char *kty = fg_json_str(key, "kty"), *crv, *use, *kalg, *n;
	const json_t *ops = json_object_get(key, "key_ops"), *op;
	json_t *pub;
	size_t i;
	bool verify = false;

	if (kty == NULL || strcmp(kty, ak->kty) != 0)
		return NULL;
	if (ak->crv != NULL &&
	    ((crv = fg_json_str(key, "crv")) == NULL ||
		strcmp(crv, ak->crv) != 0))
		return NULL;
	if ((use = fg_json_str(key, "use")) != NULL && strcmp(use, "sig") != 0)
		return NULL;
	if (json_object_get(key, "use") != NULL && use == NULL)
		return NULL;
	if ((kalg = fg_json_str(key, "alg")) != NULL && strcmp(kalg, alg) != 0)
		return NULL;
	if (json_object_get(key, "alg") != NULL && kalg == NULL)
		return NULL;
	if (ops != NULL) {
		if (!json_is_array(ops))
			return NULL;
		json_array_foreach(ops, i, op)
		{
			if (json_is_string(op) &&
			    strcmp(json_string_value(op), "verify") == 0)
				verify = true;
		}
		if (!verify)
			return NULL;
	}
	/* RSA: 2048 bits or more (base64url of 256 bytes: 342 characters) */
	if (ak->crv == NULL &&
	    ((n = fg_json_str(key, "n")) == NULL ||
		strlen(n) < (RSA_MIN_BYTES * 4 + 2) / 3))
		return NULL;
	if (ak->crv == NULL)
		pub = json_pack("{s:s,s:O,s:O,s:s}", "kty", "RSA", "n",
		    json_object_get(key, "n"), "e", json_object_get(key, "e"),
		    "alg", alg);
	else
		pub = json_pack("{s:s,s:s,s:O,s:O,s:s}", "kty", "EC", "crv",
		    ak->crv, "x", json_object_get(key, "x"), "y",
		    json_object_get(key, "y"), "alg", alg);
	/* every member a string (json_pack's O takes anything) */
	if (pub != NULL) {
		const char *name;
		json_t *v;
		json_object_foreach(pub, name, v)
		{
			if (!json_is_string(v)) {
				json_decref(pub);
				return NULL;
			}
		}
	}
	return pub;
}

/* --- the discovery document --- */

int
fg_up_discovery(const json_t *doc, const char *issuer,
    struct fg_up_endpoints *out, const char **why)
{
	const char *iss = fg_json_str(doc, "issuer");
	const char *a = fg_json_str(doc, "authorization_endpoint");
	const char *t = fg_json_str(doc, "token_endpoint");
	const char *j = fg_json_str(doc, "jwks_uri");
	const char *u = fg_json_str(doc, "userinfo_endpoint");

	memset(out, 0, sizeof(*out));
	if (!json_is_object(doc)) {
		*why = "the provider's discovery document is not a JSON object";
		return FG_ERR_INVALID;
	}
	if (iss == NULL || strcmp(iss, issuer) != 0) {
		*why = "the provider's discovery document names another issuer";
		return FG_ERR_INVALID;
	}
	if (!https_url(a) || !https_url(t) || !https_url(j)) {
		*why = "the provider's discovery document lacks an https "
		       "authorization_endpoint, token_endpoint or jwks_uri";
		return FG_ERR_INVALID;
	}
	if (json_object_get(doc, "userinfo_endpoint") != NULL &&
	    !https_url(u)) {
		*why = "the provider's discovery document names a "
		       "userinfo_endpoint "
		       "that is not an https URL";
		return FG_ERR_INVALID;
	}
	if ((out->authorization = strdup(a)) == NULL ||
	    (out->token = strdup(t)) == NULL ||
	    (out->jwks = strdup(j)) == NULL ||
	    (u != NULL && (out->userinfo = strdup(u)) == NULL)) {
		fg_up_endpoints_clear(out);
		*why = "out of memory";
		return FG_ERR_NOMEM;
	}
	return FG_OK;
}

void
fg_up_endpoints_clear(struct fg_up_endpoints *e)
{
	free(e->authorization);
	free(e->token);
	free(e->jwks);
	free(e->userinfo);
	memset(e, 0, sizeof(*e));
}

/* --- our authorization request --- */

char *
fg_up_authorize_url(const char *endpoint, const char *client_id,
    const char *redirect_uri, const struct fg_up_start *s, const char **why)
{
	struct fg_buf b = {0};
	size_t len;
	char *url;

	if (!https_url(endpoint)) {
		*why = "the authorization endpoint is not an https URL";
		return NULL;
	}
	if (!params_valid(s->params)) {
		*why = "the provider's extra parameters are malformed, or set "
		       "one of ours";
		return NULL;
	}
	fg_buf_str(&b, endpoint);
	fg_buf_str(&b, strchr(endpoint, '?') != NULL ? "&" : "?");
	fg_buf_str(&b, "response_type=code");
	add_param(&b, "client_id", client_id);
	add_param(&b, "redirect_uri", redirect_uri);
	add_param(&b, "scope", s->scope);
	add_param(&b, "state", s->state);
	add_param(&b, "nonce", s->nonce);
	add_param(&b, "code_challenge", s->challenge);
	add_param(&b, "code_challenge_method", "S256");
	if (s->params[0] != '\0') {
		fg_buf_str(&b, "&");
		fg_buf_str(&b, s->params);
	}
	if ((url = fg_buf_take(&b, &len)) == NULL) {
		*why = "out of memory";
		return NULL;
	}
	if (!fg_url_sane(url)) {
		fg_wipe_free(url, len);
		*why = "the authorization URL would be too long";
		return NULL;
	}
	return url;
}

/* --- the token endpoint's answer --- */

int
fg_up_token_reply(long status, const char *body, size_t len, char **id_token,
    char **access_token, const char **why)
{
	json_t *o = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	const char *t, *type, *at;
	int ret = FG_ERR_INVALID;

	*id_token = NULL;
	*access_token = NULL;
	if (!json_is_object(o)) {
		*why = "the provider's token endpoint did not answer a JSON "
		       "object";
		goto out;
	}
	if (status != 200) {
		/* an OAuth error (RFC 6749 §5.2): the code, not its text */
		*why = json_is_string(json_object_get(o, "error"))
		    ? "the provider's token endpoint refused the code"
		    : "the provider's token endpoint answered an error";
		goto out;
	}
	if ((type = fg_json_str(o, "token_type")) != NULL &&
	    strcasecmp(type, "Bearer") != 0 && strcasecmp(type, "DPoP") != 0) {
		*why = "the provider's token endpoint answered an unknown "
		       "token_type";
		goto out;
	}
	t = fg_json_str(o, "id_token");
	if (t == NULL || strlen(t) == 0) {
		*why = "the provider's token endpoint answered no id_token";
		goto out;
	}
	if (strlen(t) > FG_UP_JWT_MAX) {
		*why = "the provider's id_token is over 16 KiB";
		goto out;
	}
	/* the access token, for the userinfo endpoint: a b64token
	 * (RFC 6750 §2.1), or none */
	at = fg_json_str(o, "access_token");
	if (at != NULL &&
	    (strlen(at) == 0 || strlen(at) > 4096 ||
		strspn(at,
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789-._~+/=") != strlen(at)))
		at = NULL;
	if ((*id_token = strdup(t)) == NULL ||
	    (at != NULL && (*access_token = strdup(at)) == NULL)) {
		if (*id_token != NULL)
			fg_wipe_free(*id_token, strlen(*id_token) + 1);
		*id_token = NULL;
		*why = "out of memory";
		ret = FG_ERR_NOMEM;
		goto out;
	}
	ret = FG_OK;
out:
	json_decref(o);
	return ret;
}

/* --- the id_token --- */

/* the header: alg configured (never none, never HMAC); kid, if any */
static int
check_header(const json_t *hdr, const struct fg_idtoken_want *w,
    const struct alg_key **ak, const char **alg, const char **kid,
    const char **why)
{
	const json_t *k = json_object_get(hdr, "kid");

	*alg = fg_json_str(hdr, "alg");
	if (*alg == NULL) {
		*why = "the id_token's header has no alg";
		return FG_ERR_INVALID;
	}
	if (strcasecmp(*alg, "none") == 0) {
		*why = "the id_token is unsigned (alg none)";
		return FG_ERR_INVALID;
	}
	if (strncasecmp(*alg, "HS", 2) == 0) {
		*why = "the id_token is signed with an HMAC (alg HS*): refused";
		return FG_ERR_INVALID;
	}
	if (strcmp(*alg, "EdDSA") == 0 && has_word(w->algs, *alg)) {
		/* configured, but libjose 11 has no EdDSA */
		*why = "the id_token is signed with EdDSA, which this front "
		       "cannot verify";
		return FG_ERR_INVALID;
	}
	if (!has_word(w->algs, *alg) || (*ak = alg_key(*alg)) == NULL) {
		*why = "the id_token's alg is not one of those configured";
		return FG_ERR_INVALID;
	}
	if (json_object_get(hdr, "crit") != NULL ||
	    json_object_get(hdr, "b64") != NULL ||
	    json_object_get(hdr, "zip") != NULL ||
	    json_object_get(hdr, "enc") != NULL) {
		*why = "the id_token's header asks for extensions (crit, b64, "
		       "zip, enc)";
		return FG_ERR_INVALID;
	}
	if (k != NULL &&
	    (!json_is_string(k) || json_string_length(k) == 0 ||
		json_string_length(k) > 256)) {
		*why = "the id_token's kid is not a short string";
		return FG_ERR_INVALID;
	}
	*kid = json_string_value(k);
	return FG_OK;
}

/* the signature, by a key of the JWKS that fits the header */
static int
check_signature(const json_t *jws, const json_t *jwks, const char *alg,
    const struct alg_key *ak, const char *kid, const char **why)
{
	const json_t *keys = json_object_get(jwks, "keys"), *key;
	bool named = false, fits = false;
	json_t *pub;
	size_t i;

	if (!json_is_array(keys)) {
		*why = "the provider's JWKS has no keys";
		return FG_ERR_NOTFOUND;
	}
	json_array_foreach(keys, i, key)
	{
		const char *k = fg_json_str(key, "kid");
		bool ok;

		if (kid != NULL && (k == NULL || strcmp(k, kid) != 0))
			continue;
		named = true;
		if ((pub = key_for(key, alg, ak)) == NULL)
			continue;
		fits = true;
		ok = jose_jws_ver(NULL, jws, NULL, pub, false);
		json_decref(pub);
		if (ok)
			return FG_OK;
	}
	if (!named) {
		*why = "the id_token's kid is not in the provider's JWKS";
		return FG_ERR_NOTFOUND;
	}
	if (kid == NULL) {
		/* no kid: the keys may have rotated as well */
		*why = "no key of the provider's JWKS verifies the id_token "
		       "(it names no kid)";
		return FG_ERR_NOTFOUND;
	}
	*why = fits ? "the id_token's signature does not verify with the "
		      "provider's key"
		    : "the key the id_token names does not fit its alg (kty, "
		      "curve, or RSA under 2048 bits)";
	return FG_ERR_INVALID;
}

static bool
aud_has(const json_t *aud, const char *client_id, size_t *n)
{
	const json_t *v;
	size_t i;
	bool has = false;

	*n = 0;
	if (json_is_string(aud)) {
		*n = 1;
		return strcmp(json_string_value(aud), client_id) == 0;
	}
	if (!json_is_array(aud))
		return false;
	json_array_foreach(aud, i, v)
	{
		if (!json_is_string(v))
			return false;
		if (strcmp(json_string_value(v), client_id) == 0)
			has = true;
	}
	*n = json_array_size(aud);
	return has;
}

static int
check_claims(const json_t *c, const struct fg_idtoken_want *w, const char **why)
{
	const char *iss = fg_json_str(c, "iss"), *azp = fg_json_str(c, "azp");
	const char *nonce = fg_json_str(c, "nonce"),
		   *sub = fg_json_str(c, "sub");
	double exp, iat, nbf;
	size_t n_aud;

	if (iss == NULL || strcmp(iss, w->issuer) != 0) {
		*why = "the id_token's iss is not the provider's issuer";
		return FG_ERR_INVALID;
	}
	if (!aud_has(json_object_get(c, "aud"), w->client_id, &n_aud)) {
		*why = "the id_token's aud does not hold our client_id";
		return FG_ERR_INVALID;
	}
	if ((n_aud > 1 || json_object_get(c, "azp") != NULL) &&
	    (azp == NULL || strcmp(azp, w->client_id) != 0)) {
		*why = "the id_token's azp is not our client_id";
		return FG_ERR_INVALID;
	}
	if (!seconds(json_object_get(c, "exp"), &exp)) {
		*why = "the id_token has no exp";
		return FG_ERR_INVALID;
	}
	if (exp <= (double)(w->now - (int64_t)w->skew)) {
		*why = "the id_token has expired";
		return FG_ERR_INVALID;
	}
	if (!seconds(json_object_get(c, "iat"), &iat)) {
		*why = "the id_token has no iat";
		return FG_ERR_INVALID;
	}
	if (iat > (double)(w->now + (int64_t)w->skew)) {
		*why = "the id_token was issued in the future (iat)";
		return FG_ERR_INVALID;
	}
	if (json_object_get(c, "nbf") != NULL &&
	    (!seconds(json_object_get(c, "nbf"), &nbf) ||
		nbf > (double)(w->now + (int64_t)w->skew))) {
		*why = "the id_token is not valid yet (nbf)";
		return FG_ERR_INVALID;
	}
	if (nonce == NULL || strlen(nonce) != strlen(w->nonce) ||
	    CRYPTO_memcmp(nonce, w->nonce, strlen(nonce)) != 0) {
		*why = "the id_token's nonce is not ours";
		return FG_ERR_INVALID;
	}
	if (sub == NULL || strlen(sub) == 0 || strlen(sub) > 255) {
		*why = "the id_token has no sub";
		return FG_ERR_INVALID;
	}
	return FG_OK;
}

/* a compact JWS: its header (alg, kid), its key in the JWKS, its
 * signature; then its payload, a JSON object, into *payload */
static int
verify_jws(const char *jwt, const json_t *jwks, const struct fg_idtoken_want *w,
    json_t **out, const char **why)
{
	const char *dot1, *dot2, *alg = NULL, *kid = NULL;
	const struct alg_key *ak = NULL;
	json_t *hdr = NULL, *payload = NULL, *jws = NULL;
	size_t n = strlen(jwt);
	int ret = FG_ERR_INVALID;

	*out = NULL;
	if (n > FG_UP_JWT_MAX) {
		*why = "the provider's id_token is over 16 KiB";
		return FG_ERR_INVALID;
	}
	/* compact serialization: three base64url parts; a JWE has five */
	if ((dot1 = strchr(jwt, '.')) == NULL ||
	    (dot2 = strchr(dot1 + 1, '.')) == NULL ||
	    strchr(dot2 + 1, '.') != NULL ||
	    !b64_part(jwt, (size_t)(dot1 - jwt)) ||
	    !b64_part(dot1 + 1, (size_t)(dot2 - dot1 - 1)) ||
	    !b64_part(dot2 + 1, strlen(dot2 + 1))) {
		*why = "the id_token is not a compact JWS";
		return FG_ERR_INVALID;
	}
	if ((hdr = b64_object(jwt, (size_t)(dot1 - jwt))) == NULL) {
		*why = "the id_token's header is not a JSON object";
		goto out;
	}
	if ((ret = check_header(hdr, w, &ak, &alg, &kid, why)) != FG_OK)
		goto out;
	/* an algorithm that signs leaves a signature */
	if (dot2[1] == '\0') {
		*why = "the id_token has no signature";
		ret = FG_ERR_INVALID;
		goto out;
	}
	jws = json_pack("{s:s%,s:s%,s:s}", "protected", jwt,
	    (size_t)(dot1 - jwt), "payload", dot1 + 1,
	    (size_t)(dot2 - dot1 - 1), "signature", dot2 + 1);
	if (jws == NULL) {
		*why = "out of memory";
		ret = FG_ERR_NOMEM;
		goto out;
	}
	if ((ret = check_signature(jws, jwks, alg, ak, kid, why)) != FG_OK)
		goto out;
	ret = FG_ERR_INVALID;
	if ((payload = b64_object(dot1 + 1, (size_t)(dot2 - dot1 - 1))) ==
	    NULL) {
		*why = "the id_token's payload is not a JSON object";
		goto out;
	}
	*out = payload;
	payload = NULL;
	ret = FG_OK;
out:
	json_decref(hdr);
	json_decref(payload);
	json_decref(jws);
	return ret;
}

int
fg_idtoken_check(const char *jwt, const json_t *jwks,
    const struct fg_idtoken_want *w, json_t **claims, const char **why)
{
	json_t *payload = NULL;
	int ret;

	*claims = NULL;
	if ((ret = verify_jws(jwt, jwks, w, &payload, why)) != FG_OK)
		return ret;
	if ((ret = check_claims(payload, w, why)) != FG_OK) {
		json_decref(payload);
		return ret;
	}
	*claims = payload;
	return FG_OK;
}

/* --- the userinfo endpoint's answer --- */

int
fg_up_userinfo(long status, const char *type, const char *body, size_t len,
    const json_t *jwks, const struct fg_idtoken_want *w, const char *sub,
    json_t **claims, const char **why)
{
	json_t *o = NULL;
	char *jwt = NULL;
	size_t n_aud;
	int ret = FG_ERR_INVALID;

	*claims = NULL;
	if (status != 200) {
		*why = "the provider's userinfo endpoint answered an error";
		return FG_ERR_INVALID;
	}
	if (type != NULL && strncasecmp(type, "application/jwt", 15) == 0) {
		/* signed as an id_token is (Core §5.3.2), and then iss and
		 * aud, when present, must be those of one */
		while (len > 0 &&
		    (body[len - 1] == '\n' || body[len - 1] == '\r' ||
			body[len - 1] == ' '))
			len--;
		if (len > FG_UP_JWT_MAX || (jwt = strndup(body, len)) == NULL ||
		    strlen(jwt) != len) {
			*why = "the provider's userinfo is not a JWT of 16 KiB "
			       "or less";
			goto out;
		}
		if ((ret = verify_jws(jwt, jwks, w, &o, why)) != FG_OK)
			goto out;
		ret = FG_ERR_INVALID;
		if ((json_object_get(o, "iss") != NULL &&
			(fg_json_str(o, "iss") == NULL ||
			    strcmp(fg_json_str(o, "iss"), w->issuer) != 0)) ||
		    (json_object_get(o, "aud") != NULL &&
			!aud_has(
			    json_object_get(o, "aud"), w->client_id, &n_aud))) {
			*why = "the provider's signed userinfo names another "
			       "issuer or audience";
			goto out;
		}
	} else if ((o = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL)) ==
		NULL ||
	    !json_is_object(o)) {
		*why = "the provider's userinfo is not a JSON object";
		goto out;
	}
	/* Core §5.3.2: the sub must be the id_token's, exactly */
	if (fg_json_str(o, "sub") == NULL ||
	    strcmp(fg_json_str(o, "sub"), sub) != 0) {
		*why = "the provider's userinfo is about another sub than its "
		       "id_token";
		goto out;
	}
	*claims = o;
	o = NULL;
	ret = FG_OK;
out:
	json_decref(o);
	free(jwt);
	return ret;
}
