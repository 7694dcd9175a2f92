/*
 * A growing text buffer for the pages and bodies the front writes, with
 * the one HTML escaper every value goes through on its way into a page.
 */
#include <stdlib.h>
#include <string.h>

#include "web.h"

#define FG_BUF_MAX (1u << 20) /* no page of ours comes near */

static bool
grow(struct fg_buf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->failed)
		return false;
	if (n > FG_BUF_MAX || b->len + n + 1 > FG_BUF_MAX) {
		b->failed = true;
		return false;
	}
	if (b->len + n + 1 <= b->cap)
		return true;
	cap = b->cap != 0 ? b->cap : 1024;
	while (cap < b->len + n + 1)
		cap *= 2;
	if ((p = malloc(cap)) == NULL) {
		b->failed = true;
		return false;
	}
	if (b->p != NULL) {
		memcpy(p, b->p, b->len);
		fg_wipe_free(b->p, b->cap);
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void
fg_buf_add(struct fg_buf *b, const char *s, size_t n)
{
	if (!grow(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
fg_buf_str(struct fg_buf *b, const char *s)
{
	fg_buf_add(b, s, strlen(s));
}

void
fg_buf_urlenc(struct fg_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	char esc[3];

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			fg_buf_add(b, s, 1);
			continue;
		}
		esc[0] = '%';
		esc[1] = hex[c >> 4];
		esc[2] = hex[c & 15];
		fg_buf_add(b, esc, 3);
	}
}

void
fg_buf_html(struct fg_buf *b, const char *s)
{
	const char *run = s;

	for (; *s != '\0'; s++) {
		const char *rep;
		unsigned char c = (unsigned char)*s;

		switch (c) {
		case '&':
			rep = "&amp;";
			break;
		case '<':
			rep = "&lt;";
			break;
		case '>':
			rep = "&gt;";
			break;
		case '"':
			rep = "&quot;";
			break;
		case '\'':
			rep = "&#39;";
			break;
		default:
			rep = (c < 0x20 && c != '\t' && c != '\n') || c == 0x7f
			    ? ""
			    : NULL;
			break;
		}
		if (rep == NULL)
			continue;
		fg_buf_add(b, run, (size_t)(s - run));
		fg_buf_str(b, rep);
		run = s + 1;
	}
	fg_buf_add(b, run, (size_t)(s - run));
}

char *
fg_buf_take(struct fg_buf *b, size_t *len)
{
	char *p;

	if (b->failed || !grow(b, 0)) {
		fg_buf_free(b);
		return NULL;
	}
	p = b->p;
	*len = b->len;
	memset(b, 0, sizeof(*b));
	return p;
}

void
fg_buf_free(struct fg_buf *b)
{
	if (b->p != NULL)
		fg_wipe_free(b->p, b->cap);
	memset(b, 0, sizeof(*b));
}
