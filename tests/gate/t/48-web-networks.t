#!/bin/bash
# The caps on browser logins under way count per client network, as the
# web front names it (an IPv4 address, an IPv6 /64): behind a trusted
# proxy, a stranger who begins logins in alice's name from one network
# fills that network's share of her challenges (max_pending_per_user),
# and alice still signs in from her own; one network that opens many
# logins fills its own share of the store's transactions
# (max_logins_per_network) and no other's; each refusal is a 429 with a
# message that says so, and an audit record that names the network. The
# counts are the store's: 71-on-postgresql.t runs this on PostgreSQL,
# where they hold for every agent together.
. "$(dirname "$0")/../../lib/tap.sh"
. "$TOP/tests/lib/gate.sh"
. "$TOP/tests/lib/fronts.sh"

PY=/usr/bin/python3
WEB="$TOP/tests/web"
CB_Q=https%3A%2F%2Fmatrix.test%2F_synapse%2Fclient%2Foidc%2Fcallback
export SOFTKEY_PIN=2468
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2> /dev/null; wait "$p" 2> /dev/null; done
	gate_cleanup' EXIT

# authorize FROM: the login page for a client at address FROM (the
# proxy's X-Forwarded-For); sets TX
authorize() {
	req "$URL/authorize?client_id=synapse&redirect_uri=$CB_Q&response_type=code&scope=openid&state=st" \
		-H "X-Forwarded-For: $1"
	TX=$(sed -n 's/.*&quot;tx&quot;:&quot;\([A-Za-z0-9_-]*\)&quot;.*/\1/p' "$T/body")
}
# begin FROM USER: the key's challenge for USER in transaction $TX
begin() {
	jpost "$URL" login/begin "{\"tx\":\"$TX\",\"user\":\"$2\"}" \
		-H "X-Forwarded-For: $1"
	cp "$T/body" "$T/begin.json"
}
# finish FROM: the soft key answers the last challenge
finish() {
	$PY "$WEB/webauthn.py" request "$T/begin.json" "$URL" "$T/cdj" > "$T/assert.in" &&
		echo "$SOFTKEY_PIN" | sk setsid fido2-assert -G -v -i "$T/assert.in" \
			softkey:0 > "$T/assert.out" 2> "$T/assert.err" &&
		$PY "$WEB/webauthn.py" finish "$T/begin.json" "$TX" "$T/cdj" \
			"$T/assert.out" > "$T/finish.json" || return 1
	jpost "$URL" login/finish "$(cat "$T/finish.json")" \
		-H "X-Forwarded-For: $1"
}

# the proxy is 127.0.0.1: each request's client is its X-Forwarded-For;
# no budget of the front's own, so that the agent's caps are what refuse
front 1 "$SOCK" --trusted-proxy 127.0.0.1
ok $? "a web front behind a trusted proxy" || exit 1
URL=$URL1
printf 'a-client-secret-of-33-bytes-long' > "$T/secret"
chmod 600 "$T/secret"
write_conf << CONF
origins = $URL
[oidc]
issuer = $URL
[web]
user = $(id -un)
[client.synapse]
secret_file = $T/secret
redirect_uris = https://matrix.test/_synapse/client/oidc/callback
[limits]
max_pending_per_user = 2
max_logins_per_network = 5
CONF
agent_start || exit 1
echo "$SOFTKEY_PIN" | sk "$BUILD/fido2gatectl" --socket "$SOCK" enroll alice > "$T/out" 2>&1
ok $? "alice enrols the soft key" || diag_file "$T/out"

# --- a user's challenges, per network ---
STRANGER=198.51.100.7
for i in 1 2; do
	authorize $STRANGER
	begin $STRANGER alice
	is "$CODE" 200 "a stranger at $STRANGER begins login $i in alice's name"
done
authorize $STRANGER
begin $STRANGER alice
is "$CODE $(json 'j["error"]')" "429 busy" \
	"a third from there: 429, too many of alice's logins under way from that network"
audit_has "deny .*too many logins under way for this user"
ok $? "audited"
authorize 203.0.113.9
begin 203.0.113.9 alice
is "$CODE" 200 "alice, from her own network, still gets her challenge"
finish 203.0.113.9
is "$CODE" 200 "and signs in with her key" || diag "$(cat "$T/body")"
like "$(json 'j["redirect"]')" '[?&]code=' "sent back to the homeserver with a code"

# --- transactions, per network ---
# the stranger's network holds 3 of its 5: two more, then no more
for i in 1 2; do
	authorize $STRANGER
	[ "$CODE" = 200 ] && [ -n "$TX" ] || break
done
is "$CODE" 200 "the stranger's network opens its 5 logins"
authorize $STRANGER
is "$CODE" 429 "the sixth from there: 429"
like "$(header Retry-After)" '^[0-9]+$' "with Retry-After"
like "$(cat "$T/body")" '<title>Too many requests</title>' "on a page that says so"
ctl --json audit --limit 20 > "$T/audit.json"; grep -q "\"detail\": \"net=$STRANGER\"" "$T/audit.json"
ok $? "audited, with the network" || diag_file "$T/audit.json" 4
authorize 192.0.2.44
is "$CODE" 200 "another network still opens a login"
# an IPv6 client counts by its /64
for i in 1 2 3 4 5; do
	authorize "2001:db8:1:2::$i"
done
is "$CODE" 200 "five logins from five addresses of one IPv6 /64"
authorize "2001:db8:1:2:ffff::1"
is "$CODE" 429 "a sixth from that /64: 429"
authorize "2001:db8:1:3::1"
is "$CODE" 200 "the next /64 is another network"
ctl --json audit --limit 20 | grep -q "net=2001:db8:1:2::/64"
ok $? "the audit names the /64"

done_testing
