/*
 * The CLI commands that only talk to the agent: list, revoke, unlock,
 * status and audit. Each sends one request and prints the reply for a person, or as
 * JSON with --json.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <wchar.h>

#include "../agent/agent.h"
#include "auditchain.h"
#include "ctl.h"


/* The exit status for a refusal by the agent, after saying why. */
int
ctl_refused(const struct fg_refusal *why)
{
	char text[256];

	fprintf(stderr, _("fido2gatectl: %s\n"),
	    fg_refusal_text(why, text, sizeof(text)));
	if (strcmp(why->code, FG_E_DENIED) == 0 ||
	    strcmp(why->code, FG_E_STEPUP) == 0)
		return CTL_EXIT_DENIED;
	if (strcmp(why->code, FG_E_BAD_REQUEST) == 0)
		return CTL_EXIT_USAGE;
	return CTL_EXIT_FAIL;
}

/* The exit status for a failed exchange with the agent, after saying why. */
int
ctl_failed(const struct ctl *c, int err)
{
	fprintf(stderr, _("fido2gatectl: the agent at %s did not answer: %s\n"),
	    c->socket, _(fg_strerror(err)));
	return err == FG_ERR_NOMEM ? CTL_EXIT_FAIL : CTL_EXIT_UNAVAIL;
}

int
ctl_open(struct ctl *c)
{
	char err[256], text[512];
	int r;

	if (c->agent != NULL)
		return CTL_EXIT_OK;
	if ((r = fg_client_open(c->socket, CONNECT_TIMEOUT_MS, &c->agent, err,
		 sizeof(err))) != FG_OK) {
		fprintf(stderr, _("fido2gatectl: cannot reach the agent: %s\n"),
		    fg_client_open_text(r, c->socket, err, text, sizeof(text)));
		return CTL_EXIT_UNAVAIL;
	}
	return CTL_EXIT_OK;
}

/* Send req (consumed), return the reply in *out or an exit status. */
int
ctl_call(struct ctl *c, json_t *req, json_t **out)
{
	struct fg_refusal why;
	json_t *reply = NULL;
	int r;

	*out = NULL;
	if ((r = ctl_open(c)) != CTL_EXIT_OK) {
		json_decref(req);
		return r;
	}
	if ((r = fg_client_call(c->agent, req,
		 c->timeout_ms != 0 ? c->timeout_ms : CALL_TIMEOUT_MS,
		 &reply)) != FG_OK)
		return ctl_failed(c, r);
	if (fg_reply_refused(reply, &why)) {
		json_decref(reply);
		return ctl_refused(&why);
	}
	*out = reply;
	return CTL_EXIT_OK;
}

/* JSON for programs: every non-ASCII character escaped, so that a control
 * character stored by an older agent reaches no terminal raw. */
void
ctl_print_json(const json_t *v)
{
	json_dumpf(v, stdout,
	    JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
	putchar('\n');
}

/* A member of a record, for a person: controls escaped, "-" when absent. */
const char *
ctl_field(const json_t *o, const char *key, char *buf, size_t len)
{
	const char *s = fg_json_str(o, key);

	return s != NULL ? fg_text_escape(s, buf, len) : "-";
}

/* A column heading padded to width columns on the screen, not bytes: a
 * translation may hold letters of two bytes (ÉTAT). */
static void
column(const char *heading, int width)
{
	wchar_t w[64];
	size_t n = mbstowcs(w, heading, sizeof(w) / sizeof(w[0]));
	int cols = n != (size_t)-1 && n < sizeof(w) / sizeof(w[0]) ?
	    wcswidth(w, n) :
	    -1;

	if (cols < 0)
		cols = (int)strlen(heading);
	printf("%s%*s", heading, width > cols ? width - cols + 1 : 1, "");
}

const char *
ctl_when(json_int_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL)
		return _("never");
	strftime(buf, len, "%Y-%m-%d %H:%M:%SZ", &tm);
	return buf;
}

int
ctl_list(struct ctl *c, int argc, char **argv)
{
	json_t *req, *reply, *creds, *cr, *after = NULL, *lock = NULL;
	size_t i;
	int rc;

	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fputs(_("usage: fido2gatectl list [USER]\n"), stderr);
		return CTL_EXIT_USAGE;
	}
	/* the agent answers a page at a time */
	if ((creds = json_array()) == NULL)
		return CTL_EXIT_FAIL;
	for (;;) {
		json_t *next;
		req = json_pack("{s:s}", "op", FG_OP_CRED_LIST);
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
		if (lock == NULL && json_is_object(json_object_get(reply, "lock")))
			lock = json_incref(json_object_get(reply, "lock"));
		next = json_object_get(reply, "next");
		if (json_is_integer(next))
			after = json_incref(next);
		json_decref(reply);
		if (after == NULL)
			break;
	}
	if (c->json)
		ctl_print_json(creds);
	else if (json_array_size(creds) == 0)
		fputs(_("no credentials\n"), stdout);
	else {
		column(_("USER"), 16);
		column(_("CREDENTIAL"), 12);
		column(_("ALG"), 7);
		column(_("STATE"), 8);
		column(_("COUNTER"), 10);
		column(_("LAST USED"), 20);
		printf("%s\n", _("LABEL"));
		json_array_foreach(creds, i, cr)
		{
			char buf[32], us[520], id[16], lab[260];
			const char *state = fg_json_str(cr, "state");
			if (json_is_true(json_object_get(cr, "suspicious")))
				state = "SUSPECT";
			printf("%-16s %-12.12s %-7s %-8s %-10lld %-20s %s\n",
			    ctl_field(cr, "user", us, sizeof(us)),
			    ctl_field(cr, "credential_id", id, sizeof(id)),
			    fg_json_str(cr, "alg"), state,
			    (long long)json_integer_value(
				json_object_get(cr, "sign_count")),
			    ctl_when(json_integer_value(
				     json_object_get(cr, "last_used")),
				buf, sizeof(buf)),
			    ctl_field(cr, "label", lab, sizeof(lab)));
		}
	}
	if (!c->json && lock != NULL) {
		char buf[32], why[520], by[520];
		if (fg_json_str(lock, "reason") != NULL)
			printf(_("%s is locked since %s by %s: %s\n"), argv[1],
			    ctl_when(json_integer_value(
				     json_object_get(lock, "locked_at")),
				buf, sizeof(buf)),
			    ctl_field(lock, "by", by, sizeof(by)),
			    ctl_field(lock, "reason", why, sizeof(why)));
		else
			printf(_("%s is locked since %s after %lld failed "
				 "attempts\n"),
			    argv[1],
			    ctl_when(json_integer_value(
				     json_object_get(lock, "locked_at")),
				buf, sizeof(buf)),
			    (long long)json_integer_value(
				json_object_get(lock, "failures")));
	}
	json_decref(lock);
	json_decref(creds);
	return CTL_EXIT_OK;
}

int
ctl_revoke(struct ctl *c, int argc, char **argv)
{
	json_t *req, *reply;
	int rc;

	if (argc != 3) {
		fputs(_("usage: fido2gatectl revoke USER CREDENTIAL\n"
			"  CREDENTIAL: a label, or at least 4 characters of "
			"the credential ID\n"),
		    stderr);
		return CTL_EXIT_USAGE;
	}
	req = json_pack("{s:s,s:s,s:s}", "op", FG_OP_CRED_REVOKE, "user", argv[1],
	    "credential", argv[2]);
	if ((rc = ctl_call_stepped(c, "revoke", argv[1], req, &reply)) !=
	    CTL_EXIT_OK)
		return rc;
	if (c->json)
		ctl_print_json(reply);
	else
		printf(_("revoked %s (%s) for %s\n"),
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
		fputs(_("usage: fido2gatectl status\n"), stderr);
		return CTL_EXIT_USAGE;
	}
	if ((rc = ctl_call(c, json_pack("{s:s,s:b}", "op", FG_OP_STATUS, "counts", 1),
		 &reply)) !=
	    CTL_EXIT_OK)
		return rc;
	json_object_del(reply, "v");
	json_object_del(reply, "ok");
	if (c->json)
		ctl_print_json(reply);
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

#define AUDIT_USAGE                                                            \
	_("usage: fido2gatectl audit [--limit 1-1000] [--user USER] "          \
	  "[--since TIME]\n"                                                    \
	  "       fido2gatectl audit --anchor\n"                               \
	  "       fido2gatectl audit --verify [--db STORE [--password-file FILE]]\n" \
	  "                          [--anchor ID:HASH]...\n"                  \
	  "  STORE: sqlite:PATH, postgresql:CONNINFO or a path (SQLite)\n"    \
	  "  TIME: 2026-11-30, 2026-11-30T08:00[:00][Z] (UTC), a Unix time, "   \
	  "or an age: 90s, 30m, 12h, 2d, 1w\n")
#define ANCHORS_MAX 64

/*
 * --since: an ISO 8601 date or date and time (UTC, as audit shows
 * times), a Unix time, or an age before now (30m, 12h, 2d). Whole
 * string or nothing: strptime must reach its end.
 */
static bool
parse_since(const char *arg, time_t now, long long *out)
{
	static const char *const formats[] = { "%Y-%m-%dT%H:%M:%S",
		"%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M",
		"%Y-%m-%d" };
	static const struct {
		char unit;
		long long s;
	} units[] = { { 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
		{ 'w', 7 * 86400 } };
	struct tm tm;
	const char *end;
	char *e;
	long long n;
	size_t i;

	if (arg[0] >= '0' && arg[0] <= '9' && strchr(arg, '-') == NULL &&
	    strchr(arg, ':') == NULL) {
		errno = 0;
		n = strtoll(arg, &e, 10);
		if (errno != 0 || n < 0)
			return false;
		if (*e == '\0') {
			*out = n;
			return true;
		}
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (e[0] == units[i].unit && e[1] == '\0' &&
			    n <= (long long)now / units[i].s) {
				*out = (long long)now - n * units[i].s;
				return true;
			}
		return false;
	}
	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		memset(&tm, 0, sizeof(tm));
		end = strptime(arg, formats[i], &tm);
		if (end != NULL && end[0] == 'Z')
			end++;
		if (end != NULL && *end == '\0') {
			*out = (long long)timegm(&tm);
			return *out >= 0;
		}
	}
	return false;
}

/* ID:HASH as --anchor gives it and audit --anchor prints it. */
static bool
parse_anchor(const char *arg, json_t *anchors)
{
	const char *colon = strchr(arg, ':');
	char *end;
	long long id;

	if (colon == NULL || json_array_size(anchors) >= ANCHORS_MAX)
		return false;
	errno = 0;
	id = strtoll(arg, &end, 10);
	if (errno != 0 || end != colon || id < 1 || strlen(colon + 1) != 64 ||
	    strspn(colon + 1, "0123456789abcdef") != 64)
		return false;
	return json_array_append_new(anchors,
		   json_pack("{s:I,s:s}", "id", (json_int_t)id, "hash",
		       colon + 1)) == 0;
}

static int audit_verdict(struct ctl *c, json_t *reply);

/* The chain's verdict: exit 0 intact, 1 tampered. The agent walks a
 * step of the log a request (it serves no one else meanwhile); each step
 * goes on from the last one's head. */
static int
audit_verify(struct ctl *c, json_t *anchors)
{
	json_t *req, *reply = NULL, *from = NULL;
	json_int_t records = 0;
	int rc;

	for (;;) {
		req = json_pack("{s:s,s:O}", "op", FG_OP_AUDIT_VERIFY,
		    "anchors", anchors);
		if (req != NULL && from != NULL)
			json_object_set_new(req, "from", from);
		from = NULL;
		if ((rc = ctl_call(c, req, &reply)) != CTL_EXIT_OK) {
			json_decref(anchors);
			return rc;
		}
		records += json_integer_value(json_object_get(reply, "records"));
		if (!json_is_true(json_object_get(reply, "intact")) ||
		    !json_is_true(json_object_get(reply, "more")))
			break;
		from = json_incref(json_object_get(reply, "head"));
		json_decref(reply);
	}
	json_decref(anchors);
	json_object_del(reply, "v");
	json_object_del(reply, "ok");
	json_object_set_new(reply, "records", json_integer(records));
	return audit_verdict(c, reply);
}

/*
 * A store checked here, without the agent: a copy of a SQLite store (with
 * its -wal file, if any), opened read-only, or a PostgreSQL store, which
 * the agents may be writing meanwhile (fg_store_audit_verify_at walks it
 * in one read-only snapshot). No secret is needed. In one walk: no one
 * waits on this process.
 */
static int
audit_verify_store(struct ctl *c, const char *where, const char *passfile,
    json_t *janchors)
{
	struct fg_anchor anchors[ANCHORS_MAX];
	sqlite3 *db = NULL;
	json_t *v = NULL, *a;
	char err[512];
	size_t n = 0, i;
	int r, rc = CTL_EXIT_FAIL;

	json_array_foreach(janchors, i, a)
	{
		anchors[n].id = json_integer_value(json_object_get(a, "id"));
		snprintf(anchors[n].hash, sizeof(anchors[n].hash), "%s",
		    fg_json_str(a, "hash"));
		n++;
	}
	json_decref(janchors);
	if (strncmp(where, "postgresql:", 11) == 0) {
		r = fg_store_audit_verify_at(
		    where, passfile, anchors, n, &v, err, sizeof(err));
		if (r != FG_OK) {
			fprintf(stderr, _("fido2gatectl: %s\n"), err);
			rc = r == FG_ERR_INVALID ? CTL_EXIT_USAGE
						 : CTL_EXIT_FAIL;
			goto out;
		}
		rc = audit_verdict(c, v);
		goto out;
	}
	if (strncmp(where, "sqlite:", 7) == 0)
		where += 7;
	if (sqlite3_open_v2(where, &db,
		SQLITE_OPEN_READONLY | SQLITE_OPEN_NOFOLLOW, NULL) !=
	    SQLITE_OK) {
		fprintf(stderr, _("fido2gatectl: %s: %s\n"), where,
		    db != NULL ? sqlite3_errmsg(db) : "cannot open");
		rc = CTL_EXIT_USAGE;
		goto out;
	}
	sqlite3_busy_timeout(db, 5000);
	if (fg_audit_verify(db, NULL, 0, anchors, n, &v) != FG_OK) {
		fprintf(stderr,
		    _("fido2gatectl: %s: cannot read the audit log: %s\n"),
		    where, sqlite3_errmsg(db));
		goto out;
	}
	rc = audit_verdict(c, v);
out:
	sqlite3_close(db);
	return rc;
}

/* Prints the verdict (taken): exit 0 intact, 1 tampered. */
static int
audit_verdict(struct ctl *c, json_t *reply)
{
	json_t *bad, *head;
	int rc;

	json_object_del(reply, "more");
	bad = json_object_get(reply, "bad");
	head = json_object_get(reply, "head");
	rc = json_is_true(json_object_get(reply, "intact")) ? CTL_EXIT_OK :
							      CTL_EXIT_FAIL;
	if (c->json)
		ctl_print_json(reply);
	else if (rc == CTL_EXIT_OK)
		printf(_("intact, %lld records, head %lld %s\n"),
		    (long long)json_integer_value(
			json_object_get(reply, "records")),
		    (long long)json_integer_value(json_object_get(head, "id")),
		    fg_json_str(head, "hash"));
	else
		printf(_("tampered: record %lld (%s): %s\n"),
		    (long long)json_integer_value(json_object_get(bad, "id")),
		    fg_json_str(bad, "problem"), fg_json_str(bad, "message"));
	json_decref(reply);
	return rc;
}

/* The chain's head, ID:HASH, for the admin to keep elsewhere. */
static int
audit_head(struct ctl *c)
{
	json_t *reply, *rec;
	int rc;

	if ((rc = ctl_call(c,
		 json_pack("{s:s,s:i}", "op", FG_OP_AUDIT_LIST, "limit", 1),
		 &reply)) != CTL_EXIT_OK)
		return rc;
	rec = json_array_get(json_object_get(reply, "records"), 0);
	if (rec == NULL || fg_json_str(rec, "hash") == NULL) {
		fputs(_("fido2gatectl: the audit log is empty\n"), stderr);
		json_decref(reply);
		return CTL_EXIT_FAIL;
	}
	if (c->json) {
		json_t *o = json_pack("{s:O,s:O}", "id",
		    json_object_get(rec, "id"), "hash",
		    json_object_get(rec, "hash"));
		ctl_print_json(o);
		json_decref(o);
	} else
		printf("%lld:%s\n",
		    (long long)json_integer_value(json_object_get(rec, "id")),
		    fg_json_str(rec, "hash"));
	json_decref(reply);
	return CTL_EXIT_OK;
}

int
ctl_audit(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "limit", required_argument, NULL, 'n' },
		{ "user", required_argument, NULL, 'u' },
		{ "since", required_argument, NULL, 's' },
		{ "verify", no_argument, NULL, 'v' },
		{ "anchor", optional_argument, NULL, 'a' },
		{ "db", required_argument, NULL, 'd' },
		{ "password-file", required_argument, NULL, 'p' },
		{ NULL, 0, NULL, 0 },
	};
	json_t *req, *reply, *rows, *row, *anchors;
	const char *user = NULL, *db = NULL, *passfile = NULL;
	long long since = -1;
	long limit = 50;
	char *end, buf[32];
	bool verify = false, head = false, listing = false;
	size_t i;
	int ch, rc;

	if ((anchors = json_array()) == NULL)
		return CTL_EXIT_FAIL;
	while ((ch = getopt_long(argc, argv, "n:", opts, NULL)) != -1) {
		const char *arg = optarg;
		bool good = true;

		switch (ch) {
		case 'n':
			limit = strtol(optarg, &end, 10);
			good = limit >= 1 && limit <= 1000 && *end == '\0';
			listing = true;
			break;
		case 'u':
			user = optarg;
			listing = true;
			break;
		case 's':
			good = parse_since(optarg, time(NULL), &since);
			listing = true;
			break;
		case 'v':
			verify = true;
			break;
		case 'd':
			db = optarg;
			break;
		case 'p':
			passfile = optarg;
			break;
		case 'a':
			/* --anchor ID:HASH as well as --anchor=ID:HASH */
			if (arg == NULL && optind < argc &&
			    argv[optind][0] != '-')
				arg = argv[optind++];
			if (arg == NULL)
				head = true;
			else
				good = parse_anchor(arg, anchors);
			break;
		default:
			good = false;
		}
		if (!good) {
			fputs(AUDIT_USAGE, stderr);
			json_decref(anchors);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind != argc || (verify && (listing || head)) ||
	    (head && (listing || json_array_size(anchors) > 0)) ||
	    (!verify && (json_array_size(anchors) > 0 || db != NULL)) ||
	    (passfile != NULL &&
		(db == NULL || strncmp(db, "postgresql:", 11) != 0))) {
		fputs(AUDIT_USAGE, stderr);
		json_decref(anchors);
		return CTL_EXIT_USAGE;
	}
	if (verify && db != NULL)
		return audit_verify_store(c, db, passfile, anchors);
	if (verify)
		return audit_verify(c, anchors);
	json_decref(anchors);
	if (head)
		return audit_head(c);
	req = json_pack("{s:s,s:i}", "op", FG_OP_AUDIT_LIST, "limit", (int)limit);
	if (user != NULL)
		json_object_set_new(req, "user", json_string(user));
	if (since >= 0)
		json_object_set_new(req, "since", json_integer(since));
	if ((rc = ctl_call(c, req, &reply)) != CTL_EXIT_OK)
		return rc;
	rows = json_object_get(reply, "records");
	if (c->json)
		ctl_print_json(rows);
	else
		json_array_foreach(rows, i, row)
		{
			char ev[64], us[520], res[32], why[520], cred[1400];
			printf("%s %-20s %-12s %-6s uid=%lld %s%s%s\n",
			    ctl_when(json_integer_value(json_object_get(row, "ts")),
				buf, sizeof(buf)),
			    ctl_field(row, "event", ev, sizeof(ev)),
			    ctl_field(row, "user", us, sizeof(us)),
			    ctl_field(row, "result", res, sizeof(res)),
			    (long long)json_integer_value(
				json_object_get(row, "caller_uid")),
			    fg_json_str(row, "reason") ?
				ctl_field(row, "reason", why, sizeof(why)) :
				"",
			    fg_json_str(row, "credential") ? " cred=" : "",
			    fg_json_str(row, "credential") ?
				ctl_field(row, "credential", cred, sizeof(cred)) :
				"");
		}
	json_decref(reply);
	return CTL_EXIT_OK;
}

/* Locks a user at once and reports what the lock cut. Exit 1 when a
 * logout failed: the lock holds, but a session may still run. */
int
ctl_lock(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *reason = NULL;
	json_t *req, *reply, *cut;
	size_t i;
	int ch, rc, failed = 0;

	while ((ch = getopt_long(argc, argv, "r:", opts, NULL)) != -1) {
		if (ch != 'r')
			goto usage;
		reason = optarg;
	}
	if (optind != argc - 1 || argv[optind][0] == '-' || reason == NULL ||
	    reason[0] == '\0')
		goto usage;
	req = json_pack("{s:s,s:s,s:s}", "op", FG_OP_USER_LOCK, "user",
	    argv[optind], "reason", reason);
	/* the agent waits for the logouts, 10 s at most */
	c->timeout_ms = 20000;
	if ((rc = ctl_call_stepped(c, "lock", argv[optind], req, &reply)) !=
	    CTL_EXIT_OK)
		return rc;
	json_array_foreach(json_object_get(reply, "cuts"), i, cut)
		if (strcmp(fg_json_str(cut, "result"), "ok") != 0)
			failed++;
	if (c->json) {
		json_object_del(reply, "v");
		json_object_del(reply, "ok");
		ctl_print_json(reply);
	} else {
		char a[520], b[520], e[520];
		printf(_("locked %s: no new login on any path\n"), argv[optind]);
		printf(_("revoked: %lld unused approvals, %lld codes, %lld "
			 "access tokens\n"),
		    (long long)json_integer_value(
			json_object_get(reply, "approvals_revoked")),
		    (long long)json_integer_value(
			json_object_get(reply, "codes_revoked")),
		    (long long)json_integer_value(
			json_object_get(reply, "tokens_revoked")));
		json_array_foreach(json_object_get(reply, "cuts"), i, cut)
		{
			bool ok = strcmp(fg_json_str(cut, "result"), "ok") == 0;
			if (strcmp(fg_json_str(cut, "kind"), "devices") == 0 && ok)
				printf(_("homeserver devices of %s: %lld logged "
					 "out\n"),
				    ctl_field(cut, "mxid", a, sizeof(a)),
				    (long long)json_integer_value(
					json_object_get(cut, "deleted")));
			else if (strcmp(fg_json_str(cut, "kind"), "devices") == 0)
				printf(_("homeserver devices of %s: FAILED "
					 "(%s)\n"),
				    ctl_field(cut, "mxid", a, sizeof(a)),
				    ctl_field(cut, "error", e, sizeof(e)));
			else if (ok)
				printf(_("session %s of client %s: logged out "
					 "(back-channel)\n"),
				    ctl_field(cut, "sid", a, sizeof(a)),
				    ctl_field(cut, "client", b, sizeof(b)));
			else
				printf(_("session %s of client %s: FAILED "
					 "(%s)\n"),
				    ctl_field(cut, "sid", a, sizeof(a)),
				    ctl_field(cut, "client", b, sizeof(b)),
				    ctl_field(cut, "error", e, sizeof(e)));
		}
		if (json_array_size(json_object_get(reply, "cuts")) == 0)
			fputs(_("no session to log out (no back-channel logout "
				"or homeserver admin API configured, or no "
				"login through the gate)\n"),
			    stdout);
	}
	json_decref(reply);
	if (failed > 0) {
		fprintf(stderr, _("fido2gatectl: the lock holds, but %d "
				  "logouts failed: see above and the audit "
				  "log\n"),
		    failed);
		return CTL_EXIT_FAIL;
	}
	return CTL_EXIT_OK;
usage:
	fputs(_("usage: fido2gatectl lock USER --reason TEXT\n"), stderr);
	return CTL_EXIT_USAGE;
}

int
ctl_unlock(struct ctl *c, int argc, char **argv)
{
	json_t *req, *reply;
	int rc;

	if (argc != 2 || argv[1][0] == '-') {
		fputs(_("usage: fido2gatectl unlock USER\n"), stderr);
		return CTL_EXIT_USAGE;
	}
	req = json_pack("{s:s,s:s}", "op", FG_OP_USER_UNLOCK, "user", argv[1]);
	if ((rc = ctl_call_stepped(c, "unlock", argv[1], req, &reply)) !=
	    CTL_EXIT_OK)
		return rc;
	if (c->json)
		ctl_print_json(reply);
	else if (json_is_true(json_object_get(reply, "pending")))
		printf(_("the unlock of %s waits for a second admin:\n"
			 "  fido2gatectl approve %s\n"),
		    argv[1], fg_json_str(reply, "request"));
	else if (fg_json_str(reply, "reason") != NULL) {
		char why[520];
		printf(_("unlocked %s (locked by an administrator: %s)\n"),
		    argv[1], ctl_field(reply, "reason", why, sizeof(why)));
	} else if (json_is_true(json_object_get(reply, "was_locked")))
		printf(_("unlocked %s (locked after %lld failed attempts)\n"),
		    argv[1],
		    (long long)json_integer_value(
			json_object_get(reply, "failures")));
	else
		printf(_("%s was not locked; any backoff is cleared\n"),
		    argv[1]);
	json_decref(reply);
	return CTL_EXIT_OK;
}

/* New id_token signing keys; the old stay in the JWKS until every token
 * they signed has expired, so no client sees a valid token refused. */
int
ctl_rotate_keys(struct ctl *c, int argc, char **argv)
{
	json_t *reply;
	int rc;

	(void)argv;
	if (argc != 1) {
		fputs(_("usage: fido2gatectl rotate-keys\n"), stderr);
		return CTL_EXIT_USAGE;
	}
	if ((rc = ctl_call_stepped(c, "rotate-keys", "",
		 json_pack("{s:s}", "op", FG_OP_OIDC_ROTATE), &reply)) !=
	    CTL_EXIT_OK)
		return rc;
	if (c->json)
		ctl_print_json(reply);
	else
		fputs(_("new signing keys made; the old ones stay published "
			"until their tokens expire\n"),
		    stdout);
	json_decref(reply);
	return CTL_EXIT_OK;
}
