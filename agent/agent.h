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
/* user_id 0: every user */
int fg_store_creds(struct fg_store *s, int64_t user_id, bool active_only,
    struct fg_cred **list, size_t *n);
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
size_t fg_chal_expire(struct fg_chal_table *t, int64_t now);
size_t fg_chal_pending(const struct fg_chal_table *t);
int64_t fg_now_ms(void);

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
	uint8_t secret[32]; /* per run: decoy credential IDs */
	int64_t started;
	size_t connections;
};

/* Returns the reply (never NULL unless out of memory). */
json_t *fg_agent_handle(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req);
json_t *fg_reply_error(const char *code, const char *message);

#endif
