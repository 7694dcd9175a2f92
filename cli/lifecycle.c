/*
 * A user's keys over their life, and the admins: show, rename, disable,
 * enable, approve, admin add|remove|list. Every change goes with the
 * acting admin's step-up (stepup.c); the agent decides.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

void
ctl_min_keys(const json_t *reply, const char *user)
{
	const json_t *n = json_object_get(reply, "active_keys");
	const json_t *min = json_object_get(reply, "min_keys");

	if (user == NULL || !json_is_integer(n) || !json_is_integer(min) ||
	    json_integer_value(n) >= json_integer_value(min))
		return;
	fprintf(stderr,
	    _("fido2gatectl: warning: %s has %lld active key(s), fewer than "
	      "min_keys (%lld): enrol a spare, or a lost key locks them "
	      "out\n"),
	    user, (long long)json_integer_value(n),
	    (long long)json_integer_value(min));
}

static int
usage(const char *text)
{
	fputs(text, stderr);
	return CTL_EXIT_USAGE;
}

/* Prints reply as JSON, or line for a person; consumes reply. */
static int
done(struct ctl *c, json_t *reply, const char *line)
{
	if (c->json)
		ctl_print_json(reply);
	else
		fputs(line, stdout);
	json_decref(reply);
	return CTL_EXIT_OK;
}

int
ctl_show(struct ctl *c, int argc, char **argv)
{
	json_t *reply, *cr, *rq;
	size_t i;
	int rc;

	if (argc != 2 || argv[1][0] == '-')
		return usage(_("usage: fido2gatectl show USER\n"));
	if ((rc = ctl_call(c,
		 json_pack("{s:s,s:s}", "op", FG_OP_USER_SHOW, "user", argv[1]),
		 &reply)) != CTL_EXIT_OK)
		return rc;
	json_object_del(reply, "v");
	json_object_del(reply, "ok");
	if (c->json) {
		ctl_print_json(reply);
		json_decref(reply);
		return CTL_EXIT_OK;
	}
	printf(_("%s: %lld active key(s) (min_keys %lld)%s%s\n"), argv[1],
	    (long long)json_integer_value(json_object_get(reply, "active_keys")),
	    (long long)json_integer_value(json_object_get(reply, "min_keys")),
	    json_is_true(json_object_get(reply, "admin")) ? _(", admin") : "",
	    json_is_true(json_object_get(reply, "locked")) ? _(", LOCKED") :
							       "");
	json_array_foreach(json_object_get(reply, "credentials"), i, cr)
	{
		char id[16], lab[260], b1[32], b2[32];
		const char *state = fg_json_str(cr, "state");

		if (json_is_true(json_object_get(cr, "suspicious")))
			state = "SUSPECT";
		printf("  %-9s %-12.12s %-6s %s \"%s\" (%s %s, %s %s)\n", state,
		    ctl_field(cr, "credential_id", id, sizeof(id)),
		    fg_json_str(cr, "alg"), fg_json_str(cr, "fmt"),
		    ctl_field(cr, "label", lab, sizeof(lab)), _("enrolled"),
		    ctl_when(json_integer_value(json_object_get(cr, "created")),
			b1, sizeof(b1)),
		    _("last used"),
		    ctl_when(json_integer_value(
				 json_object_get(cr, "last_used")),
			b2, sizeof(b2)));
		if (json_is_integer(json_object_get(cr, "not_before")))
			printf(_("            usable from %s (cooling-off)\n"),
			    ctl_when(json_integer_value(
					 json_object_get(cr, "not_before")),
				b1, sizeof(b1)));
	}
	json_array_foreach(json_object_get(reply, "requests"), i, rq)
	{
		char b[32];
		printf(_("  request %s: %s asked by %s, waits for a second "
			 "admin until %s\n"),
		    fg_json_str(rq, "id"), fg_json_str(rq, "action"),
		    fg_json_str(rq, "requested_by"),
		    ctl_when(json_integer_value(json_object_get(rq, "expires")),
			b, sizeof(b)));
	}
	ctl_min_keys(reply, argv[1]);
	json_decref(reply);
	return CTL_EXIT_OK;
}

/* rename, disable and enable: one credential of one user. */
static int
cred_set(struct ctl *c, const char *set, const char *user, const char *which,
    const char *label)
{
	json_t *req, *reply;
	char line[512], lab[260];
	int rc;

	req = json_pack("{s:s,s:s,s:s,s:s}", "op", FG_OP_CRED_SET, "user", user,
	    "credential", which, "set", set);
	if (label != NULL)
		json_object_set_new(req, "label", json_string(label));
	if ((rc = ctl_call_stepped(c, set, user, req, &reply)) != CTL_EXIT_OK)
		return rc;
	snprintf(line, sizeof(line), "%s %s \"%s\" (%s): %s\n", user,
	    fg_json_str(reply, "credential_id"),
	    ctl_field(reply, "label", lab, sizeof(lab)), set,
	    fg_json_str(reply, "state") != NULL ? fg_json_str(reply, "state") :
						  "ok");
	return done(c, reply, line);
}

int
ctl_rename(struct ctl *c, int argc, char **argv)
{
	if (argc != 4)
		return usage(_("usage: fido2gatectl rename USER CREDENTIAL "
			       "NEW-LABEL\n"));
	return cred_set(c, "rename", argv[1], argv[2], argv[3]);
}

int
ctl_disable(struct ctl *c, int argc, char **argv)
{
	if (argc != 3)
		return usage(_("usage: fido2gatectl disable USER CREDENTIAL\n"));
	return cred_set(c, "disable", argv[1], argv[2], NULL);
}

int
ctl_enable(struct ctl *c, int argc, char **argv)
{
	if (argc != 3)
		return usage(_("usage: fido2gatectl enable USER CREDENTIAL\n"));
	return cred_set(c, "enable", argv[1], argv[2], NULL);
}

int
ctl_approve(struct ctl *c, int argc, char **argv)
{
	json_t *req, *reply;
	char line[600];
	int rc;

	if (argc != 2 || argv[1][0] == '-')
		return usage(_("usage: fido2gatectl approve REQUEST\n"));
	req = json_pack("{s:s,s:s}", "op", FG_OP_REQUEST_APPROVE, "request",
	    argv[1]);
	if ((rc = ctl_call_stepped(c, "approve", argv[1], req, &reply)) !=
	    CTL_EXIT_OK)
		return rc;
	snprintf(line, sizeof(line), _("approved %s: %s of %s, asked by %s\n"),
	    argv[1], fg_json_str(reply, "action"), fg_json_str(reply, "user"),
	    fg_json_str(reply, "requested_by"));
	return done(c, reply, line);
}

/*
 * A one-time link for USER's remote enrolment: the user opens it, passes
 * the first factor, and registers a key in the browser, which then waits
 * for an admin's `approve`. The link is shown once and never kept.
 */
int
ctl_invite(struct ctl *c, int argc, char **argv)
{
	json_t *reply;
	char when[32], line[1400];
	int rc;

	if (argc != 2 || argv[1][0] == '-')
		return usage(_("usage: fido2gatectl invite USER\n"));
	if ((rc = ctl_call_stepped(c, "invite", argv[1],
		 json_pack("{s:s,s:s}", "op", FG_OP_INVITE_CREATE, "user",
		     argv[1]),
		 &reply)) != CTL_EXIT_OK)
		return rc;
	if (fg_json_str(reply, "link") == NULL) {
		json_decref(reply);
		fputs(_("fido2gatectl: the agent's reply has no link\n"),
		    stderr);
		return CTL_EXIT_FAIL;
	}
	snprintf(line, sizeof(line),
	    _("%s\n"
	      "Give this link to %s only, over a channel you trust. It works "
	      "once, until %s;\nthe key it enrols waits for an admin's "
	      "fido2gatectl approve.\n"),
	    fg_json_str(reply, "link"), argv[1],
	    ctl_when(json_integer_value(json_object_get(reply, "expires")),
		when, sizeof(when)));
	rc = done(c, reply, line);
	explicit_bzero(line, sizeof(line));
	return rc;
}

static int
admin_list(struct ctl *c)
{
	json_t *reply, *a, *rq;
	size_t i;
	int rc;

	if ((rc = ctl_call(c, json_pack("{s:s}", "op", FG_OP_ADMIN_LIST),
		 &reply)) != CTL_EXIT_OK)
		return rc;
	json_object_del(reply, "v");
	json_object_del(reply, "ok");
	if (c->json) {
		ctl_print_json(reply);
		json_decref(reply);
		return CTL_EXIT_OK;
	}
	if (json_is_true(json_object_get(reply, "bootstrap")) &&
	    fg_json_str(reply, "bootstrap_mode") != NULL &&
	    strcmp(fg_json_str(reply, "bootstrap_mode"), "open") == 0)
		fputs(_("no admin is registered: bootstrap mode (root and the "
			"admin group act without a key)\n"),
		    stdout);
	else if (json_is_true(json_object_get(reply, "bootstrap")))
		fputs(_("no admin is registered: bootstrap mode (root may only "
			"enrol the first admin's keys and register them with "
			"fido2gatectl admin add USER)\n"),
		    stdout);
	json_array_foreach(json_object_get(reply, "admins"), i, a)
	{
		char b[32];
		printf(_("admin %s (added by %s, %s)\n"), fg_json_str(a, "name"),
		    fg_json_str(a, "added_by"),
		    ctl_when(json_integer_value(json_object_get(a, "created")),
			b, sizeof(b)));
	}
	json_array_foreach(json_object_get(reply, "requests"), i, rq)
	{
		char b[32];
		printf(_("request %s: %s of %s asked by %s, waits until %s\n"),
		    fg_json_str(rq, "id"), fg_json_str(rq, "action"),
		    fg_json_str(rq, "user"), fg_json_str(rq, "requested_by"),
		    ctl_when(json_integer_value(json_object_get(rq, "expires")),
			b, sizeof(b)));
	}
	json_decref(reply);
	return CTL_EXIT_OK;
}

int
ctl_admin(struct ctl *c, int argc, char **argv)
{
	const char *sub = argc >= 2 ? argv[1] : "";
	const char *op;
	json_t *req, *reply;
	char line[600];
	int rc;

	if (strcmp(sub, "list") == 0 && argc == 2)
		return admin_list(c);
	if ((strcmp(sub, "add") != 0 && strcmp(sub, "remove") != 0) ||
	    argc != 3 || argv[2][0] == '-')
		return usage(_("usage: fido2gatectl admin add|remove USER\n"
			       "       fido2gatectl admin list\n"));
	op = strcmp(sub, "add") == 0 ? FG_OP_ADMIN_ADD : FG_OP_ADMIN_REMOVE;
	req = json_pack("{s:s,s:s}", "op", op, "user", argv[2]);
	if ((rc = ctl_call_stepped(c, op, argv[2], req, &reply)) != CTL_EXIT_OK)
		return rc;
	if (json_is_true(json_object_get(reply, "pending")))
		snprintf(line, sizeof(line),
		    _("%s %s waits for a second admin:\n"
		      "  fido2gatectl approve %s\n"),
		    op, argv[2], fg_json_str(reply, "request"));
	else
		snprintf(line, sizeof(line), "%s %s: %s\n", op, argv[2],
		    _("done"));
	return done(c, reply, line);
}
