/*
 * `fido2gatectl verify`: the offline assertion verifier. One JSON request
 * on stdin, one JSON verdict on stdout (the contract is in
 * docs/cli.md). It runs the same fg_verify_assertion the agent runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

#define REQUEST_MAX (1u << 20)

struct request {
	struct fg_pubkey *key;
	int key_status;
	uint8_t *cose, *authdata, *cdj, *cdh, *sig, *challenge;
	size_t cose_len, authdata_len, cdj_len, cdh_len, sig_len, chal_len;
	const char **origins, **top_origins;
	struct fg_expect e;
	struct fg_assertion a;
};

static void
request_clear(struct request *r)
{
	fg_pubkey_free(&r->key);
	free(r->cose);
	free(r->authdata);
	free(r->cdj);
	free(r->cdh);
	free(r->sig);
	free(r->challenge);
	free(r->origins);
	free(r->top_origins);
}

static int
unusable(const char *what)
{
	/* what names the request's members: not translated */
	fprintf(stderr, _("fido2gatectl verify: unusable request: %s\n"), what);
	return CTL_EXIT_USAGE;
}

static int
b64_member(const json_t *obj, const char *key, bool required, uint8_t **out,
    size_t *len)
{
	const json_t *v = json_object_get(obj, key);

	*out = NULL;
	*len = 0;
	if (v == NULL || json_is_null(v))
		return required ? FG_ERR_NOTFOUND : FG_OK;
	if (!json_is_string(v))
		return FG_ERR_INVALID;
	return fg_b64url_decode(json_string_value(v), out, len);
}

static int
string_list(const json_t *arr, const char ***out, size_t *n)
{
	size_t i;

	*out = NULL;
	*n = 0;
	if (arr == NULL)
		return FG_OK;
	if (!json_is_array(arr))
		return FG_ERR_INVALID;
	if ((*out = calloc(json_array_size(arr) + 1, sizeof(char *))) == NULL)
		return FG_ERR_NOMEM;
	for (i = 0; i < json_array_size(arr); i++) {
		const char *s = json_string_value(json_array_get(arr, i));
		if (s == NULL)
			return FG_ERR_INVALID;
		(*out)[i] = s;
	}
	*n = i;
	return FG_OK;
}

static int
bool_member(const json_t *obj, const char *key, bool dflt, bool *out)
{
	const json_t *v = json_object_get(obj, key);

	if (v == NULL) {
		*out = dflt;
		return FG_OK;
	}
	if (!json_is_boolean(v))
		return FG_ERR_INVALID;
	*out = json_is_true(v);
	return FG_OK;
}

static int
parse_key(const json_t *pk, struct request *r)
{
	const char *cose = fg_json_str(pk, "cose");
	const char *pem = fg_json_str(pk, "pem"), *alg = fg_json_str(pk, "alg");

	if (cose != NULL) {
		if (fg_b64url_decode(cose, &r->cose, &r->cose_len) != FG_OK)
			return unusable("public_key.cose is not base64url");
		r->key_status =
		    fg_pubkey_from_cose(r->cose, r->cose_len, &r->key);
	} else if (pem != NULL && alg != NULL)
		r->key_status = fg_pubkey_from_pem(pem, alg, &r->key);
	else
		return unusable("public_key needs cose, or pem and alg");
	if (r->key_status == FG_ERR_NOMEM)
		return unusable("out of memory");
	return 0;
}

static int
parse_request(const json_t *req, struct request *r)
{
	const json_t *pk = json_object_get(req, "public_key");
	const json_t *ex = json_object_get(req, "expect");
	const json_t *cnt = json_object_get(req, "stored_sign_count");
	const json_t *appid;
	size_t n;
	int rc;

	if (!json_is_object(pk))
		return unusable("public_key is missing");
	if (!json_is_object(ex) || fg_json_str(ex, "rp_id") == NULL)
		return unusable("expect.rp_id is missing");
	if ((rc = parse_key(pk, r)) != 0)
		return rc;
	if (cnt != NULL && !json_is_null(cnt)) {
		if (!json_is_integer(cnt) || json_integer_value(cnt) < 0 ||
		    json_integer_value(cnt) > UINT32_MAX)
			return unusable("stored_sign_count is not a 32-bit counter");
		r->e.have_stored_count = true;
		r->e.stored_count = (uint32_t)json_integer_value(cnt);
	}
	if (b64_member(req, "authenticator_data", true, &r->authdata,
		&r->authdata_len) != FG_OK)
		return unusable("authenticator_data is missing or not base64url");
	if (b64_member(req, "signature", true, &r->sig, &r->sig_len) != FG_OK)
		return unusable("signature is missing or not base64url");
	if (b64_member(req, "client_data_json", false, &r->cdj, &r->cdj_len) !=
		FG_OK ||
	    b64_member(req, "client_data_hash", false, &r->cdh, &r->cdh_len) !=
		FG_OK)
		return unusable("client data is not base64url");
	if (json_object_get(req, "client_data_json") != NULL) {
		if (r->cdj == NULL)
			return unusable("client_data_json is null");
		if (b64_member(ex, "challenge", true, &r->challenge,
			&r->chal_len) != FG_OK)
			return unusable("expect.challenge is missing or not base64url");
		if (string_list(json_object_get(ex, "origins"), &r->origins,
			&n) != FG_OK ||
		    r->origins == NULL)
			return unusable("expect.origins is not a list of strings");
		r->e.origins = r->origins;
		r->e.n_origins = n;
		r->a.client_data_json = r->cdj;
		r->a.client_data_json_len = r->cdj_len;
	} else if (json_object_get(req, "client_data_hash") != NULL) {
		/* a zero-length hash is still a hash: it fails as malformed */
		r->a.client_data_hash = r->cdh != NULL ? r->cdh :
							 (const uint8_t *)"";
		r->a.client_data_hash_len = r->cdh_len;
	} else
		return unusable("client_data_json or client_data_hash is needed");
	if (string_list(json_object_get(ex, "top_origins"), &r->top_origins,
		&n) != FG_OK)
		return unusable("expect.top_origins is not a list of strings");
	r->e.top_origins = r->top_origins;
	r->e.n_top_origins = n;
	r->e.rp_id = fg_json_str(ex, "rp_id");
	r->e.challenge = r->challenge;
	r->e.challenge_len = r->chal_len;
	r->e.type = fg_json_str(ex, "type");
	if (json_object_get(ex, "type") != NULL && r->e.type == NULL)
		return unusable("expect.type is not a string");
	appid = json_object_get(ex, "appid");
	if (appid != NULL && !json_is_null(appid) && !json_is_string(appid))
		return unusable("expect.appid is not a string");
	r->e.appid = json_string_value(appid);
	if (bool_member(ex, "user_presence", true, &r->e.user_presence) ||
	    bool_member(ex, "user_verification", false,
		&r->e.user_verification) ||
	    bool_member(ex, "allow_cross_origin", false,
		&r->e.allow_cross_origin))
		return unusable("an expect flag is not a boolean");
	r->a.authdata = r->authdata;
	r->a.authdata_len = r->authdata_len;
	r->a.sig = r->sig;
	r->a.sig_len = r->sig_len;
	return 0;
}

static json_t *
verdict_json(const struct fg_verdict *v)
{
	json_t *out, *failed;
	unsigned i;

	out = json_object();
	failed = json_array();
	for (i = 0; i < FG_CHK_COUNT; i++)
		if (v->failed & (1u << i))
			json_array_append_new(failed,
			    json_string(fg_check_name(1u << i)));
	json_object_set_new(out, "ok", json_boolean(v->failed == 0));
	json_object_set_new(out, "failed", failed);
	if (v->have_flags) {
		json_object_set_new(out, "sign_count",
		    json_integer(v->sign_count));
		json_object_set_new(out, "flags",
		    json_pack("{s:b,s:b,s:b,s:b}", "up",
			(v->flags & FG_AD_UP) != 0, "uv",
			(v->flags & FG_AD_UV) != 0, "be",
			(v->flags & FG_AD_BE) != 0, "bs",
			(v->flags & FG_AD_BS) != 0));
	} else
		json_object_set_new(out, "sign_count", json_null());
	return out;
}

int
ctl_verify(struct ctl *c, int argc, char **argv)
{
	struct request r;
	struct fg_verdict v;
	json_error_t jerr;
	json_t *req = NULL, *out = NULL;
	char *buf = NULL;
	size_t len = 0, n;
	int rc = CTL_EXIT_USAGE;

	(void)c;
	(void)argv;
	memset(&r, 0, sizeof(r));
	if (argc != 1) {
		fputs(_("usage: fido2gatectl verify < request.json\n"), stderr);
		return CTL_EXIT_USAGE;
	}
	if ((buf = malloc(REQUEST_MAX + 1)) == NULL)
		goto out;
	while ((n = fread(buf + len, 1, REQUEST_MAX + 1 - len, stdin)) > 0)
		if ((len += n) > REQUEST_MAX)
			break;
	if (len > REQUEST_MAX) {
		rc = unusable("larger than 1 MiB");
		goto out;
	}
	if ((req = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr)) ==
		NULL ||
	    !json_is_object(req)) {
		fprintf(stderr, _("fido2gatectl verify: not a JSON object: %s\n"),
		    jerr.text);
		goto out;
	}
	if ((rc = parse_request(req, &r)) != 0)
		goto out;
	if (fg_verify_assertion(r.key, r.key_status, &r.a, &r.e, &v) != FG_OK) {
		rc = unusable("out of memory");
		goto out;
	}
	out = verdict_json(&v);
	if (out == NULL || json_dumpf(out, stdout, JSON_COMPACT) != 0) {
		rc = CTL_EXIT_USAGE;
		goto out;
	}
	putchar('\n');
	rc = v.failed == 0 ? CTL_EXIT_OK : CTL_EXIT_FAIL;
out:
	json_decref(out);
	json_decref(req);
	request_clear(&r);
	free(buf);
	return rc;
}
