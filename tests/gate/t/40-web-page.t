#!/bin/bash
# The login page's script (web/static/login.js), run by Node.js against
# fido2gate-web and the stand-in agent (tests/web/fake_agent.py), with a
# stand-in DOM and authenticator (tests/web/login_page.js): what it sends
# to the front, what it asks the authenticator, what it tells the user in
# which language, and that it goes back to the client only on "allow".
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/intl.sh"

PY=/usr/bin/python3
WEB="$TOP/tests/web"
CB_Q=https%3A%2F%2Fmatrix.test%2F_synapse%2Fclient%2Foidc%2Fcallback
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2> /dev/null; wait "$p" 2> /dev/null; done
	rm -rf "$T"' EXIT

$PY "$WEB/fake_agent.py" "$T/agent.sock" "$T/relayed" "$T/mode" 2> "$T/agent.err" &
PIDS+=($!)
wait_for 20 test -S "$T/agent.sock"
# with the French catalog (tests/lib/intl.sh)
"${WITH_CATALOG[@]}" "$BUILD/fido2gate-web" --agent "$T/agent.sock" --listen 127.0.0.1:0 \
	--agent-timeout 2000 2> "$T/web.log" &
PIDS+=($!)
wait_for 20 grep -q "listening on http://" "$T/web.log" 2> /dev/null ||
	{ diag_file "$T/web.log"; exit 1; }
URL=$(sed -n 's/.*listening on \(http:.*\)$/\1/p' "$T/web.log")
PAGE="$URL/authorize?client_id=synapse&redirect_uri=$CB_Q&response_type=code&state=st-9"

# page SCENARIO [USER] [PAGE-URL]: the script's run, as JSON in $T/run
page() {
	node "$WEB/login_page.js" "${3:-$PAGE}" "$1" "${2-alice}" > "$T/run" 2>&1
}
# r EXPR: a Python expression on the run, as j
r() {
	$PY -c "import json,sys; j=json.load(open(sys.argv[1])); print($1)" "$T/run" 2> /dev/null ||
		cat "$T/run" | sed 's/^/# /' >&2
}

page sign
is "$(r 'j["assigned"]')" \
	"https://matrix.test/_synapse/client/oidc/callback?code=c0de&state=st-9&iss=https%3A%2F%2Fmatrix.test%2F_fido2gate" \
	"allow: the page goes where the agent said (location.assign)"
is "$(r 'j["requests"][0].split()[0]') $(r 'j["requests"][1].split()[0]')" \
	"login/begin login/finish" "it posts login/begin, then login/finish"
is "$(r 'j["options"]')" \
	"{'challenge': 32, 'rpId': 'matrix.test', 'userVerification': 'preferred', 'timeout': 55000, 'allow': 2, 'type': 'public-key'}" \
	"the authenticator is asked with the agent's challenge, RP ID, allow list, uv and a timeout in ms 5 s short of the challenge's, so that its abort is heard"
like "$(tail -n 1 "$T/relayed")" '"signature": "Z29vZA"' \
	"the signature reaches the agent as base64url"
like "$(r 'j["requests"][1]')" '"authenticator_data":"A{50}"' \
	"so does the authenticator data"

page wrong
is "$(r 'j["assigned"]')" None "a refused key: the page stays"
like "$(r 'j["error"]')" "not the one enrolled" "and says the key is not this account's"
is "$(r 'j["disabled"]')" False "and the user can try again"

page NotAllowedError
like "$(r 'j["error"]')" "not touched in time" "no touch (NotAllowedError): try again"
like "$(r 'j["requests"][1]')" '^login/abort .*"reason":"browser: NotAllowedError"' \
	"and the front is told why (login/abort)"
like "$(tail -n 1 "$T/relayed")" '"op": "web.abort"' "which the agent hears as web.abort"
page NotAllowedError alice "$PAGE&ui_locales=fr"
is "$(r 'j["lang"]')" fr "the French page"
like_fr "$(r 'j["error"]')" "pas été touchée à temps" "explains in French"
page SecurityError
like "$(r 'j["error"]')" "refused to use a security key" "SecurityError is explained"
page InvalidStateError
like "$(r 'j["error"]')" "could not use the key \(InvalidStateError\)" \
	"another browser error is named"

page sign locked
like "$(r 'j["error"]')" "locked after too many failed attempts" \
	"a locked account: ask an administrator"
is "$(r 'len(j["requests"])')" 1 "and no key is asked for"
page sign slowpoke
like "$(r 'j["error"]')" "Wait 7 seconds" "backing off: how long to wait"
page sign ""
like "$(r 'j["error"]')" "Enter your Matrix user name" "no user name: asked for, nothing sent"
is "$(r 'len(j["requests"])')" 0 "(no request)"
page expire
like "$(r 'j["error"]')" "expired" "the transaction's time runs out: the page says so"
is "$(r 'j["disabled"]')" True "and its button is disabled"

page sign alice "$URL/authorize?client_id=pwclient&redirect_uri=$CB_Q&response_type=code"
like "$(r 'j["requests"][0]')" '"password":"hunter2-pass"' \
	"a password first factor: the password goes with login/begin"
like "$(tail -n 2 "$T/relayed" | head -n 1)" '"password": "hunter2-pass"' \
	"and on to the agent"

echo unknown web.begin > "$T/mode"
page sign
like "$(r 'j["error"]')" "unavailable" "the agent unavailable: the page says so"
is "$(r 'j["assigned"]')" None "and goes nowhere"

done_testing
