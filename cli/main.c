/*
 * fido2gatectl: the admin's tool. Every change goes through the agent,
 * which checks who is asking (SO_PEERCRED) and audits it; the CLI never
 * writes the store. `verify` is the exception: it is an offline verifier.
 */
#include <getopt.h>
#include <libintl.h>
#include <locale.h>
#include <stdio.h>
#include <string.h>

#include "ctl.h"

static const struct {
	const char *name;
	int (*fn)(struct ctl *, int, char **);
} cmds[] = {
	{ "enroll", ctl_enroll },
	{ "list", ctl_list },
	{ "revoke", ctl_revoke },
	{ "unlock", ctl_unlock },
	{ "rotate-keys", ctl_rotate_keys },
	{ "status", ctl_status },
	{ "audit", ctl_audit },
	{ "verify", ctl_verify },
};

static void
usage(FILE *f)
{
	fputs(_("usage: fido2gatectl [--socket PATH] [--json] COMMAND [ARGS]\n"
		"\n"
		"commands:\n"
		"  enroll USER [--label TEXT] [--alg es256|eddsa|rs256]\n"
		"                               make a credential on the plugged-in key\n"
		"                               and enrol it for USER (asks for the PIN\n"
		"                               when the key has one; es256 unless --alg)\n"
		"  list [USER]                  list credentials (all users: admin only)\n"
		"  revoke USER CREDENTIAL       revoke by credential ID prefix or label\n"
		"  rotate-keys                  new id_token signing keys for the\n"
		"                               homeserver gate (admin only)\n"
		"  unlock USER                  clear USER's lockout and backoff after\n"
		"                               failed attempts (admin only)\n"
		"  status                       the agent's state\n"
		"  audit [--limit N] [--user USER] [--since TIME]\n"
		"                               the latest audit records (admin only)\n"
		"  audit --anchor               the audit chain's head, ID:HASH, to keep\n"
		"                               elsewhere\n"
		"  audit --verify [--db FILE] [--anchor ID:HASH]...\n"
		"                               check the audit chain (and that it still\n"
		"                               holds each anchor); with --db, in a copy\n"
		"                               of the store, without the agent\n"
		"  verify                       verify one assertion offline: a JSON\n"
		"                               request on stdin, a verdict on stdout\n"),
	    f);
	fprintf(f,
	    _("\n"
	      "options:\n"
	      "  --socket PATH   the agent's socket (default %s)\n"
	      "  --json          machine-readable output\n"),
	    FG_SOCKET_DEFAULT);
	fputs(_("\n"
		"exit status:\n"
		"  0  success (verify: the assertion is valid; audit --verify: the\n"
		"     audit log is intact)\n"
		"  1  refused, rejected or not found (verify: the assertion is invalid;\n"
		"     audit --verify: the audit log was tampered with)\n"
		"  2  usage error or unusable request\n"
		"  3  the agent cannot be reached\n"
		"  4  the agent refused this caller (not root or an admin)\n"
		"  5  no security key, or the key failed\n"),
	    f);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctl c = { .socket = FG_SOCKET_DEFAULT };
	const char *cmd;
	size_t i;
	int ch, rc;

	/* messages in the user's language; --json and the exit statuses are
	 * the same in every one */
	setlocale(LC_ALL, "");
	fg_intl_bind();
	textdomain(FG_TEXT_DOMAIN);
	while ((ch = getopt_long(argc, argv, "+s:jhV", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			c.socket = optarg;
			break;
		case 'j':
			c.json = true;
			break;
		case 'h':
			usage(stdout);
			return CTL_EXIT_OK;
		case 'V':
			printf("fido2gatectl %s\n", FG_VERSION);
			return CTL_EXIT_OK;
		default:
			usage(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 1) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	cmd = argv[0];
	optind = 0; /* a full reset of GNU getopt for the command */
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
		if (strcmp(cmd, cmds[i].name) == 0) {
			rc = cmds[i].fn(&c, argc, argv);
			fg_client_free(&c.agent);
			return rc;
		}
	fprintf(stderr, _("fido2gatectl: unknown command \"%s\"\n"), cmd);
	usage(stderr);
	return CTL_EXIT_USAGE;
}
