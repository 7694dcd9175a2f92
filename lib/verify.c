/*
 * The one assertion verifier (WebAuthn Level 3 §7.2, steps 11 to 22), used
 * by the agent for every login and by `fido2gatectl verify`. Every check
 * runs and each failure is reported, so a caller (and the audit log) sees
 * all that is wrong with an assertion, not only the first thing.
 */
#include <stdlib.h>
#include <string.h>

#include "fg.h"

static const char *const check_names[FG_CHK_COUNT] = {
	"type_mismatch",
	"challenge_mismatch",
	"origin_mismatch",
	"cross_origin_not_allowed",
	"top_origin_mismatch",
	"malformed_client_data",
	"rp_id_hash_mismatch",
	"up_not_set",
	"uv_not_set",
	"bs_without_be",
	"malformed_authdata",
	"bad_signature",
	"counter_regression",
	"unsupported_algorithm",
	"malformed_public_key",
};

const char *
fg_check_name(unsigned bit)
{
	unsigned i;

	for (i = 0; i < FG_CHK_COUNT; i++)
		if (bit == 1u << i)
			return check_names[i];
	return "unknown";
}

const char *
fg_checks_string(unsigned failed, char *buf, size_t len)
{
	size_t off = 0;
	unsigned i;

	buf[0] = '\0';
	for (i = 0; i < FG_CHK_COUNT && off < len; i++)
		if (failed & (1u << i)) {
			int n = snprintf(buf + off, len - off, "%s%s",
			    off ? "," : "", check_names[i]);
			if (n < 0)
				break;
			off += (size_t)n;
		}
	return buf;
}

static bool
in_list(const char *s, const char *const *list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return true;
	return false;
}

/* Steps 11-14 and the crossOrigin/topOrigin rules on clientDataJSON. A
 * document that is not a JSON object, or that repeats a member, fails
 * every client-data check: nothing in it can be trusted. */
int
fg_client_data_check(const uint8_t *cdj, size_t len, const struct fg_expect *e,
    unsigned *failed)
{
	json_t *cd;
	json_error_t jerr;
	const char *type, *chal, *origin;
	const json_t *co, *top;
	char *want = NULL;

	cd = json_loadb((const char *)cdj, len, JSON_REJECT_DUPLICATES, &jerr);
	if (cd == NULL || !json_is_object(cd)) {
		json_decref(cd);
		*failed |= FG_CHK_CLIENT_DATA | FG_CHK_TYPE |
		    FG_CHK_CHALLENGE | FG_CHK_ORIGIN;
		return FG_OK;
	}
	type = fg_json_str(cd, "type");
	if (type == NULL ||
	    strcmp(type, e->type != NULL ? e->type : "webauthn.get") != 0)
		*failed |= FG_CHK_TYPE;
	if ((want = fg_b64url_encode(e->challenge, e->challenge_len)) == NULL) {
		json_decref(cd);
		return FG_ERR_NOMEM;
	}
	chal = fg_json_str(cd, "challenge");
	if (chal == NULL || strcmp(chal, want) != 0)
		*failed |= FG_CHK_CHALLENGE;
	free(want);
	origin = fg_json_str(cd, "origin");
	if (origin == NULL || !in_list(origin, e->origins, e->n_origins))
		*failed |= FG_CHK_ORIGIN;
	co = json_object_get(cd, "crossOrigin");
	if (co != NULL && !json_is_boolean(co))
		*failed |= FG_CHK_CLIENT_DATA;
	if (json_is_true(co) && !e->allow_cross_origin)
		*failed |= FG_CHK_CROSS_ORIGIN;
	top = json_object_get(cd, "topOrigin");
	if (top != NULL &&
	    (!json_is_string(top) ||
		!in_list(json_string_value(top), e->top_origins,
		    e->n_top_origins)))
		*failed |= FG_CHK_TOP_ORIGIN;
	json_decref(cd);
	return FG_OK;
}

static int
check_signature(const struct fg_pubkey *key, const struct fg_assertion *a,
    const uint8_t *cdh, size_t cdh_len, unsigned *failed)
{
	uint8_t *msg;
	size_t len = a->authdata_len + cdh_len;

	if (len < a->authdata_len || (msg = malloc(len ? len : 1)) == NULL)
		return FG_ERR_NOMEM;
	if (a->authdata_len > 0)
		memcpy(msg, a->authdata, a->authdata_len);
	memcpy(msg + a->authdata_len, cdh, cdh_len);
	if (!fg_pubkey_verify(key, msg, len, a->sig, a->sig_len))
		*failed |= FG_CHK_SIGNATURE;
	free(msg);
	return FG_OK;
}

int
fg_verify_assertion(const struct fg_pubkey *key, int key_status,
    const struct fg_assertion *a, const struct fg_expect *e,
    struct fg_verdict *v)
{
	struct fg_authdata ad;
	uint8_t hash[32], rp_hash[32], appid_hash[32];
	const uint8_t *cdh;
	size_t cdh_len;
	unsigned failed = 0;
	int r;

	memset(v, 0, sizeof(*v));
	if (a->client_data_json != NULL) {
		if ((r = fg_client_data_check(a->client_data_json,
			 a->client_data_json_len, e, &failed)) != FG_OK)
			return r;
		fg_sha256(a->client_data_json, a->client_data_json_len, hash);
		cdh = hash;
		cdh_len = sizeof(hash);
	} else {
		cdh = a->client_data_hash;
		cdh_len = a->client_data_hash_len;
		if (cdh == NULL || cdh_len != 32)
			failed |= FG_CHK_CLIENT_DATA;
		if (cdh == NULL)
			cdh_len = 0;
	}

	if (fg_authdata_parse(a->authdata, a->authdata_len, &ad) != FG_OK)
		failed |= FG_CHK_AUTHDATA;
	if (a->authdata_len >= FG_AD_MIN) {
		v->have_flags = true;
		v->flags = ad.flags;
		v->sign_count = ad.sign_count;
		fg_sha256(e->rp_id, strlen(e->rp_id), rp_hash);
		if (e->appid != NULL)
			fg_sha256(e->appid, strlen(e->appid), appid_hash);
		if (memcmp(ad.rp_id_hash, rp_hash, 32) != 0 &&
		    (e->appid == NULL ||
			memcmp(ad.rp_id_hash, appid_hash, 32) != 0))
			failed |= FG_CHK_RP_ID;
		if (e->user_presence && !(ad.flags & FG_AD_UP))
			failed |= FG_CHK_UP;
		if (e->user_verification && !(ad.flags & FG_AD_UV))
			failed |= FG_CHK_UV;
		if ((ad.flags & FG_AD_BS) && !(ad.flags & FG_AD_BE))
			failed |= FG_CHK_BS_WITHOUT_BE;
		if (e->have_stored_count &&
		    (ad.sign_count != 0 || e->stored_count != 0) &&
		    ad.sign_count <= e->stored_count)
			failed |= FG_CHK_COUNTER;
	}

	if (key_status == FG_ERR_UNSUPPORTED)
		failed |= FG_CHK_ALG;
	else if (key_status != FG_OK || key == NULL)
		failed |= FG_CHK_KEY;
	else if ((r = check_signature(key, a, cdh, cdh_len, &failed)) != FG_OK)
		return r;

	v->failed = failed;
	return FG_OK;
}
