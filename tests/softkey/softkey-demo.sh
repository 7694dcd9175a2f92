#!/bin/bash
# make demo-softkey: the soft key at work through libfido2's own tools.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
dir=$(mktemp -d "${TMPDIR:-/tmp}/fido2gate-demo.XXXXXX")
trap 'rm -rf "$dir"' EXIT
export SOFTKEY_STATE="$dir/key"
sk() { env LD_PRELOAD="$top/build/test/softkey.so" "$@"; }
say() { printf '\n== %s\n' "$*"; }
b64() { head -c "$1" /dev/urandom | base64 -w0; }

say "Plugged-in FIDO keys, as libfido2 sees them (a software key):"
sk fido2-token -L

say "Enrol: the key makes a credential for alice at example.org ..."
printf '%s\nexample.org\nalice\n%s\n' "$(b64 32)" "$(b64 16)" > "$dir/cred.in"
sk fido2-cred -M -i "$dir/cred.in" softkey:0 > "$dir/cred"
fido2-cred -V -i "$dir/cred" -o "$dir/alice.pem"
echo "   attestation verified; alice's public key:"
sed -n '/BEGIN/,/END/s/^/   /p' "$dir/alice.pem"

say "Log in: the server sends a fresh challenge, the user touches the key ..."
printf '%s\nexample.org\n%s\n' "$(b64 32)" "$(sed -n 5p "$dir/cred")" > "$dir/assert.in"
sk fido2-assert -G -i "$dir/assert.in" softkey:0 > "$dir/assert"
if fido2-assert -V -p -i "$dir/assert" "$dir/alice.pem"; then
	echo "   ACCEPTED: the signature verifies against alice's enrolled key"
fi

say "An attacker with alice's password but another key ..."
if sk SOFTKEY_STATE="$dir/attacker" fido2-assert -G -i "$dir/assert.in" softkey:0 \
	> /dev/null 2> "$dir/err"; then
	echo "   unexpectedly signed" && exit 1
fi
echo "   REFUSED: $(tail -n 1 "$dir/err")"

say "Alice's key plugged in but not touched ..."
if sk SOFTKEY_TOUCH=no SOFTKEY_TOUCH_TIMEOUT_MS=1000 \
	fido2-assert -G -i "$dir/assert.in" softkey:0 > /dev/null 2> "$dir/err"; then
	echo "   unexpectedly signed" && exit 1
fi
echo "   REFUSED: $(tail -n 1 "$dir/err")"
