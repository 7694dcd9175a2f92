#!/bin/bash
# fido2-cred makes credentials whose attestation fido2-cred -V verifies;
# fido2-assert gets assertions that fido2-assert -V verifies.
. "$(dirname "$0")/../../lib/tap.sh"
export SOFTKEY_STATE="$T/key"
RP=example.org

cred_params() { # RP USER
	printf '%s\n%s\n%s\n%s\n' "$(rand_b64)" "$1" "$2" "$(rand_b64 16)"
}
assert_params() { # RP CREDID
	printf '%s\n%s\n%s\n' "$(rand_b64)" "$1" "$2"
}

for alg in es256 eddsa rs256; do
	cred_params $RP alice > "$T/cp"
	sk fido2-cred -M -i "$T/cp" softkey:0 $alg > "$T/cred.$alg" 2> "$T/err"
	ok $? "$alg: fido2-cred -M makes a credential"
	is "$(sed -n 3p "$T/cred.$alg")" packed "$alg: packed attestation"
	test -n "$(sed -n 7p "$T/cred.$alg")"
	ok $? "$alg: with an x5c batch certificate"
	fido2-cred -V -i "$T/cred.$alg" -o "$T/pk.$alg" $alg 2> "$T/err"
	ok $? "$alg: fido2-cred -V verifies the attestation"
	flags=$(ad_flags "$(sed -n 4p "$T/cred.$alg")")
	is $((flags & 0x45)) $((0x41)) "$alg: makeCredential authData has UP and AT, not UV"

	id=$(sed -n 5p "$T/cred.$alg")
	assert_params $RP "$id" > "$T/ap"
	sk fido2-assert -G -i "$T/ap" softkey:0 > "$T/a1" 2> "$T/err"
	ok $? "$alg: fido2-assert -G gets an assertion"
	fido2-assert -V -i "$T/a1" "$T/pk.$alg" $alg 2> "$T/err"
	ok $? "$alg: fido2-assert -V verifies it"
	sk fido2-assert -G -i "$T/ap" softkey:0 > "$T/a2" 2> "$T/err"
	c1=$(ad_count "$(sed -n 3p "$T/a1")")
	c2=$(ad_count "$(sed -n 3p "$T/a2")")
	test "$c2" -gt "$c1"
	ok $? "$alg: the sign counter goes up ($c1 then $c2)"
	is "$(ad_flags "$(sed -n 3p "$T/a1")")" 1 "$alg: assertion flags: UP only"

	# spoil the signature: one bit of a byte inside it (changing its last
	# base64 character could be no change at all)
	python3 -c 'import base64, sys
lines = open(sys.argv[1]).read().splitlines()
sig = bytearray(base64.b64decode(lines[-1]))
sig[10] ^= 1
lines[-1] = base64.b64encode(bytes(sig)).decode()
open(sys.argv[1], "w").write("\n".join(lines) + "\n")' "$T/a1"
	fido2-assert -V -i "$T/a1" "$T/pk.$alg" $alg 2> /dev/null
	ok $((! $?)) "$alg: a spoilt signature does not verify"
done

# self attestation ("none" is tested in softkey-raw: fido2-cred cannot print it)
cred_params $RP bob > "$T/cp"
sk SOFTKEY_ATTESTATION=self fido2-cred -M -i "$T/cp" softkey:0 > "$T/self" 2> "$T/err"
is "$(sed -n 3p "$T/self" ; sed -n 7p "$T/self")" packed "SOFTKEY_ATTESTATION=self: packed without x5c"
fido2-cred -V -i "$T/self" -o "$T/pk.self" 2> "$T/err"
ok $? "fido2-cred -V verifies the self attestation"

# the batch certificate chains to the soft key test CA
sed -n 7p "$T/cred.es256" | base64 -d | openssl x509 -inform DER -out "$T/leaf.pem"
like "$(openssl x509 -in "$T/leaf.pem" -noout -subject -ext basicConstraints 2>&1)" \
	'OU = Authenticator Attestation' "the x5c certificate names OU=Authenticator Attestation"
"$BUILD/test/softkey-ca" > "$T/ca.pem"
openssl verify -CAfile "$T/ca.pem" "$T/leaf.pem" > /dev/null 2>&1
ok $? "the x5c certificate chains to the soft key test CA"

# refusals
id=$(sed -n 5p "$T/cred.es256")
assert_params other.example "$id" > "$T/ap"
out=$(sk fido2-assert -G -i "$T/ap" softkey:0 2>&1)
like "$out" 'FIDO_ERR_NO_CREDENTIALS' "the credential is refused for another rp"
assert_params $RP "$id" > "$T/ap"
out=$(sk SOFTKEY_STATE="$T/other" fido2-assert -G -i "$T/ap" softkey:0 2>&1)
like "$out" 'FIDO_ERR_NO_CREDENTIALS' "another soft key refuses the credential"
start=$(date +%s%N)
out=$(sk SOFTKEY_TOUCH=no SOFTKEY_TOUCH_TIMEOUT_MS=700 fido2-assert -G -i "$T/ap" softkey:0 2>&1)
ms=$((($(date +%s%N) - start) / 1000000))
like "$out" 'FIDO_ERR_USER_ACTION_TIMEOUT' "SOFTKEY_TOUCH=no: USER_ACTION_TIMEOUT"
test "$ms" -ge 700
ok $? "... after the touch timeout ($ms ms)"
out=$(sk SOFTKEY_TOUCH=no SOFTKEY_TOUCH_TIMEOUT_MS=300 fido2-cred -M -i "$T/cp" softkey:0 2>&1)
like "$out" 'FIDO_ERR_USER_ACTION_TIMEOUT' "SOFTKEY_TOUCH=no: makeCredential times out too"

# up=false: a silent probe, signed without UP, even with no touch
sk SOFTKEY_TOUCH=no fido2-assert -G -t up=false -i "$T/ap" softkey:0 > "$T/a3" 2> "$T/err"
ok $? "up=false gets an assertion without a touch"
is "$(ad_flags "$(sed -n 3p "$T/a3")")" 0 "... with UP clear"
fido2-assert -V -i "$T/a3" "$T/pk.es256" es256 2> "$T/err"
ok $? "fido2-assert -V verifies it"
fido2-assert -V -p -i "$T/a3" "$T/pk.es256" es256 2> /dev/null
ok $((! $?)) "fido2-assert -V -p (user present) refuses it"

# discoverable credentials and getNextAssertion
cred_params $RP carol > "$T/cp"
sk fido2-cred -M -r -i "$T/cp" softkey:0 > "$T/rk1" 2> "$T/err"
ok $? "fido2-cred -M -r makes a discoverable credential"
cred_params $RP dave > "$T/cp"
sk fido2-cred -M -r -i "$T/cp" softkey:0 eddsa > "$T/rk2" 2> "$T/err"
printf '%s\n%s\n' "$(rand_b64)" $RP > "$T/ap"
out=$(sk fido2-assert -G -r -i "$T/ap" softkey:0 2> "$T/err")
ok $? "fido2-assert -G -r finds them without a credential ID"
is "$(printf '%s\n' "$out" | grep -c "^$RP\$")" 2 "two assertions (getNextAssertion)"

# CTAP1/U2F: fido-u2f attestation, U2F and CTAP2 assertions alike
cred_params $RP erin > "$T/cp"
sk fido2-cred -M -u -i "$T/cp" softkey:0 > "$T/u2f" 2> "$T/err"
ok $? "fido2-cred -M -u registers over U2F (CTAPHID_MSG)"
is "$(sed -n 3p "$T/u2f")" fido-u2f "fido-u2f attestation"
fido2-cred -V -i "$T/u2f" -o "$T/pk.u2f" 2> "$T/err"
ok $? "fido2-cred -V verifies it"
assert_params $RP "$(sed -n 5p "$T/u2f")" > "$T/ap"
sk fido2-assert -G -u -i "$T/ap" softkey:0 > "$T/a5" 2> "$T/err"
fido2-assert -V -p -i "$T/a5" "$T/pk.u2f" 2> "$T/err"
ok $? "a U2F authentication verifies"
sk fido2-assert -G -i "$T/ap" softkey:0 > "$T/a6" 2> "$T/err"
fido2-assert -V -p -i "$T/a6" "$T/pk.u2f" 2> "$T/err"
ok $? "the U2F credential also answers CTAP2 getAssertion"
test "$(ad_count "$(sed -n 3p "$T/a6")")" -gt "$(ad_count "$(sed -n 3p "$T/a5")")"
ok $? "one counter for both"

# the state survives: same key after a new process
assert_params $RP "$(sed -n 5p "$T/cred.eddsa")" > "$T/ap"
sk fido2-assert -G -i "$T/ap" softkey:0 > "$T/a4" 2> "$T/err"
fido2-assert -V -i "$T/a4" "$T/pk.eddsa" eddsa 2> "$T/err"
ok $? "the key still signs for its first credential"

done_testing
