/*
 * pam_fido2gate.so: a thin client of fido2gated. It asks the agent for a
 * challenge, finds the enrolled key among those plugged in, gets an
 * assertion over a clientDataJSON it builds (PIN through the conversation
 * when user verification is wanted), and returns PAM_SUCCESS only when the
 * agent answers "allow". Every other path is a refusal; nothing here can
 * turn an error into success, and nothing here reads the environment.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "fg.h"
#include "fg_device.h"

#define DEFAULT_SOCKET "/run/fido2gate/agent.sock"
#define DEFAULT_TIMEOUT_S 30
#define AGENT_TIMEOUT_MS 10000
#define FAIL_DELAY_US 2000000
#define PIN_MAX 255

#define MSG_REFUSED "fido2gate: security key check failed"
#define MSG_UNAVAIL "fido2gate: the authentication service is unavailable"

struct args {
	char socket[108];
	int timeout_s;
	bool debug;
	bool nocue;
};

struct login {
	pam_handle_t *pamh;
	const struct args *args;
	const char *user;
	int fd;
	json_t *begin;
	uint8_t *challenge;
	size_t challenge_len;
	struct fg_id_list allow;
	struct fg_devs devs;
	char *cdj;
	char *pin;
	struct fg_assert_out out;
};

#define DBG(l, ...)                                                           \
	do {                                                                  \
		if ((l)->args->debug)                                         \
			pam_syslog((l)->pamh, LOG_DEBUG, __VA_ARGS__);        \
	} while (0)

/* Options come from a table; anything else is a configuration error. */
static int
parse_args(pam_handle_t *pamh, int argc, const char **argv, struct args *a)
{
	int i;

	memset(a, 0, sizeof(*a));
	snprintf(a->socket, sizeof(a->socket), "%s", DEFAULT_SOCKET);
	a->timeout_s = DEFAULT_TIMEOUT_S;
	for (i = 0; i < argc; i++) {
		const char *s = argv[i];
		if (strcmp(s, "debug") == 0)
			a->debug = true;
		else if (strcmp(s, "nocue") == 0)
			a->nocue = true;
		else if (strncmp(s, "socket=", 7) == 0 && s[7] == '/' &&
		    strlen(s + 7) < sizeof(a->socket))
			snprintf(a->socket, sizeof(a->socket), "%s", s + 7);
		else if (strncmp(s, "timeout=", 8) == 0) {
			char *end;
			long v;
			errno = 0;
			v = strtol(s + 8, &end, 10);
			if (s[8] < '0' || s[8] > '9' || *end != '\0' ||
			    errno != 0 || v < 1 || v > 600) {
				pam_syslog(pamh, LOG_ERR,
				    "malformed argument \"%s\" "
				    "(timeout=1..600 seconds)",
				    s);
				return PAM_SERVICE_ERR;
			}
			a->timeout_s = (int)v;
		} else {
			pam_syslog(pamh, LOG_ERR,
			    "unknown or malformed argument \"%s\"", s);
			return PAM_SERVICE_ERR;
		}
	}
	return PAM_SUCCESS;
}

static int
say(struct login *l, int style, const char *msg)
{
	return pam_prompt(l->pamh, style, NULL, "%s", msg);
}

/* The touch cue. A conversation that cannot show it is broken: the user
 * would not know a touch is asked for, so we stop (nocue: we never ask). */
static bool
cue_touch(struct login *l)
{
	return l->args->nocue ||
	    say(l, PAM_TEXT_INFO, "Touch your security key") == PAM_SUCCESS;
}

/* The PIN, through the conversation with echo off. NULL or empty is a
 * refusal, never "no PIN". */
static int
ask_pin(struct login *l)
{
	char *resp = NULL;
	int r;

	r = pam_prompt(l->pamh, PAM_PROMPT_ECHO_OFF, &resp,
	    "Enter the PIN for your security key: ");
	if (r != PAM_SUCCESS || resp == NULL || resp[0] == '\0' ||
	    strlen(resp) > PIN_MAX) {
		if (resp != NULL)
			fg_wipe_free(resp, strlen(resp));
		return FG_ERR_DENIED;
	}
	l->pin = resp;
	return FG_OK;
}

static int
agent_call(struct login *l, json_t *req, json_t **reply)
{
	int r;

	json_object_set_new(req, "v", json_integer(FG_PROTO_VERSION));
	r = fg_call(l->fd, req, AGENT_TIMEOUT_MS, reply);
	json_decref(req);
	return r;
}

/* Tell the agent why we gave up, so that the refusal is audited. */
static void
agent_abort(struct login *l, const char *why)
{
	json_t *reply = NULL;

	if (l->begin == NULL)
		return;
	if (agent_call(l,
		json_pack("{s:s,s:s,s:s}", "op", "auth.abort", "session",
		    fg_json_str(l->begin, "session"), "reason", why),
		&reply) != FG_OK)
		pam_syslog(l->pamh, LOG_WARNING,
		    "could not record the refusal with the agent");
	json_decref(reply);
}

static int
begin(struct login *l)
{
	const void *item = NULL;
	const char *service = "", *rhost = "", *tty = "";
	json_t *req;
	int r;

	if (pam_get_item(l->pamh, PAM_SERVICE, &item) == PAM_SUCCESS && item)
		service = item;
	if (pam_get_item(l->pamh, PAM_RHOST, &item) == PAM_SUCCESS && item)
		rhost = item;
	if (pam_get_item(l->pamh, PAM_TTY, &item) == PAM_SUCCESS && item)
		tty = item;
	req = json_pack("{s:s,s:s,s:s%,s:s%,s:s%}", "op", "auth.begin", "user",
	    l->user, "service", service, strnlen(service, 64), "rhost", rhost,
	    strnlen(rhost, 256), "tty", tty, strnlen(tty, 64));
	if (req == NULL)
		return PAM_BUF_ERR;
	if ((r = agent_call(l, req, &l->begin)) != FG_OK) {
		pam_syslog(l->pamh, LOG_ERR, "auth.begin: %s", fg_strerror(r));
		return PAM_AUTHINFO_UNAVAIL;
	}
	if (!json_is_true(json_object_get(l->begin, "ok"))) {
		const char *code = fg_json_str(l->begin, "error");
		pam_syslog(l->pamh, LOG_NOTICE, "agent refused auth.begin: %s",
		    fg_json_str(l->begin, "message") ?
			fg_json_str(l->begin, "message") :
			"no reason");
		bool limited = code != NULL &&
		    (strcmp(code, "rate_limited") == 0 ||
			strcmp(code, "locked") == 0);
		/* the user may act on these: wait, or ask an admin */
		if (limited && fg_json_str(l->begin, "message") != NULL)
			say(l, PAM_ERROR_MSG, fg_json_str(l->begin, "message"));
		r = limited || (code != NULL && strcmp(code, "denied") == 0) ?
		    PAM_AUTH_ERR :
		    PAM_AUTHINFO_UNAVAIL;
		json_decref(l->begin);
		l->begin = NULL;
		return r;
	}
	if (fg_json_str(l->begin, "session") == NULL ||
	    fg_json_str(l->begin, "rp_id") == NULL ||
	    fg_json_str(l->begin, "origin") == NULL ||
	    fg_json_b64(l->begin, "challenge", &l->challenge,
		&l->challenge_len) != FG_OK ||
	    fg_id_list_from_json(json_object_get(l->begin, "allow_credentials"),
		&l->allow) != FG_OK ||
	    l->allow.n == 0) {
		pam_syslog(l->pamh, LOG_ERR, "malformed auth.begin reply");
		return PAM_AUTHINFO_UNAVAIL;
	}
	return PAM_SUCCESS;
}

/* Find the key, get the assertion. Returns a refusal reason or NULL. */
static const char *
assert_on_key(struct login *l)
{
	const char *rp_id = fg_json_str(l->begin, "rp_id");
	uint8_t cdh[32];
	size_t which = 0;
	enum fg_uv_mode uv;
	int r, ferr;

	if (fg_devs_open(&l->devs, l->args->timeout_s * 1000) != FG_OK)
		return "out of memory";
	if (l->devs.n == 0)
		return "no security key found";
	r = fg_devs_probe(&l->devs, rp_id, &l->allow, &which);
	DBG(l, "%zu key(s); probe: %s", l->devs.n, fg_strerror(r));
	if (r == FG_ERR_NOTFOUND)
		return "no enrolled security key found";
	if (r == FG_ERR_UNSUPPORTED && l->devs.n > 1) {
		if (!cue_touch(l))
			return "the conversation failed";
		if (fg_devs_touch_select(&l->devs, l->args->timeout_s * 1000,
			&which) != FG_OK)
			return "no security key was touched";
	} else if (r != FG_OK && r != FG_ERR_UNSUPPORTED)
		return "key probe failed";

	uv = fg_dev_uv_mode(l->devs.dev[which], fg_json_str(l->begin, "uv"));
	if (uv == FG_UV_IMPOSSIBLE)
		return "user verification required but the key has no PIN";
	if (uv == FG_UV_PIN && ask_pin(l) != FG_OK)
		return "no PIN given";
	l->cdj = fg_client_data_json("webauthn.get", l->challenge,
	    l->challenge_len, fg_json_str(l->begin, "origin"));
	if (l->cdj == NULL)
		return "out of memory";
	fg_sha256(l->cdj, strlen(l->cdj), cdh);
	if (!cue_touch(l))
		return "the conversation failed";
	r = fg_dev_assert(l->devs.dev[which], rp_id, cdh, &l->allow, uv,
	    l->pin, &l->out, &ferr);
	if (l->pin != NULL) {
		fg_wipe_free(l->pin, strlen(l->pin));
		l->pin = NULL;
	}
	if (r == FG_ERR_DENIED) {
		DBG(l, "the key said: %s", fido_strerr(ferr));
		if (ferr == FIDO_ERR_PIN_INVALID ||
		    ferr == FIDO_ERR_PIN_BLOCKED ||
		    ferr == FIDO_ERR_PIN_AUTH_BLOCKED)
			say(l, PAM_ERROR_MSG, fg_fido_msg(ferr));
		return fg_fido_msg(ferr);
	}
	if (r != FG_OK)
		return "the key's answer could not be read";
	return NULL;
}

static int
finish(struct login *l)
{
	char *id = fg_b64url_encode(l->out.id, l->out.id_len);
	char *ad = fg_b64url_encode(l->out.authdata, l->out.authdata_len);
	char *sig = fg_b64url_encode(l->out.sig, l->out.sig_len);
	char *cd = fg_b64url_encode((const uint8_t *)l->cdj, strlen(l->cdj));
	json_t *req = NULL, *reply = NULL;
	const char *result;
	int r, ret = PAM_AUTH_ERR;

	if (id != NULL && ad != NULL && sig != NULL && cd != NULL)
		req = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "op",
		    "auth.finish", "session", fg_json_str(l->begin, "session"),
		    "credential_id", id, "authenticator_data", ad,
		    "client_data_json", cd, "signature", sig);
	if (req == NULL) {
		ret = PAM_BUF_ERR;
		goto out;
	}
	if ((r = agent_call(l, req, &reply)) != FG_OK) {
		pam_syslog(l->pamh, LOG_ERR, "auth.finish: %s", fg_strerror(r));
		ret = PAM_AUTHINFO_UNAVAIL;
		goto out;
	}
	result = fg_json_str(reply, "result");
	if (json_is_true(json_object_get(reply, "ok")) && result != NULL &&
	    strcmp(result, "allow") == 0) {
		ret = PAM_SUCCESS;
		goto out;
	}
	pam_syslog(l->pamh, LOG_NOTICE, "the agent refused %s: %s", l->user,
	    fg_json_str(reply, "reason") ? fg_json_str(reply, "reason") :
	    fg_json_str(reply, "message") ? fg_json_str(reply, "message") :
					    "no reason");
out:
	json_decref(reply);
	free(id);
	free(ad);
	free(sig);
	free(cd);
	return ret;
}

static void
login_clear(struct login *l)
{
	if (l->pin != NULL)
		fg_wipe_free(l->pin, strlen(l->pin));
	fg_devs_close(&l->devs);
	fg_id_list_clear(&l->allow);
	fg_assert_out_clear(&l->out);
	json_decref(l->begin);
	free(l->challenge);
	free(l->cdj);
	if (l->fd >= 0)
		close(l->fd);
}

/*
 * Connect only to an agent nobody else could have put there: the socket
 * is a socket (not a symlink), its folder is writable by its owner alone,
 * and the process listening is the socket's owner.
 */
static int
agent_connect(struct login *l, const char *path)
{
	struct stat sb, db;
	struct ucred uc;
	socklen_t len = sizeof(uc);
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", path);
	if (lstat(path, &sb) != 0 || !S_ISSOCK(sb.st_mode)) {
		pam_syslog(l->pamh, LOG_ERR, "%s is missing or not a socket",
		    path);
		return FG_ERR_UNAVAIL;
	}
	if (stat(dirname(dir), &db) != 0 || (db.st_mode & 022) != 0 ||
	    (db.st_uid != 0 && db.st_uid != sb.st_uid)) {
		pam_syslog(l->pamh, LOG_ERR,
		    "refusing %s: its folder is writable by others or owned by "
		    "another user",
		    path);
		return FG_ERR_DENIED;
	}
	if (fg_connect(path, &l->fd) != FG_OK)
		return FG_ERR_UNAVAIL;
	if (getsockopt(l->fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0 ||
	    uc.uid != sb.st_uid) {
		pam_syslog(l->pamh, LOG_ERR,
		    "refusing %s: the process behind it is not its owner", path);
		close(l->fd);
		l->fd = -1;
		return FG_ERR_DENIED;
	}
	return FG_OK;
}

PAM_EXTERN int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct args args;
	struct login l = { .pamh = pamh, .args = &args, .fd = -1 };
	const char *why;
	int r, ret = PAM_AUTH_ERR;

	(void)flags;
	if ((r = parse_args(pamh, argc, argv, &args)) != PAM_SUCCESS)
		return r;
	pam_fail_delay(pamh, FAIL_DELAY_US);
	if (pam_get_user(pamh, &l.user, NULL) != PAM_SUCCESS ||
	    !fg_user_name_valid(l.user)) {
		pam_syslog(pamh, LOG_NOTICE, "no valid user name");
		say(&l, PAM_ERROR_MSG, MSG_REFUSED);
		return PAM_AUTH_ERR;
	}
	fido_init(0);
	if (agent_connect(&l, args.socket) != FG_OK) {
		pam_syslog(pamh, LOG_ERR, "cannot reach fido2gated at %s",
		    args.socket);
		say(&l, PAM_ERROR_MSG, MSG_UNAVAIL);
		return PAM_AUTHINFO_UNAVAIL;
	}
	if ((r = begin(&l)) != PAM_SUCCESS) {
		say(&l, PAM_ERROR_MSG,
		    r == PAM_AUTHINFO_UNAVAIL ? MSG_UNAVAIL : MSG_REFUSED);
		ret = r;
		goto out;
	}
	if ((why = assert_on_key(&l)) != NULL) {
		pam_syslog(pamh, LOG_NOTICE, "refused %s: %s", l.user, why);
		agent_abort(&l, why);
		say(&l, PAM_ERROR_MSG, MSG_REFUSED);
		ret = PAM_AUTH_ERR;
		goto out;
	}
	ret = finish(&l);
	if (ret != PAM_SUCCESS)
		say(&l, PAM_ERROR_MSG,
		    ret == PAM_AUTHINFO_UNAVAIL ? MSG_UNAVAIL : MSG_REFUSED);
	else
		DBG(&l, "the agent allowed %s", l.user);
out:
	login_clear(&l);
	/* the only success is the agent's "allow" */
	return ret == PAM_SUCCESS ? PAM_SUCCESS :
	    ret == PAM_IGNORE	  ? PAM_AUTH_ERR :
				    ret;
}

PAM_EXTERN int
pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS;
}
