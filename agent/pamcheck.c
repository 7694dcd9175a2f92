/*
 * The password first factor of the browser login ([web] first_factor =
 * pam:SERVICE): the password is checked through that PAM service (so
 * pam_unix, sssd and LDAP work), in a child process, so that the agent's
 * loop never waits on PAM (pam_unix's fail delay, a slow directory). The
 * child writes one byte, its verdict, and exits; the loop hears it on a
 * pipe and resumes the request. The key is still required afterwards: a
 * right password only lets the user on to it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <security/pam_appl.h>

#include "agent.h"

enum { VERDICT_OK = 'y', VERDICT_NO = 'n', VERDICT_ERROR = 'e' };

struct conv_data {
	const char *password;
};

/* Answers the password prompts with the password, and nothing else. */
static int
conv(int n, const struct pam_message **msg, struct pam_response **resp,
    void *data)
{
	const struct conv_data *d = data;
	struct pam_response *r;
	int i;

	*resp = NULL;
	if (n <= 0 || n > PAM_MAX_NUM_MSG ||
	    (r = calloc((size_t)n, sizeof(*r))) == NULL)
		return PAM_CONV_ERR;
	for (i = 0; i < n; i++) {
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF &&
		    (r[i].resp = strdup(d->password)) == NULL)
			goto fail;
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
			goto fail; /* a second question we cannot answer */
	}
	*resp = r;
	return PAM_SUCCESS;
fail:
	for (i = 0; i < n; i++)
		if (r[i].resp != NULL)
			fg_wipe_free(r[i].resp, strlen(r[i].resp));
	free(r);
	return PAM_CONV_ERR;
}

static char
check(const char *service, const char *user, const char *password)
{
	struct conv_data d = { .password = password };
	struct pam_conv c = { .conv = conv, .appdata_ptr = &d };
	pam_handle_t *h = NULL;
	int r;

	if (pam_start(service, user, &c, &h) != PAM_SUCCESS)
		return VERDICT_ERROR;
	r = pam_authenticate(h, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (r == PAM_SUCCESS)
		r = pam_acct_mgmt(h, PAM_SILENT);
	pam_end(h, r);
	if (r == PAM_SUCCESS)
		return VERDICT_OK;
	return r == PAM_AUTH_ERR || r == PAM_USER_UNKNOWN ||
		r == PAM_MAXTRIES || r == PAM_ACCT_EXPIRED ||
		r == PAM_NEW_AUTHTOK_REQD || r == PAM_PERM_DENIED ?
	    VERDICT_NO :
	    VERDICT_ERROR;
}

int
fg_pamcheck_start(const char *service, const char *user, char *password,
    int *fd, pid_t *pid)
{
	int p[2];
	pid_t child;

	*fd = -1;
	*pid = -1;
	if (pipe2(p, O_CLOEXEC) != 0)
		return FG_ERR_IO;
	if ((child = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return FG_ERR_IO;
	}
	if (child == 0) {
		char v;

		/* the child holds nothing of the agent's but the pipe */
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		if (dup2(p[1], 3) < 0)
			_exit(1);
		closefrom(4);
		v = check(service, user, password);
		if (write(3, &v, 1) != 1)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	*fd = p[0];
	*pid = child;
	return FG_OK;
}

int
fg_pamcheck_finish(int fd, pid_t pid, bool timed_out)
{
	char v = VERDICT_ERROR;
	ssize_t n;

	if (timed_out)
		kill(pid, SIGKILL);
	else {
		do
			n = read(fd, &v, 1);
		while (n < 0 && errno == EINTR);
		if (n != 1)
			v = VERDICT_ERROR;
	}
	close(fd);
	/* a child that will not die is killed; it cannot linger */
	if (waitpid(pid, NULL, WNOHANG) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	if (timed_out)
		return FG_ERR_TIMEOUT;
	return v == VERDICT_OK ? FG_OK :
	    v == VERDICT_NO    ? FG_ERR_DENIED :
				 FG_ERR_INTERNAL;
}
