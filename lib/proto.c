/*
 * The agent protocol: one JSON object per SOCK_SEQPACKET record, at most
 * FG_MSG_MAX bytes, each carrying "v": FG_PROTO_VERSION. Record boundaries
 * come from the kernel, so no length prefix can lie and no message can be
 * split or run into the next.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fg.h"

int
fg_connect(const char *path, int *fd)
{
	struct sockaddr_un sun;
	int s;

	*fd = -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return FG_ERR_INVALID;
	strcpy(sun.sun_path, path);
	if ((s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0)
		return FG_ERR_IO;
	if (connect(s, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		close(s);
		return FG_ERR_UNAVAIL;
	}
	*fd = s;
	return FG_OK;
}

int
fg_msg_send(int fd, const json_t *msg)
{
	char *buf;
	size_t len;
	ssize_t n;

	if ((buf = json_dumps(msg, JSON_COMPACT)) == NULL)
		return FG_ERR_NOMEM;
	len = strlen(buf);
	if (len > FG_MSG_MAX) {
		free(buf);
		return FG_ERR_TOOBIG;
	}
	do
		n = send(fd, buf, len, MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	explicit_bzero(buf, len);
	free(buf);
	if (n < 0 || (size_t)n != len)
		return errno == EPIPE || errno == ECONNRESET ? FG_ERR_PROTO :
							      FG_ERR_IO;
	return FG_OK;
}

int
fg_msg_recv(int fd, int timeout_ms, size_t max, json_t **out)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	json_error_t jerr;
	char *buf;
	ssize_t n;
	int r, ret;

	*out = NULL;
	do
		r = poll(&pfd, 1, timeout_ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return FG_ERR_IO;
	if (r == 0)
		return FG_ERR_TIMEOUT;
	if (max > FG_MSG_MAX)
		max = FG_MSG_MAX;
	if ((buf = malloc(max + 1)) == NULL)
		return FG_ERR_NOMEM;
	do
		n = recv(fd, buf, max + 1, MSG_TRUNC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		ret = errno == EAGAIN ? FG_ERR_TIMEOUT : FG_ERR_IO;
	else if (n == 0)
		ret = FG_ERR_PROTO;
	else if ((size_t)n > max)
		ret = FG_ERR_TOOBIG;
	else if ((*out = json_loadb(buf, (size_t)n, JSON_REJECT_DUPLICATES,
		      &jerr)) == NULL)
		ret = FG_ERR_INVALID;
	else if (!json_is_object(*out)) {
		json_decref(*out);
		*out = NULL;
		ret = FG_ERR_INVALID;
	} else
		ret = FG_OK;
	explicit_bzero(buf, n > 0 && (size_t)n <= max ? (size_t)n : max + 1);
	free(buf);
	return ret;
}

int
fg_call(int fd, const json_t *req, int timeout_ms, json_t **reply)
{
	json_t *r = NULL;
	int ret;

	*reply = NULL;
	if ((ret = fg_msg_send(fd, req)) != FG_OK)
		return ret;
	if ((ret = fg_msg_recv(fd, timeout_ms, FG_MSG_MAX, &r)) != FG_OK)
		return ret == FG_ERR_INVALID || ret == FG_ERR_TOOBIG ?
		    FG_ERR_PROTO : ret;
	if (json_integer_value(json_object_get(r, "v")) != FG_PROTO_VERSION ||
	    !json_is_boolean(json_object_get(r, "ok"))) {
		json_decref(r);
		return FG_ERR_PROTO;
	}
	*reply = r;
	return FG_OK;
}

const char *
fg_json_str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

int
fg_json_b64(const json_t *obj, const char *key, uint8_t **out, size_t *outlen)
{
	const char *s = fg_json_str(obj, key);

	*out = NULL;
	*outlen = 0;
	if (s == NULL)
		return FG_ERR_INVALID;
	return fg_b64url_decode(s, out, outlen);
}

char *
fg_client_data_json(const char *type, const uint8_t *challenge, size_t len,
    const char *origin)
{
	char *chal, *out = NULL;
	json_t *cd;

	if ((chal = fg_b64url_encode(challenge, len)) == NULL)
		return NULL;
	cd = json_pack("{s:s,s:s,s:s,s:b}", "type", type, "challenge", chal,
	    "origin", origin, "crossOrigin", 0);
	if (cd != NULL)
		out = json_dumps(cd, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(cd);
	free(chal);
	return out;
}
