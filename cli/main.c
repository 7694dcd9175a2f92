/*
 * fido2gatectl: the admin's tool. Every change goes through the agent,
 * which checks who is asking (SO_PEERCRED) and audits it; the CLI never
 * writes the store. The exceptions: `verify`, an offline verifier, and
 * `store copy`, root's move of a store to another backend (agent/store.c).
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
	{ "show", ctl_show },
	{ "rename", ctl_rename },
	{ "disable", ctl_disable },
	{ "enable", ctl_enable },
	{ "revoke", ctl_revoke },
	{ "lock", ctl_lock },
	{ "import-pam-u2f", ctl_import_pam_u2f },
	{ "unlock", ctl_unlock },
	{ "approve", ctl_approve },
	{ "invite", ctl_invite },
	{ "admin", ctl_admin },
	{ "rotate-keys", ctl_rotate_keys },
	{ "status", ctl_status },
	{ "audit", ctl_audit },
	{ "verify", ctl_verify },
	{ "store", ctl_store },
};

static void
usage(FILE *f)
{
	fputs(_("usage: fido2gatectl [--socket PATH] [--json] [--as ADMIN] COMMAND [ARGS]\n"
		"\n"
		"commands:\n"
		"  enroll USER [--label TEXT] [--alg es256|eddsa|rs256]\n"
		"                               make a credential on the plugged-in key\n"
		"                               and enrol it for USER (asks for the PIN\n"
		"                               when the key has one; es256 unless --alg)\n"
		"  list [USER]                  list credentials (all users: admin only)\n"
		"  show USER                    one user: keys in every state, lockout,\n"
		"                               requests waiting for a second admin\n"
		"  rename USER CREDENTIAL LABEL give a credential a new label\n"
		"  disable USER CREDENTIAL      set a credential aside (enable undoes it)\n"
		"  enable USER CREDENTIAL       let a disabled credential log in again\n"
		"  revoke USER CREDENTIAL       revoke by credential ID prefix or label\n"
		"  approve REQUEST              approve, as a second admin, a recovery,\n"
		"                               an unlock or an admin change; confirm\n"
		"                               an invited key\n"
		"  invite USER                  a one-time link for USER to enrol a key\n"
		"                               in the browser (remote enrolment)\n"
		"  admin add|remove USER        register or remove an admin\n"
		"  admin list                   the admins and the waiting requests\n"
		"  import-pam-u2f FILE [--dry-run] [--origin ORIGIN] [--appid APPID]\n"
		"                               import pamu2fcfg's credentials, all or\n"
		"                               none (admin only); their relying party\n"
		"                               is ORIGIN (default pam://HOSTNAME), APPID\n"
		"                               for old lines (default ORIGIN)\n"
		"  rotate-keys                  new id_token signing keys for the\n"
		"                               homeserver gate (admin only)\n"
		"  lock USER --reason TEXT      lock USER out of every login at once and\n"
		"                               end their homeserver sessions (admin only)\n"
		"  unlock USER                  clear USER's lock, or lockout and backoff\n"
		"                               after failed attempts (admin only)\n"
		"  status                       the agent's state\n"
		"  audit [--limit N] [--user USER] [--since TIME]\n"
		"                               the latest audit records (admin only)\n"
		"  audit --anchor               the audit chain's head, ID:HASH, to keep\n"
		"                               elsewhere\n"
		"  audit --verify [--db STORE [--password-file FILE]] [--anchor ID:HASH]...\n"
		"                               check the audit chain (and that it still\n"
		"                               holds each anchor); with --db, in a copy\n"
		"                               of the store or in a PostgreSQL store,\n"
		"                               without the agent\n"
		"  verify                       verify one assertion offline: a JSON\n"
		"                               request on stdin, a verdict on stdout\n"
		"  store copy FROM TO [--password-file FILE]\n"
		"                               copy the store, every row and the same\n"
		"                               audit chain, into an empty one (root,\n"
		"                               without the agent; sqlite:PATH,\n"
		"                               postgresql:CONNINFO or a path)\n"),
	    f);
	fprintf(f,
	    _("\n"
	      "options:\n"
	      "  --socket PATH   the agent's socket (default %s)\n"
	      "  --json          machine-readable output\n"
	      "  --as ADMIN      the admin whose own key authorises a change\n"
	      "                  (default: the user who ran sudo, or you)\n"
	      "  The options may stand before or after the command.\n"),
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

/*
 * The global options wherever they stand, as people type them
 * ("fido2gatectl list --json"): taken out of argv, up to a "--". A
 * command's own options stay for the command.
 */
static int
global_options(struct ctl *c, int *argc, char **argv)
{
	int i, n = 1;

	for (i = 1; i < *argc; i++) {
		const char *a = argv[i];
		const char **val = strncmp(a, "--socket", 8) == 0 ? &c->socket :
		    strncmp(a, "--as", 4) == 0			      ? &c->as :
									NULL;
		size_t len = val == &c->socket ? 8 : 4;

		if (strcmp(a, "--") == 0) {
			while (i < *argc)
				argv[n++] = argv[i++];
			break;
		}
		if (strcmp(a, "--json") == 0) {
			c->json = true;
			continue;
		}
		if (val != NULL && a[len] == '=') {
			*val = a + len + 1;
			continue;
		}
		if (val != NULL && a[len] == '\0') {
			if (i + 1 >= *argc)
				return -1;
			*val = argv[++i];
			continue;
		}
		argv[n++] = argv[i];
	}
	argv[n] = NULL;
	*argc = n;
	return 0;
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
	if (global_options(&c, &argc, argv) != 0) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
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
			if (c.devs_open)
				fg_devs_close(&c.devs);
			return rc;
		}
	fprintf(stderr, _("fido2gatectl: unknown command \"%s\"\n"), cmd);
	usage(stderr);
	return CTL_EXIT_USAGE;
}
