/*
 * user.lock: an incident's lock (fido2gatectl lock USER --reason TEXT).
 * At once, in one transaction with its audit record: the user is locked
 * (every login path refuses), and every approval no homeserver login has
 * consumed yet is revoked; the user's codes and access tokens in memory
 * are dropped. Then what the user's earlier logins left running is cut:
 * each Matrix session a fido2gate login created, through OpenID Connect
 * Back-Channel Logout 1.0 (a logout token per sid, posted to the client's
 * backchannel_logout_uri), and, with the homeserver's admin API, every
 * device of the user. That network work runs in a child (outbound.c); the
 * reply waits for it, FG_LOCK_MS at most, and reports each cut, as the
 * audit does. The lock itself never waits on the network: it is in place
 * before the first request leaves.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

#define SESSIONS_MAX 64 /* the newest logins a lock logs out */

/* Each cut's outcome, audited, into its line of the report. */
static void
cut_done(struct fg_agent *ag, const struct fg_peer *peer, const char *user,
    json_t *cut, const json_t *r, int rc)
{
	const char *kind = fg_json_str(cut, "kind");
	bool ok = rc == FG_OK && json_is_true(json_object_get(r, "ok"));
	char why[FG_TEXT_MAX + 64], detail[FG_ORIGIN_MAX + 64];
	const char *err = fg_json_str(cut, "error") != NULL ?
	    fg_json_str(cut, "error") :
	    rc == FG_ERR_TIMEOUT ? "no answer within the lock's time bound" :
	    rc == FG_ERR_LIMIT	 ? "cannot start the logouts now" :
	    fg_json_str(r, "error") != NULL ? fg_json_str(r, "error") :
					      "no result";

	json_object_set_new(cut, "result", json_string(ok ? "ok" : "failed"));
	if (!ok && json_object_get(cut, "error") == NULL)
		json_object_set_new(cut, "error", json_string(err));
	if (strcmp(kind, "devices") == 0) {
		json_int_t n = json_integer_value(json_object_get(r, "deleted"));
		if (ok) {
			json_object_set_new(cut, "deleted", json_integer(n));
			snprintf(why, sizeof(why), "%lld devices logged out",
			    (long long)n);
		} else
			snprintf(why, sizeof(why), "devices not logged out: %s",
			    err);
		snprintf(detail, sizeof(detail), "admin API %s",
		    fg_json_str(cut, "mxid"));
	} else {
		if (ok)
			snprintf(why, sizeof(why), "session %s logged out",
			    fg_json_str(cut, "sid"));
		else
			snprintf(why, sizeof(why), "session %s not logged out: %s",
			    fg_json_str(cut, "sid"), err);
		snprintf(detail, sizeof(detail), "back-channel %s",
		    fg_json_str(cut, "client"));
	}
	fg_audit(ag, peer, "lock.logout", user, NULL, ok ? "ok" : "error", why,
	    detail);
}

static json_t *
report(json_t *rep)
{
	json_t *reply = fg_reply_ok();

	json_object_update(reply, rep);
	return reply;
}

/* The child's results (or its silence): the report. */
static json_t *
lock_resume(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req, int result, const json_t *out)
{
	json_t *rep = json_object_get(req, "_report"), *cut;
	size_t i, k = 0;

	ag->deferred--;
	json_array_foreach(json_object_get(rep, "cuts"), i, cut)
	{
		if (json_object_get(cut, "result") != NULL)
			continue; /* failed before it was sent */
		cut_done(ag, peer, fg_json_str(rep, "user"), cut,
		    json_array_get(out, k++), result);
	}
	return report(rep);
}

/* The logout tokens of the user's sessions at each client that takes
 * them, and the admin API's logout of every device: the child's plan,
 * with a line of the report for each. */
static int
plan_cuts(struct fg_agent *ag, const char *user, json_t *plan, json_t *cuts)
{
	const struct fg_gate *g = &ag->cfg.gate;
	char mxid[FG_USER_NAME_MAX + 300], *sub = NULL, *form = NULL, *jws;
	json_t *sessions = NULL, *s;
	struct fg_user u;
	size_t i;
	int r, ret = FG_ERR_INTERNAL;

	if (ag->oidc != NULL && ag->keys_signing != NULL) {
		if ((r = fg_store_sessions(ag->store, user, SESSIONS_MAX,
			 &sessions)) != FG_OK) {
			ret = r;
			goto out;
		}
		/* the id_token's sub: the user's handle */
		if (fg_store_user_find(ag->store, user, &u) == FG_OK)
			sub = fg_b64url_encode(u.handle, sizeof(u.handle));
	}
	json_array_foreach(sessions, i, s)
	{
		const struct fg_oidc_client *c =
		    fg_gate_client(g, fg_json_str(s, "client"));
		json_t *cut;

		if (c == NULL || c->backchannel_logout_uri[0] == '\0')
			continue;
		cut = json_pack("{s:s,s:s,s:s}", "kind", "backchannel",
		    "client", c->id, "sid", fg_json_str(s, "sid"));
		json_array_append_new(cuts, cut);
		jws = fg_oidc_logout_token(ag, c, sub, fg_json_str(s, "sid"));
		if (jws == NULL || asprintf(&form, "logout_token=%s", jws) < 0) {
			form = NULL;
			json_object_set_new(cut, "result", json_string("failed"));
			json_object_set_new(cut, "error",
			    json_string("cannot sign the logout token"));
		} else
			json_array_append_new(plan,
			    json_pack("{s:s,s:s,s:s}", "do", "post_form", "url",
				c->backchannel_logout_uri, "form", form));
		free(jws);
		free(form);
		form = NULL;
	}
	if (g->hs_admin_url[0] != '\0' && fg_mxid(ag, user, mxid, sizeof(mxid))) {
		json_array_append_new(cuts, json_pack("{s:s,s:s}", "kind",
		    "devices", "mxid", mxid));
		json_array_append_new(plan,
		    json_pack("{s:s,s:s,s:s,s:s}", "do", "devices", "base",
			g->hs_admin_url, "token", g->hs_admin_token, "mxid",
			mxid));
	}
	ret = FG_OK;
out:
	json_decref(sessions);
	free(sub);
	return ret;
}

json_t *
fg_op_user_lock(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	const char *user = fg_json_str(req, "user"), *reason;
	char by[FG_USER_NAME_MAX + 16], detail[FG_USER_NAME_MAX + 64];
	json_t *rep = NULL, *plan = NULL, *cuts = NULL, *cut, *reply = NULL;
	struct fg_audit a;
	int64_t revoked = 0;
	size_t codes, tokens, i;

	if (!peer->admin)
		return fg_denied();
	if (!fg_user_name_valid(user))
		return fg_bad_request("user is missing or not a valid user name");
	if (!fg_opt_text(req, "reason", FG_TEXT_MAX, &reason) ||
	    reason[0] == '\0')
		return fg_bad_request("a lock needs a reason: printable text, "
				      "at most 128 bytes");
	/* who locked, and with which key (the admin's step-up) */
	if ((reply = fg_admin_authorize(ag, peer, req, "lock", user, detail,
		 sizeof(detail))) != NULL)
		return reply;
	if (sscanf(detail, "by=%256s", by) != 1)
		snprintf(by, sizeof(by), "uid %u", (unsigned)peer->uid);
	a = (struct fg_audit){ .event = "lock", .user = user,
		.caller_uid = peer->uid, .caller_pid = peer->pid,
		.result = "ok", .reason = reason, .detail = detail };
	if (fg_store_lock_admin(ag->store, user, reason, by, &revoked, &a) !=
	    FG_OK)
		return fg_store_failed();
	fg_oidc_revoke_user(ag, user, &codes, &tokens);
	fg_notify(ag, "lock", user, reason);
	if ((plan = json_array()) == NULL || (cuts = json_array()) == NULL ||
	    (rep = json_pack("{s:s,s:s,s:I,s:I,s:I,s:O}", "user", user,
		 "reason", reason, "approvals_revoked", (json_int_t)revoked,
		 "codes_revoked", (json_int_t)codes, "tokens_revoked",
		 (json_int_t)tokens, "cuts", cuts)) == NULL) {
		reply = fg_reply_error(FG_E_INTERNAL, "locked; out of memory "
						      "before the logouts");
		goto out;
	}
	if (plan_cuts(ag, user, plan, cuts) != FG_OK) {
		reply = fg_reply_error(FG_E_STORE, "locked; the store failed "
						   "before the logouts");
		goto out;
	}
	/* those that failed already are audited now */
	json_array_foreach(cuts, i, cut)
		if (json_object_get(cut, "result") != NULL)
			cut_done(ag, peer, user, cut, NULL, FG_ERR_INTERNAL);
	if (json_array_size(plan) == 0) {
		reply = report(rep);
		goto out;
	}
	if (ag->deferred >= FG_DEFER_MAX ||
	    fg_job_start(plan, FG_LOCK_MS, &ag->defer.fd, &ag->defer.pid) !=
		FG_OK) {
		json_array_foreach(cuts, i, cut)
			if (json_object_get(cut, "result") == NULL)
				cut_done(ag, peer, user, cut, NULL,
				    FG_ERR_LIMIT);
		reply = report(rep);
		goto out;
	}
	/* the report so far rides with the request, which the loop keeps
	 * until the child is done */
	json_object_set((json_t *)(uintptr_t)req, "_report", rep);
	ag->defer.resume = lock_resume;
	ag->defer.job = true;
	ag->deferred++;
	reply = fg_reply_deferred();
out:
	json_decref(plan);
	json_decref(cuts);
	json_decref(rep);
	return reply;
}
