#!/bin/bash
# A user with no key enrolled, known or not, gets an allow list a
# plugged-in device cannot tell from a real one: the shape of an enrolled
# user's list (as many IDs, as long), and the same list at every login and
# after a restart of the agent, as an enrolled user's is.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"

# allow USER: the allow list auth.begin gives, as "len,len,...:id,id,..."
allow() {
	printf '{"v":1,"op":"auth.begin","user":"%s"}\n' "$1" |
		"$BUILD/test/fg-client" "$SOCK" raw |
		python3 -c '
import base64, json, sys
ids = json.loads(sys.stdin.read())["allow_credentials"]
lens = [len(base64.urlsafe_b64decode(i + "=" * (-len(i) % 4))) for i in ids]
print(",".join(map(str, lens)) + ":" + ",".join(ids))'
}
shape() { echo "${1%%:*}"; }

agent_start
g1=$(allow ghost)
like "$(shape "$g1")" '^64$' "with nobody enrolled, one ID of 64 bytes"
SOFTKEY_STATE="$T/a1" enrol alice > /dev/null 2>&1
SOFTKEY_STATE="$T/b1" enrol bob > /dev/null 2>&1
SOFTKEY_STATE="$T/b2" enrol bob > /dev/null 2>&1
ok $? "alice has one key, bob two"
a=$(allow alice)
b=$(allow bob)
diag "alice $(shape "$a"), bob $(shape "$b")"

# many unknown names: each list has the shape of alice's or of bob's
shapes_ok=0
both=""
for u in ghost carol dave erin frank grace heidi ivan judy mallory; do
	s=$(shape "$(allow $u)")
	if [ "$s" = "$(shape "$a")" ] || [ "$s" = "$(shape "$b")" ]; then
		shapes_ok=$((shapes_ok + 1))
	fi
	both="$both $s"
done
is "$shapes_ok" 10 "every decoy has an enrolled user's shape:$both"
like "$both" "$(shape "$b")" "some have two IDs, as bob does"

g1=$(allow ghost)
is "$(allow ghost)" "$g1" "a decoy is the same at every login"
agent_stop
agent_start
is "$(allow ghost)" "$g1" "and after a restart of the agent"
unlike "$g1" "${a#*:}|${b#*:}" "it holds none of the real IDs"
is "$(allow alice)" "$a" "an enrolled user's list is stable too"

# a decoy ID is no key's: the login walks the same path and is refused
pam_auth ghost SOFTKEY_STATE="$T/a1" < /dev/null
ok $((! $?)) "an unknown user is refused"
like "$OUT" "security key check failed" "with the same message as a wrong key"

done_testing
