/*
 * fg-webkey: a credential enrolled through fido2gate, for a browser's
 * virtual authenticator. Makes a fresh P-256 key, enrols it for USER over
 * the agent protocol (as root: enroll.begin, then enroll.finish with
 * attestation "none", signed for the origin enroll.begin names), and
 * prints what Chromium's DevTools WebAuthn.addCredential needs, as one
 * JSON line:
 *
 *   fg-webkey SOCKET USER [--uv]
 *   {"credential_id": B64URL, "private_key": BASE64 of the PKCS#8 DER,
 *    "rp_id": RP_ID, "user_handle": B64URL, "user": USER}
 *
 * --uv enrols with the UV flag set (the key verified the user), as a key
 * with a PIN would. Exits 0 when the agent stored the credential, 1 when
 * it refused (its reason on stderr) or anything failed, 2 on bad usage.
 *
 *   fg-webkey --create BEGIN_JSON ORIGIN [--uv]
 *
 * is the browser's navigator.credentials.create() for an invitation's
 * page instead: from the invite.begin reply in BEGIN_JSON (session,
 * challenge, rp_id), a new key's attestation object (fmt "none") and the
 * client data a browser at ORIGIN would make, printed as the members of
 * invite.finish but the tx: {"session", "attestation_object",
 * "client_data_json", "credential_id"}.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "fg.h"

#define TIMEOUT_MS 10000
#define CRED_ID_LEN 32

static size_t
cose_es256(EVP_PKEY *pk, uint8_t *out, size_t max)
{
	uint8_t pub[65];
	size_t publen = 0, n = 0, buflen = 0;
	unsigned char *buf = NULL;
	cbor_item_t *m;

	if (EVP_PKEY_get_octet_string_param(
		pk, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &publen) != 1 ||
	    publen != sizeof(pub) || (m = cbor_new_definite_map(5)) == NULL)
		return 0;
	if (cbor_map_add(m,
		(struct cbor_pair){cbor_move(cbor_build_uint8(1)),
		    cbor_move(cbor_build_uint8(2))}) &&
	    cbor_map_add(m,
		(struct cbor_pair){cbor_move(cbor_build_uint8(3)),
		    cbor_move(cbor_build_negint8(6))}) &&
	    cbor_map_add(m,
		(struct cbor_pair){cbor_move(cbor_build_negint8(0)),
		    cbor_move(cbor_build_uint8(1))}) &&
	    cbor_map_add(m,
		(struct cbor_pair){cbor_move(cbor_build_negint8(1)),
		    cbor_move(cbor_build_bytestring(pub + 1, 32))}) &&
	    cbor_map_add(m,
		(struct cbor_pair){cbor_move(cbor_build_negint8(2)),
		    cbor_move(cbor_build_bytestring(pub + 33, 32))}))
		n = cbor_serialize_alloc(m, &buf, &buflen);
	cbor_decref(&m);
	if (n == 0 || n > max) {
		free(buf);
		return 0;
	}
	memcpy(out, buf, n);
	free(buf);
	return n;
}

/* authData of a new credential: rpIdHash, flags, a zero counter, a zero
 * AAGUID (fmt "none"), the credential ID and its COSE key */
static size_t
authdata(uint8_t *out, size_t max, const char *rp_id, uint8_t flags,
    const uint8_t *cred, const uint8_t *cose, size_t cose_len)
{
	size_t n = 37 + 16 + 2 + CRED_ID_LEN + cose_len;

	if (n > max)
		return 0;
	fg_sha256(rp_id, strlen(rp_id), out);
	out[32] = flags;
	memset(out + 33, 0, 4 + 16);
	out[53] = 0;
	out[54] = CRED_ID_LEN;
	memcpy(out + 55, cred, CRED_ID_LEN);
	memcpy(out + 55 + CRED_ID_LEN, cose, cose_len);
	return n;
}

static int
put_b64url(json_t *o, const char *key, const uint8_t *p, size_t len)
{
	char *s = fg_b64url_encode(p, len);
	int r = s != NULL ? json_object_set_new(o, key, json_string(s)) : -1;

	free(s);
	return r;
}

/* The key as PKCS#8 DER in standard base64 (what DevTools' binary fields
 * take); NULL on failure. */
static char *
pkcs8_base64(EVP_PKEY *pk)
{
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(pk);
	unsigned char *der = NULL;
	char *b64 = NULL;
	int len;

	if (p8 == NULL || (len = i2d_PKCS8_PRIV_KEY_INFO(p8, &der)) <= 0)
		goto out;
	if ((b64 = malloc(((size_t)len + 2) / 3 * 4 + 1)) != NULL)
		EVP_EncodeBlock((unsigned char *)b64, der, len);
	OPENSSL_cleanse(der, (size_t)len);
out:
	OPENSSL_free(der);
	PKCS8_PRIV_KEY_INFO_free(p8);
	return b64;
}

/* {"fmt": "none", "attStmt": {}, "authData": ad}, base64url; NULL on
 * failure. */
static char *
attestation_none(const uint8_t *ad, size_t ad_len)
{
	cbor_item_t *m = cbor_new_definite_map(3);
	unsigned char *buf = NULL;
	size_t n = 0, buflen = 0;
	char *s = NULL;

	if (m == NULL)
		return NULL;
	if (cbor_map_add(m,
		(struct cbor_pair){cbor_move(cbor_build_string("fmt")),
		    cbor_move(cbor_build_string("none"))}) &&
	    cbor_map_add(m,
		(struct cbor_pair){cbor_move(cbor_build_string("attStmt")),
		    cbor_move(cbor_new_definite_map(0))}) &&
	    cbor_map_add(m,
		(struct cbor_pair){cbor_move(cbor_build_string("authData")),
		    cbor_move(cbor_build_bytestring(ad, ad_len))}))
		n = cbor_serialize_alloc(m, &buf, &buflen);
	cbor_decref(&m);
	if (n != 0)
		s = fg_b64url_encode(buf, n);
	free(buf);
	return s;
}

/* fg-webkey --create BEGIN_JSON ORIGIN [--uv] */
static int
create(const char *begin_path, const char *origin, bool uv)
{
	uint8_t cred[CRED_ID_LEN], cose[128], ad[256], *chal = NULL;
	size_t cose_len, ad_len = 0, chal_len = 0;
	const char *session, *rp_id, *chal_s;
	json_t *begin = NULL, *out = NULL;
	char *cdj = NULL, *att = NULL, *line = NULL;
	EVP_PKEY *pk = NULL;
	int ret = 1;

	if ((begin = json_load_file(begin_path, 0, NULL)) == NULL ||
	    (session = fg_json_str(begin, "session")) == NULL ||
	    (rp_id = fg_json_str(begin, "rp_id")) == NULL ||
	    (chal_s = fg_json_str(begin, "challenge")) == NULL ||
	    fg_b64url_decode(chal_s, &chal, &chal_len) != FG_OK ||
	    chal_len == 0) {
		fprintf(stderr, "fg-webkey: %s is not an invite.begin reply\n",
		    begin_path);
		goto out;
	}
	if ((pk = EVP_EC_gen("P-256")) == NULL ||
	    fg_random(cred, sizeof(cred)) != FG_OK ||
	    (cose_len = cose_es256(pk, cose, sizeof(cose))) == 0 ||
	    (ad_len = authdata(ad, sizeof(ad), rp_id,
		 (uint8_t)(FG_AD_UP | FG_AD_AT | (uv ? FG_AD_UV : 0)), cred,
		 cose, cose_len)) == 0 ||
	    (att = attestation_none(ad, ad_len)) == NULL ||
	    (cdj = fg_client_data_json(
		 "webauthn.create", chal, chal_len, origin)) == NULL ||
	    (out = json_pack("{s:s,s:s}", "session", session,
		 "attestation_object", att)) == NULL ||
	    put_b64url(out, "client_data_json", (const uint8_t *)cdj,
		strlen(cdj)) != 0 ||
	    put_b64url(out, "credential_id", cred, sizeof(cred)) != 0 ||
	    (line = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		fprintf(stderr, "fg-webkey: cannot make the credential\n");
		goto out;
	}
	printf("%s\n", line);
	ret = fflush(stdout) == 0 ? 0 : 1;
out:
	free(chal);
	free(cdj);
	free(att);
	free(line);
	json_decref(begin);
	json_decref(out);
	EVP_PKEY_free(pk);
	return ret;
}

int
main(int argc, char **argv)
{
	struct fg_client *c = NULL;
	struct fg_enroll_challenge ch;
	struct fg_refusal why;
	uint8_t cred[CRED_ID_LEN], cose[128], ad[256];
	size_t cose_len, ad_len, i;
	EVP_PKEY *pk = NULL;
	json_t *req = NULL, *reply = NULL, *out = NULL;
	char err[256], *cdj = NULL, *key = NULL, *line = NULL;
	bool uv = false, es256 = false;
	int ret = 1, r;

	memset(&ch, 0, sizeof(ch));
	if (argc >= 4 && strcmp(argv[1], "--create") == 0 &&
	    (argc == 4 || (argc == 5 && strcmp(argv[4], "--uv") == 0)))
		return create(argv[2], argv[3], argc == 5);
	if (argc == 4 && strcmp(argv[3], "--uv") == 0)
		uv = true;
	else if (argc != 3) {
		fprintf(stderr,
		    "usage: fg-webkey SOCKET USER [--uv]\n"
		    "       fg-webkey --create BEGIN_JSON ORIGIN [--uv]\n");
		return 2;
	}
	if ((pk = EVP_EC_gen("P-256")) == NULL ||
	    fg_random(cred, sizeof(cred)) != FG_OK ||
	    (cose_len = cose_es256(pk, cose, sizeof(cose))) == 0) {
		fprintf(stderr, "fg-webkey: cannot make a P-256 key\n");
		goto out;
	}
	if ((r = fg_client_open(argv[1], TIMEOUT_MS, &c, err, sizeof(err))) !=
	    FG_OK) {
		fprintf(stderr, "fg-webkey: %s: %s\n", argv[1], err);
		goto out;
	}
	if ((r = fg_client_enroll_begin(
		 c, argv[2], "fg-webkey", NULL, TIMEOUT_MS, &ch, &why)) != FG_OK) {
		fprintf(stderr, "fg-webkey: enroll.begin: %s%s%s\n",
		    r == FG_ERR_DENIED ? why.code : fg_strerror(r),
		    r == FG_ERR_DENIED ? ": " : "",
		    r == FG_ERR_DENIED ? why.message : "");
		goto out;
	}
	for (i = 0; i < ch.n_algs; i++)
		es256 = es256 || ch.algs[i] == FG_COSE_ES256;
	if (!es256) {
		fprintf(stderr, "fg-webkey: the agent does not take ES256\n");
		goto out;
	}
	ad_len = authdata(ad, sizeof(ad), ch.rp_id,
	    (uint8_t)(FG_AD_UP | FG_AD_AT | (uv ? FG_AD_UV : 0)), cred, cose,
	    cose_len);
	cdj = fg_client_data_json(
	    "webauthn.create", ch.challenge, sizeof(ch.challenge), ch.origin);
	req = json_pack("{s:s,s:s,s:s}", "op", FG_OP_ENROLL_FINISH, "session",
	    ch.session, "fmt", "none");
	if (ad_len == 0 || cdj == NULL || req == NULL ||
	    put_b64url(req, "authenticator_data", ad, ad_len) != 0 ||
	    put_b64url(req, "attestation_statement", (const uint8_t *)"\xa0",
		1) != 0 ||
	    put_b64url(req, "client_data_json", (const uint8_t *)cdj,
		strlen(cdj)) != 0) {
		fprintf(stderr, "fg-webkey: out of memory\n");
		goto out;
	}
	r = fg_client_call(c, req, TIMEOUT_MS, &reply);
	req = NULL; /* consumed */
	if (r != FG_OK) {
		fprintf(
		    stderr, "fg-webkey: enroll.finish: %s\n", fg_strerror(r));
		goto out;
	}
	if (fg_reply_refused(reply, &why)) {
		fprintf(stderr, "fg-webkey: enroll.finish refused: %s: %s\n",
		    why.code, why.message);
		goto out;
	}
	if ((key = pkcs8_base64(pk)) == NULL ||
	    (out = json_pack("{s:s,s:s,s:s}", "private_key", key, "rp_id",
		 ch.rp_id, "user", argv[2])) == NULL ||
	    put_b64url(out, "credential_id", cred, sizeof(cred)) != 0 ||
	    put_b64url(out, "user_handle", ch.user_handle,
		sizeof(ch.user_handle)) != 0 ||
	    (line = json_dumps(out, JSON_COMPACT | JSON_SORT_KEYS)) == NULL) {
		fprintf(stderr, "fg-webkey: cannot write the credential\n");
		goto out;
	}
	printf("%s\n", line);
	ret = fflush(stdout) == 0 ? 0 : 1;
out:
	if (key != NULL)
		OPENSSL_cleanse(key, strlen(key));
	if (line != NULL)
		OPENSSL_cleanse(line, strlen(line));
	free(key);
	free(line);
	free(cdj);
	json_decref(req);
	json_decref(reply);
	json_decref(out);
	fg_enroll_challenge_clear(&ch);
	fg_client_free(&c);
	EVP_PKEY_free(pk);
	return ret;
}
