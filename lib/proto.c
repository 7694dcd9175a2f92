/*
 * The agent protocol: one JSON object per SOCK_SEQPACKET record, at most
 * FG_MSG_MAX bytes, each carrying "v": FG_PROTO_VERSION. Record boundaries
 * come from the kernel, so no length prefix can lie and no message can be
 * split or run into the next.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fg.h"

/*
 * A Unix socket's connect() does not wait in the background: with the
 * agent's listen queue full it fails with EAGAIN at once, or, blocking,
 * waits with no bound. So connect without blocking and retry, with a short
 * growing pause, until timeout_ms.
 */
int
fg_connect(const char *path, int timeout_ms, int *fd)
{
	struct sockaddr_un sun;
	int64_t deadline;
	useconds_t pause_us = 1000;
	int s, flags;

	*fd = -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		return FG_ERR_INVALID;
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK,
		 0)) < 0)
		return FG_ERR_IO;
	deadline = fg_now_ms() + (timeout_ms < 0 ? 0 : timeout_ms);
	while (connect(s, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN || fg_now_ms() >= deadline) {
			int e = errno;
			close(s);
			return e == EAGAIN ? FG_ERR_TIMEOUT : FG_ERR_UNAVAIL;
		}
		usleep(pause_us);
		if (pause_us < 50000)
			pause_us *= 2;
	}
	/* replies are waited for with poll(); sends are small and whole */
	if ((flags = fcntl(s, F_GETFL)) < 0 ||
	    fcntl(s, F_SETFL, flags & ~O_NONBLOCK) != 0) {
		close(s);
		return FG_ERR_IO;
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
fg_msg_read(int fd, int timeout_ms, size_t max, char **out, size_t *outlen)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	char *buf;
	ssize_t n;
	int r;

	*out = NULL;
	*outlen = 0;
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
	/* A peer that closed with our record unread leaves ECONNRESET
	 * pending, reported before the records it sent first (a refusal, say):
	 * read on past it once, so that no answer is lost. */
	do
		n = recv(fd, buf, max + 1, MSG_TRUNC | MSG_DONTWAIT);
	while (n < 0 && errno == EINTR);
	if (n < 0 && errno == ECONNRESET)
		do
			n = recv(fd, buf, max + 1, MSG_TRUNC | MSG_DONTWAIT);
		while (n < 0 && errno == EINTR);
	if (n <= 0 || (size_t)n > max) {
		explicit_bzero(buf, max + 1);
		free(buf);
		if (n < 0)
			return errno == EAGAIN ? FG_ERR_TIMEOUT : FG_ERR_IO;
		return n == 0 ? FG_ERR_PROTO : FG_ERR_TOOBIG;
	}
	*out = buf;
	*outlen = (size_t)n;
	return FG_OK;
}

int
fg_msg_parse(const char *buf, size_t len, json_t **out)
{
	json_error_t jerr;

	*out = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (*out != NULL && json_is_object(*out))
		return FG_OK;
	json_decref(*out);
	*out = NULL;
	return FG_ERR_INVALID;
}

int
fg_msg_recv(int fd, int timeout_ms, size_t max, json_t **out)
{
	char *buf = NULL;
	size_t len = 0;
	int ret;

	*out = NULL;
	if ((ret = fg_msg_read(fd, timeout_ms, max, &buf, &len)) != FG_OK)
		return ret;
	ret = fg_msg_parse(buf, len, out);
	fg_wipe_free(buf, len);
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
