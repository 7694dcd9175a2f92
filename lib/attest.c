/*
 * Attestation at enrolment (WebAuthn §7.1 steps 19-21, §8): the formats
 * none, packed (self and x5c) and fido-u2f. A statement that is present is
 * always verified; whether a verified statement is trusted is policy
 * (attest_policy.c), which gets the statement's certificates in the result.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "fg.h"

struct attstmt {
	bool have_alg;
	int alg;
	const uint8_t *sig;
	size_t sig_len;
	X509 *x5c; /* the leaf, x5c[0] */
	STACK_OF(X509) *chain; /* all of x5c, leaf first, for the policy */
	size_t n_x5c;
	size_t n_members;
};

#define WHY(...) snprintf(why, whylen, __VA_ARGS__)

static int
parse_attstmt(const cbor_item_t *map, struct attstmt *st, char *why,
    size_t whylen)
{
	struct cbor_pair *pairs = cbor_map_handle(map);
	size_t i, n = cbor_map_size(map);

	memset(st, 0, sizeof(*st));
	st->n_members = n;
	for (i = 0; i < n; i++) {
		const cbor_item_t *k = pairs[i].key, *v = pairs[i].value;
		const char *name;
		size_t len;

		if (!cbor_isa_string(k) || !cbor_string_is_definite(k)) {
			WHY("attStmt has a key that is not a text string");
			return FG_ERR_INVALID;
		}
		name = (const char *)cbor_string_handle(k);
		len = cbor_string_length(k);
		if (len == 3 && memcmp(name, "alg", 3) == 0) {
			uint64_t a;
			if (st->have_alg || !cbor_isa_negint(v) ||
			    (a = cbor_get_int(v)) > 0xffff) {
				WHY("attStmt.alg is not a COSE algorithm");
				return FG_ERR_INVALID;
			}
			st->have_alg = true;
			st->alg = -1 - (int)a;
		} else if (len == 3 && memcmp(name, "sig", 3) == 0) {
			if (st->sig != NULL || !cbor_isa_bytestring(v) ||
			    !cbor_bytestring_is_definite(v)) {
				WHY("attStmt.sig is not a byte string");
				return FG_ERR_INVALID;
			}
			st->sig = cbor_bytestring_handle(v);
			st->sig_len = cbor_bytestring_length(v);
		} else if (len == 3 && memcmp(name, "x5c", 3) == 0) {
			size_t j;

			if (st->chain != NULL || !cbor_isa_array(v) ||
			    !cbor_array_is_definite(v) ||
			    (st->n_x5c = cbor_array_size(v)) == 0 ||
			    st->n_x5c > FG_X5C_MAX) {
				WHY("attStmt.x5c is not a certificate array");
				return FG_ERR_INVALID;
			}
			if ((st->chain = sk_X509_new_null()) == NULL)
				return FG_ERR_NOMEM;
			/* every member is a certificate: the policy may
			 * need the intermediates to reach a trusted root */
			for (j = 0; j < st->n_x5c; j++) {
				const cbor_item_t *c = cbor_array_handle(v)[j];
				const unsigned char *p;
				X509 *x = NULL;

				if (cbor_isa_bytestring(c) &&
				    cbor_bytestring_is_definite(c)) {
					p = cbor_bytestring_handle(c);
					x = d2i_X509(NULL, &p,
					    (long)cbor_bytestring_length(c));
					if (x != NULL &&
					    p != cbor_bytestring_handle(c) +
						    cbor_bytestring_length(c)) {
						X509_free(x);
						x = NULL;
					}
				}
				if (x == NULL) {
					WHY("attStmt.x5c[%zu] is not a DER certificate",
					    j);
					return FG_ERR_INVALID;
				}
				if (!sk_X509_push(st->chain, x)) {
					X509_free(x);
					return FG_ERR_NOMEM;
				}
			}
			st->x5c = sk_X509_value(st->chain, 0);
		} else {
			WHY("attStmt has an unknown member");
			return FG_ERR_INVALID;
		}
	}
	return FG_OK;
}

static int
verify_with(EVP_PKEY *pkey, int alg, const uint8_t *msg, size_t len,
    const struct attstmt *st)
{
	struct fg_pubkey *key = NULL;
	bool ok;

	if (fg_pubkey_from_evp(pkey, alg, &key) != FG_OK)
		return FG_ERR_DENIED;
	ok = fg_pubkey_verify(key, msg, len, st->sig, st->sig_len);
	fg_pubkey_free(&key);
	return ok ? FG_OK : FG_ERR_DENIED;
}

/* §8.2.1: the packed attestation certificate requirements. */
static int
packed_cert_ok(X509 *x, const uint8_t aaguid[16], char *why, size_t whylen)
{
	const X509_NAME *subj = X509_get_subject_name(x);
	static const int need[] = { NID_countryName, NID_organizationName,
		NID_organizationalUnitName, NID_commonName };
	ASN1_OBJECT *obj = NULL;
	size_t i;
	int idx, ret = FG_ERR_DENIED;
	char ou[64];

	if (X509_get_version(x) != X509_VERSION_3) {
		WHY("the attestation certificate is not X.509 v3");
		return ret;
	}
	for (i = 0; i < sizeof(need) / sizeof(need[0]); i++)
		if (X509_NAME_get_index_by_NID(subj, need[i], -1) < 0) {
			WHY("the attestation certificate subject lacks C, O, OU or CN");
			return ret;
		}
	if (X509_NAME_get_text_by_NID(subj, NID_organizationalUnitName, ou,
		sizeof(ou)) < 0 ||
	    strcmp(ou, "Authenticator Attestation") != 0) {
		WHY("the attestation certificate OU is not \"Authenticator Attestation\"");
		return ret;
	}
	if (X509_check_ca(x) != 0) {
		WHY("the attestation certificate is a CA");
		return ret;
	}
	/* id-fido-gen-ce-aaguid: when present it must name this AAGUID */
	if ((obj = OBJ_txt2obj("1.3.6.1.4.1.45724.1.1.4", 1)) == NULL)
		return FG_ERR_NOMEM;
	idx = X509_get_ext_by_OBJ(x, obj, -1);
	ASN1_OBJECT_free(obj);
	if (idx >= 0) {
		X509_EXTENSION *ext = X509_get_ext(x, idx);
		const ASN1_OCTET_STRING *os = X509_EXTENSION_get_data(ext);
		const unsigned char *p = ASN1_STRING_get0_data(os);
		ASN1_OCTET_STRING *inner;

		if (X509_EXTENSION_get_critical(ext)) {
			WHY("the AAGUID extension is marked critical");
			return ret;
		}
		inner = d2i_ASN1_OCTET_STRING(NULL, &p, ASN1_STRING_length(os));
		if (inner == NULL || ASN1_STRING_length(inner) != 16 ||
		    memcmp(ASN1_STRING_get0_data(inner), aaguid, 16) != 0) {
			ASN1_OCTET_STRING_free(inner);
			WHY("the certificate's AAGUID differs from authenticator data");
			return ret;
		}
		ASN1_OCTET_STRING_free(inner);
	}
	return FG_OK;
}

static int
verify_packed(const struct attstmt *st, const struct fg_authdata *ad,
    const uint8_t *msg, size_t len, struct fg_pubkey *cred,
    struct fg_attest_result *res, char *why, size_t whylen)
{
	int r;

	if (!st->have_alg || st->sig == NULL) {
		WHY("packed attStmt lacks alg or sig");
		return FG_ERR_INVALID;
	}
	if (st->x5c == NULL) {
		if (st->n_members != 2 || st->alg != fg_pubkey_alg(cred)) {
			WHY("packed self attestation: alg differs from the credential's");
			return FG_ERR_DENIED;
		}
		if (!fg_pubkey_verify(cred, msg, len, st->sig, st->sig_len)) {
			WHY("packed self attestation: the signature does not verify");
			return FG_ERR_DENIED;
		}
		snprintf(res->kind, sizeof(res->kind), "self");
		return FG_OK;
	}
	if (st->n_members != 3) {
		WHY("packed attStmt has unexpected members");
		return FG_ERR_INVALID;
	}
	if ((r = verify_with(X509_get0_pubkey(st->x5c), st->alg, msg, len,
		 st)) != FG_OK) {
		WHY("packed attestation: the signature does not verify against x5c");
		return r;
	}
	if ((r = packed_cert_ok(st->x5c, ad->aaguid, why, whylen)) != FG_OK)
		return r;
	snprintf(res->kind, sizeof(res->kind), "basic");
	return FG_OK;
}

/* §8.6: fido-u2f signs 0x00 || rpIdHash || cdh || credId || 0x04 x y. */
static int
verify_u2f(const struct attstmt *st, const struct fg_authdata *ad,
    const uint8_t cdh[32], struct fg_attest_result *res, char *why,
    size_t whylen)
{
	struct cbor_load_result lr;
	cbor_item_t *cose = NULL;
	const cbor_item_t *x = NULL, *y = NULL;
	uint8_t *msg = NULL;
	size_t i, n, len;
	int ret = FG_ERR_INVALID;

	/* libfido2 adds "alg": -7 to the statement it builds from a CTAP1
	 * registration; any other algorithm is not fido-u2f */
	if ((st->have_alg && st->alg != FG_COSE_ES256) || st->sig == NULL ||
	    st->x5c == NULL || st->n_x5c != 1 ||
	    st->n_members != (st->have_alg ? 3u : 2u)) {
		WHY("fido-u2f attStmt must hold exactly sig and one x5c");
		goto out;
	}
	cose = fg_cbor_load(ad->cose_key, ad->cose_key_len, &lr);
	if (cose == NULL || !cbor_isa_map(cose))
		goto out;
	n = cbor_map_size(cose);
	for (i = 0; i < n; i++) {
		struct cbor_pair *p = &cbor_map_handle(cose)[i];
		if (cbor_isa_negint(p->key) && cbor_get_int(p->key) == 1)
			x = p->value;
		if (cbor_isa_negint(p->key) && cbor_get_int(p->key) == 2)
			y = p->value;
	}
	if (res->alg != FG_COSE_ES256 || x == NULL || y == NULL ||
	    cbor_bytestring_length(x) != 32 || cbor_bytestring_length(y) != 32) {
		WHY("fido-u2f needs an ES256 P-256 credential");
		goto out;
	}
	len = 1 + 32 + 32 + ad->cred_id_len + 65;
	if ((msg = malloc(len)) == NULL) {
		ret = FG_ERR_NOMEM;
		goto out;
	}
	msg[0] = 0x00;
	memcpy(msg + 1, ad->rp_id_hash, 32);
	memcpy(msg + 33, cdh, 32);
	memcpy(msg + 65, ad->cred_id, ad->cred_id_len);
	msg[65 + ad->cred_id_len] = 0x04;
	memcpy(msg + 66 + ad->cred_id_len, cbor_bytestring_handle(x), 32);
	memcpy(msg + 98 + ad->cred_id_len, cbor_bytestring_handle(y), 32);
	if ((ret = verify_with(X509_get0_pubkey(st->x5c), FG_COSE_ES256, msg,
		 len, st)) != FG_OK) {
		WHY("fido-u2f attestation: the signature does not verify");
		goto out;
	}
	snprintf(res->kind, sizeof(res->kind), "basic");
out:
	free(msg);
	if (cose != NULL)
		cbor_decref(&cose);
	return ret;
}

int
fg_attest_verify(const char *fmt, const uint8_t *authdata, size_t authdata_len,
    const uint8_t *attstmt, size_t attstmt_len, const uint8_t cdh[32],
    const char *rp_id, struct fg_attest_result *res, char *why, size_t whylen)
{
	struct fg_authdata ad;
	struct attstmt st = { 0 };
	struct cbor_load_result lr;
	struct fg_pubkey *cred = NULL;
	cbor_item_t *map = NULL;
	uint8_t rp_hash[32], *msg = NULL;
	size_t len;
	int r, ret = FG_ERR_INVALID;

	memset(res, 0, sizeof(*res));
	snprintf(why, whylen, "malformed attestation");
	if (fg_authdata_parse(authdata, authdata_len, &ad) != FG_OK ||
	    !(ad.flags & FG_AD_AT)) {
		WHY("authenticator data is malformed or has no credential");
		goto out;
	}
	fg_sha256(rp_id, strlen(rp_id), rp_hash);
	if (memcmp(ad.rp_id_hash, rp_hash, 32) != 0) {
		WHY("the credential is for another relying party");
		ret = FG_ERR_DENIED;
		goto out;
	}
	if (!(ad.flags & FG_AD_UP)) {
		WHY("the key was not touched (UP not set)");
		ret = FG_ERR_DENIED;
		goto out;
	}
	if ((ad.flags & FG_AD_BS) && !(ad.flags & FG_AD_BE)) {
		WHY("BS set without BE");
		goto out;
	}
	if ((r = fg_pubkey_from_cose(ad.cose_key, ad.cose_key_len, &cred)) !=
	    FG_OK) {
		WHY(r == FG_ERR_UNSUPPORTED ?
			"the credential's algorithm is not supported" :
			"the credential public key is malformed");
		ret = r == FG_ERR_NOMEM ? r : FG_ERR_INVALID;
		goto out;
	}
	res->alg = fg_pubkey_alg(cred);
	if (!fg_cose_alg_allowed(res->alg)) {
		WHY("credential algorithm %s is not allowed",
		    fg_cose_alg_name(res->alg));
		ret = FG_ERR_DENIED;
		goto out;
	}
	map = fg_cbor_load(attstmt, attstmt_len, &lr);
	if (map == NULL || lr.error.code != CBOR_ERR_NONE ||
	    lr.read != attstmt_len || !cbor_isa_map(map) ||
	    !cbor_map_is_definite(map)) {
		WHY("attStmt is not a CBOR map, or a map in it repeats a key");
		goto out;
	}
	if ((r = parse_attstmt(map, &st, why, whylen)) != FG_OK) {
		ret = r;
		goto out;
	}
	len = authdata_len + 32;
	if ((msg = malloc(len)) == NULL) {
		ret = FG_ERR_NOMEM;
		goto out;
	}
	memcpy(msg, authdata, authdata_len);
	memcpy(msg + authdata_len, cdh, 32);

	if (strcmp(fmt, "none") == 0) {
		if (st.n_members != 0) {
			WHY("fmt none with a non-empty attStmt");
			goto out;
		}
		snprintf(res->kind, sizeof(res->kind), "none");
		ret = FG_OK;
	} else if (strcmp(fmt, "packed") == 0)
		ret = verify_packed(&st, &ad, msg, len, cred, res, why, whylen);
	else if (strcmp(fmt, "fido-u2f") == 0)
		ret = verify_u2f(&st, &ad, cdh, res, why, whylen);
	else {
		WHY("attestation format \"%.32s\" is not supported", fmt);
		ret = FG_ERR_UNSUPPORTED;
	}
	if (ret != FG_OK)
		goto out;
	if (st.x5c != NULL) {
		X509_NAME_oneline(X509_get_subject_name(st.x5c), res->subject,
		    sizeof(res->subject));
		res->x5c = st.chain;
		st.chain = NULL;
	}
	ret = FG_ERR_NOMEM;
	if ((res->cred_id = malloc(ad.cred_id_len)) == NULL ||
	    (res->cose_key = malloc(ad.cose_key_len)) == NULL)
		goto out;
	memcpy(res->cred_id, ad.cred_id, ad.cred_id_len);
	res->cred_id_len = ad.cred_id_len;
	memcpy(res->cose_key, ad.cose_key, ad.cose_key_len);
	res->cose_key_len = ad.cose_key_len;
	memcpy(res->aaguid, ad.aaguid, 16);
	res->flags = ad.flags;
	res->sign_count = ad.sign_count;
	snprintf(why, whylen, "ok");
	ret = FG_OK;
out:
	if (ret != FG_OK)
		fg_attest_result_clear(res);
	free(msg);
	sk_X509_pop_free(st.chain, X509_free);
	fg_pubkey_free(&cred);
	if (map != NULL)
		cbor_decref(&map);
	return ret;
}

void
fg_attest_result_clear(struct fg_attest_result *res)
{
	free(res->cred_id);
	free(res->cose_key);
	sk_X509_pop_free(res->x5c, X509_free);
	memset(res, 0, sizeof(*res));
}

/* The text key of a CBOR map's pair, compared with want. */
static bool
key_is(const struct cbor_pair *p, const char *want)
{
	size_t n = strlen(want);

	return cbor_isa_string(p->key) && cbor_string_is_definite(p->key) &&
	    cbor_string_length(p->key) == n &&
	    memcmp(cbor_string_handle(p->key), want, n) == 0;
}

int
fg_attest_object_split(const uint8_t *obj, size_t len, char *fmt,
    size_t fmtlen, uint8_t **ad, size_t *ad_len, uint8_t **st,
    size_t *st_len)
{
	struct cbor_load_result lr;
	cbor_item_t *map = NULL;
	struct cbor_pair *pairs;
	const cbor_item_t *f = NULL, *a = NULL, *s = NULL;
	size_t i, n;
	int ret = FG_ERR_INVALID;

	*ad = *st = NULL;
	*ad_len = *st_len = 0;
	map = fg_cbor_load(obj, len, &lr);
	if (map == NULL || lr.error.code != CBOR_ERR_NONE || lr.read != len ||
	    !cbor_isa_map(map) || !cbor_map_is_definite(map))
		goto out;
	pairs = cbor_map_handle(map);
	n = cbor_map_size(map);
	for (i = 0; i < n; i++) {
		if (key_is(&pairs[i], "fmt"))
			f = pairs[i].value;
		else if (key_is(&pairs[i], "authData"))
			a = pairs[i].value;
		else if (key_is(&pairs[i], "attStmt"))
			s = pairs[i].value;
		else
			goto out; /* WebAuthn §6.5: these three, no more */
	}
	if (f == NULL || a == NULL || s == NULL || !cbor_isa_string(f) ||
	    !cbor_string_is_definite(f) || cbor_string_length(f) == 0 ||
	    cbor_string_length(f) >= fmtlen || !cbor_isa_bytestring(a) ||
	    !cbor_bytestring_is_definite(a) || !cbor_isa_map(s))
		goto out;
	memcpy(fmt, cbor_string_handle(f), cbor_string_length(f));
	fmt[cbor_string_length(f)] = '\0';
	if (!fg_text_printable(fmt, strlen(fmt)) ||
	    (*ad = malloc(cbor_bytestring_length(a) + 1)) == NULL) {
		ret = *ad == NULL ? FG_ERR_NOMEM : FG_ERR_INVALID;
		goto out;
	}
	memcpy(*ad, cbor_bytestring_handle(a), cbor_bytestring_length(a));
	*ad_len = cbor_bytestring_length(a);
	/* the statement, in CBOR again, as fg_attest_verify takes it (a
	 * CTAP authenticator's attStmt: what libfido2 hands the CLI) */
	if ((*st_len = cbor_serialize_alloc(s, st, &n)) == 0) {
		ret = FG_ERR_NOMEM;
		goto out;
	}
	ret = FG_OK;
out:
	if (ret != FG_OK) {
		free(*ad);
		free(*st);
		*ad = *st = NULL;
		*ad_len = *st_len = 0;
	}
	if (map != NULL)
		cbor_decref(&map);
	return ret;
}
