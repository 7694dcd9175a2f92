/*
 * Credential keys of the soft key. Like a real authenticator that keeps no
 * per-credential storage, a credential ID is the credential's private key
 * sealed with AES-256-GCM under a key derived from the device's master
 * secret, with the rpIdHash as associated data: an ID made by another key,
 * or presented for another relying party, does not open.
 */
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "softkey.h"

#define CRED_ID_VERSION 0x01
#define CRED_ALG_ES256 0x01
#define CRED_ALG_EDDSA 0x02
#define CRED_NONCE_LEN 12
#define CRED_TAG_LEN 16
#define CRED_PLAIN_LEN (2 + 32)
#define CRED_ID_LEN (1 + CRED_NONCE_LEN + CRED_PLAIN_LEN + CRED_TAG_LEN)

static const char wrap_label[] = "fido2gate softkey credential id v1";

int
sk_random(void *buf, size_t len)
{
	if (len > INT32_MAX || RAND_bytes(buf, (int)len) != 1)
		return -1;
	return 0;
}

void
sk_sha256(const void *buf, size_t len, uint8_t out[32])
{
	SHA256(buf, len, out);
}

static int
wrap_key(const struct sk_state *st, uint8_t key[32])
{
	unsigned int len = 32;

	if (HMAC(EVP_sha256(), st->master, sizeof(st->master),
	    (const unsigned char *)wrap_label, sizeof(wrap_label) - 1, key,
	    &len) == NULL || len != 32)
		return -1;
	return 0;
}

/* P-256 key from a private scalar; writes the uncompressed point too. */
static EVP_PKEY *
es256_from_priv(const uint8_t priv[32], uint8_t pub[65])
{
	EC_GROUP *grp = NULL;
	EC_POINT *pt = NULL;
	BIGNUM *d = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL, *ret = NULL;

	if ((grp = EC_GROUP_new_by_curve_name(NID_X9_62_prime256v1)) == NULL ||
	    (pt = EC_POINT_new(grp)) == NULL ||
	    (d = BN_bin2bn(priv, 32, NULL)) == NULL ||
	    EC_POINT_mul(grp, pt, d, NULL, NULL, NULL) != 1 ||
	    EC_POINT_point2oct(grp, pt, POINT_CONVERSION_UNCOMPRESSED, pub, 65,
	    NULL) != 65)
		goto out;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
	    "prime256v1", 0) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, pub,
	    65) != 1 ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_KEYPAIR, params) != 1)
		goto out;
	ret = pkey;
	pkey = NULL;
out:
	EVP_PKEY_free(pkey);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_clear_free(d);
	EC_POINT_free(pt);
	EC_GROUP_free(grp);
	return ret;
}

static EVP_PKEY *
cred_pkey(const struct sk_cred *cred, uint8_t pub[65], size_t *pub_len)
{
	EVP_PKEY *pkey;
	size_t len = 32;

	switch (cred->alg) {
	case SK_COSE_ES256:
		*pub_len = 65;
		return es256_from_priv(cred->priv, pub);
	case SK_COSE_EDDSA:
		pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL,
		    cred->priv, 32);
		if (pkey == NULL ||
		    EVP_PKEY_get_raw_public_key(pkey, pub, &len) != 1 ||
		    len != 32) {
			EVP_PKEY_free(pkey);
			return NULL;
		}
		*pub_len = 32;
		return pkey;
	default:
		return NULL;
	}
}

int
sk_cred_new(struct sk_cred *cred, int alg, uint8_t cred_protect, bool rk)
{
	EVP_PKEY *pkey = NULL;
	BIGNUM *d = NULL;
	int ret = -1;

	memset(cred, 0, sizeof(*cred));
	cred->alg = alg;
	cred->cred_protect = cred_protect;
	cred->rk = rk;
	switch (alg) {
	case SK_COSE_ES256:
		/* let OpenSSL pick a scalar in [1, n-1] */
		if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC",
		    "P-256")) == NULL ||
		    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY,
		    &d) != 1 ||
		    BN_bn2binpad(d, cred->priv, 32) != 32)
			goto out;
		break;
	case SK_COSE_EDDSA:
		if (sk_random(cred->priv, sizeof(cred->priv)) != 0)
			goto out;
		break;
	default:
		goto out;
	}
	ret = 0;
out:
	BN_clear_free(d);
	EVP_PKEY_free(pkey);
	if (ret != 0)
		OPENSSL_cleanse(cred, sizeof(*cred));
	return ret;
}

int
sk_cred_wrap(const struct sk_state *st, const uint8_t rp_id_hash[32],
    const struct sk_cred *cred, uint8_t **id_out, size_t *id_len_out)
{
	uint8_t key[32], plain[CRED_PLAIN_LEN], aad[33];
	uint8_t *id = NULL;
	EVP_CIPHER_CTX *ctx = NULL;
	int len, ret = -1;

	if ((id = malloc(CRED_ID_LEN)) == NULL || wrap_key(st, key) != 0)
		goto out;
	id[0] = CRED_ID_VERSION;
	plain[0] = cred->alg == SK_COSE_ES256 ? CRED_ALG_ES256 : CRED_ALG_EDDSA;
	plain[1] = (uint8_t)((cred->rk ? 1 : 0) | (cred->cred_protect << 1));
	memcpy(plain + 2, cred->priv, 32);
	aad[0] = CRED_ID_VERSION;
	memcpy(aad + 1, rp_id_hash, 32);
	if (sk_random(id + 1, CRED_NONCE_LEN) != 0 ||
	    (ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, id + 1) != 1 ||
	    EVP_EncryptUpdate(ctx, NULL, &len, aad, sizeof(aad)) != 1 ||
	    EVP_EncryptUpdate(ctx, id + 1 + CRED_NONCE_LEN, &len, plain,
	    sizeof(plain)) != 1 || len != CRED_PLAIN_LEN ||
	    EVP_EncryptFinal_ex(ctx, id + 1 + CRED_NONCE_LEN + len, &len) != 1 ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, CRED_TAG_LEN,
	    id + 1 + CRED_NONCE_LEN + CRED_PLAIN_LEN) != 1)
		goto out;
	*id_out = id;
	*id_len_out = CRED_ID_LEN;
	id = NULL;
	ret = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(plain, sizeof(plain));
	free(id);
	return ret;
}

int
sk_cred_unwrap(const struct sk_state *st, const uint8_t rp_id_hash[32],
    const uint8_t *id, size_t id_len, struct sk_cred *cred)
{
	uint8_t key[32], plain[CRED_PLAIN_LEN], aad[33];
	EVP_CIPHER_CTX *ctx = NULL;
	int len, ret = -1;

	memset(cred, 0, sizeof(*cred));
	if (id_len != CRED_ID_LEN || id[0] != CRED_ID_VERSION ||
	    wrap_key(st, key) != 0)
		goto out;
	aad[0] = CRED_ID_VERSION;
	memcpy(aad + 1, rp_id_hash, 32);
	if ((ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, id + 1) != 1 ||
	    EVP_DecryptUpdate(ctx, NULL, &len, aad, sizeof(aad)) != 1 ||
	    EVP_DecryptUpdate(ctx, plain, &len, id + 1 + CRED_NONCE_LEN,
	    CRED_PLAIN_LEN) != 1 || len != CRED_PLAIN_LEN ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, CRED_TAG_LEN,
	    (void *)(id + 1 + CRED_NONCE_LEN + CRED_PLAIN_LEN)) != 1 ||
	    EVP_DecryptFinal_ex(ctx, plain + len, &len) != 1)
		goto out;
	switch (plain[0]) {
	case CRED_ALG_ES256:
		cred->alg = SK_COSE_ES256;
		break;
	case CRED_ALG_EDDSA:
		cred->alg = SK_COSE_EDDSA;
		break;
	default:
		goto out;
	}
	cred->rk = (plain[1] & 1) != 0;
	cred->cred_protect = (uint8_t)((plain[1] >> 1) & 3);
	memcpy(cred->priv, plain + 2, 32);
	ret = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(plain, sizeof(plain));
	if (ret != 0)
		OPENSSL_cleanse(cred, sizeof(*cred));
	return ret;
}

/* COSE_Key (RFC 9053) in CTAP canonical key order: 1, 3, -1, -2, -3. */
int
sk_cred_cose_pubkey(const struct sk_cred *cred, uint8_t **cose, size_t *len)
{
	uint8_t pub[65];
	size_t pub_len = 0;
	EVP_PKEY *pkey;
	cbor_item_t *map = NULL;
	int ret = -1;

	if ((pkey = cred_pkey(cred, pub, &pub_len)) == NULL)
		return -1;
	EVP_PKEY_free(pkey);
	if (cred->alg == SK_COSE_ES256) {
		if ((map = cbor_new_definite_map(5)) == NULL ||
		    !sk_map_put_int(map, 1, sk_cbor_new_int(2)) ||
		    !sk_map_put_int(map, 3, sk_cbor_new_int(SK_COSE_ES256)) ||
		    !sk_map_put_int(map, -1, sk_cbor_new_int(1)) ||
		    !sk_map_put_int(map, -2, cbor_build_bytestring(pub + 1, 32)) ||
		    !sk_map_put_int(map, -3, cbor_build_bytestring(pub + 33, 32)))
			goto out;
	} else {
		if ((map = cbor_new_definite_map(4)) == NULL ||
		    !sk_map_put_int(map, 1, sk_cbor_new_int(1)) ||
		    !sk_map_put_int(map, 3, sk_cbor_new_int(SK_COSE_EDDSA)) ||
		    !sk_map_put_int(map, -1, sk_cbor_new_int(6)) ||
		    !sk_map_put_int(map, -2, cbor_build_bytestring(pub, 32)))
			goto out;
	}
	ret = sk_cbor_encode(map, cose, len);
out:
	if (map != NULL)
		cbor_decref(&map);
	return ret;
}

int
sk_cred_sign(const struct sk_cred *cred, const uint8_t *msg, size_t msg_len,
    uint8_t **sig_out, size_t *sig_len_out)
{
	uint8_t pub[65];
	size_t pub_len, sig_len = 0;
	uint8_t *sig = NULL;
	EVP_PKEY *pkey = NULL;
	EVP_MD_CTX *md = NULL;
	const EVP_MD *type;
	int ret = -1;

	if ((pkey = cred_pkey(cred, pub, &pub_len)) == NULL ||
	    (md = EVP_MD_CTX_new()) == NULL)
		goto out;
	/* EdDSA hashes internally: no digest is named */
	type = cred->alg == SK_COSE_ES256 ? EVP_sha256() : NULL;
	if (EVP_DigestSignInit(md, NULL, type, NULL, pkey) != 1 ||
	    EVP_DigestSign(md, NULL, &sig_len, msg, msg_len) != 1 ||
	    (sig = malloc(sig_len)) == NULL ||
	    EVP_DigestSign(md, sig, &sig_len, msg, msg_len) != 1)
		goto out;
	*sig_out = sig;
	*sig_len_out = sig_len;
	sig = NULL;
	ret = 0;
out:
	free(sig);
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pkey);
	return ret;
}
