/*
 * authenticatorClientPIN (CTAP 2.1 §6.5) with PIN/UV auth protocols 1 and
 * 2: key agreement, setPIN, changePIN, getPinToken and
 * getPinUvAuthTokenUsingPinWithPermissions, the persistent retry counter
 * (8, then PIN_BLOCKED until reset) and the per-power-cycle limit of three
 * wrong PINs in a row (PIN_AUTH_BLOCKED until the process ends).
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/param_build.h>

#include "softkey.h"

#define SUB_GET_RETRIES 0x01
#define SUB_GET_KEY_AGREEMENT 0x02
#define SUB_SET_PIN 0x03
#define SUB_CHANGE_PIN 0x04
#define SUB_GET_PIN_TOKEN 0x05
#define SUB_GET_UV_TOKEN 0x06
#define SUB_GET_UV_RETRIES 0x07
#define SUB_GET_PIN_TOKEN_PERMS 0x09

#define SK_ERR_INVALID_SUBCOMMAND 0x3e
#define SK_ERR_UNAUTHORIZED_PERMISSION 0x40

/* Shared secret: protocol 1 uses 32 bytes, protocol 2 HMAC key || AES key. */
struct shared {
	unsigned protocol;
	uint8_t key[64];
};

static EVP_PKEY *
ka_key(struct sk_dev *dev)
{
	if (dev->ka_key == NULL)
		dev->ka_key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	return dev->ka_key;
}

static void
ka_regenerate(struct sk_dev *dev)
{
	EVP_PKEY_free(dev->ka_key);
	dev->ka_key = NULL;
}

void
sk_pin_forget(struct sk_dev *dev)
{
	ka_regenerate(dev);
	OPENSSL_cleanse(dev->pin_token, sizeof(dev->pin_token));
	dev->pin_token_valid = false;
	dev->pin_token_perms = 0;
	free(dev->pin_token_rp);
	dev->pin_token_rp = NULL;
}

static cbor_item_t *
cose_ka_pubkey(EVP_PKEY *pkey)
{
	uint8_t pub[65];
	size_t len = 0;
	cbor_item_t *map;

	if (EVP_PKEY_get_octet_string_param(
		pkey, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub), &len) != 1 ||
	    len != 65 || pub[0] != 0x04)
		return NULL;
	if ((map = cbor_new_definite_map(5)) == NULL)
		return NULL;
	if (!sk_map_put_int(map, 1, sk_cbor_new_int(2)) ||
	    !sk_map_put_int(
		map, 3, sk_cbor_new_int(SK_COSE_ECDH_ES_HKDF_256)) ||
	    !sk_map_put_int(map, -1, sk_cbor_new_int(1)) ||
	    !sk_map_put_int(map, -2, cbor_build_bytestring(pub + 1, 32)) ||
	    !sk_map_put_int(map, -3, cbor_build_bytestring(pub + 33, 32)))
		cbor_decref(&map);
	return map;
}

/* The platform's COSE key; OpenSSL refuses a point not on the curve. */
static EVP_PKEY *
peer_pubkey(const cbor_item_t *cose)
{
	const uint8_t *x, *y;
	size_t xl, yl;
	int64_t kty, crv;
	uint8_t pub[65];
	OSSL_PARAM params[3];
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;

	if (!sk_cbor_int(sk_map_get_int(cose, 1), &kty) || kty != 2 ||
	    !sk_cbor_int(sk_map_get_int(cose, -1), &crv) || crv != 1 ||
	    !sk_cbor_bytes(sk_map_get_int(cose, -2), &x, &xl) || xl != 32 ||
	    !sk_cbor_bytes(sk_map_get_int(cose, -3), &y, &yl) || yl != 32)
		return NULL;
	pub[0] = 0x04;
	memcpy(pub + 1, x, 32);
	memcpy(pub + 33, y, 32);
	params[0] = OSSL_PARAM_construct_utf8_string(
	    OSSL_PKEY_PARAM_GROUP_NAME, (char *)"prime256v1", 0);
	params[1] = OSSL_PARAM_construct_octet_string(
	    OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof(pub));
	params[2] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	if ((ctx = EVP_PKEY_CTX_new(pkey, NULL)) == NULL ||
	    EVP_PKEY_public_check(ctx) != 1) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}

static int
hkdf(const uint8_t *z, size_t zlen, const char *info, uint8_t out[32])
{
	static const uint8_t salt[32];
	EVP_PKEY_CTX *ctx;
	size_t len = 32;
	int ok;

	if ((ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL)) == NULL)
		return -1;
	ok = EVP_PKEY_derive_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) == 1 &&
	    EVP_PKEY_CTX_set1_hkdf_salt(ctx, salt, sizeof(salt)) == 1 &&
	    EVP_PKEY_CTX_set1_hkdf_key(ctx, z, (int)zlen) == 1 &&
	    EVP_PKEY_CTX_add1_hkdf_info(
		ctx, (const uint8_t *)info, (int)strlen(info)) == 1 &&
	    EVP_PKEY_derive(ctx, out, &len) == 1 && len == 32;
	EVP_PKEY_CTX_free(ctx);
	return ok ? 0 : -1;
}

static int
derive_shared(struct sk_dev *dev, unsigned protocol, const cbor_item_t *cose,
    struct shared *sh)
{
	EVP_PKEY *own, *peer = NULL;
	EVP_PKEY_CTX *ctx = NULL;
	uint8_t z[32];
	size_t zlen = sizeof(z);
	int ret = -1;

	memset(sh, 0, sizeof(*sh));
	sh->protocol = protocol;
	if ((own = ka_key(dev)) == NULL || (peer = peer_pubkey(cose)) == NULL)
		goto out;
	if ((ctx = EVP_PKEY_CTX_new(own, NULL)) == NULL ||
	    EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer(ctx, peer) != 1 ||
	    EVP_PKEY_derive(ctx, z, &zlen) != 1 || zlen != 32)
		goto out;
	if (protocol == 1)
		sk_sha256(z, zlen, sh->key);
	else if (hkdf(z, zlen, "CTAP2 HMAC key", sh->key) != 0 ||
	    hkdf(z, zlen, "CTAP2 AES key", sh->key + 32) != 0)
		goto out;
	ret = 0;
out:
	OPENSSL_cleanse(z, sizeof(z));
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(peer);
	return ret;
}

/* authenticate(key, message): protocol 1 keeps the first 16 bytes */
static bool
auth_ok(unsigned protocol, const uint8_t *key, const uint8_t *msg,
    size_t msg_len, const uint8_t *param, size_t param_len)
{
	uint8_t mac[32];
	unsigned int mac_len = sizeof(mac);
	size_t want = protocol == 1 ? 16 : 32;
	bool ok;

	if (param_len != want ||
	    HMAC(EVP_sha256(), key, 32, msg, msg_len, mac, &mac_len) == NULL)
		return false;
	ok = CRYPTO_memcmp(mac, param, want) == 0;
	OPENSSL_cleanse(mac, sizeof(mac));
	return ok;
}

static int
aes_cbc(bool enc, const uint8_t *key, const uint8_t *iv, const uint8_t *in,
    size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX *ctx;
	int n = 0, ok;

	if (len == 0 || len % 16 != 0 || len > INT32_MAX ||
	    (ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	ok = EVP_CipherInit_ex(
		 ctx, EVP_aes_256_cbc(), NULL, key, iv, enc ? 1 : 0) == 1 &&
	    EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 &&
	    EVP_CipherUpdate(ctx, out, &n, in, (int)len) == 1 &&
	    (size_t)n == len;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* decrypt(shared, c): protocol 2 carries its IV in front. */
static int
shared_decrypt(const struct shared *sh, const uint8_t *c, size_t clen,
    uint8_t *out, size_t *out_len)
{
	static const uint8_t zero_iv[16];

	if (sh->protocol == 1) {
		*out_len = clen;
		return aes_cbc(false, sh->key, zero_iv, c, clen, out);
	}
	if (clen < 32)
		return -1;
	*out_len = clen - 16;
	return aes_cbc(false, sh->key + 32, c, c + 16, clen - 16, out);
}

static cbor_item_t *
shared_encrypt(const struct shared *sh, const uint8_t *in, size_t len)
{
	static const uint8_t zero_iv[16];
	uint8_t out[16 + 64];
	cbor_item_t *item = NULL;

	if (len > 64)
		return NULL;
	if (sh->protocol == 1) {
		if (aes_cbc(true, sh->key, zero_iv, in, len, out) == 0)
			item = cbor_build_bytestring(out, len);
	} else if (sk_random(out, 16) == 0 &&
	    aes_cbc(true, sh->key + 32, out, in, len, out + 16) == 0) {
		item = cbor_build_bytestring(out, 16 + len);
	}
	OPENSSL_cleanse(out, sizeof(out));
	return item;
}

/*
 * Checks pinHashEnc against the stored PIN. The retry counter is spent and
 * saved before the comparison so that pulling the plug cannot skip it.
 */
static uint8_t
check_pin_hash(struct sk_dev *dev, struct sk_state *st, const struct shared *sh,
    const cbor_item_t *params, bool *dirty)
{
	const uint8_t *enc;
	size_t enc_len, len = 0;
	uint8_t plain[32];
	bool match;

	if (!st->pin_set)
		return SK_ERR_PIN_NOT_SET;
	if (st->pin_retries == 0)
		return SK_ERR_PIN_BLOCKED;
	if (dev->pin_consecutive >= SK_PIN_MAX_CONSECUTIVE)
		return SK_ERR_PIN_AUTH_BLOCKED;
	if (!sk_cbor_bytes(sk_map_get_int(params, 6), &enc, &enc_len))
		return SK_ERR_MISSING_PARAMETER;
	if (enc_len > sizeof(plain) ||
	    shared_decrypt(sh, enc, enc_len, plain, &len) != 0 || len != 16)
		return SK_ERR_INVALID_PARAMETER;
	st->pin_retries--;
	if (sk_state_save(dev->state_path, st) != 0)
		return SK_ERR_OTHER;
	match = CRYPTO_memcmp(plain, st->pin_hash, 16) == 0;
	OPENSSL_cleanse(plain, sizeof(plain));
	if (!match) {
		ka_regenerate(dev);
		dev->pin_consecutive++;
		if (st->pin_retries == 0)
			return SK_ERR_PIN_BLOCKED;
		if (dev->pin_consecutive >= SK_PIN_MAX_CONSECUTIVE)
			return SK_ERR_PIN_AUTH_BLOCKED;
		return SK_ERR_PIN_INVALID;
	}
	st->pin_retries = SK_PIN_RETRIES;
	dev->pin_consecutive = 0;
	*dirty = true;
	return SK_OK;
}

/* newPinEnc decrypts to the PIN padded with zeros to 64 bytes. */
static uint8_t
set_new_pin(struct sk_state *st, const struct shared *sh, const uint8_t *enc,
    size_t enc_len, bool *dirty)
{
	uint8_t padded[64];
	size_t len = 0, pin_len;
	uint8_t status = SK_OK;

	if (enc_len > sizeof(padded) + 16 ||
	    shared_decrypt(sh, enc, enc_len, padded, &len) != 0 || len != 64) {
		status = SK_ERR_INVALID_PARAMETER;
		goto out;
	}
	pin_len = strnlen((const char *)padded, sizeof(padded));
	if (pin_len < SK_PIN_MIN_LEN || pin_len == sizeof(padded)) {
		status = SK_ERR_PIN_POLICY_VIOLATION;
		goto out;
	}
	sk_pin_hash((const char *)padded, pin_len, st->pin_hash);
	st->pin_set = true;
	st->pin_retries = SK_PIN_RETRIES;
	*dirty = true;
out:
	OPENSSL_cleanse(padded, sizeof(padded));
	return status;
}

static uint8_t
set_or_change_pin(struct sk_dev *dev, struct sk_state *st,
    const cbor_item_t *params, unsigned sub, const struct shared *sh,
    bool *dirty)
{
	const uint8_t *auth, *new_enc, *hash_enc = NULL;
	size_t auth_len, new_len, hash_len = 0;
	uint8_t msg[16 + 64 + 16 + 32], status;
	size_t msg_len;

	if (!sk_cbor_bytes(sk_map_get_int(params, 4), &auth, &auth_len) ||
	    !sk_cbor_bytes(sk_map_get_int(params, 5), &new_enc, &new_len) ||
	    (sub == SUB_CHANGE_PIN &&
		!sk_cbor_bytes(
		    sk_map_get_int(params, 6), &hash_enc, &hash_len)))
		return SK_ERR_MISSING_PARAMETER;
	if (new_len + hash_len > sizeof(msg))
		return SK_ERR_INVALID_PARAMETER;
	memcpy(msg, new_enc, new_len);
	if (hash_len > 0)
		memcpy(msg + new_len, hash_enc, hash_len);
	msg_len = new_len + hash_len;
	if (sub == SUB_SET_PIN && st->pin_set)
		return SK_ERR_NOT_ALLOWED;
	if (sub == SUB_CHANGE_PIN) {
		if (!st->pin_set)
			return SK_ERR_PIN_NOT_SET;
		if (st->pin_retries == 0)
			return SK_ERR_PIN_BLOCKED;
	}
	if (!auth_ok(sh->protocol, sh->key, msg, msg_len, auth, auth_len))
		return SK_ERR_PIN_AUTH_INVALID;
	if (sub == SUB_CHANGE_PIN &&
	    (status = check_pin_hash(dev, st, sh, params, dirty)) != SK_OK)
		return status;
	if ((status = set_new_pin(st, sh, new_enc, new_len, dirty)) == SK_OK)
		sk_pin_forget(dev); /* tokens die with the old PIN */
	return status;
}

static uint8_t
get_token(struct sk_dev *dev, struct sk_state *st, const cbor_item_t *params,
    unsigned sub, const struct shared *sh, cbor_item_t **resp, bool *dirty)
{
	int64_t perms = SK_PERM_MC | SK_PERM_GA;
	const cbor_item_t *rp;
	char *rp_id = NULL;
	cbor_item_t *enc;
	uint8_t status;

	if (sub == SUB_GET_PIN_TOKEN_PERMS) {
		if (!sk_cbor_int(sk_map_get_int(params, 9), &perms))
			return SK_ERR_MISSING_PARAMETER;
		if (perms <= 0 || perms > 0xff)
			return SK_ERR_INVALID_PARAMETER;
		if ((perms & ~(SK_PERM_MC | SK_PERM_GA)) != 0)
			return SK_ERR_UNAUTHORIZED_PERMISSION;
		if ((rp = sk_map_get_int(params, 10)) != NULL &&
		    (rp_id = sk_cbor_text(rp)) == NULL)
			return SK_ERR_CBOR_UNEXPECTED_TYPE;
	}
	if ((status = check_pin_hash(dev, st, sh, params, dirty)) != SK_OK) {
		free(rp_id);
		return status;
	}
	sk_pin_forget(dev);
	if (sk_random(dev->pin_token, sizeof(dev->pin_token)) != 0) {
		free(rp_id);
		return SK_ERR_OTHER;
	}
	dev->pin_token_valid = true;
	dev->pin_token_perms = (uint8_t)perms;
	dev->pin_token_rp = rp_id;
	if ((*resp = cbor_new_definite_map(1)) == NULL ||
	    (enc = shared_encrypt(sh, dev->pin_token, 32)) == NULL ||
	    !sk_map_put_int(*resp, 2, enc))
		return SK_ERR_OTHER;
	return SK_OK;
}

uint8_t
sk_client_pin(struct sk_dev *dev, struct sk_state *st,
    const cbor_item_t *params, cbor_item_t **resp, bool *dirty)
{
	int64_t protocol, sub;
	const cbor_item_t *cose;
	struct shared sh;
	cbor_item_t *key;
	uint8_t status;

	*resp = NULL;
	if (!sk_cbor_int(sk_map_get_int(params, 2), &sub))
		return sk_map_get_int(params, 2) == NULL
		    ? SK_ERR_MISSING_PARAMETER
		    : SK_ERR_CBOR_UNEXPECTED_TYPE;
	if (!sk_cbor_int(sk_map_get_int(params, 1), &protocol)) {
		if (sub != SUB_GET_RETRIES)
			return SK_ERR_MISSING_PARAMETER;
		protocol = 2;
	}
	if (protocol != 1 && (protocol != 2 || dev->pin_proto1_only))
		return SK_ERR_INVALID_PARAMETER;
	switch (sub) {
	case SUB_GET_RETRIES:
		if ((*resp = cbor_new_definite_map(1)) == NULL ||
		    !sk_map_put_int(*resp, 3, sk_cbor_new_int(st->pin_retries)))
			return SK_ERR_OTHER;
		return SK_OK;
	case SUB_GET_KEY_AGREEMENT:
		if (ka_key(dev) == NULL ||
		    (*resp = cbor_new_definite_map(1)) == NULL ||
		    (key = cose_ka_pubkey(ka_key(dev))) == NULL ||
		    !sk_map_put_int(*resp, 1, key))
			return SK_ERR_OTHER;
		return SK_OK;
	case SUB_SET_PIN:
	case SUB_CHANGE_PIN:
	case SUB_GET_PIN_TOKEN:
	case SUB_GET_PIN_TOKEN_PERMS:
		break;
	case SUB_GET_UV_TOKEN:
	case SUB_GET_UV_RETRIES:
		return SK_ERR_NOT_ALLOWED; /* no built-in user verification */
	default:
		return SK_ERR_INVALID_SUBCOMMAND;
	}
	if ((cose = sk_map_get_int(params, 3)) == NULL)
		return SK_ERR_MISSING_PARAMETER;
	if (!cbor_isa_map(cose))
		return SK_ERR_CBOR_UNEXPECTED_TYPE;
	if (derive_shared(dev, (unsigned)protocol, cose, &sh) != 0)
		return SK_ERR_INVALID_PARAMETER;
	if (sub == SUB_SET_PIN || sub == SUB_CHANGE_PIN)
		status = set_or_change_pin(
		    dev, st, params, (unsigned)sub, &sh, dirty);
	else
		status =
		    get_token(dev, st, params, (unsigned)sub, &sh, resp, dirty);
	OPENSSL_cleanse(&sh, sizeof(sh));
	return status;
}

uint8_t
sk_pin_check_auth(struct sk_dev *dev, const struct sk_state *st,
    unsigned protocol, const uint8_t *msg, size_t msg_len, const uint8_t *param,
    size_t param_len, uint8_t perm, const char *rp_id)
{
	if (protocol != 1 && (protocol != 2 || dev->pin_proto1_only))
		return SK_ERR_INVALID_PARAMETER;
	if (!st->pin_set)
		return SK_ERR_PIN_NOT_SET;
	if (!dev->pin_token_valid ||
	    !auth_ok(protocol, dev->pin_token, msg, msg_len, param, param_len))
		return SK_ERR_PIN_AUTH_INVALID;
	if ((dev->pin_token_perms & perm) == 0)
		return SK_ERR_PIN_AUTH_INVALID;
	if (dev->pin_token_rp != NULL && strcmp(dev->pin_token_rp, rp_id) != 0)
		return SK_ERR_PIN_AUTH_INVALID;
	if (dev->pin_token_rp == NULL &&
	    (dev->pin_token_rp = strdup(rp_id)) == NULL)
		return SK_ERR_OTHER;
	return SK_OK;
}
