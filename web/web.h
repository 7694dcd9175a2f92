/*
 * fido2gate-web's internals: the pure parsers and renderers (parameters,
 * Accept-Language, Basic credentials, HTML, the page's JSON bodies, the
 * agent's replies), the agent call, and the HTTP server around them. The
 * parsers touch no socket and no global state, so the unit tests and the
 * fuzz harnesses call them as the server does. docs/oidc.md is the spec.
 */
#ifndef FG_WEB_H
#define FG_WEB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "fg.h"

/* buf.c: a growing text buffer for pages and bodies. An append that
 * cannot grow marks the buffer failed; fg_buf_take then returns NULL. */
struct fg_buf {
	char *p;
	size_t len;
	size_t cap;
	bool failed;
};

void fg_buf_add(struct fg_buf *b, const char *s, size_t n);
void fg_buf_str(struct fg_buf *b, const char *s);
/* s percent-encoded: RFC 3986's unreserved characters as they are, every
 * other byte %XX (fit for a query and for a form body) */
void fg_buf_urlenc(struct fg_buf *b, const char *s);
/* s with & < > " ' escaped, and controls other than tab and newline
 * dropped: safe as HTML text and inside a quoted attribute */
void fg_buf_html(struct fg_buf *b, const char *s);
/* the text, NUL-terminated (free with fg_wipe_free(p, *len)) */
char *fg_buf_take(struct fg_buf *b, size_t *len);
void fg_buf_free(struct fg_buf *b); /* wipes */

/* params.c: the parameters of one request (query or form), as libmicrohttpd
 * parsed them, collected and checked: a parameter at most once, a name of
 * [A-Za-z0-9_.-] of at most FG_WEB_NAME_MAX bytes, a value of at most
 * FG_PARAM_MAX bytes with no NUL and valid UTF-8, FG_WEB_PARAMS_MAX in all.
 * An empty value counts as given (a repeat is a repeat) but is left out of
 * the result, as RFC 6749 §3.1 asks. The first error sticks. */
#define FG_WEB_PARAMS_MAX 32
/* state and nonce: the client's, echoed back; longer is refused (400) */
#define FG_WEB_STATE_MAX 512
#define FG_WEB_NAME_MAX 64

enum fg_params_err {
	FG_PARAMS_OK = 0,
	FG_PARAMS_REPEATED,
	FG_PARAMS_TOO_LONG,
	FG_PARAMS_TOO_MANY,
	FG_PARAMS_BAD_NAME,
	FG_PARAMS_BAD_VALUE,
	FG_PARAMS_NOMEM,
};

struct fg_param {
	char name[FG_WEB_NAME_MAX + 1];
	char *value; /* NUL-terminated; len bytes */
	size_t len;
};

struct fg_params {
	struct fg_param p[FG_WEB_PARAMS_MAX];
	size_t n;
	enum fg_params_err err;
	char err_name[FG_WEB_NAME_MAX + 1]; /* the parameter at fault */
};

void fg_params_init(struct fg_params *p);
/* a new parameter; value may be NULL (a name without '=') */
enum fg_params_err fg_params_add(struct fg_params *p, const char *name,
    size_t name_len, const char *value, size_t value_len);
/* more of the last parameter's value (a form value that came in pieces) */
enum fg_params_err fg_params_append(
    struct fg_params *p, const char *name, const char *value, size_t value_len);
/* the value, or NULL when absent or empty */
const char *fg_params_get(const struct fg_params *p, const char *name);
/* every non-empty parameter as an object of strings; NULL (and p->err set)
 * when a value is not UTF-8 or memory ran out */
json_t *fg_params_json(struct fg_params *p);
/* a sentence for the log and the error page; names only, never values */
const char *fg_params_strerror(
    const struct fg_params *p, char *buf, size_t len);
void fg_params_clear(struct fg_params *p); /* wipes the values */

/* lang.c: the page's language. */
enum fg_lang {
	FG_LANG_EN = 0,
	FG_LANG_FR = 1,
};

/* The best of ours by an Accept-Language header (RFC 9110 §12.5.4, with
 * q-values); English when none is acceptable or the header is absent. */
enum fg_lang fg_lang_accept(const char *header);
/* OpenID Connect's ui_locales (space-separated, in order of preference):
 * true and *out set when one of ours is there. */
bool fg_lang_ui_locales(const char *ui_locales, enum fg_lang *out);
const char *fg_lang_code(enum fg_lang lang); /* "en", "fr" */

/* basic.c: client_secret_basic (RFC 6749 §2.3.1): an Authorization
 * header "Basic base64(urlencode(id) ':' urlencode(secret))". FG_OK with
 * both decoded (malloc'd, secret to be freed with fg_wipe_free);
 * FG_ERR_NOTFOUND when the header's scheme is not Basic; FG_ERR_INVALID
 * when it is, but malformed. */
#define FG_WEB_BASIC_MAX 4096 /* the header's credentials, in bytes */
int fg_basic_decode(const char *header, char **id, char **secret);
/* RFC 6750 §2.1: "Bearer TOKEN" with TOKEN a b64token. FG_OK with *token
 * pointing into header; FG_ERR_NOTFOUND (another scheme); FG_ERR_INVALID. */
int fg_bearer_token(const char *header, const char **token, size_t *len);
/* application/x-www-form-urlencoded decoding of s in place ('+' is a
 * space, %XX a byte); FG_ERR_INVALID for a '%' without two hex digits or
 * a decoded NUL. */
int fg_form_decode(char *s, size_t *len);

/* login.c: the page's JSON bodies (/login/begin, /finish, /abort) turned
 * into the agent's request. Only the members each op takes, each checked
 * for type and size: the agent never sees what the page did not mean. */
enum fg_login_op {
	FG_LOGIN_BEGIN,
	FG_LOGIN_FINISH,
	FG_LOGIN_ABORT,
	FG_INVITE_BEGIN,  /* an invitation's page: /invite/begin */
	FG_INVITE_FINISH, /* /invite/finish */
};
#define FG_WEB_PASSWORD_MAX 1024
#define FG_WEB_USER_MAX 255 /* a Matrix user ID */
#define FG_WEB_B64_MAX 8192 /* authenticator data, client data, decoded */
#define FG_WEB_SIG_MAX 1024

/* FG_OK with *req ({"op": ..., members}); FG_ERR_INVALID with *why, a
 * sentence without the body's content. */
int fg_login_request(enum fg_login_op op, const char *body, size_t len,
    json_t **req, const char **why);

/* reply.c: the agent's replies, checked before anything reaches a browser
 * or a client. A reply that fails the check is nonsense: the front answers
 * 503, as for an agent that is down. */
struct fg_authz {
	char tx[64];
	char client[256];
	char first_factor[16]; /* "none" | "password" | "provider" */
	char uv[16];
	long expires_in;
};

/* oidc.authorize's "upstream" with first_factor "provider": what our own
 * authorization request to the organisation's provider carries. */
#define FG_UP_NAME_MAX 63
#define FG_UP_RANDOM_LEN 43 /* state, nonce, PKCE challenge: 32 bytes */
#define FG_UP_SCOPE_MAX 255
#define FG_UP_PARAMS_MAX 1023

struct fg_up_start {
	char name[FG_UP_NAME_MAX + 1];
	char state[FG_UP_RANDOM_LEN + 1];
	char nonce[FG_UP_RANDOM_LEN + 1];
	char challenge[FG_UP_RANDOM_LEN + 1];
	char scope[FG_UP_SCOPE_MAX + 1];
	char params[FG_UP_PARAMS_MAX + 1]; /* k=v&k=v, URL-encoded; may be "" */
};

/* A URL fit for a Location header and location.assign: http(s), printable
 * ASCII, no space, at most FG_WEB_URL_MAX bytes. */
#define FG_WEB_URL_MAX 8192
bool fg_url_sane(const char *url);
/* the host[:port] of an http(s) URL, into buf; false if none */
bool fg_url_host(const char *url, char *buf, size_t len);
/* the origin (scheme://host[:port]) of an http(s) URL, into buf */
bool fg_url_origin(const char *url, char *buf, size_t len);

int fg_reply_document(const json_t *reply, const char *key, json_t **out);
int fg_reply_authorize(const json_t *reply, struct fg_authz *out);
/* the "upstream" of an authorize reply whose first_factor is "provider" */
int fg_reply_upstream_start(const json_t *reply, struct fg_up_start *out);
/* web.upstream's answer: the transaction, the user the provider named
 * (a Matrix localpart) and the client's name, into *authz and user */
int fg_reply_upstream(const json_t *reply, struct fg_authz *authz,
    char *user, size_t user_len);
/* web.begin's answer as the page needs it: session, challenge, rp_id,
 * allow_credentials, uv, timeout, and nothing else */
int fg_reply_begin(const json_t *reply, json_t **page);
/* web.finish: allow with a sane redirect (*page {"redirect"}), or deny
 * (*page {"error": why}, *allow false) */
int fg_reply_finish(const json_t *reply, json_t **page, bool *allow);
int fg_reply_token(const json_t *reply, json_t **token);
int fg_reply_claims(const json_t *reply, json_t **claims);
/* An invitation's enrolment page: invite.open's reply (first_factor
 * "password" or "provider"), or web.upstream's for an invitation
 * (first_factor "provider", the user the provider named and the agent
 * checked). */
struct fg_invite_view {
	enum fg_lang lang;
	char tx[64];
	char user[FG_USER_NAME_MAX + 1];
	char first_factor[16];
	char uv[16];
	long expires_in;
	const char *root; /* from the page's URL back to the front's root */
};
int fg_reply_invite(const json_t *reply, struct fg_invite_view *out);
/* invite.begin's answer as the page needs it: the options of
 * navigator.credentials.create(), and nothing else */
int fg_reply_invite_begin(const json_t *reply, json_t **page);
/* invite.finish's: {"pending": true, "request": ID} */
int fg_reply_invite_finish(const json_t *reply, json_t **page);
/* an OAuth refusal's code (RFC 6749 §4.1.2.1, §5.2): lowercase letters
 * and '_', at most 63 bytes; NULL when the reply carries none */
const char *fg_reply_oauth_error(const json_t *reply);
/* RFC 6749's error_description alphabet (%x20-21 / %x23-5B / %x5D-7E):
 * s with any other byte replaced by a space, truncated to fit buf */
const char *fg_oauth_text(const char *s, char *buf, size_t len);
/* a refusal code that means the agent cannot serve (not a decision
 * about this request): the front answers 503 */
bool fg_refusal_unavailable(const char *code);

/* html.c: pages, each in the user's language. */
/* Resolves every text of the pages in French from the catalog under
 * localedir (FG_LOCALEDIR), once, before any thread starts; until then,
 * and for any text without a translation, English. Returns how many texts
 * were translated. */
size_t fg_html_load(const char *localedir);
struct fg_login_view {
	enum fg_lang lang;
	const struct fg_authz *authz;
	const char *return_host; /* the redirect URI's host, or NULL */
};

enum fg_page {
	FG_PAGE_BAD_REQUEST, /* 400: an authorization request we refuse */
	FG_PAGE_NOT_FOUND,   /* 404 */
	FG_PAGE_METHOD,	     /* 405 */
	FG_PAGE_TOO_LARGE,   /* 413 */
	FG_PAGE_MEDIA_TYPE,  /* 415 */
	FG_PAGE_UNAVAILABLE, /* 503: the agent is down or failing */
	FG_PAGE_TOO_MANY,    /* 429: over this address's request budget */
	/* the organisation's provider first */
	FG_PAGE_UP_DOWN,     /* 502: it cannot be reached, or is too slow */
	FG_PAGE_UP_INVALID,  /* 502: its answer fails our checks */
	FG_PAGE_UP_REFUSED,  /* 403: it ended the sign-in (an error) */
	FG_PAGE_UP_DENIED,   /* 403: the agent refuses who it named */
	FG_PAGE_UP_EXPIRED,  /* 400: an unknown, used or expired state */
	FG_PAGE_INVITE_GONE, /* 410: an unknown, used or expired link */
	FG_PAGE_COUNT
};

/* malloc'd HTML, NUL-terminated, *len bytes; NULL when out of memory */
char *fg_html_login(const struct fg_login_view *v, size_t *len);
/* The same after the organisation's provider (first_factor "provider"):
 * user, the one it named, is shown and not asked for; root leads from the
 * page's URL back to the front's root ("../" at /upstream/callback). NULL
 * without a user. */
char *fg_html_login_named(const struct fg_login_view *v, const char *user,
    const char *root, size_t *len);
/* The enrolment page of an invitation link. */
char *fg_html_enrol(const struct fg_invite_view *v, size_t *len);
/* detail: a sentence for the user (escaped here), or NULL */
char *fg_html_error(
    enum fg_lang lang, enum fg_page page, const char *detail, size_t *len);
/* the same for a page served below the front's root (root: "../") */
char *fg_html_error_at(enum fg_lang lang, enum fg_page page,
    const char *detail, const char *root, size_t *len);

/*
 * idtoken.c: the organisation's provider's answers, checked without a
 * socket (the fuzz harness calls them as upstream.c does): its discovery
 * document, our authorization request to it, its token response and the
 * id_token in it. Each refusal comes with *why, a short sentence of
 * printable ASCII (the agent audits it), never the token's content.
 */
#define FG_UP_BODY_MAX (1024 * 1024) /* bytes of any answer of the provider's */
#define FG_UP_JWT_MAX 16384	     /* bytes of an id_token */

/* The endpoints a discovery document names (https, sane), malloc'd. */
struct fg_up_endpoints {
	char *authorization;
	char *token;
	char *jwks;
	char *userinfo; /* NULL when the document names none */
};
/* FG_OK when doc's issuer is exactly issuer and its three endpoints (and
 * its userinfo endpoint, if any) are https URLs; FG_ERR_INVALID (why)
 * otherwise. */
int fg_up_discovery(const json_t *doc, const char *issuer,
    struct fg_up_endpoints *out, const char **why);
void fg_up_endpoints_clear(struct fg_up_endpoints *e);

/* The URL to send the browser to: the authorization endpoint with
 * response_type=code, client_id, redirect_uri, scope, state, nonce,
 * code_challenge (S256) and the extra params, which may not set any of
 * those. NULL (why) when params are malformed or memory ran out. */
char *fg_up_authorize_url(const char *endpoint, const char *client_id,
    const char *redirect_uri, const struct fg_up_start *s, const char **why);

/* The token endpoint's answer (status, body): FG_OK with *id_token and,
 * when it gave a well-formed one, *access_token (malloc'd, to be freed
 * with fg_wipe_free), or FG_ERR_INVALID (why). */
int fg_up_token_reply(long status, const char *body, size_t len,
    char **id_token, char **access_token, const char **why);

/* What the id_token must say. algs: the accepted algorithms, space
 * separated; "none" and HMAC algorithms are refused whatever it says. */
struct fg_idtoken_want {
	const char *issuer;
	const char *client_id;
	const char *nonce;
	const char *algs;
	int64_t now; /* seconds since the epoch */
	unsigned skew;
};

/* OpenID Connect Core §3.1.3.7 on a compact JWS: the header's alg one of
 * want->algs (checked before any key is picked), the signature by the
 * JWKS key its kid names (of the kty and curve its alg needs; RSA of 2048
 * bits or more), then iss, aud, azp, exp, iat, nbf, nonce and sub.
 * FG_OK with *claims (the payload); FG_ERR_NOTFOUND when no key of the
 * JWKS fits (the caller may fetch the JWKS again, once); FG_ERR_INVALID
 * (why) otherwise. */
int fg_idtoken_check(const char *jwt, const json_t *jwks,
    const struct fg_idtoken_want *want, json_t **claims, const char **why);

/* The userinfo endpoint's answer (Core §5.3.2): JSON, or (type
 * application/jwt) a JWS checked as an id_token's signature is, whose iss
 * and aud, when present, must be the provider's and ours; in both, the
 * sub must be sub, the id_token's. FG_OK with *claims; FG_ERR_NOTFOUND
 * (no key fits) or FG_ERR_INVALID (why) otherwise. */
int fg_up_userinfo(long status, const char *type, const char *body,
    size_t len, const json_t *jwks, const struct fg_idtoken_want *want,
    const char *sub, json_t **claims, const char **why);

/* agent.c: one request to the agent, every wait bounded. */
struct fg_web_agent {
	const char *socket;
	int timeout_ms; /* the connection and the call together */
};

/* FG_OK: *reply is the agent's answer, ok:true. FG_ERR_DENIED: the agent
 * refused; *reply is its refusal and *why says why. Anything else: the
 * agent cannot be reached or broke the protocol (err says how); the front
 * answers 503. req is consumed. */
int fg_web_call(const struct fg_web_agent *a, json_t *req, json_t **reply,
    struct fg_refusal *why, char *err, size_t errlen);

/* addr.c: client addresses, for the request budgets and the connection
 * limit. */
struct sockaddr;

struct fg_ip {
	int family;    /* AF_INET, AF_INET6, or AF_UNIX (no address) */
	uint8_t a[16]; /* AF_INET: the first 4 bytes */
};
#define FG_IP_STR_MAX 46 /* INET6_ADDRSTRLEN */

/* What the budgets and the connection limit count by: an IPv4 address,
 * an IPv6 address's /64 (one subscriber's), or the Unix socket. */
struct fg_addr_key {
	uint8_t b[17];
};

/* --trusted-proxy: addresses or networks (ADDR/PREFIX) */
#define FG_WEB_PROXIES_MAX 16
struct fg_net {
	struct fg_ip ip;
	unsigned prefix;
};
struct fg_proxies {
	struct fg_net net[FG_WEB_PROXIES_MAX];
	size_t n;
};

/* a socket's peer; anything but IPv4 and IPv6 is the Unix socket's */
bool fg_ip_from_sockaddr(const struct sockaddr *sa, struct fg_ip *out);
/* an X-Forwarded-For entry: IPv4, IPv6, [IPv6], either with :PORT,
 * spaces around; an IPv4-mapped IPv6 address is the IPv4 one */
bool fg_ip_parse(const char *s, size_t len, struct fg_ip *out);
const char *fg_ip_str(const struct fg_ip *ip, char *buf, size_t len);
/* The network the agent counts a client's logins by, as text: the
 * IPv4 address, the IPv6 /64 ("2001:db8:1:2::/64") or "unix", as the
 * budgets group them. */
const char *fg_ip_net_str(const struct fg_ip *ip, char *buf, size_t len);
void fg_ip_key(const struct fg_ip *ip, struct fg_addr_key *key);
/* SipHash-2-4 of the key under a table's secret */
uint64_t fg_addr_hash(const struct fg_addr_key *key, const uint8_t secret[16]);
/* ADDR[/PREFIX][,ADDR[/PREFIX]...] added to p; FG_ERR_INVALID (why) */
int fg_proxies_add(struct fg_proxies *p, const char *spec, const char **why);
/* ip is one of the trusted proxies; a Unix socket's peer always is */
bool fg_proxies_has(const struct fg_proxies *p, const struct fg_ip *ip);
/* The client behind a trusted proxy, from the X-Forwarded-For headers'
 * values in the order they came: walking from the right, the first entry
 * that is not a trusted proxy (the leftmost ones are the client's own
 * writing). Every entry a trusted proxy: the leftmost of them. false when
 * there is no entry, or the walk meets one that is not an address
 * (nothing a trusted proxy wrote): the caller keeps the peer. */
bool fg_xff_client(const struct fg_proxies *p, const char *const *values,
    size_t n, struct fg_ip *out);

/* budget.c: a token bucket per client address and class of endpoint, in
 * a table of fixed size (the least recently used address makes room). */
enum fg_budget_class {
	FG_BUDGET_LOGIN,    /* the browser's: /authorize, /login/, callback */
	FG_BUDGET_TOKEN,    /* the relying party's: /token, /userinfo */
	FG_BUDGET_DOCUMENT, /* discovery and keys */
	FG_BUDGET_CLASSES,
	FG_BUDGET_NONE = FG_BUDGET_CLASSES, /* static files */
};
#define FG_RATE_MAX 100000 /* requests a second */
#define FG_BURST_MAX 100000
#define FG_BUDGET_TABLE_MAX (1u << 22) /* addresses */

struct fg_rate {
	unsigned per_min; /* sustained, requests a minute; 0: no budget */
	unsigned burst;	  /* at once, after a rest */
};
/* "RATE,BURST" (RATE a second, or RATE/s, RATE/m a minute) or "off" */
int fg_rate_parse(const char *s, struct fg_rate *out);

struct fg_budget_verdict {
	unsigned retry_after; /* refused: seconds until one fits */
	unsigned long report; /* refused: refusals to log now, 0: none */
	bool table_full;      /* log that the table was too small */
};
struct fg_budget;
struct fg_budget *fg_budget_new(
    size_t addresses, const struct fg_rate rate[FG_BUDGET_CLASSES]);
void fg_budget_free(struct fg_budget **bu);
/* one request of class cls from key at now (monotonic ms): true when
 * within the budget; false, *v saying more, when not */
bool fg_budget_take(struct fg_budget *bu, const struct fg_addr_key *key,
    enum fg_budget_class cls, uint64_t now, struct fg_budget_verdict *v);
/* addresses held; evicted in all, and evicted before their buckets had
 * filled up again (the table is too small for the flood) */
void fg_budget_stats(struct fg_budget *bu, size_t *held, uint64_t *evicted,
    uint64_t *evicted_early);

/* conns.c: the per-address connection limit (a trusted proxy has none)
 * and the deadline for a request's headers and body. */
struct fg_conn {
	struct fg_ip peer;
	bool trusted;			 /* the peer is a trusted proxy */
	char client[FG_IP_STR_MAX + 16]; /* this request's, for the logs */
	/* conns.c's own */
	int fd;
	struct fg_addr_key key;
	bool counted, waiting, expired;
	uint64_t since;
	struct fg_conn *prev, *next;
};
struct fg_conns;
/* deadline_s 0: none */
struct fg_conns *fg_conns_new(
    unsigned max_connections, unsigned per_addr, unsigned deadline_s);
void fg_conns_free(struct fg_conns **cs);
/* at accept: false when the peer (untrusted) holds its share already */
bool fg_conns_admit(
    struct fg_conns *cs, const struct fg_ip *peer, bool trusted);
/* a connection started: NULL when over the limit or out of memory (the
 * caller shuts it down) */
struct fg_conn *fg_conns_open(
    struct fg_conns *cs, const struct fg_ip *peer, bool trusted, int fd);
void fg_conns_close(struct fg_conns *cs, struct fg_conn *c);
/* the request is in: off the deadline */
void fg_conns_received(struct fg_conns *cs, struct fg_conn *c);
/* the response is sent: the deadline starts again for the next one */
void fg_conns_idle(struct fg_conns *cs, struct fg_conn *c);

/* static.c: the page's script and style, built into the binary. */
struct fg_static {
	const char *path; /* "/static/login.js" */
	const char *type; /* its Content-Type */
	const unsigned char *data;
	const unsigned char *end; /* its length is end - data */
};
const struct fg_static *fg_static_find(const char *path);

/* server.c: the HTTP front. */
struct fg_web_conf {
	struct fg_web_agent agent;
	int listen_fd;	    /* bound and listening */
	const char *origin; /* the browser origin; NULL: the Host's */
	const char *base_url; /* the issuer as browsers see it, or NULL */
	unsigned threads;   /* libmicrohttpd's pool */
	unsigned max_connections;
	unsigned max_per_ip;
	unsigned timeout_s;  /* a connection's idle time */
	size_t memory_limit; /* per connection: headers, buffers */
	size_t max_body;     /* bytes; more is 413 */
	/* a request's headers and body, in all */
	unsigned request_timeout_s;
	/* --trusted-proxy */
	struct fg_proxies proxies;
	/* per client address, and how many addresses are remembered */
	struct fg_rate budget[FG_BUDGET_CLASSES];
	size_t budget_table;
};

/*
 * upstream.c: the relying party of the organisation's provider (first
 * factor oidc:NAME). Its settings come from the agent (upstream.config),
 * its discovery document and JWKS from the provider, over HTTPS only
 * (libcurl: verification always on, the configured CA or the system's,
 * the configured timeout, FG_UP_BODY_MAX bytes at most, no redirect, no
 * proxy from the environment), and only from the URLs the configured
 * discovery document names. Shared by the server's threads.
 */
struct fg_up;

/* How a step with the provider failed, for the page. */
enum fg_up_fail {
	FG_UP_OK = 0,
	FG_UP_UNREACHABLE, /* down, slow, TLS, not JSON, too large */
	FG_UP_INVALID,	   /* answered, but fails a check */
	FG_UP_AGENT,	   /* the agent cannot say how (503) */
	FG_UP_NOMEM,
};

/* Our redirect_uri is <base_url>/upstream/callback; base_url NULL: the
 * agent's issuer. Starts loading in the background. */
struct fg_up *fg_up_new(const struct fg_web_agent *agent,
    const char *base_url);
void fg_up_free(struct fg_up **up);
/* The agent's settings, then the provider's discovery and JWKS, cached
 * until the agent's settings change. FG_ERR_NOTFOUND: no provider is
 * configured. */
int fg_up_load(struct fg_up *up, char *err, size_t errlen);
/* The URL that starts a login at the provider (fg_up_load first, asking
 * the agent again); *fail and err say why when NULL. */
char *fg_up_start_url(struct fg_up *up, const struct fg_up_start *s,
    enum fg_up_fail *fail, char *err, size_t errlen);
/* The provider's issuer, for the callback's iss (loaded when this front
 * has none yet); false when it cannot be known. */
bool fg_up_issuer(struct fg_up *up, char *buf, size_t len);
/* Redeems code with our verifier and checks the id_token against our
 * nonce: FG_UP_OK with *claims, or the failure and why (short, printable,
 * for the agent's audit). */
enum fg_up_fail fg_up_redeem(struct fg_up *up, const char *code,
    const char *verifier, const char *nonce, json_t **claims, char *why,
    size_t whylen);

struct fg_web;
/* starts serving on conf->listen_fd (which it then owns) */
int fg_web_start(const struct fg_web_conf *conf, struct fg_web **out, char *err,
    size_t errlen);
void fg_web_stop(struct fg_web **w);

#endif
