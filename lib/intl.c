/*
 * The gettext side of fido2gate (intl.h): the domain bound once, the
 * agent's refusals in words for people, and per-language tables for the
 * web front, which serves English and French from several threads and so
 * never switches the process's locale per request.
 */
#include <libintl.h>
#include <locale.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fido2gate/protocol.h>

#include "intl.h"

/* gettext's cache of translations; a change of LANGUAGE is only seen once
 * this is incremented (GNU gettext's documented way) */
extern int _nl_msg_cat_cntr;

static pthread_once_t bound = PTHREAD_ONCE_INIT;

static void
bind_domain(void)
{
	bindtextdomain(FG_TEXT_DOMAIN, FG_LOCALEDIR);
}

void
fg_intl_bind(void)
{
	pthread_once(&bound, bind_domain);
}

const char *
fg_gettext(const char *msgid)
{
	fg_intl_bind();
	return dgettext(FG_TEXT_DOMAIN, msgid);
}

static const struct {
	const char *code;
	const char *text;
} refusals[] = {
    {FG_E_VERSION, N_("the agent speaks another version of the protocol")},
    {FG_E_BAD_JSON, N_("the agent could not read the request")},
    {FG_E_TOO_LARGE, N_("the request is too large for the agent")},
    {FG_E_BAD_REQUEST, N_("the request is incomplete or malformed")},
    {FG_E_UNKNOWN_OP, N_("the agent does not know this request")},
    {FG_E_DENIED, N_("permission denied")},
    {FG_E_LOCKED,
	N_("too many failed attempts: locked until an "
	   "administrator runs fido2gatectl unlock")},
    {FG_E_LIMIT, N_("the agent is busy: try again later")},
    {FG_E_NO_SESSION, N_("this request has expired: start again")},
    {FG_E_NOT_FOUND, N_("not found")},
    {FG_E_AMBIGUOUS,
	N_("more than one credential matches: be more "
	   "precise")},
    {FG_E_REFUSED, N_("refused by the agent's policy")},
    {FG_E_STORE, N_("the credential store failed")},
    {FG_E_INTERNAL, N_("the agent failed")},
    {FG_E_OAUTH, N_("refused by the agent")},
};

/* true when msgid has a translation in the caller's language: gettext
 * gives back msgid itself when it has none */
static bool
translated(const char *msgid)
{
	return _(msgid) != msgid;
}

const char *
fg_refusal_text(const struct fg_refusal *why, char *buf, size_t len)
{
	const char *msgid = N_("refused by the agent");
	bool own = why->message[0] != '\0';
	size_t i;

	if (strcmp(why->code, FG_E_RATE_LIMITED) == 0 && why->retry_after > 0) {
		msgid = N_("too many failed attempts: try again in %u s");
		if (own && !translated(msgid))
			snprintf(buf, len, "%s", why->message);
		else
			snprintf(buf, len,
			    _("too many failed attempts: try again in %u s"),
			    why->retry_after);
		return buf;
	}
	if (strcmp(why->code, FG_E_RATE_LIMITED) == 0)
		msgid = N_("too many requests: slow down");
	for (i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++)
		if (strcmp(why->code, refusals[i].code) == 0)
			msgid = refusals[i].text;
	snprintf(buf, len, "%s",
	    own && !translated(msgid) ? why->message : _(msgid));
	return buf;
}

const char *
fg_client_open_text(
    int r, const char *path, const char *err, char *buf, size_t len)
{
	const char *msgid;

	switch (r) {
	case FG_ERR_INVALID:
		msgid = N_("the socket path must be absolute and shorter than "
			   "%d bytes");
		break;
	case FG_ERR_UNAVAIL:
		msgid = N_("%s is missing or not a socket");
		break;
	case FG_ERR_UNTRUSTED:
		msgid = N_("refusing %s: another user could have put it there");
		break;
	default:
		msgid = N_("cannot connect to %s");
		break;
	}
	if (!translated(msgid))
		snprintf(buf, len, "%s", err);
	else if (r == FG_ERR_INVALID)
		snprintf(buf, len,
		    _("the socket path must be absolute and shorter than "
		      "%d bytes"),
		    FG_SOCKET_PATH_MAX);
	else if (r == FG_ERR_UNAVAIL)
		snprintf(buf, len, _("%s is missing or not a socket"), path);
	else if (r == FG_ERR_UNTRUSTED)
		snprintf(buf, len,
		    _("refusing %s: another user could have put it there"),
		    path);
	else
		snprintf(buf, len, _("cannot connect to %s"), path);
	return buf;
}

size_t
fg_intl_table(const char *localedir, const char *lang,
    const char *const *msgids, size_t n, const char **out)
{
	const char *cur = setlocale(LC_MESSAGES, NULL);
	char *saved = cur != NULL ? strdup(cur) : NULL;
	const char *env = getenv("LANGUAGE");
	char *saved_env = env != NULL ? strdup(env) : NULL;
	size_t i, done = 0;

	bindtextdomain(FG_TEXT_DOMAIN, localedir);
	bind_textdomain_codeset(FG_TEXT_DOMAIN, "UTF-8");
	/* gettext ignores LANGUAGE in the "C" locale, not in C.UTF-8, which
	 * glibc always has */
	if (setlocale(LC_MESSAGES, "C.UTF-8") != NULL &&
	    setenv("LANGUAGE", lang, 1) == 0) {
		++_nl_msg_cat_cntr;
		for (i = 0; i < n; i++) {
			out[i] = dgettext(FG_TEXT_DOMAIN, msgids[i]);
			if (out[i] != msgids[i])
				done++;
		}
	} else
		for (i = 0; i < n; i++)
			out[i] = msgids[i];
	if (saved_env != NULL)
		setenv("LANGUAGE", saved_env, 1);
	else
		unsetenv("LANGUAGE");
	setlocale(LC_MESSAGES, saved != NULL ? saved : "C");
	++_nl_msg_cat_cntr;
	free(saved);
	free(saved_env);
	return done;
}
