/*
 * The id_token signing keys: one active RS256 (RSA-2048) and one active
 * ES256 (P-256) key, made by libjose at first start and kept, private, in
 * the store; they never leave the agent. A rotation makes new ones and
 * retires the old, which the JWKS still lists until every token they
 * signed has expired. Signatures are libjose's; this file only joins the
 * three parts of the compact serialisation (RFC 7515 §7.1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jose/jose.h>

#include "agent.h"

static const char *const algs[] = { "RS256", "ES256" };

struct fg_keys {
	json_t *rows; /* the store's rows, private JWKs included */
};

static json_t *
key_make(const char *alg)
{
	json_t *jwk = strcmp(alg, "RS256") == 0 ?
	    json_pack("{s:s,s:i}", "kty", "RSA", "bits", 2048) :
	    json_pack("{s:s,s:s}", "kty", "EC", "crv", "P-256");
	json_t *thp = NULL;

	if (jwk == NULL || !jose_jwk_gen(NULL, jwk) ||
	    json_object_set_new(jwk, "alg", json_string(alg)) != 0 ||
	    json_object_set_new(jwk, "use", json_string("sig")) != 0 ||
	    (thp = jose_jwk_thp(NULL, jwk, "S256")) == NULL ||
	    json_object_set(jwk, "kid", thp) != 0) {
		json_decref(thp);
		json_decref(jwk);
		return NULL;
	}
	json_decref(thp);
	return jwk;
}

static int
key_add(struct fg_agent *ag, const char *alg, bool rotate)
{
	struct fg_peer self = { .uid = 0 };
	struct fg_audit a = { .event = "oidc.key", .result = "ok",
		.reason = rotate ? "rotated" : "created",
		.caller_uid = self.uid };
	json_t *jwk = key_make(alg);
	char *text = NULL;
	int ret = FG_ERR_INTERNAL;

	if (jwk == NULL)
		goto out;
	a.credential = json_string_value(json_object_get(jwk, "kid"));
	a.detail = alg;
	if ((text = json_dumps(jwk, JSON_COMPACT)) == NULL) {
		ret = FG_ERR_NOMEM;
		goto out;
	}
	ret = fg_store_key_add(ag->store, a.credential, alg, text, rotate, &a);
out:
	if (text != NULL)
		fg_wipe_free(text, strlen(text));
	json_decref(jwk);
	return ret;
}

/* The store's keys still worth listing: active, or retired within the
 * lifetime of a token. */
static int
keys_reload(struct fg_agent *ag)
{
	json_t *rows = NULL;
	int r;

	if ((r = fg_store_keys(ag->store,
		 (int64_t)time(NULL) - ag->cfg.gate.token_ttl, &rows)) != FG_OK)
		return r;
	json_decref(ag->keys_signing->rows);
	ag->keys_signing->rows = rows;
	return FG_OK;
}

static const json_t *
active(const struct fg_keys *k, const char *alg)
{
	const json_t *row, *found = NULL;
	size_t i;

	/* the newest active key of alg */
	json_array_foreach(k->rows, i, row)
	{
		const char *a = json_string_value(json_object_get(row, "alg"));
		if (a != NULL && strcmp(a, alg) == 0 &&
		    json_integer_value(json_object_get(row, "retired")) == 0)
			found = row;
	}
	return found;
}

int
fg_keys_open(struct fg_agent *ag)
{
	size_t i;
	int r;

	if ((ag->keys_signing = calloc(1, sizeof(*ag->keys_signing))) == NULL)
		return FG_ERR_NOMEM;
	if ((r = keys_reload(ag)) != FG_OK)
		return r;
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (active(ag->keys_signing, algs[i]) == NULL &&
		    ((r = key_add(ag, algs[i], false)) != FG_OK ||
			(r = keys_reload(ag)) != FG_OK))
			return r;
	return FG_OK;
}

void
fg_keys_close(struct fg_keys **k)
{
	if (k == NULL || *k == NULL)
		return;
	json_decref((*k)->rows);
	free(*k);
	*k = NULL;
}

int
fg_keys_rotate(struct fg_agent *ag)
{
	size_t i;
	int r;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if ((r = key_add(ag, algs[i], true)) != FG_OK)
			return r;
	return keys_reload(ag);
}

json_t *
fg_keys_jwks(struct fg_agent *ag)
{
	json_t *keys = json_array(), *row, *pub;
	size_t i;

	/* drop what has retired past a token's lifetime */
	if (keys_reload(ag) != FG_OK || keys == NULL) {
		json_decref(keys);
		return NULL;
	}
	json_array_foreach(ag->keys_signing->rows, i, row)
	{
		pub = json_deep_copy(json_object_get(row, "jwk"));
		if (pub == NULL || !jose_jwk_pub(NULL, pub) ||
		    json_array_append_new(keys, pub) != 0) {
			json_decref(keys);
			return NULL;
		}
	}
	return json_pack("{s:o}", "keys", keys);
}

char *
fg_keys_sign(struct fg_agent *ag, const char *alg, const json_t *claims)
{
	const json_t *row = active(ag->keys_signing, alg);
	const json_t *jwk = json_object_get(row, "jwk");
	json_t *jws = NULL, *sig = NULL;
	char *payload = NULL, *b64 = NULL, *out = NULL;
	const char *prot, *s;

	if (jwk == NULL ||
	    (payload = json_dumps(claims, JSON_COMPACT)) == NULL ||
	    (b64 = fg_b64url_encode((const uint8_t *)payload,
		 strlen(payload))) == NULL ||
	    (jws = json_pack("{s:s}", "payload", b64)) == NULL ||
	    (sig = json_pack("{s:{s:s,s:s,s:O}}", "protected", "alg", alg,
		 "typ", "JWT", "kid", json_object_get(jwk, "kid"))) == NULL ||
	    !jose_jws_sig(NULL, jws, sig, jwk))
		goto out;
	prot = json_string_value(json_object_get(jws, "protected"));
	s = json_string_value(json_object_get(jws, "signature"));
	if (prot != NULL && s != NULL &&
	    asprintf(&out, "%s.%s.%s", prot, b64, s) < 0)
		out = NULL;
out:
	free(payload);
	free(b64);
	json_decref(jws);
	json_decref(sig);
	return out;
}
