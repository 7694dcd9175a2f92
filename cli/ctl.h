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

#include "fg_device.h"

struct ctl {
	const char *socket;
	bool json;
	const char *as;		 /* --as: the admin who acts */
	struct fg_client *agent; /* opened by the first call */
	struct fg_devs devs;	 /* the keys, opened once (ctl_devs) */
	bool devs_open;
	bool stepped_up; /* stepup_dev holds the admin's key */
	size_t stepup_dev;
	int timeout_ms;		  /* a call's; 0: CALL_TIMEOUT_MS */
};

/* Connects once; an exit status. */
int ctl_open(struct ctl *c);
/* Sends req (consumed); the reply in *out, or an exit status after saying
 * why on stderr. */
int ctl_call(struct ctl *c, json_t *req, json_t **out);
int ctl_refused(const struct fg_refusal *why);
/* The security keys, opened once; an exit status. */
int ctl_devs(struct ctl *c);
int ctl_read_pin(const char *prompt, char *buf, size_t len);
/* The admin's step-up for action on target: *stepup NULL in bootstrap
 * mode; an exit status after saying why. */
int ctl_stepup(struct ctl *c, const char *action, const char *target,
    json_t **stepup);
/* ctl_call of req with the step-up for action on target. */
int ctl_call_stepped(struct ctl *c, const char *action, const char *target,
    json_t *req, json_t **out);
int ctl_show(struct ctl *c, int argc, char **argv);
int ctl_rename(struct ctl *c, int argc, char **argv);
int ctl_disable(struct ctl *c, int argc, char **argv);
int ctl_enable(struct ctl *c, int argc, char **argv);
int ctl_approve(struct ctl *c, int argc, char **argv);
int ctl_invite(struct ctl *c, int argc, char **argv);
int ctl_admin(struct ctl *c, int argc, char **argv);
void ctl_print_json(const json_t *v);
/* A member of a record, for a person: controls escaped, "-" when absent. */
const char *ctl_field(const json_t *o, const char *key, char *buf, size_t len);
/* A Unix time in UTC, or "never" for 0. */
const char *ctl_when(json_int_t t, char *buf, size_t len);
/* The warning for a user with fewer active keys than min_keys. */
void ctl_min_keys(const json_t *reply, const char *user);
int ctl_failed(const struct ctl *c, int err);
int ctl_verify(struct ctl *c, int argc, char **argv);
int ctl_enroll(struct ctl *c, int argc, char **argv);
int ctl_list(struct ctl *c, int argc, char **argv);
int ctl_revoke(struct ctl *c, int argc, char **argv);
int ctl_lock(struct ctl *c, int argc, char **argv);
int ctl_unlock(struct ctl *c, int argc, char **argv);
int ctl_rotate_keys(struct ctl *c, int argc, char **argv);
int ctl_status(struct ctl *c, int argc, char **argv);
int ctl_audit(struct ctl *c, int argc, char **argv);
int ctl_import_pam_u2f(struct ctl *c, int argc, char **argv);
int ctl_store(struct ctl *c, int argc, char **argv);

#endif
