/*
 * Unit tests of the verifier, the COSE and authenticatorData parsers,
 * base64url and the attestation check, on vectors this test makes itself:
 * fresh keys, assertions signed here, then each check broken one by one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <cbor.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/core_names.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "fg.h"

#define RP "fido2gate.test"
#define ORIGIN "pam://fido2gate.test"

static const uint8_t challenge[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
static const char *const origins[] = { ORIGIN, "https://fido2gate.test" };

struct vec {
	EVP_PKEY *pkey;
	int alg;
	uint8_t cose[600];
	size_t cose_len;
	uint8_t ad[256];
	size_t ad_len;
	char cdj[512];
	uint8_t sig[600];
	size_t sig_len;
	struct fg_expect e;
};

static size_t
cose_encode(EVP_PKEY *pkey, int alg, uint8_t *out, size_t cap)
{
	cbor_item_t *map = cbor_new_definite_map(5);
	unsigned char *buf = NULL;
	size_t len, blen;

#define PAIR(k, v) cbor_map_add(map, (struct cbor_pair){ .key = cbor_move(k), .value = cbor_move(v) })
#define INT(i) ((i) >= 0 ? cbor_build_uint8((uint8_t)(i)) : cbor_build_negint16((uint16_t)(-1 - (i))))
	if (alg == FG_COSE_ES256) {
		uint8_t pt[65];
		size_t ptl = sizeof(pt);
		EVP_PKEY_get_octet_string_param(pkey, OSSL_PKEY_PARAM_PUB_KEY,
		    pt, sizeof(pt), &ptl);
		PAIR(INT(1), INT(2));
		PAIR(INT(3), INT(-7));
		PAIR(INT(-1), INT(1));
		PAIR(INT(-2), cbor_build_bytestring(pt + 1, 32));
		PAIR(INT(-3), cbor_build_bytestring(pt + 33, 32));
	} else if (alg == FG_COSE_EDDSA) {
		uint8_t raw[32];
		size_t rl = sizeof(raw);
		EVP_PKEY_get_raw_public_key(pkey, raw, &rl);
		PAIR(INT(1), INT(1));
		PAIR(INT(3), INT(-8));
		PAIR(INT(-1), INT(6));
		PAIR(INT(-2), cbor_build_bytestring(raw, 32));
	} else {
		BIGNUM *n = NULL, *e = NULL;
		uint8_t nb[512], eb[8];
		EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_N, &n);
		EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_RSA_E, &e);
		int nl = BN_bn2bin(n, nb), el = BN_bn2bin(e, eb);
		PAIR(INT(1), INT(3));
		PAIR(INT(3), cbor_build_negint16(256));
		PAIR(INT(-1), cbor_build_bytestring(nb, (size_t)nl));
		PAIR(INT(-2), cbor_build_bytestring(eb, (size_t)el));
		BN_free(n);
		BN_free(e);
	}
	len = cbor_serialize_alloc(map, &buf, &blen);
	assert_true(len > 0 && len <= cap);
	memcpy(out, buf, len);
	free(buf);
	cbor_decref(&map);
	return len;
}

static void
make_authdata(struct vec *v, const char *rp, uint8_t flags, uint32_t count)
{
	fg_sha256(rp, strlen(rp), v->ad);
	v->ad[32] = flags;
	v->ad[33] = (uint8_t)(count >> 24);
	v->ad[34] = (uint8_t)(count >> 16);
	v->ad[35] = (uint8_t)(count >> 8);
	v->ad[36] = (uint8_t)count;
	v->ad_len = 37;
}

static void
make_cdj(struct vec *v, const char *type, const uint8_t *chal,
    const char *origin, const char *extra)
{
	char *c = fg_b64url_encode(chal, 32);
	snprintf(v->cdj, sizeof(v->cdj),
	    "{\"type\":\"%s\",\"challenge\":\"%s\",\"origin\":\"%s\"%s}", type,
	    c, origin, extra);
	free(c);
}

/* Sign authData || SHA-256(clientDataJSON) with the vector's key. */
static void
sign(struct vec *v)
{
	uint8_t msg[512];
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	const char *mdname = v->alg == FG_COSE_EDDSA ? NULL : "SHA256";

	memcpy(msg, v->ad, v->ad_len);
	fg_sha256(v->cdj, strlen(v->cdj), msg + v->ad_len);
	v->sig_len = sizeof(v->sig);
	assert_int_equal(EVP_DigestSignInit_ex(md, NULL, mdname, NULL, NULL,
			     v->pkey, NULL),
	    1);
	assert_int_equal(EVP_DigestSign(md, v->sig, &v->sig_len, msg,
			     v->ad_len + 32),
	    1);
	EVP_MD_CTX_free(md);
}

static void
vec_init(struct vec *v, int alg)
{
	memset(v, 0, sizeof(*v));
	v->alg = alg;
	if (alg == FG_COSE_ES256)
		v->pkey = EVP_EC_gen("P-256");
	else if (alg == FG_COSE_EDDSA)
		v->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else
		v->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	assert_non_null(v->pkey);
	v->cose_len = cose_encode(v->pkey, alg, v->cose, sizeof(v->cose));
	make_authdata(v, RP, FG_AD_UP, 5);
	make_cdj(v, "webauthn.get", challenge, ORIGIN, "");
	sign(v);
	v->e.rp_id = RP;
	v->e.challenge = challenge;
	v->e.challenge_len = sizeof(challenge);
	v->e.origins = origins;
	v->e.n_origins = 2;
	v->e.user_presence = true;
	v->e.have_stored_count = true;
	v->e.stored_count = 4;
}

static void
vec_free(struct vec *v)
{
	EVP_PKEY_free(v->pkey);
}

static unsigned
run(const struct vec *v, struct fg_verdict *out)
{
	struct fg_pubkey *key = NULL;
	struct fg_assertion a = { .authdata = v->ad,
		.authdata_len = v->ad_len,
		.client_data_json = (const uint8_t *)v->cdj,
		.client_data_json_len = strlen(v->cdj),
		.sig = v->sig,
		.sig_len = v->sig_len };
	struct fg_verdict verdict;
	int ks = fg_pubkey_from_cose(v->cose, v->cose_len, &key);

	assert_int_equal(fg_verify_assertion(key, ks, &a, &v->e, &verdict),
	    FG_OK);
	fg_pubkey_free(&key);
	if (out != NULL)
		*out = verdict;
	return verdict.failed;
}

static void
accepts_valid_assertions_for_each_algorithm(void **state)
{
	static const int algs[] = { FG_COSE_ES256, FG_COSE_EDDSA, FG_COSE_RS256 };
	struct fg_verdict verdict;
	struct vec v;
	size_t i;

	(void)state;
	for (i = 0; i < 3; i++) {
		vec_init(&v, algs[i]);
		assert_int_equal(run(&v, &verdict), 0);
		assert_true(verdict.have_flags);
		assert_int_equal(verdict.sign_count, 5);
		assert_int_equal(verdict.flags, FG_AD_UP);
		vec_free(&v);
	}
}

/* Change one thing, re-sign, expect exactly the named failures. */
static void
each_check_fails_alone(void **state)
{
	struct vec v;
	uint8_t other[32] = { 9 };

	(void)state;
#define EXPECT(setup, want)                                                   \
	do {                                                                  \
		vec_init(&v, FG_COSE_ES256);                                  \
		setup;                                                        \
		sign(&v);                                                     \
		assert_int_equal(run(&v, NULL), (want));                      \
		vec_free(&v);                                                 \
	} while (0)
	EXPECT(make_cdj(&v, "webauthn.create", challenge, ORIGIN, ""),
	    FG_CHK_TYPE);
	EXPECT(make_cdj(&v, "webauthn.get", other, ORIGIN, ""),
	    FG_CHK_CHALLENGE);
	EXPECT(make_cdj(&v, "webauthn.get", challenge, "pam://evil.test", ""),
	    FG_CHK_ORIGIN);
	EXPECT(make_cdj(&v, "webauthn.get", challenge, "pam://fido2gate.tes", ""),
	    FG_CHK_ORIGIN);
	EXPECT(make_cdj(&v, "webauthn.get", challenge, ORIGIN,
		   ",\"crossOrigin\":true"),
	    FG_CHK_CROSS_ORIGIN);
	EXPECT(make_cdj(&v, "webauthn.get", challenge, ORIGIN,
		   ",\"topOrigin\":\"https://a.test\""),
	    FG_CHK_TOP_ORIGIN);
	EXPECT(make_cdj(&v, "webauthn.get", challenge, ORIGIN,
		   ",\"type\":\"webauthn.get\""),
	    FG_CHK_CLIENT_DATA | FG_CHK_TYPE | FG_CHK_CHALLENGE |
		FG_CHK_ORIGIN);
	EXPECT(snprintf(v.cdj, sizeof(v.cdj), "{\"type\":"),
	    FG_CHK_CLIENT_DATA | FG_CHK_TYPE | FG_CHK_CHALLENGE |
		FG_CHK_ORIGIN);
	EXPECT(snprintf(v.cdj, sizeof(v.cdj), "[]"),
	    FG_CHK_CLIENT_DATA | FG_CHK_TYPE | FG_CHK_CHALLENGE |
		FG_CHK_ORIGIN);
	EXPECT(make_authdata(&v, "evil.test", FG_AD_UP, 5), FG_CHK_RP_ID);
	EXPECT(make_authdata(&v, RP, 0, 5), FG_CHK_UP);
	EXPECT((v.e.user_verification = true), FG_CHK_UV);
	EXPECT(make_authdata(&v, RP, FG_AD_UP | FG_AD_BS, 5),
	    FG_CHK_BS_WITHOUT_BE);
	EXPECT(make_authdata(&v, RP, FG_AD_UP, 4), FG_CHK_COUNTER);
	EXPECT(make_authdata(&v, RP, FG_AD_UP, 3), FG_CHK_COUNTER);
	EXPECT(make_authdata(&v, RP, FG_AD_UP, 0), FG_CHK_COUNTER);
	EXPECT((v.ad_len = 39), FG_CHK_AUTHDATA);
	EXPECT(make_authdata(&v, RP, FG_AD_UP | FG_AD_ED, 5), FG_CHK_AUTHDATA);
	EXPECT((make_authdata(&v, RP, FG_AD_UP | FG_AD_ED, 5),
		   v.ad[37] = 0x01, v.ad_len = 38),
	    FG_CHK_AUTHDATA);
	/* ED with an empty map is well formed */
	EXPECT((make_authdata(&v, RP, FG_AD_UP | FG_AD_ED, 5),
		   v.ad[37] = 0xa0, v.ad_len = 38),
	    0);
	/* both counters zero: an authenticator without a counter */
	EXPECT((make_authdata(&v, RP, FG_AD_UP, 0), v.e.stored_count = 0), 0);
	/* no stored counter: no counter check */
	EXPECT((make_authdata(&v, RP, FG_AD_UP, 1),
		   v.e.have_stored_count = false),
	    0);
	/* appid: a legacy U2F credential's rpIdHash */
	EXPECT((make_authdata(&v, "https://fido2gate.test/app-id.json",
		    FG_AD_UP, 5),
		   v.e.appid = "https://fido2gate.test/app-id.json"),
	    0);
	EXPECT((v.e.allow_cross_origin = true,
		   make_cdj(&v, "webauthn.get", challenge, ORIGIN,
		       ",\"crossOrigin\":true")),
	    0);
#undef EXPECT
}

static void
signatures_must_verify_and_be_canonical(void **state)
{
	struct vec v;
	ECDSA_SIG *s;
	const unsigned char *p;
	const BIGNUM *r, *sv;

	(void)state;
	vec_init(&v, FG_COSE_ES256);
	v.sig[v.sig_len - 1] ^= 1;
	assert_int_equal(run(&v, NULL), FG_CHK_SIGNATURE);

	/* a trailing byte after valid DER */
	v.sig[v.sig_len - 1] ^= 1;
	v.sig[v.sig_len++] = 0;
	assert_int_equal(run(&v, NULL), FG_CHK_SIGNATURE);
	v.sig_len--;
	assert_int_equal(run(&v, NULL), 0);

	/* raw r || s instead of DER */
	p = v.sig;
	s = d2i_ECDSA_SIG(NULL, &p, (long)v.sig_len);
	assert_non_null(s);
	ECDSA_SIG_get0(s, &r, &sv);
	BN_bn2binpad(r, v.sig, 32);
	BN_bn2binpad(sv, v.sig + 32, 32);
	v.sig_len = 64;
	ECDSA_SIG_free(s);
	assert_int_equal(run(&v, NULL), FG_CHK_SIGNATURE);

	v.sig_len = 0;
	assert_int_equal(run(&v, NULL), FG_CHK_SIGNATURE);
	vec_free(&v);

	/* the data the signature covers: authData and the client data */
	vec_init(&v, FG_COSE_EDDSA);
	v.ad[35] ^= 1;
	assert_int_equal(run(&v, NULL), FG_CHK_SIGNATURE);
	vec_free(&v);
	vec_init(&v, FG_COSE_RS256);
	v.cdj[2] = 'T';
	assert_int_equal(run(&v, NULL),
	    FG_CHK_SIGNATURE | FG_CHK_TYPE);
	vec_free(&v);
}

static void
another_keys_signature_is_refused(void **state)
{
	struct vec a, b;

	(void)state;
	vec_init(&a, FG_COSE_ES256);
	vec_init(&b, FG_COSE_ES256);
	memcpy(a.cose, b.cose, b.cose_len);
	a.cose_len = b.cose_len;
	assert_int_equal(run(&a, NULL), FG_CHK_SIGNATURE);
	vec_free(&a);
	vec_free(&b);
}

static void
malformed_and_unsupported_keys(void **state)
{
	struct vec v;
	struct fg_pubkey *k = NULL;
	uint8_t bad[600];

	(void)state;
	vec_init(&v, FG_COSE_ES256);
	/* x one byte off: no longer on the curve (or, rarely, another point) */
	memcpy(bad, v.cose, v.cose_len);
	bad[v.cose_len - 1] ^= 0x55;
	assert_int_not_equal(fg_pubkey_from_cose(bad, v.cose_len, &k), FG_OK);
	/* trailing bytes after the map */
	memcpy(bad, v.cose, v.cose_len);
	bad[v.cose_len] = 0;
	assert_int_equal(fg_pubkey_from_cose(bad, v.cose_len + 1, &k),
	    FG_ERR_INVALID);
	/* truncated */
	assert_int_equal(fg_pubkey_from_cose(v.cose, v.cose_len - 1, &k),
	    FG_ERR_INVALID);
	/* alg -7 with kty OKP */
	memcpy(bad, v.cose, v.cose_len);
	assert_int_equal(bad[1], 0x01);
	bad[2] = 0x01;
	assert_int_equal(fg_pubkey_from_cose(bad, v.cose_len, &k),
	    FG_ERR_INVALID);
	/* an algorithm we do not implement (RS1, -65535) */
	{
		static const uint8_t rs1[] = { 0xa2, 0x01, 0x03, 0x03, 0x39,
			0xff, 0xfe };
		assert_int_equal(fg_pubkey_from_cose(rs1, sizeof(rs1), &k),
		    FG_ERR_UNSUPPORTED);
	}
	assert_null(k);
	/* the verdict names the key, and no signature check is made */
	memcpy(v.cose, bad, v.cose_len);
	assert_int_equal(run(&v, NULL), FG_CHK_KEY);
	vec_free(&v);
}

static void
authdata_with_attested_credential(void **state)
{
	struct vec v;
	struct fg_authdata ad;
	uint8_t buf[512];
	size_t n;

	(void)state;
	vec_init(&v, FG_COSE_ES256);
	make_authdata(&v, RP, FG_AD_UP | FG_AD_AT, 1);
	memcpy(buf, v.ad, 37);
	memset(buf + 37, 0xaa, 16);
	buf[53] = 0;
	buf[54] = 4;
	memcpy(buf + 55, "\x01\x02\x03\x04", 4);
	memcpy(buf + 59, v.cose, v.cose_len);
	n = 59 + v.cose_len;
	assert_int_equal(fg_authdata_parse(buf, n, &ad), FG_OK);
	assert_int_equal(ad.cred_id_len, 4);
	assert_int_equal(ad.cose_key_len, v.cose_len);
	assert_int_equal(fg_authdata_parse(buf, n - 1, &ad), FG_ERR_INVALID);
	buf[54] = 200; /* a credential ID longer than what follows */
	assert_int_equal(fg_authdata_parse(buf, n, &ad), FG_ERR_INVALID);
	assert_int_equal(fg_authdata_parse(buf, 36, &ad), FG_ERR_INVALID);
	vec_free(&v);
}

static void
base64url_round_trip_and_rejects(void **state)
{
	uint8_t *out = NULL, in[7] = { 0xfb, 0xff, 0x00, 1, 2, 3, 0xfe };
	size_t len, i;
	char *s;

	(void)state;
	for (i = 0; i <= sizeof(in); i++) {
		s = fg_b64url_encode(in, i);
		assert_non_null(s);
		assert_null(strchr(s, '='));
		assert_int_equal(fg_b64url_decode(s, &out, &len), FG_OK);
		assert_int_equal(len, i);
		assert_memory_equal(out, in, i);
		free(out);
		free(s);
	}
	assert_int_equal(fg_b64url_decode("+/8", &out, &len), FG_ERR_INVALID);
	assert_int_equal(fg_b64url_decode("AAA=", &out, &len), FG_ERR_INVALID);
	assert_int_equal(fg_b64url_decode("A", &out, &len), FG_ERR_INVALID);
	assert_int_equal(fg_b64url_decode("AA AA", &out, &len), FG_ERR_INVALID);
}

/* pam-u2f's plain base64: padded, '=' only at the end, its own alphabet. */
static void
base64_with_padding_and_rejects(void **state)
{
	static const char *const bad[] = { "", "AAA", "AA=A", "A===",
		"AA-_", "AA AA===", "=AAA", "AAAA\n" };
	uint8_t *out = NULL;
	size_t len, i;

	(void)state;
	assert_int_equal(fg_b64_decode("+/8=", &out, &len), FG_OK);
	assert_int_equal(len, 2);
	assert_memory_equal(out, "\xfb\xff", 2);
	free(out);
	assert_int_equal(fg_b64_decode("AQ==", &out, &len), FG_OK);
	assert_int_equal(len, 1);
	free(out);
	assert_int_equal(fg_b64_decode("AQID", &out, &len), FG_OK);
	assert_int_equal(len, 3);
	free(out);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(fg_b64_decode(bad[i], &out, &len),
		    FG_ERR_INVALID);
}

/* Raw public keys (pam-u2f's, libfido2's) become COSE keys that load;
 * a wrong length, a point off the curve or another alg do not. */
static void
cose_from_raw_keys(void **state)
{
	EVP_PKEY *ec = EVP_EC_gen("P-256");
	uint8_t pub[65], *cose = NULL, zero[64] = { 0 };
	size_t publen = sizeof(pub), n;
	struct fg_pubkey *k = NULL;

	(void)state;
	assert_non_null(ec);
	assert_int_equal(EVP_PKEY_get_octet_string_param(ec,
			     "encoded-pub-key", pub, sizeof(pub), &publen),
	    1);
	/* x||y, and 04||x||y, give the same key */
	assert_int_equal(fg_cose_from_raw(FG_COSE_ES256, pub + 1, 64, &cose,
			     &n),
	    FG_OK);
	assert_int_equal(fg_pubkey_from_cose(cose, n, &k), FG_OK);
	assert_int_equal(fg_pubkey_alg(k), FG_COSE_ES256);
	fg_pubkey_free(&k);
	free(cose);
	assert_int_equal(fg_cose_from_raw(FG_COSE_ES256, pub, 65, &cose, &n),
	    FG_OK);
	free(cose);
	assert_int_equal(fg_cose_from_raw(FG_COSE_ES256, pub + 1, 63, &cose,
			     &n),
	    FG_ERR_INVALID);
	assert_int_equal(fg_cose_from_raw(FG_COSE_ES256, zero, 64, &cose, &n),
	    FG_ERR_INVALID);
	assert_int_equal(fg_cose_from_raw(FG_COSE_EDDSA, pub + 1, 64, &cose,
			     &n),
	    FG_ERR_INVALID);
	assert_int_equal(fg_cose_from_raw(FG_COSE_ES384, pub + 1, 64, &cose,
			     &n),
	    FG_ERR_UNSUPPORTED);
	assert_null(cose);
	EVP_PKEY_free(ec);
}

/* packed self attestation, made here: the credential key signs. */
static void
packed_self_attestation(void **state)
{
	struct vec v;
	struct fg_attest_result res;
	uint8_t ad[512], cdh[32], msg[600], sig[128];
	unsigned char *st = NULL;
	size_t n, slen = sizeof(sig), stlen;
	char why[256];
	cbor_item_t *map;
	EVP_MD_CTX *md;

	(void)state;
	vec_init(&v, FG_COSE_ES256);
	make_authdata(&v, RP, FG_AD_UP | FG_AD_AT, 0);
	memcpy(ad, v.ad, 37);
	memset(ad + 37, 0, 16);
	ad[53] = 0;
	ad[54] = 8;
	memcpy(ad + 55, "credid01", 8);
	memcpy(ad + 63, v.cose, v.cose_len);
	n = 63 + v.cose_len;
	memset(cdh, 7, sizeof(cdh));
	memcpy(msg, ad, n);
	memcpy(msg + n, cdh, 32);
	md = EVP_MD_CTX_new();
	EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, v.pkey, NULL);
	EVP_DigestSign(md, sig, &slen, msg, n + 32);
	EVP_MD_CTX_free(md);
	map = cbor_new_definite_map(2);
	cbor_map_add(map, (struct cbor_pair){ .key = cbor_move(cbor_build_string("alg")),
				  .value = cbor_move(cbor_build_negint8(6)) });
	cbor_map_add(map, (struct cbor_pair){ .key = cbor_move(cbor_build_string("sig")),
				  .value = cbor_move(cbor_build_bytestring(sig, slen)) });
	stlen = cbor_serialize_alloc(map, &st, &stlen);
	cbor_decref(&map);

	assert_int_equal(fg_attest_verify("packed", ad, n, st, stlen, cdh, RP,
			     &res, why, sizeof(why)),
	    FG_OK);
	assert_string_equal(res.kind, "self");
	assert_int_equal(res.alg, FG_COSE_ES256);
	assert_int_equal(res.cred_id_len, 8);
	fg_attest_result_clear(&res);

	cdh[0] ^= 1;
	assert_int_equal(fg_attest_verify("packed", ad, n, st, stlen, cdh, RP,
			     &res, why, sizeof(why)),
	    FG_ERR_DENIED);
	cdh[0] ^= 1;
	assert_int_equal(fg_attest_verify("packed", ad, n, st, stlen, cdh,
			     "other.test", &res, why, sizeof(why)),
	    FG_ERR_DENIED);
	assert_int_equal(fg_attest_verify("none", ad, n, st, stlen, cdh, RP,
			     &res, why, sizeof(why)),
	    FG_ERR_INVALID);
	assert_int_equal(fg_attest_verify("tpm", ad, n, st, stlen, cdh, RP,
			     &res, why, sizeof(why)),
	    FG_ERR_UNSUPPORTED);
	assert_int_equal(fg_attest_verify("none", ad, n,
			     (const uint8_t *)"\xa0", 1, cdh, RP, &res, why,
			     sizeof(why)),
	    FG_OK);
	assert_string_equal(res.kind, "none");
	fg_attest_result_clear(&res);
	ad[32] = FG_AD_AT; /* not touched */
	assert_int_equal(fg_attest_verify("none", ad, n,
			     (const uint8_t *)"\xa0", 1, cdh, RP, &res, why,
			     sizeof(why)),
	    FG_ERR_DENIED);
	free(st);
	vec_free(&v);
}

static void
user_names(void **state)
{
	(void)state;
	assert_true(fg_user_name_valid("alice"));
	assert_true(fg_user_name_valid("a.b-c_d@EXAMPLE"));
	assert_true(fg_user_name_valid("host$"));
	assert_false(fg_user_name_valid(""));
	assert_false(fg_user_name_valid("-alice"));
	assert_false(fg_user_name_valid("+alice"));
	assert_false(fg_user_name_valid("a/b"));
	assert_false(fg_user_name_valid("a b"));
	assert_false(fg_user_name_valid("a\nb"));
	assert_false(fg_user_name_valid(NULL));
}

/* libcbor would allocate what a header declares: such items never reach it */
static void
cbor_counts_bounded_by_input(void **state)
{
	static const uint8_t huge_map[] = { 0xbb, 0, 0, 0, 1, 0, 0, 0, 0 };
	static const uint8_t huge_array[] = { 0x9a, 0x7f, 0xff, 0xff, 0xff };
	static const uint8_t nested[] = { 0x81, 0x81, 0x9a, 0, 1, 0, 0 };
	static const uint8_t indefinite[] = { 0x9f, 0x01, 0xff };
	static const uint8_t ok_map[] = { 0xa2, 0x01, 0x02, 0x03, 0x81, 0x04 };
	struct cbor_load_result res;
	cbor_item_t *item;
	size_t n = 0;

	(void)state;
	assert_false(fg_cbor_well_sized(huge_map, sizeof(huge_map), NULL));
	assert_false(fg_cbor_well_sized(huge_array, sizeof(huge_array), NULL));
	assert_false(fg_cbor_well_sized(nested, sizeof(nested), NULL));
	assert_false(fg_cbor_well_sized(indefinite, sizeof(indefinite), NULL));
	assert_null(fg_cbor_load(huge_map, sizeof(huge_map), &res));
	assert_true(fg_cbor_well_sized(ok_map, sizeof(ok_map), &n));
	assert_int_equal(n, sizeof(ok_map));
	item = fg_cbor_load(ok_map, sizeof(ok_map), &res);
	assert_non_null(item);
	assert_int_equal(cbor_map_size(item), 2);
	cbor_decref(&item);
}

/*
 * Repeated map keys (issue 14). CTAP2 canonical CBOR never repeats a key,
 * and a map that does can be read two ways, so every map the verifier
 * reads from outside is malformed when it repeats one, at any depth.
 */
#define BYTES(...)                                                             \
	(const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__})

static bool
loads(const uint8_t *p, size_t len)
{
	struct cbor_load_result res;
	cbor_item_t *item = fg_cbor_load(p, len, &res);

	if (item == NULL)
		return false;
	cbor_decref(&item);
	return true;
}

static void
cbor_load_refuses_repeated_keys_at_any_depth(void **state)
{
	static uint8_t big[3 + 1000 * 4];
	size_t i;

	(void)state;
	/* the same item, however wide its encoding */
	assert_false(loads(BYTES(0xa2, 0x03, 0x00, 0x03, 0x01)));
	assert_false(loads(BYTES(0xa2, 0x03, 0x00, 0x18, 0x03, 0x01)));
	assert_false(loads(BYTES(0xa2, 0x20, 0x00, 0x39, 0x00, 0x00, 0x01)));
	assert_false(
	    loads(BYTES(0xa2, 0x61, 'a', 0x00, 0x78, 0x01, 'a', 0x01)));
	assert_false(loads(BYTES(0xa2, 0x42, 0, 1, 0x00, 0x42, 0, 1, 0x01)));
	/* in a map in a map, in an array, under a tag */
	assert_false(
	    loads(BYTES(0xa1, 0x01, 0xa1, 0x02, 0xa2, 0x03, 0x00, 0x03, 0x00)));
	assert_false(loads(BYTES(0x82, 0xa0, 0xa2, 0x01, 0x00, 0x01, 0x00)));
	assert_false(loads(BYTES(0xc1, 0xa2, 0x01, 0x00, 0x01, 0x00)));
	/* different items: 0 is not -1, h'61' is not "a", "ab" not "abc" */
	assert_true(loads(BYTES(0xa2, 0x00, 0x00, 0x20, 0x00)));
	assert_true(loads(BYTES(0xa2, 0x41, 'a', 0x00, 0x61, 'a', 0x00)));
	assert_true(loads(BYTES(0xa3, 0x62, 'a', 'b', 0x00, 0x63, 'a', 'b', 'c',
	    0x00, 0x62, 'a', 'c', 0x00)));
	/* equal values under different keys are fine */
	assert_true(
	    loads(BYTES(0xa2, 0x01, 0xa1, 0x01, 0x00, 0x02, 0xa1, 0x01, 0x00)));
	/* keys no FIDO structure uses (simple values, floats, arrays, tags)
	 * are refused rather than let through unchecked */
	assert_false(loads(BYTES(0xa1, 0xf5, 0x00)));
	assert_false(loads(BYTES(0xa1, 0xf9, 0x3c, 0x00, 0x00)));
	assert_false(loads(BYTES(0xa1, 0x81, 0x00, 0x00)));
	assert_false(loads(BYTES(0xa1, 0xc1, 0x00, 0x00)));
	/* a large map: 1000 distinct keys, then the last one made the first */
	big[0] = 0xb9;
	big[1] = 1000 >> 8;
	big[2] = 1000 & 0xff;
	for (i = 0; i < 1000; i++) {
		size_t key = (i * 7) % 1000;
		big[3 + 4 * i] = 0x19;
		big[4 + 4 * i] = (uint8_t)(key >> 8);
		big[5 + 4 * i] = (uint8_t)key;
		big[6 + 4 * i] = 0x00;
	}
	assert_true(loads(big, sizeof(big)));
	big[4 + 4 * 999] = big[4];
	big[5 + 4 * 999] = big[5];
	assert_false(loads(big, sizeof(big)));
}

/* v's COSE key with more pairs (encoded in extra) after its own. */
static size_t
cose_plus(const struct vec *v, uint8_t *out, size_t pairs, const uint8_t *extra,
    size_t len)
{
	assert_true((v->cose[0] & 0x1f) + pairs < 24);
	memcpy(out, v->cose, v->cose_len);
	out[0] = (uint8_t)(out[0] + pairs);
	memcpy(out + v->cose_len, extra, len);
	return v->cose_len + len;
}

static int
cose_status(const struct vec *v, size_t pairs, const uint8_t *extra, size_t len)
{
	struct fg_pubkey *k = NULL;
	uint8_t buf[700];
	int r =
	    fg_pubkey_from_cose(buf, cose_plus(v, buf, pairs, extra, len), &k);

	fg_pubkey_free(&k);
	return r;
}

static void
cose_key_repeating_a_label_is_malformed(void **state)
{
	struct vec v;

	(void)state;
	vec_init(&v, FG_COSE_ES256);
	/* a kid is allowed, once */
	assert_int_equal(cose_status(&v, 1, BYTES(0x02, 0x41, 0x01)), FG_OK);
	/* a label this parser reads, and ones it skips (kid 2, d -4) */
	assert_int_equal(cose_status(&v, 1, BYTES(0x03, 0x26)), FG_ERR_INVALID);
	assert_int_equal(
	    cose_status(&v, 2, BYTES(0x02, 0x41, 0x01, 0x02, 0x41, 0x02)),
	    FG_ERR_INVALID);
	assert_int_equal(
	    cose_status(&v, 2, BYTES(0x02, 0x41, 0x01, 0x18, 0x02, 0x41, 0x01)),
	    FG_ERR_INVALID);
	assert_int_equal(
	    cose_status(&v, 2, BYTES(0x23, 0x41, 0x00, 0x23, 0x41, 0x00)),
	    FG_ERR_INVALID);
	/* a map under a label it skips */
	assert_int_equal(
	    cose_status(&v, 1, BYTES(0x05, 0xa2, 0x01, 0x00, 0x01, 0x00)),
	    FG_ERR_INVALID);
	/* the verdict names the stored key */
	v.cose_len =
	    cose_plus(&v, v.cose, 2, BYTES(0x02, 0x41, 0x01, 0x02, 0x41, 0x02));
	assert_int_equal(run(&v, NULL), FG_CHK_KEY);
	vec_free(&v);
}

static void
extensions_repeating_a_key_are_malformed(void **state)
{
	static const uint8_t once[] = {0xa1, 0x6b, 'c', 'r', 'e', 'd', 'P', 'r',
	    'o', 't', 'e', 'c', 't', 0x01};
	static const uint8_t twice[] = {0xa2, 0x6b, 'c', 'r', 'e', 'd', 'P',
	    'r', 'o', 't', 'e', 'c', 't', 0x01, 0x6b, 'c', 'r', 'e', 'd', 'P',
	    'r', 'o', 't', 'e', 'c', 't', 0x03};
	static const uint8_t nested[] = {
	    0xa1, 0x61, 'x', 0x81, 0xa2, 0x61, 'a', 0x00, 0x61, 'a', 0x00};
	struct fg_authdata ad;
	struct vec v;

	(void)state;
#define WITH_EXT(ext)                                                          \
	do {                                                                   \
		make_authdata(&v, RP, FG_AD_UP | FG_AD_ED, 5);                 \
		memcpy(v.ad + 37, (ext), sizeof(ext));                         \
		v.ad_len = 37 + sizeof(ext);                                   \
		sign(&v);                                                      \
	} while (0)
	vec_init(&v, FG_COSE_ES256);
	WITH_EXT(once);
	assert_int_equal(fg_authdata_parse(v.ad, v.ad_len, &ad), FG_OK);
	assert_int_equal(run(&v, NULL), 0);
	WITH_EXT(twice);
	assert_int_equal(
	    fg_authdata_parse(v.ad, v.ad_len, &ad), FG_ERR_INVALID);
	assert_int_equal(run(&v, NULL), FG_CHK_AUTHDATA);
	WITH_EXT(nested);
	assert_int_equal(
	    fg_authdata_parse(v.ad, v.ad_len, &ad), FG_ERR_INVALID);
	assert_int_equal(run(&v, NULL), FG_CHK_AUTHDATA);
#undef WITH_EXT
	vec_free(&v);
}

/* An attestation: a credential, an attestation key with a packed
 * attestation certificate (§8.2.1), authenticator data and a cdh. */
struct att {
	struct vec v;
	EVP_PKEY *akey;
	uint8_t cert[1024];
	size_t cert_len;
	uint8_t ad[1024];
	size_t ad_len;
	uint8_t cdh[32];
};

static void
att_set_key(struct att *a, const uint8_t *cose, size_t len)
{
	make_authdata(&a->v, RP, FG_AD_UP | FG_AD_AT, 0);
	memcpy(a->ad, a->v.ad, 37);
	memset(a->ad + 37, 0, 16);
	a->ad[53] = 0;
	a->ad[54] = 8;
	memcpy(a->ad + 55, "credid01", 8);
	assert_true(63 + len <= sizeof(a->ad));
	memcpy(a->ad + 63, cose, len);
	a->ad_len = 63 + len;
}

static void
att_init(struct att *a)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	X509_EXTENSION *ext;
	X509V3_CTX ctx;
	unsigned char *p = a->cert;
	static const char *const rdn[][2] = {{"C", "SE"},
	    {"O", "fido2gate tests"}, {"OU", "Authenticator Attestation"},
	    {"CN", "fido2gate test batch"}};
	size_t i;
	int n;

	vec_init(&a->v, FG_COSE_ES256);
	att_set_key(a, a->v.cose, a->v.cose_len);
	memset(a->cdh, 7, sizeof(a->cdh));
	a->akey = EVP_EC_gen("P-256");
	assert_non_null(a->akey);
	assert_non_null(x);
	assert_non_null(name);
	for (i = 0; i < sizeof(rdn) / sizeof(rdn[0]); i++)
		assert_int_equal(
		    X509_NAME_add_entry_by_txt(name, rdn[i][0], MBSTRING_ASC,
			(const unsigned char *)rdn[i][1], -1, -1, 0),
		    1);
	assert_int_equal(X509_set_version(x, X509_VERSION_3), 1);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, name);
	X509_set_pubkey(x, a->akey);
	X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
	ext = X509V3_EXT_conf_nid(
	    NULL, &ctx, NID_basic_constraints, "critical,CA:FALSE");
	assert_non_null(ext);
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	assert_true(X509_sign(x, a->akey, EVP_sha256()) > 0);
	n = i2d_X509(x, NULL);
	assert_true(n > 0 && (size_t)n <= sizeof(a->cert));
	a->cert_len = (size_t)i2d_X509(x, &p);
	X509_NAME_free(name);
	X509_free(x);
}

static void
att_free(struct att *a)
{
	EVP_PKEY_free(a->akey);
	vec_free(&a->v);
}

static size_t
es256_sign(EVP_PKEY *key, const uint8_t *msg, size_t len, uint8_t *sig)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t n = 128;

	assert_int_equal(
	    EVP_DigestSignInit_ex(md, NULL, "SHA256", NULL, NULL, key, NULL),
	    1);
	assert_int_equal(EVP_DigestSign(md, sig, &n, msg, len), 1);
	EVP_MD_CTX_free(md);
	return n;
}

/* packed: key signs authData || cdh */
static size_t
att_sign(const struct att *a, EVP_PKEY *key, uint8_t *sig)
{
	uint8_t msg[sizeof(a->ad) + 32];

	memcpy(msg, a->ad, a->ad_len);
	memcpy(msg + a->ad_len, a->cdh, 32);
	return es256_sign(key, msg, a->ad_len + 32, sig);
}

/* fido-u2f (§8.6): 0x00 || rpIdHash || cdh || credId || 0x04 x y */
static size_t
u2f_sign(const struct att *a, uint8_t *sig)
{
	uint8_t msg[1 + 32 + 32 + 8 + 65];
	size_t ptl = 65;

	msg[0] = 0x00;
	memcpy(msg + 1, a->ad, 32);
	memcpy(msg + 33, a->cdh, 32);
	memcpy(msg + 65, "credid01", 8);
	assert_int_equal(EVP_PKEY_get_octet_string_param(a->v.pkey,
			     OSSL_PKEY_PARAM_PUB_KEY, msg + 73, 65, &ptl),
	    1);
	return es256_sign(a->akey, msg, sizeof(msg), sig);
}

/* A map of n key, value pairs, in order: libcbor's builder keeps repeats. */
static size_t
map_of(uint8_t *out, size_t cap, size_t n, ...)
{
	cbor_item_t *map = cbor_new_definite_map(n);
	va_list ap;
	size_t i, len;

	va_start(ap, n);
	for (i = 0; i < n; i++) {
		cbor_item_t *k = va_arg(ap, cbor_item_t *);
		cbor_item_t *v = va_arg(ap, cbor_item_t *);
		assert_true(cbor_map_add(map,
		    (struct cbor_pair){
			.key = cbor_move(k), .value = cbor_move(v)}));
	}
	va_end(ap);
	len = cbor_serialize(map, out, cap);
	assert_true(len > 0);
	cbor_decref(&map);
	return len;
}

#define TEXT(s) cbor_build_string(s)
#define ES256 cbor_build_negint8(6)
#define BSTR(p, n) cbor_build_bytestring((p), (n))

/* x5c: [the attestation certificate], then extra when not NULL */
static cbor_item_t *
x5c(const struct att *a, cbor_item_t *extra)
{
	cbor_item_t *arr = cbor_new_definite_array(extra != NULL ? 2 : 1);

	assert_true(
	    cbor_array_push(arr, cbor_move(BSTR(a->cert, a->cert_len))));
	if (extra != NULL)
		assert_true(cbor_array_push(arr, cbor_move(extra)));
	return arr;
}

/* {1: 0, 1: 0} */
static cbor_item_t *
repeating_map(void)
{
	cbor_item_t *map = cbor_new_definite_map(2);
	int i;

	for (i = 0; i < 2; i++)
		assert_true(cbor_map_add(map,
		    (struct cbor_pair){.key = cbor_move(cbor_build_uint8(1)),
			.value = cbor_move(cbor_build_uint8(0))}));
	return map;
}

static int
att_verify(const struct att *a, const char *fmt, const uint8_t *st, size_t len,
    char *why, size_t whylen)
{
	struct fg_attest_result res;
	int r = fg_attest_verify(
	    fmt, a->ad, a->ad_len, st, len, a->cdh, RP, &res, why, whylen);

	fg_attest_result_clear(&res);
	return r;
}

/* refused as malformed, and for the repeat, whatever the format */
#define REFUSED_FOR_REPEAT(a, fmt, st, n)                                      \
	do {                                                                   \
		char why_[256];                                                \
		assert_int_equal(                                              \
		    att_verify((a), (fmt), (st), (n), why_, sizeof(why_)),     \
		    FG_ERR_INVALID);                                           \
		assert_non_null(strstr(why_, "repeats a key"));                \
	} while (0)

static void
attested_key_repeating_a_label_is_malformed(void **state)
{
	struct att a;
	struct fg_authdata ad;
	uint8_t key[700], st[256], sig[128];
	size_t n, slen;
	char why[256];

	(void)state;
	att_init(&a);
	/* alg twice: refused by the authData parser, before any COSE parsing */
	att_set_key(&a, key, cose_plus(&a.v, key, 1, BYTES(0x03, 0x26)));
	assert_int_equal(
	    fg_authdata_parse(a.ad, a.ad_len, &ad), FG_ERR_INVALID);
	/* a kid, once, in a packed self attestation */
	att_set_key(&a, key, cose_plus(&a.v, key, 1, BYTES(0x02, 0x41, 0x01)));
	slen = att_sign(&a, a.v.pkey, sig);
	n = map_of(st, sizeof(st), 2, TEXT("alg"), ES256, TEXT("sig"),
	    BSTR(sig, slen));
	assert_int_equal(
	    att_verify(&a, "packed", st, n, why, sizeof(why)), FG_OK);
	/* then twice */
	att_set_key(&a, key,
	    cose_plus(&a.v, key, 2, BYTES(0x02, 0x41, 0x01, 0x02, 0x41, 0x02)));
	assert_int_equal(
	    fg_authdata_parse(a.ad, a.ad_len, &ad), FG_ERR_INVALID);
	slen = att_sign(&a, a.v.pkey, sig);
	n = map_of(st, sizeof(st), 2, TEXT("alg"), ES256, TEXT("sig"),
	    BSTR(sig, slen));
	assert_int_equal(
	    att_verify(&a, "packed", st, n, why, sizeof(why)), FG_ERR_INVALID);
	att_free(&a);
}

static void
packed_x5c_repeating_a_key_is_malformed(void **state)
{
	struct att a;
	uint8_t st[2048], sig[128];
	size_t n, slen;
	char why[256];

	(void)state;
	att_init(&a);
	slen = att_sign(&a, a.akey, sig);
	n = map_of(st, sizeof(st), 3, TEXT("alg"), ES256, TEXT("sig"),
	    BSTR(sig, slen), TEXT("x5c"), x5c(&a, NULL));
	assert_int_equal(
	    att_verify(&a, "packed", st, n, why, sizeof(why)), FG_OK);
	assert_string_equal(why, "ok");
	/* in a map below x5c, past the leaf certificate */
	n = map_of(st, sizeof(st), 3, TEXT("alg"), ES256, TEXT("sig"),
	    BSTR(sig, slen), TEXT("x5c"), x5c(&a, repeating_map()));
	REFUSED_FOR_REPEAT(&a, "packed", st, n);
	/* a member twice */
	n = map_of(st, sizeof(st), 4, TEXT("alg"), ES256, TEXT("sig"),
	    BSTR(sig, slen), TEXT("x5c"), x5c(&a, NULL), TEXT("sig"),
	    BSTR(sig, slen));
	REFUSED_FOR_REPEAT(&a, "packed", st, n);
	n = map_of(st, sizeof(st), 4, TEXT("alg"), ES256, TEXT("sig"),
	    BSTR(sig, slen), TEXT("x5c"), x5c(&a, NULL), TEXT("x5c"),
	    x5c(&a, NULL));
	REFUSED_FOR_REPEAT(&a, "packed", st, n);
	att_free(&a);
}

static void
aaguid_text_round_trip_and_rejects(void **state)
{
	static const char *const bad[] = { "", "6632672d736f66746b65792d76310002",
		"6632672d-736f-6674-6b65-792d7631000", "6632672d-736f-6674-6b65-792d763100022",
		"6632672d_736f-6674-6b65-792d76310002", "6632672g-736f-6674-6b65-792d76310002",
		"6632672d-736f-6674-6b65-792d7631000-2", " 632672d-736f-6674-6b65-792d76310002" };
	uint8_t id[16], other[16];
	char text[37];
	size_t i;

	(void)state;
	assert_true(fg_aaguid_parse("6632672d-736f-6674-6b65-792d76310002", id));
	assert_memory_equal(id, "f2g-softkey-v1\0\2", 16);
	assert_string_equal(fg_aaguid_text(id, text),
	    "6632672d-736f-6674-6b65-792d76310002");
	assert_true(fg_aaguid_parse("6632672D-736F-6674-6B65-792D76310002", other));
	assert_memory_equal(id, other, 16);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(fg_aaguid_parse(bad[i], other));
}

/* A verified packed x5c statement of a (self-signed) attestation cert. */
static void
att_x5c_result(struct att *a, struct fg_attest_result *res)
{
	uint8_t st[2048], sig[128];
	size_t n, slen;
	char why[256];

	slen = att_sign(a, a->akey, sig);
	n = map_of(st, sizeof(st), 3, TEXT("alg"), ES256, TEXT("sig"),
	    BSTR(sig, slen), TEXT("x5c"), x5c(a, NULL));
	assert_int_equal(fg_attest_verify("packed", a->ad, a->ad_len, st, n,
			     a->cdh, RP, res, why, sizeof(why)),
	    FG_OK);
	assert_non_null(res->x5c);
}

/* roots_file PATH, att, mode: writes a's certificate as PEM */
static void
write_cert_pem(const char *path, const struct att *a, mode_t mode)
{
	const unsigned char *p = a->cert;
	X509 *x = d2i_X509(NULL, &p, (long)a->cert_len);
	FILE *f = fopen(path, "w");

	assert_non_null(x);
	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, x), 1);
	fclose(f);
	X509_free(x);
	assert_int_equal(chmod(path, mode), 0);
}

static void
attest_policy_kinds_lists_and_roots(void **state)
{
	struct fg_attest_policy pol = { 0 };
	struct fg_attest_result res = { 0 };
	struct att a, b;
	uint8_t zero[16] = { 0 }, other[16];
	char why[512], path[] = "/tmp/fg-roots-XXXXXX";
	int fd;

	(void)state;
	att_init(&a);
	att_init(&b);
	/* the kinds against each requirement */
	snprintf(res.kind, sizeof(res.kind), "none");
	assert_int_equal(fg_attest_policy_check(&pol, &res, why, sizeof(why)),
	    FG_OK);
	pol.require = FG_ATTEST_REQUIRED;
	assert_int_equal(fg_attest_policy_check(&pol, &res, why, sizeof(why)),
	    FG_ERR_DENIED);
	assert_non_null(strstr(why, "attestation refused: "));
	snprintf(res.kind, sizeof(res.kind), "self");
	assert_int_equal(fg_attest_policy_check(&pol, &res, why, sizeof(why)),
	    FG_OK);
	pol.require = FG_ATTEST_HARDWARE;
	assert_int_equal(fg_attest_policy_check(&pol, &res, why, sizeof(why)),
	    FG_ERR_DENIED);
	assert_string_equal(why,
	    "attestation refused: self attestation is not hardware");
	att_x5c_result(&a, &res);
	assert_int_equal(fg_attest_policy_check(&pol, &res, why, sizeof(why)),
	    FG_OK);

	/* the lists: the authData's AAGUID is all zero here */
	assert_true(fg_aaguid_parse("cb69481e-8ff7-4039-93ec-0a2729a154a8",
	    other));
	assert_int_equal(fg_aaguid_list_add(&pol.allow, other), FG_OK);
	assert_int_equal(fg_attest_policy_check(&pol, &res, why, sizeof(why)),
	    FG_ERR_DENIED);
	assert_string_equal(why, "attestation refused: AAGUID "
				 "00000000-0000-0000-0000-000000000000 is not "
				 "allowed");
	assert_int_equal(fg_aaguid_list_add(&pol.allow, zero), FG_OK);
	assert_int_equal(fg_aaguid_list_add(&pol.allow, zero), FG_OK);
	assert_int_equal(pol.allow.n, 2);
	assert_int_equal(fg_attest_policy_check(&pol, &res, why, sizeof(why)),
	    FG_OK);
	assert_int_equal(fg_aaguid_list_add(&pol.deny, zero), FG_OK);
	assert_int_equal(fg_attest_policy_check(&pol, &res, why, sizeof(why)),
	    FG_ERR_DENIED);
	free(pol.deny.ids);
	pol.deny.ids = NULL;
	pol.deny.n = 0;

	/* the roots: its own certificate trusted, then another's */
	assert_true((fd = mkstemp(path)) >= 0);
	close(fd);
	write_cert_pem(path, &a, 0644);
	assert_int_equal(fg_attest_roots_load(path, &pol.roots, why,
			     sizeof(why)),
	    FG_OK);
	assert_int_equal(fg_attest_policy_check(&pol, &res, why, sizeof(why)),
	    FG_OK);
	assert_non_null(strstr(res.root, "CN=fido2gate test batch"));
	X509_STORE_free(pol.roots);
	pol.roots = NULL;
	write_cert_pem(path, &b, 0644);
	assert_int_equal(fg_attest_roots_load(path, &pol.roots, why,
			     sizeof(why)),
	    FG_OK);
	assert_int_equal(fg_attest_policy_check(&pol, &res, why, sizeof(why)),
	    FG_ERR_DENIED);
	assert_non_null(strstr(why, "attestation refused: the attestation "
				    "certificate does not chain to a trusted "
				    "root: "));
	assert_string_equal(res.root, "");
	/* a roots file others may write, or without a certificate */
	X509_STORE_free(pol.roots);
	pol.roots = NULL;
	assert_int_equal(chmod(path, 0666), 0);
	assert_int_equal(fg_attest_roots_load(path, &pol.roots, why,
			     sizeof(why)),
	    FG_ERR_DENIED);
	assert_null(pol.roots);
	assert_int_equal(truncate(path, 0), 0);
	assert_int_equal(chmod(path, 0644), 0);
	assert_int_equal(fg_attest_roots_load(path, &pol.roots, why,
			     sizeof(why)),
	    FG_ERR_INVALID);
	assert_null(pol.roots);
	unlink(path);

	fg_attest_result_clear(&res);
	fg_attest_policy_clear(&pol);
	att_free(&a);
	att_free(&b);
}

static void
packed_self_repeating_a_key_is_malformed(void **state)
{
	struct att a;
	uint8_t st[256], sig[128];
	size_t n, slen;
	char why[256];

	(void)state;
	att_init(&a);
	slen = att_sign(&a, a.v.pkey, sig);
	n = map_of(st, sizeof(st), 2, TEXT("alg"), ES256, TEXT("sig"),
	    BSTR(sig, slen));
	assert_int_equal(
	    att_verify(&a, "packed", st, n, why, sizeof(why)), FG_OK);
	n = map_of(st, sizeof(st), 3, TEXT("alg"), ES256, TEXT("alg"), ES256,
	    TEXT("sig"), BSTR(sig, slen));
	REFUSED_FOR_REPEAT(&a, "packed", st, n);
	n = map_of(st, sizeof(st), 3, TEXT("alg"), ES256, TEXT("sig"),
	    BSTR(sig, slen), TEXT("sig"), BSTR(sig, slen));
	REFUSED_FOR_REPEAT(&a, "packed", st, n);
	att_free(&a);
}

static void
fido_u2f_repeating_a_key_is_malformed(void **state)
{
	struct att a;
	uint8_t st[2048], sig[128];
	size_t n, slen;
	char why[256];

	(void)state;
	att_init(&a);
	slen = u2f_sign(&a, sig);
	n = map_of(st, sizeof(st), 2, TEXT("sig"), BSTR(sig, slen), TEXT("x5c"),
	    x5c(&a, NULL));
	assert_int_equal(
	    att_verify(&a, "fido-u2f", st, n, why, sizeof(why)), FG_OK);
	n = map_of(st, sizeof(st), 3, TEXT("sig"), BSTR(sig, slen), TEXT("x5c"),
	    x5c(&a, NULL), TEXT("sig"), BSTR(sig, slen));
	REFUSED_FOR_REPEAT(&a, "fido-u2f", st, n);
	n = map_of(st, sizeof(st), 3, TEXT("sig"), BSTR(sig, slen), TEXT("x5c"),
	    x5c(&a, NULL), TEXT("x5c"), x5c(&a, NULL));
	REFUSED_FOR_REPEAT(&a, "fido-u2f", st, n);
	/* with the "alg" libfido2 adds to a CTAP1 registration's statement */
	n = map_of(st, sizeof(st), 3, TEXT("alg"), ES256, TEXT("sig"),
	    BSTR(sig, slen), TEXT("x5c"), x5c(&a, NULL));
	assert_int_equal(
	    att_verify(&a, "fido-u2f", st, n, why, sizeof(why)), FG_OK);
	n = map_of(st, sizeof(st), 4, TEXT("alg"), ES256, TEXT("alg"), ES256,
	    TEXT("sig"), BSTR(sig, slen), TEXT("x5c"), x5c(&a, NULL));
	REFUSED_FOR_REPEAT(&a, "fido-u2f", st, n);
	att_free(&a);
}

static void
none_and_tpm_repeating_a_key_are_malformed(void **state)
{
	struct att a;
	uint8_t st[256];
	size_t n;
	char why[256];

	(void)state;
	att_init(&a);
	assert_int_equal(
	    att_verify(&a, "none", BYTES(0xa0), why, sizeof(why)), FG_OK);
	n = map_of(st, sizeof(st), 2, TEXT("alg"), ES256, TEXT("alg"), ES256);
	REFUSED_FOR_REPEAT(&a, "none", st, n);
	/* malformed before its format is looked at */
	REFUSED_FOR_REPEAT(&a, "tpm", st, n);
	att_free(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(accepts_valid_assertions_for_each_algorithm),
		cmocka_unit_test(each_check_fails_alone),
		cmocka_unit_test(signatures_must_verify_and_be_canonical),
		cmocka_unit_test(another_keys_signature_is_refused),
		cmocka_unit_test(malformed_and_unsupported_keys),
		cmocka_unit_test(authdata_with_attested_credential),
		cmocka_unit_test(base64url_round_trip_and_rejects),
		cmocka_unit_test(base64_with_padding_and_rejects),
		cmocka_unit_test(cose_from_raw_keys),
		cmocka_unit_test(packed_self_attestation),
		cmocka_unit_test(user_names),
		cmocka_unit_test(cbor_counts_bounded_by_input),
		cmocka_unit_test(cbor_load_refuses_repeated_keys_at_any_depth),
		cmocka_unit_test(cose_key_repeating_a_label_is_malformed),
		cmocka_unit_test(extensions_repeating_a_key_are_malformed),
		cmocka_unit_test(attested_key_repeating_a_label_is_malformed),
		cmocka_unit_test(packed_x5c_repeating_a_key_is_malformed),
		cmocka_unit_test(packed_self_repeating_a_key_is_malformed),
		cmocka_unit_test(aaguid_text_round_trip_and_rejects),
		cmocka_unit_test(attest_policy_kinds_lists_and_roots),
		cmocka_unit_test(fido_u2f_repeating_a_key_is_malformed),
		cmocka_unit_test(none_and_tpm_repeating_a_key_are_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
