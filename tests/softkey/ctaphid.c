/*
 * The soft key's USB HID side (CTAPHID, CTAP 2.1 §11.2): channel
 * allocation, reassembly of fragmented requests, replies framed into
 * 64-byte reports, keepalives while the user is asked for a touch, CANCEL,
 * and ERROR replies for every framing fault. Like a real key it handles one
 * transaction at a time and answers other channels CHANNEL_BUSY meanwhile.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "softkey.h"

#define KEEPALIVE_EVERY_MS 100
#define MSG_TIMEOUT_MS 3000

/* Version numbers reported by CTAPHID_INIT. */
#define DEV_PROTOCOL 2
#define DEV_MAJOR 1
#define DEV_MINOR 0
#define DEV_BUILD 0

uint64_t
sk_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
sleep_ms(uint64_t ms)
{
	struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
	    .tv_nsec = (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) != 0)
		;
}

void
sk_queue_push(struct sk_queue *q, const uint8_t *report)
{
	if (q->head > 0 && q->head == q->len) {
		q->head = 0;
		q->len = 0;
	}
	if (q->len == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 32;
		void *p = reallocarray(q->reports, cap, SK_REPORT_LEN);

		if (p == NULL)
			abort(); /* a test device: no way to signal this */
		q->reports = p;
		q->cap = cap;
	}
	memcpy(q->reports[q->len++], report, SK_REPORT_LEN);
}

bool
sk_queue_pop(struct sk_queue *q, uint8_t *report)
{
	if (q->head == q->len)
		return false;
	memcpy(report, q->reports[q->head++], SK_REPORT_LEN);
	return true;
}

void
sk_queue_free(struct sk_queue *q)
{
	free(q->reports);
	memset(q, 0, sizeof(*q));
}

void
sk_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint32_t
sk_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/*
 * Frames a CTAPHID message into an initialisation packet and continuation
 * packets; used both ways (device replies, and the host side in preload.c
 * and the tests).
 */
int
sk_frame(uint32_t cid, uint8_t cmd, const uint8_t *data, size_t len,
    int (*emit)(void *, const uint8_t *), void *ctx)
{
	uint8_t r[SK_REPORT_LEN];
	size_t n, off;

	if (len > SK_MAX_MSG)
		return -1;
	memset(r, 0, sizeof(r));
	sk_put_be32(r, cid);
	r[4] = (uint8_t)(0x80 | cmd);
	r[5] = (uint8_t)(len >> 8);
	r[6] = (uint8_t)len;
	n = len < SK_INIT_DATA ? len : SK_INIT_DATA;
	if (n > 0)
		memcpy(r + 7, data, n);
	if (emit(ctx, r) != 0)
		return -1;
	off = n;
	for (uint8_t seq = 0; off < len; seq++) {
		memset(r, 0, sizeof(r));
		sk_put_be32(r, cid);
		r[4] = seq;
		n = len - off < SK_CONT_DATA ? len - off : SK_CONT_DATA;
		memcpy(r + 5, data + off, n);
		if (emit(ctx, r) != 0)
			return -1;
		off += n;
	}
	return 0;
}

static int
emit_to_queue(void *q, const uint8_t *report)
{
	sk_queue_push(q, report);
	return 0;
}

static void
send_msg(struct sk_queue *q, uint32_t cid, uint8_t cmd, const uint8_t *data,
    size_t len)
{
	(void)sk_frame(cid, cmd, data, len, emit_to_queue, q);
}

static void
send_error(struct sk_queue *q, uint32_t cid, uint8_t code)
{
	send_msg(q, cid, SK_HID_ERROR, &code, 1);
}

static void
send_keepalive(struct sk_queue *q, uint32_t cid, uint8_t status)
{
	send_msg(q, cid, SK_HID_KEEPALIVE, &status, 1);
}

struct sk_dev *
sk_dev_new(const char *state_path, const char *initial_pin, bool touch,
    unsigned touch_timeout_ms, const char *attestation)
{
	struct sk_dev *dev;

	if ((dev = calloc(1, sizeof(*dev))) == NULL)
		return NULL;
	if ((dev->state_path = strdup(state_path)) == NULL ||
	    (initial_pin != NULL &&
		(dev->initial_pin = strdup(initial_pin)) == NULL)) {
		free(dev->state_path);
		free(dev);
		return NULL;
	}
	dev->powered_ms = sk_now_ms();
	dev->touch = touch;
	dev->touch_timeout_ms = touch_timeout_ms;
	dev->attestation = attestation;
	return dev;
}

void
sk_dev_free(struct sk_dev **devp)
{
	struct sk_dev *dev;

	if (devp == NULL || (dev = *devp) == NULL)
		return;
	sk_pin_forget(dev);
	free(dev->state_path);
	if (dev->initial_pin != NULL) {
		OPENSSL_cleanse(dev->initial_pin, strlen(dev->initial_pin));
		free(dev->initial_pin);
	}
	OPENSSL_cleanse(dev, sizeof(*dev));
	free(dev);
	*devp = NULL;
}

static bool
cid_known(const struct sk_dev *dev, uint32_t cid)
{
	for (size_t i = 0; i < dev->ncids; i++)
		if (dev->cids[i] == cid)
			return true;
	return false;
}

static uint32_t
cid_allocate(struct sk_dev *dev)
{
	uint32_t cid;

	do {
		if (sk_random(&cid, sizeof(cid)) != 0)
			return 0;
	} while (cid == 0 || cid == SK_CID_BROADCAST || cid_known(dev, cid));
	if (dev->ncids == SK_MAX_CHANNELS) { /* recycle the oldest */
		memmove(dev->cids, dev->cids + 1,
		    (SK_MAX_CHANNELS - 1) * sizeof(dev->cids[0]));
		dev->ncids--;
	}
	dev->cids[dev->ncids++] = cid;
	return cid;
}

static void
hid_init(
    struct sk_dev *dev, struct sk_queue *q, uint32_t cid, const uint8_t *nonce)
{
	uint8_t resp[17];
	uint32_t newcid = cid;

	if (cid == SK_CID_BROADCAST && (newcid = cid_allocate(dev)) == 0) {
		send_error(q, cid, SK_HID_ERR_OTHER);
		return;
	}
	/* INIT on a busy channel abandons what it was doing */
	if (dev->busy_cid == cid)
		dev->busy_cid = 0;
	if (dev->held.active && dev->held.cid == cid)
		dev->held.active = false;
	memcpy(resp, nonce, 8);
	sk_put_be32(resp + 8, newcid);
	resp[12] = DEV_PROTOCOL;
	resp[13] = DEV_MAJOR;
	resp[14] = DEV_MINOR;
	resp[15] = DEV_BUILD;
	resp[16] = SK_CAP_WINK | SK_CAP_CBOR;
	send_msg(q, cid, SK_HID_INIT, resp, sizeof(resp));
}

static void
hid_cbor(struct sk_dev *dev, struct sk_queue *q, uint32_t cid,
    const uint8_t *req, size_t len)
{
	uint8_t *resp = NULL, status;
	size_t resp_len = 0;
	enum sk_touch touch = SK_TOUCH_NONE;

	if (len == 0) {
		send_error(q, cid, SK_HID_ERR_INVALID_LEN);
		return;
	}
	if (len > SK_MAX_CBOR_MSG) {
		status = SK_ERR_REQUEST_TOO_LARGE;
		send_msg(q, cid, SK_HID_CBOR, &status, 1);
		return;
	}
	status = sk_ctap2_dispatch(dev, req, len, &resp, &resp_len, &touch);
	if (touch == SK_TOUCH_TIMED_OUT) {
		/* keep the channel busy, sending keepalives, until timeout */
		uint64_t now = sk_now_ms();

		dev->held = (struct sk_held){.active = true,
		    .q = q,
		    .cid = cid,
		    .status = status,
		    .deadline_ms = now + dev->touch_timeout_ms,
		    .next_keepalive_ms = now};
		free(resp);
		return;
	}
	if (touch == SK_TOUCH_GIVEN)
		send_keepalive(q, cid, SK_KEEPALIVE_UPNEEDED);
	if (status != SK_OK || resp == NULL) {
		send_msg(q, cid, SK_HID_CBOR, &status, 1);
	} else {
		resp[0] = SK_OK; /* dispatch leaves room for the status */
		send_msg(q, cid, SK_HID_CBOR, resp, resp_len);
	}
	free(resp);
}

static void
hid_msg(struct sk_dev *dev, struct sk_queue *q, uint32_t cid,
    const uint8_t *req, size_t len)
{
	uint8_t *resp = NULL;
	size_t resp_len = 0;

	if (sk_u2f_dispatch(dev, req, len, &resp, &resp_len) != 0) {
		send_error(q, cid, SK_HID_ERR_OTHER);
		return;
	}
	send_msg(q, cid, SK_HID_MSG, resp, resp_len);
	OPENSSL_cleanse(resp, resp_len);
	free(resp);
}

static void
hid_dispatch(struct sk_dev *dev, struct sk_queue *q, uint32_t cid, uint8_t cmd,
    const uint8_t *msg, size_t len)
{
	switch (cmd) {
	case SK_HID_PING:
		send_msg(q, cid, SK_HID_PING, msg, len);
		break;
	case SK_HID_WINK:
		send_msg(q, cid, SK_HID_WINK, NULL, 0);
		break;
	case SK_HID_CBOR:
		hid_cbor(dev, q, cid, msg, len);
		break;
	case SK_HID_MSG:
		hid_msg(dev, q, cid, msg, len);
		break;
	default: /* LOCK is not implemented */
		send_error(q, cid, SK_HID_ERR_INVALID_CMD);
		break;
	}
}

static void
finish_if_complete(struct sk_dev *dev, struct sk_queue *q)
{
	uint32_t cid = dev->busy_cid;

	if (dev->msg_got < dev->msg_len)
		return;
	dev->busy_cid = 0;
	hid_dispatch(dev, q, cid, dev->busy_cmd, dev->msg, dev->msg_len);
	OPENSSL_cleanse(dev->msg, dev->msg_len);
}

static void
input_init(
    struct sk_dev *dev, struct sk_queue *q, uint32_t cid, const uint8_t *r)
{
	uint8_t cmd = r[4] & 0x7f;
	size_t bcnt = (size_t)r[5] << 8 | r[6];
	size_t n;

	if (cmd == SK_HID_INIT) {
		if (bcnt != 8)
			send_error(q, cid, SK_HID_ERR_INVALID_LEN);
		else if (cid != SK_CID_BROADCAST && !cid_known(dev, cid))
			send_error(q, cid, SK_HID_ERR_INVALID_CHANNEL);
		else
			hid_init(dev, q, cid, r + 7);
		return;
	}
	if (cid == SK_CID_BROADCAST || !cid_known(dev, cid)) {
		send_error(q, cid, SK_HID_ERR_INVALID_CHANNEL);
		return;
	}
	if (cmd == SK_HID_CANCEL) { /* no reply of its own */
		if (dev->held.active && dev->held.cid == cid) {
			dev->held.status = SK_ERR_KEEPALIVE_CANCEL;
			dev->held.deadline_ms = 0;
		}
		return;
	}
	if (dev->held.active || (dev->busy_cid != 0 && dev->busy_cid != cid)) {
		send_error(q, cid, SK_HID_ERR_CHANNEL_BUSY);
		return;
	}
	if (dev->busy_cid == cid) { /* a new request before the old ended */
		dev->busy_cid = 0;
		send_error(q, cid, SK_HID_ERR_INVALID_SEQ);
		return;
	}
	if (bcnt > SK_MAX_MSG) {
		send_error(q, cid, SK_HID_ERR_INVALID_LEN);
		return;
	}
	dev->busy_cid = cid;
	dev->busy_q = q;
	dev->busy_cmd = cmd;
	dev->msg_len = bcnt;
	dev->msg_seq = 0;
	dev->msg_started_ms = sk_now_ms();
	n = bcnt < SK_INIT_DATA ? bcnt : SK_INIT_DATA;
	memcpy(dev->msg, r + 7, n);
	dev->msg_got = n;
	finish_if_complete(dev, q);
}

static void
input_cont(
    struct sk_dev *dev, struct sk_queue *q, uint32_t cid, const uint8_t *r)
{
	size_t n;

	if (dev->busy_cid == 0)
		return; /* spurious continuation: ignored, as the spec says */
	if (cid != dev->busy_cid) {
		send_error(q, cid, SK_HID_ERR_CHANNEL_BUSY);
		return;
	}
	if (r[4] != dev->msg_seq) {
		dev->busy_cid = 0;
		send_error(q, cid, SK_HID_ERR_INVALID_SEQ);
		return;
	}
	dev->msg_seq++;
	n = dev->msg_len - dev->msg_got;
	if (n > SK_CONT_DATA)
		n = SK_CONT_DATA;
	memcpy(dev->msg + dev->msg_got, r + 5, n);
	dev->msg_got += n;
	finish_if_complete(dev, q);
}

void
sk_hid_input(struct sk_dev *dev, struct sk_queue *q, const uint8_t *r)
{
	uint32_t cid = sk_get_be32(r);

	if (cid == 0) {
		send_error(q, cid, SK_HID_ERR_INVALID_CHANNEL);
		return;
	}
	if (r[4] & 0x80)
		input_init(dev, q, cid, r);
	else
		input_cont(dev, q, cid, r);
}

static void
release_held(struct sk_dev *dev)
{
	dev->held.active = false;
	send_msg(dev->held.q, dev->held.cid, SK_HID_CBOR, &dev->held.status, 1);
}

bool
sk_hid_poll(struct sk_dev *dev, struct sk_queue *q, int ms)
{
	uint64_t now = sk_now_ms(), wait;

	if (dev->busy_cid != 0 && now - dev->msg_started_ms > MSG_TIMEOUT_MS) {
		send_error(dev->busy_q, dev->busy_cid, SK_HID_ERR_MSG_TIMEOUT);
		dev->busy_cid = 0;
		return dev->busy_q == q;
	}
	if (!dev->held.active || dev->held.q != q) {
		if (ms > 0)
			sleep_ms((uint64_t)ms < 100 ? (uint64_t)ms : 100);
		return false;
	}
	if (now >= dev->held.deadline_ms) {
		release_held(dev);
		return true;
	}
	if (now < dev->held.next_keepalive_ms) {
		wait = dev->held.next_keepalive_ms - now;
		if (ms >= 0 && (uint64_t)ms < wait)
			wait = (uint64_t)ms;
		sleep_ms(wait);
		if (sk_now_ms() < dev->held.next_keepalive_ms)
			return false;
	}
	send_keepalive(q, dev->held.cid, SK_KEEPALIVE_UPNEEDED);
	dev->held.next_keepalive_ms = sk_now_ms() + KEEPALIVE_EVERY_MS;
	return true;
}

void
sk_hid_detach(struct sk_dev *dev, struct sk_queue *q)
{
	if (dev->held.active && dev->held.q == q)
		dev->held.active = false;
	if (dev->busy_cid != 0 && dev->busy_q == q)
		dev->busy_cid = 0;
}
