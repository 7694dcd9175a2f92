#!/bin/bash
# Remote enrolment by invitation with the organisation's identity provider
# as the first factor ([web] first_factor = oidc:NAME): the link sends the
# browser to the provider (npm's oidc-provider, tests/e2e/upstream_idp.mjs,
# over HTTPS with a CA this test makes, as in 46-upstream.t), its own
# login page, and back to the front's /upstream/callback, which shows the
# enrolment page for the user the provider named; Debian's Chromium
# (tests/e2e/enrol.mjs, a WebAuthn virtual authenticator with no
# credential yet) then makes the new key. 65-invite.t has the password
# first factor and the link's own life (hash, single use, expiry).
#
# Proves, each refusal audited against the invited user and none of them
# reaching the key step:
# - the link is bound to its user: another user signed in at the provider
#   (mallory, with jean.dupont's link) enrols nothing, and the link still
#   serves jean.dupont;
# - the provider's refusal (its cancel button: error=access_denied) and an
#   answer with a state not ours (a page's state, altered) enrol nothing;
#   a page that skips the provider gets no key's challenge from the agent;
# - a user an admin locked enrols nothing through a link made before;
# - jean.dupont, signed in at the provider, registers a key; it is pending
#   and opens nothing until an admin's approve, then signs him in;
# - every error page under /enrol/ (the provider down, the agent down, a
#   used link) links a stylesheet the front serves (200).
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"
. "$TOP/tests/e2e/e2e.sh"

e2e_skip_unless_browser
if [ ! -d "$E2E/node_modules/oidc-provider" ]; then
	echo "1..0 # SKIP tests/e2e's oidc-provider is missing (scripts/deps.sh runs npm ci there)"
	exit 0
fi

IDP_PID=
idp_stop() {
	if [ -n "$IDP_PID" ]; then
		kill "$IDP_PID" 2> /dev/null
		wait "$IDP_PID" 2> /dev/null
		IDP_PID=
	fi
}
ENROLLER_PID_SAVED=
UP_PID=
trap 'e2e_driver_stop "$ENROLLER_PID_SAVED" "${ENROLLER[1]:-}"; e2e_driver_stop "$UP_PID" "${UP[1]:-}"; idp_stop; e2e_cleanup; agent_stop; rm -rf "$T"' EXIT

read -r FPORT RPORT IPORT CPORT <<< "$(free_ports 4)"
# shellcheck disable=SC2034 # gate.sh's write_conf reads it
RP=localhost
IDP=https://localhost:$IPORT

# --- the provider's TLS: a CA and a certificate for localhost ------------------
tls_localhost "$T/tls"
ok $? "a CA and the provider's certificate for localhost, made with openssl" ||
	diag_file "$T/tls/openssl.log"
CA_FILE=$(share "$T/tls/ca.pem") # the front runs as nobody
SPKI=$(openssl x509 -in "$T/tls/idp.pem" -pubkey -noout |
	openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)
openssl rand -hex 32 > "$T/up.secret" && chmod 600 "$T/up.secret"
client_secret "$T/app.secret"

idp_start() {
	rm -f "$T/idp.ready"
	spawn node "$E2E/upstream_idp.mjs" --port "$IPORT" --control-port "$CPORT" \
		--cert "$T/tls/idp.pem" --key "$T/tls/idp.key" \
		--redirect "http://localhost:$FPORT/upstream/callback" \
		--secret-file "$T/up.secret" --ready "$T/idp.ready" 2>> "$T/idp.log"
	IDP_PID=$!
	wait_for 60 test -s "$T/idp.ready"
}
idp_start
ok $? "oidc-provider serves HTTPS on loopback" || diag_file "$T/idp.log"

# --- the agent and its front: the provider first ----------------------------------
gate_conf() {
	write_conf << CONF
origins = http://localhost:$FPORT
[oidc]
issuer = http://localhost:$FPORT
[web]
user = nobody
first_factor = oidc:interieur
[client.app]
name = Example Matrix
secret_file = $T/app.secret
redirect_uri = http://localhost:$RPORT/cb
[upstream.interieur]
issuer = $IDP
client_id = fido2gate
client_secret_file = $T/up.secret
scopes = openid email profile
user_claim = email
user_template = email_localpart
algs = RS256 ES256
timeout = ${UP_TIMEOUT:-3}
ca_file = $CA_FILE
[rate_limit]
backoff_after = 8
lockout_after = 0
CONF
}
gate_conf
agent_start || exit 1
front_start "$FPORT" || exit 1
wait_for 60 grep -q "provider interieur: discovery and keys loaded" "$T/front.log"
ok $? "the front fetched the provider's discovery and keys" || diag_file "$T/front.log"

# as_ann ARGS...: fido2gatectl as the admin ann, with her key (PIN 1357)
as_ann() {
	printf '1357\n' | SOFTKEY_STATE="$T/admin-ann" sk "$BUILD/fido2gatectl" \
		--socket "$SOCK" --as ann "$@"
}
echo 1357 | SOFTKEY_PIN=1357 SOFTKEY_STATE="$T/admin-ann" sk "$BUILD/fido2gatectl" \
	--socket "$SOCK" enroll ann --label ann-admin > /dev/null 2>&1 &&
	ctl admin add ann > /dev/null 2>&1
ok $? "bootstrap: ann is enrolled and registered as the admin"
invite() { # invite USER: a link, in $LINK
	LINK=$(as_ann --json invite "$1" 2> "$T/invite.err" | jq -r .link)
	[ -n "$LINK" ] && [ "$LINK" != null ]
}
invite jean.dupont
ok $? "ann invites jean.dupont with her own key" || diag_file "$T/invite.err"
JEAN_LINK=$LINK

# --- the audit log ------------------------------------------------------------------
audit_mark() { ctl --json audit --limit 1 | jq '.[-1].id // 0'; }
# is_audited NAME MARK EVENT RESULT REASON-REGEX [USER]: a record newer
# than MARK (USER "-": any user, or none)
is_audited() {
	local name=$1 m=$2
	shift 2
	ctl --json audit --limit 200 | jq -e --argjson m "$m" --arg e "$1" \
		--arg r "$2" --arg why "$3" --arg u "${4:--}" \
		'any(.[]; .id > $m and .event == $e and .result == $r and ($u == "-" or .user == $u) and (.reason | test($why)))' \
		> /dev/null
	ok $? "$name: audited ($1 $2, /$3/${4:+ against $4})" ||
		ctl --json audit --limit 200 | jq -r --argjson m "$m" \
			'.[] | select(.id > $m) | "#   \(.event) \(.user) \(.result) \(.reason) [\(.detail)]"'
}
keys_of() { ctl --json show "$1" 2> /dev/null | jq '.credentials | length'; }

# --- the browser on the link ----------------------------------------------------------
coproc ENROLLER { exec node "$E2E/enrol.mjs" --idp-spki "$SPKI" 2>> "$T/enrol.log"; }
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
# sc EXTRA: jean.dupont's link, the provider, and EXTRA
sc() { jq -nc --arg u "$LINK" --arg f "$FRONT" --arg i "$IDP" "{url: \$u, front: \$f, idp: \$i} + $1"; }
show() { jv "$R" '{outcome, status, url, text: (.text // "" | .[0:300]), idp_page}' | sed 's/^/#   /'; }
no_key_step() { # no_key_step NAME: nothing went to /invite/*, no key was made
	is "$(jv "$R" '[.replies[]? | select(.path | startswith("/invite/"))] | length')" 0 \
		"$1: no key step"
	is "$(jv "$R" '.credentials // 0')" 0 "$1: the authenticator made no key"
}
css_served() { # css_served NAME: each stylesheet the pages loaded was 200
	is "$(jv "$R" '[.stylesheets[] | select(.status != 200)] | length')" 0 \
		"$1: the page's stylesheet was served" || jv "$R" '.stylesheets' | sed 's/^/#   /'
}

# --- (b) the link is bound to jean.dupont: mallory signed in at the provider ---
m=$(audit_mark)
enrol_page "$(sc '{login: "mallory", idp_password: "mallory-password"}')"
is "$(jv "$R" .idp_page.title)" "Interior ministry sign-in" \
	"jean.dupont's link sends the browser to the provider's own login page" || show
like "$(jv "$R" .callback)" "^$FRONT/upstream/callback\\?code=[^&]+&state=[A-Za-z0-9_-]{43}" \
	"which sends it back to the front with a code and the state"
is "$(jv "$R" '.outcome + " " + (.status | tostring)')" "page 403" \
	"mallory, signed in at the provider, is refused the enrolment page (403)" || show
like "$(jv "$R" .text)" "this invitation is for another user" "the page says the link is someone else's"
no_key_step "mallory"
css_served "mallory's refusal"
is_audited "mallory with jean.dupont's link" "$m" invite.begin deny \
	"the organisation's provider named another user than the one invited" jean.dupont
like "$(ctl --json audit --limit 20 | jq -r --argjson m "$m" '.[] | select(.id > $m and .event == "invite.begin") | .detail')" \
	"^mallory signed in at interieur$" "the audit names who signed in at the provider"
is "$(keys_of jean.dupont)/$(keys_of mallory)" "0/0" "neither jean.dupont nor mallory has a key"
# the page cannot skip the provider: the agent gives no key's challenge
tx=$(/usr/bin/python3 "$TOP/tests/tools/fg_call.py" "$SOCK" <<< \
	"{\"op\":\"invite.open\",\"token\":\"${LINK##*/}\"}" | jq -r .tx)
got=$(/usr/bin/python3 "$TOP/tests/tools/fg_call.py" "$SOCK" <<< "{\"op\":\"invite.begin\",\"tx\":\"$tx\"}")
like "$got" '"error": "denied".*provider first' \
	"an invitation's page that skips the provider gets no key's challenge from the agent"

# --- (c) the provider's refusal, and a state not ours -------------------------------
m=$(audit_mark)
enrol_page "$(sc '{cancel: true}')"
like "$(jv "$R" .callback)" "[?&]error=access_denied(&|$)" \
	"the provider's cancel button sends the browser back with error=access_denied" || show
is "$(jv "$R" '.outcome + " " + (.status | tostring)')" "page 403" "the front refuses (403)" || show
is "$(jv "$R" .title)" "Your organisation's sign-in did not finish" \
	"its page says the organisation's sign-in did not finish"
no_key_step "a cancelled sign-in"
is_audited "the cancelled sign-in" "$m" web.upstream deny "error=access_denied" jean.dupont

# a page on its way to the provider (the agent's invite.open, as the
# front asks it), and an answer that comes back with another state
state=$(/usr/bin/python3 "$TOP/tests/tools/fg_call.py" "$SOCK" <<< \
	"{\"op\":\"invite.open\",\"token\":\"${LINK##*/}\"}" | jq -r .upstream.state)
like "$state" '^[A-Za-z0-9_-]{43}$' "(an invitation's page has a state for the provider)"
forged=$([ "${state:0:1}" = A ] && echo B || echo A)${state:1}
m=$(audit_mark)
page=$(curl -s --max-time 30 -w '\n%{http_code}' "$FRONT/upstream/callback?code=abc&state=$forged&iss=$IDP")
is "${page##*$'\n'}" 400 "the provider's answer with a state not ours: refused (400)"
like "$page" "This sign-in has expired or was already used" "its page says the sign-in is unknown"
is_audited "the state not ours" "$m" web.upstream deny "unknown, used or expired state"
is "$(keys_of jean.dupont)" 0 "jean.dupont still has no key"

# --- a user an admin locked: the link made before enrols nothing ---------------------
invite carol
ok $? "ann invites carol"
as_ann lock carol --reason "phished: incident 7" > "$T/lock.out" 2>&1
ok $? "then locks her (an incident)" || diag_file "$T/lock.out"
m=$(audit_mark)
enrol_page "$(sc '{login: "carol", idp_password: "carol-password"}')"
is "$(jv "$R" .outcome)" error "carol, locked, signs in at the provider: the enrolment page refuses" || show
like "$(jv "$R" .text)" "locked" "it says the account is locked"
is "$(jv "$R" '[.replies[] | select(.path == "/invite/finish")] | length')" 0 "no key was sent"
is_audited "the locked user" "$m" invite.begin deny "locked by an administrator" carol
is "$(keys_of carol)" 0 "carol has no key"

# --- (a) jean.dupont, with his provider sign-in: a key, pending ------------------------
LINK=$JEAN_LINK
m=$(audit_mark)
enrol_page "$(sc "{login: \"jean\", idp_password: \"jean-password\", save: \"$T/key-jean.json\", shot: \"$BUILD/screenshots/enrol-upstream.png\"}")"
is "$(jv "$R" .outcome)" "done" "jean.dupont, signed in at the provider, registers a key through his link" || show
like "$(jv "$R" .url)" "^$FRONT/enrol/$" "the enrolment page came back from the provider (its URL then shows no code nor state)"
like "$(jv "$R" .text)" "It will work once an administrator has confirmed it: tell them the request [0-9a-f]{10}\.$" \
	"the page says it waits for an administrator's confirmation"
css_served "the enrolment page"
request=$(jv "$R" '.text' | sed -n 's/.*request \([0-9a-f]*\)\.$/\1/p')
is "$(ctl --json show jean.dupont | jq -r '[.credentials[].state] | join(",")')" pending \
	"the agent holds jean.dupont's new key as pending"
is "$(ctl --json show jean.dupont | jq -r '.requests[0] | .id + " " + .action')" "$request invite" \
	"with a request to confirm it"
is_audited "the provider's user" "$m" web.upstream ok "named the invited user" jean.dupont
is_audited "the new key" "$m" invite.finish ok "^pending$" jean.dupont
test -s "$T/key-jean.json"
ok $? "(the driver keeps the new credential for the logins below)"
enrol_page "$(sc '{login: "jean", idp_password: "jean-password"}')"
is "$(jv "$R" '.outcome + " " + (.status | tostring)')" "page 410" "the link again: refused (410), before the provider"
is "$(jv "$R" '.idp_page')" null "(the provider was not asked)"
css_served "the used link's page"
e2e_driver_stop "$ENROLLER_PID_SAVED" "${ENROLLER[1]:-}"
ENROLLER_PID_SAVED=

# --- the pending key signs nothing in; approved, it does -----------------------------
spawn node "$E2E/rp.mjs" --issuer "$FRONT" --client-id app \
	--secret-file "$T/app.secret" --port "$RPORT" --auth basic \
	--out "$T/rp.out" --ready "$T/rp.ready" 2>> "$T/rp.log"
wait_for 30 test -s "$T/rp.ready"
ok $? "openid-client's relying party is up" || diag_file "$T/rp.log"
coproc UP { exec node "$E2E/upstream_sso.mjs" --idp-spki "$SPKI" 2>> "$T/driver.log"; }
UP_PID=$!
if ! IFS= read -r -t 120 R <&"${UP[0]}" || [ "$(jv "$R" .ready)" != true ]; then
	ok 1 "Chromium is up"
	diag_file "$T/driver.log"
	done_testing
	exit
fi
login() {
	printf '%s\n' "$(jq -nc --arg s "http://localhost:$RPORT/login" --arg f "$FRONT" \
		--arg i "$IDP" --arg c "http://localhost:$RPORT/cb" --arg k "$T/key-jean.json" \
		'{start: $s, front: $f, idp: $i, client: $c, login: "jean", password: "jean-password", keys: [$k]}')" >&"${UP[1]}"
	if ! IFS= read -r -t 300 R <&"${UP[0]}"; then
		R='{"outcome":"driver_error","error":"no answer from the driver"}'
		diag_file "$T/driver.log"
	fi
}
login
is "$(jv "$R" .outcome)" key_error "the pending key cannot sign jean.dupont in" || show
as_ann approve "$request" > "$T/out" 2>&1
ok $? "ann confirms the invited key (fido2gatectl approve)" || diag_file "$T/out"
is "$(ctl --json show jean.dupont | jq -r '[.credentials[].state] | join(",")')" active "the key is active"
login
is "$(jv "$R" .outcome)" client "jean.dupont signs in: the provider, then the key he registered" ||
	diag "$(jv "$R" '.text' | head -c 300)"
is "$(jv "$R" '.text | fromjson | .claims.preferred_username')" jean.dupont "as jean.dupont"
e2e_driver_stop "$UP_PID" "${UP[1]:-}"
UP_PID=

# --- error pages under /enrol/ link a stylesheet the front serves ----------------------
# css_of URL [CURL-ARGS]: the stylesheet the page at URL links, resolved
# as a browser would, and its status
css_of() {
	local page href
	page=$(curl -s --max-time 30 "${@:2}" "$1")
	href=$(sed -n 's/.*<link rel="stylesheet" href="\([^"]*\)".*/\1/p' <<< "$page" | head -n 1)
	CSS_URL=$(/usr/bin/python3 -c 'import sys, urllib.parse; print(urllib.parse.urljoin(sys.argv[1], sys.argv[2]))' "$1" "$href")
	CSS_STATUS=$(curl -s -o /dev/null -w '%{http_code} %{content_type}' "$CSS_URL")
}
invite carol.other
idp_stop
agent_stop
UP_TIMEOUT=2 gate_conf # a change of settings: the front fetches the discovery again
agent_start || exit 1
status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$LINK")
is "$status" 502 "the provider down: the link's page says so (502)"
css_of "$LINK"
is "$CSS_URL $CSS_STATUS" "$FRONT/static/login.css 200 text/css; charset=utf-8" \
	"the provider's error page under /enrol/ links the front's stylesheet, served (200)"
agent_stop
status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 "$LINK")
is "$status" 503 "the agent down: the link's page says the service is unavailable (503)"
css_of "$LINK"
is "$CSS_URL $CSS_STATUS" "$FRONT/static/login.css 200 text/css; charset=utf-8" \
	"that page links the front's stylesheet too"
status=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 -X POST "$LINK")
css_of "$LINK" -X POST
is "$status $CSS_URL" "405 $FRONT/static/login.css" "and so does a 405 under /enrol/"

done_testing
