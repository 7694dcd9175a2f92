#!/bin/bash
# User verification: with user_verification = required the PIN is asked
# through the PAM conversation; right PIN in, wrong or empty PIN out.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"

printf '[policy]\nuser_verification = required\n' | write_conf
agent_start
export SOFTKEY_PIN=2468

echo 2468 | sk "$BUILD/fido2gatectl" --socket "$SOCK" enroll alice > "$T/out" 2>&1
ok $? "enrolment with the PIN"
like "$(cat "$T/out")" "PIN\)$" "the credential is enrolled with user verification"

pam_auth alice <<< 2468
ok $? "pam_accepts_the_right_pin"
like "$OUT" "Enter the PIN for your security key" "the PIN is asked through the conversation"
like "$OUT" "Touch your security key" "then the touch cue"

pam_auth alice <<< 1111
ok $((! $?)) "pam_denies_a_wrong_pin"
like "$OUT" "wrong PIN" "the user is told the PIN was wrong"
like "$(sk fido2-token -I softkey:0)" '^pin retries: 7$' "the wrong PIN was counted by the key"
audit_has "auth.abort +alice +deny +uid=0 wrong PIN"
ok $? "the agent audits the wrong PIN"

pam_auth alice <<< ""
ok $((! $?)) "pam_denies_an_empty_pin"
pam_auth alice < /dev/null
ok $((! $?)) "pam_denies_when_the_conversation_gives_no_pin"
like "$(sk fido2-token -I softkey:0)" '^pin retries: 7$' "an empty PIN never reaches the key"

pam_auth alice <<< 2468
ok $? "the right PIN works again (and resets the key's count)"

# a key without a PIN cannot satisfy a policy that requires UV
SOFTKEY_PIN= SOFTKEY_STATE="$T/nopin" enrol alice > "$T/out" 2>&1
ok $((! $?)) "enrolment refuses a key without a PIN when UV is required"
like "$(cat "$T/out")" "no PIN" "and says why"

# UV is required by policy even for a credential enrolled without it
agent_stop
write_conf < /dev/null
agent_start
SOFTKEY_STATE="$T/nopin" SOFTKEY_PIN= enrol bob > /dev/null 2>&1
ok $? "with the default policy a key without a PIN enrols"
printf '[policy]\nuser_verification = required\n' | write_conf
agent_stop
agent_start
pam_auth bob SOFTKEY_STATE="$T/nopin" SOFTKEY_PIN= < /dev/null
ok $((! $?)) "pam_denies_a_key_without_uv_when_policy_requires_it"

# a client that skips the PIN: the key signs with UV=0, the agent refuses
got=$(client login alice)
ok $((! $?)) "an assertion with UV=0 is refused when policy requires UV"
like "$got" '"reason":"verification failed: .*uv' "the agent names the missing user verification"
audit_has "auth.finish +alice +deny .*uv"
ok $? "and audits it"

done_testing
