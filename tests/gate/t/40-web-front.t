#!/bin/bash
# The web front, fido2gate-web (docs/oidc.md), through curl: discovery and
# keys relayed from a real agent; a whole OpenID Connect login whose key
# assertion comes from the soft key through libfido2's fido2-assert; the
# security headers on every answer; requests refused without a redirect;
# bodies and parameters bounded; slow and many clients from one address
# unable to keep another client out; and 503, never a redirect, whenever
# the agent is down, slow or talking nonsense (a stand-in agent,
# tests/web/fake_agent.py, plays the broken ones and shows exactly what
# the front relays).
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"
. "$(dirname "$0")/../../lib/intl.sh"

PY=/usr/bin/python3
WEB="$TOP/tests/web"
CB=https://matrix.test/_synapse/client/oidc/callback
CB_Q=https%3A%2F%2Fmatrix.test%2F_synapse%2Fclient%2Foidc%2Fcallback
SECRET='a-client-secret-of-33-bytes-long'
VERIFIER=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk
CHALLENGE=$(printf %s "$VERIFIER" | openssl dgst -sha256 -binary |
	base64 | tr '+/' '-_' | tr -d '=')
export SOFTKEY_PIN=2468
PIDS=()
FRONTS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2> /dev/null; wait "$p" 2> /dev/null; done
	agent_stop; rm -rf "$T"' EXIT

# front NAME SOCKET [ARGS...]: a fido2gate-web on a free loopback port
# (it logs the one it got), its log in $T/NAME.log, with the French
# catalog (tests/lib/intl.sh); sets URL
front() {
	local name=$1 sock=$2
	shift 2
	"${WITH_CATALOG[@]}" "$BUILD/fido2gate-web" --agent "$sock" --listen 127.0.0.1:0 "$@" \
		2> "$T/$name.log" &
	PIDS+=($!)
	FRONTS+=($!)
	if ! wait_for 20 grep -q "listening on http://" "$T/$name.log" 2> /dev/null; then
		diag "fido2gate-web did not start:"
		diag_file "$T/$name.log"
		return 1
	fi
	URL=$(sed -n 's/.*listening on \(http:.*\)$/\1/p' "$T/$name.log")
}

# req URL [CURL-ARGS...]: the status in $CODE, the body in $BODY and
# $T/body, the headers in $HEAD
req() {
	local url=$1
	shift
	CODE=$(curl -s -o "$T/body" -D "$T/head" -w '%{http_code}' \
		--max-time 30 "$@" "$url")
	BODY=$(cat "$T/body")
	HEAD=$(tr -d '\r' < "$T/head")
}
header() { # NAME: its value in the last answer
	printf '%s\n' "$HEAD" | sed -n "s/^$1: //Ip" | head -n 1
}
json() { # EXPR: a Python expression on the last body, as j
	$PY -c "import json,sys; j=json.load(open(sys.argv[1])); print($1)" \
		"$T/body" 2> /dev/null
}
CSP="default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
# the security headers of the last answer; the names of any missing
security_headers() {
	local missing=
	[ "$(header Content-Security-Policy)" = "$CSP" ] || missing="$missing CSP"
	[ "$(header X-Frame-Options)" = DENY ] || missing="$missing X-Frame-Options"
	[ "$(header X-Content-Type-Options)" = nosniff ] ||
		missing="$missing X-Content-Type-Options"
	[ "$(header Referrer-Policy)" = no-referrer ] ||
		missing="$missing Referrer-Policy"
	[ "$(header Cache-Control)" = no-store ] || missing="$missing Cache-Control"
	echo "${missing:-all}"
}
# true when the last body (a page) has no inline script, style or event
# handler: one script, login.js, empty; no style element or attribute; no
# on*= attribute (text holds no '<': escaped, so "<...>" is a tag of ours)
no_inline_code() {
	[ "$(grep -o '<script[^>]*>[^<]*</script>' "$T/body")" = \
		'<script src="static/login.js" defer></script>' ] &&
		[ "$(grep -c '<script' "$T/body")" = 1 ] &&
		! grep -Eiq '<style|<[^>]* (style|on[a-z]+)=|javascript:' "$T/body"
}
# authorize [EXTRA-QUERY] [CURL-ARGS...]: a good code-flow request
authorize() {
	local extra=${1:-}
	shift
	req "$URL/authorize?client_id=synapse&redirect_uri=$CB_Q&response_type=code&scope=openid&state=st-1&nonce=n-1&code_challenge=$CHALLENGE&code_challenge_method=S256$extra" "$@"
}
tx_of_page() {
	sed -n 's/.*&quot;tx&quot;:&quot;\([A-Za-z0-9_-]*\)&quot;.*/\1/p' "$T/body"
}
jpost() { # PATH JSON [CURL-ARGS...]: the page's POST
	local path=$1 body=$2
	shift 2
	req "$URL/$path" -H 'Content-Type: application/json' -H "Origin: $URL" \
		--data-binary "$body" "$@"
}

# --- a real agent behind the front ---
front real "$SOCK" --agent-timeout 5000 || exit 1
printf '%s' "$SECRET" > "$T/secret"
chmod 600 "$T/secret"
write_conf << CONF
origins = $URL
[oidc]
issuer = $URL
[web]
user = $(id -un)
[client.synapse]
name = Synapse <b>"test"</b>
secret_file = $T/secret
redirect_uris = $CB
CONF
agent_start || exit 1

req "$URL/.well-known/openid-configuration"
is "$CODE" 200 "discovery: 200"
is "$(json 'j["issuer"]')" "$URL" "discovery: the agent's document, relayed"
is "$(json 'j["response_types_supported"]')" "['code']" "discovery: the code flow only"
is "$(header Content-Type)" application/json "discovery: JSON"
is "$(security_headers)" all "discovery: every security header"
req "$URL/jwks"
is "$CODE" 200 "jwks: 200"
like "$(json 'len(j["keys"])')" '^[1-9]' "jwks: the agent's public keys, relayed"
is "$(security_headers)" all "jwks: every security header"

# --- refused without a redirect ---
req "$URL/authorize?client_id=nobody&redirect_uri=$CB_Q&response_type=code&state=s"
is "$CODE" 400 "an unknown client: 400"
is "$(header Location)" "" "an unknown client: no redirect"
like "$BODY" "cannot be used" "an unknown client: a page that says so"
is "$(security_headers)" all "the error page: every security header"
req "$URL/authorize?client_id=synapse&redirect_uri=https%3A%2F%2Fevil.test%2Fcb&response_type=code&state=s"
is "$CODE" 400 "a redirect_uri not registered: 400"
is "$(header Location)" "" "a redirect_uri not registered: no redirect"
authorize "&state=again"
is "$CODE" 400 "a repeated parameter: 400"
is "$(header Location)" "" "a repeated parameter: no redirect"
like "$BODY" "state is repeated" "a repeated parameter: the page names it"
req "$URL/authorize?client_id=synapse&redirect_uri=$CB_Q&response_type=code&nonce=$(head -c 2049 /dev/zero | tr '\0' n)"
is "$CODE" 400 "a parameter over 2048 bytes: 400"
grep -q "nonce is longer than 2048 bytes" "$T/real.log"
ok $? "the refusal is logged, by name"
# an error the client may be told of goes back to it
req "$URL/authorize?client_id=synapse&redirect_uri=$CB_Q&response_type=token&state=s-2"
is "$CODE" 302 "an unsupported response_type: 302 to the client"
like "$(header Location)" "^$CB\?error=unsupported_response_type&.*state=s-2" \
	"an unsupported response_type: the error and the state, to the registered URI"

# --- the login page ---
authorize "" -H 'Accept-Language: de;q=1, fr-CH;q=0.9, en;q=0.8'
is "$CODE" 200 "a good request: the login page"
like "$BODY" '<html lang="fr">' "Accept-Language prefers French: lang=fr"
like_fr "$BODY" 'Nom d’utilisateur Matrix' "and the page is in French"
like "$BODY" 'Synapse &lt;b&gt;&quot;test&quot;&lt;/b&gt;' "the client's name, escaped"
is "$(security_headers)" all "the login page: every security header"
no_inline_code
ok $? "the login page holds no inline script or style"
authorize "" -H 'Accept-Language: fr;q=0.1, en;q=0.9'
like "$BODY" '<html lang="en">' "Accept-Language prefers English: lang=en"
like "$BODY" '<label for="user">Matrix user name</label>' "and the page is in English"
authorize "&ui_locales=fr" -H 'Accept-Language: en'
like "$BODY" '<html lang="fr">' "ui_locales outranks Accept-Language"
for f in login.js login.css; do
	req "$URL/static/$f"
	is "$CODE $(security_headers)" "200 all" "static/$f: 200, every security header"
done
like "$(header Content-Type)" "^text/css" "login.css is text/css"

# --- a whole login: the page's requests, the key, the code, the tokens ---
echo "$SOFTKEY_PIN" | sk "$BUILD/fido2gatectl" --socket "$SOCK" enroll alice > "$T/out" 2>&1
ok $? "alice enrols the soft key, with its PIN" || diag_file "$T/out"
authorize
TX=$(tx_of_page)
# begin, the key, finish ("tamper": the signature's last bit flipped)
key_login() { # TAMPER
	jpost login/begin "{\"tx\":\"$TX\",\"user\":\"alice\"}"
	cp "$T/body" "$T/begin.json"
	$PY "$WEB/webauthn.py" request "$T/begin.json" "$URL" "$T/cdj" > "$T/assert.in" &&
		echo "$SOFTKEY_PIN" | sk setsid fido2-assert -G -v -i "$T/assert.in" \
			softkey:0 > "$T/assert.out" 2> "$T/assert.err" &&
		$PY "$WEB/webauthn.py" finish "$T/begin.json" "$TX" "$T/cdj" \
			"$T/assert.out" $1 > "$T/finish.json" || return 1
	jpost login/finish "$(cat "$T/finish.json")"
}
key_login tamper
ok $? "the key signs the challenge the front relayed" || diag_file "$T/assert.err"
is "$CODE" 403 "a bad signature: 403"
unlike "$BODY" redirect "a bad signature: no redirect, no code"
key_login
is "$CODE" 200 "the right signature: 200"
REDIRECT=$(json 'j["redirect"]')
like "$REDIRECT" "^$CB\?code=[A-Za-z0-9_-]+&state=st-1&iss=" \
	"the page is sent back to the client with a code and the state"
CODE_=$(printf '%s' "$REDIRECT" | sed -n 's/.*code=\([^&]*\).*/\1/p')
TOKEN_REQ="grant_type=authorization_code&code=$CODE_&redirect_uri=$CB_Q&code_verifier=$VERIFIER"
req "$URL/token" -u "synapse:$SECRET" -d "client_secret=$SECRET&$TOKEN_REQ"
is "$CODE $(json 'j["error"]')" "400 invalid_request" \
	"token: Basic and client_secret at once is invalid_request"
req "$URL/token" -u "synapse:not-the-secret" -d "$TOKEN_REQ"
is "$CODE $(json 'j["error"]')" "401 invalid_client" "token: a wrong secret is invalid_client"
is "$(header WWW-Authenticate)" 'Basic realm="fido2gate"' "with WWW-Authenticate: Basic"
req "$URL/token" -u "synapse:$SECRET" -d "$TOKEN_REQ"
is "$CODE" 200 "token: the code, the verifier and the secret give tokens"
ID_TOKEN=$(json 'j["id_token"]')
like "$ID_TOKEN" '^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$' \
	"token: an id_token (JWS)"
is "$(header Cache-Control) $(header Pragma)" "no-store no-cache" "token: not cached"
AT=$(json 'j["access_token"]')
req "$URL/userinfo" -H "Authorization: Bearer $AT"
is "$CODE $(json 'j["preferred_username"]')" "200 alice" "userinfo: alice's claims"
req "$URL/token" -u "synapse:$SECRET" -d "$TOKEN_REQ"
is "$CODE $(json 'j["error"]')" "400 invalid_grant" "token: a code used twice is invalid_grant"
req "$URL/userinfo" -H "Authorization: Bearer $AT"
is "$CODE" 401 "userinfo: the token the replayed code gave is revoked: 401"
is "$(header WWW-Authenticate)" 'Bearer realm="fido2gate", error="invalid_token"' \
	"with WWW-Authenticate: Bearer error=invalid_token"
grep -Fq -e "$CODE_" -e "$AT" -e "$SECRET" -e "$ID_TOKEN" "$T/real.log"
ok $((! $?)) "no code, token or secret in the front's log"

# --- the page's requests, refused ---
authorize
TX=$(tx_of_page)
req "$URL/login/begin" -H 'Content-Type: text/plain' -d "{\"tx\":\"$TX\",\"user\":\"alice\"}"
is "$CODE" 415 "login/begin: a Content-Type other than JSON: 415"
jpost login/begin 'user=alice'
is "$CODE $(json 'j["error"]')" "400 bad_request" "login/begin: a body that is not JSON: 400"
jpost login/begin "{\"tx\":\"$TX\",\"user\":\"alice\",\"user\":\"bob\"}"
is "$CODE" 400 "login/begin: a repeated member: 400"
req "$URL/login/begin" -H 'Content-Type: application/json' \
	-H 'Origin: https://evil.test' -d "{\"tx\":\"$TX\",\"user\":\"alice\"}"
is "$CODE $(json 'j["error"]')" "403 forbidden" "login/begin: another Origin: 403"
jpost login/begin "{\"tx\":\"$TX\",\"user\":\"alice\"}" -H 'Origin: https://evil.test'
is "$CODE $(json 'j["error"]')" "403 forbidden" "login/begin: a second Origin: 403"
head -c 20000 /dev/zero | tr '\0' a > "$T/big"
req "$URL/login/begin" -H 'Content-Type: application/json' --data-binary @"$T/big"
is "$CODE" 413 "login/begin: a body over 16 KiB: 413"
req "$URL/token" -H 'Transfer-Encoding: chunked' --data-binary @"$T/big"
is "$CODE" 413 "token: a chunked body over 16 KiB: 413"

# --- slow clients and many connections from one address ---
front limits "$SOCK" --max-connections-per-ip 8 --max-connections 64 \
	--threads 2 --timeout 10 --request-timeout 600 || exit 1
port=${URL##*:}
$PY "$WEB/slow_clients.py" 127.0.0.1 127.0.0.1 "$port" 40 "$T/slow" &
SLOW=$!
PIDS+=($SLOW)
# the verdict: 40 connections made, the front holding at most 8 of them
# while the rest are closed; then a client from another address
held() {
	grep -Eq 'tried=40 open=[0-8] round=([3-9]|[1-9][0-9])' "$T/slow" 2> /dev/null
}
wait_for 60 held
ok $? "40 slow connections from one address: the front holds at most 8" ||
	diag "$(cat "$T/slow" 2> /dev/null)"
req "$URL/.well-known/openid-configuration" --interface 127.0.0.2
is "$CODE" 200 "another address still gets the discovery document"
kill -0 "$SLOW" 2> /dev/null && grep -q 'open=[1-8] ' "$T/slow"
ok $? "while the slow clients are still connected"
kill "$SLOW"
grep -q "connection limit" "$T/limits.log"
ok $? "the refused connections are logged"

# --- the agent down: 503, never a redirect ---
agent_stop
URL=$(sed -n 's/.*listening on \(http:.*\)$/\1/p' "$T/real.log")
req "$URL/.well-known/openid-configuration"
is "$CODE" 503 "the agent down: discovery 503"
is "$(header Retry-After)" 5 "with Retry-After"
authorize "" -H 'Accept-Language: fr'
is "$CODE" 503 "the agent down: authorize 503"
is "$(header Location)" "" "the agent down: no redirect"
like "$BODY" '<html lang="fr">' "a page in French"
like_fr "$BODY" 'indisponible' "that says the service is unavailable"
is "$(security_headers)" all "the 503 page: every security header"
req "$URL/token" -u "synapse:$SECRET" -d "$TOKEN_REQ"
is "$CODE" 503 "the agent down: token 503"
jpost login/begin "{\"tx\":\"$TX\",\"user\":\"alice\"}"
is "$CODE $(json 'j["error"]')" "503 unavailable" "the agent down: login/begin 503"
grep -q "POST /login/begin 503: .*agent.sock" "$T/real.log"
ok $? "the failure is logged" || diag_file "$T/real.log" 5

# --- a stand-in agent: slow, nonsense, and what the front relays ---
FAKE="$T/fake.sock"
$PY "$WEB/fake_agent.py" "$FAKE" "$T/relayed" "$T/fake.mode" 2> "$T/fake.err" &
PIDS+=($!)
wait_for 20 test -S "$FAKE"
front fake "$FAKE" --agent-timeout 1000 || exit 1
mode() { echo "$1" > "$T/fake.mode"; }
last_request() { tail -n 1 "$T/relayed"; }

req "$URL/token" -u 'synapse:s3cr%3Aet%2B%2F%25' \
	-d 'grant_type=authorization_code&code=goodcode&redirect_uri=x'
is "$CODE" 200 "client_secret_basic: the form-encoded id and secret are decoded"
like "$(last_request)" '"client_secret": "s3cr:et\+/%"' "and relayed decoded"
req "$URL/token" -d 'client_id=synapse&client_secret=s3cr%3Aet%2B%2F%25&grant_type=authorization_code&code=goodcode'
is "$CODE" 200 "client_secret_post works too"
req "$URL/token?code=goodcode" -u 'synapse:s3cr%3Aet%2B%2F%25' -d 'grant_type=authorization_code'
is "$CODE $(json 'j["error"]')" "400 invalid_request" "token: parameters in the URL are refused"
req "$URL/token" -u 'synapse:s3cr%3Aet%2B%2F%25' -d 'grant_type=authorization_code&code=bad'
is "$(json 'j["error_description"]')" 'unknown  code  ' \
	"token: the description is cut to RFC 6749's alphabet"
req "$URL/authorize" -d "client_id=pwclient&redirect_uri=$CB_Q&response_type=code&scope=openid+profile&state=a%26b"
is "$CODE" 200 "authorize by POST (a form)"
like "$(last_request)" '"scope": "openid profile", "state": "a&b"' "the form's values, decoded, relayed as sent"
like "$BODY" 'id="password"' "a password first factor: the page asks for it"
TX=$(tx_of_page)
jpost login/begin "{\"tx\":\"$TX\",\"user\":\"slowpoke\",\"password\":\"hunter2-pass\"}"
is "$CODE $(header Retry-After) $(json 'j["retry_after"]')" "429 7 7" \
	"a user backing off: 429 and how long"
like "$(last_request)" '"password": "hunter2-pass"' "the password is relayed to the agent"
jpost login/begin "{\"tx\":\"$TX\",\"user\":\"locked\",\"password\":\"hunter2-pass\"}"
is "$CODE $(json 'j["error"]')" "403 locked" "a locked user: 403 locked"
grep -q hunter2-pass "$T/fake.log"
ok $((! $?)) "the password is not in the front's log"

mode nonsense
req "$URL/authorize?client_id=synapse&redirect_uri=$CB_Q&response_type=token"
is "$CODE $(header Location)" "503 " "an agent's redirect to javascript: is never followed: 503"
jpost login/finish "{\"tx\":\"AAAAAAAAAAAAAAAAAAAAAA\",\"session\":\"AAAAAAAAAAAAAAAAAAAAAA\",\"credential_id\":\"AQ\",\"authenticator_data\":\"$(head -c 37 /dev/zero | base64 | tr -d '=')\",\"client_data_json\":\"e30\",\"signature\":\"AQ\"}"
is "$CODE" 503 "an 'allow' with a header-splitting redirect: 503"
req "$URL/.well-known/openid-configuration"
is "$CODE" 503 "a reply without the document: 503"
for m in garbage close unknown; do
	mode $m
	authorize
	is "$CODE $(header Location)" "503 " "an agent that answers $m: 503, no redirect"
done
mode slow
start=$(date +%s)
req "$URL/.well-known/openid-configuration"
is "$CODE" 503 "a slow agent: 503"
elapsed=$(($(date +%s) - start))
[ "$elapsed" -lt 25 ]
ok $? "a slow agent: answered within the agent timeout, not the agent's time ($elapsed s)"
mode good

# --- a Unix socket for the reverse proxy ---
"$BUILD/fido2gate-web" --agent "$FAKE" --listen "unix:$T/web.sock" \
	2> "$T/unix.log" &
PIDS+=($!)
wait_for 20 test -S "$T/web.sock"
req http://fido2gate/static/login.css --unix-socket "$T/web.sock"
is "$CODE $(security_headers)" "200 all" "--listen unix:PATH serves HTTP on a Unix socket"

# --- every front lived through all of it, and stops cleanly ---
dead=0
for p in "${FRONTS[@]}"; do
	kill -0 "$p" 2> /dev/null || dead=1
done
ok $dead "every front is still running"
status=0
for p in "${FRONTS[@]}"; do
	kill -TERM "$p" && wait "$p" || status=$?
done
is "$status" 0 "SIGTERM stops each front cleanly (exit 0)"
grep -l "AddressSanitizer\|runtime error\|LeakSanitizer" "$T"/*.log
ok $((! $?)) "no sanitizer report in any front's log"

# --- the command line ---
"$BUILD/fido2gate-web" --version | grep -q '^fido2gate-web '
ok $? "--version"
"$BUILD/fido2gate-web" --help | grep -q -- '--max-connections-per-ip'
ok $? "--help lists the limits"
"$BUILD/fido2gate-web" --agent "$SOCK" --listen 127.0.0.1:0 --threads 0 2> /dev/null
is $? 2 "a limit out of range is a usage error"
"$BUILD/fido2gate-web" --agent "$SOCK" --listen localhost:80 2> /dev/null
is $? 2 "a listen address that is not numeric is a usage error"
"$BUILD/fido2gate-web" --agent "$SOCK" --listen 127.0.0.1:0 --bogus 2> /dev/null
is $? 2 "an unknown option is a usage error"

done_testing
