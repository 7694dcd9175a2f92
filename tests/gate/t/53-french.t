#!/bin/bash
# French: every message a person sees, through gettext, from po/fr.po.
# The catalog is complete (the template has every string of the sources,
# fr.po a translation for each, none fuzzy); a login program that sets
# its locale (pam-conv, as login, su and sudo do) hears pam_fido2gate.so
# in French under fr_FR.UTF-8 and in English under C, and pamtester,
# which sets none, in English; the web front serves its pages in French
# for Accept-Language: fr and in English otherwise, the French from the
# catalog; fido2gatectl's usage and errors are French, its --json output
# and exit statuses the same in every language.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"
. "$(dirname "$0")/../../lib/intl.sh"

PY=/usr/bin/python3
WEB="$TOP/tests/web"
NB=$'\u00a0' # the no-break space before a colon
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2> /dev/null; wait "$p" 2> /dev/null; done
	agent_stop; rm -rf "$T"' EXIT

for tool in xgettext msgfmt msgcmp localedef; do
	if ! command -v "$tool" > /dev/null; then
		echo "1..0 # SKIP $tool is missing (gettext, locales: scripts/deps.sh)"
		exit 0
	fi
done

# --- (a) the catalog is complete ---

# complete PO: msgfmt's statistics name no untranslated or fuzzy message
complete() {
	local stats
	stats=$(msgfmt --check --statistics -o /dev/null "$1" 2>&1) || return 1
	printf '%s\n' "$stats" > "$T/stats"
	! grep -Eq 'untranslated|fuzzy' "$T/stats"
}

make -s -C "$TOP" --no-print-directory pot POT="$T/new.pot" > "$T/pot.log" 2>&1
ok $? "xgettext makes a template from the sources" || diag_file "$T/pot.log"
msgcmp --use-untranslated "$TOP/po/fido2gate.pot" "$T/new.pot" > "$T/cmp.log" 2>&1
ok $? "po/fido2gate.pot has every message of the sources (else: make pot po-update)" ||
	diag_file "$T/cmp.log"
msgcmp --use-untranslated "$T/new.pot" "$TOP/po/fido2gate.pot" > "$T/cmp.log" 2>&1
ok $? "and none the sources no longer have" || diag_file "$T/cmp.log"
msgcmp "$TOP/po/fr.po" "$TOP/po/fido2gate.pot" > "$T/cmp.log" 2>&1
ok $? "po/fr.po translates every message of the template" || diag_file "$T/cmp.log"
complete "$TOP/po/fr.po"
ok $? "msgfmt --check: no untranslated and no fuzzy message in po/fr.po" ||
	diag_file "$T/stats"
diag "po/fr.po: $(cat "$T/stats")"

# the check itself fails on what it is there to catch
{ cat "$TOP/po/fr.po"; printf '\nmsgid "a new message"\nmsgstr ""\n'; } > "$T/untranslated.po"
complete "$T/untranslated.po"
ok $((! $?)) "(a message without a translation fails the check)"
$PY - "$TOP/po/fr.po" "$T/fuzzy.po" << 'PY'
import sys
s = open(sys.argv[1], encoding="utf-8").read()
i = s.index('\nmsgid "wrong PIN"')
open(sys.argv[2], "w", encoding="utf-8").write(s[:i] + "\n#, fuzzy" + s[i:])
PY
complete "$T/fuzzy.po"
ok $((! $?)) "(nor does a fuzzy one pass)"

# translations are format strings: the build compares each one's
# conversions with its msgid's by the template's flags, whatever the .po
# says (a translation that lost its c-format flag is checked all the same)
make -s -C "$TOP" --no-print-directory po-check PO="$TOP/po/fr.po" > "$T/check.log" 2>&1
ok $? "po/fr.po compiles through the template's flags" || diag_file "$T/check.log"
$PY - "$TOP/po/fr.po" "$T/format.po" << 'PY'
import re, sys
s = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r'#, c-format\n(msgid "[^"]*%s[^"]*"\n)msgstr "[^"]*"', s)
s = s[:m.start()] + m.group(1) + 'msgstr "%s %s %s %s"' + s[m.end():]
open(sys.argv[2], "w", encoding="utf-8").write(s)
PY
make -s -C "$TOP" --no-print-directory po-check PO="$T/format.po" > "$T/check.log" 2>&1
ok $((! $?)) "(a translation with other conversions than its msgid, its flag gone, fails the build)" ||
	diag_file "$T/check.log"

# French typography: no plain space before : ; ? ! in a translation
bad=$(grep -E '^(msgstr |")' "$TOP/po/fr.po" | grep -E '[^ ] [:;?!]|« | »' | grep -v '^msgstr ""$')
is "$bad" "" "po/fr.po: a no-break space before « : », a narrow one before « ; ? ! »"

# --- (b) a PAM login under fr_FR.UTF-8 ---
# pam_wrapper, the soft key, the agent as in 10-pam.t; pam-conv for login
if [ -n "$CATALOG_WHY" ]; then
	skip 14 "$CATALOG_WHY"
	done_testing
	exit
fi
fr_locale
ok $? "fr_FR.UTF-8 made under \$T with localedef" || exit 1

cat << CONF | write_conf
[policy]
user_verification = required
[rate_limit]
backoff_after = 1
backoff_base = 60
backoff_max = 60
lockout_after = 0
CONF
agent_start || exit 1
export SOFTKEY_PIN=2468
echo 2468 | sk "$BUILD/fido2gatectl" --socket "$SOCK" enroll alice > "$T/enrol.out" 2>&1
ok $? "alice's key is enrolled, with its PIN" || diag_file "$T/enrol.out"

# login LOCALE-ENV...: pam-conv through pam_wrapper, in that environment,
# where the catalog is; stdin answers the prompts. Output in $OUT.
login() {
	OUT=$(with_catalog env "$@" LD_PRELOAD="$PRE$PAM_WRAPPER_SO:$SOFTKEY_SO" \
		PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR="$T/pam.d" \
		setsid "$BUILD/test/pam-conv" gate alice 2>&1)
}

# shellcheck disable=SC2086 # $FR: several assignments
login $FR <<< 2468
like "$OUT" "^auth: 0 " "fr_FR.UTF-8: alice's key lets her in" || diag "$OUT"
like "$OUT" "^prompt-off: Saisissez le code PIN de votre clé de sécurité$NB: $" \
	"the PIN is asked for in French"
like "$OUT" "^info: Touchez votre clé de sécurité$" "the touch cue is French"

login LANG=C LC_ALL= <<< 2468
like "$OUT" "^prompt-off: Enter the PIN for your security key: $" "C: the PIN is asked for in English"
like "$OUT" "^info: Touch your security key$" "and the touch cue is English"

# pamtester calls no setlocale: the module follows the program, not the
# environment
# shellcheck disable=SC2086
OUT=$(with_catalog env $FR LD_PRELOAD="$PRE$PAM_WRAPPER_SO:$SOFTKEY_SO" PAM_WRAPPER=1 \
	PAM_WRAPPER_SERVICE_DIR="$T/pam.d" setsid pamtester gate alice authenticate 2>&1 <<< 2468)
like "$OUT" "Touch your security key" \
	"a program that sets no locale (pamtester) hears English, whatever LANG says"

# shellcheck disable=SC2086
login $FR <<< 1111
like "$OUT" "^error: code PIN erroné$" "a wrong PIN: the refusal is French"
like "$OUT" "^error: fido2gate$NB: échec de la vérification de la clé de sécurité$" \
	"and so is the module's verdict"
audit_has "auth.abort +alice +deny +uid=0 wrong PIN"
ok $? "while the audit keeps the English reason (data, never translated)"

# the failure starts a backoff: the agent's refusal, worded from its code
# shellcheck disable=SC2086
login $FR <<< 2468
like "$OUT" "^error: trop de tentatives échouées$NB: réessayez dans [0-9]+${NB}s$" \
	"the agent's backoff, in French (from its refusal code)"

# --- (c) the web front ---
$PY "$WEB/fake_agent.py" "$T/web-agent.sock" "$T/relayed" "$T/mode" 2> "$T/fake.err" &
PIDS+=($!)
wait_for 20 test -S "$T/web-agent.sock" || diag_file "$T/fake.err"

# web NAME [CATALOG]: a fido2gate-web on a free port, its URL in $URL;
# with CATALOG (yes), where the French catalog is
web() {
	local wrap=()
	[ -n "${2:-}" ] && wrap=("${WITH_CATALOG[@]}")
	"${wrap[@]}" "$BUILD/fido2gate-web" --agent "$T/web-agent.sock" --listen 127.0.0.1:0 \
		2> "$T/$1.log" &
	PIDS+=($!)
	wait_for 20 grep -q "listening on http://" "$T/$1.log" 2> /dev/null ||
		{ diag_file "$T/$1.log"; return 1; }
	URL=$(sed -n 's/.*listening on \(http:.*\)$/\1/p' "$T/$1.log")
}
PAGE="authorize?client_id=synapse&response_type=code&state=st&redirect_uri=https%3A%2F%2Fmatrix.test%2F_synapse%2Fclient%2Foidc%2Fcallback"

web fr yes
# each page on one line, for like
get() { curl -s "$@" | tr '\n' ' '; }
fr=$(get -H 'Accept-Language: fr-FR, fr;q=0.9, en;q=0.5' "$URL/$PAGE")
like "$fr" '<html lang="fr">.*<title>Connexion avec votre clé de sécurité</title>' \
	"Accept-Language: fr: the login page is French" || diag "$(head -c 300 <<< "$fr")"
like "$fr" 'Nom d’utilisateur Matrix.*Continuer avec ma clé de sécurité' \
	"its label and button too"
like "$fr" 'data-page="[^"]*Touchez maintenant votre clé de sécurité' \
	"and the messages its script shows (the page's data)"
en=$(get -H 'Accept-Language: de, en;q=0.5' "$URL/$PAGE")
like "$en" '<html lang="en">.*<title>Sign in with your security key</title>.*Touch your security key now' \
	"another language: English"
like "$(get "$URL/no-such-page")" '<h1>Page not found</h1>' \
	"no Accept-Language: English error pages"
like "$(get -H 'Accept-Language: fr' "$URL/no-such-page")" '<h1>Page introuvable</h1>' \
	"French error pages"

# without the catalog: the page says lang="fr", in English (the French
# came from the catalog, not from the binary)
web plain
like "$(get -H 'Accept-Language: fr' "$URL/$PAGE")" \
	'<html lang="fr">.*<title>Sign in with your security key</title>' \
	"the catalog away: English words, so the French came from the catalog"
grep -q "no French catalog under /usr/share/locale" "$T/plain.log"
ok $? "and the front says at start that it has no French" || diag_file "$T/plain.log"

# --- (d) fido2gatectl ---
# shellcheck disable=SC2086
with_catalog env $FR "$BUILD/fido2gatectl" --socket "$SOCK" bogus > "$T/out" 2>&1
is $? 2 "fr_FR.UTF-8: an unknown command exits 2, as in English"
like "$(cat "$T/out")" "^fido2gatectl$NB: commande inconnue «${NB}bogus${NB}»$" \
	"and says so in French" || diag_file "$T/out"
like "$(cat "$T/out")" "^utilisation$NB: fido2gatectl \[--socket CHEMIN\]" "with a French usage"
# shellcheck disable=SC2086
like "$(with_catalog env $FR "$BUILD/fido2gatectl" --socket /no/such.sock status 2>&1)" \
	"^fido2gatectl$NB: impossible de joindre l’agent$NB: /no/such.sock est absent" \
	"an unreachable agent, in French"
# shellcheck disable=SC2086
like "$(with_catalog env $FR "$BUILD/fido2gatectl" --socket "$SOCK" list alice)" \
	"^UTILISATEUR +IDENTIFIANT +ALG +ÉTAT +COMPTEUR +DERNIER USAGE +LIBELLÉ" \
	"list's headings are French"
like "$(LANG=C "$BUILD/fido2gatectl" --socket "$SOCK" bogus 2>&1)" \
	'^fido2gatectl: unknown command "bogus"' "C: the same error in English"
# shellcheck disable=SC2086
jfr=$(with_catalog env $FR "$BUILD/fido2gatectl" --socket "$SOCK" --json list alice)
jc=$(LANG=C "$BUILD/fido2gatectl" --socket "$SOCK" --json list alice)
is "$jfr" "$jc" "--json output is the same in French and in English"

done_testing
