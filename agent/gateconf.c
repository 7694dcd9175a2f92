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
parse_seconds(const char *v, unsigned long min, unsigned long max,
    unsigned *out)
{
	unsigned long n;

	if (!fg_config_uint(v, min, max, &n))
		return false;
	*out = (unsigned)n;
	return true;
}

static bool
set_text(char *dst, size_t len, const char *v)
{
	if (strlen(v) == 0 || strlen(v) >= len ||
	    !fg_text_printable(v, strlen(v)))
		return false;
	memcpy(dst, v, strlen(v) + 1);
	return true;
}

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

static struct fg_oidc_client *
client_for(struct fg_gate *g, const char *section, char *err, size_t errlen)
{
	const char *id = section + strlen("client.");
	size_t i, n = strlen(id);

	for (i = 0; i < g->n_clients; i++)
		if (strcmp(g->clients[i].id, id) == 0)
			return &g->clients[i];
	if (n == 0 || n >= sizeof(g->clients[0].id) ||
	    strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		       "0123456789-_.") != n) {
		snprintf(err, errlen, "[%s]: a client_id is 1 to 63 letters, "
				      "digits, '-', '_' or '.'", section);
		return NULL;
	}
	if (g->n_clients == FG_CLIENTS_MAX) {
		snprintf(err, errlen, "at most %d clients", FG_CLIENTS_MAX);
		return NULL;
	}
	memcpy(g->clients[g->n_clients].id, id, n + 1);
	snprintf(g->clients[g->n_clients].alg,
	    sizeof(g->clients[g->n_clients].alg), "RS256");
	snprintf(g->clients[g->n_clients].scopes,
	    sizeof(g->clients[g->n_clients].scopes), "openid profile");
	return &g->clients[g->n_clients++];
}

static int
client_setting(struct fg_gate *g, const char *section, const char *name,
    const char *v, char *err, size_t errlen)
{
	struct fg_oidc_client *c = client_for(g, section, err, errlen);

	if (c == NULL)
		return 0;
	if (strcmp(name, "name") == 0)
		return set_text(c->name, sizeof(c->name), v);
	if (strcmp(name, "secret_file") == 0) {
		static const uint8_t zero[32];
		if (CRYPTO_memcmp(c->secret_hash, zero, 32) != 0) {
			snprintf(err, errlen, "[%s] secret_file given twice",
			    section);
			return 0;
		}
		return read_secret(v, c->secret_hash, err, errlen);
	}
	if (strcmp(name, "redirect_uri") == 0 ||
	    strcmp(name, "redirect_uris") == 0) {
		if (c->n_redirect == FG_REDIRECTS_MAX || !url_valid(v, true))
			return 0;
		if ((c->redirect[c->n_redirect] = strdup(v)) == NULL)
			return 0;
		c->n_redirect++;
		return 1;
	}
	if (strcmp(name, "scopes") == 0)
		return set_text(c->scopes, sizeof(c->scopes), v);
	if (strcmp(name, "public") == 0) {
		if (strcmp(v, "yes") != 0 && strcmp(v, "no") != 0)
			return 0;
		c->is_public = strcmp(v, "yes") == 0;
		return 1;
	}
	if (strcmp(name, "id_token_alg") == 0) {
		if (strcmp(v, "RS256") != 0 && strcmp(v, "ES256") != 0)
			return 0;
		snprintf(c->alg, sizeof(c->alg), "%s", v);
		return 1;
	}
	return -1;
}

static struct fg_upstream *
upstream_for(struct fg_gate *g, const char *section, char *err, size_t errlen)
{
	const char *name = section + strlen("upstream.");
	size_t i, n = strlen(name);
	struct fg_upstream *u;

	for (i = 0; i < g->n_upstreams; i++)
		if (strcmp(g->upstreams[i].name, name) == 0)
			return &g->upstreams[i];
	if (n == 0 || n >= sizeof(g->upstreams[0].name) ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-_.") != n) {
		snprintf(err, errlen, "[%s]: an upstream's name is 1 to 63 "
				      "lower-case letters, digits, '-', '_', '.'",
		    section);
		return NULL;
	}
	if (g->n_upstreams == FG_UPSTREAMS_MAX) {
		snprintf(err, errlen, "at most %d upstreams", FG_UPSTREAMS_MAX);
		return NULL;
	}
	u = &g->upstreams[g->n_upstreams++];
	memcpy(u->name, name, n + 1);
	snprintf(u->scopes, sizeof(u->scopes), "openid email");
	snprintf(u->claim, sizeof(u->claim), "preferred_username");
	snprintf(u->algs, sizeof(u->algs), "RS256 ES256");
	u->skew = 60;
	u->timeout = 10;
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

static int
upstream_setting(struct fg_gate *g, const char *section, const char *name,
    const char *v, char *err, size_t errlen)
{
	struct fg_upstream *u = upstream_for(g, section, err, errlen);

	if (u == NULL)
		return 0;
	if (strcmp(name, "issuer") == 0) {
		if (!url_valid(v, false))
			return 0;
		snprintf(u->issuer, sizeof(u->issuer), "%s", v);
		return 1;
	}
	if (strcmp(name, "discovery_url") == 0) {
		if (!url_valid(v, true))
			return 0;
		snprintf(u->discovery, sizeof(u->discovery), "%s", v);
		return 1;
	}
	if (strcmp(name, "client_id") == 0)
		return set_text(u->client_id, sizeof(u->client_id), v);
	if (strcmp(name, "client_secret_file") == 0)
		return u->secret == NULL &&
		    read_plain_secret(v, &u->secret, err, errlen);
	if (strcmp(name, "token_auth") == 0) {
		if (strcmp(v, "client_secret_basic") != 0 &&
		    strcmp(v, "client_secret_post") != 0)
			return 0;
		u->secret_post = strcmp(v, "client_secret_post") == 0;
		return 1;
	}
	if (strcmp(name, "scopes") == 0)
		return set_text(u->scopes, sizeof(u->scopes), v);
	if (strcmp(name, "params") == 0)
		return set_text(u->params, sizeof(u->params), v) &&
		    strchr(v, ' ') == NULL;
	if (strcmp(name, "user_claim") == 0)
		return set_text(u->claim, sizeof(u->claim), v);
	if (strcmp(name, "user_template") == 0) {
		if (strcmp(v, "email_localpart") != 0 && strcmp(v, "as_is") != 0)
			return 0;
		u->email_localpart = strcmp(v, "email_localpart") == 0;
		return 1;
	}
	if (strcmp(name, "algs") == 0) {
		char copy[64], *tok, *save = NULL;
		if (!set_text(u->algs, sizeof(u->algs), v))
			return 0;
		snprintf(copy, sizeof(copy), "%s", v);
		/* asymmetric algorithms only: never none, never HMAC */
		for (tok = strtok_r(copy, " ", &save); tok != NULL;
		     tok = strtok_r(NULL, " ", &save))
			if (strcmp(tok, "RS256") != 0 && strcmp(tok, "ES256") != 0 &&
			    strcmp(tok, "PS256") != 0 && strcmp(tok, "ES384") != 0 &&
			    strcmp(tok, "RS384") != 0)
				return 0; /* EdDSA too: libjose 11 cannot verify it */
		return 1;
	}
	if (strcmp(name, "acr") == 0) {
		char copy[512], *tok, *save = NULL;
		if (strlen(v) >= sizeof(copy) || !fg_text_printable(v, strlen(v)))
			return 0;
		snprintf(copy, sizeof(copy), "%s", v);
		for (tok = strtok_r(copy, " ", &save); tok != NULL;
		     tok = strtok_r(NULL, " ", &save)) {
			if (u->n_acr == FG_ACR_MAX ||
			    (u->acr[u->n_acr] = strdup(tok)) == NULL)
				return 0;
			u->n_acr++;
		}
		return 1;
	}
	if (strcmp(name, "skew") == 0)
		return parse_seconds(v, 0, 600, &u->skew);
	if (strcmp(name, "timeout") == 0)
		return parse_seconds(v, 1, 60, &u->timeout);
	if (strcmp(name, "ca_file") == 0)
		return set_text(u->ca_file, sizeof(u->ca_file), v) && v[0] == '/';
	snprintf(err, errlen, "unknown setting [%s] %s", section, name);
	return 0;
}

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

void
fg_gate_defaults(struct fg_gate *g)
{
	memset(g, 0, sizeof(*g));
	g->code_ttl = 60;
	g->token_ttl = 300;
	g->window = 300;
	snprintf(g->provider, sizeof(g->provider), "oidc-fido2gate");
}

int
fg_gate_setting(struct fg_gate *g, const char *section, const char *name,
    const char *v, char *err, size_t errlen)
{
#define IS(s, k) (strcmp(section, s) == 0 && strcmp(name, k) == 0)
	if (IS("oidc", "issuer")) {
		size_t n = strlen(v);
		if (!url_valid(v, false) || (n > 0 && v[n - 1] == '/'))
			return 0;
		memcpy(g->issuer, v, n + 1);
		return 1;
	}
	if (IS("oidc", "code_ttl"))
		return parse_seconds(v, 1, 60, &g->code_ttl);
	if (IS("oidc", "token_ttl"))
		return parse_seconds(v, 30, 3600, &g->token_ttl);
	if (IS("oidc", "acr"))
		return set_text(g->acr, sizeof(g->acr), v);
	if (IS("web", "user")) {
		if (!user_uid(v, &g->web_uid)) {
			snprintf(err, errlen, "[web] user: no user \"%.64s\"", v);
			return 0;
		}
		g->have_web_uid = true;
		return 1;
	}
	if (IS("web", "first_factor")) {
		size_t skip = strncmp(v, "pam:", 4) == 0 ? 4 :
		    strncmp(v, "oidc:", 5) == 0	     ? 5 :
							0;
		if (strcmp(v, "none") == 0) {
			g->ff = FG_FF_NONE;
			g->first_factor[0] = '\0';
			return 1;
		}
		if (skip == 0 || strlen(v + skip) == 0 ||
		    strlen(v + skip) >= sizeof(g->first_factor) ||
		    strspn(v + skip, "abcdefghijklmnopqrstuvwxyz0123456789-_.") !=
			strlen(v + skip))
			return 0;
		g->ff = skip == 4 ? FG_FF_PAM : FG_FF_OIDC;
		memcpy(g->first_factor, v + skip, strlen(v + skip) + 1);
		return 1;
	}
	if (IS("homeserver", "user")) {
		if (!user_uid(v, &g->hs_uid)) {
			snprintf(err, errlen, "[homeserver] user: no user "
					      "\"%.64s\"", v);
			return 0;
		}
		g->have_hs_uid = true;
		return 1;
	}
	if (IS("homeserver", "server_name"))
		return set_text(g->server_name, sizeof(g->server_name), v);
	if (IS("homeserver", "provider"))
		return set_text(g->provider, sizeof(g->provider), v);
	if (IS("homeserver", "client"))
		return set_text(g->hs_client, sizeof(g->hs_client), v);
	if (IS("homeserver", "window"))
		return parse_seconds(v, 10, 3600, &g->window);
	if (IS("homeserver", "exempt")) {
		regex_t *re;
		if (g->n_exempt == FG_EXEMPT_MAX || strlen(v) > 256 ||
		    (re = calloc(1, sizeof(*re))) == NULL)
			return 0;
		if (regcomp(re, v, REG_EXTENDED | REG_NOSUB) != 0) {
			free(re);
			snprintf(err, errlen, "[homeserver] exempt: not an "
					      "extended regular expression");
			return 0;
		}
		if ((g->exempt_src[g->n_exempt] = strdup(v)) == NULL) {
			regfree(re);
			free(re);
			return 0;
		}
		g->exempt[g->n_exempt++] = re;
		return 1;
	}
#undef IS
	if (strncmp(section, "upstream.", 9) == 0)
		return upstream_setting(g, section, name, v, err, errlen);
	if (strncmp(section, "client.", 7) == 0) {
		int r = client_setting(g, section, name, v, err, errlen);
		if (r == 0 && strncmp(err, "no error", 8) == 0)
			snprintf(err, errlen, "bad value for [%s] %s: \"%.64s\"",
			    section, name, v);
		if (r == -1) {
			snprintf(err, errlen, "unknown setting [%s] %s",
			    section, name);
			return 0;
		}
		return r;
	}
	return -1;
}

int
fg_gate_check(struct fg_gate *g, char *err, size_t errlen)
{
	static const uint8_t zero[32];
	size_t i;

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
