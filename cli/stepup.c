/*
 * The admin's step-up: the agent's challenge for one action on one target,
 * signed by the admin's own key, which the agent verifies before acting
 * (agent/admin.c). The admin is --as NAME, or the user who ran sudo, or
 * the caller: a name only picks the key asked for; the key decides.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "ctl.h"
#include "fg_device.h"

#define TOUCH_TIMEOUT_MS 30000

int
ctl_read_pin(const char *prompt, char *buf, size_t len)
{
	struct termios old, quiet;
	bool tty = isatty(STDIN_FILENO) == 1;
	char *nl;
	bool ok;

	fputs(prompt, stderr);
	fflush(stderr);
	if (tty && tcgetattr(STDIN_FILENO, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	} else
		tty = false;
	ok = fgets(buf, (int)len, stdin) != NULL;
	if (tty)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	fputc('\n', stderr);
	if (!ok)
		return FG_ERR_INVALID;
	if ((nl = strchr(buf, '\n')) != NULL)
		*nl = '\0';
	return buf[0] != '\0' ? FG_OK : FG_ERR_INVALID;
}

int
ctl_devs(struct ctl *c)
{
	if (c->devs_open)
		return CTL_EXIT_OK;
	fido_init(0);
	if (fg_devs_open(&c->devs, TOUCH_TIMEOUT_MS) != FG_OK ||
	    c->devs.n == 0) {
		fg_devs_close(&c->devs);
		fputs(_("fido2gatectl: no security key found\n"), stderr);
		return CTL_EXIT_DEVICE;
	}
	c->devs_open = true;
	return CTL_EXIT_OK;
}

static const char *
admin_name(const struct ctl *c, char *buf, size_t len)
{
	const struct passwd *pw;
	const char *sudo = getenv("SUDO_USER");

	if (c->as != NULL)
		return c->as;
	if (getuid() == 0 && sudo != NULL && sudo[0] != '\0')
		return sudo;
	if ((pw = getpwuid(getuid())) == NULL)
		return "";
	snprintf(buf, len, "%s", pw->pw_name);
	return buf;
}

/* The assertion of the key that holds one of ch's credentials. */
static int
sign(struct ctl *c, const char *admin, const struct fg_auth_challenge *ch,
    json_t **stepup)
{
	struct fg_assert_out out = { 0 };
	struct fg_auth_proof p;
	enum fg_uv_mode uv;
	char pin[256] = "", *cdj = NULL, prompt[FG_USER_NAME_MAX + 64];
	uint8_t cdh[32];
	size_t which = 0;
	int fido_err = 0, r, rc = CTL_EXIT_DEVICE;

	if ((rc = ctl_devs(c)) != CTL_EXIT_OK)
		return rc;
	rc = CTL_EXIT_DEVICE;
	r = fg_devs_probe(&c->devs, ch->rp_id, &ch->allow, &which);
	if (r == FG_ERR_NOTFOUND) {
		fprintf(stderr,
		    _("fido2gatectl: no plugged-in key holds a credential of "
		      "the admin %s\n"),
		    admin);
		goto out;
	}
	if (r != FG_OK) {
		fprintf(stderr, _("Admin %s: touch your security key\n"),
		    admin);
		if (fg_devs_touch_select(&c->devs, TOUCH_TIMEOUT_MS, &which) !=
		    FG_OK) {
			fputs(_("fido2gatectl: no key was touched\n"), stderr);
			goto out;
		}
	}
	uv = fg_dev_uv_mode(c->devs.dev[which], ch->uv);
	if (uv == FG_UV_IMPOSSIBLE) {
		fputs(_("fido2gatectl: admin policy requires a PIN and your "
			"key has none: set one with fido2-token -S\n"),
		    stderr);
		goto out;
	}
	snprintf(prompt, sizeof(prompt),
	    _("Enter the PIN of the admin key of %s: "), admin);
	if (uv == FG_UV_PIN && ctl_read_pin(prompt, pin, sizeof(pin)) != FG_OK) {
		fputs(_("fido2gatectl: no PIN given\n"), stderr);
		goto out;
	}
	if ((cdj = fg_client_data_json("webauthn.get", ch->challenge,
		 sizeof(ch->challenge), ch->origin)) == NULL)
		goto out;
	fg_sha256(cdj, strlen(cdj), cdh);
	fprintf(stderr, _("Admin %s: touch your security key to authorise\n"),
	    admin);
	if (fg_dev_assert(c->devs.dev[which], ch->rp_id, cdh, &ch->allow, uv,
		uv == FG_UV_PIN ? pin : NULL, &out, &fido_err) != FG_OK) {
		fprintf(stderr, _("fido2gatectl: %s\n"),
		    _(fg_fido_msg(fido_err)));
		goto out;
	}
	p = (struct fg_auth_proof){ .cred_id = out.id, .cred_id_len = out.id_len,
		.authdata = out.authdata, .authdata_len = out.authdata_len,
		.client_data_json = (const uint8_t *)cdj,
		.client_data_json_len = strlen(cdj), .sig = out.sig,
		.sig_len = out.sig_len };
	if ((*stepup = fg_client_stepup_json(ch, &p)) == NULL) {
		rc = CTL_EXIT_FAIL;
		goto out;
	}
	c->stepup_dev = which;
	c->stepped_up = true;
	rc = CTL_EXIT_OK;
out:
	OPENSSL_cleanse(pin, sizeof(pin));
	fg_assert_out_clear(&out);
	free(cdj);
	return rc;
}

int
ctl_stepup(struct ctl *c, const char *action, const char *target,
    json_t **stepup)
{
	struct fg_auth_challenge ch;
	struct fg_refusal why;
	char buf[FG_USER_NAME_MAX + 1];
	const char *admin = admin_name(c, buf, sizeof(buf));
	bool bootstrap;
	int r, rc;

	*stepup = NULL;
	if ((rc = ctl_open(c)) != CTL_EXIT_OK)
		return rc;
	r = fg_client_admin_begin(c->agent, admin, action, target,
	    CALL_TIMEOUT_MS, &ch, &bootstrap, &why);
	if (r == FG_ERR_DENIED)
		return ctl_refused(&why);
	if (r != FG_OK)
		return ctl_failed(c, r);
	if (bootstrap) {
		fputs(_("fido2gatectl: warning: no admin is registered, so no "
			"admin key is asked for (register one with "
			"fido2gatectl admin add)\n"),
		    stderr);
		return CTL_EXIT_OK;
	}
	rc = sign(c, admin, &ch, stepup);
	fg_auth_challenge_clear(&ch);
	return rc;
}

/* req (consumed) with the step-up for action on target, sent. */
int
ctl_call_stepped(struct ctl *c, const char *action, const char *target,
    json_t *req, json_t **out)
{
	json_t *stepup = NULL;
	int rc;

	*out = NULL;
	if ((rc = ctl_stepup(c, action, target, &stepup)) != CTL_EXIT_OK) {
		json_decref(req);
		return rc;
	}
	if (stepup != NULL)
		json_object_set_new(req, "stepup", stepup);
	return ctl_call(c, req, out);
}
