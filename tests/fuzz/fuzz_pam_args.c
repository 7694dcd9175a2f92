/*
 * libFuzzer: the PAM module's arguments, through the parser the module
 * runs (pam_module/args.c). The input is split at NUL bytes into argv.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../pam_module/args.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *argv[32];
	struct fg_pam_args args;
	char *buf, err[160];
	size_t i;
	int argc = 0;

	if ((buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[argc++] = buf;
	for (i = 0; i < size && argc < 32; i++)
		if (buf[i] == '\0')
			argv[argc++] = buf + i + 1;
	if (fg_pam_args_parse(argc, argv, &args, err, sizeof(err)) == 0 &&
	    (args.socket[0] != '/' || args.timeout_s < 1 ||
		args.timeout_s > FG_PAM_TIMEOUT_MAX))
		abort(); /* accepted something out of range */
	free(buf);
	return 0;
}
