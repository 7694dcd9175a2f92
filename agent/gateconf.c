/*
 * The homeserver gate's settings: [web] (the web front's user, the first
 * factor), [oidc] (the issuer and lifetimes), [homeserver] (who may ask
 * login.check, and how it decides) and one [client.NAME] per OpenID
 * Connect client. As for every setting, an unknown key or a bad value
 * stops the agent: a typo must not open the gate.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "agent.h"

#define SECRET_MIN 16
#define SECRET_MAX 512

static bool
user_uid(const char *name, uid_t *out)
{
	struct passwd pw, *pwp = NULL;
	char buf[4096];

	if (getpwnam_r(name, &pw, buf, sizeof(buf), &pwp) != 0 || pwp == NULL)
		return false;
	*out = pw.pw_uid;
	return true;
}

/* An absolute http(s) URL without query or fragment: an issuer, or a
 * redirect URI compared byte for byte. */
static bool
url_valid(const char *v, bool allow_query)
{
	size_t n = strlen(v);

	if (n == 0 || n > FG_ORIGIN_MAX || !fg_text_printable(v, n) ||
	    strchr(v, ' ') != NULL || strchr(v, '#') != NULL ||
	    (!allow_query && strchr(v, '?') != NULL))
		return false;
	return strncmp(v, "https://", 8) == 0 || strncmp(v, "http://", 7) == 0;
}

/*
 * A secret from a file only the agent can read: a regular file (not a
 * symlink) of the agent's user or root, mode 0600 or stricter. Its text,
 * without the final newline, in buf (NUL-terminated); key names the
 * setting in messages.
 */
static bool
secret_file(const char *path, const char *key, char buf[SECRET_MAX + 2],
    size_t *len, char *err, size_t errlen)
{
	struct stat sb;
	ssize_t n;
	int fd;
	bool ok = false;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
		snprintf(err, errlen, "%s %s: %s", key, path, strerror(errno));
		return false;
	}
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    (sb.st_mode & 077) != 0 ||
	    (sb.st_uid != geteuid() && sb.st_uid != 0)) {
		snprintf(err, errlen,
		    "%s %s: must be a regular file of the agent's user or "
		    "root, mode 0600 or stricter",
		    key, path);
		goto out;
	}
	if ((n = read(fd, buf, SECRET_MAX + 1)) < 0) {
		snprintf(err, errlen, "%s %s: %s", key, path, strerror(errno));
		goto out;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	*len = (size_t)n;
	ok = true;
out:
	close(fd);
	return ok;
}

/*
 * A client's secret, kept in memory only as its SHA-256: secrets are
 * random, so a fast hash suffices. Only characters that form-encoding
 * leaves alone: RFC 6749 §2.3.1 form-encodes the secret inside HTTP Basic,
 * and clients differ on whether they do (Synapse's authlib does not), so a
 * '+' or a '%' would be read one way by some and another way by others.
 */
static bool
read_secret(const char *path, uint8_t hash[32], char *err, size_t errlen)
{
	char buf[SECRET_MAX + 2];
	size_t n = 0;
	bool ok = false;

	if (!secret_file(path, "secret_file", buf, &n, err, errlen))
		goto out;
	if (n < SECRET_MIN || n > SECRET_MAX ||
	    strspn(buf, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			"0123456789-._~") != n) {
		snprintf(err, errlen,
		    "secret_file %s: a secret is %d to %d letters, digits, "
		    "'-', '.', '_' or '~' (make one with: openssl rand -hex 32)",
		    path, SECRET_MIN, SECRET_MAX);
		goto out;
	}
	fg_sha256(buf, n, hash);
	ok = true;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return ok;
}

/* [client.NAME]'s object: found, or made with the table's defaults. */
struct fg_oidc_client *
fg_gate_client_for(struct fg_gate *g, const char *section,
    struct fg_conf_ctx *x)
{
	const char *id = section + strlen("client.");
	struct fg_oidc_client *c;
	size_t i, n = strlen(id);

	for (i = 0; i < g->n_clients; i++)
		if (strcmp(g->clients[i].id, id) == 0)
			return &g->clients[i];
	if (n == 0 || n >= sizeof(g->clients[0].id) ||
	    strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		       "0123456789-_.") != n) {
		snprintf(x->err, x->errlen, "[%s]: a client_id is 1 to 63 "
					    "letters, digits, '-', '_' or '.'",
		    section);
		return NULL;
	}
	if (g->n_clients == FG_CLIENTS_MAX) {
		snprintf(x->err, x->errlen, "at most %d clients",
		    FG_CLIENTS_MAX);
		return NULL;
	}
	c = &g->clients[g->n_clients++];
	memcpy(c->id, id, n + 1);
	if (fg_settings_defaults(FG_SCOPE_CLIENT, c, x) != FG_OK)
		return NULL;
	return c;
}

/* secret_file: kept as its hash; given once. */
static bool
client_secret_parse(const struct fg_setting *s, void *obj, const char *v,
    struct fg_conf_ctx *x)
{
	static const uint8_t zero[32];
	struct fg_oidc_client *c = obj;

	(void)s;
	if (CRYPTO_memcmp(c->secret_hash, zero, 32) != 0) {
		snprintf(x->err, x->errlen, "[%s] secret_file given twice",
		    x->section);
		return false;
	}
	return read_secret(v, c->secret_hash, x->err, x->errlen);
}

static void
client_secret_show(const struct fg_setting *s, const void *obj, FILE *f)
{
	static const uint8_t zero[32];
	const struct fg_oidc_client *c = obj;

	fprintf(f, "%s =%s\n", s->key,
	    CRYPTO_memcmp(c->secret_hash, zero, 32) != 0 ? " (read)" : "");
}

const struct fg_setting_type fg_type_client_secret = { "file",
	client_secret_parse, client_secret_show };

static bool
redirect_parse(const struct fg_setting *s, void *obj, const char *v,
    struct fg_conf_ctx *x)
{
	struct fg_oidc_client *c = obj;

	(void)s;
	(void)x;
	if (c->n_redirect == FG_REDIRECTS_MAX || !url_valid(v, true))
		return false;
	if ((c->redirect[c->n_redirect] = strdup(v)) == NULL)
		return false;
	c->n_redirect++;
	return true;
}

static void
redirect_show(const struct fg_setting *s, const void *obj, FILE *f)
{
	const struct fg_oidc_client *c = obj;
	size_t i;

	if (c->n_redirect == 0)
		fprintf(f, "%s =\n", s->key);
	for (i = 0; i < c->n_redirect; i++)
		fprintf(f, "%s = %s\n", s->key, c->redirect[i]);
}

const struct fg_setting_type fg_type_redirect = { "URL", redirect_parse,
	redirect_show };
/* [upstream.NAME]'s object: found, or made with the table's defaults. */
struct fg_upstream *
fg_gate_upstream_for(struct fg_gate *g, const char *section,
    struct fg_conf_ctx *x)
{
	const char *name = section + strlen("upstream.");
	size_t i, n = strlen(name);
	struct fg_upstream *u;

	for (i = 0; i < g->n_upstreams; i++)
		if (strcmp(g->upstreams[i].name, name) == 0)
			return &g->upstreams[i];
	if (n == 0 || n >= sizeof(g->upstreams[0].name) ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != n) {
		snprintf(x->err, x->errlen,
		    "[%s]: an upstream's name is 1 to 63 lower-case letters, "
		    "digits, '-', '_', '.'",
		    section);
		return NULL;
	}
	if (g->n_upstreams == FG_UPSTREAMS_MAX) {
		snprintf(x->err, x->errlen, "at most %d upstreams",
		    FG_UPSTREAMS_MAX);
		return NULL;
	}
	u = &g->upstreams[g->n_upstreams++];
	memcpy(u->name, name, n + 1);
	if (fg_settings_defaults(FG_SCOPE_UPSTREAM, u, x) != FG_OK)
		return NULL;
	return u;
}
/* An upstream's secret as it is, for the front's token request: kept in
 * memory, never logged; whatever the provider issued, if printable. */
static bool
read_plain_secret(const char *path, char **out, char *err, size_t errlen)
{
	char buf[SECRET_MAX + 2];
	size_t n = 0;
	bool ok = false;

	if (!secret_file(path, "client_secret_file", buf, &n, err, errlen))
		goto out;
	if (n < 1 || n > SECRET_MAX || !fg_text_printable(buf, n)) {
		snprintf(err, errlen, "client_secret_file %s: 1 to %d "
				      "printable bytes", path, SECRET_MAX);
		goto out;
	}
	ok = (*out = strdup(buf)) != NULL;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return ok;
}

static bool
plain_secret_parse(const struct fg_setting *s, void *obj, const char *v,
    struct fg_conf_ctx *x)
{
	struct fg_upstream *u = obj;

	(void)s;
	return u->secret == NULL &&
	    read_plain_secret(v, &u->secret, x->err, x->errlen);
}

static void
plain_secret_show(const struct fg_setting *s, const void *obj, FILE *f)
{
	fprintf(f, "%s =%s\n", s->key,
	    ((const struct fg_upstream *)obj)->secret != NULL ? " (read)" : "");
}

const struct fg_setting_type fg_type_plain_secret = { "file",
	plain_secret_parse, plain_secret_show };

/* [homeserver] admin_token_file: the homeserver admin's access token, as
 * it is (a bearer token), from a file only the agent can read. */
static bool
token_file_parse(const struct fg_setting *s, void *obj, const char *v,
    struct fg_conf_ctx *x)
{
	char **p = (char **)(void *)((char *)obj + s->offset);
	char buf[SECRET_MAX + 2];
	size_t n = 0;
	bool ok = false;

	if (*p != NULL || !secret_file(v, s->key, buf, &n, x->err, x->errlen))
		goto out;
	/* printable and without spaces: it goes into an HTTP header */
	if (n < 1 || n > SECRET_MAX || !fg_text_printable(buf, n) ||
	    strchr(buf, ' ') != NULL) {
		snprintf(x->err, x->errlen, "%s %s: 1 to %d printable bytes "
					    "without spaces", s->key, v, SECRET_MAX);
		goto out;
	}
	ok = (*p = strdup(buf)) != NULL;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return ok;
}

static void
token_file_show(const struct fg_setting *s, const void *obj, FILE *f)
{
	char *const *p = (char *const *)(const void *)((const char *)obj +
	    s->offset);

	fprintf(f, "%s =%s\n", s->key, *p != NULL ? " (read)" : "");
}

const struct fg_setting_type fg_type_token_file = { "file",
	token_file_parse, token_file_show };

/* An absolute http(s) URL; a query is allowed (a discovery URL). */
static bool
url_parse(const struct fg_setting *s, void *obj, const char *v,
    struct fg_conf_ctx *x)
{
	(void)x;
	return url_valid(v, s->offset != offsetof(struct fg_upstream, issuer)) &&
	    fg_conf_text((char *)obj + s->offset, s->size, v);
}

const struct fg_setting_type fg_type_url = { "URL", url_parse,
	fg_conf_text_show };

/* Text without spaces: k=v&k=v. */
static bool
params_parse(const struct fg_setting *s, void *obj, const char *v,
    struct fg_conf_ctx *x)
{
	(void)x;
	return strchr(v, ' ') == NULL &&
	    fg_conf_text((char *)obj + s->offset, s->size, v);
}

const struct fg_setting_type fg_type_params = { "text", params_parse,
	fg_conf_text_show };

/* Asymmetric algorithms only, from s->values: never none, never HMAC
 * (and no EdDSA: libjose 11 cannot verify it). */
static bool
algs_parse(const struct fg_setting *s, void *obj, const char *v,
    struct fg_conf_ctx *x)
{
	char copy[64], *tok, *save = NULL;

	(void)x;
	if (!fg_conf_text((char *)obj + s->offset, s->size, v))
		return false;
	snprintf(copy, sizeof(copy), "%s", v);
	for (tok = strtok_r(copy, " ", &save); tok != NULL;
	     tok = strtok_r(NULL, " ", &save)) {
		const char *p = strstr(s->values, tok);
		size_t n = strlen(tok);
		if (p == NULL || (p != s->values && p[-1] != ' ') ||
		    (p[n] != ' ' && p[n] != '\0'))
			return false;
	}
	return true;
}

const struct fg_setting_type fg_type_algs = { "words", algs_parse,
	fg_conf_text_show };

/* Words separated by spaces, each kept: the accepted acr values. */
static bool
words_parse(const struct fg_setting *s, void *obj, const char *v,
    struct fg_conf_ctx *x)
{
	struct fg_upstream *u = obj;
	char copy[512], *tok, *save = NULL;

	(void)s;
	(void)x;
	if (strlen(v) >= sizeof(copy) || !fg_text_printable(v, strlen(v)))
		return false;
	snprintf(copy, sizeof(copy), "%s", v);
	for (tok = strtok_r(copy, " ", &save); tok != NULL;
	     tok = strtok_r(NULL, " ", &save)) {
		if (u->n_acr == FG_ACR_MAX ||
		    (u->acr[u->n_acr] = strdup(tok)) == NULL)
			return false;
		u->n_acr++;
	}
	return true;
}

static void
words_show(const struct fg_setting *s, const void *obj, FILE *f)
{
	const struct fg_upstream *u = obj;

	fg_conf_list_show(s, u->acr, u->n_acr, f);
}

const struct fg_setting_type fg_type_words = { "words", words_parse,
	words_show };

static bool
path_parse(const struct fg_setting *s, void *obj, const char *v,
    struct fg_conf_ctx *x)
{
	(void)x;
	return v[0] == '/' && fg_conf_text((char *)obj + s->offset, s->size, v);
}

const struct fg_setting_type fg_type_path = { "path", path_parse,
	fg_conf_text_show };
const struct fg_upstream *
fg_gate_upstream(const struct fg_gate *g)
{
	size_t i;

	if (g->ff != FG_FF_OIDC)
		return NULL;
	for (i = 0; i < g->n_upstreams; i++)
		if (strcmp(g->upstreams[i].name, g->first_factor) == 0)
			return &g->upstreams[i];
	return NULL;
}

/* [oidc] issuer: an absolute URL without query, fragment or final '/'. */
static bool
issuer_parse(const struct fg_setting *s, void *obj, const char *v,
    struct fg_conf_ctx *x)
{
	size_t n = strlen(v);

	(void)x;
	if (!url_valid(v, false) || (n > 0 && v[n - 1] == '/'))
		return false;
	return fg_conf_text((char *)obj + s->offset, s->size, v);
}

const struct fg_setting_type fg_type_issuer = { "URL", issuer_parse,
	fg_conf_text_show };

/* A user name, kept as its uid. */
static bool
user_parse(const struct fg_setting *s, void *obj, const char *v,
    struct fg_conf_ctx *x)
{
	if (!user_uid(v, (uid_t *)(void *)((char *)obj + s->offset))) {
		snprintf(x->err, x->errlen, "[%s] %s: no user \"%.64s\"",
		    x->section, s->key, v);
		return false;
	}
	return true;
}

static void
user_show(const struct fg_setting *s, const void *obj, FILE *f)
{
	uid_t uid = *(const uid_t *)(const void *)((const char *)obj +
	    s->offset);
	struct passwd pw, *pwp = NULL;
	char buf[4096];

	if (!*(const bool *)(const void *)((const char *)obj + s->given - 1))
		fprintf(f, "%s =\n", s->key);
	else if (getpwuid_r(uid, &pw, buf, sizeof(buf), &pwp) == 0 &&
	    pwp != NULL)
		fprintf(f, "%s = %s\n", s->key, pw.pw_name);
	else
		fprintf(f, "%s = %u\n", s->key, (unsigned)uid);
}

const struct fg_setting_type fg_type_user = { "user name", user_parse,
	user_show };

static bool
first_factor_parse(const struct fg_setting *s, void *obj, const char *v,
    struct fg_conf_ctx *x)
{
	struct fg_gate *g = &((struct fg_config *)obj)->gate;
	size_t skip = strncmp(v, "pam:", 4) == 0 ? 4 :
	    strncmp(v, "oidc:", 5) == 0		 ? 5 :
						0;

	(void)s;
	(void)x;
	if (strcmp(v, "none") == 0) {
		g->ff = FG_FF_NONE;
		g->first_factor[0] = '\0';
		return true;
	}
	if (skip == 0 || strlen(v + skip) == 0 ||
	    strlen(v + skip) >= sizeof(g->first_factor) ||
	    strspn(v + skip, "abcdefghijklmnopqrstuvwxyz0123456789-_.") !=
		strlen(v + skip))
		return false;
	g->ff = skip == 4 ? FG_FF_PAM : FG_FF_OIDC;
	memcpy(g->first_factor, v + skip, strlen(v + skip) + 1);
	return true;
}

static void
first_factor_show(const struct fg_setting *s, const void *obj, FILE *f)
{
	const struct fg_gate *g = &((const struct fg_config *)obj)->gate;

	fprintf(f, "%s = %s%s\n", s->key,
	    g->ff == FG_FF_PAM ? "pam:" : g->ff == FG_FF_OIDC ? "oidc:" : "none",
	    g->ff == FG_FF_NONE ? "" : g->first_factor);
}

const struct fg_setting_type fg_type_first_factor = { "choice",
	first_factor_parse, first_factor_show };

/*
 * glibc's regcomp() copies the tree of a repeated expression once per
 * repetition, so a repetition of a repetition ("a+++", "(a{9}){9}")
 * multiplies its size: 120 stacked "+" in a 256-byte pattern ask for
 * gigabytes. A Matrix ID pattern needs neither, so refuse both before
 * compiling, and bound the counts of an interval. This only walks the
 * tokens ERE defines; the grammar itself is still regcomp()'s to judge.
 */
#define FG_REGEX_DUP_MAX 64
#define FG_CONF_REGEX_DEPTH 16

static const char *
regex_too_costly(const char *v)
{
	bool rep_in[FG_CONF_REGEX_DEPTH + 1] = { false };
	bool prev_rep = false, prev_group_rep = false;
	size_t depth = 0;
	const char *p = v;
	unsigned long n;
	char *end;

	while (*p != '\0') {
		switch (*p) {
		case '\\':
			/* matching a back-reference can take exponential time */
			if (p[1] >= '1' && p[1] <= '9')
				return "a back-reference";
			if (p[1] != '\0')
				p++;
			prev_rep = prev_group_rep = false;
			break;
		case '[':
			/* a bracket expression: "]" first is literal, and
			 * "[:alpha:]" and the like nest one level */
			p++;
			if (*p == '^')
				p++;
			if (*p == ']')
				p++;
			while (*p != '\0' && *p != ']') {
				if (*p == '[' && (p[1] == ':' || p[1] == '.' ||
				    p[1] == '=')) {
					char close = p[1];

					for (p += 2; *p != '\0' &&
					    !(p[0] == close && p[1] == ']'); p++)
						;
					if (*p == '\0')
						break;
					p++;
				}
				p++;
			}
			if (*p == '\0')
				return "an unterminated [";
			prev_rep = prev_group_rep = false;
			break;
		case '(':
			if (depth == FG_CONF_REGEX_DEPTH)
				return "too many nested groups";
			rep_in[++depth] = false;
			prev_rep = prev_group_rep = false;
			break;
		case ')':
			/* glibc would take it as a literal: what follows must
			 * still be looked at, so refuse rather than guess */
			if (depth == 0)
				return "an unmatched )";
			prev_group_rep = rep_in[depth--];
			rep_in[depth] |= prev_group_rep;
			prev_rep = false;
			break;
		case '*':
		case '+':
		case '?':
		case '{':
			if (prev_rep)
				return "a repetition of a repetition";
			if (prev_group_rep)
				return "a repeated group that itself repeats";
			if (*p == '{') {
				/* "{n}", "{n,}", "{n,m}": each count bounded */
				errno = 0;
				n = strtoul(p + 1, &end, 10);
				if (*end == ',' && end[1] == '}')
					end++;
				else if (*end == ',' && n <= FG_REGEX_DUP_MAX)
					n = strtoul(end + 1, &end, 10);
				if (errno != 0 || n > FG_REGEX_DUP_MAX)
					return "a repetition count above 64";
				if (*end != '}')
					return "a { that is not a count such as "
					       "{2}, {2,} or {2,5}";
				p = end;
			}
			rep_in[depth] = true;
			prev_rep = true;
			prev_group_rep = false;
			break;
		default:
			prev_rep = prev_group_rep = false;
			break;
		}
		p++;
	}
	return NULL;
}

/* [homeserver] exempt: an extended regular expression, each line one. */
static bool
regex_parse(const struct fg_setting *s, void *obj, const char *v,
    struct fg_conf_ctx *x)
{
	struct fg_gate *g = &((struct fg_config *)obj)->gate;
	const char *why;
	regex_t *re;

	if (g->n_exempt == FG_EXEMPT_MAX || strlen(v) > 256 ||
	    (re = calloc(1, sizeof(*re))) == NULL)
		return false;
	if ((why = regex_too_costly(v)) != NULL) {
		free(re);
		snprintf(x->err, x->errlen, "[%s] %s: %s is not allowed, "
					    "so that no pattern can take "
					    "unbounded memory or time",
		    x->section, s->key, why);
		return false;
	}
	if (regcomp(re, v, REG_EXTENDED | REG_NOSUB) != 0) {
		free(re);
		snprintf(x->err, x->errlen, "[%s] %s: not an extended regular "
					    "expression", x->section, s->key);
		return false;
	}
	if ((g->exempt_src[g->n_exempt] = strdup(v)) == NULL) {
		regfree(re);
		free(re);
		return false;
	}
	g->exempt[g->n_exempt++] = re;
	return true;
}

static void
regex_show(const struct fg_setting *s, const void *obj, FILE *f)
{
	const struct fg_gate *g = &((const struct fg_config *)obj)->gate;
	size_t i;

	if (g->n_exempt == 0)
		fprintf(f, "%s =\n", s->key);
	for (i = 0; i < g->n_exempt; i++)
		fprintf(f, "%s = %s\n", s->key, g->exempt_src[i]);
}

const struct fg_setting_type fg_type_regex = { "regular expression",
	regex_parse, regex_show };
int
fg_gate_check(struct fg_gate *g, char *err, size_t errlen)
{
	static const uint8_t zero[32];
	size_t i;

	/* the admin API works without the gate: a lock logs out devices */
	if ((g->hs_admin_url[0] != '\0') != (g->hs_admin_token != NULL) ||
	    (g->hs_admin_url[0] != '\0' && g->server_name[0] == '\0')) {
		snprintf(err, errlen, "[homeserver] admin_url and "
				      "admin_token_file go together, with "
				      "server_name");
		return FG_ERR_INVALID;
	}
	if (g->issuer[0] == '\0') {
		if (g->n_clients > 0) {
			snprintf(err, errlen,
			    "[client.*] needs [oidc] issuer: the gate is off");
			return FG_ERR_INVALID;
		}
		return FG_OK;
	}
	if (g->code_ttl >= g->token_ttl) {
		snprintf(err, errlen, "[oidc] code_ttl must be below token_ttl");
		return FG_ERR_INVALID;
	}
	if (!g->have_web_uid) {
		snprintf(err, errlen, "[oidc] needs [web] user: the web front's "
				      "user, the only one the agent serves it");
		return FG_ERR_INVALID;
	}
	if (g->server_name[0] == '\0' && g->have_hs_uid) {
		snprintf(err, errlen,
		    "[homeserver] needs server_name: the part after ':' in "
		    "the homeserver's user IDs");
		return FG_ERR_INVALID;
	}
	if (g->ff == FG_FF_OIDC && fg_gate_upstream(g) == NULL) {
		snprintf(err, errlen, "[web] first_factor = oidc:%s needs an "
				      "[upstream.%s] section", g->first_factor,
		    g->first_factor);
		return FG_ERR_INVALID;
	}
	for (i = 0; i < g->n_upstreams; i++) {
		struct fg_upstream *u = &g->upstreams[i];
		if (u->issuer[0] == '\0' || u->client_id[0] == '\0' ||
		    u->secret == NULL) {
			snprintf(err, errlen, "[upstream.%s] needs issuer, "
					      "client_id and client_secret_file",
			    u->name);
			return FG_ERR_INVALID;
		}
		if (u->discovery[0] == '\0')
			snprintf(u->discovery, sizeof(u->discovery),
			    "%s/.well-known/openid-configuration", u->issuer);
	}
	if (g->hs_client[0] != '\0' && fg_gate_client(g, g->hs_client) == NULL) {
		snprintf(err, errlen, "[homeserver] client = %s: no [client.%s]",
		    g->hs_client, g->hs_client);
		return FG_ERR_INVALID;
	}
	for (i = 0; i < g->n_clients; i++) {
		struct fg_oidc_client *c = &g->clients[i];
		bool has_secret = CRYPTO_memcmp(c->secret_hash, zero, 32) != 0;
		if (c->n_redirect == 0) {
			snprintf(err, errlen, "[client.%s] needs redirect_uris",
			    c->id);
			return FG_ERR_INVALID;
		}
		if (c->is_public == has_secret) {
			snprintf(err, errlen,
			    "[client.%s] needs a secret_file, or public = yes "
			    "(and no secret)",
			    c->id);
			return FG_ERR_INVALID;
		}
		if (strstr(c->scopes, "openid") == NULL) {
			snprintf(err, errlen,
			    "[client.%s] scopes must include openid", c->id);
			return FG_ERR_INVALID;
		}
		if (c->name[0] == '\0')
			snprintf(c->name, sizeof(c->name), "%s", c->id);
	}
	return FG_OK;
}

void
fg_gate_clear(struct fg_gate *g)
{
	size_t i, k;

	if (g->hs_admin_token != NULL)
		fg_wipe_free(g->hs_admin_token, strlen(g->hs_admin_token));
	for (i = 0; i < g->n_exempt; i++) {
		regfree(g->exempt[i]);
		free(g->exempt[i]);
		free(g->exempt_src[i]);
	}
	for (i = 0; i < g->n_clients; i++)
		for (k = 0; k < g->clients[i].n_redirect; k++)
			free(g->clients[i].redirect[k]);
	for (i = 0; i < g->n_upstreams; i++) {
		if (g->upstreams[i].secret != NULL)
			fg_wipe_free(g->upstreams[i].secret,
			    strlen(g->upstreams[i].secret));
		for (k = 0; k < g->upstreams[i].n_acr; k++)
			free(g->upstreams[i].acr[k]);
	}
	OPENSSL_cleanse(g, sizeof(*g));
}

const struct fg_oidc_client *
fg_gate_client(const struct fg_gate *g, const char *id)
{
	size_t i;

	for (i = 0; id != NULL && i < g->n_clients; i++)
		if (strcmp(g->clients[i].id, id) == 0)
			return &g->clients[i];
	return NULL;
}
