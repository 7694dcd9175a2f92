# TAP helpers for fido2gate's shell tests (sourced, POSIX sh + bash).
# Each test gets a private temporary directory, removed on exit.

TOP=$(cd "$(dirname "$0")/../../.." && pwd)
BUILD="$TOP/build"
SOFTKEY_SO="$BUILD/test/softkey.so"
PAM_WRAPPER_SO=$(ls /usr/lib/*/libpam_wrapper.so 2>/dev/null | head -n 1)
PAM_U2F_SO=$(ls /lib/*/security/pam_u2f.so /usr/lib/*/security/pam_u2f.so \
	2>/dev/null | head -n 1)

T=$(mktemp -d "${TMPDIR:-/tmp}/fido2gate-test.XXXXXX")
trap 'rm -rf "$T"' EXIT

_n=0
_failed=0

ok() { # ok COND-EXIT-STATUS DESCRIPTION
	_n=$((_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $_n - $2"
	else
		echo "not ok $_n - $2"
		_failed=$((_failed + 1))
	fi
}

is() { # is GOT WANT DESCRIPTION
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
	else
		ok 1 "$3"
		echo "#   got: '$1'"
		echo "#  want: '$2'"
	fi
}

like() { # like GOT EXTENDED-REGEX DESCRIPTION
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then
		ok 0 "$3"
	else
		ok 1 "$3"
		printf '%s\n' "$1" | sed 's/^/#   got: /' | head -n 20
		echo "#  want: /$2/"
	fi
}

unlike() { # unlike GOT EXTENDED-REGEX DESCRIPTION
	if printf '%s\n' "$1" | grep -Eq -- "$2"; then
		ok 1 "$3"
		printf '%s\n' "$1" | sed 's/^/#   got: /' | head -n 20
		echo "#  not: /$2/"
	else
		ok 0 "$3"
	fi
}

diag() { echo "# $*"; }

done_testing() {
	echo "1..$_n"
	[ "$_failed" -eq 0 ]
}

# sk [VAR=VALUE...] CMD...: runs CMD with the soft key preloaded.
sk() {
	env LD_PRELOAD="$SOFTKEY_SO" "$@"
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
