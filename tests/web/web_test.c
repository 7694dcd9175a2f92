/*
 * Unit tests of the web front's pure parts (cmocka, under ASan and UBSan):
 * parameter collection, Accept-Language, Basic and Bearer credentials,
 * the page's JSON bodies, the checks of the agent's replies, the HTML
 * escaping of every page, and the client addresses, request budgets and
 * connection table. Each test is named after what it proves.
 */
#include <arpa/inet.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>

#include "../../web/web.h"

/* --- params --- */

static enum fg_params_err
add(struct fg_params *p, const char *name, const char *value)
{
	return fg_params_add(
	    p, name, strlen(name), value, value != NULL ? strlen(value) : 0);
}

static void
params_refuse_a_repeated_parameter(void **state)
{
	struct fg_params p;
	char why[128];

	(void)state;
	fg_params_init(&p);
	assert_int_equal(add(&p, "client_id", "a"), FG_PARAMS_OK);
	assert_int_equal(add(&p, "state", "s"), FG_PARAMS_OK);
	assert_int_equal(add(&p, "client_id", "a"), FG_PARAMS_REPEATED);
	/* the first error sticks */
	assert_int_equal(add(&p, "nonce", "n"), FG_PARAMS_REPEATED);
	assert_null(fg_params_json(&p));
	assert_non_null(strstr(
	    fg_params_strerror(&p, why, sizeof(why)), "client_id is repeated"));
	fg_params_clear(&p);
}

static void
params_count_an_empty_repeat_as_a_repeat(void **state)
{
	struct fg_params p;

	(void)state;
	fg_params_init(&p);
	assert_int_equal(add(&p, "state", NULL), FG_PARAMS_OK);
	assert_int_equal(add(&p, "state", "x"), FG_PARAMS_REPEATED);
	fg_params_clear(&p);
}

static void
params_leave_out_empty_values(void **state)
{
	struct fg_params p;
	json_t *o;

	(void)state;
	fg_params_init(&p);
	assert_int_equal(add(&p, "prompt", ""), FG_PARAMS_OK);
	assert_int_equal(add(&p, "nonce", NULL), FG_PARAMS_OK);
	assert_int_equal(add(&p, "state", "s"), FG_PARAMS_OK);
	assert_null(fg_params_get(&p, "prompt"));
	o = fg_params_json(&p);
	assert_non_null(o);
	assert_int_equal(json_object_size(o), 1);
	assert_string_equal(
	    json_string_value(json_object_get(o, "state")), "s");
	json_decref(o);
	fg_params_clear(&p);
}

static void
params_take_2048_bytes_and_refuse_2049(void **state)
{
	struct fg_params p;
	char v[FG_PARAM_MAX + 2];
	json_t *o;

	(void)state;
	memset(v, 'a', sizeof(v) - 1);
	v[FG_PARAM_MAX] = '\0';
	fg_params_init(&p);
	assert_int_equal(add(&p, "state", v), FG_PARAMS_OK);
	o = fg_params_json(&p);
	assert_int_equal(
	    json_string_length(json_object_get(o, "state")), FG_PARAM_MAX);
	json_decref(o);
	v[FG_PARAM_MAX] = 'a';
	v[FG_PARAM_MAX + 1] = '\0';
	assert_int_equal(add(&p, "nonce", v), FG_PARAMS_TOO_LONG);
	fg_params_clear(&p);
}

static void
params_count_every_piece_of_a_value(void **state)
{
	struct fg_params p;
	char v[1025];

	(void)state;
	memset(v, 'b', sizeof(v) - 1);
	v[1024] = '\0';
	fg_params_init(&p);
	assert_int_equal(add(&p, "state", v), FG_PARAMS_OK);
	assert_int_equal(fg_params_append(&p, "state", v, 1024), FG_PARAMS_OK);
	assert_int_equal(strlen(fg_params_get(&p, "state")), 2048);
	assert_int_equal(
	    fg_params_append(&p, "state", "c", 1), FG_PARAMS_TOO_LONG);
	fg_params_clear(&p);
	/* a piece must belong to the parameter before it */
	fg_params_init(&p);
	assert_int_equal(add(&p, "state", "x"), FG_PARAMS_OK);
	assert_int_equal(
	    fg_params_append(&p, "nonce", "y", 1), FG_PARAMS_BAD_NAME);
	fg_params_clear(&p);
}

static void
params_refuse_nul_bad_names_and_non_utf8(void **state)
{
	struct fg_params p;

	(void)state;
	fg_params_init(&p);
	assert_int_equal(
	    fg_params_add(&p, "state", 5, "a\0b", 3), FG_PARAMS_BAD_VALUE);
	fg_params_clear(&p);
	fg_params_init(&p);
	assert_int_equal(add(&p, "", "x"), FG_PARAMS_BAD_NAME);
	fg_params_clear(&p);
	fg_params_init(&p);
	assert_int_equal(add(&p, "a b", "x"), FG_PARAMS_BAD_NAME);
	fg_params_clear(&p);
	fg_params_init(&p);
	assert_int_equal(add(&p, "state", "caf\xc3"), FG_PARAMS_OK);
	assert_null(fg_params_json(&p));
	assert_int_equal(p.err, FG_PARAMS_BAD_VALUE);
	fg_params_clear(&p);
}

static void
params_refuse_more_than_the_maximum(void **state)
{
	struct fg_params p;
	char name[16];
	int i;

	(void)state;
	fg_params_init(&p);
	for (i = 0; i < FG_WEB_PARAMS_MAX; i++) {
		snprintf(name, sizeof(name), "p%d", i);
		assert_int_equal(add(&p, name, "v"), FG_PARAMS_OK);
	}
	assert_int_equal(add(&p, "one_more", "v"), FG_PARAMS_TOO_MANY);
	fg_params_clear(&p);
}

/* --- lang --- */

static void
lang_follows_q_values(void **state)
{
	static const struct {
		const char *header;
		enum fg_lang want;
	} cases[] = {
	    {NULL, FG_LANG_EN},
	    {"", FG_LANG_EN},
	    {"fr", FG_LANG_FR},
	    {"FR-ca", FG_LANG_FR},
	    {"en", FG_LANG_EN},
	    {"fr-CH, fr;q=0.9, en;q=0.8, de;q=0.7, *;q=0.5", FG_LANG_FR},
	    {"fr;q=0.5, en;q=0.9", FG_LANG_EN},
	    {"en;q=0.5, fr", FG_LANG_FR},
	    {"de, fr;q=0.1", FG_LANG_FR},
	    {"de, it", FG_LANG_EN},
	    {"fr;q=0", FG_LANG_EN},
	    {"fr;q=0, en;q=0", FG_LANG_EN},
	    {"fr;q=0, *", FG_LANG_EN},
	    {"en;q=0, *;q=0.3", FG_LANG_FR},
	    {"de, *;q=0.5", FG_LANG_EN},
	    {"en;q=0.5, fr;q=0.500", FG_LANG_EN}, /* a tie: the first */
	    {"fr;q=0.500, en;q=0.5", FG_LANG_FR},
	    {"  fr ;  q=0.7 ,en;q=0.6", FG_LANG_FR},
	    {"fr;Q=0.8, en;q=0.7", FG_LANG_FR},
	    {"fr;q=1.001, en;q=0.1", FG_LANG_EN}, /* malformed q: skipped */
	    {"fr;q=2", FG_LANG_EN},
	    {"fr;q=0.5;x=y", FG_LANG_EN},
	    {"fr;q=.5", FG_LANG_EN},
	    {"français", FG_LANG_EN},
	    {"frx-CA", FG_LANG_EN},
	    {"fr-toolongsubtag", FG_LANG_EN},
	    {",,,fr,,", FG_LANG_FR},
	    {"fr-CA;q=0.2, fr;q=0.9, en;q=0.5", FG_LANG_FR},
	    {"en-GB;q=0.9, fr-FR;q=0.8", FG_LANG_EN},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (fg_lang_accept(cases[i].header) != cases[i].want)
			fail_msg("Accept-Language \"%s\": want %s",
			    cases[i].header ? cases[i].header : "(none)",
			    fg_lang_code(cases[i].want));
	}
}

static void
lang_takes_the_first_of_ours_in_ui_locales(void **state)
{
	enum fg_lang l = FG_LANG_EN;

	(void)state;
	assert_true(fg_lang_ui_locales("de fr-CA en", &l));
	assert_int_equal(l, FG_LANG_FR);
	assert_true(fg_lang_ui_locales("en-US fr", &l));
	assert_int_equal(l, FG_LANG_EN);
	assert_false(fg_lang_ui_locales("de it", &l));
	assert_false(fg_lang_ui_locales("", &l));
	assert_false(fg_lang_ui_locales(NULL, &l));
	assert_string_equal(fg_lang_code(FG_LANG_FR), "fr");
}

/* --- basic, bearer --- */

static char *
basic_of(const char *userpass)
{
	unsigned char out[512];
	char *h = malloc(600);
	int n = EVP_EncodeBlock(
	    out, (const unsigned char *)userpass, (int)strlen(userpass));

	snprintf(h, 600, "Basic %.*s", n, out);
	return h;
}

static void
basic_decodes_the_form_encoding_inside(void **state)
{
	char *h = basic_of("a%3Ab:c%2Bd+e%25");
	char *id, *secret;

	(void)state;
	assert_int_equal(fg_basic_decode(h, &id, &secret), FG_OK);
	assert_string_equal(id, "a:b");
	assert_string_equal(secret, "c+d e%");
	free(id);
	free(secret);
	free(h);
	/* the scheme is case-insensitive; spaces after it are one */
	assert_int_equal(
	    fg_basic_decode("bAsIc   c3luYXBzZTpzM2NyZXQ=", &id, &secret),
	    FG_OK);
	assert_string_equal(id, "synapse");
	assert_string_equal(secret, "s3cret");
	free(id);
	free(secret);
}

static void
basic_refuses_what_is_malformed(void **state)
{
	static const char *const bad[] = {
	    "Basic", "Basic ", "Basic c3luYXBzZTpzM2NyZXQ", /* no padding */
	    "Basic c3luYXBzZTpz=M2NyZXQ=",		    /* '=' inside */
	    "Basic c3luYXBzZTpzM2NyZXQ===",		    /* three '=' */
	    "Basic c3luYXBz!TpzM2NyZXQ=",		    /* not base64 */
	    "Basic c3luYXBzZXM=", /* "synapses": no colon */
	    "Basic OnNlY3JldA==", /* ":secret": no id */
	    "Basic YSUzOmI=",	  /* "a%3:b": a broken escape */
	    "Basic YSUwMDpi",	  /* "a%00:b": a NUL */
	    "Basic YQBiOmM=",	  /* "a\0b:c" */
	};
	char *id, *secret;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (fg_basic_decode(bad[i], &id, &secret) != FG_ERR_INVALID)
			fail_msg("accepted %s", bad[i]);
		assert_null(id);
		assert_null(secret);
	}
	assert_int_equal(
	    fg_basic_decode("Bearer abc", &id, &secret), FG_ERR_NOTFOUND);
	assert_int_equal(
	    fg_basic_decode("Basicc3lu", &id, &secret), FG_ERR_NOTFOUND);
	assert_int_equal(fg_basic_decode(NULL, &id, &secret), FG_ERR_NOTFOUND);
}

static void
bearer_takes_a_b64token_only(void **state)
{
	const char *t;
	size_t n;

	(void)state;
	assert_int_equal(
	    fg_bearer_token("Bearer abc.DEF-_~+/==", &t, &n), FG_OK);
	assert_int_equal(n, strlen("abc.DEF-_~+/=="));
	assert_int_equal(fg_bearer_token("bearer  x", &t, &n), FG_OK);
	assert_int_equal(fg_bearer_token("Bearer ", &t, &n), FG_ERR_INVALID);
	assert_int_equal(fg_bearer_token("Bearer a b", &t, &n), FG_ERR_INVALID);
	assert_int_equal(fg_bearer_token("Bearer a=b", &t, &n), FG_ERR_INVALID);
	assert_int_equal(fg_bearer_token("Bearer =", &t, &n), FG_ERR_INVALID);
	assert_int_equal(fg_bearer_token("Basic abc", &t, &n), FG_ERR_NOTFOUND);
}

static void
form_decode_is_strict_about_escapes(void **state)
{
	char s1[] = "a+b%2Bc%41", s2[] = "100%", s3[] = "%4", s4[] = "%zz",
	     s5[] = "%00";
	size_t n;

	(void)state;
	assert_int_equal(fg_form_decode(s1, &n), FG_OK);
	assert_string_equal(s1, "a b+cA");
	assert_int_equal(n, 6);
	assert_int_equal(fg_form_decode(s2, &n), FG_ERR_INVALID);
	assert_int_equal(fg_form_decode(s3, &n), FG_ERR_INVALID);
	assert_int_equal(fg_form_decode(s4, &n), FG_ERR_INVALID);
	assert_int_equal(fg_form_decode(s5, &n), FG_ERR_INVALID);
}

/* --- login bodies --- */

#define TX "AAAAAAAAAAAAAAAAAAAAAA"				/* 16 bytes */
#define SESSION "BBBBBBBBBBBBBBBBBBBBBB"			/* 16 bytes */
#define AD "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" /* 37 bytes */

static int
login(enum fg_login_op op, const char *body, json_t **req)
{
	const char *why = NULL;
	int r = fg_login_request(op, body, strlen(body), req, &why);

	if (r != FG_OK)
		assert_non_null(why);
	return r;
}

static void
login_bodies_become_exactly_the_agents_request(void **state)
{
	json_t *req;

	(void)state;
	assert_int_equal(
	    login(FG_LOGIN_BEGIN,
		"{\"tx\":\"" TX "\",\"user\":\"@alice:example.org\","
		"\"password\":\"p\"}",
		&req),
	    FG_OK);
	assert_string_equal(fg_json_str(req, "op"), FG_OP_WEB_BEGIN);
	assert_string_equal(fg_json_str(req, "user"), "@alice:example.org");
	assert_int_equal(json_object_size(req), 4);
	json_decref(req);
	assert_int_equal(
	    login(FG_LOGIN_FINISH,
		"{\"tx\":\"" TX "\",\"session\":\"" SESSION "\","
		"\"credential_id\":\"AQ\","
		"\"authenticator_data\":\"" AD "\","
		"\"client_data_json\":\"e30\",\"signature\":\"MEU\"}",
		&req),
	    FG_OK);
	assert_string_equal(fg_json_str(req, "op"), FG_OP_WEB_FINISH);
	assert_int_equal(json_object_size(req), 7);
	json_decref(req);
	assert_int_equal(login(FG_LOGIN_ABORT,
			     "{\"tx\":\"" TX "\",\"session\":\"" SESSION "\","
			     "\"reason\":\"browser: NotAllowedError\"}",
			     &req),
	    FG_OK);
	assert_string_equal(fg_json_str(req, "op"), FG_OP_WEB_ABORT);
	json_decref(req);
}

static void
login_bodies_refuse_anything_else(void **state)
{
	static const struct {
		enum fg_login_op op;
		const char *body;
	} bad[] = {
	    {FG_LOGIN_BEGIN, ""},
	    {FG_LOGIN_BEGIN, "[]"},
	    {FG_LOGIN_BEGIN, "{\"tx\":\"" TX "\"}"},
	    {FG_LOGIN_BEGIN, "{\"tx\":\"" TX "\",\"user\":\"a\",\"op\":\"x\"}"},
	    {FG_LOGIN_BEGIN,
		"{\"tx\":\"" TX "\",\"user\":\"a\",\"user\":\"b\"}"},
	    {FG_LOGIN_BEGIN, "{\"tx\":\"AAAA\",\"user\":\"a\"}"},
	    {FG_LOGIN_BEGIN, "{\"tx\":\"" TX "\",\"user\":\"a\\u001b[2J\"}"},
	    {FG_LOGIN_BEGIN, "{\"tx\":\"" TX "\",\"user\":\"a\\u0000b\"}"},
	    {FG_LOGIN_BEGIN, "{\"tx\":\"" TX "\",\"user\":\"\"}"},
	    {FG_LOGIN_BEGIN, "{\"tx\":\"" TX "\",\"user\":7}"},
	    {FG_LOGIN_BEGIN, "{\"tx\":\"" TX "\",\"user\":\"a\"} x"},
	    {FG_LOGIN_BEGIN,
		"{\"tx\":\"" TX "\",\"user\":\"a\",\"password\":\"\"}"},
	    {FG_LOGIN_FINISH,
		"{\"tx\":\"" TX "\",\"session\":\"" SESSION "\","
		"\"credential_id\":\"AQ\",\"authenticator_data\":"
		"\"AAAA\",\"client_data_json\":\"e30\","
		"\"signature\":\"MEU\"}"},
	    {FG_LOGIN_FINISH,
		"{\"tx\":\"" TX "\",\"session\":\"" SESSION "\","
		"\"credential_id\":\"A*\",\"authenticator_data\":"
		"\"" AD "\",\"client_data_json\":\"e30\","
		"\"signature\":\"MEU\"}"},
	    {FG_LOGIN_ABORT, "{\"tx\":\"" TX "\",\"session\":\"" SESSION "\"}"},
	    {FG_LOGIN_ABORT,
		"{\"tx\":\"" TX "\",\"session\":\"" SESSION "\","
		"\"reason\":\"a\\nb\"}"},
	};
	json_t *req;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (login(bad[i].op, bad[i].body, &req) != FG_ERR_INVALID)
			fail_msg("accepted %s", bad[i].body);
		assert_null(req);
	}
}

static void
login_password_has_a_size_limit(void **state)
{
	char body[FG_WEB_PASSWORD_MAX + 128];
	json_t *req;
	int n;

	(void)state;
	n = snprintf(body, sizeof(body),
	    "{\"tx\":\"" TX "\",\"user\":\"a\","
	    "\"password\":\"");
	memset(body + n, 'p', FG_WEB_PASSWORD_MAX + 1);
	strcpy(body + n + FG_WEB_PASSWORD_MAX + 1, "\"}");
	assert_int_equal(login(FG_LOGIN_BEGIN, body, &req), FG_ERR_INVALID);
	strcpy(body + n + FG_WEB_PASSWORD_MAX, "\"}");
	assert_int_equal(login(FG_LOGIN_BEGIN, body, &req), FG_OK);
	json_decref(req);
}

/* --- replies --- */

static json_t *
parse(const char *s)
{
	json_t *j = json_loads(s, 0, NULL);

	assert_non_null(j);
	return j;
}

static void
reply_urls_must_be_sane(void **state)
{
	char buf[64];

	(void)state;
	assert_true(fg_url_sane("https://matrix.test/cb?code=x&state=y"));
	assert_true(fg_url_sane("http://127.0.0.1:8008/cb"));
	assert_false(fg_url_sane("javascript:alert(1)"));
	assert_false(fg_url_sane("https://"));
	assert_false(fg_url_sane("https:///path"));
	assert_false(fg_url_sane("https://a.test/\r\nSet-Cookie: x"));
	assert_false(fg_url_sane("https://a.test/ b"));
	assert_false(fg_url_sane("https://a.test/\xc3\xa9"));
	assert_false(fg_url_sane("//a.test/"));
	assert_false(fg_url_sane(NULL));
	assert_true(
	    fg_url_host("https://u:p@matrix.test:8448/x?y", buf, sizeof(buf)));
	assert_string_equal(buf, "matrix.test:8448");
	assert_true(
	    fg_url_origin("https://matrix.test/_fido2gate/", buf, sizeof(buf)));
	assert_string_equal(buf, "https://matrix.test");
	assert_false(fg_url_origin("ftp://x/", buf, sizeof(buf)));
}

static void
reply_authorize_needs_every_member(void **state)
{
	struct fg_authz a;
	json_t *r;

	(void)state;
	r = parse("{\"tx\":\"" TX "\",\"client\":\"Synapse\",\"first_factor\":"
		  "\"none\",\"uv\":\"required\",\"expires_in\":600}");
	assert_int_equal(fg_reply_authorize(r, &a), FG_OK);
	assert_string_equal(a.client, "Synapse");
	assert_int_equal(a.expires_in, 600);
	json_object_set_new(r, "first_factor", json_string("pam:login"));
	assert_int_equal(fg_reply_authorize(r, &a), FG_ERR_PROTO);
	json_object_set_new(r, "first_factor", json_string("password"));
	json_object_set_new(r, "tx", json_string("short"));
	assert_int_equal(fg_reply_authorize(r, &a), FG_ERR_PROTO);
	json_object_set_new(r, "tx", json_string(TX));
	json_object_set_new(r, "client", json_string("a\x1b[31m"));
	assert_int_equal(fg_reply_authorize(r, &a), FG_ERR_PROTO);
	json_decref(r);
}

static void
reply_begin_passes_only_what_the_page_needs(void **state)
{
	json_t *r, *page;

	(void)state;
	r = parse("{\"ok\":true,\"session\":\"" SESSION "\",\"challenge\":"
		  "\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"rp_id\":"
		  "\"matrix.test\",\"origin\":\"https://matrix.test\","
		  "\"allow_credentials\":[\"AQ\",\"Ag\"],\"uv\":\"required\","
		  "\"timeout\":60}");
	assert_int_equal(fg_reply_begin(r, &page), FG_OK);
	assert_null(json_object_get(page, "origin"));
	assert_null(json_object_get(page, "ok"));
	assert_int_equal(
	    json_array_size(json_object_get(page, "allow_credentials")), 2);
	json_decref(page);
	json_object_set_new(r, "allow_credentials", json_pack("[s]", "A*"));
	assert_int_equal(fg_reply_begin(r, &page), FG_ERR_PROTO);
	json_object_set_new(r, "allow_credentials", json_array());
	assert_int_equal(fg_reply_begin(r, &page), FG_ERR_PROTO);
	json_decref(r);
}

static void
reply_finish_allows_only_with_a_sane_redirect(void **state)
{
	json_t *r, *page;
	bool allow;

	(void)state;
	r = parse(
	    "{\"result\":\"allow\",\"redirect\":\"https://m.test/cb?code=c\"}");
	assert_int_equal(fg_reply_finish(r, &page, &allow), FG_OK);
	assert_true(allow);
	assert_string_equal(
	    fg_json_str(page, "redirect"), "https://m.test/cb?code=c");
	json_decref(page);
	json_object_set_new(r, "redirect", json_string("javascript:x()"));
	assert_int_equal(fg_reply_finish(r, &page, &allow), FG_ERR_PROTO);
	assert_false(allow);
	json_decref(r);
	r = parse("{\"result\":\"deny\",\"why\":\"<script>\"}");
	assert_int_equal(fg_reply_finish(r, &page, &allow), FG_OK);
	assert_false(allow);
	assert_string_equal(fg_json_str(page, "error"), "denied");
	json_decref(page);
	json_decref(r);
	r = parse("{\"result\":\"Allow\",\"redirect\":\"https://m.test/\"}");
	assert_int_equal(fg_reply_finish(r, &page, &allow), FG_ERR_PROTO);
	json_decref(r);
}

static void
reply_token_and_claims_need_their_members(void **state)
{
	json_t *r, *out;

	(void)state;
	r = parse(
	    "{\"token\":{\"access_token\":\"a\",\"token_type\":\"Bearer\","
	    "\"expires_in\":300,\"id_token\":\"h.p.s\",\"scope\":\"openid\"}}");
	assert_int_equal(fg_reply_token(r, &out), FG_OK);
	json_decref(out);
	json_object_del(json_object_get(r, "token"), "id_token");
	assert_int_equal(fg_reply_token(r, &out), FG_ERR_PROTO);
	json_decref(r);
	r = parse("{\"claims\":{\"preferred_username\":\"alice\"}}");
	assert_int_equal(fg_reply_claims(r, &out), FG_ERR_PROTO);
	json_decref(r);
	r = parse("{\"oauth_error\":\"invalid_grant\"}");
	assert_string_equal(fg_reply_oauth_error(r), "invalid_grant");
	json_object_set_new(r, "oauth_error", json_string("x\"y"));
	assert_null(fg_reply_oauth_error(r));
	json_decref(r);
}

static void
reply_unavailable_codes_are_not_decisions(void **state)
{
	char buf[32];

	(void)state;
	assert_true(fg_refusal_unavailable(FG_E_UNKNOWN_OP));
	assert_true(fg_refusal_unavailable(FG_E_INTERNAL));
	assert_true(fg_refusal_unavailable(FG_E_STORE));
	assert_true(fg_refusal_unavailable(""));
	assert_true(fg_refusal_unavailable("something_new"));
	assert_false(fg_refusal_unavailable(FG_E_LOCKED));
	assert_false(fg_refusal_unavailable(FG_E_OAUTH));
	assert_string_equal(
	    fg_oauth_text("a\"b\\c\nd", buf, sizeof(buf)), "a b c d");
}

/* --- html --- */

static void
html_escapes_every_special_character(void **state)
{
	struct fg_buf b = {0};
	size_t len;
	char *s;

	(void)state;
	fg_buf_html(&b, "<a href=\"x\" title='y'>&\x01\x7f\t</a>");
	s = fg_buf_take(&b, &len);
	assert_string_equal(s,
	    "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;\t&lt;/a&gt;");
	fg_wipe_free(s, len);
}

/* true when the page has no inline script, style or event handler: in
 * every tag (text holds no '<', escaped), no on*= or style= attribute,
 * and the one script is login.js */
static bool
no_inline_code(const char *html)
{
	static const char our_script[] =
	    "<script src=\"static/login.js\" defer></script>";
	const char *p, *end, *q;

	for (p = html; (p = strchr(p, '<')) != NULL; p = end) {
		if ((end = strchr(p, '>')) == NULL)
			return false;
		if (strncmp(p, "<script", 7) == 0 &&
		    strncmp(p, our_script, strlen(our_script)) != 0)
			return false;
		if (strncmp(p, "<style", 6) == 0)
			return false;
		for (q = p; q < end; q++) {
			const char *k = q + 3;
			if (strncmp(q, " style=", 7) == 0)
				return false;
			if (strncmp(q, " on", 3) != 0)
				continue;
			while (k < end && *k >= 'a' && *k <= 'z')
				k++;
			if (k > q + 3 && *k == '=')
				return false;
		}
	}
	return strstr(html, "javascript:") == NULL;
}

static void
html_login_page_escapes_the_agents_text(void **state)
{
	struct fg_authz a = {.tx = TX,
	    .client = "Evil <script>alert(1)</script> \" onload=x",
	    .first_factor = "password",
	    .uv = "required",
	    .expires_in = 600};
	struct fg_login_view v = {FG_LANG_FR, &a, "m.test\"><img src=x>"};
	size_t len;
	char *html = fg_html_login(&v, &len);

	(void)state;
	assert_non_null(html);
	assert_int_equal(strlen(html), len);
	assert_non_null(strstr(html, "<html lang=\"fr\">"));
	assert_null(strstr(html, "<script>alert"));
	assert_null(strstr(html, "<img"));
	assert_non_null(strstr(html, "Evil &lt;script&gt;"));
	assert_non_null(strstr(html, "id=\"password\""));
	assert_non_null(strstr(html, "data-page=\"{&quot;tx&quot;:&quot;" TX));
	assert_true(no_inline_code(html));
	fg_wipe_free(html, len);
	/* no password field without a password first factor */
	strcpy(a.first_factor, "none");
	v.lang = FG_LANG_EN;
	html = fg_html_login(&v, &len);
	assert_non_null(strstr(html, "<html lang=\"en\">"));
	assert_null(strstr(html, "id=\"password\""));
	assert_true(no_inline_code(html));
	fg_wipe_free(html, len);
}

/* the French texts fg_html_load found in the catalog */
static size_t loaded;

static void
html_error_pages_speak_the_language(void **state)
{
	size_t len;
	char *html;

	(void)state;
	assert_true(loaded > 50); /* French for every text of the pages */
	html = fg_html_error(FG_LANG_FR, FG_PAGE_UNAVAILABLE, NULL, &len);
	assert_non_null(strstr(html, "<html lang=\"fr\">"));
	assert_non_null(strstr(html, "indisponible"));
	assert_true(no_inline_code(html));
	fg_wipe_free(html, len);
	html = fg_html_error(FG_LANG_EN, FG_PAGE_BAD_REQUEST, "<b>x</b>", &len);
	assert_non_null(strstr(html, "cannot be used"));
	assert_non_null(strstr(html, "&lt;b&gt;x&lt;/b&gt;"));
	fg_wipe_free(html, len);
}

/* --- client addresses --- */

static bool
ip_is(const char *entry, int family, const char *want)
{
	struct fg_ip ip;
	char buf[FG_IP_STR_MAX];

	if (!fg_ip_parse(entry, strlen(entry), &ip))
		return false;
	return ip.family == family &&
	    strcmp(fg_ip_str(&ip, buf, sizeof(buf)), want) == 0;
}

static void
addr_parse_takes_what_proxies_write_and_nothing_else(void **state)
{
	static const char *const refused[] = {"", " ", "unknown", "_hidden",
	    "1.2.3", "1.2.3.4:", "1.2.3.4:123456", "1.2.3.4:8a", "[1.2.3.4]",
	    "[::1", "[::1]x", "[::1]:", "::1::2", "2001:db8::1 x", "1.2.3.4.5",
	    "256.1.1.1", "0000:0000:0000:0000:0000:0000:0000:0000:0000:0001",
	    NULL};
	struct fg_ip ip;
	size_t i;

	(void)state;
	assert_true(ip_is("192.0.2.1", AF_INET, "192.0.2.1"));
	assert_true(ip_is(" \t192.0.2.1 ", AF_INET, "192.0.2.1"));
	assert_true(ip_is("192.0.2.1:443", AF_INET, "192.0.2.1"));
	assert_true(ip_is("2001:db8::1", AF_INET6, "2001:db8::1"));
	assert_true(ip_is("[2001:db8::1]", AF_INET6, "2001:db8::1"));
	assert_true(ip_is("[2001:db8::1]:8443", AF_INET6, "2001:db8::1"));
	/* an IPv4-mapped address is the IPv4 one: one budget, not two */
	assert_true(ip_is("::ffff:192.0.2.1", AF_INET, "192.0.2.1"));
	for (i = 0; refused[i] != NULL; i++)
		assert_false(fg_ip_parse(refused[i], strlen(refused[i]), &ip));
	/* a NUL inside is not an address */
	assert_false(fg_ip_parse("1.2.3.4\0", 8, &ip));
}

static void
addr_keys_group_ipv6_by_64(void **state)
{
	struct fg_ip a, b;
	struct fg_addr_key ka, kb;

	(void)state;
	assert_true(fg_ip_parse("2001:db8:1:2::1", 15, &a));
	assert_true(fg_ip_parse("2001:db8:1:2:ffff:1:2:3", 23, &b));
	fg_ip_key(&a, &ka);
	fg_ip_key(&b, &kb);
	assert_memory_equal(ka.b, kb.b, sizeof(ka.b));
	assert_true(fg_ip_parse("2001:db8:1:3::1", 15, &b));
	fg_ip_key(&b, &kb);
	assert_memory_not_equal(ka.b, kb.b, sizeof(ka.b));
	/* IPv4 addresses each count alone */
	assert_true(fg_ip_parse("192.0.2.1", 9, &a));
	assert_true(fg_ip_parse("192.0.2.2", 9, &b));
	fg_ip_key(&a, &ka);
	fg_ip_key(&b, &kb);
	assert_memory_not_equal(ka.b, kb.b, sizeof(ka.b));
	/* and the Unix socket is one key of its own */
	fg_ip_from_sockaddr(NULL, &a);
	assert_int_equal(a.family, AF_UNIX);
	fg_ip_key(&a, &ka);
	assert_true(fg_ip_parse("::", 2, &b));
	fg_ip_key(&b, &kb);
	assert_memory_not_equal(ka.b, kb.b, sizeof(ka.b));
}

static void
addr_trusted_proxies_are_addresses_or_networks(void **state)
{
	static const char *const refused[] = {"", ",", "1.2.3.4,", ",1.2.3.4",
	    "0.0.0.0/0", "10.0.0.0/7", "::/0", "1.2.3.4:80", "[::1]",
	    "10.0.0.0/33", "::1/129", "10.0.0.0/x", "10.0.0.0/", "localhost",
	    "1.2.3.4 ", NULL};
	struct fg_proxies p;
	struct fg_ip ip;
	const char *why = NULL;
	size_t i;

	(void)state;
	memset(&p, 0, sizeof(p));
	assert_int_equal(
	    fg_proxies_add(&p, "10.1.2.3/8,2001:db8::/32", &why), FG_OK);
	assert_int_equal(fg_proxies_add(&p, "127.0.0.1", &why), FG_OK);
	assert_int_equal(p.n, 3);
	assert_true(fg_ip_parse("10.200.0.1", 10, &ip));
	assert_true(fg_proxies_has(&p, &ip));
	assert_true(fg_ip_parse("11.0.0.1", 8, &ip));
	assert_false(fg_proxies_has(&p, &ip));
	assert_true(fg_ip_parse("2001:db8:ffff::1", 16, &ip));
	assert_true(fg_proxies_has(&p, &ip));
	assert_true(fg_ip_parse("2001:db9::1", 11, &ip));
	assert_false(fg_proxies_has(&p, &ip));
	assert_true(fg_ip_parse("127.0.0.2", 9, &ip));
	assert_false(fg_proxies_has(&p, &ip));
	/* a Unix socket's peer is always the proxy */
	fg_ip_from_sockaddr(NULL, &ip);
	assert_true(fg_proxies_has(&p, &ip));
	for (i = 0; refused[i] != NULL; i++) {
		memset(&p, 0, sizeof(p));
		why = NULL;
		assert_int_equal(
		    fg_proxies_add(&p, refused[i], &why), FG_ERR_INVALID);
		assert_non_null(why);
	}
}

/* the client fg_xff_client finds behind proxies, or "peer" */
static const char *
xff_client(const char *proxies, const char *const *values, size_t n)
{
	static char buf[FG_IP_STR_MAX];
	struct fg_proxies p;
	struct fg_ip ip;
	const char *why;

	memset(&p, 0, sizeof(p));
	assert_int_equal(fg_proxies_add(&p, proxies, &why), FG_OK);
	if (!fg_xff_client(&p, values, n, &ip))
		return "peer";
	return fg_ip_str(&ip, buf, sizeof(buf));
}

static void
xff_takes_the_rightmost_entry_not_a_trusted_proxy(void **state)
{
	const char *one[1], *two[2];

	(void)state;
	/* what nginx sends: the client's own header, then its peer */
	one[0] = "203.0.113.9, 198.51.100.7";
	assert_string_equal(xff_client("127.0.0.1", one, 1), "198.51.100.7");
	/* a forged leftmost entry buys nothing */
	one[0] = "10.9.9.9,198.51.100.7";
	assert_string_equal(xff_client("127.0.0.1", one, 1), "198.51.100.7");
	/* behind two trusted proxies, the entry before them */
	one[0] = "1.1.1.1, 198.51.100.7, 10.0.0.5";
	assert_string_equal(
	    xff_client("127.0.0.1,10.0.0.0/8", one, 1), "198.51.100.7");
	/* the client naming a trusted proxy as itself is skipped too, but
	 * what the proxy appended is still the client */
	one[0] = "127.0.0.1, 198.51.100.7";
	assert_string_equal(xff_client("127.0.0.1", one, 1), "198.51.100.7");
	/* several headers are one list, in order */
	two[0] = "198.51.100.1";
	two[1] = "198.51.100.2";
	assert_string_equal(xff_client("127.0.0.1", two, 2), "198.51.100.2");
	two[1] = "127.0.0.1";
	assert_string_equal(xff_client("127.0.0.1", two, 2), "198.51.100.1");
	/* garbage on the left is never reached */
	one[0] = "garbage, , [2001:db8::7]:1234";
	assert_string_equal(xff_client("127.0.0.1", one, 1), "2001:db8::7");
	/* garbage where the proxy writes: no client, the peer counts */
	one[0] = "198.51.100.7, unknown";
	assert_string_equal(xff_client("127.0.0.1", one, 1), "peer");
	one[0] = "";
	assert_string_equal(xff_client("127.0.0.1", one, 1), "peer");
	assert_string_equal(xff_client("127.0.0.1", one, 0), "peer");
	/* every entry a trusted proxy: the leftmost, where it began */
	one[0] = "10.0.0.1, 10.0.0.2";
	assert_string_equal(xff_client("10.0.0.0/8", one, 1), "10.0.0.1");
}

/* --- request budgets --- */

static const struct fg_rate test_rates[FG_BUDGET_CLASSES] = {
    [FG_BUDGET_LOGIN] = {5 * 60, 20},
    [FG_BUDGET_TOKEN] = {10 * 60, 100},
    [FG_BUDGET_DOCUMENT] = {0, 0},
};

static struct fg_addr_key
key_of(const char *addr)
{
	struct fg_addr_key k;
	struct fg_ip ip;

	assert_true(fg_ip_parse(addr, strlen(addr), &ip));
	fg_ip_key(&ip, &k);
	return k;
}

static void
budget_rate_is_parsed_per_second_or_minute(void **state)
{
	static const char *const refused[] = {"", "5", "5,", ",20", "0,20",
	    "5,0", "5/h,20", "5,20x", "-5,20", "100001,20", "5,100001", "on",
	    NULL};
	struct fg_rate r;
	size_t i;

	(void)state;
	assert_int_equal(fg_rate_parse("5,20", &r), FG_OK);
	assert_int_equal(r.per_min, 300);
	assert_int_equal(r.burst, 20);
	assert_int_equal(fg_rate_parse("5/s,20", &r), FG_OK);
	assert_int_equal(r.per_min, 300);
	assert_int_equal(fg_rate_parse("30/m,10", &r), FG_OK);
	assert_int_equal(r.per_min, 30);
	assert_int_equal(fg_rate_parse("off", &r), FG_OK);
	assert_int_equal(r.per_min, 0);
	for (i = 0; refused[i] != NULL; i++)
		assert_int_equal(fg_rate_parse(refused[i], &r), FG_ERR_INVALID);
}

static void
budget_refuses_past_the_burst_and_refills_at_the_rate(void **state)
{
	struct fg_budget *bu = fg_budget_new(64, test_rates);
	struct fg_addr_key a = key_of("192.0.2.1"), b = key_of("192.0.2.2");
	struct fg_budget_verdict v;
	uint64_t t = 1000;
	int i;

	(void)state;
	assert_non_null(bu);
	for (i = 0; i < 20; i++)
		assert_true(fg_budget_take(bu, &a, FG_BUDGET_LOGIN, t, &v));
	assert_false(fg_budget_take(bu, &a, FG_BUDGET_LOGIN, t, &v));
	assert_int_equal(v.retry_after, 1);
	/* another address, and another class of the same address, are
	 * untouched */
	assert_true(fg_budget_take(bu, &b, FG_BUDGET_LOGIN, t, &v));
	for (i = 0; i < 100; i++)
		assert_true(fg_budget_take(bu, &a, FG_BUDGET_TOKEN, t, &v));
	assert_false(fg_budget_take(bu, &a, FG_BUDGET_TOKEN, t, &v));
	/* a class without a budget is never refused */
	for (i = 0; i < 1000; i++)
		assert_true(fg_budget_take(bu, &a, FG_BUDGET_DOCUMENT, t, &v));
	/* 5 a second: one more every 200 ms, and not before */
	assert_false(fg_budget_take(bu, &a, FG_BUDGET_LOGIN, t + 199, &v));
	assert_true(fg_budget_take(bu, &a, FG_BUDGET_LOGIN, t + 200, &v));
	assert_false(fg_budget_take(bu, &a, FG_BUDGET_LOGIN, t + 200, &v));
	/* a rest refills the burst, no more */
	for (i = 0; i < 20; i++)
		assert_true(
		    fg_budget_take(bu, &a, FG_BUDGET_LOGIN, t + 3600000, &v));
	assert_false(fg_budget_take(bu, &a, FG_BUDGET_LOGIN, t + 3600000, &v));
	fg_budget_free(&bu);
	assert_null(bu);
}

static void
budget_says_when_to_retry_and_logs_once_in_a_while(void **state)
{
	const struct fg_rate slow[FG_BUDGET_CLASSES] = {
	    [FG_BUDGET_LOGIN] = {2, 1}}; /* 2 a minute */
	struct fg_budget *bu = fg_budget_new(16, slow);
	struct fg_addr_key a = key_of("192.0.2.1");
	struct fg_budget_verdict v;
	uint64_t t = 5000;
	int i;

	(void)state;
	assert_true(fg_budget_take(bu, &a, FG_BUDGET_LOGIN, t, &v));
	assert_false(fg_budget_take(bu, &a, FG_BUDGET_LOGIN, t, &v));
	assert_int_equal(v.retry_after, 30);
	assert_int_equal(v.report, 1); /* the first refusal is told */
	for (i = 0; i < 50; i++) {
		assert_false(
		    fg_budget_take(bu, &a, FG_BUDGET_LOGIN, t + 10, &v));
		assert_int_equal(v.report, 0); /* then quiet */
	}
	assert_false(fg_budget_take(bu, &a, FG_BUDGET_LOGIN, t + 10000, &v));
	assert_int_equal(v.report, 51); /* and how many since */
	assert_int_equal(v.retry_after, 20);
	fg_budget_free(&bu);
}

static void
budget_table_stays_bounded_and_forgets_the_least_recently_used(void **state)
{
	const struct fg_rate slow[FG_BUDGET_CLASSES] = {
	    [FG_BUDGET_LOGIN] = {1, 3}}; /* one a minute */
	struct fg_budget *bu = fg_budget_new(16, slow);
	struct fg_addr_key a = key_of("192.0.2.1"), k;
	struct fg_budget_verdict v;
	char addr[32];
	size_t held;
	uint64_t evicted, early, t = 1000;
	int i;

	(void)state;
	for (i = 0; i < 3; i++)
		assert_true(fg_budget_take(bu, &a, FG_BUDGET_LOGIN, t, &v));
	assert_false(fg_budget_take(bu, &a, FG_BUDGET_LOGIN, t, &v));
	/* 15 other addresses fill the table: a is still remembered */
	for (i = 0; i < 15; i++) {
		snprintf(addr, sizeof(addr), "198.51.100.%d", i);
		k = key_of(addr);
		assert_true(fg_budget_take(bu, &k, FG_BUDGET_LOGIN, t, &v));
		assert_false(v.table_full);
	}
	assert_false(fg_budget_take(bu, &a, FG_BUDGET_LOGIN, t, &v));
	fg_budget_stats(bu, &held, &evicted, &early);
	assert_int_equal(held, 16);
	assert_int_equal(evicted, 0);
	/* 16 more: a, touched last before them, is the oldest of all
	 * when its turn comes, and is forgotten (and said so) */
	for (i = 0; i < 16; i++) {
		snprintf(addr, sizeof(addr), "203.0.113.%d", i);
		k = key_of(addr);
		assert_true(fg_budget_take(bu, &k, FG_BUDGET_LOGIN, t, &v));
	}
	fg_budget_stats(bu, &held, &evicted, &early);
	assert_int_equal(held, 16);
	assert_int_equal(evicted, 16);
	assert_int_equal(early, 16);
	assert_true(fg_budget_take(bu, &a, FG_BUDGET_LOGIN, t, &v));
	/* thousands more: the table never grows */
	for (i = 0; i < 5000; i++) {
		snprintf(addr, sizeof(addr), "2001:db8:%x::1", i);
		k = key_of(addr);
		(void)fg_budget_take(
		    bu, &k, FG_BUDGET_LOGIN, t + (uint64_t)i, &v);
	}
	fg_budget_stats(bu, &held, &evicted, &early);
	assert_int_equal(held, 16);
	fg_budget_free(&bu);
}

/* --- connections --- */

static void
conns_limit_each_address_but_not_a_trusted_proxy(void **state)
{
	struct fg_conns *cs = fg_conns_new(64, 2, 0);
	struct fg_conn *c[8];
	struct fg_ip a, b, v6a, v6b;
	int i;

	(void)state;
	assert_non_null(cs);
	assert_true(fg_ip_parse("192.0.2.1", 9, &a));
	assert_true(fg_ip_parse("192.0.2.2", 9, &b));
	assert_true(fg_ip_parse("2001:db8::1", 11, &v6a));
	assert_true(fg_ip_parse("2001:db8::2", 11, &v6b));
	assert_true(fg_conns_admit(cs, &a, false));
	assert_non_null(c[0] = fg_conns_open(cs, &a, false, -1));
	assert_non_null(c[1] = fg_conns_open(cs, &a, false, -1));
	assert_false(fg_conns_admit(cs, &a, false));
	assert_null(fg_conns_open(cs, &a, false, -1));
	assert_non_null(c[2] = fg_conns_open(cs, &b, false, -1));
	/* one /64, one share */
	assert_non_null(c[3] = fg_conns_open(cs, &v6a, false, -1));
	assert_non_null(c[4] = fg_conns_open(cs, &v6b, false, -1));
	assert_null(fg_conns_open(cs, &v6a, false, -1));
	/* a trusted proxy's connections are not counted */
	for (i = 0; i < 3; i++)
		assert_true(fg_conns_admit(cs, &a, true));
	assert_non_null(c[5] = fg_conns_open(cs, &a, true, -1));
	/* a connection closed makes room */
	fg_conns_close(cs, c[0]);
	assert_true(fg_conns_admit(cs, &a, false));
	assert_non_null(c[0] = fg_conns_open(cs, &a, false, -1));
	for (i = 0; i < 6; i++)
		fg_conns_close(cs, c[i]);
	fg_conns_free(&cs);
	assert_null(cs);
}

/* the far end of a socket pair reads the end of the stream within
 * wait_ms: the near end was shut down */
static bool
shut_within(int fd, int wait_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char byte;

	return poll(&p, 1, wait_ms) == 1 && read(fd, &byte, 1) == 0;
}

static void
conns_shut_a_request_that_takes_too_long(void **state)
{
	struct fg_conns *cs = fg_conns_new(64, 8, 1);
	struct fg_conn *slow, *quick;
	struct fg_ip a;
	int sv1[2], sv2[2];

	(void)state;
	assert_true(fg_ip_parse("192.0.2.1", 9, &a));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv1), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv2), 0);
	slow = fg_conns_open(cs, &a, false, sv1[0]);
	quick = fg_conns_open(cs, &a, false, sv2[0]);
	/* quick's request is in: off the clock, while slow's is not */
	fg_conns_received(cs, quick);
	assert_true(shut_within(sv1[1], 10000));
	assert_false(shut_within(sv2[1], 1500));
	/* its next request has a deadline of its own */
	fg_conns_idle(cs, quick);
	assert_true(shut_within(sv2[1], 10000));
	fg_conns_close(cs, slow);
	fg_conns_close(cs, quick);
	fg_conns_free(&cs);
	close(sv1[0]);
	close(sv1[1]);
	close(sv2[0]);
	close(sv2[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(params_refuse_a_repeated_parameter),
	    cmocka_unit_test(params_count_an_empty_repeat_as_a_repeat),
	    cmocka_unit_test(params_leave_out_empty_values),
	    cmocka_unit_test(params_take_2048_bytes_and_refuse_2049),
	    cmocka_unit_test(params_count_every_piece_of_a_value),
	    cmocka_unit_test(params_refuse_nul_bad_names_and_non_utf8),
	    cmocka_unit_test(params_refuse_more_than_the_maximum),
	    cmocka_unit_test(lang_follows_q_values),
	    cmocka_unit_test(lang_takes_the_first_of_ours_in_ui_locales),
	    cmocka_unit_test(basic_decodes_the_form_encoding_inside),
	    cmocka_unit_test(basic_refuses_what_is_malformed),
	    cmocka_unit_test(bearer_takes_a_b64token_only),
	    cmocka_unit_test(form_decode_is_strict_about_escapes),
	    cmocka_unit_test(login_bodies_become_exactly_the_agents_request),
	    cmocka_unit_test(login_bodies_refuse_anything_else),
	    cmocka_unit_test(login_password_has_a_size_limit),
	    cmocka_unit_test(reply_urls_must_be_sane),
	    cmocka_unit_test(reply_authorize_needs_every_member),
	    cmocka_unit_test(reply_begin_passes_only_what_the_page_needs),
	    cmocka_unit_test(reply_finish_allows_only_with_a_sane_redirect),
	    cmocka_unit_test(reply_token_and_claims_need_their_members),
	    cmocka_unit_test(reply_unavailable_codes_are_not_decisions),
	    cmocka_unit_test(html_escapes_every_special_character),
	    cmocka_unit_test(html_login_page_escapes_the_agents_text),
	    cmocka_unit_test(html_error_pages_speak_the_language),
	    cmocka_unit_test(
		addr_parse_takes_what_proxies_write_and_nothing_else),
	    cmocka_unit_test(addr_keys_group_ipv6_by_64),
	    cmocka_unit_test(addr_trusted_proxies_are_addresses_or_networks),
	    cmocka_unit_test(xff_takes_the_rightmost_entry_not_a_trusted_proxy),
	    cmocka_unit_test(budget_rate_is_parsed_per_second_or_minute),
	    cmocka_unit_test(
		budget_refuses_past_the_burst_and_refills_at_the_rate),
	    cmocka_unit_test(
		budget_says_when_to_retry_and_logs_once_in_a_while),
	    cmocka_unit_test(
		budget_table_stays_bounded_and_forgets_the_least_recently_used),
	    cmocka_unit_test(conns_limit_each_address_but_not_a_trusted_proxy),
	    cmocka_unit_test(conns_shut_a_request_that_takes_too_long),
	};

	/* the pages' French, from this build's catalog (40-web-unit.t says
	 * where: the installed one may be older, or absent) */
	loaded = getenv("FG_TEST_LOCALEDIR") != NULL ?
	    fg_html_load(getenv("FG_TEST_LOCALEDIR")) :
	    0;
	return cmocka_run_group_tests_name("web", tests, NULL, NULL);
}
