/*
 * The agent's configuration: sensible defaults with no file at all, and an
 * INI file (parsed by inih) to override them. Unknown sections, keys and
 * values are errors: a typo must not silently weaken a policy.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "agent.h"

struct parse {
	struct fg_config *cfg;
	char **extra; /* configured origins */
	size_t n_extra;
	char *err;
	size_t errlen;
};

/* The host's fully qualified name, as the resolver knows it. */
static void
default_rp_id(char *out, size_t len)
{
	struct addrinfo hints = { .ai_flags = AI_CANONNAME }, *ai = NULL;
	char host[256];

	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	if (getaddrinfo(host, NULL, &hints, &ai) == 0 && ai != NULL &&
	    ai->ai_canonname != NULL && strchr(ai->ai_canonname, '.') != NULL)
		snprintf(out, len, "%.253s", ai->ai_canonname);
	else
		snprintf(out, len, "%.253s", host);
	if (ai != NULL)
		freeaddrinfo(ai);
}

bool
fg_config_uint(const char *v, unsigned long min, unsigned long max,
    unsigned long *out)
{
	char *end;
	unsigned long n;

	if (*v < '0' || *v > '9')
		return false;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno != 0 || *end != '\0' || n < min || n > max)
		return false;
	*out = n;
	return true;
}

/* An RP ID is a domain name: lower-case labels, digits, '-' and '.'. */
static bool
rp_id_valid(const char *v)
{
	size_t i, n = strlen(v);

	if (n == 0 || n > 253 || v[0] == '.' || v[0] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') ||
			(v[i] >= '0' && v[i] <= '9') || v[i] == '-' ||
			v[i] == '.'))
			return false;
	return true;
}

static int
add_origins(struct parse *p, const char *v)
{
	char *copy, *tok, *save = NULL;

	if ((copy = strdup(v)) == NULL)
		return 0;
	for (tok = strtok_r(copy, " \t,", &save); tok != NULL;
	     tok = strtok_r(NULL, " \t,", &save)) {
		char **n = realloc(p->extra, (p->n_extra + 1) * sizeof(*n));
		if (n == NULL || strlen(tok) > 512 ||
		    strstr(tok, "://") == NULL) {
			if (n != NULL)
				p->extra = n;
			free(copy);
			return 0;
		}
		p->extra = n;
		if ((p->extra[p->n_extra] = strdup(tok)) == NULL) {
			free(copy);
			return 0;
		}
		p->n_extra++;
	}
	free(copy);
	return 1;
}

static int
handler(void *user, const char *section, const char *name, const char *v)
{
	struct parse *p = user;
	struct fg_config *c = p->cfg;
	unsigned long n;

#define IS(s, k) (strcmp(section, s) == 0 && strcmp(name, k) == 0)
	if (IS("relying_party", "id")) {
		if (!rp_id_valid(v))
			goto bad;
		snprintf(c->rp_id, sizeof(c->rp_id), "%s", v);
	} else if (IS("relying_party", "name")) {
		if (strlen(v) >= sizeof(c->rp_name))
			goto bad;
		snprintf(c->rp_name, sizeof(c->rp_name), "%s", v);
	} else if (IS("relying_party", "origins")) {
		if (!add_origins(p, v))
			goto bad;
	} else if (IS("policy", "user_verification")) {
		if (fg_uv_policy_parse(v, &c->uv) != FG_OK)
			goto bad;
	} else if (IS("policy", "attestation")) {
		if (strcmp(v, "required") == 0)
			c->attestation_required = true;
		else if (strcmp(v, "optional") == 0)
			c->attestation_required = false;
		else
			goto bad;
	} else if (IS("limits", "challenge_timeout")) {
		if (!fg_config_uint(v, 1, 600, &n))
			goto bad;
		c->challenge_timeout = (unsigned)n;
	} else if (IS("limits", "max_pending")) {
		if (!fg_config_uint(v, 1, 10000000, &n))
			goto bad;
		c->max_pending = n;
	} else if (IS("limits", "max_connections")) {
		if (!fg_config_uint(v, 2, 65536, &n))
			goto bad;
		c->max_connections = n;
	} else if (IS("limits", "max_connections_per_uid")) {
		if (!fg_config_uint(v, 1, 65536, &n))
			goto bad;
		c->max_connections_per_uid = n;
	} else if (IS("limits", "root_reserved_connections")) {
		if (!fg_config_uint(v, 1, 65535, &n))
			goto bad;
		c->root_reserved = n;
	} else if (IS("limits", "max_pending_web")) {
		if (!fg_config_uint(v, 1, 10000000, &n))
			goto bad;
		c->max_pending_web = n;
	} else if (IS("limits", "max_pending_per_user")) {
		if (!fg_config_uint(v, 1, 1000, &n))
			goto bad;
		c->max_pending_per_user = n;
	} else if (IS("limits", "max_credentials_per_user")) {
		/* 40 IDs of the longest kind still fit one 64 KiB reply */
		if (!fg_config_uint(v, 1, 40, &n))
			goto bad;
		c->max_credentials = n;
	} else if (IS("limits", "max_message")) {
		if (!fg_config_uint(v, 1024, FG_MSG_MAX, &n))
			goto bad;
		c->max_message = n;
	} else if (IS("limits", "idle_timeout")) {
		if (!fg_config_uint(v, 1, 3600, &n))
			goto bad;
		c->idle_timeout = (unsigned)n;
	} else if (IS("rate_limit", "caller_rate")) {
		if (!fg_config_uint(v, 1, 100000, &n))
			goto bad;
		c->caller_rate = (unsigned)n;
	} else if (IS("rate_limit", "caller_burst")) {
		if (!fg_config_uint(v, 1, 100000, &n))
			goto bad;
		c->caller_burst = (unsigned)n;
	} else if (IS("rate_limit", "backoff_after")) {
		if (!fg_config_uint(v, 1, 1000, &n))
			goto bad;
		c->backoff_after = (unsigned)n;
	} else if (IS("rate_limit", "backoff_base")) {
		if (!fg_config_uint(v, 1, 3600, &n))
			goto bad;
		c->backoff_base = (unsigned)n;
	} else if (IS("rate_limit", "backoff_max")) {
		if (!fg_config_uint(v, 1, 86400, &n))
			goto bad;
		c->backoff_max = (unsigned)n;
	} else if (IS("rate_limit", "lockout_after")) {
		if (!fg_config_uint(v, 0, 1000, &n))
			goto bad;
		c->lockout_after = (unsigned)n;
	} else if (IS("rate_limit", "failure_window")) {
		if (!fg_config_uint(v, 60, 30 * 86400, &n))
			goto bad;
		c->failure_window = (unsigned)n;
	} else if (IS("access", "admin_group")) {
		if (strlen(v) == 0 || strlen(v) >= sizeof(c->admin_group))
			goto bad;
		snprintf(c->admin_group, sizeof(c->admin_group), "%s", v);
	} else {
		int r = fg_gate_setting(&c->gate, section, name, v, p->err,
		    p->errlen);
		if (r >= 0)
			return r;
		snprintf(p->err, p->errlen, "unknown setting [%s] %s", section,
		    name);
		return 0;
	}
	return 1;
#undef IS
bad:
	snprintf(p->err, p->errlen, "bad value for [%s] %s: \"%.64s\"", section,
	    name, v);
	return 0;
}

/* The policy must be as trustworthy as the agent: a regular file that only
 * the agent's user or root owns and only they can write. */
static bool
config_file_safe(int fd, const char *path, char *err, size_t errlen)
{
	struct stat sb;

	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return false;
	}
	if (sb.st_uid != geteuid() && sb.st_uid != 0) {
		snprintf(err, errlen,
		    "%s: must be owned by uid %u or root, not uid %u", path,
		    (unsigned)geteuid(), (unsigned)sb.st_uid);
		return false;
	}
	if ((sb.st_mode & 022) != 0) {
		snprintf(err, errlen,
		    "%s: writable by group or others (mode %03o); run chmod "
		    "go-w on it",
		    path, (unsigned)(sb.st_mode & 0777));
		return false;
	}
	return true;
}

int
fg_config_load(const char *path, struct fg_config *cfg, char *err,
    size_t errlen)
{
	struct parse p = { .cfg = cfg, .err = err, .errlen = errlen };
	FILE *f = NULL;
	size_t i;
	int fd, line, ret = FG_ERR_INVALID;

	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->rp_name, sizeof(cfg->rp_name), "fido2gate");
	cfg->uv = FG_UV_PREFERRED;
	cfg->challenge_timeout = 60;
	cfg->max_pending = 65536;
	cfg->max_connections = 256;
	cfg->max_connections_per_uid = 16;
	cfg->root_reserved = 0; /* max_connections / 8, unless set */
	cfg->max_pending_per_user = 8;
	cfg->max_pending_web = 16384;
	cfg->max_message = FG_MSG_MAX;
	cfg->max_credentials = 16;
	cfg->idle_timeout = 120;
	cfg->caller_rate = 10;
	cfg->caller_burst = 30;
	cfg->backoff_after = 3;
	cfg->backoff_base = 1;
	cfg->backoff_max = 60;
	cfg->lockout_after = 10;
	cfg->failure_window = 900;
	snprintf(cfg->admin_group, sizeof(cfg->admin_group), "fido2gate-admin");
	fg_gate_defaults(&cfg->gate);
	snprintf(err, errlen, "no error");

	if (path != NULL) {
		if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 ||
		    (f = fdopen(fd, "r")) == NULL) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			if (fd >= 0)
				close(fd);
			ret = FG_ERR_IO;
			goto out;
		}
		if (!config_file_safe(fileno(f), path, err, errlen)) {
			ret = FG_ERR_DENIED;
			goto out;
		}
		line = ini_parse_file(f, handler, &p);
		if (line != 0) {
			char msg[256];
			snprintf(msg, sizeof(msg), "%s", err);
			snprintf(err, errlen, "%s:%d: %s", path, line, msg);
			goto out;
		}
	}
	if (cfg->idle_timeout <= cfg->challenge_timeout) {
		snprintf(err, errlen,
		    "[limits] idle_timeout (%u s) must exceed challenge_timeout "
		    "(%u s): a client waits for a touch on an open connection",
		    cfg->idle_timeout, cfg->challenge_timeout);
		goto out;
	}
	if (cfg->root_reserved == 0)
		cfg->root_reserved = cfg->max_connections > 8 ?
		    cfg->max_connections / 8 :
		    1;
	if (cfg->root_reserved >= cfg->max_connections) {
		snprintf(err, errlen,
		    "[limits] root_reserved_connections (%zu) must be below "
		    "max_connections (%zu)",
		    cfg->root_reserved, cfg->max_connections);
		goto out;
	}
	if (cfg->lockout_after != 0 &&
	    cfg->lockout_after < cfg->backoff_after) {
		snprintf(err, errlen,
		    "[rate_limit] lockout_after must be 0 or at least "
		    "backoff_after");
		goto out;
	}
	if (fg_gate_check(&cfg->gate, err, errlen) != FG_OK)
		goto out;
	if (cfg->rp_id[0] == '\0')
		default_rp_id(cfg->rp_id, sizeof(cfg->rp_id));
	ret = FG_ERR_NOMEM;
	if ((cfg->origins = calloc(p.n_extra + 1, sizeof(char *))) == NULL)
		goto out;
	if (asprintf(&cfg->origins[0], "pam://%s", cfg->rp_id) < 0) {
		cfg->origins[0] = NULL;
		goto out;
	}
	cfg->n_origins = 1;
	for (i = 0; i < p.n_extra; i++) {
		cfg->origins[cfg->n_origins++] = p.extra[i];
		p.extra[i] = NULL;
	}
	ret = FG_OK;
out:
	for (i = 0; i < p.n_extra; i++)
		free(p.extra[i]);
	free(p.extra);
	if (f != NULL)
		fclose(f);
	if (ret != FG_OK)
		fg_config_clear(cfg);
	return ret;
}

void
fg_config_clear(struct fg_config *cfg)
{
	size_t i;

	for (i = 0; i < cfg->n_origins; i++)
		free(cfg->origins[i]);
	free(cfg->origins);
	cfg->origins = NULL;
	cfg->n_origins = 0;
	fg_gate_clear(&cfg->gate);
}
