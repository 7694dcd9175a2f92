/*
 * fido2gated: the single authority. Runs in the foreground, serves one
 * SOCK_SEQPACKET Unix socket, and identifies every caller by SO_PEERCRED
 * and SO_PEERGROUPS, never by the socket's file mode.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <systemd/sd-daemon.h>

#include "agent.h"

#define SWEEP_MS 1000
#define ROUND_MS 20 /* answering time per round, at most (plus one request) */
#define ACCEPT_PER_ROUND 32 /* newcomers taken per round, at most */
#define FIRST_REQUEST_MS 10000 /* a connection's first request, at most */
#define SESSION_GRACE_MS 5000	/* after its challenge expired, to hear why */
#define NAME_CACHE 64	  /* uids whose user names we keep */
#define NAME_TTL_MS 60000 /* and for how long */
#define GROUP_TTL_MS 30000 /* the admin group's gid, looked up again */

struct conn {
	int fd;
	struct fg_peer peer;
	bool named;	  /* peer.name looked up */
	int64_t active;	  /* ms: last request, or the accept */
	int64_t deadline; /* ms: closed unless it makes progress; 0: none */
	json_t *req;	  /* read this round, not answered yet */
	int rc;		  /* how reading it went; FG_ERR_TIMEOUT: nothing */
	struct fg_deferral d; /* a request waiting for a child; fd -1: none */
	json_t *dreq;	      /* and the request itself */
	int64_t ddeadline;    /* ms */
};

/*
 * What the loop knows of callers without asking the passwd and group
 * databases per connection: those lookups can be slow (NSS, LDAP), and a
 * local user can connect thousands of times a second.
 */
struct names {
	struct {
		uid_t uid;
		int64_t expires;
		char name[257];
	} e[NAME_CACHE];
	size_t next; /* the slot to reuse */
	gid_t admin_gid;
	bool have_admin_gid;
	int64_t group_expires;
};

static struct names names;

static volatile sig_atomic_t stopping;

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: fido2gated --socket PATH [--db STORE] [--config FILE]\n"
	    "       fido2gated --check-config [--config FILE]\n"
	    "\n"
	    "The fido2gate agent: the credential store, the challenges and\n"
	    "every signature check, for the PAM module, fido2gatectl and the\n"
	    "web front. Runs in the foreground.\n"
	    "\n"
	    "options:\n"
	    "  --socket PATH    the Unix socket to serve\n"
	    "  --db STORE       the credential store: PATH or sqlite:PATH\n"
	    "                   (SQLite), or postgresql:CONNINFO; without\n"
	    "                   it, store in [store] of the settings\n"
	    "  --config FILE    the settings (fido2gate.conf(5)); without it,\n"
	    "                   " FG_CONFIG_DEFAULT "\n"
	    "                   when it exists, else the built-in defaults\n"
	    "  --check-config   check the settings, print every effective\n"
	    "                   value and exit: 0 when valid, 1 (with\n"
	    "                   file:line) when not\n"
	    "  --help           this text\n"
	    "  --version        the version\n");
}

static bool
in_group(gid_t want, const gid_t *groups, size_t n, gid_t primary)
{
	size_t i;

	if (primary == want)
		return true;
	for (i = 0; i < n; i++)
		if (groups[i] == want)
			return true;
	return false;
}

/* The admin group's gid, looked up at most every GROUP_TTL_MS. */
static void
admin_group_refresh(const struct fg_config *cfg, int64_t now)
{
	struct group gr, *grp = NULL;
	char buf[4096];

	if (now < names.group_expires)
		return;
	names.have_admin_gid = getgrnam_r(cfg->admin_group, &gr, buf,
				   sizeof(buf), &grp) == 0 &&
	    grp != NULL;
	if (names.have_admin_gid)
		names.admin_gid = gr.gr_gid;
	names.group_expires = now + GROUP_TTL_MS;
}

/* Who is on the other end, from the kernel alone: uid, gid, pid, and the
 * supplementary groups (SO_PEERGROUPS) for the admin check; and whether it
 * is the web front or the homeserver, by uid. */
static int
peer_identify(int fd, const struct fg_gate *g, struct fg_peer *p)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);
	gid_t groups[256];
	socklen_t glen = sizeof(groups);

	memset(p, 0, sizeof(*p));
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0 ||
	    len != sizeof(uc))
		return FG_ERR_IO;
	p->uid = uc.uid;
	p->gid = uc.gid;
	p->pid = uc.pid;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) != 0)
		glen = 0;
	p->admin = uc.uid == 0 ||
	    (names.have_admin_gid &&
		in_group(names.admin_gid, groups, glen / sizeof(gid_t),
		    uc.gid));
	p->web = g->have_web_uid && uc.uid == g->web_uid;
	p->homeserver = g->have_hs_uid && uc.uid == g->hs_uid;
	return FG_OK;
}

/* Root, and the services that relay for everyone (the web front, the
 * homeserver), are not held to one caller's budget or connection cap. */
static uid_t
budget_uid(const struct fg_peer *p)
{
	return p->web || p->homeserver ? 0 : p->uid;
}

/* The caller's user name ("" when its uid has none), from the cache. */
static void
peer_name(struct fg_peer *p, int64_t now)
{
	struct passwd pw, *pwp = NULL;
	char buf[4096];
	size_t i, slot;

	for (i = 0; i < NAME_CACHE; i++)
		if (names.e[i].expires > now && names.e[i].uid == p->uid) {
			memcpy(p->name, names.e[i].name, sizeof(p->name));
			return;
		}
	p->name[0] = '\0';
	if (getpwuid_r(p->uid, &pw, buf, sizeof(buf), &pwp) == 0 &&
	    pwp != NULL)
		snprintf(p->name, sizeof(p->name), "%s", pw.pw_name);
	slot = names.next;
	names.next = (names.next + 1) % NAME_CACHE;
	names.e[slot].uid = p->uid;
	names.e[slot].expires = now + NAME_TTL_MS;
	memcpy(names.e[slot].name, p->name, sizeof(p->name));
}

static int
listen_on(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	struct stat sb;
	int fd;

	if (strlen(path) >= sizeof(sun.sun_path)) {
		fprintf(stderr, "fido2gated: socket path too long: %s\n", path);
		return -1;
	}
	strcpy(sun.sun_path, path);
	/* replace a stale socket, never a live agent's or anything else */
	if (lstat(path, &sb) == 0) {
		int probe = -1, r;
		if (!S_ISSOCK(sb.st_mode)) {
			fprintf(stderr,
			    "fido2gated: %s exists and is not a socket\n", path);
			return -1;
		}
		/* a full queue (timeout) is a live agent too */
		if ((r = fg_connect(path, 1000, &probe)) == FG_OK ||
		    r == FG_ERR_TIMEOUT) {
			if (probe >= 0)
				close(probe);
			fprintf(stderr,
			    "fido2gated: another agent is serving %s\n", path);
			return -1;
		}
		unlink(path);
	}
	if ((fd = socket(AF_UNIX,
		 SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
		perror("fido2gated: socket");
		return -1;
	}
	/* anyone may connect: each request is authorised by peer credentials */
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0 ||
	    chmod(path, 0666) != 0 || listen(fd, 1024) != 0) {
		fprintf(stderr, "fido2gated: %s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The socket systemd passed (fido2gated.socket), n of them by
 * sd_listen_fds(): exactly one, a listening SOCK_SEQPACKET Unix socket bound
 * to path, or we refuse to start. A unit that hands us a TCP port, or a
 * socket our clients do not look for, is a mistake to stop at, not to serve.
 */
static int
adopt_socket(const char *path, int n)
{
	int fd = SD_LISTEN_FDS_START, fl, r;

	if (n < 0) {
		fprintf(stderr, "fido2gated: the sockets systemd passed are "
				"unusable: %s\n", strerror(-n));
		return -1;
	}
	if (n != 1) {
		fprintf(stderr, "fido2gated: systemd passed %d sockets; "
				"fido2gated serves exactly one, %s\n", n, path);
		return -1;
	}
	if ((r = sd_is_socket_unix(fd, SOCK_SEQPACKET, 1, path, 0)) <= 0) {
		fprintf(stderr, "fido2gated: refusing the socket systemd "
				"passed: it is not a listening SOCK_SEQPACKET Unix "
				"socket bound to %s%s%s\n", path,
		    r < 0 ? ": " : "", r < 0 ? strerror(-r) : "");
		return -1;
	}
	if ((fl = fcntl(fd, F_GETFL)) < 0 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
		fprintf(stderr, "fido2gated: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return fd;
}

/* A password held in a request is wiped before jansson frees it. */
static void
wipe_request(json_t *req)
{
	json_t *pw = json_object_get(req, "password");

	if (json_is_string(pw))
		explicit_bzero((char *)(uintptr_t)json_string_value(pw),
		    json_string_length(pw));
}

static void
conn_close(struct fg_agent *ag, struct conn *c)
{
	if (c->d.fd >= 0) {
		/* the client left: its child is stopped, its verdict unused */
		if (c->d.job) {
			json_t *out = NULL;
			fg_job_finish(c->d.fd, c->d.pid, true, &out);
			json_decref(out);
			/* what it was doing is audited as unanswered (the
			 * resume counts it off) */
			json_decref(c->d.resume(ag, &c->peer, c->dreq,
			    FG_ERR_TIMEOUT, NULL));
		} else {
			fg_pamcheck_finish(c->d.fd, c->d.pid, true);
			ag->deferred--;
		}
		c->d.fd = -1;
		wipe_request(c->dreq);
		json_decref(c->dreq);
		c->dreq = NULL;
	}
	close(c->fd);
	c->fd = -1;
	json_decref(c->req);
	c->req = NULL;
	c->rc = FG_ERR_TIMEOUT;
	ag->connections--;
	if (c->peer.uid == 0)
		ag->root_connections--;
	fg_limits_conn(ag->limits, &ag->cfg, budget_uid(&c->peer), -1);
}

/*
 * Read the connection's request, unless one is still waiting for its
 * answer; a connection the peer closed is closed here. The caller's budget
 * is charged before the record is parsed: a record over it is dropped
 * unread, so that a flood of large records costs its sender, not everyone.
 */
static void
conn_read(struct fg_agent *ag, struct conn *c)
{
	char *buf = NULL;
	size_t len = 0;
	int r;

	if (c->rc != FG_ERR_TIMEOUT)
		return;
	r = fg_msg_read(c->fd, 0, ag->cfg.max_message, &buf, &len);
	if (r == FG_ERR_PROTO || r == FG_ERR_IO) {
		conn_close(ag, c);
		return;
	}
	if (r == FG_ERR_TIMEOUT)
		return;
	c->active = fg_now_ms();
	/* every record counts against the caller's bucket, garbage too */
	if (fg_limits_request(ag->limits, &ag->cfg, budget_uid(&c->peer),
		c->active) != FG_OK) {
		ag->dropped_unparsed++;
		c->rc = FG_ERR_LIMIT;
	} else if (r == FG_OK)
		c->rc = fg_msg_parse(buf, len, &c->req);
	else
		c->rc = r;
	fg_wipe_free(buf, len);
}

/* A begin that left a challenge open: the connection must come back with
 * its answer before the challenge expires, or be closed. */
static bool
opened_session(const char *op, const json_t *reply)
{
	return op != NULL && json_is_true(json_object_get(reply, "ok")) &&
	    (strcmp(op, FG_OP_AUTH_BEGIN) == 0 ||
		strcmp(op, FG_OP_ENROLL_BEGIN) == 0);
}

/* Answer what conn_read got. A request we cannot read still gets an answer
 * when the socket is alive. */
static void
conn_answer(struct fg_agent *ag, struct conn *c)
{
	json_t *reply = NULL;
	int r = c->rc;

	c->rc = FG_ERR_TIMEOUT;
	if (r == FG_ERR_TIMEOUT)
		return;
	c->deadline = 0;
	if (r == FG_ERR_LIMIT)
		reply = fg_reply_error(FG_E_RATE_LIMITED,
		    "too many requests from this user; slow down");
	else if (r == FG_ERR_TOOBIG)
		reply = fg_reply_error(FG_E_TOO_LARGE,
		    "the message exceeds the agent's max_message");
	else if (r == FG_ERR_INVALID)
		reply = fg_reply_error(FG_E_BAD_JSON,
		    "the message is not one JSON object");
	else if (r != FG_OK)
		reply = fg_reply_error(FG_E_INTERNAL, "cannot read the message");
	else {
		if (!c->named) {
			peer_name(&c->peer, c->active);
			c->named = true;
		}
		reply = fg_agent_handle(ag, &c->peer, c->req);
		if (ag->defer.fd >= 0) {
			/* answered once the child is done (conn_resume) */
			c->d = ag->defer;
			ag->defer.fd = -1;
			c->dreq = c->req;
			c->req = NULL;
			c->ddeadline = fg_now_ms() + FG_DEFER_MS;
			json_decref(reply);
			return;
		}
		if (reply != NULL &&
		    opened_session(fg_json_str(c->req, "op"), reply))
			c->deadline = fg_now_ms() +
			    (int64_t)ag->cfg.challenge_timeout * 1000 +
			    SESSION_GRACE_MS;
	}
	if (reply == NULL || fg_msg_send(c->fd, reply) != FG_OK)
		conn_close(ag, c);
	wipe_request(c->req);
	json_decref(c->req);
	c->req = NULL;
	json_decref(reply);
}

/* The child a deferred request waited for is done (or late): answer. */
static void
conn_resume(struct fg_agent *ag, struct conn *c, bool timed_out)
{
	json_t *reply, *out = NULL;
	int result = c->d.job ?
	    fg_job_finish(c->d.fd, c->d.pid, timed_out, &out) :
	    fg_pamcheck_finish(c->d.fd, c->d.pid, timed_out);

	c->d.fd = -1;
	reply = c->d.resume(ag, &c->peer, c->dreq, result, out);
	json_decref(out);
	c->active = fg_now_ms();
	if (reply != NULL &&
	    opened_session(fg_json_str(c->dreq, "op"), reply))
		c->deadline = c->active +
		    (int64_t)ag->cfg.challenge_timeout * 1000 +
		    SESSION_GRACE_MS;
	wipe_request(c->dreq);
	json_decref(c->dreq);
	c->dreq = NULL;
	if (reply == NULL || fg_msg_send(c->fd, reply) != FG_OK)
		conn_close(ag, c);
	json_decref(reply);
}

/* status costs nothing and tells an admin whether the agent is alive:
 * it is answered before the round's signature checks and store writes. */
static bool
is_light(const struct conn *c)
{
	const char *op = c->rc == FG_OK ? fg_json_str(c->req, "op") : NULL;

	return op != NULL && strcmp(op, FG_OP_STATUS) == 0;
}

/* Refuse a connection with a reason the client can print. */
static void
turn_away(int fd, const char *why)
{
	json_t *busy = fg_reply_error(FG_E_LIMIT, why);

	if (busy != NULL)
		fg_msg_send(fd, busy);
	json_decref(busy);
	close(fd);
}

/*
 * Accept one waiting connection; false when none was waiting. A slot is
 * taken only after the fd is polled (pfds is rebuilt every round). The
 * last root_reserved slots are root's: the PAM stack of every service
 * runs as root, and no user may crowd it out.
 */
static bool
accept_one(struct fg_agent *ag, int lfd, struct conn *conns, size_t max)
{
	struct conn *slot = NULL;
	struct fg_peer peer;
	size_t i;
	int fd;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) < 0)
		return false;
	if (peer_identify(fd, &ag->cfg.gate, &peer) != FG_OK) {
		close(fd);
		return true;
	}
	for (i = 0; i < max && slot == NULL; i++)
		if (conns[i].fd < 0)
			slot = &conns[i];
	if (slot == NULL || (peer.uid != 0 &&
			       ag->connections - ag->root_connections + 1 >
				   max - ag->cfg.root_reserved)) {
		turn_away(fd, "too many connections");
		return true;
	}
	if (fg_limits_conn(ag->limits, &ag->cfg, budget_uid(&peer), 1) !=
	    FG_OK) {
		turn_away(fd, "too many connections from this user");
		return true;
	}
	slot->fd = fd;
	slot->peer = peer;
	slot->named = false;
	slot->active = fg_now_ms();
	slot->deadline = slot->active + FIRST_REQUEST_MS;
	ag->connections++;
	if (peer.uid == 0)
		ag->root_connections++;
	return true;
}

/*
 * Once a second: forget expired challenges (each a failed attempt), close
 * connections idle past idle_timeout or past their deadline (no first
 * request in time, or a challenge left unanswered), and drop limits that
 * hold nothing; once a minute, the store's failure counts past their
 * window.
 */
static void
sweep(struct fg_agent *ag, struct conn *conns, size_t max, int64_t now)
{
	int64_t idle = (int64_t)ag->cfg.idle_timeout * 1000;
	size_t i;

	fg_chal_expire(ag->chal, now);
	fg_oidc_sweep(ag, now);
	for (i = 0; i < FG_NOTIFY_MAX; i++)
		if (ag->notify[i].busy && now > ag->notify[i].deadline)
			fg_notify_done(ag, &ag->notify[i], true);
	for (i = 0; i < max; i++)
		if (conns[i].fd >= 0 && conns[i].d.fd >= 0 &&
		    now > conns[i].ddeadline)
			conn_resume(ag, &conns[i], true);
	for (i = 0; i < max; i++)
		if (conns[i].fd >= 0 && conns[i].d.fd < 0 &&
		    (now - conns[i].active > idle ||
			(conns[i].deadline != 0 && now > conns[i].deadline)))
			conn_close(ag, &conns[i]);
	fg_limits_sweep(ag->limits, &ag->cfg, now);
	if (now - ag->failures_swept > 60000) {
		ag->failures_swept = now;
		if (fg_store_failures_sweep(ag->store,
			(int64_t)ag->cfg.failure_window * 1000) != FG_OK)
			fprintf(stderr, "fido2gated: cannot sweep the old failure "
					"counts from the store\n");
	}
	admin_group_refresh(&ag->cfg, now);
}

/*
 * Answer waiting requests in turn, starting where the last round stopped,
 * for ROUND_MS at most: a round of signature checks and store writes
 * cannot keep newcomers and status requests waiting long. True when some
 * are left for the next round.
 */
static bool
answer_round(struct fg_agent *ag, struct conn *conns, size_t max,
    size_t *turn)
{
	int64_t start = fg_now_ms();
	size_t first = *turn, k, i;

	for (k = 0; k < max; k++) {
		i = (first + k) % max;
		if (conns[i].fd < 0 || conns[i].rc == FG_ERR_TIMEOUT)
			continue;
		if (fg_now_ms() - start >= ROUND_MS) {
			*turn = i;
			return true;
		}
		conn_answer(ag, &conns[i]);
		*turn = (i + 1) % max;
	}
	return false;
}

static int
serve(struct fg_agent *ag, int lfd)
{
	size_t max = ag->cfg.max_connections, i;
	struct conn *conns;
	struct pollfd *pfds;
	int64_t next_sweep = fg_now_ms() + SWEEP_MS;
	size_t turn = 0;    /* where the next round's answers start */
	bool backlog = false; /* requests read and not yet answered */

	conns = calloc(max, sizeof(*conns));
	/* the listener, the connections, then the notifications' children */
	pfds = calloc(max + 1 + FG_NOTIFY_MAX, sizeof(*pfds));
	if (conns == NULL || pfds == NULL) {
		free(conns);
		free(pfds);
		return FG_ERR_NOMEM;
	}
	for (i = 0; i < max; i++) {
		conns[i].fd = -1;
		conns[i].d.fd = -1;
		conns[i].rc = FG_ERR_TIMEOUT;
	}
	while (!stopping) {
		int64_t now;
		int r;

		pfds[0].fd = lfd;
		pfds[0].events = POLLIN;
		/* a connection whose request waits for a child is polled on
		 * the child's pipe: nothing more is read from it till then */
		for (i = 0; i < max; i++) {
			pfds[i + 1].fd = conns[i].d.fd >= 0 ? conns[i].d.fd :
							      conns[i].fd;
			pfds[i + 1].events = POLLIN;
			pfds[i + 1].revents = 0;
		}
		for (i = 0; i < FG_NOTIFY_MAX; i++) {
			pfds[max + 1 + i].fd = ag->notify[i].busy ?
			    ag->notify[i].fd : -1;
			pfds[max + 1 + i].events = POLLIN;
			pfds[max + 1 + i].revents = 0;
		}
		pfds[0].revents = 0;
		r = poll(pfds, max + 1 + FG_NOTIFY_MAX, backlog ? 0 : SWEEP_MS);
		if (r < 0 && errno != EINTR) {
			perror("fido2gated: poll");
			break;
		}
		/* newcomers first, a bounded number: a flood of connections
		 * must not keep the loop from answering those it has */
		if (pfds[0].revents & POLLIN)
			for (i = 0; i < ACCEPT_PER_ROUND &&
			     accept_one(ag, lfd, conns, max);
			     i++)
				;
		/* read every ready request; answer the light ones at once and
		 * the rest in turn, for ROUND_MS */
		for (i = 0; i < max; i++) {
			if (conns[i].fd < 0 || pfds[i + 1].revents == 0)
				continue;
			if (conns[i].d.fd >= 0 &&
			    pfds[i + 1].fd == conns[i].d.fd) {
				conn_resume(ag, &conns[i], false);
				continue;
			}
			if (pfds[i + 1].revents & POLLIN)
				conn_read(ag, &conns[i]);
			else
				conn_close(ag, &conns[i]);
		}
		for (i = 0; i < FG_NOTIFY_MAX; i++)
			if (ag->notify[i].busy && pfds[max + 1 + i].revents != 0)
				fg_notify_done(ag, &ag->notify[i], false);
		for (i = 0; i < max; i++)
			if (conns[i].fd >= 0 && is_light(&conns[i]))
				conn_answer(ag, &conns[i]);
		backlog = answer_round(ag, conns, max, &turn);
		if ((now = fg_now_ms()) >= next_sweep) {
			sweep(ag, conns, max, now);
			next_sweep = now + SWEEP_MS;
		}
	}
	for (i = 0; i < max; i++)
		if (conns[i].fd >= 0)
			conn_close(ag, &conns[i]);
	/* a notification under way is stopped and audited as such */
	for (i = 0; i < FG_NOTIFY_MAX; i++)
		if (ag->notify[i].busy)
			fg_notify_done(ag, &ag->notify[i], true);
	free(conns);
	free(pfds);
	return FG_OK;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "db", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct fg_agent ag;
	struct sigaction sa;
	const char *sock = NULL, *db = NULL, *config = NULL;
	char err[512];
	bool check_only = false;
	int ch, lfd = -1, rc = 1;
	int listen_n;	    /* sockets systemd passed (LISTEN_FDS) */
	bool adopted = false; /* lfd is one of them: systemd's to unlink */

	/* nothing inherited from whoever started us stays open, but for the
	 * sockets systemd passed, which follow stderr */
	listen_n = sd_listen_fds(1);
	closefrom(SD_LISTEN_FDS_START + (listen_n > 0 ? listen_n : 0));
	memset(&ag, 0, sizeof(ag));
	ag.defer.fd = -1;
	while ((ch = getopt_long(argc, argv, "s:d:c:hV", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			sock = optarg;
			break;
		case 'd':
			db = optarg;
			break;
		case 'c':
			config = optarg;
			break;
		case 'C':
			check_only = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("fido2gated %s\n", FG_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || (!check_only && sock == NULL)) {
		usage(stderr);
		return 2;
	}
	umask(077);
	/* no --config: the installed file, when there is one (a file that
	 * is there but unreadable is an error, not the defaults) */
	if (config == NULL) {
		struct stat csb;
		if (lstat(FG_CONFIG_DEFAULT, &csb) == 0 || errno != ENOENT)
			config = FG_CONFIG_DEFAULT;
	}
	if (fg_config_load(config, &ag.cfg, err, sizeof(err)) != FG_OK) {
		fprintf(stderr, "fido2gated: config: %s\n", err);
		return 1;
	}
	if (check_only) {
		printf("rp_id %s\norigins", ag.cfg.rp_id);
		for (size_t i = 0; i < ag.cfg.n_origins; i++)
			printf(" %s", ag.cfg.origins[i]);
		printf("\nuser_verification %s\n",
		    fg_uv_policy_name(ag.cfg.uv));
		printf("\n# the effective settings of %s\n",
		    config != NULL ? config : "the built-in defaults");
		fg_settings_show(&ag.cfg, stdout);
		fg_config_clear(&ag.cfg);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* --db, else [store] store */
	if (db == NULL && ag.cfg.store[0] != '\0')
		db = ag.cfg.store;
	if (db == NULL) {
		fprintf(stderr, "fido2gated: no store: give --db PATH, or set "
				"store in [store]\n");
		usage(stderr);
		goto out;
	}
	fg_journal_open();
	if (fg_store_open_with(db, ag.cfg.store_password_file[0] != '\0' ?
			ag.cfg.store_password_file : NULL,
		&ag.store, err, sizeof(err)) != FG_OK) {
		fprintf(stderr, "fido2gated: store: %s\n", err);
		goto out;
	}
	fg_store_set_anchor_every(ag.store, ag.cfg.anchor_every);
	if (fg_chal_table_new(ag.cfg.max_pending, ag.cfg.max_pending_web,
		fg_agent_expired, &ag,
		&ag.chal) != FG_OK ||
	    fg_limits_new(&ag.limits) != FG_OK ||
	    fg_keycache_new(&ag.keys) != FG_OK) {
		fprintf(stderr, "fido2gated: out of memory\n");
		goto out;
	}
	if (fg_store_secret(ag.store, "decoy", ag.secret, sizeof(ag.secret)) !=
	    FG_OK) {
		fprintf(stderr, "fido2gated: store: cannot read its secret\n");
		goto out;
	}
	if (ag.cfg.gate.issuer[0] != '\0' &&
	    (fg_oidc_new(&ag.oidc) != FG_OK || fg_keys_open(&ag) != FG_OK)) {
		fprintf(stderr, "fido2gated: cannot load or make the id_token "
				"signing keys\n");
		goto out;
	}
	if (listen_n != 0) {
		if ((lfd = adopt_socket(sock, listen_n)) < 0)
			goto out;
		adopted = true;
	} else if ((lfd = listen_on(sock)) < 0)
		goto out;
	ag.started = fg_now_ms();
	admin_group_refresh(&ag.cfg, ag.started);
	fprintf(stderr,
	    "fido2gated %s: rp_id %s, user verification %s, listening on %s\n",
	    FG_VERSION, ag.cfg.rp_id, fg_uv_policy_name(ag.cfg.uv), sock);
	/* Type=notify: up once it listens (nothing without systemd) */
	sd_notify(0, "READY=1");
	if (serve(&ag, lfd) == FG_OK)
		rc = 0;
	sd_notify(0, "STOPPING=1");
	fprintf(stderr, "fido2gated: stopping\n");
out:
	if (lfd >= 0) {
		close(lfd);
		/* systemd's socket stays: it listens on while we are down */
		if (!adopted)
			unlink(sock);
	}
	fg_chal_table_free(&ag.chal);
	fg_limits_free(&ag.limits);
	fg_keycache_free(&ag.keys);
	fg_keys_close(&ag.keys_signing);
	fg_oidc_free(&ag.oidc);
	fg_store_close(&ag.store);
	fg_config_clear(&ag.cfg);
	OPENSSL_cleanse(ag.secret, sizeof(ag.secret));
	return rc;
}
