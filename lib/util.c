/*
 * Small helpers every part needs: error strings, hashing, randomness,
 * user-name rules and wiping.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "fg.h"

const char *
fg_strerror(int err)
{
	switch (err) {
	case FG_OK:
		return "success";
	case FG_ERR_NOMEM:
		return "out of memory";
	case FG_ERR_INVALID:
		return "malformed input";
	case FG_ERR_IO:
		return "input/output error";
	case FG_ERR_PROTO:
		return "protocol error";
	case FG_ERR_NOTFOUND:
		return "not found";
	case FG_ERR_DENIED:
		return "permission denied";
	case FG_ERR_UNAVAIL:
		return "the agent cannot be reached";
	case FG_ERR_TIMEOUT:
		return "timed out";
	case FG_ERR_TOOBIG:
		return "message too large";
	case FG_ERR_EXISTS:
		return "already exists";
	case FG_ERR_UNSUPPORTED:
		return "not supported";
	case FG_ERR_STORE:
		return "the credential store failed";
	case FG_ERR_LIMIT:
		return "a limit was reached";
	default:
		return "internal error";
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
