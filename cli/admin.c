/*
 * The CLI commands that only talk to the agent: list, revoke, unlock,
 * status and audit. Each sends one request and prints the reply for a person, or as
 * JSON with --json.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"

#define CALL_TIMEOUT_MS 10000

/* Send req (consumed), return the reply in *out or an exit status. */
int
ctl_call(const struct ctl *c, json_t *req, json_t **out)
{
	int fd = -1, r, rc;
	json_t *reply = NULL;

	*out = NULL;
	json_object_set_new(req, "v", json_integer(FG_PROTO_VERSION));
	if ((r = fg_connect(c->socket, &fd)) != FG_OK) {
		fprintf(stderr, "fido2gatectl: cannot reach the agent at %s\n",
		    c->socket);
		json_decref(req);
		return CTL_EXIT_UNAVAIL;
	}
	r = fg_call(fd, req, CALL_TIMEOUT_MS, &reply);
	json_decref(req);
	close(fd);
	if (r != FG_OK) {
		fprintf(stderr, "fido2gatectl: the agent did not answer: %s\n",
		    fg_strerror(r));
		return CTL_EXIT_UNAVAIL;
	}
	if (!json_is_true(json_object_get(reply, "ok"))) {
		const char *code = fg_json_str(reply, "error");
		fprintf(stderr, "fido2gatectl: %s\n",
		    fg_json_str(reply, "message") ?
			fg_json_str(reply, "message") :
			"the agent refused");
		rc = code != NULL && strcmp(code, "denied") == 0 ?
		    CTL_EXIT_DENIED :
		    code != NULL && (strcmp(code, "bad_request") == 0) ?
		    CTL_EXIT_USAGE :
		    CTL_EXIT_FAIL;
		json_decref(reply);
		return rc;
	}
	*out = reply;
	return CTL_EXIT_OK;
}

static void
print_json(const json_t *v)
{
	json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	putchar('\n');
}

static const char *
when(json_int_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL)
		return "never";
	strftime(buf, len, "%Y-%m-%d %H:%M:%SZ", &tm);
	return buf;
}

int
ctl_list(struct ctl *c, int argc, char **argv)
{
	json_t *req, *reply, *creds, *cr, *after = NULL;
	size_t i;
	int rc;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: fido2gatectl list [USER]\n");
		return CTL_EXIT_USAGE;
	}
	/* the agent answers a page at a time */
	if ((creds = json_array()) == NULL)
		return CTL_EXIT_FAIL;
	for (;;) {
		json_t *next;
		req = json_pack("{s:s}", "op", "cred.list");
		if (argc == 2)
			json_object_set_new(req, "user", json_string(argv[1]));
		if (after != NULL)
			json_object_set(req, "after", after);
		json_decref(after);
		after = NULL;
		if ((rc = ctl_call(c, req, &reply)) != CTL_EXIT_OK) {
			json_decref(creds);
			return rc;
		}
		json_array_extend(creds, json_object_get(reply, "credentials"));
		next = json_object_get(reply, "next");
		if (json_is_integer(next))
			after = json_incref(next);
		json_decref(reply);
		if (after == NULL)
			break;
	}
	if (c->json)
		print_json(creds);
	else if (json_array_size(creds) == 0)
		printf("no credentials\n");
	else {
		printf("%-16s %-12s %-7s %-8s %-10s %-20s %s\n", "USER",
		    "CREDENTIAL", "ALG", "STATE", "COUNTER", "LAST USED",
		    "LABEL");
		json_array_foreach(creds, i, cr)
		{
			char buf[32];
			const char *state = fg_json_str(cr, "state");
			if (json_is_true(json_object_get(cr, "suspicious")))
				state = "SUSPECT";
			printf("%-16s %-12.12s %-7s %-8s %-10lld %-20s %s\n",
			    fg_json_str(cr, "user"),
			    fg_json_str(cr, "credential_id"),
			    fg_json_str(cr, "alg"), state,
			    (long long)json_integer_value(
				json_object_get(cr, "sign_count")),
			    when(json_integer_value(
				     json_object_get(cr, "last_used")),
				buf, sizeof(buf)),
			    fg_json_str(cr, "label"));
		}
	}
	json_decref(creds);
	return CTL_EXIT_OK;
}

int
ctl_revoke(struct ctl *c, int argc, char **argv)
{
	json_t *req, *reply;
	int rc;

	if (argc != 3) {
		fprintf(stderr, "usage: fido2gatectl revoke USER CREDENTIAL\n"
				"  CREDENTIAL: a label, or at least 4 characters"
				" of the credential ID\n");
		return CTL_EXIT_USAGE;
	}
	req = json_pack("{s:s,s:s,s:s}", "op", "cred.revoke", "user", argv[1],
	    "credential", argv[2]);
	if ((rc = ctl_call(c, req, &reply)) != CTL_EXIT_OK)
		return rc;
	if (c->json)
		print_json(reply);
	else
		printf("revoked %s (%s) for %s\n",
		    fg_json_str(reply, "credential_id"),
		    fg_json_str(reply, "label"), argv[1]);
	json_decref(reply);
	return CTL_EXIT_OK;
}

int
ctl_status(struct ctl *c, int argc, char **argv)
{
	json_t *reply, *v;
	const char *k;
	int rc;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: fido2gatectl status\n");
		return CTL_EXIT_USAGE;
	}
	if ((rc = ctl_call(c, json_pack("{s:s,s:b}", "op", "status", "counts", 1),
		 &reply)) !=
	    CTL_EXIT_OK)
		return rc;
	json_object_del(reply, "v");
	json_object_del(reply, "ok");
	if (c->json)
		print_json(reply);
	else
		json_object_foreach(reply, k, v)
		{
			if (json_is_string(v))
				printf("%-22s %s\n", k, json_string_value(v));
			else if (json_is_integer(v))
				printf("%-22s %lld\n", k,
				    (long long)json_integer_value(v));
		}
	json_decref(reply);
	return CTL_EXIT_OK;
}

int
ctl_audit(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "limit", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	json_t *req, *reply, *rows, *row;
	long limit = 50;
	char *end, buf[32];
	size_t i;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		if (ch != 'n' || (limit = strtol(optarg, &end, 10)) < 1 ||
		    limit > 1000 || *end != '\0') {
			fprintf(stderr, "usage: fido2gatectl audit [--limit 1-1000]\n");
			return CTL_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: fido2gatectl audit [--limit 1-1000]\n");
		return CTL_EXIT_USAGE;
	}
	req = json_pack("{s:s,s:i}", "op", "audit.list", "limit", (int)limit);
	if ((rc = ctl_call(c, req, &reply)) != CTL_EXIT_OK)
		return rc;
	rows = json_object_get(reply, "records");
	if (c->json)
		print_json(rows);
	else
		json_array_foreach(rows, i, row)
		{
			printf("%s %-20s %-12s %-6s uid=%lld %s%s%s\n",
			    when(json_integer_value(json_object_get(row, "ts")),
				buf, sizeof(buf)),
			    fg_json_str(row, "event"),
			    fg_json_str(row, "user") ?
				fg_json_str(row, "user") :
				"-",
			    fg_json_str(row, "result"),
			    (long long)json_integer_value(
				json_object_get(row, "caller_uid")),
			    fg_json_str(row, "reason") ?
				fg_json_str(row, "reason") :
				"",
			    fg_json_str(row, "credential") ? " cred=" : "",
			    fg_json_str(row, "credential") ?
				fg_json_str(row, "credential") :
				"");
		}
	json_decref(reply);
	return CTL_EXIT_OK;
}

int
ctl_unlock(struct ctl *c, int argc, char **argv)
{
	json_t *req, *reply;
	int rc;

	if (argc != 2 || argv[1][0] == '-') {
		fprintf(stderr, "usage: fido2gatectl unlock USER\n");
		return CTL_EXIT_USAGE;
	}
	req = json_pack("{s:s,s:s}", "op", "user.unlock", "user", argv[1]);
	if ((rc = ctl_call(c, req, &reply)) != CTL_EXIT_OK)
		return rc;
	if (c->json)
		print_json(reply);
	else if (json_is_true(json_object_get(reply, "was_locked")))
		printf("unlocked %s (locked after %lld failed attempts)\n",
		    argv[1],
		    (long long)json_integer_value(
			json_object_get(reply, "failures")));
	else
		printf("%s was not locked; any backoff is cleared\n", argv[1]);
	json_decref(reply);
	return CTL_EXIT_OK;
}
