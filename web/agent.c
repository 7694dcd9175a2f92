/*
 * One request to the agent: a connection of its own (fg_client_open trusts
 * only a genuine agent), one call, closed. The connection and the call
 * share one deadline, so no browser waits on the agent longer than the
 * configured time, and an agent that is down, slow or talking nonsense is
 * one answer for the front: unavailable.
 */
#include <stdio.h>
#include <string.h>

#include "web.h"

int
fg_web_call(const struct fg_web_agent *a, json_t *req, json_t **reply,
    struct fg_refusal *why, char *err, size_t errlen)
{
	struct fg_client *c = NULL;
	int64_t deadline = fg_now_ms() + a->timeout_ms, left;
	int r;

	*reply = NULL;
	memset(why, 0, sizeof(*why));
	if (req == NULL) {
		snprintf(err, errlen, "out of memory");
		return FG_ERR_NOMEM;
	}
	if ((r = fg_client_open(a->socket, a->timeout_ms, &c, err, errlen)) !=
	    FG_OK) {
		json_decref(req);
		return r;
	}
	if ((left = deadline - fg_now_ms()) < 1) {
		snprintf(err, errlen,
		    "the agent took longer than %d ms to "
		    "accept the connection",
		    a->timeout_ms);
		json_decref(req);
		fg_client_free(&c);
		return FG_ERR_TIMEOUT;
	}
	r = fg_client_call(c, req, (int)left, reply);
	fg_client_free(&c);
	if (r != FG_OK) {
		snprintf(err, errlen, "the agent did not answer: %s%s",
		    fg_strerror(r),
		    r == FG_ERR_TIMEOUT ? " (still waiting at the deadline)"
					: "");
		return r;
	}
	if (fg_reply_refused(*reply, why)) {
		snprintf(err, errlen, "the agent refused: %s", why->code);
		return FG_ERR_DENIED;
	}
	return FG_OK;
}
