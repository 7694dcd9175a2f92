/*
 * libFuzzer: a request's parameters through the web front's collector
 * (web/params.c), as libmicrohttpd hands them over: the input is cut at
 * '&' into parameters and at the first '=' into name and value; a
 * parameter starting with '\x01' is the next piece of the previous value,
 * as a form value that came in parts. Whatever the collector accepts must
 * keep its promises: names of the allowed alphabet, each once, values of
 * at most FG_PARAM_MAX bytes without NUL, FG_WEB_PARAMS_MAX at most.
 */
#include <stdlib.h>
#include <string.h>

#include "../../web/web.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(struct fg_params *p)
{
	json_t *obj = fg_params_json(p), *v;
	const char *name;
	size_t i, k;

	if (p->n > FG_WEB_PARAMS_MAX)
		abort();
	for (i = 0; i < p->n; i++) {
		if (p->p[i].len > FG_PARAM_MAX ||
		    strlen(p->p[i].value) != p->p[i].len ||
		    strlen(p->p[i].name) == 0 ||
		    strspn(p->p[i].name,
			"abcdefghijklmnopqrstuvwxyzABCDEFGHIJ"
			"KLMNOPQRSTUVWXYZ0123456789_.-") !=
			strlen(p->p[i].name))
			abort(); /* accepted what it promised to refuse */
		for (k = 0; k < i; k++)
			if (strcmp(p->p[i].name, p->p[k].name) == 0)
				abort(); /* a repeat got through */
	}
	if (obj == NULL)
		return;
	json_object_foreach(obj, name, v)
	{
		const char *s = json_string_value(v);
		if (s == NULL || strcmp(s, fg_params_get(p, name)) != 0)
			abort();
	}
	json_decref(obj);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *end = in + size, *amp, *eq;
	struct fg_params p;
	char last[FG_WEB_NAME_MAX + 1] = "";
	char why[128];

	fg_params_init(&p);
	while (in < end && p.err == FG_PARAMS_OK) {
		if ((amp = memchr(in, '&', (size_t)(end - in))) == NULL)
			amp = end;
		if (*in == '\x01') {
			fg_params_append(
			    &p, last, in + 1, (size_t)(amp - in - 1));
		} else if ((eq = memchr(in, '=', (size_t)(amp - in))) == NULL) {
			fg_params_add(&p, in, (size_t)(amp - in), NULL, 0);
		} else {
			fg_params_add(&p, in, (size_t)(eq - in), eq + 1,
			    (size_t)(amp - eq - 1));
		}
		if (p.n > 0)
			memcpy(last, p.p[p.n - 1].name,
			    strlen(p.p[p.n - 1].name) + 1);
		in = amp + 1;
	}
	check(&p);
	fg_params_strerror(&p, why, sizeof(why));
	fg_params_clear(&p);
	return 0;
}
