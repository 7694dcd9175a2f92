/*
 * The attestation policy of enrolment: what kind of statement a key must
 * give (none, self, a certificate), which authenticator models (AAGUIDs)
 * are welcome, and which roots their attestation certificates must chain
 * to. fg_attest_verify() has already checked that the statement is
 * genuine; this decides whether it is enough. Every enrolment path calls
 * fg_attest_policy_check(), so one policy holds whatever the channel.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include "fg.h"

#define WHY(...) snprintf(why, whylen, __VA_ARGS__)

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool
fg_aaguid_parse(const char *text, uint8_t out[16])
{
	uint8_t id[16];
	size_t i, n = 0;

	if (strlen(text) != 36)
		return false;
	for (i = 0; i < 36; i++) {
		int hi, lo;

		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (text[i] != '-')
				return false;
			continue;
		}
		if ((hi = hexval(text[i])) < 0 ||
		    (lo = hexval(text[i + 1])) < 0)
			return false;
		id[n++] = (uint8_t)(hi << 4 | lo);
		i++;
	}
	memcpy(out, id, 16);
	return true;
}

const char *
fg_aaguid_text(const uint8_t id[16], char out[37])
{
	static const char hex[] = "0123456789abcdef";
	size_t i, o = 0;

	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[id[i] >> 4];
		out[o++] = hex[id[i] & 15];
	}
	out[o] = '\0';
	return out;
}

int
fg_aaguid_list_add(struct fg_aaguid_list *l, const uint8_t id[16])
{
	uint8_t(*n)[16];

	if (fg_aaguid_list_has(l, id))
		return FG_OK;
	if ((n = realloc(l->ids, (l->n + 1) * sizeof(*n))) == NULL)
		return FG_ERR_NOMEM;
	l->ids = n;
	memcpy(l->ids[l->n++], id, 16);
	return FG_OK;
}

bool
fg_aaguid_list_has(const struct fg_aaguid_list *l, const uint8_t id[16])
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (memcmp(l->ids[i], id, 16) == 0)
			return true;
	return false;
}

/* The trust store decides: the statement's leaf must reach one of the
 * roots through the statement's other certificates, each valid now. */
static int
chain_check(
    X509_STORE *roots, struct fg_attest_result *res, char *why, size_t whylen)
{
	STACK_OF(X509) *x5c = res->x5c;
	X509_STORE_CTX *ctx = NULL;
	X509 *anchor;
	int ret = FG_ERR_NOMEM;

	if ((ctx = X509_STORE_CTX_new()) == NULL ||
	    X509_STORE_CTX_init(ctx, roots, sk_X509_value(x5c, 0), x5c) != 1)
		goto out;
	/* attestation certificates carry no TLS or e-mail key purpose */
	X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_ANY);
	if (X509_verify_cert(ctx) != 1) {
		WHY("attestation refused: the attestation certificate does not "
		    "chain to a trusted root: %s",
		    X509_verify_cert_error_string(
			X509_STORE_CTX_get_error(ctx)));
		ret = FG_ERR_DENIED;
		goto out;
	}
	anchor = sk_X509_value(X509_STORE_CTX_get0_chain(ctx),
	    sk_X509_num(X509_STORE_CTX_get0_chain(ctx)) - 1);
	if (anchor != NULL)
		X509_NAME_oneline(X509_get_subject_name(anchor), res->root,
		    sizeof(res->root));
	ret = FG_OK;
out:
	X509_STORE_CTX_free(ctx);
	ERR_clear_error();
	return ret;
}

int
fg_attest_policy_check(const struct fg_attest_policy *p,
    struct fg_attest_result *res, char *why, size_t whylen)
{
	bool none = strcmp(res->kind, "none") == 0;
	bool self = strcmp(res->kind, "self") == 0;
	char id[37];
	int r;

	res->root[0] = '\0';
	if (none && p->require != FG_ATTEST_OPTIONAL) {
		WHY("attestation refused: policy requires attestation; the key "
		    "sent none");
		return FG_ERR_DENIED;
	}
	if (self && p->require == FG_ATTEST_HARDWARE) {
		WHY("attestation refused: self attestation is not hardware");
		return FG_ERR_DENIED;
	}
	if (p->require == FG_ATTEST_HARDWARE && res->x5c == NULL) {
		WHY("attestation refused: no attestation certificate");
		return FG_ERR_DENIED;
	}
	fg_aaguid_text(res->aaguid, id);
	if (fg_aaguid_list_has(&p->deny, res->aaguid) ||
	    (p->allow.n > 0 && !fg_aaguid_list_has(&p->allow, res->aaguid))) {
		WHY("attestation refused: AAGUID %s is not allowed", id);
		return FG_ERR_DENIED;
	}
	if (p->roots != NULL && res->x5c != NULL &&
	    (r = chain_check(p->roots, res, why, whylen)) != FG_OK)
		return r;
	WHY("ok");
	return FG_OK;
}

/* One PEM file's certificates into the store; how many in *n. */
static int
roots_file(X509_STORE *store, int dirfd, const char *name, const char *shown,
    size_t *n, char *err, size_t errlen)
{
	struct stat sb;
	FILE *f = NULL;
	X509 *x;
	int fd, ret = FG_ERR_INVALID;
	size_t got = 0;

	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 ||
	    (f = fdopen(fd, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", shown, strerror(errno));
		if (fd >= 0)
			close(fd);
		return FG_ERR_IO;
	}
	/* whoever can write a root can enrol any key they like */
	if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode) ||
	    (sb.st_uid != 0 && sb.st_uid != geteuid()) ||
	    (sb.st_mode & 022) != 0) {
		snprintf(err, errlen,
		    "%s: must be a regular file of root or uid %u, not "
		    "writable by group or others",
		    shown, (unsigned)geteuid());
		ret = FG_ERR_DENIED;
		goto out;
	}
	ERR_clear_error();
	while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		int ok = X509_STORE_add_cert(store, x);
		X509_free(x);
		if (ok != 1) {
			snprintf(
			    err, errlen, "%s: cannot add a certificate", shown);
			goto out;
		}
		got++;
	}
	/* the loop ends on end of file, or on a block that is not one */
	if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE ||
	    got == 0) {
		snprintf(err, errlen, "%s: %s", shown,
		    got == 0 ? "holds no PEM certificate"
			     : "holds something that is not a PEM certificate");
		goto out;
	}
	*n += got;
	ret = FG_OK;
out:
	ERR_clear_error();
	fclose(f);
	return ret;
}

int
fg_attest_roots_load(
    const char *path, X509_STORE **out, char *err, size_t errlen)
{
	X509_STORE *store = NULL;
	DIR *d = NULL;
	struct dirent *e;
	struct stat sb;
	char shown[512];
	size_t n = 0;
	int r, ret = FG_ERR_NOMEM;

	if ((store = X509_STORE_new()) == NULL)
		goto out;
	/* a configured intermediate is an anchor too, as WebAuthn allows */
	X509_STORE_set_flags(store, X509_V_FLAG_PARTIAL_CHAIN);
	if (stat(path, &sb) != 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		ret = FG_ERR_IO;
		goto out;
	}
	if (!S_ISDIR(sb.st_mode)) {
		if ((r = roots_file(store, AT_FDCWD, path, path, &n, err,
			 errlen)) != FG_OK) {
			ret = r;
			goto out;
		}
	} else {
		if ((d = opendir(path)) == NULL) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			ret = FG_ERR_IO;
			goto out;
		}
		while ((e = readdir(d)) != NULL) {
			if (e->d_name[0] == '.')
				continue;
			snprintf(
			    shown, sizeof(shown), "%s/%s", path, e->d_name);
			if ((r = roots_file(store, dirfd(d), e->d_name, shown,
				 &n, err, errlen)) != FG_OK) {
				ret = r;
				goto out;
			}
		}
		if (n == 0) {
			snprintf(err, errlen, "%s: holds no certificate", path);
			ret = FG_ERR_INVALID;
			goto out;
		}
	}
	*out = store;
	store = NULL;
	ret = FG_OK;
out:
	if (d != NULL)
		closedir(d);
	X509_STORE_free(store);
	return ret;
}

void
fg_attest_policy_clear(struct fg_attest_policy *p)
{
	X509_STORE_free(p->roots);
	free(p->allow.ids);
	free(p->deny.ids);
	memset(p, 0, sizeof(*p));
}
