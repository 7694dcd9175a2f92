#!/bin/bash
# Several keys plugged in: the module finds the enrolled one without a
# touch (an up=false probe against the allow list) and uses it.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"

agent_start
SOFTKEY_STATE="$T/enrolled" enrol alice > /dev/null 2>&1
ok $? "alice enrols one key"

# softkey:0 is a stranger, softkey:1 the enrolled key
cp "$T/enrolled" "$T/two.1"
rm -f "$T/two"
pam_auth alice SOFTKEY_STATE="$T/two" SOFTKEY_DEVICES=2 < /dev/null
ok $? "pam_finds_the_enrolled_key_among_two"
before=$(SOFTKEY_STATE="$T/two" SOFTKEY_DEVICES=2 sk fido2-token -L | wc -l)
is "$before" 2 "two keys were plugged in"

pam_auth alice SOFTKEY_STATE="$T/none" SOFTKEY_DEVICES=3 < /dev/null
ok $((! $?)) "pam_denies_three_keys_none_enrolled"
like "$OUT" "check failed" "with the refusal message"
audit_has "no enrolled security key found"
ok $? "the agent audits that no enrolled key was found"

done_testing
