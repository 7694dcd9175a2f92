/*
 * The client side of the agent protocol, for every program that asks
 * fido2gated anything: the PAM module, fido2gatectl, the web front and
 * the test tools. It connects only to an agent it can trust, bounds every
 * wait, and checks each reply once, here, into a typed struct: a caller
 * never reads the agent's JSON for the login itself.
 */
#ifndef FIDO2GATE_CLIENT_H
#define FIDO2GATE_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <fido2gate/error.h>
#include <fido2gate/protocol.h>

struct fg_client;

/*
 * Connects to the agent at path, and trusts it only when the socket is a
 * socket (not a symlink), its folder is writable by nobody but root or the
 * socket's owner, and the process serving it is the socket's owner
 * (SO_PEERCRED). A busy agent gets timeout_ms to take the connection.
 * FG_ERR_UNAVAIL (no agent there), FG_ERR_UNTRUSTED (a check failed),
 * FG_ERR_TIMEOUT, FG_ERR_NOMEM; err says which, in words.
 */
int fg_client_open(const char *path, int timeout_ms, struct fg_client **out,
    char *err, size_t errlen);
void fg_client_free(struct fg_client **c);

/*
 * Sends req (consumed; "v" is added) and waits up to timeout_ms for the
 * reply, which is checked to be one object with our "v" and a boolean
 * "ok". A refusal by the agent is still FG_OK here: see fg_reply_refused.
 * FG_ERR_TIMEOUT, FG_ERR_PROTO (a closed connection or a malformed reply),
 * FG_ERR_IO, FG_ERR_NOMEM.
 */
int fg_client_call(struct fg_client *c, json_t *req, int timeout_ms,
    json_t **reply);

/* Why the agent said no. */
struct fg_refusal {
	char code[32];	    /* FG_E_*, or "" when the reply had none */
	char message[256];  /* for a person; "" when none */
	unsigned retry_after; /* seconds, for FG_E_RATE_LIMITED; else 0 */
};

/* True when reply is a refusal ("ok": false); fills r (may be NULL). */
bool fg_reply_refused(const json_t *reply, struct fg_refusal *r);

/* Credential IDs, decoded: an allow list or an exclude list. */
struct fg_id_list {
	uint8_t *id[FG_ALLOW_MAX];
	size_t len[FG_ALLOW_MAX];
	size_t n;
};
void fg_id_list_clear(struct fg_id_list *l);

/* auth.begin: who wants to log in, and through what. */
struct fg_auth_request {
	const char *user;
	const char *service; /* the PAM service; NULL: none */
	const char *rhost;
	const char *tty;
};

/* Credentials of another relying party (imported from pam-u2f, such as
 * pam://host): the key must be asked for that rp_id, with that policy. */
struct fg_rp_group {
	char rp_id[FG_RP_ID_MAX + 1];
	struct fg_id_list allow; /* empty exactly when discoverable */
	enum fg_uv_policy uv;
	bool discoverable; /* resident credentials: ask with no allow list */
};

/* auth.begin's answer: what the key must sign, and how. */
struct fg_auth_challenge {
	char session[64]; /* opaque, base64url as the agent sent it */
	uint8_t challenge[FG_CHALLENGE_LEN];
	char rp_id[FG_RP_ID_MAX + 1];
	char origin[FG_ORIGIN_MAX + 1];
	struct fg_id_list allow; /* for rp_id; empty only when groups are not */
	enum fg_uv_policy uv;
	unsigned timeout_s;
	struct fg_rp_group groups[FG_RP_GROUPS_MAX];
	size_t n_groups;
};

/* What the key answered, for auth.finish. */
struct fg_auth_proof {
	const uint8_t *cred_id;
	size_t cred_id_len;
	const uint8_t *authdata;
	size_t authdata_len;
	const uint8_t *client_data_json;
	size_t client_data_json_len;
	const uint8_t *sig;
	size_t sig_len;
};

struct fg_auth_verdict {
	bool allow; /* true only for ok:true and result "allow" */
	char reason[256];
};

/*
 * auth.begin. FG_OK with *out filled; FG_ERR_DENIED when the agent
 * refused, with *why filled; FG_ERR_PROTO when the reply lacks anything
 * the login needs; or a transport error as fg_client_call's.
 */
int fg_client_auth_begin(struct fg_client *c, const struct fg_auth_request *r,
    int timeout_ms, struct fg_auth_challenge *out, struct fg_refusal *why);
/* auth.finish for the challenge's session. FG_OK means the agent gave a
 * verdict (read out->allow); anything else is a refusal too. */
int fg_client_auth_finish(struct fg_client *c,
    const struct fg_auth_challenge *ch, const struct fg_auth_proof *p,
    int timeout_ms, struct fg_auth_verdict *out);
/* auth.abort: the client gives up, and the agent audits why. */
int fg_client_auth_abort(struct fg_client *c,
    const struct fg_auth_challenge *ch, const char *reason, int timeout_ms);
void fg_auth_challenge_clear(struct fg_auth_challenge *ch);

/* admin.begin: the step-up challenge for an admin's own key, for one
 * action on one target (see protocol.h); answered as auth.begin's. In
 * bootstrap mode (no admin registered) *bootstrap is set and out empty. */
int fg_client_admin_begin(struct fg_client *c, const char *admin,
    const char *action, const char *target, int timeout_ms,
    struct fg_auth_challenge *out, bool *bootstrap, struct fg_refusal *why);
/* The "stepup" member of the request that acts; NULL when out of memory. */
json_t *fg_client_stepup_json(const struct fg_auth_challenge *ch,
    const struct fg_auth_proof *p);

/* enroll.begin's answer: the credential the key must make. */
struct fg_enroll_challenge {
	char session[64];
	uint8_t challenge[FG_CHALLENGE_LEN];
	char user[FG_USER_NAME_MAX + 1];
	uint8_t user_handle[FG_USER_HANDLE_LEN];
	char rp_id[FG_RP_ID_MAX + 1];
	char rp_name[128];
	char origin[FG_ORIGIN_MAX + 1];
	struct fg_id_list exclude;
	int algs[8]; /* COSE algorithms, the agent's preference first */
	size_t n_algs;
	enum fg_uv_policy uv;
	unsigned timeout_s;
};

/* enroll.begin (admin; stepup: NULL in bootstrap mode). Returns as
 * fg_client_auth_begin. */
int fg_client_enroll_begin(struct fg_client *c, const char *user,
    const char *label, const json_t *stepup, int timeout_ms,
    struct fg_enroll_challenge *out, struct fg_refusal *why);
void fg_enroll_challenge_clear(struct fg_enroll_challenge *ch);

const char *fg_uv_policy_name(enum fg_uv_policy uv);
/* FG_OK, or FG_ERR_INVALID for a name that is not a policy */
int fg_uv_policy_parse(const char *name, enum fg_uv_policy *out);

#endif
