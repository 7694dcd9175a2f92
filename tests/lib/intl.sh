# Helpers for tests that read fido2gate in French (sourced after tap.sh).
# The programs read their catalog from FG_LOCALEDIR, fixed when they were
# built (po/po.mk: $(PREFIX)/share/locale, /usr/share/locale), and have
# no switch to read it elsewhere. So a test runs them in a private mount
# namespace where that folder holds this build's catalog: the system is
# left as it was, and every other process sees it unchanged.

FR_MO="$BUILD/locale/fr/LC_MESSAGES/fido2gate.mo"
FR_MO_DIR=/usr/share/locale/fr/LC_MESSAGES

# catalog_why: empty when with_catalog can work here, else why not
catalog_why() {
	if [ ! -s "$FR_MO" ]; then
		echo "$FR_MO is not built (make mo)"
	elif [ "$(id -u)" -ne 0 ]; then
		echo "needs root for a private mount namespace (unshare -m)"
	elif [ ! -d "$FR_MO_DIR" ]; then
		echo "$FR_MO_DIR is missing"
	elif ! unshare -m true 2> /dev/null; then
		echo "unshare -m does not work here"
	fi
}
CATALOG_WHY=$(catalog_why)

# with_catalog CMD...: CMD (exec'd: same pid, so it can be run in the
# background and killed by $!) where $FR_MO_DIR holds this build's
# fido2gate.mo, on a tmpfs of this mount namespace only; without a
# namespace (CATALOG_WHY says why), CMD as it is, in English
WITH_CATALOG=()
if [ -z "$CATALOG_WHY" ]; then
	WITH_CATALOG=(unshare -m sh -c 'mount -t tmpfs -o mode=0755,size=1m \
		fido2gate-mo "$1" && cp "$2" "$1/fido2gate.mo" &&
		chmod 0644 "$1/fido2gate.mo" && shift 2 && exec "$@"' \
		sh "$FR_MO_DIR" "$FR_MO")
fi
with_catalog() {
	"${WITH_CATALOG[@]}" "$@"
}

# fr_locale: fr_FR.UTF-8 made under $T/loc (Debian's locales package
# generates none unless asked; the system is left alone). Sets FR, the
# environment a French user's programs see (LOCPATH: no setuid program
# runs here), or returns 1.
fr_locale() {
	mkdir -p "$T/loc" &&
		localedef -i fr_FR -f UTF-8 "$T/loc/fr_FR.UTF-8" > "$T/localedef.log" 2>&1 ||
		{ diag_file "$T/localedef.log"; return 1; }
	FR="LOCPATH=$T/loc LANG=fr_FR.UTF-8 LC_ALL= LANGUAGE="
}

# like_fr GOT REGEX DESCRIPTION: like, for French from the catalog; a skip
# where with_catalog cannot put it in place
like_fr() {
	if [ -n "$CATALOG_WHY" ]; then
		skip 1 "$CATALOG_WHY"
	else
		like "$@"
	fi
}
