/* fido2gatectl's commands and exit statuses (see `fido2gatectl --help`). */
#ifndef CTL_H
#define CTL_H

#include <fido2gate/client.h>

#include "fg.h"
#include "intl.h"

enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_FAIL = 1,	/* refused, rejected or not found */
	CTL_EXIT_USAGE = 2,	/* bad arguments or an unusable request */
	CTL_EXIT_UNAVAIL = 3,	/* the agent cannot be reached */
	CTL_EXIT_DENIED = 4,	/* the agent refused the caller */
	CTL_EXIT_DEVICE = 5,	/* no key, or the key failed */
};

#define CONNECT_TIMEOUT_MS 5000
#define CALL_TIMEOUT_MS 10000

struct ctl {
	const char *socket;
	bool json;
	struct fg_client *agent; /* opened by the first call */
};

/* Connects once; an exit status. */
int ctl_open(struct ctl *c);
/* Sends req (consumed); the reply in *out, or an exit status after saying
 * why on stderr. */
int ctl_call(struct ctl *c, json_t *req, json_t **out);
int ctl_refused(const struct fg_refusal *why);
int ctl_failed(const struct ctl *c, int err);
int ctl_verify(struct ctl *c, int argc, char **argv);
int ctl_enroll(struct ctl *c, int argc, char **argv);
int ctl_list(struct ctl *c, int argc, char **argv);
int ctl_revoke(struct ctl *c, int argc, char **argv);
int ctl_unlock(struct ctl *c, int argc, char **argv);
int ctl_rotate_keys(struct ctl *c, int argc, char **argv);
int ctl_status(struct ctl *c, int argc, char **argv);
int ctl_audit(struct ctl *c, int argc, char **argv);
int ctl_import_pam_u2f(struct ctl *c, int argc, char **argv);

#endif
