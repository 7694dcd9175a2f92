/*
 * fido2gated's internals: configuration, the credential store, pending
 * challenges and the request handlers. The agent is one thread around a
 * poll loop; every request is answered before the next is read.
 */
#ifndef AGENT_H
#define AGENT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "fg.h"

/* config.c */
enum fg_uv_policy { FG_UV_DISCOURAGED, FG_UV_PREFERRED, FG_UV_REQUIRED };

struct fg_config {
	char rp_id[254];
	char rp_name[128];
	char **origins; /* pam://<rp_id> first, then the configured ones */
	size_t n_origins;
	enum fg_uv_policy uv;
	bool attestation_required; /* refuse fmt "none" at enrolment */
	unsigned challenge_timeout; /* seconds */
	size_t max_pending;
	size_t max_connections;
	size_t max_connections_per_uid; /* not for root */
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
	unsigned failure_window;  /* seconds until failures are forgotten */
	char admin_group[64];
};

int fg_config_load(const char *path, struct fg_config *cfg, char *err,
    size_t errlen);
void fg_config_clear(struct fg_config *cfg);
const char *fg_uv_policy_name(enum fg_uv_policy uv);

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
	bool revoked, suspicious;
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

int fg_store_open(const char *path, struct fg_store **out, char *err,
    size_t errlen);
void fg_store_close(struct fg_store **s);
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
int fg_store_cred_add(struct fg_store *s, const char *user,
    const uint8_t handle[32], const struct fg_cred *c,
    const struct fg_audit *a);
int fg_store_cred_used(struct fg_store *s, int64_t id, uint32_t count,
    uint8_t flags, const struct fg_audit *a);
int fg_store_cred_mark_suspicious(struct fg_store *s, int64_t id,
    const struct fg_audit *a);
int fg_store_cred_revoke(struct fg_store *s, int64_t id,
    const struct fg_audit *a);
int fg_store_audit(struct fg_store *s, const struct fg_audit *a);
int fg_store_audit_list(struct fg_store *s, int limit, json_t **out);
int fg_store_counts(struct fg_store *s, int64_t *users, int64_t *active,
    int64_t *revoked);
/* Lockouts outlive the agent. locked_at 0: not locked. */
int fg_store_lock_get(struct fg_store *s, const char *user, int64_t *locked_at,
    int64_t *failures);
int fg_store_lock_set(struct fg_store *s, const char *user, int64_t failures,
    const struct fg_audit *a);
/* FG_ERR_NOTFOUND when the user was not locked. */
int fg_store_lock_clear(struct fg_store *s, const char *user,
    const struct fg_audit *a);

/* chal.c: single-use challenges, in memory, under a hard cap. */
enum fg_purpose { FG_PURPOSE_AUTH = 1, FG_PURPOSE_ENROL = 2 };

#define FG_SESSION_LEN 16
#define FG_CHALLENGE_LEN 32

struct fg_chal {
	uint8_t session[FG_SESSION_LEN];
	uint8_t challenge[FG_CHALLENGE_LEN];
	enum fg_purpose purpose;
	uid_t caller;
	int64_t expires; /* monotonic milliseconds */
	char *user;
	char *label;		     /* enrolment */
	uint8_t handle[32];	     /* enrolment */
	bool uv_required;
	struct fg_chal *next;
};

struct fg_chal_table;

int fg_chal_table_new(size_t cap, struct fg_chal_table **out);
void fg_chal_table_free(struct fg_chal_table **t);
/* FG_ERR_LIMIT when cap challenges are pending. Sets session, challenge
 * and expires; the table owns the result. */
int fg_chal_issue(struct fg_chal_table *t, enum fg_purpose purpose,
    const char *user, uid_t caller, unsigned ttl_s, struct fg_chal **out);
/* Removes the challenge and hands it to the caller, expired or not;
 * FG_ERR_NOTFOUND when there is none. */
int fg_chal_take(struct fg_chal_table *t, const uint8_t *session, size_t len,
    struct fg_chal **out);
void fg_chal_free(struct fg_chal **c);
/* Frees every expired challenge, calling fn (if set) on each first. */
size_t fg_chal_expire(struct fg_chal_table *t, int64_t now,
    void (*fn)(const struct fg_chal *, void *), void *arg);
size_t fg_chal_pending(const struct fg_chal_table *t);
int64_t fg_now_ms(void);

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

/* ops.c: one handler per request. */
struct fg_peer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	bool admin;
	char name[257]; /* "" when the uid has no passwd entry */
};

struct fg_agent {
	struct fg_config cfg;
	struct fg_store *store;
	struct fg_chal_table *chal;
	struct fg_limits *limits;
	struct fg_keycache *keys;
	uint8_t secret[32]; /* per run: decoy credential IDs */
	int64_t started;
	size_t connections;
};

/* Returns the reply (never NULL unless out of memory). */
json_t *fg_agent_handle(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req);
json_t *fg_reply_error(const char *code, const char *message);
/* An auth challenge expired unanswered: a failed attempt. */
void fg_agent_expired(const struct fg_chal *c, void *agent);

#endif
