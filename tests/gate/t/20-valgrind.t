#!/bin/bash
# valgrind memcheck on the agent through enrolments, logins, a replay,
# refused attestations and protocol garbage, and on the PAM module inside
# pamtester: no memory errors and no leaks.
. "$(dirname "$0")/../../lib/tap.sh"
skip_if_sanitized "valgrind cannot run ASan binaries"
. "$(dirname "$0")/../../lib/gate.sh"

VG="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect --show-leak-kinds=definite,indirect"
AGENT_WRAPPER="$VG" agent_start
ok $? "the agent starts under valgrind"
enrol alice > /dev/null 2>&1
ok $? "enrol"
client login alice --capture "$T/finish" > /dev/null
ok $? "a login"
client raw < "$T/finish" > /dev/null
SOFTKEY_STATE="$T/u" client enroll carol --u2f --tamper > /dev/null
SOFTKEY_STATE="$T/s" SOFTKEY_ATTESTATION=self client enroll carol --tamper > /dev/null
printf '%s\n' garbage '{"v":1}' '{"v":1,"op":"auth.begin","user":"bob"}' \
	'{"v":1,"op":"cred.list"}' '{"v":1,"op":"audit.list"}' \
	'{"v":1,"op":"cred.revoke","user":"alice","credential":"zzzz"}' |
	client raw > /dev/null
head -c 2000 /dev/urandom > "$T/noise"
"$BUILD/test/fg-client" "$SOCK" raw < "$T/noise" > /dev/null 2>&1
PAMTESTER_WRAPPER="$VG" pam_auth alice < /dev/null
ok $? "pam_fido2gate.so logs in under valgrind (exit 99 would be a memcheck error)"
PAMTESTER_WRAPPER="$VG" pam_auth alice SOFTKEY_STATE="$T/other" < /dev/null
is $? 1 "and refuses another key under valgrind without memcheck errors"
agent_stop
is "$AGENT_STATUS" 0 "the agent stops cleanly, with no memcheck error or leak"
if grep -v '^fido2gated' "$T/agent.log" | grep -q .; then
	diag "$(cat "$T/agent.log")"
	ok 1 "valgrind reported nothing for the agent"
else
	ok 0 "valgrind reported nothing for the agent"
fi
done_testing
