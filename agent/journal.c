/*
 * The audit trail's copy in the system log: every record the audit table
 * keeps (a decision, an admin action) is also one structured journal entry,
 * or, where there is no journal, one syslog line (LOG_AUTHPRIV) with the
 * same facts. Only what the audit record holds goes out, and the audit
 * record never holds a secret (no session, challenge, signature, PIN, code
 * or token). Off until fg_journal_open(): the unit tests and the fuzzers
 * that run the handlers write nothing to the host's logs.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "agent.h"

#define FIELDS_MAX 16
/* journald's native socket; sd_journal_send() succeeds silently without it */
#define JOURNAL_SOCKET "/run/systemd/journal/socket"

/* MESSAGE_ID per kind of record (journalctl MESSAGE_ID=...). */
static const struct {
	const char *event; /* "" : every other event, a login decision */
	const char *id;
} kinds[] = {
	{ "enroll", "2add6e5faa164a4d9c6364c1fc035333" },
	{ "revoke", "2add6e5faa164a4d9c6364c1fc035333" },
	{ "unlock", "2add6e5faa164a4d9c6364c1fc035333" },
	{ "oidc.key", "2add6e5faa164a4d9c6364c1fc035333" },
	{ "oidc.rotate", "2add6e5faa164a4d9c6364c1fc035333" },
	{ "lockout", "46ae63d12bb0423ea04b7580e9a33c39" },
	{ "credential.suspicious", "297822e5cc9a4483a22cd286e911b0f0" },
	{ "", "eccb7664fe2148a9871c504db42c9411" },
};

static bool enabled;

static const char *
message_id(const char *event)
{
	size_t i;

	for (i = 0; kinds[i].event[0] != '\0'; i++)
		if (strcmp(kinds[i].event, event) == 0)
			break;
	return kinds[i].id;
}

/* allow and routine admin changes are information; a refusal is worth a
 * look; a lockout or a cloned key is a warning; a failure, an error. */
static int
priority(const struct fg_audit *a)
{
	if (strcmp(a->result, "error") == 0)
		return LOG_ERR;
	if (strcmp(a->event, "lockout") == 0 ||
	    strcmp(a->event, "credential.suspicious") == 0)
		return LOG_WARNING;
	if (strcmp(a->result, "deny") == 0)
		return LOG_NOTICE;
	return LOG_INFO;
}

/* A copy with control characters replaced: the handlers already refuse
 * them, and a log line must not be forged even if one slipped through. */
static char *
clean(const char *s)
{
	char *c = strdup(s != NULL ? s : "");
	char *p;

	if (c != NULL)
		for (p = c; *p != '\0'; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = '?';
	return c;
}

/* "NAME=value" appended to iov; a NULL value is left out. */
static __attribute__((format(printf, 4, 5))) void
field(struct iovec *iov, size_t *n, bool *failed, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (*failed || *n >= FIELDS_MAX)
		return;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		*failed = true;
		s = NULL;
	}
	va_end(ap);
	if (s == NULL)
		return;
	iov[*n].iov_base = s;
	iov[*n].iov_len = strlen(s);
	(*n)++;
}

static bool
journal_here(void)
{
	struct stat sb;

	return stat(JOURNAL_SOCKET, &sb) == 0 && S_ISSOCK(sb.st_mode);
}

void
fg_journal_open(void)
{
	openlog("fido2gated", LOG_PID, LOG_AUTHPRIV);
	enabled = true;
}

void
fg_journal_audit(const struct fg_audit *a)
{
	struct iovec iov[FIELDS_MAX];
	char *event = NULL, *user = NULL, *cred = NULL, *result = NULL,
	     *reason = NULL, *detail = NULL, *msg = NULL;
	size_t n = 0, i;
	bool failed = false;
	int prio;

	if (!enabled || a == NULL || a->event == NULL || a->result == NULL)
		return;
	prio = priority(a);
	if ((event = clean(a->event)) == NULL ||
	    (user = clean(a->user)) == NULL ||
	    (cred = clean(a->credential)) == NULL ||
	    (result = clean(a->result)) == NULL ||
	    (reason = clean(a->reason)) == NULL ||
	    (detail = clean(a->detail)) == NULL)
		goto out;
	if (asprintf(&msg, "%s %s %s%s%s%s%s%s%s (caller uid %ld pid %ld)",
		event, a->user != NULL ? user : "-", result,
		a->reason != NULL ? ": " : "", reason,
		a->credential != NULL ? ", credential " : "", cred,
		a->detail != NULL ? ", " : "", detail, (long)a->caller_uid,
		(long)a->caller_pid) < 0) {
		msg = NULL;
		goto out;
	}
	field(iov, &n, &failed, "MESSAGE=%s", msg);
	field(iov, &n, &failed, "PRIORITY=%d", prio);
	field(iov, &n, &failed, "SYSLOG_FACILITY=%d", LOG_AUTHPRIV >> 3);
	field(iov, &n, &failed, "SYSLOG_IDENTIFIER=fido2gated");
	field(iov, &n, &failed, "MESSAGE_ID=%s", message_id(a->event));
	field(iov, &n, &failed, "FIDO2GATE_EVENT=%s", event);
	if (a->user != NULL)
		field(iov, &n, &failed, "FIDO2GATE_USER=%s", user);
	field(iov, &n, &failed, "FIDO2GATE_RESULT=%s", result);
	if (a->reason != NULL)
		field(iov, &n, &failed, "FIDO2GATE_REASON=%s", reason);
	if (a->credential != NULL)
		field(iov, &n, &failed, "FIDO2GATE_CREDENTIAL=%s", cred);
	if (a->detail != NULL)
		field(iov, &n, &failed, "FIDO2GATE_DETAIL=%s", detail);
	field(iov, &n, &failed, "FIDO2GATE_CALLER_UID=%ld",
	    (long)a->caller_uid);
	field(iov, &n, &failed, "FIDO2GATE_CALLER_PID=%ld",
	    (long)a->caller_pid);
	/* no journal (or it refused the entry): the same facts to syslog */
	if (failed || !journal_here() || sd_journal_sendv(iov, (int)n) < 0)
		syslog(prio,
		    "event=%s user=%s result=%s reason=\"%s\" credential=%s "
		    "detail=\"%s\" caller_uid=%ld caller_pid=%ld",
		    event, a->user != NULL ? user : "-", result, reason,
		    a->credential != NULL ? cred : "-", detail,
		    (long)a->caller_uid, (long)a->caller_pid);
	for (i = 0; i < n; i++)
		free(iov[i].iov_base);
out:
	free(event);
	free(user);
	free(cred);
	free(result);
	free(reason);
	free(detail);
	free(msg);
}
