/*
 * CTAP1/U2F over CTAPHID_MSG (FIDO U2F raw messages v1.2): VERSION,
 * REGISTER and AUTHENTICATE, for legacy clients and to produce "fido-u2f"
 * attestations. Key handles are the same sealed credential IDs as CTAP2
 * credentials, with the application parameter as the rpIdHash, so a key
 * registered over U2F also answers CTAP2 getAssertion for the same rp.
 * Like a real U2F key, a missing touch is SW_CONDITIONS_NOT_SATISFIED at
 * once; the host retries.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "softkey.h"

#define U2F_REGISTER 0x01
#define U2F_AUTHENTICATE 0x02
#define U2F_VERSION 0x03

#define U2F_AUTH_ENFORCE 0x03
#define U2F_AUTH_CHECK_ONLY 0x07
#define U2F_AUTH_DONT_ENFORCE 0x08

#define SW_NO_ERROR 0x9000
#define SW_CONDITIONS_NOT_SATISFIED 0x6985
#define SW_WRONG_DATA 0x6a80
#define SW_WRONG_LENGTH 0x6700
#define SW_CLA_NOT_SUPPORTED 0x6e00
#define SW_INS_NOT_SUPPORTED 0x6d00
#define SW_INTERNAL 0x6f00

struct apdu {
	uint8_t cla, ins, p1, p2;
	const uint8_t *data;
	size_t len;
};

/* ISO 7816-4 command APDU, short or extended length. */
static int
parse_apdu(const uint8_t *buf, size_t n, struct apdu *a)
{
	if (n < 4)
		return -1;
	a->cla = buf[0];
	a->ins = buf[1];
	a->p1 = buf[2];
	a->p2 = buf[3];
	a->data = buf + 4;
	a->len = 0;
	if (n == 4) /* case 1 */
		return 0;
	if (buf[4] != 0) { /* short: Lc data [Le] */
		a->len = buf[4];
		if (n != 5 + a->len && n != 6 + a->len)
			return -1;
		a->data = buf + 5;
		return 0;
	}
	if (n == 5 || n == 7) /* short Le only, or extended Le only */
		return 0;
	a->len = (size_t)buf[5] << 8 | buf[6];
	if (n != 7 + a->len && n != 9 + a->len)
		return -1;
	a->data = buf + 7;
	return 0;
}

static int
reply(uint8_t **resp, size_t *resp_len, const uint8_t *data, size_t len,
    uint16_t sw)
{
	uint8_t *p;

	if ((p = malloc(len + 2)) == NULL)
		return -1;
	if (len > 0)
		memcpy(p, data, len);
	p[len] = (uint8_t)(sw >> 8);
	p[len + 1] = (uint8_t)sw;
	*resp = p;
	*resp_len = len + 2;
	return 0;
}

static uint16_t
u2f_register(struct sk_dev *dev, struct sk_state *st, const struct apdu *a,
    uint8_t **out, size_t *out_len, bool *dirty)
{
	const uint8_t *chal = a->data, *app = a->data + 32;
	struct sk_cred cred, att = {0};
	uint8_t pub[65], *kh = NULL, *cert = NULL, *sig = NULL, *msg = NULL;
	size_t kh_len = 0, cert_len = 0, sig_len = 0, off;
	uint8_t *r = NULL;
	uint16_t sw = SW_INTERNAL;

	if (a->len != 64)
		return SW_WRONG_LENGTH;
	if (!dev->touch)
		return SW_CONDITIONS_NOT_SATISFIED;
	if (sk_cred_new(st, &cred, SK_COSE_ES256, 0, false) != 0 ||
	    sk_cred_pubkey_raw(&cred, pub) != 0 ||
	    sk_cred_wrap(st, app, &cred, &kh, &kh_len) != 0 || kh_len > 255 ||
	    sk_state_counter(st, kh, kh_len) == NULL ||
	    sk_attestation_chain_cert(st->aaguid, 0, &cert, &cert_len) != 0)
		goto out;
	*dirty = true;
	/* signed: 0x00 ‖ application ‖ challenge ‖ key handle ‖ public key */
	if ((msg = malloc(1 + 64 + kh_len + 65)) == NULL)
		goto out;
	msg[0] = 0x00;
	memcpy(msg + 1, app, 32);
	memcpy(msg + 33, chal, 32);
	memcpy(msg + 65, kh, kh_len);
	memcpy(msg + 65 + kh_len, pub, 65);
	sk_attestation_cred(&att);
	if (sk_cred_sign(&att, msg, 1 + 64 + kh_len + 65, &sig, &sig_len) != 0)
		goto out;
	/* 0x05 ‖ public key ‖ L ‖ key handle ‖ certificate ‖ signature */
	if ((r = malloc(1 + 65 + 1 + kh_len + cert_len + sig_len)) == NULL)
		goto out;
	r[0] = 0x05;
	memcpy(r + 1, pub, 65);
	r[66] = (uint8_t)kh_len;
	memcpy(r + 67, kh, kh_len);
	off = 67 + kh_len;
	memcpy(r + off, cert, cert_len);
	memcpy(r + off + cert_len, sig, sig_len);
	*out = r;
	*out_len = off + cert_len + sig_len;
	r = NULL;
	sw = SW_NO_ERROR;
out:
	OPENSSL_cleanse(&cred, sizeof(cred));
	OPENSSL_cleanse(&att, sizeof(att));
	free(r);
	free(msg);
	free(sig);
	free(kh);
	OPENSSL_free(cert);
	return sw;
}

static uint16_t
u2f_authenticate(struct sk_dev *dev, struct sk_state *st, const struct apdu *a,
    uint8_t **out, size_t *out_len, bool *dirty)
{
	const uint8_t *chal = a->data, *app = a->data + 32, *kh = a->data + 65;
	struct sk_cred cred;
	uint8_t msg[32 + 1 + 4 + 32], *sig = NULL, *r;
	size_t kh_len, sig_len = 0;
	uint32_t *counter;
	uint8_t presence;
	uint16_t sw = SW_INTERNAL;

	if (a->len < 65 || a->len != 65 + (size_t)a->data[64])
		return SW_WRONG_LENGTH;
	kh_len = a->data[64];
	if (a->p1 != U2F_AUTH_ENFORCE && a->p1 != U2F_AUTH_CHECK_ONLY &&
	    a->p1 != U2F_AUTH_DONT_ENFORCE)
		return SW_WRONG_DATA;
	if (sk_cred_unwrap(st, app, kh, kh_len, &cred) != 0 ||
	    cred.alg != SK_COSE_ES256) {
		OPENSSL_cleanse(&cred, sizeof(cred));
		return SW_WRONG_DATA;
	}
	if (a->p1 == U2F_AUTH_CHECK_ONLY) { /* "yes, it is mine" */
		sw = SW_CONDITIONS_NOT_SATISFIED;
		goto out;
	}
	presence = a->p1 == U2F_AUTH_ENFORCE ? 0x01 : 0x00;
	if (presence && !dev->touch) {
		sw = SW_CONDITIONS_NOT_SATISFIED;
		goto out;
	}
	if ((counter = sk_state_counter(st, kh, kh_len)) == NULL)
		goto out;
	(*counter)++;
	*dirty = true;
	/* signed: application ‖ presence ‖ counter ‖ challenge */
	memcpy(msg, app, 32);
	msg[32] = presence;
	msg[33] = (uint8_t)(*counter >> 24);
	msg[34] = (uint8_t)(*counter >> 16);
	msg[35] = (uint8_t)(*counter >> 8);
	msg[36] = (uint8_t)*counter;
	memcpy(msg + 37, chal, 32);
	if (sk_cred_sign(&cred, msg, sizeof(msg), &sig, &sig_len) != 0 ||
	    (r = malloc(5 + sig_len)) == NULL)
		goto out;
	memcpy(r, msg + 32, 5);
	memcpy(r + 5, sig, sig_len);
	*out = r;
	*out_len = 5 + sig_len;
	sw = SW_NO_ERROR;
out:
	OPENSSL_cleanse(&cred, sizeof(cred));
	free(sig);
	return sw;
}

int
sk_u2f_dispatch(struct sk_dev *dev, const uint8_t *buf, size_t len,
    uint8_t **resp, size_t *resp_len)
{
	struct apdu a;
	struct sk_state st;
	uint8_t *data = NULL;
	size_t data_len = 0;
	uint16_t sw;
	bool dirty = false;
	int lock, r;

	*resp = NULL;
	*resp_len = 0;
	if (parse_apdu(buf, len, &a) != 0)
		return reply(resp, resp_len, NULL, 0, SW_WRONG_LENGTH);
	if (a.cla != 0)
		return reply(resp, resp_len, NULL, 0, SW_CLA_NOT_SUPPORTED);
	switch (a.ins) {
	case U2F_VERSION:
		if (a.len != 0)
			return reply(resp, resp_len, NULL, 0, SW_WRONG_LENGTH);
		return reply(
		    resp, resp_len, (const uint8_t *)"U2F_V2", 6, SW_NO_ERROR);
	case U2F_REGISTER:
	case U2F_AUTHENTICATE:
		break;
	default:
		return reply(resp, resp_len, NULL, 0, SW_INS_NOT_SUPPORTED);
	}
	if ((lock = sk_state_open(dev->state_path, dev->initial_pin, &st)) < 0)
		return reply(resp, resp_len, NULL, 0, SW_INTERNAL);
	if (a.ins == U2F_REGISTER)
		sw = u2f_register(dev, &st, &a, &data, &data_len, &dirty);
	else
		sw = u2f_authenticate(dev, &st, &a, &data, &data_len, &dirty);
	if (dirty && sk_state_save(dev->state_path, &st) != 0) {
		sw = SW_INTERNAL; /* never sign what was not saved */
		data_len = 0;
	}
	r = reply(resp, resp_len, data, sw == SW_NO_ERROR ? data_len : 0, sw);
	free(data);
	sk_state_close(lock, &st);
	return r;
}
