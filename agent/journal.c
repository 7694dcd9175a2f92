/*
 * The audit trail's copy in the system log: every record the audit table
 * keeps (a decision, an admin action) is also one structured journal entry,
 * or, where there is no journal, one syslog line (LOG_AUTHPRIV) with the
 * same facts. Only what the audit record holds goes out, and the audit
 * record never holds a secret (no session, challenge, signature, PIN, code
 * or token). Off until fg_journal_open(): the unit tests and the fuzzers
 * that run the handlers write nothing to the host's logs.
 *
 * Both sends block when the log's queue is full (journald stalled on its
 * disk, rsyslog stuck), and the agent answers every login from one
 * thread: so the records wait in a bounded queue that a thread of their
 * own sends. A full queue drops the record, never the login, and the next
 * record that gets through says how many went missing. The audit table,
 * the authority, has them all.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <syslog.h>
#include <time.h>

#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

#include "agent.h"

#define FIELDS_MAX 20
#define QUEUE_MAX 256
/* journald's native socket; sd_journal_send() succeeds silently without it */
#define JOURNAL_SOCKET "/run/systemd/journal/socket"

/* MESSAGE_ID per kind of record (journalctl MESSAGE_ID=...). */
static const struct {
	const char *event; /* "" : every other event, a login decision */
	const char *id;
} kinds[] = {
	{ "enroll", "2add6e5faa164a4d9c6364c1fc035333" },
	{ "revoke", "2add6e5faa164a4d9c6364c1fc035333" },
	{ "import", "2add6e5faa164a4d9c6364c1fc035333" },
	{ "unlock", "2add6e5faa164a4d9c6364c1fc035333" },
	{ "lock", "2add6e5faa164a4d9c6364c1fc035333" },
	{ "lock.logout", "2add6e5faa164a4d9c6364c1fc035333" },
	{ "oidc.key", "2add6e5faa164a4d9c6364c1fc035333" },
	{ "oidc.rotate", "2add6e5faa164a4d9c6364c1fc035333" },
	{ "lockout", "46ae63d12bb0423ea04b7580e9a33c39" },
	{ "credential.suspicious", "297822e5cc9a4483a22cd286e911b0f0" },
	{ "", "eccb7664fe2148a9871c504db42c9411" },
};

/* MESSAGE_ID of an anchor, the audit chain's head. */
#define ANCHOR_ID "560fa67984274c7fa88543b4ca5ca192"

/* One record, ready to send: the journal's fields, or the syslog line. */
struct entry {
	struct iovec iov[FIELDS_MAX];
	size_t n;
	int prio;
	char *line;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_mutex_t sending; /* held while a record is being sent */
	bool fork_holds;	 /* the fork handlers took it */
	struct entry *q[QUEUE_MAX];
	size_t head, len;
	unsigned long dropped; /* since the last record that got in */
	bool enabled;
} J = { .lock = PTHREAD_MUTEX_INITIALIZER,
	.wake = PTHREAD_COND_INITIALIZER,
	.sending = PTHREAD_MUTEX_INITIALIZER };

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

/* s (already clean) in double quotes, '"' and '\' escaped: a reason that
 * holds `" user=root result=allow` stays inside its own value. */
static char *
quoted(const char *s)
{
	size_t n = strlen(s), i, o = 0;
	char *q = malloc(2 * n + 3);

	if (q == NULL)
		return NULL;
	q[o++] = '"';
	for (i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			q[o++] = '\\';
		q[o++] = s[i];
	}
	q[o++] = '"';
	q[o] = '\0';
	return q;
}

/* "NAME=value" appended to e->iov; a NULL value is left out. */
static __attribute__((format(printf, 3, 4))) void
field(struct entry *e, bool *failed, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (*failed || e->n >= FIELDS_MAX)
		return;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		*failed = true;
		s = NULL;
	}
	va_end(ap);
	if (s == NULL)
		return;
	e->iov[e->n].iov_base = s;
	e->iov[e->n].iov_len = strlen(s);
	e->n++;
}

static void
entry_free(struct entry *e)
{
	size_t i;

	if (e == NULL)
		return;
	for (i = 0; i < e->n; i++)
		free(e->iov[i].iov_base);
	free(e->line);
	free(e);
}

static bool
journal_here(void)
{
	struct stat sb;

	return stat(JOURNAL_SOCKET, &sb) == 0 && S_ISSOCK(sb.st_mode);
}

static void
send_entry(struct entry *e)
{
	/* no journal (or it refused the entry): the same facts to syslog */
	if (!journal_here() || sd_journal_sendv(e->iov, (int)e->n) < 0)
		syslog(e->prio, "%s", e->line);
}

static void *
sender(void *arg)
{
	struct entry *e;

	(void)arg;
	for (;;) {
		pthread_mutex_lock(&J.lock);
		while (J.len == 0)
			pthread_cond_wait(&J.wake, &J.lock);
		e = J.q[J.head];
		J.head = (J.head + 1) % QUEUE_MAX;
		J.len--;
		pthread_mutex_unlock(&J.lock);
		pthread_mutex_lock(&J.sending);
		send_entry(e);
		pthread_mutex_unlock(&J.sending);
		entry_free(e);
	}
	return NULL;
}

/*
 * The agent forks to run a PAM stack (pamcheck.c), and a child has only
 * the thread that forked: had the sender been inside syslog(3) at that
 * moment, its lock would stay taken in the child, whose PAM modules log
 * too. So fork waits for the send in progress, but not for a stalled log
 * (a tenth of a second at most): the child would block on that log anyway,
 * within its own deadline, and the agent must not.
 */
static void
fork_prepare(void)
{
	int i;

	J.fork_holds = false;
	for (i = 0; i < 100 && !J.fork_holds; i++) {
		if (pthread_mutex_trylock(&J.sending) == 0)
			J.fork_holds = true;
		else
			nanosleep(&(struct timespec){ .tv_nsec = 1000000 }, NULL);
	}
}

static void
fork_done(void)
{
	if (J.fork_holds)
		pthread_mutex_unlock(&J.sending);
	J.fork_holds = false;
}

void
fg_journal_open(void)
{
	pthread_t t;
	sigset_t all, old;

	openlog("fido2gated", LOG_PID, LOG_AUTHPRIV);
	/* signals stay the event loop's: it stops on SIGTERM */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	if (pthread_atfork(fork_prepare, fork_done, fork_done) == 0 &&
	    pthread_create(&t, NULL, sender, NULL) == 0) {
		pthread_detach(t);
		J.enabled = true;
	} else
		fprintf(stderr, "fido2gated: no thread for the journal: "
				"the audit table alone keeps the records\n");
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* The record as one entry, with how many records before it were lost,
 * and its place in the audit chain: id and hash (0 and NULL when the store
 * could not keep it), so that the log holds a copy of the chain. */
static struct entry *
entry_new(const struct fg_audit *a, int64_t id, const char *hash,
    unsigned long dropped)
{
	struct entry *e = calloc(1, sizeof(*e));
	char *event = NULL, *user = NULL, *cred = NULL, *result = NULL,
	     *reason = NULL, *detail = NULL, *qreason = NULL, *qdetail = NULL,
	     *quser = NULL, *msg = NULL;
	char lost[64] = "", lost_kv[40] = "", rec[48] = "", rec_kv[128];
	bool failed = false;

	if (e == NULL)
		return NULL;
	e->prio = priority(a);
	if ((event = clean(a->event)) == NULL ||
	    (user = clean(a->user)) == NULL ||
	    (cred = clean(a->credential)) == NULL ||
	    (result = clean(a->result)) == NULL ||
	    (reason = clean(a->reason)) == NULL ||
	    (detail = clean(a->detail)) == NULL ||
	    (quser = quoted(a->user != NULL ? user : "-")) == NULL ||
	    (qreason = quoted(reason)) == NULL ||
	    (qdetail = quoted(detail)) == NULL)
		goto fail;
	if (dropped > 0) {
		snprintf(lost, sizeof(lost), " (%lu earlier records not logged)",
		    dropped);
		snprintf(lost_kv, sizeof(lost_kv), " not_logged=%lu", dropped);
	}
	if (id > 0 && hash != NULL) {
		snprintf(rec, sizeof(rec), ", record %lld", (long long)id);
		snprintf(rec_kv, sizeof(rec_kv), " audit_id=%lld audit_hash=%s",
		    (long long)id, hash);
	} else
		snprintf(rec_kv, sizeof(rec_kv), " audit_id=- audit_hash=-");
	if (asprintf(&msg, "%s %s %s%s%s%s%s%s%s (caller uid %ld pid %ld)%s%s",
		event, a->user != NULL ? user : "-", result, a->reason != NULL ? ": " : "",
		a->reason != NULL ? qreason : "",
		a->credential != NULL ? ", credential " : "", cred,
		a->detail != NULL ? ", " : "", a->detail != NULL ? qdetail : "",
		(long)a->caller_uid, (long)a->caller_pid, rec, lost) < 0) {
		msg = NULL;
		goto fail;
	}
	field(e, &failed, "MESSAGE=%s", msg);
	field(e, &failed, "PRIORITY=%d", e->prio);
	field(e, &failed, "SYSLOG_FACILITY=%d", LOG_AUTHPRIV >> 3);
	field(e, &failed, "SYSLOG_IDENTIFIER=fido2gated");
	field(e, &failed, "MESSAGE_ID=%s", message_id(a->event));
	field(e, &failed, "FIDO2GATE_EVENT=%s", event);
	if (a->user != NULL)
		field(e, &failed, "FIDO2GATE_USER=%s", user);
	field(e, &failed, "FIDO2GATE_RESULT=%s", result);
	if (a->reason != NULL)
		field(e, &failed, "FIDO2GATE_REASON=%s", reason);
	if (a->credential != NULL)
		field(e, &failed, "FIDO2GATE_CREDENTIAL=%s", cred);
	if (a->detail != NULL)
		field(e, &failed, "FIDO2GATE_DETAIL=%s", detail);
	field(e, &failed, "FIDO2GATE_CALLER_UID=%ld", (long)a->caller_uid);
	field(e, &failed, "FIDO2GATE_CALLER_PID=%ld", (long)a->caller_pid);
	if (id > 0 && hash != NULL) {
		field(e, &failed, "FIDO2GATE_AUDIT_ID=%lld", (long long)id);
		field(e, &failed, "FIDO2GATE_AUDIT_HASH=%s", hash);
	}
	if (dropped > 0)
		field(e, &failed, "FIDO2GATE_NOT_LOGGED=%lu", dropped);
	if (failed ||
	    asprintf(&e->line,
		"event=%s user=%s result=%s reason=%s credential=%s "
		"detail=%s caller_uid=%ld caller_pid=%ld%s%s",
		event, quser, result, qreason,
		a->credential != NULL ? cred : "-", qdetail,
		(long)a->caller_uid, (long)a->caller_pid, rec_kv,
		lost_kv) < 0) {
		e->line = NULL;
		goto fail;
	}
	goto out;
fail:
	entry_free(e);
	e = NULL;
out:
	free(event);
	free(user);
	free(cred);
	free(result);
	free(reason);
	free(detail);
	free(quser);
	free(qreason);
	free(qdetail);
	free(msg);
	return e;
}

/* Queues e (taken) for the sender, or counts it lost. */
static void
enqueue(struct entry *e, unsigned long dropped)
{
	pthread_mutex_lock(&J.lock);
	if (e == NULL || J.len == QUEUE_MAX) {
		J.dropped++;
		pthread_mutex_unlock(&J.lock);
		entry_free(e);
		return;
	}
	J.dropped -= dropped;
	J.q[(J.head + J.len) % QUEUE_MAX] = e;
	J.len++;
	pthread_cond_signal(&J.wake);
	pthread_mutex_unlock(&J.lock);
}

static unsigned long
dropped_so_far(void)
{
	unsigned long dropped;

	pthread_mutex_lock(&J.lock);
	dropped = J.dropped;
	pthread_mutex_unlock(&J.lock);
	return dropped;
}

void
fg_journal_audit(const struct fg_audit *a, int64_t id, const char *hash)
{
	unsigned long dropped;

	if (!J.enabled || a == NULL || a->event == NULL || a->result == NULL)
		return;
	dropped = dropped_so_far();
	enqueue(entry_new(a, id, hash, dropped), dropped);
}

/*
 * An anchor: the audit chain's head, for an admin to keep away from this
 * host (fido2gatectl audit --verify --anchor ID:HASH finds a log cut
 * short or rewritten before it). It goes to the journal like a record,
 * and to stderr as well, at once: a full queue may drop a journal entry,
 * and where the agent's stderr is kept by something else than the
 * journal (a file, a remote collector) that is one more copy.
 */
void
fg_journal_anchor(int64_t id, const char *hash)
{
	struct entry *e;
	unsigned long dropped;
	bool failed = false;

	fprintf(stderr, "fido2gated: audit anchor %lld:%s\n", (long long)id,
	    hash);
	if (!J.enabled)
		return;
	dropped = dropped_so_far();
	if ((e = calloc(1, sizeof(*e))) == NULL) {
		enqueue(NULL, dropped);
		return;
	}
	e->prio = LOG_INFO;
	field(e, &failed, "MESSAGE=audit anchor %lld:%s", (long long)id, hash);
	field(e, &failed, "PRIORITY=%d", e->prio);
	field(e, &failed, "SYSLOG_FACILITY=%d", LOG_AUTHPRIV >> 3);
	field(e, &failed, "SYSLOG_IDENTIFIER=fido2gated");
	field(e, &failed, "MESSAGE_ID=%s", ANCHOR_ID);
	field(e, &failed, "FIDO2GATE_EVENT=audit.anchor");
	field(e, &failed, "FIDO2GATE_AUDIT_ID=%lld", (long long)id);
	field(e, &failed, "FIDO2GATE_AUDIT_HASH=%s", hash);
	if (failed || asprintf(&e->line,
			  "event=audit.anchor audit_id=%lld audit_hash=%s",
			  (long long)id, hash) < 0) {
		e->line = NULL;
		entry_free(e);
		e = NULL;
	}
	enqueue(e, dropped);
}
