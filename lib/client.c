/*
 * The client side of the agent protocol (include/fido2gate/client.h):
 * a trusted connection, bounded waits, and replies checked once into
 * typed structs.
 */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "fg.h"

struct fg_client {
	int fd;
};

/* The socket's folder: writable by nobody but root or the socket's owner,
 * so nobody else could have put the socket there. */
static bool
folder_trusted(const char *path, uid_t owner)
{
	char dir[PATH_MAX];
	struct stat db;

	if (strlen(path) >= sizeof(dir))
		return false;
	memcpy(dir, path, strlen(path) + 1);
	return stat(dirname(dir), &db) == 0 && S_ISDIR(db.st_mode) &&
	    (db.st_mode & 022) == 0 && (db.st_uid == 0 || db.st_uid == owner);
}

int
fg_client_open(const char *path, int timeout_ms, struct fg_client **out,
    char *err, size_t errlen)
{
	struct fg_client *c = NULL;
	struct stat sb;
	struct ucred uc;
	socklen_t len = sizeof(uc);
	int fd = -1, r, ret = FG_ERR_INTERNAL;

	*out = NULL;
	if (path == NULL || path[0] != '/' || strlen(path) >= FG_SOCKET_PATH_MAX) {
		snprintf(err, errlen, "the socket path must be absolute and "
				      "shorter than %d bytes", FG_SOCKET_PATH_MAX);
		return FG_ERR_INVALID;
	}
	if (lstat(path, &sb) != 0 || !S_ISSOCK(sb.st_mode)) {
		snprintf(err, errlen, "%s is missing or not a socket", path);
		return FG_ERR_UNAVAIL;
	}
	if (!folder_trusted(path, sb.st_uid)) {
		snprintf(err, errlen, "refusing %s: its folder is writable by "
				      "others or owned by another user", path);
		return FG_ERR_UNTRUSTED;
	}
	if ((r = fg_connect(path, timeout_ms, &fd)) != FG_OK) {
		snprintf(err, errlen, "cannot connect to %s: %s", path,
		    fg_strerror(r));
		return r;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) != 0 ||
	    len != sizeof(uc) || uc.uid != sb.st_uid) {
		snprintf(err, errlen, "refusing %s: the process behind it is "
				      "not its owner", path);
		ret = FG_ERR_UNTRUSTED;
		goto out;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "out of memory");
		ret = FG_ERR_NOMEM;
		goto out;
	}
	c->fd = fd;
	fd = -1;
	*out = c;
	ret = FG_OK;
out:
	if (fd >= 0)
		close(fd);
	return ret;
}

void
fg_client_free(struct fg_client **c)
{
	if (c == NULL || *c == NULL)
		return;
	if ((*c)->fd >= 0)
		close((*c)->fd);
	free(*c);
	*c = NULL;
}

int
fg_client_call(struct fg_client *c, json_t *req, int timeout_ms,
    json_t **reply)
{
	int ret;

	*reply = NULL;
	if (req == NULL)
		return FG_ERR_NOMEM;
	if (json_object_set_new(req, "v", json_integer(FG_PROTO_VERSION)) != 0)
		ret = FG_ERR_NOMEM;
	else
		ret = fg_call(c->fd, req, timeout_ms, reply);
	json_decref(req);
	return ret;
}

bool
fg_reply_refused(const json_t *reply, struct fg_refusal *r)
{
	const char *code = fg_json_str(reply, "error");
	const char *msg = fg_json_str(reply, "message");
	json_int_t after = json_integer_value(json_object_get(reply,
	    "retry_after"));

	if (json_is_true(json_object_get(reply, "ok")))
		return false;
	if (r != NULL) {
		snprintf(r->code, sizeof(r->code), "%s", code ? code : "");
		snprintf(r->message, sizeof(r->message), "%s", msg ? msg : "");
		r->retry_after = after > 0 && after < 86400 ? (unsigned)after : 0;
	}
	return true;
}

void
fg_id_list_clear(struct fg_id_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->id[i]);
	memset(l, 0, sizeof(*l));
}

/* A string member that fits in buf (with its NUL) and is not empty. */
static bool
get_text(const json_t *o, const char *key, char *buf, size_t len)
{
	const json_t *v = json_object_get(o, key);

	if (!json_is_string(v) || json_string_length(v) == 0 ||
	    json_string_length(v) >= len ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return false;
	memcpy(buf, json_string_value(v), json_string_length(v) + 1);
	return true;
}

/* A base64url member of exactly len bytes. */
static bool
get_bytes(const json_t *o, const char *key, uint8_t *buf, size_t len)
{
	uint8_t *p = NULL;
	size_t n = 0;
	bool ok = fg_json_b64(o, key, &p, &n) == FG_OK && n == len;

	if (ok)
		memcpy(buf, p, len);
	free(p);
	return ok;
}

static bool
get_ids(const json_t *o, const char *key, struct fg_id_list *l)
{
	const json_t *arr = json_object_get(o, key);
	size_t i;

	memset(l, 0, sizeof(*l));
	if (!json_is_array(arr) || json_array_size(arr) > FG_ALLOW_MAX)
		return false;
	for (i = 0; i < json_array_size(arr); i++) {
		const char *s = json_string_value(json_array_get(arr, i));
		if (s == NULL ||
		    fg_b64url_decode(s, &l->id[l->n], &l->len[l->n]) != FG_OK ||
		    l->len[l->n] == 0 || l->len[l->n] > FG_CRED_ID_MAX) {
			free(l->id[l->n]);
			l->id[l->n] = NULL;
			fg_id_list_clear(l);
			return false;
		}
		l->n++;
	}
	return true;
}

static bool
get_uv(const json_t *o, enum fg_uv_policy *uv)
{
	return fg_uv_policy_parse(fg_json_str(o, "uv"), uv) == FG_OK;
}

static bool
get_timeout(const json_t *o, unsigned *out)
{
	json_int_t t = json_integer_value(json_object_get(o, "timeout"));

	if (t < 1 || t > 3600)
		return false;
	*out = (unsigned)t;
	return true;
}

/* auth.begin's optional rp_groups: each with an rp_id, a policy, and a
 * non-empty allow list, or none when the group is "discoverable". */
static bool
get_groups(const json_t *o, struct fg_auth_challenge *ch)
{
	const json_t *arr = json_object_get(o, "rp_groups");
	size_t i;

	if (arr == NULL)
		return true;
	if (!json_is_array(arr) || json_array_size(arr) == 0 ||
	    json_array_size(arr) > FG_RP_GROUPS_MAX)
		return false;
	for (i = 0; i < json_array_size(arr); i++) {
		const json_t *g = json_array_get(arr, i);
		struct fg_rp_group *rg = &ch->groups[i];

		if (!get_text(g, "rp_id", rg->rp_id, sizeof(rg->rp_id)) ||
		    !get_ids(g, "allow_credentials", &rg->allow))
			return false;
		ch->n_groups++;
		rg->discoverable =
		    json_is_true(json_object_get(g, "discoverable"));
		if ((rg->allow.n == 0) != rg->discoverable ||
		    !get_uv(g, &rg->uv))
			return false;
	}
	return true;
}

static const char *
or_empty(const char *s)
{
	return s != NULL ? s : "";
}

/* Call, and sort the reply into a refusal (FG_ERR_DENIED) or an answer. */
static int
call_checked(struct fg_client *c, json_t *req, int timeout_ms, json_t **reply,
    struct fg_refusal *why)
{
	int r;

	if ((r = fg_client_call(c, req, timeout_ms, reply)) != FG_OK)
		return r;
	if (fg_reply_refused(*reply, why)) {
		json_decref(*reply);
		*reply = NULL;
		return FG_ERR_DENIED;
	}
	return FG_OK;
}

/* auth.begin's and admin.begin's answer, checked into out. */
static int
read_challenge(const json_t *reply, struct fg_auth_challenge *out)
{
	if (!get_text(reply, "session", out->session, sizeof(out->session)) ||
	    !get_bytes(reply, "challenge", out->challenge,
		sizeof(out->challenge)) ||
	    !get_text(reply, "rp_id", out->rp_id, sizeof(out->rp_id)) ||
	    !get_text(reply, "origin", out->origin, sizeof(out->origin)) ||
	    !get_ids(reply, "allow_credentials", &out->allow) ||
	    !get_groups(reply, out) ||
	    (out->allow.n == 0 && out->n_groups == 0) ||
	    !get_uv(reply, &out->uv) ||
	    !get_timeout(reply, &out->timeout_s)) {
		fg_auth_challenge_clear(out);
		return FG_ERR_PROTO;
	}
	return FG_OK;
}

int
fg_client_auth_begin(struct fg_client *c, const struct fg_auth_request *r,
    int timeout_ms, struct fg_auth_challenge *out, struct fg_refusal *why)
{
	json_t *req, *reply = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	memset(why, 0, sizeof(*why));
	/* one pack: an allocation that fails fails the whole request */
	req = json_pack("{s:s,s:s,s:s%,s:s%,s:s%}", "op", FG_OP_AUTH_BEGIN,
	    "user", r->user, "service", or_empty(r->service),
	    strnlen(or_empty(r->service), 64), "rhost", or_empty(r->rhost),
	    strnlen(or_empty(r->rhost), 256), "tty", or_empty(r->tty),
	    strnlen(or_empty(r->tty), 64));
	if ((ret = call_checked(c, req, timeout_ms, &reply, why)) != FG_OK)
		return ret;
	ret = read_challenge(reply, out);
	json_decref(reply);
	return ret;
}

int
fg_client_admin_begin(struct fg_client *c, const char *admin,
    const char *action, const char *target, int timeout_ms,
    struct fg_auth_challenge *out, bool *bootstrap, struct fg_refusal *why)
{
	json_t *req, *reply = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	memset(why, 0, sizeof(*why));
	*bootstrap = false;
	req = json_pack("{s:s,s:s%,s:s,s:s%}", "op", FG_OP_ADMIN_BEGIN,
	    "admin", admin, strnlen(admin, FG_USER_NAME_MAX + 1), "action",
	    action, "target", target, strnlen(target, FG_USER_NAME_MAX + 1));
	if ((ret = call_checked(c, req, timeout_ms, &reply, why)) != FG_OK)
		return ret;
	if (json_is_true(json_object_get(reply, "bootstrap")))
		*bootstrap = true;
	else
		ret = read_challenge(reply, out);
	json_decref(reply);
	return ret;
}

json_t *
fg_client_stepup_json(const struct fg_auth_challenge *ch,
    const struct fg_auth_proof *p)
{
	char *id = fg_b64url_encode(p->cred_id, p->cred_id_len);
	char *ad = fg_b64url_encode(p->authdata, p->authdata_len);
	char *cd = fg_b64url_encode(p->client_data_json,
	    p->client_data_json_len);
	char *sig = fg_b64url_encode(p->sig, p->sig_len);
	json_t *o = NULL;

	if (id != NULL && ad != NULL && cd != NULL && sig != NULL)
		o = json_pack("{s:s,s:s,s:s,s:s,s:s}", "session", ch->session,
		    "credential_id", id, "authenticator_data", ad,
		    "client_data_json", cd, "signature", sig);
	free(id);
	free(ad);
	free(cd);
	free(sig);
	return o;
}

int
fg_client_auth_finish(struct fg_client *c, const struct fg_auth_challenge *ch,
    const struct fg_auth_proof *p, int timeout_ms,
    struct fg_auth_verdict *out)
{
	char *id = fg_b64url_encode(p->cred_id, p->cred_id_len);
	char *ad = fg_b64url_encode(p->authdata, p->authdata_len);
	char *cd = fg_b64url_encode(p->client_data_json,
	    p->client_data_json_len);
	char *sig = fg_b64url_encode(p->sig, p->sig_len);
	const char *result, *reason;
	json_t *req = NULL, *reply = NULL;
	struct fg_refusal why;
	int ret = FG_ERR_NOMEM;

	memset(out, 0, sizeof(*out));
	if (id != NULL && ad != NULL && cd != NULL && sig != NULL)
		req = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "op",
		    FG_OP_AUTH_FINISH, "session", ch->session, "credential_id",
		    id, "authenticator_data", ad, "client_data_json", cd,
		    "signature", sig);
	if (req == NULL)
		goto out;
	if ((ret = fg_client_call(c, req, timeout_ms, &reply)) != FG_OK)
		goto out;
	if (fg_reply_refused(reply, &why)) {
		snprintf(out->reason, sizeof(out->reason), "%s",
		    why.message[0] != '\0' ? why.message : why.code);
		goto out;
	}
	result = fg_json_str(reply, "result");
	reason = fg_json_str(reply, "reason");
	/* exactly "allow", from a reply that says ok; nothing else counts */
	out->allow = result != NULL && strcmp(result, FG_RESULT_ALLOW) == 0;
	snprintf(out->reason, sizeof(out->reason), "%s",
	    reason != NULL ? reason : out->allow ? "" : "no reason given");
out:
	json_decref(reply);
	free(id);
	free(ad);
	if (cd != NULL)
		OPENSSL_cleanse(cd, strlen(cd));
	free(cd);
	free(sig);
	return ret;
}

int
fg_client_auth_abort(struct fg_client *c, const struct fg_auth_challenge *ch,
    const char *reason, int timeout_ms)
{
	json_t *reply = NULL;
	int ret;

	ret = fg_client_call(c,
	    json_pack("{s:s,s:s,s:s%}", "op", FG_OP_AUTH_ABORT, "session",
		ch->session, "reason", reason, strnlen(reason, FG_TEXT_MAX)),
	    timeout_ms, &reply);
	if (ret == FG_OK && fg_reply_refused(reply, NULL))
		ret = FG_ERR_DENIED;
	json_decref(reply);
	return ret;
}

void
fg_auth_challenge_clear(struct fg_auth_challenge *ch)
{
	size_t i;

	fg_id_list_clear(&ch->allow);
	for (i = 0; i < ch->n_groups && i < FG_RP_GROUPS_MAX; i++)
		fg_id_list_clear(&ch->groups[i].allow);
	OPENSSL_cleanse(ch, sizeof(*ch));
}

int
fg_client_enroll_begin(struct fg_client *c, const char *user,
    const char *label, const json_t *stepup, int timeout_ms,
    struct fg_enroll_challenge *out, struct fg_refusal *why)
{
	json_t *req, *reply = NULL, *algs;
	size_t i;
	int ret;

	memset(out, 0, sizeof(*out));
	memset(why, 0, sizeof(*why));
	req = label != NULL ?
	    json_pack("{s:s,s:s,s:s}", "op", FG_OP_ENROLL_BEGIN, "user", user,
		"label", label) :
	    json_pack("{s:s,s:s}", "op", FG_OP_ENROLL_BEGIN, "user", user);
	if (req != NULL && stepup != NULL &&
	    json_object_set(req, "stepup", (json_t *)stepup) != 0) {
		json_decref(req);
		req = NULL;
	}
	if ((ret = call_checked(c, req, timeout_ms, &reply, why)) != FG_OK)
		return ret;
	ret = FG_ERR_PROTO;
	algs = json_object_get(reply, "algorithms");
	if (!get_text(reply, "session", out->session, sizeof(out->session)) ||
	    !get_bytes(reply, "challenge", out->challenge,
		sizeof(out->challenge)) ||
	    !get_text(reply, "user", out->user, sizeof(out->user)) ||
	    !get_bytes(reply, "user_handle", out->user_handle,
		sizeof(out->user_handle)) ||
	    !get_text(reply, "rp_id", out->rp_id, sizeof(out->rp_id)) ||
	    !get_text(reply, "rp_name", out->rp_name, sizeof(out->rp_name)) ||
	    !get_text(reply, "origin", out->origin, sizeof(out->origin)) ||
	    !get_ids(reply, "exclude_credentials", &out->exclude) ||
	    !get_uv(reply, &out->uv) || !get_timeout(reply, &out->timeout_s) ||
	    !json_is_array(algs) || json_array_size(algs) == 0 ||
	    json_array_size(algs) > sizeof(out->algs) / sizeof(out->algs[0]))
		goto out;
	for (i = 0; i < json_array_size(algs); i++) {
		const json_t *a = json_array_get(algs, i);
		if (!json_is_integer(a) || !fg_cose_alg_allowed(
					       (int)json_integer_value(a)))
			goto out;
		out->algs[out->n_algs++] = (int)json_integer_value(a);
	}
	ret = FG_OK;
out:
	if (ret != FG_OK)
		fg_enroll_challenge_clear(out);
	json_decref(reply);
	return ret;
}

void
fg_enroll_challenge_clear(struct fg_enroll_challenge *ch)
{
	fg_id_list_clear(&ch->exclude);
	OPENSSL_cleanse(ch, sizeof(*ch));
}

const char *
fg_uv_policy_name(enum fg_uv_policy uv)
{
	switch (uv) {
	case FG_UV_REQUIRED:
		return FG_UV_NAME_REQUIRED;
	case FG_UV_PREFERRED:
		return FG_UV_NAME_PREFERRED;
	case FG_UV_DISCOURAGED:
		break;
	}
	return FG_UV_NAME_DISCOURAGED;
}

int
fg_uv_policy_parse(const char *name, enum fg_uv_policy *out)
{
	if (name == NULL)
		return FG_ERR_INVALID;
	if (strcmp(name, FG_UV_NAME_REQUIRED) == 0)
		*out = FG_UV_REQUIRED;
	else if (strcmp(name, FG_UV_NAME_PREFERRED) == 0)
		*out = FG_UV_PREFERRED;
	else if (strcmp(name, FG_UV_NAME_DISCOURAGED) == 0)
		*out = FG_UV_DISCOURAGED;
	else
		return FG_ERR_INVALID;
	return FG_OK;
}
