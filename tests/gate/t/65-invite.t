#!/bin/bash
# Remote enrolment by invitation: `fido2gatectl invite USER` (an admin, with
# their own key) prints a one-time link; the user opens it in a browser
# (Debian's Chromium, headless, a WebAuthn virtual authenticator with no
# credential yet), passes the first factor (a password through a PAM
# service: pam_wrapper's pam_matrix, as in 41-web-password.t) and makes a
# new key with navigator.credentials.create(). The key stays pending, and
# opens nothing, until an admin confirms it with `fido2gatectl approve`.
#
# Proves: no link in bootstrap mode, nor without the step-up once an admin
# is registered; the link is 256 bits and the store keeps only its hash;
# a stolen link opened by someone without the user's password enrols
# nothing (audited, counted against the user); a link cannot be bent to
# another user; the invited key is pending and cannot sign in until an
# admin's approve, then signs in through the browser login; a used link
# and an expired link are refused (audited).
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"
. "$TOP/tests/e2e/e2e.sh"

e2e_skip_unless_browser
MATRIX=$(dirname "$PAM_WRAPPER_SO")/pam_wrapper/pam_matrix.so
if [ ! -f "$MATRIX" ]; then
	echo "1..0 # SKIP pam_wrapper's pam_matrix.so is missing"
	exit 0
fi
SHOTS="$BUILD/screenshots"
mkdir -p "$SHOTS"

mkdir -p "$T/agent-pam.d"
printf 'alice:alice horse:fido2gate-web\nbob:bob horse:fido2gate-web\n' > "$T/passdb"
printf 'auth required %s passdb=%s\naccount required pam_permit.so\n' \
	"$MATRIX" "$T/passdb" > "$T/agent-pam.d/fido2gate-web"
read -r FPORT RPORT <<< "$(free_ports 2)"
RP=localhost
client_secret "$T/app.secret"
write_conf << CONF
origins = http://localhost:$FPORT
[oidc]
issuer = http://localhost:$FPORT
[web]
user = nobody
first_factor = pam:fido2gate-web
[client.app]
name = Example Matrix
secret_file = $T/app.secret
redirect_uri = http://localhost:$RPORT/cb
[rate_limit]
backoff_after = 8
lockout_after = 0
[admin]
bootstrap = open
recovery_delay = 600
CONF
AGENT_WRAPPER="env LD_PRELOAD=$PRE$PAM_WRAPPER_SO PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$T/agent-pam.d"
agent_start || exit 1
front_start "$FPORT" || exit 1

raw() { sed 's/^{/{"v":1,/' | "$BUILD/test/fg-client" "$SOCK" raw; }
# as_ann ARGS...: fido2gatectl as the admin ann, with her key (PIN 1357)
as_ann() {
	printf '1357\n' | SOFTKEY_STATE="$T/admin-ann" sk "$BUILD/fido2gatectl" \
		--socket "$SOCK" --as ann "$@"
}

# --- who may invite ---
ctl invite alice > "$T/out" 2>&1
is $? 4 "bootstrap mode: no invitation (no admin to confirm its key)"
like "$(cat "$T/out")" "register an admin first" "and root is told why"
echo 1357 | SOFTKEY_PIN=1357 SOFTKEY_STATE="$T/admin-ann" sk "$BUILD/fido2gatectl" \
	--socket "$SOCK" enroll ann --label ann-admin > /dev/null 2>&1 &&
	ctl admin add ann > /dev/null 2>&1
ok $? "bootstrap: ann is enrolled and registered as the admin"
like "$(printf '%s\n' '{"op":"invite.create","user":"alice"}' | raw)" \
	'"error":"stepup"' "invite.create without the admin's step-up is refused by the agent"
ctl invite alice > "$T/out" 2>&1
is $? 4 "and root's fido2gatectl invite without an admin key too (exit 4)"

invite() { # invite USER: a link, in $LINK
	LINK=$(as_ann --json invite "$1" 2> "$T/invite.err" | jq -r .link)
	[ -n "$LINK" ] && [ "$LINK" != null ]
}
invite alice
ok $? "ann invites alice with her own key" || diag_file "$T/invite.err"
like "$LINK" "^http://localhost:$FPORT/enrol/[A-Za-z0-9_-]{43}$" \
	"the link is the front's /enrol/ and a token of 256 bits (43 base64url characters)"
token=${LINK##*/}
hash=$(printf '%s' "$token" | tr -- '-_' '+/' | base64 -d 2> /dev/null | sha256sum | cut -c1-64)
if on_postgresql; then
	hex="encode(token_hash, 'hex')"
	holds="position(convert_to('$token', 'UTF8') IN token_hash) > 0"
else
	hex="lower(hex(token_hash))"
	holds="instr(CAST(token_hash AS TEXT), '$token') > 0"
fi
is "$(store_sql "SELECT count(*) FROM invitations WHERE $hex = '$hash'")" 1 \
	"the store keeps the token's SHA-256"
is "$(store_sql "SELECT count(*) FROM invitations WHERE $holds OR \"user\" LIKE '%$token%'")" 0 \
	"and never the token"
unlike "$(ctl audit --limit 5; cat "$T/agent.log")" "$token" "nor does the audit or the agent's log"
like "$(ctl --json audit --limit 3 | jq -c '.[] | select(.event == "invite")')" \
	'"user":"alice".*"result":"ok".*"detail":"by=ann key=[^ ]+ expires=[0-9]+"' \
	"the invitation is audited with the admin, her key and the expiry"

ENROL="$E2E/enrol.mjs"
coproc ENROLLER { exec node "$ENROL" 2>> "$T/enrol.log"; }
ENROLLER_PID_SAVED=$ENROLLER_PID
enrol_page() { # enrol_page JSON: one scenario (enrol.mjs); its result in $R
	printf '%s\n' "$1" >&"${ENROLLER[1]}"
	if ! IFS= read -r -t 240 R <&"${ENROLLER[0]}"; then
		R='{"outcome":"driver_error","error":"no answer from the driver"}'
		diag_file "$T/enrol.log"
	fi
	[ "$(jv "$R" .outcome)" = driver_error ] && jv "$R" .error | sed 's/^/#   driver: /' | head -n 15
	return 0
}
sc() { jq -nc --arg u "$LINK" --arg f "$FRONT" "{url: \$u, front: \$f} + $1"; }

# --- a stolen link, without alice's password (bob knows his own) ---
before=$(audit_count 'invite\.begin +alice +deny .*password refused by PAM')
enrol_page "$(sc '{password: "bob horse"}')"
is "$(jv "$R" .outcome)" error "a stolen link with another password: the page refuses" ||
	diag "$R"
is "$(jv "$R" .text)" "Wrong password. Try again." "and says so"
is "$(jv "$R" '[.replies[] | select(.path == "/invite/finish")] | length')" 0 \
	"no key was made or sent"
is "$(audit_count 'invite\.begin +alice +deny .*password refused by PAM')" "$((before + 1))" \
	"the refusal is audited against alice"
is "$(ctl --json show alice | jq '.credentials | length')" 0 "alice has no key"
is "$(ctl --json show bob | jq '.credentials | length')" 0 "nor has bob"
# the page cannot name another user: the agent binds the link to alice
tx=$(curl -s "$LINK" | sed -n 's/.*&quot;tx&quot;:&quot;\([A-Za-z0-9_-]*\)&quot;.*/\1/p')
got=$(curl -s -o /dev/null -w '%{http_code}' -H "Origin: $FRONT" -H 'Content-Type: application/json' \
	-d "{\"tx\":\"$tx\",\"user\":\"bob\",\"password\":\"bob horse\"}" "$FRONT/invite/begin")
is "$got" 400 "a page that names another user (bob) is refused by the front"
got=$(/usr/bin/python3 "$TOP/tests/tools/fg_call.py" "$SOCK" << EOF
{"op":"invite.begin","tx":"$tx","user":"bob","password":"bob horse"}
EOF
)
like "$got" '"why": "wrong_password"' "and the agent checks the password of alice, whatever the request says"

# --- alice, with her password: a new key, pending ---
enrol_page "$(sc "{password: \"alice horse\", save: \"$T/key-alice.json\", shot: \"$SHOTS/enrol-done.png\"}")"
is "$(jv "$R" .outcome)" done "alice registers a key through the link" || diag "$R"
like "$(jv "$R" .text)" "It will work once an administrator has confirmed it: tell them the request [0-9a-f]{10}\.$" \
	"the page says it waits for an administrator's confirmation"
is "$(jv "$R" .title)" "Register your security key" "(the enrolment page)"
request=$(jv "$R" '.text' | sed -n 's/.*request \([0-9a-f]*\)\.$/\1/p')
is "$(ctl --json show alice | jq -r '[.credentials[].state] | join(",")')" pending \
	"the agent holds alice's new key as pending"
like "$(ctl --json show alice | jq -r '.requests[0] | .id + " " + .action')" "^$request invite$" \
	"with a request to confirm it"
like "$(ctl --json audit --limit 5 | jq -c '.[] | select(.event == "invite.finish")')" \
	'"user":"alice".*"result":"ok","reason":"pending".*invited_by=ann' \
	"the enrolment is audited, naming who invited"
test -s "$T/key-alice.json"
ok $? "(the driver keeps the new credential for the logins below)"

# --- the link again: used ---
enrol_page "$(sc '{password: "alice horse"}')"
is "$(jv "$R" '.outcome + " " + (.status | tostring)')" "page 410" "the same link again is refused (410)"
like "$(jv "$R" .text | tr '\n' ' ')" "This invitation link cannot be used.*already used" "the page says it was used"
like "$(ctl audit --limit 3)" "invite\.open +alice +deny +uid=[0-9]+ invitation link used again" "and the reuse is audited"

# --- the pending key signs nothing in ---
spawn node "$E2E/rp.mjs" --issuer "$FRONT" --client-id app \
	--secret-file "$T/app.secret" --port "$RPORT" --auth basic \
	--out "$T/rp.out" --ready "$T/rp.ready" 2>> "$T/rp.log"
wait_for 30 test -s "$T/rp.ready"
ok $? "openid-client's relying party is up" || diag_file "$T/rp.log"
driver_start
login() { browse "$(jq -nc --arg s "http://localhost:$RPORT/login" --arg f "$FRONT" \
	--arg k "$T/key-alice.json" '{start: $s, front: $f, user: "alice", password: "alice horse", keys: [$k]}')"; }
login
is "$(jv "$R" .outcome)" error "the pending key cannot sign alice in" || diag "$(jv "$R" '.url')"

# --- an admin confirms it with her own key; then it signs in ---
as_ann approve "$request" > "$T/out" 2>&1
ok $? "ann confirms the invited key (fido2gatectl approve)" || diag_file "$T/out"
is "$(ctl --json show alice | jq -r '[.credentials[].state] | join(",")')" active "the key is active"
login
is "$(jv "$R" .outcome)" redirect "alice signs in with the key she registered" ||
	diag "$(jv "$R" '.text' | head -c 300)"
is "$(jv "$R" '.text | fromjson | .claims.preferred_username')" alice "as alice"

# --- an expired link ---
invite alice
store_sql "UPDATE invitations SET expires = 1 WHERE used IS NULL"
enrol_page "$(sc '{password: "alice horse"}')"
is "$(jv "$R" '.outcome + " " + (.status | tostring)')" "page 410" "an expired link is refused (410)"
like "$(jv "$R" .text)" "has expired" "the page says it expired"
like "$(ctl audit --limit 3)" "invite\.open +alice +deny +uid=[0-9]+ invitation link expired" "and it is audited"
# a link that expires while its page is open
invite alice
tx=$(/usr/bin/python3 "$TOP/tests/tools/fg_call.py" "$SOCK" <<< \
	"{\"op\":\"invite.open\",\"token\":\"${LINK##*/}\"}" | jq -r .tx)
store_sql "UPDATE invitations SET expires = 1 WHERE used IS NULL"
got=$(/usr/bin/python3 "$TOP/tests/tools/fg_call.py" "$SOCK" <<< \
	"{\"op\":\"invite.begin\",\"tx\":\"$tx\",\"password\":\"alice horse\"}")
like "$got" '"error": "no_session".*"why": "expired"' "a link that expires while its page is open gives no key's challenge"
is "$(ctl --json show alice | jq '.credentials | length')" 1 "alice still holds her one key"

# --- a user who lost every key: the invited key is a recovery, with its
# cooling-off (recovery_delay), as the lost-key call's ---
first=$(ctl --json show alice | jq -r '.credentials[0].label')
as_ann revoke alice "$first" > "$T/out" 2>&1
ok $? "alice's only key is revoked (she lost it)" || diag_file "$T/out"
invite alice
enrol_page "$(sc "{password: \"alice horse\", save: \"$T/key-alice2.json\"}")"
is "$(jv "$R" .outcome)" done "alice registers a new key through a new link" || diag "$R"
request=$(jv "$R" '.text' | sed -n 's/.*request \([0-9a-f]*\)\.$/\1/p')
as_ann --json approve "$request" > "$T/out" 2>&1
ok $? "ann confirms it" || diag_file "$T/out"
[ "$(sed -n '/^{/,$p' "$T/out" | jq -r '.not_before // 0')" -gt "$(date +%s)" ]
ok $? "the confirmation gives the key a cooling-off, as a recovery" || diag_file "$T/out"
[ "$(ctl --json show alice | jq -r '[.credentials[] | select(.state == "active") | .not_before // 0][0]')" -gt "$(date +%s)" ]
ok $? "the agent holds the new key's cooling-off"
browse "$(jq -nc --arg s "http://localhost:$RPORT/login" --arg f "$FRONT" \
	--arg k "$T/key-alice2.json" '{start: $s, front: $f, user: "alice", password: "alice horse", keys: [$k]}')"
is "$(jv "$R" .outcome)" error "during its cooling-off the recovered key signs nothing in (the agent does not offer it)"

e2e_driver_stop "$ENROLLER_PID_SAVED" "${ENROLLER[1]:-}"
done_testing
