#!/bin/bash
# The organisation's identity provider as the first factor, the key as the
# second ([web] first_factor = oidc:NAME): a real, independent provider,
# npm's oidc-provider (OpenID Certified, pinned in tests/e2e's lock file;
# tests/e2e/upstream_idp.mjs), on loopback over HTTPS with a certificate
# this test makes and the front trusts through [upstream.NAME] ca_file;
# PKCE required, ES256 and RS256 keys, its own login page and passwords,
# the user's claims at its userinfo endpoint (a signed JWT for client
# fido2gate, JSON for fido2gate-rs) and amr only when asked for, as
# ProConnect (which runs on the same library) does.
# Debian's Chromium drives the whole chain: the homeserver's client (the
# real Synapse when ../shared has it, else npm's openid-client as the
# relying party) → fido2gate → the provider's login page → back to
# fido2gate → the key (a WebAuthn virtual authenticator) → the client.
#
# Proves, each refusal audited by the agent with its reason and none of
# them reaching the key step:
# - the chain ends with a working Matrix device (or, without Synapse, an
#   id_token for the relying party naming the user the provider named,
#   with the provider's amr and the key's); the key page shows that user
#   and asks for no name; RS256 with client_secret_post works as ES256
#   with client_secret_basic does;
# - the provider turned hostile: an id_token signed by another key, alg
#   none, HS256 signed with the provider's public key, a wrong aud, a wrong
#   iss, an expired one, a wrong nonce, an unknown kid (fetched again once,
#   then refused), a token endpoint that hangs (timeout) or answers 5 MB
#   of garbage, a signed userinfo about another sub; a replayed state; an
#   acr outside the accepted list. The
#   hostile answers come from upstream_idp.mjs altering the real
#   provider's token response on its way out (oidc-provider cannot
#   misbehave on purpose); the provider's own keys re-sign where the
#   signature must stay good;
# - a key rotation at the provider (the real thing: a new instance whose
#   JWKS lists new keys first): the new kid is fetched once and accepted;
# - identity mapping: the email template (Jean.Dupont@… → jean.dupont),
#   a claim taken as it is, a claim missing, a claim with characters a
#   Matrix localpart cannot hold (refused, not changed);
# - a provider user with no key enrolled gets the key step's refusal; an
#   attacker with only the provider's password (no key, or his own key
#   posing as the user's) gets no code for the client; a locked user is
#   told so;
# - the provider down: the page says so, and the next login, the provider
#   back, works.
# UPSTREAM_DEBUG=1 shows each browser run's outcome.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"
. "$TOP/tests/e2e/e2e.sh"
. "$TOP/tests/homeserver/synapse.sh"

export PYTHONDONTWRITEBYTECODE=1

e2e_skip_unless_browser
if [ ! -d "$E2E/node_modules/oidc-provider" ]; then
	echo "1..0 # SKIP tests/e2e's oidc-provider is missing (scripts/deps.sh runs npm ci there)"
	exit 0
fi
WITH_SYNAPSE=0
if synapse_build; then
	WITH_SYNAPSE=1
elif [ -z "$SYNAPSE_SKIP" ]; then
	ok 1 "the Synapse build works"
	diag_file "$SYNAPSE_BUILD_LOG"
	done_testing
	exit
fi

UP_PID=
up_stop() {
	e2e_driver_stop "$UP_PID" "${UP[1]:-}"
	UP_PID=
}
IDP_PID=
idp_stop() {
	if [ -n "$IDP_PID" ]; then
		kill "$IDP_PID" 2> /dev/null
		wait "$IDP_PID" 2> /dev/null
		IDP_PID=
	fi
}
trap 'up_stop; idp_stop; synapse_stop; e2e_cleanup; agent_stop; rm -rf "$T"' EXIT

read -r FPORT RPORT IPORT CPORT SPORT MPORT <<< "$(free_ports 6)"
# shellcheck disable=SC2034 # gate.sh's write_conf and e2e.sh's webkey read it
RP=localhost
IDP=https://localhost:$IPORT
CONTROL=http://127.0.0.1:$CPORT
SYNAPSE=http://127.0.0.1:$SPORT
CLIENT=http://127.0.0.1:$MPORT/ # the Matrix client's redirectUrl (the driver serves it)

# --- the provider's TLS: a CA and a certificate for localhost, made here ----
tls_localhost "$T/tls"
ok $? "a CA and the provider's certificate for localhost, made with openssl" ||
	diag_file "$T/tls/openssl.log"
# the front runs as nobody: its CA file where nobody can read it
CA_FILE=$(share "$T/tls/ca.pem")
SPKI=$(openssl x509 -in "$T/tls/idp.pem" -pubkey -noout |
	openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)

# secrets: ours at the provider, and the clients' at fido2gate
openssl rand -hex 32 > "$T/up.secret" && chmod 600 "$T/up.secret"
client_secret "$T/app.secret"
client_secret "$T/synapse.secret"

# --- the provider -----------------------------------------------------------
idp_start() {
	rm -f "$T/idp.ready"
	spawn node "$E2E/upstream_idp.mjs" --port "$IPORT" --control-port "$CPORT" \
		--cert "$T/tls/idp.pem" --key "$T/tls/idp.key" \
		--redirect "http://localhost:$FPORT/upstream/callback" \
		--secret-file "$T/up.secret" --ready "$T/idp.ready" 2>> "$T/idp.log"
	IDP_PID=$!
	wait_for 60 test -s "$T/idp.ready"
}
idp_mode() { curl -s -X POST "$CONTROL/mode?token=$1" > /dev/null; }
idp_stats() { curl -s "$CONTROL/stats"; }
idp_start
ok $? "oidc-provider serves HTTPS on loopback" || diag_file "$T/idp.log"
disc=$(curl -s --cacert "$T/tls/ca.pem" "$IDP/.well-known/openid-configuration")
is "$(jq -c '[.issuer, .code_challenge_methods_supported, (.id_token_signing_alg_values_supported | index("ES256") != null and index("RS256") != null)]' <<< "$disc")" \
	"[\"$IDP\",[\"S256\"],true]" "its discovery: our issuer, PKCE S256 only, ES256 and RS256"

# --- the agent and its front --------------------------------------------------
# the provider's amr asked for in the id_token, as ProConnect wants it
# asked: claims={"id_token":{"amr":{"essential":true}}}, URL-encoded
AMR_CLAIMS=$(jq -rn '{id_token: {amr: {essential: true}}} | tojson | @uri')
# gate_conf [EXTRA-LINES]: the provider first; UP_* vary the [upstream] part
gate_conf() {
	local hs=
	[ "$WITH_SYNAPSE" = 1 ] &&
		hs=$(synapse_gate_conf "$T/synapse.secret" "$SYNAPSE/_synapse/client/oidc/callback")
	write_conf << CONF
origins = http://localhost:$FPORT
[oidc]
issuer = http://localhost:$FPORT
[web]
user = nobody
first_factor = oidc:interieur
$hs
[client.app]
name = Example Matrix
secret_file = $T/app.secret
redirect_uri = http://localhost:$RPORT/cb
[upstream.interieur]
issuer = $IDP
client_id = ${UP_CLIENT:-fido2gate}
client_secret_file = $T/up.secret
token_auth = ${UP_AUTH:-client_secret_basic}
scopes = openid email profile
params = acr_values=eidas1&claims=$AMR_CLAIMS
user_claim = ${UP_CLAIM:-email}
user_template = ${UP_TEMPLATE:-email_localpart}
algs = RS256 ES256
acr = eidas1 eidas2 eidas3
skew = 60
timeout = ${UP_TIMEOUT:-3}
ca_file = $CA_FILE
[rate_limit]
backoff_after = 3
lockout_after = 3
$1
CONF
}
agent_restart() {
	agent_stop
	gate_conf "$1"
	agent_start
}
agent_restart || exit 1
front_start "$FPORT" || exit 1
is "$(ps -o user= -p "$FRONT_PID" | tr -d ' ')" nobody "the web front runs as nobody"
wait_for 60 grep -q "provider interieur: discovery and keys loaded" "$T/front.log"
ok $? "at start the front asked the agent for the provider, and fetched its discovery and keys over HTTPS" ||
	diag_file "$T/front.log"

webkey jean.dupont --uv && webkey mallory --uv
ok $? "fg-webkey enrols keys for jean.dupont and mallory" || diag_file "$T/webkey.log"

# --- the clients ----------------------------------------------------------------
spawn node "$E2E/rp.mjs" --issuer "$FRONT" --client-id app \
	--secret-file "$T/app.secret" --port "$RPORT" --auth basic \
	--out "$T/rp.out" --ready "$T/rp.ready" 2>> "$T/rp.log"
wait_for 30 test -s "$T/rp.ready"
ok $? "openid-client, a relying party of fido2gate's, has read its discovery" || diag_file "$T/rp.log"
touch "$T/rp.out"
rp_codes() { grep -c . "$T/rp.out"; }
if [ "$WITH_SYNAPSE" = 1 ]; then
	SYNAPSE_CLIENT_URL=$CLIENT synapse_start "$T/hs" "$SPORT" "$FRONT" synapse \
		"$(cat "$T/synapse.secret")" "$SOCK" 2> "$T/synapse-start.err"
	ok $? "a real Synapse starts with fido2gate as its provider and the backstop" ||
		diag_file "$T/synapse-start.err" 40
else
	diag "no Synapse ($SYNAPSE_SKIP): openid-client is the homeserver's stand-in"
fi

coproc UP { exec node "$E2E/upstream_sso.mjs" --client-port "$MPORT" --idp-spki "$SPKI" 2>> "$T/driver.log"; }
UP_PID=$!
if ! IFS= read -r -t 120 R <&"${UP[0]}" || [ "$(jv "$R" .ready)" != true ]; then
	ok 1 "Chromium is up"
	diag_file "$T/driver.log"
	done_testing
	exit
fi

# --- the audit log ------------------------------------------------------------
audit_mark() { ctl --json audit --limit 1 | jq '.[-1].id // 0'; }
# audited MARK EVENT-REGEX RESULT REASON-REGEX [USER]: a record newer than
# MARK (USER "-": any user, or none)
audited() {
	ctl --json audit --limit 200 | jq -e --argjson m "$1" --arg e "$2" \
		--arg r "$3" --arg why "$4" --arg u "${5:--}" \
		'any(.[]; .id > $m and (.event | test("^(" + $e + ")$")) and .result == $r and ($u == "-" or .user == $u) and (.reason | test($why)))' \
		> /dev/null
}
audit_since() {
	ctl --json audit --limit 200 | jq -r --argjson m "$1" \
		'.[] | select(.id > $m) | "#   \(.event) \(.user) \(.result) \(.reason) [\(.detail)]"'
}
is_audited() { # is_audited NAME MARK EVENT RESULT REASON-REGEX [USER]
	local name=$1 m=$2
	shift 2
	audited "$m" "$@"
	ok $? "$name: audited ($1 $2, /$3/)" || audit_since "$m"
}

# --- the browser ----------------------------------------------------------------
# browse EXTRA-JSON: one run, jean's login to the relying party unless
# EXTRA says otherwise; its result in R
RP_START=http://localhost:$RPORT/login
BASE=$(jq -nc --arg s "$RP_START" --arg f "$FRONT" --arg i "$IDP" \
	--arg c "http://localhost:$RPORT/cb" --arg k "$T/key-jean.dupont.json" \
	'{start: $s, front: $f, idp: $i, client: $c, login: "jean", password: "jean-password", keys: [$k]}')
browse() {
	printf '%s\n' "$(jq -c ". + $1" <<< "$BASE")" >&"${UP[1]}"
	if ! IFS= read -r -t 300 R <&"${UP[0]}"; then
		R='{"outcome":"driver_error","error":"no answer from the driver"}'
		diag_file "$T/driver.log"
	fi
	[ -n "${UPSTREAM_DEBUG:-}" ] &&
		diag "driver: $(jq -c '{outcome, url, front_page, text: (.text // "" | .[0:200]), ms}' <<< "$R")"
	if [ "$(jv "$R" .outcome)" = driver_error ]; then
		jv "$R" .error | sed 's/^/#   driver: /' | head -n 15
	fi
}
show() { jv "$R" '{outcome, url, front_page, login_page: (.login_page.text // null), text: (.text // "" | .[0:300])}' | sed 's/^/#   /'; }

# --- the whole chain --------------------------------------------------------------
if [ "$WITH_SYNAPSE" = 1 ]; then
	SSO_START="$SYNAPSE/_matrix/client/v3/login/sso/redirect/oidc-fido2gate?redirectUrl=$(jq -rn --arg u "${CLIENT}home" '$u | @uri')"
	m=$(audit_mark)
	browse "$(jq -nc --arg s "$SSO_START" --arg c "$CLIENT" '{start: $s, client: $c}')"
	is "$(jv "$R" .outcome)" client \
		"Synapse → fido2gate → the provider's login page → fido2gate → the key → Synapse → the client" || show
	LT=$(jv "$R" '.login_token // ""')
	out=$(curl -s --max-time 60 -H 'Content-Type: application/json' \
		--data-binary "$(jq -nc --arg t "$LT" '{type: "m.login.token", token: $t}')" \
		"$SYNAPSE/_matrix/client/v3/login")
	TOKEN=$(jq -r '.access_token // ""' <<< "$out")
	is "$(jq -r .user_id <<< "$out")" "@jean.dupont:localhost" \
		"Synapse's loginToken gives a device to @jean.dupont:localhost, the provider's user" || diag "$out"
	who=$(curl -s --max-time 60 -H "Authorization: Bearer $TOKEN" "$SYNAPSE/_matrix/client/v3/account/whoami")
	is "$(jq -r '.user_id + " " + (.device_id != null | tostring)' <<< "$who")" \
		"@jean.dupont:localhost true" "and that device's access token works (whoami)" || diag "$who"
	is_audited "the homeserver's login" "$m" login.check allow "approval consumed" jean.dupont
fi

m=$(audit_mark)
codes=$(rp_codes)
browse '{shot: "'"$BUILD"'/screenshots/upstream-key.png"}'
is "$(jv "$R" .outcome)" client \
	"the relying party → fido2gate → the provider's login page → fido2gate → the key → the relying party" || show
authorize=$(jv "$R" '[.navigations[] | select(startswith("'"$IDP"'/auth?"))] | first')
like "$authorize" "[?&]redirect_uri=http%3A%2F%2Flocalhost%3A$FPORT%2Fupstream%2Fcallback(&|$)" \
	"fido2gate sent the browser to the provider's authorization endpoint, back to its /upstream/callback"
like "$authorize" "[?&]code_challenge_method=S256(&|$)" "with PKCE S256"
like "$authorize" "[?&]state=[A-Za-z0-9_-]{43}(&|$)" "a state of 43 characters"
like "$authorize" "[?&]nonce=[A-Za-z0-9_-]{43}(&|$)" "a nonce of 43 characters"
like "$authorize" "[?&]acr_values=eidas1&claims=%7B%22id_token%22" "and the configured extra parameters"
is "$(jv "$R" .idp_page.title)" "Interior ministry sign-in" "the provider's own login page asked for its password"
like "$(jv "$R" .callback)" "^$FRONT/upstream/callback\\?code=[^&]+&state=[A-Za-z0-9_-]{43}&iss=" \
	"the provider sent the browser back with a code, the state and its iss"
is "$(jv "$R" '.login_page.user_field')" false "the key page asks for no user name"
like "$(jv "$R" '.login_page.text')" "signed you in as jean\\.dupont\\." \
	"it shows the user the provider named (email Jean.Dupont@interieur.test, template email_localpart)"
is "$(jv "$R" '.login_page.focus')" go "and puts focus on its button"
is "$(rp_codes)" "$((codes + 1))" "the relying party got one code"
claims=$(jv "$R" .text | jq -c '.claims // {}' 2> /dev/null)
is "$(jq -c '[.preferred_username, (.amr | index("hwk") != null), (.amr | index("pwd") != null)]' <<< "$claims")" \
	'["jean.dupont",true,true]' \
	"fido2gate's id_token names jean.dupont, with the key's amr and the provider's (pwd)" || diag "$claims"
is "$(idp_stats | jq -r .id_token_alg)" ES256 "the provider signed its id_token with ES256 (client fido2gate)"
is_audited "the provider's user" "$m" web.upstream ok "provider named the user" jean.dupont
is_audited "the key" "$m" web.finish allow "signature verified" jean.dupont
is_audited "the code" "$m" oidc.token allow "approval recorded" jean.dupont
CALLBACK=$(jv "$R" .callback)

# --- a replayed state -------------------------------------------------------------
m=$(audit_mark)
page=$(curl -s --max-time 60 -w '\n%{http_code}' "$CALLBACK")
is "${page##*$'\n'}" 400 "the provider's answer replayed (state already spent): 400"
like "$page" "This sign-in has expired or was already used" "its page says so"
is_audited "a replayed state" "$m" web.upstream deny "unknown, used or expired state"

# --- RS256 and client_secret_post ---------------------------------------------------
UP_CLIENT=fido2gate-rs UP_AUTH=client_secret_post agent_restart || exit 1
browse '{}'
is "$(jv "$R" .outcome)" client "as client fido2gate-rs: client_secret_post, RS256 id_tokens: the login works" || show
is "$(idp_stats | jq -r .id_token_alg)" RS256 "the provider signed that id_token with RS256"
agent_restart || exit 1

# --- the provider turned hostile ----------------------------------------------------
# hostile MODE NAME PAGE-REGEX REASON-REGEX [LOCALE]: the provider's token
# answer altered so; the page refuses, no key step, no code, audited
hostile() {
	local m codes
	idp_mode "$1"
	m=$(audit_mark)
	codes=$(rp_codes)
	browse "{locale: \"${5:-en-US}\"}"
	idp_mode pass
	is "$(jv "$R" .outcome)" front_error "$2: fido2gate refuses the provider's answer" || show
	like "$(jv "$R" '.front_page.heading')" "$3" "$2: the page says why"
	is "$(jv "$R" '.login_page == null and ([.replies[]? | select(.path | endswith("/login/begin"))] | length) == 0')" \
		true "$2: no key step"
	is "$(rp_codes)" "$codes" "$2: no code for the client"
	is_audited "$2" "$m" web.upstream deny "$4"
}
INVALID="^Your organisation's sign-in could not be verified$"
hostile other_key "an id_token signed by another key" "$INVALID" "signature does not verify"
like "$(jv "$R" .front_page.detail)" "signature does not verify" "the page's detail names the check that failed"
hostile alg_none "alg none" "$INVALID" "unsigned \\(alg none\\)"
hostile hs256_pubkey "HS256 signed with the provider's public key" "$INVALID" "HMAC"
hostile wrong_aud "a wrong aud (in French)" \
	"^La connexion de votre organisation n’a pas pu être vérifiée$" "aud does not hold our client_id" fr-FR
hostile wrong_iss "a wrong iss" "$INVALID" "iss is not the provider's issuer"
hostile expired "an expired id_token" "$INVALID" "has expired"
hostile wrong_nonce "a wrong nonce" "$INVALID" "nonce is not ours"
jwks=$(idp_stats | jq .jwks)
hostile unknown_kid "a kid the provider never published" "$INVALID" \
	"kid is not in the provider's JWKS, even fetched again"
is "$(idp_stats | jq .jwks)" "$((jwks + 1))" "the unknown kid: the JWKS was fetched again once, not more"
DOWN="^Your organisation's sign-in service is not answering$"
t0=$(date +%s)
hostile hang "a token endpoint that hangs" "$DOWN" "token endpoint did not answer within 3 s"
ok $(($(date +%s) - t0 >= 3 ? 0 : 1)) "the hang: fido2gate waited the configured 3 s, no longer than the run took"
hostile garbage "5 MB of garbage from the token endpoint" "$DOWN" "token endpoint answered more than 1 MiB"
hostile userinfo_other_sub "a signed userinfo about another user than the id_token" "$INVALID" \
	"userinfo is about another sub than its id_token"

# --- a key rotation at the provider ---------------------------------------------------
jwks=$(idp_stats | jq .jwks)
kids=$(curl -s -X POST "$CONTROL/rotate" | jq -c .kids)
is "$kids" '["es-2","rs-2","es-1","rs-1"]' "the provider rotates: new keys first, the old still published"
browse '{}'
is "$(jv "$R" .outcome)" client "a login after the rotation works (the new kid es-2)" || show
is "$(idp_stats | jq .jwks)" "$((jwks + 1))" "the new kid: the JWKS fetched again once"
browse '{}'
is "$(jv "$R" .outcome)" client "and the next login too" || show
is "$(idp_stats | jq .jwks)" "$((jwks + 1))" "from the cache: no fetch more"

# --- the agent's decisions on the provider's word --------------------------------------
# denied NAME LOGIN REASON-REGEX DETAIL-REGEX: the provider signs LOGIN in,
# the agent refuses who it named, the page says why
denied() {
	local m codes
	m=$(audit_mark)
	codes=$(rp_codes)
	browse "{login: \"$2\", password: \"$2-password\"}"
	is "$(jv "$R" '.outcome + " " + .front_page.heading')" \
		"front_error This account cannot sign in here" "$1: refused after the provider's sign-in" || show
	like "$(jv "$R" .front_page.detail)" "$4" "$1: the page says why"
	is "$(jv "$R" '.login_page == null')" true "$1: no key step"
	is "$(rp_codes)" "$codes" "$1: no code for the client"
	is_audited "$1" "$m" web.upstream deny "$3"
}
denied "an acr outside the accepted list (eidas0)" weak "acr is not one of those accepted" "not strong enough"
denied "a claim missing (no email)" nomail "lacks the claim that names the user" "lacks the claim"
denied "an email a Matrix user name cannot hold (jean+tag@)" plus \
	"holds characters a Matrix user name cannot" "characters a Matrix user name cannot"

UP_CLAIM=preferred_username UP_TEMPLATE=as_is agent_restart || exit 1
browse '{keys: []}'
like "$(jv "$R" '.login_page.text')" "signed you in as jdupont\\." \
	"user_claim preferred_username, as_is: the provider's preferred_username names the user (jdupont)" || show
agent_restart || exit 1

# --- no key, the password alone -------------------------------------------------------
m=$(audit_mark)
codes=$(rp_codes)
browse '{login: "carol", password: "carol-password", keys: []}'
like "$(jv "$R" .login_page.text)" "signed you in as carol\\." "carol, whom the provider knows, reaches the key step"
is "$(jv "$R" .outcome)" key_error "carol has no key enrolled: the key step refuses" || show
like "$(jv "$R" .text)" "not enrolled for this account" "the page says the key is not enrolled for this account"
is "$(rp_codes)" "$codes" "no code for the client"
is_audited "carol without a key" "$m" web.abort deny "NotAllowedError" carol

m=$(audit_mark)
browse '{keys: []}'
is "$(jv "$R" .outcome)" key_error "an attacker with jean's provider password and no key: refused at the key" || show
is "$(rp_codes)" "$codes" "no code, so no id_token from fido2gate"
is_audited "the password alone" "$m" web.abort deny "NotAllowedError" jean.dupont
m=$(audit_mark)
browse "{keys: [], key_as: [[\"$T/key-mallory.json\", \"$T/key-jean.dupont.json\"]]}"
is "$(jv "$R" .outcome)" key_error "with his own key posing as jean's: refused" || show
like "$(jv "$R" .text)" "not the one enrolled for this account" "the page says it is not jean's key"
is "$(rp_codes)" "$codes" "no code, so no id_token from fido2gate"
is_audited "another key posing as jean's" "$m" web.finish deny "bad_signature" jean.dupont
ctl unlock jean.dupont > /dev/null 2>&1 # his failures forgotten, whatever they count to

# three failures lock mallory (lockout_after = 3)
for _ in 1 2 3; do
	browse '{login: "mallory", password: "mallory-password", keys: []}'
done
m=$(audit_mark)
browse "{login: \"mallory\", password: \"mallory-password\", keys: [\"$T/key-mallory.json\"]}"
is "$(jv "$R" .outcome)" key_error "mallory, locked after three failures, is refused even with her key" || show
like "$(jv "$R" .text)" "locked" "the page says the account is locked"

# --- the provider down ---------------------------------------------------------------
idp_stop
m=$(audit_mark)
# a change of the agent's settings: the front fetches the discovery again
UP_TIMEOUT=2 agent_restart || exit 1
browse '{}'
is "$(jv "$R" '.outcome + " " + .front_page.heading')" \
	"front_error Your organisation's sign-in service is not answering" \
	"the provider down: the page says its sign-in service is not answering" || show
is "$(jv "$R" .front_page.status)" 502 "with 502"
is_audited "the provider down" "$m" web.upstream deny "discovery document cannot be reached"
idp_start
ok $? "the provider is back"
browse '{}'
is "$(jv "$R" .outcome)" client "the next login fetches its discovery again, and works" || show

done_testing
