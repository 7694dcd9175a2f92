/*
 * fido2gated's internals: configuration, the credential store, pending
 * challenges and the request handlers. The agent is one thread around a
 * poll loop; every request is answered before the next is read.
 */
#ifndef AGENT_H
#define AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "auditchain.h"
#include "fg.h"

/* gateconf.c: the homeserver gate's settings ([web], [oidc], [homeserver],
 * [client.NAME]); gate.issuer[0] == '\0' when it is off. */
#define FG_CLIENTS_MAX 16
#define FG_REDIRECTS_MAX 8
#define FG_EXEMPT_MAX 16

struct fg_oidc_client {
	char id[64];	      /* client_id: the NAME of [client.NAME] */
	char name[128];	      /* shown on the login page */
	uint8_t secret_hash[32]; /* SHA-256 of the secret, never the secret */
	bool is_public;	      /* no secret; PKCE required */
	char *redirect[FG_REDIRECTS_MAX];
	size_t n_redirect;
	char scopes[256];     /* allowed, space separated */
	char alg[8];	      /* the id_token's: RS256 or ES256 */
	/* OpenID Connect Back-Channel Logout 1.0: where a lock posts a
	 * logout token for each of the user's sessions; "": none */
	char backchannel_logout_uri[FG_ORIGIN_MAX + 1];
};

/* [upstream.NAME]: the organisation's identity provider, the first factor
 * when [web] first_factor = oidc:NAME. The web front is its relying
 * party (it holds the secret and checks the id_token); the agent keeps
 * the flow's state and decides who the user is. */
#define FG_UPSTREAMS_MAX 4
#define FG_ACR_MAX 8

struct fg_upstream {
	char name[64];
	char issuer[FG_ORIGIN_MAX + 1];
	char discovery[FG_ORIGIN_MAX + 1]; /* default issuer + well-known */
	char client_id[256];
	char *secret;	      /* for the front's token request; not logged */
	bool secret_post;     /* client_secret_post, else _basic */
	char scopes[256];
	char params[1024];    /* extra authorization parameters, k=v&k=v */
	char claim[64];	      /* the claim that names the user */
	bool email_localpart; /* the part of an email before '@' */
	char algs[64];	      /* accepted id_token algorithms */
	char *acr[FG_ACR_MAX]; /* accepted acr values; none: any */
	size_t n_acr;
	unsigned skew;	      /* seconds of clock skew on iat/exp */
	unsigned timeout;     /* seconds per request to the provider */
	char ca_file[256];    /* "" : the system's */
};

enum fg_first_factor { FG_FF_NONE, FG_FF_PAM, FG_FF_OIDC };

struct fg_gate {
	char issuer[FG_ORIGIN_MAX + 1];
	unsigned code_ttl;  /* seconds */
	unsigned token_ttl; /* seconds: id_token and access token */
	char acr[64];
	bool have_web_uid;
	uid_t web_uid;
	enum fg_first_factor ff;
	char first_factor[72]; /* the PAM service, or the upstream's name */
	struct fg_upstream upstreams[FG_UPSTREAMS_MAX];
	size_t n_upstreams;
	bool have_hs_uid;
	uid_t hs_uid;
	char server_name[254];
	char provider[64];
	char hs_client[64]; /* the client whose approvals count; "": any */
	unsigned window; /* seconds an approval waits for its login */
	/* the homeserver's admin API (a lock logs out the user's devices,
	 * notifications go as server notices): "" / NULL when not set */
	char hs_admin_url[FG_ORIGIN_MAX + 1];
	char *hs_admin_token; /* read from a 0600 file; never logged */
	void *exempt[FG_EXEMPT_MAX]; /* regex_t */
	char *exempt_src[FG_EXEMPT_MAX];
	size_t n_exempt;
	struct fg_oidc_client clients[FG_CLIENTS_MAX];
	size_t n_clients;
};

struct fg_conf_ctx;
/* The object of a [client.NAME] or [upstream.NAME] section, made with the
 * table's defaults when the section first appears; NULL (ctx's err says
 * why) for a bad NAME or one too many. */
struct fg_oidc_client *fg_gate_client_for(struct fg_gate *g,
    const char *section, struct fg_conf_ctx *x);
struct fg_upstream *fg_gate_upstream_for(struct fg_gate *g,
    const char *section, struct fg_conf_ctx *x);
/* After parsing: what is missing or inconsistent. */
int fg_gate_check(struct fg_gate *g, char *err, size_t errlen);
void fg_gate_clear(struct fg_gate *g);
const struct fg_oidc_client *fg_gate_client(const struct fg_gate *g,
    const char *id);
/* The upstream of first_factor = oidc:NAME; NULL for another factor. */
const struct fg_upstream *fg_gate_upstream(const struct fg_gate *g);

/* config.c */
struct fg_config {
	char rp_id[254];
	char rp_name[128];
	char **origins; /* pam://<rp_id> first, then the configured ones */
	size_t n_origins;
	enum fg_uv_policy uv;
	struct fg_attest_policy attest; /* what enrolment accepts */
	char attestation_roots[256];	/* "": chains not checked */
	unsigned challenge_timeout; /* seconds */
	size_t max_pending;
	size_t max_connections;
	size_t max_connections_per_uid; /* not for root */
	size_t root_reserved;		/* connections only root may take */
	size_t max_pending_per_user;	/* challenges, whoever asked */
	size_t max_pending_web;		/* the browser's, in a pool apart */
	size_t max_logins_per_network;	/* browser logins under way */
	size_t max_message;		/* bytes per request */
	size_t max_credentials;		/* active per user */
	unsigned idle_timeout;		/* seconds without a request */
	/* [rate_limit]: per caller (non-root uid) and per user */
	unsigned caller_rate;	  /* requests per second */
	unsigned caller_burst;	  /* requests at once */
	unsigned backoff_after;	  /* failures before delays start */
	unsigned backoff_base;	  /* seconds; doubles with each failure */
	unsigned backoff_max;	  /* seconds */
	unsigned lockout_after;	  /* failures; 0: never lock */
	unsigned anchor_every;	  /* [audit]: records; 0: no anchors */
	char store[1024];	  /* [store]: "": --db */
	char store_password_file[256];
	unsigned failure_window;  /* seconds until failures are forgotten */
	char admin_group[64];
	/* [admin] */
	enum fg_uv_policy admin_uv; /* the admins' step-up */
	bool bootstrap_open;	    /* no admin yet: root and group act */
	size_t recovery_admins;	    /* 1 or 2 */
	unsigned recovery_window;   /* seconds a request waits */
	unsigned recovery_delay;    /* a recovered key's cooling-off */
	size_t min_keys;	    /* warn below */
	/* [notify]: what tells a user of a change to their account */
	char notify_command[256]; /* exec'd directly; "": none */
	bool notify_matrix;	  /* a server notice, via the admin API */
	unsigned notify_timeout;  /* seconds per notification */
	unsigned invite_ttl;	    /* seconds an invitation link lives */
	struct fg_gate gate;
};

/* Where the agent reads its settings when given no --config (and when
 * that file exists): $(SYSCONFDIR)/fido2gate/fido2gate.conf. */
#ifndef FG_CONFIG_DEFAULT
#define FG_CONFIG_DEFAULT "/etc/fido2gate/fido2gate.conf"
#endif

/* path NULL: the defaults alone. */
int fg_config_load(const char *path, struct fg_config *cfg, char *err,
    size_t errlen);
/* A decimal in [min, max], nothing before or after it. */
bool fg_config_uint(const char *v, unsigned long min, unsigned long max,
    unsigned long *out);
void fg_config_clear(struct fg_config *cfg);

/*
 * settings.c: every setting of the config file in one table, which the
 * parser (config.c), --check-config and the manual fido2gate.conf(5) all
 * read. A setting's value is parsed by its type's function, into the
 * object its section names: the struct fg_config for a plain section,
 * a struct fg_oidc_client for [client.NAME], a struct fg_upstream for
 * [upstream.NAME].
 */
struct fg_setting;

/* A parse under way: what a type's parse function may need. */
struct fg_conf_ctx {
	struct fg_config *cfg;
	const char *section; /* as written: "client.synapse" */
	char *err;	     /* "": the caller says "bad value" */
	size_t errlen;
};

struct fg_setting_type {
	const char *name; /* in the manual: "number", "seconds", "URL"... */
	/* false on a bad value, err set when there is more to say */
	bool (*parse)(const struct fg_setting *s, void *obj, const char *v,
	    struct fg_conf_ctx *x);
	/* the effective value as "key = value" lines */
	void (*show)(const struct fg_setting *s, const void *obj, FILE *f);
};

enum fg_setting_scope { FG_SCOPE_MAIN, FG_SCOPE_CLIENT, FG_SCOPE_UPSTREAM };

struct fg_setting {
	const char *section; /* "limits"; "client.*": one per NAME */
	const char *key;
	const struct fg_setting_type *type;
	unsigned long min, max; /* numbers */
	const char *values;	/* the choices, '|' between; a flag's false first */
	const char *def;	/* the default, as written in the file; NULL: none */
	const char *def_doc;	/* a default worked out at start, in words */
	const char *doc;	/* for the manual and the shipped file */
	size_t offset, size;	/* of its field in the section's object */
	size_t given;		/* 1 + offset of a bool set when given; 0: none */
	const char *alias_of;	/* another name for that key */
	bool repeat;		/* each line adds a value */
};

extern const struct fg_setting fg_settings[];
extern const size_t fg_settings_count;
/* The sections in the order of the table, each once, with a line for the
 * manual; the last one's name is NULL. */
struct fg_setting_section {
	const char *name;
	const char *doc;
};
extern const struct fg_setting_section fg_setting_sections[];

/* Generic types (settings.c) and the special ones (config.c, gateconf.c). */
extern const struct fg_setting_type fg_type_number, fg_type_seconds,
    fg_type_text, fg_type_choice, fg_type_flag, fg_type_rp_id,
    fg_type_origins, fg_type_uv, fg_type_url, fg_type_issuer, fg_type_user,
    fg_type_first_factor, fg_type_regex, fg_type_client_secret,
    fg_type_redirect, fg_type_plain_secret, fg_type_params, fg_type_algs,
    fg_type_words, fg_type_path, fg_type_attestation, fg_type_aaguids,
    fg_type_token_file;

enum fg_setting_scope fg_setting_scope(const char *section);
/* The setting of key in section (section may be "client.synapse");
 * NULL when there is none. *known_section: whether any has section. */
const struct fg_setting *fg_setting_find(const char *section,
    const char *key, bool *known_section);
/* Sets the settings of scope that have a default in obj; FG_OK or
 * FG_ERR_INVALID (a default the table cannot parse, a bug). */
int fg_settings_defaults(enum fg_setting_scope scope, void *obj,
    struct fg_conf_ctx *x);
/* Parses one line's value into its object: 1, or 0 with x->err set. */
int fg_setting_apply(struct fg_conf_ctx *x, const char *section,
    const char *key, const char *value);
/* Every effective value, as an INI file. */
void fg_settings_show(const struct fg_config *cfg, FILE *f);
/* For the types: printable text, not empty, that fits len (with its NUL);
 * and a text field's "key = value" line. */
bool fg_conf_text(char *dst, size_t len, const char *v);
void fg_conf_text_show(const struct fg_setting *s, const void *obj, FILE *f);
/* A list's "key = a b c" line. */
void fg_conf_list_show(const struct fg_setting *s, char *const *items,
    size_t n, FILE *f);

/* store.c: SQLite, WAL, the only place with SQL in it. */
struct fg_store;

struct fg_user {
	int64_t id;
	char name[257];
	uint8_t handle[32];
};

struct fg_cred {
	int64_t id;
	int64_t user_id;
	char user[257];
	uint8_t *cred_id;
	size_t cred_id_len;
	int alg;
	uint8_t *pubkey; /* COSE_Key */
	size_t pubkey_len;
	uint32_t sign_count;
	bool uv, be, bs;
	uint8_t aaguid[16];
	char *label;
	char *fmt;
	int64_t created, last_used;
	bool revoked, suspicious; /* revoked: any state but active */
	char state[12];		  /* active, revoked, pending, disabled */
	int64_t not_before;	  /* a recovered key's cooling-off */
	char *rp_id;	  /* NULL: the configured rp_id; else pam-u2f's */
	bool uv_required; /* a PIN or built-in UV at every use (pam-u2f) */
	bool id_pending;  /* resident, imported: cred_id is a placeholder */
};

/* A request a second admin must approve (recover, unlock, admin.add,
 * admin.remove), with who asked and with which key. */
struct fg_request {
	char id[24];
	char action[16];
	char user[FG_USER_NAME_MAX + 1];
	int64_t credential; /* recover: the pending credential's row */
	const uint8_t *cred_id; /* recover, on insert: its credential ID */
	size_t cred_id_len;
	char requested_by[FG_USER_NAME_MAX + 1];
	char requested_cred[48]; /* the start of the credential ID */
	char reason[FG_TEXT_MAX + 1];
	char approved_by[FG_USER_NAME_MAX + 1];
	int64_t created, expires;
};

/* Who did what, for the audit table. */
struct fg_audit {
	const char *event;
	const char *user;
	const char *credential; /* base64url credential ID */
	uid_t caller_uid;
	pid_t caller_pid;
	const char *result; /* "allow", "deny", "ok", "error" */
	const char *reason;
	const char *detail; /* service, rhost, tty... */
};

/* journal.c: each audit record also goes to the journal as one entry
 * (syslog where there is none), once fg_journal_open() was called. The
 * store calls it when the record is committed, with the record's id and
 * hash (0 and NULL: a record the store could not keep). */
void fg_journal_open(void);
void fg_journal_audit(const struct fg_audit *a, int64_t id,
    const char *hash);
/* The chain's head as an anchor: to the journal, and to stderr. */
void fg_journal_anchor(int64_t id, const char *hash);

int fg_store_open(const char *path, struct fg_store **out, char *err,
    size_t errlen);
/* the same, with PostgreSQL's password file ([store] password_file) */
int fg_store_open_with(const char *where, const char *passfile,
    struct fg_store **out, char *err, size_t errlen);
void fg_store_close(struct fg_store **s);
/*
 * Every row of the store at from (read in one snapshot) into the store at
 * to, which must be empty (FG_ERR_EXISTS): migrated, filled and checked
 * (the same audit chain, head and rows per table) in one transaction,
 * committed only then. passfile serves whichever is PostgreSQL. *out:
 * {from, to, tables {name: rows}, records, head {id, hash}}; with
 * FG_ERR_UNTRUSTED (the source's chain is broken), the source's verdict.
 * err says why in every failure.
 */
int fg_store_copy(const char *from, const char *to, const char *passfile,
    json_t **out, char *err, size_t errlen);
/* "sqlite" or "postgresql" */
const char *fg_store_backend(const struct fg_store *s);
/* FG_OK when the store answers, else FG_ERR_STORE and why (PostgreSQL
 * cannot be reached, say) */
int fg_store_check(struct fg_store *s, char *why, size_t whylen);
/* Keep at most max prepared statements (0: none, each is finalized after
 * its use); FG_ERR_INVALID above the built-in size. For tests and
 * benchmarks: the default is the fastest. */
int fg_store_set_stmt_cache(struct fg_store *s, size_t max);
int fg_store_user_find(struct fg_store *s, const char *name, struct fg_user *u);
/* One user's credentials, in enrolment order. */
int fg_store_creds(struct fg_store *s, int64_t user_id, bool active_only,
    struct fg_cred **list, size_t *n);
/* At most limit credentials with an ID above after, in ID order. */
int fg_store_creds_page(struct fg_store *s, int64_t user_id, int64_t after,
    int limit, struct fg_cred **list, size_t *n);
void fg_cred_clear(struct fg_cred *c);
void fg_cred_list_free(struct fg_cred **list, size_t n);
int fg_store_cred_get(struct fg_store *s, int64_t user_id,
    const uint8_t *cred_id, size_t len, struct fg_cred *out);
/* Creates the user (with handle) if needed; FG_ERR_EXISTS for a known ID. */
/* rq: a recovery, whose request is stored with the (pending) credential. */
int fg_store_cred_add(struct fg_store *s, const char *user,
    const uint8_t handle[32], const struct fg_cred *c,
    const struct fg_request *rq, const struct fg_audit *a);
/* The same, while no admin is registered and no other user known (the
 * first-admin bootstrap): else FG_ERR_NOTFOUND and nothing written. */
/* A failed attempt of user counted in the store at the wall clock's time
 * (*n: the count now, the count restarting after window_ms without one);
 * and forgotten. A login
 * (fg_store_cred_used) forgets them too. */
int fg_store_failure_add(struct fg_store *s, const char *user,
    int64_t window_ms, int64_t *n);
int fg_store_failures_clear(struct fg_store *s, const char *user);
/* The counts whose last failure is older than window_ms, deleted. */
int fg_store_failures_sweep(struct fg_store *s, int64_t window_ms);
int fg_store_cred_add_first(struct fg_store *s, const char *user,
    const uint8_t handle[32], const struct fg_cred *c,
    const struct fg_audit *a);
/* FG_OK when a credential (of anyone, active or not) has this ID. */
int fg_store_cred_known(struct fg_store *s, const uint8_t *cred_id,
    size_t len);
/* n credentials (user, cred_id, alg, pubkey, fmt, label, rp_id,
 * uv_required, id_pending), each with its audit record, all or none; a
 * new user gets handles[i]. FG_ERR_EXISTS for a known credential ID. */
int fg_store_cred_import(struct fg_store *s, const struct fg_cred *creds,
    const uint8_t (*handles)[32], const struct fg_audit *audits, size_t n);
int fg_store_cred_used(struct fg_store *s, int64_t id, uint32_t count,
    uint8_t flags, const struct fg_audit *a);
/* A resident credential's first login: its real ID replaces the
 * placeholder, with the counter; FG_ERR_EXISTS when another has it,
 * FG_ERR_NOTFOUND when it is no longer pending and active. */
int fg_store_cred_bind(struct fg_store *s, int64_t id, const uint8_t *cred_id,
    size_t len, uint32_t count, uint8_t flags, const struct fg_audit *a);
int fg_store_cred_mark_suspicious(struct fg_store *s, int64_t id,
    const struct fg_audit *a);
int fg_store_cred_revoke(struct fg_store *s, int64_t id,
    const struct fg_audit *a);
/* A record of its own (outside any change), chained like every other. */
int fg_store_audit(struct fg_store *s, const struct fg_audit *a);
/* The latest limit records of user (any when NULL) written at since
 * (seconds) or later, oldest first, with every column. */
int fg_store_audit_list(struct fg_store *s, const char *user, int64_t since,
    int limit, json_t **out);
/* fg_audit_verify() on the store (lib/auditchain.h). */
int fg_store_audit_verify(struct fg_store *s, const struct fg_anchor *from,
    size_t max, const struct fg_anchor *anchors, size_t n_anchors,
    json_t **out);
/* The same on the store at where (sqlite:PATH, postgresql:CONNINFO or a
 * path), opened for it alone and not migrated, in one read-only snapshot;
 * err says why it could not be read. */
int fg_store_audit_verify_at(const char *where, const char *passfile,
    const struct fg_anchor *anchors, size_t n_anchors, json_t **out,
    char *err, size_t errlen);
/* Every that many records the store sends the chain's head to the journal
 * as an anchor (fg_journal_anchor); 0, the default: never. */
void fg_store_set_anchor_every(struct fg_store *s, unsigned every);
int fg_store_counts(struct fg_store *s, int64_t *users, int64_t *active,
    int64_t *revoked);
/* A secret of the agent's, len bytes, made at first use and kept in the
 * store: the same for every run and every agent on the store. */
int fg_store_secret(struct fg_store *s, const char *name, uint8_t *out,
    size_t len);
/* The shape of one enrolled user's allow list, the user chosen by pick:
 * how many IDs (*n, at most max; 0 when nobody is enrolled) and their
 * lengths. */
int fg_store_list_shape(struct fg_store *s, uint64_t pick, size_t *n,
    size_t *lens, size_t max);
/* The id_token signing keys: rows {kid, alg, jwk (private), created,
 * retired} of keys active or retired after since (seconds), oldest first. */
int fg_store_keys(struct fg_store *s, int64_t since, json_t **out);
/* A new key for alg; retire_others retires the active ones (rotation). */
int fg_store_key_add(struct fg_store *s, const char *kid, const char *alg,
    const char *jwk, bool retire_others, const struct fg_audit *a);
/* Approvals: one per id_token issued, consumed by one homeserver login. */
int fg_store_approval_add(struct fg_store *s, const char *user,
    const char *sid, const char *client, const struct fg_audit *a);
int fg_store_approval_revoke(struct fg_store *s, const char *sid,
    const struct fg_audit *a);
/* FG_OK with the approval's sid, or FG_ERR_NOTFOUND: nothing to consume. */
int fg_store_approval_consume(struct fg_store *s, const char *user,
    const char *client, unsigned window, char *sid, size_t sidlen,
    const struct fg_audit *a);
/* Admins, and what a second admin approves (docs/admin-guide.md). */
int fg_store_admins(struct fg_store *s, json_t **out);
int fg_store_admin_count(struct fg_store *s, const char *name, int64_t *all,
    bool *is_admin);
/* The action of rq at once (one admin suffices). */
int fg_store_act(struct fg_store *s, const struct fg_request *rq,
    const char *by, const struct fg_audit *a);
/* FG_ERR_EXISTS when the ID is taken. */
int fg_store_request_add(struct fg_store *s, const struct fg_request *rq,
    const struct fg_audit *a);
int fg_store_request_get(struct fg_store *s, const char *id,
    struct fg_request *rq);
/* The pending requests, oldest first, as JSON. */
int fg_store_requests(struct fg_store *s, json_t **out);
/* FG_ERR_NOTFOUND: approved already, expired, or asked by by itself. */
int fg_store_request_approve(struct fg_store *s, const struct fg_request *rq,
    const char *by, const char *by_cred, int64_t not_before,
    const struct fg_audit *a);
/* Invitations (remote enrolment): the token's SHA-256 only is kept. */
struct fg_invitation {
	char user[FG_USER_NAME_MAX + 1];
	char created_by[FG_USER_NAME_MAX + 1];
	int64_t expires;
	int64_t used; /* when it enrolled a key; 0: not yet */
};
int fg_store_invite_add(struct fg_store *s, const uint8_t hash[32],
    const char *user, const char *by, int64_t expires,
    const struct fg_audit *a);
int fg_store_invite_get(struct fg_store *s, const uint8_t hash[32],
    struct fg_invitation *inv);
/* The credential (pending), rq and the invitation spent, at once;
 * FG_ERR_NOTFOUND (nothing written) when the invitation is used, expired
 * or not rq->user's; FG_ERR_EXISTS for a credential already enrolled. */
int fg_store_invite_enrol(struct fg_store *s, const uint8_t hash[32],
    const uint8_t handle[32], const struct fg_cred *c,
    const struct fg_request *rq, const struct fg_audit *a);
/*
 * The browser's logins and what they give (oidc.c), in the store so that
 * every agent on a shared one can take each step: transactions, their
 * challenge, authorization codes and access tokens. Each is found by the
 * SHA-256 of its bearer value (the value itself is not kept), carries
 * a body (JSON text) that oidc.c alone reads, and an expiry in wall-clock
 * milliseconds past which it is never found, and swept. Whatever is
 * single-use is taken by one statement under the writer lock: of two
 * agents presenting it at once, one gets it.
 */
struct fg_web_chal {
	uint8_t challenge[FG_CHALLENGE_LEN];
	char user[FG_USER_NAME_MAX + 1];
	char detail[FG_TEXT_MAX + 1];
	bool uv;
	int64_t expires; /* wall clock, milliseconds */
};
/* FG_ERR_LIMIT when cap transactions are open, or net_cap from the
 * client's network net (then *net_full); state: the provider's state's
 * hash (first factor oidc:NAME), or NULL. */
int fg_store_tx_add(struct fg_store *s, const uint8_t id[32],
    const uint8_t *state, const char *body, int64_t expires, int64_t cap,
    const char *net, int64_t net_cap, bool *net_full);
/* The body (the caller frees) and expiry of a live transaction. */
int fg_store_tx_get(struct fg_store *s, const uint8_t id[32], char **body,
    int64_t *expires);
/* The transaction of the provider's state: with rekey, the state is spent
 * (once, whichever agent asks first) and the transaction's key becomes
 * rekey, in one statement. */
int fg_store_tx_of_state(struct fg_store *s, const uint8_t state[32],
    const uint8_t *rekey, uint8_t id[32], char **body, int64_t *expires);
int fg_store_tx_set(struct fg_store *s, const uint8_t id[32],
    const char *body);
/* The transaction and its challenge gone. */
int fg_store_tx_del(struct fg_store *s, const uint8_t id[32]);
/* The transaction's one challenge, replacing any before it;
 * FG_ERR_LIMIT when its user has cap others live from the transaction's
 * client network. */
int fg_store_web_chal_set(struct fg_store *s, const uint8_t id[32],
    const uint8_t session[32], const struct fg_web_chal *c, int64_t cap);
/* Takes the challenge of session, which must be transaction id's: once.
 * FG_ERR_TIMEOUT when it had expired (taken all the same). */
int fg_store_web_chal_take(struct fg_store *s, const uint8_t id[32],
    const uint8_t session[32], struct fg_web_chal *out);
/* FG_ERR_LIMIT when cap codes are live. */
int fg_store_code_add(struct fg_store *s, const uint8_t hash[32],
    const char *user, const char *body, int64_t expires, int64_t cap);
/* A live code's body; *used when it was redeemed (0: not yet). */
int fg_store_code_get(struct fg_store *s, const uint8_t hash[32],
    char **body, int64_t *used);
/* Redeems the code: spent, its access token recorded, and the approval
 * the homeserver's login consumes, in one transaction with a; of two
 * redemptions at once one is FG_OK, the other FG_ERR_NOTFOUND with
 * nothing written. */
int fg_store_code_redeem(struct fg_store *s, const uint8_t hash[32],
    const uint8_t token[32], const char *token_body, int64_t token_expires,
    const char *user, const char *sid, const char *client,
    const struct fg_audit *a);
/* Spent without tokens (the user locked since); FG_ERR_NOTFOUND when it
 * already was. */
int fg_store_code_spend(struct fg_store *s, const uint8_t hash[32]);
/* A replayed code: the access token it gave is deleted. */
int fg_store_code_token_drop(struct fg_store *s, const uint8_t hash[32]);
int fg_store_token_get(struct fg_store *s, const uint8_t hash[32],
    char **body);
int fg_store_token_del(struct fg_store *s, const uint8_t hash[32]);
/* A lock: the user's codes and tokens deleted; *codes the unused ones. */
int fg_store_oidc_drop_user(struct fg_store *s, const char *user,
    int64_t *codes, int64_t *tokens);
/* Deletes what expired before now (wall clock, ms); each challenge left
 * unanswered goes to expired() first, once whichever agent sweeps. */
int fg_store_oidc_sweep(struct fg_store *s, int64_t now,
    void (*expired)(const struct fg_web_chal *c, void *arg), void *arg);
/* FG_ERR_NOTFOUND when the credential is not in state from. */
int fg_store_cred_set(struct fg_store *s, int64_t id, const char *from,
    const char *state, const char *label, const struct fg_audit *a);

/* Lockouts outlive the agent. locked_at 0: not locked. */
int fg_store_lock_get(struct fg_store *s, const char *user, int64_t *locked_at,
    int64_t *failures);
int fg_store_lock_set(struct fg_store *s, const char *user, int64_t failures,
    const struct fg_audit *a);
/* An administrator's lock: reason "" when the user is not locked, or
 * locked only after failures. */
int fg_store_lock_reason(struct fg_store *s, const char *user, char *reason,
    size_t reasonlen, char *by, size_t bylen);
/* Locks user with reason (by: the administrator) and revokes the approvals
 * no login consumed, *revoked of them, in one transaction. */
int fg_store_lock_admin(struct fg_store *s, const char *user,
    const char *reason, const char *by, int64_t *revoked,
    const struct fg_audit *a);
int fg_store_locked_count(struct fg_store *s, int64_t *n);
/* The user's newest limit logins through the homeserver gate, as
 * [{sid, client}]: what back-channel logout ends. */
int fg_store_sessions(struct fg_store *s, const char *user, int limit,
    json_t **out);
/* FG_ERR_NOTFOUND when the user was not locked. */
int fg_store_lock_clear(struct fg_store *s, const char *user,
    const struct fg_audit *a);

/* chal.c: single-use challenges, in memory, under a hard cap. */
enum fg_purpose {
	FG_PURPOSE_AUTH = 1,  /* auth.begin: a native client (PAM) */
	FG_PURPOSE_ENROL = 2, /* enroll.begin */
	FG_PURPOSE_WEB = 3,   /* web.begin: a browser, in a transaction */
	FG_PURPOSE_ADMIN = 4, /* admin.begin: an admin's step-up */
	FG_PURPOSE_INVITE = 5, /* invite.begin: a browser's new key */
};

struct fg_chal {
	uint8_t session[FG_SESSION_LEN];
	uint8_t challenge[FG_CHALLENGE_LEN];
	enum fg_purpose purpose;
	uid_t caller;
	pid_t caller_pid; /* for the audit of a challenge left to expire */
	int64_t expires; /* monotonic milliseconds */
	char *user;
	char *label;		     /* enrolment */
	char *detail; /* auth: service, rhost, tty, for the audit records */
	uint8_t handle[32];	     /* enrolment */
	bool uv_required;
	uint8_t tx[FG_TX_LEN]; /* web: the login transaction it belongs to */
	char *bound;	       /* admin: "action target" it authorises */
	char *actor;	       /* enrolment: the admin who stepped up */
	bool recovery;	       /* enrolment: the user has no active key */
	bool bootstrap;	       /* enrolment: authorised in bootstrap mode */
	struct fg_chal *next;
};

struct fg_chal_table;

/* Told of every challenge that expires unanswered, once, whether the sweep
 * found it or a client presented it late; c is freed after the call. */
typedef void (*fg_chal_expired_fn)(const struct fg_chal *c, void *arg);

/* cap for native and enrolment challenges, web_cap for the browser's: two
 * pools, so that a flood through the web front leaves PAM logins alone. */
int fg_chal_table_new(size_t cap, size_t web_cap, fg_chal_expired_fn on_expire,
    void *arg, struct fg_chal_table **out);
void fg_chal_table_free(struct fg_chal_table **t);
/* FG_ERR_LIMIT when cap challenges are pending. Sets session, challenge
 * and expires; the table owns the result. */
int fg_chal_issue(struct fg_chal_table *t, enum fg_purpose purpose,
    const char *user, uid_t caller, unsigned ttl_s, struct fg_chal **out);
/* The pending challenge of session, left in the table: FG_OK, or
 * FG_ERR_NOTFOUND, or FG_ERR_TIMEOUT when it had expired (it is then
 * expired here, exactly as the sweep would). */
int fg_chal_find(struct fg_chal_table *t, const uint8_t *session, size_t len,
    int64_t now, struct fg_chal **out);
/* Removes c, found by fg_chal_find, and hands it to the caller to free. */
void fg_chal_take(struct fg_chal_table *t, struct fg_chal *c);
void fg_chal_free(struct fg_chal **c);
/* Expires every challenge past its time; returns how many. */
size_t fg_chal_expire(struct fg_chal_table *t, int64_t now);
size_t fg_chal_pending(const struct fg_chal_table *t);

/* limit.c: per-caller and per-user abuse limits, in memory. */
struct fg_limits;

int fg_limits_new(struct fg_limits **out);
void fg_limits_free(struct fg_limits **l);
/* The caller's token bucket: FG_ERR_LIMIT when it is empty. */
int fg_limits_request(struct fg_limits *l, const struct fg_config *cfg,
    uid_t uid, int64_t now);
/* Milliseconds before user (and a non-root uid) may try again. */
int64_t fg_limits_wait(struct fg_limits *l, const struct fg_config *cfg,
    const char *user, uid_t uid, int64_t now);
/* Counts a failed attempt; returns the user's failures in the window. */
unsigned fg_limits_fail(struct fg_limits *l, const struct fg_config *cfg,
    const char *user, uid_t uid, int64_t now);
/* Clears the user's count, and uid's unless it is 0 (root is not counted). */
void fg_limits_success(struct fg_limits *l, const char *user, uid_t uid);
/* A user's pending challenges: delta +1 is FG_ERR_LIMIT at
 * max_pending_per_user; -1 releases. */
int fg_limits_session(struct fg_limits *l, const struct fg_config *cfg,
    const char *user, int delta);
/* delta +1: FG_ERR_LIMIT at max_connections_per_uid; -1 releases. */
int fg_limits_conn(struct fg_limits *l, const struct fg_config *cfg,
    uid_t uid, int delta);
void fg_limits_sweep(struct fg_limits *l, const struct fg_config *cfg,
    int64_t now);
size_t fg_limits_tracked(const struct fg_limits *l);

/* keycache.c: parsed public keys by credential row. */
struct fg_keycache;

int fg_keycache_new(struct fg_keycache **out);
void fg_keycache_free(struct fg_keycache **c);
/* The credential's key, parsed once; status as fg_pubkey_from_cose's.
 * The cache owns the key. */
const struct fg_pubkey *fg_keycache_get(struct fg_keycache *c,
    const struct fg_cred *cred, int *status);

/* pamcheck.c: a password through a PAM service, in a child process. */
int fg_pamcheck_start(const char *service, const char *user, char *password,
    int *fd, pid_t *pid);
/* The child's verdict once fd is readable (or the wait timed out):
 * FG_OK, FG_ERR_DENIED (a wrong password, an unusable account),
 * FG_ERR_TIMEOUT, FG_ERR_INTERNAL. Reaps the child. */
int fg_pamcheck_finish(int fd, pid_t pid, bool timed_out);

/* outbound.c: a batch of requests to the homeserver and runs of the
 * notify command, in a child process: its results (a JSON array, one per
 * action) come back on *fd. */
int fg_job_start(const json_t *plan, unsigned budget_ms, int *fd, pid_t *pid);
/* FG_OK with *out, FG_ERR_TIMEOUT (the child is killed), or
 * FG_ERR_INTERNAL; reaps the child. */
int fg_job_finish(int fd, pid_t pid, bool timed_out, json_t **out);

/* A request answered later, when a child process has done its part: the
 * handler fills ag->defer and returns fg_reply_deferred(); the loop waits
 * on fd, then calls resume with the child's verdict (a pamcheck.c child),
 * or its results in out (job: an outbound.c child). */
struct fg_peer;
struct fg_agent;
typedef json_t *(*fg_resume_fn)(struct fg_agent *ag,
    const struct fg_peer *peer, const json_t *req, int result,
    const json_t *out);
struct fg_deferral {
	int fd; /* -1: none */
	pid_t pid;
	fg_resume_fn resume;
	bool job; /* an outbound.c child, else a pamcheck.c one */
};
#define FG_DEFER_MAX 8	    /* running at once */
#define FG_DEFER_MS 10000   /* a child's verdict, at most */
#define FG_LOCK_MS 8000	    /* a lock's logouts, within FG_DEFER_MS */

/* notify.c: each enrolment, revocation, lock, unlock and lockout told to
 * the user through [notify]'s channels, in a child each; the results are
 * audited (event "notify") when it is done. */
#define FG_NOTIFY_MAX 8 /* running at once; more are audited, not sent */
struct fg_notify_job {
	bool busy;
	int fd;
	pid_t pid;
	int64_t deadline; /* monotonic ms */
	char event[32];
	char user[FG_USER_NAME_MAX + 1];
	char channels[2][16]; /* what each action of the batch was */
	size_t n;
};
void fg_notify(struct fg_agent *ag, const char *event, const char *user,
    const char *detail);
void fg_notify_done(struct fg_agent *ag, struct fg_notify_job *j,
    bool timed_out);
/* "@user:server_name" */
bool fg_mxid(const struct fg_agent *ag, const char *user, char *out,
    size_t len);

/* ops.c: one handler per request. */
struct fg_peer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	bool admin;
	bool web;	/* the web front ([web] user) */
	bool homeserver; /* the homeserver's module ([homeserver] user) */
	char name[257]; /* "" when the uid has no passwd entry */
};

struct fg_agent {
	struct fg_config cfg;
	struct fg_store *store;
	struct fg_chal_table *chal;
	struct fg_limits *limits;
	struct fg_keycache *keys;
	struct fg_keys *keys_signing; /* keys.c: the id_token keys */
	struct fg_oidc *oidc;	      /* oidc.c: transactions, codes, tokens */
	uint8_t secret[32]; /* the decoy IDs' key, kept in the store */
	int64_t started;
	size_t connections;
	size_t root_connections;
	int64_t failures_swept; /* ms: the store's old failure counts */
	uint64_t dropped_unparsed; /* records over the caller's budget */
	struct fg_deferral defer;  /* set by a handler that answers later */
	size_t deferred;	   /* running */
	struct fg_notify_job notify[FG_NOTIFY_MAX];
};

/* How a login ended, for the paths that go on from it (the browser's). */
struct fg_login {
	bool allowed;
	bool uv;	    /* the key verified the user (PIN or built-in) */
	uint8_t handle[32]; /* the user's handle: the id_token's sub */
	char user[FG_USER_NAME_MAX + 1];
};

/* The login's two halves, shared by auth.* (PAM) and web.* (browser). */
json_t *fg_login_begin(struct fg_agent *ag, const struct fg_peer *peer,
    const char *event, const char *user, const char *detail,
    enum fg_purpose purpose, bool uv_floor, struct fg_chal **out);
/* A challenge given up without a failure (its login asked for another). */
void fg_login_drop(struct fg_agent *ag, const uint8_t session[FG_SESSION_LEN]);
json_t *fg_login_finish(struct fg_agent *ag, const struct fg_peer *peer,
    const char *event, struct fg_chal *c, const json_t *req,
    const char *const *origins, size_t n_origins, struct fg_login *res);

/* A request's handler. */
struct fg_op {
	const char *name;
	json_t *(*fn)(struct fg_agent *, const struct fg_peer *,
	    const json_t *);
};

/* admin.c: admins who act with their own key; NULL-terminated. */
extern const struct fg_op fg_admin_ops[];
json_t *fg_op_cred_revoke(struct fg_agent *, const struct fg_peer *,
    const json_t *);
json_t *fg_op_user_unlock(struct fg_agent *, const struct fg_peer *,
    const json_t *);
/* NULL when peer may do action on target (a registered admin's step-up in
 * req, or bootstrap mode); detail then says who acted. Else the refusal. */
json_t *fg_admin_authorize(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req, const char *action, const char *target,
    char *detail, size_t len);
/* enroll.begin's: *actor (to free) says who; *recovery when the user has
 * no active key left (or is an admin) and a second admin must approve the
 * new one; *bootstrap when no admin is registered. */
json_t *fg_enroll_authorize(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req, const char *user, char **actor, bool *recovery,
    bool *bootstrap);
/* enroll.finish's, for an enrolment begun in bootstrap mode: NULL when it
 * may still be stored, else the refusal (audited). */
json_t *fg_enroll_bootstrap_recheck(struct fg_agent *ag,
    const struct fg_peer *peer, const char *user);
void fg_recovery_request(struct fg_agent *ag, const char *user,
    const char *actor, struct fg_request *rq);
json_t *fg_cred_json(const struct fg_cred *c);
/* A reply's "pending", "request" and "expires": rq waits for an admin. */
void fg_reply_pending(json_t *reply, const struct fg_request *rq);
/* The credential an enrolment stores, from its verified attestation (the
 * pointers are res's and label's: cred lives no longer than they do). */
void fg_cred_from_attest(struct fg_cred *cred,
    const struct fg_attest_result *res, const char *fmt, char *label);

/* Enrolment's attestation, for every path that enrols (the CLI's
 * enroll.finish and any other): the statement verified, then the
 * configured policy applied. FG_OK, or an error with why saying what to
 * audit and answer. */
int fg_enroll_attest(const struct fg_agent *ag, const char *fmt,
    const uint8_t *ad, size_t ad_len, const uint8_t *st, size_t st_len,
    const uint8_t cdh[32], struct fg_attest_result *res, char *why,
    size_t whylen);

/* Shared by the handlers of ops.c and oidc.c. */
json_t *fg_reply_ok(void);
json_t *fg_reply_deferred(void);
/* Locked or backing off: the refusal, audited as event with detail (where
 * the login comes from); NULL to go on. */
json_t *fg_attempt_refused(struct fg_agent *ag, const struct fg_peer *peer,
    const char *event, const char *user, const char *detail,
    enum fg_purpose purpose);
/* FG_OK: user is not locked; FG_ERR_DENIED: locked (after failures or by
 * an administrator); FG_ERR_STORE: cannot tell (refuse). */
/* The user's failed attempts forgotten (an unlock): here and in the store. */
void fg_failures_clear(struct fg_agent *ag, const char *user);
int fg_locked(struct fg_agent *ag, const char *user);
json_t *fg_denied(void);
json_t *fg_store_failed(void);
json_t *fg_bad_request(const char *what);
/* Optional printable text of at most max bytes; "" when absent. */
bool fg_opt_text(const json_t *req, const char *key, size_t max,
    const char **out);
void fg_b64_put(json_t *obj, const char *key, const uint8_t *p, size_t len);
void fg_audit(struct fg_agent *ag, const struct fg_peer *peer,
    const char *event, const char *user, const char *cred,
    const char *result, const char *reason, const char *detail);
void fg_failure(struct fg_agent *ag, uid_t caller, pid_t pid,
    const char *user);
uid_t fg_charged_uid(const struct fg_peer *peer);
/* A failed attempt of a challenge of purpose: fg_failure, except for a
 * browser login without a first factor, which backs off the browser path
 * only and never locks (anyone can begin one for any name). */
void fg_failure_of(struct fg_agent *ag, uid_t caller, pid_t pid,
    enum fg_purpose purpose, const char *user);
json_t *fg_take_session(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req, enum fg_purpose purpose, struct fg_chal **out,
    bool *charged);

/* keys.c */
struct fg_keys;
int fg_keys_open(struct fg_agent *ag);
void fg_keys_close(struct fg_keys **k);
int fg_keys_rotate(struct fg_agent *ag);
json_t *fg_keys_jwks(struct fg_agent *ag);
/* A compact JWS of claims, signed with the active key of alg. */
char *fg_keys_sign(struct fg_agent *ag, const char *alg, const json_t *claims);

/* oidc.c: the homeserver gate's requests. */
struct fg_oidc;
int fg_oidc_new(struct fg_oidc **out);
void fg_oidc_free(struct fg_oidc **o);
void fg_oidc_sweep(struct fg_agent *ag, int64_t now);
json_t *fg_op_oidc_discovery(struct fg_agent *, const struct fg_peer *,
    const json_t *);
json_t *fg_op_oidc_jwks(struct fg_agent *, const struct fg_peer *,
    const json_t *);
json_t *fg_op_oidc_authorize(struct fg_agent *, const struct fg_peer *,
    const json_t *);
json_t *fg_op_web_begin(struct fg_agent *, const struct fg_peer *,
    const json_t *);
json_t *fg_op_web_finish(struct fg_agent *, const struct fg_peer *,
    const json_t *);
json_t *fg_op_web_abort(struct fg_agent *, const struct fg_peer *,
    const json_t *);
json_t *fg_op_oidc_token(struct fg_agent *, const struct fg_peer *,
    const json_t *);
json_t *fg_op_upstream_config(struct fg_agent *, const struct fg_peer *,
    const json_t *);
json_t *fg_op_upstream_session(struct fg_agent *, const struct fg_peer *,
    const json_t *);
json_t *fg_op_web_upstream(struct fg_agent *, const struct fg_peer *,
    const json_t *);
json_t *fg_op_oidc_userinfo(struct fg_agent *, const struct fg_peer *,
    const json_t *);
json_t *fg_op_oidc_rotate(struct fg_agent *, const struct fg_peer *,
    const json_t *);
json_t *fg_op_login_check(struct fg_agent *, const struct fg_peer *,
    const json_t *);
/* The user's codes and access tokens in memory, dropped (a lock). */
void fg_oidc_revoke_user(struct fg_agent *ag, const char *user,
    size_t *codes, size_t *tokens);
/* A back-channel logout token (OpenID Connect Back-Channel Logout 1.0
 * §2.4) for the session sid of client, signed as its id_tokens are. */
char *fg_oidc_logout_token(struct fg_agent *ag,
    const struct fg_oidc_client *client, const char *sub, const char *sid);

/* lock.c: user.lock, an administrator's lock */
json_t *fg_op_user_lock(struct fg_agent *, const struct fg_peer *,
    const json_t *);

/* The page of an invitation link, kept by oidc.c among the browser's
 * transactions in the store (no web.* request takes it), its key's
 * challenge with it as a login's: each step may reach any agent on the
 * store. */
struct fg_invite_tx {
	uint8_t hash[32]; /* the token's SHA-256 */
	char user[FG_USER_NAME_MAX + 1];
	bool first_done;  /* the first factor passed for user */
};
bool fg_gate_on(const struct fg_agent *ag);
/* A refusal of a request anyone on the network can send, audited at a
 * bounded rate. */
void fg_audit_quiet(struct fg_agent *ag, const struct fg_peer *peer,
    const char *event, const char *reason, const char *detail);
/* A new page for the invitation: "tx", "expires_in" (and "upstream" with
 * the organisation's provider first) set in reply. */
int fg_oidc_invite_new(struct fg_agent *ag, const uint8_t hash[32],
    const char *user, const json_t *req, json_t *reply);
/* The invitation page named by req's "tx", read from the store; NULL
 * when there is none. The copy is good until the next call. */
struct fg_invite_tx *fg_oidc_invite_of(struct fg_agent *ag,
    const json_t *req, uint8_t id[FG_TX_LEN]);
/* The page's one key challenge (a new session and challenge, replacing
 * any before), for the key to be made with handle; FG_ERR_LIMIT when the
 * user has max_pending_per_user others live. */
int fg_oidc_invite_chal(struct fg_agent *ag, const uint8_t id[FG_TX_LEN],
    const char *user, const uint8_t handle[32], bool uv,
    uint8_t session[FG_SESSION_LEN], uint8_t challenge[FG_CHALLENGE_LEN]);
/* Takes the page's challenge named by req's "session": once, whichever
 * agent made it; user, uv_required and handle from it in *c. NULL, or the
 * refusal (audited as invite.finish). */
json_t *fg_oidc_invite_take(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req, const uint8_t id[FG_TX_LEN], const char *user,
    struct fg_chal **c);
void fg_oidc_invite_end(struct fg_agent *ag, const uint8_t id[FG_TX_LEN]);

/* invite.c: remote enrolment by invitation. */
json_t *fg_op_invite_create(struct fg_agent *, const struct fg_peer *,
    const json_t *);
json_t *fg_op_invite_open(struct fg_agent *, const struct fg_peer *,
    const json_t *);
json_t *fg_op_invite_begin(struct fg_agent *, const struct fg_peer *,
    const json_t *);
json_t *fg_op_invite_finish(struct fg_agent *, const struct fg_peer *,
    const json_t *);
/* admin.c: invite.create's authorisation (a registered admin's step-up;
 * by and detail name them); and the request an admin confirms an invited
 * key with (by: the admin who invited). */
json_t *fg_invite_authorize(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req, const char *user, char *by, size_t bylen,
    char *detail, size_t len);
void fg_invite_request(struct fg_agent *ag, const char *user,
    const char *by, struct fg_request *rq);
/* ops.c: a challenge of purpose for user (the per-user cap applies). */
json_t *fg_issue(struct fg_agent *ag, const struct fg_peer *peer,
    enum fg_purpose purpose, const char *user, struct fg_chal **out);

/* Returns the reply (never NULL unless out of memory). */
json_t *fg_agent_handle(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req);
json_t *fg_reply_error(const char *code, const char *message);
/* An auth challenge expired unanswered: a failed attempt. */
void fg_agent_expired(const struct fg_chal *c, void *agent);

#endif
