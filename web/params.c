/*
 * The parameters of one request, as libmicrohttpd parsed them from the
 * query or the form body, collected and checked before any reaches the
 * agent: each at most once (RFC 6749 §3.1), bounded in size and count,
 * names from a small alphabet (they go into logs), values without NUL and
 * in UTF-8 (they go into JSON).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web.h"

static enum fg_params_err
fail(struct fg_params *p, enum fg_params_err err, const char *name,
    size_t name_len)
{
	if (p->err != FG_PARAMS_OK)
		return p->err;
	p->err = err;
	if (name_len > FG_WEB_NAME_MAX)
		name_len = FG_WEB_NAME_MAX;
	memcpy(p->err_name, name, name_len);
	p->err_name[name_len] = '\0';
	return err;
}

static bool
name_valid(const char *name, size_t len)
{
	size_t i;

	if (len == 0 || len > FG_WEB_NAME_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '_' || c == '.' ||
			c == '-'))
			return false;
	}
	return true;
}

void
fg_params_init(struct fg_params *p)
{
	memset(p, 0, sizeof(*p));
}

enum fg_params_err
fg_params_add(struct fg_params *p, const char *name, size_t name_len,
    const char *value, size_t value_len)
{
	struct fg_param *e;
	size_t i;

	if (p->err != FG_PARAMS_OK)
		return p->err;
	if (name == NULL || !name_valid(name, name_len))
		/* the name itself is unfit for a log: say nothing of it */
		return fail(p, FG_PARAMS_BAD_NAME, "", 0);
	for (i = 0; i < p->n; i++)
		if (strlen(p->p[i].name) == name_len &&
		    memcmp(p->p[i].name, name, name_len) == 0)
			return fail(p, FG_PARAMS_REPEATED, name, name_len);
	if (p->n == FG_WEB_PARAMS_MAX)
		return fail(p, FG_PARAMS_TOO_MANY, name, name_len);
	e = &p->p[p->n];
	memcpy(e->name, name, name_len);
	e->name[name_len] = '\0';
	if ((e->value = malloc(1)) == NULL)
		return fail(p, FG_PARAMS_NOMEM, name, name_len);
	e->value[0] = '\0';
	e->len = 0;
	p->n++;
	if (value == NULL || value_len == 0)
		return FG_PARAMS_OK;
	return fg_params_append(p, name, value, value_len);
}

enum fg_params_err
fg_params_append(
    struct fg_params *p, const char *name, const char *value, size_t value_len)
{
	struct fg_param *e;
	char *v;

	if (p->err != FG_PARAMS_OK)
		return p->err;
	if (p->n == 0 || name == NULL || strcmp(p->p[p->n - 1].name, name) != 0)
		return fail(p, FG_PARAMS_BAD_NAME, "", 0);
	e = &p->p[p->n - 1];
	if (value_len == 0)
		return FG_PARAMS_OK;
	if (value_len > FG_PARAM_MAX || e->len + value_len > FG_PARAM_MAX)
		return fail(p, FG_PARAMS_TOO_LONG, e->name, strlen(e->name));
	if (memchr(value, '\0', value_len) != NULL)
		return fail(p, FG_PARAMS_BAD_VALUE, e->name, strlen(e->name));
	if ((v = malloc(e->len + value_len + 1)) == NULL)
		return fail(p, FG_PARAMS_NOMEM, e->name, strlen(e->name));
	memcpy(v, e->value, e->len);
	memcpy(v + e->len, value, value_len);
	v[e->len + value_len] = '\0';
	fg_wipe_free(e->value, e->len + 1);
	e->value = v;
	e->len += value_len;
	return FG_PARAMS_OK;
}

const char *
fg_params_get(const struct fg_params *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->p[i].name, name) == 0)
			return p->p[i].len > 0 ? p->p[i].value : NULL;
	return NULL;
}

json_t *
fg_params_json(struct fg_params *p)
{
	json_t *obj, *v;
	size_t i;

	if (p->err != FG_PARAMS_OK)
		return NULL;
	if ((obj = json_object()) == NULL) {
		fail(p, FG_PARAMS_NOMEM, "", 0);
		return NULL;
	}
	for (i = 0; i < p->n; i++) {
		if (p->p[i].len == 0)
			continue;
		/* NULL: not UTF-8 (or, rarely, no memory: refused all the same)
		 */
		if ((v = json_stringn(p->p[i].value, p->p[i].len)) == NULL) {
			fail(p, FG_PARAMS_BAD_VALUE, p->p[i].name,
			    strlen(p->p[i].name));
			json_decref(obj);
			return NULL;
		}
		if (json_object_set_new(obj, p->p[i].name, v) != 0) {
			fail(p, FG_PARAMS_NOMEM, "", 0);
			json_decref(obj);
			return NULL;
		}
	}
	return obj;
}

const char *
fg_params_strerror(const struct fg_params *p, char *buf, size_t len)
{
	switch (p->err) {
	case FG_PARAMS_OK:
		snprintf(buf, len, "no error");
		break;
	case FG_PARAMS_REPEATED:
		snprintf(buf, len, "the parameter %s is repeated", p->err_name);
		break;
	case FG_PARAMS_TOO_LONG:
		snprintf(buf, len, "the parameter %s is longer than %d bytes",
		    p->err_name, FG_PARAM_MAX);
		break;
	case FG_PARAMS_TOO_MANY:
		snprintf(
		    buf, len, "more than %d parameters", FG_WEB_PARAMS_MAX);
		break;
	case FG_PARAMS_BAD_NAME:
		snprintf(buf, len, "a parameter name is malformed");
		break;
	case FG_PARAMS_BAD_VALUE:
		snprintf(buf, len,
		    "the parameter %s is not text (a NUL, or not UTF-8)",
		    p->err_name);
		break;
	case FG_PARAMS_NOMEM:
	default:
		snprintf(buf, len, "out of memory");
		break;
	}
	return buf;
}

void
fg_params_clear(struct fg_params *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		fg_wipe_free(p->p[i].value, p->p[i].len + 1);
	memset(p, 0, sizeof(*p));
}
