/*
 * The pages: the login page served by /authorize and the error pages, in
 * English or French. Everything that did not come from this file (the
 * client's name, a host, a detail, the page's data) goes through
 * fg_buf_html on its way in. There is no inline script or style: the
 * page's data sits in one data-* attribute as JSON, read by login.js.
 */
#include <stdlib.h>
#include <string.h>

#include "web.h"

struct words {
	const char *login_title;
	const char *login_heading;
	const char *asking;    /* after the client's name */
	const char *return_to; /* before the host */
	const char *user_label;
	const char *user_hint;
	const char *password_label;
	const char *key_hint;
	const char *submit;
	const char *noscript;
	const char *detail;
	const char *provider_user; /* before the user the provider named */
	const char *provider_key_hint;
	struct {
		const char *title;
		const char *text;
	} page[FG_PAGE_COUNT];
};

static const struct words en = {
    .login_title = "Sign in with your security key",
    .login_heading = "Sign in",
    .asking = " is asking you to sign in.",
    .return_to = "Once your key has answered, you will go back to ",
    .user_label = "Matrix user name",
    .user_hint = "For example alice or @alice:example.org",
    .password_label = "Password",
    .key_hint = "Next, your browser will ask you to touch your security "
		"key.",
    .submit = "Continue with my security key",
    .noscript = "This page needs JavaScript to talk to your security key. "
		"Turn JavaScript on, then reload the page.",
    .detail = "Detail: ",
    .provider_user = "Your organisation has signed you in as ",
    .provider_key_hint = "To finish, your browser will ask you to touch "
			 "your security key.",
    .page =
	{
	    [FG_PAGE_BAD_REQUEST] = {"This sign-in request cannot be used",
		"The application that sent you here made a request that "
		"fido2gate refuses. Go back to the application and start "
		"again; if this happens again, tell its administrator."},
	    [FG_PAGE_NOT_FOUND] = {"Page not found",
		"There is no page at this address."},
	    [FG_PAGE_METHOD] = {"Method not allowed",
		"This address does not accept this kind of request."},
	    [FG_PAGE_TOO_LARGE] = {"Request too large",
		"The request is larger than fido2gate accepts."},
	    [FG_PAGE_MEDIA_TYPE] = {"Unsupported request format",
		"The request's content type is not one this address "
		"accepts."},
	    [FG_PAGE_UNAVAILABLE] = {"The sign-in service is unavailable",
		"Signing in is not possible right now. Try again in a few "
		"minutes; if it lasts, tell your administrator."},
	    [FG_PAGE_TOO_MANY] = {"Too many requests",
		"Too many sign-in requests have come from your network in a "
		"short time. Wait a minute, then go back to the application "
		"and start again."},
	    [FG_PAGE_UP_DOWN] = {"Your organisation's sign-in service is "
				 "not answering",
		"fido2gate could not reach your organisation's sign-in "
		"service, or it answered too slowly or with something "
		"unusable. Try again in a few minutes; if it lasts, tell "
		"your administrator."},
	    [FG_PAGE_UP_INVALID] = {"Your organisation's sign-in could not "
				    "be verified",
		"The answer of your organisation's sign-in service failed "
		"fido2gate's checks, so this sign-in is refused. Go back to "
		"the application and start again; if it happens again, tell "
		"your administrator."},
	    [FG_PAGE_UP_REFUSED] = {"Your organisation's sign-in did not "
				    "finish",
		"Your organisation's sign-in service ended the sign-in "
		"without signing you in (it was cancelled or refused). Go "
		"back to the application and start again."},
	    [FG_PAGE_UP_DENIED] = {"This account cannot sign in here",
		"Your organisation signed you in, but this service does not "
		"accept that sign-in for this account. Tell your "
		"administrator."},
	    [FG_PAGE_UP_EXPIRED] = {"This sign-in has expired or was "
				    "already used",
		"Go back to the application and start again."},
	},
};

static const struct words fr = {
    .login_title = "Connexion avec votre clé de sécurité",
    .login_heading = "Connexion",
    .asking = " vous demande de vous connecter.",
    .return_to = "Une fois votre clé vérifiée, vous reviendrez sur ",
    .user_label = "Nom d’utilisateur Matrix",
    .user_hint = "Par exemple alice ou @alice:example.org",
    .password_label = "Mot de passe",
    .key_hint = "Ensuite, votre navigateur vous demandera de toucher votre "
		"clé de sécurité.",
    .submit = "Continuer avec ma clé de sécurité",
    .noscript = "Cette page a besoin de JavaScript pour dialoguer avec "
		"votre clé de sécurité. Activez JavaScript, puis rechargez "
		"la page.",
    .detail = "Détail : ",
    .provider_user = "Votre organisation vous a connecté en tant que ",
    .provider_key_hint = "Pour terminer, votre navigateur vous demandera "
			 "de toucher votre clé de sécurité.",
    .page =
	{
	    [FG_PAGE_BAD_REQUEST] = {"Cette demande de connexion est "
				     "inutilisable",
		"L’application qui vous a envoyé ici a fait une demande "
		"que fido2gate refuse. Revenez à l’application et "
		"recommencez ; si cela se reproduit, prévenez son "
		"administrateur."},
	    [FG_PAGE_NOT_FOUND] = {"Page introuvable",
		"Il n’y a pas de page à cette adresse."},
	    [FG_PAGE_METHOD] = {"Méthode non autorisée",
		"Cette adresse n’accepte pas ce type de requête."},
	    [FG_PAGE_TOO_LARGE] = {"Requête trop grande",
		"La requête dépasse la taille que fido2gate accepte."},
	    [FG_PAGE_MEDIA_TYPE] = {"Format de requête non pris en charge",
		"Cette adresse n’accepte pas ce type de contenu."},
	    [FG_PAGE_UNAVAILABLE] = {"Le service de connexion est "
				     "indisponible",
		"La connexion est impossible pour le moment. Réessayez dans "
		"quelques minutes ; si cela dure, prévenez votre "
		"administrateur."},
	    [FG_PAGE_TOO_MANY] = {"Trop de requêtes",
		"Trop de demandes de connexion sont venues de votre réseau "
		"en peu de temps. Attendez une minute, puis revenez à "
		"l’application et recommencez."},
	    [FG_PAGE_UP_DOWN] = {"Le service de connexion de votre "
				 "organisation ne répond pas",
		"fido2gate n’a pas pu joindre le service de connexion de "
		"votre organisation, ou sa réponse était trop lente ou "
		"inutilisable. Réessayez dans quelques minutes ; si cela "
		"dure, prévenez votre administrateur."},
	    [FG_PAGE_UP_INVALID] = {"La connexion de votre organisation n’a "
				    "pas pu être vérifiée",
		"La réponse du service de connexion de votre organisation "
		"n’a pas passé les contrôles de fido2gate : cette connexion "
		"est refusée. Revenez à l’application et recommencez ; si "
		"cela se reproduit, prévenez votre administrateur."},
	    [FG_PAGE_UP_REFUSED] = {"La connexion de votre organisation n’a "
				    "pas abouti",
		"Le service de connexion de votre organisation a mis fin à "
		"la connexion sans vous connecter (elle a été annulée ou "
		"refusée). Revenez à l’application et recommencez."},
	    [FG_PAGE_UP_DENIED] = {"Ce compte ne peut pas se connecter ici",
		"Votre organisation vous a connecté, mais ce service "
		"n’accepte pas cette connexion pour ce compte. Prévenez "
		"votre administrateur."},
	    [FG_PAGE_UP_EXPIRED] = {"Cette connexion a expiré ou a déjà "
				    "servi",
		"Revenez à l’application et recommencez."},
	},
};

static const struct words *
words(enum fg_lang lang)
{
	return lang == FG_LANG_FR ? &fr : &en;
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
	const struct words *w = words(v->lang);
	const struct fg_authz *a = v->authz;
	bool provider = strcmp(a->first_factor, "provider") == 0;
	struct fg_buf b = {0};
	json_t *data;
	char *json;

	/* the provider names the user; without a name there is no page */
	if (provider && (user == NULL || user[0] == '\0'))
		return NULL;
	data = json_pack("{s:s,s:s,s:s,s:s,s:I,s:s}", "tx", a->tx,
	    "first_factor", a->first_factor, "uv", a->uv, "lang",
	    fg_lang_code(v->lang), "expires_in", (json_int_t)a->expires_in,
	    "root", root);
	if (data != NULL && provider &&
	    json_object_set_new(data, "user", json_string(user)) != 0) {
		json_decref(data);
		data = NULL;
	}
	json = data != NULL ? json_dumps(data, JSON_COMPACT) : NULL;
	json_decref(data);
	if (json == NULL)
		return NULL;
	head(&b, v->lang, w->login_title, root);
	fg_buf_str(&b, "<script src=\"");
	fg_buf_html(&b, root);
	fg_buf_str(&b,
	    "static/login.js\" defer></script>\n"
	    "</head>\n<body>\n<main id=\"login\" data-page=\"");
	fg_buf_html(&b, json);
	free(json);
	fg_buf_str(&b, "\">\n<h1>");
	fg_buf_html(&b, w->login_heading);
	fg_buf_str(&b, "</h1>\n<p class=\"who\"><strong>");
	fg_buf_html(&b, a->client);
	fg_buf_str(&b, "</strong>");
	fg_buf_html(&b, w->asking);
	if (v->return_host != NULL && v->return_host[0] != '\0') {
		fg_buf_str(&b, "<br>");
		fg_buf_html(&b, w->return_to);
		fg_buf_str(&b, "<strong>");
		fg_buf_html(&b, v->return_host);
		fg_buf_str(&b, "</strong>.");
	}
	fg_buf_str(&b, "</p>\n");
	if (provider) {
		/* the user the provider named: shown, never asked for */
		fg_buf_str(&b, "<p class=\"who\" id=\"named\">");
		fg_buf_html(&b, w->provider_user);
		fg_buf_str(&b, "<strong>");
		fg_buf_html(&b, user);
		fg_buf_str(&b, "</strong>.</p>\n"
			       "<form id=\"form\" method=\"post\">\n"
			       "<p class=\"hint\">");
		fg_buf_html(&b, w->provider_key_hint);
		goto button;
	}
	fg_buf_str(&b,
	    /* no name on the fields: without login.js the form
	     * sends nothing (and its button stays disabled) */
	    "<form id=\"form\" method=\"post\">\n"
	    "<div class=\"field\">\n<label for=\"user\">");
	fg_buf_html(&b, w->user_label);
	fg_buf_str(&b,
	    "</label>\n<input id=\"user\" type=\"text\" "
	    "autocomplete=\"username\" autocapitalize=\"none\" "
	    "spellcheck=\"false\" maxlength=\"255\" required "
	    "autofocus aria-describedby=\"user-hint\">\n"
	    "<p id=\"user-hint\" class=\"hint\">");
	fg_buf_html(&b, w->user_hint);
	fg_buf_str(&b, "</p>\n</div>\n");
	if (strcmp(a->first_factor, "password") == 0) {
		fg_buf_str(
		    &b, "<div class=\"field\">\n<label for=\"password\">");
		fg_buf_html(&b, w->password_label);
		fg_buf_str(&b,
		    "</label>\n<input id=\"password\" "
		    "type=\"password\" autocomplete=\"current-password\" "
		    "maxlength=\"1024\" required>\n</div>\n");
	}
	fg_buf_str(&b, "<p class=\"hint\">");
	fg_buf_html(&b, w->key_hint);
button:
	fg_buf_str(&b, "</p>\n<button id=\"go\" type=\"submit\" disabled>");
	fg_buf_html(&b, w->submit);
	fg_buf_str(&b,
	    "</button>\n</form>\n"
	    "<p id=\"status\" class=\"status\" role=\"status\" "
	    "aria-live=\"polite\"></p>\n"
	    "<p id=\"error\" class=\"error\" role=\"alert\" "
	    "aria-live=\"assertive\" tabindex=\"-1\"></p>\n"
	    "<noscript><p class=\"error\">");
	fg_buf_html(&b, w->noscript);
	fg_buf_str(&b, "</p></noscript>\n</main>\n</body>\n</html>\n");
	return fg_buf_take(&b, len);
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
	const struct words *w = words(lang);
	struct fg_buf b = {0};

	if ((unsigned)page >= FG_PAGE_COUNT)
		page = FG_PAGE_UNAVAILABLE;
	head(&b, lang, w->page[page].title, root);
	fg_buf_str(&b, "</head>\n<body>\n<main class=\"failure\">\n<h1>");
	fg_buf_html(&b, w->page[page].title);
	fg_buf_str(&b, "</h1>\n<p>");
	fg_buf_html(&b, w->page[page].text);
	fg_buf_str(&b, "</p>\n");
	if (detail != NULL && detail[0] != '\0') {
		fg_buf_str(&b, "<p class=\"detail\">");
		fg_buf_html(&b, w->detail);
		fg_buf_html(&b, detail);
		fg_buf_str(&b, "</p>\n");
	}
	fg_buf_str(&b, "</main>\n</body>\n</html>\n");
	return fg_buf_take(&b, len);
}
