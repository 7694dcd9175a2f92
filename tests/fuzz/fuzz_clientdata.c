/* libFuzzer: clientDataJSON against an expected challenge and origin. */
#include "fg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t chal[32] = { 1, 2, 3 };
	const char *const origins[] = { "pam://fido2gate.test",
		"https://matrix.fido2gate.test" };
	const char *const tops[] = { "https://fido2gate.test" };
	struct fg_expect e = { .challenge = chal, .challenge_len = sizeof(chal),
		.origins = origins, .n_origins = 2, .type = "webauthn.get",
		.allow_cross_origin = size > 0 && data[0] & 1,
		.top_origins = tops, .n_top_origins = 1 };
	unsigned failed = 0;

	(void)fg_client_data_check(data, size, &e, &failed);
	return 0;
}
