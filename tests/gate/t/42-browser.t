#!/bin/bash
# A browser login through fido2gate, for real: Debian's Chromium (headless,
# driven by playwright-core) on the login page of fido2gate-web, which runs
# as nobody and relays to the agent; the key is a WebAuthn virtual
# authenticator holding a credential enrolled through the agent
# (fg-webkey); the application is a relying party we did not write (npm's
# openid-client, tests/e2e/rp.mjs) that redeems the code with
# client_secret_basic and validates the id_token.
#
# Proves: a keyboard-only login ends at the application with a code whose
# id_token says the right things about the right user; with no key, with
# someone else's key, with a key posing as the user's, without the PIN,
# with a page that asks the key for less than the agent demands, and with
# no touch, the page says why in words a person can act on, no code is
# issued, and the agent audits the refusal against the user; one user's
# failures do not hold up another user's login; the page speaks French to
# a French browser. Screenshots land in $BUILD/screenshots/.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"
. "$TOP/tests/e2e/e2e.sh"

e2e_skip_unless_browser
SHOTS="$BUILD/screenshots"
mkdir -p "$SHOTS"

read -r FPORT RPORT <<< "$(free_ports 2)"
RP=localhost
client_secret "$T/app.secret"
# backoff_base: long, so that a backoff the test provokes outlasts any
# machine's slowness
gate_conf() { # gate_conf [EXTRA-LINES]
	write_conf << CONF
origins = http://localhost:$FPORT
[oidc]
issuer = http://localhost:$FPORT
[web]
user = nobody
[client.app]
name = Example Matrix
secret_file = $T/app.secret
redirect_uri = http://localhost:$RPORT/cb
[rate_limit]
backoff_after = 8
backoff_base = 60
backoff_max = 60
lockout_after = 0
$1
CONF
}
gate_conf
agent_start || exit 1
front_start "$FPORT" || exit 1
ok 0 "the web front serves the agent's discovery document, running as nobody"
is "$(ps -o user= -p "$FRONT_PID" | tr -d ' ')" nobody "the front's process is nobody's"

webkey alice --uv && webkey bob --uv && webkey mallory --uv
ok $? "fg-webkey enrols keys for alice, bob and mallory through the agent" ||
	diag_file "$T/webkey.log"
like "$(cat "$T/key-alice.json")" '"private_key":"MI[A-Za-z0-9+/]+=*"' \
	"fg-webkey gives the key as PKCS#8 DER in base64"

spawn node "$E2E/rp.mjs" --issuer "$FRONT" --client-id app \
	--secret-file "$T/app.secret" --port "$RPORT" --auth basic \
	--out "$T/rp.out" --ready "$T/rp.ready" 2>> "$T/rp.log"
wait_for 30 test -s "$T/rp.ready"
ok $? "openid-client's relying party has read the discovery document" ||
	diag_file "$T/rp.log"

driver_start
APP="http://localhost:$RPORT/login"
ALICE=$(jq -nc --arg s "$APP" --arg f "$FRONT" '{start: $s, front: $f, user: "alice"}')
with() { jq -c ". + $1" <<< "$ALICE"; }

# --- a keyboard-only login, in English ---
t0=$(date +%s)
browse "$(with "{keys: [\"$T/key-alice.json\"], shot: \"$SHOTS/login-en.png\"}")"
is "$(jv "$R" .outcome)" redirect \
	"a keyboard-only login (Tab, Enter) leaves the login page for the application"
like "$(jv "$R" .url)" "^http://localhost:$RPORT/cb\?code=[A-Za-z0-9_-]{22,}&state=[^&]+&iss=http%3A%2F%2Flocalhost%3A$FPORT$" \
	"at the registered redirect URI, with a code, the state and the issuer"
is "$(jv "$R" '.login_page.lang + " | " + .login_page.title')" \
	"en | Sign in with your security key" "the page is in English for an English browser"
is "$(jv "$R" '[.replies[] | select(.path == "/login/begin") | .body.uv] | first')" \
	required "the agent asks the key to verify the user (no first factor)"
claims=$(jv "$R" .text)
is "$(jv "$claims" .ok)" true \
	"openid-client redeemed the code (client_secret_basic) and accepted the id_token" ||
	diag "$claims"
want=$(jq -nc --arg iss "$FRONT" --arg sub "$(jv "$(cat "$T/key-alice.json")" .user_handle)" \
	'{iss: $iss, aud: "app", sub: $sub, preferred_username: "alice", alg: "RS256"}')
is "$(jv "$claims" '{iss: .claims.iss, aud: .claims.aud, sub: .claims.sub, preferred_username: .claims.preferred_username, alg: .alg}' | jq -c .)" \
	"$want" "the id_token names alice, her stable handle, the issuer and the client (RS256)"
is "$(jv "$claims" '(.claims.amr | index("hwk") != null) and (.claims.amr | index("pin") != null)')" \
	true "amr says a hardware key and its PIN"
is "$(jv "$claims" '.claims.nonce == .nonce_sent')" true "the nonce is the one the client sent"
is "$(jv "$claims" '.claims.exp - .claims.iat')" 300 "it lives token_ttl (300 s)"
now=$(date +%s)
is "$(jv "$claims" "(.claims.auth_time >= $t0 - 1) and (.claims.auth_time <= $now + 1) and (.claims.sid | length > 0) and (.claims.at_hash | length > 0)")" \
	true "auth_time is this login's; sid and at_hash are there"
is "$(jv "$R" '.sign_counts | join(",")')" 1 "the key signed once"
like "$(ctl audit --limit 3)" "web\.finish +alice +allow .*signature verified" \
	"the agent audited the login"
test -s "$SHOTS/login-en.png"
ok $? "screenshot: $SHOTS/login-en.png"

# a refusal: the page's message (text, exactly as login.js words it),
# no code for the application, and one more audit record against alice
refused() { # refused NAME SCENARIO MESSAGE-REGEX AUDIT-REGEX
	local before after
	before=$(audit_count "$4")
	browse "$2"
	is "$(jv "$R" .outcome)" error "$1: the page shows a refusal" ||
		diag "$(jv "$R" '.url, .text' | head -c 400)"
	like "$(jv "$R" .text)" "$3" "$1: the page says so"
	after=$(audit_count "$4")
	is "$after" "$((before + 1))" "$1: audited" ||
		ctl audit --limit 4 | sed 's/^/#   /'
}
codes_before=$(grep -c . "$T/rp.out")

# --- no key in the browser; in French ---
refused "no key at all (fr)" \
	"$(with "{locale: \"fr-FR\", shot: \"$SHOTS/login-fr.png\", shot_after: \"$SHOTS/refused-fr.png\"}")" \
	"^La clé n’a pas été touchée à temps, ou elle n’est pas enregistrée pour ce compte" \
	"web\.abort +alice +deny .*NotAllowedError"
page_fr=$(jv "$R" .login_page)
is "$(jv "$page_fr" '.lang + " | " + .title')" \
	"fr | Connexion avec votre clé de sécurité" "the page is in French for a French browser"
like "$page_fr" "Nom d’utilisateur Matrix.*Continuer avec ma clé de sécurité" \
	"its label and button are French"
unlike "$(jv "$page_fr" .text)" "Sign in|user name|security key|\bContinue\b" \
	"and no English is left on it"
test -s "$SHOTS/login-fr.png" && test -s "$SHOTS/refused-fr.png"
ok $? "screenshots: $SHOTS/login-fr.png, $SHOTS/refused-fr.png"

# --- someone else's key ---
refused "bob's key for alice" \
	"$(with "{keys: [\"$T/key-bob.json\"]}")" \
	"^The key was not touched in time, or it is not enrolled for this account" \
	"web\.abort +alice +deny .*NotAllowedError"

# --- a key that answers for alice's credential, with another private key ---
refused "mallory's key posing as alice's credential" \
	"$(with "{key_as: [[\"$T/key-mallory.json\", \"$T/key-alice.json\"]]}")" \
	"^This key is not the one enrolled for this account" \
	"web\.finish +alice +deny .*bad_signature"

# --- no PIN: the key cannot verify its user, which the agent requires ---
refused "a key that does not verify the user" \
	"$(with "{keys: [\"$T/key-alice.json\"], uv: false}")" \
	"^The key was not touched in time, or it is not enrolled for this account" \
	"web\.abort +alice +deny .*NotAllowedError"

# --- a page that asks for less than the agent requires: the agent decides ---
refused "a page that asks the key not to verify the user" \
	"$(with "{keys: [\"$T/key-alice.json\"], uv: false, downgrade_uv: true}")" \
	"^Your key must also check that it is you" \
	"web\.finish +alice +deny .*uv_not_set"
is "$(jv "$R" .front_uv)" required "(the agent had said uv required)"

is "$(grep -c . "$T/rp.out")" "$codes_before" "no refused login reached the application"

browse "$(with "{keys: [\"$T/key-alice.json\"]}")"
is "$(jv "$R" '.outcome + " " + (.text | fromjson | .claims.preferred_username)')" \
	"redirect alice" "after all that, alice's own key still gets her in"

# --- one user's failures must not hold up another's login ---
# ghosts fail through the same front (what anyone on the internet can do);
# each ghost is one failure for that name, below any per-user backoff
front_fail() { # front_fail USER: authorize, begin, abort, as a page would
	local tx b
	tx=$(curl -s "$FRONT/authorize?client_id=app&response_type=code&scope=openid&state=s&redirect_uri=http%3A%2F%2Flocalhost%3A$RPORT%2Fcb" |
		sed -n 's/.*&quot;tx&quot;:&quot;\([A-Za-z0-9_-]*\)&quot;.*/\1/p')
	b=$(curl -s -H "Origin: $FRONT" -H 'Content-Type: application/json' \
		-d "{\"tx\":\"$tx\",\"user\":\"$1\"}" "$FRONT/login/begin")
	curl -s -H "Origin: $FRONT" -H 'Content-Type: application/json' \
		-d "{\"tx\":\"$tx\",\"session\":\"$(jv "$b" '.session // ""')\",\"reason\":\"gave up\"}" \
		"$FRONT/login/abort" > /dev/null
}
for i in $(seq 10); do
	front_fail "ghost$i"
done
is "$(audit_count 'web\.abort +ghost[0-9]+ +deny')" 10 \
	"ten other names each fail once, none held up by the others' failures"
browse "$(with "{keys: [\"$T/key-alice.json\"]}")"
is "$(jv "$R" .outcome)" redirect \
	"alice's login is not held up by other users' failures through the same front" ||
	diag "page: $(jv "$R" .text | head -c 200); agent: $(ctl audit --limit 1)"

# --- no touch: the browser gives up when the challenge's time is out ---
gate_conf "[limits]
challenge_timeout = 3"
agent_stop
agent_start || exit 1
refused "a key nobody touches" \
	"$(with "{keys: [\"$T/key-alice.json\"], presence: false}")" \
	"^The key was not touched in time" \
	"web\.[a-z]+ +alice +deny "
diag "the browser gave up on the untouched key after $(jv "$R" .ms) ms (challenge_timeout 3 s)"
is "$(jv "$R" '[.replies[] | select(.path == "/login/finish")] | length')" 0 \
	"no assertion was sent"

done_testing
