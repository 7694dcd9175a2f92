/*
 * The agent's requests. Each handler checks who is asking before anything
 * else, answers with a JSON reply, and audits every decision. The only
 * road to "allow" is auth.finish with a signature that fg_verify_assertion
 * accepted against an active credential of the session's user, whose
 * counter the store then saved.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "agent.h"

#define LABEL_MAX 64
#define AUDIT_LIMIT_MAX 1000
#define DECOY_ID_LEN 64
/* credentials per cred.list reply: 25 of the largest fit in 64 KiB */
#define LIST_PAGE 25

struct op {
	const char *name;
	json_t *(*fn)(struct fg_agent *, const struct fg_peer *,
	    const json_t *);
};

json_t *
fg_reply_error(const char *code, const char *message)
{
	return json_pack("{s:i,s:b,s:s,s:s}", "v", FG_PROTO_VERSION, "ok", 0,
	    "error", code, "message", message);
}

static json_t *
reply_ok(void)
{
	return json_pack("{s:i,s:b}", "v", FG_PROTO_VERSION, "ok", 1);
}

static json_t *
denied(void)
{
	return fg_reply_error("denied",
	    "this request needs root or the fido2gate admin group");
}

static json_t *
bad_request(const char *what)
{
	return fg_reply_error("bad_request", what);
}

/* Optional short text members: absent, or a string of at most max bytes. */
static bool
opt_text(const json_t *req, const char *key, size_t max, const char **out)
{
	const json_t *v = json_object_get(req, key);

	*out = "";
	if (v == NULL)
		return true;
	if (!json_is_string(v) || json_string_length(v) > max)
		return false;
	*out = json_string_value(v);
	return true;
}

static bool
label_valid(const char *s)
{
	size_t i, n = strlen(s);

	if (n == 0 || n > LABEL_MAX)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

static void
b64_put(json_t *obj, const char *key, const uint8_t *p, size_t len)
{
	char *s = fg_b64url_encode(p, len);

	json_object_set_new(obj, key, s != NULL ? json_string(s) : json_null());
	free(s);
}

static bool
need_uv(const struct fg_agent *ag, const struct fg_cred *c)
{
	return ag->cfg.uv == FG_UV_REQUIRED ||
	    (c->uv && ag->cfg.uv != FG_UV_DISCOURAGED);
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

static void
audit(struct fg_agent *ag, const struct fg_peer *peer, const char *event,
    const char *user, const char *cred, const char *result,
    const char *reason, const char *detail)
{
	struct fg_audit a = audit_record(peer, event, user, cred, result,
	    reason);

	a.detail = detail;

	if (fg_store_audit(ag->store, &a) != FG_OK)
		fprintf(stderr, "fido2gated: audit write failed: %s %s %s\n",
		    event, user != NULL ? user : "-", result);
}

/*
 * A user with no usable credential gets the same reply shape as one with:
 * a credential ID derived from the user name under a per-run secret, which
 * no key holds. The PAM module then walks the same path for both.
 */
static int
decoy_id(const struct fg_agent *ag, const char *user, uint8_t out[DECOY_ID_LEN])
{
	uint8_t in[300];
	unsigned int len = 32;
	size_t n = strlen(user), half;

	for (half = 0; half < 2; half++) {
		in[0] = (uint8_t)half;
		memcpy(in + 1, user, n);
		if (HMAC(EVP_sha256(), ag->secret, sizeof(ag->secret), in,
			n + 1, out + 32 * half, &len) == NULL)
			return FG_ERR_INTERNAL;
	}
	return FG_OK;
}

/* A failed attempt for user by peer: counted for backoff, and at
 * lockout_after failures the user is locked until an admin unlocks. */
static void
failure(struct fg_agent *ag, uid_t caller, pid_t pid, const char *user)
{
	unsigned n = fg_limits_fail(ag->limits, &ag->cfg, user, caller,
	    fg_now_ms());
	struct fg_peer peer = { .uid = caller, .pid = pid };
	struct fg_audit a;
	char why[96];

	if (user == NULL || ag->cfg.lockout_after == 0 ||
	    n < ag->cfg.lockout_after)
		return;
	snprintf(why, sizeof(why), "%u failed attempts", n);
	a = audit_record(&peer, "lockout", user, NULL, "deny", why);
	if (fg_store_lock_set(ag->store, user, n, &a) != FG_OK)
		fprintf(stderr, "fido2gated: cannot record the lockout of %s; "
				"the backoff still holds\n",
		    user);
}

void
fg_agent_expired(const struct fg_chal *c, void *agent)
{
	if (c->purpose == FG_PURPOSE_AUTH)
		failure(agent, c->caller, 0, c->user);
}

/* Locked, or backing off: the refusal to send, or NULL to go on. */
static json_t *
attempt_refused(struct fg_agent *ag, const struct fg_peer *peer,
    const char *user, const char *service)
{
	int64_t locked_at, failures, wait;
	json_t *reply;
	char msg[128];

	if (fg_store_lock_get(ag->store, user, &locked_at, &failures) !=
	    FG_OK) {
		audit(ag, peer, "auth.begin", user, NULL, "error",
		    "store unreadable", service);
		return fg_reply_error("store", "the credential store failed");
	}
	if (locked_at != 0) {
		audit(ag, peer, "auth.begin", user, NULL, "deny",
		    "locked out", service);
		return fg_reply_error("locked",
		    "too many failed attempts: locked until an administrator "
		    "runs fido2gatectl unlock");
	}
	wait = fg_limits_wait(ag->limits, &ag->cfg, user, peer->uid,
	    fg_now_ms());
	if (wait == 0)
		return NULL;
	audit(ag, peer, "auth.begin", user, NULL, "deny", "backing off",
	    service);
	snprintf(msg, sizeof(msg),
	    "too many failed attempts: try again in %lld s",
	    (long long)(wait + 999) / 1000);
	reply = fg_reply_error("rate_limited", msg);
	json_object_set_new(reply, "retry_after",
	    json_integer((wait + 999) / 1000));
	return reply;
}

static json_t *
op_auth_begin(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	const char *user = fg_json_str(req, "user"), *service, *rhost, *tty;
	struct fg_user u;
	struct fg_cred *creds = NULL;
	struct fg_chal *c = NULL;
	json_t *reply = NULL, *allow;
	size_t n = 0, i;
	bool uv = ag->cfg.uv == FG_UV_REQUIRED;
	int r;

	if (!fg_user_name_valid(user))
		return bad_request("user is missing or not a valid user name");
	if (!opt_text(req, "service", 64, &service) ||
	    !opt_text(req, "rhost", 256, &rhost) ||
	    !opt_text(req, "tty", 64, &tty))
		return bad_request("service, rhost or tty is not a short string");
	if (peer->uid != 0 && strcmp(peer->name, user) != 0) {
		audit(ag, peer, "auth.begin", user, NULL, "deny",
		    "caller may only authenticate itself", service);
		return fg_reply_error("denied",
		    "only root may authenticate another user");
	}
	if ((reply = attempt_refused(ag, peer, user, service)) != NULL)
		return reply;
	r = fg_store_user_find(ag->store, user, &u);
	if (r == FG_OK)
		r = fg_store_creds(ag->store, u.id, true, &creds, &n);
	else if (r == FG_ERR_NOTFOUND)
		r = FG_OK;
	if (r != FG_OK) {
		audit(ag, peer, "auth.begin", user, NULL, "error",
		    "store unreadable", service);
		return fg_reply_error("store", "the credential store failed");
	}
	if ((r = fg_chal_issue(ag->chal, FG_PURPOSE_AUTH, user, peer->uid,
		 ag->cfg.challenge_timeout, &c)) != FG_OK) {
		fg_cred_list_free(&creds, n);
		return fg_reply_error(r == FG_ERR_LIMIT ? "limit" : "internal",
		    r == FG_ERR_LIMIT ? "too many pending challenges" :
					"cannot make a challenge");
	}
	allow = json_array();
	for (i = 0; i < n; i++) {
		char *id;
		if (creds[i].suspicious)
			continue;
		if ((id = fg_b64url_encode(creds[i].cred_id,
			 creds[i].cred_id_len)) != NULL)
			json_array_append_new(allow, json_string(id));
		free(id);
		uv = uv || need_uv(ag, &creds[i]);
	}
	if (json_array_size(allow) == 0) {
		uint8_t decoy[DECOY_ID_LEN];
		char *id;
		if (decoy_id(ag, user, decoy) == FG_OK &&
		    (id = fg_b64url_encode(decoy, sizeof(decoy))) != NULL) {
			json_array_append_new(allow, json_string(id));
			free(id);
		}
	}
	c->uv_required = uv;
	reply = reply_ok();
	b64_put(reply, "session", c->session, sizeof(c->session));
	b64_put(reply, "challenge", c->challenge, sizeof(c->challenge));
	json_object_set_new(reply, "rp_id", json_string(ag->cfg.rp_id));
	json_object_set_new(reply, "origin", json_string(ag->cfg.origins[0]));
	json_object_set_new(reply, "allow_credentials", allow);
	json_object_set_new(reply, "uv",
	    json_string(uv ? "required" : fg_uv_policy_name(ag->cfg.uv)));
	json_object_set_new(reply, "timeout",
	    json_integer(ag->cfg.challenge_timeout));
	fg_cred_list_free(&creds, n);
	return reply;
}

static json_t *
deny(struct fg_agent *ag, const struct fg_peer *peer, const char *user,
    const char *cred, const char *reason)
{
	json_t *r;

	audit(ag, peer, "auth.finish", user, cred, "deny", reason, NULL);
	failure(ag, peer->uid, peer->pid, user);
	r = reply_ok();
	json_object_set_new(r, "result", json_string("deny"));
	json_object_set_new(r, "reason", json_string(reason));
	return r;
}

/* Take the session's challenge: once, for the same purpose and caller. */
static json_t *
take_session(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req, enum fg_purpose purpose, struct fg_chal **out)
{
	uint8_t *session = NULL;
	size_t len = 0;
	struct fg_chal *c = NULL;

	*out = NULL;
	if (fg_json_b64(req, "session", &session, &len) != FG_OK) {
		free(session);
		return bad_request("session is missing or not base64url");
	}
	if (fg_chal_take(ag->chal, session, len, &c) != FG_OK) {
		free(session);
		return fg_reply_error("no_session",
		    "no such session: unknown, expired or already used");
	}
	free(session);
	if (c->purpose != purpose || c->caller != peer->uid) {
		fg_chal_free(&c);
		return fg_reply_error("no_session",
		    "the session belongs to another caller or purpose");
	}
	if (c->expires <= fg_now_ms()) {
		fg_chal_free(&c);
		return fg_reply_error("no_session", "the session expired");
	}
	*out = c;
	return NULL;
}

static json_t *
op_auth_finish(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	struct fg_chal *c = NULL;
	struct fg_user u;
	struct fg_cred cred = { 0 };
	const struct fg_pubkey *key = NULL;
	struct fg_assertion a = { 0 };
	struct fg_expect e = { 0 };
	struct fg_verdict v;
	uint8_t *cid = NULL, *ad = NULL, *cdj = NULL, *sig = NULL;
	size_t cid_len, ad_len, cdj_len, sig_len;
	char reason[256], *cid_s = NULL;
	const char *cred_s = fg_json_str(req, "credential_id");
	json_t *reply;
	int ks, r;

	if (fg_json_b64(req, "credential_id", &cid, &cid_len) != FG_OK ||
	    fg_json_b64(req, "authenticator_data", &ad, &ad_len) != FG_OK ||
	    fg_json_b64(req, "client_data_json", &cdj, &cdj_len) != FG_OK ||
	    fg_json_b64(req, "signature", &sig, &sig_len) != FG_OK ||
	    cid_len == 0 || cid_len > 1023) {
		reply = bad_request("auth.finish needs session, credential_id,"
				    " authenticator_data, client_data_json and"
				    " signature, in base64url");
		goto out;
	}
	if ((reply = take_session(ag, peer, req, FG_PURPOSE_AUTH, &c)) != NULL) {
		audit(ag, peer, "auth.finish", NULL, cred_s, "deny",
		    fg_json_str(reply, "message"), NULL);
		failure(ag, peer->uid, peer->pid, NULL);
		goto out;
	}
	cid_s = fg_b64url_encode(cid, cid_len);
	if ((r = fg_store_user_find(ag->store, c->user, &u)) == FG_OK)
		r = fg_store_cred_get(ag->store, u.id, cid, cid_len, &cred);
	if (r == FG_ERR_NOTFOUND) {
		reply = deny(ag, peer, c->user, cid_s,
		    "credential not enrolled for this user");
		goto out;
	}
	if (r != FG_OK) {
		reply = deny(ag, peer, c->user, cid_s, "store unreadable");
		goto out;
	}
	if (cred.revoked || cred.suspicious) {
		reply = deny(ag, peer, c->user, cid_s,
		    cred.revoked ? "credential revoked" :
				   "credential suspended after a counter "
				   "regression");
		goto out;
	}
	key = fg_keycache_get(ag->keys, &cred, &ks);
	a.authdata = ad;
	a.authdata_len = ad_len;
	a.client_data_json = cdj;
	a.client_data_json_len = cdj_len;
	a.sig = sig;
	a.sig_len = sig_len;
	e.rp_id = ag->cfg.rp_id;
	e.challenge = c->challenge;
	e.challenge_len = sizeof(c->challenge);
	e.origins = (const char *const *)ag->cfg.origins;
	e.n_origins = ag->cfg.n_origins;
	e.type = "webauthn.get";
	e.user_presence = true;
	e.user_verification = c->uv_required || need_uv(ag, &cred);
	e.have_stored_count = true;
	e.stored_count = cred.sign_count;
	if (fg_verify_assertion(key, ks, &a, &e, &v) != FG_OK) {
		reply = deny(ag, peer, c->user, cid_s, "out of memory");
		goto out;
	}
	if (v.failed & FG_CHK_COUNTER && v.failed == FG_CHK_COUNTER) {
		/* a valid signature with an old counter: a cloned key */
		struct fg_audit au = audit_record(peer, "credential.suspicious",
		    c->user, cid_s, "deny", "counter_regression");
		if (fg_store_cred_mark_suspicious(ag->store, cred.id, &au) !=
		    FG_OK)
			fprintf(stderr, "fido2gated: cannot mark %s suspicious\n",
			    cid_s != NULL ? cid_s : "?");
	}
	if (v.failed != 0) {
		char checks[256];
		snprintf(reason, sizeof(reason), "verification failed: %s",
		    fg_checks_string(v.failed, checks, sizeof(checks)));
		reply = deny(ag, peer, c->user, cid_s, reason);
		goto out;
	}
	{
		struct fg_audit au = audit_record(peer, "auth.finish", c->user,
		    cid_s, "allow", "signature verified");
		/* the counter must be saved before we say yes */
		if ((r = fg_store_cred_used(ag->store, cred.id, v.sign_count,
			 v.flags, &au)) != FG_OK) {
			reply = deny(ag, peer, c->user, cid_s,
			    r == FG_ERR_NOTFOUND ?
				"credential changed during verification" :
				"cannot save the sign counter");
			goto out;
		}
	}
	fg_limits_success(ag->limits, c->user, peer->uid);
	reply = reply_ok();
	json_object_set_new(reply, "result", json_string("allow"));
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

/* The module gave up (no key, no touch, PIN refused): close the session
 * and record why. */
static json_t *
op_auth_abort(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	struct fg_chal *c = NULL;
	const char *why;
	json_t *reply;

	if (!opt_text(req, "reason", 128, &why))
		return bad_request("reason is not a short string");
	if ((reply = take_session(ag, peer, req, FG_PURPOSE_AUTH, &c)) != NULL)
		return reply;
	audit(ag, peer, "auth.abort", c->user, NULL, "deny",
	    why[0] != '\0' ? why : "aborted by the client", NULL);
	failure(ag, peer->uid, peer->pid, c->user);
	fg_chal_free(&c);
	return reply_ok();
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
	int r;

	if (!peer->admin)
		return denied();
	if (!fg_user_name_valid(user))
		return bad_request("user is missing or not a valid user name");
	if (!opt_text(req, "label", LABEL_MAX, &label) ||
	    (label[0] != '\0' && !label_valid(label)))
		return bad_request("label must be 1 to 64 printable bytes");
	r = fg_store_user_find(ag->store, user, &u);
	if (r == FG_OK)
		r = fg_store_creds(ag->store, u.id, true, &creds, &n);
	else if (r == FG_ERR_NOTFOUND)
		r = fg_random(u.handle, sizeof(u.handle));
	if (r != FG_OK)
		return fg_reply_error("store", "the credential store failed");
	if (n >= ag->cfg.max_credentials) {
		fg_cred_list_free(&creds, n);
		audit(ag, peer, "enroll", user, NULL, "deny",
		    "max_credentials_per_user reached", NULL);
		return fg_reply_error("limit",
		    "the user has max_credentials_per_user active credentials; "
		    "revoke one first");
	}
	if ((r = fg_chal_issue(ag->chal, FG_PURPOSE_ENROL, user, peer->uid,
		 ag->cfg.challenge_timeout, &c)) != FG_OK) {
		fg_cred_list_free(&creds, n);
		return fg_reply_error(r == FG_ERR_LIMIT ? "limit" : "internal",
		    "cannot make a challenge");
	}
	memcpy(c->handle, u.handle, sizeof(c->handle));
	c->uv_required = ag->cfg.uv == FG_UV_REQUIRED;
	if (label[0] != '\0' && (c->label = strdup(label)) == NULL) {
		fg_cred_list_free(&creds, n);
		return fg_reply_error("internal", "out of memory");
	}
	excl = json_array();
	for (i = 0; i < n; i++) {
		char *id = fg_b64url_encode(creds[i].cred_id,
		    creds[i].cred_id_len);
		if (id != NULL)
			json_array_append_new(excl, json_string(id));
		free(id);
	}
	fg_cred_list_free(&creds, n);
	reply = reply_ok();
	b64_put(reply, "session", c->session, sizeof(c->session));
	b64_put(reply, "challenge", c->challenge, sizeof(c->challenge));
	b64_put(reply, "user_handle", c->handle, sizeof(c->handle));
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
	return reply;
}

static json_t *
enroll_refused(struct fg_agent *ag, const struct fg_peer *peer,
    const char *user, const char *why)
{
	audit(ag, peer, "enroll", user, NULL, "deny", why, NULL);
	return fg_reply_error("refused", why);
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
	int r;

	if (!peer->admin)
		return denied();
	if (fmt == NULL ||
	    fg_json_b64(req, "authenticator_data", &ad, &ad_len) != FG_OK ||
	    fg_json_b64(req, "attestation_statement", &st, &st_len) != FG_OK ||
	    fg_json_b64(req, "client_data_json", &cdj, &cdj_len) != FG_OK) {
		reply = bad_request("enroll.finish needs session, fmt,"
				    " authenticator_data, attestation_statement"
				    " and client_data_json");
		goto out;
	}
	if ((reply = take_session(ag, peer, req, FG_PURPOSE_ENROL, &c)) != NULL)
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
		reply = enroll_refused(ag, peer, c->user, why);
		goto out;
	}
	fg_sha256(cdj, cdj_len, cdh);
	if ((r = fg_attest_verify(fmt, ad, ad_len, st, st_len, cdh,
		 ag->cfg.rp_id, &res, why, sizeof(why))) != FG_OK) {
		reply = enroll_refused(ag, peer, c->user, why);
		goto out;
	}
	if (ag->cfg.attestation_required && strcmp(res.kind, "none") == 0) {
		reply = enroll_refused(ag, peer, c->user,
		    "policy requires attestation; the key sent none");
		goto out;
	}
	if (c->uv_required && !(res.flags & FG_AD_UV)) {
		reply = enroll_refused(ag, peer, c->user,
		    "policy requires user verification (a PIN)");
		goto out;
	}
	cid_s = fg_b64url_encode(res.cred_id, res.cred_id_len);
	if (c->label != NULL)
		snprintf(label, sizeof(label), "%s", c->label);
	else
		snprintf(label, sizeof(label), "key-%.8s",
		    cid_s != NULL ? cid_s : "");
	cred.cred_id = res.cred_id;
	cred.cred_id_len = res.cred_id_len;
	cred.alg = res.alg;
	cred.pubkey = res.cose_key;
	cred.pubkey_len = res.cose_key_len;
	cred.sign_count = res.sign_count;
	cred.uv = (res.flags & FG_AD_UV) != 0;
	cred.be = (res.flags & FG_AD_BE) != 0;
	cred.bs = (res.flags & FG_AD_BS) != 0;
	memcpy(cred.aaguid, res.aaguid, 16);
	cred.fmt = (char *)(uintptr_t)fmt;
	cred.label = label;
	{
		char detail[320];
		struct fg_audit au = audit_record(peer, "enroll", c->user,
		    cid_s, "ok", label);

		au.detail = detail;
		snprintf(detail, sizeof(detail), "fmt=%s attestation=%s %s",
		    fmt, res.kind, res.subject);
		r = fg_store_cred_add(ag->store, c->user, c->handle, &cred,
		    &au);
	}
	if (r != FG_OK) {
		reply = r == FG_ERR_EXISTS ?
		    enroll_refused(ag, peer, c->user,
			"this credential is already enrolled") :
		    fg_reply_error("store", "the credential store failed");
		goto out;
	}
	reply = reply_ok();
	json_object_set_new(reply, "user", json_string(c->user));
	json_object_set_new(reply, "credential_id",
	    json_string(cid_s != NULL ? cid_s : ""));
	json_object_set_new(reply, "label", json_string(label));
	json_object_set_new(reply, "alg",
	    json_string(fg_cose_alg_name(res.alg)));
	json_object_set_new(reply, "attestation", json_string(res.kind));
	json_object_set_new(reply, "uv", json_boolean(cred.uv));
out:
	fg_attest_result_clear(&res);
	fg_chal_free(&c);
	free(ad);
	free(st);
	free(cdj);
	free(cid_s);
	return reply;
}

static json_t *
cred_json(const struct fg_cred *c)
{
	json_t *o = json_object();
	char aaguid[33];
	size_t i;

	for (i = 0; i < 16; i++)
		snprintf(aaguid + 2 * i, 3, "%02x", c->aaguid[i]);
	json_object_set_new(o, "user", json_string(c->user));
	b64_put(o, "credential_id", c->cred_id, c->cred_id_len);
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
	json_object_set_new(o, "state",
	    json_string(c->revoked ? "revoked" : "active"));
	json_object_set_new(o, "suspicious", json_boolean(c->suspicious));
	return o;
}

/* One page of credentials: "after" is the last "next" the caller got. */
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
		return bad_request("user is not a valid user name");
	if (aj != NULL &&
	    (!json_is_integer(aj) || json_integer_value(aj) < 0))
		return bad_request("after must be a credential number");
	if (!peer->admin && (user == NULL || strcmp(user, peer->name) != 0))
		return denied();
	if (user != NULL) {
		r = fg_store_user_find(ag->store, user, &u);
		if (r == FG_ERR_NOTFOUND) {
			reply = reply_ok();
			json_object_set_new(reply, "credentials", json_array());
			json_object_set_new(reply, "next", json_null());
			return reply;
		}
		if (r != FG_OK)
			return fg_reply_error("store", "the store failed");
	}
	if (fg_store_creds_page(ag->store, user != NULL ? u.id : 0,
		aj != NULL ? json_integer_value(aj) : 0, LIST_PAGE, &creds,
		&n) != FG_OK)
		return fg_reply_error("store", "the store failed");
	arr = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(arr, cred_json(&creds[i]));
	reply = reply_ok();
	json_object_set_new(reply, "credentials", arr);
	json_object_set_new(reply, "next",
	    n == LIST_PAGE ? json_integer(creds[n - 1].id) : json_null());
	fg_cred_list_free(&creds, n);
	return reply;
}

static json_t *
op_cred_revoke(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	const char *user = fg_json_str(req, "user");
	const char *which = fg_json_str(req, "credential");
	struct fg_user u;
	struct fg_cred *creds = NULL, *hit = NULL;
	size_t n = 0, i, hits = 0;
	json_t *reply;
	char *id = NULL;
	int r;

	if (!peer->admin)
		return denied();
	if (!fg_user_name_valid(user) || which == NULL || which[0] == '\0' ||
	    strlen(which) > 1400)
		return bad_request("cred.revoke needs user and credential");
	if ((r = fg_store_user_find(ag->store, user, &u)) == FG_OK)
		r = fg_store_creds(ag->store, u.id, true, &creds, &n);
	if (r == FG_ERR_NOTFOUND)
		return fg_reply_error("not_found", "no such user");
	if (r != FG_OK)
		return fg_reply_error("store", "the store failed");
	for (i = 0; i < n; i++) {
		char *s = fg_b64url_encode(creds[i].cred_id,
		    creds[i].cred_id_len);
		bool match = strcmp(creds[i].label, which) == 0 ||
		    (s != NULL && strlen(which) >= 4 &&
			strncmp(s, which, strlen(which)) == 0);
		if (match) {
			hits++;
			hit = &creds[i];
			free(id);
			id = s;
		} else
			free(s);
	}
	if (hits != 1) {
		reply = fg_reply_error(hits == 0 ? "not_found" : "ambiguous",
		    hits == 0 ? "no active credential with that label or ID "
				"prefix (at least 4 characters)" :
				"several credentials match; give more of the ID");
		goto out;
	}
	{
		struct fg_audit au = audit_record(peer, "revoke", user, id,
		    "ok", hit->label);
		r = fg_store_cred_revoke(ag->store, hit->id, &au);
	}
	if (r != FG_OK) {
		reply = fg_reply_error("store", "the store failed");
		goto out;
	}
	reply = reply_ok();
	json_object_set_new(reply, "credential_id", json_string(id));
	json_object_set_new(reply, "label", json_string(hit->label));
out:
	free(id);
	fg_cred_list_free(&creds, n);
	return reply;
}

static json_t *
op_status(struct fg_agent *ag, const struct fg_peer *peer, const json_t *req)
{
	int64_t users = 0, active = 0, revoked = 0;
	json_t *reply = reply_ok();

	json_object_set_new(reply, "version", json_string(FG_VERSION));
	json_object_set_new(reply, "rp_id", json_string(ag->cfg.rp_id));
	json_object_set_new(reply, "user_verification",
	    json_string(fg_uv_policy_name(ag->cfg.uv)));
	json_object_set_new(reply, "uptime_s",
	    json_integer((fg_now_ms() - ag->started) / 1000));
	json_object_set_new(reply, "pending_challenges",
	    json_integer((json_int_t)fg_chal_pending(ag->chal)));
	json_object_set_new(reply, "connections",
	    json_integer((json_int_t)ag->connections));
	json_object_set_new(reply, "rate_tracked",
	    json_integer((json_int_t)fg_limits_tracked(ag->limits)));
	/* counting scans the store: only for an admin who asks */
	if (peer->admin && json_is_true(json_object_get(req, "counts"))) {
		if (fg_store_counts(ag->store, &users, &active, &revoked) !=
		    FG_OK) {
			json_decref(reply);
			return fg_reply_error("store", "the store failed");
		}
		json_object_set_new(reply, "users", json_integer(users));
		json_object_set_new(reply, "credentials_active",
		    json_integer(active));
		json_object_set_new(reply, "credentials_revoked",
		    json_integer(revoked));
	}
	return reply;
}

static json_t *
op_audit_list(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	const json_t *lj = json_object_get(req, "limit");
	json_int_t limit = 50;
	json_t *reply, *rows = NULL;

	if (!peer->admin)
		return denied();
	if (lj != NULL) {
		if (!json_is_integer(lj) || json_integer_value(lj) < 1 ||
		    json_integer_value(lj) > AUDIT_LIMIT_MAX)
			return bad_request("limit must be 1 to 1000");
		limit = json_integer_value(lj);
	}
	if (fg_store_audit_list(ag->store, (int)limit, &rows) != FG_OK)
		return fg_reply_error("store", "the store failed");
	reply = reply_ok();
	json_object_set_new(reply, "records", rows);
	return reply;
}

static json_t *
op_user_unlock(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	const char *user = fg_json_str(req, "user");
	int64_t locked_at, failures;
	struct fg_audit a;
	json_t *reply;
	int r;

	if (!peer->admin)
		return denied();
	if (!fg_user_name_valid(user))
		return bad_request("user is missing or not a valid user name");
	if (fg_store_lock_get(ag->store, user, &locked_at, &failures) != FG_OK)
		return fg_reply_error("store", "the store failed");
	a = audit_record(peer, "unlock", user, NULL, "ok",
	    locked_at != 0 ? "lockout cleared" : "backoff cleared");
	r = locked_at != 0 ? fg_store_lock_clear(ag->store, user, &a) :
			     fg_store_audit(ag->store, &a);
	if (r != FG_OK && r != FG_ERR_NOTFOUND)
		return fg_reply_error("store", "the store failed");
	fg_limits_success(ag->limits, user, 0);
	reply = reply_ok();
	json_object_set_new(reply, "user", json_string(user));
	json_object_set_new(reply, "was_locked", json_boolean(locked_at != 0));
	json_object_set_new(reply, "failures", json_integer(failures));
	return reply;
}

static const struct op ops[] = {
	{ "auth.begin", op_auth_begin },
	{ "auth.finish", op_auth_finish },
	{ "auth.abort", op_auth_abort },
	{ "enroll.begin", op_enroll_begin },
	{ "enroll.finish", op_enroll_finish },
	{ "cred.list", op_cred_list },
	{ "cred.revoke", op_cred_revoke },
	{ "status", op_status },
	{ "audit.list", op_audit_list },
	{ "user.unlock", op_user_unlock },
};

json_t *
fg_agent_handle(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	const json_t *v = json_object_get(req, "v");
	const char *name = fg_json_str(req, "op");
	size_t i;

	if (!json_is_integer(v) || json_integer_value(v) != FG_PROTO_VERSION)
		return fg_reply_error("version",
		    "the request must carry \"v\": 1");
	if (name == NULL)
		return bad_request("the request has no \"op\"");

	for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
		if (strcmp(ops[i].name, name) == 0)
			return ops[i].fn(ag, peer, req);
	return fg_reply_error("unknown_op", "unknown op");
}
