/*
 * The web front as the relying party of the organisation's provider
 * ([web] first_factor = oidc:NAME in the agent). The agent keeps the
 * flow's state (our state, nonce and PKCE verifier) and decides who the
 * user is; this file talks to the provider: its settings from the agent
 * (upstream.config), its discovery document and JWKS, the code redeemed
 * at its token endpoint, the id_token checked (idtoken.c). Outbound
 * requests go only to the configured discovery URL and the endpoints that
 * document names, over HTTPS with verification always on, each bounded in
 * time and size, with nothing from the environment (no proxy). What is
 * fetched is kept in one immutable snapshot, replaced whole under a mutex
 * and never held across a request, so the server's threads share it.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "web.h"

#define SECRET_MAX 512

/* upstream.config, checked */
struct conf {
	char name[FG_UP_NAME_MAX + 1];
	char issuer[FG_ORIGIN_MAX + 1];
	char discovery[FG_ORIGIN_MAX + 1];
	char client_id[256];
	const char *secret; /* in the snapshot's raw reply */
	bool post;	    /* client_secret_post, else _basic */
	char algs[64];
	unsigned skew;
	unsigned timeout; /* seconds */
	char ca_file[256];
};

/* What the front knows of the provider: never changed once made. */
struct snap {
	unsigned refs; /* under fg_up's lock */
	json_t *raw;   /* the agent's settings, to see when they change */
	struct conf c;
	struct fg_up_endpoints ep;
	json_t *jwks;
	char *redirect_uri; /* ours: <base-url>/upstream/callback */
};

struct fg_up {
	pthread_mutex_t lock;
	struct snap *cur;
	struct fg_web_agent agent;
	char *base_url;	  /* NULL: the agent's issuer */
	pthread_t loader; /* the first load, at start */
	bool loading;
};

/* A response, bounded. */
struct body {
	struct fg_buf b;
	bool too_large;
	char type[128]; /* its Content-Type, or "" */
};

/* claims the provider's userinfo may not add to, or change in, the
 * id_token's: they say who issued what, for whom, when */
static const char *const id_token_only[] = {"iss", "sub", "aud", "exp", "iat",
    "nbf", "nonce", "acr", "amr", "azp", "auth_time", "at_hash", "c_hash",
    "sid", "jti", NULL};

#define CLAIMS_MAX 32768 /* bytes of claims handed to the agent */

/* --- snapshots --- */

static void
snap_put(struct fg_up *up, struct snap **sp)
{
	struct snap *s = *sp;
	bool last;

	if (s == NULL)
		return;
	*sp = NULL;
	pthread_mutex_lock(&up->lock);
	last = --s->refs == 0;
	pthread_mutex_unlock(&up->lock);
	if (!last)
		return;
	json_decref(s->raw); /* jansson's memory is wiped on release */
	json_decref(s->jwks);
	fg_up_endpoints_clear(&s->ep);
	free(s->redirect_uri);
	explicit_bzero(&s->c, sizeof(s->c));
	free(s);
}

/* the current snapshot, with a reference, or NULL */
static struct snap *
snap_get(struct fg_up *up)
{
	struct snap *s;

	pthread_mutex_lock(&up->lock);
	if ((s = up->cur) != NULL)
		s->refs++;
	pthread_mutex_unlock(&up->lock);
	return s;
}

/* s becomes the current snapshot (the caller keeps its reference) */
static void
snap_install(struct fg_up *up, struct snap *s)
{
	struct snap *old;

	pthread_mutex_lock(&up->lock);
	old = up->cur;
	up->cur = s;
	s->refs++;
	pthread_mutex_unlock(&up->lock);
	snap_put(up, &old);
}

/* --- the agent's settings --- */

static bool
text_ok(const char *s, size_t max)
{
	return s != NULL && s[0] != '\0' && strlen(s) <= max &&
	    fg_text_printable(s, strlen(s));
}

static bool
https(const char *s)
{
	return s != NULL && strncmp(s, "https://", 8) == 0 && fg_url_sane(s);
}

static bool
copy_to(char *buf, size_t len, const char *s)
{
	if (s == NULL || strlen(s) >= len)
		return false;
	memcpy(buf, s, strlen(s) + 1);
	return true;
}

/* the agent's "upstream": everything this front needs, or why not */
static bool
conf_parse(const json_t *u, struct conf *c, const char **why)
{
	static const char *const algs[] = {"RS256", "RS384", "RS512", "PS256",
	    "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", NULL};
	const char *auth = fg_json_str(u, "token_auth");
	const char *ca = fg_json_str(u, "ca_file");
	const json_t *skew = json_object_get(u, "skew");
	const json_t *timeout = json_object_get(u, "timeout");
	char copy[64], *tok, *save = NULL;
	size_t i;

	memset(c, 0, sizeof(*c));
	*why = "the agent's upstream.config is malformed";
	if (!text_ok(fg_json_str(u, "name"), FG_UP_NAME_MAX) ||
	    !copy_to(c->name, sizeof(c->name), fg_json_str(u, "name")) ||
	    !text_ok(fg_json_str(u, "client_id"), sizeof(c->client_id) - 1) ||
	    !copy_to(c->client_id, sizeof(c->client_id),
		fg_json_str(u, "client_id")) ||
	    !text_ok(fg_json_str(u, "client_secret"), SECRET_MAX) ||
	    auth == NULL ||
	    (strcmp(auth, "client_secret_basic") != 0 &&
		strcmp(auth, "client_secret_post") != 0) ||
	    !json_is_integer(skew) || json_integer_value(skew) < 0 ||
	    json_integer_value(skew) > 600 || !json_is_integer(timeout) ||
	    json_integer_value(timeout) < 1 ||
	    json_integer_value(timeout) > 60 || ca == NULL ||
	    (ca[0] != '\0' && ca[0] != '/') ||
	    !copy_to(c->ca_file, sizeof(c->ca_file), ca) ||
	    !text_ok(fg_json_str(u, "algs"), sizeof(c->algs) - 1) ||
	    !copy_to(c->algs, sizeof(c->algs), fg_json_str(u, "algs")))
		return false;
	c->secret = fg_json_str(u, "client_secret");
	c->post = strcmp(auth, "client_secret_post") == 0;
	c->skew = (unsigned)json_integer_value(skew);
	c->timeout = (unsigned)json_integer_value(timeout);
	/* asymmetric algorithms only, whatever the agent let through */
	snprintf(copy, sizeof(copy), "%s", c->algs);
	for (tok = strtok_r(copy, " ", &save); tok != NULL;
	     tok = strtok_r(NULL, " ", &save)) {
		for (i = 0; algs[i] != NULL && strcmp(algs[i], tok) != 0; i++)
			;
		if (algs[i] == NULL) {
			*why = "the agent's algs name one this front refuses "
			       "(only asymmetric algorithms)";
			return false;
		}
	}
	if (!https(fg_json_str(u, "issuer")) ||
	    !copy_to(c->issuer, sizeof(c->issuer), fg_json_str(u, "issuer")) ||
	    !https(fg_json_str(u, "discovery_url")) ||
	    !copy_to(c->discovery, sizeof(c->discovery),
		fg_json_str(u, "discovery_url"))) {
		*why = "the provider's issuer and discovery_url must be https "
		       "URLs";
		return false;
	}
	return true;
}

/* --- HTTPS --- */

static size_t
on_data(char *p, size_t size, size_t n, void *cls)
{
	struct body *b = cls;

	/* size is 1 (libcurl's promise); the cap counts what came */
	if (n > FG_UP_BODY_MAX || b->b.len + n >= FG_UP_BODY_MAX) {
		b->too_large = true;
		return 0;
	}
	fg_buf_add(&b->b, p, size * n);
	return b->b.failed ? 0 : size * n;
}

/* printable ASCII of s, into buf (for the audit and the log) */
static const char *
ascii(const char *s, char *buf, size_t len)
{
	return fg_oauth_text(s, buf, len);
}

/*
 * One request: GET url, or POST form (application/x-www-form-urlencoded)
 * with an Authorization header when auth is set. FG_OK with *status and
 * the body (any status); FG_ERR_TIMEOUT, FG_ERR_TOOBIG, FG_ERR_IO (why,
 * in words, for the audit: what failed and libcurl's reason).
 */
static int
http(const struct conf *c, const char *what, const char *url, const char *form,
    const char *auth, long *status, struct body *out, char *why, size_t whylen)
{
	char errbuf[CURL_ERROR_SIZE] = "", text[96];
	struct curl_slist *hdrs = NULL, *h;
	CURL *e = NULL;
	CURLcode rc;
	int ret = FG_ERR_IO;

	memset(out, 0, sizeof(*out));
	*status = 0;
	if ((e = curl_easy_init()) == NULL ||
	    (hdrs = curl_slist_append(NULL, "Accept: application/json")) ==
		NULL) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	if (auth != NULL) {
		if ((h = curl_slist_append(hdrs, auth)) == NULL) {
			snprintf(why, whylen, "out of memory");
			goto out;
		}
		hdrs = h;
	}
	/* https only, verified, no redirect, no proxy, bounded */
	if (curl_easy_setopt(e, CURLOPT_URL, url) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https") != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "https") !=
		CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_SSLVERSION,
		(long)CURL_SSLVERSION_TLSv1_2) != CURLE_OK ||
	    (c->ca_file[0] != '\0' &&
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file) != CURLE_OK) ||
	    curl_easy_setopt(e, CURLOPT_PROXY, "") != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOPROXY, "*") != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)c->timeout * 1000L) !=
		CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
		(long)c->timeout * 1000L) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE,
		(curl_off_t)FG_UP_BODY_MAX) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, out) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_USERAGENT,
		"fido2gate-web/" FG_VERSION) != CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs) != CURLE_OK ||
	    (form != NULL &&
		(curl_easy_setopt(e, CURLOPT_POSTFIELDS, form) != CURLE_OK ||
		    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE,
			(long)strlen(form)) != CURLE_OK))) {
		snprintf(why, whylen, "libcurl refused an option");
		goto out;
	}
	rc = curl_easy_perform(e);
	if (rc == CURLE_OPERATION_TIMEDOUT) {
		snprintf(why, whylen,
		    "the provider's %s did not answer within %u s", what,
		    c->timeout);
		ret = FG_ERR_TIMEOUT;
		goto out;
	}
	if (out->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
		snprintf(why, whylen,
		    "the provider's %s answered more than 1 MiB", what);
		ret = FG_ERR_TOOBIG;
		goto out;
	}
	if (rc != CURLE_OK || out->b.failed) {
		snprintf(why, whylen, "the provider's %s cannot be reached: %s",
		    what,
		    ascii(errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc),
			text, sizeof(text)));
		goto out;
	}
	if (curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status) != CURLE_OK) {
		snprintf(why, whylen, "libcurl gave no status");
		goto out;
	}
	{
		char *type = NULL;
		if (curl_easy_getinfo(e, CURLINFO_CONTENT_TYPE, &type) ==
			CURLE_OK &&
		    type != NULL)
			snprintf(out->type, sizeof(out->type), "%s", type);
	}
	ret = FG_OK;
out:
	curl_slist_free_all(hdrs);
	if (e != NULL)
		curl_easy_cleanup(e);
	if (ret != FG_OK)
		fg_buf_free(&out->b);
	return ret;
}

/* GET url: a JSON object, or why not */
static json_t *
get_json(const struct conf *c, const char *what, const char *url, int *ret,
    char *why, size_t whylen)
{
	struct body b;
	json_t *o = NULL;
	long status;

	if ((*ret = http(c, what, url, NULL, NULL, &status, &b, why, whylen)) !=
	    FG_OK)
		return NULL;
	*ret = FG_ERR_IO;
	if (status != 200)
		snprintf(why, whylen, "the provider's %s answered HTTP %ld",
		    what, status);
	else if ((o = json_loadb(b.b.p != NULL ? b.b.p : "", b.b.len,
		      JSON_REJECT_DUPLICATES, NULL)) == NULL ||
	    !json_is_object(o)) {
		json_decref(o);
		o = NULL;
		snprintf(why, whylen, "the provider's %s is not a JSON object",
		    what);
	} else
		*ret = FG_OK;
	fg_buf_free(&b.b);
	return o;
}

static json_t *
get_jwks(const struct conf *c, const char *url, char *why, size_t whylen)
{
	json_t *jwks;
	int r;

	if ((jwks = get_json(c, "JWKS", url, &r, why, whylen)) != NULL &&
	    !json_is_array(json_object_get(jwks, "keys"))) {
		snprintf(why, whylen, "the provider's JWKS has no keys");
		json_decref(jwks);
		jwks = NULL;
	}
	return jwks;
}

/* --- loading --- */

/* <base>/upstream/callback, base being --base-url or else the agent's
 * issuer (the front's public URL, by definition) */
static char *
redirect_uri(struct fg_up *up, char *why, size_t whylen)
{
	struct fg_refusal refusal;
	json_t *reply = NULL;
	const char *base = up->base_url;
	char err[256], *out = NULL;
	size_t n;

	if (base == NULL) {
		if (fg_web_call(&up->agent,
			json_pack("{s:s}", "op", FG_OP_OIDC_DISCOVERY), &reply,
			&refusal, err, sizeof(err)) != FG_OK ||
		    (base = fg_json_str(json_object_get(reply, "document"),
			 "issuer")) == NULL ||
		    !fg_url_sane(base)) {
			snprintf(why, whylen,
			    "the agent's issuer, the base of our redirect_uri, "
			    "is unknown");
			json_decref(reply);
			return NULL;
		}
	}
	n = strlen(base);
	while (n > 0 && base[n - 1] == '/')
		n--;
	if (asprintf(&out, "%.*s/upstream/callback", (int)n, base) < 0)
		out = NULL;
	json_decref(reply);
	return out;
}

/*
 * The agent's settings; when they are those of the current snapshot, it
 * (with a reference); else a new one from the provider's discovery and
 * JWKS, made current. FG_ERR_NOTFOUND: no provider configured.
 */
static int
load(struct fg_up *up, struct snap **out, enum fg_up_fail *fail, char *why,
    size_t whylen)
{
	struct fg_refusal refusal;
	json_t *reply = NULL, *doc = NULL;
	struct snap *s = NULL, *cur;
	const char *w;
	char err[256];
	int r;

	*out = NULL;
	*fail = FG_UP_UNREACHABLE;
	r = fg_web_call(&up->agent,
	    json_pack("{s:s}", "op", FG_OP_UPSTREAM_CONFIG), &reply, &refusal,
	    err, sizeof(err));
	/* denied: no provider; unknown_op: an agent without the gate's
	 * provider at all */
	if (r == FG_ERR_DENIED &&
	    (strcmp(refusal.code, FG_E_DENIED) == 0 ||
		strcmp(refusal.code, FG_E_UNKNOWN_OP) == 0)) {
		snprintf(why, whylen, "no provider is configured");
		*fail = FG_UP_AGENT;
		r = FG_ERR_NOTFOUND;
		goto out;
	}
	if (r != FG_OK) {
		snprintf(why, whylen, "the agent: %s", err);
		*fail = FG_UP_AGENT;
		r = FG_ERR_UNAVAIL;
		goto out;
	}
	if ((cur = snap_get(up)) != NULL) {
		if (json_equal(cur->raw, json_object_get(reply, "upstream"))) {
			*out = cur;
			r = FG_OK;
			goto out;
		}
		snap_put(up, &cur);
	}
	r = FG_ERR_INVALID;
	*fail = FG_UP_INVALID;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		*fail = FG_UP_NOMEM;
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	s->refs = 1;
	s->raw = json_incref(json_object_get(reply, "upstream"));
	if (!json_is_object(s->raw) || !conf_parse(s->raw, &s->c, &w)) {
		snprintf(why, whylen, "%s",
		    s->raw != NULL
			? w
			: "the agent's upstream.config has no upstream");
		goto out;
	}
	if ((s->redirect_uri = redirect_uri(up, why, whylen)) == NULL)
		goto out;
	*fail = FG_UP_UNREACHABLE;
	if ((doc = get_json(&s->c, "discovery document", s->c.discovery, &r,
		 why, whylen)) == NULL)
		goto out;
	*fail = FG_UP_INVALID;
	if ((r = fg_up_discovery(doc, s->c.issuer, &s->ep, &w)) != FG_OK) {
		snprintf(why, whylen, "%s", w);
		goto out;
	}
	*fail = FG_UP_UNREACHABLE;
	if ((s->jwks = get_jwks(&s->c, s->ep.jwks, why, whylen)) == NULL) {
		r = FG_ERR_IO;
		goto out;
	}
	snap_install(up, s);
	*out = s;
	s = NULL;
	*fail = FG_UP_OK;
	r = FG_OK;
out:
	snap_put(up, &s);
	json_decref(doc);
	json_decref(reply);
	return r;
}

/* the current snapshot, loading one when there is none */
static struct snap *
current(struct fg_up *up, enum fg_up_fail *fail, char *why, size_t whylen)
{
	struct snap *s = snap_get(up);

	if (s == NULL && load(up, &s, fail, why, whylen) != FG_OK)
		return NULL;
	return s;
}

/* old with a fresh JWKS, made current: a new snapshot, or NULL */
static struct snap *
refetch_jwks(struct fg_up *up, const struct snap *old, char *why, size_t whylen)
{
	struct snap *s;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	s->refs = 1;
	s->raw = json_incref(old->raw);
	s->c = old->c;
	if ((s->redirect_uri = strdup(old->redirect_uri)) == NULL ||
	    (old->ep.userinfo != NULL &&
		(s->ep.userinfo = strdup(old->ep.userinfo)) == NULL) ||
	    (s->ep.authorization = strdup(old->ep.authorization)) == NULL ||
	    (s->ep.token = strdup(old->ep.token)) == NULL ||
	    (s->ep.jwks = strdup(old->ep.jwks)) == NULL) {
		snprintf(why, whylen, "out of memory");
		snap_put(up, &s);
		return NULL;
	}
	if ((s->jwks = get_jwks(&s->c, s->ep.jwks, why, whylen)) == NULL) {
		snap_put(up, &s);
		return NULL;
	}
	snap_install(up, s);
	return s;
}

static void *
first_load(void *arg)
{
	struct fg_up *up = arg;
	enum fg_up_fail fail;
	struct snap *s = NULL;
	char why[256];
	int r;

	r = load(up, &s, &fail, why, sizeof(why));
	if (r == FG_OK)
		fprintf(stderr,
		    "fido2gate-web: the organisation's provider %s: "
		    "discovery and keys loaded from %s\n",
		    s->c.name, s->c.discovery);
	else if (r != FG_ERR_NOTFOUND)
		fprintf(stderr,
		    "fido2gate-web: the organisation's provider: %s "
		    "(tried again at the next login)\n",
		    why);
	snap_put(up, &s);
	return NULL;
}

/* --- the token request --- */

/* "Authorization: Basic base64(urlenc(id) ':' urlenc(secret))"
 * (RFC 6749 §2.3.1), or NULL */
static char *
basic_header(const struct conf *c)
{
	struct fg_buf cred = {0}, out = {0};
	unsigned char *b64 = NULL;
	size_t len = 0, blen;
	char *s = NULL, *h = NULL;

	fg_buf_urlenc(&cred, c->client_id);
	fg_buf_str(&cred, ":");
	fg_buf_urlenc(&cred, c->secret);
	if ((s = fg_buf_take(&cred, &len)) == NULL ||
	    (b64 = malloc((len + 2) / 3 * 4 + 1)) == NULL)
		goto out;
	blen = (size_t)EVP_EncodeBlock(b64, (const unsigned char *)s, (int)len);
	fg_buf_str(&out, "Authorization: Basic ");
	fg_buf_add(&out, (const char *)b64, blen);
	h = fg_buf_take(&out, &len);
	fg_wipe_free(b64, blen + 1);
	b64 = NULL;
out:
	free(b64);
	if (s != NULL)
		fg_wipe_free(s, strlen(s) + 1);
	fg_buf_free(&out);
	return h;
}

static char *
token_form(const struct snap *s, const char *code, const char *verifier)
{
	const struct conf *c = &s->c;
	struct fg_buf b = {0};
	size_t len;

	fg_buf_str(&b, "grant_type=authorization_code&code=");
	fg_buf_urlenc(&b, code);
	fg_buf_str(&b, "&redirect_uri=");
	fg_buf_urlenc(&b, s->redirect_uri);
	fg_buf_str(&b, "&code_verifier=");
	fg_buf_urlenc(&b, verifier);
	if (c->post) {
		fg_buf_str(&b, "&client_id=");
		fg_buf_urlenc(&b, c->client_id);
		fg_buf_str(&b, "&client_secret=");
		fg_buf_urlenc(&b, c->secret);
	}
	return fg_buf_take(&b, &len);
}

/* The provider's userinfo (a GET with the access token), checked, its
 * claims added to those of the id_token that are not its own */
static enum fg_up_fail
userinfo(const struct snap *s, const char *access_token,
    const struct fg_idtoken_want *want, json_t *claims, char *why,
    size_t whylen)
{
	struct fg_buf hb = {0};
	struct body b = {0};
	json_t *ui = NULL, *v;
	const char *w = NULL, *name;
	enum fg_up_fail fail = FG_UP_UNREACHABLE;
	char *auth = NULL, *dump = NULL;
	size_t len = 0, i;
	long status;

	fg_buf_str(&hb, "Authorization: Bearer ");
	fg_buf_str(&hb, access_token);
	if ((auth = fg_buf_take(&hb, &len)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return FG_UP_NOMEM;
	}
	if (http(&s->c, "userinfo endpoint", s->ep.userinfo, NULL, auth,
		&status, &b, why, whylen) != FG_OK)
		goto out;
	if (status >= 500) {
		snprintf(why, whylen,
		    "the provider's userinfo endpoint answered HTTP %ld",
		    status);
		goto out;
	}
	fail = FG_UP_INVALID;
	if (fg_up_userinfo(status, b.type, b.b.p != NULL ? b.b.p : "", b.b.len,
		s->jwks, want, fg_json_str(claims, "sub"), &ui, &w) != FG_OK) {
		snprintf(why, whylen, "%s", w);
		goto out;
	}
	json_object_foreach(ui, name, v)
	{
		for (i = 0; id_token_only[i] != NULL &&
		     strcmp(id_token_only[i], name) != 0;
		     i++)
			;
		if (id_token_only[i] == NULL &&
		    json_object_get(claims, name) == NULL &&
		    json_object_set(claims, name, v) != 0) {
			snprintf(why, whylen, "out of memory");
			fail = FG_UP_NOMEM;
			goto out;
		}
	}
	if ((dump = json_dumps(claims, JSON_COMPACT)) == NULL ||
	    strlen(dump) > CLAIMS_MAX) {
		snprintf(why, whylen, "the provider's claims are over 32 KiB");
		goto out;
	}
	fail = FG_UP_OK;
out:
	free(dump);
	json_decref(ui);
	fg_buf_free(&b.b);
	fg_wipe_free(auth, len + 1);
	return fail;
}

/* --- public --- */

struct fg_up *
fg_up_new(const struct fg_web_agent *agent, const char *base_url)
{
	struct fg_up *up = calloc(1, sizeof(*up));

	if (up == NULL ||
	    (base_url != NULL && (up->base_url = strdup(base_url)) == NULL) ||
	    pthread_mutex_init(&up->lock, NULL) != 0) {
		if (up != NULL)
			free(up->base_url);
		free(up);
		return NULL;
	}
	up->agent = *agent;
	/* the first load in the background: a slow provider holds up no
	 * other login, and a failure is tried again at the next one */
	up->loading = pthread_create(&up->loader, NULL, first_load, up) == 0;
	return up;
}

void
fg_up_free(struct fg_up **upp)
{
	struct fg_up *up;

	if (upp == NULL || (up = *upp) == NULL)
		return;
	if (up->loading)
		pthread_join(up->loader, NULL);
	snap_put(up, &up->cur);
	pthread_mutex_destroy(&up->lock);
	free(up->base_url);
	free(up);
	*upp = NULL;
}

int
fg_up_load(struct fg_up *up, char *err, size_t errlen)
{
	enum fg_up_fail fail;
	struct snap *s = NULL;
	int r = load(up, &s, &fail, err, errlen);

	snap_put(up, &s);
	return r;
}

char *
fg_up_start_url(struct fg_up *up, const struct fg_up_start *st,
    enum fg_up_fail *fail, char *err, size_t errlen)
{
	struct snap *s = NULL;
	const char *why;
	char *url = NULL;

	/* the agent's settings as they are now: a change reloads */
	if (load(up, &s, fail, err, errlen) != FG_OK)
		return NULL;
	*fail = FG_UP_INVALID;
	if (strcmp(s->c.name, st->name) != 0)
		snprintf(err, errlen,
		    "the agent's login names another provider than its "
		    "upstream.config");
	else if ((url = fg_up_authorize_url(s->ep.authorization, s->c.client_id,
		      s->redirect_uri, st, &why)) == NULL)
		snprintf(err, errlen, "%s", why);
	else
		*fail = FG_UP_OK;
	snap_put(up, &s);
	return url;
}

bool
fg_up_issuer(struct fg_up *up, char *buf, size_t len)
{
	enum fg_up_fail fail;
	char why[256];
	/* loaded if this front has not yet (a restart mid-login) */
	struct snap *s = current(up, &fail, why, sizeof(why));
	bool ok = s != NULL && copy_to(buf, len, s->c.issuer);

	snap_put(up, &s);
	return ok;
}

enum fg_up_fail
fg_up_redeem(struct fg_up *up, const char *code, const char *verifier,
    const char *nonce, json_t **claims, char *why, size_t whylen)
{
	enum fg_up_fail fail = FG_UP_UNREACHABLE;
	struct snap *s = NULL, *fresh = NULL;
	const struct snap *use;
	struct fg_idtoken_want want;
	char *form = NULL, *auth = NULL, *idt = NULL, *at = NULL;
	struct body b = {0};
	const char *w = NULL;
	long status;
	int r;

	*claims = NULL;
	if ((s = current(up, &fail, why, whylen)) == NULL)
		goto out;
	fail = FG_UP_NOMEM;
	if ((form = token_form(s, code, verifier)) == NULL ||
	    (!s->c.post && (auth = basic_header(&s->c)) == NULL)) {
		snprintf(why, whylen, "out of memory");
		goto out;
	}
	fail = FG_UP_UNREACHABLE;
	if (http(&s->c, "token endpoint", s->ep.token, form, auth, &status, &b,
		why, whylen) != FG_OK)
		goto out;
	/* a 5xx, or a body that is no answer at all: the provider failed */
	if (status >= 500) {
		snprintf(why, whylen,
		    "the provider's token endpoint answered HTTP %ld", status);
		goto out;
	}
	fail = FG_UP_INVALID;
	if (fg_up_token_reply(status, b.b.p != NULL ? b.b.p : "", b.b.len, &idt,
		&at, &w) != FG_OK) {
		snprintf(why, whylen, "%s", w);
		goto out;
	}
	want = (struct fg_idtoken_want){s->c.issuer, s->c.client_id, nonce,
	    s->c.algs, (int64_t)time(NULL), s->c.skew};
	use = s;
	r = fg_idtoken_check(idt, s->jwks, &want, claims, &w);
	if (r == FG_ERR_NOTFOUND) {
		/* the provider may have rotated its keys: its JWKS again,
		 * once, and the verdict after that is final */
		if ((fresh = refetch_jwks(up, s, why, whylen)) == NULL) {
			fail = FG_UP_UNREACHABLE;
			goto out;
		}
		use = fresh;
		r = fg_idtoken_check(idt, fresh->jwks, &want, claims, &w);
		if (r == FG_ERR_NOTFOUND) {
			snprintf(why, whylen, "%s, even fetched again", w);
			goto out;
		}
	}
	if (r != FG_OK) {
		snprintf(why, whylen, "%s", w);
		goto out;
	}
	/* the user's claims, where the provider keeps them (ProConnect:
	 * its userinfo, a signed JWT) */
	if (use->ep.userinfo != NULL && at != NULL &&
	    (fail = userinfo(use, at, &want, *claims, why, whylen)) !=
		FG_UP_OK) {
		json_decref(*claims);
		*claims = NULL;
		goto out;
	}
	fail = FG_UP_OK;
out:
	snap_put(up, &s);
	snap_put(up, &fresh);
	fg_buf_free(&b.b);
	if (form != NULL)
		fg_wipe_free(form, strlen(form) + 1);
	if (auth != NULL)
		fg_wipe_free(auth, strlen(auth) + 1);
	if (idt != NULL)
		fg_wipe_free(idt, strlen(idt) + 1);
	if (at != NULL)
		fg_wipe_free(at, strlen(at) + 1);
	return fail;
}
