/*
 * Remote enrolment by invitation (docs/admin-guide.md, "Remote
 * enrolment"). An admin, with their own key, makes a link for one user:
 * 256 random bits, of which the store keeps only the SHA-256, single use,
 * expiring after [admin] invite_ttl. Whoever opens it must pass the
 * configured first factor for that user (the link alone is not enough:
 * with first_factor = none no link is made), then the browser makes a
 * credential, which the agent verifies as an enrolment (client data,
 * attestation and policy: fg_enroll_attest) and stores pending, with the
 * request an admin confirms it with (fido2gatectl approve); the link is
 * spent in that same transaction. Until then the key opens nothing.
 *
 * The web front relays the browser; the page's transaction, and the new
 * key's challenge with it, live in the store with the logins' (oidc.c,
 * which never takes either for a login's): each step may reach any agent
 * on a shared store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "agent.h"

#define INVITE_LABEL_MAX 64

static bool
web_caller(const struct fg_peer *peer)
{
	return peer->web || peer->uid == 0;
}

/* The link's token to its hash; false when it is not one of ours. */
static bool
token_hash(const char *token, uint8_t hash[32])
{
	uint8_t *raw = NULL;
	size_t n = 0;
	bool ok = token != NULL && strlen(token) <= 64 &&
	    fg_b64url_decode(token, &raw, &n) == FG_OK &&
	    n == FG_INVITE_TOKEN_LEN;

	if (ok)
		fg_sha256(raw, n, hash);
	if (raw != NULL)
		OPENSSL_cleanse(raw, n);
	free(raw);
	return ok;
}

json_t *
fg_op_invite_create(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	const char *user = fg_json_str(req, "user");
	uint8_t raw[FG_INVITE_TOKEN_LEN], hash[32];
	char by[FG_USER_NAME_MAX + 1], detail[FG_USER_NAME_MAX + 128];
	char *token = NULL, *link = NULL;
	int64_t expires;
	json_t *reply = NULL;
	struct fg_audit a = { .event = "invite", .user = user,
		.caller_uid = peer->uid, .caller_pid = peer->pid,
		.result = "ok", .detail = detail };

	if (!peer->admin)
		return fg_denied();
	if (!fg_user_name_valid(user))
		return fg_bad_request("user is missing or not a valid user name");
	if ((reply = fg_invite_authorize(ag, peer, req, user, by, sizeof(by),
		 detail, sizeof(detail))) != NULL)
		return reply;
	if (!fg_gate_on(ag))
		return fg_reply_error(FG_E_REFUSED,
		    "remote enrolment needs the web front: set [oidc] "
		    "issuer");
	/* whoever holds the link must still prove to be the user */
	if (ag->cfg.gate.ff == FG_FF_NONE)
		return fg_reply_error(FG_E_REFUSED,
		    "[web] first_factor is none, so the link alone would "
		    "enrol a key: set a password (pam:SERVICE) or the "
		    "organisation's provider (oidc:NAME)");
	expires = (int64_t)time(NULL) + ag->cfg.invite_ttl;
	if (fg_random(raw, sizeof(raw)) != FG_OK ||
	    (token = fg_b64url_encode(raw, sizeof(raw))) == NULL ||
	    asprintf(&link, "%s/enrol/%s", ag->cfg.gate.issuer, token) < 0) {
		link = NULL;
		reply = fg_reply_error(FG_E_INTERNAL, "cannot make a link");
		goto out;
	}
	fg_sha256(raw, sizeof(raw), hash);
	a.reason = "invitation link made (single use)";
	snprintf(detail + strlen(detail), sizeof(detail) - strlen(detail),
	    " expires=%lld", (long long)expires);
	if (fg_store_invite_add(ag->store, hash, user, by, expires, &a) !=
	    FG_OK) {
		reply = fg_store_failed();
		goto out;
	}
	reply = fg_reply_ok();
	json_object_set_new(reply, "user", json_string(user));
	json_object_set_new(reply, "link", json_string(link));
	json_object_set_new(reply, "expires", json_integer(expires));
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	if (token != NULL)
		fg_wipe_free(token, strlen(token));
	if (link != NULL)
		fg_wipe_free(link, strlen(link));
	return reply;
}

/* The invitation of a token, still good: NULL, or the refusal (why:
 * unknown, used, expired), audited. */
static json_t *
invitation(struct fg_agent *ag, const struct fg_peer *peer, const char *event,
    const uint8_t hash[32], struct fg_invitation *inv)
{
	const char *why = NULL;
	json_t *reply;
	int r;

	r = fg_store_invite_get(ag->store, hash, inv);
	if (r == FG_ERR_NOTFOUND) {
		/* anyone can try a link: audited at a bounded rate */
		fg_audit_quiet(ag, peer, event, "unknown invitation link",
		    NULL);
		why = "unknown";
	} else if (r != FG_OK) {
		return fg_store_failed();
	} else if (inv->used != 0) {
		fg_audit(ag, peer, event, inv->user, NULL, "deny",
		    "invitation link used again", inv->created_by);
		why = "used";
	} else if (inv->expires <= (int64_t)time(NULL)) {
		fg_audit(ag, peer, event, inv->user, NULL, "deny",
		    "invitation link expired", inv->created_by);
		why = "expired";
	}
	if (why == NULL)
		return NULL;
	reply = fg_reply_error(FG_E_NO_SESSION,
	    strcmp(why, "used") == 0 ? "this invitation link was already used" :
	    strcmp(why, "expired") == 0 ? "this invitation link has expired" :
					  "this invitation link is unknown");
	json_object_set_new(reply, "why", json_string(why));
	return reply;
}

/* The browser opened the link: a page for it, bound to the user. */
json_t *
fg_op_invite_open(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	struct fg_invitation inv;
	uint8_t hash[32];
	json_t *reply;
	int r;

	if (!web_caller(peer))
		return fg_denied();
	if (!fg_gate_on(ag))
		return fg_reply_error(FG_E_DENIED,
		    "the web front is not configured ([oidc] issuer)");
	if (!token_hash(fg_json_str(req, "token"), hash)) {
		fg_audit_quiet(ag, peer, FG_OP_INVITE_OPEN,
		    "malformed invitation link", NULL);
		reply = fg_reply_error(FG_E_NO_SESSION,
		    "this invitation link is unknown");
		json_object_set_new(reply, "why", json_string("unknown"));
		return reply;
	}
	if ((reply = invitation(ag, peer, FG_OP_INVITE_OPEN, hash, &inv)) !=
	    NULL)
		return reply;
	if (ag->cfg.gate.ff == FG_FF_NONE)
		return fg_reply_error(FG_E_DENIED,
		    "[web] first_factor is none: invitations are off");
	reply = fg_reply_ok();
	json_object_set_new(reply, "user", json_string(inv.user));
	json_object_set_new(reply, "first_factor",
	    json_string(ag->cfg.gate.ff == FG_FF_PAM ? "password" :
							"provider"));
	json_object_set_new(reply, "uv",
	    json_string(fg_uv_policy_name(ag->cfg.uv)));
	if ((r = fg_oidc_invite_new(ag, hash, inv.user, req, reply)) !=
	    FG_OK) {
		json_decref(reply);
		if (r == FG_ERR_INVALID)
			return fg_bad_request("net is not a client network");
		return fg_reply_error(r == FG_ERR_LIMIT ? FG_E_LIMIT :
							  FG_E_INTERNAL,
		    r == FG_ERR_LIMIT ?
			"too many sign-ins are under way; try again in a "
			"few minutes" :
			"this page cannot be opened now; try again");
	}
	fg_audit(ag, peer, FG_OP_INVITE_OPEN, inv.user, NULL, "ok",
	    "invitation link opened; the first factor follows",
	    inv.created_by);
	return reply;
}

/* The attestation the page asks the key for: a statement whenever the
 * policy looks at one, none otherwise (no browser prompt for it). */
static const char *
conveyance(const struct fg_agent *ag)
{
	const struct fg_attest_policy *p = &ag->cfg.attest;

	return p->require == FG_ATTEST_OPTIONAL && p->roots == NULL &&
		p->allow.n == 0 && p->deny.n == 0 ?
	    "none" :
	    "direct";
}

/* The first factor passed: the options of navigator.credentials.create()
 * for the invited user. */
static json_t *
invite_challenge(struct fg_agent *ag, const struct fg_peer *peer,
    const uint8_t id[FG_TX_LEN], const struct fg_invite_tx *inv)
{
	uint8_t session[FG_SESSION_LEN], challenge[FG_CHALLENGE_LEN];
	struct fg_user u;
	struct fg_cred *creds = NULL;
	struct fg_invitation row;
	size_t n = 0, i, active = 0;
	json_t *reply, *excl;
	int r;

	/* the link may have been used (another page) or expired since */
	if ((reply = invitation(ag, peer, FG_OP_INVITE_BEGIN, inv->hash,
		 &row)) != NULL) {
		fg_oidc_invite_end(ag, id);
		return reply;
	}
	r = fg_store_user_find(ag->store, inv->user, &u);
	if (r == FG_OK)
		r = fg_store_creds(ag->store, u.id, false, &creds, &n);
	else if (r == FG_ERR_NOTFOUND)
		r = fg_random(u.handle, sizeof(u.handle));
	if (r != FG_OK)
		return fg_store_failed();
	for (i = 0; i < n; i++)
		active += strcmp(creds[i].state, "active") == 0;
	if (active >= ag->cfg.max_credentials) {
		fg_cred_list_free(&creds, n);
		fg_audit(ag, peer, FG_OP_INVITE_BEGIN, inv->user, NULL, "deny",
		    "max_credentials_per_user reached", NULL);
		return fg_reply_error(FG_E_LIMIT,
		    "this account holds as many keys as it may");
	}
	/* in the store, as a login's: one per page (a retry replaces it),
	 * taken by invite.finish at whichever agent */
	if ((r = fg_oidc_invite_chal(ag, id, inv->user, u.handle,
		 ag->cfg.uv == FG_UV_REQUIRED, session, challenge)) != FG_OK) {
		fg_cred_list_free(&creds, n);
		if (r != FG_ERR_LIMIT)
			return fg_store_failed();
		fg_audit(ag, peer, FG_OP_INVITE_BEGIN, inv->user, NULL, "deny",
		    "too many logins under way for this user", NULL);
		reply = fg_reply_error(FG_E_LIMIT,
		    "too many logins under way for this user; finish or "
		    "cancel one first");
		json_object_set_new(reply, "why", json_string("busy"));
		return reply;
	}
	/* every key of the user's, whatever its state: the same key twice
	 * would be refused at the end anyway */
	excl = json_array();
	for (i = 0; i < n; i++) {
		char *cid = fg_b64url_encode(creds[i].cred_id,
		    creds[i].cred_id_len);
		if (cid != NULL)
			json_array_append_new(excl, json_string(cid));
		free(cid);
	}
	fg_cred_list_free(&creds, n);
	reply = fg_reply_ok();
	fg_b64_put(reply, "session", session, sizeof(session));
	fg_b64_put(reply, "challenge", challenge, sizeof(challenge));
	fg_b64_put(reply, "user_handle", u.handle, sizeof(u.handle));
	json_object_set_new(reply, "user", json_string(inv->user));
	json_object_set_new(reply, "rp_id", json_string(ag->cfg.rp_id));
	json_object_set_new(reply, "rp_name", json_string(ag->cfg.rp_name));
	json_object_set_new(reply, "exclude_credentials", excl);
	json_object_set_new(reply, "algorithms",
	    json_pack("[i,i,i]", FG_COSE_ES256, FG_COSE_EDDSA, FG_COSE_RS256));
	json_object_set_new(reply, "uv",
	    json_string(fg_uv_policy_name(ag->cfg.uv)));
	json_object_set_new(reply, "attestation",
	    json_string(conveyance(ag)));
	json_object_set_new(reply, "timeout",
	    json_integer(ag->cfg.challenge_timeout));
	OPENSSL_cleanse(challenge, sizeof(challenge));
	return reply;
}

/* The PAM service's verdict on the invited user's password. */
static json_t *
invite_begin_resume(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req, int result, const json_t *out)
{
	uint8_t id[FG_TX_LEN];
	struct fg_invite_tx *inv;
	json_t *r;

	(void)out; /* a PAM check says only yes or no */
	ag->deferred--;
	/* the page may have expired while PAM thought */
	if ((inv = fg_oidc_invite_of(ag, req, id)) == NULL)
		return fg_reply_error(FG_E_NO_SESSION,
		    "this page has expired: open the link again");
	if (result == FG_OK)
		return invite_challenge(ag, peer, id, inv);
	fg_audit(ag, peer, FG_OP_INVITE_BEGIN, inv->user, NULL,
	    result == FG_ERR_DENIED ? "deny" : "error",
	    result == FG_ERR_DENIED ? "password refused by PAM" :
	    result == FG_ERR_TIMEOUT ? "the PAM check timed out" :
				       "the PAM check failed",
	    ag->cfg.gate.first_factor);
	if (result != FG_ERR_DENIED)
		return fg_reply_error(FG_E_INTERNAL,
		    "the password cannot be checked now; try again");
	/* a link in the wrong hands meets the user's lockout */
	fg_failure(ag, fg_charged_uid(peer), peer->pid, inv->user);
	r = fg_reply_error(FG_E_REFUSED, "wrong password");
	json_object_set_new(r, "why", json_string("wrong_password"));
	return r;
}

/* The first factor for the invited user, then the key's options. */
json_t *
fg_op_invite_begin(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	const json_t *pj = json_object_get(req, "password");
	uint8_t id[FG_TX_LEN];
	struct fg_invite_tx *inv;
	char *password;
	json_t *reply;
	int r;

	if (!web_caller(peer))
		return fg_denied();
	if ((inv = fg_oidc_invite_of(ag, req, id)) == NULL)
		return fg_reply_error(FG_E_NO_SESSION,
		    "this page has expired: open the link again");
	if (ag->cfg.gate.ff == FG_FF_OIDC) {
		/* web.upstream checked that the provider named this user */
		if (!inv->first_done)
			return fg_reply_error(FG_E_DENIED,
			    "sign in with the organisation's provider first");
		/* a locked user enrols nothing, whichever the first factor:
		 * an incident's lock must hold against a link sent before */
		if ((reply = fg_attempt_refused(ag, peer, FG_OP_INVITE_BEGIN,
			 inv->user, ag->cfg.gate.first_factor,
			 FG_PURPOSE_INVITE)) != NULL)
			return reply;
		return invite_challenge(ag, peer, id, inv);
	}
	if (ag->cfg.gate.ff != FG_FF_PAM)
		return fg_reply_error(FG_E_DENIED,
		    "[web] first_factor is none: invitations are off");
	if (!json_is_string(pj) || json_string_length(pj) == 0 ||
	    json_string_length(pj) > 512 ||
	    strlen(json_string_value(pj)) != json_string_length(pj))
		return fg_bad_request("the password is missing");
	if ((reply = fg_attempt_refused(ag, peer, FG_OP_INVITE_BEGIN,
		 inv->user, ag->cfg.gate.first_factor, FG_PURPOSE_INVITE)) !=
	    NULL)
		return reply;
	if (ag->deferred >= FG_DEFER_MAX)
		return fg_reply_error(FG_E_LIMIT,
		    "too many password checks under way; try again");
	if ((password = strdup(json_string_value(pj))) == NULL)
		return fg_reply_error(FG_E_INTERNAL, "out of memory");
	r = fg_pamcheck_start(ag->cfg.gate.first_factor, inv->user, password,
	    &ag->defer.fd, &ag->defer.pid);
	fg_wipe_free(password, strlen(password));
	if (r != FG_OK)
		return fg_reply_error(FG_E_INTERNAL,
		    "the password cannot be checked now");
	ag->defer.resume = invite_begin_resume;
	ag->deferred++;
	return fg_reply_deferred();
}

static json_t *
finish_refused(struct fg_agent *ag, const struct fg_peer *peer,
    const char *user, const char *why)
{
	fg_audit(ag, peer, FG_OP_INVITE_FINISH, user, NULL, "deny", why, NULL);
	return fg_reply_error(FG_E_REFUSED, why);
}

/* The browser's new credential: verified as an enrolment, stored pending
 * with its request, the link spent, all at once. */
json_t *
fg_op_invite_finish(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	uint8_t id[FG_TX_LEN], cdh[32];
	uint8_t *obj = NULL, *cdj = NULL, *ad = NULL, *st = NULL;
	size_t obj_len = 0, cdj_len = 0, ad_len = 0, st_len = 0;
	struct fg_invite_tx *inv;
	struct fg_invitation row;
	struct fg_chal *c = NULL;
	struct fg_attest_result res = { 0 };
	struct fg_expect e = { 0 };
	struct fg_cred cred = { 0 };
	struct fg_request rq;
	char fmt[32], why[256], label[INVITE_LABEL_MAX + 1], *cid_s = NULL;
	char detail[1400], aaguid[37];
	unsigned failed = 0;
	json_t *reply = NULL;
	int r;

	if (!web_caller(peer))
		return fg_denied();
	if ((inv = fg_oidc_invite_of(ag, req, id)) == NULL)
		return fg_reply_error(FG_E_NO_SESSION,
		    "this page has expired: open the link again");
	if (fg_json_b64(req, "attestation_object", &obj, &obj_len) != FG_OK ||
	    fg_json_b64(req, "client_data_json", &cdj, &cdj_len) != FG_OK) {
		reply = fg_bad_request("invite.finish needs tx, session, "
				       "attestation_object and "
				       "client_data_json");
		goto out;
	}
	/* from the store, once, whichever agent gave it: with the user
	 * handle and the policy on UV of its invite.begin */
	if ((reply = fg_oidc_invite_take(ag, peer, req, id, inv->user, &c)) !=
	    NULL)
		goto out;
	if (strcmp(c->user, inv->user) != 0) {
		reply = finish_refused(ag, peer, c->user,
		    "the session belongs to another page");
		goto out;
	}
	/* the browser's create(), for the configured web origins */
	e.challenge = c->challenge;
	e.challenge_len = sizeof(c->challenge);
	e.origins = (const char *const *)ag->cfg.origins + 1;
	e.n_origins = ag->cfg.n_origins - 1;
	e.type = "webauthn.create";
	if (fg_client_data_check(cdj, cdj_len, &e, &failed) != FG_OK ||
	    failed != 0) {
		char checks[200];
		snprintf(why, sizeof(why), "client data: %s",
		    fg_checks_string(failed, checks, sizeof(checks)));
		reply = finish_refused(ag, peer, c->user, why);
		goto out;
	}
	if (fg_attest_object_split(obj, obj_len, fmt, sizeof(fmt), &ad,
		&ad_len, &st, &st_len) != FG_OK) {
		reply = finish_refused(ag, peer, c->user,
		    "the attestation object is malformed");
		goto out;
	}
	fg_sha256(cdj, cdj_len, cdh);
	if (fg_enroll_attest(ag, fmt, ad, ad_len, st, st_len, cdh, &res, why,
		sizeof(why)) != FG_OK) {
		reply = finish_refused(ag, peer, c->user, why);
		goto out;
	}
	if (c->uv_required && !(res.flags & FG_AD_UV)) {
		reply = finish_refused(ag, peer, c->user,
		    "policy requires user verification (a PIN)");
		goto out;
	}
	if ((r = fg_store_invite_get(ag->store, inv->hash, &row)) != FG_OK) {
		reply = r == FG_ERR_NOTFOUND ?
		    finish_refused(ag, peer, c->user, "invitation gone") :
		    fg_store_failed();
		goto out;
	}
	cid_s = fg_b64url_encode(res.cred_id, res.cred_id_len);
	snprintf(label, sizeof(label), "invited-%.8s",
	    cid_s != NULL ? cid_s : "");
	fg_cred_from_attest(&cred, &res, fmt, label);
	snprintf(cred.state, sizeof(cred.state), "pending");
	fg_invite_request(ag, c->user, row.created_by, &rq);
	rq.cred_id = res.cred_id;
	rq.cred_id_len = res.cred_id_len;
	snprintf(detail, sizeof(detail),
	    "request=%s label=%s fmt=%s attestation=%s aaguid=%s%s%s%s%s "
	    "invited_by=%s; waits for an admin's confirmation",
	    rq.id, label, fmt, res.kind, fg_aaguid_text(res.aaguid, aaguid),
	    res.subject[0] != '\0' ? " subject=" : "", res.subject,
	    res.root[0] != '\0' ? " root=" : "", res.root, row.created_by);
	{
		struct fg_audit a = { .event = FG_OP_INVITE_FINISH,
			.user = c->user, .credential = cid_s,
			.caller_uid = peer->uid, .caller_pid = peer->pid,
			.result = "ok", .reason = "pending",
			.detail = detail };
		r = fg_store_invite_enrol(ag->store, inv->hash, c->handle,
		    &cred, &rq, &a);
	}
	if (r == FG_ERR_NOTFOUND) {
		fg_audit(ag, peer, FG_OP_INVITE_FINISH, c->user, cid_s, "deny",
		    "the invitation link was used meanwhile, or expired",
		    NULL);
		fg_oidc_invite_end(ag, id);
		reply = fg_reply_error(FG_E_NO_SESSION,
		    "the invitation link was used meanwhile, or expired");
		goto out;
	}
	if (r != FG_OK) {
		reply = r == FG_ERR_EXISTS ?
		    finish_refused(ag, peer, c->user,
			"this key is already enrolled") :
		    fg_store_failed();
		goto out;
	}
	fg_oidc_invite_end(ag, id); /* one key per link */
	reply = fg_reply_ok();
	json_object_set_new(reply, "user", json_string(rq.user));
	json_object_set_new(reply, "credential_id",
	    json_string(cid_s != NULL ? cid_s : ""));
	json_object_set_new(reply, "label", json_string(label));
	json_object_set_new(reply, "pending", json_true());
	json_object_set_new(reply, "request", json_string(rq.id));
out:
	fg_attest_result_clear(&res);
	fg_chal_free(&c);
	free(obj);
	free(cdj);
	free(ad);
	free(st);
	free(cid_s);
	return reply;
}
