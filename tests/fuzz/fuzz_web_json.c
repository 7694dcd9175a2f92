/*
 * libFuzzer: the login page's JSON bodies turned into the agent's
 * requests (web/login.c), and the same bytes read as an agent's reply by
 * every check the front runs before answering (web/reply.c), with the
 * login page rendered from whatever oidc.authorize check accepts
 * (web/html.c). The first byte picks the op. An accepted body must give a
 * request with the op's name and only the members that op takes; a page
 * must hold no unescaped '<' from the reply.
 */
#include <stdlib.h>
#include <string.h>

#include "../../web/web.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const allowed[][7] = {
    {"op", "tx", "user", "password", NULL},
    {"op", "tx", "session", "credential_id", "authenticator_data",
	"client_data_json", "signature"},
    {"op", "tx", "session", "reason", NULL},
};
static const char *const ops[] = {
    FG_OP_WEB_BEGIN, FG_OP_WEB_FINISH, FG_OP_WEB_ABORT};

static bool
member_allowed(unsigned op, const char *name)
{
	size_t i;

	for (i = 0; i < 7 && allowed[op][i] != NULL; i++)
		if (strcmp(allowed[op][i], name) == 0)
			return true;
	return false;
}

static void
replies(const uint8_t *data, size_t size)
{
	json_t *r = json_loadb(
		   (const char *)data, size, JSON_REJECT_DUPLICATES, NULL),
	       *out = NULL;
	struct fg_authz a;
	bool allow;

	if (r == NULL)
		return;
	if (fg_reply_document(r, "jwks", &out) == FG_OK)
		json_decref(out);
	if (fg_reply_begin(r, &out) == FG_OK)
		json_decref(out);
	if (fg_reply_finish(r, &out, &allow) == FG_OK) {
		if (allow && !fg_url_sane(fg_json_str(out, "redirect")))
			abort();
		json_decref(out);
	}
	if (fg_reply_token(r, &out) == FG_OK)
		json_decref(out);
	if (fg_reply_claims(r, &out) == FG_OK)
		json_decref(out);
	fg_reply_oauth_error(r);
	if (fg_reply_authorize(r, &a) == FG_OK) {
		struct fg_login_view v = {
		    FG_LANG_FR, &a, fg_json_str(r, "host")};
		size_t len = 0;
		char *html = fg_html_login(&v, &len);

		/* the client's name and the host are the reply's: escaped,
		 * so no tag opens inside <strong> */
		const char *s = html;
		while (s != NULL && (s = strstr(s, "<strong>")) != NULL) {
			s += strlen("<strong>");
			if (s[0] == '<' && s[1] != '/')
				abort();
		}
		if (html != NULL && strlen(html) != len)
			abort();
		if (html != NULL)
			fg_wipe_free(html, len);
	}
	json_decref(r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL, *name;
	json_t *req = NULL, *v;
	unsigned op;

	if (size == 0)
		return 0;
	op = data[0] % 3;
	if (fg_login_request((enum fg_login_op)op, (const char *)data + 1,
		size - 1, &req, &why) == FG_OK) {
		if (req == NULL || strcmp(fg_json_str(req, "op"), ops[op]) != 0)
			abort();
		json_object_foreach(req, name,
		    v) if (!member_allowed(op, name) || !json_is_string(v))
		    abort();
		json_decref(req);
	} else if (req != NULL || why == NULL) {
		abort();
	}
	replies(data + 1, size - 1);
	return 0;
}
