/*
 * Client credentials from the Authorization header: client_secret_basic
 * (RFC 6749 §2.3.1, RFC 7617), whose id and secret are form-urlencoded
 * before they are joined and base64-encoded, and the Bearer token of
 * RFC 6750 §2.1. The base64 decoding is OpenSSL's and the percent
 * decoding libmicrohttpd's; this file checks the syntax around them.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <microhttpd.h>
#include <openssl/evp.h>

#include "web.h"

static bool
is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	    (c >= 'A' && c <= 'F');
}

static bool
is_b64(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '+' || c == '/';
}

/* "Scheme" and one or more spaces at the start of header (case-insensitive):
 * the credentials after them ("" for the scheme alone), or NULL when the
 * scheme is another. */
static const char *
after_scheme(const char *header, const char *scheme)
{
	size_t n = strlen(scheme);

	if (header == NULL || strncasecmp(header, scheme, n) != 0 ||
	    (header[n] != ' ' && header[n] != '\0'))
		return NULL;
	header += n;
	while (*header == ' ')
		header++;
	return header;
}

int
fg_form_decode(char *s, size_t *len)
{
	size_t i, n = strlen(s);

	for (i = 0; i < n; i++) {
		if (s[i] == '%' &&
		    (i + 2 >= n || !is_hex(s[i + 1]) || !is_hex(s[i + 2])))
			return FG_ERR_INVALID;
		if (s[i] == '+')
			s[i] = ' ';
	}
	n = MHD_http_unescape(s);
	if (memchr(s, '\0', n) != NULL)
		return FG_ERR_INVALID;
	*len = n;
	return FG_OK;
}

int
fg_basic_decode(const char *header, char **id, char **secret)
{
	const char *b64 = after_scheme(header, "Basic");
	unsigned char *raw = NULL;
	char *colon, *i_out = NULL, *s_out = NULL;
	size_t n, pad = 0, i, rawlen = 0, ilen, slen;
	int dec, ret = FG_ERR_INVALID;

	*id = NULL;
	*secret = NULL;
	if (b64 == NULL)
		return FG_ERR_NOTFOUND;
	n = strlen(b64);
	if (n == 0 || n % 4 != 0 || n > FG_WEB_BASIC_MAX)
		goto out;
	while (pad < 2 && b64[n - 1 - pad] == '=')
		pad++;
	for (i = 0; i < n - pad; i++)
		if (!is_b64(b64[i]))
			goto out;
	rawlen = n / 4 * 3 + 1;
	if ((raw = malloc(rawlen)) == NULL) {
		ret = FG_ERR_NOMEM;
		goto out;
	}
	if ((dec = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)n)) <
	    (int)pad)
		goto out;
	n = (size_t)dec - pad; /* EVP_DecodeBlock counts the padding's zeros */
	raw[n] = '\0';
	if (memchr(raw, '\0', n) != NULL ||
	    (colon = strchr((char *)raw, ':')) == NULL || colon == (char *)raw)
		goto out;
	*colon = '\0';
	if ((i_out = strdup((char *)raw)) == NULL ||
	    (s_out = strdup(colon + 1)) == NULL) {
		ret = FG_ERR_NOMEM;
		goto out;
	}
	if (fg_form_decode(i_out, &ilen) != FG_OK || ilen == 0 ||
	    ilen > FG_PARAM_MAX || fg_form_decode(s_out, &slen) != FG_OK ||
	    slen > FG_PARAM_MAX)
		goto out;
	*id = i_out;
	*secret = s_out;
	i_out = s_out = NULL;
	ret = FG_OK;
out:
	if (raw != NULL)
		fg_wipe_free(raw, rawlen);
	free(i_out);
	if (s_out != NULL)
		fg_wipe_free(s_out, strlen(s_out) + 1);
	return ret;
}

int
fg_bearer_token(const char *header, const char **token, size_t *len)
{
	const char *t = after_scheme(header, "Bearer");
	size_t n = 0;

	if (t == NULL)
		return FG_ERR_NOTFOUND;
	/* b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" )
	 * *"=" */
	while (is_b64(t[n]) || t[n] == '-' || t[n] == '.' || t[n] == '_' ||
	    t[n] == '~')
		n++;
	if (n == 0)
		return FG_ERR_INVALID;
	while (t[n] == '=')
		n++;
	if (t[n] != '\0' || n > FG_WEB_BASIC_MAX)
		return FG_ERR_INVALID;
	*token = t;
	*len = n;
	return FG_OK;
}
