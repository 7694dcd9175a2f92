/*
 * pam_fido2gate.so: a thin client of fido2gated. It asks the agent for a
 * challenge, finds the enrolled key among those plugged in, gets an
 * assertion over a clientDataJSON it builds (PIN through the conversation
 * when user verification is wanted), and returns PAM_SUCCESS only when the
 * agent answers "allow". Every other path is a refusal; nothing here can
 * turn an error into success, and nothing here reads the environment.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include <fido2gate/client.h>

#include "args.h"
#include "fg.h"
#include "fg_device.h"
#include "intl.h"

#define AGENT_TIMEOUT_MS 10000
#define CONNECT_TIMEOUT_MS 5000
#define FAIL_DELAY_US 2000000
#define PIN_MAX 255

/* shown in the user's language, through _() */
#define MSG_REFUSED N_("fido2gate: security key check failed")
#define MSG_UNAVAIL N_("fido2gate: the authentication service is unavailable")

struct login {
	pam_handle_t *pamh;
	const struct fg_pam_args *args;
	const char *user;
	struct fg_client *agent;
	struct fg_auth_challenge chal; /* auth.begin's answer, checked */
	bool begun;
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
	    say(l, PAM_TEXT_INFO, _("Touch your security key")) == PAM_SUCCESS;
}

/* The PIN, through the conversation with echo off. NULL or empty is a
 * refusal, never "no PIN". */
static int
ask_pin(struct login *l)
{
	char *resp = NULL;
	int r;

	r = pam_prompt(l->pamh, PAM_PROMPT_ECHO_OFF, &resp,
	    "%s", _("Enter the PIN for your security key: "));
	if (r != PAM_SUCCESS || resp == NULL || resp[0] == '\0' ||
	    strlen(resp) > PIN_MAX) {
		if (resp != NULL)
			fg_wipe_free(resp, strlen(resp));
		return FG_ERR_DENIED;
	}
	l->pin = resp;
	return FG_OK;
}

/* Tell the agent why we gave up, so that the refusal is audited. */
static void
agent_abort(struct login *l, const char *why)
{
	if (l->begun &&
	    fg_client_auth_abort(l->agent, &l->chal, why, AGENT_TIMEOUT_MS) !=
		FG_OK)
		pam_syslog(l->pamh, LOG_WARNING,
		    "could not record the refusal with the agent");
}

static const char *
item(pam_handle_t *pamh, int type)
{
	const void *v = NULL;

	return pam_get_item(pamh, type, &v) == PAM_SUCCESS ? v : NULL;
}

static int
begin(struct login *l)
{
	struct fg_auth_request req = { .user = l->user,
		.service = item(l->pamh, PAM_SERVICE),
		.rhost = item(l->pamh, PAM_RHOST),
		.tty = item(l->pamh, PAM_TTY) };
	struct fg_refusal why;
	char text[256];
	int r;

	r = fg_client_auth_begin(l->agent, &req, AGENT_TIMEOUT_MS, &l->chal,
	    &why);
	if (r == FG_ERR_DENIED) {
		bool limited = strcmp(why.code, FG_E_RATE_LIMITED) == 0 ||
		    strcmp(why.code, FG_E_LOCKED) == 0;
		pam_syslog(l->pamh, LOG_NOTICE, "agent refused auth.begin: %s",
		    why.message[0] != '\0' ? why.message : "no reason");
		/* the user may act on these: wait, or ask an admin */
		if (limited)
			say(l, PAM_ERROR_MSG,
			    fg_refusal_text(&why, text, sizeof(text)));
		return limited || strcmp(why.code, FG_E_DENIED) == 0 ?
		    PAM_AUTH_ERR :
		    PAM_AUTHINFO_UNAVAIL;
	}
	if (r != FG_OK) {
		pam_syslog(l->pamh, LOG_ERR, "auth.begin: %s", fg_strerror(r));
		return r == FG_ERR_NOMEM ? PAM_BUF_ERR : PAM_AUTHINFO_UNAVAIL;
	}
	l->begun = true;
	return PAM_SUCCESS;
}

/* What a key may be asked: the configured rp_id's allow list, then each
 * relying party of imported credentials (pam://host), with its policy,
 * and last the resident ones, asked with no allow list (any resident
 * credential of that rp answers; the agent keeps only the user's). */
struct target {
	const char *rp_id;
	const struct fg_id_list *allow;
	enum fg_uv_policy uv;
};

static size_t
targets(const struct login *l, struct target *t)
{
	size_t n = 0, i;

	if (l->chal.allow.n > 0)
		t[n++] = (struct target){ l->chal.rp_id, &l->chal.allow,
			l->chal.uv };
	for (i = 0; i < l->chal.n_groups; i++)
		if (!l->chal.groups[i].discoverable)
			t[n++] = (struct target){ l->chal.groups[i].rp_id,
				&l->chal.groups[i].allow, l->chal.groups[i].uv };
	for (i = 0; i < l->chal.n_groups; i++)
		if (l->chal.groups[i].discoverable)
			t[n++] = (struct target){ l->chal.groups[i].rp_id,
				&l->chal.groups[i].allow, l->chal.groups[i].uv };
	return n;
}

/* The first target some key holds a credential of, without a touch: FG_OK
 * with *pick and *which; FG_ERR_UNSUPPORTED (a key could not say) with
 * the first such; FG_ERR_NOTFOUND; FG_ERR_IO (a key failed). */
static int
probe_targets(struct login *l, const struct target *t, size_t nt,
    size_t *pick, size_t *which)
{
	size_t k, w = 0;
	int r = FG_ERR_NOTFOUND, rk;

	for (k = 0; k < nt; k++) {
		rk = fg_devs_probe(&l->devs, t[k].rp_id, t[k].allow, &w);
		DBG(l, "%zu key(s); probe for %s: %s", l->devs.n, t[k].rp_id,
		    fg_strerror(rk));
		if (rk == FG_OK) {
			*pick = k;
			*which = w;
			return FG_OK;
		}
		if (rk == FG_ERR_UNSUPPORTED && r != FG_ERR_UNSUPPORTED) {
			*pick = k;
			*which = w;
			r = rk;
		} else if (rk != FG_ERR_NOTFOUND && r == FG_ERR_NOTFOUND)
			r = rk;
	}
	return r;
}

/* Find the key, get the assertion. Returns a refusal reason or NULL. */
static const char *
assert_on_key(struct login *l)
{
	struct target t[1 + FG_RP_GROUPS_MAX];
	const char *rp_id;
	uint8_t cdh[32];
	size_t which = 0, pick = 0, nt = targets(l, t);
	enum fg_uv_mode uv;
	int r, ferr;

	if (fg_devs_open(&l->devs, l->args->timeout_s * 1000) != FG_OK)
		return "out of memory";
	if (l->devs.n == 0)
		return "no security key found";
	r = probe_targets(l, t, nt, &pick, &which);
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

	rp_id = t[pick].rp_id;
	uv = fg_dev_uv_mode(l->devs.dev[which], t[pick].uv);
	if (uv == FG_UV_IMPOSSIBLE)
		return "user verification required but the key has no PIN";
	if (uv == FG_UV_PIN && ask_pin(l) != FG_OK)
		return "no PIN given";
	l->cdj = fg_client_data_json("webauthn.get", l->chal.challenge,
	    sizeof(l->chal.challenge), l->chal.origin);
	if (l->cdj == NULL)
		return "out of memory";
	fg_sha256(l->cdj, strlen(l->cdj), cdh);
	if (!cue_touch(l))
		return "the conversation failed";
	r = fg_dev_assert(l->devs.dev[which], rp_id, cdh, t[pick].allow, uv,
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
			say(l, PAM_ERROR_MSG, _(fg_fido_msg(ferr)));
		return fg_fido_msg(ferr);
	}
	if (r != FG_OK)
		return "the key's answer could not be read";
	return NULL;
}

static int
finish(struct login *l)
{
	struct fg_auth_proof p = { .cred_id = l->out.id,
		.cred_id_len = l->out.id_len,
		.authdata = l->out.authdata,
		.authdata_len = l->out.authdata_len,
		.client_data_json = (const uint8_t *)l->cdj,
		.client_data_json_len = strlen(l->cdj),
		.sig = l->out.sig,
		.sig_len = l->out.sig_len };
	struct fg_auth_verdict v;
	int r;

	r = fg_client_auth_finish(l->agent, &l->chal, &p, AGENT_TIMEOUT_MS,
	    &v);
	if (r != FG_OK) {
		pam_syslog(l->pamh, LOG_ERR, "auth.finish: %s", fg_strerror(r));
		return r == FG_ERR_NOMEM ? PAM_BUF_ERR : PAM_AUTHINFO_UNAVAIL;
	}
	if (v.allow)
		return PAM_SUCCESS;
	pam_syslog(l->pamh, LOG_NOTICE, "the agent refused %s: %s", l->user,
	    v.reason);
	return PAM_AUTH_ERR;
}

static void
login_clear(struct login *l)
{
	if (l->pin != NULL)
		fg_wipe_free(l->pin, strlen(l->pin));
	fg_devs_close(&l->devs);
	fg_assert_out_clear(&l->out);
	fg_auth_challenge_clear(&l->chal);
	free(l->cdj);
	fg_client_free(&l->agent);
}

PAM_EXTERN int
pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct fg_pam_args args;
	struct login l = { .pamh = pamh, .args = &args };
	const char *why;
	char err[256];
	int r, ret = PAM_AUTH_ERR;

	(void)flags;
	if (fg_pam_args_parse(argc, argv, &args, err, sizeof(err)) != 0) {
		pam_syslog(pamh, LOG_ERR, "%s", err);
		return PAM_SERVICE_ERR;
	}
	pam_fail_delay(pamh, FAIL_DELAY_US);
	if (pam_get_user(pamh, &l.user, NULL) != PAM_SUCCESS ||
	    !fg_user_name_valid(l.user)) {
		pam_syslog(pamh, LOG_NOTICE, "no valid user name");
		say(&l, PAM_ERROR_MSG, _(MSG_REFUSED));
		return PAM_AUTH_ERR;
	}
	fido_init(0);
	if ((r = fg_client_open(args.socket, CONNECT_TIMEOUT_MS, &l.agent, err,
		 sizeof(err))) != FG_OK) {
		pam_syslog(pamh, LOG_ERR, "cannot reach fido2gated: %s", err);
		say(&l, PAM_ERROR_MSG, _(MSG_UNAVAIL));
		return PAM_AUTHINFO_UNAVAIL;
	}
	if ((r = begin(&l)) != PAM_SUCCESS) {
		say(&l, PAM_ERROR_MSG,
		    _(r == PAM_AUTHINFO_UNAVAIL ? MSG_UNAVAIL : MSG_REFUSED));
		ret = r;
		goto out;
	}
	if ((why = assert_on_key(&l)) != NULL) {
		pam_syslog(pamh, LOG_NOTICE, "refused %s: %s", l.user, why);
		agent_abort(&l, why);
		say(&l, PAM_ERROR_MSG, _(MSG_REFUSED));
		ret = PAM_AUTH_ERR;
		goto out;
	}
	ret = finish(&l);
	if (ret != PAM_SUCCESS)
		say(&l, PAM_ERROR_MSG,
		    _(ret == PAM_AUTHINFO_UNAVAIL ? MSG_UNAVAIL : MSG_REFUSED));
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
