/*
 * libFuzzer: the PAM module's arguments. The module's source is included
 * so that its static parser is reached as the module runs it; the input is
 * split at NUL bytes into argv.
 */
#include "../../pam_module/pam_fido2gate.c"

#include <security/pam_appl.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
null_conv(int n, const struct pam_message **msg, struct pam_response **resp,
    void *appdata)
{
	(void)n;
	(void)msg;
	(void)appdata;
	*resp = NULL;
	return PAM_CONV_ERR;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static pam_handle_t *pamh;
	static const struct pam_conv conv = { null_conv, NULL };
	const char *argv[32];
	char *buf;
	struct args args;
	size_t i;
	int argc = 0;

	if (pamh == NULL && pam_start("fido2gate-fuzz", "alice", &conv,
				&pamh) != PAM_SUCCESS)
		abort();
	if ((buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[argc++] = buf;
	for (i = 0; i < size && argc < 32; i++)
		if (buf[i] == '\0')
			argv[argc++] = buf + i + 1;
	(void)parse_args(pamh, argc, argv, &args);
	free(buf);
	return 0;
}
