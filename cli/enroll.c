/*
 * `fido2gatectl enroll USER`: the agent issues the challenge and the user
 * handle, the plugged-in key makes the credential, and the agent verifies
 * the attestation and stores the key. The CLI holds nothing it could forge
 * an enrolment with.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "ctl.h"
#include "fg_device.h"

#define TOUCH_TIMEOUT_MS 30000

static int
parse_alg(const char *s)
{
	if (strcmp(s, "es256") == 0 || strcmp(s, "ES256") == 0)
		return COSE_ES256;
	if (strcmp(s, "eddsa") == 0 || strcmp(s, "EdDSA") == 0)
		return COSE_EDDSA;
	if (strcmp(s, "rs256") == 0 || strcmp(s, "RS256") == 0)
		return COSE_RS256;
	return 0;
}

static int
fill_cred(fido_cred_t *cred, const struct fg_enroll_challenge *b, int alg,
    const uint8_t cdh[32], enum fg_uv_mode uv)
{
	size_t i;

	if (fido_cred_set_type(cred, alg) != FIDO_OK ||
	    fido_cred_set_clientdata_hash(cred, cdh, 32) != FIDO_OK ||
	    fido_cred_set_rp(cred, b->rp_id, b->rp_name) != FIDO_OK ||
	    fido_cred_set_user(cred, b->user_handle, sizeof(b->user_handle),
		b->user, b->user, NULL) != FIDO_OK ||
	    fido_cred_set_rk(cred, FIDO_OPT_OMIT) != FIDO_OK ||
	    (uv == FG_UV_BUILTIN &&
		fido_cred_set_uv(cred, FIDO_OPT_TRUE) != FIDO_OK))
		return FG_ERR_INTERNAL;
	for (i = 0; i < b->exclude.n; i++)
		if (fido_cred_exclude(cred, b->exclude.id[i],
			b->exclude.len[i]) != FIDO_OK)
			return FG_ERR_INTERNAL;
	return FG_OK;
}

/*
 * The key to make the credential on: the only one, or besides the admin's
 * own key (which answered the step-up) the other one, or the one touched.
 */
static int
pick_key(struct ctl *c, size_t *which)
{
	*which = 0;
	if (c->devs.n == 1) {
		if (c->stepped_up) {
			fputs(_("fido2gatectl: only your admin key is plugged "
				"in: plug in the key to enrol beside it\n"),
			    stderr);
			return CTL_EXIT_DEVICE;
		}
		return CTL_EXIT_OK;
	}
	if (c->stepped_up && c->devs.n == 2) {
		*which = c->stepup_dev == 0 ? 1 : 0;
		return CTL_EXIT_OK;
	}
	fputs(_("Touch the security key to enrol\n"), stderr);
	if (fg_devs_touch_select(&c->devs, TOUCH_TIMEOUT_MS, which) != FG_OK) {
		fputs(_("fido2gatectl: no key was touched\n"), stderr);
		return CTL_EXIT_DEVICE;
	}
	if (c->stepped_up && *which == c->stepup_dev) {
		fputs(_("fido2gatectl: that is your admin key: touch the key "
			"to enrol\n"),
		    stderr);
		return CTL_EXIT_DEVICE;
	}
	return CTL_EXIT_OK;
}

static json_t *
finish_request(const struct fg_enroll_challenge *begin, fido_cred_t *cred,
    const char *cdj)
{
	char *ad = fg_b64url_encode(fido_cred_authdata_raw_ptr(cred),
	    fido_cred_authdata_raw_len(cred));
	char *st = fg_b64url_encode(fido_cred_attstmt_ptr(cred),
	    fido_cred_attstmt_len(cred));
	char *cd = fg_b64url_encode((const uint8_t *)cdj, strlen(cdj));
	json_t *req = NULL;

	if (ad != NULL && st != NULL && cd != NULL && fido_cred_fmt(cred))
		req = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "op",
		    FG_OP_ENROLL_FINISH, "session", begin->session, "fmt",
		    fido_cred_fmt(cred), "authenticator_data", ad,
		    "attestation_statement", st, "client_data_json", cd);
	free(ad);
	free(st);
	free(cd);
	return req;
}

int
ctl_enroll(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "label", required_argument, NULL, 'l' },
		{ "alg", required_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 },
	};
	struct fg_enroll_challenge begin = { 0 };
	struct fg_refusal why;
	fido_cred_t *cred = NULL;
	json_t *req, *done = NULL, *stepup = NULL;
	const char *label = NULL;
	char pin[256] = "", *cdj = NULL;
	uint8_t cdh[32];
	size_t which = 0;
	enum fg_uv_mode uv;
	int ch, alg = COSE_ES256, r, rc = CTL_EXIT_USAGE;

	while ((ch = getopt_long(argc, argv, "l:a:", opts, NULL)) != -1) {
		if (ch == 'l')
			label = optarg;
		else if (ch == 'a' && (alg = parse_alg(optarg)) != 0)
			continue;
		else
			goto usage;
	}
	if (optind != argc - 1)
		goto usage;
	fido_init(0);
	if ((rc = ctl_stepup(c, "enroll", argv[optind], &stepup)) !=
	    CTL_EXIT_OK)
		goto out;
	r = fg_client_enroll_begin(c->agent, argv[optind], label, stepup,
	    CALL_TIMEOUT_MS, &begin, &why);
	if (r == FG_ERR_DENIED) {
		rc = ctl_refused(&why);
		goto out;
	}
	if (r != FG_OK) {
		rc = ctl_failed(c, r);
		goto out;
	}
	if ((rc = ctl_devs(c)) != CTL_EXIT_OK)
		goto out;
	rc = CTL_EXIT_DEVICE;
	if ((r = pick_key(c, &which)) != CTL_EXIT_OK) {
		rc = r;
		goto out;
	}
	uv = fg_dev_uv_mode(c->devs.dev[which], begin.uv);
	if (uv == FG_UV_IMPOSSIBLE) {
		fputs(_("fido2gatectl: policy requires user verification and "
			"this key has no PIN: set one with fido2-token -S\n"),
		    stderr);
		goto out;
	}
	if (uv == FG_UV_PIN &&
	    ctl_read_pin(_("Enter the PIN for your security key: "), pin,
		sizeof(pin)) != FG_OK) {
		fputs(_("fido2gatectl: no PIN given\n"), stderr);
		goto out;
	}
	cdj = fg_client_data_json("webauthn.create", begin.challenge,
	    sizeof(begin.challenge), begin.origin);
	if (cdj == NULL || (cred = fido_cred_new()) == NULL)
		goto out;
	fg_sha256(cdj, strlen(cdj), cdh);
	if (fill_cred(cred, &begin, alg, cdh, uv) != FG_OK) {
		fputs(_("fido2gatectl: cannot build the request\n"), stderr);
		goto out;
	}
	fprintf(stderr, "%s\n", _("Touch your security key"));
	r = fido_dev_make_cred(c->devs.dev[which], cred,
	    uv == FG_UV_PIN ? pin : NULL);
	if (r != FIDO_OK) {
		fprintf(stderr, _("fido2gatectl: %s\n"), _(fg_fido_msg(r)));
		goto out;
	}
	if ((req = finish_request(&begin, cred, cdj)) == NULL)
		goto out;
	if ((rc = ctl_call(c, req, &done)) != CTL_EXIT_OK)
		goto out;
	if (c->json) {
		json_object_del(done, "v");
		json_object_del(done, "ok");
		json_dumpf(done, stdout, JSON_INDENT(2));
		putchar('\n');
	} else
		printf(_("enrolled %s \"%s\" for %s (%s, attestation %s%s)\n"),
		    fg_json_str(done, "credential_id"),
		    fg_json_str(done, "label"), fg_json_str(done, "user"),
		    fg_json_str(done, "alg"), fg_json_str(done, "attestation"),
		    json_is_true(json_object_get(done, "uv")) ? _(", PIN") :
								  "");
	if (!c->json && json_is_true(json_object_get(done, "pending")))
		printf(_("%s has no other active key: this is a recovery. The "
			 "key works once a second admin runs\n"
			 "  fido2gatectl approve %s\n"),
		    fg_json_str(done, "user"), fg_json_str(done, "request"));
	ctl_min_keys(done, fg_json_str(done, "user"));
	rc = CTL_EXIT_OK;
	goto out;
usage:
	fputs(_("usage: fido2gatectl enroll USER [--label TEXT] "
		"[--alg es256|eddsa|rs256]\n"),
	    stderr);
	return CTL_EXIT_USAGE;
out:
	OPENSSL_cleanse(pin, sizeof(pin));
	fido_cred_free(&cred);
	json_decref(stepup);
	fg_enroll_challenge_clear(&begin);
	json_decref(done);
	free(cdj);
	return rc;
}
