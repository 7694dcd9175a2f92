/*
 * Admins who act with their own key (docs/admin-guide.md).
 *
 * Being root or in the admin group lets a caller ask; once an admin is
 * registered, a change is made only for a registered admin who has just
 * signed this agent's challenge for that very change with an enrolled key
 * of their own (the step-up): a help desk talked into "please enrol this
 * key" needs the admin's key and PIN, not a shell. Until the first admin
 * is registered the agent is in bootstrap mode, and status says so: root
 * alone may enrol one user's keys and register that user as the first
 * admin, nothing else ([admin] bootstrap = first-admin); or, on a single
 * machine where root is the only admin anyway, root and the admin group
 * act without a key (bootstrap = open). Every such act is audited as a
 * bootstrap.
 *
 * What an attacker would ask a help desk for (a key for a user who has lost
 * every key, an unlock, another admin) needs a second, different admin's
 * approval with their own key within approval_window: a request, then
 * `fido2gatectl approve ID`. The request and the action are one transaction.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent.h"

#define LABEL_MAX 64

/* Who acted, after fg_admin_authorize. */
struct actor {
	char name[FG_USER_NAME_MAX + 1];
	char cred[20];	/* the start of their credential's ID */
	bool bootstrap; /* no admin registered: the caller's uid acted */
	char detail[FG_USER_NAME_MAX + 64];
};

static const char *const actions[] = { "enroll", "revoke", "lock", "unlock",
	"approve", "rename", "disable", "enable", "admin.add", "admin.remove",
	"rotate-keys", "import", "invite" };

static bool
action_known(const char *a)
{
	size_t i;

	for (i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (strcmp(actions[i], a) == 0)
			return true;
	return false;
}

static json_t *
stepup_refused(const char *why)
{
	return fg_reply_error(FG_E_STEPUP, why);
}

static void
actor_detail(struct actor *who)
{
	if (who->bootstrap)
		snprintf(who->detail, sizeof(who->detail),
		    "by=%s bootstrap (no admin registered)", who->name);
	else
		snprintf(who->detail, sizeof(who->detail), "by=%s key=%s",
		    who->name, who->cred);
}

/*
 * Bootstrap mode, first-admin: root enrols the first admin's keys and
 * registers them, and that is all. One user only: were root free to enrol
 * anyone until some admin exists, a help desk with a root shell could go
 * on enrolling keys for callers and simply never register an admin. An
 * upgraded store whose users already hold keys: root registers one of
 * them with admin add. NULL when allowed; else the refusal (audited).
 */
static json_t *
bootstrap_refused(struct fg_agent *ag, const struct fg_peer *peer,
    const char *action, const char *target)
{
	int64_t users = 0, active, revoked;
	struct fg_user u;
	const char *why = NULL;
	int r;

	if (ag->cfg.bootstrap_open)
		return NULL;
	if (peer->uid != 0)
		why = "no admin is registered yet: only root may register the "
		      "first one";
	else if (strcmp(action, "admin.add") == 0)
		return NULL;
	else if (strcmp(action, "enroll") != 0)
		why = "no admin is registered yet: register the first one "
		      "(fido2gatectl admin add USER) before anything else";
	else {
		if (fg_store_counts(ag->store, &users, &active, &revoked) !=
			FG_OK ||
		    ((r = fg_store_user_find(ag->store, target, &u)) != FG_OK &&
			r != FG_ERR_NOTFOUND))
			return fg_store_failed();
		if (users > 1 || (users == 1 && r == FG_ERR_NOTFOUND))
			why = "no admin is registered yet: root enrols the keys "
			      "of one user only, the first admin; register them "
			      "(fido2gatectl admin add USER) before anything "
			      "else";
	}
	if (why == NULL)
		return NULL;
	fg_audit(ag, peer, "admin.bootstrap", target, NULL, "deny", why,
	    action);
	return stepup_refused(why);
}

/*
 * May peer do action on target? NULL and *who filled when it may; else
 * the refusal. The step-up's challenge was issued for exactly this action
 * and target, to this caller, and is taken here once, whatever the
 * outcome; its verification is a login's (fg_login_finish): an enrolled,
 * active key of the admin, the counter, the PIN when admin policy asks,
 * the admin's own lockout and backoff.
 */
static json_t *
authorize(struct fg_agent *ag, const struct fg_peer *peer, const json_t *req,
    const char *action, const char *target, struct actor *who)
{
	const json_t *stepup = json_object_get(req, "stepup");
	struct fg_chal *c = NULL;
	struct fg_login res;
	char bound[FG_USER_NAME_MAX + 32];
	const char *cid, *result;
	json_t *reply;
	int64_t admins;
	bool charged, is_admin;

	memset(who, 0, sizeof(*who));
	if (!peer->admin)
		return fg_denied();
	if (fg_store_admin_count(ag->store, NULL, &admins, &is_admin) != FG_OK)
		return fg_store_failed();
	if (admins == 0) {
		if ((reply = bootstrap_refused(ag, peer, action, target)) !=
		    NULL)
			return reply;
		who->bootstrap = true;
		snprintf(who->name, sizeof(who->name), "%s",
		    peer->name[0] != '\0' ? peer->name : "uid");
		actor_detail(who);
		return NULL;
	}
	if (!json_is_object(stepup))
		return stepup_refused("this needs a registered admin's own key: "
				      "fido2gatectl asks for it (--as NAME)");
	if ((reply = fg_take_session(ag, peer, stepup, FG_PURPOSE_ADMIN, &c,
		 &charged)) != NULL) {
		fg_audit(ag, peer, "admin.stepup", NULL, NULL, "deny",
		    fg_json_str(reply, "message"), action);
		return reply;
	}
	snprintf(bound, sizeof(bound), "%s %s", action, target);
	if (c->bound == NULL || strcmp(c->bound, bound) != 0) {
		fg_audit(ag, peer, "admin.stepup", c->user, NULL, "deny",
		    "the key was asked for another action", bound);
		fg_chal_free(&c);
		return stepup_refused("the admin's key was asked for another "
				      "action or user");
	}
	snprintf(who->name, sizeof(who->name), "%s", c->user);
	reply = fg_login_finish(ag, peer, "admin.stepup", c, stepup,
	    (const char *const *)ag->cfg.origins, 1, &res);
	result = fg_json_str(reply, "result");
	if (result == NULL || strcmp(result, FG_RESULT_ALLOW) != 0 ||
	    !res.allowed) {
		char why[300];
		snprintf(why, sizeof(why), "the admin's key was refused: %s",
		    fg_json_str(reply, "reason") != NULL ?
			fg_json_str(reply, "reason") :
			fg_json_str(reply, "message") != NULL ?
			fg_json_str(reply, "message") :
			"no reason");
		json_decref(reply);
		return stepup_refused(why);
	}
	json_decref(reply);
	/* removed between the challenge and now: no longer an admin */
	if (fg_store_admin_count(ag->store, who->name, &admins, &is_admin) !=
	    FG_OK)
		return fg_store_failed();
	if (!is_admin)
		return stepup_refused("not a registered admin");
	cid = fg_json_str(stepup, "credential_id");
	snprintf(who->cred, sizeof(who->cred), "%.16s", cid != NULL ? cid : "");
	actor_detail(who);
	return NULL;
}

/* The step-up's challenge for one action on one target. */
static json_t *
op_admin_begin(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	const char *admin = fg_json_str(req, "admin");
	const char *action = fg_json_str(req, "action"), *target;
	struct fg_chal *c = NULL;
	json_t *reply;
	int64_t admins;
	bool is_admin;

	if (!peer->admin)
		return fg_denied();
	if (action == NULL || !action_known(action) ||
	    !fg_opt_text(req, "target", FG_USER_NAME_MAX, &target))
		return fg_bad_request("admin.begin needs admin, a known action "
				      "and its target");
	if (fg_store_admin_count(ag->store, admin, &admins, &is_admin) != FG_OK)
		return fg_store_failed();
	if (admins == 0) {
		reply = fg_reply_ok();
		json_object_set_new(reply, "bootstrap", json_true());
		return reply;
	}
	if (!fg_user_name_valid(admin))
		return fg_bad_request("admin is missing or not a user name");
	/* an admin-group member acts as themself; root names the admin */
	if (peer->uid != 0 && strcmp(peer->name, admin) != 0) {
		fg_audit(ag, peer, "admin.begin", admin, NULL, "deny",
		    "a caller may only act as itself", action);
		return fg_reply_error(FG_E_DENIED,
		    "you may act only as yourself");
	}
	if (!is_admin) {
		fg_audit(ag, peer, "admin.begin", admin, NULL, "deny",
		    "not a registered admin", action);
		return fg_reply_error(FG_E_DENIED,
		    "not a registered admin (fido2gatectl admin list)");
	}
	reply = fg_login_begin(ag, peer, "admin.begin", admin, NULL,
	    FG_PURPOSE_ADMIN, ag->cfg.admin_uv == FG_UV_REQUIRED, &c);
	if (c == NULL)
		return reply;
	if (asprintf(&c->bound, "%s %s", action, target) < 0) {
		c->bound = NULL; /* the step-up then matches nothing */
		json_decref(reply);
		return fg_reply_error(FG_E_INTERNAL, "out of memory");
	}
	return reply;
}

/* Must a second admin approve? Not in bootstrap mode, and not while a
 * single admin is registered: two-person needs two persons. */
static int
needs_second(struct fg_agent *ag, const struct actor *who, bool *yes)
{
	int64_t admins;
	bool dummy;

	*yes = false;
	if (who->bootstrap || ag->cfg.recovery_admins < 2)
		return FG_OK;
	if (fg_store_admin_count(ag->store, NULL, &admins, &dummy) != FG_OK)
		return FG_ERR_STORE;
	*yes = admins >= 2;
	return FG_OK;
}

static void
request_fill(struct fg_agent *ag, struct fg_request *rq, const char *action,
    const char *user, const struct actor *who)
{
	uint8_t id[5];
	size_t i;

	memset(rq, 0, sizeof(*rq));
	if (fg_random(id, sizeof(id)) != FG_OK)
		memset(id, 0, sizeof(id)); /* the insert then collides */
	for (i = 0; i < sizeof(id); i++)
		snprintf(rq->id + 2 * i, 3, "%02x", id[i]);
	snprintf(rq->action, sizeof(rq->action), "%s", action);
	snprintf(rq->user, sizeof(rq->user), "%s", user);
	snprintf(rq->requested_by, sizeof(rq->requested_by), "%s", who->name);
	snprintf(rq->requested_cred, sizeof(rq->requested_cred), "%s",
	    who->cred);
	rq->created = (int64_t)time(NULL);
	rq->expires = rq->created + ag->cfg.recovery_window;
}

void
fg_reply_pending(json_t *reply, const struct fg_request *rq)
{
	json_object_set_new(reply, "pending", json_true());
	json_object_set_new(reply, "request", json_string(rq->id));
	json_object_set_new(reply, "expires", json_integer(rq->expires));
}

/*
 * Do action on user now (one admin suffices) or store the request a
 * second admin approves. event names the audit record, done its reason.
 */
static json_t *
act_or_request(struct fg_agent *ag, const struct fg_peer *peer,
    const struct actor *who, const char *action, const char *user,
    const char *event, const char *done)
{
	struct fg_request rq;
	struct fg_audit a = { .caller_uid = peer->uid,
		.caller_pid = peer->pid, .user = user, .detail = who->detail };
	json_t *reply;
	bool second;
	int r;

	if (needs_second(ag, who, &second) != FG_OK)
		return fg_store_failed();
	request_fill(ag, &rq, action, user, who);
	if (!second) {
		char why[64];
		snprintf(why, sizeof(why), "%s%s", done,
		    who->bootstrap ? " (bootstrap)" : "");
		a.event = event;
		a.result = "ok";
		a.reason = why;
		if ((r = fg_store_act(ag->store, &rq, who->name, &a)) != FG_OK)
			return fg_store_failed();
		reply = fg_reply_ok();
		json_object_set_new(reply, "user", json_string(user));
		json_object_set_new(reply, "pending", json_false());
		return reply;
	}
	a.event = "request";
	a.result = "ok";
	a.reason = action;
	if (fg_store_request_add(ag->store, &rq, &a) != FG_OK)
		return fg_store_failed();
	reply = fg_reply_ok();
	json_object_set_new(reply, "user", json_string(user));
	fg_reply_pending(reply, &rq);
	return reply;
}

json_t *
fg_op_user_unlock(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	const char *user = fg_json_str(req, "user");
	char reason[FG_TEXT_MAX + 1], by[FG_USER_NAME_MAX + 64];
	int64_t locked_at, failures;
	struct actor who;
	json_t *reply;

	if (!peer->admin)
		return fg_denied();
	if (!fg_user_name_valid(user))
		return fg_bad_request("user is missing or not a valid user name");
	if ((reply = authorize(ag, peer, req, "unlock", user, &who)) != NULL)
		return reply;
	if (fg_store_lock_get(ag->store, user, &locked_at, &failures) !=
		FG_OK ||
	    fg_store_lock_reason(ag->store, user, reason, sizeof(reason), by,
		sizeof(by)) != FG_OK)
		return fg_store_failed();
	if (locked_at == 0) {
		/* not locked: only the backoff and the failed attempts
		 * counted, one admin's call */
		fg_audit(ag, peer, "unlock", user, NULL, "ok",
		    "backoff cleared", who.detail);
		fg_failures_clear(ag, user);
		reply = fg_reply_ok();
		json_object_set_new(reply, "pending", json_false());
	} else {
		reply = act_or_request(ag, peer, &who, "unlock", user,
		    "unlock", reason[0] != '\0' ?
			"administrator's lock cleared" :
			"lockout cleared");
		if (json_is_false(json_object_get(reply, "pending"))) {
			fg_failures_clear(ag, user);
			fg_notify(ag, "unlock", user, reason);
		}
		if (reason[0] != '\0')
			json_object_set_new(reply, "reason", json_string(reason));
	}
	json_object_set_new(reply, "user", json_string(user));
	json_object_set_new(reply, "was_locked", json_boolean(locked_at != 0));
	json_object_set_new(reply, "failures", json_integer(failures));
	return reply;
}

/*
 * The credential of user that which names: its label, or the start of its
 * ID (4 characters at least), among the credentials in one of the states
 * (NULL: any but revoked). NULL and *hit set, or the refusal.
 */
static json_t *
find_cred(struct fg_agent *ag, const char *user, const char *which,
    const char *state, struct fg_cred **list, size_t *n, size_t *hit)
{
	struct fg_user u;
	size_t i, hits = 0;
	int r;

	*list = NULL;
	*n = 0;
	if (!fg_user_name_valid(user) || which == NULL || which[0] == '\0' ||
	    strlen(which) > 1400)
		return fg_bad_request("needs user and credential");
	if ((r = fg_store_user_find(ag->store, user, &u)) == FG_OK)
		r = fg_store_creds(ag->store, u.id, false, list, n);
	if (r == FG_ERR_NOTFOUND)
		return fg_reply_error(FG_E_NOT_FOUND, "no such user");
	if (r != FG_OK)
		return fg_store_failed();
	for (i = 0; i < *n; i++) {
		const struct fg_cred *c = &(*list)[i];
		char *s;
		bool match;

		if (state != NULL ? strcmp(c->state, state) != 0 :
				    strcmp(c->state, "revoked") == 0)
			continue;
		s = fg_b64url_encode(c->cred_id, c->cred_id_len);
		match = strcmp(c->label, which) == 0 ||
		    (s != NULL && strlen(which) >= 4 &&
			strncmp(s, which, strlen(which)) == 0);
		free(s);
		if (match) {
			hits++;
			*hit = i;
		}
	}
	if (hits == 1)
		return NULL;
	fg_cred_list_free(list, *n);
	*n = 0;
	return fg_reply_error(hits == 0 ? FG_E_NOT_FOUND : FG_E_AMBIGUOUS,
	    hits == 0 ? "no credential in that state with that label or ID "
			"prefix (at least 4 characters)" :
			"several credentials match; give more of the ID");
}

static json_t *
cred_changed(const struct fg_cred *c)
{
	json_t *reply = fg_reply_ok();

	fg_b64_put(reply, "credential_id", c->cred_id, c->cred_id_len);
	json_object_set_new(reply, "label", json_string(c->label));
	return reply;
}

json_t *
fg_op_cred_revoke(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	const char *user = fg_json_str(req, "user");
	const char *which = fg_json_str(req, "credential");
	struct fg_cred *list = NULL;
	size_t n = 0, hit = 0;
	struct actor who;
	json_t *reply;
	char *id = NULL;

	if (!peer->admin)
		return fg_denied();
	if (!fg_user_name_valid(user) || which == NULL || which[0] == '\0')
		return fg_bad_request("cred.revoke needs user and credential");
	if ((reply = authorize(ag, peer, req, "revoke", user, &who)) != NULL)
		return reply;
	if ((reply = find_cred(ag, user, which, NULL, &list, &n, &hit)) !=
	    NULL)
		return reply;
	id = fg_b64url_encode(list[hit].cred_id, list[hit].cred_id_len);
	{
		struct fg_audit a = { .event = "revoke", .user = user,
			.credential = id, .caller_uid = peer->uid,
			.caller_pid = peer->pid, .result = "ok",
			.reason = list[hit].label, .detail = who.detail };
		/* a pending or disabled key is revoked as an active one */
		if (fg_store_cred_set(ag->store, list[hit].id, list[hit].state,
			"revoked", NULL, &a) != FG_OK)
			reply = fg_store_failed();
	}
	if (reply == NULL) {
		reply = cred_changed(&list[hit]);
		fg_notify(ag, "revoke", user, list[hit].label);
	}
	free(id);
	fg_cred_list_free(&list, n);
	return reply;
}

/* rename, disable, enable */
static json_t *
op_cred_set(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	const char *user = fg_json_str(req, "user");
	const char *which = fg_json_str(req, "credential");
	const char *set = fg_json_str(req, "set"), *label = NULL;
	const char *from = NULL, *to = NULL;
	struct fg_cred *list = NULL;
	size_t n = 0, hit = 0;
	struct actor who;
	json_t *reply;
	char *id = NULL;

	if (!peer->admin)
		return fg_denied();
	if (set == NULL || !fg_user_name_valid(user))
		return fg_bad_request("cred.set needs user, credential and set");
	if (strcmp(set, "rename") == 0) {
		if (!fg_opt_text(req, "label", LABEL_MAX, &label) ||
		    label[0] == '\0')
			return fg_bad_request(
			    "label must be 1 to 64 printable bytes");
	} else if (strcmp(set, "disable") == 0) {
		from = "active";
		to = "disabled";
	} else if (strcmp(set, "enable") == 0) {
		from = "disabled";
		to = "active";
	} else
		return fg_bad_request("set must be rename, disable or enable");
	if ((reply = authorize(ag, peer, req, set, user, &who)) != NULL)
		return reply;
	if ((reply = find_cred(ag, user, which, from, &list, &n, &hit)) !=
	    NULL)
		return reply;
	id = fg_b64url_encode(list[hit].cred_id, list[hit].cred_id_len);
	{
		struct fg_audit a = { .event = set, .user = user,
			.credential = id, .caller_uid = peer->uid,
			.caller_pid = peer->pid, .result = "ok",
			.reason = label != NULL ? label : list[hit].label,
			.detail = who.detail };
		if (fg_store_cred_set(ag->store, list[hit].id, list[hit].state,
			to, label, &a) != FG_OK)
			reply = fg_store_failed();
	}
	if (reply == NULL) {
		reply = cred_changed(&list[hit]);
		if (label != NULL)
			json_object_set_new(reply, "label", json_string(label));
		json_object_set_new(reply, "state",
		    json_string(to != NULL ? to : list[hit].state));
	}
	free(id);
	fg_cred_list_free(&list, n);
	return reply;
}

/*
 * Has the user lost every key: keys held (other than the row except, a
 * pending one being decided) and none of them active? Such a user's new
 * key is the lost-key call's, whichever road it came by.
 */
static int
lost_every_key(struct fg_agent *ag, const char *user, int64_t except,
    bool *lost)
{
	struct fg_user u;
	struct fg_cred *list = NULL;
	size_t n = 0, i, held = 0, active = 0;
	int r;

	*lost = false;
	if ((r = fg_store_user_find(ag->store, user, &u)) == FG_OK)
		r = fg_store_creds(ag->store, u.id, false, &list, &n);
	if (r == FG_ERR_NOTFOUND)
		return FG_OK;
	if (r != FG_OK)
		return r;
	for (i = 0; i < n; i++) {
		if (list[i].id == except)
			continue;
		held++;
		active += strcmp(list[i].state, "active") == 0;
	}
	fg_cred_list_free(&list, n);
	*lost = held > 0 && active == 0;
	return FG_OK;
}

/*
 * Authorises an enrolment's begin: NULL, with the actor and whether it is
 * a recovery (the user had keys and has no active one left: the lost-key
 * call; or the user is an admin) in the challenge once it exists.
 */
json_t *
fg_enroll_authorize(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req, const char *user, char **actor, bool *recovery,
    bool *bootstrap)
{
	struct actor who;
	json_t *reply;
	int64_t admins;
	bool second, is_admin, lost;

	*actor = NULL;
	*recovery = *bootstrap = false;
	if ((reply = authorize(ag, peer, req, "enroll", user, &who)) != NULL)
		return reply;
	*bootstrap = who.bootstrap;
	if (fg_store_admin_count(ag->store, user, &admins, &is_admin) != FG_OK ||
	    lost_every_key(ag, user, 0, &lost) != FG_OK ||
	    needs_second(ag, &who, &second) != FG_OK)
		return fg_store_failed();
	/* a key for an admin is a key to approve with: planted on another
	 * admin's account, it would let one admin approve their own
	 * requests; so it waits for a second admin, like a recovery */
	*recovery = second && (lost || is_admin);
	if ((*actor = strdup(who.detail)) == NULL)
		return fg_reply_error(FG_E_INTERNAL, "out of memory");
	return NULL;
}

/*
 * A check made at enroll.begin can be raced: two enrolments begun before
 * either finished would both pass the one-user rule, and an admin
 * registered meanwhile would find a key stored that no admin's key
 * authorised. So it is made again in the request that stores the key, for
 * a clear refusal; and, as agents sharing one database answer at once,
 * the store's insert holds to it in its transaction
 * (fg_store_cred_add_first), which sends the refusal here too.
 */
json_t *
fg_enroll_bootstrap_recheck(struct fg_agent *ag, const struct fg_peer *peer,
    const char *user)
{
	int64_t admins;
	bool dummy;

	if (fg_store_admin_count(ag->store, NULL, &admins, &dummy) != FG_OK)
		return fg_store_failed();
	if (admins == 0)
		return bootstrap_refused(ag, peer, "enroll", user);
	fg_audit(ag, peer, "admin.bootstrap", user, NULL, "deny",
	    "an admin was registered while this enrolment waited", "enroll");
	return stepup_refused("an admin was registered while this enrolment "
			      "waited: enrol again with an admin's key");
}

/* A recovery's request, stored with its pending credential. */
void
fg_recovery_request(struct fg_agent *ag, const char *user, const char *actor,
    struct fg_request *rq)
{
	struct actor who = { 0 };
	const char *key;

	/* actor is "by=NAME key=PREFIX" (authorize's detail) */
	sscanf(actor, "by=%256s", who.name);
	if ((key = strstr(actor, " key=")) != NULL)
		snprintf(who.cred, sizeof(who.cred), "%s", key + 5);
	request_fill(ag, rq, "recover", user, &who);
}

/*
 * invite.create's authorisation: a registered admin's step-up. Not in
 * bootstrap mode: the invited key waits for an admin's confirmation, and
 * there is no admin to give it. by gets the admin's name, detail the
 * audit's words.
 */
json_t *
fg_invite_authorize(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req, const char *user, char *by, size_t bylen,
    char *detail, size_t len)
{
	struct actor who;
	json_t *reply;

	if ((reply = authorize(ag, peer, req, "invite", user, &who)) != NULL)
		return reply;
	if (who.bootstrap)
		return fg_reply_error(FG_E_DENIED,
		    "no admin is registered, and an invited key waits for "
		    "an admin's confirmation: register an admin first "
		    "(fido2gatectl admin add)");
	snprintf(by, bylen, "%s", who.name);
	snprintf(detail, len, "%s", who.detail);
	return NULL;
}

/*
 * The request an admin confirms an invited key with. While two admins
 * must agree ([admin] approvals = 2, two or more registered) it is the
 * inviting admin's, so another admin confirms; else it is the invited
 * user's, so any admin but that user (an invited admin) confirms, the
 * inviting one included. It waits as long as a link lives.
 */
void
fg_invite_request(struct fg_agent *ag, const char *user, const char *by,
    struct fg_request *rq)
{
	struct actor who = { 0 };
	bool second = false;

	if (needs_second(ag, &who, &second) != FG_OK)
		second = true; /* the stricter, when the store cannot say */
	snprintf(who.name, sizeof(who.name), "%s", second ? by : user);
	snprintf(who.cred, sizeof(who.cred), "%s", "invitation");
	request_fill(ag, rq, "invite", user, &who);
	rq->expires = rq->created + ag->cfg.invite_ttl;
}

static json_t *
op_request_approve(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	const char *id = fg_json_str(req, "request");
	struct fg_request rq;
	struct actor who;
	json_t *reply;
	int64_t now = (int64_t)time(NULL), not_before = 0;
	char detail[FG_USER_NAME_MAX * 3 + 160];
	int r;

	if (!peer->admin)
		return fg_denied();
	if (id == NULL || id[0] == '\0' || strlen(id) >= sizeof(rq.id))
		return fg_bad_request("request.approve needs request");
	if ((reply = authorize(ag, peer, req, "approve", id, &who)) != NULL)
		return reply;
	if (who.bootstrap)
		return fg_reply_error(FG_E_DENIED,
		    "no admin is registered: there is nothing to approve");
	if ((r = fg_store_request_get(ag->store, id, &rq)) == FG_ERR_NOTFOUND)
		return fg_reply_error(FG_E_NOT_FOUND, "no such request");
	if (r != FG_OK)
		return fg_store_failed();
	snprintf(detail, sizeof(detail),
	    "request=%s action=%s requested_by=%s %s", rq.id, rq.action,
	    rq.requested_by, who.detail);
	if (strcmp(rq.requested_by, who.name) == 0) {
		fg_audit(ag, peer, "approve", rq.user, NULL, "deny",
		    "the admin who asked cannot approve", detail);
		return fg_reply_error(FG_E_DENIED,
		    "a second, different admin must approve this request");
	}
	if (rq.approved_by[0] != '\0' || rq.expires <= now) {
		fg_audit(ag, peer, "approve", rq.user, NULL, "deny",
		    rq.approved_by[0] != '\0' ? "already approved" : "expired",
		    detail);
		return fg_reply_error(FG_E_REFUSED,
		    rq.approved_by[0] != '\0' ? "the request was already "
						"approved" :
						"the request expired: ask "
						"again");
	}
	if (strcmp(rq.action, "unlock") == 0) {
		/* the second admin approved the lock the first one saw: a
		 * lock made since (an incident's) is not theirs to lift */
		int64_t locked_at, failures;
		if (fg_store_lock_get(ag->store, rq.user, &locked_at,
			&failures) != FG_OK)
			return fg_store_failed();
		if (locked_at > rq.created) {
			fg_audit(ag, peer, "approve", rq.user, NULL, "deny",
			    "locked again after the request", detail);
			return fg_reply_error(FG_E_REFUSED,
			    "the user was locked again after this request "
			    "was made: see fido2gatectl show, and ask for a "
			    "new unlock");
		}
	}
	if (ag->cfg.recovery_delay > 0 && strcmp(rq.action, "recover") == 0)
		not_before = now + ag->cfg.recovery_delay;
	if (ag->cfg.recovery_delay > 0 && strcmp(rq.action, "invite") == 0) {
		/* a key registered through a link by a user who lost every
		 * key is a recovery too: the same cooling-off, in which the
		 * user, told, may object */
		bool lost;
		if (lost_every_key(ag, rq.user, rq.credential, &lost) != FG_OK)
			return fg_store_failed();
		if (lost)
			not_before = now + ag->cfg.recovery_delay;
	}
	{
		struct fg_audit a = { .event = "approve", .user = rq.user,
			.caller_uid = peer->uid, .caller_pid = peer->pid,
			.result = "ok", .reason = rq.action,
			.detail = detail };
		r = fg_store_request_approve(ag->store, &rq, who.name,
		    who.cred, not_before, &a);
	}
	if (r == FG_ERR_NOTFOUND)
		return fg_reply_error(FG_E_REFUSED,
		    "the request was approved by someone else, expired, or "
		    "its key is no longer pending");
	if (r != FG_OK)
		return fg_store_failed();
	if (strcmp(rq.action, "unlock") == 0)
		fg_failures_clear(ag, rq.user);
	/* the user hears of a recovery and an unlock: they may object */
	if (strcmp(rq.action, "recover") == 0 ||
	    strcmp(rq.action, "unlock") == 0)
		fg_notify(ag, strcmp(rq.action, "recover") == 0 ? "recovery" :
								  "unlock",
		    rq.user, detail);
	reply = fg_reply_ok();
	json_object_set_new(reply, "request", json_string(rq.id));
	json_object_set_new(reply, "action", json_string(rq.action));
	json_object_set_new(reply, "user", json_string(rq.user));
	json_object_set_new(reply, "requested_by",
	    json_string(rq.requested_by));
	if (not_before != 0)
		json_object_set_new(reply, "not_before",
		    json_integer(not_before));
	return reply;
}

static json_t *
op_admin_add(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	const char *user = fg_json_str(req, "user");
	struct fg_user u;
	struct fg_cred *list = NULL;
	struct actor who;
	json_t *reply;
	size_t n = 0;
	int r;

	if (!peer->admin)
		return fg_denied();
	if (!fg_user_name_valid(user))
		return fg_bad_request("user is missing or not a valid user name");
	if ((reply = authorize(ag, peer, req, "admin.add", user, &who)) != NULL)
		return reply;
	/* an admin without a key could never act: refuse to make one */
	if ((r = fg_store_user_find(ag->store, user, &u)) == FG_OK)
		r = fg_store_creds(ag->store, u.id, true, &list, &n);
	fg_cred_list_free(&list, n);
	if (r != FG_OK && r != FG_ERR_NOTFOUND)
		return fg_store_failed();
	if (n == 0)
		return fg_reply_error(FG_E_REFUSED,
		    "the user has no active key: enrol one first");
	return act_or_request(ag, peer, &who, "admin.add", user, "admin.add",
	    "admin registered");
}

static json_t *
op_admin_remove(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	const char *user = fg_json_str(req, "user");
	struct actor who;
	json_t *reply;
	int64_t admins;
	bool is_admin;

	if (!peer->admin)
		return fg_denied();
	if (!fg_user_name_valid(user))
		return fg_bad_request("user is missing or not a valid user name");
	if ((reply = authorize(ag, peer, req, "admin.remove", user, &who)) !=
	    NULL)
		return reply;
	if (fg_store_admin_count(ag->store, user, &admins, &is_admin) != FG_OK)
		return fg_store_failed();
	if (!is_admin)
		return fg_reply_error(FG_E_NOT_FOUND, "not a registered admin");
	/* the last admin would leave root alone in charge again */
	if (admins == 1)
		return fg_reply_error(FG_E_REFUSED,
		    "the last admin cannot be removed: add another first");
	return act_or_request(ag, peer, &who, "admin.remove", user,
	    "admin.remove", "admin removed");
}

static json_t *
op_admin_list(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	json_t *admins = NULL, *requests = NULL, *reply;

	(void)req;
	if (!peer->admin)
		return fg_denied();
	if (fg_store_admins(ag->store, &admins) != FG_OK ||
	    fg_store_requests(ag->store, &requests) != FG_OK) {
		json_decref(admins);
		return fg_store_failed();
	}
	reply = fg_reply_ok();
	json_object_set_new(reply, "bootstrap",
	    json_boolean(json_array_size(admins) == 0));
	json_object_set_new(reply, "bootstrap_mode",
	    json_string(ag->cfg.bootstrap_open ? "open" : "first-admin"));
	json_object_set_new(reply, "admins", admins);
	json_object_set_new(reply, "requests", requests);
	json_object_set_new(reply, "approvals",
	    json_integer((json_int_t)ag->cfg.recovery_admins));
	return reply;
}

/* One user: their keys in every state, lockout, admin, requests. */
static json_t *
op_user_show(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req)
{
	const char *user = fg_json_str(req, "user");
	struct fg_user u;
	struct fg_cred *list = NULL;
	json_t *reply, *keys, *requests = NULL, *mine;
	int64_t locked_at = 0, failures = 0, admins;
	size_t n = 0, i, active = 0;
	bool is_admin;
	int r;

	if (!fg_user_name_valid(user))
		return fg_bad_request("user is missing or not a valid user name");
	if (!peer->admin && strcmp(user, peer->name) != 0)
		return fg_denied();
	if ((r = fg_store_user_find(ag->store, user, &u)) == FG_OK)
		r = fg_store_creds(ag->store, u.id, false, &list, &n);
	if ((r != FG_OK && r != FG_ERR_NOTFOUND) ||
	    fg_store_lock_get(ag->store, user, &locked_at, &failures) !=
		FG_OK ||
	    fg_store_admin_count(ag->store, user, &admins, &is_admin) !=
		FG_OK ||
	    fg_store_requests(ag->store, &requests) != FG_OK) {
		fg_cred_list_free(&list, n);
		return fg_store_failed();
	}
	keys = json_array();
	for (i = 0; i < n; i++) {
		json_array_append_new(keys, fg_cred_json(&list[i]));
		active += strcmp(list[i].state, "active") == 0;
	}
	mine = json_array();
	for (i = 0; i < json_array_size(requests); i++) {
		json_t *rq = json_array_get(requests, i);
		if (strcmp(fg_json_str(rq, "user"), user) == 0)
			json_array_append(mine, rq);
	}
	json_decref(requests);
	fg_cred_list_free(&list, n);
	reply = fg_reply_ok();
	json_object_set_new(reply, "user", json_string(user));
	json_object_set_new(reply, "known", json_boolean(r == FG_OK));
	json_object_set_new(reply, "admin", json_boolean(is_admin));
	json_object_set_new(reply, "locked", json_boolean(locked_at != 0));
	json_object_set_new(reply, "failures", json_integer(failures));
	json_object_set_new(reply, "active_keys", json_integer((json_int_t)active));
	json_object_set_new(reply, "min_keys",
	    json_integer((json_int_t)ag->cfg.min_keys));
	json_object_set_new(reply, "credentials", keys);
	json_object_set_new(reply, "requests", mine);
	return reply;
}

/* oidc.rotate's authorisation, from oidc.c. */
json_t *
fg_admin_authorize(struct fg_agent *ag, const struct fg_peer *peer,
    const json_t *req, const char *action, const char *target,
    char *detail, size_t len)
{
	struct actor who;
	json_t *reply = authorize(ag, peer, req, action, target, &who);

	if (reply == NULL)
		snprintf(detail, len, "%s", who.detail);
	return reply;
}

const struct fg_op fg_admin_ops[] = {
	{ FG_OP_ADMIN_BEGIN, op_admin_begin },
	{ FG_OP_ADMIN_LIST, op_admin_list },
	{ FG_OP_ADMIN_ADD, op_admin_add },
	{ FG_OP_ADMIN_REMOVE, op_admin_remove },
	{ FG_OP_REQUEST_APPROVE, op_request_approve },
	{ FG_OP_CRED_SET, op_cred_set },
	{ FG_OP_USER_SHOW, op_user_show },
	{ NULL, NULL },
};
