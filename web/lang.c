/*
 * The page's language: English or French, from OpenID Connect's
 * ui_locales when the client sent it, else from Accept-Language (RFC 9110
 * §12.5.4) with its q-values. A malformed element of the header is
 * skipped, not fatal: the worst a bad header gets is the default, English.
 */
#include <stdbool.h>
#include <string.h>

#include "web.h"

static const char *const codes[] = {"en", "fr"};
#define N_LANGS (sizeof(codes) / sizeof(codes[0]))

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_alnum(char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9');
}

static bool
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* A language range (1*8ALPHA *("-" 1*8alphanum)) in s[0..len): the index
 * of our language its primary subtag names, N_LANGS for another one, or -1
 * when malformed. */
static int
range_lang(const char *s, size_t len)
{
	size_t i = 0, primary, sub, k;

	while (i < len && is_alpha(s[i]))
		i++;
	primary = i;
	if (primary == 0 || primary > 8)
		return -1;
	while (i < len) {
		if (s[i++] != '-')
			return -1;
		for (sub = 0; i < len && is_alnum(s[i]); i++)
			sub++;
		if (sub == 0 || sub > 8)
			return -1;
	}
	for (k = 0; k < N_LANGS; k++)
		if (primary == strlen(codes[k]) && lower(s[0]) == codes[k][0] &&
		    lower(s[1]) == codes[k][1])
			return (int)k;
	return (int)N_LANGS;
}

/* qvalue = ("0" ["." 0*3DIGIT]) / ("1" ["." 0*3"0"]), in thousandths;
 * -1 when malformed */
static int
qvalue(const char *s, size_t len)
{
	int q, scale = 100;
	size_t i;

	if (len == 0 || (s[0] != '0' && s[0] != '1'))
		return -1;
	q = s[0] == '1' ? 1000 : 0;
	if (len == 1)
		return q;
	if (s[1] != '.' || len > 5)
		return -1;
	for (i = 2; i < len; i++, scale /= 10) {
		if (s[i] < '0' || s[i] > '9' || (q == 1000 && s[i] != '0'))
			return -1;
		q += (s[i] - '0') * scale;
	}
	return q;
}

/* One element: range [OWS ";" OWS "q=" qvalue], OWS trimmed. Sets *lang
 * (as range_lang, or N_LANGS + 1 for "*") and *q; false when malformed. */
static bool
element(const char *s, size_t len, int *lang, int *q)
{
	size_t r = 0, i;

	while (r < len && s[r] != ';' && !is_ows(s[r]))
		r++;
	if (r == 1 && s[0] == '*')
		*lang = (int)N_LANGS + 1;
	else if ((*lang = range_lang(s, r)) < 0)
		return false;
	*q = 1000;
	i = r;
	while (i < len && is_ows(s[i]))
		i++;
	if (i == len)
		return true;
	if (s[i++] != ';')
		return false;
	while (i < len && is_ows(s[i]))
		i++;
	if (len - i < 2 || lower(s[i]) != 'q' || s[i + 1] != '=')
		return false;
	return (*q = qvalue(s + i + 2, len - i - 2)) >= 0;
}

enum fg_lang
fg_lang_accept(const char *header)
{
	int best_q[N_LANGS], first[N_LANGS], star_q = -1, n = 0, lang, q;
	int pick = -1, pick_q = 0, pick_pos = 0;
	size_t k, start, end;

	for (k = 0; k < N_LANGS; k++) {
		best_q[k] = -1;
		first[k] = 0;
	}
	if (header == NULL)
		return FG_LANG_EN;
	for (start = 0;; start = end + 1) {
		end = start;
		while (header[end] != '\0' && header[end] != ',')
			end++;
		while (start < end && is_ows(header[start]))
			start++;
		k = end;
		while (k > start && is_ows(header[k - 1]))
			k--;
		if (k > start &&
		    element(header + start, k - start, &lang, &q)) {
			n++;
			if (lang == (int)N_LANGS + 1) {
				if (q > star_q)
					star_q = q;
			} else if (lang < (int)N_LANGS) {
				if (best_q[lang] < 0)
					first[lang] = n;
				if (q > best_q[lang])
					best_q[lang] = q;
			}
		}
		if (header[end] == '\0')
			break;
	}
	/* "*" stands for every language the header does not name, ranked
	 * after those it names */
	for (k = 0; k < N_LANGS; k++) {
		int kq = best_q[k] >= 0 ? best_q[k] : star_q;
		int pos = best_q[k] >= 0 ? first[k] : n + 1 + (int)k;

		if (kq > pick_q || (kq == pick_q && kq > 0 && pos < pick_pos)) {
			pick = (int)k;
			pick_q = kq;
			pick_pos = pos;
		}
	}
	return pick == FG_LANG_FR ? FG_LANG_FR : FG_LANG_EN;
}

bool
fg_lang_ui_locales(const char *ui_locales, enum fg_lang *out)
{
	size_t start, end;
	int lang;

	if (ui_locales == NULL)
		return false;
	for (start = 0;; start = end + 1) {
		end = start;
		while (ui_locales[end] != '\0' && ui_locales[end] != ' ')
			end++;
		if (end > start &&
		    (lang = range_lang(ui_locales + start, end - start)) >= 0 &&
		    lang < (int)N_LANGS) {
			*out = lang == FG_LANG_FR ? FG_LANG_FR : FG_LANG_EN;
			return true;
		}
		if (ui_locales[end] == '\0')
			return false;
	}
}

const char *
fg_lang_code(enum fg_lang lang)
{
	return lang == FG_LANG_FR ? "fr" : "en";
}
