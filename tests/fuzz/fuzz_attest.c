/*
 * libFuzzer: attestation objects. The first byte picks the format, the
 * next two give the authenticatorData's length; the rest is authData and
 * then the attestation statement (CBOR).
 */
#include "fg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const fmts[] = { "none", "packed", "fido-u2f",
		"tpm" };
	static const uint8_t cdh[32];
	struct fg_attest_result res = { 0 };
	char why[256];
	size_t adlen;

	if (size < 3)
		return 0;
	adlen = (size_t)data[1] << 8 | data[2];
	if (adlen > size - 3)
		adlen = size - 3;
	(void)fg_attest_verify(fmts[data[0] % 4], data + 3, adlen,
	    data + 3 + adlen, size - 3 - adlen, cdh, "fido2gate.test", &res,
	    why, sizeof(why));
	fg_attest_result_clear(&res);
	return 0;
}
