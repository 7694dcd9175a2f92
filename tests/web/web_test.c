/*
 * Unit tests of the web front's pure parts (cmocka, under ASan and UBSan):
 * parameter collection, Accept-Language, Basic and Bearer credentials,
 * the page's JSON bodies, the checks of the agent's replies, and the HTML
 * escaping of every page. Each test is named after what it proves.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static void
html_error_pages_speak_the_language(void **state)
{
	size_t len;
	char *html;

	(void)state;
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
	};

	return cmocka_run_group_tests_name("web", tests, NULL, NULL);
}
