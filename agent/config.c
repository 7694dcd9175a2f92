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
rp_id_parse(const struct fg_setting *s, void *obj, const char *v,
    struct fg_conf_ctx *x)
{
	struct fg_config *c = obj;
	size_t i, n = strlen(v);

	(void)s;
	(void)x;
	if (n == 0 || n >= sizeof(c->rp_id) || v[0] == '.' || v[0] == '-')
		return false;
	for (i = 0; i < n; i++)
		if (!((v[i] >= 'a' && v[i] <= 'z') ||
			(v[i] >= '0' && v[i] <= '9') || v[i] == '-' ||
			v[i] == '.'))
			return false;
	memcpy(c->rp_id, v, n + 1);
	return true;
}

const struct fg_setting_type fg_type_rp_id = { "domain name", rp_id_parse,
	fg_conf_text_show };

/* Origins after the slot kept for pam://<rp_id>, filled once parsed. */
static bool
origins_parse(const struct fg_setting *s, void *obj, const char *v,
    struct fg_conf_ctx *x)
{
	struct fg_config *c = obj;
	char *copy, *tok, *save = NULL;
	bool ok = false;

	(void)s;
	(void)x;
	if ((copy = strdup(v)) == NULL)
		return false;
	for (tok = strtok_r(copy, " \t,", &save); tok != NULL;
	     tok = strtok_r(NULL, " \t,", &save)) {
		size_t first = c->n_origins == 0 ? 1 : 0;
		char **n = realloc(c->origins,
		    (c->n_origins + first + 1) * sizeof(*n));
		if (n == NULL)
			goto out;
		c->origins = n;
		if (first) {
			c->origins[0] = NULL;
			c->n_origins = 1;
		}
		if (strlen(tok) > 512 || strstr(tok, "://") == NULL ||
		    (c->origins[c->n_origins] = strdup(tok)) == NULL)
			goto out;
		c->n_origins++;
	}
	ok = true;
out:
	free(copy);
	return ok;
}

static void
origins_show(const struct fg_setting *s, const void *obj, FILE *f)
{
	const struct fg_config *c = obj;

	fg_conf_list_show(s, c->origins, c->n_origins, f);
}

const struct fg_setting_type fg_type_origins = { "URLs", origins_parse,
	origins_show };

static bool
uv_parse(const struct fg_setting *s, void *obj, const char *v,
    struct fg_conf_ctx *x)
{
	(void)x;
	return fg_uv_policy_parse(v,
		   (enum fg_uv_policy *)((char *)obj + s->offset)) == FG_OK;
}

static void
uv_show(const struct fg_setting *s, const void *obj, FILE *f)
{
	fprintf(f, "%s = %s\n", s->key,
	    fg_uv_policy_name(
		*(const enum fg_uv_policy *)((const char *)obj + s->offset)));
}

const struct fg_setting_type fg_type_uv = { "choice", uv_parse, uv_show };

static const char *const attest_names[] = { "optional", "required",
	"hardware" };

static bool
attestation_parse(const struct fg_setting *s, void *obj, const char *v,
    struct fg_conf_ctx *x)
{
	size_t i;

	(void)s;
	(void)x;
	for (i = 0; i < sizeof(attest_names) / sizeof(attest_names[0]); i++)
		if (strcmp(v, attest_names[i]) == 0) {
			((struct fg_config *)obj)->attest.require =
			    (enum fg_attest_require)i;
			return true;
		}
	return false;
}

static void
attestation_show(const struct fg_setting *s, const void *obj, FILE *f)
{
	fprintf(f, "%s = %s\n", s->key,
	    attest_names[((const struct fg_config *)obj)->attest.require]);
}

const struct fg_setting_type fg_type_attestation = { "choice",
	attestation_parse, attestation_show };

/* AAGUIDs in their text form, separated by spaces or commas. */
static bool
aaguids_parse(const struct fg_setting *s, void *obj, const char *v,
    struct fg_conf_ctx *x)
{
	struct fg_aaguid_list *l = (void *)((char *)obj + s->offset);
	char *copy, *tok, *save = NULL;
	uint8_t id[16];
	bool ok = false;

	if ((copy = strdup(v)) == NULL)
		return false;
	for (tok = strtok_r(copy, " \t,", &save); tok != NULL;
	     tok = strtok_r(NULL, " \t,", &save)) {
		if (!fg_aaguid_parse(tok, id)) {
			snprintf(x->err, x->errlen,
			    "[%s] %s: \"%.64s\" is not an AAGUID "
			    "(8-4-4-4-12 hex digits)",
			    x->section, s->key, tok);
			goto out;
		}
		if (fg_aaguid_list_add(l, id) != FG_OK)
			goto out;
	}
	ok = true;
out:
	free(copy);
	return ok;
}

static void
aaguids_show(const struct fg_setting *s, const void *obj, FILE *f)
{
	const struct fg_aaguid_list *l = (const void *)((const char *)obj +
	    s->offset);
	char id[37];
	size_t i;

	fprintf(f, "%s =", s->key);
	for (i = 0; i < l->n; i++)
		fprintf(f, " %s", fg_aaguid_text(l->ids[i], id));
	fprintf(f, "\n");
}

const struct fg_setting_type fg_type_aaguids = { "AAGUIDs", aaguids_parse,
	aaguids_show };

struct parse {
	struct fg_conf_ctx x;
	bool failed; /* inih goes on after an error: keep the first's text */
};

/* inih's callback: each line's setting, from the table. */
static int
handler(void *user, const char *section, const char *name, const char *v)
{
	struct parse *p = user;

	if (p->failed)
		return 0;
	if (fg_setting_apply(&p->x, section, name, v) == 1)
		return 1;
	p->failed = true;
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
	struct parse p = { .x = { .cfg = cfg, .section = "", .err = err,
		.errlen = errlen } };
	FILE *f = NULL;
	int fd, line, ret = FG_ERR_INVALID;

	memset(cfg, 0, sizeof(*cfg));
	if (fg_settings_defaults(FG_SCOPE_MAIN, cfg, &p.x) != FG_OK)
		goto out;
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
	snprintf(err, errlen, "no error");
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
	if (cfg->notify_matrix && cfg->gate.hs_admin_url[0] == '\0') {
		snprintf(err, errlen, "[notify] matrix = yes needs "
				      "[homeserver] admin_url and "
				      "admin_token_file");
		goto out;
	}
	if (cfg->attestation_roots[0] != '\0') {
		char msg[256];
		int r;

		if ((r = fg_attest_roots_load(cfg->attestation_roots,
			 &cfg->attest.roots, msg, sizeof(msg))) != FG_OK) {
			snprintf(err, errlen, "[policy] attestation_roots: %s",
			    msg);
			ret = r;
			goto out;
		}
	}
	if (cfg->rp_id[0] == '\0')
		default_rp_id(cfg->rp_id, sizeof(cfg->rp_id));
	ret = FG_ERR_NOMEM;
	if (cfg->n_origins == 0) {
		if ((cfg->origins = calloc(1, sizeof(char *))) == NULL)
			goto out;
		cfg->n_origins = 1;
	}
	if (asprintf(&cfg->origins[0], "pam://%s", cfg->rp_id) < 0) {
		cfg->origins[0] = NULL;
		goto out;
	}
	ret = FG_OK;
out:
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
	fg_attest_policy_clear(&cfg->attest);
	fg_gate_clear(&cfg->gate);
}
