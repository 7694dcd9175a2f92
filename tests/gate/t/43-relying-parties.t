#!/bin/bash
# fido2gate as the OpenID Connect provider of relying parties we did not
# write, each completing a login that Chromium drives through the login
# page with a virtual authenticator (tests/e2e/driver.mjs):
#
#  - Apache's mod_auth_openidc (Debian's), protecting a page, in a private
#    apache2 on loopback: discovery, PKCE S256; once with an RS256 client
#    authenticated by client_secret_basic, once with an ES256 client by
#    client_secret_post; the page shows OIDC_CLAIM_preferred_username;
#  - Debian's python3-authlib, the library Synapse's OpenID Connect client
#    uses, used as Synapse does (tests/e2e/authlib_rp.py), with
#    client_secret_basic as docs/homeserver.md configures Synapse;
#  - npm's openid-client, certified by the OpenID Foundation
#    (tests/e2e/rp.mjs), ES256 and client_secret_post.
#
# The clients' secret is made as docs/configuration.md says (hex): the
# agent refuses one with characters form-encoding would change.
#
# And each notices an id_token altered in transit: a proxy between the RP
# and the front's token endpoint (tests/e2e/tamper_proxy.py) flips a bit of
# the signature, changes a claim, or strips the signature (alg "none");
# the RP must refuse the login. fido2gate has no seam for this: the proxy
# is named to the RP as the token endpoint (a rewritten discovery document
# for Apache, the token endpoint setting for the others).
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"
. "$TOP/tests/e2e/e2e.sh"

e2e_skip_unless_browser

MODS=/usr/lib/apache2/modules
HAVE_APACHE=
command -v apache2 > /dev/null && [ -f "$MODS/mod_auth_openidc.so" ] &&
	[ -f "$MODS/mod_mpm_prefork.so" ] && HAVE_APACHE=1
HAVE_AUTHLIB=
"$SYS_PYTHON" -c 'import authlib.jose, authlib.oidc.core, requests' 2> /dev/null &&
	HAVE_AUTHLIB=1

read -r FPORT PPORT APORT LPORT LPORT_T OPORT OPORT_T <<< "$(free_ports 7)"
RP=localhost
PROXY="http://localhost:$PPORT"
client_secret "$T/rp.secret"
SECRET=$(cat "$T/rp.secret")
write_conf << CONF
origins = http://localhost:$FPORT
[oidc]
issuer = http://localhost:$FPORT
[web]
user = nobody
[client.apache-rs256]
name = Apache (RS256)
secret_file = $T/rp.secret
redirect_uri = http://localhost:$APORT/protected/redirect_uri
id_token_alg = RS256
[client.apache-es256]
name = Apache (ES256)
secret_file = $T/rp.secret
redirect_uri = http://localhost:$APORT/protected/redirect_uri
id_token_alg = ES256
[client.authlib]
name = authlib
secret_file = $T/rp.secret
redirect_uri = http://localhost:$LPORT/cb
redirect_uri = http://localhost:$LPORT_T/cb
id_token_alg = RS256
[client.openid-client]
name = openid-client
secret_file = $T/rp.secret
redirect_uri = http://localhost:$OPORT/cb
redirect_uri = http://localhost:$OPORT_T/cb
id_token_alg = ES256
CONF
agent_start || exit 1
front_start "$FPORT" || exit 1
webkey alice --uv
ok $? "alice's key is enrolled through the agent" || diag_file "$T/webkey.log"

echo none > "$T/mode"
spawn "$SYS_PYTHON" "$E2E/tamper_proxy.py" --port "$PPORT" --upstream "$FRONT" \
	--mode-file "$T/mode" --log "$T/proxy.log" --ready "$T/proxy.ready" \
	2>> "$T/proxy.err"
wait_for 30 url_ok "$PROXY/.well-known/openid-configuration"
ok $? "the tampering proxy relays the front" || diag_file "$T/proxy.err"

driver_start
# login START: alice's keyboard login from START; the result in $R
login() {
	browse "$(jq -nc --arg s "$1" --arg f "$FRONT" --arg k "$T/key-alice.json" \
		'{start: $s, front: $f, user: "alice", keys: [$k]}')"
}
# proxied MODE: the next token reply the proxy relays is altered so
proxied() {
	echo "$1" > "$T/mode"
}
# last_proxied: what the proxy saw of the last token request
last_proxied() {
	tail -n 1 "$T/proxy.log" 2> /dev/null
}

# --- Apache mod_auth_openidc ---
apache_conf() { # apache_conf CLIENT AUTH METADATA-URL
	mkdir -p "$T/apache/cgi"
	cat > "$T/apache/cgi/whoami" << 'SH'
#!/bin/sh
printf 'Content-Type: text/plain; charset=utf-8\n\n'
printf 'user=%s\n' "$OIDC_CLAIM_preferred_username"
printf 'remote_user=%s\n' "$REMOTE_USER"
printf 'amr=%s\n' "$OIDC_CLAIM_amr"
# the id_token's header: which key signed it
printf 'alg=%s\n' "$(printf '%s' "${OIDC_id_token%%.*}" | tr '_-' '/+' |
	{ cat; printf '=='; } | base64 -d 2> /dev/null |
	sed -n 's/.*"alg" *: *"\([^"]*\)".*/\1/p')"
SH
	chmod 755 "$T/apache" "$T/apache/cgi" "$T/apache/cgi/whoami"
	cat > "$T/apache/httpd.conf" << CONF
ServerName localhost
Listen 127.0.0.1:$APORT
PidFile $T/apache/httpd.pid
DefaultRuntimeDir $T/apache
Mutex file:$T/apache default
ErrorLog $T/apache/error.log
LogLevel warn auth_openidc:info
LoadModule mpm_prefork_module $MODS/mod_mpm_prefork.so
LoadModule authn_core_module $MODS/mod_authn_core.so
LoadModule authz_core_module $MODS/mod_authz_core.so
LoadModule authz_user_module $MODS/mod_authz_user.so
LoadModule alias_module $MODS/mod_alias.so
LoadModule cgi_module $MODS/mod_cgi.so
LoadModule auth_openidc_module $MODS/mod_auth_openidc.so
User nobody
Group nogroup
StartServers 1
MinSpareServers 1
MaxSpareServers 2
DocumentRoot $T/apache
<Directory />
	Require all denied
</Directory>
ScriptAlias /protected/ $T/apache/cgi/
<Directory $T/apache/cgi>
	Require all granted
</Directory>
OIDCProviderMetadataURL $3
OIDCClientID $1
OIDCClientSecret $SECRET
OIDCProviderTokenEndpointAuth $2
OIDCRedirectURI http://localhost:$APORT/protected/redirect_uri
OIDCCryptoPassphrase $(head -c 24 /dev/urandom | base64 -w0)
OIDCPKCEMethod S256
OIDCScope "openid profile"
OIDCPassIDTokenAs claims serialized
OIDCRemoteUserClaim preferred_username
<Location /protected/>
	AuthType openid-connect
	Require valid-user
</Location>
CONF
}
APACHE_PID=
apache_start() { # apache_start CLIENT AUTH METADATA-URL
	apache_stop
	apache_conf "$@"
	# its own session: apache's parent signals its whole process group
	# when it stops, which would otherwise be this test's (and prove's)
	spawn setsid apache2 -f "$T/apache/httpd.conf" -DFOREGROUND
	APACHE_PID=$!
	wait_for 30 apache_up && return 0
	ok 1 "apache starts with mod_auth_openidc for $1"
	diag_file "$T/apache/error.log"
	return 1
}
apache_up() {
	[ "$(curl -s -o /dev/null -w '%{http_code}' \
		"http://localhost:$APORT/protected/whoami")" = 302 ]
}
apache_stop() {
	if [ -n "$APACHE_PID" ]; then
		kill "$APACHE_PID" 2> /dev/null
		wait "$APACHE_PID" 2> /dev/null
		APACHE_PID=
	fi
}
# apache_errors: auth_openidc's errors since the last call
apache_errors() {
	local n
	n=$(wc -l < "$T/apache/error.log")
	sed -n "$((${APACHE_SEEN:-0} + 1)),${n}p" "$T/apache/error.log" |
		grep 'auth_openidc:error'
	APACHE_SEEN=$n
}

apache_run() { # apache_run CLIENT AUTH ALG TAMPER-MODES...
	local client=$1 auth=$2 alg=$3 m name to
	shift 3
	name="Apache, $alg, $auth"
	apache_start "$client" "$auth" "$FRONT/.well-known/openid-configuration" ||
		return 1
	to=$(curl -s -o /dev/null -w '%{redirect_url}' "http://localhost:$APORT/protected/whoami")
	like "$to" "^$FRONT/authorize\?.*code_challenge_method=S256" \
		"$name: an unauthenticated request goes to fido2gate, with PKCE S256"
	like "$to" "[?&]client_id=$client(&|$)" "$name: as client $client"
	login "http://localhost:$APORT/protected/whoami"
	is "$(jv "$R" '.outcome + " " + (.status | tostring)')" "redirect 200" \
		"$name: the login ends on the protected page" || diag "$(jv "$R" .text | head -c 300)"
	is "$(jv "$R" .text | grep -E '^(user|remote_user|alg)=' | tr '\n' ' ')" \
		"user=alice remote_user=alice alg=$alg " \
		"$name: which shows OIDC_CLAIM_preferred_username alice (an $alg id_token)"
	like "$(jv "$R" .text | sed -n 's/^amr=//p')" "hwk" "$name: amr holds hwk"

	# the same client, with the token endpoint's reply passing the proxy
	apache_start "$client" "$auth" "$PROXY/.well-known/openid-configuration" ||
		return 1
	apache_errors > /dev/null
	for m in "$@"; do
		proxied "$m"
		login "http://localhost:$APORT/protected/whoami"
		is "$(last_proxied | jq -r '[.mode, .auth, .pkce, .alg, .status] | map(tostring) | join(" ")')" \
			"$m ${auth#client_secret_} true $alg 200" \
			"$name, id_token altered ($m): the provider's reply was good and went through the proxy, $auth, with PKCE"
		is "$(jv "$R" .outcome)" redirect "$name, altered ($m): the browser is back at Apache"
		unlike "$(jv "$R" .text)" "user=alice" "$name, altered ($m): Apache does not let alice in"
		like "$(apache_errors)" "$(case $m in sig | claim) echo 'signature' ;; *) echo . ;; esac)" \
			"$name, altered ($m): and logs why"
	done
	proxied none
	apache_stop
}

if [ -n "$HAVE_APACHE" ]; then
	apache_run apache-rs256 client_secret_basic RS256 sig claim alg
	apache_run apache-es256 client_secret_post ES256 sig claim
else
	skip 30 "apache2 or Debian's libapache2-mod-auth-openidc is not installed"
fi

# --- RPs that redeem the code themselves ---
# Each RP runs twice: on one port with the discovered token endpoint, on
# another with the proxy's.
rp_honest() { # rp_honest NAME URL ALG
	login "$2/login"
	local res
	res=$(jv "$R" .text)
	is "$(jv "$R" .outcome) $(jv "$res" '[.ok, .claims.preferred_username, .alg] | map(tostring) | join(" ")')" \
		"redirect true alice $3" "$1: the login ends at the RP, which accepts alice's $3 id_token" ||
		diag "$(printf '%s' "$res" | head -c 300)"
	is "$(jv "$res" '.claims.nonce == .nonce_sent and (.claims.amr | index("hwk") != null)')" \
		true "$1: with its nonce, and amr hwk"
}
rp_tampered() { # rp_tampered NAME URL ALG AUTH MODES...
	local name=$1 url=$2 alg=$3 auth=$4 m res
	shift 4
	for m in "$@"; do
		proxied "$m"
		login "$url/login"
		res=$(jv "$R" .text)
		is "$(last_proxied | jq -r '[.mode, .auth, .pkce, .alg, .status] | map(tostring) | join(" ")')" \
			"$m $auth true $alg 200" \
			"$name, id_token altered ($m): the provider's reply was good and went through the proxy ($auth, PKCE)"
		is "$(jv "$R" .outcome) $(jv "$res" .ok)" "redirect false" \
			"$name, altered ($m): the RP refuses the login" ||
			diag "$(printf '%s' "$res" | head -c 300)"
		like "$(jv "$res" .error)" \
			"$(case $m in sig | claim) echo '[Ss]ignature' ;; alg) echo 'alg|[Aa]lgorithm' ;; esac)" \
			"$name, altered ($m): because of the signature or its algorithm ($(jv "$res" .error | head -c 80))"
	done
	proxied none
}
rp_wait() { # rp_wait NAME READY-FILE LOG
	wait_for 30 test -s "$2" && return 0
	diag "$1 did not start:"
	diag_file "$3"
	return 1
}

if [ -n "$HAVE_AUTHLIB" ]; then
	# client_secret_basic, as docs/homeserver.md configures Synapse; the
	# tampered ones with client_secret_post
	spawn "$SYS_PYTHON" "$E2E/authlib_rp.py" --issuer "$FRONT" \
		--client-id authlib --secret-file "$T/rp.secret" --port "$LPORT" \
		--auth client_secret_basic --alg RS256 \
		--ready "$T/authlib-$LPORT.ready" 2>> "$T/authlib.log"
	spawn "$SYS_PYTHON" "$E2E/authlib_rp.py" --issuer "$FRONT" \
		--client-id authlib --secret-file "$T/rp.secret" --port "$LPORT_T" \
		--auth client_secret_post --alg RS256 \
		--token-endpoint "$PROXY/token" \
		--ready "$T/authlib-$LPORT_T.ready" 2>> "$T/authlib.log"
	rp_wait authlib "$T/authlib-$LPORT.ready" "$T/authlib.log" &&
		rp_wait authlib "$T/authlib-$LPORT_T.ready" "$T/authlib.log"
	ok $? "authlib's RP has read and checked the discovery document (OpenIDProviderMetadata)"
	rp_honest "authlib (client_secret_basic)" "http://localhost:$LPORT" RS256
	rp_tampered authlib "http://localhost:$LPORT_T" RS256 post sig claim alg
else
	skip 12 "Debian's python3-authlib or python3-requests is not installed"
fi

spawn node "$E2E/rp.mjs" --issuer "$FRONT" --client-id openid-client \
	--secret-file "$T/rp.secret" --port "$OPORT" --auth post --alg ES256 \
	--ready "$T/oc-$OPORT.ready" 2>> "$T/openid-client.log"
spawn node "$E2E/rp.mjs" --issuer "$FRONT" --client-id openid-client \
	--secret-file "$T/rp.secret" --port "$OPORT_T" --auth post --alg ES256 \
	--token-endpoint "$PROXY/token" \
	--ready "$T/oc-$OPORT_T.ready" 2>> "$T/openid-client.log"
rp_wait openid-client "$T/oc-$OPORT.ready" "$T/openid-client.log" &&
	rp_wait openid-client "$T/oc-$OPORT_T.ready" "$T/openid-client.log"
ok $? "openid-client's RP has read the discovery document"
rp_honest openid-client "http://localhost:$OPORT" ES256
rp_tampered openid-client "http://localhost:$OPORT_T" ES256 post sig claim alg

is "$(audit_count 'oidc\.token +alice +allow')" "$(audit_count 'web\.finish +alice +allow')" \
	"every code the agent minted was redeemed, once (the audit's web.finish and oidc.token agree)"

done_testing
