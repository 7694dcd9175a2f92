/*
 * pam-child: authenticates through PAM like a login program, then starts a
 * child the way a session would, and prints the descriptors the child
 * inherited, before PAM was started and after authentication:
 *
 *   pam-child SERVICE USER
 *   before: 0 1 2
 *   auth: 0
 *   after: 0 1 2
 *
 * Anything in "after" that is not in "before" leaked from PAM's modules.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <security/pam_appl.h>
#include <security/pam_misc.h>

static void
child_fds(const char *label)
{
	pid_t pid;
	int st;

	printf("%s:", label);
	fflush(stdout);
	if ((pid = fork()) == 0) {
		execl("/bin/sh", "sh", "-c", "cd /proc/$$/fd && set -- * && echo \" $*\"",
		    (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &st, 0);
}

int
main(int argc, char **argv)
{
	struct pam_conv conv = { misc_conv, NULL };
	pam_handle_t *h = NULL;
	int r;

	if (argc != 3) {
		fprintf(stderr, "usage: pam-child SERVICE USER\n");
		return 2;
	}
	child_fds("before");
	if ((r = pam_start(argv[1], argv[2], &conv, &h)) != PAM_SUCCESS) {
		fprintf(stderr, "pam_start: %d\n", r);
		return 2;
	}
	r = pam_authenticate(h, 0);
	printf("auth: %d\n", r);
	child_fds("after");
	pam_end(h, r);
	return r == PAM_SUCCESS ? 0 : 1;
}
