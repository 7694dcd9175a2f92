/*
 * The pages: the login page served by /authorize and the error pages, in
 * English or French (the catalog's, po/fr.po). Everything that did not
 * come from this file (the client's name, a host, a detail, the page's
 * data) goes through fg_buf_html on its way in. There is no inline script
 * or style: the page's data sits in one data-* attribute as JSON, read by
 * login.js, with the messages it shows.
 */
#include <stdlib.h>
#include <string.h>

#include "intl.h"
#include "web.h"

/* Every text of the pages, as gettext msgids: English is the msgid, each
 * other language comes from the catalog (po/), resolved once at start by
 * fg_html_load. The login page's script shows the texts it is given in
 * the page's data ("messages"), in the page's language. */
enum word {
	W_LOGIN_TITLE,
	W_LOGIN_HEADING,
	W_ASKING,    /* after the client's name */
	W_RETURN_TO, /* before the host */
	W_USER_LABEL,
	W_USER_HINT,
	W_PASSWORD_LABEL,
	W_KEY_HINT,
	W_SUBMIT,
	W_NOSCRIPT,
	W_DETAIL,
	W_PROVIDER_USER, /* before the user the provider named */
	W_PROVIDER_KEY_HINT,
	/* an invitation's enrolment page */
	W_ENROL_TITLE,
	W_ENROL_FOR, /* before the invited user */
	W_ENROL_PASSWORD_HINT,
	W_ENROL_KEY_HINT,
	W_ENROL_SUBMIT,
	W_PAGES /* then each page's title and text */
};

static const char *const words[W_PAGES] = {
    [W_LOGIN_TITLE] = N_("Sign in with your security key"),
    [W_LOGIN_HEADING] = N_("Sign in"),
    [W_ASKING] = N_(" is asking you to sign in."),
    [W_RETURN_TO] = N_("Once your key has answered, you will go back to "),
    [W_USER_LABEL] = N_("Matrix user name"),
    [W_USER_HINT] = N_("For example alice or @alice:example.org"),
    [W_PASSWORD_LABEL] = N_("Password"),
    [W_KEY_HINT] = N_("Next, your browser will ask you to touch your "
		      "security key."),
    [W_SUBMIT] = N_("Continue with my security key"),
    [W_NOSCRIPT] = N_("This page needs JavaScript to talk to your security "
		      "key. Turn JavaScript on, then reload the page."),
    [W_DETAIL] = N_("Detail: "),
    [W_PROVIDER_USER] = N_("Your organisation has signed you in as "),
    [W_PROVIDER_KEY_HINT] = N_("To finish, your browser will ask you to "
			       "touch your security key."),
    [W_ENROL_TITLE] = N_("Register your security key"),
    [W_ENROL_FOR] = N_("This invitation is for the account "),
    [W_ENROL_PASSWORD_HINT] = N_("Enter your password to show that the "
				 "invitation is yours."),
    [W_ENROL_KEY_HINT] = N_("Next, your browser will ask you to touch "
			    "your new security key. It will work once an "
			    "administrator has confirmed it."),
    [W_ENROL_SUBMIT] = N_("Register my security key"),
};

static const struct {
	const char *title;
	const char *text;
} pages[FG_PAGE_COUNT] = {
    [FG_PAGE_BAD_REQUEST] = {N_("This sign-in request cannot be used"),
	N_("The application that sent you here made a request that "
	   "fido2gate refuses. Go back to the application and start again; "
	   "if this happens again, tell its administrator.")},
    [FG_PAGE_NOT_FOUND] = {N_("Page not found"),
	N_("There is no page at this address.")},
    [FG_PAGE_METHOD] = {N_("Method not allowed"),
	N_("This address does not accept this kind of request.")},
    [FG_PAGE_TOO_LARGE] = {N_("Request too large"),
	N_("The request is larger than fido2gate accepts.")},
    [FG_PAGE_MEDIA_TYPE] = {N_("Unsupported request format"),
	N_("The request's content type is not one this address accepts.")},
    [FG_PAGE_UNAVAILABLE] = {N_("The sign-in service is unavailable"),
	N_("Signing in is not possible right now. Try again in a few "
	   "minutes; if it lasts, tell your administrator.")},
    [FG_PAGE_TOO_MANY] = {N_("Too many requests"),
	N_("Too many sign-in requests have come from your network in a "
	   "short time. Wait a minute, then go back to the application and "
	   "start again.")},
    [FG_PAGE_UP_DOWN] = {N_("Your organisation's sign-in service is not "
			    "answering"),
	N_("fido2gate could not reach your organisation's sign-in service, "
	   "or it answered too slowly or with something unusable. Try again "
	   "in a few minutes; if it lasts, tell your administrator.")},
    [FG_PAGE_UP_INVALID] = {N_("Your organisation's sign-in could not be "
			       "verified"),
	N_("The answer of your organisation's sign-in service failed "
	   "fido2gate's checks, so this sign-in is refused. Go back to the "
	   "application and start again; if it happens again, tell your "
	   "administrator.")},
    [FG_PAGE_UP_REFUSED] = {N_("Your organisation's sign-in did not "
			       "finish"),
	N_("Your organisation's sign-in service ended the sign-in without "
	   "signing you in (it was cancelled or refused). Go back to the "
	   "application and start again.")},
    [FG_PAGE_UP_DENIED] = {N_("This account cannot sign in here"),
	N_("Your organisation signed you in, but this service does not "
	   "accept that sign-in for this account. Tell your "
	   "administrator.")},
    [FG_PAGE_UP_EXPIRED] = {N_("This sign-in has expired or was already "
			       "used"),
	N_("Go back to the application and start again.")},
    [FG_PAGE_INVITE_GONE] = {N_("This invitation link cannot be used"),
	N_("The link is unknown, was already used, or has expired. Ask "
	   "your administrator for a new one.")},
};

/* login.js's messages by key (the front's "error" codes among them);
 * {n} and {name} are filled in by the script */
static const struct {
	const char *key;
	const char *text;
} script[] = {
    {"working", N_("Checking…")},
    {"touch", N_("Touch your security key now (plug it in first if it is "
		 "not).")},
    {"finishing", N_("Checking your key…")},
    {"done", N_("Signed in. Going back to the application…")},
    {"need_user", N_("Enter your Matrix user name.")},
    {"need_password", N_("Enter your password.")},
    {"bad_user", N_("This is not a user name of this homeserver. Enter "
		    "your Matrix user name, such as alice or "
		    "@alice:example.org.")},
    {"no_webauthn", N_("This browser cannot use security keys. Use an "
		       "up-to-date Firefox, Chrome, Edge or Safari.")},
    {"no_key", N_("No security key is enrolled for this account. Ask your "
		  "administrator to enrol yours.")},
    {"wrong_key", N_("This key is not the one enrolled for this account. "
		     "Use your own key; if it is yours, ask your "
		     "administrator.")},
    {"not_allowed", N_("The key was not touched in time, or it is not "
		       "enrolled for this account, or the request was "
		       "cancelled. Try again; if it keeps happening, ask "
		       "your administrator.")},
    {"no_touch", N_("The key did not confirm that you were there (no "
		    "touch). Touch your key when it blinks, then try "
		    "again.")},
    {"no_user_verification", N_("Your key must also check that it is you "
				"(its PIN or fingerprint). Set a PIN on "
				"your key and try again, or ask your "
				"administrator.")},
    {"locked", N_("This account is locked after too many failed attempts. "
		  "Ask your administrator to unlock it.")},
    {"rate_limited", N_("Too many failed attempts. Wait {n} seconds, then "
			"try again.")},
    {"rate_limited_later", N_("Too many failed attempts. Wait a moment, "
			      "then try again.")},
    {"too_many_requests", N_("Too many sign-in requests from your network. "
			     "Wait {n} seconds, then try again.")},
    {"too_many_requests_later", N_("Too many sign-in requests from your "
				   "network. Wait a minute, then try "
				   "again.")},
    {"busy", N_("Too many sign-ins for this account are under way from "
		"your network. Finish or cancel one, or wait a few "
		"minutes, then try again.")},
    {"expired", N_("This sign-in request has expired. Go back to the "
		   "application and start again.")},
    {"denied", N_("Sign-in refused. Check your user name and password, "
		  "then try again.")},
    {"unavailable", N_("The sign-in service is unavailable. Try again in a "
		       "few minutes; if it lasts, tell your "
		       "administrator.")},
    {"network", N_("The sign-in service cannot be reached. Check your "
		   "connection and try again.")},
    {"bad_request", N_("The sign-in service refused the request. Reload "
		       "the page and try again.")},
    {"forbidden", N_("This page was not opened from the sign-in site. Go "
		     "back to the application and start again.")},
    {"security", N_("Your browser refused to use a security key on this "
		    "site. Tell your administrator.")},
    {"browser", N_("Your browser could not use the key ({name}). Try "
		   "again, or use another browser.")},
    /* the enrolment page's */
    {"enrol_touch", N_("Touch your new security key now (plug it in first "
		       "if it is not).")},
    {"enrol_finishing", N_("Registering your key…")},
    {"enrol_done", N_("Your key is registered. It will work once an "
		      "administrator has confirmed it: tell them the "
		      "request {request}.")},
    {"wrong_password", N_("Wrong password. Try again.")},
    {"enrol_expired", N_("This page has expired, or the link was used "
			 "meanwhile. Open the invitation link again; if it "
			 "no longer works, ask your administrator for a new "
			 "one.")},
    {"enrol_refused", N_("This key cannot be registered: it may be "
			 "registered already, or not be a kind of key your "
			 "organisation accepts. Try another key, or ask your "
			 "administrator.")},
    {"enrol_not_allowed", N_("The key was not touched in time, or the "
			     "request was cancelled. Try again.")},
    {"enrol_already", N_("This key is already registered for your "
			 "account. Use another key.")},
};

#define N_SCRIPT (sizeof(script) / sizeof(script[0]))
#define W_SCRIPT (W_PAGES + 2 * FG_PAGE_COUNT)
#define W_COUNT (W_SCRIPT + N_SCRIPT)

/* French, resolved by fg_html_load; NULL (English) until then */
static const char *french[W_COUNT];

static const char *
msgid(size_t w)
{
	if (w < W_PAGES)
		return words[w];
	if (w < W_SCRIPT)
		return (w - W_PAGES) % 2 == 0 ? pages[(w - W_PAGES) / 2].title :
						pages[(w - W_PAGES) / 2].text;
	return script[w - W_SCRIPT].text;
}

static const char *
text(enum fg_lang lang, size_t w)
{
	return lang == FG_LANG_FR && french[w] != NULL ? french[w] :
							 msgid(w);
}

static const char *
page_title(enum fg_lang lang, enum fg_page page)
{
	return text(lang, W_PAGES + 2 * (size_t)page);
}

static const char *
page_text(enum fg_lang lang, enum fg_page page)
{
	return text(lang, W_PAGES + 2 * (size_t)page + 1);
}

size_t
fg_html_load(const char *localedir)
{
	const char *ids[W_COUNT];
	size_t w;

	for (w = 0; w < W_COUNT; w++)
		ids[w] = msgid(w);
	return fg_intl_table(localedir, "fr", ids, W_COUNT, french);
}

/* login.js's messages in lang, for the page's data */
static json_t *
script_messages(enum fg_lang lang)
{
	json_t *o = json_object();
	size_t k;

	for (k = 0; o != NULL && k < N_SCRIPT; k++)
		if (json_object_set_new(o, script[k].key,
			json_string(text(lang, W_SCRIPT + k))) != 0) {
			json_decref(o);
			o = NULL;
		}
	return o;
}

/* A page's form from its key hint on: the submit button (its word), the
 * status and error lines the script writes, the noscript note; the page,
 * taken from b. */
static char *
form_end(struct fg_buf *b, enum fg_lang lang, size_t submit, size_t *len)
{
	fg_buf_str(b, "</p>\n<button id=\"go\" type=\"submit\" disabled>");
	fg_buf_html(b, text(lang, submit));
	fg_buf_str(b,
	    "</button>\n</form>\n"
	    "<p id=\"status\" class=\"status\" role=\"status\" "
	    "aria-live=\"polite\"></p>\n"
	    "<p id=\"error\" class=\"error\" role=\"alert\" "
	    "aria-live=\"assertive\" tabindex=\"-1\"></p>\n"
	    "<noscript><p class=\"error\">");
	fg_buf_html(b, text(lang, W_NOSCRIPT));
	fg_buf_str(b, "</p></noscript>\n</main>\n</body>\n</html>\n");
	return fg_buf_take(b, len);
}

static void
head(struct fg_buf *b, enum fg_lang lang, const char *title, const char *root)
{
	fg_buf_str(b, "<!DOCTYPE html>\n<html lang=\"");
	fg_buf_str(b, fg_lang_code(lang));
	fg_buf_str(b,
	    "\">\n<head>\n<meta charset=\"utf-8\">\n"
	    "<meta name=\"viewport\" content=\"width=device-width, "
	    "initial-scale=1\">\n<title>");
	fg_buf_html(b, title);
	fg_buf_str(b, "</title>\n<link rel=\"stylesheet\" href=\"");
	fg_buf_html(b, root);
	fg_buf_str(b, "static/login.css\">\n");
}

char *
fg_html_login(const struct fg_login_view *v, size_t *len)
{
	return fg_html_login_named(v, NULL, "", len);
}

char *
fg_html_login_named(const struct fg_login_view *v, const char *user,
    const char *root, size_t *len)
{
	enum fg_lang lang = v->lang;
	const struct fg_authz *a = v->authz;
	bool provider = strcmp(a->first_factor, "provider") == 0;
	struct fg_buf b = {0};
	json_t *data;
	char *json;

	/* the provider names the user; without a name there is no page */
	if (provider && (user == NULL || user[0] == '\0'))
		return NULL;
	data = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s,s:o*}", "tx", a->tx,
	    "first_factor", a->first_factor, "uv", a->uv, "lang",
	    fg_lang_code(lang), "expires_in", (json_int_t)a->expires_in,
	    "root", root, "messages", script_messages(lang));
	if (data != NULL && json_object_get(data, "messages") == NULL) {
		json_decref(data);
		data = NULL;
	}
	if (data != NULL && provider &&
	    json_object_set_new(data, "user", json_string(user)) != 0) {
		json_decref(data);
		data = NULL;
	}
	json = data != NULL ? json_dumps(data, JSON_COMPACT) : NULL;
	json_decref(data);
	if (json == NULL)
		return NULL;
	head(&b, lang, text(lang, W_LOGIN_TITLE), root);
	fg_buf_str(&b, "<script src=\"");
	fg_buf_html(&b, root);
	fg_buf_str(&b,
	    "static/login.js\" defer></script>\n"
	    "</head>\n<body>\n<main id=\"login\" data-page=\"");
	fg_buf_html(&b, json);
	free(json);
	fg_buf_str(&b, "\">\n<h1>");
	fg_buf_html(&b, text(lang, W_LOGIN_HEADING));
	fg_buf_str(&b, "</h1>\n<p class=\"who\"><strong>");
	fg_buf_html(&b, a->client);
	fg_buf_str(&b, "</strong>");
	fg_buf_html(&b, text(lang, W_ASKING));
	if (v->return_host != NULL && v->return_host[0] != '\0') {
		fg_buf_str(&b, "<br>");
		fg_buf_html(&b, text(lang, W_RETURN_TO));
		fg_buf_str(&b, "<strong>");
		fg_buf_html(&b, v->return_host);
		fg_buf_str(&b, "</strong>.");
	}
	fg_buf_str(&b, "</p>\n");
	if (provider) {
		/* the user the provider named: shown, never asked for */
		fg_buf_str(&b, "<p class=\"who\" id=\"named\">");
		fg_buf_html(&b, text(lang, W_PROVIDER_USER));
		fg_buf_str(&b, "<strong>");
		fg_buf_html(&b, user);
		fg_buf_str(&b, "</strong>.</p>\n"
			       "<form id=\"form\" method=\"post\">\n"
			       "<p class=\"hint\">");
		fg_buf_html(&b, text(lang, W_PROVIDER_KEY_HINT));
		goto button;
	}
	fg_buf_str(&b,
	    /* no name on the fields: without login.js the form
	     * sends nothing (and its button stays disabled) */
	    "<form id=\"form\" method=\"post\">\n"
	    "<div class=\"field\">\n<label for=\"user\">");
	fg_buf_html(&b, text(lang, W_USER_LABEL));
	fg_buf_str(&b,
	    "</label>\n<input id=\"user\" type=\"text\" "
	    "autocomplete=\"username\" autocapitalize=\"none\" "
	    "spellcheck=\"false\" maxlength=\"255\" required "
	    "autofocus aria-describedby=\"user-hint\">\n"
	    "<p id=\"user-hint\" class=\"hint\">");
	fg_buf_html(&b, text(lang, W_USER_HINT));
	fg_buf_str(&b, "</p>\n</div>\n");
	if (strcmp(a->first_factor, "password") == 0) {
		fg_buf_str(
		    &b, "<div class=\"field\">\n<label for=\"password\">");
		fg_buf_html(&b, text(lang, W_PASSWORD_LABEL));
		fg_buf_str(&b,
		    "</label>\n<input id=\"password\" "
		    "type=\"password\" autocomplete=\"current-password\" "
		    "maxlength=\"1024\" required>\n</div>\n");
	}
	fg_buf_str(&b, "<p class=\"hint\">");
	fg_buf_html(&b, text(lang, W_KEY_HINT));
button:
	return form_end(&b, lang, W_SUBMIT, len);
}

char *
fg_html_error(
    enum fg_lang lang, enum fg_page page, const char *detail, size_t *len)
{
	return fg_html_error_at(lang, page, detail, "", len);
}

char *
fg_html_error_at(enum fg_lang lang, enum fg_page page, const char *detail,
    const char *root, size_t *len)
{
	struct fg_buf b = {0};

	if ((unsigned)page >= FG_PAGE_COUNT)
		page = FG_PAGE_UNAVAILABLE;
	head(&b, lang, page_title(lang, page), root);
	fg_buf_str(&b, "</head>\n<body>\n<main class=\"failure\">\n<h1>");
	fg_buf_html(&b, page_title(lang, page));
	fg_buf_str(&b, "</h1>\n<p>");
	fg_buf_html(&b, page_text(lang, page));
	fg_buf_str(&b, "</p>\n");
	if (detail != NULL && detail[0] != '\0') {
		fg_buf_str(&b, "<p class=\"detail\">");
		fg_buf_html(&b, text(lang, W_DETAIL));
		fg_buf_html(&b, detail);
		fg_buf_str(&b, "</p>\n");
	}
	fg_buf_str(&b, "</main>\n</body>\n</html>\n");
	return fg_buf_take(&b, len);
}

char *
fg_html_enrol(const struct fg_invite_view *v, size_t *len)
{
	enum fg_lang lang = v->lang;
	bool password = strcmp(v->first_factor, "password") == 0;
	struct fg_buf b = {0};
	json_t *data;
	char *json;

	data = json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:o*}", "tx", v->tx,
	    "user", v->user, "first_factor", v->first_factor, "uv", v->uv,
	    "lang", fg_lang_code(lang), "expires_in",
	    (json_int_t)v->expires_in, "root", v->root, "messages",
	    script_messages(lang));
	if (data != NULL && json_object_get(data, "messages") == NULL) {
		json_decref(data);
		data = NULL;
	}
	json = data != NULL ? json_dumps(data, JSON_COMPACT) : NULL;
	json_decref(data);
	if (json == NULL)
		return NULL;
	head(&b, lang, text(lang, W_ENROL_TITLE), v->root);
	fg_buf_str(&b, "<script src=\"");
	fg_buf_html(&b, v->root);
	fg_buf_str(&b,
	    "static/enrol.js\" defer></script>\n"
	    "</head>\n<body>\n<main id=\"enrol\" data-page=\"");
	fg_buf_html(&b, json);
	free(json);
	fg_buf_str(&b, "\">\n<h1>");
	fg_buf_html(&b, text(lang, W_ENROL_TITLE));
	fg_buf_str(&b, "</h1>\n<p class=\"who\" id=\"invited\">");
	fg_buf_html(&b, text(lang, W_ENROL_FOR));
	fg_buf_str(&b, "<strong>");
	fg_buf_html(&b, v->user);
	fg_buf_str(&b, "</strong>.</p>\n"
		       /* no name on the fields: without enrol.js the form
			* sends nothing (and its button stays disabled) */
		       "<form id=\"form\" method=\"post\">\n");
	if (password) {
		fg_buf_str(&b, "<div class=\"field\">\n<label for=\"password\">");
		fg_buf_html(&b, text(lang, W_PASSWORD_LABEL));
		fg_buf_str(&b,
		    "</label>\n<input id=\"password\" "
		    "type=\"password\" autocomplete=\"current-password\" "
		    "maxlength=\"1024\" required autofocus "
		    "aria-describedby=\"password-hint\">\n"
		    "<p id=\"password-hint\" class=\"hint\">");
		fg_buf_html(&b, text(lang, W_ENROL_PASSWORD_HINT));
		fg_buf_str(&b, "</p>\n</div>\n");
	}
	fg_buf_str(&b, "<p class=\"hint\">");
	fg_buf_html(&b, text(lang, W_ENROL_KEY_HINT));
	return form_end(&b, lang, W_ENROL_SUBMIT, len);
}
