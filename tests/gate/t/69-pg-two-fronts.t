#!/bin/bash
# Two agents on one PostgreSQL store, each behind its own web front (as
# on two hosts behind one load balancer): a browser's login begun at one
# front is finished at the other and its code redeemed at either, since
# the transaction, its challenge, the code and the access token are in the
# store (docs/oidc.md). And the store decides the races: one code
# presented at both token endpoints at the same instant gives tokens once;
# one approval asked for by both agents' login.check at the same instant
# lets one homeserver login in. Each race is run many times. The key's
# assertions come from the soft key through fido2-assert
# (tests/web/webauthn.py), as in 40-web-front.t.
. "$(dirname "$0")/../../lib/tap.sh"
. "$TOP/tests/lib/pg.sh"
if why=$(pg_missing); then
	echo "1..0 # SKIP $why"
	exit 0
fi
. "$TOP/tests/lib/gate.sh"
. "$TOP/tests/lib/fronts.sh"

PY=/usr/bin/python3
WEB="$TOP/tests/web"
RACE="$TOP/tests/tools/fg_race.py"
CB=https://matrix.test/_synapse/client/oidc/callback
CB_Q=https%3A%2F%2Fmatrix.test%2F_synapse%2Fclient%2Foidc%2Fcallback
SECRET='a-client-secret-of-33-bytes-long'
VERIFIER=dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk
CHALLENGE=$(printf %s "$VERIFIER" | openssl dgst -sha256 -binary |
	base64 | tr '+/' '-_' | tr -d '=')
ROUNDS=${ROUNDS:-20}
export SOFTKEY_PIN=2468
SOCK2="$T/agent2.sock"
AGENT2_PID=
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2> /dev/null; wait "$p" 2> /dev/null; done
	agent_stop; [ -z "$AGENT2_PID" ] || { kill "$AGENT2_PID"; wait "$AGENT2_PID"; }
	pg_cleanup; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

# authorize URL: the login page of a good code-flow request; sets TX
authorize() {
	req "$1/authorize?client_id=synapse&redirect_uri=$CB_Q&response_type=code&scope=openid&state=st-1&nonce=n-1&code_challenge=$CHALLENGE&code_challenge_method=S256"
	TX=$(sed -n 's/.*&quot;tx&quot;:&quot;\([A-Za-z0-9_-]*\)&quot;.*/\1/p' "$T/body")
}
# begin URL: the key's challenge for alice, in $T/begin.json
begin() {
	jpost "$1" login/begin "{\"tx\":\"$TX\",\"user\":\"alice\"}"
	cp "$T/body" "$T/begin.json"
}
# finish URL ORIGIN: the soft key signs the challenge for ORIGIN (the
# front the page was loaded from), posted to the front at URL; sets
# AUTH_CODE from the redirect
finish() {
	AUTH_CODE=
	$PY "$WEB/webauthn.py" request "$T/begin.json" "$2" "$T/cdj" > "$T/assert.in" &&
		echo "$SOFTKEY_PIN" | sk setsid fido2-assert -G -v -i "$T/assert.in" \
			softkey:0 > "$T/assert.out" 2> "$T/assert.err" &&
		$PY "$WEB/webauthn.py" finish "$T/begin.json" "$TX" "$T/cdj" \
			"$T/assert.out" > "$T/finish.json" || return 1
	jpost "$1" login/finish "$(cat "$T/finish.json")"
	AUTH_CODE=$(json 'j["redirect"]' | sed -n 's/.*[?&]code=\([^&]*\).*/\1/p')
}
token_form() {
	echo "grant_type=authorization_code&code=$1&redirect_uri=$CB_Q&code_verifier=$VERIFIER"
}

pg_start
ok $? "a PostgreSQL cluster on a Unix socket" || exit 1
pg_createdb fg
DB="postgresql:$(pg_conninfo fg)"

front 1 "$SOCK" && front 2 "$SOCK2"
ok $? "two web fronts, one for each agent" || exit 1
printf '%s' "$SECRET" > "$T/secret"
chmod 600 "$T/secret"
write_conf << CONF
origins = $URL1 $URL2
[oidc]
issuer = $URL1
[web]
user = $(id -un)
[homeserver]
user = $(id -un)
server_name = $RP
[client.synapse]
secret_file = $T/secret
redirect_uris = $CB
CONF
agent_start || exit 1
agent2_start
ok $? "two agents on one PostgreSQL database" || exit 1
echo "$SOFTKEY_PIN" | sk "$BUILD/fido2gatectl" --socket "$SOCK" enroll alice > "$T/out" 2>&1
ok $? "alice enrols the soft key" || diag_file "$T/out"

# --- (a) a login whose steps land on both fronts ---
authorize "$URL1"
[ "$CODE" = 200 ] && [ -n "$TX" ]
ok $? "front 1: the login page, with its transaction"
begin "$URL1"
is "$CODE" 200 "front 1: the key's challenge"
cp "$T/begin.json" "$T/begin1.json"
finish "$URL2" "$URL1"
is "$CODE" 200 "front 2 finishes the login front 1 began" || diag "$(cat "$T/body")"
[ -n "$AUTH_CODE" ]
ok $? "and sends the browser back to the client with a code"
pg_sql fg "SELECT encode(code_hash, 'hex') FROM oidc_codes" > "$T/hashes"
code_hash=$(printf %s "$AUTH_CODE" | $PY -c 'import base64,hashlib,sys; s=sys.stdin.read(); print(hashlib.sha256(base64.urlsafe_b64decode(s+"="*(-len(s)%4))).hexdigest())')
grep -qx "$code_hash" "$T/hashes" && ! grep -q "$AUTH_CODE" "$T/hashes"
ok $? "the store keeps the code's SHA-256, not the code"
jpost "$URL1" login/finish "$(cat "$T/finish.json")"
[ "$CODE" != 200 ]
ok $? "the same answer again, at front 1: refused (the login is over)"
req "$URL1/token" -u "synapse:$SECRET" -d "$(token_form "$AUTH_CODE")"
is "$CODE" 200 "front 1 redeems the code front 2 minted" || diag "$(cat "$T/body")"
AT=$(json 'j["access_token"]')
req "$URL2/userinfo" -H "Authorization: Bearer $AT"
is "$CODE $(json 'j["preferred_username"]')" "200 alice" \
	"front 2 knows the access token front 1 gave"
req "$URL2/token" -u "synapse:$SECRET" -d "$(token_form "$AUTH_CODE")"
is "$CODE $(json 'j["error"]')" "400 invalid_grant" "the code again, at front 2: invalid_grant"
req "$URL1/userinfo" -H "Authorization: Bearer $AT"
is "$CODE" 401 "and the token it gave is revoked, at front 1 too"

# the other way round: begun at front 2, the challenge asked for at
# front 1, finished at front 2, the code redeemed at front 2
authorize "$URL2"
begin "$URL1"
finish "$URL2" "$URL2"
req "$URL2/token" -u "synapse:$SECRET" -d "$(token_form "$AUTH_CODE")"
is "$CODE" 200 "a login begun at front 2, its challenge from front 1, finished and redeemed at front 2"

# --- one answer to a challenge at both fronts at once ---
once=0 bad=0
for i in $(seq "$ROUNDS"); do
	authorize "$URL1"
	begin "$URL1"
	$PY "$WEB/webauthn.py" request "$T/begin.json" "$URL1" "$T/cdj" > "$T/assert.in" &&
		echo "$SOFTKEY_PIN" | sk setsid fido2-assert -G -v -i "$T/assert.in" \
			softkey:0 > "$T/assert.out" 2> "$T/assert.err" &&
		$PY "$WEB/webauthn.py" finish "$T/begin.json" "$TX" "$T/cdj" \
			"$T/assert.out" > "$T/finish.json"
	$PY "$RACE" finish "$URL1" "$URL2" "$(cat "$T/finish.json")" > "$T/race" 2>&1
	if [ "$(grep -c code "$T/race")" = 1 ]; then
		once=$((once + 1))
	else
		bad=$((bad + 1))
		diag "round $i: $(tr '\n' ' ' < "$T/race")"
	fi
done
is "$once $bad" "$ROUNDS 0" \
	"one answer to a challenge at both fronts at once, $ROUNDS times: one code each time"

# --- (b) one code at both token endpoints at once ---
once=0 twice=0 none=0 other=0
for i in $(seq "$ROUNDS"); do
	authorize "$URL1"
	begin "$URL1"
	finish "$URL1" "$URL1"
	if [ -z "$AUTH_CODE" ]; then
		diag "round $i: no code: $(cat "$T/body")"
		none=$((none + 1))
		continue
	fi
	$PY "$RACE" token "$URL1" "$URL2" "synapse:$SECRET" \
		"$(token_form "$AUTH_CODE")" > "$T/race" 2>&1
	# the other is refused as a replay (400 invalid_grant), not failed
	n=$(grep -c tokens "$T/race")
	case $n:$(grep -cx 400 "$T/race") in
	1:1) once=$((once + 1)) ;;
	0:*) none=$((none + 1)); diag "round $i: $(tr '\n' ' ' < "$T/race")" ;;
	1:*) other=$((other + 1)); diag "round $i: $(tr '\n' ' ' < "$T/race")" ;;
	*) twice=$((twice + 1)) ;;
	esac
done
is "$once $twice $none $other" "$ROUNDS 0 0 0" \
	"one code at both token endpoints at once, $ROUNDS times: tokens exactly once, invalid_grant for the other"

# --- (c) one approval, asked for by both agents' login.check at once ---
CHECK='{"op":"login.check","user_id":"@alice:'$RP'","auth_provider_id":"oidc-fido2gate"}'
pg_sql fg "UPDATE approvals SET consumed = 1 WHERE consumed IS NULL"
once=0 twice=0 none=0
for i in $(seq "$ROUNDS"); do
	pg_sql fg "INSERT INTO approvals (\"user\", sid, client, created) VALUES ('alice', 'race-$i', 'synapse', extract(epoch from now())::bigint)"
	$PY "$RACE" agent "$SOCK" "$SOCK2" "$CHECK" > "$T/race" 2>&1
	n=$(grep -cx allow "$T/race")
	case $n in
	1) once=$((once + 1)) ;;
	0) none=$((none + 1)); diag "round $i: $(tr '\n' ' ' < "$T/race")" ;;
	*) twice=$((twice + 1)) ;;
	esac
done
is "$once $twice $none" "$ROUNDS 0 0" \
	"one approval at both agents' login.check at once, $ROUNDS times: one login each time"
is "$(pg_sql fg "SELECT count(*) FROM approvals WHERE sid LIKE 'race-%' AND consumed IS NOT NULL")" \
	"$ROUNDS" "every approval of the race is consumed, once"

# --- what expires is swept, at whichever agent ---
pg_sql fg "UPDATE oidc_tx SET expires = 0; UPDATE oidc_codes SET expires = 0; UPDATE oidc_tokens SET expires = 0"
swept() {
	[ "$(pg_sql fg 'SELECT (SELECT count(*) FROM oidc_tx) + (SELECT count(*) FROM oidc_codes) + (SELECT count(*) FROM oidc_tokens)')" = 0 ]
}
wait_for 10 swept
ok $? "expired transactions, codes and tokens are swept from the store"

agent_alive && kill -0 "$AGENT2_PID"
ok $? "both agents are still up"

done_testing
