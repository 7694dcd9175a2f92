/*
 * The login page's script and style, built into the binary (.incbin of
 * web/static/), so the front needs no files at run time and serves
 * exactly what was reviewed with the code.
 */
#include <string.h>

#include "web.h"

#define EMBED(sym, file)                                                       \
	".globl " sym "_start\n.hidden " sym "_start\n"                        \
	".globl " sym "_end\n.hidden " sym "_end\n"                            \
	".balign 16\n" sym "_start:\n.incbin \"" file "\"\n" sym "_end:\n"

__asm__(".section .rodata\n" EMBED("fg_login_js", "web/static/login.js")
	EMBED("fg_login_css", "web/static/login.css")
	    EMBED("fg_enrol_js", "web/static/enrol.js") ".previous\n");

#define HIDDEN __attribute__((visibility("hidden")))
extern const unsigned char fg_login_js_start[] HIDDEN, fg_login_js_end[] HIDDEN;
extern const unsigned char fg_login_css_start[] HIDDEN,
    fg_login_css_end[] HIDDEN;
extern const unsigned char fg_enrol_js_start[] HIDDEN, fg_enrol_js_end[] HIDDEN;

static const struct fg_static files[] = {
    {"/static/login.js", "text/javascript; charset=utf-8", fg_login_js_start,
	fg_login_js_end},
    {"/static/login.css", "text/css; charset=utf-8", fg_login_css_start,
	fg_login_css_end},
    {"/static/enrol.js", "text/javascript; charset=utf-8", fg_enrol_js_start,
	fg_enrol_js_end},
};

const struct fg_static *
fg_static_find(const char *path)
{
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++)
		if (strcmp(path, files[i].path) == 0)
			return &files[i];
	return NULL;
}
