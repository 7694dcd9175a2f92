/*
 * libFuzzer: the web front's language choice (web/lang.c), from an
 * Accept-Language header and from OpenID Connect's ui_locales. Any input
 * gives one of our languages; a header that names only French with a
 * positive weight gives French.
 */
#include <stdlib.h>
#include <string.h>

#include "../../web/web.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	enum fg_lang l, u = FG_LANG_EN;
	char *s, *fr;

	if ((s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	l = fg_lang_accept(s);
	if (l != FG_LANG_EN && l != FG_LANG_FR)
		abort();
	if (fg_lang_ui_locales(s, &u) && u != FG_LANG_EN && u != FG_LANG_FR)
		abort();
	/* the same header with a plain "fr" in front still picks French
	 * unless it also names English, or fr with q=0, or "*" outranks */
	if ((fr = malloc(size + 8)) != NULL) {
		memcpy(fr, "fr, ", 4);
		memcpy(fr + 4, s, size + 1);
		if (strstr(s, "en") == NULL && strstr(s, "EN") == NULL &&
		    strstr(s, "eN") == NULL && strstr(s, "En") == NULL &&
		    strchr(s, '*') == NULL && strchr(s, ',') == NULL &&
		    fg_lang_accept(fr) != FG_LANG_FR)
			abort();
		free(fr);
	}
	free(s);
	return 0;
}
