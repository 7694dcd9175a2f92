/* libFuzzer: COSE_Key parsing, and a verification with what it yields. */
#include "fg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fg_pubkey *key = NULL;
	static const uint8_t msg[32], sig[72];

	if (fg_pubkey_from_cose(data, size, &key) == FG_OK) {
		(void)fg_pubkey_alg(key);
		(void)fg_pubkey_verify(key, msg, sizeof(msg), sig, sizeof(sig));
	}
	fg_pubkey_free(&key);
	return 0;
}
