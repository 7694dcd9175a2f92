#!/bin/bash
# fido2gatectl's bash completion (completions/fido2gatectl) offers what
# fido2gatectl --help lists: its commands, its global options, a command's
# own options, user names where a command takes USER, files after --socket.
. "$(dirname "$0")/../../lib/tap.sh"

BC=/usr/share/bash-completion/bash_completion
if [ ! -r "$BC" ]; then
	echo "1..0 # SKIP bash-completion is not installed ($BC)"
	exit 0
fi

# complete WORD...: what the completion offers for the last word, sorted,
# one a line, from a bash that reads no start-up file
complete_words() {
	bash --norc --noprofile -c '
		. "$1" && . "$2" || exit 9
		shift 2
		COMP_WORDS=("$@")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		COMP_LINE="${COMP_WORDS[*]}"
		COMP_POINT=${#COMP_LINE}
		COMPREPLY=()
		_fido2gatectl fido2gatectl "${COMP_WORDS[COMP_CWORD]}" \
			"${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}" | sed "/^$/d" | sort -u
	' _ "$BC" "$TOP/completions/fido2gatectl" "$@"
}

help=$("$BUILD/fido2gatectl" --help)
help_commands=$(printf '%s\n' "$help" | sed -n '/^commands:/,/^$/p' |
	sed -n 's/^  \([a-z][a-z0-9-]*\).*/\1/p' | sort -u)
help_options=$(printf '%s\n' "$help" | sed -n '/^options:/,/^$/p' |
	grep -oE -- '--[a-z][a-z-]*' | sort -u)
ok $([ "$(printf '%s\n' "$help_commands" | wc -l)" -ge 5 ]; echo $?) \
	"fido2gatectl --help lists its commands" ||
	diag "$help"

is "$(complete_words fido2gatectl '')" "$help_commands" \
	"fido2gatectl <TAB> offers exactly the commands of --help"
is "$(complete_words fido2gatectl --socket /tmp/s '')" "$help_commands" \
	"and so after --socket PATH"
is "$(complete_words fido2gatectl -- | grep -vxE -- '--(help|version)')" \
	"$help_options" "fido2gatectl --<TAB> offers the global options of --help"
is "$(complete_words fido2gatectl --j)" "--json" "a prefix narrows them"
is "$(complete_words fido2gatectl enroll --)" \
	"$(printf '%s\n' "$help" | sed -n 's/^  enroll //p' | grep -o -- '--[a-z]*' | sort -u)" \
	"enroll --<TAB> offers enroll's own options from --help (--alg, --label)"
is "$(complete_words fido2gatectl enroll alice --alg '')" "$(printf 'eddsa\nes256\nrs256')" \
	"enroll --alg <TAB> offers the algorithms"
is "$(complete_words fido2gatectl audit --)" \
	"$(printf '%s\n' "$help" | sed -n 's/^  audit //p' | grep -oE -- '--[a-z][a-z-]*' | sort -u)" \
	"audit --<TAB> offers audit's own options from --help (--anchor, --db, --limit, --password-file, --since, --user, --verify)"
is "$(complete_words fido2gatectl audit --user ro)" \
	"$(compgen -u ro | sort -u)" "audit --user <TAB> offers user names"
is "$(complete_words fido2gatectl unlock ro)" \
	"$(compgen -u ro | sort -u)" "unlock <TAB> offers user names"
is "$(complete_words fido2gatectl status '')" "" \
	"status takes no argument: nothing offered"
is "$(complete_words fido2gatectl import-pam-u2f --)" \
	"$(printf '%s\n' "$help" | sed -n 's/^  import-pam-u2f //p' | grep -o -- '--[a-z-]*' | sort -u)" \
	"import-pam-u2f --<TAB> offers its options from --help"
mkdir "$T/run"
: > "$T/run/agent.sock"
is "$(complete_words fido2gatectl --socket "$T/run/a")" "$T/run/agent.sock" \
	"--socket <TAB> offers file names"
is "$(complete_words fido2gatectl import-pam-u2f "$T/run/a")" "$T/run/agent.sock" \
	"import-pam-u2f <TAB> offers file names"

done_testing
