#!/bin/bash
# Enrolment verifies every attestation statement it gets: packed with x5c,
# packed self, none, and fido-u2f from a key spoken to over CTAP1; a
# statement whose signature does not verify is refused.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"

agent_start
enrol alice > "$T/out" 2>&1
like "$(cat "$T/out")" "attestation basic" "packed with an x5c batch certificate is verified"
SOFTKEY_ATTESTATION=self SOFTKEY_STATE="$T/self" enrol alice > "$T/out" 2>&1
like "$(cat "$T/out")" "attestation self" "packed self attestation is verified"
SOFTKEY_ATTESTATION=none SOFTKEY_STATE="$T/none" enrol alice > "$T/out" 2>&1
like "$(cat "$T/out")" "attestation none" "fmt none is accepted by the default policy"

SOFTKEY_STATE="$T/u2f" client enroll bob --u2f > "$T/out"
ok $? "a key spoken to over CTAP1/U2F enrols"
like "$(cat "$T/out")" '"attestation":"basic"' "its fido-u2f statement is verified"
like "$(ctl --json list bob)" '"fmt": "fido-u2f"' "and stored as fido-u2f"
pam_auth bob SOFTKEY_STATE="$T/u2f" < /dev/null
ok $? "the U2F-enrolled credential logs in through PAM"

SOFTKEY_STATE="$T/t1" client enroll carol --tamper > "$T/out"
ok $((! $?)) "a packed statement with a flipped signature bit is refused"
like "$(cat "$T/out")" "does not verify" "and the reason says so"
SOFTKEY_STATE="$T/t2" client enroll carol --u2f --tamper > "$T/out"
ok $((! $?)) "a fido-u2f statement with a flipped signature bit is refused"
SOFTKEY_ATTESTATION=self SOFTKEY_STATE="$T/t3" client enroll carol --tamper > "$T/out"
ok $((! $?)) "a packed self statement with a flipped signature bit is refused"
like "$(ctl list carol)" "no credentials" "nothing was stored for the refused enrolments"
audit_has "enroll +carol +deny"
ok $? "the refusals are audited"

agent_stop
printf '[policy]\nattestation = required\n' | write_conf
agent_start
SOFTKEY_ATTESTATION=none SOFTKEY_STATE="$T/none2" enrol dave > "$T/out" 2>&1
ok $((! $?)) "attestation = required refuses fmt none"
like "$(cat "$T/out")" "requires attestation" "and says why"

# the offline verifier on an assertion made by libfido2's own tools
printf '%s\n%s\n%s\n%s\n' "$(rand_b64)" "$RP" alice "$(rand_b64)" > "$T/cred.in"
sk fido2-cred -M -i "$T/cred.in" softkey:0 es256 > "$T/cred.out" 2> /dev/null &&
	sk fido2-cred -V -i "$T/cred.out" -o "$T/cred.pem" es256 2> /dev/null
ok $? "fido2-cred makes and checks a credential"
printf '%s\n%s\n%s\n' "$(rand_b64)" "$RP" "$(sed -n 5p "$T/cred.out")" > "$T/assert.in"
sk fido2-assert -G -p -i "$T/assert.in" softkey:0 > "$T/assert.out" 2> /dev/null
ok $? "fido2-assert makes an assertion"
verify() { # RP-ID none|flip
	python3 "$TOP/tests/tools/verify_request.py" "$T/assert.out" \
		"$T/cred.pem" "$1" "$2" | "$BUILD/fido2gatectl" verify
}
out=$(verify "$RP" none)
ok $? "fido2gatectl verify accepts libfido2's assertion (exit 0)"
like "$out" '"ok":true' "and prints ok"
like "$out" '"flags":\{"up":true' "with the flags it read"
out=$(verify "$RP" flip)
is $? 1 "a flipped signature bit is rejected (exit 1)"
like "$out" '"failed":\["bad_signature"\]' "as bad_signature"
out=$(verify other.test none)
like "$out" '"failed":\["rp_id_hash_mismatch"\]' "another RP ID is rp_id_hash_mismatch"
echo '{"public_key":{}}' | "$BUILD/fido2gatectl" verify > /dev/null 2>&1
is $? 2 "an unusable request exits 2"

done_testing
