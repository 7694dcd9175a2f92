/*
 * fido2gate-web: the homeserver's OpenID Connect provider over HTTP, a thin
 * unprivileged client of fido2gated (docs/oidc.md). Runs in the
 * foreground; every path and limit is a flag, and nothing in the
 * environment changes what it does.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <curl/curl.h>

#include "intl.h"
#include "web.h"

#define DEFAULT_THREADS 4
#define DEFAULT_MAX_CONNECTIONS 256
#define DEFAULT_MAX_PER_IP 32
#define DEFAULT_TIMEOUT_S 5
#define DEFAULT_MEMORY_LIMIT 32768
#define DEFAULT_MAX_BODY 16384
#define DEFAULT_AGENT_TIMEOUT_MS 5000
#define DEFAULT_REQUEST_TIMEOUT_S 10
#define DEFAULT_BUDGET_TABLE 16384
/* Request budgets per client address (an IPv6 /64), in requests a
 * minute and a burst. A person's sign-in is an /authorize, a
 * /login/begin or two, a /login/finish: 5 a second, and 40 at once (a
 * dozen people clicking at nine), lets a busy office behind one NAT sign
 * in, and keeps one address from filling the agent's tables. /token and
 * /userinfo come from the homeserver, one address for every user's
 * sign-in: 10 a second, 100 at once, is a homeserver's busy minute.
 * Discovery and keys are fetched by relying parties at start and on a
 * key rotation. */
#define DEFAULT_LOGIN_PER_MIN (5 * 60)
#define DEFAULT_LOGIN_BURST 40
#define DEFAULT_TOKEN_PER_MIN (10 * 60)
#define DEFAULT_TOKEN_BURST 100
#define DEFAULT_DOCUMENT_PER_MIN (20 * 60)
#define DEFAULT_DOCUMENT_BURST 100
#define LISTEN_BACKLOG 128

/* --listen-mode and --listen-group, for a Unix socket */
struct unix_perm {
	bool mode_set, group_set;
	mode_t mode;
	gid_t gid;
	const char *group;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: fido2gate-web --agent SOCKET --listen ADDR:PORT [options]\n"
	    "\n"
	    "The web front of fido2gate: the OpenID Connect endpoints and the\n"
	    "login page, relaying every decision to fido2gated "
	    "(docs/oidc.md).\n"
	    "\n"
	    "  --agent SOCKET            the agent's socket (absolute path)\n"
	    "  --listen ADDR:PORT        where to serve HTTP: 127.0.0.1:8080,\n"
	    "                            [::1]:8080, or unix:/path/to/socket;\n"
	    "                            port 0 takes a free one (logged)\n"
	    "  --base-url URL            the issuer as browsers see it, e.g.\n"
	    "                            "
	    "https://matrix.example.org/_fido2gate;\n"
	    "                            its origin is the default --origin\n"
	    "  --origin URL              the only Origin the login page's\n"
	    "                            requests may carry (default: that of\n"
	    "                            --base-url, else the request's Host)\n"
	    "  --listen-mode MODE        a Unix socket's mode, octal (0660:\n"
	    "                            the owner and the group only)\n"
	    "  --listen-group GROUP      a Unix socket's group (the proxy's)\n"
	    "  --trusted-proxy ADDR[/N]  a reverse proxy whose "
	    "X-Forwarded-For\n"
	    "                            names the client (repeatable, or a\n"
	    "                            comma list); a Unix socket's peer\n"
	    "                            always is one\n"
	    "  --threads N               libmicrohttpd's thread pool (%d)\n"
	    "  --max-connections N       HTTP connections at most (%d)\n"
	    "  --max-connections-per-ip N  from one address, not a trusted\n"
	    "                            proxy (%d)\n"
	    "  --timeout SECONDS         a connection's idle time (%d)\n"
	    "  --request-timeout SECONDS a request's headers and body, in all\n"
	    "                            (%d)\n"
	    "  --memory-limit BYTES      per connection: headers and buffers "
	    "(%d)\n"
	    "  --max-body BYTES          a request body; more is 413 (%d)\n"
	    "  --agent-timeout MS        the agent's connection and answer "
	    "(%d)\n"
	    "  --login-budget RATE,BURST   per client address: /authorize,\n"
	    "                            /login/*, /upstream/callback (5,40)\n"
	    "  --token-budget RATE,BURST   /token, /userinfo (10,100)\n"
	    "  --document-budget RATE,BURST  discovery, keys (20,100)\n"
	    "                            RATE a second (N or N/s) or a minute\n"
	    "                            (N/m); \"off\": no budget; over it, "
	    "429\n"
	    "  --budget-table N          client addresses remembered (%d)\n"
	    "  --help, --version\n",
	    DEFAULT_THREADS, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_PER_IP,
	    DEFAULT_TIMEOUT_S, DEFAULT_REQUEST_TIMEOUT_S, DEFAULT_MEMORY_LIMIT,
	    DEFAULT_MAX_BODY, DEFAULT_AGENT_TIMEOUT_MS, DEFAULT_BUDGET_TABLE);
}

/* jansson's memory goes back wiped: it held passwords, codes, tokens */
static void
wipe_free(void *p)
{
	if (p == NULL)
		return;
	explicit_bzero(p, malloc_usable_size(p));
	free(p);
}

static bool
parse_uint(
    const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	if (s == NULL || *s < '0' || *s > '9')
		return false;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* --listen-group: a name or a number */
static bool
parse_group(const char *s, gid_t *gid)
{
	struct group *gr;
	unsigned long v;

	if ((gr = getgrnam(s)) != NULL) {
		*gid = gr->gr_gid;
		return true;
	}
	if (!parse_uint(s, 0, UINT32_MAX - 1, &v))
		return false;
	*gid = (gid_t)v;
	return true;
}

static bool
parse_mode(const char *s, mode_t *mode)
{
	unsigned long v;
	char *end;

	if (*s < '0' || *s > '7')
		return false;
	errno = 0;
	v = strtoul(s, &end, 8);
	if (errno != 0 || *end != '\0' || v > 0777)
		return false;
	*mode = (mode_t)v;
	return true;
}

/* The socket is bound with its final mode (under a umask that gives it),
 * given its group, then listens: nobody can connect before it has both. */
static int
listen_unix(const char *path, const struct unix_perm *perm, bool *usage,
    char *err, size_t errlen)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct group *gr;
	struct stat sb;
	mode_t old = 0;
	int fd;

	if (path[0] != '/' || strlen(path) >= sizeof(sa.sun_path)) {
		*usage = true;
		snprintf(err, errlen,
		    "unix:%s: the path must be absolute and "
		    "shorter than %zu bytes",
		    path, sizeof(sa.sun_path));
		return -1;
	}
	if (lstat(path, &sb) == 0) {
		if (!S_ISSOCK(sb.st_mode)) {
			snprintf(
			    err, errlen, "%s exists and is not a socket", path);
			return -1;
		}
		unlink(path); /* a socket a previous run left */
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (perm->mode_set)
		old = umask((mode_t)(~perm->mode & 0777));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", path,
		    strerror(errno));
		if (perm->mode_set)
			umask(old);
		close(fd);
		return -1;
	}
	if (perm->mode_set)
		umask(old);
	if (perm->group_set && chown(path, (uid_t)-1, perm->gid) != 0) {
		snprintf(err, errlen,
		    "cannot give %s to the group %s: %s (the front's user "
		    "must be a member of it)",
		    path, perm->group, strerror(errno));
		goto fail;
	}
	if ((perm->mode_set && chmod(path, perm->mode) != 0) ||
	    listen(fd, LISTEN_BACKLOG) != 0 || lstat(path, &sb) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	gr = getgrgid(sb.st_gid);
	fprintf(stderr,
	    "fido2gate-web: listening on unix:%s (mode %04o, group %s)\n", path,
	    (unsigned)(sb.st_mode & 07777), gr != NULL ? gr->gr_name : "?");
	return fd;
fail:
	close(fd);
	unlink(path);
	return -1;
}

/* ADDR:PORT, [ADDR6]:PORT or unix:PATH: a listening socket, or -1 (and
 * *usage when spec itself is malformed) */
static int
listen_on(const char *spec, const struct unix_perm *perm, bool *usage,
    char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	char host[INET6_ADDRSTRLEN + 2], shown[INET6_ADDRSTRLEN];
	const char *colon, *h = spec;
	unsigned long port;
	size_t hlen;
	int fd = -1, one = 1;
	bool loopback;

	*usage = false;
	if (strncmp(spec, "unix:", 5) == 0)
		return listen_unix(spec + 5, perm, usage, err, errlen);
	memset(&ss, 0, sizeof(ss));
	if ((colon = strrchr(spec, ':')) == NULL ||
	    !parse_uint(colon + 1, 0, 65535, &port))
		goto bad;
	hlen = (size_t)(colon - spec);
	if (hlen >= 2 && spec[0] == '[' && spec[hlen - 1] == ']') {
		h = spec + 1;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		goto bad;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr) ==
	    1) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		sslen = sizeof(*sin);
		loopback = (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	} else if (h != spec &&
	    inet_pton(AF_INET6, host,
		&((struct sockaddr_in6 *)&ss)->sin6_addr) == 1) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		sslen = sizeof(*sin6);
		loopback = IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
	} else {
		goto bad;
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    (ss.ss_family == AF_INET6 &&
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) !=
		    0) ||
	    bind(fd, (struct sockaddr *)&ss, sslen) != 0 ||
	    listen(fd, LISTEN_BACKLOG) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sslen) != 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", spec,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr,
		    shown, sizeof(shown));
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		fprintf(stderr, "fido2gate-web: listening on http://%s:%lu\n",
		    shown, port);
	} else {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
		    shown, sizeof(shown));
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		fprintf(stderr, "fido2gate-web: listening on http://[%s]:%lu\n",
		    shown, port);
	}
	if (!loopback)
		fprintf(stderr,
		    "fido2gate-web: note: %s is not a loopback "
		    "address; this is plain HTTP, meant to sit "
		    "behind a TLS reverse proxy\n",
		    host);
	return fd;
bad:
	*usage = true;
	snprintf(err, errlen,
	    "--listen %s: expected ADDR:PORT with a numeric "
	    "address, [ADDR6]:PORT or unix:/path",
	    spec);
	return -1;
}

static bool
trusts_loopback(const struct fg_web_conf *conf)
{
	struct fg_ip v4 = {AF_INET, {127, 0, 0, 1}}, v6 = {AF_INET6, {0}};

	v6.a[15] = 1;
	return fg_proxies_has(&conf->proxies, &v4) ||
	    fg_proxies_has(&conf->proxies, &v6);
}

int
main(int argc, char **argv)
{
	enum {
		O_AGENT = 256,
		O_LISTEN,
		O_BASE_URL,
		O_ORIGIN,
		O_THREADS,
		O_MAX_CONN,
		O_MAX_PER_IP,
		O_TIMEOUT,
		O_MEMORY,
		O_MAX_BODY,
		O_AGENT_TIMEOUT,
		O_LISTEN_MODE,
		O_LISTEN_GROUP,
		O_TRUSTED_PROXY,
		O_REQUEST_TIMEOUT,
		O_LOGIN_BUDGET,
		O_TOKEN_BUDGET,
		O_DOCUMENT_BUDGET,
		O_BUDGET_TABLE,
		O_HELP,
		O_VERSION,
	};
	static const struct option opts[] = {
	    {"agent", required_argument, NULL, O_AGENT},
	    {"listen", required_argument, NULL, O_LISTEN},
	    {"base-url", required_argument, NULL, O_BASE_URL},
	    {"origin", required_argument, NULL, O_ORIGIN},
	    {"threads", required_argument, NULL, O_THREADS},
	    {"max-connections", required_argument, NULL, O_MAX_CONN},
	    {"max-connections-per-ip", required_argument, NULL, O_MAX_PER_IP},
	    {"timeout", required_argument, NULL, O_TIMEOUT},
	    {"memory-limit", required_argument, NULL, O_MEMORY},
	    {"max-body", required_argument, NULL, O_MAX_BODY},
	    {"agent-timeout", required_argument, NULL, O_AGENT_TIMEOUT},
	    {"listen-mode", required_argument, NULL, O_LISTEN_MODE},
	    {"listen-group", required_argument, NULL, O_LISTEN_GROUP},
	    {"trusted-proxy", required_argument, NULL, O_TRUSTED_PROXY},
	    {"request-timeout", required_argument, NULL, O_REQUEST_TIMEOUT},
	    {"login-budget", required_argument, NULL, O_LOGIN_BUDGET},
	    {"token-budget", required_argument, NULL, O_TOKEN_BUDGET},
	    {"document-budget", required_argument, NULL, O_DOCUMENT_BUDGET},
	    {"budget-table", required_argument, NULL, O_BUDGET_TABLE},
	    {"help", no_argument, NULL, O_HELP},
	    {"version", no_argument, NULL, O_VERSION},
	    {NULL, 0, NULL, 0},
	};
	struct fg_web_conf conf = {
	    .agent = {NULL, DEFAULT_AGENT_TIMEOUT_MS},
	    .listen_fd = -1,
	    .threads = DEFAULT_THREADS,
	    .max_connections = DEFAULT_MAX_CONNECTIONS,
	    .max_per_ip = DEFAULT_MAX_PER_IP,
	    .timeout_s = DEFAULT_TIMEOUT_S,
	    .request_timeout_s = DEFAULT_REQUEST_TIMEOUT_S,
	    .memory_limit = DEFAULT_MEMORY_LIMIT,
	    .max_body = DEFAULT_MAX_BODY,
	    .budget =
		{
		    [FG_BUDGET_LOGIN] = {DEFAULT_LOGIN_PER_MIN,
			DEFAULT_LOGIN_BURST},
		    [FG_BUDGET_TOKEN] = {DEFAULT_TOKEN_PER_MIN,
			DEFAULT_TOKEN_BURST},
		    [FG_BUDGET_DOCUMENT] = {DEFAULT_DOCUMENT_PER_MIN,
			DEFAULT_DOCUMENT_BURST},
		},
	    .budget_table = DEFAULT_BUDGET_TABLE,
	};
	struct unix_perm perm = {.mode_set = false};
	enum fg_budget_class cls;
	const char *listen_spec = NULL, *base_url = NULL, *origin = NULL;
	const char *why;
	char base_origin[FG_ORIGIN_MAX + 1], check[FG_ORIGIN_MAX + 1];
	char err[512];
	struct fg_web *w = NULL;
	unsigned long v;
	sigset_t stop;
	bool usage_error;
	int c, sig;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case O_AGENT:
			conf.agent.socket = optarg;
			break;
		case O_LISTEN:
			listen_spec = optarg;
			break;
		case O_BASE_URL:
			base_url = optarg;
			break;
		case O_ORIGIN:
			origin = optarg;
			break;
		case O_THREADS:
			if (!parse_uint(optarg, 1, 64, &v))
				goto bad_number;
			conf.threads = (unsigned)v;
			break;
		case O_MAX_CONN:
			if (!parse_uint(optarg, 1, 65536, &v))
				goto bad_number;
			conf.max_connections = (unsigned)v;
			break;
		case O_MAX_PER_IP:
			if (!parse_uint(optarg, 1, 65536, &v))
				goto bad_number;
			conf.max_per_ip = (unsigned)v;
			break;
		case O_TIMEOUT:
			if (!parse_uint(optarg, 1, 600, &v))
				goto bad_number;
			conf.timeout_s = (unsigned)v;
			break;
		case O_MEMORY:
			if (!parse_uint(optarg, 8192, 1u << 20, &v))
				goto bad_number;
			conf.memory_limit = v;
			break;
		case O_MAX_BODY:
			if (!parse_uint(optarg, 1024, 1u << 20, &v))
				goto bad_number;
			conf.max_body = v;
			break;
		case O_AGENT_TIMEOUT:
			if (!parse_uint(optarg, 100, 60000, &v))
				goto bad_number;
			conf.agent.timeout_ms = (int)v;
			break;
		case O_LISTEN_MODE:
			if (!parse_mode(optarg, &perm.mode)) {
				fprintf(stderr,
				    "fido2gate-web: --listen-mode %s: an "
				    "octal mode, e.g. 0660\n",
				    optarg);
				return 2;
			}
			perm.mode_set = true;
			break;
		case O_LISTEN_GROUP:
			if (!parse_group(optarg, &perm.gid)) {
				fprintf(stderr,
				    "fido2gate-web: --listen-group %s: no "
				    "such group\n",
				    optarg);
				return 2;
			}
			perm.group = optarg;
			perm.group_set = true;
			break;
		case O_TRUSTED_PROXY:
			if (fg_proxies_add(&conf.proxies, optarg, &why) !=
			    FG_OK) {
				fprintf(stderr,
				    "fido2gate-web: --trusted-proxy %s: %s\n",
				    optarg, why);
				return 2;
			}
			break;
		case O_REQUEST_TIMEOUT:
			if (!parse_uint(optarg, 1, 600, &v))
				goto bad_number;
			conf.request_timeout_s = (unsigned)v;
			break;
		case O_LOGIN_BUDGET:
		case O_TOKEN_BUDGET:
		case O_DOCUMENT_BUDGET:
			cls = c == O_LOGIN_BUDGET ? FG_BUDGET_LOGIN
			    : c == O_TOKEN_BUDGET ? FG_BUDGET_TOKEN
						  : FG_BUDGET_DOCUMENT;
			if (fg_rate_parse(optarg, &conf.budget[cls]) != FG_OK) {
				fprintf(stderr,
				    "fido2gate-web: %s: expected RATE,BURST "
				    "(RATE a second, or N/m a minute, up to "
				    "%d/s; BURST up to %d) or off\n",
				    optarg, FG_RATE_MAX, FG_BURST_MAX);
				return 2;
			}
			break;
		case O_BUDGET_TABLE:
			if (!parse_uint(optarg, 16, FG_BUDGET_TABLE_MAX, &v))
				goto bad_number;
			conf.budget_table = (size_t)v;
			break;
		case O_HELP:
			usage(stdout);
			return 0;
		case O_VERSION:
			printf("fido2gate-web %s\n", FG_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "fido2gate-web: unexpected argument %s\n",
		    argv[optind]);
		return 2;
	}
	if (conf.agent.socket == NULL || listen_spec == NULL) {
		fprintf(stderr,
		    "fido2gate-web: --agent and --listen are "
		    "required\n");
		usage(stderr);
		return 2;
	}
	if (conf.agent.socket[0] != '/' ||
	    strlen(conf.agent.socket) >= FG_SOCKET_PATH_MAX) {
		fprintf(stderr,
		    "fido2gate-web: --agent: an absolute path "
		    "shorter than %d bytes\n",
		    FG_SOCKET_PATH_MAX);
		return 2;
	}
	if ((perm.mode_set || perm.group_set) &&
	    strncmp(listen_spec, "unix:", 5) != 0) {
		fprintf(stderr,
		    "fido2gate-web: --listen-mode and --listen-group are "
		    "for --listen unix:PATH\n");
		return 2;
	}
	if (conf.max_connections < conf.threads ||
	    conf.max_per_ip > conf.max_connections) {
		fprintf(stderr,
		    "fido2gate-web: need --threads <= "
		    "--max-connections and --max-connections-per-ip "
		    "<= --max-connections\n");
		return 2;
	}
	if (base_url != NULL &&
	    !fg_url_origin(base_url, base_origin, sizeof(base_origin))) {
		fprintf(stderr,
		    "fido2gate-web: --base-url: not an http(s) "
		    "URL\n");
		return 2;
	}
	if (origin != NULL &&
	    (!fg_url_origin(origin, check, sizeof(check)) ||
		strcmp(check, origin) != 0)) {
		fprintf(stderr,
		    "fido2gate-web: --origin: expected "
		    "scheme://host[:port], nothing after\n");
		return 2;
	}
	if (origin != NULL && base_url != NULL &&
	    strcmp(origin, base_origin) != 0) {
		fprintf(stderr,
		    "fido2gate-web: --origin %s is not the origin "
		    "of --base-url (%s), where the login page is\n",
		    origin, base_origin);
		return 2;
	}
	conf.origin = origin != NULL ? origin
	    : base_url != NULL	     ? base_origin
				     : NULL;
	conf.base_url = base_url;

	/* before any thread and any JSON: jansson's hash seed, and its
	 * memory wiped on release */
	json_object_seed(0);
	json_set_alloc_funcs(malloc, wipe_free);
	/* the pages' French, from the catalog, before any thread: gettext
	 * is asked once per text, never per request */
	if (fg_html_load(FG_LOCALEDIR) == 0)
		fprintf(stderr,
		    "fido2gate-web: no French catalog under %s: pages in "
		    "English only\n",
		    FG_LOCALEDIR);
	/* libcurl's global state (the organisation's provider), before
	 * any thread */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "fido2gate-web: libcurl cannot start\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	/* blocked here, so libmicrohttpd's threads inherit the mask and
	 * only sigwait below takes them */
	pthread_sigmask(SIG_BLOCK, &stop, NULL);

	if ((conf.listen_fd = listen_on(
		 listen_spec, &perm, &usage_error, err, sizeof(err))) < 0) {
		fprintf(stderr, "fido2gate-web: %s\n", err);
		return usage_error ? 2 : 1;
	}
	if (strncmp(listen_spec, "unix:", 5) != 0 && trusts_loopback(&conf))
		fprintf(stderr,
		    "fido2gate-web: note: --trusted-proxy trusts loopback: "
		    "every local user can connect to %s and name any client "
		    "in X-Forwarded-For; on a shared host listen on a Unix "
		    "socket that only the proxy can reach (--listen "
		    "unix:PATH --listen-mode 0660)\n",
		    listen_spec);
	if (fg_web_start(&conf, &w, err, sizeof(err)) != FG_OK) {
		fprintf(stderr, "fido2gate-web: %s\n", err);
		close(conf.listen_fd);
		return 1;
	}
	fprintf(stderr,
	    "fido2gate-web: serving for the agent at %s; origin "
	    "%s\n",
	    conf.agent.socket,
	    conf.origin != NULL ? conf.origin : "(the Host)");
	while (sigwait(&stop, &sig) != 0)
		;
	fprintf(stderr, "fido2gate-web: signal %d: stopping\n", sig);
	fg_web_stop(&w); /* closes the listening socket too */
	curl_global_cleanup();
	if (strncmp(listen_spec, "unix:", 5) == 0)
		unlink(listen_spec + 5);
	return 0;
bad_number:
	fprintf(stderr,
	    "fido2gate-web: a number out of range: %s (see "
	    "--help)\n",
	    optarg);
	return 2;
}
