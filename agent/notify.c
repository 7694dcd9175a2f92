/*
 * Telling users what happened to their account: every enrolment,
 * revocation, lock, unlock and lockout goes to [notify]'s channels, a
 * Matrix server notice (the homeserver's admin API) and/or the notify
 * command (EVENT USER DETAIL as its arguments). Each notification runs in
 * a child process (outbound.c) that the loop waits on like a connection:
 * a slow homeserver or a hanging command holds nothing up. Whatever
 * happens to it, it is audited (event "notify"): sent, failed, killed
 * after the timeout, or not sent because too many were under way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent.h"

bool
fg_mxid(const struct fg_agent *ag, const char *user, char *out, size_t len)
{
	int n;

	if (ag->cfg.gate.server_name[0] == '\0')
		return false;
	n = snprintf(out, len, "@%s:%s", user, ag->cfg.gate.server_name);
	return n > 0 && (size_t)n < len;
}

/* What the user reads in the server notice. */
static char *
notice_text(const char *event, const char *detail)
{
	const char *what;
	char *text = NULL;

	if (strcmp(event, "enroll") == 0)
		what = "A security key was enrolled for your account";
	else if (strcmp(event, "revoke") == 0)
		what = "A security key of your account was revoked";
	else if (strcmp(event, "lock") == 0)
		what = "Your account was locked by an administrator, and its "
		       "sessions ended";
	else if (strcmp(event, "unlock") == 0)
		what = "Your account was unlocked by an administrator";
	else if (strcmp(event, "lockout") == 0)
		what = "Your account was locked after too many failed logins";
	else
		what = event;
	if (asprintf(&text, "fido2gate: %s%s%s%s. If this was not you or "
			    "your administrator, tell your administrator now.",
		what, detail[0] != '\0' ? " (" : "", detail,
		detail[0] != '\0' ? ")" : "") < 0)
		text = NULL;
	return text;
}

/* The agent itself, as the caller of what it audits on its own. */
static struct fg_peer
self_peer(void)
{
	return (struct fg_peer){ .uid = geteuid(), .pid = getpid() };
}

void
fg_notify(struct fg_agent *ag, const char *event, const char *user,
    const char *detail)
{
	const struct fg_config *cfg = &ag->cfg;
	struct fg_peer self = self_peer();
	struct fg_notify_job *j = NULL;
	char mxid[FG_USER_NAME_MAX + 300], *text = NULL;
	json_t *plan = NULL;
	size_t i;

	if (cfg->notify_command[0] == '\0' && !cfg->notify_matrix)
		return;
	if (detail == NULL)
		detail = "";
	for (i = 0; i < FG_NOTIFY_MAX && j == NULL; i++)
		if (!ag->notify[i].busy)
			j = &ag->notify[i];
	if (j == NULL) {
		fg_audit(ag, &self, "notify", user, NULL, "error",
		    "not sent: too many notifications under way", event);
		return;
	}
	memset(j, 0, sizeof(*j));
	if ((plan = json_array()) == NULL)
		goto fail;
	if (cfg->notify_command[0] != '\0') {
		json_array_append_new(plan,
		    json_pack("{s:s,s:[s,s,s,s]}", "do", "exec", "argv",
			cfg->notify_command, event, user, detail));
		snprintf(j->channels[j->n++], sizeof(j->channels[0]),
		    "command");
	}
	if (cfg->notify_matrix && fg_mxid(ag, user, mxid, sizeof(mxid)) &&
	    (text = notice_text(event, detail)) != NULL) {
		json_array_append_new(plan,
		    json_pack("{s:s,s:s,s:s,s:s,s:s}", "do", "notice", "base",
			cfg->gate.hs_admin_url, "token",
			cfg->gate.hs_admin_token, "mxid", mxid, "text", text));
		snprintf(j->channels[j->n++], sizeof(j->channels[0]),
		    "matrix");
	}
	if (json_array_size(plan) != j->n ||
	    fg_job_start(plan, cfg->notify_timeout * 1000, &j->fd, &j->pid) !=
		FG_OK)
		goto fail;
	j->busy = true;
	/* its own budget, and a second for the child to say so */
	j->deadline = fg_now_ms() + (int64_t)cfg->notify_timeout * 1000 + 1000;
	snprintf(j->event, sizeof(j->event), "%s", event);
	snprintf(j->user, sizeof(j->user), "%s", user);
	json_decref(plan);
	free(text);
	return;
fail:
	json_decref(plan);
	free(text);
	fg_audit(ag, &self, "notify", user, NULL, "error",
	    "not sent: cannot start the notification", event);
}

void
fg_notify_done(struct fg_agent *ag, struct fg_notify_job *j, bool timed_out)
{
	struct fg_peer self = self_peer();
	json_t *out = NULL, *r;
	char why[FG_TEXT_MAX + 64], detail[64];
	size_t i;
	int rc = fg_job_finish(j->fd, j->pid, timed_out, &out);

	j->busy = false;
	for (i = 0; i < j->n; i++) {
		r = json_array_get(out, i);
		snprintf(detail, sizeof(detail), "%s %s", j->event,
		    j->channels[i]);
		if (rc == FG_OK && json_is_true(json_object_get(r, "ok")))
			fg_audit(ag, &self, "notify", j->user, NULL, "ok", "sent",
			    detail);
		else {
			snprintf(why, sizeof(why), "failed: %s",
			    rc == FG_ERR_TIMEOUT ? "killed after the timeout" :
			    fg_json_str(r, "error") != NULL ?
						   fg_json_str(r, "error") :
						   "no result");
			fg_audit(ag, &self, "notify", j->user, NULL, "error", why,
			    detail);
		}
	}
	json_decref(out);
}
