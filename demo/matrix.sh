# shellcheck shell=bash disable=SC2154 # top, build, dir and the rest: demo.sh's
# make demo, second part: fido2gate's homeserver gate, end to end. Sourced
# by demo/demo.sh after the PAM part (it uses its say, verdict, indent and
# $top, $build, $dir).
#
# A second agent is the OpenID Connect provider of a Matrix homeserver, its
# web front (fido2gate-web) runs as nobody, and headless Chromium, with a
# WebAuthn virtual authenticator holding alice's enrolled key, does the
# logins. The homeserver is a real Synapse when one is available:
# SYNAPSE_PYTHON (a Python that imports synapse, 1.87.0 or later), else
# the shared build (../shared/synapse/build). Synapse gets fido2gate as
# its single sign-on and the backstop module, and the demo shows a
# password login refused, single sign-on without alice's key refused, and
# with it a new device whose token works. Without Synapse, Debian's
# python3-authlib (the OpenID Connect library Synapse is built on,
# tests/e2e/authlib_rp.py) stands in as the relying party.
#
# The helpers are the tests': tests/e2e/e2e.sh (the front as nobody,
# fg-webkey, the Chromium driver) and tests/homeserver/synapse.sh.

TOP=$top
BUILD=$build
T=$dir
SOCK="$dir/hs-agent.sock"
RP=localhost
PASSWORD="correct horse battery"
export PYTHONDONTWRITEBYTECODE=1 # Synapse imports the module from the checkout

# what the sourced helpers expect of tests/lib/tap.sh, said the demo's way
diag() { printf '   %s\n' "$*"; }
diag_file() {
	[ -s "$1" ] || return 0
	tail -n "${2:-20}" "$1" | indent
}
# shellcheck source=tests/lib/util.sh
. "$top/tests/lib/util.sh"

# shellcheck source=tests/e2e/e2e.sh
. "$top/tests/e2e/e2e.sh"
# shellcheck source=tests/homeserver/synapse.sh
. "$top/tests/homeserver/synapse.sh"
trap cleanup EXIT # e2e.sh sets a trap of its own

hs_agent=
sso_pid=
unexpected=0
matrix_cleanup() {
	e2e_driver_stop "$sso_pid" "${SSO[1]:-}"
	sso_pid=
	e2e_cleanup # driver.mjs, the front, authlib's relying party
	synapse_stop
	if [ -n "$hs_agent" ]; then
		kill "$hs_agent" 2> /dev/null
		wait "$hs_agent" 2> /dev/null
		hs_agent=
	fi
}
hctl() { "$build/fido2gatectl" --socket "$SOCK" "$@"; }
# give_up WHAT [LOG]: a part that would not start; the demo stops here
give_up() {
	printf '   \033[31mThe demo cannot go on:\033[0m %s\n' "$1"
	[ -n "${2:-}" ] && diag_file "$2" 15
	exit 1
}
# mverdict STATUS WANT TEXT: verdict, and note when the outcome is not the
# one fido2gate promises (WANT: accepted or refused)
mverdict() {
	verdict "$1" "$3"
	if { [ "$1" -eq 0 ] && [ "$2" != accepted ]; } ||
		{ [ "$1" -ne 0 ] && [ "$2" != refused ]; }; then
		printf '   \033[31m(not what fido2gate promises: it should be %s)\033[0m\n' "$2"
		unexpected=$((unexpected + 1))
	fi
}
# the browser must be there (scripts/deps.sh installs it all)
browser_missing() {
	if [ ! -x "$CHROMIUM" ]; then
		echo "Chromium is not installed ($CHROMIUM)"
	elif ! command -v node > /dev/null ||
		[ "$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then
		echo "Node.js 20 or later is not installed"
	elif [ ! -d "$E2E/node_modules/playwright-core" ]; then
		echo "tests/e2e's npm packages are missing (scripts/deps.sh runs npm ci there)"
	elif [ ! -x "$build/fido2gate-web" ] || [ ! -x "$build/test/fg-webkey" ]; then
		echo "$build/fido2gate-web or $build/test/fg-webkey is not built"
	elif [ "$(id -u)" -ne 0 ]; then
		echo "it needs root: the web front runs as nobody, and the agent enrols as root"
	fi
}

printf '\n\033[1m## Part two: the Matrix homeserver\033[0m\n'

why=$(browser_missing)
[ -z "$why" ] || give_up "the browser part needs what is missing: $why"

# --- which relying party: a real Synapse, else authlib ------------------
say "Looking for a Matrix homeserver to protect"
synapse_why=
if [ -n "${SYNAPSE_PYTHON:-}" ]; then
	if [ -x "$SYNAPSE_PYTHON" ] && "$SYNAPSE_PYTHON" -c 'import synapse, yaml' 2> /dev/null; then
		SYNAPSE_PY=$SYNAPSE_PYTHON
		synapse_from="SYNAPSE_PYTHON=$SYNAPSE_PYTHON"
	else
		synapse_why="SYNAPSE_PYTHON=$SYNAPSE_PYTHON cannot import synapse"
	fi
elif synapse_build; then
	synapse_from="the shared build, ../shared/synapse/build"
elif [ -n "$SYNAPSE_SKIP" ]; then
	synapse_why=$SYNAPSE_SKIP
else
	synapse_why="the shared build failed: $(tail -n 1 "$SYNAPSE_BUILD_LOG" 2> /dev/null)"
fi
if [ -z "$synapse_why" ]; then
	synapse_version=$("$SYNAPSE_PY" -c 'import synapse; print(synapse.__version__)')
	hs=synapse
	echo "   a real Synapse $synapse_version, from $synapse_from"
else
	hs=authlib
	echo "   no Synapse here: $synapse_why"
	[ -n "${SYNAPSE_PYTHON:-}" ] ||
		echo "   (SYNAPSE_PYTHON=/path/to/python names a Python that imports synapse)"
	"$SYS_PYTHON" -c 'import authlib.jose, authlib.oidc.core, requests' 2> /dev/null ||
		give_up "neither Synapse nor Debian's python3-authlib is installed"
	echo "   in its place an independent relying party: Debian's python3-authlib, the"
	echo "   OpenID Connect library inside Synapse, used the way Synapse uses it"
	echo "   (tests/e2e/authlib_rp.py)"
fi

# --- the agent and its web front ---------------------------------------
read -r FPORT SPORT CPORT <<< "$(free_ports 3)"
FRONT=http://localhost:$FPORT
openssl rand -hex 32 > "$dir/client.secret" && chmod 600 "$dir/client.secret"
SECRET=$(cat "$dir/client.secret")
if [ $hs = synapse ]; then
	SYNAPSE=http://127.0.0.1:$SPORT
	CLIENT=http://127.0.0.1:$CPORT/ # the Matrix client's page (the driver serves it)
	client_conf=$(synapse_gate_conf "$dir/client.secret" "$SYNAPSE/_synapse/client/oidc/callback")
else
	RP_URL=http://localhost:$SPORT
	client_conf="[client.authlib]
name = authlib
secret_file = $dir/client.secret
redirect_uri = $RP_URL/cb
id_token_alg = RS256"
fi
cat > "$dir/hs-agent.conf" << CONF
[relying_party]
id = $RP
name = fido2gate demo homeserver
origins = $FRONT
[oidc]
issuer = $FRONT
[web]
user = nobody
$client_conf
CONF

say "A second agent: the homeserver's OpenID Connect provider"
echo "   its own store; the browser's origin is $FRONT, so its relying party is localhost"
"$build/fido2gated" --socket "$SOCK" --db "$dir/hs-store.db" \
	--config "$dir/hs-agent.conf" 2> "$dir/hs-agent.log" &
hs_agent=$!
wait_for 30 hctl status > /dev/null 2>&1 || give_up "the agent did not start" "$dir/hs-agent.log"
sed -n '/^\[oidc\]/,$p' "$dir/hs-agent.conf" | grep -v secret_file | sed 's/^/   agent.conf: /'

say "Its web front, fido2gate-web, serves the login page as an unprivileged user"
front_start "$FPORT" > /dev/null || give_up "the web front did not start" "$dir/front.log"
echo "   $FRONT, running as $(ps -o user= -p "$FRONT_PID" | tr -d ' '): it holds no key and decides nothing,"
echo "   it relays every request to the agent"

# --- the relying party ----------------------------------------------------
if [ $hs = synapse ]; then
	say "Synapse, with fido2gate as its single sign-on and the backstop module"
	SYNAPSE_CLIENT_URL=$CLIENT synapse_start "$dir/hs" "$SPORT" "$FRONT" synapse "$SECRET" "$SOCK" \
		2> "$dir/synapse-start.err" || give_up "Synapse did not start" "$dir/synapse-start.err"
	echo "   $SYNAPSE, the login methods it offers:"
	curl -s --max-time 30 "$SYNAPSE/_matrix/client/v3/login" |
		jq -r '.flows[] | "     " + .type + (if .identity_providers then " (" + ([.identity_providers[] | .id + ": " + .name] | join(", ")) + ")" else "" end)'
	echo "   Password login is left on only to show the backstop refusing it (production"
	echo "   turns it off). The module asks the agent about every login (login.check)."
else
	say "authlib's relying party, with fido2gate as its OpenID Connect provider"
	spawn "$SYS_PYTHON" "$E2E/authlib_rp.py" --issuer "$FRONT" --client-id authlib \
		--secret-file "$dir/client.secret" --port "$SPORT" --auth client_secret_basic \
		--alg RS256 --ready "$dir/authlib.ready" 2>> "$dir/authlib.log"
	wait_for 60 test -s "$dir/authlib.ready" ||
		give_up "authlib's relying party did not start" "$dir/authlib.log"
	echo "   $RP_URL: it read fido2gate's discovery document and checked it"
	echo "   (authlib's OpenIDProviderMetadata); it checks every id_token against"
	echo "   fido2gate's published keys, its nonce, audience and expiry"
fi

# Chromium starts now, while alice is enrolled and registered
if [ $hs = synapse ]; then
	coproc SSO { exec node "$E2E/synapse_sso.mjs" --client-port "$CPORT" 2>> "$dir/driver.log"; }
	sso_pid=$!
else
	driver_start
fi

say "An admin enrols alice's key for the browser (held by Chromium's virtual authenticator)"
echo "   \$ fg-webkey $SOCK alice --uv"
webkey alice --uv || give_up "the agent did not enrol alice's key" "$dir/webkey.log"
hctl list | indent

if [ $hs = synapse ]; then
	say "alice has a Matrix account on Synapse, with a password"
	synapse_register alice "$PASSWORD" > "$dir/register.out" 2>&1 ||
		give_up "Synapse did not register alice" "$dir/register.out"
	echo "   @alice:localhost, password \"$PASSWORD\""
fi

# --- the browser ----------------------------------------------------------
# sso_run EXTRA-JSON: one login in a fresh browser, alice's key in it
# unless EXTRA says otherwise; the driver's answer in R
if [ $hs = synapse ]; then
	sso_read() {
		IFS= read -r -t 240 R <&"${SSO[0]}" ||
			R='{"outcome":"driver_error","error":"no answer from the browser"}'
	}
	sso_read
	[ "$(jv "$R" .ready)" = true ] || give_up "Chromium did not start" "$dir/driver.log"
	SSO_START="$SYNAPSE/_matrix/client/v3/login/sso/redirect/oidc-fido2gate?redirectUrl=$(jq -rn --arg u "${CLIENT}home" '$u | @uri')"
	BASE=$(jq -nc --arg s "$SSO_START" --arg f "$FRONT" --arg y "$SYNAPSE" --arg c "$CLIENT" \
		--arg k "$dir/key-alice.json" \
		'{start: $s, front: $f, synapse: $y, client: $c, user: "alice", keys: [$k]}')
	sso_run() {
		printf '%s\n' "$(jq -c ". + $1" <<< "$BASE")" >&"${SSO[1]}"
		sso_read
	}
else
	BASE=$(jq -nc --arg s "$RP_URL/login" --arg f "$FRONT" --arg k "$dir/key-alice.json" \
		'{start: $s, front: $f, user: "alice", keys: [$k]}')
	sso_run() {
		browse "$(jq -c ". + $1" <<< "$BASE")" > /dev/null
	}
fi
# hs_call METHOD PATH [JSON] [TOKEN]: Synapse's client API; the HTTP
# status on the first line, the body on the second
hs_call() {
	local out args=(-s --max-time 60 -w '\n%{http_code}' -X "$1")
	[ -n "${3:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
	[ -n "${4:-}" ] && args+=(-H "Authorization: Bearer $4")
	out=$(curl "${args[@]}" "$SYNAPSE$2")
	printf '%s\n%s\n' "${out##*$'\n'}" "${out%$'\n'*}"
}
status_of() { printf '%s\n' "${1%%$'\n'*}"; }
body_of() { printf '%s\n' "${1#*$'\n'}"; }
# the login page's outcome, said for a person
page_outcome() {
	case $(jv "$R" .outcome) in
	error) echo "   fido2gate's login page: \"$(jv "$R" .text)\"" ;;
	driver_error) jv "$R" .error | head -n 5 | sed 's/^/   the browser failed: /' ;;
	esac
}

# --- the logins -----------------------------------------------------------
if [ $hs = synapse ]; then
	say "An attacker who knows alice's password logs in to Matrix with it"
	echo "   POST /_matrix/client/v3/login {\"type\": \"m.login.password\", \"user\": \"alice\", ...}"
	out=$(synapse_password_login alice "$PASSWORD")
	body=$(body_of "$out")
	echo "   HTTP $(status_of "$out") $(jq -r '.errcode // ""' <<< "$body" 2> /dev/null)"
	echo "   \"$(jq -r '.error // .' <<< "$body" 2> /dev/null)\""
	[ "$(status_of "$out")" = 200 ]
	mverdict $? refused "Synapse checked the password, then fido2gate's module said no"
fi

say "The attacker tries single sign-on, without alice's key"
if [ $hs = synapse ]; then
	echo "   Synapse sends the browser to fido2gate's login page; the attacker types"
else
	echo "   the relying party sends the browser to fido2gate's login page; the attacker types"
fi
echo "   \"alice\"; the browser has a security key, but not alice's"
sso_run '{keys: []}'
page_outcome
if [ $hs = synapse ]; then
	echo "   codes that reached Synapse: $(jv "$R" '.callbacks | length'); login token for the client: $(jv "$R" '.login_token // "none"')"
	[ "$(jv "$R" .outcome)" = client ]
else
	[ "$(jv "$R" .outcome)" = redirect ] && [ "$(jv "$(jv "$R" .text)" .ok 2> /dev/null)" = true ]
fi
mverdict $? refused "only alice's key can answer the agent's challenge for alice"

say "Alice signs in with single sign-on and touches her key"
sso_run '{}'
page_outcome
if [ $hs = synapse ]; then
	ok=1
	if [ "$(jv "$R" .outcome)" = client ]; then
		echo "   Synapse → fido2gate's page → her key signed → Synapse redeemed the code"
		echo "   for an id_token → the client got a login token"
		LT=$(jv "$R" '.login_token // ""')
		out=$(hs_call POST /_matrix/client/v3/login \
			"$(jq -nc --arg t "$LT" '{type: "m.login.token", token: $t, initial_device_display_name: "alice (fido2gate demo)"}')")
		body=$(body_of "$out")
		TOKEN=$(jq -r '.access_token // ""' <<< "$body" 2> /dev/null)
		DEVICE=$(jq -r '.device_id // ""' <<< "$body" 2> /dev/null)
		if [ "$(status_of "$out")" = 200 ]; then
			echo "   m.login.token: HTTP 200, a new device $DEVICE for $(jq -r .user_id <<< "$body")"
		else
			echo "   m.login.token: HTTP $(status_of "$out") \"$(jq -r '.error // .' <<< "$body" 2> /dev/null)\""
		fi
		out=$(hs_call GET /_matrix/client/v3/account/whoami "" "$TOKEN")
		body=$(body_of "$out")
		echo "   whoami with the device's access token: HTTP $(status_of "$out"), $(jq -r '(.user_id // "?") + " on device " + (.device_id // "?")' <<< "$body" 2> /dev/null)"
		[ "$(status_of "$out")" = 200 ] &&
			[ "$(jq -r '.user_id + " " + .device_id' <<< "$body")" = "@alice:localhost $DEVICE" ] && ok=0
	fi
	mverdict $ok accepted "a new Matrix device whose access token works"
else
	res=$(jv "$R" .text)
	ok=1
	if [ "$(jv "$R" .outcome)" = redirect ]; then
		echo "   fido2gate's page → her key signed → the relying party redeemed the code"
		echo "   and checked the id_token: $(jv "$res" 'if .ok then "valid, " + .alg + ", preferred_username " + .claims.preferred_username + ", amr " + (.claims.amr | join(" ")) else .error end' 2> /dev/null)"
		[ "$(jv "$res" '.ok and .claims.preferred_username == "alice"' 2> /dev/null)" = true ] && ok=0
	fi
	mverdict $ok accepted "authlib signed alice in"
fi

say "Every decision is in the agent's audit log"
hctl audit | indent
if [ $hs = synapse ]; then
	echo "   oidc.key: the agent's id_token signing keys; web.*: the login page (uid"
	echo "   65534 is the front, nobody); oidc.token: Synapse redeeming its code for an"
	echo "   id_token, which records an approval; login.check: the module asking about a"
	echo "   login (Synapse runs as root here), allowed only on a fresh approval"
else
	echo "   oidc.key: the agent's id_token signing keys; web.*: the login page (uid"
	echo "   65534 is the front, nobody); oidc.token: authlib redeeming its code for an"
	echo "   id_token"
fi
echo
if [ "$unexpected" -gt 0 ]; then
	printf '\033[31m%d result(s) were not what fido2gate promises: see above\033[0m\n' "$unexpected"
	exit 1
fi
