/*
 * The homeserver gate: fido2gate as the homeserver's OpenID Connect
 * provider (Core 1.0, authorization code flow), and the login decision
 * its Synapse module asks for. The web front relays; every check is here:
 * the authorization request against the registered client, the browser's
 * assertion through the same verifier as PAM (fg_login_finish), the code
 * (single use, short-lived, bound to client, redirect URI, PKCE challenge
 * and nonce), the client's secret, the id_token's signature, and the
 * approval a homeserver login consumes. See docs/oidc.md.
 *
 * Transactions, their challenge, codes and access tokens live in the
 * store, as the approvals do: a login begun at one agent's web front may
 * be finished, and its code redeemed, at another's on the same store.
 * Each is found by the SHA-256 of its bearer value; what each carries is
 * a body of JSON (tx_body(), code_body(), token_body()) that only this
 * file reads.
 */
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "agent.h"

#define TX_TTL_S 600
#define CODE_LEN 32  /* bytes: 256 bits from the CSPRNG */
#define TOKEN_LEN 32
#define SID_LEN 16
#define TABLE_CAP 65536 /* live transactions, and codes, at most */
/* The detail of an invitation's challenge row, before the user handle of
 * the key to be made (base64url): a login's is its client's ID, which
 * holds no ':' (gateconf.c), so neither is ever taken for the other. */
#define INVITE_MARK "invite:"

/* A login transaction: what oidc.authorize accepted, read from the store
 * and written back by each step that changes it. */
struct tx {
	uint8_t key[32]; /* the SHA-256 of its ID: the store's key */
	/* the ID itself, never kept: a new one is made when the browser
	 * comes back from the organisation's provider with the state alone
	 * (tx_of_state()) */
	char *id_s;
	int64_t expires; /* wall clock, ms */
	/* the client's network, as the front counts it: a column, not in
	 * the body */
	char net[FG_NET_MAX + 1];
	const struct fg_oidc_client *client;
	char *redirect_uri, *state, *nonce, *challenge, *scope;
	/* with the organisation's provider first (oidc:NAME) */
	char *up_nonce, *up_verifier; /* ours, for the provider */
	bool up_done;		      /* the provider named the user */
	char up_user[FG_USER_NAME_MAX + 1];
	json_t *up_amr;		      /* the provider's amr, if any */
	/* an invitation's page (invite.c), not a login: no client, and no
	 * web.* request takes it */
	struct fg_invite_tx *invite;
};

/* An authorization code, and what it was minted for. */
struct code {
	const struct fg_oidc_client *client;
	char *redirect_uri, *nonce, *challenge, *scope, *user;
	uint8_t handle[32];
	bool uv;
	json_t *amr_first; /* the first factor's amr values, or NULL */
	int64_t auth_time; /* wall clock, seconds */
	char sid[32];
};

/* An access token, for userinfo. */
struct token {
	const struct fg_oidc_client *client;
	char *user, *scope;
	uint8_t handle[32];
};

struct fg_oidc {
	/* an invitation's page as invite.c reads it (fg_oidc_invite_of()) */
	struct fg_invite_tx inv;
	/* refusals of requests anyone can send, audited at a bounded rate */
	int64_t quiet_until;
	unsigned quiet_n, quiet_suppressed;
};

#define QUIET_PER_SECOND 10

/* Expiries in the store are wall-clock time: every agent on it agrees. */
static int64_t
wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
tx_free(struct tx *t)
{
	if (t == NULL)
		return;
	free(t->id_s);
	free(t->redirect_uri);
	free(t->state);
	free(t->nonce);
	free(t->challenge);
	free(t->scope);
	free(t->up_nonce);
	if (t->up_verifier != NULL)
		fg_wipe_free(t->up_verifier, strlen(t->up_verifier));
	json_decref(t->up_amr);
	if (t->invite != NULL) {
		OPENSSL_cleanse(t->invite, sizeof(*t->invite));
		free(t->invite);
	}
	OPENSSL_cleanse(t, sizeof(*t));
	free(t);
}

static void
code_free(struct code *c)
{
	if (c == NULL)
		return;
	free(c->redirect_uri);
	free(c->nonce);
	free(c->challenge);
	free(c->scope);
	free(c->user);
	json_decref(c->amr_first);
	OPENSSL_cleanse(c, sizeof(*c));
	free(c);
}

static void
token_free(struct token *t)
{
	if (t == NULL)
		return;
	free(t->user);
	free(t->scope);
	free(t);
}

/* A body's string member, copied (NULL when it is absent or null); false
 * when it is something else, or memory ran out. */
static bool
get_str(const json_t *o, const char *key, char **out)
{
	const json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return true;
	return json_is_string(v) &&
	    (*out = strdup(json_string_value(v))) != NULL;
}

static bool
get_raw(const json_t *o, const char *key, uint8_t *out, size_t want)
{
	const char *s = json_string_value(json_object_get(o, key));
	uint8_t *p = NULL;
	size_t n = 0;
	bool ok = s != NULL && fg_b64url_decode(s, &p, &n) == FG_OK &&
	    n == want;

	if (ok)
		memcpy(out, p, want);
	free(p);
	return ok;
}

/* The transaction's body, for the store (the caller frees); NULL when
 * memory ran out. */
static char *
tx_body(const struct tx *t)
{
	json_t *o, *inv = NULL;
	char *hash = NULL, *s = NULL;

	if (t->invite != NULL) {
		if ((hash = fg_b64url_encode(t->invite->hash,
			 sizeof(t->invite->hash))) == NULL ||
		    (inv = json_pack("{s:s,s:s,s:b}", "hash", hash, "user",
			 t->invite->user, "first_done",
			 t->invite->first_done)) == NULL)
			goto out;
	}
	o = json_pack("{s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:s?,s:b,"
		      "s:s,s:O?,s:o?}",
	    "client", t->client != NULL ? t->client->id : NULL,
	    "redirect_uri", t->redirect_uri, "state", t->state, "nonce",
	    t->nonce, "challenge", t->challenge, "scope", t->scope, "up_nonce",
	    t->up_nonce, "up_verifier", t->up_verifier, "up_done", t->up_done,
	    "up_user", t->up_user, "up_amr", t->up_amr, "invite", inv);
	inv = NULL;
	if (o != NULL)
		s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
out:
	json_decref(inv);
	free(hash);
	return s;
}

/* The transaction of a body from the store; NULL when its client is no
 * longer configured, or the body makes no sense. */
static struct tx *
tx_parse(struct fg_agent *ag, const uint8_t key[32], const char *body,
    int64_t expires)
{
	json_t *o = json_loads(body, 0, NULL), *inv;
	struct tx *t = NULL;
	char *client = NULL, *up_user = NULL, *user = NULL;
	bool ok;

	if (o == NULL || (t = calloc(1, sizeof(*t))) == NULL)
		goto fail;
	memcpy(t->key, key, 32);
	t->expires = expires;
	ok = get_str(o, "client", &client) &&
	    get_str(o, "redirect_uri", &t->redirect_uri) &&
	    get_str(o, "state", &t->state) && get_str(o, "nonce", &t->nonce) &&
	    get_str(o, "challenge", &t->challenge) &&
	    get_str(o, "scope", &t->scope) &&
	    get_str(o, "up_nonce", &t->up_nonce) &&
	    get_str(o, "up_verifier", &t->up_verifier) &&
	    get_str(o, "up_user", &up_user);
	if (!ok)
		goto fail;
	t->up_done = json_is_true(json_object_get(o, "up_done"));
	snprintf(t->up_user, sizeof(t->up_user), "%s",
	    up_user != NULL ? up_user : "");
	if (json_is_array(json_object_get(o, "up_amr")))
		t->up_amr = json_incref(json_object_get(o, "up_amr"));
	if (json_is_object(inv = json_object_get(o, "invite"))) {
		if ((t->invite = calloc(1, sizeof(*t->invite))) == NULL ||
		    !get_raw(inv, "hash", t->invite->hash,
			sizeof(t->invite->hash)) ||
		    !get_str(inv, "user", &user) || user == NULL)
			goto fail;
		snprintf(t->invite->user, sizeof(t->invite->user), "%s", user);
		t->invite->first_done =
		    json_is_true(json_object_get(inv, "first_done"));
	} else if ((t->client = fg_gate_client(&ag->cfg.gate, client)) ==
		       NULL ||
	    t->redirect_uri == NULL || t->scope == NULL)
		goto fail; /* a client no longer configured: no login */
	free(client);
	free(up_user);
	free(user);
	json_decref(o);
	return t;
fail:
	free(client);
	free(up_user);
	free(user);
	tx_free(t);
	json_decref(o);
	return NULL;
}

/* The live transaction of ID id: FG_OK, FG_ERR_NOTFOUND (unknown,
 * expired, or of a client no longer configured) or a store failure. */
static int
tx_get(struct fg_agent *ag, const uint8_t id[FG_TX_LEN], struct tx **out)
{
	uint8_t key[32];
	char *body = NULL;
	int64_t expires = 0;
	int r;

	*out = NULL;
	fg_sha256(id, FG_TX_LEN, key);
	if ((r = fg_store_tx_get(ag->store, key, &body, &expires)) != FG_OK)
		return r;
	*out = tx_parse(ag, key, body, expires);
	free(body);
	return *out != NULL ? FG_OK : FG_ERR_NOTFOUND;
}

/* The transaction's changes, for the next step (at any agent). */
static int
tx_save(struct fg_agent *ag, const struct tx *t)
{
	char *body = tx_body(t);
	int r;

	if (body == NULL)
		return FG_ERR_NOMEM;
	r = fg_store_tx_set(ag->store, t->key, body);
	fg_wipe_free(body, strlen(body));
	return r;
}

static char *
code_body(const struct code *c)
{
	char *handle = fg_b64url_encode(c->handle, sizeof(c->handle)), *s;
	json_t *o = NULL;

	if (handle != NULL)
		o = json_pack("{s:s,s:s,s:s?,s:s?,s:s,s:s,s:s,s:b,s:O?,s:I,"
			      "s:s}",
		    "client", c->client->id, "redirect_uri", c->redirect_uri,
		    "nonce", c->nonce, "challenge", c->challenge, "scope",
		    c->scope, "user", c->user, "handle", handle, "uv", c->uv,
		    "amr", c->amr_first, "auth_time", (json_int_t)c->auth_time,
		    "sid", c->sid);
	s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	free(handle);
	return s;
}

static struct code *
code_parse(struct fg_agent *ag, const char *body)
{
	json_t *o = json_loads(body, 0, NULL);
	struct code *c = NULL;
	char *client = NULL, *sid = NULL;

	if (o == NULL || (c = calloc(1, sizeof(*c))) == NULL ||
	    !get_str(o, "client", &client) ||
	    (c->client = fg_gate_client(&ag->cfg.gate, client)) == NULL ||
	    !get_str(o, "redirect_uri", &c->redirect_uri) ||
	    c->redirect_uri == NULL || !get_str(o, "nonce", &c->nonce) ||
	    !get_str(o, "challenge", &c->challenge) ||
	    !get_str(o, "scope", &c->scope) || c->scope == NULL ||
	    !get_str(o, "user", &c->user) || c->user == NULL ||
	    !get_str(o, "sid", &sid) || sid == NULL ||
	    !get_raw(o, "handle", c->handle, sizeof(c->handle))) {
		code_free(c);
		c = NULL;
		goto out;
	}
	snprintf(c->sid, sizeof(c->sid), "%s", sid);
	c->uv = json_is_true(json_object_get(o, "uv"));
	c->auth_time = json_integer_value(json_object_get(o, "auth_time"));
	if (json_is_array(json_object_get(o, "amr")))
		c->amr_first = json_incref(json_object_get(o, "amr"));
out:
	free(client);
	free(sid);
	json_decref(o);
	return c;
}

static char *
token_body(const struct token *t)
{
	char *handle = fg_b64url_encode(t->handle, sizeof(t->handle)), *s;
	json_t *o = NULL;

	if (handle != NULL)
		o = json_pack("{s:s,s:s,s:s,s:s}", "client", t->client->id,
		    "user", t->user, "scope", t->scope, "handle", handle);
	s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	free(handle);
	return s;
}

static struct token *
token_parse(struct fg_agent *ag, const char *body)
{
	json_t *o = json_loads(body, 0, NULL);
	struct token *t = NULL;
	char *client = NULL;

	if (o == NULL || (t = calloc(1, sizeof(*t))) == NULL ||
	    !get_str(o, "client", &client) ||
	    (t->client = fg_gate_client(&ag->cfg.gate, client)) == NULL ||
	    !get_str(o, "user", &t->user) || t->user == NULL ||
	    !get_str(o, "scope", &t->scope) || t->scope == NULL ||
	    !get_raw(o, "handle", t->handle, sizeof(t->handle))) {
		token_free(t);
		t = NULL;
	}
	free(client);
	json_decref(o);
	return t;
}

int
fg_oidc_new(struct fg_oidc **out)
{
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return FG_ERR_NOMEM;
	return FG_OK;
}

void
fg_oidc_free(struct fg_oidc **o)
{
	if (o == NULL || *o == NULL)
		return;
	OPENSSL_cleanse(*o, sizeof(**o));
	free(*o);
	*o = NULL;
}

/* The challenge row is an invitation's: with the user handle of the key
 * to be made, when handle is not NULL. */
static bool
invite_row(const struct fg_web_chal *c, uint8_t *handle)
{
	uint8_t *raw = NULL;
	size_t n = 0;
	bool ok;

	if (strncmp(c->detail, INVITE_MARK, strlen(INVITE_MARK)) != 0)
		return false;
	if (handle == NULL)
		return true;
	ok = fg_b64url_decode(c->detail + strlen(INVITE_MARK), &raw, &n) ==
		FG_OK &&
	    n == 32;
	if (ok)
		memcpy(handle, raw, 32);
	free(raw);
	return ok;
}

/* A browser's challenge left unanswered, swept by this agent (whichever
 * began it): the key was not there, or not touched. */
static void
web_expired(const struct fg_web_chal *c, void *arg)
{
	struct fg_agent *ag = arg;
	struct fg_peer nobody = { .uid = 0 };

	/* an enrolment left unanswered is no failed login (as
	 * fg_agent_expired) */
	if (invite_row(c, NULL)) {
		fg_audit(ag, &nobody, FG_OP_INVITE_FINISH, c->user, NULL,
		    "deny", "challenge expired unanswered", NULL);
		return;
	}
	fg_audit(ag, &nobody, FG_OP_WEB_FINISH, c->user, NULL, "deny",
	    "challenge expired unanswered", c->detail[0] != '\0' ? c->detail :
								   NULL);
	fg_failure_of(ag, 0, 0, FG_PURPOSE_WEB, c->user);
}

void
fg_oidc_sweep(struct fg_agent *ag, int64_t now)
{
	(void)now; /* the store's expiries are wall-clock time */
	if (ag->oidc == NULL || !fg_gate_on(ag))
		return;
	if (fg_store_oidc_sweep(ag->store, wall_ms(), web_expired, ag) !=
	    FG_OK)
		fprintf(stderr, "fido2gated: cannot sweep the expired logins "
				"from the store\n");
}

/* --- helpers --- */

/*
 * The refusal of a request that anyone on the network can send (no
 * client secret, no key): audited, but at most QUIET_PER_SECOND a second,
 * so that a flood cannot fill the append-only log (and then the disk);
 * the next record says how many were left out.
 */
void
fg_audit_quiet(struct fg_agent *ag, const struct fg_peer *peer,
    const char *event, const char *reason, const char *detail)
{
	struct fg_oidc *o = ag->oidc;
	int64_t now = fg_now_ms();
	char why[FG_TEXT_MAX + 64];

	if (now >= o->quiet_until) {
		o->quiet_until = now + 1000;
		o->quiet_n = 0;
	}
	if (o->quiet_n >= QUIET_PER_SECOND) {
		o->quiet_suppressed++;
		return;
	}
	o->quiet_n++;
	if (o->quiet_suppressed > 0)
		snprintf(why, sizeof(why), "%s (and %u more like it, not "
					   "recorded one by one)",
		    reason, o->quiet_suppressed);
	else
		snprintf(why, sizeof(why), "%s", reason);
	o->quiet_suppressed = 0;
	fg_audit(ag, peer, event, NULL, NULL, "deny", why, detail);
}

bool
fg_gate_on(const struct fg_agent *ag)
{
	return ag->cfg.gate.issuer[0] != '\0' && ag->oidc != NULL &&
	    ag->keys_signing != NULL;
}

static json_t *
gate_off(void)
{
	return fg_reply_error(FG_E_DENIED,
	    "the homeserver gate is not configured ([oidc] issuer)");
}

/* An OAuth refusal; with redirect when the client may be told. */
static json_t *
oauth_error(const char *code, const char *message, const char *redirect)
{
	json_t *r = fg_reply_error(FG_E_OAUTH, message);

	json_object_set_new(r, "oauth_error", json_string(code));
	if (redirect != NULL)
		json_object_set_new(r, "redirect", json_string(redirect));
	return r;
}

/* Appends s to *buf; with escape, RFC 3986 unreserved characters pass and
 * everything else is %XX (a value in a query). */
static bool
put(char **buf, size_t *len, size_t *cap, const char *s, bool escape)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i;

	for (i = 0; s[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)s[i];
		bool plain = !escape || (ch >= 'a' && ch <= 'z') ||
		    (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		    ch == '-' || ch == '.' || ch == '_' || ch == '~';
		if (*len + 4 > *cap) {
			char *n = realloc(*buf, *cap * 2 + 4);
			if (n == NULL)
				return false;
			*buf = n;
			*cap = *cap * 2 + 4;
		}
		if (plain)
			(*buf)[(*len)++] = (char)ch;
		else {
			(*buf)[(*len)++] = '%';
			(*buf)[(*len)++] = hex[ch >> 4];
			(*buf)[(*len)++] = hex[ch & 15];
		}
	}
	(*buf)[*len] = '\0';
	return true;
}

/*
 * base ? (or &) name=value&..., from NULL-terminated pairs whose value may
 * be NULL (then left out). The caller frees.
 */
static char *
url_with(const char *base, ...)
{
	size_t cap = strlen(base) + 64, len = 0;
	char *buf = malloc(cap);
	bool first = strchr(base, '?') == NULL, ok;
	const char *name, *value;
	va_list ap;

	if (buf == NULL)
		return NULL;
	buf[0] = '\0';
	ok = put(&buf, &len, &cap, base, false);
	va_start(ap, base);
	while (ok && (name = va_arg(ap, const char *)) != NULL) {
		value = va_arg(ap, const char *);
		if (value == NULL)
			continue;
		ok = put(&buf, &len, &cap, first ? "?" : "&", false) &&
		    put(&buf, &len, &cap, name, true) &&
		    put(&buf, &len, &cap, "=", false) &&
		    put(&buf, &len, &cap, value, true);
		first = false;
	}
	va_end(ap);
	if (!ok) {
		free(buf);
		return NULL;
	}
	return buf;
}

static const char *
param(const json_t *params, const char *key)
{
	return json_string_value(json_object_get(params, key));
}

/* A word of a space-separated list. */
static bool
has_word(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p = list;

	while (p != NULL && *p != '\0') {
		while (*p == ' ')
			p++;
		if (strncmp(p, word, n) == 0 && (p[n] == ' ' || p[n] == '\0'))
			return true;
		p = strchr(p, ' ');
	}
	return false;
}

/* The requested scopes the client may have, openid first. */
static char *
granted_scope(const struct fg_oidc_client *c, const char *requested)
{
	char *copy = strdup(requested), *tok, *save = NULL, *out;
	size_t len = 0, cap = strlen(requested) + 8;

	if (copy == NULL || (out = calloc(1, cap)) == NULL) {
		free(copy);
		return NULL;
	}
	for (tok = strtok_r(copy, " ", &save); tok != NULL;
	     tok = strtok_r(NULL, " ", &save)) {
		if (!has_word(c->scopes, tok) || has_word(out, tok))
			continue;
		len += (size_t)snprintf(out + len, cap - len, "%s%s",
		    len ? " " : "", tok);
	}
	free(copy);
	return out;
}

/* PKCE (RFC 7636 §4.1): 43 to 128 unreserved characters. */
static bool
pkce_valid(const char *s)
{
	size_t n = strlen(s);

	return n >= 43 && n <= 128 &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789-._~") == n;
}

static bool
decode_id(const char *s, uint8_t *out, size_t want)
{
	uint8_t *p = NULL;
	size_t n = 0;
	bool ok = s != NULL && fg_b64url_decode(s, &p, &n) == FG_OK &&
	    n == want;

	if (ok)
		memcpy(out, p, want);
	free(p);
	return ok;
}

static char *
random_b64(size_t len, uint8_t *raw)
{
	uint8_t buf[64];

	if (len > sizeof(buf) || fg_random(buf, len) != FG_OK)
		return NULL;
	if (raw != NULL)
		memcpy(raw, buf, len);
	return fg_b64url_encode(buf, len);
}

/* --- discovery and keys --- */

json_t *
fg_op_oidc_discovery(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	const char *iss = ag->cfg.gate.issuer;
	char *authz = NULL, *token = NULL, *userinfo = NULL, *jwks = NULL;
	json_t *doc = NULL, *reply = NULL;

	(void)peer;
	(void)req;
	if (!fg_gate_on(ag))
		return gate_off();
	if (asprintf(&authz, "%s/authorize", iss) < 0)
		authz = NULL;
	if (asprintf(&token, "%s/token", iss) < 0)
		token = NULL;
	if (asprintf(&userinfo, "%s/userinfo", iss) < 0)
		userinfo = NULL;
	if (asprintf(&jwks, "%s/jwks", iss) < 0)
		jwks = NULL;
	if (authz != NULL && token != NULL && userinfo != NULL && jwks != NULL)
		doc = json_pack("{s:s,s:s,s:s,s:s,s:s,s:[s],s:[s],s:[s],"
				"s:[s,s,s],s:[s,s],s:[s],s:[s,s,s,s],"
				"s:[s,s,s,s,s,s,s,s,s,s,s,s],s:[s,s,s],"
				"s:b,s:b,s:b,s:b,s:b,s:b}",
		    "issuer", iss, "authorization_endpoint", authz,
		    "token_endpoint", token, "userinfo_endpoint", userinfo,
		    "jwks_uri", jwks, "response_types_supported", "code",
		    "grant_types_supported", "authorization_code",
		    "code_challenge_methods_supported", "S256",
		    "token_endpoint_auth_methods_supported",
		    "client_secret_basic", "client_secret_post", "none",
		    "id_token_signing_alg_values_supported", "RS256", "ES256",
		    "subject_types_supported", "public", "scopes_supported",
		    "openid", "profile", "email", "offline_access",
		    "claims_supported", "iss", "sub", "aud", "exp", "iat",
		    "auth_time", "nonce", "at_hash", "amr", "acr", "sid",
		    "preferred_username", "prompt_values_supported", "none",
		    "login", "consent", "request_parameter_supported", 0,
		    "request_uri_parameter_supported", 0,
		    "claims_parameter_supported", 0,
		    "authorization_response_iss_parameter_supported", 1,
		    "backchannel_logout_supported", 1,
		    "backchannel_logout_session_supported", 1);
	if (doc != NULL)
		json_object_set_new(doc, "response_modes_supported",
		    json_pack("[s]", "query"));
	if (doc != NULL && (reply = fg_reply_ok()) != NULL)
		json_object_set_new(reply, "document", doc);
	else
		json_decref(doc);
	free(authz);
	free(token);
	free(userinfo);
	free(jwks);
	return reply;
}

json_t *
fg_op_oidc_jwks(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	json_t *jwks, *reply;

	(void)peer;
	(void)req;
	if (!fg_gate_on(ag))
		return gate_off();
	if ((jwks = fg_keys_jwks(ag)) == NULL)
		return fg_store_failed();
	reply = fg_reply_ok();
	json_object_set_new(reply, "jwks", jwks);
	return reply;
}

json_t *
fg_op_oidc_rotate(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	char detail[FG_USER_NAME_MAX + 64];
	json_t *reply;

	if (!peer->admin)
		return fg_denied();
	if (!fg_gate_on(ag))
		return gate_off();
	if ((reply = fg_admin_authorize(ag, peer, req, "rotate-keys", "",
		 detail, sizeof(detail))) != NULL)
		return reply;
	if (fg_keys_rotate(ag) != FG_OK)
		return fg_store_failed();
	fg_audit(ag, peer, FG_OP_OIDC_ROTATE, NULL, NULL, "ok",
	    "new signing keys; the old stay listed until their tokens expire",
	    detail);
	return fg_reply_ok();
}

/* --- the browser's login --- */

static bool
web_caller(const struct fg_peer *peer)
{
	return peer->web || peer->uid == 0;
}

/*
 * With the organisation's provider first: the state, nonce and PKCE
 * verifier of our own authorization request to it, made here and kept in
 * the transaction; what the front needs to send the browser there. The
 * state (256 bits, 43 characters: ProConnect wants 32 or more) also finds
 * the transaction when the browser comes back: its hash goes in
 * state_hash.
 */
static json_t *
upstream_start(struct fg_agent *ag, struct tx *t, uint8_t state_hash[32])
{
	const struct fg_upstream *u = fg_gate_upstream(&ag->cfg.gate);
	uint8_t raw[32], h[32];
	char *state = NULL, *challenge = NULL;
	json_t *up = NULL;

	if (u == NULL || (state = random_b64(sizeof(raw), raw)) == NULL ||
	    (t->up_nonce = random_b64(32, NULL)) == NULL ||
	    (t->up_verifier = random_b64(32, NULL)) == NULL)
		goto out;
	fg_sha256(t->up_verifier, strlen(t->up_verifier), h);
	if ((challenge = fg_b64url_encode(h, sizeof(h))) == NULL)
		goto out;
	fg_sha256(raw, sizeof(raw), state_hash);
	up = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "name", u->name, "state",
	    state, "nonce", t->up_nonce, "code_challenge", challenge, "scope",
	    u->scopes, "params", u->params);
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	free(state);
	free(challenge);
	return up;
}

/* A new transaction in the store, for TX_TTL_S; state_hash with the
 * provider first. */
static int
tx_add(struct fg_agent *ag, struct tx *t, const uint8_t id[FG_TX_LEN],
    const uint8_t *state_hash, bool *net_full)
{
	char *body;
	int r;

	fg_sha256(id, FG_TX_LEN, t->key);
	t->expires = wall_ms() + (int64_t)TX_TTL_S * 1000;
	if ((body = tx_body(t)) == NULL)
		return FG_ERR_NOMEM;
	r = fg_store_tx_add(ag->store, t->key, state_hash, body, t->expires,
	    TABLE_CAP, t->net, (int64_t)ag->cfg.max_logins_per_network,
	    net_full);
	fg_wipe_free(body, strlen(body));
	return r;
}

/* The client's network the front names (fido2gate-web's
 * fg_ip_net_str()), or "" from a caller that names none (root's tools):
 * all those count as one network. */
static bool
req_net(const json_t *req, char out[FG_NET_MAX + 1])
{
	const json_t *v = json_object_get(req, "net");
	size_t n;

	out[0] = '\0';
	if (v == NULL)
		return true;
	if (!json_is_string(v) || (n = json_string_length(v)) == 0 ||
	    n > FG_NET_MAX ||
	    strspn(json_string_value(v), "0123456789abcdefABCDEF.:/unix") != n)
		return false;
	memcpy(out, json_string_value(v), n + 1);
	return true;
}

/* tx_add()'s refusal for a cap, audited: the client's network's, or
 * everyone's */
static json_t *
tx_limited(struct fg_agent *ag, const struct fg_peer *peer, const char *event,
    const char *net, bool net_full)
{
	char detail[FG_NET_MAX + 16];

	snprintf(detail, sizeof(detail), "net=%s", net[0] != '\0' ? net : "-");
	fg_audit_quiet(ag, peer, event,
	    net_full ? "too many logins under way from the client's network" :
		       "too many logins under way",
	    detail);
	return fg_reply_error(FG_E_LIMIT,
	    net_full ? "too many sign-ins are under way from your network; "
		       "finish one, or try again in a few minutes" :
		       "too many sign-ins are under way; try again shortly");
}

json_t *
fg_op_oidc_authorize(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	const json_t *params = json_object_get(req, "params"), *v;
	const struct fg_oidc_client *client;
	const char *redirect, *state, *nonce, *challenge, *method, *scope,
	    *prompt, *mode, *key;
	uint8_t id[FG_TX_LEN], state_hash[32];
	struct tx *t = NULL;
	char *err_url = NULL, *tx_s = NULL, net[FG_NET_MAX + 1];
	json_t *reply = NULL, *up = NULL;
	bool net_full = false;
	size_t i;
	int r;

	if (!web_caller(peer))
		return fg_denied();
	if (!fg_gate_on(ag))
		return gate_off();
	if (!req_net(req, net))
		return fg_bad_request("net is not a client network");
	if (!json_is_object(params) || json_object_size(params) > 32)
		return fg_bad_request("params must be an object of strings");
	json_object_foreach((json_t *)params, key, v)
	{
		if (!json_is_string(v) || json_string_length(v) > FG_PARAM_MAX ||
		    !fg_text_printable(json_string_value(v),
			json_string_length(v)))
			return oauth_error("invalid_request",
			    "a parameter is not short printable text", NULL);
	}
	/* the state and nonce come back to the client: short enough to
	 * carry, and to keep a flood of transactions small */
	if ((param(params, "state") != NULL &&
		strlen(param(params, "state")) > 512) ||
	    (param(params, "nonce") != NULL &&
		strlen(param(params, "nonce")) > 512))
		return oauth_error("invalid_request",
		    "state and nonce are 512 bytes at most", NULL);
	client = fg_gate_client(&ag->cfg.gate, param(params, "client_id"));
	redirect = param(params, "redirect_uri");
	if (client == NULL)
		return oauth_error("invalid_client", "unknown client_id", NULL);
	for (i = 0; redirect != NULL && i < client->n_redirect; i++)
		if (strcmp(client->redirect[i], redirect) == 0)
			break;
	if (redirect == NULL || i == client->n_redirect) {
		fg_audit_quiet(ag, peer, FG_OP_OIDC_AUTHORIZE,
		    "redirect_uri not registered for the client", client->id);
		return oauth_error("invalid_request",
		    "redirect_uri is not one registered for this client",
		    NULL);
	}
	/* from here the client may be told, at its registered URI */
	state = param(params, "state");
	nonce = param(params, "nonce");
	challenge = param(params, "code_challenge");
	method = param(params, "code_challenge_method");
	scope = param(params, "scope");
	prompt = param(params, "prompt");
	mode = param(params, "response_mode");
#define REFUSE(code, msg)                                                     \
	do {                                                                  \
		err_url = url_with(redirect, "error", code,                   \
		    "error_description", msg, "state", state, "iss",          \
		    ag->cfg.gate.issuer, (char *)NULL);                       \
		reply = oauth_error(code, msg, err_url);                      \
		goto out;                                                     \
	} while (0)
	if (json_object_get(params, "request") != NULL)
		REFUSE("request_not_supported", "request objects are not "
						"supported");
	if (json_object_get(params, "request_uri") != NULL)
		REFUSE("request_uri_not_supported",
		    "request_uri is not supported");
	if (param(params, "response_type") == NULL ||
	    strcmp(param(params, "response_type"), "code") != 0)
		REFUSE("unsupported_response_type",
		    "only the authorization code flow (response_type=code)");
	if (mode != NULL && strcmp(mode, "query") != 0)
		REFUSE("invalid_request", "only response_mode=query");
	if (scope == NULL || !has_word(scope, "openid"))
		REFUSE("invalid_scope", "scope must include openid");
	if (challenge != NULL &&
	    (method == NULL || strcmp(method, "S256") != 0))
		REFUSE("invalid_request",
		    "code_challenge_method must be S256");
	if (challenge != NULL && !pkce_valid(challenge))
		REFUSE("invalid_request", "malformed code_challenge");
	if (challenge == NULL && method != NULL)
		REFUSE("invalid_request",
		    "code_challenge_method without code_challenge");
	if (challenge == NULL && client->is_public)
		REFUSE("invalid_request",
		    "a public client must use PKCE (S256)");
	if (prompt != NULL && has_word(prompt, "none"))
		REFUSE("login_required",
		    "every login needs the security key: prompt=none cannot "
		    "be honoured");
#undef REFUSE
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->redirect_uri = strdup(redirect)) == NULL ||
	    (state != NULL && (t->state = strdup(state)) == NULL) ||
	    (nonce != NULL && (t->nonce = strdup(nonce)) == NULL) ||
	    (challenge != NULL && (t->challenge = strdup(challenge)) == NULL) ||
	    (t->scope = granted_scope(client, scope)) == NULL ||
	    fg_random(id, sizeof(id)) != FG_OK ||
	    (tx_s = fg_b64url_encode(id, sizeof(id))) == NULL) {
		reply = fg_reply_error(FG_E_INTERNAL, "out of memory");
		goto out;
	}
	t->client = client;
	memcpy(t->net, net, sizeof(t->net));
	if (ag->cfg.gate.ff == FG_FF_OIDC &&
	    (up = upstream_start(ag, t, state_hash)) == NULL) {
		reply = fg_reply_error(FG_E_INTERNAL, "out of memory");
		goto out;
	}
	if ((r = tx_add(ag, t, id, up != NULL ? state_hash : NULL,
		 &net_full)) != FG_OK) {
		reply = r == FG_ERR_LIMIT ?
		    tx_limited(ag, peer, FG_OP_OIDC_AUTHORIZE, t->net,
			net_full) :
		    r == FG_ERR_NOMEM ?
		    fg_reply_error(FG_E_INTERNAL, "out of memory") :
		    fg_store_failed();
		goto out;
	}
	reply = fg_reply_ok();
	json_object_set_new(reply, "tx", json_string(tx_s));
	json_object_set_new(reply, "client", json_string(client->name));
	json_object_set_new(reply, "first_factor",
	    json_string(ag->cfg.gate.ff == FG_FF_PAM ? "password" :
		    ag->cfg.gate.ff == FG_FF_OIDC    ? "provider" :
						       "none"));
	json_object_set_new(reply, "uv",
	    json_string(ag->cfg.gate.ff == FG_FF_NONE ?
		    FG_UV_NAME_REQUIRED :
		    fg_uv_policy_name(ag->cfg.uv)));
	if (up != NULL)
		json_object_set_new(reply, "upstream", up);
	up = NULL;
	json_object_set_new(reply, "expires_in", json_integer(TX_TTL_S));
out:
	tx_free(t);
	json_decref(up);
	free(err_url);
	free(tx_s);
	return reply;
}

/* The login transaction named in req, in *out; else the refusal. */
static json_t *
tx_of(struct fg_agent *ag, const json_t *req, uint8_t id[FG_TX_LEN],
    struct tx **out)
{
	int r = FG_ERR_NOTFOUND;

	*out = NULL;
	if (decode_id(fg_json_str(req, "tx"), id, FG_TX_LEN))
		r = tx_get(ag, id, out);
	/* an invitation's page is no login */
	if (r == FG_OK && (*out)->invite != NULL) {
		tx_free(*out);
		*out = NULL;
		r = FG_ERR_NOTFOUND;
	}
	if (r == FG_ERR_NOTFOUND)
		return fg_reply_error(FG_E_NO_SESSION,
		    "this login has expired: start again from the homeserver");
	if (r != FG_OK)
		return fg_store_failed();
	return NULL;
}

/*
 * "@localpart:server_name" or "localpart" to the user name the store
 * knows: the server must be ours, and the localpart a user name.
 */
static bool
web_user(const struct fg_gate *g, const char *in, char *out, size_t len)
{
	const char *colon;
	size_t n;

	if (in == NULL || strlen(in) >= len + 256)
		return false;
	if (in[0] == '@') {
		if ((colon = strchr(in, ':')) == NULL ||
		    strcmp(colon + 1, g->server_name) != 0)
			return false;
		n = (size_t)(colon - in - 1);
		in++;
	} else
		n = strlen(in);
	if (n == 0 || n >= len)
		return false;
	memcpy(out, in, n);
	out[n] = '\0';
	/* a Matrix localpart is lower case */
	return strspn(out, "abcdefghijklmnopqrstuvwxyz0123456789._=-/") == n &&
	    fg_user_name_valid(out);
}

/*
 * The key's challenge, once the first factor (if any) has passed. It is
 * kept in the store with the transaction, where the finish takes it at
 * whichever agent the browser's next request reaches; this agent's own
 * table lets it go at once.
 */
static json_t *
web_challenge(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req, const char *user)
{
	uint8_t id[FG_TX_LEN], skey[32];
	struct fg_web_chal wc;
	struct fg_chal *c = NULL;
	struct tx *t;
	json_t *reply;
	int r;

	if ((reply = tx_of(ag, req, id, &t)) != NULL)
		return reply;
	/* without a first factor the key must verify the user (PIN) */
	reply = fg_login_begin(ag, peer, FG_OP_WEB_BEGIN, user,
	    t->client->id, FG_PURPOSE_WEB, ag->cfg.gate.ff == FG_FF_NONE, &c);
	if (c != NULL) {
		/* one challenge per login at a time: the page's retry
		 * replaces the last one (no failure), and no login can hold
		 * many */
		memset(&wc, 0, sizeof(wc));
		memcpy(wc.challenge, c->challenge, sizeof(wc.challenge));
		snprintf(wc.user, sizeof(wc.user), "%s", c->user);
		snprintf(wc.detail, sizeof(wc.detail), "%s", t->client->id);
		wc.uv = c->uv_required;
		wc.expires = wall_ms() +
		    (int64_t)ag->cfg.challenge_timeout * 1000;
		fg_sha256(c->session, sizeof(c->session), skey);
		r = fg_store_web_chal_set(ag->store, t->key, skey, &wc,
		    (int64_t)ag->cfg.max_pending_per_user);
		fg_login_drop(ag, c->session);
		OPENSSL_cleanse(&wc, sizeof(wc));
		if (r == FG_ERR_LIMIT) {
			json_decref(reply);
			fg_audit(ag, peer, FG_OP_WEB_BEGIN, user, NULL, "deny",
			    "too many logins under way for this user",
			    t->client->id);
			reply = fg_reply_error(FG_E_LIMIT,
			    "too many logins under way for this user; finish "
			    "or cancel one first");
			/* the page's own words for it */
			json_object_set_new(reply, "why", json_string("busy"));
		} else if (r != FG_OK) {
			json_decref(reply);
			reply = fg_store_failed();
		}
	}
	tx_free(t);
	return reply;
}

/* The PAM service's verdict on the password (pamcheck.c). */
static json_t *
web_begin_resume(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req, int result, const json_t *out)
{
	char user[FG_USER_NAME_MAX + 1];
	json_t *r;

	(void)out;
	ag->deferred--;
	if (!web_user(&ag->cfg.gate, fg_json_str(req, "user"), user,
		sizeof(user)))
		return fg_bad_request("not a user name of this homeserver");
	if (result == FG_OK)
		return web_challenge(ag, peer, req, user);
	fg_audit(ag, peer, FG_OP_WEB_BEGIN, user, NULL,
	    result == FG_ERR_DENIED ? "deny" : "error",
	    result == FG_ERR_DENIED ? "password refused by PAM" :
	    result == FG_ERR_TIMEOUT ? "the PAM check timed out" :
				       "the PAM check failed",
	    ag->cfg.gate.first_factor);
	if (result != FG_ERR_DENIED)
		return fg_reply_error(FG_E_INTERNAL,
		    "the password cannot be checked now; try again");
	fg_failure(ag, fg_charged_uid(peer), peer->pid, user);
	r = fg_reply_error(FG_E_REFUSED, "wrong user name or password");
	json_object_set_new(r, "why", json_string("wrong_password"));
	return r;
}

json_t *
fg_op_web_begin(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	uint8_t id[FG_TX_LEN];
	char user[FG_USER_NAME_MAX + 1], *password;
	const json_t *pj = json_object_get(req, "password");
	struct tx *t;
	json_t *reply;
	bool named;
	int r;

	if (!web_caller(peer))
		return fg_denied();
	if (!fg_gate_on(ag))
		return gate_off();
	if ((reply = tx_of(ag, req, id, &t)) != NULL)
		return reply;
	named = t->up_done;
	snprintf(user, sizeof(user), "%s", t->up_user);
	tx_free(t);
	/* the provider named the user: nobody types another name */
	if (ag->cfg.gate.ff == FG_FF_OIDC) {
		if (!named)
			return fg_reply_error(FG_E_DENIED,
			    "sign in with the organisation's provider first");
		return web_challenge(ag, peer, req, user);
	}
	if (!web_user(&ag->cfg.gate, fg_json_str(req, "user"), user,
		sizeof(user)))
		return fg_bad_request("not a user name of this homeserver");
	if (ag->cfg.gate.ff == FG_FF_NONE)
		return web_challenge(ag, peer, req, user);
	/* the password first, through PAM, in a child: the loop goes on */
	if (!json_is_string(pj) || json_string_length(pj) == 0 ||
	    json_string_length(pj) > 512 ||
	    strlen(json_string_value(pj)) != json_string_length(pj))
		return fg_bad_request("the password is missing");
	if ((reply = fg_attempt_refused(ag, peer, FG_OP_WEB_BEGIN, user,
		 ag->cfg.gate.first_factor, FG_PURPOSE_WEB)) != NULL)
		return reply;
	if (ag->deferred >= FG_DEFER_MAX)
		return fg_reply_error(FG_E_LIMIT,
		    "too many password checks under way; try again");
	if ((password = strdup(json_string_value(pj))) == NULL)
		return fg_reply_error(FG_E_INTERNAL, "out of memory");
	r = fg_pamcheck_start(ag->cfg.gate.first_factor, user, password,
	    &ag->defer.fd, &ag->defer.pid);
	fg_wipe_free(password, strlen(password));
	if (r != FG_OK)
		return fg_reply_error(FG_E_INTERNAL,
		    "the password cannot be checked now");
	ag->defer.resume = web_begin_resume;
	ag->defer.job = false;
	ag->deferred++;
	return fg_reply_deferred();
}

/*
 * Take the web session named in req, which must belong to transaction id
 * (key, its SHA-256) and be of purpose (a login's, FG_PURPOSE_WEB, or an
 * invitation's, FG_PURPOSE_INVITE): from the store, once, whichever agent
 * began it. A challenge found expired is told of as the sweep would
 * (web_expired()). A refusal is audited as event, naming user (NULL:
 * unknown yet).
 */
static json_t *
take_web_session(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req, const uint8_t key[32], const uint8_t id[FG_TX_LEN],
    enum fg_purpose purpose, const char *event, const char *user,
    struct fg_chal **c)
{
	uint8_t *session = NULL, skey[32], handle[32] = { 0 };
	size_t len = 0;
	struct fg_web_chal wc;
	json_t *reply = NULL;
	bool charged = false;
	int r;

	*c = NULL;
	memset(&wc, 0, sizeof(wc));
	if (fg_json_b64(req, "session", &session, &len) != FG_OK ||
	    len != FG_SESSION_LEN) {
		reply = fg_bad_request("session is missing or not base64url");
		goto out;
	}
	fg_sha256(session, len, skey);
	r = fg_store_web_chal_take(ag->store, key, skey, &wc);
	if (r == FG_ERR_TIMEOUT) {
		web_expired(&wc, ag);
		charged = true;
		reply = fg_reply_error(FG_E_NO_SESSION, "the session expired");
		goto out;
	}
	if (r == FG_ERR_NOTFOUND) {
		reply = fg_reply_error(FG_E_NO_SESSION,
		    "no such session: unknown, expired, already used or of "
		    "another login");
		goto out;
	}
	if (r != FG_OK) {
		charged = true; /* the store's failure is nobody's */
		reply = fg_store_failed();
		goto out;
	}
	/* the transactions tell logins from invitations already (tx_of,
	 * fg_oidc_invite_of), and a row is only ever taken with its own
	 * transaction: this holds should that ever change */
	if (invite_row(&wc, NULL) != (purpose == FG_PURPOSE_INVITE) ||
	    (purpose == FG_PURPOSE_INVITE &&
		!invite_row(&wc, handle))) {
		reply = fg_reply_error(FG_E_NO_SESSION,
		    "no such session: unknown, expired, already used or of "
		    "another login");
		goto out;
	}
	if ((*c = calloc(1, sizeof(**c))) == NULL ||
	    ((*c)->user = strdup(wc.user)) == NULL ||
	    (purpose == FG_PURPOSE_WEB && wc.detail[0] != '\0' &&
		((*c)->detail = strdup(wc.detail)) == NULL)) {
		fg_chal_free(c);
		charged = true;
		reply = fg_reply_error(FG_E_INTERNAL, "out of memory");
		goto out;
	}
	memcpy((*c)->session, session, FG_SESSION_LEN);
	memcpy((*c)->challenge, wc.challenge, sizeof((*c)->challenge));
	memcpy((*c)->tx, id, FG_TX_LEN);
	memcpy((*c)->handle, handle, sizeof((*c)->handle));
	(*c)->purpose = purpose;
	(*c)->caller = peer->uid;
	(*c)->caller_pid = peer->pid;
	(*c)->expires = fg_now_ms();
	(*c)->uv_required = wc.uv;
out:
	if (reply != NULL) {
		fg_audit(ag, peer, event, user, NULL, "deny",
		    fg_json_str(reply, "message"), NULL);
		if (!charged)
			fg_failure(ag, fg_charged_uid(peer), peer->pid, NULL);
	}
	OPENSSL_cleanse(&wc, sizeof(wc));
	free(session);
	return reply;
}

json_t *
fg_op_web_finish(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	uint8_t id[FG_TX_LEN], raw[CODE_LEN], hash[32];
	struct fg_chal *c = NULL;
	struct fg_login res;
	struct tx *t = NULL;
	struct code *code = NULL;
	char *code_s = NULL, *url = NULL, *sid = NULL, *body = NULL;
	json_t *reply;
	int r;

	if (!web_caller(peer))
		return fg_denied();
	if (!fg_gate_on(ag))
		return gate_off();
	if ((reply = tx_of(ag, req, id, &t)) != NULL)
		return reply;
	if ((reply = take_web_session(ag, peer, req, t->key, id,
		 FG_PURPOSE_WEB, FG_OP_WEB_FINISH, NULL, &c)) != NULL)
		goto out;
	/* the browser signs for the configured web origins, not pam:// */
	reply = fg_login_finish(ag, peer, FG_OP_WEB_FINISH, c, req,
	    (const char *const *)ag->cfg.origins + 1, ag->cfg.n_origins - 1,
	    &res);
	if (!res.allowed)
		goto out;
	json_decref(reply);
	/* the key said yes: a code for the client, bound to all it asked */
	if ((code = calloc(1, sizeof(*code))) == NULL ||
	    (code->redirect_uri = strdup(t->redirect_uri)) == NULL ||
	    (t->nonce != NULL && (code->nonce = strdup(t->nonce)) == NULL) ||
	    (t->challenge != NULL &&
		(code->challenge = strdup(t->challenge)) == NULL) ||
	    (code->scope = strdup(t->scope)) == NULL ||
	    (code->user = strdup(res.user)) == NULL ||
	    (code_s = random_b64(CODE_LEN, raw)) == NULL ||
	    (sid = random_b64(SID_LEN, NULL)) == NULL) {
		reply = fg_reply_error(FG_E_INTERNAL, "out of memory");
		goto out;
	}
	code->client = t->client;
	code->amr_first = json_incref(t->up_amr);
	memcpy(code->handle, res.handle, sizeof(code->handle));
	code->uv = res.uv;
	code->auth_time = (int64_t)time(NULL);
	snprintf(code->sid, sizeof(code->sid), "%s", sid);
	if ((body = code_body(code)) == NULL) {
		reply = fg_reply_error(FG_E_INTERNAL, "out of memory");
		goto out;
	}
	fg_sha256(raw, sizeof(raw), hash);
	OPENSSL_cleanse(raw, sizeof(raw));
	if ((r = fg_store_code_add(ag->store, hash, code->user, body,
		 wall_ms() + (int64_t)ag->cfg.gate.code_ttl * 1000,
		 TABLE_CAP)) != FG_OK) {
		reply = r == FG_ERR_LIMIT ?
		    fg_reply_error(FG_E_LIMIT, "too many logins under way") :
		    fg_store_failed();
		goto out;
	}
	url = url_with(t->redirect_uri, "code", code_s, "state", t->state,
	    "iss", ag->cfg.gate.issuer, (char *)NULL);
	/* one code per transaction */
	if (fg_store_tx_del(ag->store, t->key) != FG_OK)
		fprintf(stderr, "fido2gated: cannot end a login transaction "
				"(it expires on its own)\n");
	if (url == NULL) {
		reply = fg_reply_error(FG_E_INTERNAL, "out of memory");
		goto out;
	}
	reply = fg_reply_ok();
	json_object_set_new(reply, "result", json_string(FG_RESULT_ALLOW));
	json_object_set_new(reply, "redirect", json_string(url));
out:
	tx_free(t);
	code_free(code);
	if (body != NULL)
		fg_wipe_free(body, strlen(body));
	if (code_s != NULL)
		OPENSSL_cleanse(code_s, strlen(code_s));
	free(code_s);
	if (url != NULL)
		OPENSSL_cleanse(url, strlen(url));
	free(url);
	free(sid);
	return reply;
}

json_t *
fg_op_web_abort(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	uint8_t id[FG_TX_LEN];
	struct fg_chal *c = NULL;
	struct tx *t;
	const char *why;
	json_t *reply;

	if (!web_caller(peer))
		return fg_denied();
	if (!fg_gate_on(ag))
		return gate_off();
	if (!fg_opt_text(req, "reason", FG_TEXT_MAX, &why))
		return fg_bad_request("reason is not short printable text");
	if ((reply = tx_of(ag, req, id, &t)) != NULL)
		return reply;
	reply = take_web_session(ag, peer, req, t->key, id, FG_PURPOSE_WEB,
	    FG_OP_WEB_ABORT, NULL, &c);
	tx_free(t);
	if (reply != NULL)
		return reply;
	fg_audit(ag, peer, FG_OP_WEB_ABORT, c->user, NULL, "deny",
	    why[0] != '\0' ? why : "abandoned in the browser", NULL);
	fg_failure_of(ag, fg_charged_uid(peer), peer->pid, FG_PURPOSE_WEB,
	    c->user);
	fg_chal_free(&c);
	return fg_reply_ok();
}

/* --- the organisation's provider, first --- */

json_t *
fg_op_upstream_config(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	const struct fg_upstream *u;
	json_t *reply, *o;

	(void)req;
	if (!web_caller(peer))
		return fg_denied();
	if (!fg_gate_on(ag) || (u = fg_gate_upstream(&ag->cfg.gate)) == NULL)
		return fg_reply_error(FG_E_DENIED,
		    "no provider is configured as the first factor");
	o = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:s}",
	    "name", u->name, "issuer", u->issuer, "discovery_url",
	    u->discovery, "client_id", u->client_id, "client_secret",
	    u->secret, "token_auth",
	    u->secret_post ? "client_secret_post" : "client_secret_basic",
	    "scopes", u->scopes, "algs", u->algs, "skew", (int)u->skew,
	    "timeout", (int)u->timeout, "ca_file", u->ca_file);
	if (o == NULL)
		return fg_reply_error(FG_E_INTERNAL, "out of memory");
	reply = fg_reply_ok();
	json_object_set_new(reply, "upstream", o);
	return reply;
}

/*
 * The transaction a provider's state belongs to (FG_OK, FG_ERR_NOTFOUND
 * or a store failure). With take, the state is spent: it opens one login,
 * once, at whichever agent the browser comes back to; and the transaction
 * gets a new ID, in (*out)->id_s, by the same statement. So the store
 * never holds an ID in the clear, and the one made at /authorize, which
 * the provider's round trip may have shown, opens nothing after it.
 */
static int
tx_of_state(struct fg_agent *ag, const char *state, bool take,
    struct tx **out)
{
	uint8_t raw[32], skey[32], key[32], fresh[FG_TX_LEN], fresh_key[32];
	char *body = NULL, *id_s = NULL;
	int64_t expires = 0;
	int r;

	*out = NULL;
	if (!decode_id(state, raw, sizeof(raw)))
		return FG_ERR_NOTFOUND;
	fg_sha256(raw, sizeof(raw), skey);
	if (take) {
		if (fg_random(fresh, sizeof(fresh)) != FG_OK ||
		    (id_s = fg_b64url_encode(fresh, sizeof(fresh))) == NULL)
			return FG_ERR_NOMEM;
		fg_sha256(fresh, sizeof(fresh), fresh_key);
		OPENSSL_cleanse(fresh, sizeof(fresh));
	}
	if ((r = fg_store_tx_of_state(ag->store, skey,
		 take ? fresh_key : NULL, key, &body, &expires)) != FG_OK) {
		free(id_s);
		return r;
	}
	*out = tx_parse(ag, key, body, expires);
	fg_wipe_free(body, strlen(body));
	if (*out == NULL) {
		free(id_s);
		return FG_ERR_NOTFOUND;
	}
	(*out)->id_s = id_s;
	return FG_OK;
}

/* What the front needs to redeem the provider's code and check its
 * id_token: our nonce and PKCE verifier. The state stays unspent. */
json_t *
fg_op_upstream_session(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	struct tx *t;
	json_t *reply;
	int r;

	if (!web_caller(peer))
		return fg_denied();
	if (!fg_gate_on(ag) || fg_gate_upstream(&ag->cfg.gate) == NULL)
		return fg_reply_error(FG_E_DENIED, "no provider configured");
	if ((r = tx_of_state(ag, fg_json_str(req, "state"), false, &t)) !=
	    FG_OK)
		return r == FG_ERR_NOTFOUND ?
		    fg_reply_error(FG_E_NO_SESSION,
			"unknown, used or expired state") :
		    fg_store_failed();
	reply = fg_reply_ok();
	json_object_set_new(reply, "nonce", json_string(t->up_nonce));
	json_object_set_new(reply, "code_verifier",
	    json_string(t->up_verifier));
	tx_free(t);
	return reply;
}

/*
 * The user name the provider's claims give: the configured claim, as it
 * is or (email_localpart) the part of an email before '@'. A name that is
 * not a Matrix localpart is refused, never changed; ASCII capitals are
 * lowered, as e-mail addresses ignore case.
 */
static const char *
upstream_user(const struct fg_upstream *u, const json_t *claims, char *out,
    size_t len)
{
	const char *v = fg_json_str(claims, u->claim), *at;
	size_t n, i;

	if (v == NULL)
		return "the provider's id_token lacks the claim that names the "
		       "user";
	n = strlen(v);
	if (u->email_localpart) {
		if ((at = strchr(v, '@')) == NULL || strchr(at + 1, '@') != NULL)
			return "the claim is not an email address";
		n = (size_t)(at - v);
	}
	if (n == 0 || n >= len)
		return "the user name the provider gives is empty or too long";
	for (i = 0; i < n; i++)
		out[i] = v[i] >= 'A' && v[i] <= 'Z' ? (char)(v[i] - 'A' + 'a') :
						      v[i];
	out[n] = '\0';
	if (strspn(out, "abcdefghijklmnopqrstuvwxyz0123456789._=-/") != n ||
	    !fg_user_name_valid(out))
		return "the user name the provider gives holds characters a "
		       "Matrix user name cannot";
	return NULL;
}

/*
 * An invitation's first factor: the provider must name the very user the
 * link was made for; anyone else (the link forwarded, stolen, or opened by
 * a colleague signed in at the provider) ends the page.
 */
static json_t *
invite_upstream(struct fg_agent *ag, const struct fg_peer *peer,
    struct tx *t, const char *user, const struct fg_upstream *u)
{
	char detail[FG_USER_NAME_MAX + 96];
	json_t *reply;

	if (strcmp(user, t->invite->user) != 0) {
		snprintf(detail, sizeof(detail), "%s signed in at %s",
		    user, u->name);
		fg_audit(ag, peer, FG_OP_INVITE_BEGIN, t->invite->user, NULL,
		    "deny",
		    "the organisation's provider named another user than "
		    "the one invited",
		    detail);
		fg_failure(ag, fg_charged_uid(peer), peer->pid,
		    t->invite->user);
		(void)fg_store_tx_del(ag->store, t->key);
		return fg_reply_error(FG_E_REFUSED,
		    "this invitation is for another user");
	}
	t->invite->first_done = true;
	if (tx_save(ag, t) != FG_OK)
		return fg_store_failed();
	fg_audit(ag, peer, FG_OP_WEB_UPSTREAM, user, NULL, "ok",
	    "the organisation's provider named the invited user; the new "
	    "key follows",
	    u->name);
	reply = fg_reply_ok();
	json_object_set_new(reply, "invite", json_true());
	json_object_set_new(reply, "user", json_string(user));
	json_object_set_new(reply, "tx", json_string(t->id_s));
	json_object_set_new(reply, "uv",
	    json_string(fg_uv_policy_name(ag->cfg.uv)));
	json_object_set_new(reply, "expires_in",
	    json_integer((t->expires - wall_ms()) / 1000));
	return reply;
}

/*
 * The front redeemed the provider's code and checked its id_token
 * (signature against the provider's keys, algorithm, iss, aud, azp, exp,
 * iat, our nonce): it hands over the claims, or why it refused them. The
 * state is spent either way; the agent checks the acr and names the user,
 * whom the key must then prove.
 */
json_t *
fg_op_web_upstream(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	const struct fg_upstream *u;
	const json_t *claims = json_object_get(req, "claims");
	const char *error = fg_json_str(req, "error"), *why, *acr, *invited;
	char user[FG_USER_NAME_MAX + 1];
	struct tx *t = NULL;
	json_t *reply, *amr;
	size_t i;
	int r;

	if (!web_caller(peer))
		return fg_denied();
	if (!fg_gate_on(ag) || (u = fg_gate_upstream(&ag->cfg.gate)) == NULL)
		return fg_reply_error(FG_E_DENIED, "no provider configured");
	if ((r = tx_of_state(ag, fg_json_str(req, "state"), true, &t)) !=
	    FG_OK) {
		if (r != FG_ERR_NOTFOUND)
			return fg_store_failed();
		fg_audit_quiet(ag, peer, FG_OP_WEB_UPSTREAM,
		    "the provider's answer carries an unknown, used or "
		    "expired state",
		    u->name);
		return fg_reply_error(FG_E_NO_SESSION,
		    "this sign-in is unknown, used or expired: start again");
	}
	/* an invitation's page: its refusals are audited against the
	 * invited user */
	invited = t->invite != NULL ? t->invite->user : NULL;
	if (error != NULL || !json_is_object(claims)) {
		char why_s[FG_TEXT_MAX + 1];
		snprintf(why_s, sizeof(why_s), "%s",
		    error != NULL && fg_text_printable(error, strlen(error)) ?
			error :
			"no claims");
		fg_audit(ag, peer, FG_OP_WEB_UPSTREAM, invited, NULL, "deny",
		    why_s, u->name);
		(void)fg_store_tx_del(ag->store, t->key);
		reply = fg_reply_error(FG_E_REFUSED,
		    "the organisation's sign-in could not be verified");
		goto out;
	}
	acr = fg_json_str(claims, "acr");
	for (i = 0; i < u->n_acr; i++)
		if (acr != NULL && strcmp(acr, u->acr[i]) == 0)
			break;
	if (u->n_acr > 0 && i == u->n_acr) {
		fg_audit(ag, peer, FG_OP_WEB_UPSTREAM, invited, NULL, "deny",
		    "the provider's acr is not one of those accepted", u->name);
		(void)fg_store_tx_del(ag->store, t->key);
		reply = fg_reply_error(FG_E_REFUSED,
		    "the organisation's sign-in is not strong enough for this "
		    "service");
		goto out;
	}
	if ((why = upstream_user(u, claims, user, sizeof(user))) != NULL) {
		fg_audit(ag, peer, FG_OP_WEB_UPSTREAM, invited, NULL, "deny",
		    why, u->name);
		(void)fg_store_tx_del(ag->store, t->key);
		reply = fg_reply_error(FG_E_REFUSED, why);
		goto out;
	}
	if (t->invite != NULL) {
		reply = invite_upstream(ag, peer, t, user, u);
		goto out;
	}
	snprintf(t->up_user, sizeof(t->up_user), "%s", user);
	t->up_done = true;
	amr = json_object_get(claims, "amr");
	if (json_is_array(amr) && json_array_size(amr) <= 8) {
		json_decref(t->up_amr);
		t->up_amr = json_incref(amr);
	}
	if (tx_save(ag, t) != FG_OK) {
		reply = fg_store_failed();
		goto out;
	}
	fg_audit(ag, peer, FG_OP_WEB_UPSTREAM, user, NULL, "ok",
	    "the organisation's provider named the user; the key follows",
	    u->name);
	reply = fg_reply_ok();
	json_object_set_new(reply, "user", json_string(user));
	json_object_set_new(reply, "client", json_string(t->client->name));
	json_object_set_new(reply, "uv",
	    json_string(fg_uv_policy_name(ag->cfg.uv)));
	json_object_set_new(reply, "expires_in",
	    json_integer((t->expires - wall_ms()) / 1000));
	json_object_set_new(reply, "tx", json_string(t->id_s));
out:
	tx_free(t);
	return reply;
}

/* --- the client's side --- */

/* The client of a token request, authenticated: NULL after a refusal. */
static const struct fg_oidc_client *
token_client(struct fg_agent *ag, const json_t *req, json_t **reply)
{
	const struct fg_oidc_client *c =
	    fg_gate_client(&ag->cfg.gate, fg_json_str(req, "client_id"));
	const char *secret = fg_json_str(req, "client_secret");
	uint8_t hash[32];

	*reply = NULL;
	if (c == NULL) {
		*reply = oauth_error("invalid_client", "unknown client", NULL);
		return NULL;
	}
	if (c->is_public) {
		if (secret != NULL) {
			*reply = oauth_error("invalid_client",
			    "a public client has no secret", NULL);
			return NULL;
		}
		return c;
	}
	if (secret == NULL) {
		*reply = oauth_error("invalid_client",
		    "client authentication required", NULL);
		return NULL;
	}
	fg_sha256(secret, strlen(secret), hash);
	if (CRYPTO_memcmp(hash, c->secret_hash, sizeof(hash)) != 0) {
		*reply = oauth_error("invalid_client",
		    "client authentication failed", NULL);
		return NULL;
	}
	return c;
}

/* SHA-256(verifier) in base64url must be the challenge (RFC 7636 §4.6). */
static bool
pkce_matches(const char *verifier, const char *challenge)
{
	uint8_t h[32];
	char *b64;
	bool ok;

	if (verifier == NULL || !pkce_valid(verifier))
		return false;
	fg_sha256(verifier, strlen(verifier), h);
	if ((b64 = fg_b64url_encode(h, sizeof(h))) == NULL)
		return false;
	ok = strlen(b64) == strlen(challenge) &&
	    CRYPTO_memcmp(b64, challenge, strlen(b64)) == 0;
	free(b64);
	return ok;
}

/* A second use of a code: refused, and what the first use gave revoked
 * (RFC 6749 §4.1.2): the access token, and the approval. Two uses at
 * once are two uses: the second finds the first's work committed. */
static void
code_replayed(struct fg_agent *ag, const struct fg_peer *peer,
    const uint8_t hash[32], struct code *code)
{
	struct fg_audit a = { .event = FG_OP_OIDC_TOKEN, .user = code->user,
		.caller_uid = peer->uid, .caller_pid = peer->pid,
		.result = "deny",
		.reason = "code used twice: its tokens and approval revoked",
		.detail = code->client->id };

	if (fg_store_code_token_drop(ag->store, hash) != FG_OK)
		fprintf(stderr, "fido2gated: cannot revoke the access token "
				"of a replayed code\n");
	if (fg_store_approval_revoke(ag->store, code->sid, &a) != FG_OK)
		fprintf(stderr, "fido2gated: cannot revoke the approval of a "
				"replayed code\n");
}

static json_t *
claims_of(const struct fg_agent *ag, const struct code *code,
    const char *access_token, const char *alg)
{
	uint8_t h[32];
	char *sub = fg_b64url_encode(code->handle, sizeof(code->handle));
	char *at_hash;
	int64_t now = (int64_t)time(NULL);
	json_t *claims = NULL;

	/* at_hash: the left half of the hash the alg uses (SHA-256 both) */
	(void)alg;
	fg_sha256(access_token, strlen(access_token), h);
	at_hash = fg_b64url_encode(h, 16);
	if (sub != NULL && at_hash != NULL)
		claims = json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:s,s:s,s:s,"
				   "s:[s]}",
		    "iss", ag->cfg.gate.issuer, "sub", sub, "aud",
		    code->client->id, "exp",
		    (json_int_t)(now + ag->cfg.gate.token_ttl), "iat",
		    (json_int_t)now, "auth_time", (json_int_t)code->auth_time,
		    "at_hash", at_hash, "sid", code->sid,
		    "preferred_username", code->user, "amr", "hwk");
	if (claims != NULL && code->uv)
		json_array_append_new(json_object_get(claims, "amr"),
		    json_string("pin"));
	/* the first factor's, as its provider said them (RFC 8176) */
	if (claims != NULL && json_is_array(code->amr_first)) {
		size_t i;
		json_t *v;
		json_array_foreach(code->amr_first, i, v)
		{
			if (json_is_string(v) && json_string_length(v) <= 32 &&
			    fg_text_printable(json_string_value(v),
				json_string_length(v)))
				json_array_append(json_object_get(claims, "amr"),
				    v);
		}
	}
	if (claims != NULL && code->nonce != NULL)
		json_object_set_new(claims, "nonce", json_string(code->nonce));
	if (claims != NULL && ag->cfg.gate.acr[0] != '\0')
		json_object_set_new(claims, "acr",
		    json_string(ag->cfg.gate.acr));
	free(sub);
	free(at_hash);
	return claims;
}

json_t *
fg_op_oidc_token(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	const struct fg_oidc_client *client;
	const char *grant = fg_json_str(req, "grant_type");
	const char *redirect = fg_json_str(req, "redirect_uri");
	uint8_t raw[CODE_LEN], hash[32], traw[TOKEN_LEN], thash[32];
	struct code *code = NULL;
	struct token tok = { 0 };
	struct fg_audit a;
	char *body = NULL, *access = NULL, *idt = NULL, *tbody = NULL;
	int64_t used = 0;
	json_t *reply = NULL, *claims = NULL;
	int r;

	if (!web_caller(peer))
		return fg_denied();
	if (!fg_gate_on(ag))
		return gate_off();
	if ((client = token_client(ag, req, &reply)) == NULL) {
		fg_audit(ag, peer, FG_OP_OIDC_TOKEN, NULL, NULL, "deny",
		    fg_json_str(reply, "message"), fg_json_str(req, "client_id"));
		return reply;
	}
	if (grant == NULL || strcmp(grant, "authorization_code") != 0)
		return oauth_error("unsupported_grant_type",
		    "only grant_type=authorization_code", NULL);
	r = FG_ERR_NOTFOUND;
	if (decode_id(fg_json_str(req, "code"), raw, sizeof(raw))) {
		fg_sha256(raw, sizeof(raw), hash);
		OPENSSL_cleanse(raw, sizeof(raw));
		r = fg_store_code_get(ag->store, hash, &body, &used);
	}
	if (r == FG_OK && (code = code_parse(ag, body)) == NULL)
		r = FG_ERR_NOTFOUND; /* its client is no longer configured */
	if (r != FG_OK) {
		fg_audit(ag, peer, FG_OP_OIDC_TOKEN, NULL, NULL, "deny",
		    r == FG_ERR_NOTFOUND ? "unknown or expired code" :
					   "store unreadable",
		    client->id);
		reply = r == FG_ERR_NOTFOUND ?
		    oauth_error("invalid_grant",
			"the code is unknown or expired", NULL) :
		    fg_store_failed();
		goto out;
	}
	if (used != 0) {
		code_replayed(ag, peer, hash, code);
		reply = oauth_error("invalid_grant",
		    "the code was already used; what it gave is revoked", NULL);
		goto out;
	}
	if (code->client != client || redirect == NULL ||
	    strcmp(redirect, code->redirect_uri) != 0) {
		fg_audit(ag, peer, FG_OP_OIDC_TOKEN, code->user, NULL, "deny",
		    "code presented by another client or for another "
		    "redirect_uri",
		    client->id);
		reply = oauth_error("invalid_grant",
		    "the code was issued to another client or redirect_uri",
		    NULL);
		goto out;
	}
	if (code->challenge != NULL ?
		!pkce_matches(fg_json_str(req, "code_verifier"),
		    code->challenge) :
		fg_json_str(req, "code_verifier") != NULL) {
		fg_audit(ag, peer, FG_OP_OIDC_TOKEN, code->user, NULL, "deny",
		    "PKCE verifier does not match", client->id);
		reply = oauth_error("invalid_grant",
		    "code_verifier does not match the code_challenge", NULL);
		goto out;
	}
	/* a lock since the key said yes: no tokens, no approval, and the
	 * code is spent */
	if ((r = fg_locked(ag, code->user)) != FG_OK) {
		(void)fg_store_code_spend(ag->store, hash);
		fg_audit(ag, peer, FG_OP_OIDC_TOKEN, code->user, NULL, "deny",
		    r == FG_ERR_DENIED ? "locked out" : "store unreadable",
		    client->id);
		reply = r == FG_ERR_DENIED ?
		    oauth_error("invalid_grant", "the account is locked",
			NULL) :
		    fg_store_failed();
		goto out;
	}
	tok.client = client;
	tok.user = code->user;
	tok.scope = code->scope;
	memcpy(tok.handle, code->handle, sizeof(tok.handle));
	if ((access = random_b64(TOKEN_LEN, traw)) == NULL ||
	    (claims = claims_of(ag, code, access, client->alg)) == NULL ||
	    (idt = fg_keys_sign(ag, client->alg, claims)) == NULL ||
	    (tbody = token_body(&tok)) == NULL) {
		reply = fg_reply_error(FG_E_INTERNAL, "cannot make the tokens");
		goto out;
	}
	fg_sha256(traw, sizeof(traw), thash);
	OPENSSL_cleanse(traw, sizeof(traw));
	/* the code spent, the access token and the approval the
	 * homeserver's next login for the user may consume: at once, and
	 * by one request only, whichever agent it reached */
	a = (struct fg_audit){ .event = FG_OP_OIDC_TOKEN, .user = code->user,
		.caller_uid = peer->uid, .caller_pid = peer->pid,
		.result = "allow", .reason = "id_token issued; approval recorded",
		.detail = client->id };
	r = fg_store_code_redeem(ag->store, hash, thash, tbody,
	    wall_ms() + (int64_t)ag->cfg.gate.token_ttl * 1000, code->user,
	    code->sid, client->id, &a);
	if (r == FG_ERR_NOTFOUND) {
		/* redeemed meanwhile (another request, at this agent or
		 * another), or expired this instant */
		code_replayed(ag, peer, hash, code);
		reply = oauth_error("invalid_grant",
		    "the code was already used; what it gave is revoked", NULL);
		goto out;
	}
	if (r != FG_OK) {
		reply = fg_store_failed();
		goto out;
	}
	reply = fg_reply_ok();
	json_object_set_new(reply, "token",
	    json_pack("{s:s,s:s,s:I,s:s,s:s}", "access_token", access,
		"token_type", "Bearer", "expires_in",
		(json_int_t)ag->cfg.gate.token_ttl, "id_token", idt, "scope",
		code->scope));
out:
	code_free(code);
	json_decref(claims);
	if (body != NULL)
		fg_wipe_free(body, strlen(body));
	free(tbody);
	if (access != NULL)
		OPENSSL_cleanse(access, strlen(access));
	free(access);
	free(idt);
	return reply;
}

json_t *
fg_op_oidc_userinfo(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	uint8_t raw[TOKEN_LEN], hash[32];
	struct token *t = NULL;
	char *sub = NULL, *body = NULL;
	json_t *reply;
	int r = FG_ERR_NOTFOUND;

	if (!web_caller(peer))
		return fg_denied();
	if (!fg_gate_on(ag))
		return gate_off();
	if (decode_id(fg_json_str(req, "access_token"), raw, sizeof(raw))) {
		fg_sha256(raw, sizeof(raw), hash);
		r = fg_store_token_get(ag->store, hash, &body);
	}
	if (r == FG_OK && (t = token_parse(ag, body)) == NULL)
		r = FG_ERR_NOTFOUND;
	free(body);
	if (r != FG_OK)
		return r == FG_ERR_NOTFOUND ?
		    oauth_error("invalid_token",
			"the access token is unknown, expired or revoked",
			NULL) :
		    fg_store_failed();
	if (fg_locked(ag, t->user) != FG_OK) {
		fg_audit(ag, peer, FG_OP_OIDC_USERINFO, t->user, NULL, "deny",
		    "locked out (or the store is unreadable)", t->client->id);
		(void)fg_store_token_del(ag->store, hash);
		reply = oauth_error("invalid_token",
		    "the access token is unknown, expired or revoked", NULL);
		goto out;
	}
	if ((sub = fg_b64url_encode(t->handle, sizeof(t->handle))) == NULL) {
		reply = fg_reply_error(FG_E_INTERNAL, "out of memory");
		goto out;
	}
	reply = fg_reply_ok();
	json_object_set_new(reply, "claims",
	    json_pack("{s:s,s:s}", "sub", sub, "preferred_username", t->user));
out:
	token_free(t);
	free(sub);
	return reply;
}

/* --- the homeserver's login decision --- */

static json_t *
verdict(struct fg_agent *ag, const struct fg_peer *peer, const char *user,
    const char *result, const char *reason, const char *provider)
{
	json_t *r;

	fg_audit(ag, peer, FG_OP_LOGIN_CHECK, user, NULL, result, reason,
	    provider);
	r = fg_reply_ok();
	json_object_set_new(r, "result", json_string(result));
	json_object_set_new(r, "reason", json_string(reason));
	return r;
}

json_t *
fg_op_login_check(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	const struct fg_gate *g = &ag->cfg.gate;
	const char *user_id = fg_json_str(req, "user_id");
	const json_t *pj = json_object_get(req, "auth_provider_id");
	const char *provider = json_string_value(pj);
	char user[FG_USER_NAME_MAX + 1], sid[64];
	struct fg_audit a;
	size_t i;
	int r;

	if (!peer->homeserver && peer->uid != 0)
		return fg_denied();
	if (!fg_gate_on(ag) || g->server_name[0] == '\0')
		return gate_off();
	if (user_id == NULL || strlen(user_id) > 512 ||
	    !fg_text_printable(user_id, strlen(user_id)) ||
	    (pj != NULL && !json_is_null(pj) &&
		(provider == NULL || strlen(provider) > 128 ||
		    !fg_text_printable(provider, strlen(provider)))))
		return fg_bad_request("login.check needs user_id, and "
				      "auth_provider_id as text or null");
	/* a locked user is refused everywhere, exempt or not */
	if (user_id[0] == '@' && web_user(g, user_id, user, sizeof(user)) &&
	    (r = fg_locked(ag, user)) != FG_OK)
		return verdict(ag, peer, user, FG_RESULT_DENY,
		    r == FG_ERR_DENIED ? "locked out" : "the store failed",
		    provider);
	for (i = 0; i < g->n_exempt; i++)
		if (regexec(g->exempt[i], user_id, 0, NULL, 0) == 0)
			return verdict(ag, peer, user_id, FG_RESULT_ALLOW,
			    "exempt by [homeserver] exempt", provider);
	if (!web_user(g, user_id, user, sizeof(user)) || user_id[0] != '@')
		return verdict(ag, peer, user_id, FG_RESULT_DENY,
		    "not a user of this homeserver", provider);
	if (provider == NULL)
		return verdict(ag, peer, user, FG_RESULT_DENY,
		    "a login without the security key (password or token)",
		    provider);
	if (strcmp(provider, g->provider) != 0)
		return verdict(ag, peer, user, FG_RESULT_DENY,
		    "a login through another provider", provider);
	a = (struct fg_audit){ .event = FG_OP_LOGIN_CHECK, .user = user,
		.caller_uid = peer->uid, .caller_pid = peer->pid,
		.result = FG_RESULT_ALLOW,
		.reason = "a fresh key approval consumed",
		.detail = provider };
	r = fg_store_approval_consume(ag->store, user,
	    g->hs_client[0] != '\0' ? g->hs_client : NULL, g->window, sid,
	    sizeof(sid), &a);
	if (r == FG_ERR_NOTFOUND)
		return verdict(ag, peer, user, FG_RESULT_DENY,
		    "no fresh key approval for this login (none, used, "
		    "revoked or older than the window)",
		    provider);
	if (r != FG_OK)
		return verdict(ag, peer, user, FG_RESULT_DENY,
		    "the store failed", provider);
	{
		json_t *reply = fg_reply_ok();
		json_object_set_new(reply, "result",
		    json_string(FG_RESULT_ALLOW));
		json_object_set_new(reply, "reason",
		    json_string("a fresh key approval consumed"));
		json_object_set_new(reply, "sid", json_string(sid));
		return reply;
	}
}

/* --- a lock --- */

void
fg_oidc_revoke_user(struct fg_agent *ag, const char *user, size_t *codes,
    size_t *tokens)
{
	int64_t c = 0, t = 0;

	*codes = *tokens = 0;
	if (ag->oidc == NULL)
		return;
	if (fg_store_oidc_drop_user(ag->store, user, &c, &t) != FG_OK) {
		fprintf(stderr, "fido2gated: cannot revoke the codes and "
				"tokens of %s\n", user);
		return;
	}
	*codes = (size_t)c;
	*tokens = (size_t)t;
}

char *
fg_oidc_logout_token(struct fg_agent *ag, const struct fg_oidc_client *client,
    const char *sub, const char *sid)
{
	int64_t now = (int64_t)time(NULL);
	char *jti = random_b64(16, NULL), *jws = NULL;
	json_t *claims = NULL;

	/* §2.4: no nonce; the event; sid, and sub when we know it */
	if (jti != NULL)
		claims = json_pack("{s:s,s:s,s:I,s:I,s:s,s:s,s:{s:{}}}", "iss",
		    ag->cfg.gate.issuer, "aud", client->id, "iat",
		    (json_int_t)now, "exp", (json_int_t)(now + 120), "jti", jti,
		    "sid", sid, "events",
		    "http://schemas.openid.net/event/backchannel-logout");
	if (claims != NULL && sub != NULL)
		json_object_set_new(claims, "sub", json_string(sub));
	if (claims != NULL)
		jws = fg_keys_sign(ag, client->alg, claims);
	json_decref(claims);
	free(jti);
	return jws;
}

/* --- invitations' pages (invite.c) --- */

int
fg_oidc_invite_new(struct fg_agent *ag, const uint8_t hash[32],
    const char *user, const json_t *req, json_t *reply)
{
	uint8_t id[FG_TX_LEN], state_hash[32];
	struct tx *t = NULL;
	char *tx_s = NULL, net[FG_NET_MAX + 1];
	json_t *up = NULL;
	bool net_full = false;
	int r, ret = FG_ERR_NOMEM;

	if (!req_net(req, net))
		return FG_ERR_INVALID;
	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->invite = calloc(1, sizeof(*t->invite))) == NULL ||
	    fg_random(id, sizeof(id)) != FG_OK ||
	    (tx_s = fg_b64url_encode(id, sizeof(id))) == NULL)
		goto out;
	memcpy(t->invite->hash, hash, sizeof(t->invite->hash));
	memcpy(t->net, net, sizeof(t->net));
	snprintf(t->invite->user, sizeof(t->invite->user), "%s", user);
	if (ag->cfg.gate.ff == FG_FF_OIDC &&
	    (up = upstream_start(ag, t, state_hash)) == NULL)
		goto out;
	if ((r = tx_add(ag, t, id, up != NULL ? state_hash : NULL,
		 &net_full)) != FG_OK) {
		ret = r;
		goto out;
	}
	json_object_set_new(reply, "tx", json_string(tx_s));
	json_object_set_new(reply, "expires_in", json_integer(TX_TTL_S));
	if (up != NULL)
		json_object_set_new(reply, "upstream", up);
	up = NULL;
	ret = FG_OK;
out:
	tx_free(t);
	json_decref(up);
	free(tx_s);
	return ret;
}

struct fg_invite_tx *
fg_oidc_invite_of(struct fg_agent *ag, const json_t *req,
    uint8_t id[FG_TX_LEN])
{
	struct tx *t = NULL;

	if (!fg_gate_on(ag) || !decode_id(fg_json_str(req, "tx"), id, FG_TX_LEN) ||
	    tx_get(ag, id, &t) != FG_OK || t->invite == NULL) {
		tx_free(t);
		return NULL;
	}
	ag->oidc->inv = *t->invite;
	tx_free(t);
	return &ag->oidc->inv;
}

/*
 * The new key's challenge, in the store with the page's transaction as a
 * login's (web_challenge()), so that invite.finish may reach any agent;
 * a retry replaces it. The user handle the key is made for goes with it.
 */
int
fg_oidc_invite_chal(struct fg_agent *ag, const uint8_t id[FG_TX_LEN],
    const char *user, const uint8_t handle[32], bool uv,
    uint8_t session[FG_SESSION_LEN], uint8_t challenge[FG_CHALLENGE_LEN])
{
	uint8_t key[32], skey[32];
	struct fg_web_chal wc;
	char *h = NULL;
	int r;

	memset(&wc, 0, sizeof(wc));
	if (fg_random(session, FG_SESSION_LEN) != FG_OK ||
	    fg_random(wc.challenge, sizeof(wc.challenge)) != FG_OK) {
		r = FG_ERR_INTERNAL;
		goto out;
	}
	if ((h = fg_b64url_encode(handle, 32)) == NULL) {
		r = FG_ERR_NOMEM;
		goto out;
	}
	snprintf(wc.user, sizeof(wc.user), "%s", user);
	snprintf(wc.detail, sizeof(wc.detail), "%s%s", INVITE_MARK, h);
	wc.uv = uv;
	wc.expires = wall_ms() + (int64_t)ag->cfg.challenge_timeout * 1000;
	fg_sha256(id, FG_TX_LEN, key);
	fg_sha256(session, FG_SESSION_LEN, skey);
	r = fg_store_web_chal_set(ag->store, key, skey, &wc,
	    (int64_t)ag->cfg.max_pending_per_user);
	if (r == FG_OK)
		memcpy(challenge, wc.challenge, FG_CHALLENGE_LEN);
out:
	OPENSSL_cleanse(&wc, sizeof(wc));
	free(h);
	return r;
}

json_t *
fg_oidc_invite_take(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req, const uint8_t id[FG_TX_LEN], const char *user,
    struct fg_chal **c)
{
	uint8_t key[32];

	fg_sha256(id, FG_TX_LEN, key);
	return take_web_session(ag, peer, req, key, id, FG_PURPOSE_INVITE,
	    FG_OP_INVITE_FINISH, user, c);
}

void
fg_oidc_invite_end(struct fg_agent *ag, const uint8_t id[FG_TX_LEN])
{
	uint8_t key[32];

	fg_sha256(id, FG_TX_LEN, key);
	if (fg_store_tx_del(ag->store, key) != FG_OK)
		fprintf(stderr, "fido2gated: cannot end an invitation's page "
				"(it expires on its own)\n");
}
