/*
 * libFuzzer: the soft key's CTAPHID input, report by report (64 bytes
 * each), down into its CTAP2/CBOR and U2F parsers. A fresh key state in
 * /dev/shm; the responses are drained and dropped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "softkey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void
cleanup(void)
{
	unlink(path);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct sk_dev *dev;
	struct sk_queue q = { 0 };
	uint8_t report[SK_REPORT_LEN], out[SK_REPORT_LEN];
	size_t off;

	if (dev == NULL) {
		snprintf(path, sizeof(path), "/dev/shm/fg-fuzz-key.%d",
		    (int)getpid());
		unlink(path);
		atexit(cleanup);
		/* no touch: nothing waits for a person */
		if ((dev = sk_dev_new(path, "1234", false, 0, "x5c")) == NULL)
			abort();
	}
	for (off = 0; off < size; off += SK_REPORT_LEN) {
		size_t n = size - off < SK_REPORT_LEN ? size - off :
							SK_REPORT_LEN;
		memset(report, 0, sizeof(report));
		memcpy(report, data + off, n);
		sk_hid_input(dev, &q, report);
		while (sk_queue_pop(&q, out))
			;
	}
	sk_hid_detach(dev, &q);
	sk_queue_free(&q);
	return 0;
}
