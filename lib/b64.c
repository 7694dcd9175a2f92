/*
 * base64url without padding (RFC 4648 §5), as WebAuthn uses it, and plain
 * base64 with padding (§4), as pam-u2f's files hold it. The alphabet is
 * checked here; the decoding itself is OpenSSL's.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "fg.h"

int
fg_b64url_decode(const char *in, uint8_t **out, size_t *outlen)
{
	size_t n = strlen(in), padded, i;
	char *tmp = NULL;
	uint8_t *buf = NULL;
	int len, ret = FG_ERR_INVALID;

	if (n % 4 == 1 || n > (1u << 24))
		goto out;
	padded = (n + 3) / 4 * 4;
	if ((tmp = malloc(padded + 1)) == NULL ||
	    (buf = malloc(padded / 4 * 3 + 1)) == NULL) {
		ret = FG_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		char c = in[i];
		if (c == '-')
			c = '+';
		else if (c == '_')
			c = '/';
		else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			     (c >= '0' && c <= '9')))
			goto out;
		tmp[i] = c;
	}
	for (; i < padded; i++)
		tmp[i] = '=';
	tmp[padded] = '\0';
	if (padded == 0) {
		*out = buf;
		*outlen = 0;
		buf = NULL;
		ret = FG_OK;
		goto out;
	}
	if ((len = EVP_DecodeBlock(buf, (unsigned char *)tmp, (int)padded)) < 0)
		goto out;
	*outlen = (size_t)len - (padded - n);
	*out = buf;
	buf = NULL;
	ret = FG_OK;
out:
	free(tmp);
	free(buf);
	return ret;
}

char *
fg_b64url_encode(const uint8_t *in, size_t len)
{
	char *s;
	size_t i;
	int n;

	if (len > (1u << 24) || (s = malloc((len + 2) / 3 * 4 + 1)) == NULL)
		return NULL;
	n = EVP_EncodeBlock((unsigned char *)s, in, (int)len);
	while (n > 0 && s[n - 1] == '=')
		n--;
	s[n] = '\0';
	for (i = 0; i < (size_t)n; i++) {
		if (s[i] == '+')
			s[i] = '-';
		else if (s[i] == '/')
			s[i] = '_';
	}
	return s;
}

/* Plain base64 (RFC 4648 §4): padded to a multiple of four, '=' only at
 * the end, nothing else but the alphabet. */
int
fg_b64_decode(const char *in, uint8_t **out, size_t *outlen)
{
	size_t n = strlen(in), pad = 0, i;
	uint8_t *buf = NULL;
	int len, ret = FG_ERR_INVALID;

	if (n == 0 || n % 4 != 0 || n > (1u << 24))
		goto out;
	while (pad < 2 && in[n - 1 - pad] == '=')
		pad++;
	for (i = 0; i < n - pad; i++) {
		char c = in[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || c == '+' || c == '/'))
			goto out;
	}
	if ((buf = malloc(n / 4 * 3 + 1)) == NULL) {
		ret = FG_ERR_NOMEM;
		goto out;
	}
	if ((len = EVP_DecodeBlock(buf, (const unsigned char *)in, (int)n)) <
		(int)pad)
		goto out;
	*outlen = (size_t)len - pad;
	*out = buf;
	buf = NULL;
	ret = FG_OK;
out:
	free(buf);
	return ret;
}
