#!/bin/bash
# Admins who act with their own key: bootstrap, step-up, two-person
# recovery and unlock, the cooling-off, lifecycle (show, rename, disable,
# enable), min_keys, options before or after the command.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"

chmod 755 "$T"
write_conf << 'EOF2'
[rate_limit]
lockout_after = 3
[access]
admin_group = users
[admin]
recovery_delay = 2
bootstrap = first-admin
EOF2
agent_start

# admin NAME [ARGS...]: fido2gatectl as the admin NAME, whose key (PIN
# 1357) is $T/admin-NAME; the user's key, when one is made, is
# $SOFTKEY_STATE beside it
admin_ctl() {
	local name=$1
	shift
	printf '1357\n%s\n' "${USER_PIN:-}" | SOFTKEY_STATE="$T/admin-$name:$SOFTKEY_STATE" \
		sk "$BUILD/fido2gatectl" --socket "$SOCK" --as "$name" "$@"
}

like "$(ctl admin list)" "no admin is registered: bootstrap mode \(root may only enrol the first admin's keys" \
	"a fresh agent is in bootstrap mode, first-admin by default"
like "$(ctl --json status)" '"admins": 0' "status says no admin is registered"
raw() { sed 's/^{/{"v":1,/' | "$BUILD/test/fg-client" "$SOCK" raw; }
as_group_admin() { setpriv --reuid=nobody --regid=nogroup --groups=users "$@"; }

# bootstrap, first-admin: root alone, for the first admin only
got=$(printf '%s\n' '{"op":"user.unlock","user":"bob"}' '{"op":"user.lock","user":"bob","reason":"x"}' \
	'{"op":"cred.import","credentials":[{}]}' '{"op":"invite.create","user":"bob"}' \
	'{"op":"cred.revoke","user":"bob","credential":"abcd"}' | raw)
is "$(grep -c '"error":"stepup".*no admin is registered yet' <<< "$got")" 5 \
	"bootstrap: root cannot unlock, lock, import, invite or revoke before the first admin"
got=$(printf '%s\n' '{"v":1,"op":"enroll.begin","user":"ann"}' | as_group_admin "$BUILD/test/fg-client" "$SOCK" raw)
like "$got" '"error":"stepup".*only root may register the first one' \
	"an admin-group member who is not root can do nothing in bootstrap mode"
audit_has "admin.bootstrap +ann +deny"
ok $? "each refusal is audited"
echo 1357 | SOFTKEY_PIN=1357 SOFTKEY_STATE="$T/admin-ann" sk "$BUILD/fido2gatectl" --socket "$SOCK" enroll ann --label "ann admin key" > "$T/out" 2>&1
ok $? "bootstrap: root enrols ann's key without an admin key"
like "$(cat "$T/out")" "no admin is registered" "and is warned that no admin key was asked for"
SOFTKEY_STATE="$T/bob0" sk "$BUILD/fido2gatectl" --socket "$SOCK" enroll bob > "$T/out" 2>&1
is $? 4 "but not a second user's: root enrols one user's keys only, before that user is an admin"
like "$(cat "$T/out")" "keys of one user only" "and is told to register the first admin"
is "$(ctl --json list bob | grep -c credential_id)" 0 "bob has no key"
ctl admin add ann > "$T/out" 2>&1
ok $? "bootstrap: root registers ann, the first admin"
audit_has "admin.add +ann +ok .*bootstrap"
ok $? "audited as a bootstrap"

# from now on root alone can do nothing
enrol bob > "$T/out" 2>&1
is $? 4 "root without an admin key cannot enrol any more (exit 4)"
like "$(cat "$T/out")" "not a registered admin" "and is told why"
as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
got=$(printf '%s\n' '{"op":"enroll.begin","user":"bob"}' | raw)
like "$got" '"error":"stepup"' "enroll.begin without a step-up is refused by the agent itself"
got=$(printf '%s\n' '{"op":"admin.add","user":"bob"}' | raw)
like "$got" '"error":"stepup"' "so is admin.add"
got=$(printf '%s\n' '{"op":"user.unlock","user":"bob"}' '{"op":"cred.revoke","user":"ann","credential":"ann admin key"}' | raw)
is "$(grep -c '"error":"stepup"' <<< "$got")" 2 "and unlock and revoke"
got=$(printf '%s\n' '{"op":"cred.import","credentials":[{}]}' '{"op":"user.lock","user":"bob","reason":"x"}' '{"op":"cred.set","user":"ann","credential":"ann admin key","set":"disable"}' | raw)
is "$(grep -c '"error":"stepup"' <<< "$got")" 3 "and import, lock and disable"

# ann enrols bob with her own key
SOFTKEY_STATE="$T/bob1" admin_ctl ann enroll bob --label bob-laptop > "$T/out" 2>&1
ok $? "ann enrols bob's key, authorised by her own key" || diag_file "$T/out"
like "$(cat "$T/out")" "fewer than min_keys" "with a warning: bob holds one key, min_keys is 2"
audit_has "admin.stepup +ann +allow"
ok $? "the step-up is audited"
ctl --json audit --limit 5 | grep -q '"detail": "label=bob-laptop .* by=ann key='
ok $? "the enrolment's record names the admin and the key she used"
pam_auth bob SOFTKEY_STATE="$T/bob1" < /dev/null
ok $? "bob logs in with his key"

# a wrong PIN on the admin key: refused, nothing enrolled
printf '0000\n' | SOFTKEY_STATE="$T/admin-ann:$T/bob2" sk "$BUILD/fido2gatectl" --socket "$SOCK" --as ann enroll bob > "$T/out" 2>&1
ok $((! $?)) "a wrong PIN on the admin key: refused"
is "$(ctl --json list bob | grep -c credential_id)" 1 "and bob still has one key"
# another admin's name with ann's key: the agent asks for that admin's key
SOFTKEY_STATE="$T/bob2" admin_ctl carl enroll bob > "$T/out" 2>&1
is $? 4 "an unregistered name is refused (exit 4)"
# the key of a user who is no admin cannot step up
printf '%s\n' '' | SOFTKEY_STATE="$T/bob1:$T/bob2" sk "$BUILD/fido2gatectl" --socket "$SOCK" --as bob enroll bob > "$T/out" 2>&1
is $? 4 "bob, no admin, cannot authorise with his own key"

# a second admin: ann alone may add one while she is the only admin
USER_PIN=1357 SOFTKEY_PIN=1357 SOFTKEY_STATE="$T/cara" admin_ctl ann enroll cara --label cara-key > "$T/out" 2>&1
ok $? "ann enrols cara's key" || diag_file "$T/out"
cp "$T/cara" "$T/admin-cara"
admin_ctl ann admin add cara > "$T/out" 2>&1
ok $? "ann registers cara as the second admin" || diag_file "$T/out"
like "$(ctl admin list)" "admin cara \\(added by ann" "admin list shows cara, added by ann"

# a key for an admin is a key to approve with: one admin cannot plant one
# on the other's account and then approve her own requests with it
USER_PIN=1357 SOFTKEY_PIN=1357 SOFTKEY_STATE="$T/ann-as-cara" admin_ctl ann enroll cara --label planted > "$T/out" 2>&1
ok $? "ann enrols a key for cara, another admin" || diag_file "$T/out"
like "$(cat "$T/out")" "this is a recovery" "it waits for a second admin, as a recovery does"
like "$(ctl show cara)" "pending .*planted" "the planted key is pending"
admin_ctl ann lock nobody-at-all --reason test > /dev/null 2>&1
admin_ctl ann unlock nobody-at-all > "$T/out" 2>&1
planted_req=$(sed -n 's/.*fido2gatectl approve \([0-9a-f]*\).*/\1/p' "$T/out")
printf '1357\n' | SOFTKEY_STATE="$T/ann-as-cara" sk "$BUILD/fido2gatectl" --socket "$SOCK" --as cara approve "$planted_req" > "$T/out" 2>&1
ok $((! $?)) "so ann cannot approve her own unlock request as cara with it"
like "$(ctl show nobody-at-all)" "LOCKED" "the user stays locked"

# the lost-key call: bob's only key revoked, a new one needs two admins
admin_ctl ann revoke bob bob-laptop > "$T/out" 2>&1
ok $? "ann revokes bob's lost key" || diag_file "$T/out"
SOFTKEY_STATE="$T/bob3" admin_ctl ann enroll bob --label bob-new > "$T/out" 2>&1
ok $? "ann enrols a new key for bob" || diag_file "$T/out"
like "$(cat "$T/out")" "this is a recovery" "which is a recovery, waiting for a second admin"
req=$(sed -n 's/.*fido2gatectl approve \([0-9a-f]*\).*/\1/p' "$T/out")
ok "$([ -n "$req" ]; echo $?)" "the request's ID is printed"
like "$(ctl show bob)" "pending .*bob-new" "show lists the new key as pending"
pam_auth bob SOFTKEY_STATE="$T/bob3" < /dev/null
ok $((! $?)) "the pending key does not log in"
audit_has "auth\.(finish|abort) +bob +deny"
ok $? "the refusal is audited"
admin_ctl ann approve "$req" > "$T/out" 2>&1
is $? 4 "ann cannot approve her own request" 
audit_has "approve +bob +deny .*cannot approve"
ok $? "her attempt is audited"
admin_ctl cara approve "$req" > "$T/out" 2>&1
ok $? "cara, a second admin, approves with her own key" || diag_file "$T/out"
audit_has "approve +bob +ok .*recover"
ok $? "the approval is audited"
pam_auth bob SOFTKEY_STATE="$T/bob3" < /dev/null
ok $((! $?)) "during the cooling-off (recovery_delay) the recovered key is still refused"
sleep 2.5
pam_auth bob SOFTKEY_STATE="$T/bob3" < /dev/null
ok $? "after it, the recovered key logs in" || diag "$OUT"
admin_ctl cara approve "$req" > "$T/out" 2>&1
ok $((! $?)) "a request is approved once"

# unlock needs two admins too
for _ in 1 2 3; do pam_auth bob SOFTKEY_STATE="$T/other" < /dev/null; done
like "$(ctl show bob)" "LOCKED" "three failures lock bob"
admin_ctl ann unlock bob > "$T/out" 2>&1
ok $? "ann asks to unlock bob" || diag_file "$T/out"
req=$(sed -n 's/.*fido2gatectl approve \([0-9a-f]*\).*/\1/p' "$T/out")
like "$(ctl show bob)" "LOCKED" "bob stays locked until a second admin approves"
admin_ctl cara approve "$req" > "$T/out" 2>&1
ok $? "cara approves the unlock"
unlike "$(ctl show bob)" "LOCKED" "bob is unlocked"
pam_auth bob SOFTKEY_STATE="$T/bob3" < /dev/null
ok $? "and logs in again"

# an unlock asked before an incident's lock does not lift that lock
for _ in 1 2 3; do pam_auth bob SOFTKEY_STATE="$T/other" < /dev/null; done
admin_ctl ann unlock bob > "$T/out" 2>&1
req=$(sed -n 's/.*fido2gatectl approve \([0-9a-f]*\).*/\1/p' "$T/out")
admin_ctl ann lock bob --reason "phished: incident 9" > "$T/out" 2>&1
ok $? "ann locks bob for an incident while her unlock request waits" || diag_file "$T/out"
admin_ctl cara approve "$req" > "$T/out" 2>&1
ok $((! $?)) "approving the earlier unlock is refused"
like "$(ctl show bob)" "LOCKED" "bob stays locked, for the incident"
admin_ctl ann unlock bob > "$T/out" 2>&1
req=$(sed -n 's/.*fido2gatectl approve \([0-9a-f]*\).*/\1/p' "$T/out")
admin_ctl cara approve "$req" > /dev/null 2>&1
ok $? "a new unlock, approved, lifts it"
pam_auth bob SOFTKEY_STATE="$T/bob3" < /dev/null
ok $? "and bob logs in again"

# a request expires: its window is over (the store's clock decides)
admin_ctl ann admin remove cara > "$T/out" 2>&1
req=$(sed -n 's/.*fido2gatectl approve \([0-9a-f]*\).*/\1/p' "$T/out")
ok "$([ -n "$req" ]; echo $?)" "removing an admin is a request too"
agent_stop
store_sql "UPDATE requests SET expires = 1 WHERE id = '$req'"
agent_start
admin_ctl cara approve "$req" > "$T/out" 2>&1
ok $((! $?)) "an expired request cannot be approved"
like "$(cat "$T/out")" "expired" "and the admin is told it expired"
like "$(ctl admin list)" "admin cara" "cara is still an admin"

# lifecycle: rename, disable, enable, options anywhere
admin_ctl ann rename bob bob-new bob-yubikey > "$T/out" 2>&1
ok $? "rename a credential" || diag_file "$T/out"
like "$(ctl list bob --json)" '"label": "bob-yubikey"' "--json after the command, and the new label"
admin_ctl ann disable bob bob-yubikey > /dev/null 2>&1
ok $? "disable it"
pam_auth bob SOFTKEY_STATE="$T/bob3" < /dev/null
ok $((! $?)) "a disabled key does not log in"
like "$(ctl show bob --socket "$SOCK")" "disabled .*bob-yubikey" "show, --socket after the command: disabled"
admin_ctl ann enable bob bob-yubikey > /dev/null 2>&1
ok $? "enable it again"
pam_auth bob SOFTKEY_STATE="$T/bob3" < /dev/null
ok $? "and it logs in"
got=$(printf '%s\n' '{"op":"admin.begin","admin":"ann","action":"enroll","target":"bob"}' | sed 's/^{/{"v":1,/' | as_nobody "$(share "$BUILD/test/fg-client")" "$SOCK" raw 2>&1)
like "$got" '"error":"denied"' "a plain user cannot even ask for a step-up"

# an incident: the lock needs an admin's key, its unlock two admins
ctl lock bob --reason "phished" > "$T/out" 2>&1
is $? 4 "root alone cannot lock once an admin is registered"
admin_ctl ann lock bob --reason "phished: incident 7" > "$T/out" 2>&1
ok $? "ann locks bob with her key" || diag_file "$T/out"
ctl --json audit --limit 30 | python3 -c 'import json,sys; r=[x for x in json.load(sys.stdin) if x["event"]=="lock"]; assert r and r[-1]["detail"].startswith("by=ann key=")'
ok $? "the lock's record names ann and her key"
pam_auth bob SOFTKEY_STATE="$T/bob3" < /dev/null
ok $((! $?)) "bob's key no longer gets him in"
admin_ctl ann unlock bob > "$T/out" 2>&1
req=$(sed -n 's/.*fido2gatectl approve \([0-9a-f]*\).*/\1/p' "$T/out")
ok "$([ -n "$req" ]; echo $?)" "unlocking an administrator's lock is a request"
pam_auth bob SOFTKEY_STATE="$T/bob3" < /dev/null
ok $((! $?)) "bob stays locked until a second admin approves"
admin_ctl cara approve "$req" > "$T/out" 2>&1
ok $? "cara approves"
pam_auth bob SOFTKEY_STATE="$T/bob3" < /dev/null
ok $? "bob gets in again"

done_testing
