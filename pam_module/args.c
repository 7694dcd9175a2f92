/*
 * The module's arguments, parsed through one table as pam_unix parses its
 * own; unlike pam_unix, anything the table does not know is refused: a
 * misspelt "socket=" must not silently fall back to the default agent.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"

enum kind { FLAG, PATH, SECONDS };

struct opt {
	const char *name; /* "debug", or "socket=" for a valued option */
	enum kind kind;
	size_t offset; /* of the member in struct fg_pam_args */
};

static const struct opt opts[] = {
	{ "debug", FLAG, offsetof(struct fg_pam_args, debug) },
	{ "nocue", FLAG, offsetof(struct fg_pam_args, nocue) },
	{ "socket=", PATH, offsetof(struct fg_pam_args, socket) },
	{ "timeout=", SECONDS, offsetof(struct fg_pam_args, timeout_s) },
};
#define N_OPTS (sizeof(opts) / sizeof(opts[0]))

static int
set_value(const struct opt *o, const char *v, struct fg_pam_args *a)
{
	char *member = (char *)a + o->offset, *end;
	long n;

	switch (o->kind) {
	case FLAG:
		if (*v != '\0')
			return -1;
		*(bool *)(void *)member = true;
		return 0;
	case PATH:
		if (v[0] != '/' || strlen(v) >= sizeof(a->socket))
			return -1;
		memcpy(member, v, strlen(v) + 1);
		return 0;
	case SECONDS:
		if (v[0] < '0' || v[0] > '9')
			return -1;
		errno = 0;
		n = strtol(v, &end, 10);
		if (*end != '\0' || errno != 0 || n < 1 ||
		    n > FG_PAM_TIMEOUT_MAX)
			return -1;
		*(int *)(void *)member = (int)n;
		return 0;
	}
	return -1;
}

int
fg_pam_args_parse(int argc, const char **argv, struct fg_pam_args *a,
    char *err, size_t errlen)
{
	bool seen[N_OPTS] = { false };
	size_t k;
	int i;

	memset(a, 0, sizeof(*a));
	snprintf(a->socket, sizeof(a->socket), "%s", FG_SOCKET_DEFAULT);
	a->timeout_s = FG_PAM_TIMEOUT_DEFAULT;
	for (i = 0; i < argc; i++) {
		const char *s = argv[i];
		const struct opt *o = NULL;

		for (k = 0; k < N_OPTS && o == NULL; k++) {
			size_t n = strlen(opts[k].name);
			bool valued = opts[k].name[n - 1] == '=';
			if (valued ? strncmp(s, opts[k].name, n) == 0 :
				     strcmp(s, opts[k].name) == 0)
				o = &opts[k];
		}
		if (o == NULL) {
			snprintf(err, errlen, "unknown argument \"%.64s\"", s);
			return -1;
		}
		if (set_value(o, s + strlen(o->name), a) != 0) {
			snprintf(err, errlen,
			    "malformed argument \"%.64s\" (%s)", s,
			    o->kind == PATH ? "socket=/absolute/path" :
			    o->kind == SECONDS ?
					      "timeout=1..600 seconds" :
					      "a flag takes no value");
			return -1;
		}
		k = (size_t)(o - opts);
		if (seen[k]) {
			snprintf(err, errlen, "argument \"%.64s\" given twice",
			    s);
			return -1;
		}
		seen[k] = true;
	}
	return 0;
}
