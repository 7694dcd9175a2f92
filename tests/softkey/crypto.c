/*
 * Credential keys of the soft key. Like a real authenticator that keeps no
 * per-credential storage, a credential ID is the credential's private key
 * sealed with AES-256-GCM under a key derived from the device's master
 * secret, with the rpIdHash as associated data: an ID made by another key,
 * or presented for another relying party, does not open.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/obj_mac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <openssl/x509v3.h>

#include "softkey.h"

#define CRED_ID_VERSION 0x01
#define CRED_ALG_ES256 0x01
#define CRED_ALG_EDDSA 0x02
#define CRED_ALG_RS256 0x03
#define RSA_BITS 2048
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
		&len) == NULL ||
	    len != 32)
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
	    EC_POINT_point2oct(
		grp, pt, POINT_CONVERSION_UNCOMPRESSED, pub, 65, NULL) != 65)
		goto out;
	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    OSSL_PARAM_BLD_push_utf8_string(
		bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) != 1 ||
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d) != 1 ||
	    OSSL_PARAM_BLD_push_octet_string(
		bld, OSSL_PKEY_PARAM_PUB_KEY, pub, 65) != 1 ||
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
		pkey = EVP_PKEY_new_raw_private_key(
		    EVP_PKEY_ED25519, NULL, cred->priv, 32);
		if (pkey == NULL ||
		    EVP_PKEY_get_raw_public_key(pkey, pub, &len) != 1 ||
		    len != 32) {
			EVP_PKEY_free(pkey);
			return NULL;
		}
		*pub_len = 32;
		return pkey;
	case SK_COSE_RS256: {
		const unsigned char *p;

		if (cred->rsa == NULL || cred->rsa->der_len > LONG_MAX)
			return NULL;
		p = cred->rsa->der;
		*pub_len = 0; /* read n and e from the key */
		return d2i_PrivateKey(
		    EVP_PKEY_RSA, NULL, &p, (long)cred->rsa->der_len);
	}
	default:
		return NULL;
	}
}

/* The public key as U2F wants it: an uncompressed P-256 point. */
int
sk_cred_pubkey_raw(const struct sk_cred *cred, uint8_t pub[65])
{
	size_t len = 0;
	EVP_PKEY *pkey;

	if (cred->alg != SK_COSE_ES256 ||
	    (pkey = cred_pkey(cred, pub, &len)) == NULL)
		return -1;
	EVP_PKEY_free(pkey);
	return len == 65 ? 0 : -1;
}

/* A new RSA key kept in the state, named by a random handle. */
static int
rsa_new(struct sk_state *st, struct sk_cred *cred)
{
	EVP_PKEY *pkey;
	unsigned char *der = NULL;
	struct sk_rsa *v;
	int n;

	if (sk_random(cred->priv, sizeof(cred->priv)) != 0 ||
	    (pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)RSA_BITS)) ==
		NULL)
		return -1;
	n = i2d_PrivateKey(pkey, &der);
	EVP_PKEY_free(pkey);
	if (n <= 0 ||
	    (v = reallocarray(st->rsas, st->nrsas + 1, sizeof(*v))) == NULL) {
		OPENSSL_clear_free(der, n > 0 ? (size_t)n : 0);
		return -1;
	}
	st->rsas = v;
	v = &st->rsas[st->nrsas];
	memcpy(v->handle, cred->priv, sizeof(v->handle));
	if ((v->der = malloc((size_t)n)) == NULL) {
		OPENSSL_clear_free(der, (size_t)n);
		return -1;
	}
	memcpy(v->der, der, (size_t)n);
	v->der_len = (size_t)n;
	OPENSSL_clear_free(der, (size_t)n);
	cred->rsa = v;
	st->nrsas++;
	return 0;
}

static const struct sk_rsa *
rsa_find(const struct sk_state *st, const uint8_t handle[32])
{
	for (size_t i = 0; i < st->nrsas; i++)
		if (CRYPTO_memcmp(st->rsas[i].handle, handle, 32) == 0)
			return &st->rsas[i];
	return NULL;
}

int
sk_cred_new(struct sk_state *st, struct sk_cred *cred, int alg,
    uint8_t cred_protect, bool rk)
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
		if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256")) ==
			NULL ||
		    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d) !=
			1 ||
		    BN_bn2binpad(d, cred->priv, 32) != 32)
			goto out;
		break;
	case SK_COSE_EDDSA:
		if (sk_random(cred->priv, sizeof(cred->priv)) != 0)
			goto out;
		break;
	case SK_COSE_RS256:
		if (rsa_new(st, cred) != 0)
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
	plain[0] = cred->alg == SK_COSE_ES256 ? CRED_ALG_ES256
	    : cred->alg == SK_COSE_EDDSA      ? CRED_ALG_EDDSA
					      : CRED_ALG_RS256;
	plain[1] = (uint8_t)((cred->rk ? 1 : 0) | (cred->cred_protect << 1));
	memcpy(plain + 2, cred->priv, 32);
	aad[0] = CRED_ID_VERSION;
	memcpy(aad + 1, rp_id_hash, 32);
	if (sk_random(id + 1, CRED_NONCE_LEN) != 0 ||
	    (ctx = EVP_CIPHER_CTX_new()) == NULL ||
	    EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, id + 1) !=
		1 ||
	    EVP_EncryptUpdate(ctx, NULL, &len, aad, sizeof(aad)) != 1 ||
	    EVP_EncryptUpdate(ctx, id + 1 + CRED_NONCE_LEN, &len, plain,
		sizeof(plain)) != 1 ||
	    len != CRED_PLAIN_LEN ||
	    EVP_EncryptFinal_ex(ctx, id + 1 + CRED_NONCE_LEN + len, &len) !=
		1 ||
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
	    EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, id + 1) !=
		1 ||
	    EVP_DecryptUpdate(ctx, NULL, &len, aad, sizeof(aad)) != 1 ||
	    EVP_DecryptUpdate(ctx, plain, &len, id + 1 + CRED_NONCE_LEN,
		CRED_PLAIN_LEN) != 1 ||
	    len != CRED_PLAIN_LEN ||
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
	case CRED_ALG_RS256:
		cred->alg = SK_COSE_RS256;
		break;
	default:
		goto out;
	}
	cred->rk = (plain[1] & 1) != 0;
	cred->cred_protect = (uint8_t)((plain[1] >> 1) & 3);
	memcpy(cred->priv, plain + 2, 32);
	if (cred->alg == SK_COSE_RS256 &&
	    (cred->rsa = rsa_find(st, cred->priv)) == NULL)
		goto out; /* its key was wiped by a reset */
	ret = 0;
out:
	EVP_CIPHER_CTX_free(ctx);
	OPENSSL_cleanse(key, sizeof(key));
	OPENSSL_cleanse(plain, sizeof(plain));
	if (ret != 0)
		OPENSSL_cleanse(cred, sizeof(*cred));
	return ret;
}

static cbor_item_t *
bn_bytes(const EVP_PKEY *pkey, const char *name)
{
	BIGNUM *bn = NULL;
	uint8_t buf[RSA_BITS / 8];
	cbor_item_t *item = NULL;
	int n;

	if (EVP_PKEY_get_bn_param(pkey, name, &bn) == 1 &&
	    (n = BN_num_bytes(bn)) > 0 && (size_t)n <= sizeof(buf) &&
	    BN_bn2bin(bn, buf) == n)
		item = cbor_build_bytestring(buf, (size_t)n);
	BN_free(bn);
	return item;
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
	if (cred->alg == SK_COSE_RS256) {
		if ((map = cbor_new_definite_map(4)) == NULL ||
		    !sk_map_put_int(map, 1, sk_cbor_new_int(3)) ||
		    !sk_map_put_int(map, 3, sk_cbor_new_int(SK_COSE_RS256)) ||
		    !sk_map_put_int(
			map, -1, bn_bytes(pkey, OSSL_PKEY_PARAM_RSA_N)) ||
		    !sk_map_put_int(
			map, -2, bn_bytes(pkey, OSSL_PKEY_PARAM_RSA_E)))
			goto out;
	} else if (cred->alg == SK_COSE_ES256) {
		if ((map = cbor_new_definite_map(5)) == NULL ||
		    !sk_map_put_int(map, 1, sk_cbor_new_int(2)) ||
		    !sk_map_put_int(map, 3, sk_cbor_new_int(SK_COSE_ES256)) ||
		    !sk_map_put_int(map, -1, sk_cbor_new_int(1)) ||
		    !sk_map_put_int(
			map, -2, cbor_build_bytestring(pub + 1, 32)) ||
		    !sk_map_put_int(
			map, -3, cbor_build_bytestring(pub + 33, 32)))
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
	EVP_PKEY_free(pkey);
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
	type = cred->alg == SK_COSE_EDDSA ? NULL : EVP_sha256();
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

/*
 * Batch attestation, as real keys of one model share it: the attestation
 * key and the test CA's key are fixed scalars derived from labels, so any
 * soft key's certificate chains to the same CA (sk_attestation_ca_cert).
 */
static const char att_label[] = "fido2gate softkey batch attestation key";
static const char ca_label[] = "fido2gate softkey attestation test CA";

static EVP_PKEY *
fixed_key(const char *label)
{
	uint8_t priv[32], pub[65];
	EVP_PKEY *pkey;

	SHA256((const unsigned char *)label, strlen(label), priv);
	pkey = es256_from_priv(priv, pub);
	OPENSSL_cleanse(priv, sizeof(priv));
	return pkey;
}

static int
name_add(X509_NAME *n, const char *field, const char *value)
{
	return X509_NAME_add_entry_by_txt(n, field, MBSTRING_UTF8,
		   (const unsigned char *)value, -1, -1, 0) == 1
	    ? 0
	    : -1;
}

static int
set_ca_name(X509_NAME *n)
{
	return name_add(n, "C", "SE") == 0 &&
		name_add(n, "O", "fido2gate test") == 0 &&
		name_add(n, "CN", "fido2gate softkey attestation test CA") == 0
	    ? 0
	    : -1;
}

static int
add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *ext;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	return ok ? 0 : -1;
}

/* id-fido-gen-ce-aaguid: an OCTET STRING holding the 16-byte AAGUID */
static int
add_aaguid_ext(X509 *x, const uint8_t aaguid[16])
{
	uint8_t der[18] = {0x04, 0x10};
	ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.4.1.45724.1.1.4", 1);
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	X509_EXTENSION *ext = NULL;
	int ok;

	memcpy(der + 2, aaguid, 16);
	ok = oid != NULL && os != NULL &&
	    ASN1_OCTET_STRING_set(os, der, sizeof(der)) == 1 &&
	    (ext = X509_EXTENSION_create_by_OBJ(NULL, oid, 0, os)) != NULL &&
	    X509_add_ext(x, ext, -1) == 1;
	X509_EXTENSION_free(ext);
	ASN1_OCTET_STRING_free(os);
	ASN1_OBJECT_free(oid);
	return ok ? 0 : -1;
}

static X509 *
make_cert(EVP_PKEY *subject_key, EVP_PKEY *ca_key, X509 *issuer,
    const uint8_t *aaguid)
{
	X509 *x;
	uint8_t serial[8];
	BIGNUM *bn = NULL;
	int ok;

	if ((x = X509_new()) == NULL || sk_random(serial, sizeof(serial)) != 0)
		goto fail;
	serial[0] &= 0x7f;
	ok = X509_set_version(x, X509_VERSION_3) == 1 &&
	    (bn = BN_bin2bn(serial, sizeof(serial), NULL)) != NULL &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL &&
	    X509_gmtime_adj(X509_getm_notBefore(x), -86400) != NULL &&
	    X509_gmtime_adj(X509_getm_notAfter(x), 20L * 365 * 86400) != NULL &&
	    X509_set_pubkey(x, subject_key) == 1;
	if (!ok)
		goto fail;
	if (issuer == NULL) { /* the CA itself */
		if (set_ca_name(X509_get_subject_name(x)) != 0 ||
		    set_ca_name(X509_get_issuer_name(x)) != 0 ||
		    add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE") !=
			0 ||
		    add_ext(x, x, NID_key_usage, "critical,keyCertSign") != 0 ||
		    add_ext(x, x, NID_subject_key_identifier, "hash") != 0)
			goto fail;
	} else {
		X509_NAME *n = X509_get_subject_name(x);

		if (name_add(n, "C", "SE") != 0 ||
		    name_add(n, "O", "fido2gate test") != 0 ||
		    name_add(n, "OU", "Authenticator Attestation") != 0 ||
		    name_add(n, "CN", "fido2gate softkey batch 1") != 0 ||
		    X509_set_issuer_name(x, X509_get_subject_name(issuer)) !=
			1 ||
		    add_ext(x, issuer, NID_basic_constraints,
			"critical,CA:FALSE") != 0 ||
		    add_aaguid_ext(x, aaguid) != 0)
			goto fail;
	}
	if (X509_sign(x, ca_key, EVP_sha256()) == 0)
		goto fail;
	BN_free(bn);
	return x;
fail:
	BN_free(bn);
	X509_free(x);
	return NULL;
}

static int
cert_der(X509 *x, uint8_t **der, size_t *len)
{
	unsigned char *p = NULL;
	int n;

	if (x == NULL || (n = i2d_X509(x, &p)) <= 0)
		return -1;
	*der = p; /* the caller frees with OPENSSL_free() */
	*len = (size_t)n;
	return 0;
}

int
sk_attestation_ca_cert(uint8_t **der, size_t *len)
{
	EVP_PKEY *ca = fixed_key(ca_label);
	X509 *x = ca != NULL ? make_cert(ca, ca, NULL, NULL) : NULL;
	int r = cert_der(x, der, len);

	X509_free(x);
	EVP_PKEY_free(ca);
	return r;
}

/*
 * A test's own attestation key and certificates (sk_attestation_use), in
 * place of the batch ones: for attestation policy tests that need chains
 * of their own making (an intermediate, an expired leaf, another root).
 */
#define SK_X5C_MAX 4
static struct {
	bool set;
	uint8_t priv[32];
	uint8_t *der[SK_X5C_MAX];
	size_t len[SK_X5C_MAX];
	size_t n;
} custom;

int
sk_attestation_use(const char *key_path, const char *certs_path)
{
	FILE *f = NULL;
	EVP_PKEY *pkey = NULL;
	BIGNUM *d = NULL;
	X509 *x;
	char group[32];
	int ret = -1;

	if ((f = fopen(key_path, "r")) == NULL ||
	    (pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL ||
	    EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME,
		group, sizeof(group), NULL) != 1 ||
	    strcmp(group, "prime256v1") != 0 ||
	    EVP_PKEY_get_bn_param(pkey, OSSL_PKEY_PARAM_PRIV_KEY, &d) != 1 ||
	    BN_bn2binpad(d, custom.priv, 32) != 32)
		goto out;
	fclose(f);
	if ((f = fopen(certs_path, "r")) == NULL)
		goto out;
	while (custom.n < SK_X5C_MAX &&
	    (x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL) {
		unsigned char *p = NULL;
		int n = i2d_X509(x, &p);
		X509_free(x);
		if (n <= 0)
			goto out;
		custom.der[custom.n] = p;
		custom.len[custom.n++] = (size_t)n;
	}
	custom.set = custom.n > 0;
	ret = custom.set ? 0 : -1;
out:
	if (f != NULL)
		fclose(f);
	BN_clear_free(d);
	EVP_PKEY_free(pkey);
	return ret;
}

size_t
sk_attestation_chain_len(void)
{
	return custom.set ? custom.n : 1;
}

int
sk_attestation_chain_cert(
    const uint8_t aaguid[16], size_t i, uint8_t **der, size_t *len)
{
	if (!custom.set)
		return i == 0 ? sk_attestation_cert(aaguid, der, len) : -1;
	if (i >= custom.n ||
	    (*der = OPENSSL_memdup(custom.der[i], custom.len[i])) == NULL)
		return -1;
	*len = custom.len[i];
	return 0;
}

int
sk_attestation_cert(const uint8_t aaguid[16], uint8_t **der, size_t *len)
{
	EVP_PKEY *ca = fixed_key(ca_label), *att = fixed_key(att_label);
	X509 *cax = NULL, *x = NULL;
	int r = -1;

	if (ca != NULL && att != NULL &&
	    (cax = make_cert(ca, ca, NULL, NULL)) != NULL &&
	    (x = make_cert(att, ca, cax, aaguid)) != NULL)
		r = cert_der(x, der, len);
	X509_free(x);
	X509_free(cax);
	EVP_PKEY_free(att);
	EVP_PKEY_free(ca);
	return r;
}

/* The batch attestation key, as a credential to sign with. */
void
sk_attestation_cred(struct sk_cred *batch)
{
	memset(batch, 0, sizeof(*batch));
	batch->alg = SK_COSE_ES256;
	if (custom.set)
		memcpy(batch->priv, custom.priv, 32);
	else
		SHA256((const unsigned char *)att_label, strlen(att_label),
		    batch->priv);
}
