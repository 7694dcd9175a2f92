#!/bin/bash
# The agent protocol under abuse: malformed, oversized, unknown and
# out-of-order messages get an error reply and the agent keeps running;
# challenges are single-use, expire, and are bound to user and caller.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"

printf '[limits]\nchallenge_timeout = 2\n' | write_conf
agent_start
enrol alice > /dev/null 2>&1
SOFTKEY_STATE="$T/bob" enrol bob > /dev/null 2>&1
ok $? "alice and bob enrol their own keys"

# one record per line; each must be answered with the named error
check_error() { # LINE CODE DESCRIPTION
	local got
	got=$(printf '%s\n' "$1" | client raw)
	like "$got" "\"error\":\"$2\"" "$3"
	agent_alive
	ok $? "... and the agent is still running"
}
check_error 'not json' bad_json "garbage is answered bad_json"
check_error '{"v":1,"op":"status"' bad_json "truncated JSON is answered bad_json"
check_error '[1,2,3]' bad_json "a JSON array is answered bad_json"
check_error '{"v":1,"op":"status","op":"status"}' bad_json "a duplicate member is answered bad_json"
check_error '{"op":"status"}' version "a message without a version is refused"
check_error '{"v":2,"op":"status"}' version "another protocol version is refused"
check_error '{"v":"1","op":"status"}' version "a version that is a string is refused"
check_error '{"v":1}' bad_request "a message without op is refused"
check_error '{"v":1,"op":"launch.missiles"}' unknown_op "an unknown op is refused"
check_error '{"v":1,"op":"auth.begin"}' bad_request "auth.begin without a user is refused"
check_error '{"v":1,"op":"auth.begin","user":42}' bad_request "a user that is not a string is refused"
check_error '{"v":1,"op":"auth.begin","user":"a/b"}' bad_request "a user name with a slash is refused"
check_error '{"v":1,"op":"auth.begin","user":"alice","service":7}' bad_request "a service that is not a string is refused"
check_error '{"v":1,"op":"auth.finish"}' bad_request "auth.finish without fields is refused"
check_error '{"v":1,"op":"auth.finish","session":"AAAAAAAAAAAAAAAAAAAAAA","credential_id":"AA","authenticator_data":"AA","client_data_json":"AA","signature":"AA"}' \
	no_session "auth.finish before auth.begin is refused"
check_error '{"v":1,"op":"auth.finish","session":"!!","credential_id":"AA","authenticator_data":"AA","client_data_json":"AA","signature":"AA"}' \
	bad_request "bad base64url is refused"
check_error '{"v":1,"op":"auth.abort","session":"AAAAAAAAAAAAAAAAAAAAAA"}' no_session "auth.abort of no session is refused"
check_error '{"v":1,"op":"enroll.finish","session":"AAAAAAAAAAAAAAAAAAAAAA","fmt":"none","authenticator_data":"AA","attestation_statement":"oA","client_data_json":"AA"}' \
	no_session "enroll.finish before enroll.begin is refused"
check_error '{"v":1,"op":"audit.list","limit":-1}' bad_request "a negative audit limit is refused"

big=$(head -c 70000 /dev/zero | tr '\0' 'a')
check_error "{\"v\":1,\"op\":\"status\",\"pad\":\"$big\"}" too_large "a record over 64 KiB is refused as too large"

got=$(printf '%s\n' '{"v":1,"op":"status"}' 'nonsense' '{"v":1,"op":"status"}' | client raw)
is "$(printf '%s\n' "$got" | grep -c '"ok":true')" 2 "one connection survives an error between two requests"

head -c 3000 /dev/urandom > "$T/noise"
"$BUILD/test/fg-client" "$SOCK" raw < "$T/noise" > /dev/null 2>&1
agent_alive
ok $? "random bytes leave the agent running"

# single use
client login alice --capture "$T/finish.json" > "$T/out"
ok $? "a login through the protocol is allowed"
got=$(client raw < "$T/finish.json")
like "$got" '"error":"no_session"' "replaying_a_captured_auth_finish_is_refused"
audit_has "auth.finish +- +deny .*no such session"
ok $? "the replay is audited"

client login alice --sleep 3 > "$T/out"
ok $((! $?)) "an_expired_challenge_is_refused"
like "$(cat "$T/out")" 'expired|no such session' "it is refused as expired"

client login alice --session-of bob > "$T/out"
ok $((! $?)) "alice's assertion on bob's session is refused"
like "$(cat "$T/out")" 'not enrolled for this user' "as a credential bob does not have"

SOFTKEY_STATE="$T/bob" client login bob --challenge-of alice > "$T/out"
ok $((! $?)) "user_a_challenge_used_for_user_b_is_refused"
like "$(cat "$T/out")" 'challenge_mismatch' "as a challenge mismatch"

# a challenge taken by a failed attempt is gone
client login alice > /dev/null
ok $? "alice still logs in after all that"

done_testing
