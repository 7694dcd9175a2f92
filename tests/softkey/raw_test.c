/*
 * Drives the soft key's CTAPHID side with raw 64-byte reports, below
 * libfido2: framing faults, wrong channels, oversized and malformed
 * messages, CBOR of the wrong shape, foreign credential IDs, no touch and
 * CANCEL. Built with AddressSanitizer and UBSan; prints TAP.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "softkey.h"

static int test_no;
static int failures;

static void
ok(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", cond ? "ok" : "not ok", ++test_no);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		failures++;
}

/* A reply reassembled from the device's reports. */
struct reply {
	uint32_t cid;
	uint8_t cmd;
	size_t len;
	uint8_t data[SK_MAX_MSG];
	unsigned keepalives;
};

static void
report(uint8_t *r, uint32_t cid, uint8_t b4, size_t bcnt)
{
	memset(r, 0, SK_REPORT_LEN);
	sk_put_be32(r, cid);
	r[4] = b4;
	r[5] = (uint8_t)(bcnt >> 8);
	r[6] = (uint8_t)bcnt;
}

struct target {
	struct sk_dev *dev;
	struct sk_queue *q;
};

static int
emit_to_dev(void *ctx, const uint8_t *report)
{
	struct target *t = ctx;

	sk_hid_input(t->dev, t->q, report);
	return 0;
}

static void
send_msg(struct sk_dev *dev, struct sk_queue *q, uint32_t cid, uint8_t cmd,
    const uint8_t *data, size_t len)
{
	struct target t = {dev, q};

	(void)sk_frame(cid, cmd, data, len, emit_to_dev, &t);
}

/* Reads one reply, counting keepalives; false when none comes. */
static bool
recv_msg(struct sk_dev *dev, struct sk_queue *q, struct reply *rep, int ms)
{
	uint8_t r[SK_REPORT_LEN];
	size_t got;

	memset(rep, 0, sizeof(*rep));
	for (;;) {
		while (!sk_queue_pop(q, r))
			if (!sk_hid_poll(dev, q, ms))
				return false;
		if (r[4] != (0x80 | SK_HID_KEEPALIVE))
			break;
		rep->keepalives++;
	}
	rep->cid = sk_get_be32(r);
	if (!(r[4] & 0x80))
		return false;
	rep->cmd = r[4] & 0x7f;
	rep->len = (size_t)r[5] << 8 | r[6];
	got = rep->len < SK_INIT_DATA ? rep->len : SK_INIT_DATA;
	memcpy(rep->data, r + 7, got);
	for (uint8_t seq = 0; got < rep->len; seq++) {
		size_t n = rep->len - got < SK_CONT_DATA ? rep->len - got
							 : SK_CONT_DATA;

		if (!sk_queue_pop(q, r) || r[4] != seq)
			return false;
		memcpy(rep->data + got, r + 5, n);
		got += n;
	}
	return true;
}

static bool
is_error(const struct reply *rep, uint32_t cid, uint8_t code)
{
	return rep->cid == cid && rep->cmd == SK_HID_ERROR && rep->len == 1 &&
	    rep->data[0] == code;
}

static uint32_t
hid_init(struct sk_dev *dev, struct sk_queue *q)
{
	static const uint8_t nonce[8] = {1, 2, 3, 4, 5, 6, 7, 8};
	struct reply rep;

	send_msg(dev, q, SK_CID_BROADCAST, SK_HID_INIT, nonce, 8);
	if (!recv_msg(dev, q, &rep, 0) || rep.cmd != SK_HID_INIT ||
	    rep.len != 17 || memcmp(rep.data, nonce, 8) != 0)
		return 0;
	return sk_get_be32(rep.data + 8);
}

/* Sends a CTAP2 command with CBOR params, without waiting. */
static bool
send_ctap(struct sk_dev *dev, struct sk_queue *q, uint32_t cid, uint8_t cmd,
    const cbor_item_t *params)
{
	uint8_t buf[SK_MAX_MSG];
	uint8_t *enc = NULL;
	size_t len = 0;

	buf[0] = cmd;
	if (params != NULL) {
		if (sk_cbor_encode(params, &enc, &len) != 0 ||
		    len + 1 > sizeof(buf)) {
			free(enc);
			return false;
		}
		memcpy(buf + 1, enc, len);
		free(enc);
	}
	send_msg(dev, q, cid, SK_HID_CBOR, buf, len + 1);
	return true;
}

/* Sends a CTAP2 command and waits; returns the status byte. */
static int
ctap(struct sk_dev *dev, struct sk_queue *q, uint32_t cid, uint8_t cmd,
    const cbor_item_t *params, struct reply *rep)
{
	if (!send_ctap(dev, q, cid, cmd, params) ||
	    !recv_msg(dev, q, rep, -1) || rep->cmd != SK_HID_CBOR ||
	    rep->len < 1)
		return -1;
	return rep->data[0];
}

static int
ctap_raw(struct sk_dev *dev, struct sk_queue *q, uint32_t cid,
    const uint8_t *buf, size_t len)
{
	struct reply rep;

	send_msg(dev, q, cid, SK_HID_CBOR, buf, len);
	if (!recv_msg(dev, q, &rep, 0) || rep.cmd != SK_HID_CBOR || rep.len < 1)
		return -1;
	return rep.data[0];
}

static cbor_item_t *
entity(const char *k1, cbor_item_t *v1)
{
	cbor_item_t *m = cbor_new_definite_map(1);

	sk_map_put_str(m, k1, v1);
	return m;
}

static cbor_item_t *
make_cred_params(const char *rp, bool with_params)
{
	static const uint8_t cdh[32], uid[4] = {1, 2, 3, 4};
	cbor_item_t *m = cbor_new_definite_map(6); /* room for more */
	cbor_item_t *algs = cbor_new_definite_array(1);
	cbor_item_t *alg = cbor_new_definite_map(2);

	sk_map_put_str(alg, "alg", sk_cbor_new_int(SK_COSE_ES256));
	sk_map_put_str(alg, "type", cbor_build_string("public-key"));
	cbor_array_push(algs, alg);
	cbor_decref(&alg);
	sk_map_put_int(m, 1, cbor_build_bytestring(cdh, 32));
	sk_map_put_int(m, 2, entity("id", cbor_build_string(rp)));
	sk_map_put_int(m, 3, entity("id", cbor_build_bytestring(uid, 4)));
	if (with_params)
		sk_map_put_int(m, 4, algs);
	else
		cbor_decref(&algs);
	return m;
}

/* [{"id": id, "type": "public-key"}]: an allow or exclude list */
static cbor_item_t *
descriptor_list(const uint8_t *id, size_t id_len)
{
	cbor_item_t *list = cbor_new_definite_array(1);
	cbor_item_t *d = cbor_new_definite_map(2);

	sk_map_put_str(d, "id", cbor_build_bytestring(id, id_len));
	sk_map_put_str(d, "type", cbor_build_string("public-key"));
	cbor_array_push(list, d);
	cbor_decref(&d);
	return list;
}

static cbor_item_t *
get_assert_params(const char *rp, const uint8_t *id, size_t id_len)
{
	static const uint8_t cdh[32];
	cbor_item_t *m = cbor_new_definite_map(6); /* room for more */

	sk_map_put_int(m, 1, cbor_build_string(rp));
	sk_map_put_int(m, 2, cbor_build_bytestring(cdh, 32));
	sk_map_put_int(m, 3, descriptor_list(id, id_len));
	return m;
}

/* Pulls the credential ID out of a makeCredential reply's authData. */
static size_t
cred_id_of(const struct reply *rep, uint8_t *id)
{
	struct cbor_load_result res;
	cbor_item_t *m = cbor_load(rep->data + 1, rep->len - 1, &res);
	const uint8_t *ad;
	size_t ad_len, len = 0;

	if (m != NULL && sk_cbor_bytes(sk_map_get_int(m, 2), &ad, &ad_len) &&
	    ad_len > 55) {
		len = (size_t)ad[53] << 8 | ad[54];
		if (55 + len <= ad_len && len <= 1023)
			memcpy(id, ad + 55, len);
		else
			len = 0;
	}
	if (m != NULL)
		cbor_decref(&m);
	return len;
}

static char tmpdir[] = "/tmp/softkey-raw-XXXXXX";

static struct sk_dev *
new_dev(const char *name, bool touch, unsigned timeout_ms)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	return sk_dev_new(path, NULL, touch, timeout_ms, "x5c");
}

static void
test_framing(struct sk_dev *dev, struct sk_queue *q)
{
	struct reply rep;
	uint8_t r[SK_REPORT_LEN], ping[1000];
	uint32_t cid, cid2;

	cid = hid_init(dev, q);
	ok(cid != 0 && cid != SK_CID_BROADCAST, "INIT allocates a channel");
	cid2 = hid_init(dev, q);
	ok(cid2 != 0 && cid2 != cid, "a second INIT allocates another one");

	report(r, SK_CID_BROADCAST, 0x80 | SK_HID_INIT, 7);
	sk_hid_input(dev, q, r);
	ok(recv_msg(dev, q, &rep, 0) &&
		is_error(&rep, SK_CID_BROADCAST, SK_HID_ERR_INVALID_LEN),
	    "INIT with a 7-byte nonce: ERR_INVALID_LEN");

	for (size_t i = 0; i < sizeof(ping); i++)
		ping[i] = (uint8_t)(i * 7);
	send_msg(dev, q, cid, SK_HID_PING, ping, sizeof(ping));
	ok(recv_msg(dev, q, &rep, 0) && rep.cmd == SK_HID_PING &&
		rep.len == sizeof(ping) && memcmp(rep.data, ping, rep.len) == 0,
	    "PING of 1000 bytes over 17 continuation packets echoes");

	send_msg(dev, q, 0x11223344, SK_HID_PING, ping, 4);
	ok(recv_msg(dev, q, &rep, 0) &&
		is_error(&rep, 0x11223344, SK_HID_ERR_INVALID_CHANNEL),
	    "PING on an unallocated channel: ERR_INVALID_CHANNEL");
	send_msg(dev, q, 0, SK_HID_PING, ping, 4);
	ok(recv_msg(dev, q, &rep, 0) &&
		is_error(&rep, 0, SK_HID_ERR_INVALID_CHANNEL),
	    "channel 0: ERR_INVALID_CHANNEL");
	send_msg(dev, q, SK_CID_BROADCAST, SK_HID_PING, ping, 4);
	ok(recv_msg(dev, q, &rep, 0) &&
		is_error(&rep, SK_CID_BROADCAST, SK_HID_ERR_INVALID_CHANNEL),
	    "PING on the broadcast channel: ERR_INVALID_CHANNEL");

	report(r, cid, 0x80 | SK_HID_PING, SK_MAX_MSG + 1);
	sk_hid_input(dev, q, r);
	ok(recv_msg(dev, q, &rep, 0) &&
		is_error(&rep, cid, SK_HID_ERR_INVALID_LEN),
	    "a message over 7609 bytes: ERR_INVALID_LEN");

	report(r, cid, 0x80 | SK_HID_PING, 200);
	sk_hid_input(dev, q, r);
	report(r, cid, 1, 0); /* seq 1 where 0 is due */
	sk_hid_input(dev, q, r);
	ok(recv_msg(dev, q, &rep, 0) &&
		is_error(&rep, cid, SK_HID_ERR_INVALID_SEQ),
	    "continuation out of sequence: ERR_INVALID_SEQ");

	report(r, cid, 0x80 | SK_HID_PING, 200);
	sk_hid_input(dev, q, r);
	send_msg(dev, q, cid2, SK_HID_PING, ping, 4);
	ok(recv_msg(dev, q, &rep, 0) &&
		is_error(&rep, cid2, SK_HID_ERR_CHANNEL_BUSY),
	    "another channel during a transaction: ERR_CHANNEL_BUSY");
	report(r, cid, 0x80 | SK_HID_PING, 4);
	sk_hid_input(dev, q, r);
	ok(recv_msg(dev, q, &rep, 0) &&
		is_error(&rep, cid, SK_HID_ERR_INVALID_SEQ),
	    "a new request before the last one ended: ERR_INVALID_SEQ");

	report(r, cid, 0x80 | SK_HID_PING, 200);
	sk_hid_input(dev, q, r);
	sleep(4);
	ok(recv_msg(dev, q, &rep, 0) &&
		is_error(&rep, cid, SK_HID_ERR_MSG_TIMEOUT),
	    "a request left unfinished: ERR_MSG_TIMEOUT");

	send_msg(dev, q, cid, 0x55, ping, 4);
	ok(recv_msg(dev, q, &rep, 0) &&
		is_error(&rep, cid, SK_HID_ERR_INVALID_CMD),
	    "unknown CTAPHID command: ERR_INVALID_CMD");
	send_msg(dev, q, cid, SK_HID_LOCK, ping, 1);
	ok(recv_msg(dev, q, &rep, 0) &&
		is_error(&rep, cid, SK_HID_ERR_INVALID_CMD),
	    "LOCK (not implemented): ERR_INVALID_CMD");
	send_msg(dev, q, cid, SK_HID_CBOR, NULL, 0);
	ok(recv_msg(dev, q, &rep, 0) &&
		is_error(&rep, cid, SK_HID_ERR_INVALID_LEN),
	    "empty CBOR message: ERR_INVALID_LEN");
	send_msg(dev, q, cid, SK_HID_WINK, NULL, 0);
	ok(recv_msg(dev, q, &rep, 0) && rep.cmd == SK_HID_WINK && rep.len == 0,
	    "WINK answers");
	report(r, cid, 5, 0); /* stray continuation: ignored */
	sk_hid_input(dev, q, r);
	ok(!sk_queue_pop(q, r), "a stray continuation packet is ignored");
}

static void
test_cbor(struct sk_dev *dev, struct sk_queue *q)
{
	static const uint8_t garbage[] = {SK_CTAP_MAKE_CREDENTIAL, 0xa1, 0x01};
	static const uint8_t trailing[] = {SK_CTAP_GET_ASSERTION, 0xa0, 0x00};
	static const uint8_t array[] = {SK_CTAP_MAKE_CREDENTIAL, 0x81, 0x01};
	uint8_t big[SK_MAX_CBOR_MSG + 10];
	struct reply rep;
	cbor_item_t *p;
	uint32_t cid = hid_init(dev, q);
	int st;

	st = ctap(dev, q, cid, SK_CTAP_GET_INFO, NULL, &rep);
	ok(st == SK_OK && rep.len > 20 &&
		memmem(rep.data, rep.len, "FIDO_2_1", 8) != NULL,
	    "getInfo answers with FIDO_2_1");
	ok(ctap_raw(dev, q, cid, garbage, sizeof(garbage)) ==
		SK_ERR_INVALID_CBOR,
	    "truncated CBOR: CTAP2_ERR_INVALID_CBOR");
	ok(ctap_raw(dev, q, cid, trailing, sizeof(trailing)) ==
		SK_ERR_INVALID_CBOR,
	    "bytes after the map: CTAP2_ERR_INVALID_CBOR");
	ok(ctap_raw(dev, q, cid, array, sizeof(array)) ==
		SK_ERR_CBOR_UNEXPECTED_TYPE,
	    "parameters as an array: CTAP2_ERR_CBOR_UNEXPECTED_TYPE");
	big[0] = SK_CTAP_GET_INFO;
	memset(big + 1, 0, sizeof(big) - 1);
	ok(ctap_raw(dev, q, cid, big, sizeof(big)) == SK_ERR_REQUEST_TOO_LARGE,
	    "a request over maxMsgSize: CTAP2_ERR_REQUEST_TOO_LARGE");
	big[0] = 0x42;
	ok(ctap_raw(dev, q, cid, big, 1) == SK_ERR_INVALID_COMMAND,
	    "unknown CTAP2 command: CTAP1_ERR_INVALID_COMMAND");

	p = make_cred_params("example.org", false);
	ok(ctap(dev, q, cid, SK_CTAP_MAKE_CREDENTIAL, p, &rep) ==
		SK_ERR_MISSING_PARAMETER,
	    "makeCredential without pubKeyCredParams: MISSING_PARAMETER");
	cbor_decref(&p);
	p = make_cred_params("example.org", true);
	sk_map_put_int(p, 1, cbor_build_string("not bytes"));
	ok(ctap(dev, q, cid, SK_CTAP_MAKE_CREDENTIAL, p, &rep) ==
		SK_ERR_INVALID_CBOR,
	    "a duplicate map key: INVALID_CBOR");
	cbor_decref(&p);
	p = cbor_new_definite_map(1);
	sk_map_put_int(p, 1, cbor_build_string("not bytes"));
	ok(ctap(dev, q, cid, SK_CTAP_MAKE_CREDENTIAL, p, &rep) ==
		SK_ERR_CBOR_UNEXPECTED_TYPE,
	    "clientDataHash as text: CBOR_UNEXPECTED_TYPE");
	cbor_decref(&p);
	p = get_assert_params("example.org", (const uint8_t *)"junk", 4);
	ok(ctap(dev, q, cid, SK_CTAP_GET_ASSERTION, p, &rep) ==
		SK_ERR_NO_CREDENTIALS,
	    "getAssertion with a junk credential ID: NO_CREDENTIALS");
	cbor_decref(&p);
}

static cbor_item_t *
client_pin_params(int64_t sub, cbor_item_t *key_agreement)
{
	cbor_item_t *m = cbor_new_definite_map(3);

	sk_map_put_int(m, 1, sk_cbor_new_int(2));
	sk_map_put_int(m, 2, sk_cbor_new_int(sub));
	if (key_agreement != NULL)
		sk_map_put_int(m, 3, key_agreement);
	sk_map_put_int(m, 6,
	    cbor_build_bytestring(
		(const uint8_t *)"0123456789abcdef0123456789abcdef", 32));
	return m;
}

static void
test_client_pin(struct sk_dev *dev, struct sk_queue *q)
{
	static const uint8_t x[32] = {1}, y[32] = {2};
	struct reply rep;
	cbor_item_t *p, *k;
	uint32_t cid = hid_init(dev, q);

	p = client_pin_params(0x05, NULL);
	ok(ctap(dev, q, cid, SK_CTAP_CLIENT_PIN, p, &rep) ==
		SK_ERR_MISSING_PARAMETER,
	    "getPinToken without keyAgreement: MISSING_PARAMETER");
	cbor_decref(&p);
	k = cbor_new_definite_map(5);
	sk_map_put_int(k, 1, sk_cbor_new_int(2));
	sk_map_put_int(k, 3, sk_cbor_new_int(SK_COSE_ECDH_ES_HKDF_256));
	sk_map_put_int(k, -1, sk_cbor_new_int(1));
	sk_map_put_int(k, -2, cbor_build_bytestring(x, 32));
	sk_map_put_int(k, -3, cbor_build_bytestring(y, 32));
	p = client_pin_params(0x05, k);
	ok(ctap(dev, q, cid, SK_CTAP_CLIENT_PIN, p, &rep) ==
		SK_ERR_INVALID_PARAMETER,
	    "keyAgreement with a point off the curve: INVALID_PARAMETER");
	cbor_decref(&p);
	k = cbor_new_definite_map(2);
	sk_map_put_int(k, 1, sk_cbor_new_int(2));
	sk_map_put_int(k, -2, cbor_build_bytestring(x, 5));
	p = client_pin_params(0x05, k);
	ok(ctap(dev, q, cid, SK_CTAP_CLIENT_PIN, p, &rep) ==
		SK_ERR_INVALID_PARAMETER,
	    "a truncated COSE keyAgreement: INVALID_PARAMETER");
	cbor_decref(&p);
	p = client_pin_params(0x33, NULL);
	ok(ctap(dev, q, cid, SK_CTAP_CLIENT_PIN, p, &rep) == 0x3e,
	    "unknown clientPIN subcommand: INVALID_SUBCOMMAND");
	cbor_decref(&p);
	p = client_pin_params(0x01, NULL);
	ok(ctap(dev, q, cid, SK_CTAP_CLIENT_PIN, p, &rep) == SK_OK &&
		rep.len == 4 && rep.data[1] == 0xa1 && rep.data[2] == 0x03 &&
		rep.data[3] == SK_PIN_RETRIES,
	    "getPINRetries: 8");
	cbor_decref(&p);
}

static void
test_foreign_credentials(void)
{
	struct sk_dev *a = new_dev("a", true, 100),
		      *b = new_dev("b", true, 100);
	struct sk_queue qa = {0}, qb = {0};
	struct reply rep;
	uint8_t id[1024];
	size_t id_len = 0;
	uint32_t ca = hid_init(a, &qa), cb = hid_init(b, &qb);
	cbor_item_t *p;

	p = make_cred_params("example.org", true);
	if (ctap(a, &qa, ca, SK_CTAP_MAKE_CREDENTIAL, p, &rep) == SK_OK)
		id_len = cred_id_of(&rep, id);
	cbor_decref(&p);
	ok(id_len > 0, "key A makes a credential (ID of %zu bytes)", id_len);
	ok(rep.keepalives > 0, "with a KEEPALIVE (UPNEEDED) before the reply");

	p = get_assert_params("example.org", id, id_len);
	ok(ctap(a, &qa, ca, SK_CTAP_GET_ASSERTION, p, &rep) == SK_OK,
	    "key A signs with its own credential");
	ok(ctap(b, &qb, cb, SK_CTAP_GET_ASSERTION, p, &rep) ==
		SK_ERR_NO_CREDENTIALS,
	    "key B refuses key A's credential ID");
	cbor_decref(&p);
	p = get_assert_params("evil.example", id, id_len);
	ok(ctap(a, &qa, ca, SK_CTAP_GET_ASSERTION, p, &rep) ==
		SK_ERR_NO_CREDENTIALS,
	    "key A refuses its credential ID for another rp");
	cbor_decref(&p);
	id[20] ^= 1;
	p = get_assert_params("example.org", id, id_len);
	ok(ctap(a, &qa, ca, SK_CTAP_GET_ASSERTION, p, &rep) ==
		SK_ERR_NO_CREDENTIALS,
	    "key A refuses a tampered credential ID");
	cbor_decref(&p);
	id[20] ^= 1;

	/* the exclude list names a credential of this key: refused */
	p = make_cred_params("example.org", true);
	sk_map_put_int(p, 5, descriptor_list(id, id_len));
	ok(ctap(a, &qa, ca, SK_CTAP_MAKE_CREDENTIAL, p, &rep) ==
		SK_ERR_CREDENTIAL_EXCLUDED,
	    "excludeList with an own credential: CREDENTIAL_EXCLUDED");
	ok(ctap(b, &qb, cb, SK_CTAP_MAKE_CREDENTIAL, p, &rep) == SK_OK,
	    "the same excludeList on key B: a new credential");
	cbor_decref(&p);
	sk_queue_free(&qa);
	sk_queue_free(&qb);
	sk_dev_free(&a);
	sk_dev_free(&b);
}

static bool
reply_fmt_is(const struct reply *rep, const char *fmt, size_t stmt_len)
{
	struct cbor_load_result res;
	cbor_item_t *m = cbor_load(rep->data + 1, rep->len - 1, &res);
	const cbor_item_t *stmt = sk_map_get_int(m, 3);
	char *f = sk_cbor_text(sk_map_get_int(m, 1));
	bool ok = f != NULL && strcmp(f, fmt) == 0 && stmt != NULL &&
	    cbor_isa_map(stmt) && cbor_map_size(stmt) == stmt_len;

	free(f);
	if (m != NULL)
		cbor_decref(&m);
	return ok;
}

static void
test_attestation_formats(void)
{
	static const char *const fmts[][3] = {{"x5c", "packed", "3"},
	    {"self", "packed", "2"}, {"none", "none", "0"}};
	char path[256];

	for (size_t i = 0; i < 3; i++) {
		struct sk_queue q = {0};
		struct reply rep;
		struct sk_dev *dev;
		cbor_item_t *p = make_cred_params("example.org", true);

		snprintf(path, sizeof(path), "%s/att", tmpdir);
		dev = sk_dev_new(path, NULL, true, 100, fmts[i][0]);
		ok(ctap(dev, &q, hid_init(dev, &q), SK_CTAP_MAKE_CREDENTIAL, p,
		       &rep) == SK_OK &&
			reply_fmt_is(
			    &rep, fmts[i][1], (size_t)(fmts[i][2][0] - '0')),
		    "attestation %s: fmt %s, attStmt of %s members", fmts[i][0],
		    fmts[i][1], fmts[i][2]);
		cbor_decref(&p);
		sk_queue_free(&q);
		sk_dev_free(&dev);
	}
}

/* makeCredential with one more parameter (key, value); its status. */
static int
mc_with(struct sk_dev *dev, struct sk_queue *q, uint32_t cid, int64_t key,
    cbor_item_t *value, struct reply *rep)
{
	cbor_item_t *p = make_cred_params("example.org", true);
	int st;

	sk_map_put_int(p, key, value);
	st = ctap(dev, q, cid, SK_CTAP_MAKE_CREDENTIAL, p, rep);
	cbor_decref(&p);
	return st;
}

static cbor_item_t *
bool_map(const char *k, bool v)
{
	return entity(k, cbor_build_bool(v));
}

/* Options, extensions and limits that libfido2's tools do not reach. */
static void
test_features(void)
{
	struct sk_dev *dev = new_dev("features", true, 100);
	struct sk_queue q = {0};
	struct reply rep;
	uint8_t id[1024];
	size_t id_len = 0;
	uint32_t cid = hid_init(dev, &q);
	cbor_item_t *p;
	int st = SK_OK, n;

	ok(ctap(dev, &q, cid, SK_CTAP_SELECTION, NULL, &rep) == SK_OK,
	    "authenticatorSelection: OK after a touch");
	ok(mc_with(dev, &q, cid, 8, cbor_build_bytestring(NULL, 0), &rep) ==
		    SK_ERR_PIN_NOT_SET &&
		rep.keepalives > 0,
	    "zero-length pinUvAuthParam: a touch, then PIN_NOT_SET");
	ok(mc_with(dev, &q, cid, 7, bool_map("up", false), &rep) ==
		SK_ERR_INVALID_OPTION,
	    "makeCredential with up=false: INVALID_OPTION");
	ok(mc_with(dev, &q, cid, 7, bool_map("uv", true), &rep) ==
		SK_ERR_INVALID_OPTION,
	    "uv=true without a PIN token (no built-in UV): INVALID_OPTION");

	/* credProtect=3: only found after user verification */
	if (mc_with(dev, &q, cid, 6, entity("credProtect", sk_cbor_new_int(3)),
		&rep) == SK_OK)
		id_len = cred_id_of(&rep, id);
	ok(id_len > 0 && memmem(rep.data, rep.len, "credProtect", 11) != NULL,
	    "credProtect=3 is accepted and echoed in the extensions");
	p = get_assert_params("example.org", id, id_len);
	ok(ctap(dev, &q, cid, SK_CTAP_GET_ASSERTION, p, &rep) ==
		SK_ERR_NO_CREDENTIALS,
	    "a credProtect=3 credential is not found without UV");
	sk_map_put_int(p, 5, bool_map("rk", true));
	ok(ctap(dev, &q, cid, SK_CTAP_GET_ASSERTION, p, &rep) ==
		SK_ERR_UNSUPPORTED_OPTION,
	    "getAssertion with rk: UNSUPPORTED_OPTION");
	cbor_decref(&p);

	/* discoverable credentials fill up at 32 */
	for (n = 0; n < SK_MAX_RK + 1 && st == SK_OK; n++) {
		uint8_t uid[2] = {(uint8_t)n, 0x5a};
		cbor_item_t *u = cbor_new_definite_map(1);

		p = make_cred_params("rk.example", true);
		sk_map_put_str(u, "id", cbor_build_bytestring(uid, 2));
		cbor_decref(&cbor_map_handle(p)[2].value);
		cbor_map_handle(p)[2].value = u; /* replace the user entity */
		sk_map_put_int(p, 7, bool_map("rk", true));
		st = ctap(dev, &q, cid, SK_CTAP_MAKE_CREDENTIAL, p, &rep);
		cbor_decref(&p);
	}
	ok(st == SK_ERR_KEY_STORE_FULL && n == SK_MAX_RK + 1,
	    "the 33rd discoverable credential: KEY_STORE_FULL");
	ok(ctap(dev, &q, cid, SK_CTAP_RESET, NULL, &rep) == SK_OK,
	    "authenticatorReset after a touch");
	p = get_assert_params("example.org", id, id_len);
	ok(ctap(dev, &q, cid, SK_CTAP_GET_ASSERTION, p, &rep) ==
		SK_ERR_NO_CREDENTIALS,
	    "after reset old credentials are gone");
	cbor_decref(&p);
	sk_queue_free(&q);
	sk_dev_free(&dev);
}

/* A U2F request APDU (extended length) over CTAPHID_MSG; returns SW. */
static int
u2f(struct sk_dev *dev, struct sk_queue *q, uint32_t cid, uint8_t ins,
    uint8_t p1, const uint8_t *data, size_t len, struct reply *rep)
{
	uint8_t apdu[512];

	apdu[0] = 0;
	apdu[1] = ins;
	apdu[2] = p1;
	apdu[3] = 0;
	apdu[4] = 0;
	apdu[5] = (uint8_t)(len >> 8);
	apdu[6] = (uint8_t)len;
	if (len > 0)
		memcpy(apdu + 7, data, len);
	apdu[7 + len] = 0;
	apdu[8 + len] = 0;
	send_msg(dev, q, cid, SK_HID_MSG, apdu, len + 9);
	if (!recv_msg(dev, q, rep, 0) || rep->cmd != SK_HID_MSG || rep->len < 2)
		return -1;
	return rep->data[rep->len - 2] << 8 | rep->data[rep->len - 1];
}

static void
test_u2f(void)
{
	struct sk_dev *dev = new_dev("u2f", true, 100);
	struct sk_queue q = {0};
	struct reply rep;
	uint8_t req[200], kh[255];
	size_t kh_len = 0;
	uint32_t cid = hid_init(dev, &q);
	static const uint8_t bad_cla[] = {0x80, 0x03, 0, 0, 0, 0, 0};

	ok(u2f(dev, &q, cid, 0x03, 0, NULL, 0, &rep) == 0x9000 &&
		rep.len == 8 && memcmp(rep.data, "U2F_V2", 6) == 0,
	    "U2F VERSION: U2F_V2");
	send_msg(dev, &q, cid, SK_HID_MSG, bad_cla, sizeof(bad_cla));
	ok(recv_msg(dev, &q, &rep, 0) && rep.len == 2 && rep.data[0] == 0x6e &&
		rep.data[1] == 0x00,
	    "U2F with CLA 0x80: SW_CLA_NOT_SUPPORTED");
	ok(u2f(dev, &q, cid, 0x42, 0, NULL, 0, &rep) == 0x6d00,
	    "unknown U2F instruction: SW_INS_NOT_SUPPORTED");
	ok(u2f(dev, &q, cid, 0x01, 0, req, 63, &rep) == 0x6700,
	    "REGISTER with 63 bytes: SW_WRONG_LENGTH");

	memset(req, 0x11, 32);			/* challenge */
	sk_sha256("example.org", 11, req + 32); /* application */
	ok(u2f(dev, &q, cid, 0x01, 0, req, 64, &rep) == 0x9000 &&
		rep.data[0] == 0x05 && rep.data[1] == 0x04,
	    "REGISTER: 0x05, then an uncompressed P-256 key");
	kh_len = rep.data[66];
	memcpy(kh, rep.data + 67, kh_len);
	req[64] = (uint8_t)kh_len;
	memcpy(req + 65, kh, kh_len);
	ok(u2f(dev, &q, cid, 0x02, 0x07, req, 65 + kh_len, &rep) == 0x6985,
	    "AUTHENTICATE check-only with an own key handle: 0x6985");
	ok(u2f(dev, &q, cid, 0x02, 0x03, req, 65 + kh_len, &rep) == 0x9000 &&
		rep.data[0] == 0x01 && rep.data[4] == 1,
	    "AUTHENTICATE: user present, counter 1");
	ok(u2f(dev, &q, cid, 0x02, 0x08, req, 65 + kh_len, &rep) == 0x9000 &&
		rep.data[0] == 0x00 && rep.data[4] == 2,
	    "AUTHENTICATE dont-enforce: presence 0, counter 2");
	req[65] ^= 1;
	ok(u2f(dev, &q, cid, 0x02, 0x03, req, 65 + kh_len, &rep) == 0x6a80,
	    "AUTHENTICATE with an altered key handle: SW_WRONG_DATA");
	req[65] ^= 1;
	sk_sha256("evil.example", 12, req + 32);
	ok(u2f(dev, &q, cid, 0x02, 0x07, req, 65 + kh_len, &rep) == 0x6a80,
	    "the key handle for another application: SW_WRONG_DATA");
	sk_sha256("example.org", 11, req + 32);
	ok(u2f(dev, &q, cid, 0x02, 0x03, req, 64 + kh_len, &rep) == 0x6700,
	    "AUTHENTICATE cut short: SW_WRONG_LENGTH");
	dev->touch = false;
	ok(u2f(dev, &q, cid, 0x02, 0x03, req, 65 + kh_len, &rep) == 0x6985,
	    "no touch: SW_CONDITIONS_NOT_SATISFIED at once (the host retries)");
	ok(u2f(dev, &q, cid, 0x01, 0, req, 64, &rep) == 0x6985,
	    "no touch on REGISTER: SW_CONDITIONS_NOT_SATISFIED");
	sk_queue_free(&q);
	sk_dev_free(&dev);
}

static void
test_no_touch(void)
{
	struct sk_dev *dev = new_dev("a", false, 300);
	struct sk_queue q = {0};
	struct reply rep;
	uint8_t id[1024], r[SK_REPORT_LEN];
	size_t id_len = 0;
	uint64_t t0;
	cbor_item_t *p;
	uint32_t cid = hid_init(dev, &q), cid2 = hid_init(dev, &q);
	int st;

	t0 = sk_now_ms();
	p = make_cred_params("example.org", true);
	st = ctap(dev, &q, cid, SK_CTAP_MAKE_CREDENTIAL, p, &rep);
	cbor_decref(&p);
	ok(st == SK_ERR_USER_ACTION_TIMEOUT && sk_now_ms() - t0 >= 300,
	    "no touch: USER_ACTION_TIMEOUT after the timeout (%llu ms)",
	    (unsigned long long)(sk_now_ms() - t0));
	ok(rep.keepalives >= 2, "keepalives while waiting (%u)",
	    rep.keepalives);

	sk_dev_free(&dev);
	dev = new_dev("a", false, 5000);
	cid = hid_init(dev, &q);
	cid2 = hid_init(dev, &q);
	/* make a credential to assert with: touch this once */
	dev->touch = true;
	p = make_cred_params("example.org", true);
	if (ctap(dev, &q, cid, SK_CTAP_MAKE_CREDENTIAL, p, &rep) == SK_OK)
		id_len = cred_id_of(&rep, id);
	cbor_decref(&p);
	dev->touch = false;
	p = get_assert_params("example.org", id, id_len);
	t0 = sk_now_ms();
	send_ctap(dev, &q, cid, SK_CTAP_GET_ASSERTION, p);
	ok(sk_hid_poll(dev, &q, 1000) && sk_queue_pop(&q, r) &&
		r[4] == (0x80 | SK_HID_KEEPALIVE) &&
		r[7] == SK_KEEPALIVE_UPNEEDED,
	    "waiting for touch: KEEPALIVE with status UPNEEDED");
	send_msg(dev, &q, cid2, SK_HID_PING, (const uint8_t *)"x", 1);
	ok(recv_msg(dev, &q, &rep, 0) &&
		is_error(&rep, cid2, SK_HID_ERR_CHANNEL_BUSY),
	    "another channel meanwhile: ERR_CHANNEL_BUSY");
	send_msg(dev, &q, cid, SK_HID_CANCEL, NULL, 0);
	ok(recv_msg(dev, &q, &rep, 1000) && rep.cmd == SK_HID_CBOR &&
		rep.len == 1 && rep.data[0] == SK_ERR_KEEPALIVE_CANCEL &&
		sk_now_ms() - t0 < 2000,
	    "CANCEL ends the wait: KEEPALIVE_CANCEL");

	/* INIT on a channel waiting for a touch abandons the wait */
	send_ctap(dev, &q, cid, SK_CTAP_GET_ASSERTION, p);
	send_msg(dev, &q, cid, SK_HID_INIT, (const uint8_t *)"resync!!", 8);
	ok(recv_msg(dev, &q, &rep, 0) && rep.cmd == SK_HID_INIT &&
		rep.cid == cid && memcmp(rep.data, "resync!!", 8) == 0,
	    "INIT on a channel waiting for a touch resyncs it");
	send_msg(dev, &q, cid2, SK_HID_PING, (const uint8_t *)"y", 1);
	ok(recv_msg(dev, &q, &rep, 0) && rep.cmd == SK_HID_PING &&
		rep.cid == cid2,
	    "and frees the key for other channels");
	cbor_decref(&p);
	sk_queue_free(&q);
	sk_dev_free(&dev);
}

/* Random reports on known and unknown channels: no crash, still sane. */
static void
test_random_reports(struct sk_dev *dev, struct sk_queue *q)
{
	uint8_t r[SK_REPORT_LEN], out[SK_REPORT_LEN];
	struct reply rep;
	uint32_t cid = hid_init(dev, q);
	unsigned seed = 1;

	for (int i = 0; i < 20000; i++) {
		for (size_t j = 0; j < sizeof(r); j++)
			r[j] = (uint8_t)rand_r(&seed);
		if (i % 3 == 0) { /* aim at the live channel */
			sk_put_be32(r, cid);
			if (i % 6 == 0)
				r[4] = (uint8_t)(0x80 | SK_HID_CBOR);
		}
		sk_hid_input(dev, q, r);
		while (sk_queue_pop(q, out))
			;
	}
	sleep(4); /* let any half-sent message time out */
	while (sk_hid_poll(dev, q, 0))
		while (sk_queue_pop(q, out))
			;
	cid = hid_init(dev, q);
	send_msg(dev, q, cid, SK_HID_PING, (const uint8_t *)"alive", 5);
	ok(cid != 0 && recv_msg(dev, q, &rep, 0) && rep.cmd == SK_HID_PING &&
		rep.len == 5,
	    "20000 random reports later the key still answers");
}

static void
cleanup(void)
{
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", tmpdir);
}

int
main(void)
{
	struct sk_dev *dev;
	struct sk_queue q = {0};

	setvbuf(stdout, NULL, _IONBF, 0);
	if (mkdtemp(tmpdir) == NULL)
		return 2;
	dev = new_dev("main", true, 100);
	test_framing(dev, &q);
	test_cbor(dev, &q);
	test_client_pin(dev, &q);
	test_foreign_credentials();
	test_attestation_formats();
	test_features();
	test_u2f();
	test_no_touch();
	test_random_reports(dev, &q);
	sk_queue_free(&q);
	sk_dev_free(&dev);
	cleanup();
	printf("1..%d\n", test_no);
	return failures == 0 ? 0 : 1;
}
