/*
 * The login page's JSON bodies (POST /login/begin, /login/finish,
 * /login/abort) turned into the agent's requests web.begin, web.finish
 * and web.abort (docs/oidc.md), and the enrolment page's (POST
 * /invite/begin, /invite/finish) into invite.begin and invite.finish. jansson parses (one object, no repeated
 * member); this file takes only the members each op knows, each of its
 * type and size, and refuses anything else, so a page, or someone posing
 * as one, cannot slip the agent a member it did not expect.
 */
#include <stdlib.h>
#include <string.h>

#include "web.h"

enum kind {
	K_ID,	  /* base64url of exactly min bytes: tx, session */
	K_B64,	  /* base64url of min..max bytes */
	K_TEXT,	  /* printable UTF-8 (fg_text_printable), min..max bytes */
	K_SECRET, /* any UTF-8 without NUL, min..max bytes */
};

struct member {
	const char *name;
	enum kind kind;
	size_t min, max;
	bool required;
};

#define END_OF_MEMBERS                                                         \
	{                                                                      \
		NULL, K_TEXT, 0, 0, false                                      \
	}

static const struct member begin_members[] = {
    {"tx", K_ID, FG_TX_LEN, FG_TX_LEN, true},
    {"user", K_TEXT, 1, FG_WEB_USER_MAX, true},
    {"password", K_SECRET, 1, FG_WEB_PASSWORD_MAX, false},
    END_OF_MEMBERS,
};

static const struct member finish_members[] = {
    {"tx", K_ID, FG_TX_LEN, FG_TX_LEN, true},
    {"session", K_ID, FG_SESSION_LEN, FG_SESSION_LEN, true},
    {"credential_id", K_B64, 1, FG_CRED_ID_MAX, true},
    {"authenticator_data", K_B64, FG_AD_MIN, FG_WEB_B64_MAX, true},
    {"client_data_json", K_B64, 1, FG_WEB_B64_MAX, true},
    {"signature", K_B64, 1, FG_WEB_SIG_MAX, true},
    END_OF_MEMBERS,
};

static const struct member abort_members[] = {
    {"tx", K_ID, FG_TX_LEN, FG_TX_LEN, true},
    {"session", K_ID, FG_SESSION_LEN, FG_SESSION_LEN, true},
    {"reason", K_TEXT, 1, FG_TEXT_MAX, true},
    END_OF_MEMBERS,
};

/* an invitation's page: the first factor, then the new key */
static const struct member invite_begin_members[] = {
    {"tx", K_ID, FG_TX_LEN, FG_TX_LEN, true},
    {"password", K_SECRET, 1, FG_WEB_PASSWORD_MAX, false},
    END_OF_MEMBERS,
};

static const struct member invite_finish_members[] = {
    {"tx", K_ID, FG_TX_LEN, FG_TX_LEN, true},
    {"session", K_ID, FG_SESSION_LEN, FG_SESSION_LEN, true},
    {"attestation_object", K_B64, FG_AD_MIN, FG_WEB_B64_MAX, true},
    {"client_data_json", K_B64, 1, FG_WEB_B64_MAX, true},
    END_OF_MEMBERS,
};

static bool
member_valid(const struct member *m, const json_t *v)
{
	const char *s = json_string_value(v);
	size_t n = json_string_length(v), dlen = 0;
	uint8_t *d = NULL;
	bool ok;

	if (s == NULL || strlen(s) != n) /* a string, with no NUL inside */
		return false;
	switch (m->kind) {
	case K_ID:
	case K_B64:
		if (n > FG_WEB_B64_MAX / 3 * 4 + 4)
			return false;
		ok = fg_b64url_decode(s, &d, &dlen) == FG_OK &&
		    dlen >= m->min && dlen <= m->max;
		free(d);
		return ok;
	case K_TEXT:
		return n >= m->min && n <= m->max && fg_text_printable(s, n);
	case K_SECRET:
	default:
		return n >= m->min && n <= m->max;
	}
}

static const struct member *
find(const struct member *members, const char *name)
{
	for (; members->name != NULL; members++)
		if (strcmp(members->name, name) == 0)
			return members;
	return NULL;
}

int
fg_login_request(enum fg_login_op op, const char *body, size_t len,
    json_t **req, const char **why)
{
	const struct member *members, *m;
	const char *name, *opname;
	json_t *in = NULL, *out = NULL, *v;
	json_error_t jerr;
	int ret = FG_ERR_INVALID;

	*req = NULL;
	switch (op) {
	case FG_LOGIN_BEGIN:
		members = begin_members;
		opname = FG_OP_WEB_BEGIN;
		break;
	case FG_LOGIN_FINISH:
		members = finish_members;
		opname = FG_OP_WEB_FINISH;
		break;
	case FG_INVITE_BEGIN:
		members = invite_begin_members;
		opname = FG_OP_INVITE_BEGIN;
		break;
	case FG_INVITE_FINISH:
		members = invite_finish_members;
		opname = FG_OP_INVITE_FINISH;
		break;
	case FG_LOGIN_ABORT:
	default:
		members = abort_members;
		opname = FG_OP_WEB_ABORT;
		break;
	}
	in = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(in)) {
		*why =
		    "the body is not one JSON object without repeated members";
		goto out;
	}
	json_object_foreach(in, name, v)
	{
		if ((m = find(members, name)) == NULL) {
			*why =
			    "the body has a member this request does not take";
			goto out;
		}
		if (!member_valid(m, v)) {
			*why =
			    "a member of the body is of the wrong type or size";
			goto out;
		}
	}
	for (m = members; m->name != NULL; m++)
		if (m->required && json_object_get(in, m->name) == NULL) {
			*why = "the body lacks a member this request needs";
			goto out;
		}
	if ((out = json_pack("{s:s}", "op", opname)) == NULL ||
	    json_object_update(out, in) != 0) {
		*why = "out of memory";
		ret = FG_ERR_NOMEM;
		goto out;
	}
	*req = out;
	out = NULL;
	ret = FG_OK;
out:
	json_decref(in);
	json_decref(out);
	return ret;
}
