/*
 * Unit tests of the agent's request handlers (agent/ops.c) on a real
 * store in a private temporary folder: requests go straight to
 * fg_agent_handle() as a given peer, with keys and signatures made here,
 * so that the order of events (a lockout between begin and finish, a
 * challenge presented after its time) is decided by the test and not by
 * the scheduler.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <cbor.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <jose/jose.h>

#include "agent.h"

#define RP "fido2gate.test"
#define WEB_ORIGIN "https://matrix.fido2gate.test"
#define ISSUER WEB_ORIGIN "/_fido2gate"
#define CLIENT "synapse"
#define SECRET "a-client-secret-of-some-length"
#define REDIRECT "https://matrix.fido2gate.test/_synapse/client/oidc/callback"

struct fixture {
	char dir[64];
	struct fg_agent ag;
};

static const struct fg_peer root = {.uid = 0, .admin = true, .name = "root"};
static const struct fg_peer alice = {
    .uid = 1000, .gid = 1000, .pid = 42, .name = "alice"};
static const struct fg_peer mallory = {
    .uid = 1001, .gid = 1001, .pid = 43, .name = "mallory"};
static const struct fg_peer web = {
    .uid = 998, .pid = 44, .web = true, .name = "fido2gate-web"};
static const struct fg_peer synapse = {
    .uid = 997, .pid = 45, .homeserver = true, .name = "matrix-synapse"};

static int
regcomp_exempt(struct fg_config *cfg, const char *re)
{
	char err[128];
	struct fg_conf_ctx x = { .cfg = cfg, .err = err,
		.errlen = sizeof(err) };

	return fg_setting_apply(&x, "homeserver", "exempt", re) == 1 ? 0 : -1;
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char path[128], err[512];

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/fg-agent-test-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(path, sizeof(path), "%s/store.db", f->dir);
	assert_int_equal(
	    fg_config_load(NULL, &f->ag.cfg, err, sizeof(err)), FG_OK);
	snprintf(f->ag.cfg.rp_id, sizeof(f->ag.cfg.rp_id), "%s", RP);
	/* no admin registered: root acts alone ([admin] bootstrap = open);
	 * the admins' own keys are 64-admin's */
	f->ag.cfg.bootstrap_open = true;
	free(f->ag.cfg.origins[0]);
	free(f->ag.cfg.origins);
	f->ag.cfg.origins = calloc(2, sizeof(char *));
	f->ag.cfg.origins[0] = strdup("pam://" RP);
	f->ag.cfg.origins[1] = strdup(WEB_ORIGIN);
	f->ag.cfg.n_origins = 2;
	assert_int_equal(
	    fg_store_open(path, &f->ag.store, err, sizeof(err)), FG_OK);
	assert_int_equal(
	    fg_chal_table_new(64, 64, fg_agent_expired, &f->ag, &f->ag.chal),
	    FG_OK);
	assert_int_equal(fg_limits_new(&f->ag.limits), FG_OK);
	assert_int_equal(fg_keycache_new(&f->ag.keys), FG_OK);
	assert_int_equal(fg_random(f->ag.secret, sizeof(f->ag.secret)), FG_OK);
	/* the homeserver gate, as [oidc], [web], [homeserver] and
	 * [client.synapse] would set it */
	{
		struct fg_gate *g = &f->ag.cfg.gate;
		struct fg_oidc_client *c = &g->clients[0];
		snprintf(g->issuer, sizeof(g->issuer), ISSUER);
		snprintf(g->server_name, sizeof(g->server_name), RP);
		snprintf(c->id, sizeof(c->id), CLIENT);
		snprintf(c->name, sizeof(c->name), "Matrix");
		snprintf(c->scopes, sizeof(c->scopes), "openid profile");
		snprintf(c->alg, sizeof(c->alg), "RS256");
		fg_sha256(SECRET, strlen(SECRET), c->secret_hash);
		c->redirect[0] = strdup(REDIRECT);
		c->n_redirect = 1;
		g->n_clients = 1;
		assert_int_equal(regcomp_exempt(&f->ag.cfg, "^@bridge_[a-z]+:"), 0);
	}
	f->ag.defer.fd = -1;
	assert_int_equal(fg_oidc_new(&f->ag.oidc), FG_OK);
	assert_int_equal(fg_keys_open(&f->ag), FG_OK);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	fg_chal_table_free(&f->ag.chal);
	fg_oidc_free(&f->ag.oidc);
	fg_keys_close(&f->ag.keys_signing);
	fg_limits_free(&f->ag.limits);
	fg_keycache_free(&f->ag.keys);
	fg_store_close(&f->ag.store);
	fg_config_clear(&f->ag.cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
	return 0;
}

/* One request, as peer; the reply (never NULL). */
static json_t *
call(struct fixture *f, const struct fg_peer *peer, json_t *req)
{
	json_t *reply;

	assert_non_null(req);
	json_object_set_new(req, "v", json_integer(FG_PROTO_VERSION));
	reply = fg_agent_handle(&f->ag, peer, req);
	json_decref(req);
	assert_non_null(reply);
	return reply;
}

static const char *
error_of(const json_t *reply)
{
	const char *e = fg_json_str(reply, "error");

	return e != NULL ? e : "";
}

static void
put_b64(json_t *o, const char *key, const uint8_t *p, size_t len)
{
	char *s = fg_b64url_encode(p, len);

	assert_non_null(s);
	json_object_set_new(o, key, json_string(s));
	free(s);
}

/* A user's key, made here. */
struct key {
	EVP_PKEY *pk;
	uint8_t id[32];
	uint32_t count;
};

static size_t
cose_es256(EVP_PKEY *pk, uint8_t *out, size_t max)
{
	uint8_t pub[65];
	size_t publen = sizeof(pub), n, blen;
	unsigned char *buf = NULL;
	cbor_item_t *m = cbor_new_definite_map(5);

	assert_int_equal(EVP_PKEY_get_octet_string_param(
			     pk, "encoded-pub-key", pub, sizeof(pub), &publen),
	    1);
	assert_true(cbor_map_add(m,
	    (struct cbor_pair){cbor_move(cbor_build_uint8(1)),
		cbor_move(cbor_build_uint8(2))}));
	assert_true(cbor_map_add(m,
	    (struct cbor_pair){cbor_move(cbor_build_uint8(3)),
		cbor_move(cbor_build_negint8(6))}));
	assert_true(cbor_map_add(m,
	    (struct cbor_pair){cbor_move(cbor_build_negint8(0)),
		cbor_move(cbor_build_uint8(1))}));
	assert_true(cbor_map_add(m,
	    (struct cbor_pair){cbor_move(cbor_build_negint8(1)),
		cbor_move(cbor_build_bytestring(pub + 1, 32))}));
	assert_true(cbor_map_add(m,
	    (struct cbor_pair){cbor_move(cbor_build_negint8(2)),
		cbor_move(cbor_build_bytestring(pub + 33, 32))}));
	n = cbor_serialize_alloc(m, &buf, &blen);
	cbor_decref(&m);
	assert_true(n > 0 && n <= max);
	memcpy(out, buf, n);
	free(buf);
	return n;
}

/* The relying party the test's keys sign for (an imported credential's
 * own, or ours). */
static const char *ad_rp = RP;

static size_t
authdata(uint8_t *ad, uint8_t flags, uint32_t count, const struct key *k,
    const uint8_t *cose, size_t cose_len)
{
	size_t n = 37;

	fg_sha256(ad_rp, strlen(ad_rp), ad);
	ad[32] = flags;
	ad[33] = (uint8_t)(count >> 24);
	ad[34] = (uint8_t)(count >> 16);
	ad[35] = (uint8_t)(count >> 8);
	ad[36] = (uint8_t)count;
	if (cose != NULL) {
		memset(ad + n, 0, 16); /* AAGUID */
		n += 16;
		ad[n++] = 0;
		ad[n++] = sizeof(k->id);
		memcpy(ad + n, k->id, sizeof(k->id));
		n += sizeof(k->id);
		memcpy(ad + n, cose, cose_len);
		n += cose_len;
	}
	return n;
}

/* Enrols a fresh ES256 key for user (attestation "none"), as root. */
static void
enrol(struct fixture *f, const char *user, struct key *k)
{
	uint8_t cose[128], ad[256], *chal = NULL;
	size_t cose_len, ad_len, chal_len;
	json_t *b, *req, *r;
	char *cdj;

	memset(k, 0, sizeof(*k));
	assert_non_null(k->pk = EVP_EC_gen("P-256"));
	assert_int_equal(fg_random(k->id, sizeof(k->id)), FG_OK);
	cose_len = cose_es256(k->pk, cose, sizeof(cose));
	b = call(f, &root,
	    json_pack("{s:s,s:s}", "op", FG_OP_ENROLL_BEGIN, "user", user));
	assert_true(json_is_true(json_object_get(b, "ok")));
	assert_int_equal(fg_json_b64(b, "challenge", &chal, &chal_len), FG_OK);
	cdj =
	    fg_client_data_json("webauthn.create", chal, chal_len, "pam://" RP);
	ad_len = authdata(ad, FG_AD_UP | FG_AD_AT, 0, k, cose, cose_len);
	req = json_pack("{s:s,s:s,s:s}", "op", FG_OP_ENROLL_FINISH, "session",
	    fg_json_str(b, "session"), "fmt", "none");
	put_b64(req, "authenticator_data", ad, ad_len);
	put_b64(req, "attestation_statement", (const uint8_t *)"\xa0", 1);
	put_b64(req, "client_data_json", (const uint8_t *)cdj, strlen(cdj));
	r = call(f, &root, req);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	json_decref(b);
	free(chal);
	free(cdj);
}

/* auth.begin for user as peer: the reply. */
static json_t *
begin(struct fixture *f, const struct fg_peer *peer, const char *user)
{
	return call(f, peer,
	    json_pack("{s:s,s:s,s:s}", "op", FG_OP_AUTH_BEGIN, "user", user,
		"service", "unit"));
}

/* An assertion by k over begin's challenge, as op would carry it, for
 * origin and with the authenticator data flags given. */
static json_t *
assertion(const char *op, const json_t *b, struct key *k, const char *origin,
    uint8_t flags, bool good)
{
	uint8_t ad[64], msg[128], sig[80], *chal = NULL;
	size_t ad_len, chal_len, sig_len = sizeof(sig);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	json_t *req;
	char *cdj;

	assert_int_equal(fg_json_b64(b, "challenge", &chal, &chal_len), FG_OK);
	cdj = fg_client_data_json("webauthn.get", chal, chal_len, origin);
	ad_len = authdata(ad, flags, ++k->count, k, NULL, 0);
	memcpy(msg, ad, ad_len);
	fg_sha256(cdj, strlen(cdj), msg + ad_len);
	assert_int_equal(
	    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, k->pk), 1);
	assert_int_equal(
	    EVP_DigestSign(ctx, sig, &sig_len, msg, ad_len + 32), 1);
	if (!good)
		sig[sig_len / 2] ^= 1;
	req = json_pack("{s:s,s:s}", "op", op, "session",
	    fg_json_str(b, "session"));
	put_b64(req, "credential_id", k->id, sizeof(k->id));
	put_b64(req, "authenticator_data", ad, ad_len);
	put_b64(req, "client_data_json", (const uint8_t *)cdj, strlen(cdj));
	put_b64(req, "signature", sig, sig_len);
	EVP_MD_CTX_free(ctx);
	free(chal);
	free(cdj);
	return req;
}

/* auth.finish on begin's session, signed by k (good) or not. */
static json_t *
finish(struct fixture *f, const struct fg_peer *peer, const json_t *b,
    struct key *k, bool good)
{
	return call(f, peer,
	    assertion(FG_OP_AUTH_FINISH, b, k, "pam://" RP, FG_AD_UP, good));
}

static bool
allowed(json_t *reply)
{
	const char *r = fg_json_str(reply, "result");
	bool yes = r != NULL && strcmp(r, FG_RESULT_ALLOW) == 0;

	json_decref(reply);
	return yes;
}

static void
a_signed_login_is_allowed(void **state)
{
	struct fixture *f = *state;
	struct key k;
	json_t *b;

	enrol(f, "alice", &k);
	b = begin(f, &alice, "alice");
	assert_true(allowed(finish(f, &alice, b, &k, true)));
	json_decref(b);
	b = begin(f, &alice, "alice");
	assert_false(allowed(finish(f, &alice, b, &k, false)));
	json_decref(b);
	EVP_PKEY_free(k.pk);
}

/*
 * An expired challenge costs the same whichever way its expiry is found:
 * by the sweep, or by a client presenting it late. Both are charged to the
 * user and to the caller that began it, once.
 */
static void
expiry_is_charged_the_same_swept_or_presented(void **state)
{
	struct fixture *f = *state;
	struct key k;
	json_t *b[4], *r;
	int64_t swept_user, swept_caller, late_user, late_caller;
	size_t i;

	enrol(f, "alice", &k);
	f->ag.cfg.challenge_timeout = 0; /* every challenge expires at once */
	f->ag.cfg.lockout_after = 0;
	f->ag.cfg.backoff_after = 1;

	/* swept: two challenges left to expire */
	for (i = 0; i < 2; i++)
		json_decref(begin(f, &alice, "alice"));
	assert_int_equal(fg_chal_expire(f->ag.chal, fg_now_ms()), 2);
	swept_user =
	    fg_limits_wait(f->ag.limits, &f->ag.cfg, "alice", 0, fg_now_ms());
	swept_caller = fg_limits_wait(
	    f->ag.limits, &f->ag.cfg, "nobody", alice.uid, fg_now_ms());
	assert_true(swept_user > 0);
	assert_true(swept_caller > 0);
	fg_limits_success(f->ag.limits, "alice", alice.uid);

	/* presented late: the same two, charged the same */
	f->ag.cfg.backoff_after = 1000; /* begin must not back off here */
	for (i = 0; i < 2; i++)
		b[i] = begin(f, &alice, "alice");
	f->ag.cfg.backoff_after = 1;
	for (i = 0; i < 2; i++) {
		r = finish(f, &alice, b[i], &k, true);
		assert_string_equal(error_of(r), FG_E_NO_SESSION);
		json_decref(r);
		json_decref(b[i]);
	}
	assert_int_equal(fg_chal_pending(f->ag.chal), 0);
	late_user =
	    fg_limits_wait(f->ag.limits, &f->ag.cfg, "alice", 0, fg_now_ms());
	late_caller = fg_limits_wait(
	    f->ag.limits, &f->ag.cfg, "nobody", alice.uid, fg_now_ms());
	/* the same backoff, give or take the milliseconds between */
	assert_true(
	    late_user > swept_user - 1000 && late_user < swept_user + 1000);
	assert_true(late_caller > swept_caller - 1000 &&
	    late_caller < swept_caller + 1000);
	EVP_PKEY_free(k.pk);
}

/* A request on someone else's session is refused and leaves it alone. */
static void
a_wrong_callers_request_leaves_the_session(void **state)
{
	struct fixture *f = *state;
	struct key k;
	json_t *b, *r, *req;

	enrol(f, "alice", &k);
	b = begin(f, &alice, "alice");
	req = json_pack("{s:s,s:s,s:s}", "op", FG_OP_AUTH_ABORT, "session",
	    fg_json_str(b, "session"), "reason", "hijack");
	r = call(f, &mallory, req);
	assert_string_equal(error_of(r), FG_E_NO_SESSION);
	json_decref(r);
	/* mallory's signature-less finish on it, too */
	r = finish(f, &mallory, b, &k, false);
	assert_string_equal(error_of(r), FG_E_NO_SESSION);
	json_decref(r);
	assert_int_equal(fg_chal_pending(f->ag.chal), 1);
	assert_true(allowed(finish(f, &alice, b, &k, true)));
	json_decref(b);
	EVP_PKEY_free(k.pk);
}

/* --- the homeserver gate --- */

#define VERIFIER "the-code-verifier-of-this-test-is-long-enough-for-pkce"

static char *
s256(const char *verifier)
{
	uint8_t h[32];

	fg_sha256(verifier, strlen(verifier), h);
	return fg_b64url_encode(h, sizeof(h));
}

/* oidc.authorize with the test's usual parameters, one overridden (or
 * removed with value NULL) by the NULL-terminated pairs given. */
static json_t *
authorize(struct fixture *f, ...)
{
	char *challenge = s256(VERIFIER);
	json_t *params = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}",
	    "client_id", CLIENT, "redirect_uri", REDIRECT, "response_type",
	    "code", "scope", "openid profile", "state", "the state",
	    "nonce", "the-nonce", "code_challenge", challenge,
	    "code_challenge_method", "S256");
	const char *k, *v;
	va_list ap;

	va_start(ap, f);
	while ((k = va_arg(ap, const char *)) != NULL) {
		v = va_arg(ap, const char *);
		if (v == NULL)
			json_object_del(params, k);
		else
			json_object_set_new(params, k, json_string(v));
	}
	va_end(ap);
	free(challenge);
	return call(f, &web,
	    json_pack("{s:s,s:o}", "op", FG_OP_OIDC_AUTHORIZE, "params",
		params));
}

/* A parameter of a redirect URL, percent-decoded ("" when absent). */
static void
url_param(const char *url, const char *name, char *out, size_t len)
{
	const char *p = strchr(url, '?');
	size_t n = strlen(name), o = 0;

	out[0] = '\0';
	while (p != NULL) {
		p++;
		if (strncmp(p, name, n) == 0 && p[n] == '=') {
			for (p += n + 1; *p != '\0' && *p != '&' && o + 1 < len;
			     p++) {
				if (*p == '%' && p[1] && p[2]) {
					char hex[3] = { p[1], p[2], 0 };
					out[o++] = (char)strtol(hex, NULL, 16);
					p += 2;
				} else
					out[o++] = *p;
			}
			out[o] = '\0';
			return;
		}
		p = strchr(p, '&');
	}
}

/* A whole browser login for alice with k, up to the code: the redirect. */
static char *
web_login(struct fixture *f, struct key *k, uint8_t flags, const char *origin)
{
	json_t *a = authorize(f, NULL), *b, *req, *r;
	char *redirect = NULL;

	assert_true(json_is_true(json_object_get(a, "ok")));
	b = call(f, &web,
	    json_pack("{s:s,s:s,s:s}", "op", FG_OP_WEB_BEGIN, "tx",
		fg_json_str(a, "tx"), "user", "@alice:" RP));
	assert_true(json_is_true(json_object_get(b, "ok")));
	assert_string_equal(fg_json_str(b, "uv"), FG_UV_NAME_REQUIRED);
	req = assertion(FG_OP_WEB_FINISH, b, k, origin, flags, true);
	json_object_set_new(req, "tx", json_string(fg_json_str(a, "tx")));
	r = call(f, &web, req);
	if (fg_json_str(r, "redirect") != NULL)
		redirect = strdup(fg_json_str(r, "redirect"));
	json_decref(r);
	json_decref(b);
	json_decref(a);
	return redirect;
}

static json_t *
token(struct fixture *f, const char *code, const char *secret,
    const char *redirect, const char *verifier)
{
	json_t *req = json_pack("{s:s,s:s,s:s,s:s,s:s}", "op",
	    FG_OP_OIDC_TOKEN, "grant_type", "authorization_code", "code", code,
	    "redirect_uri", redirect, "client_id", CLIENT);

	if (secret != NULL)
		json_object_set_new(req, "client_secret", json_string(secret));
	if (verifier != NULL)
		json_object_set_new(req, "code_verifier", json_string(verifier));
	return call(f, &web, req);
}

static json_t *
login_check(struct fixture *f, const char *user_id, const char *provider)
{
	json_t *req = json_pack("{s:s,s:s}", "op", FG_OP_LOGIN_CHECK,
	    "user_id", user_id);

	json_object_set_new(req, "auth_provider_id",
	    provider != NULL ? json_string(provider) : json_null());
	return call(f, &synapse, req);
}

/* The id_token's claims, once its signature checked out against the
 * JWKS the agent publishes (libjose). */
static json_t *
id_token_claims(struct fixture *f, const char *idt)
{
	json_t *jwks = call(f, &web,
	    json_pack("{s:s}", "op", FG_OP_OIDC_JWKS));
	json_t *keys = json_object_get(json_object_get(jwks, "jwks"), "keys");
	json_t *jws = NULL, *claims = NULL;
	uint8_t *payload = NULL;
	size_t n = 0;
	char *dup = strdup(idt), *dot1, *dot2;

	dot1 = strchr(dup, '.');
	dot2 = dot1 != NULL ? strchr(dot1 + 1, '.') : NULL;
	assert_non_null(dot2);
	*dot1 = *dot2 = '\0';
	jws = json_pack("{s:s,s:s,s:s}", "protected", dup, "payload",
	    dot1 + 1, "signature", dot2 + 1);
	/* every published key is public */
	for (size_t i = 0; i < json_array_size(keys); i++)
		assert_null(json_object_get(json_array_get(keys, i), "d"));
	if (jose_jws_ver(NULL, jws, NULL, keys, false) &&
	    fg_b64url_decode(dot1 + 1, &payload, &n) == FG_OK)
		claims = json_loadb((const char *)payload, n, 0, NULL);
	free(payload);
	free(dup);
	json_decref(jws);
	json_decref(jwks);
	return claims;
}

static void
a_browser_login_gives_a_signed_id_token_and_one_approval(void **state)
{
	struct fixture *f = *state;
	struct key k;
	char *redirect, code[128], st[64], *h;
	json_t *t, *claims, *u;

	enrol(f, "alice", &k);
	redirect = web_login(f, &k, FG_AD_UP | FG_AD_UV, WEB_ORIGIN);
	assert_non_null(redirect);
	assert_true(strncmp(redirect, REDIRECT "?", strlen(REDIRECT) + 1) == 0);
	url_param(redirect, "code", code, sizeof(code));
	url_param(redirect, "state", st, sizeof(st));
	assert_true(strlen(code) >= 43); /* 256 bits */
	assert_string_equal(st, "the state");
	url_param(redirect, "iss", st, sizeof(st));
	assert_string_equal(st, ISSUER);

	t = token(f, code, SECRET, REDIRECT, VERIFIER);
	assert_true(json_is_true(json_object_get(t, "ok")));
	{
		json_t *outer = t;
		t = json_incref(json_object_get(outer, "token"));
		json_decref(outer);
	}
	claims = id_token_claims(f, fg_json_str(t, "id_token"));
	assert_non_null(claims);
	assert_string_equal(fg_json_str(claims, "iss"), ISSUER);
	assert_string_equal(fg_json_str(claims, "aud"), CLIENT);
	assert_string_equal(fg_json_str(claims, "nonce"), "the-nonce");
	assert_string_equal(fg_json_str(claims, "preferred_username"), "alice");
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(claims, "amr"), 0)),
	    "hwk");
	assert_string_equal(
	    json_string_value(json_array_get(json_object_get(claims, "amr"), 1)),
	    "pin");
	assert_non_null(fg_json_str(claims, "sid"));
	assert_true(json_integer_value(json_object_get(claims, "exp")) >
	    json_integer_value(json_object_get(claims, "iat")));
	/* at_hash: the left half of SHA-256(access_token) */
	{
		uint8_t hh[32];
		const char *at = fg_json_str(t, "access_token");
		fg_sha256(at, strlen(at), hh);
		h = fg_b64url_encode(hh, 16);
		assert_string_equal(fg_json_str(claims, "at_hash"), h);
		free(h);
	}
	u = call(f, &web,
	    json_pack("{s:s,s:s}", "op", FG_OP_OIDC_USERINFO, "access_token",
		fg_json_str(t, "access_token")));
	assert_string_equal(fg_json_str(json_object_get(u, "claims"),
				"preferred_username"),
	    "alice");
	assert_string_equal(
	    fg_json_str(json_object_get(u, "claims"), "sub"),
	    fg_json_str(claims, "sub"));
	json_decref(u);

	/* the homeserver: one login on the approval, and one only */
	assert_true(allowed(login_check(f, "@alice:" RP, "oidc-fido2gate")));
	assert_false(allowed(login_check(f, "@alice:" RP, "oidc-fido2gate")));
	json_decref(claims);
	json_decref(t);
	free(redirect);
	EVP_PKEY_free(k.pk);
}

static void
a_code_works_once_and_its_replay_revokes_what_it_gave(void **state)
{
	struct fixture *f = *state;
	struct key k;
	char *redirect, code[128];
	json_t *t, *again, *u;

	enrol(f, "alice", &k);
	redirect = web_login(f, &k, FG_AD_UP | FG_AD_UV, WEB_ORIGIN);
	url_param(redirect, "code", code, sizeof(code));
	t = token(f, code, SECRET, REDIRECT, VERIFIER);
	assert_true(json_is_true(json_object_get(t, "ok")));
	again = token(f, code, SECRET, REDIRECT, VERIFIER);
	assert_string_equal(fg_json_str(again, "oauth_error"), "invalid_grant");
	u = call(f, &web,
	    json_pack("{s:s,s:s}", "op", FG_OP_OIDC_USERINFO, "access_token",
		fg_json_str(json_object_get(t, "token"), "access_token")));
	assert_string_equal(fg_json_str(u, "oauth_error"), "invalid_token");
	assert_false(allowed(login_check(f, "@alice:" RP, "oidc-fido2gate")));
	json_decref(u);
	json_decref(again);
	json_decref(t);
	free(redirect);
	EVP_PKEY_free(k.pk);
}

static void
a_code_is_bound_to_its_client_redirect_and_verifier(void **state)
{
	struct fixture *f = *state;
	struct key k;
	char *redirect, code[128];
	json_t *r;

	enrol(f, "alice", &k);
	redirect = web_login(f, &k, FG_AD_UP | FG_AD_UV, WEB_ORIGIN);
	url_param(redirect, "code", code, sizeof(code));
	r = token(f, code, "a-wrong-secret-of-some-length", REDIRECT, VERIFIER);
	assert_string_equal(fg_json_str(r, "oauth_error"), "invalid_client");
	json_decref(r);
	r = token(f, code, NULL, REDIRECT, VERIFIER);
	assert_string_equal(fg_json_str(r, "oauth_error"), "invalid_client");
	json_decref(r);
	r = token(f, code, SECRET, REDIRECT "x", VERIFIER);
	assert_string_equal(fg_json_str(r, "oauth_error"), "invalid_grant");
	json_decref(r);
	r = token(f, code, SECRET, REDIRECT,
	    "another-code-verifier-that-is-long-enough-for-pkce-too");
	assert_string_equal(fg_json_str(r, "oauth_error"), "invalid_grant");
	json_decref(r);
	r = token(f, code, SECRET, REDIRECT, NULL);
	assert_string_equal(fg_json_str(r, "oauth_error"), "invalid_grant");
	json_decref(r);
	/* none of those spent it */
	r = token(f, code, SECRET, REDIRECT, VERIFIER);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	free(redirect);

	/* an expired code */
	f->ag.cfg.gate.code_ttl = 0;
	redirect = web_login(f, &k, FG_AD_UP | FG_AD_UV, WEB_ORIGIN);
	url_param(redirect, "code", code, sizeof(code));
	r = token(f, code, SECRET, REDIRECT, VERIFIER);
	assert_string_equal(fg_json_str(r, "oauth_error"), "invalid_grant");
	json_decref(r);
	free(redirect);
	EVP_PKEY_free(k.pk);
}

static void
the_browser_path_takes_only_web_origins_and_the_pin(void **state)
{
	struct fixture *f = *state;
	struct key k;

	enrol(f, "alice", &k);
	f->ag.cfg.backoff_after = 100; /* the refusals below must not add up */
	/* an assertion made for pam:// is no browser login */
	assert_null(web_login(f, &k, FG_AD_UP | FG_AD_UV, "pam://" RP));
	/* without user verification (no first factor: the PIN is needed) */
	assert_null(web_login(f, &k, FG_AD_UP, WEB_ORIGIN));
	/* and a browser's assertion is no PAM login */
	{
		json_t *b = begin(f, &alice, "alice");
		json_t *r = call(f, &alice,
		    assertion(FG_OP_AUTH_FINISH, b, &k, WEB_ORIGIN,
			FG_AD_UP | FG_AD_UV, true));
		assert_false(allowed(r));
		json_decref(b);
	}
	{
		char *ok = web_login(f, &k, FG_AD_UP | FG_AD_UV, WEB_ORIGIN);
		assert_non_null(ok);
		free(ok);
	}
	EVP_PKEY_free(k.pk);
}

static void
authorize_refuses_what_it_must(void **state)
{
	struct fixture *f = *state;
	json_t *r;
	char e[64];

	r = authorize(f, "client_id", "mallory", NULL);
	assert_string_equal(fg_json_str(r, "oauth_error"), "invalid_client");
	assert_null(fg_json_str(r, "redirect"));
	json_decref(r);
	r = authorize(f, "redirect_uri", REDIRECT "/../evil", NULL);
	assert_null(fg_json_str(r, "redirect")); /* never to an unknown URI */
	json_decref(r);
	r = authorize(f, "redirect_uri", NULL, NULL);
	assert_null(fg_json_str(r, "redirect"));
	json_decref(r);
	r = authorize(f, "prompt", "none", NULL);
	url_param(fg_json_str(r, "redirect"), "error", e, sizeof(e));
	assert_string_equal(e, "login_required");
	url_param(fg_json_str(r, "redirect"), "state", e, sizeof(e));
	assert_string_equal(e, "the state");
	json_decref(r);
	r = authorize(f, "scope", "profile", NULL);
	assert_string_equal(fg_json_str(r, "oauth_error"), "invalid_scope");
	json_decref(r);
	r = authorize(f, "code_challenge_method", "plain", NULL);
	assert_string_equal(fg_json_str(r, "oauth_error"), "invalid_request");
	json_decref(r);
	r = authorize(f, "response_type", "token", NULL);
	assert_string_equal(fg_json_str(r, "oauth_error"),
	    "unsupported_response_type");
	json_decref(r);
	/* only the web front (or root) may ask */
	r = call(f, &alice,
	    json_pack("{s:s,s:{}}", "op", FG_OP_OIDC_AUTHORIZE, "params"));
	assert_string_equal(error_of(r), FG_E_DENIED);
	json_decref(r);
}

static void
the_homeserver_allows_only_fresh_key_logins(void **state)
{
	struct fixture *f = *state;
	struct key k;
	char *redirect, code[128];
	json_t *r;

	enrol(f, "alice", &k);
	assert_false(allowed(login_check(f, "@alice:" RP, NULL)));
	assert_false(allowed(login_check(f, "@alice:" RP, "oidc-other")));
	assert_true(allowed(login_check(f, "@bridge_irc:" RP, NULL)));
	assert_false(allowed(login_check(f, "@alice:elsewhere.test",
	    "oidc-fido2gate")));
	/* only the homeserver's module (or root) may ask */
	r = call(f, &alice,
	    json_pack("{s:s,s:s}", "op", FG_OP_LOGIN_CHECK, "user_id",
		"@alice:" RP));
	assert_string_equal(error_of(r), FG_E_DENIED);
	json_decref(r);
	/* an approval older than the window is not consumed */
	redirect = web_login(f, &k, FG_AD_UP | FG_AD_UV, WEB_ORIGIN);
	url_param(redirect, "code", code, sizeof(code));
	json_decref(token(f, code, SECRET, REDIRECT, VERIFIER));
	f->ag.cfg.gate.window = 0;
	assert_false(allowed(login_check(f, "@alice:" RP, "oidc-fido2gate")));
	f->ag.cfg.gate.window = 300;
	assert_true(allowed(login_check(f, "@alice:" RP, "oidc-fido2gate")));
	free(redirect);
	EVP_PKEY_free(k.pk);
}

/* One front serves every browser: one person's failures must not back
 * off the front itself, and with it everyone else's logins. */
static void
the_front_is_not_backed_off_for_its_users_failures(void **state)
{
	struct fixture *f = *state;
	const char *users[] = { "bob", "carol", "dave", "erin", "frank" };
	struct key k;
	json_t *a, *b, *r;
	size_t i;

	enrol(f, "alice", &k);
	for (i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		a = authorize(f, NULL);
		b = call(f, &web,
		    json_pack("{s:s,s:s,s:s}", "op", FG_OP_WEB_BEGIN, "tx",
			fg_json_str(a, "tx"), "user", users[i]));
		assert_true(json_is_true(json_object_get(b, "ok")));
		r = call(f, &web,
		    json_pack("{s:s,s:s,s:s,s:s}", "op", FG_OP_WEB_ABORT, "tx",
			fg_json_str(a, "tx"), "session", fg_json_str(b, "session"),
			"reason", "no key"));
		assert_true(json_is_true(json_object_get(r, "ok")));
		json_decref(r);
		json_decref(b);
		json_decref(a);
	}
	{
		char *ok = web_login(f, &k, FG_AD_UP | FG_AD_UV, WEB_ORIGIN);
		assert_non_null(ok);
		free(ok);
	}
	EVP_PKEY_free(k.pk);
}

/* A rotation: new tokens carry the new key's kid, and the old key stays
 * in the JWKS (a token it signed still verifies) until it expires. */
static void
a_rotation_keeps_the_old_key_published(void **state)
{
	struct fixture *f = *state;
	struct key k;
	json_t *jwks, *r, *claims;
	char *redirect, code[128], *old;
	const char *idt;
	size_t before;

	enrol(f, "alice", &k);
	jwks = call(f, &web, json_pack("{s:s}", "op", FG_OP_OIDC_JWKS));
	before = json_array_size(
	    json_object_get(json_object_get(jwks, "jwks"), "keys"));
	assert_int_equal(before, 2); /* RS256 and ES256 */
	json_decref(jwks);
	/* a token signed before the rotation */
	redirect = web_login(f, &k, FG_AD_UP | FG_AD_UV, WEB_ORIGIN);
	url_param(redirect, "code", code, sizeof(code));
	free(redirect);
	r = token(f, code, SECRET, REDIRECT, VERIFIER);
	idt = fg_json_str(json_object_get(r, "token"), "id_token");
	assert_non_null(idt);
	old = strdup(idt);
	json_decref(r);
	r = call(f, &alice, json_pack("{s:s}", "op", FG_OP_OIDC_ROTATE));
	assert_string_equal(error_of(r), FG_E_DENIED); /* admins only */
	json_decref(r);
	r = call(f, &root, json_pack("{s:s}", "op", FG_OP_OIDC_ROTATE));
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	jwks = call(f, &web, json_pack("{s:s}", "op", FG_OP_OIDC_JWKS));
	assert_int_equal(json_array_size(json_object_get(
			     json_object_get(jwks, "jwks"), "keys")),
	    4);
	json_decref(jwks);
	/* it still verifies: its key is still published */
	claims = id_token_claims(f, old);
	assert_non_null(claims);
	json_decref(claims);
	/* and one signed after it, with the new key */
	redirect = web_login(f, &k, FG_AD_UP | FG_AD_UV, WEB_ORIGIN);
	url_param(redirect, "code", code, sizeof(code));
	free(redirect);
	r = token(f, code, SECRET, REDIRECT, VERIFIER);
	claims = id_token_claims(f,
	    fg_json_str(json_object_get(r, "token"), "id_token"));
	assert_non_null(claims);
	assert_true(strncmp(old, fg_json_str(json_object_get(r, "token"),
				     "id_token"),
			(size_t)(strchr(old, '.') - old)) != 0); /* another kid */
	json_decref(claims);
	json_decref(r);
	free(old);
	EVP_PKEY_free(k.pk);
}

/* --- the organisation's provider as the first factor --- */

static void
upstream_on(struct fixture *f, bool email_localpart)
{
	struct fg_gate *g = &f->ag.cfg.gate;
	struct fg_upstream *u = &g->upstreams[0];

	snprintf(u->name, sizeof(u->name), "proconnect");
	snprintf(u->issuer, sizeof(u->issuer), "https://idp.test");
	snprintf(u->client_id, sizeof(u->client_id), "fido2gate");
	u->secret = strdup("upstream-secret");
	snprintf(u->scopes, sizeof(u->scopes), "openid email");
	snprintf(u->claim, sizeof(u->claim),
	    email_localpart ? "email" : "preferred_username");
	u->email_localpart = email_localpart;
	u->acr[0] = strdup("eidas1");
	u->n_acr = 1;
	g->n_upstreams = 1;
	g->ff = FG_FF_OIDC;
	snprintf(g->first_factor, sizeof(g->first_factor), "proconnect");
}

/* authorize, then what the front would hand over after the provider */
static json_t *
upstream_login(struct fixture *f, json_t **a, json_t *claims)
{
	const char *state;
	json_t *s;

	*a = authorize(f, NULL);
	state = fg_json_str(json_object_get(*a, "upstream"), "state");
	assert_non_null(state);
	assert_true(strlen(state) >= 32); /* ProConnect wants 32 or more */
	s = call(f, &web,
	    json_pack("{s:s,s:s}", "op", FG_OP_UPSTREAM_SESSION, "state",
		state));
	assert_true(strlen(fg_json_str(s, "nonce")) >= 32);
	assert_non_null(fg_json_str(s, "code_verifier"));
	json_decref(s);
	return call(f, &web,
	    json_pack("{s:s,s:s,s:o}", "op", FG_OP_WEB_UPSTREAM, "state",
		state, "claims", claims));
}

static void
the_provider_names_the_user_and_the_key_proves_it(void **state)
{
	struct fixture *f = *state;
	struct key k;
	json_t *a, *r, *b, *req, *t, *claims, *amr;
	char code[128];

	upstream_on(f, true);
	enrol(f, "jean.dupont", &k);
	r = upstream_login(f, &a,
	    json_pack("{s:s,s:s,s:[s]}", "email", "Jean.Dupont@interieur.test",
		"acr", "eidas1", "amr", "pwd"));
	assert_string_equal(fg_json_str(r, "user"), "jean.dupont");
	/* the state spent, the transaction has a new ID; the one made at
	 * authorize opens nothing now */
	assert_non_null(fg_json_str(r, "tx"));
	assert_string_not_equal(fg_json_str(r, "tx"), fg_json_str(a, "tx"));
	b = call(f, &web,
	    json_pack("{s:s,s:s,s:s}", "op", FG_OP_WEB_BEGIN, "tx",
		fg_json_str(a, "tx"), "user", "alice"));
	assert_false(json_is_true(json_object_get(b, "ok")));
	json_decref(b);
	json_object_set_new(a, "tx", json_string(fg_json_str(r, "tx")));
	json_decref(r);
	/* the user typed is ignored: the provider's is used */
	b = call(f, &web,
	    json_pack("{s:s,s:s,s:s}", "op", FG_OP_WEB_BEGIN, "tx",
		fg_json_str(a, "tx"), "user", "alice"));
	assert_true(json_is_true(json_object_get(b, "ok")));
	req = assertion(FG_OP_WEB_FINISH, b, &k, WEB_ORIGIN, FG_AD_UP, true);
	json_object_set_new(req, "tx", json_string(fg_json_str(a, "tx")));
	r = call(f, &web, req);
	assert_non_null(fg_json_str(r, "redirect"));
	url_param(fg_json_str(r, "redirect"), "code", code, sizeof(code));
	json_decref(r);
	t = token(f, code, SECRET, REDIRECT, VERIFIER);
	claims = id_token_claims(f,
	    fg_json_str(json_object_get(t, "token"), "id_token"));
	assert_string_equal(fg_json_str(claims, "preferred_username"),
	    "jean.dupont");
	amr = json_object_get(claims, "amr");
	assert_string_equal(json_string_value(json_array_get(amr, 0)), "hwk");
	assert_string_equal(json_string_value(json_array_get(amr, 1)), "pwd");
	json_decref(claims);
	json_decref(t);
	json_decref(b);
	json_decref(a);
	EVP_PKEY_free(k.pk);
}

static void
the_providers_answer_is_refused_when_it_must_be(void **state)
{
	struct fixture *f = *state;
	json_t *a, *r, *b;
	const char *st;

	upstream_on(f, true);
	/* an acr outside the accepted list */
	r = upstream_login(f, &a,
	    json_pack("{s:s,s:s}", "email", "jean@x.test", "acr", "eidas0"));
	assert_string_equal(error_of(r), FG_E_REFUSED);
	json_decref(r);
	json_decref(a);
	/* a name a Matrix localpart cannot hold: refused, not changed */
	r = upstream_login(f, &a,
	    json_pack("{s:s,s:s}", "email", "jean+tag@x.test", "acr",
		"eidas1"));
	assert_string_equal(error_of(r), FG_E_REFUSED);
	json_decref(r);
	json_decref(a);
	/* the claim missing */
	r = upstream_login(f, &a, json_pack("{s:s}", "acr", "eidas1"));
	assert_string_equal(error_of(r), FG_E_REFUSED);
	json_decref(r);
	json_decref(a);
	/* a replayed state */
	r = upstream_login(f, &a,
	    json_pack("{s:s,s:s}", "email", "jean@x.test", "acr", "eidas1"));
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);
	st = fg_json_str(json_object_get(a, "upstream"), "state");
	r = call(f, &web,
	    json_pack("{s:s,s:s,s:{s:s,s:s}}", "op", FG_OP_WEB_UPSTREAM,
		"state", st, "claims", "email", "mallory@x.test", "acr",
		"eidas1"));
	assert_string_equal(error_of(r), FG_E_NO_SESSION);
	json_decref(r);
	json_decref(a);
	/* no key step before the provider */
	a = authorize(f, NULL);
	b = call(f, &web,
	    json_pack("{s:s,s:s,s:s}", "op", FG_OP_WEB_BEGIN, "tx",
		fg_json_str(a, "tx"), "user", "jean"));
	assert_string_equal(error_of(b), FG_E_DENIED);
	json_decref(b);
	/* the front's refusal of a bad id_token is audited, and ends it */
	st = fg_json_str(json_object_get(a, "upstream"), "state");
	r = call(f, &web,
	    json_pack("{s:s,s:s,s:s}", "op", FG_OP_WEB_UPSTREAM, "state", st,
		"error", "id_token signature does not verify"));
	assert_string_equal(error_of(r), FG_E_REFUSED);
	json_decref(r);
	json_decref(a);
}

/* --- what anyone on the network can do through the front --- */

/* Without a first factor anyone can begin a browser login for any name:
 * those failures back off the browser path, and never lock the user out
 * of PAM, nor take PAM's slots. */
static void
web_failures_without_a_first_factor_never_lock_pam(void **state)
{
	struct fixture *f = *state;
	struct key k;
	json_t *a, *b, *r;
	size_t i;

	enrol(f, "alice", &k);
	f->ag.cfg.backoff_after = 3;
	f->ag.cfg.lockout_after = 3;
	for (i = 0; i < 12; i++) {
		a = authorize(f, NULL);
		b = call(f, &web,
		    json_pack("{s:s,s:s,s:s}", "op", FG_OP_WEB_BEGIN, "tx",
			fg_json_str(a, "tx"), "user", "alice"));
		if (json_is_true(json_object_get(b, "ok"))) {
			r = call(f, &web,
			    json_pack("{s:s,s:s,s:s,s:s}", "op",
				FG_OP_WEB_ABORT, "tx", fg_json_str(a, "tx"),
				"session", fg_json_str(b, "session"), "reason",
				"no key"));
			json_decref(r);
		} else
			assert_string_equal(error_of(b), FG_E_RATE_LIMITED);
		json_decref(b);
		json_decref(a);
	}
	/* the browser path backs off... */
	a = authorize(f, NULL);
	b = call(f, &web,
	    json_pack("{s:s,s:s,s:s}", "op", FG_OP_WEB_BEGIN, "tx",
		fg_json_str(a, "tx"), "user", "alice"));
	assert_string_equal(error_of(b), FG_E_RATE_LIMITED);
	json_decref(b);
	json_decref(a);
	/* ...while alice's PAM login is neither locked nor slowed */
	b = begin(f, &alice, "alice");
	assert_true(json_is_true(json_object_get(b, "ok")));
	assert_true(allowed(finish(f, &alice, b, &k, true)));
	json_decref(b);
	EVP_PKEY_free(k.pk);
}

static void
web_challenges_cannot_take_pams_slots_or_pool(void **state)
{
	struct fixture *f = *state;
	struct key k;
	json_t *a[16], *b;
	size_t i;

	enrol(f, "alice", &k);
	f->ag.cfg.max_pending_per_user = 4;
	/* many transactions each holding a browser challenge for alice */
	for (i = 0; i < 6; i++) {
		a[i] = authorize(f, NULL);
		b = call(f, &web,
		    json_pack("{s:s,s:s,s:s}", "op", FG_OP_WEB_BEGIN, "tx",
			fg_json_str(a[i], "tx"), "user", "alice"));
		json_decref(b);
	}
	/* PAM's slots for alice are hers still */
	b = begin(f, &alice, "alice");
	assert_true(json_is_true(json_object_get(b, "ok")));
	assert_true(allowed(finish(f, &alice, b, &k, true)));
	json_decref(b);
	/* one transaction holds one challenge: a new begin replaces it */
	for (i = 0; i < 10; i++) {
		b = call(f, &web,
		    json_pack("{s:s,s:s,s:s}", "op", FG_OP_WEB_BEGIN, "tx",
			fg_json_str(a[0], "tx"), "user", "bob"));
		json_decref(b);
	}
	assert_true(fg_chal_pending(f->ag.chal) <= 6);
	for (i = 0; i < 6; i++)
		json_decref(a[i]);
	EVP_PKEY_free(k.pk);
}

static void
only_the_homeservers_clients_approvals_count(void **state)
{
	struct fixture *f = *state;
	struct key k;
	char *redirect, code[128];

	enrol(f, "alice", &k);
	snprintf(f->ag.cfg.gate.hs_client, sizeof(f->ag.cfg.gate.hs_client),
	    "another-client");
	redirect = web_login(f, &k, FG_AD_UP | FG_AD_UV, WEB_ORIGIN);
	url_param(redirect, "code", code, sizeof(code));
	json_decref(token(f, code, SECRET, REDIRECT, VERIFIER));
	/* the approval is synapse's, not the homeserver's client's */
	assert_false(allowed(login_check(f, "@alice:" RP, "oidc-fido2gate")));
	snprintf(f->ag.cfg.gate.hs_client, sizeof(f->ag.cfg.gate.hs_client),
	    CLIENT);
	assert_true(allowed(login_check(f, "@alice:" RP, "oidc-fido2gate")));
	free(redirect);
	EVP_PKEY_free(k.pk);
}

/* The audit log holds text (the last few records). */
static bool
audited(struct fixture *f, const char *text)
{
	json_t *rows = NULL;
	char *dump;
	bool yes;

	assert_int_equal(fg_store_audit_list(f->ag.store, NULL, 0, 5, &rows), FG_OK);
	dump = json_dumps(rows, 0);
	yes = dump != NULL && strstr(dump, text) != NULL;
	free(dump);
	json_decref(rows);
	return yes;
}

/*
 * A credential imported from pam-u2f signs for its own relying party
 * (pam://host): only an admin imports it; auth.begin offers it in an rp
 * group; auth.finish checks rpIdHash against its rp, not ours; the
 * browser path never offers it and refuses it even when presented.
 */
static void
an_imported_credential_works_for_its_rp_on_pam_only(void **state)
{
	struct fixture *f = *state;
	uint8_t pub[65];
	size_t publen = sizeof(pub);
	struct key k;
	json_t *req, *r, *b, *a, *g;

	memset(&k, 0, sizeof(k));
	assert_non_null(k.pk = EVP_EC_gen("P-256"));
	assert_int_equal(fg_random(k.id, sizeof(k.id)), FG_OK);
	assert_int_equal(EVP_PKEY_get_octet_string_param(k.pk,
			     "encoded-pub-key", pub, sizeof(pub), &publen),
	    1);
	req = json_pack("{s:s,s:[{s:i,s:s,s:i,s:s}]}", "op",
	    FG_OP_CRED_IMPORT, "credentials", "line", 3, "user", "alice",
	    "alg", FG_COSE_ES256, "rp_id", "pam://ws1");
	g = json_array_get(json_object_get(req, "credentials"), 0);
	put_b64(g, "credential_id", k.id, sizeof(k.id));
	put_b64(g, "public_key", pub + 1, 64);
	r = call(f, &alice, json_deep_copy(req));
	assert_string_equal(error_of(r), FG_E_DENIED);
	json_decref(r);
	r = call(f, &root, req);
	assert_true(json_is_true(json_object_get(r, "ok")));
	json_decref(r);

	b = begin(f, &alice, "alice");
	assert_int_equal(
	    json_array_size(json_object_get(b, "allow_credentials")), 0);
	g = json_array_get(json_object_get(b, "rp_groups"), 0);
	assert_string_equal(fg_json_str(g, "rp_id"), "pam://ws1");
	assert_int_equal(
	    json_array_size(json_object_get(g, "allow_credentials")), 1);
	/* signed for our rp_id, not the credential's: refused */
	assert_false(allowed(finish(f, &alice, b, &k, true)));
	json_decref(b);
	ad_rp = "pam://ws1";
	b = begin(f, &alice, "alice");
	assert_true(allowed(finish(f, &alice, b, &k, true)));
	json_decref(b);

	a = authorize(f, NULL);
	b = call(f, &web,
	    json_pack("{s:s,s:s,s:s}", "op", FG_OP_WEB_BEGIN, "tx",
		fg_json_str(a, "tx"), "user", "@alice:" RP));
	assert_true(json_is_true(json_object_get(b, "ok")));
	assert_null(json_object_get(b, "rp_groups"));
	req = assertion(FG_OP_WEB_FINISH, b, &k, WEB_ORIGIN,
	    FG_AD_UP | FG_AD_UV, true);
	json_object_set_new(req, "tx", json_string(fg_json_str(a, "tx")));
	r = call(f, &web, req);
	assert_null(fg_json_str(r, "redirect"));
	assert_true(audited(f, "another relying party"));
	json_decref(r);
	json_decref(b);
	json_decref(a);
	ad_rp = RP;
	EVP_PKEY_free(k.pk);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
		a_signed_login_is_allowed, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		expiry_is_charged_the_same_swept_or_presented, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		a_wrong_callers_request_leaves_the_session, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		a_browser_login_gives_a_signed_id_token_and_one_approval, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		a_code_works_once_and_its_replay_revokes_what_it_gave, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		a_code_is_bound_to_its_client_redirect_and_verifier, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		the_browser_path_takes_only_web_origins_and_the_pin, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		authorize_refuses_what_it_must, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		the_homeserver_allows_only_fresh_key_logins, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		the_front_is_not_backed_off_for_its_users_failures, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		a_rotation_keeps_the_old_key_published, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		the_provider_names_the_user_and_the_key_proves_it, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		the_providers_answer_is_refused_when_it_must_be, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		web_failures_without_a_first_factor_never_lock_pam, setup,
		teardown),
	    cmocka_unit_test_setup_teardown(
		web_challenges_cannot_take_pams_slots_or_pool, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		only_the_homeservers_clients_approvals_count, setup, teardown),
	    cmocka_unit_test_setup_teardown(
		an_imported_credential_works_for_its_rp_on_pam_only, setup,
		teardown),
	};

	return cmocka_run_group_tests_name("agent", tests, NULL, NULL);
}
