/*
 * softkey.so: preloaded into any libfido2 program, it makes the soft keys
 * show up as plugged-in FIDO devices.
 *
 * fido_dev_info_manifest() lists them after the real devices, each entry
 * carrying our fido_dev_io_t and fido_dev_transport_t (the transport frames
 * CTAPHID messages into 64-byte reports). fido_dev_open() on a soft key's
 * path installs only the io functions, so libfido2's own CTAPHID framing
 * talks to the device exactly as it does to a USB key.
 *
 * This library is the only place that reads the SOFTKEY_* variables:
 *   SOFTKEY_STATE           state file of key 0 (unset: no soft keys)
 *   SOFTKEY_DEVICES=N       N keys, key i>0 keeping its state in STATE.i
 *   SOFTKEY_PIN             PIN set when a state file is created
 *   SOFTKEY_TOUCH=no        the user never touches the key
 *   SOFTKEY_TOUCH_TIMEOUT_MS how long the key waits for that touch (2000)
 *   SOFTKEY_ATTESTATION     "x5c" (packed, batch certificate; default),
 *                           "self" (packed, self) or "none"
 *   SOFTKEY_PIN_PROTOCOLS=1 offer PIN/UV auth protocol 1 only (default 2,1)
 *   SOFTKEY_ATTESTATION_KEY and SOFTKEY_ATTESTATION_CERTS
 *                           a P-256 key (PEM) and certificates (PEM, leaf
 *                           first) to attest with instead of the batch
 *                           ones: x5c and fido-u2f (its leaf alone); when
 *                           they do not load, no soft key shows up
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fido.h>

#include "softkey.h"

#define PATH_PREFIX "softkey:"
#define MAX_DEVICES 8
#define DEFAULT_TOUCH_TIMEOUT_MS 2000

struct link {
	struct sk_dev *dev;
	struct sk_queue q;
	uint32_t cid; /* host side of the transport functions */
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct sk_dev *devices[MAX_DEVICES];
static size_t ndevices;

static unsigned long
env_ulong(const char *name, unsigned long def, unsigned long max)
{
	const char *s = getenv(name);
	char *end;
	unsigned long v;

	if (s == NULL || *s == '\0')
		return def;
	v = strtoul(s, &end, 10);
	if (*end != '\0' || v > max) {
		fprintf(stderr, "softkey: bad %s=%s\n", name, s);
		return def;
	}
	return v;
}

static void
init_devices(void)
{
	const char *state = getenv("SOFTKEY_STATE");
	const char *pin = getenv("SOFTKEY_PIN");
	const char *touch = getenv("SOFTKEY_TOUCH");
	const char *att = getenv("SOFTKEY_ATTESTATION");
	const char *protos = getenv("SOFTKEY_PIN_PROTOCOLS");
	unsigned long n, timeout;
	char path[4096];

	const char *att_key = getenv("SOFTKEY_ATTESTATION_KEY");
	const char *att_certs = getenv("SOFTKEY_ATTESTATION_CERTS");

	if (state == NULL || *state == '\0')
		return;
	if ((att_key != NULL || att_certs != NULL) &&
	    (att_key == NULL || att_certs == NULL ||
		sk_attestation_use(att_key, att_certs) != 0)) {
		fprintf(stderr, "softkey: cannot use SOFTKEY_ATTESTATION_KEY "
				"and SOFTKEY_ATTESTATION_CERTS\n");
		return;
	}
	n = env_ulong("SOFTKEY_DEVICES", 1, MAX_DEVICES);
	timeout = env_ulong(
	    "SOFTKEY_TOUCH_TIMEOUT_MS", DEFAULT_TOUCH_TIMEOUT_MS, 600000);
	if (att == NULL ||
	    (strcmp(att, "none") != 0 && strcmp(att, "self") != 0))
		att = "x5c";
	/* "a:b": one device per state file (an admin's key beside a user's) */
	bool list = strchr(state, ':') != NULL;
	const char *next = state;
	if (list) {
		n = 1;
		for (const char *p = state; (p = strchr(p, ':')) != NULL; p++)
			n++;
		if (n > MAX_DEVICES)
			n = MAX_DEVICES;
	}
	for (unsigned long i = 0; i < n; i++) {
		if (list) {
			size_t len = strcspn(next, ":");
			snprintf(path, sizeof(path), "%.*s", (int)len, next);
			next += len + (next[len] == ':');
		} else if (i == 0)
			snprintf(path, sizeof(path), "%s", state);
		else
			snprintf(path, sizeof(path), "%s.%lu", state, i);
		devices[ndevices] = sk_dev_new(path, pin,
		    touch == NULL || strcmp(touch, "no") != 0,
		    (unsigned)timeout, att);
		if (devices[ndevices] == NULL)
			continue;
		devices[ndevices]->pin_proto1_only =
		    protos != NULL && strcmp(protos, "1") == 0;
		ndevices++;
	}
}

static struct sk_dev *
device_for_path(const char *path)
{
	char *end;
	unsigned long i;

	pthread_once(&once, init_devices);
	if (path == NULL ||
	    strncmp(path, PATH_PREFIX, strlen(PATH_PREFIX)) != 0)
		return NULL;
	path += strlen(PATH_PREFIX);
	i = strtoul(path, &end, 10);
	if (end == path || *end != '\0' || i >= ndevices)
		return NULL;
	return devices[i];
}

/* fido_dev_io_t: one report per read or write, as hidraw gives them */

static void *
link_open(const char *path)
{
	struct sk_dev *dev = device_for_path(path);
	struct link *l;

	if (dev == NULL || (l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	l->dev = dev;
	l->cid = SK_CID_BROADCAST;
	return l;
}

static void
link_close(void *h)
{
	struct link *l = h;

	sk_hid_detach(l->dev, &l->q);
	sk_queue_free(&l->q);
	free(l);
}

static int
link_read(void *h, unsigned char *buf, size_t len, int ms)
{
	struct link *l = h;

	if (len != SK_REPORT_LEN)
		return -1;
	while (!sk_queue_pop(&l->q, buf))
		if (!sk_hid_poll(l->dev, &l->q, ms))
			return -1; /* nothing (more) to come: a timeout */
	return SK_REPORT_LEN;
}

/* libfido2 writes a report ID byte (0) in front of every report */
static int
link_write(void *h, const unsigned char *buf, size_t len)
{
	struct link *l = h;

	if (len != SK_REPORT_LEN + 1 || buf[0] != 0)
		return -1;
	sk_hid_input(l->dev, &l->q, buf + 1);
	return (int)len;
}

static const fido_dev_io_t softkey_io = {
    .open = link_open,
    .close = link_close,
    .read = link_read,
    .write = link_write,
};

/* fido_dev_transport_t: whole CTAPHID messages over the io functions */

static int
emit_to_link(void *l, const uint8_t *report)
{
	uint8_t r[SK_REPORT_LEN + 1] = {0}; /* report ID 0 in front */

	memcpy(r + 1, report, SK_REPORT_LEN);
	return link_write(l, r, sizeof(r)) < 0 ? -1 : 0;
}

static int
transport_tx(fido_dev_t *d, uint8_t cmd, const unsigned char *buf, size_t count)
{
	struct link *l = fido_dev_io_handle(d);

	if (l == NULL)
		return -1;
	return sk_frame(cmd == SK_HID_INIT ? SK_CID_BROADCAST : l->cid, cmd,
	    buf, count, emit_to_link, l);
}

static int
transport_rx(
    fido_dev_t *d, uint8_t cmd, unsigned char *buf, size_t count, int ms)
{
	struct link *l = fido_dev_io_handle(d);
	uint8_t r[SK_REPORT_LEN];
	uint32_t cid;
	size_t len, got, n;

	if (l == NULL)
		return -1;
	cid = cmd == SK_HID_INIT ? SK_CID_BROADCAST : l->cid;
	do {
		if (link_read(l, r, sizeof(r), ms) < 0)
			return -1;
	} while (r[4] == (0x80 | SK_HID_KEEPALIVE));
	if (sk_get_be32(r) != cid || r[4] != (0x80 | cmd))
		return -1; /* includes CTAPHID_ERROR */
	len = (size_t)r[5] << 8 | r[6];
	if (len > count)
		return -1;
	got = len < SK_INIT_DATA ? len : SK_INIT_DATA;
	memcpy(buf, r + 7, got);
	for (uint8_t seq = 0; got < len; seq++) {
		if (link_read(l, r, sizeof(r), ms) < 0 || r[4] != seq)
			return -1;
		n = len - got < SK_CONT_DATA ? len - got : SK_CONT_DATA;
		memcpy(buf + got, r + 5, n);
		got += n;
	}
	if (cmd == SK_HID_INIT && len >= 12)
		l->cid = sk_get_be32(buf + 8);
	return (int)len;
}

static const fido_dev_transport_t softkey_transport = {
    .rx = transport_rx,
    .tx = transport_tx,
};

/* the interposed libfido2 functions */

int
fido_dev_info_manifest(fido_dev_info_t *devlist, size_t ilen, size_t *olen)
{
	int (*real)(fido_dev_info_t *, size_t, size_t *);
	char path[32], product[32];

	real = (int (*)(fido_dev_info_t *, size_t, size_t *))dlsym(
	    RTLD_NEXT, "fido_dev_info_manifest");
	pthread_once(&once, init_devices);
	*olen = 0;
	if (real == NULL || real(devlist, ilen, olen) != FIDO_OK)
		*olen = 0; /* no real devices here: the soft keys remain */
	for (size_t i = 0; i < ndevices && *olen < ilen; i++) {
		snprintf(path, sizeof(path), PATH_PREFIX "%zu", i);
		snprintf(product, sizeof(product), "softkey %zu", i);
		if (fido_dev_info_set(devlist, *olen, path, "fido2gate",
			product, &softkey_io, &softkey_transport) != FIDO_OK)
			return FIDO_ERR_INTERNAL;
		(*olen)++;
	}
	return FIDO_OK;
}

int
fido_dev_open(fido_dev_t *dev, const char *path)
{
	int (*real)(fido_dev_t *, const char *);

	real = (int (*)(fido_dev_t *, const char *))dlsym(
	    RTLD_NEXT, "fido_dev_open");
	if (real == NULL)
		return FIDO_ERR_INTERNAL;
	if (device_for_path(path) != NULL &&
	    fido_dev_set_io_functions(dev, &softkey_io) != FIDO_OK)
		return FIDO_ERR_INTERNAL;
	return real(dev, path);
}
