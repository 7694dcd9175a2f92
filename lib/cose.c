/*
 * Stored credential public keys: COSE_Key (RFC 9052/9053) or SPKI PEM, into
 * an OpenSSL EVP_PKEY that is checked once, when it is loaded, and then
 * used for every signature. The algorithm always comes from the stored key.
 */
#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "fg.h"

struct fg_pubkey {
	int alg;
	EVP_PKEY *pkey;
};

#define COSE_KTY_OKP 1
#define COSE_KTY_EC2 2
#define COSE_KTY_RSA 3
#define RSA_MIN_BITS 2048

enum { L_KTY, L_ALG, L_M1, L_M2, L_M3, L_COUNT };

static const struct alg_info {
	int alg;
	const char *name;
	int kty;
	int crv; /* 0: any listed below */
	const char *group;
	size_t coord;
	const char *md;
} algs[] = {
	{ FG_COSE_ES256, "ES256", COSE_KTY_EC2, 1, "P-256", 32, "SHA256" },
	{ FG_COSE_ES384, "ES384", COSE_KTY_EC2, 2, "P-384", 48, "SHA384" },
	{ FG_COSE_ES512, "ES512", COSE_KTY_EC2, 3, "P-521", 66, "SHA512" },
	{ FG_COSE_EDDSA, "EdDSA", COSE_KTY_OKP, 0, NULL, 0, NULL },
	{ FG_COSE_ED25519, "Ed25519", COSE_KTY_OKP, 6, NULL, 32, NULL },
	{ FG_COSE_ED448, "Ed448", COSE_KTY_OKP, 7, NULL, 57, NULL },
	{ FG_COSE_RS256, "RS256", COSE_KTY_RSA, 0, NULL, 0, "SHA256" },
};

static const struct alg_info *
alg_find(int alg)
{
	size_t i;

	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (algs[i].alg == alg)
			return &algs[i];
	return NULL;
}

const char *
fg_cose_alg_name(int alg)
{
	const struct alg_info *a = alg_find(alg);

	return a != NULL ? a->name : "unknown";
}

bool
fg_cose_alg_allowed(int alg)
{
	return alg == FG_COSE_ES256 || alg == FG_COSE_EDDSA ||
	    alg == FG_COSE_RS256;
}

int
fg_pubkey_alg(const struct fg_pubkey *key)
{
	return key->alg;
}

void
fg_pubkey_free(struct fg_pubkey **key)
{
	if (key == NULL || *key == NULL)
		return;
	EVP_PKEY_free((*key)->pkey);
	free(*key);
	*key = NULL;
}

/* A COSE label: a CBOR integer that fits in int. */
static bool
cbor_label(const cbor_item_t *item, int *label)
{
	uint64_t v;

	if (!cbor_isa_uint(item) && !cbor_isa_negint(item))
		return false;
	v = cbor_get_int(item);
	if (v > 0x7fffffff)
		return false;
	*label = cbor_isa_uint(item) ? (int)v : -1 - (int)v;
	return true;
}

static bool
cbor_small_int(const cbor_item_t *item, int *out)
{
	return item != NULL && cbor_label(item, out);
}

static bool
cbor_bytes(const cbor_item_t *item, size_t want, const uint8_t **p,
    size_t *len)
{
	if (item == NULL || !cbor_isa_bytestring(item) ||
	    !cbor_bytestring_is_definite(item))
		return false;
	*len = cbor_bytestring_length(item);
	*p = cbor_bytestring_handle(item);
	return want == 0 || *len == want;
}

/* A public key from OpenSSL parameters, checked before it is used: an EC
 * point must lie on its curve, an RSA modulus and exponent must be sane. */
static int
pkey_fromdata(const char *type, OSSL_PARAM *params, EVP_PKEY **out)
{
	EVP_PKEY_CTX *ctx, *chk = NULL;
	EVP_PKEY *pkey = NULL;
	int ret = FG_ERR_INVALID;

	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL)) == NULL)
		return FG_ERR_NOMEM;
	if (EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
		goto out;
	if ((chk = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL)) == NULL ||
	    EVP_PKEY_public_check(chk) != 1)
		goto out;
	*out = pkey;
	pkey = NULL;
	ret = FG_OK;
out:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_CTX_free(chk);
	return ret;
}

static int
ec_key(const struct alg_info *a, const cbor_item_t *x, const cbor_item_t *y,
    EVP_PKEY **out)
{
	const uint8_t *xp, *yp;
	size_t xl, yl;
	uint8_t pt[1 + 2 * 66];
	OSSL_PARAM params[3];

	if (!cbor_bytes(x, a->coord, &xp, &xl) ||
	    !cbor_bytes(y, a->coord, &yp, &yl))
		return FG_ERR_INVALID;
	pt[0] = 0x04;
	memcpy(pt + 1, xp, xl);
	memcpy(pt + 1 + xl, yp, yl);
	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_PKEY_PARAM_GROUP_NAME, (char *)(uintptr_t)a->group, 0);
	params[1] = OSSL_PARAM_construct_octet_string(
	    OSSL_PKEY_PARAM_PUB_KEY, pt, 1 + xl + yl);
	params[2] = OSSL_PARAM_construct_end();
	return pkey_fromdata("EC", params, out);
}

static int
okp_key(int crv, const cbor_item_t *x, EVP_PKEY **out)
{
	const uint8_t *xp;
	size_t xl;
	int type = crv == 6 ? EVP_PKEY_ED25519 : EVP_PKEY_ED448;

	if (!cbor_bytes(x, crv == 6 ? 32 : 57, &xp, &xl))
		return FG_ERR_INVALID;
	if ((*out = EVP_PKEY_new_raw_public_key(type, NULL, xp, xl)) == NULL)
		return FG_ERR_INVALID;
	return FG_OK;
}

static int
rsa_key(const cbor_item_t *n, const cbor_item_t *e, EVP_PKEY **out)
{
	const uint8_t *np, *ep;
	size_t nl, el;
	BIGNUM *bn = NULL, *be = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	int ret = FG_ERR_INVALID;

	if (!cbor_bytes(n, 0, &np, &nl) || !cbor_bytes(e, 0, &ep, &el) ||
	    nl == 0 || nl > 1024 || el == 0 || el > 8 || np[0] == 0 ||
	    nl * 8 < RSA_MIN_BITS)
		goto out;
	ret = FG_ERR_NOMEM;
	if ((bn = BN_bin2bn(np, (int)nl, NULL)) == NULL ||
	    (be = BN_bin2bn(ep, (int)el, NULL)) == NULL ||
	    (bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	ret = FG_ERR_INVALID;
	if (!BN_is_odd(be) || BN_is_one(be))
		goto out;
	ret = pkey_fromdata("RSA", params, out);
out:
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	return ret;
}

int
fg_pubkey_from_cose(const uint8_t *cbor, size_t len, struct fg_pubkey **out)
{
	struct cbor_load_result res;
	cbor_item_t *map = NULL, *lab[L_COUNT] = { NULL };
	struct cbor_pair *pairs;
	const struct alg_info *a;
	struct fg_pubkey *key = NULL;
	EVP_PKEY *pkey = NULL;
	size_t i, n;
	int kty, alg, crv = 0, label, ret = FG_ERR_INVALID;

	*out = NULL;
	map = fg_cbor_load(cbor, len, &res);
	if (map == NULL || res.error.code != CBOR_ERR_NONE || res.read != len ||
	    !cbor_isa_map(map) || !cbor_map_is_definite(map))
		goto out;
	n = cbor_map_size(map);
	pairs = cbor_map_handle(map);
	for (i = 0; i < n; i++) {
		if (!cbor_label(pairs[i].key, &label))
			goto out;
		if (label < -3 || label > 3 || label == 0 || label == 2)
			continue; /* kid, key_ops, base IV...: not ours */
		int slot = label == 1 ? L_KTY : label == 3 ? L_ALG :
								-label + L_ALG;
		if (lab[slot] != NULL)
			goto out; /* a duplicate label */
		lab[slot] = pairs[i].value;
	}
	if (!cbor_small_int(lab[L_KTY], &kty) ||
	    !cbor_small_int(lab[L_ALG], &alg))
		goto out;
	if ((a = alg_find(alg)) == NULL) {
		ret = FG_ERR_UNSUPPORTED;
		goto out;
	}
	if (kty != a->kty)
		goto out;
	if (kty == COSE_KTY_EC2 || kty == COSE_KTY_OKP) {
		if (!cbor_small_int(lab[L_M1], &crv))
			goto out;
		if (a->crv != 0 ? crv != a->crv : (crv != 6 && crv != 7))
			goto out;
	}
	if (kty == COSE_KTY_EC2)
		ret = ec_key(a, lab[L_M2], lab[L_M3], &pkey);
	else if (kty == COSE_KTY_OKP)
		ret = lab[L_M3] != NULL ? FG_ERR_INVALID :
					  okp_key(crv, lab[L_M2], &pkey);
	else
		ret = rsa_key(lab[L_M1], lab[L_M2], &pkey);
	if (ret != FG_OK)
		goto out;
	if ((key = calloc(1, sizeof(*key))) == NULL) {
		ret = FG_ERR_NOMEM;
		goto out;
	}
	key->alg = alg;
	key->pkey = pkey;
	pkey = NULL;
	*out = key;
	ret = FG_OK;
out:
	EVP_PKEY_free(pkey);
	if (map != NULL)
		cbor_decref(&map);
	return ret;
}

/* Takes ownership of pkey: checks that it is the kind alg names, wraps it. */
static int
wrap(EVP_PKEY *pkey, const struct alg_info *a, struct fg_pubkey **out)
{
	struct fg_pubkey *key;
	char group[32];
	int want;

	switch (a->kty) {
	case COSE_KTY_EC2:
		want = EVP_PKEY_EC;
		break;
	case COSE_KTY_RSA:
		want = EVP_PKEY_RSA;
		break;
	default:
		want = a->crv == 7 ? EVP_PKEY_ED448 : EVP_PKEY_ED25519;
	}
	if (EVP_PKEY_get_base_id(pkey) != want ||
	    (a->kty == COSE_KTY_EC2 &&
		(!EVP_PKEY_get_utf8_string_param(pkey,
		     OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group), NULL) ||
		    OBJ_sn2nid(group) != EC_curve_nist2nid(a->group))) ||
	    (a->kty == COSE_KTY_RSA && EVP_PKEY_get_bits(pkey) < RSA_MIN_BITS)) {
		EVP_PKEY_free(pkey);
		return FG_ERR_INVALID;
	}
	if ((key = calloc(1, sizeof(*key))) == NULL) {
		EVP_PKEY_free(pkey);
		return FG_ERR_NOMEM;
	}
	key->alg = a->alg;
	key->pkey = pkey;
	*out = key;
	return FG_OK;
}

int
fg_pubkey_from_pem(const char *pem, const char *alg_name, struct fg_pubkey **out)
{
	const struct alg_info *a = NULL;
	EVP_PKEY *pkey;
	BIO *bio;
	size_t i;

	*out = NULL;
	for (i = 0; i < sizeof(algs) / sizeof(algs[0]); i++)
		if (strcmp(algs[i].name, alg_name) == 0)
			a = &algs[i];
	if (a == NULL)
		return FG_ERR_UNSUPPORTED;
	if ((bio = BIO_new_mem_buf(pem, -1)) == NULL)
		return FG_ERR_NOMEM;
	pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (pkey == NULL)
		return FG_ERR_INVALID;
	return wrap(pkey, a, out);
}

int
fg_pubkey_from_evp(EVP_PKEY *pkey, int alg, struct fg_pubkey **out)
{
	const struct alg_info *a = alg_find(alg);

	*out = NULL;
	/* a certificate whose key OpenSSL cannot read gives NULL here */
	if (pkey == NULL)
		return FG_ERR_INVALID;
	if (a == NULL)
		return FG_ERR_UNSUPPORTED;
	if (EVP_PKEY_up_ref(pkey) != 1)
		return FG_ERR_INTERNAL;
	return wrap(pkey, a, out);
}

/* Appends label -> value to map, taking value; false when out of memory. */
static bool
map_put(cbor_item_t *map, int label, cbor_item_t *value)
{
	cbor_item_t *key = label >= 0 ? cbor_build_uint8((uint8_t)label) :
					cbor_build_negint8((uint8_t)(-1 - label));
	bool ok = key != NULL && value != NULL &&
	    cbor_map_add(map, (struct cbor_pair){ .key = key, .value = value });

	if (key != NULL)
		cbor_decref(&key);
	if (value != NULL)
		cbor_decref(&value);
	return ok;
}

int
fg_cose_from_raw(int alg, const uint8_t *raw, size_t len, uint8_t **cose,
    size_t *cose_len)
{
	cbor_item_t *map = NULL;
	struct fg_pubkey *check = NULL;
	uint8_t *buf = NULL;
	size_t buflen = 0, n;
	bool ok;
	int ret = FG_ERR_INVALID;

	*cose = NULL;
	*cose_len = 0;
	if (alg == FG_COSE_ES256 && len == 65 && raw[0] == 0x04) {
		raw++;
		len--;
	}
	if (!fg_cose_alg_allowed(alg)) {
		ret = FG_ERR_UNSUPPORTED;
		goto out;
	}
	if ((alg == FG_COSE_ES256 && len != 64) ||
	    (alg == FG_COSE_EDDSA && len != 32) ||
	    (alg == FG_COSE_RS256 && len != 259))
		goto out;
	ret = FG_ERR_NOMEM;
	if ((map = cbor_new_definite_map(alg == FG_COSE_RS256 ? 4 : 5)) ==
	    NULL)
		goto out;
	if (alg == FG_COSE_ES256)
		ok = map_put(map, 1, cbor_build_uint8(COSE_KTY_EC2)) &&
		    map_put(map, 3, cbor_build_negint8(6)) &&
		    map_put(map, -1, cbor_build_uint8(1)) &&
		    map_put(map, -2, cbor_build_bytestring(raw, 32)) &&
		    map_put(map, -3, cbor_build_bytestring(raw + 32, 32));
	else if (alg == FG_COSE_EDDSA)
		ok = map_put(map, 1, cbor_build_uint8(COSE_KTY_OKP)) &&
		    map_put(map, 3, cbor_build_negint8(7)) &&
		    map_put(map, -1, cbor_build_uint8(6)) &&
		    map_put(map, -2, cbor_build_bytestring(raw, 32));
	else
		ok = map_put(map, 1, cbor_build_uint8(COSE_KTY_RSA)) &&
		    map_put(map, 3, cbor_build_negint16(256)) &&
		    map_put(map, -1, cbor_build_bytestring(raw, 256)) &&
		    map_put(map, -2, cbor_build_bytestring(raw + 256, 3));
	if (!ok || (n = cbor_serialize_alloc(map, &buf, &buflen)) == 0)
		goto out;
	/* the key must load as every stored key does: on its curve, sane */
	if ((ret = fg_pubkey_from_cose(buf, n, &check)) != FG_OK)
		goto out;
	*cose = buf;
	*cose_len = n;
	buf = NULL;
	ret = FG_OK;
out:
	fg_pubkey_free(&check);
	free(buf);
	if (map != NULL)
		cbor_decref(&map);
	return ret;
}

/* ECDSA signatures must be DER and canonical: re-encoding gives the same
 * bytes (no trailing data, no long-form lengths, no padded integers). */
static bool
der_canonical(const uint8_t *sig, size_t len)
{
	const unsigned char *p = sig;
	unsigned char *der = NULL;
	ECDSA_SIG *s;
	int n;
	bool ok;

	if (len == 0 || len > 256)
		return false;
	if ((s = d2i_ECDSA_SIG(NULL, &p, (long)len)) == NULL)
		return false;
	n = i2d_ECDSA_SIG(s, &der);
	ok = n > 0 && (size_t)n == len && (size_t)(p - sig) == len &&
	    memcmp(der, sig, len) == 0;
	OPENSSL_free(der);
	ECDSA_SIG_free(s);
	return ok;
}

bool
fg_pubkey_verify(const struct fg_pubkey *key, const uint8_t *msg,
    size_t msglen, const uint8_t *sig, size_t siglen)
{
	const struct alg_info *a = alg_find(key->alg);
	EVP_MD_CTX *md = NULL;
	EVP_PKEY_CTX *pctx = NULL;
	bool ok = false;

	if (a == NULL)
		return false;
	if (a->kty == COSE_KTY_EC2 && !der_canonical(sig, siglen))
		return false;
	if ((md = EVP_MD_CTX_new()) == NULL)
		return false;
	if (EVP_DigestVerifyInit_ex(md, &pctx, a->md, NULL, NULL, key->pkey,
		NULL) != 1)
		goto out;
	if (a->kty == COSE_KTY_RSA &&
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
		goto out;
	ok = EVP_DigestVerify(md, sig, siglen, msg, msglen) == 1;
out:
	EVP_MD_CTX_free(md);
	return ok;
}
