/*
 * What the agent asks of others: back-channel logout tokens posted to the
 * homeserver, the homeserver's admin API (a locked user's devices, server
 * notices), the notify command. All of it runs in a child process, one per
 * batch, so that the agent's loop never waits on the network or on a
 * program: the loop hears the child's results on a pipe, as it hears
 * pamcheck.c's verdicts, and kills the child past its deadline.
 *
 * A batch is a JSON array of actions, made by the agent (the signed tokens
 * and the admin token already in it); the child runs them in order within
 * a time budget and writes back one JSON array of results, in the same
 * order: each {"ok": bool, "error": TEXT, ...} with what the action found.
 *
 *   {"do": "post_form", "url", "form"}       a POST, form-encoded
 *   {"do": "devices", "base", "token", "mxid"} delete every device
 *   {"do": "notice", "base", "token", "mxid", "text"} a server notice
 *   {"do": "exec", "argv": [PATH, ARG...]}   the program, no shell
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "agent.h"

#define RESULT_MAX 65536  /* bytes of results the agent reads */
#define BODY_MAX 262144	  /* bytes of a homeserver's answer we keep */
#define ACTION_MS 5000	  /* one request, at most */
#define DEVICES_MAX 1000  /* deleted in one request */

struct body {
	char *p;
	size_t n;
};

static size_t
body_put(char *data, size_t size, size_t n, void *arg)
{
	struct body *b = arg;
	size_t len = size * n;
	char *p;

	if (b->n + len > BODY_MAX)
		return 0; /* curl fails the transfer: too large */
	if ((p = realloc(b->p, b->n + len + 1)) == NULL)
		return 0;
	memcpy(p + b->n, data, len);
	b->p = p;
	b->n += len;
	b->p[b->n] = '\0';
	return len;
}

static int64_t
left_ms(int64_t deadline)
{
	int64_t l = deadline - fg_now_ms();

	return l < 0 ? 0 : l > ACTION_MS ? ACTION_MS : l;
}

/*
 * One HTTP request: method, url, an optional bearer token and body (its
 * content type ctype); the status in *status and the answer in *body.
 * Nothing but http and https, no redirects, the system's CAs.
 */
static bool
http(const char *method, const char *url, const char *token,
    const char *ctype, const char *data, int64_t deadline, long *status,
    struct body *body, char *err, size_t errlen)
{
	struct curl_slist *h = NULL;
	char *auth = NULL, *ct = NULL;
	CURL *c = NULL;
	CURLcode r;
	bool ok = false;

	*status = 0;
	if (left_ms(deadline) == 0) {
		snprintf(err, errlen, "not tried: out of time");
		return false;
	}
	if ((c = curl_easy_init()) == NULL ||
	    (token != NULL && asprintf(&auth, "Authorization: Bearer %s",
				  token) < 0) ||
	    (ctype != NULL && asprintf(&ct, "Content-Type: %s", ctype) < 0)) {
		auth = NULL;
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if (auth != NULL)
		h = curl_slist_append(h, auth);
	if (ct != NULL)
		h = curl_slist_append(h, ct);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)left_ms(deadline));
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_put);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, body);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "fido2gated/" FG_VERSION);
	if (data != NULL)
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, data);
	if ((r = curl_easy_perform(c)) != CURLE_OK) {
		snprintf(err, errlen, "%s", curl_easy_strerror(r));
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	ok = true;
out:
	curl_slist_free_all(h);
	if (auth != NULL)
		fg_wipe_free(auth, strlen(auth));
	free(ct);
	curl_easy_cleanup(c);
	return ok;
}

/* base (without its final '/') + "/_synapse/admin/" + path, then the
 * user ID %-escaped and tail: "" when mxid is NULL. */
static char *
admin_url(const char *base, const char *path, const char *mxid,
    const char *tail)
{
	char *esc = NULL, *url = NULL;
	size_t n = strlen(base);

	if (n > 0 && base[n - 1] == '/')
		n--;
	if (mxid != NULL && (esc = curl_easy_escape(NULL, mxid, 0)) == NULL)
		return NULL;
	if (asprintf(&url, "%.*s/_synapse/admin/%s%s%s", (int)n, base, path,
		esc != NULL ? esc : "", tail) < 0)
		url = NULL;
	curl_free(esc);
	return url;
}

static json_t *
result(bool ok, const char *err)
{
	json_t *r = json_pack("{s:b}", "ok", ok);

	if (!ok && r != NULL)
		json_object_set_new(r, "error", json_string(err));
	return r;
}

static json_t *
do_post_form(const json_t *a, int64_t deadline)
{
	struct body b = { NULL, 0 };
	char err[256];
	long status;
	json_t *r;

	if (!http("POST", fg_json_str(a, "url"), NULL,
		"application/x-www-form-urlencoded", fg_json_str(a, "form"),
		deadline, &status, &b, err, sizeof(err)))
		r = result(false, err);
	else if (status != 200 && status != 204) {
		snprintf(err, sizeof(err), "HTTP %ld", status);
		r = result(false, err);
	} else
		r = result(true, NULL);
	free(b.p);
	return r;
}

/* GET the user's devices, then delete them all: their access tokens go
 * with them. */
static json_t *
do_devices(const json_t *a, int64_t deadline)
{
	const char *base = fg_json_str(a, "base"), *token = fg_json_str(a, "token");
	const char *mxid = fg_json_str(a, "mxid");
	struct body b = { NULL, 0 };
	char err[256], *url = NULL, *data = NULL;
	json_t *doc = NULL, *ids = NULL, *req = NULL, *dev, *r = NULL;
	long status;
	size_t i;

	if ((url = admin_url(base, "v2/users/", mxid, "/devices")) == NULL) {
		r = result(false, "out of memory");
		goto out;
	}
	if (!http("GET", url, token, NULL, NULL, deadline, &status, &b, err,
		sizeof(err))) {
		r = result(false, err);
		goto out;
	}
	if (status != 200) {
		snprintf(err, sizeof(err), "listing the devices: HTTP %ld", status);
		r = result(false, err);
		goto out;
	}
	if ((doc = json_loads(b.p, 0, NULL)) == NULL ||
	    !json_is_array(json_object_get(doc, "devices")) ||
	    (ids = json_array()) == NULL) {
		r = result(false, "listing the devices: not the admin API's "
				  "answer");
		goto out;
	}
	json_array_foreach(json_object_get(doc, "devices"), i, dev)
	{
		const char *id = fg_json_str(dev, "device_id");
		if (id != NULL && i < DEVICES_MAX)
			json_array_append_new(ids, json_string(id));
	}
	if (json_array_size(ids) > 0) {
		free(url);
		free(b.p);
		b = (struct body){ NULL, 0 };
		if ((url = admin_url(base, "v2/users/", mxid,
			 "/delete_devices")) == NULL ||
		    (req = json_pack("{s:O}", "devices", ids)) == NULL ||
		    (data = json_dumps(req, JSON_COMPACT)) == NULL) {
			r = result(false, "out of memory");
			goto out;
		}
		if (!http("POST", url, token, "application/json", data, deadline,
			&status, &b, err, sizeof(err))) {
			r = result(false, err);
			goto out;
		}
		if (status != 200) {
			snprintf(err, sizeof(err), "deleting the devices: HTTP %ld",
			    status);
			r = result(false, err);
			goto out;
		}
	}
	r = result(true, NULL);
	json_object_set_new(r, "deleted", json_integer((json_int_t)json_array_size(ids)));
out:
	json_decref(doc);
	json_decref(ids);
	json_decref(req);
	free(url);
	free(data);
	free(b.p);
	return r;
}

static json_t *
do_notice(const json_t *a, int64_t deadline)
{
	struct body b = { NULL, 0 };
	char err[256], *url = NULL, *data = NULL;
	json_t *msg, *r = NULL;
	long status;

	msg = json_pack("{s:s?,s:{s:s,s:s?}}", "user_id", fg_json_str(a, "mxid"),
	    "content", "msgtype", "m.text", "body", fg_json_str(a, "text"));
	if (msg == NULL || (data = json_dumps(msg, JSON_COMPACT)) == NULL ||
	    (url = admin_url(fg_json_str(a, "base"),
		 "v1/send_server_notice", NULL, "")) == NULL) {
		r = result(false, "out of memory");
		goto out;
	}
	if (!http("POST", url, fg_json_str(a, "token"), "application/json", data,
		deadline, &status, &b, err, sizeof(err)))
		r = result(false, err);
	else if (status != 200) {
		snprintf(err, sizeof(err), "HTTP %ld", status);
		r = result(false, err);
	} else
		r = result(true, NULL);
out:
	json_decref(msg);
	free(url);
	free(data);
	free(b.p);
	return r;
}

/* The program with its arguments, nothing inherited but /dev/null and a
 * minimal environment, in a process group of its own that is killed
 * whole past the deadline. */
static json_t *
do_exec(const json_t *a, int64_t deadline)
{
	const json_t *argj = json_object_get(a, "argv");
	char *argv[8], err[128];
	char *envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL };
	size_t i, n = json_array_size(argj);
	pid_t pid;
	int st = 0, fd;

	if (n == 0 || n >= sizeof(argv) / sizeof(argv[0]))
		return result(false, "no command");
	for (i = 0; i < n; i++)
		argv[i] = (char *)(uintptr_t)json_string_value(
		    json_array_get(argj, i));
	argv[n] = NULL;
	if ((pid = fork()) < 0)
		return result(false, strerror(errno));
	if (pid == 0) {
		setpgid(0, 0);
		if ((fd = open("/dev/null", O_RDWR)) < 0 || dup2(fd, 0) < 0 ||
		    dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		closefrom(3);
		execve(argv[0], argv, envp);
		_exit(127);
	}
	setpgid(pid, pid);
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			return result(false, strerror(errno));
		if (fg_now_ms() >= deadline) {
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
			return result(false, "killed: no exit within the "
					     "timeout");
		}
		poll(NULL, 0, 20);
	}
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return result(true, NULL);
	if (WIFEXITED(st))
		snprintf(err, sizeof(err), WEXITSTATUS(st) == 127 ?
			"cannot run it (exit 127)" : "exit %d",
		    WEXITSTATUS(st));
	else
		snprintf(err, sizeof(err), "killed by signal %d",
		    WTERMSIG(st));
	return result(false, err);
}

static void
run(const json_t *plan, unsigned budget_ms, int out)
{
	int64_t deadline = fg_now_ms() + budget_ms;
	json_t *results = json_array(), *a, *r;
	const char *what;
	char *text;
	size_t i, len;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	json_array_foreach(plan, i, a)
	{
		what = fg_json_str(a, "do");
		if (fg_now_ms() >= deadline)
			r = result(false, "not tried: out of time");
		else if (what == NULL)
			r = result(false, "no action");
		else if (strcmp(what, "post_form") == 0)
			r = do_post_form(a, deadline);
		else if (strcmp(what, "devices") == 0)
			r = do_devices(a, deadline);
		else if (strcmp(what, "notice") == 0)
			r = do_notice(a, deadline);
		else if (strcmp(what, "exec") == 0)
			r = do_exec(a, deadline);
		else
			r = result(false, "no such action");
		json_array_append_new(results, r);
	}
	if ((text = json_dumps(results, JSON_COMPACT)) == NULL)
		_exit(1);
	for (len = strlen(text), i = 0; i < len;) {
		ssize_t n = write(out, text + i, len - i);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			_exit(1);
		i += (size_t)n;
	}
	_exit(0);
}

int
fg_job_start(const json_t *plan, unsigned budget_ms, int *fd, pid_t *pid)
{
	int p[2];
	pid_t child;

	*fd = -1;
	*pid = -1;
	if (pipe2(p, O_CLOEXEC) != 0)
		return FG_ERR_IO;
	if ((child = fork()) < 0) {
		close(p[0]);
		close(p[1]);
		return FG_ERR_IO;
	}
	if (child == 0) {
		/* the child holds nothing of the agent's but the pipe */
		signal(SIGTERM, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGPIPE, SIG_IGN);
		if (dup2(p[1], 3) < 0)
			_exit(1);
		closefrom(4);
		run(plan, budget_ms, 3);
	}
	close(p[1]);
	*fd = p[0];
	*pid = child;
	return FG_OK;
}

int
fg_job_finish(int fd, pid_t pid, bool timed_out, json_t **out)
{
	char *buf = NULL;
	size_t n = 0;
	ssize_t k;
	int ret = FG_ERR_INTERNAL;

	*out = NULL;
	if (timed_out) {
		kill(pid, SIGKILL);
		ret = FG_ERR_TIMEOUT;
	} else if ((buf = malloc(RESULT_MAX + 1)) != NULL) {
		/* the child writes its results at once and exits: read to
		 * the end (EOF), which follows at once */
		while (n < RESULT_MAX &&
		    ((k = read(fd, buf + n, RESULT_MAX - n)) > 0 ||
			(k < 0 && errno == EINTR)))
			if (k > 0)
				n += (size_t)k;
		buf[n] = '\0';
		if ((*out = json_loads(buf, 0, NULL)) != NULL &&
		    json_is_array(*out))
			ret = FG_OK;
		else {
			json_decref(*out);
			*out = NULL;
		}
	}
	free(buf);
	close(fd);
	if (waitpid(pid, NULL, WNOHANG) == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return ret;
}
