#!/bin/bash
# PINs through libfido2's tools: setPIN, changePIN, PIN tokens over PIN/UV
# auth protocols 2 and 1, user verification, wrong PINs counted, the
# three-in-a-row and eight-in-all limits.
. "$(dirname "$0")/../../lib/tap.sh"
RP=example.org
CLIENT="$BUILD/test/softkey-pin-client"

# tools read the PIN from stdin when there is no terminal
pin() { # PIN-LINES... -- CMD...
	local input=""
	while [ "$1" != "--" ]; do input="$input$1"$'\n'; shift; done
	shift
	printf '%s' "$input" | sk setsid "$@"
}
cred_params() {
	printf '%s\n%s\n%s\n%s\n' "$(rand_b64)" $RP alice "$(rand_b64 16)"
}
assert_params() {
	printf '%s\n%s\n%s\n' "$(rand_b64)" $RP "$1"
}
retries() { sk fido2-token -I softkey:0 | sed -n 's/^pin retries: //p'; }

for proto in 2 1; do
	export SOFTKEY_STATE="$T/key$proto" SOFTKEY_PIN_PROTOCOLS=$proto
	[ $proto = 2 ] && unset SOFTKEY_PIN_PROTOCOLS
	p="protocol $proto:"
	like "$(sk fido2-token -I softkey:0)" "^pin protocols: $( [ $proto = 2 ] && echo '2, 1' || echo 1)\$" "$p the key offers it"

	pin 1234 1234 -- fido2-token -S softkey:0 > /dev/null 2>&1
	ok $? "$p fido2-token -S sets a PIN"
	like "$(sk fido2-token -I softkey:0)" '^options: .*, clientPin,' "$p clientPin is now true"
	out=$(pin 5678 5678 -- fido2-token -S softkey:0 2>&1)
	like "$out" 'FIDO_ERR_NOT_ALLOWED' "$p setting a PIN twice is refused"

	cred_params > "$T/cp"
	pin 1234 -- fido2-cred -M -i "$T/cp" softkey:0 > "$T/cred" 2> "$T/err"
	ok $? "$p makeCredential asks for the PIN and succeeds with it"
	fido2-cred -V -i "$T/cred" -o "$T/pk" 2> "$T/err"
	ok $? "$p the credential verifies"
	flags=$(ad_flags "$(sed -n 4p "$T/cred")")
	is $((flags & 5)) 5 "$p makeCredential with the PIN: UP and UV"
	out=$(pin 9999 -- fido2-cred -M -i "$T/cp" softkey:0 2>&1)
	like "$out" 'FIDO_ERR_PIN_INVALID' "$p a wrong PIN is refused"
	is "$(retries)" 7 "$p and counted: 7 retries left"

	assert_params "$(sed -n 5p "$T/cred")" > "$T/ap"
	pin 1234 -- fido2-assert -G -v -i "$T/ap" softkey:0 > "$T/a" 2> "$T/err"
	ok $? "$p fido2-assert -G -v with the PIN"
	is "$(ad_flags "$(sed -n 3p "$T/a")")" 5 "$p the assertion has UP and UV"
	fido2-assert -V -v -i "$T/a" "$T/pk" 2> "$T/err"
	ok $? "$p fido2-assert -V -v verifies it"
	is "$(retries)" 8 "$p the right PIN restores 8 retries"
	sk fido2-assert -G -i "$T/ap" softkey:0 > "$T/a" 2> "$T/err"
	is "$(ad_flags "$(sed -n 3p "$T/a")")" 1 "$p without -v: no PIN asked, UP only"

	pin 1234 4321 4321 -- fido2-token -C softkey:0 > /dev/null 2>&1
	ok $? "$p fido2-token -C changes the PIN"
	out=$(pin 1234 -- fido2-assert -G -v -i "$T/ap" softkey:0 2>&1)
	like "$out" 'FIDO_ERR_PIN_INVALID' "$p the old PIN no longer works"
	pin 4321 -- fido2-assert -G -v -i "$T/ap" softkey:0 > /dev/null 2>&1
	ok $? "$p the new PIN does"
	out=$(pin 0000 5555 5555 -- fido2-token -C softkey:0 2>&1)
	like "$out" 'FIDO_ERR_PIN_INVALID' "$p changePIN with a wrong current PIN is refused"
done
unset SOFTKEY_PIN_PROTOCOLS

# limits, in one power cycle and across them
export SOFTKEY_STATE="$T/limits" SOFTKEY_PIN=2468
cred_params > "$T/cp"
pin 2468 -- fido2-cred -M -i "$T/cp" softkey:0 > "$T/cred" 2> "$T/err"
id=$(sed -n 5p "$T/cred")
out=$(sk "$CLIENT" $RP "$id" 0000 0000 0000 2468 | tr '\n' ' ')
is "$out" "FIDO_ERR_PIN_INVALID FIDO_ERR_PIN_INVALID FIDO_ERR_PIN_AUTH_BLOCKED FIDO_ERR_PIN_AUTH_BLOCKED " \
	"three wrong PINs in a row: PIN_AUTH_BLOCKED, even for the right PIN"
is "$(retries)" 5 "those three were counted"
out=$(sk "$CLIENT" $RP "$id" 2468)
is "$out" FIDO_ERR_SUCCESS "a new power cycle accepts the right PIN"
is "$(retries)" 8 "and the retries are back to 8"
sk "$CLIENT" $RP "$id" 1 1 1 > /dev/null
sk "$CLIENT" $RP "$id" 1 1 1 > /dev/null
out=$(sk "$CLIENT" $RP "$id" 1 1 2468 | tr '\n' ' ')
is "$out" "FIDO_ERR_PIN_INVALID FIDO_ERR_PIN_BLOCKED FIDO_ERR_PIN_BLOCKED " \
	"eight wrong PINs in all: PIN_BLOCKED, even for the right PIN"
out=$(sk "$CLIENT" $RP "$id" 2468)
is "$out" FIDO_ERR_PIN_BLOCKED "and it stays blocked in the next power cycle"
is "$(retries)" 0 "no retries left"

# uv without a PIN: the key has no built-in user verification
export SOFTKEY_STATE="$T/nopin"
unset SOFTKEY_PIN
cred_params > "$T/cp"
sk fido2-cred -M -i "$T/cp" softkey:0 > "$T/cred" 2> "$T/err"
assert_params "$(sed -n 5p "$T/cred")" > "$T/ap"
out=$(sk fido2-assert -G -t uv=true -i "$T/ap" softkey:0 < /dev/null 2>&1)
ok $((! $?)) "uv requested from a key without a PIN is refused ($(echo "$out" | tail -n 1))"

done_testing
