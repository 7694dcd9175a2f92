#!/bin/bash
# Two agents on one PostgreSQL store, each behind its own web front (as
# 69-pg-two-fronts.t's logins): an invitation's page opened and begun at
# one front is finished at the other, since the page's transaction and its
# key's challenge are in the store. The first factor is a password through
# pam_wrapper's pam_matrix (as in 65-invite.t); the browser's
# navigator.credentials.create() is fg-webkey --create.
#
# Proves: begun at front 1 (agent 1), finished at front 2 (agent 2): the
# key is enrolled, pending, with its request; the same finish again is
# refused at either front, and enrols nothing; the other way round too;
# and one finish sent to both fronts at once enrols the key once.
. "$(dirname "$0")/../../lib/tap.sh"
. "$TOP/tests/lib/pg.sh"
if why=$(pg_missing); then
	echo "1..0 # SKIP $why"
	exit 0
fi
. "$TOP/tests/lib/gate.sh"
. "$TOP/tests/lib/fronts.sh"
MATRIX=$(dirname "$PAM_WRAPPER_SO")/pam_wrapper/pam_matrix.so
if [ ! -f "$MATRIX" ]; then
	echo "1..0 # SKIP pam_wrapper's pam_matrix.so is missing"
	exit 0
fi

ROUNDS=${ROUNDS:-10}
SOCK2="$T/agent2.sock"
AGENT2_PID=
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2> /dev/null; wait "$p" 2> /dev/null; done
	agent_stop; [ -z "$AGENT2_PID" ] || { kill "$AGENT2_PID"; wait "$AGENT2_PID"; }
	pg_cleanup; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

mkdir -p "$T/agent-pam.d"
printf 'alice:alice horse:fido2gate-web\n' > "$T/passdb"
printf 'auth required %s passdb=%s\naccount required pam_permit.so\n' \
	"$MATRIX" "$T/passdb" > "$T/agent-pam.d/fido2gate-web"
PAM_ENV=(env "LD_PRELOAD=$PRE$PAM_WRAPPER_SO" PAM_WRAPPER=1 "PAM_WRAPPER_SERVICE_DIR=$T/agent-pam.d")

# page URL: a new invitation for alice, its page opened at the front at
# URL and begun there (her password passed); the page's tx in $TX, the
# key's options in $T/begin.json
page() {
	local link
	link=$(printf '1357\n' | SOFTKEY_STATE="$T/admin-ann" sk "$BUILD/fido2gatectl" \
		--socket "$SOCK" --as ann --json invite alice 2> "$T/invite.err" | jq -r .link)
	req "$1/enrol/${link##*/}"
	TX=$(sed -n 's/.*&quot;tx&quot;:&quot;\([A-Za-z0-9_-]*\)&quot;.*/\1/p' "$T/body")
	jpost "$1" invite/begin "{\"tx\":\"$TX\",\"password\":\"alice horse\"}"
	cp "$T/body" "$T/begin.json"
}
# made ORIGIN: the new key for the challenge in $T/begin.json, as a
# browser at ORIGIN (where the page was loaded) makes it: the body of
# /invite/finish in $T/finish.json
made() {
	"$BUILD/test/fg-webkey" --create "$T/begin.json" "$1" |
		jq -c --arg tx "$TX" '. + {tx: $tx} | del(.credential_id)' > "$T/finish.json"
}
keys() { ctl --json show alice | jq -r '[.credentials[].state] | join(",")'; }

pg_start
ok $? "a PostgreSQL cluster on a Unix socket" || exit 1
pg_createdb fg
DB="postgresql:$(pg_conninfo fg)"
front 1 "$SOCK" && front 2 "$SOCK2"
ok $? "two web fronts, one for each agent" || exit 1
openssl rand -hex 32 > "$T/secret"
chmod 600 "$T/secret"
write_conf << CONF
origins = $URL1 $URL2
[oidc]
issuer = $URL1
[web]
user = $(id -un)
first_factor = pam:fido2gate-web
[client.app]
secret_file = $T/secret
redirect_uri = http://127.0.0.1:9/cb
[rate_limit]
backoff_after = 8
lockout_after = 0
[admin]
bootstrap = open
CONF
AGENT_WRAPPER="${PAM_ENV[*]}"
agent_start || exit 1
agent2_start "${PAM_ENV[@]}"
ok $? "two agents on one PostgreSQL database" || exit 1
echo 1357 | SOFTKEY_PIN=1357 SOFTKEY_STATE="$T/admin-ann" sk "$BUILD/fido2gatectl" \
	--socket "$SOCK" enroll ann --label ann-admin > /dev/null 2>&1 &&
	ctl admin add ann > /dev/null 2>&1
ok $? "ann is enrolled and registered as the admin"

# --- begun at front 1, finished at front 2 ---
page "$URL1"
like "$CODE $(jq -r .challenge "$T/begin.json")" '^200 [A-Za-z0-9_-]{43}$' \
	"front 1: the invitation's page is begun, the new key's options given" ||
	diag "$(cat "$T/body")"
made "$URL1"
jpost "$URL2" invite/finish "$(cat "$T/finish.json")"
is "$CODE" 200 "front 2 finishes the invitation front 1 began" || diag "$(cat "$T/body")"
is "$(keys)" pending "alice holds the new key, pending"
is "$(ctl --socket "$SOCK2" --json show alice | jq -r '.requests[0].action')" invite \
	"with the request an admin confirms it with"
jpost "$URL2" invite/finish "$(cat "$T/finish.json")"
is "$CODE" 403 "the same finish again at front 2: refused"
jpost "$URL1" invite/finish "$(cat "$T/finish.json")"
is "$CODE" 403 "and at front 1: refused"
is "$(keys)" pending "neither enrolled anything more"

# --- the other way round ---
page "$URL2"
made "$URL2"
jpost "$URL1" invite/finish "$(cat "$T/finish.json")"
is "$CODE" 200 "an invitation begun at front 2 is finished at front 1" || diag "$(cat "$T/body")"
is "$(keys)" pending,pending "alice holds two keys, pending"
jpost "$URL2" invite/finish "$(cat "$T/finish.json")"
is "$CODE" 403 "the same finish again at front 2: refused"

# --- one finish at both fronts at once ---
once=0 bad=0
for i in $(seq "$ROUNDS"); do
	page "$URL1"
	made "$URL1"
	before=$(ctl --json show alice | jq '.credentials | length')
	jpost "$URL1" invite/finish "$(cat "$T/finish.json")" > /dev/null & p1=$!
	c2=$(curl -s -o /dev/null -w '%{http_code}' --max-time 30 -H 'Content-Type: application/json' \
		-H "Origin: $URL1" --data-binary "@$T/finish.json" "$URL2/invite/finish")
	wait "$p1"
	after=$(ctl --json show alice | jq '.credentials | length')
	if [ "$((after - before))" = 1 ]; then
		once=$((once + 1))
	else
		bad=$((bad + 1))
		diag "round $i: $before -> $after keys, front 2 said $c2"
	fi
done
is "$once $bad" "$ROUNDS 0" \
	"one finish at both fronts at once, $ROUNDS times: one key each time"

agent_alive && kill -0 "$AGENT2_PID"
ok $? "both agents are still up"

done_testing
