/*
 * fg-settings: what the build makes from the agent's table of settings
 * (agent/settings.c), so that each setting is described there only.
 *   --manual  the SETTINGS section of fido2gate.conf(5), in scdoc
 *   --sample  etc/fido2gate.conf: every setting, commented out, with its
 *             default
 *   --keys    "SECTION KEY" per setting, for the tests
 * It also parses each default as the agent would, and fails on one it
 * refuses: a table that contradicts itself does not build.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

#define WIDTH 72

/* "client.*" as the manual and the file write it: client.NAME */
static const char *
shown(const char *section, char *buf, size_t len)
{
	size_t n = strlen(section);

	if (n >= 2 && strcmp(section + n - 2, ".*") == 0)
		snprintf(buf, len, "%.*s.NAME", (int)(n - 2), section);
	else
		snprintf(buf, len, "%s", section);
	return buf;
}

/* Text for scdoc: its markup characters escaped. */
static void
scd(FILE *f, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '*' || *s == '_' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
}

/* The choices "a|b|c" as "a, b or c". */
static void
choices(FILE *f, const char *values, bool markup)
{
	const char *p = values, *bar;
	char sep = strchr(values, '|') != NULL ? '|' : ' ';

	while (p != NULL) {
		bar = strchr(p, sep);
		int n = bar != NULL ? (int)(bar - p) : (int)strlen(p);
		char word[128];
		snprintf(word, sizeof(word), "%.*s", n, p);
		if (markup) {
			fputc('*', f);
			scd(f, word);
			fputc('*', f);
		} else
			fputs(word, f);
		if (bar != NULL)
			fputs(strchr(bar + 1, sep) != NULL ? ", " : " or ", f);
		p = bar != NULL ? bar + 1 : NULL;
	}
}

static bool
numeric(const struct fg_setting *s)
{
	return s->type == &fg_type_number || s->type == &fg_type_seconds;
}

static void
manual(FILE *f)
{
	char name[80];
	size_t i, k;

	for (k = 0; fg_setting_sections[k].name != NULL; k++) {
		const char *sec = fg_setting_sections[k].name;
		fprintf(f, "## [");
		scd(f, shown(sec, name, sizeof(name)));
		fprintf(f, "]\n\n");
		scd(f, fg_setting_sections[k].doc);
		fprintf(f, "\n\n");
		for (i = 0; i < fg_settings_count; i++) {
			const struct fg_setting *s = &fg_settings[i];
			if (strcmp(s->section, sec) != 0)
				continue;
			fprintf(f, "*");
			scd(f, s->key);
			if (s->alias_of != NULL) {
				fprintf(f, "*\n\tAnother name for *");
				scd(f, s->alias_of);
				fprintf(f, "*.\n\n");
				continue;
			}
			fprintf(f, "* = _");
			scd(f, s->type->name);
			fprintf(f, "_");
			if (numeric(s))
				fprintf(f, ", %lu to %lu", s->min, s->max);
			fprintf(f, "\n\t");
			scd(f, s->doc);
			if (s->values != NULL && !numeric(s)) {
				fprintf(f, " One of ");
				choices(f, s->values, true);
				fprintf(f, ".");
			}
			if (s->repeat)
				fprintf(f, " May be given more than once.");
			if (s->def != NULL) {
				fprintf(f, " Default: *");
				scd(f, s->def);
				fprintf(f, "*.");
			} else if (s->def_doc != NULL) {
				fprintf(f, " Default: ");
				scd(f, s->def_doc);
				fprintf(f, ".");
			}
			fprintf(f, "\n\n");
		}
	}
}

/* text as "# " comment lines of at most WIDTH columns */
static void
comment(FILE *f, const char *text)
{
	const char *p = text;

	while (*p != '\0') {
		size_t n = strlen(p), cut = n;
		if (n > WIDTH - 2) {
			cut = WIDTH - 2;
			while (cut > 0 && p[cut] != ' ')
				cut--;
			if (cut == 0)
				cut = n;
		}
		fprintf(f, "# %.*s\n", (int)cut, p);
		p += cut;
		while (*p == ' ')
			p++;
	}
}

static void
sample(FILE *f)
{
	char name[80], line[2048];
	size_t i, k;

	comment(f,
	    "/etc/fido2gate/fido2gate.conf: the settings of fido2gated, "
	    "the fido2gate agent (fido2gate.conf(5)). Every setting is "
	    "here, commented out, with its default. An unknown section "
	    "or key, or a bad value, stops the agent with this file's "
	    "name and line; check a change with: fido2gated "
	    "--check-config");
	comment(f,
	    "This file is made from the agent's table of settings "
	    "(agent/settings.c) by make conf-sample.");
	for (k = 0; fg_setting_sections[k].name != NULL; k++) {
		const char *sec = fg_setting_sections[k].name;
		bool many = strchr(sec, '*') != NULL;
		fprintf(f, "\n");
		comment(f, fg_setting_sections[k].doc);
		fprintf(f, "%s[%s]\n", many ? "#" : "",
		    shown(sec, name, sizeof(name)));
		for (i = 0; i < fg_settings_count; i++) {
			const struct fg_setting *s = &fg_settings[i];
			if (strcmp(s->section, sec) != 0)
				continue;
			if (s->alias_of != NULL) {
				snprintf(line, sizeof(line),
				    "%s: another name for %s.", s->key,
				    s->alias_of);
				comment(f, line);
				continue;
			}
			if (numeric(s))
				snprintf(line, sizeof(line),
				    "%s (%s, %lu to %lu)", s->doc,
				    s->type->name, s->min, s->max);
			else if (s->def == NULL && s->def_doc != NULL)
				snprintf(line, sizeof(line), "%s (default: %s)",
				    s->doc, s->def_doc);
			else
				snprintf(line, sizeof(line), "%s", s->doc);
			if (s->values != NULL && !numeric(s)) {
				size_t n = strlen(line);
				snprintf(line + n, sizeof(line) - n, " (%s)",
				    s->values);
			}
			comment(f, line);
			fprintf(f, "#%s =%s%s\n", s->key,
			    s->def != NULL ? " " : "",
			    s->def != NULL ? s->def : "");
		}
	}
}

/* Every default parses as the agent would parse it. */
static int
check_defaults(void)
{
	struct fg_config cfg;
	char err[256];
	int ret = 0;

	if (fg_config_load(NULL, &cfg, err, sizeof(err)) != FG_OK) {
		fprintf(stderr, "fg-settings: the defaults: %s\n", err);
		return 1;
	}
	{
		struct fg_conf_ctx x = {
		    .cfg = &cfg, .err = err, .errlen = sizeof(err)};
		if (fg_gate_client_for(&cfg.gate, "client.test", &x) == NULL ||
		    fg_gate_upstream_for(&cfg.gate, "upstream.test", &x) ==
			NULL) {
			fprintf(stderr, "fg-settings: a default: %s\n", err);
			ret = 1;
		}
	}
	fg_config_clear(&cfg);
	return ret;
}

int
main(int argc, char **argv)
{
	size_t i;

	if (argc != 2) {
		fprintf(
		    stderr, "usage: fg-settings --manual|--sample|--keys\n");
		return 2;
	}
	if (check_defaults() != 0)
		return 1;
	if (strcmp(argv[1], "--manual") == 0)
		manual(stdout);
	else if (strcmp(argv[1], "--sample") == 0)
		sample(stdout);
	else if (strcmp(argv[1], "--keys") == 0)
		for (i = 0; i < fg_settings_count; i++)
			printf("%s %s\n", fg_settings[i].section,
			    fg_settings[i].key);
	else {
		fprintf(
		    stderr, "usage: fg-settings --manual|--sample|--keys\n");
		return 2;
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
