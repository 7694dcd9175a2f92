#!/bin/bash
# The Synapse module (homeserver/synapse/fido2gate_synapse.py): its unit
# tests against a fake module API and a fake agent, the same tests with
# Synapse's real module API (catches API drift), and a real Synapse 1.87
# that loads it: a password login is refused (403, the module's message)
# while the fake agent says deny, let through (200) when it says allow, and
# refused when the agent is down. The fake agent is only for the module's
# own tests; the real agent's login.check has its own.
. "$(dirname "$0")/../../lib/tap.sh"
. "$TOP/tests/homeserver/synapse.sh"

HS="$TOP/tests/homeserver"
# no __pycache__ left in the checkout (the module is imported from it)
export PYTHONDONTWRITEBYTECODE=1
PY3=$(command -v /usr/bin/python3 || command -v python3)
FAKE_PID=
ISSUER_PID=

cleanup() {
	synapse_stop
	[ -n "$FAKE_PID" ] && kill "$FAKE_PID" 2> /dev/null && wait "$FAKE_PID" 2> /dev/null
	[ -n "$ISSUER_PID" ] && kill "$ISSUER_PID" 2> /dev/null && wait "$ISSUER_PID" 2> /dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# run_unit LABEL CMD...: the unit suite's lines as TAP; then one more test
# for its exit status, so that a crash or a failure anywhere fails the .t
run_unit() {
	local label=$1 line n=0 rc
	shift
	"$@" > "$T/unit.out" 2>&1
	rc=$?
	while IFS= read -r line; do
		case $line in
		"ok - "*) ok 0 "$label: ${line#ok - }"; n=$((n + 1)) ;;
		"not ok - "*) ok 1 "$label: ${line#not ok - }"; n=$((n + 1)) ;;
		"skip - "*) skip 1 "$label: ${line#skip - }"; n=$((n + 1)) ;;
		*) echo "# $line" ;;
		esac
	done < "$T/unit.out"
	[ "$rc" -eq 0 ] && [ "$n" -gt 50 ]
	ok $? "$label: the suite ran to the end and passed ($n tests, exit $rc)"
}

run_unit "fake API" "$PY3" "$HS/test_synapse_module.py" --tap

# --- with Synapse's own module API -------------------------------------
if synapse_build; then
	have_synapse=1
else
	have_synapse=
	if [ -z "$SYNAPSE_SKIP" ]; then
		ok 1 "the Synapse build works"
		diag_file "$SYNAPSE_BUILD_LOG"
		SYNAPSE_SKIP="the Synapse build failed"
	fi
fi

if [ -n "$have_synapse" ]; then
	FIDO2GATE_REAL_SYNAPSE=1 run_unit "real module API" \
		"$SYNAPSE_PY" "$HS/test_synapse_module.py" --tap

	# the names the module uses are Synapse's, and Synapse would accept
	# what the callback returns
	drift=$(PYTHONPATH="$TOP/homeserver/synapse" "$SYNAPSE_PY" - 2>&1 << 'EOF'
import inspect
import synapse.api.errors
import synapse.module_api
from synapse.module_api import ModuleApi
from synapse.module_api.callbacks.spamchecker_callbacks import SpamCheckerModuleApiCallbacks
import fido2gate_synapse as fg

assert fg.NOT_SPAM is synapse.module_api.NOT_SPAM is SpamCheckerModuleApiCallbacks.NOT_SPAM
assert fg.Codes is synapse.api.errors.Codes, "Codes is not synapse.api.errors.Codes"
assert "check_login_for_spam" in inspect.signature(ModuleApi.register_spam_checker_callbacks).parameters
assert inspect.iscoroutinefunction(ModuleApi.defer_to_thread)
ours = list(inspect.signature(fg.Fido2gateBackstop.check_login_for_spam).parameters)[1:]
theirs = list(inspect.signature(SpamCheckerModuleApiCallbacks.check_login_for_spam).parameters)[1:]
assert ours == theirs, (ours, theirs)
refusal = (fg.Codes.FORBIDDEN, {"error": fg.MESSAGE_KEY_REQUIRED})
assert isinstance(refusal[0], synapse.api.errors.Codes) and isinstance(refusal[1], dict)
err = synapse.api.errors.SynapseError(403, "Login was blocked by the server",
                                      errcode=refusal[0], additional_fields=refusal[1])
assert err.error_dict(None)["error"] == fg.MESSAGE_KEY_REQUIRED, err.error_dict(None)
print("api ok")
EOF
	)
	is "$drift" "api ok" "Synapse's module API has what the module uses (NOT_SPAM, Codes, the callback's signature, the error text reaching the client)"
else
	skip 2 "$SYNAPSE_SKIP"
fi

# --- a real Synapse loading the module ---------------------------------
N_REAL=18
if [ -z "$have_synapse" ]; then
	skip $N_REAL "$SYNAPSE_SKIP"
	done_testing
	exit
fi

mkdir -p "$T/agent" && chmod 700 "$T/agent"
AGENT_SOCK="$T/agent/agent.sock"
REQS="$T/agent/requests.jsonl"

fake_agent() { # fake_agent allow|deny
	"$PY3" "$HS/fake_agent.py" --socket "$AGENT_SOCK" --answer "$1" --log "$REQS" \
		2>> "$T/fake-agent.log" &
	FAKE_PID=$!
	wait_for 10 test -S "$AGENT_SOCK"
}
fake_agent_stop() {
	kill "$FAKE_PID" 2> /dev/null
	wait "$FAKE_PID" 2> /dev/null
	FAKE_PID=
}

"$PY3" "$HS/fake_issuer.py" --port-file "$T/issuer.port" 2>> "$T/issuer.log" &
ISSUER_PID=$!
wait_for 10 test -s "$T/issuer.port"
ISSUER="http://127.0.0.1:$(cat "$T/issuer.port")/_fido2gate"

# a typo in the module's config stops Synapse, naming the key
SYNAPSE_EXTRA_JSON='{"modules": [{"module": "fido2gate_synapse.Fido2gateBackstop",
	"config": {"socket": "/run/fido2gate/agent.sock", "exempt": "^@bot:.*"}}]}' \
	synapse_start "$T/hs-bad" "$(synapse_free_port)" "$ISSUER" synapse-test secret \
	> "$T/hs-bad.out" 2>&1
status=$?
synapse_stop
if [ "$status" -ne 0 ]; then
	like "$(cat "$T/hs-bad.out")" "unknown config key 'exempt'" \
		"Synapse refuses to start with an unknown key in the module's config, naming it"
else
	ok 1 "Synapse refuses to start with an unknown key in the module's config (it started)"
fi

fake_agent deny
PORT=$(synapse_free_port)
synapse_start "$T/hs" "$PORT" "$ISSUER" synapse-test "client-secret-$RANDOM" "$AGENT_SOCK" \
	2> "$T/synapse-start.err"
if ! ok $? "a real Synapse starts with the module, oidc_providers (discovery) and the agent socket"; then
	diag_file "$T/synapse-start.err" 40
	skip $((N_REAL - 1)) "Synapse did not start"
	done_testing
	exit
fi
like "$(cat "$SYNAPSE_LOG")" "fido2gate: every login asks the agent at $AGENT_SOCK" \
	"Synapse loaded the module with its config"

synapse_register alice "correct horse battery" > "$T/register.out" 2>&1
ok $? "register_new_matrix_user makes a non-admin user" || diag_file "$T/register.out"

flows=$(curl -s "$SYNAPSE_URL/_matrix/client/v3/login")
like "$flows" '"m.login.password"' "password login is offered (on purpose: the backstop must refuse it)"
like "$flows" '"id": ?"oidc-fido2gate"' "the fido2gate provider is offered for SSO"

loc=$(curl -s -o /dev/null -w '%{redirect_url}' \
	"$SYNAPSE_URL/_matrix/client/v3/login/sso/redirect/oidc-fido2gate?redirectUrl=http%3A%2F%2F127.0.0.1%3A1%2Fclient")
like "$loc" "^$ISSUER/authorize\\?.*client_id=synapse-test" \
	"SSO sends the browser to the issuer's discovered authorization endpoint"
like "$loc" "code_challenge_method=S256" "with PKCE S256 (pkce_method auto, from discovery)"

# while the agent says deny
out=$(synapse_password_login alice "correct horse battery")
status=${out%%$'\n'*}
body=${out#*$'\n'}
is "$status" 403 "a correct password is refused while the agent says deny" || diag "$body"
like "$body" '"errcode": ?"M_FORBIDDEN"' "with M_FORBIDDEN"
like "$body" "requires your security key" "and the module's message, which tells the user what to do"
req=$(tail -n 1 "$REQS" 2> /dev/null)
like "$req" '"op":"login.check".*"user_id":"@alice:localhost","auth_provider_id":null' \
	"the module asked the agent login.check for @alice:localhost, provider null (a password login)"

out=$(synapse_password_login alice "wrong password")
is "${out%%$'\n'*}" 403 "a wrong password is refused by Synapse itself"
is "$(wc -l < "$REQS")" 1 "and never reaches the agent"

# once the agent says allow
fake_agent_stop
fake_agent allow
out=$(synapse_password_login alice "correct horse battery")
status=${out%%$'\n'*}
body=${out#*$'\n'}
is "$status" 200 "the same login goes through once the agent says allow" || diag "$body"
like "$body" '"access_token"' "and gets an access token"

# the agent down
fake_agent_stop
out=$(synapse_password_login alice "correct horse battery")
status=${out%%$'\n'*}
body=${out#*$'\n'}
is "$status" 403 "with the agent down the login is refused" || diag "$body"
like "$(cat "$SYNAPSE_LOG")" "fido2gate: login of @alice:localhost via None refused: no answer from the agent" \
	"and Synapse's log says why"

done_testing
