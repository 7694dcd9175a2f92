/*
 * Small helpers every part needs: error strings, hashing, randomness,
 * user-name rules and wiping.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "fg.h"
#include "intl.h"

const char *
fg_strerror(int err)
{
	switch (err) {
	case FG_OK:
		return N_("success");
	case FG_ERR_NOMEM:
		return N_("out of memory");
	case FG_ERR_INVALID:
		return N_("malformed input");
	case FG_ERR_IO:
		return N_("input/output error");
	case FG_ERR_PROTO:
		return N_("protocol error");
	case FG_ERR_NOTFOUND:
		return N_("not found");
	case FG_ERR_DENIED:
		return N_("permission denied");
	case FG_ERR_UNAVAIL:
		return N_("the agent cannot be reached");
	case FG_ERR_TIMEOUT:
		return N_("timed out");
	case FG_ERR_TOOBIG:
		return N_("message too large");
	case FG_ERR_EXISTS:
		return N_("already exists");
	case FG_ERR_UNSUPPORTED:
		return N_("not supported");
	case FG_ERR_STORE:
		return N_("the credential store failed");
	case FG_ERR_LIMIT:
		return N_("a limit was reached");
	default:
		return N_("internal error");
	}
}

void
fg_sha256(const void *in, size_t len, uint8_t out[32])
{
	SHA256(in, len, out);
}

int
fg_random(void *buf, size_t len)
{
	if (len > 1024 || RAND_bytes(buf, (int)len) != 1)
		return FG_ERR_INTERNAL;
	return FG_OK;
}

/* POSIX portable names plus '@' (for realm-style names); never a leading
 * '-' or '+' (pam_unix's rule), never empty, never longer than 256. */
bool
fg_user_name_valid(const char *name)
{
	size_t i, n;

	if (name == NULL || (n = strlen(name)) == 0 || n > 256)
		return false;
	if (name[0] == '-' || name[0] == '+')
		return false;
	for (i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '.' || c == '_' ||
			c == '-' || c == '@' || (c == '$' && i == n - 1)))
			return false;
	}
	return true;
}

void
fg_wipe_free(void *p, size_t len)
{
	if (p == NULL)
		return;
	OPENSSL_cleanse(p, len);
	free(p);
}

/* Monotonic milliseconds: for deadlines, never for dates. */
int64_t
fg_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The code points a terminal acts on rather than shows, in UTF-8 that
 * jansson has already checked: C0 controls and DEL, C1 controls (U+0080
 * to U+009F: C2 80..9F), and the bidirectional marks and overrides
 * (U+200E/F: E2 80 8E/8F; U+202A..E: E2 80 AA..AE; U+2066..9: E2 81
 * A6..A9). Returns the length of the sequence at p, or 0 when it is shown.
 */
static size_t
control_len(const unsigned char *p, size_t left)
{
	if (p[0] < 0x20 || p[0] == 0x7f)
		return 1;
	if (p[0] == 0xc2 && left >= 2 && p[1] >= 0x80 && p[1] <= 0x9f)
		return 2;
	if (p[0] == 0xe2 && left >= 3 &&
	    ((p[1] == 0x80 &&
		 (p[2] == 0x8e || p[2] == 0x8f || (p[2] >= 0xaa && p[2] <= 0xae))) ||
		(p[1] == 0x81 && p[2] >= 0xa6 && p[2] <= 0xa9)))
		return 3;
	return 0;
}

bool
fg_text_printable(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (control_len((const unsigned char *)s + i, len - i) != 0)
			return false;
	return true;
}

const char *
fg_text_escape(const char *s, char *buf, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0, o = 0, c, k;

	if (len == 0)
		return "";
	while (i < n && o + 1 < len) {
		if ((c = control_len(p + i, n - i)) == 0) {
			buf[o++] = (char)p[i++];
			continue;
		}
		for (k = 0; k < c && o + 5 < len; k++, i++)
			o += (size_t)snprintf(buf + o, len - o, "\\x%02x", p[i]);
		if (k < c)
			break;
	}
	buf[o] = '\0';
	return buf;
}
