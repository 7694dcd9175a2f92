/*
 * The HTTP front (libmicrohttpd): routes each request of docs/oidc.md's
 * endpoint table to the agent and renders the answer. It decides nothing:
 * parameters are collected and checked (params.c), the page's JSON turned
 * into the agent's request (login.c), the reply checked (reply.c), and
 * every failure to reach the agent, or a reply that makes no sense, is a
 * 503 and never a redirect. Every response carries the security headers;
 * every refused or failed request leaves one line on stderr, with no
 * secret in it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "web.h"

#define CSP                                                                    \
	"default-src 'none'; script-src 'self'; style-src 'self'; "            \
	"connect-src 'self'; img-src 'self'; form-action 'self'; "             \
	"base-uri 'none'; frame-ancestors 'none'"
#define TYPE_HTML "text/html; charset=utf-8"
#define TYPE_JSON "application/json"
#define RETRY_AFTER "5" /* seconds, with every 503 */
/* how much of an oversized body is read (and dropped) so that the client
 * can be told 413; past that the connection is closed */
#define DISCARD_MAX (64 * 1024)
/* an invitation link's page; what follows is its token, a secret: never
 * logged */
#define ENROL_PREFIX "/enrol/"

struct fg_web {
	struct MHD_Daemon *d;
	struct fg_web_conf conf;
	struct fg_up *up; /* the organisation's provider's relying party */
	struct fg_budget *budget; /* the request budgets, per address */
	struct fg_conns *conns;	  /* connections per address, deadlines */
};

enum route_id {
	R_DISCOVERY,
	R_JWKS,
	R_AUTHORIZE,
	R_BEGIN,
	R_FINISH,
	R_ABORT,
	R_TOKEN,
	R_USERINFO,
	R_UPSTREAM,
	R_ENROL,      /* GET /enrol/TOKEN: an invitation link's page */
	R_INV_BEGIN,  /* its first factor, then the key's options */
	R_INV_FINISH, /* the new key */
	R_STATIC,
};

enum { M_GET = 1, M_HEAD = 2, M_POST = 4 };

enum body_kind {
	B_ANY,	/* no body expected: whatever comes is dropped */
	B_FORM, /* application/x-www-form-urlencoded */
	B_JSON, /* application/json */
};

struct route {
	const char *path;
	enum route_id id;
	unsigned methods;
	const char *allow; /* the Allow header of a 405 */
	enum body_kind post_body;
	bool json; /* errors as JSON, not as a page */
	/* whose budget it draws on: each request of these makes work or
	 * state in the agent */
	enum fg_budget_class budget;
};

static const struct route routes[] = {
    {"/.well-known/openid-configuration", R_DISCOVERY, M_GET | M_HEAD,
	"GET, HEAD", B_ANY, true, FG_BUDGET_DOCUMENT},
    {"/jwks", R_JWKS, M_GET | M_HEAD, "GET, HEAD", B_ANY, true,
	FG_BUDGET_DOCUMENT},
    {"/authorize", R_AUTHORIZE, M_GET | M_POST, "GET, POST", B_FORM, false,
	FG_BUDGET_LOGIN},
    {"/login/begin", R_BEGIN, M_POST, "POST", B_JSON, true, FG_BUDGET_LOGIN},
    {"/login/finish", R_FINISH, M_POST, "POST", B_JSON, true, FG_BUDGET_LOGIN},
    {"/login/abort", R_ABORT, M_POST, "POST", B_JSON, true, FG_BUDGET_LOGIN},
    {"/token", R_TOKEN, M_POST, "POST", B_FORM, true, FG_BUDGET_TOKEN},
    {"/userinfo", R_USERINFO, M_GET | M_POST, "GET, POST", B_ANY, true,
	FG_BUDGET_TOKEN},
    {"/upstream/callback", R_UPSTREAM, M_GET, "GET", B_ANY, false,
	FG_BUDGET_LOGIN},
    /* a path that ends in '/' takes what follows: the link's token */
    {ENROL_PREFIX, R_ENROL, M_GET | M_HEAD, "GET, HEAD", B_ANY, false,
	FG_BUDGET_LOGIN},
    {"/invite/begin", R_INV_BEGIN, M_POST, "POST", B_JSON, true,
	FG_BUDGET_LOGIN},
    {"/invite/finish", R_INV_FINISH, M_POST, "POST", B_JSON, true,
	FG_BUDGET_LOGIN},
    {"/static/login.js", R_STATIC, M_GET | M_HEAD, "GET, HEAD", B_ANY, false,
	FG_BUDGET_NONE},
    {"/static/login.css", R_STATIC, M_GET | M_HEAD, "GET, HEAD", B_ANY, false,
	FG_BUDGET_NONE},
    {"/static/enrol.js", R_STATIC, M_GET | M_HEAD, "GET, HEAD", B_ANY, false,
	FG_BUDGET_NONE},
};

static const char *const budget_names[FG_BUDGET_CLASSES] = {
    [FG_BUDGET_LOGIN] = "login",
    [FG_BUDGET_TOKEN] = "token",
    [FG_BUDGET_DOCUMENT] = "document",
};

/* One request, from its headers to its response. */
struct req {
	const struct route *route; /* NULL: answered at the headers */
	unsigned method;
	struct fg_buf body;
	size_t received;
	bool too_large;
	struct fg_ip client; /* the peer, or the client behind a proxy */
};

/* X-Forwarded-For headers, the last XFF_HEADERS_MAX of them */
#define XFF_HEADERS_MAX 16
struct xff {
	const char *v[XFF_HEADERS_MAX];
	size_t n;
};

/* A header to add to a response. */
struct hdr {
	const char *name;
	const char *value;
};

/* --- connections and clients --- */

static void
peer_of(struct MHD_Connection *c, struct fg_ip *peer)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	fg_ip_from_sockaddr(ci != NULL ? ci->client_addr : NULL, peer);
}

/* what conns.c keeps of the connection; NULL when it refused it */
static struct fg_conn *
conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci != NULL ? ci->socket_context : NULL;
}

static enum MHD_Result
collect_xff(
    void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct xff *x = cls;

	(void)kind;
	if (key == NULL || value == NULL ||
	    strcasecmp(key, "X-Forwarded-For") != 0)
		return MHD_YES;
	if (x->n == XFF_HEADERS_MAX) { /* the rightmost count */
		memmove(x->v, x->v + 1, (XFF_HEADERS_MAX - 1) * sizeof(*x->v));
		x->n--;
	}
	x->v[x->n++] = value;
	return MHD_YES;
}

/* The request's client: the TCP peer, unless the peer is a trusted proxy
 * (or this is a Unix socket), then the rightmost X-Forwarded-For entry
 * that is not a trusted proxy. The proxy's own writing is on the right;
 * what the client sent is on the left, and never taken. */
static void
client_of(
    const struct fg_web *w, struct MHD_Connection *c, struct fg_ip *client)
{
	struct fg_conn *conn = conn_of(c);
	struct xff x = {.n = 0};

	if (conn != NULL)
		*client = conn->peer;
	else
		peer_of(c, client);
	if (!fg_proxies_has(&w->conf.proxies, client))
		return;
	MHD_get_connection_values(c, MHD_HEADER_KIND, collect_xff, &x);
	(void)fg_xff_client(&w->conf.proxies, x.v, x.n, client);
}

/* --- logging --- */

static void
client_address(struct MHD_Connection *c, char *buf, size_t len)
{
	struct fg_conn *conn = conn_of(c);
	struct fg_ip peer;

	if (conn != NULL) {
		snprintf(buf, len, "%s", conn->client);
		return;
	}
	peer_of(c, &peer);
	fg_ip_str(&peer, buf, len);
}

/* "fido2gate-web: ADDR METHOD PATH STATUS: why": the path escaped and cut
 * short (it is the client's), the query never shown (it may hold a code) */
static void __attribute__((format(printf, 5, 6)))
log_req(struct MHD_Connection *c, const char *method, const char *url,
    unsigned status, const char *fmt, ...)
{
	char addr[FG_IP_STR_MAX + 16], path[96], m[16], why[512];
	va_list ap;

	client_address(c, addr, sizeof(addr));
	if (url != NULL &&
	    strncmp(url, ENROL_PREFIX, strlen(ENROL_PREFIX)) == 0)
		url = ENROL_PREFIX "...";
	fg_text_escape(url != NULL ? url : "", path, sizeof(path));
	fg_text_escape(method != NULL ? method : "", m, sizeof(m));
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	fprintf(stderr, "fido2gate-web: %s %s %s %u: %s\n", addr, m, path,
	    status, why);
}

/* the agent's refusal for a log line: code and message, escaped */
static const char *
refusal_text(const struct fg_refusal *why, char *buf, size_t len)
{
	char msg[sizeof(why->message) + 64];

	fg_text_escape(why->message, msg, sizeof(msg));
	snprintf(buf, len, "%s%s%s", why->code[0] != '\0' ? why->code : "?",
	    msg[0] != '\0' ? ": " : "", msg);
	return buf;
}

/* --- responses --- */

/* MHD frees the bodies we hand it through this: wiped first, since a
 * token response holds the tokens */
static void
wipe_body(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

static bool
add_headers(struct MHD_Response *resp, const char *type,
    const struct hdr *extra, size_t n_extra)
{
	static const struct hdr common[] = {
	    {"Content-Security-Policy", CSP},
	    {"X-Frame-Options", "DENY"},
	    {"X-Content-Type-Options", "nosniff"},
	    {"Referrer-Policy", "no-referrer"},
	    {"Cache-Control", "no-store"},
	};
	size_t i;

	for (i = 0; i < sizeof(common) / sizeof(common[0]); i++)
		if (MHD_add_response_header(
			resp, common[i].name, common[i].value) != MHD_YES)
			return false;
	if (type != NULL &&
	    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type) !=
		MHD_YES)
		return false;
	for (i = 0; i < n_extra; i++)
		if (MHD_add_response_header(
			resp, extra[i].name, extra[i].value) != MHD_YES)
			return false;
	return true;
}

/* body: malloc'd (consumed, wiped when sent), or NULL for none */
static enum MHD_Result
respond(struct MHD_Connection *c, unsigned status, const char *type, char *body,
    size_t len, const struct hdr *extra, size_t n_extra)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (body == NULL) {
		len = 0;
		type = NULL;
	}
	resp = body != NULL
	    ? MHD_create_response_from_buffer_with_free_callback(
		  len, body, wipe_body)
	    : MHD_create_response_from_buffer(
		  0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		wipe_body(body);
		return MHD_NO;
	}
	if (!add_headers(resp, type, extra, n_extra)) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
respond_json(struct MHD_Connection *c, unsigned status, json_t *obj,
    const struct hdr *extra, size_t n_extra)
{
	char *s = obj != NULL ? json_dumps(obj, JSON_COMPACT) : NULL;

	json_decref(obj);
	if (s == NULL)
		return MHD_NO;
	return respond(c, status, TYPE_JSON, s, strlen(s), extra, n_extra);
}

/* The page's answer to the agent's refusal: {"error": code}, with
 * retry_after and its Retry-After header when the agent gave one; the log
 * line says the agent's reason. */
static enum MHD_Result
respond_refusal(struct MHD_Connection *c, const char *method, const char *url,
    unsigned status, const char *code, const struct fg_refusal *why)
{
	char text[512], after[16];
	struct hdr retry = {"Retry-After", after};

	log_req(c, method, url, status, "%s",
	    refusal_text(why, text, sizeof(text)));
	snprintf(after, sizeof(after), "%u", why->retry_after);
	return respond_json(c, status,
	    why->retry_after > 0
		? json_pack("{s:s,s:i}", "error", code, "retry_after",
		      (int)why->retry_after)
		: json_pack("{s:s}", "error", code),
	    &retry, why->retry_after > 0 ? 1 : 0);
}

static enum fg_lang
request_lang(struct MHD_Connection *c)
{
	return fg_lang_accept(MHD_lookup_connection_value(
	    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT_LANGUAGE));
}

/* The front's root as a page of route r sees it: the pages below it
 * (/upstream/callback, /enrol/TOKEN) lead back up, relatively, so that
 * the stylesheet and the scripts resolve under any prefix the proxy
 * maps to "/". */
static const char *
route_root(const struct route *r)
{
	return r != NULL && (r->id == R_UPSTREAM || r->id == R_ENROL) ? "../"
									: "";
}

static enum MHD_Result
respond_page_at(struct MHD_Connection *c, unsigned status, enum fg_lang lang,
    enum fg_page page, const char *detail, const char *root,
    const struct hdr *extra, size_t n_extra)
{
	size_t len = 0;
	char *html = fg_html_error_at(lang, page, detail, root, &len);

	if (html == NULL)
		return MHD_NO;
	return respond(c, status, TYPE_HTML, html, len, extra, n_extra);
}

static enum MHD_Result
respond_page(struct MHD_Connection *c, unsigned status, enum fg_lang lang,
    enum fg_page page, const char *detail, const struct hdr *extra,
    size_t n_extra)
{
	return respond_page_at(
	    c, status, lang, page, detail, "", extra, n_extra);
}

/* The agent cannot serve: a page or JSON, by the endpoint; never a
 * redirect. */
static enum MHD_Result
unavailable(struct MHD_Connection *c, const struct route *r, enum fg_lang lang)
{
	static const struct hdr retry[] = {{"Retry-After", RETRY_AFTER}};

	if (r != NULL && r->json)
		return respond_json(c, MHD_HTTP_SERVICE_UNAVAILABLE,
		    json_pack("{s:s,s:s}", "error",
			r->id == R_BEGIN || r->id == R_FINISH ||
				r->id == R_ABORT || r->id == R_INV_BEGIN ||
				r->id == R_INV_FINISH
			    ? "unavailable"
			    : "temporarily_unavailable",
			"error_description",
			"the sign-in service is unavailable"),
		    retry, 1);
	return respond_page_at(c, MHD_HTTP_SERVICE_UNAVAILABLE, lang,
	    FG_PAGE_UNAVAILABLE, NULL, route_root(r), retry, 1);
}

/* --- request helpers --- */

static bool
media_type_is(const char *ct, const char *want)
{
	size_t n = strlen(want);

	if (ct == NULL)
		return false;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, want, n) != 0)
		return false;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

struct count {
	const char *name;
	unsigned n;
};

static enum MHD_Result
count_header(
    void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct count *ct = cls;

	(void)kind;
	(void)value;
	if (key != NULL && strcasecmp(key, ct->name) == 0)
		ct->n++;
	return MHD_YES;
}

static unsigned
header_count(struct MHD_Connection *c, const char *name)
{
	struct count ct = {name, 0};

	MHD_get_connection_values(c, MHD_HEADER_KIND, count_header, &ct);
	return ct.n;
}

/* the one value of a header that must not repeat; *many when it did */
static const char *
single_header(struct MHD_Connection *c, const char *name, bool *many)
{
	*many = header_count(c, name) > 1;
	return *many ? NULL
		     : MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

static enum MHD_Result
query_param(void *cls, enum MHD_ValueKind kind, const char *key,
    size_t key_size, const char *value, size_t value_size)
{
	(void)kind;
	return fg_params_add(cls, key, key_size, value, value_size) ==
		FG_PARAMS_OK
	    ? MHD_YES
	    : MHD_NO;
}

static enum MHD_Result
form_param(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *filename, const char *type, const char *encoding,
    const char *data, uint64_t off, size_t size)
{
	struct fg_params *p = cls;
	enum fg_params_err r;

	(void)kind;
	(void)type;
	(void)encoding;
	if (key == NULL || filename != NULL)
		r = fg_params_add(p, "", 0, NULL, 0); /* a bad name: refused */
	else if (off == 0)
		r = fg_params_add(p, key, strlen(key), data, size);
	else
		r = fg_params_append(p, key, data, size);
	return r == FG_PARAMS_OK ? MHD_YES : MHD_NO;
}

static bool
has_query(struct MHD_Connection *c)
{
	return MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, NULL, NULL) >
	    0;
}

/* The form body's parameters (libmicrohttpd's parser), into p. false
 * when the body is not a well-formed form; p->err says more when set. */
static bool
form_params(struct MHD_Connection *c, const struct req *rq, struct fg_params *p)
{
	struct MHD_PostProcessor *pp;
	bool ok;

	if (rq->body.len == 0)
		return true;
	if ((pp = MHD_create_post_processor(c, 1024, form_param, p)) == NULL)
		return false;
	ok = MHD_post_process(pp, rq->body.p, rq->body.len) == MHD_YES;
	ok = MHD_destroy_post_processor(pp) == MHD_YES && ok;
	return ok && p->err == FG_PARAMS_OK;
}

/* --- the endpoints --- */

static enum MHD_Result
do_document(struct fg_web *w, struct MHD_Connection *c, const struct req *rq,
    const char *method, const char *url)
{
	bool discovery = rq->route->id == R_DISCOVERY;
	const char *key = discovery ? "document" : "jwks";
	struct fg_refusal why;
	json_t *reply = NULL, *doc = NULL;
	char err[256], text[512];
	int r;

	r = fg_web_call(&w->conf.agent,
	    json_pack("{s:s}", "op",
		discovery ? FG_OP_OIDC_DISCOVERY : FG_OP_OIDC_JWKS),
	    &reply, &why, err, sizeof(err));
	if (r == FG_OK && fg_reply_document(reply, key, &doc) != FG_OK)
		snprintf(
		    err, sizeof(err), "the agent's reply has no \"%s\"", key);
	json_decref(reply);
	if (doc == NULL) {
		log_req(c, method, url, 503, "%s",
		    r == FG_ERR_DENIED ? refusal_text(&why, text, sizeof(text))
				       : err);
		return unavailable(c, rq->route, FG_LANG_EN);
	}
	return respond_json(c, MHD_HTTP_OK, doc, NULL, 0);
}

/* A page below the front's root (/upstream/callback): its links lead
 * back up. */
static enum MHD_Result
respond_page_below(struct MHD_Connection *c, unsigned status,
    enum fg_lang lang, enum fg_page page, const char *detail)
{
	return respond_page_at(c, status, lang, page, detail, "../", NULL, 0);
}

/* 429, over the client's budget: nothing went to the agent */
static enum MHD_Result
too_many(struct MHD_Connection *c, const struct route *r, unsigned retry_after)
{
	struct hdr h = {"Retry-After", NULL};
	char after[16], *html;
	size_t len = 0;

	snprintf(after, sizeof(after), "%u", retry_after);
	h.value = after;
	if (r->json)
		return respond_json(c, MHD_HTTP_TOO_MANY_REQUESTS,
		    json_pack("{s:s,s:s,s:i}", "error", "too_many_requests",
			"error_description",
			"too many requests from this address: retry later",
			"retry_after", (int)retry_after),
		    &h, 1);
	html = fg_html_error_at(
	    request_lang(c), FG_PAGE_TOO_MANY, NULL, route_root(r), &len);
	if (html == NULL)
		return MHD_NO;
	return respond(
	    c, MHD_HTTP_TOO_MANY_REQUESTS, TYPE_HTML, html, len, &h, 1);
}

/* unavailable() for a page below the root */
static enum MHD_Result
unavailable_below(struct MHD_Connection *c, enum fg_lang lang)
{
	static const struct hdr retry[] = {{"Retry-After", RETRY_AFTER}};
	size_t len = 0;
	char *html = fg_html_error_at(
	    lang, FG_PAGE_UNAVAILABLE, NULL, "../", &len);

	if (html == NULL)
		return MHD_NO;
	return respond(c, MHD_HTTP_SERVICE_UNAVAILABLE, TYPE_HTML, html, len,
	    retry, 1);
}

/* web.upstream with why: the agent audits it and ends the login */
static void
upstream_end(struct fg_web *w, struct MHD_Connection *c, const char *method,
    const char *url, const char *state, const char *why)
{
	struct fg_refusal refusal;
	json_t *reply = NULL;
	char err[256], text[512];
	int r;

	r = fg_web_call(&w->conf.agent,
	    json_pack("{s:s,s:s,s:s}", "op", FG_OP_WEB_UPSTREAM, "state", state,
		"error", why),
	    &reply, &refusal, err, sizeof(err));
	if (r != FG_ERR_DENIED || fg_refusal_unavailable(refusal.code))
		log_req(c, method, url, 0, "the agent was not told why: %s",
		    r == FG_OK ? "it accepted a refusal" : r == FG_ERR_DENIED
			? refusal_text(&refusal, text, sizeof(text))
			: err);
	json_decref(reply);
}

/* oidc.authorize chose the organisation's provider: the browser goes
 * there at once, with our state, nonce and PKCE challenge */
static enum MHD_Result
to_provider(struct fg_web *w, struct MHD_Connection *c, const struct req *rq,
    const json_t *reply, enum fg_lang lang, const char *method,
    const char *url)
{
	struct fg_up_start st;
	enum fg_up_fail fail = FG_UP_AGENT;
	enum MHD_Result ret;
	char err[512], *loc = NULL;

	if (fg_reply_upstream_start(reply, &st) != FG_OK) {
		log_req(c, method, url, 503,
		    "the agent's oidc.authorize reply has no usable upstream");
		return unavailable(c, rq->route, lang);
	}
	if (w->up == NULL)
		snprintf(err, sizeof(err), "out of memory");
	else
		loc = fg_up_start_url(w->up, &st, &fail, err, sizeof(err));
	if (loc == NULL) {
		log_req(c, method, url, fail == FG_UP_UNREACHABLE ||
			    fail == FG_UP_INVALID ? 502 : 503,
		    "%s", err);
		if (fail != FG_UP_AGENT)
			upstream_end(w, c, method, url, st.state, err);
		explicit_bzero(&st, sizeof(st));
		/* from /authorize, or below the root from /enrol/TOKEN */
		if (fail == FG_UP_UNREACHABLE || fail == FG_UP_INVALID)
			return respond_page_at(c, MHD_HTTP_BAD_GATEWAY, lang,
			    fail == FG_UP_UNREACHABLE ? FG_PAGE_UP_DOWN
						      : FG_PAGE_UP_INVALID,
			    fail == FG_UP_INVALID ? err : NULL,
			    route_root(rq->route), NULL, 0);
		return unavailable(c, rq->route, lang);
	}
	{
		struct hdr h = {MHD_HTTP_HEADER_LOCATION, loc};
		ret = respond(c,
		    rq->method == M_POST ? MHD_HTTP_SEE_OTHER : MHD_HTTP_FOUND,
		    NULL, NULL, 0, &h, 1);
	}
	fg_wipe_free(loc, strlen(loc) + 1);
	explicit_bzero(&st, sizeof(st));
	return ret;
}

static enum MHD_Result
do_authorize(struct fg_web *w, struct MHD_Connection *c, const struct req *rq,
    const char *method, const char *url)
{
	enum fg_lang lang = request_lang(c);
	struct fg_params p;
	struct fg_refusal why;
	struct fg_authz authz;
	json_t *params, *reply = NULL;
	const char *oauth, *redirect;
	char err[256], text[512], host[256], net[FG_IP_STR_MAX + 4];
	enum MHD_Result ret;
	int r, i;

	fg_params_init(&p);
	MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, query_param, &p);
	if (p.err == FG_PARAMS_OK && rq->method == M_POST &&
	    !form_params(c, rq, &p) && p.err == FG_PARAMS_OK) {
		log_req(c, method, url, 400, "the form body is malformed");
		ret = respond_page(c, MHD_HTTP_BAD_REQUEST, lang,
		    FG_PAGE_BAD_REQUEST, "the form body is malformed", NULL, 0);
		goto out;
	}
	/* the client's choice (ui_locales) over the browser's */
	(void)fg_lang_ui_locales(fg_params_get(&p, "ui_locales"), &lang);
	/* the client's own values, which the agent keeps for the login
	 * and sends back: bounded here, and never redirected with */
	for (i = 0; p.err == FG_PARAMS_OK && i < 2; i++) {
		const char *name = i == 0 ? "state" : "nonce";
		const char *v = fg_params_get(&p, name);

		if (v != NULL && strlen(v) > FG_WEB_STATE_MAX) {
			snprintf(text, sizeof(text),
			    "%s is longer than %d bytes", name,
			    FG_WEB_STATE_MAX);
			log_req(c, method, url, 400, "%s (no redirect)", text);
			ret = respond_page(c, MHD_HTTP_BAD_REQUEST, lang,
			    FG_PAGE_BAD_REQUEST, text, NULL, 0);
			goto out;
		}
	}
	if ((params = fg_params_json(&p)) == NULL) {
		fg_params_strerror(&p, text, sizeof(text));
		log_req(c, method, url, 400, "%s", text);
		ret = respond_page(c, MHD_HTTP_BAD_REQUEST, lang,
		    FG_PAGE_BAD_REQUEST, text, NULL, 0);
		goto out;
	}
	/* the client's network: the agent bounds the logins under way
	 * from each, at all agents together */
	r = fg_web_call(&w->conf.agent,
	    json_pack("{s:s,s:o,s:s}", "op", FG_OP_OIDC_AUTHORIZE, "params",
		params, "net", fg_ip_net_str(&rq->client, net, sizeof(net))),
	    &reply, &why, err, sizeof(err));
	if (r == FG_ERR_DENIED && strcmp(why.code, FG_E_OAUTH) == 0) {
		oauth = fg_reply_oauth_error(reply);
		redirect = fg_json_str(reply, "redirect");
		if (redirect == NULL && oauth != NULL) {
			/* no redirect: an unknown client or redirect URI,
			 * which must never be sent the browser */
			log_req(c, method, url, 400, "%s (no redirect)",
			    refusal_text(&why, text, sizeof(text)));
			ret = respond_page(c, MHD_HTTP_BAD_REQUEST, lang,
			    FG_PAGE_BAD_REQUEST, why.message, NULL, 0);
			goto out;
		}
		if (oauth != NULL && fg_url_sane(redirect)) {
			struct hdr loc = {MHD_HTTP_HEADER_LOCATION, redirect};
			log_req(c, method, url,
			    rq->method == M_POST ? 303 : 302,
			    "%s (redirected to the client)",
			    refusal_text(&why, text, sizeof(text)));
			ret = respond(c,
			    rq->method == M_POST ? MHD_HTTP_SEE_OTHER
						 : MHD_HTTP_FOUND,
			    NULL, NULL, 0, &loc, 1);
			goto out;
		}
		snprintf(err, sizeof(err),
		    "the agent's oauth refusal has no "
		    "usable oauth_error or redirect");
	} else if (r == FG_ERR_DENIED &&
	    strcmp(why.code, FG_E_BAD_REQUEST) == 0) {
		log_req(c, method, url, 400, "%s",
		    refusal_text(&why, text, sizeof(text)));
		ret = respond_page(c, MHD_HTTP_BAD_REQUEST, lang,
		    FG_PAGE_BAD_REQUEST, why.message, NULL, 0);
		goto out;
	} else if (r == FG_ERR_DENIED && strcmp(why.code, FG_E_LIMIT) == 0) {
		/* the logins under way from the client's network, or in
		 * all: a transaction lives TX_TTL_S at most */
		log_req(c, method, url, 429, "%s",
		    refusal_text(&why, text, sizeof(text)));
		ret = too_many(c, rq->route, 60);
		goto out;
	} else if (r == FG_ERR_DENIED) {
		refusal_text(&why, err, sizeof(err));
	} else if (r == FG_OK && fg_reply_authorize(reply, &authz) == FG_OK &&
	    strcmp(authz.first_factor, "provider") == 0) {
		ret = to_provider(w, c, rq, reply, lang, method, url);
		goto out;
	} else if (r == FG_OK && fg_reply_authorize(reply, &authz) == FG_OK) {
		struct fg_login_view v = {lang, &authz, NULL};
		size_t len = 0;
		char *html;

		if (fg_url_host(
			fg_params_get(&p, "redirect_uri"), host, sizeof(host)))
			v.return_host = host;
		if ((html = fg_html_login(&v, &len)) == NULL)
			ret = MHD_NO;
		else
			ret = respond(
			    c, MHD_HTTP_OK, TYPE_HTML, html, len, NULL, 0);
		goto out;
	} else if (r == FG_OK) {
		snprintf(err, sizeof(err),
		    "the agent's oidc.authorize reply "
		    "is malformed");
	}
	log_req(c, method, url, 503, "%s", err);
	ret = unavailable(c, rq->route, lang);
out:
	json_decref(reply);
	fg_params_clear(&p);
	return ret;
}

/* web.begin, web.finish, web.abort: the page's requests */
static enum MHD_Result
do_login(struct fg_web *w, struct MHD_Connection *c, const struct req *rq,
    const char *method, const char *url)
{
	enum fg_login_op op = rq->route->id == R_BEGIN ? FG_LOGIN_BEGIN
	    : rq->route->id == R_FINISH		       ? FG_LOGIN_FINISH
						       : FG_LOGIN_ABORT;
	const char *opname = op == FG_LOGIN_BEGIN ? FG_OP_WEB_BEGIN
	    : op == FG_LOGIN_FINISH		  ? FG_OP_WEB_FINISH
						  : FG_OP_WEB_ABORT;
	struct fg_refusal why;
	json_t *req = NULL, *reply = NULL, *page = NULL;
	const char *bad = NULL;
	char err[256], after[16];
	struct hdr retry = {"Retry-After", after};
	unsigned status = MHD_HTTP_OK;
	bool allow = false, busy;
	int r;

	if (fg_login_request(op, rq->body.p != NULL ? rq->body.p : "",
		rq->body.len, &req, &bad) != FG_OK) {
		log_req(c, method, url, 400, "%s", bad);
		return respond_json(c, MHD_HTTP_BAD_REQUEST,
		    json_pack("{s:s}", "error", "bad_request"), NULL, 0);
	}
	r = fg_web_call(&w->conf.agent, req, &reply, &why, err, sizeof(err));
	/* a limit of the user's logins under way is the user's to hear
	 * of; any other (the agent's password checks, say) is the
	 * service's */
	busy = r == FG_ERR_DENIED && strcmp(why.code, FG_E_LIMIT) == 0 &&
	    op == FG_LOGIN_BEGIN && fg_json_str(reply, "why") != NULL &&
	    strcmp(fg_json_str(reply, "why"), "busy") == 0;
	if (r == FG_ERR_DENIED && (!fg_refusal_unavailable(why.code) || busy)) {
		const char *code = "denied";

		status = MHD_HTTP_FORBIDDEN;
		if (strcmp(why.code, FG_E_LOCKED) == 0) {
			code = "locked";
		} else if (strcmp(why.code, FG_E_RATE_LIMITED) == 0) {
			code = "rate_limited";
			status = MHD_HTTP_TOO_MANY_REQUESTS;
		} else if (strcmp(why.code, FG_E_NO_SESSION) == 0) {
			code = "expired";
		} else if (busy) {
			/* the user's logins under way from this network */
			code = "busy";
			status = MHD_HTTP_TOO_MANY_REQUESTS;
		} else if (strcmp(why.code, FG_E_BAD_REQUEST) == 0 ||
		    strcmp(why.code, FG_E_OAUTH) == 0) {
			/* the body is checked here: what the agent still
			 * refuses in web.begin is the user name */
			code =
			    op == FG_LOGIN_BEGIN ? "bad_user" : "bad_request";
			status = MHD_HTTP_BAD_REQUEST;
		}
		json_decref(reply);
		return respond_refusal(c, method, url, status, code, &why);
	}
	if (r == FG_OK) {
		if (op == FG_LOGIN_BEGIN)
			r = fg_reply_begin(reply, &page);
		else if (op == FG_LOGIN_FINISH)
			r = fg_reply_finish(reply, &page, &allow);
		else
			r = (page = json_pack("{s:b}", "ok", 1)) != NULL
			    ? FG_OK
			    : FG_ERR_NOMEM;
		if (r != FG_OK)
			snprintf(err, sizeof(err),
			    "the agent's %s reply is "
			    "malformed",
			    opname);
	} else if (r == FG_ERR_DENIED) {
		refusal_text(&why, err, sizeof(err));
	}
	json_decref(reply);
	if (r != FG_OK) {
		log_req(c, method, url, 503, "%s", err);
		return unavailable(c, rq->route, FG_LANG_EN);
	}
	if (op == FG_LOGIN_FINISH && !allow) {
		const char *code = fg_json_str(page, "error");
		json_int_t n =
		    json_integer_value(json_object_get(page, "retry_after"));

		status = strcmp(code, "unavailable") == 0
		    ? MHD_HTTP_SERVICE_UNAVAILABLE
		    : strcmp(code, "rate_limited") == 0
		    ? MHD_HTTP_TOO_MANY_REQUESTS
		    : MHD_HTTP_FORBIDDEN;
		log_req(c, method, url, status, "deny: %s", code);
		snprintf(after, sizeof(after), "%d", (int)n);
		return respond_json(c, status, page, &retry, n > 0 ? 1 : 0);
	}
	return respond_json(c, MHD_HTTP_OK, page, NULL, 0);
}

static enum MHD_Result
oauth_error(struct MHD_Connection *c, const char *method, const char *url,
    const char *error, const char *description, const char *log_detail)
{
	static const struct hdr basic[] = {
	    {MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Basic realm=\"fido2gate\""},
	    {"Pragma", "no-cache"},
	};
	bool client = strcmp(error, "invalid_client") == 0;
	unsigned status = client ? MHD_HTTP_UNAUTHORIZED : MHD_HTTP_BAD_REQUEST;
	char desc[256];

	log_req(c, method, url, status, "%s: %s", error, log_detail);
	return respond_json(c, status,
	    json_pack("{s:s,s:s}", "error", error, "error_description",
		fg_oauth_text(description, desc, sizeof(desc))),
	    client ? basic : basic + 1, client ? 2 : 1);
}

static enum MHD_Result
do_token(struct fg_web *w, struct MHD_Connection *c, const struct req *rq,
    const char *method, const char *url)
{
	static const char *const fields[] = {
	    "grant_type", "code", "redirect_uri", "code_verifier", NULL};
	static const struct hdr no_cache[] = {{"Pragma", "no-cache"}};
	struct fg_params p;
	struct fg_refusal why;
	json_t *req = NULL, *reply = NULL, *token = NULL;
	const char *auth, *form_id, *form_secret, *oauth;
	char *id = NULL, *secret = NULL, err[256], text[512];
	enum MHD_Result ret;
	bool many;
	size_t i;
	int r;

	fg_params_init(&p);
	if (has_query(c)) {
		ret = oauth_error(c, method, url, "invalid_request",
		    "parameters belong in the body, not the URL",
		    "parameters in the URL");
		goto out;
	}
	if (!form_params(c, rq, &p)) {
		if (p.err != FG_PARAMS_OK)
			fg_params_strerror(&p, text, sizeof(text));
		else
			snprintf(text, sizeof(text),
			    "the form body is "
			    "malformed");
		ret =
		    oauth_error(c, method, url, "invalid_request", text, text);
		goto out;
	}
	auth = single_header(c, MHD_HTTP_HEADER_AUTHORIZATION, &many);
	form_id = fg_params_get(&p, "client_id");
	form_secret = fg_params_get(&p, "client_secret");
	if (many) {
		ret = oauth_error(c, method, url, "invalid_request",
		    "more than one Authorization header",
		    "Authorization repeated");
		goto out;
	}
	if (auth != NULL) {
		if ((r = fg_basic_decode(auth, &id, &secret)) != FG_OK) {
			ret = oauth_error(c, method, url, "invalid_client",
			    "client authentication failed",
			    r == FG_ERR_NOTFOUND
				? "an Authorization scheme other than Basic"
				: "a malformed Basic Authorization header");
			goto out;
		}
		if (form_secret != NULL) {
			ret = oauth_error(c, method, url, "invalid_request",
			    "use one client authentication method, not two",
			    "client_secret_basic and client_secret_post at "
			    "once");
			goto out;
		}
		if (form_id != NULL && strcmp(form_id, id) != 0) {
			ret = oauth_error(c, method, url, "invalid_request",
			    "client_id differs from the authenticated client",
			    "client_id differs from Basic's");
			goto out;
		}
	} else if (form_id == NULL) {
		ret = oauth_error(c, method, url, "invalid_client",
		    "client authentication failed", "no client_id");
		goto out;
	}
	req = json_pack("{s:s,s:s}", "op", FG_OP_OIDC_TOKEN, "client_id",
	    id != NULL ? id : form_id);
	for (i = 0; req != NULL && fields[i] != NULL; i++)
		if (fg_params_get(&p, fields[i]) != NULL &&
		    json_object_set_new(req, fields[i],
			json_string(fg_params_get(&p, fields[i]))) != 0) {
			json_decref(req);
			req = NULL;
		}
	if (req != NULL && (secret != NULL || form_secret != NULL) &&
	    json_object_set_new(req, "client_secret",
		json_string(secret != NULL ? secret : form_secret)) != 0) {
		json_decref(req);
		req = NULL;
	}
	r = fg_web_call(&w->conf.agent, req, &reply, &why, err, sizeof(err));
	if (r == FG_ERR_DENIED && strcmp(why.code, FG_E_OAUTH) == 0 &&
	    (oauth = fg_reply_oauth_error(reply)) != NULL) {
		ret = oauth_error(c, method, url, oauth, why.message,
		    refusal_text(&why, text, sizeof(text)));
		goto out;
	}
	if (r == FG_ERR_DENIED && strcmp(why.code, FG_E_BAD_REQUEST) == 0) {
		ret = oauth_error(c, method, url, "invalid_request",
		    why.message, refusal_text(&why, text, sizeof(text)));
		goto out;
	}
	if (r == FG_OK && fg_reply_token(reply, &token) == FG_OK) {
		ret = respond_json(c, MHD_HTTP_OK, token, no_cache, 1);
		goto out;
	}
	if (r == FG_OK)
		snprintf(err, sizeof(err),
		    "the agent's oidc.token reply is "
		    "malformed");
	else if (r == FG_ERR_DENIED)
		refusal_text(&why, err, sizeof(err));
	log_req(c, method, url, 503, "%s", err);
	ret = unavailable(c, rq->route, FG_LANG_EN);
out:
	json_decref(reply);
	free(id);
	if (secret != NULL)
		fg_wipe_free(secret, strlen(secret) + 1);
	fg_params_clear(&p);
	return ret;
}

static enum MHD_Result
do_userinfo(struct fg_web *w, struct MHD_Connection *c, const struct req *rq,
    const char *method, const char *url)
{
	static const struct hdr none[] = {
	    {MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"fido2gate\""},
	};
	static const struct hdr malformed[] = {
	    {MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		"Bearer realm=\"fido2gate\", error=\"invalid_request\""},
	};
	static const struct hdr invalid[] = {
	    {MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		"Bearer realm=\"fido2gate\", error=\"invalid_token\""},
	};
	static const struct hdr no_cache[] = {{"Pragma", "no-cache"}};
	struct fg_refusal why;
	json_t *reply = NULL, *claims = NULL;
	const char *auth, *token;
	char err[256], text[512], *tok;
	size_t len;
	bool many;
	int r;

	auth = single_header(c, MHD_HTTP_HEADER_AUTHORIZATION, &many);
	if (auth == NULL && !many) {
		log_req(c, method, url, 401, "no access token");
		return respond_json(c, MHD_HTTP_UNAUTHORIZED,
		    json_pack("{s:s}", "error", "invalid_token"), none, 1);
	}
	if (many || fg_bearer_token(auth, &token, &len) != FG_OK) {
		log_req(
		    c, method, url, 400, "a malformed Authorization header");
		return respond_json(c, MHD_HTTP_BAD_REQUEST,
		    json_pack("{s:s}", "error", "invalid_request"), malformed,
		    1);
	}
	if ((tok = strndup(token, len)) == NULL)
		return MHD_NO;
	r = fg_web_call(&w->conf.agent,
	    json_pack(
		"{s:s,s:s}", "op", FG_OP_OIDC_USERINFO, "access_token", tok),
	    &reply, &why, err, sizeof(err));
	fg_wipe_free(tok, len + 1);
	if (r == FG_ERR_DENIED && !fg_refusal_unavailable(why.code)) {
		json_decref(reply);
		log_req(c, method, url, 401, "%s",
		    refusal_text(&why, text, sizeof(text)));
		return respond_json(c, MHD_HTTP_UNAUTHORIZED,
		    json_pack("{s:s}", "error", "invalid_token"), invalid, 1);
	}
	if (r == FG_OK && fg_reply_claims(reply, &claims) == FG_OK) {
		json_decref(reply);
		return respond_json(c, MHD_HTTP_OK, claims, no_cache, 1);
	}
	if (r == FG_OK)
		snprintf(err, sizeof(err),
		    "the agent's oidc.userinfo reply "
		    "is malformed");
	else if (r == FG_ERR_DENIED)
		refusal_text(&why, err, sizeof(err));
	json_decref(reply);
	log_req(c, method, url, 503, "%s", err);
	return unavailable(c, rq->route, FG_LANG_EN);
}

static enum MHD_Result
do_static(struct MHD_Connection *c, const char *url)
{
	const struct fg_static *f = fg_static_find(url);
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (f == NULL)
		return MHD_NO;
	resp = MHD_create_response_from_buffer((size_t)(f->end - f->data),
	    (void *)f->data, MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return MHD_NO;
	if (!add_headers(resp, f->type, NULL, 0)) {
		MHD_destroy_response(resp);
		return MHD_NO;
	}
	ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* a short code from the provider's answer, for the audit: letters,
 * digits, '_', '-', '.' only, cut short */
static const char *
short_code(const char *s, char *buf, size_t len)
{
	size_t i;

	for (i = 0; s[i] != '\0' && i + 1 < len && i < 40; i++)
		buf[i] = strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				"0123456789_-.",
			     s[i]) != NULL
		    ? s[i]
		    : '?';
	buf[i] = '\0';
	return buf;
}

static bool
random_param(const char *s)
{
	uint8_t *d = NULL;
	size_t n = 0;
	bool ok;

	if (s == NULL || strlen(s) != FG_UP_RANDOM_LEN)
		return false;
	ok = fg_b64url_decode(s, &d, &n) == FG_OK && n == 32;
	free(d);
	return ok;
}

/*
 * GET /upstream/callback: the provider sends the browser back with a code
 * (or an error) and our state. The agent gives the state's nonce and PKCE
 * verifier; the code is redeemed and the id_token checked here; the agent
 * then hears the claims, or why they were refused, and decides. On
 * success the login page asks for the key of the user the provider named.
 */
static enum MHD_Result
do_upstream(struct fg_web *w, struct MHD_Connection *c, const struct req *rq,
    const char *method, const char *url)
{
	enum fg_lang lang = request_lang(c);
	struct fg_params p;
	struct fg_refusal why;
	struct fg_authz authz;
	enum fg_up_fail fail;
	json_t *reply = NULL, *claims = NULL;
	const char *state, *code, *error, *iss, *nonce, *verifier;
	char err[512], text[512], issuer[FG_ORIGIN_MAX + 1], reason[160];
	char user[FG_USER_NAME_MAX + 1], ecode[48];
	enum MHD_Result ret;
	int r;

	(void)rq; /* a GET: no body */
	fg_params_init(&p);
	MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, query_param, &p);
	state = fg_params_get(&p, "state");
	if (p.err != FG_PARAMS_OK || !random_param(state)) {
		/* without our state nobody can be told: a page, logged */
		log_req(c, method, url, 400, "%s",
		    p.err != FG_PARAMS_OK
			? fg_params_strerror(&p, text, sizeof(text))
			: "no state of ours in the provider's answer");
		ret = respond_page_below(c, MHD_HTTP_BAD_REQUEST, lang,
		    FG_PAGE_UP_EXPIRED, NULL);
		goto out;
	}
	if (w->up == NULL) {
		log_req(c, method, url, 503, "out of memory at start");
		ret = unavailable_below(c, lang);
		goto out;
	}
	r = fg_web_call(&w->conf.agent,
	    json_pack("{s:s,s:s}", "op", FG_OP_UPSTREAM_SESSION, "state", state),
	    &reply, &why, err, sizeof(err));
	if (r == FG_ERR_DENIED && strcmp(why.code, FG_E_NO_SESSION) == 0) {
		/* a replay, or a login that expired: the agent audits it */
		log_req(c, method, url, 400, "%s",
		    refusal_text(&why, text, sizeof(text)));
		upstream_end(w, c, method, url, state,
		    "the provider's answer carries an unknown state");
		ret = respond_page_below(c, MHD_HTTP_BAD_REQUEST, lang,
		    FG_PAGE_UP_EXPIRED, NULL);
		goto out;
	}
	nonce = fg_json_str(reply, "nonce");
	verifier = fg_json_str(reply, "code_verifier");
	if (r != FG_OK || !random_param(nonce) || !random_param(verifier)) {
		log_req(c, method, url, 503, "%s",
		    r == FG_ERR_DENIED ? refusal_text(&why, text, sizeof(text))
		    : r == FG_OK ? "the agent's upstream.session reply is "
				   "malformed"
				 : err);
		ret = unavailable_below(c, lang);
		goto out;
	}
	code = fg_params_get(&p, "code");
	error = fg_params_get(&p, "error");
	iss = fg_params_get(&p, "iss");
	fail = FG_UP_INVALID;
	if (error != NULL) {
		snprintf(reason, sizeof(reason), "the provider answered error=%s",
		    short_code(error, ecode, sizeof(ecode)));
		fail = FG_UP_OK; /* its own refusal, not a failure */
	} else if (iss != NULL && (!fg_up_issuer(w->up, issuer, sizeof(issuer)) ||
				      strcmp(iss, issuer) != 0)) {
		/* RFC 9207: an answer from another provider (mix-up) */
		snprintf(reason, sizeof(reason),
		    "the provider's answer names another issuer (iss)");
	} else if (code == NULL) {
		snprintf(reason, sizeof(reason),
		    "the provider's answer has no code");
	} else {
		fail = fg_up_redeem(w->up, code, verifier, nonce, &claims,
		    reason, sizeof(reason));
	}
	if (claims == NULL) {
		enum fg_page page = error != NULL ? FG_PAGE_UP_REFUSED
		    : fail == FG_UP_UNREACHABLE	  ? FG_PAGE_UP_DOWN
		    : fail == FG_UP_INVALID	  ? FG_PAGE_UP_INVALID
						  : FG_PAGE_UNAVAILABLE;
		unsigned status = page == FG_PAGE_UP_REFUSED ? 403
		    : page == FG_PAGE_UNAVAILABLE	     ? 503
							     : 502;
		log_req(c, method, url, status, "%s", reason);
		upstream_end(w, c, method, url, state, reason);
		ret = page == FG_PAGE_UNAVAILABLE
		    ? unavailable_below(c, lang)
		    : respond_page_below(c, status, lang, page,
			  page == FG_PAGE_UP_INVALID ? reason : NULL);
		goto out;
	}
	/* the provider's word, checked: the agent names the user */
	json_decref(reply);
	reply = NULL;
	r = fg_web_call(&w->conf.agent,
	    json_pack("{s:s,s:s,s:O}", "op", FG_OP_WEB_UPSTREAM, "state", state,
		"claims", claims),
	    &reply, &why, err, sizeof(err));
	if (r == FG_ERR_DENIED && !fg_refusal_unavailable(why.code)) {
		bool gone = strcmp(why.code, FG_E_NO_SESSION) == 0;
		log_req(c, method, url, gone ? 400 : 403, "%s",
		    refusal_text(&why, text, sizeof(text)));
		ret = respond_page_below(c,
		    gone ? MHD_HTTP_BAD_REQUEST : MHD_HTTP_FORBIDDEN, lang,
		    gone ? FG_PAGE_UP_EXPIRED : FG_PAGE_UP_DENIED,
		    gone ? NULL : why.message);
		goto out;
	}
	if (r == FG_OK && json_is_true(json_object_get(reply, "invite"))) {
		/* an invitation's first factor: the enrolment page follows */
		struct fg_invite_view v = {.lang = lang, .root = "../"};
		size_t len = 0;
		char *html = fg_reply_invite(reply, &v) == FG_OK
		    ? fg_html_enrol(&v, &len)
		    : NULL;

		if (html != NULL) {
			ret = respond(c, MHD_HTTP_OK, TYPE_HTML, html, len,
			    NULL, 0);
			goto out;
		}
		r = FG_ERR_PROTO;
	}
	if (r == FG_OK &&
	    fg_reply_upstream(reply, &authz, user, sizeof(user)) == FG_OK) {
		struct fg_login_view v = {lang, &authz, NULL};
		size_t len = 0;
		char *html = fg_html_login_named(&v, user, "../", &len);

		ret = html == NULL ? MHD_NO
				   : respond(c, MHD_HTTP_OK, TYPE_HTML, html, len,
					 NULL, 0);
		goto out;
	}
	log_req(c, method, url, 503, "%s",
	    r == FG_OK		  ? "the agent's web.upstream reply is malformed"
	    : r == FG_ERR_DENIED ? refusal_text(&why, text, sizeof(text))
				 : err);
	ret = unavailable_below(c, lang);
out:
	json_decref(claims);
	json_decref(reply);
	fg_params_clear(&p);
	return ret;
}

/* --- invitations: remote enrolment --- */

/* GET /enrol/TOKEN: the agent checks the link (unknown, used, expired)
 * and opens a page bound to its user; with the organisation's provider
 * first, the browser goes there at once. The page sits one level below
 * the front's root. */
static enum MHD_Result
do_enrol(struct fg_web *w, struct MHD_Connection *c, const struct req *rq,
    const char *method, const char *url)
{
	enum fg_lang lang = request_lang(c);
	const char *token = url + strlen(ENROL_PREFIX);
	struct fg_invite_view v = {.lang = lang, .root = "../"};
	struct fg_refusal why;
	json_t *reply = NULL;
	char err[256], text[512], net[FG_IP_STR_MAX + 4], *html;
	size_t len = 0, n = strlen(token);
	enum MHD_Result ret;
	int r;

	if (n == 0 || n > 64 ||
	    strspn(token,
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		"0123456789-_") != n) {
		log_req(c, method, url, 410, "not an invitation link");
		return respond_page_below(c, MHD_HTTP_GONE, lang,
		    FG_PAGE_INVITE_GONE, NULL);
	}
	r = fg_web_call(&w->conf.agent,
	    json_pack("{s:s,s:s,s:s}", "op", FG_OP_INVITE_OPEN, "token", token,
		"net", fg_ip_net_str(&rq->client, net, sizeof(net))),
	    &reply, &why, err, sizeof(err));
	if (r == FG_ERR_DENIED && !fg_refusal_unavailable(why.code)) {
		bool gone = strcmp(why.code, FG_E_NO_SESSION) == 0;
		log_req(c, method, url, gone ? 410 : 403, "%s",
		    refusal_text(&why, text, sizeof(text)));
		ret = respond_page_below(c,
		    gone ? MHD_HTTP_GONE : MHD_HTTP_FORBIDDEN, lang,
		    FG_PAGE_INVITE_GONE, why.message);
		goto out;
	}
	if (r == FG_OK &&
	    strcmp(fg_json_str(reply, "first_factor") != NULL
		    ? fg_json_str(reply, "first_factor")
		    : "",
		"provider") == 0) {
		ret = to_provider(w, c, rq, reply, lang, method, url);
		goto out;
	}
	if (r == FG_OK && fg_reply_invite(reply, &v) == FG_OK) {
		html = fg_html_enrol(&v, &len);
		ret = html == NULL ? MHD_NO
				   : respond(c, MHD_HTTP_OK, TYPE_HTML, html, len,
					 NULL, 0);
		goto out;
	}
	log_req(c, method, url, 503, "%s",
	    r == FG_OK		  ? "the agent's invite.open reply is malformed"
	    : r == FG_ERR_DENIED ? refusal_text(&why, text, sizeof(text))
				 : err);
	ret = unavailable_below(c, lang);
out:
	json_decref(reply);
	return ret;
}

/* invite.begin, invite.finish: the enrolment page's requests */
static enum MHD_Result
do_invite(struct fg_web *w, struct MHD_Connection *c, const struct req *rq,
    const char *method, const char *url)
{
	bool begin = rq->route->id == R_INV_BEGIN;
	struct fg_refusal why;
	json_t *req = NULL, *reply = NULL, *page = NULL;
	const char *bad = NULL;
	char err[256];
	unsigned status;
	int r;

	if (fg_login_request(begin ? FG_INVITE_BEGIN : FG_INVITE_FINISH,
		rq->body.p != NULL ? rq->body.p : "", rq->body.len, &req,
		&bad) != FG_OK) {
		log_req(c, method, url, 400, "%s", bad);
		return respond_json(c, MHD_HTTP_BAD_REQUEST,
		    json_pack("{s:s}", "error", "bad_request"), NULL, 0);
	}
	r = fg_web_call(&w->conf.agent, req, &reply, &why, err, sizeof(err));
	if (r == FG_ERR_DENIED && !fg_refusal_unavailable(why.code)) {
		const char *code = begin ? "denied" : "enrol_refused";

		status = MHD_HTTP_FORBIDDEN;
		if (strcmp(why.code, FG_E_LOCKED) == 0) {
			code = "locked";
		} else if (strcmp(why.code, FG_E_RATE_LIMITED) == 0) {
			code = "rate_limited";
			status = MHD_HTTP_TOO_MANY_REQUESTS;
		} else if (strcmp(why.code, FG_E_NO_SESSION) == 0) {
			code = "enrol_expired";
		} else if (strcmp(why.code, FG_E_REFUSED) == 0 && begin) {
			code = "wrong_password";
		} else if (strcmp(why.code, FG_E_BAD_REQUEST) == 0) {
			code = "bad_request";
			status = MHD_HTTP_BAD_REQUEST;
		}
		json_decref(reply);
		return respond_refusal(c, method, url, status, code, &why);
	}
	if (r == FG_OK) {
		r = begin ? fg_reply_invite_begin(reply, &page)
			  : fg_reply_invite_finish(reply, &page);
		if (r != FG_OK)
			snprintf(err, sizeof(err),
			    "the agent's %s reply is malformed",
			    begin ? FG_OP_INVITE_BEGIN : FG_OP_INVITE_FINISH);
	} else if (r == FG_ERR_DENIED) {
		refusal_text(&why, err, sizeof(err));
	}
	json_decref(reply);
	if (r != FG_OK) {
		log_req(c, method, url, 503, "%s", err);
		return unavailable(c, rq->route, FG_LANG_EN);
	}
	return respond_json(c, MHD_HTTP_OK, page, NULL, 0);
}

/* --- the request's life --- */

static bool
origin_allowed(const struct fg_web *w, struct MHD_Connection *c)
{
	const char *origin, *host;
	bool many;
	size_t n;

	origin = single_header(c, MHD_HTTP_HEADER_ORIGIN, &many);
	if (many)
		return false;
	if (origin == NULL)
		return true;
	if (w->conf.origin != NULL)
		return strcmp(origin, w->conf.origin) == 0;
	/* no origin configured: the page's own host, as the browser saw it */
	host = MHD_lookup_connection_value(
	    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	if (host == NULL)
		return false;
	if (strncmp(origin, "https://", 8) == 0)
		n = 8;
	else if (strncmp(origin, "http://", 7) == 0)
		n = 7;
	else
		return false;
	return strcmp(origin + n, host) == 0;
}

/* One request of r's class from the request's client: false (and
 * *retry_after) when over the budget. Logged once, then once in a while
 * with how many were refused: a flood of refusals is not a flood of
 * lines. */
static bool
within_budget(struct fg_web *w, struct MHD_Connection *c, const struct req *rq,
    const struct route *r, const char *url, const char *method,
    unsigned *retry_after)
{
	const struct fg_rate *rate;
	struct fg_budget_verdict v;
	struct fg_addr_key key;
	size_t held;
	uint64_t evicted, early;
	bool ok;

	if (r->budget == FG_BUDGET_NONE || w->budget == NULL)
		return true;
	fg_ip_key(&rq->client, &key);
	ok = fg_budget_take(
	    w->budget, &key, r->budget, (uint64_t)fg_now_ms(), &v);
	if (v.table_full) {
		fg_budget_stats(w->budget, &held, &evicted, &early);
		fprintf(stderr,
		    "fido2gate-web: the budget table is full (%zu "
		    "addresses): %llu were forgotten before their budgets "
		    "refilled; --budget-table may be too small\n",
		    held, (unsigned long long)early);
	}
	if (ok)
		return true;
	rate = &w->conf.budget[r->budget];
	if (v.report > 0)
		log_req(c, method, url, 429,
		    "over the %s budget of %u/%s, burst %u, of this "
		    "address%s: %lu refused since the last line",
		    budget_names[r->budget],
		    rate->per_min % 60 == 0 ? rate->per_min / 60
					    : rate->per_min,
		    rate->per_min % 60 == 0 ? "s" : "min", rate->burst,
		    rq->client.family == AF_INET6 ? "'s /64" : "", v.report);
	*retry_after = v.retry_after;
	return false;
}

/* The headers are in: route, method, content type, declared length, and
 * origin are checked before a byte of the body is read, then the
 * client's budget. */
static enum MHD_Result
on_headers(struct fg_web *w, struct MHD_Connection *c, struct req *rq,
    const char *url, const char *method)
{
	const char *type, *clen;
	unsigned long long n;
	unsigned retry_after = 1;
	struct fg_conn *conn;
	char *end;
	size_t i;

	client_of(w, c, &rq->client);
	if ((conn = conn_of(c)) != NULL)
		fg_ip_str(&rq->client, conn->client, sizeof(conn->client));

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (strcmp(url, routes[i].path) == 0 ||
		    (routes[i].path[strlen(routes[i].path) - 1] == '/' &&
			strncmp(url, routes[i].path, strlen(routes[i].path)) ==
			    0))
			break;
	if (strcmp(method, MHD_HTTP_METHOD_GET) == 0)
		rq->method = M_GET;
	else if (strcmp(method, MHD_HTTP_METHOD_HEAD) == 0)
		rq->method = M_HEAD;
	else if (strcmp(method, MHD_HTTP_METHOD_POST) == 0)
		rq->method = M_POST;
	if (i == sizeof(routes) / sizeof(routes[0])) {
		log_req(c, method, url, 404, "no such endpoint");
		return respond_page(c, MHD_HTTP_NOT_FOUND, request_lang(c),
		    FG_PAGE_NOT_FOUND, NULL, NULL, 0);
	}
	if ((rq->method & routes[i].methods) == 0) {
		struct hdr allow = {MHD_HTTP_HEADER_ALLOW, routes[i].allow};
		log_req(c, method, url, 405, "method not allowed");
		if (routes[i].json)
			return respond_json(c, MHD_HTTP_METHOD_NOT_ALLOWED,
			    json_pack("{s:s}", "error", "invalid_request"),
			    &allow, 1);
		return respond_page_at(c, MHD_HTTP_METHOD_NOT_ALLOWED,
		    request_lang(c), FG_PAGE_METHOD, NULL,
		    route_root(&routes[i]), &allow, 1);
	}
	clen = MHD_lookup_connection_value(
	    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (clen != NULL) {
		errno = 0;
		n = strtoull(clen, &end, 10);
		if (errno != 0 || *end != '\0' || n > w->conf.max_body) {
			log_req(c, method, url, 413,
			    "a body of %s bytes, over "
			    "%zu",
			    errno == 0 && *end == '\0' ? clen : "too many",
			    w->conf.max_body);
			if (routes[i].json)
				return respond_json(c,
				    MHD_HTTP_CONTENT_TOO_LARGE,
				    json_pack(
					"{s:s}", "error", "invalid_request"),
				    NULL, 0);
			return respond_page_at(c, MHD_HTTP_CONTENT_TOO_LARGE,
			    request_lang(c), FG_PAGE_TOO_LARGE, NULL,
			    route_root(&routes[i]), NULL, 0);
		}
	}
	type = MHD_lookup_connection_value(
	    c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
	if (rq->method == M_POST &&
	    ((routes[i].post_body == B_FORM &&
		 !media_type_is(type, "application/x-www-form-urlencoded")) ||
		(routes[i].post_body == B_JSON &&
		    !media_type_is(type, "application/json")))) {
		log_req(c, method, url, 415, "Content-Type is not %s",
		    routes[i].post_body == B_FORM
			? "application/x-www-form-urlencoded"
			: "application/json");
		if (routes[i].json)
			return respond_json(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
			    json_pack("{s:s}", "error",
				routes[i].id == R_TOKEN ? "invalid_request"
							: "bad_request"),
			    NULL, 0);
		return respond_page(c, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
		    request_lang(c), FG_PAGE_MEDIA_TYPE, NULL, NULL, 0);
	}
	if (routes[i].post_body == B_JSON && !origin_allowed(w, c)) {
		log_req(c, method, url, 403, "Origin is not %s, or repeated",
		    w->conf.origin != NULL ? w->conf.origin : "the Host's");
		return respond_json(c, MHD_HTTP_FORBIDDEN,
		    json_pack("{s:s}", "error", "forbidden"), NULL, 0);
	}
	if (!within_budget(w, c, rq, &routes[i], url, method, &retry_after))
		return too_many(c, &routes[i], retry_after);
	rq->route = &routes[i];
	return MHD_YES;
}

static enum MHD_Result
on_body_done(struct fg_web *w, struct MHD_Connection *c, struct req *rq,
    const char *url, const char *method)
{
	if (rq->too_large) {
		log_req(c, method, url, 413, "a body over %zu bytes",
		    w->conf.max_body);
		if (rq->route->json)
			return respond_json(c, MHD_HTTP_CONTENT_TOO_LARGE,
			    json_pack("{s:s}", "error", "invalid_request"),
			    NULL, 0);
		return respond_page_at(c, MHD_HTTP_CONTENT_TOO_LARGE,
		    request_lang(c), FG_PAGE_TOO_LARGE, NULL,
		    route_root(rq->route), NULL, 0);
	}
	if (rq->body.failed)
		return MHD_NO;
	switch (rq->route->id) {
	case R_DISCOVERY:
	case R_JWKS:
		return do_document(w, c, rq, method, url);
	case R_AUTHORIZE:
		return do_authorize(w, c, rq, method, url);
	case R_BEGIN:
	case R_FINISH:
	case R_ABORT:
		return do_login(w, c, rq, method, url);
	case R_TOKEN:
		return do_token(w, c, rq, method, url);
	case R_USERINFO:
		return do_userinfo(w, c, rq, method, url);
	case R_UPSTREAM:
		return do_upstream(w, c, rq, method, url);
	case R_ENROL:
		return do_enrol(w, c, rq, method, url);
	case R_INV_BEGIN:
	case R_INV_FINISH:
		return do_invite(w, c, rq, method, url);
	case R_STATIC:
	default:
		return do_static(c, url);
	}
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *c, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **req_cls)
{
	struct fg_web *w = cls;
	struct req *rq = *req_cls;

	(void)version;
	if (rq == NULL) {
		enum MHD_Result ret;

		/* a connection over its address's limit, being shut */
		if (conn_of(c) == NULL)
			return MHD_NO;
		if ((rq = calloc(1, sizeof(*rq))) == NULL)
			return MHD_NO;
		*req_cls = rq;
		ret = on_headers(w, c, rq, url, method);
		if (rq->route == NULL)
			fg_conns_received(w->conns, conn_of(c));
		return ret;
	}
	if (rq->route == NULL)
		return MHD_NO; /* answered at the headers */
	if (*upload_size > 0) {
		rq->received += *upload_size;
		if (rq->received > w->conf.max_body)
			rq->too_large = true;
		if (rq->received > w->conf.max_body + DISCARD_MAX) {
			log_req(c, method, url, 413,
			    "a body over %zu bytes: "
			    "connection closed",
			    w->conf.max_body + DISCARD_MAX);
			return MHD_NO;
		}
		if (!rq->too_large && rq->route->post_body != B_ANY)
			fg_buf_add(&rq->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	fg_conns_received(w->conns, conn_of(c));
	return on_body_done(w, c, rq, url, method);
}

static void
on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct fg_web *w = cls;
	struct req *rq = *req_cls;

	/* the next request on this connection has its own deadline */
	if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
		fg_conns_idle(w->conns, conn_of(c));
	if (rq == NULL)
		return;
	fg_buf_free(&rq->body);
	free(rq);
	*req_cls = NULL;
}

/* At accept: an address over its connection limit is refused before
 * libmicrohttpd makes anything of the connection. */
static enum MHD_Result
on_accept(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct fg_web *w = cls;
	struct fg_ip peer;

	fg_ip_from_sockaddr(
	    addrlen >= (socklen_t)sizeof(sa_family_t) ? addr : NULL, &peer);
	return fg_conns_admit(
		   w->conns, &peer, fg_proxies_has(&w->conf.proxies, &peer))
	    ? MHD_YES
	    : MHD_NO;
}

/* A connection's start and end. One that the limit refuses after all
 * (threads accepting at once) is shut down here; libmicrohttpd then
 * reads the end of the stream and closes it. */
static void
on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
    enum MHD_ConnectionNotificationCode toe)
{
	struct fg_web *w = cls;
	const union MHD_ConnectionInfo *ci;
	struct fg_ip peer;

	if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
		fg_conns_close(w->conns, *socket_context);
		*socket_context = NULL;
		return;
	}
	if (toe != MHD_CONNECTION_NOTIFY_STARTED)
		return;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci == NULL)
		return;
	peer_of(c, &peer);
	*socket_context = fg_conns_open(w->conns, &peer,
	    fg_proxies_has(&w->conf.proxies, &peer), ci->connect_fd);
	if (*socket_context == NULL)
		shutdown(ci->connect_fd, SHUT_RDWR);
}

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512], esc[600];
	size_t n;

	(void)cls;
	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n > 0 && line[n - 1] == '\n')
		line[--n] = '\0';
	fprintf(stderr, "fido2gate-web: libmicrohttpd: %s\n",
	    fg_text_escape(line, esc, sizeof(esc)));
}

int
fg_web_start(const struct fg_web_conf *conf, struct fg_web **out, char *err,
    size_t errlen)
{
	struct MHD_OptionItem pool[] = {
	    {MHD_OPTION_END, 0, NULL},
	    {MHD_OPTION_END, 0, NULL},
	};
	struct fg_web *w;

	*out = NULL;
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return FG_ERR_NOMEM;
	}
	w->conf = *conf;
	/* the relying party of the organisation's provider, if the agent
	 * has one: it loads in the background */
	if ((w->up = fg_up_new(&w->conf.agent, conf->base_url)) == NULL) {
		snprintf(err, errlen, "out of memory");
		free(w);
		return FG_ERR_NOMEM;
	}
	/* the table is allocated whole, now: no flood can grow it */
	w->budget = fg_budget_new(conf->budget_table, conf->budget);
	w->conns = fg_conns_new(
	    conf->max_connections, conf->max_per_ip, conf->request_timeout_s);
	if (w->budget == NULL || w->conns == NULL) {
		snprintf(err, errlen, "out of memory");
		fg_budget_free(&w->budget);
		fg_conns_free(&w->conns);
		fg_up_free(&w->up);
		free(w);
		return FG_ERR_NOMEM;
	}
	/* one thread is no pool: libmicrohttpd wants the option left out */
	pool[0].option =
	    conf->threads > 1 ? MHD_OPTION_THREAD_POOL_SIZE : MHD_OPTION_END;
	pool[0].value = (intptr_t)conf->threads;
	/* the per-address connection limit is conns.c's, not
	 * libmicrohttpd's, which could not spare a trusted proxy */
	w->d = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG,
	    0, on_accept, w, on_request, w, MHD_OPTION_EXTERNAL_LOGGER,
	    on_mhd_log, w, MHD_OPTION_LISTEN_SOCKET, conf->listen_fd,
	    MHD_OPTION_ARRAY, pool, MHD_OPTION_CONNECTION_LIMIT,
	    conf->max_connections, MHD_OPTION_CONNECTION_TIMEOUT,
	    conf->timeout_s, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    conf->memory_limit, MHD_OPTION_NOTIFY_COMPLETED, on_completed, w,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, w,
	    MHD_OPTION_STRICT_FOR_CLIENT, 1, MHD_OPTION_END);
	if (w->d == NULL) {
		snprintf(err, errlen,
		    "libmicrohttpd could not start (see its "
		    "message above)");
		fg_budget_free(&w->budget);
		fg_conns_free(&w->conns);
		fg_up_free(&w->up);
		free(w);
		return FG_ERR_INTERNAL;
	}
	*out = w;
	return FG_OK;
}

void
fg_web_stop(struct fg_web **w)
{
	if (w == NULL || *w == NULL)
		return;
	MHD_stop_daemon((*w)->d); /* every connection closed */
	fg_conns_free(&(*w)->conns);
	fg_budget_free(&(*w)->budget);
	fg_up_free(&(*w)->up);
	free(*w);
	*w = NULL;
}
