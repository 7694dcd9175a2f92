#!/bin/bash
# An incident's lock without a homeserver (63-lock-synapse.t has the real
# Synapse): fido2gatectl lock USER --reason TEXT refuses at once every new
# login of the user on every path (PAM, the browser's, the homeserver's
# login.check), revokes the approvals no login consumed, needs a reason
# and an admin, and reports each back-channel logout it tried: an
# endpoint that is down, or one that never answers, is reported failed
# within the lock's bound, and audited. unlock clears it. Every lock,
# unlock and lockout runs the notify command (EVENT USER DETAIL); one that
# fails or hangs is audited and holds nothing up.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"
. "$TOP/tests/lib/util.sh"

if [ "$(id -u)" != 0 ] || ! command -v setpriv > /dev/null; then
	echo "1..0 # SKIP needs root and setpriv to act as another user"
	exit 0
fi
chmod 755 "$T"
read -r DOWN HANG <<< "$(/usr/bin/python3 -c '
import socket
held = [socket.socket() for _ in range(2)]
for s in held: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in held))')"
openssl rand -hex 32 > "$T/secret" && chmod 600 "$T/secret"
# a back-channel endpoint that takes the connection and never answers
/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
held = []
while True:
    c, _ = s.accept(); held.append(c)
' "$HANG" &
HANG_PID=$!
trap 'kill $HANG_PID 2> /dev/null; gate_cleanup' EXIT

# the notify command: records its arguments, then does what $T/mode says
cat > "$T/notify.sh" << EOF
#!/bin/sh
printf '%s|%s|%s\n' "\$1" "\$2" "\$3" >> $T/notified
case "\$(cat $T/mode 2> /dev/null)" in
fail) exit 1 ;;
hang) exec sleep 100 ;;
esac
exit 0
EOF
chmod 755 "$T/notify.sh"

write_conf << CONF
[relying_party]
origins = https://matrix.$RP
[oidc]
issuer = https://matrix.$RP/_fido2gate
[web]
user = root
[homeserver]
user = root
server_name = $RP
[client.synapse]
secret_file = $T/secret
redirect_uri = https://matrix.$RP/_synapse/client/oidc/callback
backchannel_logout_uri = http://127.0.0.1:$DOWN/_synapse/client/oidc/backchannel_logout
[client.slow]
secret_file = $T/secret
redirect_uri = https://slow.$RP/callback
backchannel_logout_uri = http://127.0.0.1:$HANG/logout
[notify]
command = $T/notify.sh
timeout = 2
[rate_limit]
backoff_after = 3
lockout_after = 3
CONF
agent_start || exit 1
enrol alice > /dev/null 2>&1
ok $? "enrol alice"
pam_auth alice < /dev/null
ok $? "alice's key gets her in (PAM)"
wait_for 10 grep -q '^enroll|alice|' "$T/notified"
ok $? "the enrolment ran the notify command: enroll alice LABEL"
is_audited() { # is_audited NAME REGEX
	audit_has "$2"
	ok $? "$1" || ctl audit --limit 12 | sed 's/^/#   /'
}
wait_for 10 audit_has "notify +alice +ok .*sent"
is_audited "and the notification is audited as sent" "notify +alice +ok .*sent"

# two earlier homeserver logins of alice's, one to each client, one of
# them not yet consumed (written into the store as the gate would)
agent_stop
now=$(date +%s)
store_sql "INSERT INTO approvals (\"user\", sid, client, created, consumed) VALUES
	('alice', 'sid-synapse', 'synapse', $now, $now),
	('alice', 'sid-slow', 'slow', $now, NULL);"
agent_start || exit 1

# --- who may lock, and with what ---
ctl lock alice > /dev/null 2>&1
is $? 2 "a lock without --reason is a usage error"
got=$(printf '%s\n' '{"v":1,"op":"user.lock","user":"alice"}' | "$BUILD/test/fg-client" "$SOCK" raw)
like "$got" '"error":"bad_request"' "the agent refuses a lock without a reason"
got=$(printf '%s\n' '{"v":1,"op":"user.lock","user":"alice","reason":"a\nb"}' | "$BUILD/test/fg-client" "$SOCK" raw)
like "$got" '"error":"bad_request"' "and a reason that is not printable text"
setpriv --reuid=nobody --regid=nogroup --clear-groups \
	"$BUILD/fido2gatectl" --socket "$SOCK" lock alice --reason test > /dev/null 2>&1
is $? 4 "a plain user may not lock anyone"
pam_auth alice < /dev/null
ok $? "none of those locked alice"

# --- the lock ---
start=$(date +%s%N)
ctl lock alice --reason "phished: incident 42" > "$T/lock.out" 2> "$T/lock.err"
rc=$?
ms=$((($(date +%s%N) - start) / 1000000))
is $rc 1 "the lock exits 1: it holds, but logouts failed" || diag_file "$T/lock.err"
cat "$T/lock.out" | sed 's/^/#   /'
like "$(cat "$T/lock.out")" "locked alice" "it says alice is locked"
like "$(cat "$T/lock.out")" "revoked: 1 unused approvals" "the unconsumed approval is revoked"
like "$(cat "$T/lock.out")" "session sid-synapse of client synapse: FAILED \(.*(refused|connect)" \
	"a back-channel endpoint that is down: failed, and why"
like "$(cat "$T/lock.out")" "session sid-slow of client slow: FAILED \(.*(Timeout|timed out)" \
	"one that never answers: failed at its time bound"
ok "$([ "$ms" -lt 11000 ] && echo 0 || echo 1)" "the lock answered within its bound (${ms} ms)"
is_audited "the lock is audited with its reason" "lock +alice +ok .*phished: incident 42"
is_audited "each failed logout is audited" "lock.logout +alice +error .*session sid-slow not logged out"
is_audited "the other one too" "lock.logout +alice +error .*session sid-synapse not logged out"
is "$(store_sql "SELECT count(*) FROM approvals WHERE \"user\" = 'alice' AND revoked IS NULL AND consumed IS NULL")" 0 \
	"the store holds no approval a login could consume"

# --- every path refuses ---
pam_auth alice < /dev/null
ok $((! $?)) "alice's key no longer gets her in (PAM)"
is_audited "refused as locked by an administrator" "auth.begin +alice +deny .*locked by an administrator"
CALL="/usr/bin/python3 $TOP/tests/tools/fg_call.py $SOCK"
got=$($CALL << EOF
{"op":"oidc.authorize","params":{"client_id":"synapse","redirect_uri":"https://matrix.$RP/_synapse/client/oidc/callback","response_type":"code","scope":"openid","state":"s","code_challenge":"$(printf 'x%.0s' $(seq 43))","code_challenge_method":"S256"},"save":{"TX":"tx"}}
{"op":"web.begin","tx":"\$TX","user":"@alice:$RP"}
{"op":"login.check","user_id":"@alice:$RP","auth_provider_id":"oidc-fido2gate"}
EOF
)
like "$(sed -n 2p <<< "$got")" '"error": "locked"' "the browser's login is refused (web.begin)"
like "$(sed -n 3p <<< "$got")" '"result": "deny"' "the homeserver's login check is refused"
is_audited "login.check says why" "login.check +alice +deny .*locked out"
like "$(ctl status)" "users_locked +1" "status counts the locked user"
like "$(ctl list alice)" "alice is locked since .* by root: phished: incident 42" \
	"list shows the lock, who and why"
wait_for 10 grep -q '^lock|alice|phished: incident 42$' "$T/notified"
ok $? "the lock ran the notify command: lock alice REASON"

# --- unlock ---
ctl unlock alice > "$T/unlock.out"
like "$(cat "$T/unlock.out")" "unlocked alice \(locked by an administrator: phished" "unlock clears the lock"
pam_auth alice < /dev/null
ok $? "alice's key gets her in again"
is_audited "the unlock is audited" "unlock +alice +ok .*administrator's lock cleared"
wait_for 10 grep -q '^unlock|alice|' "$T/notified"
ok $? "the unlock ran the notify command"

# --- a notify command that fails, or hangs, holds nothing up ---
echo fail > "$T/mode"
ctl lock bob --reason "test fail" > /dev/null
ok $? "a lock with nothing to log out exits 0 (bob)"
wait_for 10 audit_has "notify +bob +error .*failed: exit 1"
ok $? "a notify command that exits 1 is audited as failed"
echo hang > "$T/mode"
start=$(date +%s%N)
ctl unlock bob > /dev/null
ms=$((($(date +%s%N) - start) / 1000000))
ok "$([ "$ms" -lt 2000 ] && echo 0 || echo 1)" "with a hanging notify command the unlock answers at once (${ms} ms)"
like "$(ctl status)" "version" "and the agent answers meanwhile"
wait_for 10 audit_has "notify +bob +error .*killed"
ok $? "the hanging command is killed after its timeout, and audited"

# --- a lockout after failures is notified too ---
rm -f "$T/mode"
HOSTILE="/usr/bin/python3 $TOP/tests/tools/hostile.py $SOCK"
$HOSTILE fail carol 3 > /dev/null
wait_for 10 grep -q '^lockout|carol|3 failed attempts$' "$T/notified"
ok $? "a lockout after failures runs the notify command: lockout carol"

# --- a revocation is notified ---
cred=$(ctl --json list alice | jq -r '.[0].credential_id')
ctl revoke alice "$cred" > /dev/null
wait_for 10 grep -q '^revoke|alice|' "$T/notified"
ok $? "a revocation runs the notify command: revoke alice LABEL"

# --- --json, and settings the agent refuses ---
got=$(ctl --json lock dave --reason "json report")
is "$(jq -c '[.user, .reason, .approvals_revoked, (.cuts | length)]' <<< "$got")" \
	'["dave","json report",0,0]' "lock --json: the report as JSON"
ctl unlock dave > /dev/null
printf 'syt_secret\n' > "$T/admin.token"
chmod 644 "$T/admin.token"
printf '[homeserver]\nserver_name = %s\nadmin_url = http://127.0.0.1:1\nadmin_token_file = %s\n' \
	"$RP" "$T/admin.token" > "$T/bad.conf"
"$BUILD/fido2gated" --check-config --config "$T/bad.conf" > /dev/null 2> "$T/err"
ok $((! $?)) "an admin token file others can read is refused"
like "$(cat "$T/err")" "mode 0600" "with why"
chmod 600 "$T/admin.token"
"$BUILD/fido2gated" --check-config --config "$T/bad.conf" > "$T/out" 2> "$T/err"
ok $? "a 0600 one is taken" || diag_file "$T/err"
unlike "$(cat "$T/out")" "syt_secret" "and --check-config never shows the token"
printf '[homeserver]\nserver_name = %s\nadmin_url = http://127.0.0.1:1\n' "$RP" > "$T/bad.conf"
"$BUILD/fido2gated" --check-config --config "$T/bad.conf" > /dev/null 2>&1
ok $((! $?)) "admin_url without admin_token_file is refused"
printf '[notify]\nmatrix = yes\n' > "$T/bad.conf"
"$BUILD/fido2gated" --check-config --config "$T/bad.conf" > /dev/null 2>&1
ok $((! $?)) "notify matrix without the admin API is refused"

done_testing
