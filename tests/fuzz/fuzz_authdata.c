/* libFuzzer: authenticatorData, then the whole assertion verifier on it. */
#include <stdlib.h>
#include <string.h>

#include "fg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fg_authdata ad;
	struct fg_assertion a = { .authdata = data, .authdata_len = size,
		.client_data_json = (const uint8_t *)"{}",
		.client_data_json_len = 2,
		.sig = data, .sig_len = size < 72 ? size : 72 };
	static const uint8_t chal[32];
	const char *const origins[] = { "pam://fido2gate.test" };
	struct fg_expect e = { .rp_id = "fido2gate.test", .challenge = chal,
		.challenge_len = sizeof(chal), .origins = origins,
		.n_origins = 1, .user_presence = true };
	struct fg_verdict v;

	(void)fg_authdata_parse(data, size, &ad);
	(void)fg_verify_assertion(NULL, FG_ERR_INVALID, &a, &e, &v);
	return 0;
}
