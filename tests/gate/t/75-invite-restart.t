#!/bin/bash
# An invitation's key challenge is in the store, with the page's
# transaction, as a browser login's is: invite.begin at one agent,
# invite.finish at another (69's fronts, 74-pg-two-fronts-invite.t), or at
# the same agent restarted in between, as here on SQLite. The browser is
# the agent protocol (fg_call.py, as the web front relays it) and its
# navigator.credentials.create() is fg-webkey --create; the first factor a
# password through pam_wrapper's pam_matrix, as in 65-invite.t.
#
# Proves: the challenge invite.begin gives is a row of the store, and
# survives the agent's restart; it is taken once (a second finish, a
# finish after a failed one, are refused); a retry of invite.begin
# replaces it; a login's session is no invitation's and an invitation's
# no login's, whichever transaction is named (and naming the wrong one
# does not spend the right one's challenge); an invitation's challenge
# left unanswered is swept, audited as the invitation's, and counts no
# failure against the user.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"

MATRIX=$(dirname "$PAM_WRAPPER_SO")/pam_wrapper/pam_matrix.so
if [ ! -f "$MATRIX" ]; then
	echo "1..0 # SKIP pam_wrapper's pam_matrix.so is missing"
	exit 0
fi
mkdir -p "$T/agent-pam.d"
printf 'alice:alice horse:fido2gate-web\n' > "$T/passdb"
printf 'auth required %s passdb=%s\naccount required pam_permit.so\n' \
	"$MATRIX" "$T/passdb" > "$T/agent-pam.d/fido2gate-web"
openssl rand -hex 32 > "$T/secret"
chmod 600 "$T/secret"
ORIGIN=https://matrix.$RP
write_conf << CONF
origins = $ORIGIN
[oidc]
issuer = $ORIGIN/_fido2gate
[web]
user = root
first_factor = pam:fido2gate-web
[homeserver]
user = root
server_name = $RP
[client.synapse]
secret_file = $T/secret
redirect_uri = $ORIGIN/_synapse/client/oidc/callback
[rate_limit]
backoff_after = 1
lockout_after = 1
[admin]
bootstrap = open
CONF
# shellcheck disable=SC2034 # gate.sh's agent_start reads it
AGENT_WRAPPER="env LD_PRELOAD=$PRE$PAM_WRAPPER_SO PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$T/agent-pam.d"
agent_start || exit 1

CALL="/usr/bin/python3 $TOP/tests/tools/fg_call.py"
call() { $CALL "$SOCK"; } # requests on stdin, replies on stdout
echo 1357 | SOFTKEY_PIN=1357 SOFTKEY_STATE="$T/admin-ann" sk "$BUILD/fido2gatectl" \
	--socket "$SOCK" enroll ann --label ann-admin > /dev/null 2>&1 &&
	ctl admin add ann > /dev/null 2>&1
ok $? "ann is enrolled and registered as the admin"

# page: an invitation for alice, opened and begun (her password passed):
# the page's tx in $TX, the invite.begin reply in $T/begin.json
page() {
	local link
	link=$(printf '1357\n' | SOFTKEY_STATE="$T/admin-ann" sk "$BUILD/fido2gatectl" \
		--socket "$SOCK" --as ann --json invite alice 2> "$T/invite.err" | jq -r .link)
	TX=$(call <<< "{\"op\":\"invite.open\",\"token\":\"${link##*/}\"}" | jq -r .tx)
	begin
}
begin() {
	call <<< "{\"op\":\"invite.begin\",\"tx\":\"$TX\",\"password\":\"alice horse\"}" \
		> "$T/begin.json"
}
# finish [ORIGIN]: the new key made for the challenge in $T/begin.json, for
# a browser at ORIGIN ($ORIGIN unless given), sent to invite.finish; the
# reply in $GOT, the request in $T/finish.json
finish() {
	"$BUILD/test/fg-webkey" --create "$T/begin.json" "${1:-$ORIGIN}" |
		jq -c --arg tx "$TX" '. + {op: "invite.finish", tx: $tx} | del(.credential_id)' \
			> "$T/finish.json"
	GOT=$(call < "$T/finish.json")
}
chals() { store_sql "SELECT count(*) FROM oidc_challenges"; }

page
like "$(cat "$T/begin.json")" '"challenge": "[A-Za-z0-9_-]{43}"' \
	"invite.begin gives the new key's challenge" || diag_file "$T/invite.err"
is "$(chals)" 1 "the challenge is a row of the store"
is "$(store_sql "SELECT \"user\" FROM oidc_challenges")" alice "for the invited user"
agent_stop
agent_start
ok $? "the agent restarts between invite.begin and invite.finish"
finish
like "$GOT" '"ok": true.*"pending": true' "the restarted agent takes the challenge and holds the new key pending" ||
	diag "$GOT"
is "$(ctl --json show alice | jq -r '[.credentials[].state] | join(",")')" pending \
	"alice holds one key, pending"
is "$(chals)" 0 "the challenge is gone from the store"
GOT=$(call < "$T/finish.json")
like "$GOT" '"error": "no_session"' "the same finish again is refused"
is "$(ctl --json show alice | jq '.credentials | length')" 1 "and enrols nothing more"

# --- taken once: a finish that fails spends the challenge ---
page
finish https://evil.example
like "$GOT" '"error": "refused".*client data' "a key made for another origin is refused" || diag "$GOT"
finish
like "$GOT" '"error": "no_session".*no such session' "then the challenge is spent: a right key for it is refused too" ||
	diag "$GOT"

# --- a retry of invite.begin replaces the open challenge ---
page
cp "$T/begin.json" "$T/begin-old.json"
begin
is "$(chals)" 1 "a second invite.begin leaves one challenge in the store"
cp "$T/begin.json" "$T/begin-new.json"
cp "$T/begin-old.json" "$T/begin.json"
finish
like "$GOT" '"error": "no_session"' "the first begin's challenge is gone"
cp "$T/begin-new.json" "$T/begin.json"
finish
like "$GOT" '"ok": true.*"pending": true' "the second begin's is taken" || diag "$GOT"

# --- a login's session is no invitation's, nor the other way round ---
page
INV_TX=$TX
INV_SESSION=$(jq -r .session "$T/begin.json")
login=$(call << EOF
{"op":"oidc.authorize","params":{"client_id":"synapse","redirect_uri":"$ORIGIN/_synapse/client/oidc/callback","response_type":"code","scope":"openid","state":"s"},"save":{"TX":"tx"}}
{"op":"web.begin","tx":"\$TX","user":"alice","password":"alice horse"}
EOF
)
LOGIN_TX=$(sed -n 1p <<< "$login" | jq -r .tx)
LOGIN_SESSION=$(sed -n 2p <<< "$login" | jq -r .session)
[ -n "$LOGIN_SESSION" ] && [ "$LOGIN_SESSION" != null ]
ok $? "a login of alice's is under way, its challenge in the store too" || diag "$login"
is "$(chals)" 2 "(two challenges: the invitation's and the login's)"
"$BUILD/test/fg-webkey" --create "$T/begin.json" "$ORIGIN" > "$T/made.json"
attempt() { # attempt OP TX SESSION: the reply
	jq -c --arg op "$1" --arg tx "$2" --arg s "$3" \
		'. + {op: $op, tx: $tx, session: $s, authenticator_data: .attestation_object,
		signature: .client_data_json}' "$T/made.json" | call
}
like "$(attempt invite.finish "$INV_TX" "$LOGIN_SESSION")" '"error": "no_session"' \
	"invite.finish: the invitation's page with the login's session is refused"
like "$(attempt invite.finish "$LOGIN_TX" "$LOGIN_SESSION")" '"error": "no_session"' \
	"invite.finish: the login's transaction is no invitation's page"
like "$(attempt web.finish "$LOGIN_TX" "$INV_SESSION")" '"error": "no_session"' \
	"web.finish: the login with the invitation's session is refused"
like "$(attempt web.finish "$INV_TX" "$INV_SESSION")" '"error": "no_session"' \
	"web.finish: the invitation's page is no login"
is "$(chals)" 2 "none of these spent a challenge"
like "$(attempt invite.finish "$INV_TX" "$INV_SESSION" | sed 's/"authenticator_data.*//')" \
	'"ok": true.*"pending": true' "the invitation's own page and session still enrol the key"

# --- left unanswered: swept, audited as the invitation's, no failure ---
# (the login's challenge goes first: expired, it would count a failure,
# and one locks alice out here: lockout_after = 1)
store_sql "DELETE FROM oidc_challenges"
page
store_sql "UPDATE oidc_challenges SET expires = 1"
swept() { [ "$(chals)" = 0 ]; }
wait_for 10 swept
ok $? "an invitation's challenge left unanswered is swept"
like "$(ctl audit --limit 5)" "invite\.finish +alice +deny .*challenge expired unanswered" \
	"and audited as the invitation's"
is "$(ctl --json show alice | jq -r .locked)" false \
	"an enrolment left unanswered is no failed login (one would lock alice out)"

agent_alive
ok $? "the agent is still up"
done_testing
