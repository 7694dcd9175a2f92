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
 * Transactions, codes and access tokens live in memory, each in a small
 * table under a hard cap; the approvals, which the homeserver's logins
 * consume, live in the store.
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
#define TABLE_CAP 65536 /* entries per table at most */
#define NBUCKETS 1024

/* A login transaction: what oidc.authorize accepted. */
struct tx {
	const struct fg_oidc_client *client;
	char *redirect_uri, *state, *nonce, *challenge, *scope;
	/* with the organisation's provider first (oidc:NAME) */
	char *up_nonce, *up_verifier; /* ours, for the provider */
	bool up_done;		      /* the provider named the user */
	/* the one challenge open for it: a new begin replaces it */
	uint8_t session[FG_SESSION_LEN];
	bool has_session;
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
	bool used;
	char sid[32];
	uint8_t token[TOKEN_LEN]; /* the access token it gave, once used */
};

/* An access token, for userinfo. */
struct token {
	const struct fg_oidc_client *client;
	char *user, *scope;
	uint8_t handle[32];
};

struct entry {
	uint8_t key[32];
	size_t keylen;
	int64_t expires; /* monotonic ms */
	void *value;
	struct entry *next;
};

struct table {
	struct entry *b[NBUCKETS];
	size_t count;
	void (*free_value)(void *);
};

struct fg_oidc {
	struct table tx, codes, tokens;
	struct table states; /* the provider's state -> its transaction */
	/* refusals of requests anyone can send, audited at a bounded rate */
	int64_t quiet_until;
	unsigned quiet_n, quiet_suppressed;
};

#define QUIET_PER_SECOND 10

static void
tx_free(void *p)
{
	struct tx *t = p;

	if (t == NULL)
		return;
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
	free(t);
}

static void
code_free(void *p)
{
	struct code *c = p;

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
token_free(void *p)
{
	struct token *t = p;

	if (t == NULL)
		return;
	free(t->user);
	free(t->scope);
	free(t);
}

/* Keys are random: their first bytes are a fine hash. */
static size_t
bucket(const uint8_t *key)
{
	return ((size_t)key[0] << 8 | key[1]) % NBUCKETS;
}

static int
table_put(struct table *t, const uint8_t *key, size_t len, int64_t ttl_ms,
    void *value)
{
	struct entry *e;
	size_t b;

	if (t->count >= TABLE_CAP)
		return FG_ERR_LIMIT;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return FG_ERR_NOMEM;
	memcpy(e->key, key, len);
	e->keylen = len;
	e->expires = fg_now_ms() + ttl_ms;
	e->value = value;
	b = bucket(key);
	e->next = t->b[b];
	t->b[b] = e;
	t->count++;
	return FG_OK;
}

/* The live entry for key; NULL when there is none or it expired. */
static struct entry *
table_get(struct table *t, const uint8_t *key, size_t len)
{
	struct entry *e;

	if (len < 2 || len > sizeof(e->key))
		return NULL;
	for (e = t->b[bucket(key)]; e != NULL; e = e->next)
		if (e->keylen == len && CRYPTO_memcmp(e->key, key, len) == 0)
			return e->expires > fg_now_ms() ? e : NULL;
	return NULL;
}

static void
table_del(struct table *t, struct entry *gone)
{
	struct entry **pp;

	for (pp = &t->b[bucket(gone->key)]; *pp != NULL; pp = &(*pp)->next)
		if (*pp == gone) {
			*pp = gone->next;
			t->free_value(gone->value);
			OPENSSL_cleanse(gone, sizeof(*gone));
			free(gone);
			t->count--;
			return;
		}
}

static void
table_sweep(struct table *t, int64_t now)
{
	struct entry **pp, *e;
	size_t i;

	for (i = 0; i < NBUCKETS; i++) {
		pp = &t->b[i];
		while ((e = *pp) != NULL) {
			if (e->expires <= now) {
				*pp = e->next;
				t->free_value(e->value);
				OPENSSL_cleanse(e, sizeof(*e));
				free(e);
				t->count--;
			} else
				pp = &e->next;
		}
	}
}

int
fg_oidc_new(struct fg_oidc **out)
{
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return FG_ERR_NOMEM;
	(*out)->tx.free_value = tx_free;
	(*out)->codes.free_value = code_free;
	(*out)->tokens.free_value = token_free;
	(*out)->states.free_value = free;
	return FG_OK;
}

void
fg_oidc_free(struct fg_oidc **o)
{
	if (o == NULL || *o == NULL)
		return;
	table_sweep(&(*o)->tx, INT64_MAX);
	table_sweep(&(*o)->codes, INT64_MAX);
	table_sweep(&(*o)->tokens, INT64_MAX);
	table_sweep(&(*o)->states, INT64_MAX);
	free(*o);
	*o = NULL;
}

void
fg_oidc_sweep(struct fg_agent *ag, int64_t now)
{
	if (ag->oidc == NULL)
		return;
	table_sweep(&ag->oidc->tx, now);
	table_sweep(&ag->oidc->codes, now);
	table_sweep(&ag->oidc->tokens, now);
	table_sweep(&ag->oidc->states, now);
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
 * the transaction when the browser comes back.
 */
static json_t *
upstream_start(struct fg_agent *ag, struct tx *t, const uint8_t id[FG_TX_LEN])
{
	const struct fg_upstream *u = fg_gate_upstream(&ag->cfg.gate);
	uint8_t raw[32], h[32];
	char *state = NULL, *challenge = NULL;
	uint8_t *txid = NULL;
	json_t *up = NULL;

	if (u == NULL || (state = random_b64(sizeof(raw), raw)) == NULL ||
	    (t->up_nonce = random_b64(32, NULL)) == NULL ||
	    (t->up_verifier = random_b64(32, NULL)) == NULL ||
	    (txid = malloc(FG_TX_LEN)) == NULL)
		goto out;
	fg_sha256(t->up_verifier, strlen(t->up_verifier), h);
	if ((challenge = fg_b64url_encode(h, sizeof(h))) == NULL)
		goto out;
	memcpy(txid, id, FG_TX_LEN);
	if (table_put(&ag->oidc->states, raw, sizeof(raw),
		(int64_t)TX_TTL_S * 1000, txid) != FG_OK)
		goto out;
	txid = NULL;
	up = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "name", u->name, "state",
	    state, "nonce", t->up_nonce, "code_challenge", challenge, "scope",
	    u->scopes, "params", u->params);
out:
	free(txid);
	free(state);
	free(challenge);
	return up;
}

json_t *
fg_op_oidc_authorize(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	const json_t *params = json_object_get(req, "params"), *v;
	const struct fg_oidc_client *client;
	const char *redirect, *state, *nonce, *challenge, *method, *scope,
	    *prompt, *mode, *key;
	uint8_t id[FG_TX_LEN];
	struct tx *t = NULL;
	char *err_url = NULL, *tx_s = NULL;
	json_t *reply = NULL, *up = NULL;
	size_t i;
	int r;

	if (!web_caller(peer))
		return fg_denied();
	if (!fg_gate_on(ag))
		return gate_off();
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
	if (ag->cfg.gate.ff == FG_FF_OIDC &&
	    (up = upstream_start(ag, t, id)) == NULL) {
		reply = fg_reply_error(FG_E_INTERNAL, "out of memory");
		goto out;
	}
	if ((r = table_put(&ag->oidc->tx, id, sizeof(id),
		 (int64_t)TX_TTL_S * 1000, t)) != FG_OK) {
		reply = fg_reply_error(r == FG_ERR_LIMIT ? FG_E_LIMIT :
							   FG_E_INTERNAL,
		    "too many logins under way; try again shortly");
		goto out;
	}
	t = NULL;
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

/* The transaction named in req: its entry, or NULL. */
static struct entry *
tx_of(struct fg_agent *ag, const json_t *req, uint8_t id[FG_TX_LEN])
{
	struct entry *e;

	if (!decode_id(fg_json_str(req, "tx"), id, FG_TX_LEN))
		return NULL;
	e = table_get(&ag->oidc->tx, id, FG_TX_LEN);
	/* an invitation's page is no login */
	return e != NULL && ((struct tx *)e->value)->invite == NULL ? e : NULL;
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

/* The key's challenge, once the first factor (if any) has passed. */
static json_t *
web_challenge(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req, const char *user)
{
	uint8_t id[FG_TX_LEN];
	struct fg_chal *c = NULL;
	struct entry *e;
	struct tx *t;
	json_t *reply;

	if ((e = tx_of(ag, req, id)) == NULL)
		return fg_reply_error(FG_E_NO_SESSION,
		    "this login has expired: start again from the homeserver");
	t = e->value;
	/* one challenge per login at a time: the page's retry replaces the
	 * last one (no failure), and no login can hold many */
	if (t->has_session) {
		fg_login_drop(ag, t->session);
		t->has_session = false;
	}
	/* without a first factor the key must verify the user (PIN) */
	reply = fg_login_begin(ag, peer, FG_OP_WEB_BEGIN, user,
	    t->client->id, FG_PURPOSE_WEB, ag->cfg.gate.ff == FG_FF_NONE, &c);
	if (c != NULL) {
		memcpy(c->tx, id, sizeof(id));
		memcpy(t->session, c->session, sizeof(t->session));
		t->has_session = true;
	}
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
	json_t *reply;
	int r;

	if (!web_caller(peer))
		return fg_denied();
	if (!fg_gate_on(ag))
		return gate_off();
	if (tx_of(ag, req, id) == NULL)
		return fg_reply_error(FG_E_NO_SESSION,
		    "this login has expired: start again from the homeserver");
	/* the provider named the user: nobody types another name */
	if (ag->cfg.gate.ff == FG_FF_OIDC) {
		struct tx *t = tx_of(ag, req, id)->value;
		if (!t->up_done)
			return fg_reply_error(FG_E_DENIED,
			    "sign in with the organisation's provider first");
		snprintf(user, sizeof(user), "%s", t->up_user);
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

/* Take the web session named in req, which must belong to tx id. */
static json_t *
take_web_session(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req, const uint8_t id[FG_TX_LEN], const char *event,
    struct fg_chal **c)
{
	json_t *reply;
	bool charged;

	if ((reply = fg_take_session(ag, peer, req, FG_PURPOSE_WEB, c,
		 &charged)) != NULL) {
		fg_audit(ag, peer, event, NULL, NULL, "deny",
		    fg_json_str(reply, "message"), NULL);
		if (!charged)
			fg_failure(ag, fg_charged_uid(peer), peer->pid, NULL);
		return reply;
	}
	if (CRYPTO_memcmp((*c)->tx, id, FG_TX_LEN) != 0) {
		fg_audit(ag, peer, event, (*c)->user, NULL, "deny",
		    "the session belongs to another login", NULL);
		fg_failure_of(ag, fg_charged_uid(peer), peer->pid, FG_PURPOSE_WEB,
		    (*c)->user);
		fg_chal_free(c);
		return fg_reply_error(FG_E_NO_SESSION,
		    "the session belongs to another login");
	}
	return NULL;
}

json_t *
fg_op_web_finish(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	uint8_t id[FG_TX_LEN], raw[CODE_LEN];
	struct fg_chal *c = NULL;
	struct fg_login res;
	struct entry *e;
	struct tx *t;
	struct code *code = NULL;
	char *code_s = NULL, *url = NULL, *sid = NULL;
	json_t *reply;
	int r;

	if (!web_caller(peer))
		return fg_denied();
	if (!fg_gate_on(ag))
		return gate_off();
	if ((e = tx_of(ag, req, id)) == NULL)
		return fg_reply_error(FG_E_NO_SESSION,
		    "this login has expired: start again from the homeserver");
	if ((reply = take_web_session(ag, peer, req, id, FG_OP_WEB_FINISH,
		 &c)) != NULL)
		return reply;
	t = e->value;
	/* the browser signs for the configured web origins, not pam:// */
	reply = fg_login_finish(ag, peer, FG_OP_WEB_FINISH, c, req,
	    (const char *const *)ag->cfg.origins + 1, ag->cfg.n_origins - 1,
	    &res);
	if (!res.allowed)
		return reply;
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
	if ((r = table_put(&ag->oidc->codes, raw, sizeof(raw),
		 (int64_t)ag->cfg.gate.code_ttl * 1000, code)) != FG_OK) {
		reply = fg_reply_error(FG_E_LIMIT, "too many logins under way");
		goto out;
	}
	url = url_with(t->redirect_uri, "code", code_s, "state", t->state,
	    "iss", ag->cfg.gate.issuer, (char *)NULL);
	code = NULL;
	table_del(&ag->oidc->tx, e); /* one code per transaction */
	if (url == NULL) {
		reply = fg_reply_error(FG_E_INTERNAL, "out of memory");
		goto out;
	}
	reply = fg_reply_ok();
	json_object_set_new(reply, "result", json_string(FG_RESULT_ALLOW));
	json_object_set_new(reply, "redirect", json_string(url));
out:
	code_free(code);
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
	const char *why;
	json_t *reply;

	if (!web_caller(peer))
		return fg_denied();
	if (!fg_gate_on(ag))
		return gate_off();
	if (!fg_opt_text(req, "reason", FG_TEXT_MAX, &why))
		return fg_bad_request("reason is not short printable text");
	if (tx_of(ag, req, id) == NULL)
		return fg_reply_error(FG_E_NO_SESSION, "no such login");
	if ((reply = take_web_session(ag, peer, req, id, FG_OP_WEB_ABORT,
		 &c)) != NULL)
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

/* The transaction a provider's state belongs to; with take, the state is
 * spent: it opens one login, once. */
static struct entry *
tx_of_state(struct fg_agent *ag, const char *state, bool take)
{
	uint8_t raw[32];
	struct entry *se;
	uint8_t id[FG_TX_LEN];

	if (!decode_id(state, raw, sizeof(raw)) ||
	    (se = table_get(&ag->oidc->states, raw, sizeof(raw))) == NULL)
		return NULL;
	memcpy(id, se->value, FG_TX_LEN);
	if (take)
		table_del(&ag->oidc->states, se);
	return table_get(&ag->oidc->tx, id, FG_TX_LEN);
}

/* What the front needs to redeem the provider's code and check its
 * id_token: our nonce and PKCE verifier. The state stays unspent. */
json_t *
fg_op_upstream_session(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	struct entry *e;
	struct tx *t;
	json_t *reply;

	if (!web_caller(peer))
		return fg_denied();
	if (!fg_gate_on(ag) || fg_gate_upstream(&ag->cfg.gate) == NULL)
		return fg_reply_error(FG_E_DENIED, "no provider configured");
	if ((e = tx_of_state(ag, fg_json_str(req, "state"), false)) == NULL)
		return fg_reply_error(FG_E_NO_SESSION,
		    "unknown, used or expired state");
	t = e->value;
	reply = fg_reply_ok();
	json_object_set_new(reply, "nonce", json_string(t->up_nonce));
	json_object_set_new(reply, "code_verifier",
	    json_string(t->up_verifier));
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
    struct entry *e, const char *user, const struct fg_upstream *u)
{
	struct tx *t = e->value;
	char detail[FG_USER_NAME_MAX + 96], *tx_s;
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
		table_del(&ag->oidc->tx, e);
		return fg_reply_error(FG_E_REFUSED,
		    "this invitation is for another user");
	}
	t->invite->first_done = true;
	fg_audit(ag, peer, FG_OP_WEB_UPSTREAM, user, NULL, "ok",
	    "the organisation's provider named the invited user; the new "
	    "key follows",
	    u->name);
	if ((tx_s = fg_b64url_encode(e->key, FG_TX_LEN)) == NULL)
		return fg_reply_error(FG_E_INTERNAL, "out of memory");
	reply = fg_reply_ok();
	json_object_set_new(reply, "invite", json_true());
	json_object_set_new(reply, "user", json_string(user));
	json_object_set_new(reply, "tx", json_string(tx_s));
	json_object_set_new(reply, "uv",
	    json_string(fg_uv_policy_name(ag->cfg.uv)));
	json_object_set_new(reply, "expires_in",
	    json_integer((e->expires - fg_now_ms()) / 1000));
	free(tx_s);
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
	struct entry *e;
	struct tx *t;
	json_t *reply, *amr;
	size_t i;

	if (!web_caller(peer))
		return fg_denied();
	if (!fg_gate_on(ag) || (u = fg_gate_upstream(&ag->cfg.gate)) == NULL)
		return fg_reply_error(FG_E_DENIED, "no provider configured");
	if ((e = tx_of_state(ag, fg_json_str(req, "state"), true)) == NULL) {
		fg_audit_quiet(ag, peer, FG_OP_WEB_UPSTREAM,
		    "the provider's answer carries an unknown, used or "
		    "expired state",
		    u->name);
		return fg_reply_error(FG_E_NO_SESSION,
		    "this sign-in is unknown, used or expired: start again");
	}
	t = e->value;
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
		table_del(&ag->oidc->tx, e);
		return fg_reply_error(FG_E_REFUSED,
		    "the organisation's sign-in could not be verified");
	}
	acr = fg_json_str(claims, "acr");
	for (i = 0; i < u->n_acr; i++)
		if (acr != NULL && strcmp(acr, u->acr[i]) == 0)
			break;
	if (u->n_acr > 0 && i == u->n_acr) {
		fg_audit(ag, peer, FG_OP_WEB_UPSTREAM, invited, NULL, "deny",
		    "the provider's acr is not one of those accepted", u->name);
		table_del(&ag->oidc->tx, e);
		return fg_reply_error(FG_E_REFUSED,
		    "the organisation's sign-in is not strong enough for this "
		    "service");
	}
	if ((why = upstream_user(u, claims, user, sizeof(user))) != NULL) {
		fg_audit(ag, peer, FG_OP_WEB_UPSTREAM, invited, NULL, "deny",
		    why, u->name);
		table_del(&ag->oidc->tx, e);
		reply = fg_reply_error(FG_E_REFUSED, why);
		return reply;
	}
	if (t->invite != NULL)
		return invite_upstream(ag, peer, e, user, u);
	snprintf(t->up_user, sizeof(t->up_user), "%s", user);
	t->up_done = true;
	amr = json_object_get(claims, "amr");
	if (json_is_array(amr) && json_array_size(amr) <= 8)
		t->up_amr = json_incref(amr);
	fg_audit(ag, peer, FG_OP_WEB_UPSTREAM, user, NULL, "ok",
	    "the organisation's provider named the user; the key follows",
	    u->name);
	reply = fg_reply_ok();
	json_object_set_new(reply, "user", json_string(user));
	json_object_set_new(reply, "client", json_string(t->client->name));
	json_object_set_new(reply, "uv",
	    json_string(fg_uv_policy_name(ag->cfg.uv)));
	json_object_set_new(reply, "expires_in",
	    json_integer((e->expires - fg_now_ms()) / 1000));
	{
		char *tx_s = fg_b64url_encode(e->key, FG_TX_LEN);
		json_object_set_new(reply, "tx",
		    tx_s != NULL ? json_string(tx_s) : json_null());
		free(tx_s);
	}
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
 * (RFC 6749 §4.1.2): the access token, and the approval. */
static void
code_replayed(struct fg_agent *ag, const struct fg_peer *peer,
    struct code *code)
{
	struct entry *t = table_get(&ag->oidc->tokens, code->token,
	    sizeof(code->token));
	struct fg_audit a = { .event = FG_OP_OIDC_TOKEN, .user = code->user,
		.caller_uid = peer->uid, .caller_pid = peer->pid,
		.result = "deny",
		.reason = "code used twice: its tokens and approval revoked",
		.detail = code->client->id };

	if (t != NULL)
		table_del(&ag->oidc->tokens, t);
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
	uint8_t raw[CODE_LEN], traw[TOKEN_LEN];
	struct code *code;
	struct token *tok = NULL;
	struct entry *e;
	struct fg_audit a;
	char *access = NULL, *idt = NULL;
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
	if (!decode_id(fg_json_str(req, "code"), raw, sizeof(raw)) ||
	    (e = table_get(&ag->oidc->codes, raw, sizeof(raw))) == NULL) {
		fg_audit(ag, peer, FG_OP_OIDC_TOKEN, NULL, NULL, "deny",
		    "unknown or expired code", client->id);
		return oauth_error("invalid_grant",
		    "the code is unknown or expired", NULL);
	}
	code = e->value;
	if (code->used) {
		code_replayed(ag, peer, code);
		return oauth_error("invalid_grant",
		    "the code was already used; what it gave is revoked", NULL);
	}
	if (code->client != client || redirect == NULL ||
	    strcmp(redirect, code->redirect_uri) != 0) {
		fg_audit(ag, peer, FG_OP_OIDC_TOKEN, code->user, NULL, "deny",
		    "code presented by another client or for another "
		    "redirect_uri",
		    client->id);
		return oauth_error("invalid_grant",
		    "the code was issued to another client or redirect_uri",
		    NULL);
	}
	if (code->challenge != NULL ?
		!pkce_matches(fg_json_str(req, "code_verifier"),
		    code->challenge) :
		fg_json_str(req, "code_verifier") != NULL) {
		fg_audit(ag, peer, FG_OP_OIDC_TOKEN, code->user, NULL, "deny",
		    "PKCE verifier does not match", client->id);
		return oauth_error("invalid_grant",
		    "code_verifier does not match the code_challenge", NULL);
	}
	/* the code is spent from here, whatever comes next */
	code->used = true;
	/* a lock since the key said yes: no tokens, no approval */
	if ((r = fg_locked(ag, code->user)) != FG_OK) {
		fg_audit(ag, peer, FG_OP_OIDC_TOKEN, code->user, NULL, "deny",
		    r == FG_ERR_DENIED ? "locked out" : "store unreadable",
		    client->id);
		return r == FG_ERR_DENIED ?
		    oauth_error("invalid_grant", "the account is locked",
			NULL) :
		    fg_store_failed();
	}
	if ((access = random_b64(TOKEN_LEN, traw)) == NULL ||
	    (claims = claims_of(ag, code, access, client->alg)) == NULL ||
	    (idt = fg_keys_sign(ag, client->alg, claims)) == NULL ||
	    (tok = calloc(1, sizeof(*tok))) == NULL ||
	    (tok->user = strdup(code->user)) == NULL ||
	    (tok->scope = strdup(code->scope)) == NULL) {
		reply = fg_reply_error(FG_E_INTERNAL, "cannot make the tokens");
		goto out;
	}
	tok->client = client;
	memcpy(tok->handle, code->handle, sizeof(tok->handle));
	if (table_put(&ag->oidc->tokens, traw, sizeof(traw),
		(int64_t)ag->cfg.gate.token_ttl * 1000, tok) != FG_OK) {
		reply = fg_reply_error(FG_E_LIMIT, "too many tokens");
		goto out;
	}
	tok = NULL;
	memcpy(code->token, traw, sizeof(traw));
	/* the homeserver's next login for the user may consume this */
	a = (struct fg_audit){ .event = FG_OP_OIDC_TOKEN, .user = code->user,
		.caller_uid = peer->uid, .caller_pid = peer->pid,
		.result = "allow", .reason = "id_token issued; approval recorded",
		.detail = client->id };
	if (fg_store_approval_add(ag->store, code->user, code->sid, client->id,
		&a) != FG_OK) {
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
	token_free(tok);
	json_decref(claims);
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
	uint8_t raw[TOKEN_LEN];
	struct entry *e;
	struct token *t;
	char *sub;
	json_t *reply;

	if (!web_caller(peer))
		return fg_denied();
	if (!fg_gate_on(ag))
		return gate_off();
	if (!decode_id(fg_json_str(req, "access_token"), raw, sizeof(raw)) ||
	    (e = table_get(&ag->oidc->tokens, raw, sizeof(raw))) == NULL)
		return oauth_error("invalid_token",
		    "the access token is unknown, expired or revoked", NULL);
	t = e->value;
	if (fg_locked(ag, t->user) != FG_OK) {
		fg_audit(ag, peer, FG_OP_OIDC_USERINFO, t->user, NULL, "deny",
		    "locked out (or the store is unreadable)", t->client->id);
		table_del(&ag->oidc->tokens, e);
		return oauth_error("invalid_token",
		    "the access token is unknown, expired or revoked", NULL);
	}
	if ((sub = fg_b64url_encode(t->handle, sizeof(t->handle))) == NULL)
		return fg_reply_error(FG_E_INTERNAL, "out of memory");
	reply = fg_reply_ok();
	json_object_set_new(reply, "claims",
	    json_pack("{s:s,s:s}", "sub", sub, "preferred_username", t->user));
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

static size_t
drop_of_user(struct table *t, const char *user,
    const char *(*user_of)(const void *))
{
	struct entry **pp, *e;
	size_t i, n = 0;

	for (i = 0; i < NBUCKETS; i++) {
		pp = &t->b[i];
		while ((e = *pp) != NULL) {
			if (strcmp(user_of(e->value), user) == 0) {
				*pp = e->next;
				t->free_value(e->value);
				OPENSSL_cleanse(e, sizeof(*e));
				free(e);
				t->count--;
				n++;
			} else
				pp = &e->next;
		}
	}
	return n;
}

static const char *
code_user(const void *p)
{
	return ((const struct code *)p)->user;
}

/* the codes a client could still redeem */
static size_t
unused_codes(struct table *t, const char *user)
{
	struct entry *e;
	size_t i, n = 0;

	for (i = 0; i < NBUCKETS; i++)
		for (e = t->b[i]; e != NULL; e = e->next)
			if (!((struct code *)e->value)->used &&
			    strcmp(((struct code *)e->value)->user, user) == 0)
				n++;
	return n;
}

static const char *
token_user(const void *p)
{
	return ((const struct token *)p)->user;
}

void
fg_oidc_revoke_user(struct fg_agent *ag, const char *user, size_t *codes,
    size_t *tokens)
{
	*codes = *tokens = 0;
	if (ag->oidc == NULL)
		return;
	*codes = unused_codes(&ag->oidc->codes, user);
	drop_of_user(&ag->oidc->codes, user, code_user);
	*tokens = drop_of_user(&ag->oidc->tokens, user, token_user);
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
    const char *user, json_t *reply)
{
	uint8_t id[FG_TX_LEN];
	struct tx *t = NULL;
	char *tx_s = NULL;
	json_t *up = NULL;
	int r, ret = FG_ERR_NOMEM;

	if ((t = calloc(1, sizeof(*t))) == NULL ||
	    (t->invite = calloc(1, sizeof(*t->invite))) == NULL ||
	    fg_random(id, sizeof(id)) != FG_OK ||
	    (tx_s = fg_b64url_encode(id, sizeof(id))) == NULL)
		goto out;
	memcpy(t->invite->hash, hash, sizeof(t->invite->hash));
	snprintf(t->invite->user, sizeof(t->invite->user), "%s", user);
	if (ag->cfg.gate.ff == FG_FF_OIDC &&
	    (up = upstream_start(ag, t, id)) == NULL)
		goto out;
	if ((r = table_put(&ag->oidc->tx, id, sizeof(id),
		 (int64_t)TX_TTL_S * 1000, t)) != FG_OK) {
		ret = r;
		goto out;
	}
	t = NULL;
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
	struct entry *e;

	if (!fg_gate_on(ag) || !decode_id(fg_json_str(req, "tx"), id, FG_TX_LEN) ||
	    (e = table_get(&ag->oidc->tx, id, FG_TX_LEN)) == NULL)
		return NULL;
	return ((struct tx *)e->value)->invite;
}

void
fg_oidc_invite_end(struct fg_agent *ag, const uint8_t id[FG_TX_LEN])
{
	struct entry *e = table_get(&ag->oidc->tx, id, FG_TX_LEN);

	if (e != NULL && ((struct tx *)e->value)->invite != NULL)
		table_del(&ag->oidc->tx, e);
}
