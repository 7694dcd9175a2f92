/* pam_fido2gate.so's module arguments (args.c). */
#ifndef PAM_FIDO2GATE_ARGS_H
#define PAM_FIDO2GATE_ARGS_H

#include <stdbool.h>
#include <stddef.h>

#include <fido2gate/protocol.h>

#define FG_PAM_TIMEOUT_DEFAULT 30 /* seconds to touch the key */
#define FG_PAM_TIMEOUT_MAX 600

struct fg_pam_args {
	char socket[FG_SOCKET_PATH_MAX];
	int timeout_s;
	bool debug;
	bool nocue;
};

/*
 * Fills a from argv, over the defaults. An unknown argument, a malformed
 * value or one given twice is an error: 0 on success, -1 with a message
 * naming the argument in err.
 */
int fg_pam_args_parse(int argc, const char **argv, struct fg_pam_args *a,
    char *err, size_t errlen);

#endif
