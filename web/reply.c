/*
 * The agent's replies, checked before any of it reaches a browser or a
 * relying party. The agent is trusted to decide, not to be well formed:
 * a reply that lacks what the answer needs, or carries a URL no browser
 * should be sent to, is nonsense, and the front then fails closed (503)
 * exactly as when the agent is down.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "web.h"

/* a string member of 1..max bytes without NUL; NULL otherwise */
static const char *
str_member(const json_t *o, const char *key, size_t max)
{
	const json_t *v = json_object_get(o, key);
	const char *s = json_string_value(v);

	if (s == NULL || json_string_length(v) == 0 ||
	    json_string_length(v) > max || strlen(s) != json_string_length(v))
		return NULL;
	return s;
}

/* a base64url string decoding to min..max bytes */
static const char *
b64_value(const json_t *v, size_t min, size_t max)
{
	const char *s = json_string_value(v);
	uint8_t *d = NULL;
	size_t n = 0;
	bool ok;

	if (s == NULL || json_string_length(v) > max / 3 * 4 + 4 ||
	    strlen(s) != json_string_length(v))
		return NULL;
	ok = fg_b64url_decode(s, &d, &n) == FG_OK && n >= min && n <= max;
	free(d);
	return ok ? s : NULL;
}

static const char *
b64_member(const json_t *o, const char *key, size_t min, size_t max)
{
	return b64_value(json_object_get(o, key), min, max);
}

static bool
int_member(const json_t *o, const char *key, json_int_t min, json_int_t max,
    json_int_t *out)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max)
		return false;
	*out = json_integer_value(v);
	return true;
}

static bool
one_of(const char *s, const char *const *set)
{
	for (; s != NULL && *set != NULL; set++)
		if (strcmp(s, *set) == 0)
			return true;
	return false;
}

static bool
copy(char *buf, size_t len, const char *s)
{
	if (s == NULL || strlen(s) >= len)
		return false;
	memcpy(buf, s, strlen(s) + 1);
	return true;
}

static const char *const uv_names[] = {
    FG_UV_NAME_REQUIRED, FG_UV_NAME_PREFERRED, FG_UV_NAME_DISCOURAGED, NULL};

bool
fg_url_sane(const char *url)
{
	size_t i, n, skip;

	if (url == NULL || (n = strlen(url)) > FG_WEB_URL_MAX)
		return false;
	if (strncmp(url, "https://", 8) == 0)
		skip = 8;
	else if (strncmp(url, "http://", 7) == 0)
		skip = 7;
	else
		return false;
	if (n == skip || strchr("/?#", url[skip]) != NULL)
		return false; /* no host */
	for (i = 0; i < n; i++)
		if ((unsigned char)url[i] <= 0x20 ||
		    (unsigned char)url[i] >= 0x7f)
			return false;
	return true;
}

/* the authority of a sane URL: [s, e) */
static bool
authority(const char *url, const char **s, const char **e)
{
	const char *p, *at;

	if (!fg_url_sane(url))
		return false;
	*s = strstr(url, "://") + 3;
	for (p = *s; *p != '\0' && strchr("/?#", *p) == NULL; p++)
		;
	*e = p;
	/* a user name before '@' is not the host */
	for (at = *s; at < *e; at++)
		if (*at == '@')
			*s = at + 1;
	return *e > *s;
}

bool
fg_url_host(const char *url, char *buf, size_t len)
{
	const char *s, *e;

	if (!authority(url, &s, &e) || (size_t)(e - s) >= len)
		return false;
	memcpy(buf, s, (size_t)(e - s));
	buf[e - s] = '\0';
	return true;
}

bool
fg_url_origin(const char *url, char *buf, size_t len)
{
	const char *s, *e;
	size_t scheme;

	if (!authority(url, &s, &e))
		return false;
	scheme = (size_t)(strstr(url, "://") - url);
	if (scheme + 3 + (size_t)(e - s) >= len)
		return false;
	snprintf(buf, len, "%.*s://%.*s", (int)scheme, url, (int)(e - s), s);
	return true;
}

int
fg_reply_document(const json_t *reply, const char *key, json_t **out)
{
	json_t *doc = json_object_get(reply, key);

	*out = NULL;
	if (!json_is_object(doc))
		return FG_ERR_PROTO;
	/* a key set is {"keys": [...]} (RFC 7517 §5) */
	if (strcmp(key, "jwks") == 0 &&
	    !json_is_array(json_object_get(doc, "keys")))
		return FG_ERR_PROTO;
	*out = json_incref(doc);
	return FG_OK;
}

int
fg_reply_authorize(const json_t *reply, struct fg_authz *out)
{
	static const char *const factors[] = {
	    "none", "password", "provider", NULL};
	const char *client =
	    str_member(reply, "client", sizeof(out->client) - 1);
	json_int_t exp;

	memset(out, 0, sizeof(*out));
	if (!copy(out->tx, sizeof(out->tx),
		b64_member(reply, "tx", FG_TX_LEN, FG_TX_LEN)) ||
	    client == NULL || !fg_text_printable(client, strlen(client)) ||
	    !copy(out->client, sizeof(out->client), client) ||
	    !one_of(fg_json_str(reply, "first_factor"), factors) ||
	    !copy(out->first_factor, sizeof(out->first_factor),
		fg_json_str(reply, "first_factor")) ||
	    !one_of(fg_json_str(reply, "uv"), uv_names) ||
	    !copy(out->uv, sizeof(out->uv), fg_json_str(reply, "uv")) ||
	    !int_member(reply, "expires_in", 1, 86400, &exp)) {
		memset(out, 0, sizeof(*out));
		return FG_ERR_PROTO;
	}
	out->expires_in = (long)exp;
	return FG_OK;
}

/* exactly FG_UP_RANDOM_LEN characters of base64url */
static bool
random_member(const json_t *o, const char *key, char *buf)
{
	const char *s = str_member(o, key, FG_UP_RANDOM_LEN);

	return s != NULL && strlen(s) == FG_UP_RANDOM_LEN &&
	    b64_member(o, key, 32, 32) != NULL &&
	    copy(buf, FG_UP_RANDOM_LEN + 1, s);
}

int
fg_reply_upstream_start(const json_t *reply, struct fg_up_start *out)
{
	const json_t *up = json_object_get(reply, "upstream");
	const char *name = str_member(up, "name", FG_UP_NAME_MAX);
	const char *scope = str_member(up, "scope", FG_UP_SCOPE_MAX);
	const json_t *params = json_object_get(up, "params");
	size_t i;

	memset(out, 0, sizeof(*out));
	if (name == NULL ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-_.") !=
		strlen(name) ||
	    !copy(out->name, sizeof(out->name), name) ||
	    !random_member(up, "state", out->state) ||
	    !random_member(up, "nonce", out->nonce) ||
	    !random_member(up, "code_challenge", out->challenge) ||
	    scope == NULL || !copy(out->scope, sizeof(out->scope), scope) ||
	    !json_is_string(params) ||
	    json_string_length(params) > FG_UP_PARAMS_MAX ||
	    strlen(json_string_value(params)) != json_string_length(params) ||
	    !copy(out->params, sizeof(out->params), json_string_value(params)))
		goto bad;
	/* a scope is words of printable ASCII (RFC 6749 §3.3) */
	for (i = 0; out->scope[i] != '\0'; i++)
		if (out->scope[i] < 0x20 || out->scope[i] > 0x7e ||
		    strchr("\"\\", out->scope[i]) != NULL)
			goto bad;
	for (i = 0; out->params[i] != '\0'; i++)
		if (out->params[i] <= 0x20 || out->params[i] > 0x7e)
			goto bad;
	return FG_OK;
bad:
	memset(out, 0, sizeof(*out));
	return FG_ERR_PROTO;
}

int
fg_reply_upstream(const json_t *reply, struct fg_authz *authz, char *user,
    size_t user_len)
{
	const char *client = str_member(reply, "client", sizeof(authz->client) - 1);
	const char *u = str_member(reply, "user", FG_USER_NAME_MAX);
	const char *uv = fg_json_str(reply, "uv");
	json_int_t exp = 0;

	memset(authz, 0, sizeof(*authz));
	/* a Matrix localpart, as the agent made it */
	if (!copy(authz->tx, sizeof(authz->tx),
		b64_member(reply, "tx", FG_TX_LEN, FG_TX_LEN)) ||
	    client == NULL || !fg_text_printable(client, strlen(client)) ||
	    !copy(authz->client, sizeof(authz->client), client) || u == NULL ||
	    strspn(u, "abcdefghijklmnopqrstuvwxyz0123456789._=-/") !=
		strlen(u) ||
	    !copy(user, user_len, u)) {
		memset(authz, 0, sizeof(*authz));
		return FG_ERR_PROTO;
	}
	snprintf(authz->first_factor, sizeof(authz->first_factor), "provider");
	/* what the page needs but the agent may leave out: the policy, and
	 * the transaction's time left (else a short, safe guess) */
	snprintf(authz->uv, sizeof(authz->uv), "%s",
	    one_of(uv, uv_names) ? uv : FG_UV_NAME_PREFERRED);
	authz->expires_in =
	    int_member(reply, "expires_in", 1, 86400, &exp) ? (long)exp : 300;
	return FG_OK;
}

int
fg_reply_begin(const json_t *reply, json_t **page)
{
	const json_t *allow = json_object_get(reply, "allow_credentials");
	const char *rp_id = str_member(reply, "rp_id", FG_RP_ID_MAX);
	json_t *ids = NULL, *p = NULL;
	json_int_t timeout;
	size_t i;

	*page = NULL;
	if (b64_member(reply, "session", FG_SESSION_LEN, FG_SESSION_LEN) ==
		NULL ||
	    b64_member(reply, "challenge", FG_CHALLENGE_LEN,
		FG_CHALLENGE_LEN) == NULL ||
	    rp_id == NULL || !fg_text_printable(rp_id, strlen(rp_id)) ||
	    strchr(rp_id, ' ') != NULL || !json_is_array(allow) ||
	    json_array_size(allow) == 0 ||
	    json_array_size(allow) > FG_ALLOW_MAX ||
	    !one_of(fg_json_str(reply, "uv"), uv_names) ||
	    !int_member(reply, "timeout", 1, 3600, &timeout))
		return FG_ERR_PROTO;
	if ((ids = json_array()) == NULL)
		return FG_ERR_NOMEM;
	for (i = 0; i < json_array_size(allow); i++) {
		json_t *id = json_array_get(allow, i);
		if (b64_value(id, 1, FG_CRED_ID_MAX) == NULL ||
		    json_array_append(ids, id) != 0) {
			json_decref(ids);
			return FG_ERR_PROTO;
		}
	}
	p = json_pack("{s:s,s:s,s:s,s:o,s:s,s:I}", "session",
	    fg_json_str(reply, "session"), "challenge",
	    fg_json_str(reply, "challenge"), "rp_id", rp_id,
	    "allow_credentials", ids, "uv", fg_json_str(reply, "uv"), "timeout",
	    timeout);
	if (p == NULL)
		return FG_ERR_NOMEM;
	*page = p;
	return FG_OK;
}

int
fg_reply_finish(const json_t *reply, json_t **page, bool *allow)
{
	static const char *const whys[] = {"no_key", "wrong_key", "no_touch",
	    "no_user_verification", "locked", "rate_limited", "expired",
	    "unavailable", NULL};
	const char *result = fg_json_str(reply, "result");
	const char *why = fg_json_str(reply, "why");
	json_int_t after = 0;

	*page = NULL;
	*allow = false;
	if (result != NULL && strcmp(result, FG_RESULT_ALLOW) == 0) {
		if (!fg_url_sane(fg_json_str(reply, "redirect")))
			return FG_ERR_PROTO;
		*page = json_pack(
		    "{s:s}", "redirect", fg_json_str(reply, "redirect"));
		*allow = *page != NULL;
		return *page != NULL ? FG_OK : FG_ERR_NOMEM;
	}
	if (result == NULL || strcmp(result, FG_RESULT_DENY) != 0)
		return FG_ERR_PROTO;
	if (!one_of(why, whys))
		why = "denied";
	int_member(reply, "retry_after", 1, 86400, &after);
	*page = after > 0
	    ? json_pack("{s:s,s:I}", "error", why, "retry_after", after)
	    : json_pack("{s:s}", "error", why);
	return *page != NULL ? FG_OK : FG_ERR_NOMEM;
}

int
fg_reply_token(const json_t *reply, json_t **token)
{
	json_t *t = json_object_get(reply, "token");
	const char *type;
	json_int_t exp;

	*token = NULL;
	if (!json_is_object(t) || str_member(t, "access_token", 4096) == NULL ||
	    str_member(t, "id_token", 65536) == NULL ||
	    (type = str_member(t, "token_type", 32)) == NULL ||
	    strcasecmp(type, "Bearer") != 0 ||
	    !int_member(t, "expires_in", 1, 86400 * 366, &exp) ||
	    (json_object_get(t, "scope") != NULL &&
		!json_is_string(json_object_get(t, "scope"))))
		return FG_ERR_PROTO;
	*token = json_incref(t);
	return FG_OK;
}

int
fg_reply_claims(const json_t *reply, json_t **claims)
{
	json_t *c = json_object_get(reply, "claims");

	*claims = NULL;
	if (!json_is_object(c) || str_member(c, "sub", 255) == NULL)
		return FG_ERR_PROTO;
	*claims = json_incref(c);
	return FG_OK;
}

const char *
fg_reply_oauth_error(const json_t *reply)
{
	const char *e = fg_json_str(reply, "oauth_error");
	size_t i, n;

	if (e == NULL || (n = strlen(e)) == 0 || n > 63)
		return NULL;
	for (i = 0; i < n; i++)
		if (!((e[i] >= 'a' && e[i] <= 'z') || e[i] == '_'))
			return NULL;
	return e;
}

const char *
fg_oauth_text(const char *s, char *buf, size_t len)
{
	size_t i;

	if (len == 0)
		return "";
	for (i = 0; s != NULL && s[i] != '\0' && i + 1 < len; i++) {
		unsigned char c = (unsigned char)s[i];
		buf[i] = c >= 0x20 && c <= 0x7e && c != '"' && c != '\\'
		    ? (char)c
		    : ' ';
	}
	buf[i] = '\0';
	return buf;
}

bool
fg_refusal_unavailable(const char *code)
{
	/* the refusals that are a decision about this request; any other
	 * code, or none, says the agent cannot serve it */
	static const char *const decisions[] = {FG_E_BAD_REQUEST, FG_E_DENIED,
	    FG_E_RATE_LIMITED, FG_E_LOCKED, FG_E_NO_SESSION, FG_E_NOT_FOUND,
	    FG_E_AMBIGUOUS, FG_E_REFUSED, FG_E_OAUTH, NULL};

	return !one_of(code, decisions);
}

int
fg_reply_invite(const json_t *reply, struct fg_invite_view *out)
{
	static const char *const factors[] = {"password", "provider", NULL};
	const char *u = str_member(reply, "user", FG_USER_NAME_MAX);
	const char *ff = fg_json_str(reply, "first_factor");
	const char *uv = fg_json_str(reply, "uv");
	enum fg_lang lang = out->lang;
	const char *root = out->root;
	json_int_t exp = 0;

	memset(out, 0, sizeof(*out));
	out->lang = lang;
	out->root = root;
	/* after the provider, web.upstream says no first_factor */
	if (ff == NULL && json_is_true(json_object_get(reply, "invite")))
		ff = "provider";
	if (!copy(out->tx, sizeof(out->tx),
		b64_member(reply, "tx", FG_TX_LEN, FG_TX_LEN)) ||
	    u == NULL || !fg_text_printable(u, strlen(u)) ||
	    !copy(out->user, sizeof(out->user), u) || !one_of(ff, factors) ||
	    !copy(out->first_factor, sizeof(out->first_factor), ff)) {
		memset(out, 0, sizeof(*out));
		return FG_ERR_PROTO;
	}
	snprintf(out->uv, sizeof(out->uv), "%s",
	    one_of(uv, uv_names) ? uv : FG_UV_NAME_PREFERRED);
	out->expires_in =
	    int_member(reply, "expires_in", 1, 86400, &exp) ? (long)exp : 300;
	out->lang = lang;
	out->root = root;
	return FG_OK;
}

int
fg_reply_invite_begin(const json_t *reply, json_t **page)
{
	static const char *const conveyances[] = {"none", "direct", NULL};
	const json_t *excl = json_object_get(reply, "exclude_credentials");
	const json_t *algs = json_object_get(reply, "algorithms");
	const char *rp_id = str_member(reply, "rp_id", FG_RP_ID_MAX);
	const char *rp_name = str_member(reply, "rp_name", 127);
	const char *user = str_member(reply, "user", FG_USER_NAME_MAX);
	json_t *ids = NULL, *alg_list = NULL, *p = NULL;
	json_int_t timeout, alg;
	size_t i;

	*page = NULL;
	if (b64_member(reply, "session", FG_SESSION_LEN, FG_SESSION_LEN) ==
		NULL ||
	    b64_member(reply, "challenge", FG_CHALLENGE_LEN,
		FG_CHALLENGE_LEN) == NULL ||
	    b64_member(reply, "user_handle", FG_USER_HANDLE_LEN,
		FG_USER_HANDLE_LEN) == NULL ||
	    rp_id == NULL || !fg_text_printable(rp_id, strlen(rp_id)) ||
	    strchr(rp_id, ' ') != NULL || rp_name == NULL ||
	    !fg_text_printable(rp_name, strlen(rp_name)) || user == NULL ||
	    !fg_text_printable(user, strlen(user)) || !json_is_array(excl) ||
	    json_array_size(excl) > FG_ALLOW_MAX || !json_is_array(algs) ||
	    json_array_size(algs) == 0 || json_array_size(algs) > 8 ||
	    !one_of(fg_json_str(reply, "uv"), uv_names) ||
	    !one_of(fg_json_str(reply, "attestation"), conveyances) ||
	    !int_member(reply, "timeout", 1, 3600, &timeout))
		return FG_ERR_PROTO;
	if ((ids = json_array()) == NULL || (alg_list = json_array()) == NULL)
		goto nomem;
	for (i = 0; i < json_array_size(excl); i++) {
		json_t *id = json_array_get(excl, i);
		if (b64_value(id, 1, FG_CRED_ID_MAX) == NULL ||
		    json_array_append(ids, id) != 0)
			goto bad;
	}
	for (i = 0; i < json_array_size(algs); i++) {
		if (!json_is_integer(json_array_get(algs, i)))
			goto bad;
		alg = json_integer_value(json_array_get(algs, i));
		if (alg < -65536 || alg > 65535 ||
		    json_array_append_new(alg_list, json_integer(alg)) != 0)
			goto bad;
	}
	p = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:o,s:s,s:s,s:I}",
	    "session", fg_json_str(reply, "session"), "challenge",
	    fg_json_str(reply, "challenge"), "user_handle",
	    fg_json_str(reply, "user_handle"), "user", user, "rp_id", rp_id,
	    "rp_name", rp_name, "exclude_credentials", ids, "algorithms",
	    alg_list, "uv", fg_json_str(reply, "uv"), "attestation",
	    fg_json_str(reply, "attestation"), "timeout", timeout);
	if (p == NULL)
		return FG_ERR_NOMEM;
	*page = p;
	return FG_OK;
bad:
	json_decref(ids);
	json_decref(alg_list);
	return FG_ERR_PROTO;
nomem:
	json_decref(ids);
	json_decref(alg_list);
	return FG_ERR_NOMEM;
}

int
fg_reply_invite_finish(const json_t *reply, json_t **page)
{
	const char *id = str_member(reply, "request", 23);

	*page = NULL;
	if (!json_is_true(json_object_get(reply, "pending")) || id == NULL ||
	    strspn(id, "0123456789abcdef") != strlen(id))
		return FG_ERR_PROTO;
	*page = json_pack("{s:b,s:s}", "pending", 1, "request", id);
	return *page != NULL ? FG_OK : FG_ERR_NOMEM;
}
