/*
 * store copy: a store moved from SQLite to PostgreSQL or back, here and
 * not through the agent, which serves one store: the one exception,
 * with verify, to "the CLI never writes the store". Root's alone, while
 * no agent writes the source; the work is fg_store_copy()'s (agent/store.c).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../agent/agent.h"
#include "ctl.h"

#define STORE_USAGE                                                            \
	_("usage: fido2gatectl store copy FROM TO [--password-file FILE]\n"    \
	  "  FROM, TO: sqlite:PATH, postgresql:CONNINFO or a path (SQLite)\n")

/* A SQLite source that is not there would be made, empty, by opening. */
static bool
source_missing(const char *from)
{
	struct stat sb;

	if (strncmp(from, "postgresql:", 11) == 0)
		return false;
	if (strncmp(from, "sqlite:", 7) == 0)
		from += 7;
	return lstat(from, &sb) != 0;
}

static int
store_copy(
    struct ctl *c, const char *from, const char *to, const char *passfile)
{
	json_t *out = NULL, *tables, *v;
	const json_t *bad;
	const char *name;
	char err[512];
	int r, rc = CTL_EXIT_FAIL;

	if (geteuid() != 0) {
		fputs(_("fido2gatectl: store copy is for root\n"), stderr);
		return CTL_EXIT_DENIED;
	}
	if (source_missing(from)) {
		fprintf(stderr, _("fido2gatectl: %s: %s\n"), from,
		    strerror(ENOENT));
		return CTL_EXIT_USAGE;
	}
	r = fg_store_copy(from, to, passfile, &out, err, sizeof(err));
	if (r == FG_ERR_UNTRUSTED && out != NULL) {
		bad = json_object_get(out, "bad");
		if (c->json)
			ctl_print_json(out);
		fprintf(stderr,
		    _("fido2gatectl: the source's audit log was tampered "
		      "with: record %lld (%s): %s; nothing copied\n"),
		    (long long)json_integer_value(json_object_get(bad, "id")),
		    fg_json_str(bad, "problem"), fg_json_str(bad, "message"));
		goto out;
	}
	if (r != FG_OK) {
		fprintf(stderr,
		    _("fido2gatectl: store copy: %s; nothing copied\n"), err);
		rc = r == FG_ERR_INVALID ? CTL_EXIT_USAGE : CTL_EXIT_FAIL;
		goto out;
	}
	if (c->json) {
		ctl_print_json(out);
	} else {
		printf(_("copied from %s to %s: %lld audit records, head %lld "
			 "%s\n"),
		    fg_json_str(out, "from"), fg_json_str(out, "to"),
		    (long long)json_integer_value(
			json_object_get(out, "records")),
		    (long long)json_integer_value(
			json_object_get(json_object_get(out, "head"), "id")),
		    fg_json_str(json_object_get(out, "head"), "hash") != NULL
			? fg_json_str(json_object_get(out, "head"), "hash")
			: "-");
		tables = json_object_get(out, "tables");
		json_object_foreach(tables, name, v) printf(
		    "  %-14s %lld\n", name, (long long)json_integer_value(v));
	}
	rc = CTL_EXIT_OK;
out:
	json_decref(out);
	return rc;
}

int
ctl_store(struct ctl *c, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"password-file", required_argument, NULL, 'p'},
	    {NULL, 0, NULL, 0},
	};
	const char *passfile = NULL;
	int ch;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			passfile = optarg;
			break;
		default:
			fputs(STORE_USAGE, stderr);
			return CTL_EXIT_USAGE;
		}
	}
	if (argc - optind != 3 || strcmp(argv[optind], "copy") != 0) {
		fputs(STORE_USAGE, stderr);
		return CTL_EXIT_USAGE;
	}
	return store_copy(c, argv[optind + 1], argv[optind + 2], passfile);
}
