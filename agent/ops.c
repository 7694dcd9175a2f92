/*
 * The agent's requests. Each handler checks who is asking before anything
 * else, answers with a JSON reply, and audits every decision. The only
 * road to "allow" is auth.finish with a signature that fg_verify_assertion
 * accepted against an active credential of the session's user, whose
 * counter the store then saved.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "agent.h"

#define LABEL_MAX 64
#define RESIDENT_ID_LEN 35 /* "\0rk" and a SHA-256 */
#define AUDIT_LIMIT_MAX 1000
#define AUDIT_ANCHORS_MAX 64
/* records one audit.verify walks: a tenth of a second or so */
#define AUDIT_VERIFY_STEP 20000
#define DECOY_ID_LEN 64
/* credentials per cred.list reply: 25 of the largest fit in 64 KiB */
#define LIST_PAGE 25


json_t *
fg_reply_error(const char *code, const char *message)
{
	return json_pack("{s:i,s:b,s:s,s:s}", "v", FG_PROTO_VERSION, "ok", 0,
	    "error", code, "message", message);
}

json_t *
fg_reply_ok(void)
{
	return json_pack("{s:i,s:b}", "v", FG_PROTO_VERSION, "ok", 1);
}

/* The reply of a handler that will answer later (ag->defer): never sent. */
json_t *
fg_reply_deferred(void)
{
	return json_pack("{s:b}", "deferred", 1);
}

json_t *
fg_denied(void)
{
	return fg_reply_error(FG_E_DENIED,
	    "this request needs root or the fido2gate admin group");
}

json_t *
fg_store_failed(void)
{
	return fg_reply_error(FG_E_STORE, "the credential store failed");
}

json_t *
fg_bad_request(const char *what)
{
	return fg_reply_error(FG_E_BAD_REQUEST, what);
}

/* Optional short text members: absent, or printable text of at most max
 * bytes. */
bool
fg_opt_text(const json_t *req, const char *key, size_t max, const char **out)
{
	const json_t *v = json_object_get(req, key);

	*out = "";
	if (v == NULL)
		return true;
	if (!json_is_string(v) || json_string_length(v) > max ||
	    !fg_text_printable(json_string_value(v), json_string_length(v)))
		return false;
	*out = json_string_value(v);
	return true;
}

static bool
label_valid(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= LABEL_MAX && fg_text_printable(s, n);
}

void
fg_b64_put(json_t *obj, const char *key, const uint8_t *p, size_t len)
{
	char *s = fg_b64url_encode(p, len);

	json_object_set_new(obj, key, s != NULL ? json_string(s) : json_null());
	free(s);
}

static bool
need_uv(const struct fg_agent *ag, const struct fg_cred *c)
{
	return ag->cfg.uv == FG_UV_REQUIRED || c->uv_required ||
	    (c->uv && ag->cfg.uv != FG_UV_DISCOURAGED);
}

/*
 * auth.begin's rp_groups: the credentials imported under a relying party
 * of their own (pam-u2f's pam://host), one group per rp_id with the
 * strictest user verification among them. Only the native path offers
 * them: a browser could not use them, and must never be able to.
 */
static void
rp_group_add(const struct fg_agent *ag, json_t *groups, const struct fg_cred *c)
{
	json_t *g = NULL, *allow;
	size_t i;
	char *id;

	for (i = 0; i < json_array_size(groups); i++) {
		json_t *o = json_array_get(groups, i);
		if (strcmp(fg_json_str(o, "rp_id"), c->rp_id) == 0 &&
		    json_is_true(json_object_get(o, "discoverable")) ==
			c->id_pending)
			g = o;
	}
	if (g == NULL) {
		if (json_array_size(groups) >= FG_RP_GROUPS_MAX)
			return;
		g = json_pack("{s:s,s:[],s:s,s:b}", "rp_id", c->rp_id,
		    "allow_credentials", "uv",
		    fg_uv_policy_name(ag->cfg.uv == FG_UV_REQUIRED ?
			    FG_UV_REQUIRED :
			    ag->cfg.uv),
		    "discoverable", c->id_pending);
		if (g == NULL || json_array_append_new(groups, g) != 0)
			return;
	}
	/* a resident credential's ID is not known yet: the key is asked
	 * with an empty allow list, and the agent finds the credential by
	 * its public key (fg_login_finish) */
	allow = json_object_get(g, "allow_credentials");
	if (!c->id_pending && json_array_size(allow) < FG_ALLOW_MAX &&
	    (id = fg_b64url_encode(c->cred_id, c->cred_id_len)) != NULL) {
		json_array_append_new(allow, json_string(id));
		free(id);
	}
	if (need_uv(ag, c))
		json_object_set_new(g, "uv", json_string(FG_UV_NAME_REQUIRED));
}

/* An audit record of what peer did; the store writes it in the same
 * transaction as the change it describes. */
static struct fg_audit
audit_record(const struct fg_peer *peer, const char *event, const char *user,
    const char *cred, const char *result, const char *reason)
{
	struct fg_audit a = { .event = event, .user = user, .credential = cred,
		.caller_uid = peer->uid, .caller_pid = peer->pid,
		.result = result, .reason = reason };

	return a;
}

void
fg_audit(struct fg_agent *ag, const struct fg_peer *peer, const char *event,
    const char *user, const char *cred, const char *result,
    const char *reason, const char *detail)
{
	struct fg_audit a = audit_record(peer, event, user, cred, result,
	    reason);

	a.detail = detail;

	/* the store sends a record it kept to the journal; one it could not
	 * keep goes there all the same: it is then the only trace */
	if (fg_store_audit(ag->store, &a) != FG_OK) {
		fprintf(stderr, "fido2gated: audit write failed: %s %s %s\n",
		    event, user != NULL ? user : "-", result);
		fg_journal_audit(&a, 0, NULL);
	}
}

/* HMAC-SHA256 under the decoy secret of (tag, index, block, user). */
static int
decoy_block(const struct fg_agent *ag, uint8_t tag, size_t index,
    size_t block, const char *user, uint8_t out[32])
{
	uint8_t in[3 + FG_USER_NAME_MAX];
	unsigned int len = 32;
	size_t n = strlen(user);

	if (n > FG_USER_NAME_MAX)
		return FG_ERR_INVALID;
	in[0] = tag;
	in[1] = (uint8_t)index;
	in[2] = (uint8_t)block;
	memcpy(in + 3, user, n);
	return HMAC(EVP_sha256(), ag->secret, sizeof(ag->secret), in, n + 3,
		   out, &len) != NULL ?
	    FG_OK :
	    FG_ERR_INTERNAL;
}

/*
 * A user with no usable credential, known or not, gets an allow list that
 * cannot be told from a real one: the shape (how many IDs, how long) of an
 * enrolled user's list, that user chosen by a keyed hash of the name, and
 * IDs derived from the name under a secret kept in the store, which no key
 * holds. The same name gets the same list at every login and after every
 * restart, as an enrolled user does; the module walks the same path.
 */
static int
decoy_list(struct fg_agent *ag, const char *user, json_t *allow)
{
	size_t lens[FG_ALLOW_MAX], n, i, k;
	uint8_t pick[32], id[FG_CRED_ID_MAX + 32];
	uint64_t p;
	char *s;
	int r;

	if ((r = decoy_block(ag, 0, 0, 0, user, pick)) != FG_OK)
		return r;
	memcpy(&p, pick, sizeof(p));
	if ((r = fg_store_list_shape(ag->store, p, &n, lens, FG_ALLOW_MAX)) !=
	    FG_OK)
		return r;
	if (n == 0) {
		n = 1;
		lens[0] = DECOY_ID_LEN;
	}
	for (i = 0; i < n; i++) {
		if (lens[i] == 0 || lens[i] > FG_CRED_ID_MAX)
			lens[i] = DECOY_ID_LEN;
		for (k = 0; k * 32 < lens[i]; k++)
			if ((r = decoy_block(ag, 1, i, k, user, id + 32 * k)) !=
			    FG_OK)
				return r;
		if ((s = fg_b64url_encode(id, lens[i])) == NULL)
			return FG_ERR_NOMEM;
		json_array_append_new(allow, json_string(s));
		free(s);
	}
	return FG_OK;
}

/* A failed attempt for user by peer: counted for backoff, and at
 * lockout_after failures the user is locked until an admin unlocks. */
void
fg_failure(struct fg_agent *ag, uid_t caller, pid_t pid, const char *user)
{
	int64_t now = fg_now_ms(), shared;
	unsigned n = fg_limits_fail(ag->limits, &ag->cfg, user, caller, now);
	struct fg_peer peer = { .uid = caller, .pid = pid };
	struct fg_audit a;
	char why[96];

	if (user == NULL || ag->cfg.lockout_after == 0)
		return;
	/* the lockout counts the attempts made at every agent on the
	 * store; the backoff, this agent's. A store that cannot count
	 * leaves this agent's own count, never less. */
	if (fg_store_failure_add(ag->store, user,
		(int64_t)ag->cfg.failure_window * 1000, &shared) == FG_OK &&
	    shared > (int64_t)n)
		n = shared < 1000000 ? (unsigned)shared : 1000000;
	if (n < ag->cfg.lockout_after)
		return;
	snprintf(why, sizeof(why), "%u failed attempts", n);
	a = audit_record(&peer, "lockout", user, NULL, "deny", why);
	if (fg_store_lock_set(ag->store, user, n, &a) != FG_OK)
		fprintf(stderr, "fido2gated: cannot record the lockout of %s; "
				"the backoff still holds\n",
		    user);
	else if (n == ag->cfg.lockout_after)
		fg_notify(ag, "lockout", user, why);
}

/* The user's failed attempts forgotten, here and in the store. */
void
fg_failures_clear(struct fg_agent *ag, const char *user)
{
	fg_limits_success(ag->limits, user, 0);
	if (fg_store_failures_clear(ag->store, user) != FG_OK)
		fprintf(stderr, "fido2gated: cannot clear the failed attempts "
				"of %s in the store; they expire after "
				"failure_window\n",
		    user);
}

int
fg_locked(struct fg_agent *ag, const char *user)
{
	int64_t locked_at, failures;

	if (fg_store_lock_get(ag->store, user, &locked_at, &failures) != FG_OK)
		return FG_ERR_STORE;
	return locked_at != 0 ? FG_ERR_DENIED : FG_OK;
}

/*
 * The name a user's browser challenges and failures are counted under.
 * Without a first factor anyone on the network can begin a browser login
 * for any name: those failures back off the browser path only, and never
 * lock the user out of every path (PAM included). With a password or the
 * organisation's provider passed first, they count as the user's own.
 * Browser challenges always hold slots of their own, apart from PAM's.
 */
static const char *
tally(const struct fg_agent *ag, enum fg_purpose purpose, const char *user,
    bool slots, char *buf, size_t len)
{
	/* an invitation's challenges come after its first factor: its
	 * failures are the user's own, its slots the browser's */
	if (user == NULL ||
	    (purpose != FG_PURPOSE_WEB && purpose != FG_PURPOSE_INVITE) ||
	    (!slots && (ag->cfg.gate.ff != FG_FF_NONE ||
			   purpose == FG_PURPOSE_INVITE)))
		return user;
	snprintf(buf, len, "web\n%s", user);
	return buf;
}

void
fg_failure_of(struct fg_agent *ag, uid_t caller, pid_t pid,
    enum fg_purpose purpose, const char *user)
{
	char buf[FG_USER_NAME_MAX + 8];
	const char *key = tally(ag, purpose, user, false, buf, sizeof(buf));

	if (key == user)
		fg_failure(ag, caller, pid, user);
	else
		fg_limits_fail(ag->limits, &ag->cfg, key, caller, fg_now_ms());
}

/*
 * The uid a failure is charged to, besides the user: root (the PAM stack
 * of every service) and the services that relay for everyone (the web
 * front, the homeserver) are not charged, or one person's mistakes would
 * lock out every login through them; the user still is.
 */
uid_t
fg_charged_uid(const struct fg_peer *peer)
{
	return peer->web || peer->homeserver ? 0 : peer->uid;
}

void
fg_agent_expired(const struct fg_chal *c, void *agent)
{
	struct fg_agent *ag = agent;
	struct fg_peer caller = { .uid = c->caller, .pid = c->caller_pid };

	char buf[FG_USER_NAME_MAX + 8];

	fg_limits_session(ag->limits, &ag->cfg,
	    tally(ag, c->purpose, c->user, true, buf, sizeof(buf)), -1);
	/* an enrolment left unanswered is no failed login */
	if (c->purpose == FG_PURPOSE_ENROL || c->purpose == FG_PURPOSE_INVITE)
		return;
	/* a login left unanswered: the key was not there, or not touched */
	fg_audit(ag, &caller,
	    c->purpose == FG_PURPOSE_WEB ? FG_OP_WEB_FINISH :
	    c->purpose == FG_PURPOSE_ADMIN ? "admin.stepup" :
					     FG_OP_AUTH_FINISH,
	    c->user, NULL, "deny", "challenge expired unanswered", c->detail);
	fg_failure_of(ag, c->purpose == FG_PURPOSE_WEB ? 0 : c->caller,
	    c->caller_pid, c->purpose, c->user);
}

/*
 * A challenge for user, held by the table until taken or expired. Each
 * user may have max_pending_per_user at once, whoever asks: the sessions a
 * local user can make root hold open (a stopped su or sudo) are all for
 * that user, so they cannot crowd out anyone else's login.
 */
json_t *
fg_issue(struct fg_agent *ag, const struct fg_peer *peer,
    enum fg_purpose purpose, const char *user, struct fg_chal **out)
{
	char buf[FG_USER_NAME_MAX + 8];
	const char *slots = tally(ag, purpose, user, true, buf, sizeof(buf));
	int r;

	*out = NULL;
	if ((r = fg_limits_session(ag->limits, &ag->cfg, slots, 1)) != FG_OK)
		return fg_reply_error(r == FG_ERR_LIMIT ? FG_E_LIMIT :
							  FG_E_INTERNAL,
		    r == FG_ERR_LIMIT ? "too many logins under way for this "
					"user; finish or cancel one first" :
					"out of memory");
	if ((r = fg_chal_issue(ag->chal, purpose, user, peer->uid,
		 ag->cfg.challenge_timeout, out)) != FG_OK) {
		fg_limits_session(ag->limits, &ag->cfg, slots, -1);
		return fg_reply_error(r == FG_ERR_LIMIT ? FG_E_LIMIT :
							  FG_E_INTERNAL,
		    r == FG_ERR_LIMIT ? "too many pending challenges" :
					"cannot make a challenge");
	}
	return NULL;
}

void
fg_login_drop(struct fg_agent *ag, const uint8_t session[FG_SESSION_LEN])
{
	char buf[FG_USER_NAME_MAX + 8];
	struct fg_chal *c = NULL;

	if (fg_chal_find(ag->chal, session, FG_SESSION_LEN, fg_now_ms(), &c) !=
	    FG_OK)
		return;
	fg_chal_take(ag->chal, c);
	fg_limits_session(ag->limits, &ag->cfg,
	    tally(ag, c->purpose, c->user, true, buf, sizeof(buf)), -1);
	fg_chal_free(&c);
}

/* Locked, or backing off: the refusal to send, or NULL to go on. */
json_t *
fg_attempt_refused(struct fg_agent *ag, const struct fg_peer *peer,
    const char *event, const char *user, const char *detail,
    enum fg_purpose purpose)
{
	int64_t locked_at, failures, wait, web;
	char msg[128], buf[FG_USER_NAME_MAX + 8];
	const char *key = tally(ag, purpose, user, false, buf, sizeof(buf));
	json_t *reply;

	if (fg_store_lock_get(ag->store, user, &locked_at, &failures) !=
	    FG_OK) {
		fg_audit(ag, peer, event, user, NULL, "error",
		    "store unreadable", detail);
		return fg_store_failed();
	}
	if (locked_at != 0) {
		char reason[FG_TEXT_MAX + 1], by[FG_USER_NAME_MAX + 1];
		bool admin = fg_store_lock_reason(ag->store, user, reason,
				 sizeof(reason), by, sizeof(by)) != FG_OK ||
		    reason[0] != '\0';
		fg_audit(ag, peer, event, user, NULL, "deny",
		    admin ? "locked by an administrator" : "locked out",
		    detail);
		return fg_reply_error(FG_E_LOCKED, admin ?
			"locked by an administrator until fido2gatectl unlock" :
			"too many failed attempts: locked until an "
			"administrator runs fido2gatectl unlock");
	}
	wait = fg_limits_wait(ag->limits, &ag->cfg, user, fg_charged_uid(peer),
	    fg_now_ms());
	if (key != user &&
	    (web = fg_limits_wait(ag->limits, &ag->cfg, key, 0, fg_now_ms())) >
		wait)
		wait = web;
	if (wait == 0)
		return NULL;
	fg_audit(ag, peer, event, user, NULL, "deny", "backing off",
	    detail);
	snprintf(msg, sizeof(msg),
	    "too many failed attempts: try again in %lld s",
	    (long long)(wait + 999) / 1000);
	reply = fg_reply_error(FG_E_RATE_LIMITED, msg);
	json_object_set_new(reply, "retry_after",
	    json_integer((wait + 999) / 1000));
	return reply;
}

/*
 * The challenge of a login for user, by whatever path (PAM, the browser):
 * the lockout and backoff checks, the allow list (or decoys), the user
 * verification policy. purpose says which finish may take it; uv_floor
 * raises the policy (the browser path without a first factor needs the
 * PIN). The audit names the event, with detail (where the login comes
 * from: the PAM service, remote host and tty, or the OpenID client).
 */
json_t *
fg_login_begin(struct fg_agent *ag, const struct fg_peer *peer,
    const char *event, const char *user, const char *detail,
    enum fg_purpose purpose, bool uv_floor, struct fg_chal **out)
{
	struct fg_user u;
	struct fg_cred *creds = NULL;
	struct fg_chal *c = NULL;
	json_t *reply = NULL, *allow, *groups;
	size_t n = 0, i;
	bool uv = ag->cfg.uv == FG_UV_REQUIRED || uv_floor;
	int r;

	*out = NULL;
	if ((reply = fg_attempt_refused(ag, peer, event, user, detail,
		 purpose)) != NULL)
		return reply;
	r = fg_store_user_find(ag->store, user, &u);
	if (r == FG_OK)
		r = fg_store_creds(ag->store, u.id, true, &creds, &n);
	else if (r == FG_ERR_NOTFOUND)
		r = FG_OK;
	if (r != FG_OK) {
		fg_audit(ag, peer, event, user, NULL, "error", "store unreadable",
		    detail);
		return fg_store_failed();
	}
	if ((reply = fg_issue(ag, peer, purpose, user, &c)) != NULL) {
		fg_audit(ag, peer, event, user, NULL, "deny",
		    fg_json_str(reply, "message"), detail);
		fg_cred_list_free(&creds, n);
		return reply;
	}
	/* the decision's record says where the login came from, as the
	 * begin's does; without it, no login */
	if (detail != NULL && detail[0] != '\0' &&
	    (c->detail = strdup(detail)) == NULL) {
		fg_login_drop(ag, c->session);
		fg_cred_list_free(&creds, n);
		return fg_reply_error(FG_E_INTERNAL, "out of memory");
	}
	allow = json_array();
	groups = json_array();
	for (i = 0; i < n; i++) {
		char *id;
		if (creds[i].suspicious ||
		    creds[i].not_before > (int64_t)time(NULL))
			continue;
		if (creds[i].rp_id != NULL) {
			if (purpose == FG_PURPOSE_AUTH)
				rp_group_add(ag, groups, &creds[i]);
			continue;
		}
		if ((id = fg_b64url_encode(creds[i].cred_id,
			 creds[i].cred_id_len)) != NULL)
			json_array_append_new(allow, json_string(id));
		free(id);
		uv = uv || need_uv(ag, &creds[i]);
	}
	/* nothing usable: a decoy, or (store failing) an empty list the
	 * client refuses; either way no key can answer it */
	if (json_array_size(allow) == 0 && json_array_size(groups) == 0 &&
	    decoy_list(ag, user, allow) != FG_OK)
		fprintf(stderr, "fido2gated: cannot make the decoy list of %s\n",
		    user);
	c->uv_required = uv;
	c->caller_pid = peer->pid;
	reply = fg_reply_ok();
	fg_b64_put(reply, "session", c->session, sizeof(c->session));
	fg_b64_put(reply, "challenge", c->challenge, sizeof(c->challenge));
	json_object_set_new(reply, "rp_id", json_string(ag->cfg.rp_id));
	json_object_set_new(reply, "origin", json_string(ag->cfg.origins[0]));
	json_object_set_new(reply, "allow_credentials", allow);
	if (json_array_size(groups) > 0)
		json_object_set_new(reply, "rp_groups", groups);
	else
		json_decref(groups);
	json_object_set_new(reply, "uv",
	    json_string(uv ? "required" : fg_uv_policy_name(ag->cfg.uv)));
	json_object_set_new(reply, "timeout",
	    json_integer(ag->cfg.challenge_timeout));
	fg_cred_list_free(&creds, n);
	*out = c;
	return reply;
}

static json_t *
op_auth_begin(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	const char *user = fg_json_str(req, "user"), *service, *rhost, *tty;
	char detail[64 + 256 + 64 + 32];
	struct fg_chal *c;

	if (!fg_user_name_valid(user))
		return fg_bad_request("user is missing or not a valid user name");
	if (!fg_opt_text(req, "service", 64, &service) ||
	    !fg_opt_text(req, "rhost", 256, &rhost) ||
	    !fg_opt_text(req, "tty", 64, &tty))
		return fg_bad_request(
		    "service, rhost or tty is not short printable text");
	/* where the login comes from, in every record of it: the begin,
	 * and the decision (the challenge keeps it) */
	snprintf(detail, sizeof(detail), "service=%s rhost=%s tty=%s",
	    service[0] != '\0' ? service : "-",
	    rhost[0] != '\0' ? rhost : "-", tty[0] != '\0' ? tty : "-");
	if (peer->uid != 0 && strcmp(peer->name, user) != 0) {
		fg_audit(ag, peer, FG_OP_AUTH_BEGIN, user, NULL, "deny",
		    "caller may only authenticate itself", detail);
		return fg_reply_error(FG_E_DENIED,
		    "only root may authenticate another user");
	}
	return fg_login_begin(ag, peer, FG_OP_AUTH_BEGIN, user, detail,
	    FG_PURPOSE_AUTH, false, &c);
}

/* A refused login: audited, counted, and answered with the reason and a
 * category a page can explain to a person (why). */
static json_t *
deny(struct fg_agent *ag, const struct fg_peer *peer, const char *event,
    const struct fg_chal *c, const char *cred, const char *reason,
    const char *why)
{
	json_t *r;

	fg_audit(ag, peer, event, c->user, cred, "deny", reason, c->detail);
	fg_failure_of(ag, fg_charged_uid(peer), peer->pid, c->purpose, c->user);
	r = fg_reply_ok();
	json_object_set_new(r, "result", json_string(FG_RESULT_DENY));
	json_object_set_new(r, "reason", json_string(reason));
	json_object_set_new(r, "why", json_string(why));
	return r;
}

/*
 * Take the session's challenge: once, for the same purpose and caller,
 * checked before it is taken, so that a wrong caller's request leaves the
 * owner's session alone. A challenge found expired was expired by
 * fg_chal_find, which charged it as the sweep does; *charged says so.
 */
json_t *
fg_take_session(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req, enum fg_purpose purpose, struct fg_chal **out,
    bool *charged)
{
	uint8_t *session = NULL;
	size_t len = 0;
	struct fg_chal *c = NULL;
	char buf[FG_USER_NAME_MAX + 8];
	int r;

	*out = NULL;
	*charged = false;
	if (fg_json_b64(req, "session", &session, &len) != FG_OK) {
		free(session);
		return fg_bad_request("session is missing or not base64url");
	}
	r = fg_chal_find(ag->chal, session, len, fg_now_ms(), &c);
	free(session);
	if (r == FG_ERR_TIMEOUT) {
		*charged = true;
		return fg_reply_error(FG_E_NO_SESSION, "the session expired");
	}
	if (r != FG_OK)
		return fg_reply_error(FG_E_NO_SESSION,
		    "no such session: unknown, expired or already used");
	if (c->purpose != purpose || c->caller != peer->uid)
		return fg_reply_error(FG_E_NO_SESSION,
		    "the session belongs to another caller or purpose");
	fg_chal_take(ag->chal, c);
	fg_limits_session(ag->limits, &ag->cfg,
	    tally(ag, c->purpose, c->user, true, buf, sizeof(buf)), -1);
	*out = c;
	return NULL;
}

/*
 * A verification whose verdict nobody reads, against a key made once: the
 * cost of a real one, so that refusing an unknown credential (a decoy's,
 * or another user's) takes as long as refusing a bad signature.
 */
static void
decoy_verify(const uint8_t *ad, size_t ad_len, const uint8_t *cdj,
    size_t cdj_len, const uint8_t *sig, size_t sig_len)
{
	static struct fg_pubkey *key;
	static bool tried;
	struct fg_assertion a = { .authdata = ad, .authdata_len = ad_len,
		.client_data_json = cdj, .client_data_json_len = cdj_len,
		.sig = sig, .sig_len = sig_len };
	struct fg_expect e = { .rp_id = "decoy.invalid", .type = "webauthn.get",
		.user_presence = true };
	struct fg_verdict v;
	uint8_t chal[FG_CHALLENGE_LEN] = { 0 };

	if (!tried) {
		EVP_PKEY *pk = EVP_EC_gen("P-256");
		tried = true;
		if (pk != NULL)
			(void)fg_pubkey_from_evp(pk, FG_COSE_ES256, &key);
		EVP_PKEY_free(pk);
	}
	if (key == NULL)
		return;
	e.challenge = chal;
	e.challenge_len = sizeof(chal);
	(void)fg_verify_assertion(key, FG_OK, &a, &e, &v);
}

/*
 * An imported resident credential of the user whose ID is still pending
 * (pam-u2f's "*"): the one whose public key made this signature, then
 * checked in full by the caller like any other. FG_ERR_NOTFOUND when
 * none did.
 */
static int
pending_match(struct fg_agent *ag, int64_t user_id, const uint8_t *ad,
    size_t ad_len, const uint8_t *cdj, size_t cdj_len, const uint8_t *sig,
    size_t sig_len, struct fg_cred *out)
{
	struct fg_cred *creds = NULL;
	struct fg_pubkey *key = NULL;
	uint8_t *msg = NULL;
	size_t n = 0, i, hit = SIZE_MAX;
	int r, ret = FG_ERR_NOTFOUND;

	if (user_id == 0 || ad_len > FG_MSG_MAX)
		return FG_ERR_NOTFOUND;
	if ((r = fg_store_creds(ag->store, user_id, true, &creds, &n)) !=
	    FG_OK)
		return r;
	if ((msg = malloc(ad_len + 32)) == NULL) {
		ret = FG_ERR_NOMEM;
		goto out;
	}
	memcpy(msg, ad, ad_len);
	fg_sha256(cdj, cdj_len, msg + ad_len);
	for (i = 0; i < n && hit == SIZE_MAX; i++) {
		if (!creds[i].id_pending || creds[i].rp_id == NULL ||
		    fg_pubkey_from_cose(creds[i].pubkey, creds[i].pubkey_len,
			&key) != FG_OK)
			continue;
		if (fg_pubkey_verify(key, msg, ad_len + 32, sig, sig_len))
			hit = i;
		fg_pubkey_free(&key);
	}
	if (hit == SIZE_MAX)
		goto out;
	*out = creds[hit];
	memset(&creds[hit], 0, sizeof(creds[hit]));
	ret = FG_OK;
out:
	free(msg);
	fg_cred_list_free(&creds, n);
	return ret;
}

/*
 * The end of a login, by whatever path: c (taken by the caller, freed
 * here) and the assertion in req, verified by fg_verify_assertion against
 * an active credential of c's user, with the origins this path accepts.
 * The only road to "allow": on it the counter is saved first, and *res
 * says how the user was verified.
 */
json_t *
fg_login_finish(struct fg_agent *ag, const struct fg_peer *peer,
    const char *event, struct fg_chal *c, const json_t *req,
    const char *const *origins, size_t n_origins, struct fg_login *res)
{
	struct fg_user u;
	struct fg_cred cred = { 0 };
	const struct fg_pubkey *key = NULL;
	struct fg_assertion a = { 0 };
	struct fg_expect e = { 0 };
	struct fg_verdict v;
	uint8_t *cid = NULL, *ad = NULL, *cdj = NULL, *sig = NULL;
	size_t cid_len, ad_len, cdj_len, sig_len;
	char reason[256], *cid_s = NULL;
	json_t *reply;
	int64_t locked_at, failures;
	bool binding = false;
	int ks, r;

	memset(res, 0, sizeof(*res));
	if (fg_json_b64(req, "credential_id", &cid, &cid_len) != FG_OK ||
	    fg_json_b64(req, "authenticator_data", &ad, &ad_len) != FG_OK ||
	    fg_json_b64(req, "client_data_json", &cdj, &cdj_len) != FG_OK ||
	    fg_json_b64(req, "signature", &sig, &sig_len) != FG_OK ||
	    cid_len == 0 || cid_len > FG_CRED_ID_MAX) {
		reply = deny(ag, peer, event, c, NULL,
		    "malformed assertion", "wrong_key");
		goto out;
	}
	cid_s = fg_b64url_encode(cid, cid_len);
	/* a lockout refuses every open session, not only new ones */
	if ((r = fg_store_lock_get(ag->store, c->user, &locked_at,
		 &failures)) != FG_OK || locked_at != 0) {
		reply = deny(ag, peer, event, c, cid_s,
		    r != FG_OK ? "store unreadable" : "locked out",
		    r != FG_OK ? "unavailable" : "locked");
		goto out;
	}
	if ((r = fg_store_user_find(ag->store, c->user, &u)) == FG_OK)
		r = fg_store_cred_get(ag->store, u.id, cid, cid_len, &cred);
	/* a placeholder is no key's ID: whoever sends one made it up */
	if (r == FG_OK && cred.id_pending) {
		fg_cred_clear(&cred);
		r = FG_ERR_NOTFOUND;
	}
	if (r == FG_ERR_NOTFOUND && c->purpose == FG_PURPOSE_AUTH) {
		r = pending_match(ag, u.id, ad, ad_len, cdj, cdj_len, sig,
		    sig_len, &cred);
		binding = r == FG_OK;
	}
	if (r == FG_ERR_NOTFOUND) {
		/* as long as a real check: the time of a refusal must not
		 * tell an enrolled user from a decoy's */
		decoy_verify(ad, ad_len, cdj, cdj_len, sig, sig_len);
		reply = deny(ag, peer, event, c, cid_s,
		    "credential not enrolled for this user", "wrong_key");
		goto out;
	}
	if (r != FG_OK) {
		reply = deny(ag, peer, event, c, cid_s,
		    "store unreadable", "unavailable");
		goto out;
	}
	/* a credential of another relying party (imported from pam-u2f) is
	 * for the workstation only: never for a browser, whatever it sends */
	if (cred.rp_id != NULL && c->purpose != FG_PURPOSE_AUTH) {
		reply = deny(ag, peer, event, c, cid_s,
		    "credential of another relying party (pam-u2f import): "
		    "workstation logins only",
		    "wrong_key");
		goto out;
	}
	if (cred.revoked || cred.suspicious) {
		snprintf(reason, sizeof(reason), "credential %s",
		    cred.suspicious ? "suspended after a counter regression" :
		    strcmp(cred.state, "pending") == 0 ?
				      "pending a second admin's approval" :
				      cred.state);
		reply = deny(ag, peer, event, c, cid_s, reason, "wrong_key");
		goto out;
	}
	if (cred.not_before > (int64_t)time(NULL)) {
		reply = deny(ag, peer, event, c, cid_s,
		    "recovered key still in its cooling-off", "wrong_key");
		goto out;
	}
	key = fg_keycache_get(ag->keys, &cred, &ks);
	a.authdata = ad;
	a.authdata_len = ad_len;
	a.client_data_json = cdj;
	a.client_data_json_len = cdj_len;
	a.sig = sig;
	a.sig_len = sig_len;
	/* the rpIdHash must be that of the credential's own relying party */
	e.rp_id = cred.rp_id != NULL ? cred.rp_id : ag->cfg.rp_id;
	e.challenge = c->challenge;
	e.challenge_len = sizeof(c->challenge);
	e.origins = origins;
	e.n_origins = n_origins;
	e.type = "webauthn.get";
	e.user_presence = true;
	/* c->uv_required is the policy of the configured rp's allow list;
	 * an rp group's was the credential's own */
	e.user_verification = (cred.rp_id == NULL && c->uv_required) ||
	    need_uv(ag, &cred);
	e.have_stored_count = true;
	e.stored_count = cred.sign_count;
	if (fg_verify_assertion(key, ks, &a, &e, &v) != FG_OK) {
		reply = deny(ag, peer, event, c, cid_s, "out of memory",
		    "unavailable");
		goto out;
	}
	if (v.failed & FG_CHK_COUNTER && v.failed == FG_CHK_COUNTER) {
		/* a valid signature with an old counter: a cloned key */
		struct fg_audit au = audit_record(peer, "credential.suspicious",
		    c->user, cid_s, "deny", "counter_regression");

		au.detail = c->detail;
		if (fg_store_cred_mark_suspicious(ag->store, cred.id, &au) !=
		    FG_OK)
			fprintf(stderr, "fido2gated: cannot mark %s suspicious\n",
			    cid_s != NULL ? cid_s : "?");
	}
	if (v.failed != 0) {
		char checks[256];
		snprintf(reason, sizeof(reason), "verification failed: %s",
		    fg_checks_string(v.failed, checks, sizeof(checks)));
		reply = deny(ag, peer, event, c, cid_s, reason,
		    v.failed == FG_CHK_UV ? "no_user_verification" :
		    v.failed == FG_CHK_UP ? "no_touch" :
					    "wrong_key");
		goto out;
	}
	{
		struct fg_audit au = audit_record(peer, event, c->user, cid_s,
		    "allow", "signature verified");
		char bound[FG_TEXT_MAX + 32];
		/* the counter must be saved before we say yes; a resident
		 * credential's first login records its ID with it */
		au.detail = c->detail;
		if (binding) {
			snprintf(bound, sizeof(bound),
			    "resident credential bound%s%s",
			    c->detail != NULL ? " " : "",
			    c->detail != NULL ? c->detail : "");
			au.detail = bound;
		}
		r = binding ? fg_store_cred_bind(ag->store, cred.id, cid,
				  cid_len, v.sign_count, v.flags, &au) :
			      fg_store_cred_used(ag->store, cred.id,
				  v.sign_count, v.flags, &au);
		if (r != FG_OK) {
			reply = deny(ag, peer, event, c, cid_s,
			    r == FG_ERR_NOTFOUND ?
				"credential changed during verification" :
			    r == FG_ERR_EXISTS ?
				"the key's credential ID is another's" :
				"cannot save the sign counter",
			    "unavailable");
			goto out;
		}
	}
	fg_limits_success(ag->limits, c->user, fg_charged_uid(peer));
	res->allowed = true;
	res->uv = (v.flags & FG_AD_UV) != 0;
	memcpy(res->handle, u.handle, sizeof(res->handle));
	snprintf(res->user, sizeof(res->user), "%s", c->user);
	reply = fg_reply_ok();
	json_object_set_new(reply, "result", json_string(FG_RESULT_ALLOW));
	json_object_set_new(reply, "user", json_string(c->user));
out:
	fg_cred_clear(&cred);
	fg_chal_free(&c);
	free(cid);
	free(ad);
	free(cdj);
	free(sig);
	free(cid_s);
	return reply;
}

static json_t *
op_auth_finish(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	struct fg_chal *c = NULL;
	struct fg_login res;
	json_t *reply;
	bool charged;

	if (json_object_get(req, "credential_id") == NULL)
		return fg_bad_request("auth.finish needs session, credential_id,"
				   " authenticator_data, client_data_json and"
				   " signature, in base64url");
	if ((reply = fg_take_session(ag, peer, req, FG_PURPOSE_AUTH, &c,
		 &charged)) != NULL) {
		fg_audit(ag, peer, FG_OP_AUTH_FINISH, NULL,
		    fg_json_str(req, "credential_id"), "deny",
		    fg_json_str(reply, "message"), NULL);
		if (!charged)
			fg_failure(ag, fg_charged_uid(peer), peer->pid, NULL);
		return reply;
	}
	/* a native client signs for pam://<rp_id>, and only for it */
	return fg_login_finish(ag, peer, FG_OP_AUTH_FINISH, c, req,
	    (const char *const *)ag->cfg.origins, 1, &res);
}

/* The module gave up (no key, no touch, PIN refused): close the session
 * and record why. */
static json_t *
op_auth_abort(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	struct fg_chal *c = NULL;
	const char *why;
	json_t *reply;
	bool charged;

	if (!fg_opt_text(req, "reason", FG_TEXT_MAX, &why))
		return fg_bad_request("reason is not short printable text");
	if ((reply = fg_take_session(ag, peer, req, FG_PURPOSE_AUTH, &c,
		 &charged)) != NULL)
		return reply;
	fg_audit(ag, peer, FG_OP_AUTH_ABORT, c->user, NULL, "deny",
	    why[0] != '\0' ? why : "aborted by the client", c->detail);
	fg_failure(ag, fg_charged_uid(peer), peer->pid, c->user);
	fg_chal_free(&c);
	return fg_reply_ok();
}

static json_t *
op_enroll_begin(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	const char *user = fg_json_str(req, "user"), *label;
	struct fg_user u;
	struct fg_cred *creds = NULL;
	struct fg_chal *c = NULL;
	json_t *reply, *excl;
	size_t n = 0, i;
	char *actor = NULL;
	bool recovery, bootstrap;
	int r;

	if (!peer->admin)
		return fg_denied();
	if (!fg_user_name_valid(user))
		return fg_bad_request("user is missing or not a valid user name");
	if (!fg_opt_text(req, "label", LABEL_MAX, &label) ||
	    (label[0] != '\0' && !label_valid(label)))
		return fg_bad_request("label must be 1 to 64 printable bytes");
	if ((reply = fg_enroll_authorize(ag, peer, req, user, &actor,
		 &recovery, &bootstrap)) != NULL)
		return reply;
	r = fg_store_user_find(ag->store, user, &u);
	if (r == FG_OK)
		r = fg_store_creds(ag->store, u.id, true, &creds, &n);
	else if (r == FG_ERR_NOTFOUND)
		r = fg_random(u.handle, sizeof(u.handle));
	if (r != FG_OK) {
		free(actor);
		return fg_store_failed();
	}
	if (n >= ag->cfg.max_credentials) {
		fg_cred_list_free(&creds, n);
		fg_audit(ag, peer, "enroll", user, NULL, "deny",
		    "max_credentials_per_user reached", actor);
		free(actor);
		return fg_reply_error(FG_E_LIMIT,
		    "the user has max_credentials_per_user active credentials; "
		    "revoke one first");
	}
	if ((reply = fg_issue(ag, peer, FG_PURPOSE_ENROL, user, &c)) != NULL) {
		fg_cred_list_free(&creds, n);
		free(actor);
		return reply;
	}
	c->actor = actor;
	c->recovery = recovery;
	c->bootstrap = bootstrap;
	memcpy(c->handle, u.handle, sizeof(c->handle));
	c->uv_required = ag->cfg.uv == FG_UV_REQUIRED;
	if (label[0] != '\0' && (c->label = strdup(label)) == NULL) {
		fg_cred_list_free(&creds, n);
		return fg_reply_error(FG_E_INTERNAL, "out of memory");
	}
	excl = json_array();
	for (i = 0; i < n; i++) {
		char *id;
		if (creds[i].id_pending)
			continue; /* a placeholder, no key's ID */
		id = fg_b64url_encode(creds[i].cred_id, creds[i].cred_id_len);
		if (id != NULL)
			json_array_append_new(excl, json_string(id));
		free(id);
	}
	fg_cred_list_free(&creds, n);
	reply = fg_reply_ok();
	fg_b64_put(reply, "session", c->session, sizeof(c->session));
	fg_b64_put(reply, "challenge", c->challenge, sizeof(c->challenge));
	fg_b64_put(reply, "user_handle", c->handle, sizeof(c->handle));
	json_object_set_new(reply, "user", json_string(user));
	json_object_set_new(reply, "rp_id", json_string(ag->cfg.rp_id));
	json_object_set_new(reply, "rp_name", json_string(ag->cfg.rp_name));
	json_object_set_new(reply, "origin", json_string(ag->cfg.origins[0]));
	json_object_set_new(reply, "exclude_credentials", excl);
	json_object_set_new(reply, "algorithms",
	    json_pack("[i,i,i]", FG_COSE_ES256, FG_COSE_EDDSA, FG_COSE_RS256));
	json_object_set_new(reply, "uv",
	    json_string(fg_uv_policy_name(ag->cfg.uv)));
	json_object_set_new(reply, "timeout",
	    json_integer(ag->cfg.challenge_timeout));
	json_object_set_new(reply, "recovery", json_boolean(recovery));
	return reply;
}

/* The user's active keys against min_keys, for the admin's warning. */
static void
active_keys(struct fg_agent *ag, json_t *reply, const char *user)
{
	struct fg_user u;
	struct fg_cred *creds = NULL;
	size_t n = 0;

	if (fg_store_user_find(ag->store, user, &u) == FG_OK &&
	    fg_store_creds(ag->store, u.id, true, &creds, &n) == FG_OK) {
		json_object_set_new(reply, "active_keys",
		    json_integer((json_int_t)n));
		json_object_set_new(reply, "min_keys",
		    json_integer((json_int_t)ag->cfg.min_keys));
	}
	fg_cred_list_free(&creds, n);
}

int
fg_enroll_attest(const struct fg_agent *ag, const char *fmt,
    const uint8_t *ad, size_t ad_len, const uint8_t *st, size_t st_len,
    const uint8_t cdh[32], struct fg_attest_result *res, char *why,
    size_t whylen)
{
	int r;

	if ((r = fg_attest_verify(fmt, ad, ad_len, st, st_len, cdh,
		 ag->cfg.rp_id, res, why, whylen)) != FG_OK)
		return r;
	if ((r = fg_attest_policy_check(&ag->cfg.attest, res, why, whylen)) !=
	    FG_OK) {
		fg_attest_result_clear(res);
		return r;
	}
	return FG_OK;
}

void
fg_cred_from_attest(struct fg_cred *cred, const struct fg_attest_result *res,
    const char *fmt, char *label)
{
	cred->cred_id = res->cred_id;
	cred->cred_id_len = res->cred_id_len;
	cred->alg = res->alg;
	cred->pubkey = res->cose_key;
	cred->pubkey_len = res->cose_key_len;
	cred->sign_count = res->sign_count;
	cred->uv = (res->flags & FG_AD_UV) != 0;
	cred->be = (res->flags & FG_AD_BE) != 0;
	cred->bs = (res->flags & FG_AD_BS) != 0;
	memcpy(cred->aaguid, res->aaguid, 16);
	cred->fmt = (char *)(uintptr_t)fmt;
	cred->label = label;
}

static json_t *
enroll_refused(struct fg_agent *ag, const struct fg_peer *peer,
    const char *user, const char *actor, const char *why)
{
	fg_audit(ag, peer, "enroll", user, NULL, "deny", why, actor);
	return fg_reply_error(FG_E_REFUSED, why);
}

static json_t *
op_enroll_finish(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	struct fg_chal *c = NULL;
	struct fg_attest_result res = { 0 };
	struct fg_expect e = { 0 };
	struct fg_cred cred = { 0 };
	uint8_t *ad = NULL, *st = NULL, *cdj = NULL, cdh[32];
	size_t ad_len, st_len, cdj_len;
	const char *fmt = fg_json_str(req, "fmt");
	char why[256], *cid_s = NULL, label[LABEL_MAX + 1];
	unsigned failed = 0;
	json_t *reply = NULL;
	struct fg_request rq;
	bool charged;
	int r;

	if (!peer->admin)
		return fg_denied();
	if (fmt == NULL ||
	    fg_json_b64(req, "authenticator_data", &ad, &ad_len) != FG_OK ||
	    fg_json_b64(req, "attestation_statement", &st, &st_len) != FG_OK ||
	    fg_json_b64(req, "client_data_json", &cdj, &cdj_len) != FG_OK) {
		reply = fg_bad_request("enroll.finish needs session, fmt,"
				    " authenticator_data, attestation_statement"
				    " and client_data_json");
		goto out;
	}
	if ((reply = fg_take_session(ag, peer, req, FG_PURPOSE_ENROL, &c,
		 &charged)) != NULL)
		goto out;
	e.challenge = c->challenge;
	e.challenge_len = sizeof(c->challenge);
	e.origins = (const char *const *)ag->cfg.origins;
	e.n_origins = ag->cfg.n_origins;
	e.type = "webauthn.create";
	if (fg_client_data_check(cdj, cdj_len, &e, &failed) != FG_OK ||
	    failed != 0) {
		char checks[256];
		snprintf(why, sizeof(why), "client data: %s",
		    fg_checks_string(failed, checks, sizeof(checks)));
		reply = enroll_refused(ag, peer, c->user, c->actor, why);
		goto out;
	}
	fg_sha256(cdj, cdj_len, cdh);
	if (fg_enroll_attest(ag, fmt, ad, ad_len, st, st_len, cdh, &res, why,
		sizeof(why)) != FG_OK) {
		reply = enroll_refused(ag, peer, c->user, c->actor, why);
		goto out;
	}
	if (c->uv_required && !(res.flags & FG_AD_UV)) {
		reply = enroll_refused(ag, peer, c->user, c->actor,
		    "policy requires user verification (a PIN)");
		goto out;
	}
	cid_s = fg_b64url_encode(res.cred_id, res.cred_id_len);
	if (c->label != NULL)
		snprintf(label, sizeof(label), "%s", c->label);
	else
		snprintf(label, sizeof(label), "key-%.8s",
		    cid_s != NULL ? cid_s : "");
	fg_cred_from_attest(&cred, &res, fmt, label);
	if (c->bootstrap &&
	    (reply = fg_enroll_bootstrap_recheck(ag, peer, c->user)) != NULL)
		goto out;
	if (c->recovery) {
		/* the lost-key call: the key waits for a second admin */
		fg_recovery_request(ag, c->user, c->actor, &rq);
		rq.cred_id = res.cred_id;
		rq.cred_id_len = res.cred_id_len;
		snprintf(cred.state, sizeof(cred.state), "pending");
	}
	{
		char detail[1400], aaguid[37];
		struct fg_audit au = audit_record(peer, "enroll", c->user,
		    cid_s, "ok", c->recovery ? "pending" : label);

		au.detail = detail;
		snprintf(detail, sizeof(detail),
		    "label=%s fmt=%s attestation=%s aaguid=%s%s%s%s%s%s%s%s",
		    label, fmt, res.kind, fg_aaguid_text(res.aaguid, aaguid),
		    res.subject[0] != '\0' ? " subject=" : "", res.subject,
		    res.root[0] != '\0' ? " root=" : "", res.root,
		    c->actor != NULL ? " " : "",
		    c->actor != NULL ? c->actor : "",
		    c->recovery ? " recovery: needs a second admin" : "");
		r = c->bootstrap && !ag->cfg.bootstrap_open ?
		    fg_store_cred_add_first(ag->store, c->user, c->handle,
			&cred, &au) :
		    fg_store_cred_add(ag->store, c->user, c->handle, &cred,
			c->recovery ? &rq : NULL, &au);
	}
	if (r == FG_ERR_NOTFOUND && c->bootstrap) {
		/* another agent on the same database registered an admin or
		 * enrolled another user since the recheck above */
		if ((reply = fg_enroll_bootstrap_recheck(ag, peer,
			 c->user)) == NULL)
			reply = enroll_refused(ag, peer, c->user, c->actor,
			    "the bootstrap's rule no longer held when the key "
			    "was stored: enrol again");
		goto out;
	}
	if (r != FG_OK) {
		reply = r == FG_ERR_EXISTS ?
		    enroll_refused(ag, peer, c->user, c->actor,
			"this credential is already enrolled") :
		    fg_store_failed();
		goto out;
	}
	reply = fg_reply_ok();
	json_object_set_new(reply, "user", json_string(c->user));
	json_object_set_new(reply, "credential_id",
	    json_string(cid_s != NULL ? cid_s : ""));
	json_object_set_new(reply, "label", json_string(label));
	json_object_set_new(reply, "alg",
	    json_string(fg_cose_alg_name(res.alg)));
	json_object_set_new(reply, "attestation", json_string(res.kind));
	json_object_set_new(reply, "uv", json_boolean(cred.uv));
	if (c->recovery)
		fg_reply_pending(reply, &rq);
	active_keys(ag, reply, c->user);
	fg_notify(ag, "enroll", c->user, label);
out:
	fg_attest_result_clear(&res);
	fg_chal_free(&c);
	free(ad);
	free(st);
	free(cdj);
	free(cid_s);
	return reply;
}

json_t *
fg_cred_json(const struct fg_cred *c)
{
	json_t *o = json_object();
	char aaguid[33];
	size_t i;

	for (i = 0; i < 16; i++)
		snprintf(aaguid + 2 * i, 3, "%02x", c->aaguid[i]);
	json_object_set_new(o, "user", json_string(c->user));
	fg_b64_put(o, "credential_id", c->cred_id, c->cred_id_len);
	json_object_set_new(o, "label", json_string(c->label));
	json_object_set_new(o, "alg", json_string(fg_cose_alg_name(c->alg)));
	json_object_set_new(o, "fmt", json_string(c->fmt));
	json_object_set_new(o, "aaguid", json_string(aaguid));
	json_object_set_new(o, "sign_count", json_integer(c->sign_count));
	json_object_set_new(o, "uv", json_boolean(c->uv));
	json_object_set_new(o, "backup_eligible", json_boolean(c->be));
	json_object_set_new(o, "backed_up", json_boolean(c->bs));
	json_object_set_new(o, "created", json_integer(c->created));
	json_object_set_new(o, "last_used", c->last_used ?
		json_integer(c->last_used) : json_null());
	json_object_set_new(o, "state", json_string(c->state));
	if (c->not_before != 0)
		json_object_set_new(o, "not_before",
		    json_integer(c->not_before));
	json_object_set_new(o, "suspicious", json_boolean(c->suspicious));
	json_object_set_new(o, "rp_id",
	    c->rp_id != NULL ? json_string(c->rp_id) : json_null());
	json_object_set_new(o, "uv_required", json_boolean(c->uv_required));
	json_object_set_new(o, "id_pending", json_boolean(c->id_pending));
	return o;
}

/* One page of credentials: "after" is the last "next" the caller got. */
/* The user's lock, or NULL when there is none (or the store failed:
 * the login paths refuse then anyway). */
static json_t *
lock_json(struct fg_agent *ag, const char *user)
{
	char reason[FG_TEXT_MAX + 1], by[FG_USER_NAME_MAX + 1];
	int64_t locked_at, failures;

	if (fg_store_lock_get(ag->store, user, &locked_at, &failures) !=
		FG_OK ||
	    locked_at == 0 ||
	    fg_store_lock_reason(ag->store, user, reason, sizeof(reason), by,
		sizeof(by)) != FG_OK)
		return NULL;
	return json_pack("{s:I,s:I,s:s?,s:s?}", "locked_at",
	    (json_int_t)locked_at, "failures", (json_int_t)failures, "reason",
	    reason[0] != '\0' ? reason : NULL, "by", by[0] != '\0' ? by : NULL);
}

static json_t *
op_cred_list(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	const json_t *uj = json_object_get(req, "user");
	const json_t *aj = json_object_get(req, "after");
	const char *user = json_string_value(uj);
	struct fg_user u = { 0 };
	struct fg_cred *creds = NULL;
	size_t n = 0, i;
	json_t *reply, *arr;
	int r;

	if (uj != NULL && !fg_user_name_valid(user))
		return fg_bad_request("user is not a valid user name");
	if (aj != NULL &&
	    (!json_is_integer(aj) || json_integer_value(aj) < 0))
		return fg_bad_request("after must be a credential number");
	if (!peer->admin && (user == NULL || strcmp(user, peer->name) != 0))
		return fg_denied();
	if (user != NULL) {
		r = fg_store_user_find(ag->store, user, &u);
		if (r == FG_ERR_NOTFOUND) {
			reply = fg_reply_ok();
			json_object_set_new(reply, "credentials", json_array());
			json_object_set_new(reply, "next", json_null());
			return reply;
		}
		if (r != FG_OK)
			return fg_store_failed();
	}
	if (fg_store_creds_page(ag->store, user != NULL ? u.id : 0,
		aj != NULL ? json_integer_value(aj) : 0, LIST_PAGE, &creds,
		&n) != FG_OK)
		return fg_store_failed();
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, fg_cred_json(&creds[i]));
	reply = fg_reply_ok();
	json_object_set_new(reply, "credentials", arr);
	json_object_set_new(reply, "next",
	    n == LIST_PAGE ? json_integer(creds[n - 1].id) : json_null());
	fg_cred_list_free(&creds, n);
	if (user != NULL && (arr = lock_json(ag, user)) != NULL)
		json_object_set_new(reply, "lock", arr);
	return reply;
}

/* cred.import's work: the credentials checked, and their audit records. */
struct import {
	struct fg_cred *creds;
	uint8_t (*handles)[32];
	struct fg_audit *audits;
	char **ids;	/* base64url, for the audit and the reply */
	char (*labels)[LABEL_MAX + 1];
	char (*details)[FG_RP_ID_MAX + 64];
	json_int_t *lines;
	size_t n;
	json_t *errors; /* [{line, message}] */
};

static void
import_error(struct import *im, json_int_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
import_error(struct import *im, json_int_t line, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_array_append_new(im->errors,
	    json_pack("{s:I,s:s}", "line", line, "message", msg));
}

static void
import_clear(struct import *im, size_t n)
{
	size_t i;

	for (i = 0; im->creds != NULL && i < n; i++) {
		free(im->creds[i].cred_id);
		free(im->creds[i].pubkey);
		free(im->creds[i].rp_id);
		free(im->ids[i]);
	}
	free(im->creds);
	free(im->handles);
	free(im->audits);
	free(im->ids);
	free(im->labels);
	free(im->details);
	free(im->lines);
	json_decref(im->errors);
	memset(im, 0, sizeof(*im));
}

/* An rp_id pam-u2f could have used: printable, no space, not too long. */
static bool
import_rp_valid(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	return n > 0 && n <= FG_RP_ID_MAX && fg_text_printable(s, n) &&
	    strchr(s, ' ') == NULL;
}

/* One credential of the request, checked into im's slot i; a problem is
 * added to im->errors with its line. */
static int
import_one(struct fg_agent *ag, struct import *im, size_t i, const json_t *o)
{
	struct fg_cred *c = &im->creds[i];
	const json_t *lj = json_object_get(o, "line");
	const json_t *aj = json_object_get(o, "alg");
	const json_t *uj = json_object_get(o, "uv_required");
	const char *user = fg_json_str(o, "user");
	const char *rp = fg_json_str(o, "rp_id"), *label;
	json_int_t line = json_is_integer(lj) ? json_integer_value(lj) : 0;
	uint8_t *raw = NULL;
	size_t raw_len = 0, k;
	int r;

	im->lines[i] = line;
	if (line < 1 || !json_is_object(o)) {
		import_error(im, line, "credential %zu has no line number",
		    i + 1);
		goto out;
	}
	if (!fg_user_name_valid(user)) {
		import_error(im, line, "not a valid user name");
		goto out;
	}
	if (!import_rp_valid(rp)) {
		import_error(im, line, "not a valid relying party (rp_id)");
		goto out;
	}
	if (!json_is_integer(aj) ||
	    !fg_cose_alg_allowed((int)json_integer_value(aj))) {
		import_error(im, line, "the algorithm is not ES256, EdDSA or "
				       "RS256");
		goto out;
	}
	if (uj != NULL && !json_is_boolean(uj)) {
		import_error(im, line, "uv_required must be true or false");
		goto out;
	}
	if (!fg_opt_text(o, "label", LABEL_MAX, &label) ||
	    (label[0] != '\0' && !label_valid(label))) {
		import_error(im, line, "the label must be 1 to 64 printable "
				       "bytes");
		goto out;
	}
	c->id_pending = json_is_true(json_object_get(o, "resident"));
	if (c->id_pending ?
		json_object_get(o, "credential_id") != NULL :
		fg_json_b64(o, "credential_id", &c->cred_id,
		    &c->cred_id_len) != FG_OK ||
		    c->cred_id_len == 0 || c->cred_id_len > FG_CRED_ID_MAX) {
		import_error(im, line, "the credential ID is missing or "
				       "malformed (none for a resident one)");
		goto out;
	}
	c->alg = (int)json_integer_value(aj);
	if (fg_json_b64(o, "public_key", &raw, &raw_len) != FG_OK ||
	    (r = fg_cose_from_raw(c->alg, raw, raw_len, &c->pubkey,
		 &c->pubkey_len)) != FG_OK) {
		import_error(im, line, "the public key is not a valid %s key",
		    fg_cose_alg_name(c->alg));
		goto out;
	}
	/* a resident credential's placeholder ID: no key makes one that
	 * starts with a zero byte and "rk" and ends with the hash of this
	 * public key; the same key imported twice is the same ID */
	if (c->id_pending) {
		if ((c->cred_id = malloc(RESIDENT_ID_LEN)) == NULL) {
			free(raw);
			return FG_ERR_NOMEM;
		}
		memcpy(c->cred_id, "\0rk", 3);
		fg_sha256(c->pubkey, c->pubkey_len, c->cred_id + 3);
		c->cred_id_len = RESIDENT_ID_LEN;
	}
	for (k = 0; k < i; k++)
		if (im->creds[k].cred_id_len == c->cred_id_len &&
		    memcmp(im->creds[k].cred_id, c->cred_id, c->cred_id_len) ==
			0) {
			import_error(im, line, "the same credential as line %lld",
			    (long long)im->lines[k]);
			goto out;
		}
	r = fg_store_cred_known(ag->store, c->cred_id, c->cred_id_len);
	if (r == FG_OK) {
		import_error(im, line, "this credential is already enrolled");
		goto out;
	}
	if (r != FG_ERR_NOTFOUND)
		return FG_ERR_STORE;
	if ((c->rp_id = strdup(rp)) == NULL ||
	    (im->ids[i] = fg_b64url_encode(c->cred_id, c->cred_id_len)) ==
		NULL ||
	    fg_random(im->handles[i], 32) != FG_OK) {
		free(raw);
		return FG_ERR_NOMEM;
	}
	snprintf(c->user, sizeof(c->user), "%s", user);
	c->uv_required = json_is_true(uj);
	if (label[0] != '\0')
		snprintf(im->labels[i], sizeof(im->labels[i]), "%s", label);
	else
		snprintf(im->labels[i], sizeof(im->labels[i]), "pam-u2f-%.8s",
		    im->ids[i]);
	c->label = im->labels[i];
	c->fmt = (char *)(uintptr_t)"pam-u2f";
	snprintf(im->details[i], sizeof(im->details[i]),
	    "rp_id=%s line=%lld%s%s", rp, (long long)line,
	    c->uv_required ? " uv=required" : "",
	    c->id_pending ? " resident" : "");
out:
	free(raw);
	return FG_OK;
}

/*
 * No user may end with more than max_credentials active credentials. And
 * an import is no way round the second admin: a user who has keys but no
 * active one left (the lost-key call) and a registered admin get keys
 * through enroll, which asks for that approval; one admin's step-up for
 * "import" would otherwise give either a working key at once.
 */
static int
import_caps(struct fg_agent *ag, struct import *im)
{
	size_t i, k, mine, n, active;
	struct fg_user u;
	struct fg_cred *creds = NULL;
	int64_t admins;
	bool is_admin;
	int r;

	for (i = 0; i < im->n; i++) {
		bool first = true;
		if (im->ids[i] == NULL)
			continue;
		for (k = 0, mine = 0; k < im->n; k++) {
			if (im->ids[k] == NULL ||
			    strcmp(im->creds[k].user, im->creds[i].user) != 0)
				continue;
			first = first && k >= i;
			mine++;
		}
		if (!first)
			continue;
		n = active = 0;
		r = fg_store_user_find(ag->store, im->creds[i].user, &u);
		if (r == FG_OK)
			r = fg_store_creds(ag->store, u.id, false, &creds, &n);
		for (k = 0; k < n; k++)
			active += strcmp(creds[k].state, "active") == 0;
		fg_cred_list_free(&creds, n);
		if ((r != FG_OK && r != FG_ERR_NOTFOUND) ||
		    fg_store_admin_count(ag->store, im->creds[i].user, &admins,
			&is_admin) != FG_OK)
			return FG_ERR_STORE;
		if (is_admin || (n > 0 && active == 0))
			import_error(im, im->lines[i],
			    "%s %s: enrol their key with fido2gatectl enroll, "
			    "which a second admin approves", im->creds[i].user,
			    is_admin ? "is an admin" :
				       "has keys but no active one left");
		else if (active + mine > ag->cfg.max_credentials)
			import_error(im, im->lines[i],
			    "%s would have %zu active credentials, over "
			    "max_credentials_per_user (%zu)",
			    im->creds[i].user, active + mine,
			    ag->cfg.max_credentials);
	}
	return FG_OK;
}

/*
 * cred.import: credentials from a pam-u2f file, parsed by the CLI, each
 * checked here (its public key re-encoded as a COSE key that must load,
 * its ID unknown), then stored together in one transaction, or none of
 * them; "dry_run" checks without storing. A refusal lists every problem
 * with the line it came from.
 */
static json_t *
op_cred_import(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	const json_t *arr = json_object_get(req, "credentials");
	const json_t *dj = json_object_get(req, "dry_run");
	struct import im = { 0 };
	json_t *reply = NULL, *list;
	char why[96], who[FG_USER_NAME_MAX + 64];
	size_t i, n;
	int r;

	if (!peer->admin)
		return fg_denied();
	if (!json_is_array(arr) || json_array_size(arr) == 0 ||
	    json_array_size(arr) > FG_IMPORT_MAX ||
	    (dj != NULL && !json_is_boolean(dj)))
		return fg_bad_request("cred.import needs credentials: 1 to 64 "
				      "objects, and dry_run true or false");
	if ((reply = fg_admin_authorize(ag, peer, req, "import", "", who,
		 sizeof(who))) != NULL)
		return reply;
	n = json_array_size(arr);
	im.n = n;
	if ((im.creds = calloc(n, sizeof(*im.creds))) == NULL ||
	    (im.handles = calloc(n, sizeof(*im.handles))) == NULL ||
	    (im.audits = calloc(n, sizeof(*im.audits))) == NULL ||
	    (im.ids = calloc(n, sizeof(*im.ids))) == NULL ||
	    (im.labels = calloc(n, sizeof(*im.labels))) == NULL ||
	    (im.details = calloc(n, sizeof(*im.details))) == NULL ||
	    (im.lines = calloc(n, sizeof(*im.lines))) == NULL ||
	    (im.errors = json_array()) == NULL) {
		reply = fg_reply_error(FG_E_INTERNAL, "out of memory");
		goto out;
	}
	for (i = 0, r = FG_OK; i < n && r == FG_OK; i++)
		r = import_one(ag, &im, i, json_array_get(arr, i));
	if (r == FG_OK && json_array_size(im.errors) == 0)
		r = import_caps(ag, &im);
	if (r != FG_OK) {
		reply = r == FG_ERR_NOMEM ?
		    fg_reply_error(FG_E_INTERNAL, "out of memory") :
		    fg_store_failed();
		goto out;
	}
	if (json_array_size(im.errors) > 0) {
		snprintf(why, sizeof(why), "%zu of %zu credentials refused; "
		    "nothing imported", json_array_size(im.errors), n);
		fg_audit(ag, peer, "import", NULL, NULL, "deny", why, who);
		reply = fg_reply_error(FG_E_REFUSED, why);
		json_object_set(reply, "errors", im.errors);
		goto out;
	}
	for (i = 0; i < n; i++) {
		im.audits[i] = audit_record(peer, "import", im.creds[i].user,
		    im.ids[i], "ok", im.labels[i]);
		im.audits[i].detail = im.details[i];
	}
	if (!json_is_true(dj) &&
	    (r = fg_store_cred_import(ag->store, im.creds,
		 (const uint8_t(*)[32])im.handles, im.audits, n)) != FG_OK) {
		if (r == FG_ERR_EXISTS) {
			reply = fg_reply_error(FG_E_REFUSED,
			    "a credential was enrolled meanwhile; nothing "
			    "imported");
		} else
			reply = fg_store_failed();
		goto out;
	}
	list = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(list,
		    json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:b,s:b}", "line",
			im.lines[i], "user", im.creds[i].user, "credential_id",
			im.ids[i], "label", im.labels[i], "alg",
			fg_cose_alg_name(im.creds[i].alg), "rp_id",
			im.creds[i].rp_id, "uv_required",
			im.creds[i].uv_required, "resident",
			im.creds[i].id_pending));
	reply = fg_reply_ok();
	json_object_set_new(reply, "dry_run", json_boolean(json_is_true(dj)));
	json_object_set_new(reply, "imported",
	    json_integer(json_is_true(dj) ? 0 : (json_int_t)n));
	json_object_set_new(reply, "credentials", list);
out:
	import_clear(&im, n);
	return reply;
}

static json_t *
op_status(struct fg_agent *ag, const struct fg_peer *peer, const json_t *req)
{
	int64_t users = 0, active = 0, revoked = 0;
	json_t *reply = fg_reply_ok();

	json_object_set_new(reply, "version", json_string(FG_VERSION));
	json_object_set_new(reply, "rp_id", json_string(ag->cfg.rp_id));
	json_object_set_new(reply, "user_verification",
	    json_string(fg_uv_policy_name(ag->cfg.uv)));
	json_object_set_new(reply, "uptime_s",
	    json_integer((fg_now_ms() - ag->started) / 1000));
	/* what others are doing is an admin's business only: a pending
	 * challenge tells a local user that someone is logging in */
	if (peer->admin) {
		json_object_set_new(reply, "pending_challenges",
		    json_integer((json_int_t)fg_chal_pending(ag->chal)));
		json_object_set_new(reply, "connections",
		    json_integer((json_int_t)ag->connections));
		json_object_set_new(reply, "rate_tracked",
		    json_integer((json_int_t)fg_limits_tracked(ag->limits)));
		json_object_set_new(reply, "dropped_unread",
		    json_integer((json_int_t)ag->dropped_unparsed));
	}
	/* the store: which, and whether it answers (a shared one can be
	 * away, and then every login is refused) */
	if (peer->admin) {
		char why[512], msg[600];

		json_object_set_new(reply, "store",
		    json_string(fg_store_backend(ag->store)));
		if (fg_store_check(ag->store, why, sizeof(why)) != FG_OK) {
			json_decref(reply);
			snprintf(msg, sizeof(msg),
			    "the credential store failed: %s", why);
			return fg_reply_error(FG_E_STORE, msg);
		}
	}
	/* bootstrap mode (no admin: root acts without a key) must show */
	if (peer->admin) {
		int64_t admins;
		bool dummy;
		if (fg_store_admin_count(ag->store, NULL, &admins, &dummy) !=
		    FG_OK) {
			json_decref(reply);
			return fg_store_failed();
		}
		json_object_set_new(reply, "admins", json_integer(admins));
	}
	/* counting scans the store: only for an admin who asks */
	if (peer->admin && json_is_true(json_object_get(req, "counts"))) {
		if (fg_store_counts(ag->store, &users, &active, &revoked) !=
		    FG_OK) {
			json_decref(reply);
			return fg_store_failed();
		}
		json_object_set_new(reply, "users", json_integer(users));
		json_object_set_new(reply, "credentials_active",
		    json_integer(active));
		json_object_set_new(reply, "credentials_revoked",
		    json_integer(revoked));
		if (fg_store_locked_count(ag->store, &users) != FG_OK) {
			json_decref(reply);
			return fg_store_failed();
		}
		json_object_set_new(reply, "users_locked", json_integer(users));
	}
	return reply;
}

/* The latest records, newest last: at most "limit", of "user" only,
 * written at "since" (Unix seconds) or later. */
static json_t *
op_audit_list(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	const json_t *lj = json_object_get(req, "limit");
	const json_t *uj = json_object_get(req, "user");
	const json_t *sj = json_object_get(req, "since");
	json_int_t limit = 50, since = 0;
	json_t *reply, *rows = NULL;

	if (!peer->admin)
		return fg_denied();
	if (lj != NULL) {
		if (!json_is_integer(lj) || json_integer_value(lj) < 1 ||
		    json_integer_value(lj) > AUDIT_LIMIT_MAX)
			return fg_bad_request("limit must be 1 to 1000");
		limit = json_integer_value(lj);
	}
	if (uj != NULL && !fg_user_name_valid(json_string_value(uj)))
		return fg_bad_request("user is not a valid user name");
	if (sj != NULL) {
		if (!json_is_integer(sj) || json_integer_value(sj) < 0)
			return fg_bad_request(
			    "since must be a time in seconds since 1970");
		since = json_integer_value(sj);
	}
	if (fg_store_audit_list(ag->store, json_string_value(uj),
		(int64_t)since, (int)limit, &rows) != FG_OK)
		return fg_store_failed();
	reply = fg_reply_ok();
	json_object_set_new(reply, "records", rows);
	return reply;
}

/* A hash as the chain spells it: 64 lower-case hex digits. */
static bool
hash_valid(const char *h)
{
	size_t i;

	if (h == NULL || strlen(h) != FG_AUDIT_HASH_HEX - 1)
		return false;
	for (i = 0; h[i] != '\0'; i++)
		if (!((h[i] >= '0' && h[i] <= '9') ||
			(h[i] >= 'a' && h[i] <= 'f')))
			return false;
	return true;
}

/* An {"id", "hash"} of a request: a record number and its hash. */
static bool
anchor_of(const json_t *a, struct fg_anchor *out)
{
	const json_t *id = json_object_get(a, "id");
	const char *hash = fg_json_str(a, "hash");

	if (!json_is_integer(id) || json_integer_value(id) < 0 ||
	    !hash_valid(hash))
		return false;
	out->id = json_integer_value(id);
	memcpy(out->hash, hash, FG_AUDIT_HASH_HEX);
	return true;
}

/*
 * The audit chain checked against the anchors the admin kept ("anchors":
 * [{"id", "hash"}...]), AUDIT_VERIFY_STEP records a request: the agent
 * answers nobody else while it walks, so a long log is walked in steps,
 * each going on "from" the last one's head. The verdict is the reply, ok
 * either way: a tampered log is an answer, not a failed request.
 */
static json_t *
op_audit_verify(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	const json_t *aj = json_object_get(req, "anchors"), *a;
	const json_t *fj = json_object_get(req, "from");
	struct fg_anchor anchors[AUDIT_ANCHORS_MAX], from;
	json_t *reply, *verdict = NULL;
	size_t n = 0, i;

	if (!peer->admin)
		return fg_denied();
	if (aj != NULL && (!json_is_array(aj) ||
			      json_array_size(aj) > AUDIT_ANCHORS_MAX))
		return fg_bad_request("anchors must be a list of at most 64");
	json_array_foreach(aj, i, a)
	{
		if (!anchor_of(a, &anchors[n]) || anchors[n].id < 1)
			return fg_bad_request("each anchor needs id (a record "
					      "number) and hash (64 lower-case "
					      "hex digits)");
		n++;
	}
	if (fj != NULL && !anchor_of(fj, &from))
		return fg_bad_request("from needs id and hash: the head of "
				      "the last step");
	if (fg_store_audit_verify(ag->store, fj != NULL ? &from : NULL,
		AUDIT_VERIFY_STEP, anchors, n, &verdict) != FG_OK)
		return fg_store_failed();
	reply = fg_reply_ok();
	json_object_update(reply, verdict);
	json_decref(verdict);
	return reply;
}

static const struct fg_op ops[] = {
	{ FG_OP_AUTH_BEGIN, op_auth_begin },
	{ FG_OP_AUTH_FINISH, op_auth_finish },
	{ FG_OP_AUTH_ABORT, op_auth_abort },
	{ FG_OP_ENROLL_BEGIN, op_enroll_begin },
	{ FG_OP_ENROLL_FINISH, op_enroll_finish },
	{ FG_OP_CRED_LIST, op_cred_list },
	{ FG_OP_CRED_REVOKE, fg_op_cred_revoke },
	{ FG_OP_CRED_IMPORT, op_cred_import },
	{ FG_OP_STATUS, op_status },
	{ FG_OP_AUDIT_LIST, op_audit_list },
	{ FG_OP_AUDIT_VERIFY, op_audit_verify },
	{ FG_OP_USER_UNLOCK, fg_op_user_unlock },
	{ FG_OP_USER_LOCK, fg_op_user_lock },
	{ FG_OP_OIDC_DISCOVERY, fg_op_oidc_discovery },
	{ FG_OP_OIDC_JWKS, fg_op_oidc_jwks },
	{ FG_OP_OIDC_AUTHORIZE, fg_op_oidc_authorize },
	{ FG_OP_WEB_BEGIN, fg_op_web_begin },
	{ FG_OP_WEB_FINISH, fg_op_web_finish },
	{ FG_OP_WEB_ABORT, fg_op_web_abort },
	{ FG_OP_OIDC_TOKEN, fg_op_oidc_token },
	{ FG_OP_OIDC_USERINFO, fg_op_oidc_userinfo },
	{ FG_OP_OIDC_ROTATE, fg_op_oidc_rotate },
	{ FG_OP_LOGIN_CHECK, fg_op_login_check },
	{ FG_OP_UPSTREAM_CONFIG, fg_op_upstream_config },
	{ FG_OP_UPSTREAM_SESSION, fg_op_upstream_session },
	{ FG_OP_WEB_UPSTREAM, fg_op_web_upstream },
	{ FG_OP_INVITE_CREATE, fg_op_invite_create },
	{ FG_OP_INVITE_OPEN, fg_op_invite_open },
	{ FG_OP_INVITE_BEGIN, fg_op_invite_begin },
	{ FG_OP_INVITE_FINISH, fg_op_invite_finish },
};

json_t *
fg_agent_handle(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	const json_t *v = json_object_get(req, "v");
	const char *name = fg_json_str(req, "op");
	size_t i;

	if (!json_is_integer(v) || json_integer_value(v) != FG_PROTO_VERSION)
		return fg_reply_error(FG_E_VERSION,
		    "the request must carry this agent's protocol version in "
		    "\"v\"");
	if (name == NULL)
		return fg_bad_request("the request has no \"op\"");

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(ops[i].name, name) == 0)
			return ops[i].fn(ag, peer, req);
	for (i = 0; fg_admin_ops[i].name != NULL; i++)
		if (strcmp(fg_admin_ops[i].name, name) == 0)
			return fg_admin_ops[i].fn(ag, peer, req);
	return fg_reply_error(FG_E_UNKNOWN_OP, "unknown op");
}
