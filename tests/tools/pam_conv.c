/*
 * pam-conv: a login program in miniature, for tests of what PAM modules
 * say. Like login, su and sudo it calls setlocale(LC_ALL, "") first, so
 * the modules speak the user's language; then pam_authenticate with a
 * text conversation that prints every message with its style and answers
 * each prompt with a line of stdin:
 *
 *   pam-conv SERVICE USER
 *   prompt-off: Enter the PIN for your security key:
 *   info: Touch your security key
 *   error: fido2gate: security key check failed
 *   auth: 7 (Authentication failure)
 *
 * pamtester calls no setlocale, which leaves every module in "C".
 */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <security/pam_appl.h>

static int
conv(int n, const struct pam_message **msg, struct pam_response **resp,
    void *data)
{
	struct pam_response *r;
	char line[512];
	int i;

	(void)data;
	if (n <= 0 || (r = calloc((size_t)n, sizeof(*r))) == NULL)
		return PAM_CONV_ERR;
	for (i = 0; i < n; i++) {
		switch (msg[i]->msg_style) {
		case PAM_TEXT_INFO:
			printf("info: %s\n", msg[i]->msg);
			continue;
		case PAM_ERROR_MSG:
			printf("error: %s\n", msg[i]->msg);
			continue;
		case PAM_PROMPT_ECHO_OFF:
		case PAM_PROMPT_ECHO_ON:
			printf("prompt-%s: %s\n",
			    msg[i]->msg_style == PAM_PROMPT_ECHO_OFF ? "off"
								     : "on",
			    msg[i]->msg);
			fflush(stdout);
			if (fgets(line, sizeof(line), stdin) == NULL)
				goto fail;
			line[strcspn(line, "\n")] = '\0';
			if ((r[i].resp = strdup(line)) == NULL)
				goto fail;
			continue;
		default:
			goto fail;
		}
	}
	fflush(stdout);
	*resp = r;
	return PAM_SUCCESS;
fail:
	for (i = 0; i < n; i++)
		free(r[i].resp);
	free(r);
	return PAM_CONV_ERR;
}

int
main(int argc, char **argv)
{
	struct pam_conv c = {conv, NULL};
	pam_handle_t *h = NULL;
	int r;

	setlocale(LC_ALL, "");
	if (argc != 3) {
		fprintf(stderr, "usage: pam-conv SERVICE USER\n");
		return 2;
	}
	if ((r = pam_start(argv[1], argv[2], &c, &h)) != PAM_SUCCESS) {
		fprintf(stderr, "pam_start: %d\n", r);
		return 2;
	}
	r = pam_authenticate(h, 0);
	printf("auth: %d (%s)\n", r, pam_strerror(h, r));
	pam_end(h, r);
	return r == PAM_SUCCESS ? 0 : 1;
}
