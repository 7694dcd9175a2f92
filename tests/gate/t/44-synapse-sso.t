#!/bin/bash
# A real homeserver behind the gate: Synapse 1.87 (../shared/synapse/build)
# with fido2gate as its OpenID Connect provider (discovery, PKCE S256,
# client_secret_basic, RS256 id_tokens) and the backstop module, password
# login deliberately left on; the agent; its web front running as nobody;
# and Debian's Chromium with a WebAuthn virtual authenticator holding
# alice's key, enrolled through the agent (fg-webkey, with UV).
#
# Proves, each refusal audited by the agent with its reason:
# - alice's right password alone gets 403 from the module;
# - the whole single sign-on in a browser gives a device whose token works,
#   and consumes the one approval its id_token recorded;
# - without the key, with bob's key, with a key posing as hers, without UV,
#   without a touch, nothing reaches Synapse;
# - a replayed code is refused and revokes the first use's approval; an
#   expired code, a code for another redirect URI or client, or with a
#   wrong PKCE verifier is refused; an approval older than the window is
#   refused;
# - the agent stopped at any point of a login fails it closed;
# - deleting a device re-authenticates through fido2gate: without the key
#   it stays, with the key it goes.
# One TODO: Synapse also takes the password for that re-authentication
# while password_config is on (as here); fido2gate never sees it, and
# production turns password_config off (docs/homeserver.md).
#
# Synapse runs as root here ([homeserver] user = root); SSO_DEBUG=1 shows
# each browser run's outcome.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"
. "$TOP/tests/e2e/e2e.sh"
. "$TOP/tests/homeserver/synapse.sh"

# no __pycache__ left in the checkout (Synapse imports the module from it)
export PYTHONDONTWRITEBYTECODE=1

if ! synapse_build; then
	if [ -n "$SYNAPSE_SKIP" ]; then
		echo "1..0 # SKIP $SYNAPSE_SKIP"
		exit 0
	fi
	ok 1 "the Synapse build works"
	diag_file "$SYNAPSE_BUILD_LOG"
	done_testing
	exit
fi
e2e_skip_unless_browser

SSO_PID=
sso_stop() {
	e2e_driver_stop "$SSO_PID" "${SSO[1]:-}"
	SSO_PID=
}
trap 'sso_stop; synapse_stop; e2e_cleanup; agent_stop; rm -rf "$T"' EXIT

read -r FPORT SPORT CPORT <<< "$(free_ports 3)"
# shellcheck disable=SC2034 # gate.sh's write_conf and e2e.sh's webkey read it
RP=localhost
SYNAPSE=http://127.0.0.1:$SPORT
CALLBACK=$SYNAPSE/_synapse/client/oidc/callback
CLIENT=http://127.0.0.1:$CPORT/ # the Matrix client's redirectUrl (the driver serves it)
OTHER_CB=http://127.0.0.1:$CPORT/other/callback
PASSWORD="correct horse battery"
# client secrets as the agent takes them (letters, digits, -._~: Synapse's
# authlib does not form-encode them in the Basic header)
openssl rand -hex 32 > "$T/synapse.secret" && chmod 600 "$T/synapse.secret"
openssl rand -hex 32 > "$T/other.secret" && chmod 600 "$T/other.secret"
SECRET=$(cat "$T/synapse.secret")

# gate_conf [EXTRA-LINES]: the agent as the homeserver's provider. Failed
# logins are many here on purpose: backoff only after ten, no lockout.
gate_conf() {
	write_conf << CONF
origins = http://localhost:$FPORT
[oidc]
issuer = http://localhost:$FPORT
[web]
user = nobody
$(synapse_gate_conf "$T/synapse.secret" "$CALLBACK")
[client.other]
secret_file = $T/other.secret
redirect_uri = $OTHER_CB
[rate_limit]
backoff_after = 10
lockout_after = 0
$1
CONF
}
# agent_restart [EXTRA-LINES]: the same store, another config
agent_restart() {
	agent_stop
	gate_conf "$1"
	agent_start
}

# --- the audit log ---------------------------------------------------------
audit_mark() { # the newest record's id
	ctl --json audit --limit 1 | jq '.[-1].id // 0'
}
# audited MARK EVENT-REGEX RESULT REASON-REGEX [USER]: a record newer than
# MARK (USER "-": any user, or none)
audited() {
	ctl --json audit --limit 200 | jq -e --argjson m "$1" --arg e "$2" \
		--arg r "$3" --arg why "$4" --arg u "${5:-alice}" \
		'any(.[]; .id > $m and (.event | test("^(" + $e + ")$")) and .result == $r and ($u == "-" or .user == $u) and (.reason | test($why)))' \
		> /dev/null
}
audit_since() { # audit_since MARK: the newer records, as diagnostics
	ctl --json audit --limit 200 | jq -r --argjson m "$1" \
		'.[] | select(.id > $m) | "#   \(.event) \(.user) \(.result) \(.reason) [\(.detail)]"'
}
# is_audited NAME MARK EVENT RESULT REASON-REGEX [USER]
is_audited() {
	local name=$1 m=$2
	shift 2
	audited "$m" "$@"
	ok $? "$name: audited ($1 $2, /$3/)" || audit_since "$m"
}

# --- the homeserver --------------------------------------------------------
# hs_call METHOD PATH [JSON] [TOKEN]: Synapse's client API; the HTTP
# status on the first line, the body on the second
hs_call() {
	local out args=(-s --max-time 60 -w '\n%{http_code}' -X "$1")
	[ -n "${3:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
	[ -n "${4:-}" ] && args+=(-H "Authorization: Bearer $4")
	out=$(curl "${args[@]}" "$SYNAPSE$2")
	printf '%s\n%s\n' "${out##*$'\n'}" "${out%$'\n'*}"
}
token_login() { # token_login LOGIN-TOKEN
	hs_call POST /_matrix/client/v3/login \
		"$(jq -nc --arg t "$1" '{type: "m.login.token", token: $t, initial_device_display_name: "fido2gate sso test"}')"
}
status_of() { printf '%s\n' "${1%%$'\n'*}"; }
body_of() { printf '%s\n' "${1#*$'\n'}"; }

# login_check: login.check for alice through fido2gate's provider, asked
# as root over the agent's socket, as the module would
login_check() {
	/usr/bin/python3 "$TOP/tests/tools/fg_call.py" "$SOCK" \
		<<< '{"op":"login.check","user_id":"@alice:localhost","auth_provider_id":"oidc-fido2gate"}'
}

# front_token FORM-ARGS...: POST the front's /token (curl args); HTTP
# status, then the body
front_token() {
	local out
	out=$(curl -s --max-time 60 -w '\n%{http_code}' "$@" "$FRONT/token")
	printf '%s\n%s\n' "${out##*$'\n'}" "${out%$'\n'*}"
}

# --- the browser -----------------------------------------------------------
# sso_send LINE; sso_read: one line of the driver's into R
sso_send() { printf '%s\n' "$1" >&"${SSO[1]}"; }
sso_read() {
	if ! IFS= read -r -t 240 R <&"${SSO[0]}"; then
		R='{"outcome":"driver_error","error":"no answer from the driver"}'
		diag_file "$T/driver.log"
	fi
	# SSO_DEBUG=1: every answer's gist as a diagnostic
	[ -n "${SSO_DEBUG:-}" ] &&
		diag "driver: $(jq -c '{held, outcome, status, url, text: (.text // "" | .[0:160])}' <<< "$R")"
	if [ "$(jv "$R" .outcome)" = driver_error ]; then
		jv "$R" .error | sed 's/^/#   driver: /' | head -n 15
	fi
}
# browse EXTRA-JSON: one run, alice's login unless EXTRA says otherwise;
# its result (or the first "held" line) in R
browse() {
	sso_send "$(jq -c ". + $1" <<< "$BASE")"
	sso_read
}
# page_error NAME: the run ended on the login page's error, and Synapse
# never saw a code
page_error() {
	is "$(jv "$R" .outcome)" error "$1: the login page refuses" ||
		diag "$(jv "$R" '.url, .text' | head -c 600)"
	is "$(jv "$R" '.callbacks | length')" 0 "$1: no code reached Synapse's callback"
}

agent_restart || exit 1
front_start "$FPORT" || exit 1
FRONT_USER=$(ps -o user= -p "$FRONT_PID" | tr -d ' ')
is "$FRONT_USER" nobody "the web front serves the agent's discovery document, as nobody"

SYNAPSE_CLIENT_URL=$CLIENT synapse_start "$T/hs" "$SPORT" "$FRONT" synapse "$SECRET" "$SOCK" \
	2> "$T/synapse-start.err"
if ! ok $? "a real Synapse starts with fido2gate as its provider (discovery) and the backstop"; then
	diag_file "$T/synapse-start.err" 40
	done_testing
	exit
fi
flows=$(curl -s "$SYNAPSE/_matrix/client/v3/login")
like "$flows" '"m.login.password"' "password login is offered (on purpose: the backstop must refuse it)"
like "$flows" '"id": ?"oidc-fido2gate"' "fido2gate is offered for single sign-on"

webkey alice --uv && webkey bob --uv
ok $? "fg-webkey enrols a key (with UV) for alice and one for bob" || diag_file "$T/webkey.log"
synapse_register alice "$PASSWORD" > "$T/register.out" 2>&1
ok $? "alice is a Synapse user with a password" || diag_file "$T/register.out"

coproc SSO { exec node "$E2E/synapse_sso.mjs" --client-port "$CPORT" 2>> "$T/driver.log"; }
SSO_PID=$!
sso_read
is "$(jv "$R" .ready)" true "Chromium is up" || diag_file "$T/driver.log"
SSO_START="$SYNAPSE/_matrix/client/v3/login/sso/redirect/oidc-fido2gate?redirectUrl=$(jq -rn --arg u "${CLIENT}home" '$u | @uri')"
BASE=$(jq -nc --arg s "$SSO_START" --arg f "$FRONT" --arg y "$SYNAPSE" --arg c "$CLIENT" \
	--arg k "$T/key-alice.json" \
	'{start: $s, front: $f, synapse: $y, client: $c, user: "alice", keys: [$k]}')

# --- a password alone -----------------------------------------------------
m=$(audit_mark)
out=$(synapse_password_login alice "$PASSWORD")
is "$(status_of "$out")" 403 "alice's right password alone: 403" || diag "$(body_of "$out")"
like "$(body_of "$out")" '"errcode": ?"M_FORBIDDEN".*requires your security key' \
	"with M_FORBIDDEN and the module's message"
like "$(body_of "$out")" '"org.fido2gate.refusal": ?"key_required"' "marked key_required"
is_audited "password login" "$m" login.check deny "without the security key"

# --- the whole single sign-on ---------------------------------------------
m=$(audit_mark)
browse '{}'
is "$(jv "$R" .outcome)" client \
	"SSO: Synapse → fido2gate's page → the key → Synapse's callback → back at the client" ||
	diag "$(jv "$R" '.url, .text' | head -c 600)"
authorize=$(jv "$R" '[.documents[].url | select(test("/authorize\\?"))] | first')
like "$authorize" "^$FRONT/authorize\\?.*client_id=synapse" "Synapse sent the browser to fido2gate's discovered /authorize"
like "$authorize" "code_challenge_method=S256.*code_challenge=|code_challenge=.*code_challenge_method=S256" \
	"with PKCE S256"
like "$authorize" "[?&]nonce=[^&]+" "and a nonce"
like "$(jv "$R" '.callbacks[0].url')" "^$CALLBACK\\?code=[A-Za-z0-9_-]{22,}&state=[^&]+&iss=" \
	"fido2gate answered Synapse's callback with a code, the state and its issuer"
LT=$(jv "$R" '.login_token // ""')
like "$LT" '^[A-Za-z0-9_]+$' "Synapse handed the client a loginToken"
out=$(token_login "$LT")
is "$(status_of "$out")" 200 "m.login.token with it: 200" || diag "$(body_of "$out")"
TOKEN1=$(body_of "$out" | jq -r '.access_token // ""')
DEVICE1=$(body_of "$out" | jq -r '.device_id // ""')
is "$(body_of "$out" | jq -r .user_id)" "@alice:localhost" "a new device for @alice:localhost"
out=$(hs_call GET /_matrix/client/v3/account/whoami "" "$TOKEN1")
is "$(status_of "$out") $(body_of "$out" | jq -r '.user_id + " " + .device_id')" \
	"200 @alice:localhost $DEVICE1" "its access token works (whoami: alice, that device)"
is_audited "the key" "$m" web.finish allow "signature verified"
is_audited "the code" "$m" oidc.token allow "approval recorded"
is_audited "the login" "$m" login.check allow "approval consumed"

# one approval, one login
m=$(audit_mark)
out=$(login_check)
like "$out" '"result": "deny"' \
	"a second login on that approval (login.check as root, provider oidc-fido2gate) is refused"
is_audited "a second login on one approval" "$m" login.check deny "no fresh key approval"
out=$(token_login "$LT")
is "$(status_of "$out")" 403 "and Synapse's loginToken is single use too" || diag "$(body_of "$out")"

# --- no key, the wrong key, no UV: nothing reaches Synapse ------------------
m=$(audit_mark)
browse '{keys: []}'
page_error "no key in the authenticator"
like "$(jv "$R" .text)" "not touched in time, or it is not enrolled" "no key: the page says so"
is_audited "no key" "$m" web.abort deny "NotAllowedError"

m=$(audit_mark)
browse "{keys: [\"$T/key-bob.json\"]}"
page_error "bob's key for alice"
is_audited "bob's key" "$m" web.abort deny "NotAllowedError"

m=$(audit_mark)
browse "{keys: [], key_as: [[\"$T/key-bob.json\", \"$T/key-alice.json\"]]}"
page_error "bob's key posing as alice's credential"
like "$(jv "$R" .text)" "not the one enrolled for this account" "posing: the page says so"
is_audited "a key posing as alice's" "$m" web.finish deny "bad_signature"

m=$(audit_mark)
browse '{uv: false}'
page_error "a key that cannot verify its user (no PIN)"
is_audited "no user verification" "$m" web.abort deny "NotAllowedError"

m=$(audit_mark)
browse '{uv: false, downgrade_uv: true}'
page_error "a page that asks the key for no user verification"
like "$(jv "$R" .text)" "must also check that it is you" "no UV: the page says so"
is_audited "an assertion without UV" "$m" web.finish deny "uv_not_set"

# --- a replayed code --------------------------------------------------------
browse '{}'
is "$(jv "$R" .outcome)" client "another SSO login reaches the client" ||
	diag "$(jv "$R" '.url, .text' | head -c 600)"
CODE=$(jv "$R" '.callbacks[0].code')
LT=$(jv "$R" '.login_token // ""')
m=$(audit_mark)
out=$(front_token -u "synapse:$SECRET" --data-urlencode grant_type=authorization_code \
	--data-urlencode "code=$CODE" --data-urlencode "redirect_uri=$CALLBACK" \
	--data-urlencode "code_verifier=$(openssl rand -hex 32)")
is "$(status_of "$out") $(body_of "$out" | jq -r .error)" "400 invalid_grant" \
	"its code, replayed at /token with Synapse's credentials after Synapse used it: invalid_grant" ||
	diag "$(body_of "$out")"
is_audited "the replay" "$m" oidc.token deny "used twice"
m=$(audit_mark)
out=$(token_login "$LT")
is "$(status_of "$out")" 403 "the replay revoked the first use's approval: Synapse's login on it is refused" ||
	diag "$(body_of "$out")"
like "$(body_of "$out")" "requires your security key" "with the module's message"
is_audited "the revoked approval" "$m" login.check deny "no fresh key approval"

# --- a code for another redirect URI or client, a wrong verifier ------------
browse '{hold_callback: true}'
is "$(jv "$R" .held)" callback "a login, held on its way to Synapse's callback" ||
	diag "$(jv "$R" '.url, .text' | head -c 600)"
CODE=$(jv "$R" .code)
m=$(audit_mark)
out=$(front_token -u "synapse:$SECRET" --data-urlencode grant_type=authorization_code \
	--data-urlencode "code=$CODE" --data-urlencode "redirect_uri=$OTHER_CB" \
	--data-urlencode "code_verifier=$(openssl rand -hex 32)")
is "$(status_of "$out") $(body_of "$out" | jq -r .error)" "400 invalid_grant" \
	"the code with another redirect_uri: invalid_grant" || diag "$(body_of "$out")"
is_audited "another redirect_uri" "$m" oidc.token deny "another client or for another redirect_uri"
m=$(audit_mark)
out=$(front_token -u "other:$(cat "$T/other.secret")" --data-urlencode grant_type=authorization_code \
	--data-urlencode "code=$CODE" --data-urlencode "redirect_uri=$OTHER_CB" \
	--data-urlencode "code_verifier=$(openssl rand -hex 32)")
is "$(status_of "$out") $(body_of "$out" | jq -r .error)" "400 invalid_grant" \
	"the code presented by another client (its own credentials): invalid_grant" || diag "$(body_of "$out")"
is_audited "another client" "$m" oidc.token deny "another client or for another redirect_uri"
m=$(audit_mark)
out=$(front_token -u "synapse:$SECRET" --data-urlencode grant_type=authorization_code \
	--data-urlencode "code=$CODE" --data-urlencode "redirect_uri=$CALLBACK" \
	--data-urlencode "code_verifier=$(openssl rand -hex 32)")
is "$(status_of "$out") $(body_of "$out" | jq -r .error)" "400 invalid_grant" \
	"the code with Synapse's credentials and redirect_uri but a wrong PKCE verifier: invalid_grant" ||
	diag "$(body_of "$out")"
is_audited "a wrong verifier" "$m" oidc.token deny "PKCE verifier does not match"
out=$(front_token -u "synapse:$SECRET" --data-urlencode grant_type=authorization_code \
	--data-urlencode "code=$CODE" --data-urlencode "redirect_uri=$CALLBACK")
is "$(status_of "$out") $(body_of "$out" | jq -r .error)" "400 invalid_grant" \
	"and with no verifier at all: invalid_grant" || diag "$(body_of "$out")"
sso_send continue
sso_read
is "$(jv "$R" .outcome)" client \
	"the refused attempts did not spend the code: Synapse, its holder, still redeems it" ||
	diag "$(jv "$R" '.url, .text' | head -c 600)"
out=$(token_login "$(jv "$R" '.login_token // ""')")
is "$(status_of "$out")" 200 "and alice logs in: a second device" || diag "$(body_of "$out")"
TOKEN2=$(body_of "$out" | jq -r '.access_token // ""')
DEVICE2=$(body_of "$out" | jq -r '.device_id // ""')

# --- the agent stopped in the middle ---------------------------------------
# after Synapse handed out the loginToken: the module fails closed
browse '{}'
LT=$(jv "$R" '.login_token // ""')
agent_stop
out=$(token_login "$LT")
is "$(status_of "$out")" 403 "the agent stopped before m.login.token: 403" || diag "$(body_of "$out")"
like "$(body_of "$out")" '"org.fido2gate.refusal": ?"unavailable"' "the module says the check is unavailable"
out=$(synapse_password_login alice "$PASSWORD")
is "$(status_of "$out")" 403 "a password login with the agent down: 403" || diag "$(body_of "$out")"
like "$(body_of "$out")" 'security key check is unavailable' "with the module's message"
like "$(grep 'fido2gate_synapse' "$SYNAPSE_LOG" | tail -n 2)" "refused: no answer from the agent" \
	"Synapse's log says the agent did not answer"

# after the login page loaded, before the key
agent_start || exit 1
browse '{hold_page: true}'
is "$(jv "$R" .held)" page "a login page loaded" || diag "$(jv "$R" '.url, .text' | head -c 600)"
agent_stop
sso_send continue
sso_read
page_error "the agent stopped after the page loaded, before the key"
like "$(jv "$R" .text)" "sign-in service is unavailable" "agent down: the page says the service is unavailable"
like "$(jv "$R" '[.replies[] | select(.path == "/login/begin") | .status] | first')" '^5[0-9][0-9]$' \
	"the front answered the page's /login/begin with a 5xx"

# after the key's challenge, before the assertion reaches the agent: the
# challenge is in the store with its login (docs/oidc.md), so a restarted
# agent, as another agent on a shared store, finishes the login
agent_start || exit 1
browse '{hold_finish: true}'
is "$(jv "$R" .held)" finish "a login whose key has signed, held before /login/finish" ||
	diag "$(jv "$R" '.url, .text' | head -c 600)"
agent_stop
agent_start || exit 1
sso_send continue
sso_read
is "$(jv "$R" .outcome)" client \
	"the agent restarted between the challenge and the assertion: the login goes on" ||
	diag "$(jv "$R" '.url, .text' | head -c 600)"
out=$(token_login "$(jv "$R" '.login_token // ""')")
is "$(status_of "$out")" 200 "and alice logs in on it" || diag "$(body_of "$out")"

# after the key, before Synapse redeems the code
browse '{hold_callback: true}'
is "$(jv "$R" .held)" callback "a login held on its way to Synapse's callback" ||
	diag "$(jv "$R" '.url, .text' | head -c 600)"
agent_stop
sso_send continue
sso_read
is "$(jv "$R" '.outcome + " " + (.login_token // "no loginToken")')" "synapse no loginToken" \
	"the agent stopped before Synapse redeems the code: Synapse's callback fails, no loginToken" ||
	diag "$(jv "$R" '.url, .text' | head -c 600)"
like "$(jv "$R" .text)" "sign-in service is unavailable" "Synapse's page relays the front's refusal"

# --- short-lived: a challenge nobody touches, an expired code ---------------
# challenge_timeout 12: the page gives up after 7 s (5 s before the
# agent), well clear of the front's 5 s keep-alive timeout
agent_restart "[oidc]
code_ttl = 2
[limits]
challenge_timeout = 12" || exit 1
m=$(audit_mark)
browse '{presence: false}'
page_error "a key nobody touches"
like "$(jv "$R" .text)" "not touched in time" "no touch: the page says so"
is "$(jv "$R" '[.replies[] | select(.path == "/login/finish")] | length')" 0 "no assertion was sent"
# the page's abort, or if it came too late, the challenge's expiry
wait_for 30 audited "$m" "web.abort|web.finish" deny "NotAllowedError|expired unanswered"
is_audited "no touch" "$m" "web.abort|web.finish" deny "NotAllowedError|expired unanswered"

m=$(audit_mark)
browse '{hold_callback: true}'
is "$(jv "$R" .held)" callback "a login held on its way to Synapse's callback (code_ttl 2 s)" ||
	diag "$(jv "$R" '.url, .text' | head -c 600)"
# the code was minted before the browser left the page: 3 s from now it
# is at least 3 s old
sleep 3
sso_send continue
sso_read
is "$(jv "$R" '.outcome + " " + (.login_token // "no loginToken")')" "synapse no loginToken" \
	"Synapse redeems the code after its 2 s: refused, no loginToken" ||
	diag "$(jv "$R" '.url, .text' | head -c 600)"
like "$(jv "$R" .text)" "invalid_grant" "Synapse's page shows invalid_grant"
is_audited "the expired code" "$m" oidc.token deny "unknown or expired code" -

# --- the window -------------------------------------------------------------
agent_restart "[homeserver]
window = 10" || exit 1
browse '{}'
out=$(token_login "$(jv "$R" '.login_token // ""')")
is "$(status_of "$out")" 200 "window 10 s: a login redeemed at once goes through" ||
	diag "$(body_of "$out")"
DEVICE3=$(body_of "$out" | jq -r '.device_id // ""')

browse '{}'
LT=$(jv "$R" '.login_token // ""')
issued=$(ctl --json audit --limit 20 |
	jq '[.[] | select(.event == "oidc.token" and .result == "allow")] | last | .ts')
# wait until the approval is more than the window old, by the agent's clock
after() { [ "$(date +%s)" -gt "$1" ]; }
wait_for 60 after "$((issued + 10))"
m=$(audit_mark)
out=$(token_login "$LT")
is "$(status_of "$out")" 403 "a login on an approval older than the window: 403" || diag "$(body_of "$out")"
like "$(body_of "$out")" '"org.fido2gate.refusal": ?"key_required"' "marked key_required"
is_audited "an approval older than the window" "$m" login.check deny "no fresh key approval"

# --- deleting a device: user-interactive auth through fido2gate --------------
out=$(hs_call DELETE "/_matrix/client/v3/devices/$DEVICE2" '{}' "$TOKEN1")
is "$(status_of "$out")" 401 "deleting alice's second device asks for user-interactive auth"
UIA=$(body_of "$out")
is "$(jq -c '[.flows[].stages | select(. == ["m.login.sso"])] | length' <<< "$UIA")" 1 \
	"with an m.login.sso flow (alice has logged in through fido2gate)"
SESSION=$(jq -r '.session // ""' <<< "$UIA")
FALLBACK="$SYNAPSE/_matrix/client/v3/auth/m.login.sso/fallback/web?session=$SESSION"

m=$(audit_mark)
browse "$(jq -nc --arg s "$FALLBACK" '{start: $s, keys: []}')"
like "$(jv "$R" .sso_page)" "remove a device" "Synapse's fallback page asks alice to confirm removing a device"
page_error "re-authentication without the key"
is_audited "re-authentication without the key" "$m" web.abort deny "NotAllowedError"
out=$(hs_call DELETE "/_matrix/client/v3/devices/$DEVICE2" \
	"$(jq -nc --arg s "$SESSION" '{auth: {session: $s}}')" "$TOKEN1")
is "$(status_of "$out")" 401 "without the key the device is not deleted" || diag "$(body_of "$out")"

m=$(audit_mark)
browse "$(jq -nc --arg s "$FALLBACK" '{start: $s}')"
is "$(jv "$R" .outcome)" synapse "re-authentication with the key ends on Synapse's page" ||
	diag "$(jv "$R" '.url, .text' | head -c 600)"
like "$(jv "$R" .text)" "Thank you" "which thanks alice"
is_audited "re-authentication with the key" "$m" web.finish allow "signature verified"
out=$(hs_call DELETE "/_matrix/client/v3/devices/$DEVICE2" \
	"$(jq -nc --arg s "$SESSION" '{auth: {session: $s}}')" "$TOKEN1")
is "$(status_of "$out")" 200 "with the key the device is deleted" || diag "$(body_of "$out")"
out=$(hs_call GET /_matrix/client/v3/devices "" "$TOKEN1")
is "$(body_of "$out" | jq -r --arg d "$DEVICE2" '[.devices[].device_id] | index($d)')" null \
	"it is gone from alice's devices"
out=$(hs_call GET /_matrix/client/v3/account/whoami "" "$TOKEN2")
is "$(status_of "$out")" 401 "and its access token no longer works"

# Synapse also offers the password for re-authentication while
# password_config is on (as here, to show the backstop refusing logins):
# check_login_for_spam does not run for it, so fido2gate never sees it.
# Production turns password_config off (docs/homeserver.md).
out=$(hs_call DELETE "/_matrix/client/v3/devices/$DEVICE3" '{}' "$TOKEN1")
SESSION=$(body_of "$out" | jq -r '.session // ""')
out=$(hs_call DELETE "/_matrix/client/v3/devices/$DEVICE3" \
	"$(jq -nc --arg s "$SESSION" --arg p "$PASSWORD" \
		'{auth: {type: "m.login.password", identifier: {type: "m.id.user", user: "alice"}, password: $p, session: $s}}')" \
	"$TOKEN1")
_n=$((_n + 1))
if [ "$(status_of "$out")" = 200 ]; then
	echo "not ok $_n - the password alone cannot delete a device # TODO Synapse's UIA takes m.login.password while password_config is on; fido2gate does not see re-authentication"
else
	echo "ok $_n - the password alone cannot delete a device # TODO Synapse's UIA takes m.login.password while password_config is on"
fi

done_testing
