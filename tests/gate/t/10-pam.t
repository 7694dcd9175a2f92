#!/bin/bash
# pam_fido2gate.so in a real PAM stack: PAM_SUCCESS only for the enrolled
# key, touched, verified by the agent; every other case refused.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"

agent_start
ok $? "the agent starts on an empty store"
enrol alice --label laptop > "$T/enrol.out" 2>&1
ok $? "fido2gatectl enrolls the soft key for alice"
like "$(cat "$T/enrol.out")" '^enrolled [A-Za-z0-9_-]+ "laptop" for alice \(ES256, attestation basic\)' \
	"enrolment reports the credential and its verified attestation"

pam_auth alice < /dev/null
ok $? "pam_accepts_the_enrolled_key_touched"
like "$OUT" "Touch your security key" "the conversation shows the touch cue"
audit_has "auth.finish +alice +allow" ; ok $? "the agent audits the allow"

pam_auth alice SOFTKEY_STATE= < /dev/null
ok $((! $?)) "pam_denies_without_a_key"
like "$OUT" "Authentication failure" "PAM_AUTH_ERR, not another code"
nokey_known=$OUT

pam_auth alice SOFTKEY_TOUCH=no SOFTKEY_TOUCH_TIMEOUT_MS=500 < /dev/null
ok $((! $?)) "pam_denies_when_the_key_is_not_touched"
audit_has "auth.abort +alice +deny .*not touched"
ok $? "the refusal is audited with its reason"

pam_auth alice SOFTKEY_STATE="$T/other" < /dev/null
ok $((! $?)) "pam_denies_a_different_key"
other_known=$OUT

pam_auth mallory < /dev/null
ok $((! $?)) "pam_denies_an_unknown_user"
is "$OUT" "$other_known" "an unknown user sees what an enrolled user with another key sees"
pam_auth mallory SOFTKEY_STATE= < /dev/null
is "$OUT" "$nokey_known" "an unknown user without a key sees what an enrolled user sees"

pam_auth -alice < /dev/null
ok $((! $?)) "pam_denies_a_user_name_starting_with_a_dash"

pam_service quiet "socket=$SOCK" nocue
SERVICE=quiet pam_auth alice < /dev/null
ok $? "nocue: the enrolled key still logs in"
if printf '%s' "$OUT" | grep -q "Touch your"; then ok 1 "nocue silences the touch cue"; else ok 0 "nocue silences the touch cue"; fi

# revoked credential
ctl revoke alice laptop > /dev/null
ok $? "fido2gatectl revokes the credential by label"
pam_auth alice < /dev/null
ok $((! $?)) "pam_denies_a_revoked_credential"

# the agent is the only authority
agent_stop
pam_auth alice < /dev/null
ok $((! $?)) "pam_denies_when_the_agent_is_down"
like "$OUT" "Authentication service cannot retrieve authentication info" \
	"agent down: PAM_AUTHINFO_UNAVAIL"
like "$OUT" "authentication service is unavailable" "the user is told the service is unavailable"

# arguments: an unknown or malformed one is a service error, never ignored
for arg in bogus timeout=0 timeout=abc "socket=relative" nouserok debug=1 \
	"socket=/elsewhere/agent.sock"; do
	pam_service bad "socket=$SOCK" "$arg"
	SERVICE=bad pam_auth alice < /dev/null
	st=$?
	ok $((! st)) "argument '$arg' refuses"
	like "$OUT" "Error in service module" "argument '$arg' is PAM_SERVICE_ERR"
	like "$OUT" "SYSLOG.*argument \"$arg\"" "argument '$arg' is named in syslog"
done

done_testing
