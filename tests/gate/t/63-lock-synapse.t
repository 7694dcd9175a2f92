#!/bin/bash
# An incident's lock on a real homeserver: Synapse 1.87 (../shared/synapse)
# with fido2gate as its OpenID Connect provider (back-channel logout
# enabled) and the backstop module; the agent; its web front; Chromium
# with alice's key.
#
# Proves:
# - fido2gatectl lock ends the Matrix session that fido2gate's SSO login
#   created, through OpenID Connect back-channel logout alone: its access
#   token gets 401 M_UNKNOWN_TOKEN, while a device made another way (the
#   admin API's login as alice) still works;
# - with the homeserver's admin API configured, the lock also logs out
#   every other device: that one's token gets 401 too;
# - a new SSO login of the locked user is refused on fido2gate's page,
#   and nothing reaches Synapse;
# - the audit shows the lock and each cut; a server notice tells alice
#   (read in her server-notices room once she is unlocked); a notify
#   command that fails is audited and the lock completes regardless.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"
. "$TOP/tests/e2e/e2e.sh"
. "$TOP/tests/homeserver/synapse.sh"

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
CLIENT=http://127.0.0.1:$CPORT/
PASSWORD="correct horse battery"
openssl rand -hex 32 > "$T/synapse.secret" && chmod 600 "$T/synapse.secret"
SECRET=$(cat "$T/synapse.secret")
printf '#!/bin/sh\nexit 1\n' > "$T/notify-fails.sh" && chmod 755 "$T/notify-fails.sh"

# gate_conf [EXTRA-LINES]: the agent as Synapse's provider, logging out
# through Synapse's back-channel endpoint; Synapse's admin logs in with
# a password (exempt), to use the admin API; so does alice while EXEMPT
# says so (a device from before the gate)
gate_conf() {
	write_conf << CONF
origins = http://localhost:$FPORT
[oidc]
issuer = http://localhost:$FPORT
[web]
user = nobody
$(synapse_gate_conf "$T/synapse.secret" "$CALLBACK")
backchannel_logout_uri = $SYNAPSE/_synapse/client/oidc/backchannel_logout
[homeserver]
exempt = ^@(${EXEMPT:-admin}):localhost\$
[rate_limit]
backoff_after = 10
lockout_after = 0
[notify]
command = $T/notify-fails.sh
$1
CONF
}
agent_restart() {
	agent_stop
	gate_conf "$1"
	agent_start
}

audit_mark() { ctl --json audit --limit 1 | jq '.[-1].id // 0'; }
audited() { # audited MARK EVENT-REGEX RESULT REASON-REGEX [DETAIL-REGEX]
	ctl --json audit --limit 200 | jq -e --argjson m "$1" --arg e "$2" \
		--arg r "$3" --arg why "$4" --arg d "${5:-}" \
		'any(.[]; .id > $m and (.event | test("^(" + $e + ")$")) and .result == $r and .user == "alice" and (.reason | test($why)) and ((.detail // "") | test($d)))' \
		> /dev/null
}
is_audited() { # is_audited NAME MARK EVENT RESULT REASON-REGEX [DETAIL-REGEX]
	local name=$1 m=$2
	shift 2
	audited "$m" "$@"
	ok $? "$name: audited ($1 $2, /$3/)" ||
		ctl --json audit --limit 200 | jq -r --argjson m "$m" \
			'.[] | select(.id > $m) | "#   \(.event) \(.user) \(.result) \(.reason) [\(.detail)]"'
}
hs_call() { # hs_call METHOD PATH [JSON] [TOKEN]: status, then body
	local out args=(-s --max-time 60 -w '\n%{http_code}' -X "$1")
	[ -n "${3:-}" ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
	[ -n "${4:-}" ] && args+=(-H "Authorization: Bearer $4")
	out=$(curl "${args[@]}" "$SYNAPSE$2")
	printf '%s\n%s\n' "${out##*$'\n'}" "${out%$'\n'*}"
}
status_of() { printf '%s\n' "${1%%$'\n'*}"; }
body_of() { printf '%s\n' "${1#*$'\n'}"; }
whoami() { # whoami TOKEN: "STATUS ERRCODE-or-USER"
	local out
	out=$(hs_call GET /_matrix/client/v3/account/whoami "" "$1")
	echo "$(status_of "$out") $(body_of "$out" | jq -r '.errcode // .user_id')"
}
# admin_login: a token for alice made by the admin API (the admin's,
# puppeting her), to read her rooms
admin_login() {
	body_of "$(hs_call POST /_synapse/admin/v1/users/@alice:localhost/login '{}' "$ADMIN")" |
		jq -r '.access_token // ""'
}

sso_send() { printf '%s\n' "$1" >&"${SSO[1]}"; }
sso_read() {
	if ! IFS= read -r -t 240 R <&"${SSO[0]}"; then
		R='{"outcome":"driver_error","error":"no answer from the driver"}'
		diag_file "$T/driver.log"
	fi
}
browse() {
	sso_send "$(jq -c ". + $1" <<< "$BASE")"
	sso_read
}
sso_login() { # an SSO login of alice's through fido2gate: the access token
	local out
	browse '{}'
	[ "$(jv "$R" .outcome)" = client ] || return 1
	out=$(hs_call POST /_matrix/client/v3/login \
		"$(jq -nc --arg t "$(jv "$R" '.login_token // ""')" '{type: "m.login.token", token: $t}')")
	body_of "$out" | jq -r '.access_token // ""'
}

EXEMPT="admin|alice" agent_restart || exit 1
front_start "$FPORT" || exit 1
SYNAPSE_CLIENT_URL=$CLIENT SYNAPSE_OIDC_EXTRA_JSON='{"backchannel_logout_enabled": true}' \
	SYNAPSE_EXTRA_JSON='{"server_notices": {"system_mxid_localpart": "notices"}}' \
	synapse_start "$T/hs" "$SPORT" "$FRONT" synapse "$SECRET" "$SOCK" 2> "$T/synapse-start.err"
if ! ok $? "a real Synapse starts with fido2gate as its provider, back-channel logout enabled"; then
	diag_file "$T/synapse-start.err" 40
	done_testing
	exit
fi
like "$(curl -s "$FRONT/.well-known/openid-configuration")" \
	'"backchannel_logout_session_supported": ?true' "discovery advertises back-channel logout with sid"

webkey alice --uv
ok $? "alice's key is enrolled" || diag_file "$T/webkey.log"
synapse_register alice "$PASSWORD" > "$T/register.out" 2>&1 &&
	synapse_register admin "$PASSWORD" --admin >> "$T/register.out" 2>&1
ok $? "alice and an admin are Synapse users" || diag_file "$T/register.out"
ADMIN=$(body_of "$(synapse_password_login admin "$PASSWORD")" | jq -r '.access_token // ""')
like "$ADMIN" '^syt_' "the admin logs in with a password (exempt from the key)"
printf '%s\n' "$ADMIN" > "$T/admin.token" && chmod 600 "$T/admin.token"

coproc SSO { exec node "$E2E/synapse_sso.mjs" --client-port "$CPORT" 2>> "$T/driver.log"; }
SSO_PID=$!
sso_read
is "$(jv "$R" .ready)" true "Chromium is up" || diag_file "$T/driver.log"
SSO_START="$SYNAPSE/_matrix/client/v3/login/sso/redirect/oidc-fido2gate?redirectUrl=$(jq -rn --arg u "${CLIENT}home" '$u | @uri')"
BASE=$(jq -nc --arg s "$SSO_START" --arg f "$FRONT" --arg y "$SYNAPSE" --arg c "$CLIENT" \
	--arg k "$T/key-alice.json" \
	'{start: $s, front: $f, synapse: $y, client: $c, user: "alice", keys: [$k]}')

# --- back-channel logout alone ---------------------------------------------
OTHER_TOKEN=$(body_of "$(synapse_password_login alice "$PASSWORD")" | jq -r '.access_token // ""')
is "$(whoami "$OTHER_TOKEN")" "200 @alice:localhost" \
	"a device of alice's from before the gate (a password login, exempt then) works"
agent_restart || exit 1
SSO_TOKEN=$(sso_login)
is "$(whoami "$SSO_TOKEN")" "200 @alice:localhost" "alice logs in through fido2gate: her SSO device works"

m=$(audit_mark)
start=$(date +%s)
ctl lock alice --reason "phished (incident 7)" > "$T/lock.out" 2> "$T/lock.err"
is $? 0 "fido2gatectl lock: every cut succeeded" || diag_file "$T/lock.err"
sed 's/^/#   /' "$T/lock.out"
ok "$([ $(($(date +%s) - start)) -le 10 ] && echo 0 || echo 1)" "within 10 s"
like "$(cat "$T/lock.out")" "session [A-Za-z0-9_-]+ of client synapse: logged out \(back-channel\)" \
	"it reports the SSO session logged out through the back-channel"
is "$(whoami "$SSO_TOKEN")" "401 M_UNKNOWN_TOKEN" "the SSO device's access token is refused"
is "$(whoami "$OTHER_TOKEN")" "200 @alice:localhost" \
	"the other device still works: the back-channel ended only fido2gate's session"
is_audited "the lock" "$m" lock ok "phished \(incident 7\)"
is_audited "the back-channel logout" "$m" lock.logout ok "session .* logged out" "back-channel synapse"
wait_for 10 audited "$m" notify error "failed: exit 1" "lock command"
is_audited "the failing notify command" "$m" notify error "failed: exit 1" "lock command"

# a new login: refused on fido2gate's page, Synapse never sees a code
m=$(audit_mark)
browse '{}'
is "$(jv "$R" .outcome)" error "a new SSO login of alice's is refused on the login page" ||
	diag "$(jv "$R" '.url, .text' | head -c 600)"
is "$(jv "$R" '.callbacks | length')" 0 "no code reached Synapse's callback"
is_audited "the refused login" "$m" web.begin deny "locked by an administrator"
out=$(synapse_password_login alice "$PASSWORD")
is "$(status_of "$out")" 403 "her password alone: 403 as ever"
is_audited "the refused password login" "$m" login.check deny "locked out"

ctl unlock alice > /dev/null
ok $? "unlock alice"

# --- with the homeserver's admin API: every device ---------------------------
agent_restart "[homeserver]
admin_url = $SYNAPSE
admin_token_file = $T/admin.token
[notify]
matrix = yes" || exit 1
SSO_TOKEN=$(sso_login)
is "$(whoami "$SSO_TOKEN")" "200 @alice:localhost" "unlocked, alice logs in through fido2gate again"
m=$(audit_mark)
ctl lock alice --reason "still phished" > "$T/lock.out" 2> "$T/lock.err"
is $? 0 "fido2gatectl lock with the admin API" || diag_file "$T/lock.err"
sed 's/^/#   /' "$T/lock.out"
like "$(cat "$T/lock.out")" "homeserver devices of @alice:localhost: [1-9][0-9]* logged out" \
	"it reports the devices the admin API logged out"
is "$(whoami "$SSO_TOKEN")" "401 M_UNKNOWN_TOKEN" "the SSO device's token is refused"
is "$(whoami "$OTHER_TOKEN")" "401 M_UNKNOWN_TOKEN" "and now the other device's too"
is_audited "the devices' logout" "$m" lock.logout ok "devices logged out" "admin API @alice:localhost"
wait_for 20 audited "$m" notify ok "sent" "lock matrix"
is_audited "the server notice" "$m" notify ok "sent" "lock matrix"

# the notice, as alice reads it once she is back
ctl unlock alice > /dev/null
TOKEN=$(admin_login)
room=$(body_of "$(hs_call GET '/_matrix/client/v3/sync?timeout=0' "" "$TOKEN")" |
	jq -r '(.rooms.invite // {}) + (.rooms.join // {}) | keys | first // ""')
like "$room" '^!' "alice has the server-notices room"
hs_call POST "/_matrix/client/v3/rooms/$room/join" '{}' "$TOKEN" > /dev/null
msgs=$(body_of "$(hs_call GET "/_matrix/client/v3/rooms/$room/messages?dir=b&limit=20" "" "$TOKEN")")
like "$(jq -r '[.chunk[].content.body // empty] | join("\n")' <<< "$msgs")" \
	"locked by an administrator.*still phished" "the notice tells her of the lock and why"

done_testing
