/*
 * softkey-pin-client RP CREDID PIN...: one process (one power cycle of the
 * key) that tries each PIN in turn for a user-verified assertion and
 * prints libfido2's verdict for each. The key is found the way fido2gate's
 * PAM module finds keys: fido_dev_info_manifest, fido_dev_new_with_info,
 * fido_dev_open_with_info (the soft key's transport functions).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fido.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

static int
b64_decode(const char *in, unsigned char *out, size_t cap, size_t *len)
{
	size_t n = strlen(in);
	int r;

	if (n == 0 || n % 4 != 0 || n / 4 * 3 > cap)
		return -1;
	if ((r = EVP_DecodeBlock(out, (const unsigned char *)in, (int)n)) < 0)
		return -1;
	*len = (size_t)r - (in[n - 1] == '=') - (in[n - 2] == '=');
	return 0;
}

static fido_dev_t *
open_first_key(void)
{
	fido_dev_info_t *list = fido_dev_info_new(8);
	fido_dev_t *dev = NULL;
	size_t n = 0;

	if (list == NULL || fido_dev_info_manifest(list, 8, &n) != FIDO_OK ||
	    n == 0)
		goto out;
	if ((dev = fido_dev_new_with_info(fido_dev_info_ptr(list, 0))) ==
		NULL ||
	    fido_dev_open_with_info(dev) != FIDO_OK)
		fido_dev_free(&dev);
out:
	fido_dev_info_free(&list, 8);
	return dev;
}

int
main(int argc, char **argv)
{
	unsigned char id[1024], cdh[32];
	size_t id_len;
	fido_dev_t *dev;
	fido_assert_t *a;
	int r;

	if (argc < 4 || b64_decode(argv[2], id, sizeof(id), &id_len) != 0) {
		fprintf(stderr, "usage: softkey-pin-client RP CREDID PIN...\n");
		return 2;
	}
	fido_init(0);
	if ((dev = open_first_key()) == NULL) {
		fprintf(stderr, "softkey-pin-client: no key\n");
		return 2;
	}
	for (int i = 3; i < argc; i++) {
		if ((a = fido_assert_new()) == NULL ||
		    RAND_bytes(cdh, sizeof(cdh)) != 1 ||
		    fido_assert_set_clientdata_hash(a, cdh, sizeof(cdh)) !=
			FIDO_OK ||
		    fido_assert_set_rp(a, argv[1]) != FIDO_OK ||
		    fido_assert_allow_cred(a, id, id_len) != FIDO_OK ||
		    fido_assert_set_uv(a, FIDO_OPT_TRUE) != FIDO_OK)
			return 2;
		r = fido_dev_get_assert(dev, a, argv[i]);
		printf("%s\n", fido_strerr(r));
		fido_assert_free(&a);
	}
	fido_dev_close(dev);
	fido_dev_free(&dev);
	return 0;
}
