#!/bin/bash
# The browser login's password first factor ([web] first_factor =
# pam:SERVICE): the agent checks the password through the PAM service in a
# child process, and only a right one leads on to the key's challenge. A
# wrong one is refused, audited and counted with the user's other
# failures; a slow PAM stack does not hold up anyone else's login. PAM is
# pam_wrapper's (pam_matrix checks passwords from a file), preloaded into
# the agent as the soft key is into libfido2 programs.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"

MATRIX=$(dirname "$PAM_WRAPPER_SO")/pam_wrapper/pam_matrix.so
if [ ! -f "$MATRIX" ]; then
	echo "1..0 # SKIP pam_wrapper's pam_matrix.so is missing"
	exit 0
fi
mkdir -p "$T/agent-pam.d"
echo "alice:right horse:fido2gate-web" > "$T/passdb"
printf 'auth required %s passdb=%s\naccount required pam_permit.so\n' \
	"$MATRIX" "$T/passdb" > "$T/agent-pam.d/fido2gate-web"
# a PAM stack that takes its time (a slow directory, say): pam_exec
# waits until the test lets it go, then pam_matrix checks the password
printf '#!/bin/sh\nfor i in $(seq 300); do [ -e %s ] && exit 0; sleep 0.1; done\nexit 1\n' \
	"$T/release" > "$T/slow.sh"
chmod 755 "$T/slow.sh"
printf 'auth requisite pam_exec.so %s\nauth required %s passdb=%s\naccount required pam_permit.so\n' \
	"$T/slow.sh" "$MATRIX" "$T/passdb" > "$T/agent-pam.d/fido2gate-slow"
openssl rand -hex 32 > "$T/secret"
chmod 600 "$T/secret"

gate_conf() { # gate_conf SERVICE
	write_conf << CONF
[relying_party]
origins = https://matrix.$RP
[oidc]
issuer = https://matrix.$RP/_fido2gate
[web]
user = root
first_factor = pam:$1
[homeserver]
user = root
server_name = $RP
[client.synapse]
secret_file = $T/secret
redirect_uri = https://matrix.$RP/_synapse/client/oidc/callback
[rate_limit]
backoff_after = 5
lockout_after = 10
CONF
}
gate_conf fido2gate-web
# a client secret that form-encoding would change is refused at start
cp "$T/secret" "$T/good.secret"
printf 'fg+e2e/abcdefghijklmnop=\n' > "$T/secret"
"$BUILD/fido2gated" --check-config --config "$CONF" 2> "$T/err"
ok $((! $?)) "a client secret holding '+', '/' or '=' is refused"
like "$(cat "$T/err")" "openssl rand -hex 32" "with how to make one"
mv "$T/good.secret" "$T/secret"
AGENT_WRAPPER="env LD_PRELOAD=$PRE$PAM_WRAPPER_SO PAM_WRAPPER=1 PAM_WRAPPER_SERVICE_DIR=$T/agent-pam.d"
agent_start
enrol alice > /dev/null 2>&1
ok $? "enrol alice"

CALL="/usr/bin/python3 $TOP/tests/tools/fg_call.py $SOCK"
authorize='{"op":"oidc.authorize","params":{"client_id":"synapse","redirect_uri":"https://matrix.'$RP'/_synapse/client/oidc/callback","response_type":"code","scope":"openid","state":"s"},"save":{"TX":"tx"}}'

got=$($CALL << EOF
$authorize
{"op":"web.begin","tx":"\$TX","user":"@alice:$RP","password":"right horse"}
EOF
)
like "$(sed -n 1p <<< "$got")" '"first_factor": "password"' "the page is told to ask for the password"
like "$(sed -n 2p <<< "$got")" '"allow_credentials": \["' "the right password leads on to the key's challenge"

got=$($CALL << EOF
$authorize
{"op":"web.begin","tx":"\$TX","user":"@alice:$RP","password":"wrong horse"}
{"op":"web.begin","tx":"\$TX","user":"alice"}
EOF
)
like "$(sed -n 2p <<< "$got")" '"error": "refused".*"why": "wrong_password"' "a wrong password is refused"
like "$(sed -n 3p <<< "$got")" '"error": "bad_request"' "no password at all is refused"
like "$(ctl audit --limit 10)" "web.begin +alice +deny .*password refused by PAM" "the refusal is audited"
got=$($CALL << EOF
$authorize
{"op":"web.begin","tx":"\$TX","user":"@ghost:$RP","password":"right horse"}
EOF
)
like "$(sed -n 2p <<< "$got")" '"why": "wrong_password"' "an unknown user gets the same refusal"

# wrong passwords count with the user's other failures: backoff follows
for _ in 1 2 3 4; do
	$CALL > /dev/null << EOF
$authorize
{"op":"web.begin","tx":"\$TX","user":"alice","password":"wrong"}
EOF
done
got=$($CALL << EOF
$authorize
{"op":"web.begin","tx":"\$TX","user":"alice","password":"right horse"}
EOF
)
like "$(sed -n 2p <<< "$got")" '"error": "rate_limited"' "after five wrong passwords even the right one waits (backoff shared with PAM logins)"
pam_auth alice < /dev/null
ok $((! $?)) "and so does alice's PAM login"
ctl unlock alice > /dev/null

# a slow PAM stack holds up only its own request
gate_conf fido2gate-slow
agent_stop
agent_start
$CALL > "$T/slow.out" << EOF &
$authorize
{"op":"web.begin","tx":"\$TX","user":"alice","password":"whatever"}
EOF
slow=$!
for _ in $(seq 100); do
	ps --ppid "$AGENT_PID" -o pid= | grep -q . && break
	sleep 0.05
done
pam_auth alice < /dev/null
ok $? "a PAM login succeeds while a password check is stuck in PAM"
test -s "$T/slow.out" && [ "$(wc -l < "$T/slow.out")" -lt 2 ]
ok $? "and the stuck check is still waiting"
touch "$T/release"
wait "$slow"
like "$(sed -n 2p "$T/slow.out")" '"why": "wrong_password"' "the slow check's refusal still arrives"
agent_alive
ok $? "the agent is up"
sleep 0.2
ok $(ps --ppid "$AGENT_PID" -o pid= | wc -l) "no child process is left behind"

done_testing
