#!/bin/bash
# The manuals (man/*.scd, built into $BUILD/man/): man --warnings finds
# nothing wrong in any of them, and each says what its program does: the
# long options of fido2gated, fido2gatectl and fido2gate-web's --help are
# those of their page's OPTIONS (and fido2gatectl's COMMANDS), the commands
# of fido2gatectl --help those of its COMMANDS, and pam_fido2gate(8)'s
# OPTIONS the PAM module's own argument table (pam_module/args.c, read
# through $BUILD/test/pam-args, which compiles that table).
. "$(dirname "$0")/../../lib/tap.sh"

if ! command -v man > /dev/null; then
	echo "1..0 # SKIP man (man-db) is not installed"
	exit 0
fi
MAN="$BUILD/man"
PAGES="fido2gated.8 fido2gatectl.8 pam_fido2gate.8 fido2gate.conf.5 fido2gate-web.8"

for p in $PAGES; do
	if [ ! -s "$MAN/$p" ]; then
		ok 1 "$p is built" || diag "no $MAN/$p: make man"
		continue
	fi
	MANWIDTH=80 man --warnings -E UTF-8 -l "$MAN/$p" > "$T/$p.txt" 2> "$T/$p.warn"
	ok $? "man renders $p"
	is "$(cat "$T/$p.warn")" "" "man --warnings finds nothing to say about $p"
done

# render PAGE: as a reader sees it, wide enough that no option is broken
render() {
	MANWIDTH=250 man -E UTF-8 -l "$MAN/$1" 2> /dev/null
}

# sections REGEX: the lines of the page's sections whose title matches
sections() {
	awk -v want="^($1)\$" '/^[A-Z][A-Z ]*$/ { sec = $0; next }
		sec ~ want { print }'
}

# longs: the long options a text names, --help and --version aside (the
# CLI's --help does not list those two; every page documents them)
longs() {
	grep -oE -- '--[a-z][a-z0-9-]*' | grep -vxE -- '--(help|version)' |
		sort -u
}

# same_set NAME GOT WANT: one test, the difference shown on failure
same_set() {
	if [ "$2" = "$3" ]; then
		ok 0 "$1"
	else
		ok 1 "$1"
		diff <(printf '%s\n' "$3") <(printf '%s\n' "$2") |
			sed -n 's/^</#   only in --help or the table:/p; s/^>/#   only in the manual:/p'
	fi
}

for prog in fido2gated fido2gate-web; do
	help=$("$BUILD/$prog" --help | longs)
	man_opts=$(render "$prog.8" | sections OPTIONS | longs)
	ok $([ -n "$help" ]; echo $?) "$prog --help names its options"
	same_set "$prog: the long options of --help are those of $prog(8)'s OPTIONS" \
		"$man_opts" "$help"
done

help=$("$BUILD/fido2gatectl" --help)
man_page=$(render fido2gatectl.8)
same_set "fido2gatectl: the long options of --help are those of fido2gatectl(8)'s OPTIONS and COMMANDS" \
	"$(printf '%s\n' "$man_page" | sections 'OPTIONS|COMMANDS' | longs)" \
	"$(printf '%s\n' "$help" | longs)"
help_commands=$(printf '%s\n' "$help" | sed -n '/^commands:/,/^$/p' |
	sed -n 's/^  \([a-z][a-z0-9-]*\).*/\1/p' | sort -u)
man_commands=$(printf '%s\n' "$man_page" | sections COMMANDS |
	sed -n 's/^       \([a-z][a-z0-9-]*\).*/\1/p' | sort -u)
ok $([ "$(printf '%s\n' "$help_commands" | wc -l)" -ge 5 ]; echo $?) \
	"fido2gatectl --help lists its commands"
same_set "fido2gatectl: the commands of --help are those of its COMMANDS" \
	"$man_commands" "$help_commands"

# the PAM module: "debug" for a flag, "socket=" for a valued argument
table=$("$BUILD/test/pam-args" | sort -u)
man_args=$(render pam_fido2gate.8 | sections OPTIONS |
	sed -n 's/^       \([a-z_]\{1,\}=\{0,1\}\).*/\1/p' | sort -u)
ok $([ "$(printf '%s\n' "$table" | wc -l)" -ge 3 ]; echo $?) \
	"pam-args reads the module's argument table" || diag "$table"
same_set "pam_fido2gate(8)'s OPTIONS are the module's argument table" \
	"$man_args" "$table"

# the comparison can fail: an option on one side only is seen
extra=$(render fido2gated.8 | sed 's/^OPTIONS$/&\n       --bogus-option/' |
	sections OPTIONS | longs)
ok $([ "$extra" != "$("$BUILD/fido2gated" --help | longs)" ]; echo $?) \
	"an option the manual has and --help lacks would be seen"
extra=$(render pam_fido2gate.8 | sed 's/^OPTIONS$/&\n       bogus=VALUE/' |
	sections OPTIONS | sed -n 's/^       \([a-z_]\{1,\}=\{0,1\}\).*/\1/p' |
	sort -u)
ok $([ "$extra" != "$table" ]; echo $?) \
	"an argument the manual has and the table lacks would be seen"

done_testing
