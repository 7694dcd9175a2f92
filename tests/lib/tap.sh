# TAP helpers for fido2gate's shell tests (sourced, POSIX sh + bash).
# Each test gets a private temporary directory, removed on exit.

TOP=$(cd "$(dirname "$0")/../../.." && pwd)
# FG_BUILD: another build tree; `make check-sanitize` runs the suite on
# build-san/, everything built with AddressSanitizer and UBSan
BUILD=${FG_BUILD:-$TOP/build}
# PRE goes first in every LD_PRELOAD: with a sanitized build it is the ASan
# runtime, which must load before our libraries in programs not built with
# it (pamtester, libfido2's tools)
PRE=
if [ -n "${FG_SANITIZE:-}" ]; then
	PRE="$(gcc -print-file-name=libasan.so):"
	export ASAN_OPTIONS="verify_asan_link_order=0:detect_leaks=0:abort_on_error=0:exitcode=86"
	export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:exitcode=86"
fi
# skip_if_sanitized WHY: for what a sanitized build cannot do (valgrind)
skip_if_sanitized() {
	if [ -n "${FG_SANITIZE:-}" ]; then
		echo "1..0 # SKIP under the sanitizers: $1"
		exit 0
	fi
}
SOFTKEY_SO="$BUILD/test/softkey.so"
PAM_WRAPPER_SO=$(ls /usr/lib/*/libpam_wrapper.so 2>/dev/null | head -n 1)
PAM_U2F_SO=$(ls /lib/*/security/pam_u2f.so /usr/lib/*/security/pam_u2f.so \
	2>/dev/null | head -n 1)

T=$(mktemp -d "${TMPDIR:-/tmp}/fido2gate-test.XXXXXX")
trap 'rm -rf "$T"' EXIT

_n=0
_failed=0

# ok, is, like and unlike return the verdict, so a failure can show more:
#   like "$got" ... "..." || diag_file "$T/err"
ok() { # ok COND-EXIT-STATUS DESCRIPTION
	_n=$((_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $_n - $2"
		return 0
	fi
	echo "not ok $_n - $2"
	_failed=$((_failed + 1))
	return 1
}

is() { # is GOT WANT DESCRIPTION
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		echo "#   got: '$1'"
		echo "#  want: '$2'"
		return 1
	fi
}

like() { # like GOT EXTENDED-REGEX DESCRIPTION
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then
		ok 0 "$3"
	else
		ok 1 "$3"
		printf '%s\n' "$1" | sed 's/^/#   got: /' | head -n 20
		echo "#  want: /$2/"
		return 1
	fi
}

unlike() { # unlike GOT EXTENDED-REGEX DESCRIPTION
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then
		ok 1 "$3"
		printf '%s\n' "$1" | sed 's/^/#   got: /' | head -n 20
		echo "#  not: /$2/"
		return 1
	else
		ok 0 "$3"
	fi
}

skip() { # skip COUNT REASON
	local i
	for i in $(seq "$1"); do
		_n=$((_n + 1))
		echo "ok $_n # skip $2"
	done
}

diag() { echo "# $*"; }

# diag_file FILE [LINES]: the last LINES (20) of FILE as diagnostics, so a
# helper's own error messages show in the test's output
diag_file() {
	[ -s "$1" ] || { echo "#   ($1 is empty)"; return 0; }
	tail -n "${2:-20}" "$1" | sed 's/^/#   /'
}

# wait_for, share
# shellcheck source=tests/lib/util.sh
. "$TOP/tests/lib/util.sh"

done_testing() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
}

# sk [VAR=VALUE...] CMD...: runs CMD with the soft key preloaded.
sk() {
	env LD_PRELOAD="$PRE$SOFTKEY_SO" "$@"
}

# A fresh base64 client-data hash.
rand_b64() {
	head -c "${1:-32}" /dev/urandom | base64 -w0
}

# authData as fido2-tools print it: base64 of a CBOR byte string.
_ad_hdr() {
	case $(echo "$1" | base64 -d | od -An -tx1 -N1 | tr -d ' ') in
	58) echo 2 ;;
	59) echo 3 ;;
	*) echo 0 ;;
	esac
}
ad_flags() {
	echo "$1" | base64 -d |
		od -An -tu1 -j$(($(_ad_hdr "$1") + 32)) -N1 | tr -d ' '
}
ad_count() {
	echo "$1" | base64 -d | od -An -tu1 -j$(($(_ad_hdr "$1") + 33)) -N4 |
		awk '{ print $1 * 16777216 + $2 * 65536 + $3 * 256 + $4 }'
}
