/*
 * fault.so: preloaded into pamtester, it makes the Nth call of one kind
 * fail inside pam_authenticate(), to prove that no failure anywhere in the
 * module turns into PAM_SUCCESS or PAM_IGNORE. The module is not built
 * differently for this: the failures come from the libraries it calls.
 *
 *   FAULT_KIND   fido     each libfido2 call the module makes
 *                conv     each conversation call (pamtester's misc_conv):
 *                         FAULT_CONV=err answers PAM_CONV_ERR,
 *                         FAULT_CONV=null answers success with no reply
 *                malloc   malloc, calloc and realloc
 *                net      socket, connect, send, recv, poll
 *   FAULT_AT     the call to fail, from 1; 0 or unset: only count
 *   FAULT_SCOPE  malloc only: count only calls made from objects whose
 *                file name contains one of these comma-separated words
 *                (say "pam_fido2gate,libjansson"); unset: every caller
 *   FAULT_LOG    a file that gets one line per pam_authenticate():
 *                "calls=C result=R failed=NAME from=OBJECT"
 *
 *   FAULT_WIRE   a file that gets every record sent on a socket
 *   FAULT_SYSLOG a file that gets every syslog message instead of syslog
 *
 * pam_fail_delay() is made a no-op here so that a run of hundreds of
 * refusals does not sleep two seconds each.
 */
#include <dlfcn.h>
#include <link.h>
#include <errno.h>
#include <stdbool.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <fido.h>
#include <security/pam_appl.h>

enum kind { K_NONE, K_FIDO, K_CONV, K_MALLOC, K_NET };

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);

static int armed;
static enum kind want = K_NONE;
static unsigned long at, calls;
static const char *failed = "-";
static void *failed_from; /* the caller of the call we failed */

/* FAULT_SCOPE's objects, as address ranges found when pam_authenticate
 * starts (the module is loaded by then). */
#define MAX_RANGES 64
static struct {
	uintptr_t lo, hi;
} ranges[MAX_RANGES];
static size_t nranges;
static int scoped;

static int
add_ranges(struct dl_phdr_info *info, size_t size, void *arg)
{
	char words[256], *w, *save = NULL;
	const char *scope = arg;
	int match = 0;
	ElfW(Half) i;

	(void)size;
	if (info->dlpi_name == NULL || info->dlpi_name[0] == '\0')
		return 0;
	snprintf(words, sizeof(words), "%s", scope);
	for (w = strtok_r(words, ",", &save); w != NULL && !match;
	     w = strtok_r(NULL, ",", &save))
		match = strstr(info->dlpi_name, w) != NULL;
	for (i = 0; match && i < info->dlpi_phnum && nranges < MAX_RANGES; i++)
		if (info->dlpi_phdr[i].p_type == PT_LOAD) {
			ranges[nranges].lo =
			    info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
			ranges[nranges].hi =
			    ranges[nranges].lo + info->dlpi_phdr[i].p_memsz;
			nranges++;
		}
	return 0;
}

static int __attribute__((unused))
in_scope(const void *caller)
{
	uintptr_t a = (uintptr_t)caller;
	size_t i;

	if (!scoped)
		return 1;
	for (i = 0; i < nranges; i++)
		if (a >= ranges[i].lo && a < ranges[i].hi)
			return 1;
	return 0;
}

static void
setup(void)
{
	static int done;
	const char *k, *a;

	if (done)
		return;
	done = 1;
	k = getenv("FAULT_KIND");
	a = getenv("FAULT_AT");
	if (k == NULL)
		return;
	want = strcmp(k, "fido") == 0 ? K_FIDO :
	    strcmp(k, "conv") == 0    ? K_CONV :
	    strcmp(k, "malloc") == 0  ? K_MALLOC :
	    strcmp(k, "net") == 0     ? K_NET :
					K_NONE;
	at = a != NULL ? strtoul(a, NULL, 10) : 0;
}

/* Count a call of kind k; true when this is the one to fail. */
static int
hit(enum kind k, const char *name)
{
	if (!armed || k != want)
		return 0;
	if (++calls != at)
		return 0;
	failed = name;
	return 1;
}

/* Which object the failed call came from, for the log. */
static const char *
from(void)
{
	Dl_info info;
	const char *slash;

	if (failed_from == NULL || dladdr(failed_from, &info) == 0 ||
	    info.dli_fname == NULL)
		return "-";
	slash = strrchr(info.dli_fname, '/');
	return slash != NULL ? slash + 1 : info.dli_fname;
}

static void *
next(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);

	if (p == NULL) {
		fprintf(stderr, "fault.so: no %s\n", name);
		abort();
	}
	return p;
}

int
pam_authenticate(pam_handle_t *pamh, int flags)
{
	static int (*real)(pam_handle_t *, int);
	const char *log;
	FILE *f;
	int r;

	if (real == NULL)
		real = (int (*)(pam_handle_t *, int))next("pam_authenticate");
	setup();
	calls = 0;
	failed = "-";
	failed_from = NULL;
	if (want == K_MALLOC && getenv("FAULT_SCOPE") != NULL) {
		scoped = 1;
		nranges = 0;
		dl_iterate_phdr(add_ranges, (void *)getenv("FAULT_SCOPE"));
	}
	armed = 1;
	r = real(pamh, flags);
	armed = 0;
	if ((log = getenv("FAULT_LOG")) != NULL && (f = fopen(log, "a"))) {
		fprintf(f, "calls=%lu result=%d failed=%s from=%s\n", calls,
		    r, failed, from());
		fclose(f);
	}
	return r;
}

int
pam_fail_delay(pam_handle_t *pamh, unsigned int usec)
{
	(void)pamh;
	(void)usec;
	return PAM_SUCCESS;
}

int misc_conv(int, const struct pam_message **, struct pam_response **,
    void *);

int
misc_conv(int n, const struct pam_message **msg, struct pam_response **resp,
    void *data)
{
	static int (*real)(int, const struct pam_message **,
	    struct pam_response **, void *);
	const char *how = getenv("FAULT_CONV");

	if (real == NULL)
		real = (int (*)(int, const struct pam_message **,
		    struct pam_response **, void *))next("misc_conv");
	bool null = how != NULL && strcmp(how, "null") == 0;
	bool prompt = n > 0 &&
	    (msg[0]->msg_style == PAM_PROMPT_ECHO_OFF ||
		msg[0]->msg_style == PAM_PROMPT_ECHO_ON);

	if ((!null || prompt) && hit(K_CONV, "misc_conv")) {
		if (null) {
			*resp = NULL;
			return PAM_SUCCESS;
		}
		return PAM_CONV_ERR;
	}
	return real(n, msg, resp, data);
}

#ifndef FAULT_NO_MALLOC /* a sanitized build keeps ASan's allocator */
void *
malloc(size_t n)
{
	void *caller = __builtin_return_address(0);

	if (in_scope(caller) && hit(K_MALLOC, "malloc")) {
		failed_from = caller;
		return NULL;
	}
	return __libc_malloc(n);
}

void *
calloc(size_t n, size_t size)
{
	void *caller = __builtin_return_address(0);

	if (in_scope(caller) && hit(K_MALLOC, "calloc")) {
		failed_from = caller;
		return NULL;
	}
	return __libc_calloc(n, size);
}

void *
realloc(void *p, size_t n)
{
	void *caller = __builtin_return_address(0);

	if (in_scope(caller) && hit(K_MALLOC, "realloc")) {
		failed_from = caller;
		return NULL;
	}
	return __libc_realloc(p, n);
}
#endif

static void
append(const char *var, const void *buf, size_t len)
{
	const char *path = getenv(var);
	FILE *f;

	if (path == NULL || (f = fopen(path, "a")) == NULL)
		return;
	fwrite(buf, 1, len, f);
	fputc('\n', f);
	fclose(f);
}

void
vsyslog(int prio, const char *fmt, va_list ap)
{
	char line[2048];
	int n;

	(void)prio;
	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n > 0)
		append("FAULT_SYSLOG", line,
		    (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

void
syslog(int prio, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsyslog(prio, fmt, ap);
	va_end(ap);
}

void __vsyslog_chk(int, int, const char *, va_list);
void __syslog_chk(int, int, const char *, ...);

void
__vsyslog_chk(int prio, int flag, const char *fmt, va_list ap)
{
	(void)flag;
	vsyslog(prio, fmt, ap);
}

void
__syslog_chk(int prio, int flag, const char *fmt, ...)
{
	va_list ap;

	(void)flag;
	va_start(ap, fmt);
	vsyslog(prio, fmt, ap);
	va_end(ap);
}

/* The same wrapper for every function of the agent link and libfido2. */
#define WRAP(kind, ret, name, fail, params, args)                     \
	ret name params                                               \
	{                                                             \
		static ret(*real) params;                             \
		if (real == NULL)                                     \
			real = (ret(*) params)next(#name);            \
		if (hit(kind, #name)) {                               \
			errno = EIO;                                  \
			return fail;                                  \
		}                                                     \
		return real args;                                     \
	}

WRAP(K_NET, int, socket, -1, (int d, int t, int p), (d, t, p))
WRAP(K_NET, int, connect, -1,
    (int fd, const struct sockaddr *sa, socklen_t len), (fd, sa, len))
ssize_t
send(int fd, const void *b, size_t n, int fl)
{
	static ssize_t (*real)(int, const void *, size_t, int);

	if (real == NULL)
		real = (ssize_t(*)(int, const void *, size_t, int))next("send");
	if (hit(K_NET, "send")) {
		errno = EIO;
		return -1;
	}
	append("FAULT_WIRE", b, n);
	return real(fd, b, n, fl);
}
WRAP(K_NET, ssize_t, recv, -1, (int fd, void *b, size_t n, int fl),
    (fd, b, n, fl))
WRAP(K_NET, int, poll, -1, (struct pollfd * p, nfds_t n, int t), (p, n, t))

WRAP(K_FIDO, int, fido_dev_info_manifest, FIDO_ERR_INTERNAL,
    (fido_dev_info_t * l, size_t m, size_t *o), (l, m, o))
WRAP(K_FIDO, fido_dev_info_t *, fido_dev_info_new, NULL, (size_t n), (n))
WRAP(K_FIDO, const fido_dev_info_t *, fido_dev_info_ptr, NULL,
    (const fido_dev_info_t *l, size_t i), (l, i))
WRAP(K_FIDO, fido_dev_t *, fido_dev_new_with_info, NULL,
    (const fido_dev_info_t *i), (i))
WRAP(K_FIDO, int, fido_dev_open_with_info, FIDO_ERR_INTERNAL,
    (fido_dev_t * d), (d))
WRAP(K_FIDO, int, fido_dev_set_timeout, FIDO_ERR_INVALID_ARGUMENT,
    (fido_dev_t * d, int ms), (d, ms))
WRAP(K_FIDO, int, fido_dev_get_assert, FIDO_ERR_INTERNAL,
    (fido_dev_t * d, fido_assert_t *a, const char *pin), (d, a, pin))
WRAP(K_FIDO, int, fido_dev_get_touch_begin, FIDO_ERR_INTERNAL,
    (fido_dev_t * d), (d))
WRAP(K_FIDO, int, fido_dev_get_touch_status, FIDO_ERR_INTERNAL,
    (fido_dev_t * d, int *t, int ms), (d, t, ms))
/* fido_dev_has_pin and fido_dev_has_uv answer a yes/no question: there is
 * no failure to inject, and a false "no" is a key without a PIN, which the
 * UV policy already handles (11-pin.t). */
WRAP(K_FIDO, fido_assert_t *, fido_assert_new, NULL, (void), ())
WRAP(K_FIDO, int, fido_assert_set_rp, FIDO_ERR_INTERNAL,
    (fido_assert_t * a, const char *rp), (a, rp))
WRAP(K_FIDO, int, fido_assert_set_clientdata_hash, FIDO_ERR_INTERNAL,
    (fido_assert_t * a, const unsigned char *p, size_t n), (a, p, n))
WRAP(K_FIDO, int, fido_assert_allow_cred, FIDO_ERR_INTERNAL,
    (fido_assert_t * a, const unsigned char *p, size_t n), (a, p, n))
WRAP(K_FIDO, int, fido_assert_set_up, FIDO_ERR_INTERNAL,
    (fido_assert_t * a, fido_opt_t o), (a, o))
WRAP(K_FIDO, int, fido_assert_set_uv, FIDO_ERR_INTERNAL,
    (fido_assert_t * a, fido_opt_t o), (a, o))
WRAP(K_FIDO, size_t, fido_assert_count, 0, (const fido_assert_t *a), (a))
WRAP(K_FIDO, const unsigned char *, fido_assert_id_ptr, NULL,
    (const fido_assert_t *a, size_t i), (a, i))
WRAP(K_FIDO, size_t, fido_assert_id_len, 0, (const fido_assert_t *a, size_t i),
    (a, i))
WRAP(K_FIDO, const unsigned char *, fido_assert_authdata_ptr, NULL,
    (const fido_assert_t *a, size_t i), (a, i))
WRAP(K_FIDO, size_t, fido_assert_authdata_len, 0,
    (const fido_assert_t *a, size_t i), (a, i))
WRAP(K_FIDO, const unsigned char *, fido_assert_sig_ptr, NULL,
    (const fido_assert_t *a, size_t i), (a, i))
WRAP(K_FIDO, size_t, fido_assert_sig_len, 0,
    (const fido_assert_t *a, size_t i), (a, i))
