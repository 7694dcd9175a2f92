/*
 * fido2gate's messages for people, in their language: GNU gettext (glibc's
 * libintl) in the text domain "fido2gate", whose catalogs sit under
 * FG_LOCALEDIR (the Makefile's LOCALEDIR). _() translates now, N_() marks
 * a string that is translated where it is shown. Logs, the audit store and
 * the protocol are never translated: only what a person reads.
 */
#ifndef FG_INTL_H
#define FG_INTL_H

#include <stddef.h>

#include <fido2gate/client.h>

#define FG_TEXT_DOMAIN "fido2gate"
#ifndef FG_LOCALEDIR /* the Makefile's; the fuzzers show no message */
#define FG_LOCALEDIR "/usr/share/locale"
#endif

/* msgid in the calling program's locale (LC_MESSAGES): this module never
 * calls setlocale, which belongs to the program (login, su, sudo, ours) */
const char *fg_gettext(const char *msgid) __attribute__((format_arg(1)));
#define _(s) fg_gettext(s)
#define N_(s) s

/* Binds the domain to FG_LOCALEDIR, once per process (thread-safe);
 * fg_gettext does it first. */
void fg_intl_bind(void);

/* The agent's refusal for a person: the words for its code (FG_E_*) in
 * their language. Where the code's words have no translation (English),
 * the agent's own message, which may say more. */
const char *fg_refusal_text(
    const struct fg_refusal *why, char *buf, size_t len);

/* fg_client_open's failure r for a person: in their language, else (in
 * English) its own words, err. */
const char *fg_client_open_text(
    int r, const char *path, const char *err, char *buf, size_t len);

/* Resolves each of msgids[0..n) in language lang ("fr") from the catalog
 * under localedir into out[] (strings that live as long as the process),
 * whatever the process's locale, for a program that serves several
 * languages at once. Call it while single-threaded: it switches
 * LC_MESSAGES and LANGUAGE for a moment and restores them. Returns how
 * many were translated. */
size_t fg_intl_table(const char *localedir, const char *lang,
    const char *const *msgids, size_t n, const char **out);

#endif
