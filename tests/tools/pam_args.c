/*
 * pam-args: the PAM module's arguments as its own table (pam_module/args.c)
 * has them, one a line ("debug", "socket="), for the test that holds
 * pam_fido2gate(8) to them. The table is static: this includes its file.
 */
#include "../../pam_module/args.c"

int main(void);

int
main(void)
{
	size_t k;

	for (k = 0; k < N_OPTS; k++)
		printf("%s\n", opts[k].name);
	return fflush(stdout) == 0 ? 0 : 1;
}
