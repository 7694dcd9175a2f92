#!/bin/bash
# fido2gatectl: enroll, list, revoke, status, audit and their exit codes.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"

ctl status > /dev/null 2>&1
is $? 3 "exit 3 when the agent cannot be reached"
ctl frobnicate > /dev/null 2>&1
is $? 2 "exit 2 for an unknown command"
like "$(ctl --help)" "exit status" "--help documents the exit codes"

agent_start
enrol alice --label "work key" > /dev/null 2>&1
ok $? "enroll with a label"
enrol alice --label second > "$T/out" 2>&1
is $? 5 "enrolling the same key twice is refused by the key (exclude list), exit 5"
like "$(cat "$T/out")" "already enrolled" "with a message that says so"
SOFTKEY_STATE="$T/k2" enrol alice --label "spare" --alg eddsa > "$T/out" 2>&1
ok $? "a second key, EdDSA"
like "$(cat "$T/out")" "EdDSA" "reported as EdDSA"
SOFTKEY_STATE="$T/k3" enrol alice --label "rsa" --alg rs256 > /dev/null 2>&1
ok $? "a third key, RS256"
pam_auth alice SOFTKEY_STATE="$T/k3" < /dev/null
ok $? "the RS256 key logs in"
pam_auth alice SOFTKEY_STATE="$T/k2" < /dev/null
ok $? "the EdDSA key logs in"
enrol -bob > /dev/null 2>&1
is $? 2 "a user name starting with a dash is a usage error"
SOFTKEY_STATE="$T/k4" enrol bob --label "$(printf 'a\tb')" > /dev/null 2>&1
is $? 2 "a label with control characters is refused"

list=$(ctl list)
like "$list" "alice .* work key" "list shows the first credential"
is "$(printf '%s\n' "$list" | grep -c alice)" 3 "list shows alice's three credentials"
ctl --json list alice > "$T/list.json"
ok $? "list --json"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert len(d)==3 and {c["alg"] for c in d}=={"ES256","EdDSA","RS256"}' "$T/list.json"
ok $? "list --json is JSON with the three algorithms"
like "$(ctl list nobody-here)" "no credentials" "an unknown user has no credentials"

id=$(python3 -c 'import json,sys; print([c["credential_id"] for c in json.load(open(sys.argv[1])) if c["label"]=="spare"][0])' "$T/list.json")
ctl revoke alice "${id:0:10}" > "$T/out"
ok $? "revoke by credential ID prefix"
like "$(cat "$T/out")" "revoked .* \(spare\)" "revoke names what it revoked"
ctl revoke alice spare > /dev/null 2>&1
is $? 1 "revoking it again finds nothing (exit 1)"
ctl revoke alice A > /dev/null 2>&1
is $? 1 "a one-character prefix matches nothing"
ctl revoke alice > /dev/null 2>&1
is $? 2 "revoke without a credential is a usage error"
like "$(ctl list alice)" "revoked .* spare" "the revoked credential is listed as revoked"
pam_auth alice SOFTKEY_STATE="$T/k2" < /dev/null
ok $((! $?)) "the revoked key no longer logs in"

st=$(ctl status)
like "$st" "credentials_active +2" "status counts active credentials"
like "$st" "rp_id +fido2gate.test" "status shows the RP ID"
like "$(ctl audit)" "revoke +alice +ok" "audit shows the revocation"
like "$(ctl --json audit --limit 1)" '"event": "auth.abort"' "audit --json --limit 1 gives the latest record (the revoked key's refusal)"

agent_stop
printf '[relying_party]\nid = fido2gate.test\nbogus = 1\n' > "$T/bad.conf"
"$BUILD/fido2gated" --socket "$SOCK" --db "$DB" --config "$T/bad.conf" 2> "$T/err"
ok $((! $?)) "the agent refuses an unknown setting"
like "$(cat "$T/err")" "bad.conf:3: unknown setting \[relying_party\] bogus" "and names it with its line"
printf '[policy]\nuser_verification = sometimes\n' > "$T/bad.conf"
"$BUILD/fido2gated" --socket "$SOCK" --db "$DB" --config "$T/bad.conf" 2> "$T/err"
ok $((! $?)) "the agent refuses a bad value"
"$BUILD/fido2gated" --socket "$SOCK" --db "$DB" --config "$T/missing.conf" 2> "$T/err"
ok $((! $?)) "the agent refuses a config file it cannot read"
like "$("$BUILD/fido2gated" --check-config)" "^rp_id [^ ]+" "with no config file the agent picks a default RP ID"
like "$("$BUILD/fido2gated" --check-config)" "origins pam://" "and the PAM origin pam://<rp_id>"

done_testing
