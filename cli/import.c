/*
 * fido2gatectl import-pam-u2f: the credentials of a pam-u2f file
 * (pamu2fcfg's output) moved to the agent, all of them or none. The file
 * is parsed here, strictly, line by line: pam-u2f's format is text split
 * at ':' and ','. The agent checks each credential again (its public key
 * must load, its ID must be new) and stores them in one transaction.
 *
 * A line is USER:CRED[:CRED...]. A credential is KEYHANDLE,PUBKEY,TYPE,
 * OPTIONS (pam-u2f 1.1: base64 with padding; TYPE es256, eddsa or rs256;
 * OPTIONS +presence, +pin and +verification run together, or nothing), or
 * the old KEYHANDLE,PUBKEY (websafe base64 key handle, hex uncompressed
 * P-256 point, +presence implied), whose relying party is pam-u2f's
 * appid rather than its origin. A resident credential (KEYHANDLE "*")
 * carries no credential ID: the agent keeps its public key and learns
 * its ID at its first login.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl.h"

#define FILE_MAX (1024 * 1024) /* bytes: pam-u2f files are a few lines */
#define LINES_MAX 10000
#define HOST_MAX 256

struct parse {
	const char *path;
	const char *origin; /* the rp of current lines */
	const char *appid;  /* the rp of old lines */
	json_t *creds;
	unsigned errors;
	char (*users)[FG_USER_NAME_MAX + 1]; /* the user of each line */
};

static void line_error(struct parse *p, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
line_error(struct parse *p, size_t line, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s:%zu: ", p->path, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	p->errors++;
}

/* Text from the file, safe for a terminal and short. */
static const char *
esc(const char *s, char *buf, size_t len)
{
	return fg_text_escape(s, buf, len);
}

static int
hex_nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Old lines: the public key as hex, exactly an uncompressed P-256 point. */
static bool
hex_point(const char *s, uint8_t out[65])
{
	size_t i;

	if (strlen(s) != 130)
		return false;
	for (i = 0; i < 65; i++) {
		int hi = hex_nibble(s[2 * i]), lo = hex_nibble(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return out[0] == 0x04;
}

/* Old lines: the key handle as websafe base64, its padding optional. */
static int
websafe_decode(const char *s, uint8_t **out, size_t *len)
{
	char buf[2048];
	size_t n = strlen(s);

	if (n >= sizeof(buf))
		return FG_ERR_INVALID;
	memcpy(buf, s, n + 1);
	while (n > 0 && buf[n - 1] == '=' && strlen(s) - n < 2)
		buf[--n] = '\0';
	return fg_b64url_decode(buf, out, len);
}

/* OPTIONS: "+presence", "+pin", "+verification", each at most once. */
static bool
options(const char *s, bool *presence, bool *uv)
{
	static const char *const names[] = {
	    "+presence", "+pin", "+verification"};
	bool seen[3] = {false, false, false};
	size_t i, n;

	while (*s != '\0') {
		for (i = 0; i < 3; i++) {
			n = strlen(names[i]);
			if (strncmp(s, names[i], n) == 0 &&
			    (s[n] == '\0' || s[n] == '+'))
				break;
		}
		if (i == 3 || seen[i])
			return false;
		seen[i] = true;
		s += n;
	}
	*presence = seen[0];
	*uv = seen[1] || seen[2];
	return true;
}

static int
cose_type(const char *s)
{
	if (strcasecmp(s, "es256") == 0)
		return FG_COSE_ES256;
	if (strcasecmp(s, "eddsa") == 0)
		return FG_COSE_EDDSA;
	if (strcasecmp(s, "rs256") == 0)
		return FG_COSE_RS256;
	return 0;
}

/* One credential of line; false after saying what is wrong with it. */
static bool
credential(struct parse *p, size_t line, const char *user, char *s)
{
	char *field[5], *f;
	uint8_t *kh = NULL, *pk = NULL, point[65];
	size_t n = 0, kh_len = 0, pk_len = 0;
	bool presence = true, uv = false, resident = false, ok = false;
	char *kh_s = NULL, *pk_s = NULL, buf[96];
	const char *rp = p->origin;
	int alg = FG_COSE_ES256;
	json_t *o;

	/* split by hand: strtok would run ",," together */
	for (f = s; n < 5; n++) {
		field[n] = f;
		if ((f = strchr(f, ',')) == NULL) {
			n++;
			break;
		}
		*f++ = '\0';
	}
	if (n < 2 || n > 4 || f != NULL) {
		line_error(p, line,
		    _("a credential is KEYHANDLE,PUBKEY,TYPE,OPTIONS (or the "
		      "old KEYHANDLE,PUBKEY)"));
		goto out;
	}
	if (n == 2) {
		rp = p->appid;
		if (websafe_decode(field[0], &kh, &kh_len) != FG_OK ||
		    kh_len == 0) {
			line_error(p, line,
			    _("the key handle \"%s\" is not websafe base64"),
			    esc(field[0], buf, sizeof(buf)));
			goto out;
		}
		if (!hex_point(field[1], point)) {
			line_error(p, line,
			    _("the public key is not an uncompressed P-256 "
			      "point in hex"));
			goto out;
		}
		if ((pk = malloc(sizeof(point))) == NULL)
			goto out;
		memcpy(pk, point, sizeof(point));
		pk_len = sizeof(point);
	} else {
		if ((alg = cose_type(field[2])) == 0) {
			line_error(p, line,
			    _("unknown key type \"%s\" (es256, eddsa or "
			      "rs256)"),
			    esc(field[2], buf, sizeof(buf)));
			goto out;
		}
		if (!options(n == 4 ? field[3] : "", &presence, &uv)) {
			line_error(p, line,
			    _("unknown options \"%s\" (+presence, +pin, "
			      "+verification)"),
			    esc(field[3], buf, sizeof(buf)));
			goto out;
		}
		resident = strcmp(field[0], "*") == 0;
		if (!resident &&
		    (fg_b64_decode(field[0], &kh, &kh_len) != FG_OK ||
			kh_len == 0 || kh_len > FG_CRED_ID_MAX)) {
			line_error(p, line,
			    _("the key handle \"%s\" is not base64"),
			    esc(field[0], buf, sizeof(buf)));
			goto out;
		}
		if (fg_b64_decode(field[1], &pk, &pk_len) != FG_OK ||
		    pk_len == 0) {
			line_error(p, line, _("the public key is not base64"));
			goto out;
		}
	}
	if (!presence)
		fprintf(stderr,
		    _("%s:%zu: note: pam-u2f did not ask for a touch with this "
		      "credential; fido2gate always does\n"),
		    p->path, line);
	/* a resident credential has no ID: the agent learns it at its first
	 * login */
	if ((!resident && (kh_s = fg_b64url_encode(kh, kh_len)) == NULL) ||
	    (pk_s = fg_b64url_encode(pk, pk_len)) == NULL ||
	    (o = json_pack("{s:I,s:s,s:i,s:s,s:s,s:b}", "line",
		 (json_int_t)line, "user", user, "alg", alg, "public_key", pk_s,
		 "rp_id", rp, "uv_required", uv)) == NULL ||
	    json_array_append_new(p->creds, o) != 0 ||
	    json_object_set_new(o, resident ? "resident" : "credential_id",
		resident ? json_true() : json_string(kh_s)) != 0) {
		fputs(_("fido2gatectl: out of memory\n"), stderr);
		p->errors++;
		goto out;
	}
	ok = true;
out:
	free(kh);
	free(pk);
	free(kh_s);
	free(pk_s);
	return ok;
}

/* One line: USER:CRED[:CRED...]; blank lines are skipped. */
static void
line_parse(struct parse *p, size_t line, char *s)
{
	char *user = s, *cred, *next, buf[96];
	size_t k;

	if (s[0] == '\0')
		return;
	if ((cred = strchr(s, ':')) == NULL) {
		line_error(p, line, _("not USER:CREDENTIAL[:CREDENTIAL...]"));
		return;
	}
	*cred++ = '\0';
	if (!fg_user_name_valid(user)) {
		line_error(p, line, _("\"%s\" is not a valid user name"),
		    esc(user, buf, sizeof(buf)));
		return;
	}
	/* pam-u2f reads only the last line of a user: an earlier one is
	 * dead there and must not come alive here */
	for (k = 1; k < line; k++)
		if (strcmp(p->users[k], user) == 0) {
			line_error(p, line,
			    _("the user is also on line %zu: pam-u2f reads "
			      "only a user's last line; keep one"),
			    k);
			return;
		}
	snprintf(p->users[line], sizeof(p->users[line]), "%s", user);
	for (; cred != NULL; cred = next) {
		if ((next = strchr(cred, ':')) != NULL)
			*next++ = '\0';
		if (cred[0] == '\0') {
			line_error(p, line, _("an empty credential"));
			continue;
		}
		credential(p, line, user, cred);
	}
}

/* The file, read whole: a regular file, never through a symlink. */
static int
read_file(const char *path, char **out, size_t *len)
{
	struct stat sb;
	char *buf = NULL;
	ssize_t r;
	size_t n = 0;
	int fd, ret = FG_ERR_IO;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)) < 0)
		return FG_ERR_IO;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		errno = EINVAL;
		goto out;
	}
	if (sb.st_size > FILE_MAX) {
		errno = EFBIG;
		goto out;
	}
	if ((buf = malloc((size_t)sb.st_size + 1)) == NULL) {
		ret = FG_ERR_NOMEM;
		goto out;
	}
	while (n < (size_t)sb.st_size &&
	    (r = read(fd, buf + n, (size_t)sb.st_size - n)) > 0)
		n += (size_t)r;
	if (n != (size_t)sb.st_size)
		goto out;
	buf[n] = '\0';
	if (strlen(buf) != n) {
		errno = EINVAL;
		goto out;
	}
	*out = buf;
	*len = n;
	buf = NULL;
	ret = FG_OK;
out:
	free(buf);
	close(fd);
	return ret;
}

/* What the agent took, or would take. */
static void
report(const json_t *reply, bool dry)
{
	const json_t *arr = json_object_get(reply, "credentials"), *o;
	size_t i;

	json_array_foreach(arr, i, o)
	{
		bool uv = json_is_true(json_object_get(o, "uv_required"));
		bool rk = json_is_true(json_object_get(o, "resident"));
		printf(dry
			? _("line %lld: would import %s for %s (%s, rp "
			    "%s%s%s)\n")
			: _("line %lld: imported %s for %s (%s, rp %s%s%s)\n"),
		    (long long)json_integer_value(json_object_get(o, "line")),
		    rk ? _("a resident credential")
		       : fg_json_str(o, "credential_id"),
		    fg_json_str(o, "user"), fg_json_str(o, "alg"),
		    fg_json_str(o, "rp_id"),
		    uv ? _(", PIN or user verification required") : "",
		    rk ? _(", its ID learnt at its first login") : "");
	}
	if (dry)
		printf(_("dry run: %zu credentials checked by the agent; "
			 "nothing stored\n"),
		    json_array_size(arr));
	else
		printf(_("%zu credentials imported\n"), json_array_size(arr));
}

/* The agent's refusal, with the problem of each line. */
static int
refused(const struct parse *p, const json_t *reply)
{
	const json_t *errs = json_object_get(reply, "errors"), *o;
	struct fg_refusal why;
	char buf[256];
	size_t i;

	json_array_foreach(errs, i, o) fprintf(stderr, "%s:%lld: %s\n", p->path,
	    (long long)json_integer_value(json_object_get(o, "line")),
	    fg_text_escape(fg_json_str(o, "message") != NULL
		    ? fg_json_str(o, "message")
		    : "?",
		buf, sizeof(buf)));
	fg_reply_refused(reply, &why);
	return ctl_refused(&why);
}

int
ctl_import_pam_u2f(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dry-run", no_argument, NULL, 'n'},
	    {"origin", required_argument, NULL, 'o'},
	    {"appid", required_argument, NULL, 'i'},
	    {NULL, 0, NULL, 0},
	};
	struct parse p = {0};
	char host[HOST_MAX + 1], origin[HOST_MAX + 8], *buf = NULL, *s, *nl;
	json_t *req = NULL, *reply = NULL, *stepup = NULL;
	size_t len = 0, line, lines;
	bool dry = false;
	int ch, r, rc = CTL_EXIT_USAGE;

	while ((ch = getopt_long(argc, argv, "no:i:", opts, NULL)) != -1) {
		if (ch == 'n')
			dry = true;
		else if (ch == 'o')
			p.origin = optarg;
		else if (ch == 'i')
			p.appid = optarg;
		else
			goto usage;
	}
	if (optind != argc - 1)
		goto usage;
	p.path = argv[optind];
	/* pam-u2f's defaults: pam://HOSTNAME, and the appid is the origin */
	if (p.origin == NULL) {
		if (gethostname(host, sizeof(host) - 1) != 0) {
			perror("fido2gatectl: gethostname");
			rc = CTL_EXIT_FAIL;
			goto out;
		}
		host[HOST_MAX] = '\0';
		snprintf(origin, sizeof(origin), "pam://%s", host);
		p.origin = origin;
	}
	if (p.appid == NULL)
		p.appid = p.origin;
	if ((r = read_file(p.path, &buf, &len)) != FG_OK) {
		fprintf(stderr, _("fido2gatectl: cannot read %s: %s\n"), p.path,
		    r == FG_ERR_NOMEM ? _("out of memory") : strerror(errno));
		rc = CTL_EXIT_FAIL;
		goto out;
	}
	for (lines = 1, s = buf; (s = strchr(s, '\n')) != NULL; s++)
		lines++;
	rc = CTL_EXIT_FAIL;
	if (lines > LINES_MAX) {
		fprintf(
		    stderr, _("%s: more than %d lines\n"), p.path, LINES_MAX);
		goto out;
	}
	if ((p.creds = json_array()) == NULL ||
	    (p.users = calloc(lines + 1, sizeof(*p.users))) == NULL) {
		fputs(_("fido2gatectl: out of memory\n"), stderr);
		goto out;
	}
	for (line = 1, s = buf; s != NULL; line++, s = nl) {
		if ((nl = strchr(s, '\n')) != NULL)
			*nl++ = '\0';
		line_parse(&p, line, s);
	}
	if (p.errors == 0 && json_array_size(p.creds) == 0) {
		fprintf(stderr, _("%s: no credentials in the file\n"), p.path);
		goto out;
	}
	if (p.errors == 0 && json_array_size(p.creds) > FG_IMPORT_MAX) {
		fprintf(stderr,
		    _("%s: more than %d credentials: split the file\n"), p.path,
		    FG_IMPORT_MAX);
		goto out;
	}
	if (p.errors > 0) {
		fprintf(stderr, _("%s: %u problems; nothing imported\n"),
		    p.path, p.errors);
		goto out;
	}
	req = json_pack("{s:s,s:O,s:b}", "op", FG_OP_CRED_IMPORT, "credentials",
	    p.creds, "dry_run", dry);
	if ((rc = ctl_stepup(c, "import", "", &stepup)) != CTL_EXIT_OK)
		goto out;
	if (stepup != NULL)
		json_object_set_new(req, "stepup", stepup);
	if ((r = fg_client_call(c->agent, req, CALL_TIMEOUT_MS, &reply)) !=
	    FG_OK) {
		req = NULL;
		rc = ctl_failed(c, r);
		goto out;
	}
	req = NULL;
	if (fg_reply_refused(reply, NULL)) {
		rc = refused(&p, reply);
		goto out;
	}
	if (c->json) {
		json_dumpf(reply, stdout,
		    JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
		putchar('\n');
	} else
		report(reply, dry);
	rc = CTL_EXIT_OK;
	goto out;
usage:
	fputs(_("usage: fido2gatectl import-pam-u2f FILE [--dry-run] [--origin "
		"ORIGIN] [--appid APPID]\n"),
	    stderr);
out:
	json_decref(req);
	json_decref(reply);
	json_decref(p.creds);
	free(p.users);
	free(buf);
	return rc;
}
