#!/bin/bash
# fido2gatectl import-pam-u2f: files written by Debian's real pamu2fcfg
# (driven with the soft key), every format pam-u2f reads, imported all or
# nothing; each credential keeps its relying party (pam://HOST) and its
# policy, and then logs in through pam_fido2gate, on the workstation only.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"

if ! command -v pamu2fcfg > /dev/null; then
	echo "1..0 # SKIP pamu2fcfg is not installed"
	exit 0
fi
ORIGIN=pam://ws1.example
APPID=pam://oldapp.example
cfg() { # cfg STATE [VAR=VALUE...] COMMAND...: pamu2fcfg with that key
	# (a PIN is read from the terminal: under setsid, from stdin)
	local state=$1
	shift
	sk SOFTKEY_STATE="$state" "$@" 2>> "$T/pamu2fcfg.err"
}
count() { ctl --json list | grep -c '"credential_id"'; }
line_of() { # line_of FILE N: line N, the credentials cut short
	sed -n "${2}p" "$1" | cut -c1-60
}

# the secret a gate-enabled agent needs, for the browser check at the end
openssl rand -hex 32 > "$T/secret"
chmod 600 "$T/secret"
# (user verification discouraged: only a credential's own +pin or
# +verification asks for the PIN)
write_conf << CONF
[policy]
user_verification = discouraged
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
CONF
agent_start
ok $? "the agent starts"

# --- files made by pamu2fcfg ------------------------------------------
# alice: es256 on key A, and (pamu2fcfg -n appends) rs256 on key R, one
# line; bob: a PIN key, --pin-verification; carol: -P, no touch asked;
# dave: -V, user verification
{
	cfg "$T/keyA" pamu2fcfg -u alice -o $ORIGIN < /dev/null
	cfg "$T/keyR" pamu2fcfg -n -t rs256 -o $ORIGIN < /dev/null
	echo
	cfg "$T/keyP" SOFTKEY_PIN=4321 setsid pamu2fcfg -u bob -o $ORIGIN -N <<< 4321
	echo
	cfg "$T/keyC" pamu2fcfg -u carol -o $ORIGIN -P < /dev/null
	echo
	cfg "$T/keyD" SOFTKEY_PIN=4321 setsid pamu2fcfg -u dave -o $ORIGIN -V <<< 4321
	echo
} > "$T/u2f_keys"
ok $? "pamu2fcfg wrote the file" || diag_file "$T/pamu2fcfg.err"
like "$(sed -n 1p "$T/u2f_keys")" '^alice:[^:,]+,[^:,]+,es256,\+presence:[^:,]+,[^:,]+,rs256,\+presence$' \
	"two credentials on alice's line (es256 and rs256)"
like "$(sed -n 2p "$T/u2f_keys")" ',es256,\+presence\+pin$' "bob's line says +pin"
like "$(sed -n 3p "$T/u2f_keys")" ',es256,$' "carol's line has no options (-P)"
like "$(sed -n 4p "$T/u2f_keys")" ',es256,\+presence\+verification$' "dave's says +verification"

# eddsa: pamu2fcfg 1.1.0 cannot make one; the line pam-u2f would read is
# the credential ID and the raw Ed25519 key, base64, from fido2-cred
printf '%s\n%s\n%s\n%s\n' "$(rand_b64)" $ORIGIN erin "$(rand_b64)" > "$T/cp"
sk SOFTKEY_STATE="$T/keyE" fido2-cred -M -i "$T/cp" softkey:0 eddsa > "$T/credE" 2>> "$T/pamu2fcfg.err" &&
	fido2-cred -V -i "$T/credE" -o "$T/pkE" eddsa 2>> "$T/pamu2fcfg.err"
ok $? "fido2-cred made an EdDSA credential for $ORIGIN"
echo "erin:$(sed -n 5p "$T/credE"),$(openssl pkey -pubin -in "$T/pkE" -outform DER | tail -c 32 | base64 -w0),eddsa,+presence" \
	>> "$T/u2f_keys"

# the old format (pam-u2f before 1.1): a U2F registration for the appid,
# the key handle in websafe base64, the public key as hex
printf '%s\n%s\n%s\n%s\n' "$(rand_b64)" $APPID frank "$(rand_b64)" > "$T/cp"
sk SOFTKEY_STATE="$T/keyO" fido2-cred -M -u -i "$T/cp" softkey:0 > "$T/credO" 2>> "$T/pamu2fcfg.err" &&
	fido2-cred -V -i "$T/credO" -o "$T/pkO" 2>> "$T/pamu2fcfg.err"
ok $? "fido2-cred made a U2F credential for $APPID"
echo "frank:$(sed -n 5p "$T/credO" | tr '+/' '-_' | tr -d '='),$(openssl pkey -pubin -in "$T/pkO" -outform DER | tail -c 65 | od -An -tx1 | tr -d ' \n')" \
	>> "$T/u2f_keys"
like "$(sed -n 6p "$T/u2f_keys")" '^frank:[A-Za-z0-9_-]+,04[0-9a-f]{128}$' "frank's line is in the old format"

# a resident credential (-r): no credential ID in the file
cfg "$T/keyG" pamu2fcfg -u gina -o $ORIGIN -r < /dev/null >> "$T/u2f_keys"
echo >> "$T/u2f_keys"
like "$(sed -n 7p "$T/u2f_keys")" '^gina:\*,[^,]+,es256,\+presence$' "pamu2fcfg -r writes '*' for the key handle"

# --- malformed files: every problem with its line, nothing imported ---
good=$(sed -n 1p "$T/u2f_keys")
{
	echo "$good"
	echo "henry:AAAA,BBBB,es512,+presence"
	echo "ivan:not*base64,$(echo "$good" | cut -d, -f2),es256,+presence"
	echo "jack:$(echo "$good" | cut -d: -f2 | cut -d, -f1-3),+presence+sing"
	echo "kate"
	echo "-root:AAAA,BBBB,es256,"
	echo "gina:*,****,es256,+presence"
	echo "$good"
	echo "lena:AAAA,BBBB,es256,+presence,extra"
} > "$T/bad"
ctl import-pam-u2f --origin $ORIGIN "$T/bad" > "$T/out" 2> "$T/err"
ok $((! $?)) "import_refuses_a_file_with_malformed_lines"
err=$(cat "$T/err")
like "$err" "bad:2: unknown key type \"es512\"" "line 2: an unknown type, named"
like "$err" "bad:3: the key handle .* is not base64" "line 3: a key handle that is not base64"
like "$err" "bad:4: unknown options \"\+presence\+sing\"" "line 4: an unknown option"
like "$err" "bad:5: not USER:CREDENTIAL" "line 5: no credential"
like "$err" "bad:6: .*not a valid user name" "line 6: a user name starting with '-'"
like "$err" "bad:7: the public key is not base64" "line 7: a resident credential's bad key"
like "$err" "bad:8: the user is also on line 1" "line 8: the same user twice (pam-u2f reads the last)"
like "$err" "bad:9: a credential is KEYHANDLE,PUBKEY,TYPE,OPTIONS" "line 9: five fields"
like "$err" "nothing imported" "and it says nothing was imported"
is "$(count)" 0 "fido2gatectl list is unchanged: nothing was half-imported"

# a file the CLI reads well, but a key the agent finds bad: still nothing
{
	echo "$good"
	echo "mike:$(sed -n 3p "$T/u2f_keys" | cut -d: -f2 | cut -d, -f1),$(head -c 64 /dev/zero | base64 -w0),es256,+presence"
} > "$T/badkey"
ctl import-pam-u2f --origin $ORIGIN "$T/badkey" > "$T/out" 2> "$T/err"
ok $((! $?)) "import_refuses_a_public_key_off_the_curve"
like "$(cat "$T/err")" "badkey:2: the public key is not a valid ES256 key" \
	"the agent names the line"
is "$(count)" 0 "and stores none of the good line's credentials either"

# --- --dry-run: checked by the agent, nothing stored -------------------
ctl import-pam-u2f --dry-run --origin $ORIGIN --appid $APPID "$T/u2f_keys" > "$T/out" 2> "$T/err"
ok $? "import --dry-run accepts the file" || diag_file "$T/err"
like "$(cat "$T/out")" "line 1: would import .* for alice \(RS256, rp $ORIGIN\)" \
	"dry run: alice's second credential, RS256"
like "$(cat "$T/out")" "line 5: would import .* for erin \(EdDSA, rp $ORIGIN\)" "dry run: erin's EdDSA"
like "$(cat "$T/out")" "line 6: would import .* for frank \(ES256, rp $APPID\)" \
	"dry run: frank's old line keeps the appid as its relying party"
like "$(cat "$T/out")" "line 7: would import a resident credential for gina \(ES256, rp $ORIGIN, its ID learnt at its first login\)" \
	"dry run: gina's resident credential"
like "$(cat "$T/out")" "dry run: 8 credentials checked by the agent; nothing stored" "dry run: 8 credentials"
like "$(cat "$T/err")" "u2f_keys:3: note: pam-u2f did not ask for a touch" \
	"carol's -P: the admin is told a touch will be required"
is "$(count)" 0 "dry run: nothing stored"

# the default relying party is pam-u2f's: pam://HOSTNAME
cfg "$T/keyA" pamu2fcfg -u olga < /dev/null > "$T/default"
ctl import-pam-u2f --dry-run "$T/default" > "$T/out" 2>&1
like "$(cat "$T/out")" "rp pam://$(hostname)\)" "without --origin the rp is pam://$(hostname), as pamu2fcfg's"

# --- the import ---------------------------------------------------------
ctl import-pam-u2f --origin $ORIGIN --appid $APPID "$T/u2f_keys" > "$T/out" 2> "$T/err"
ok $? "import_stores_every_credential_of_the_file" || diag_file "$T/err"
like "$(cat "$T/out")" "8 credentials imported" "it says how many"
is "$(count)" 8 "fido2gatectl list shows the eight"
json=$(ctl --json list bob)
like "$json" "\"rp_id\": \"$ORIGIN\"" "bob's credential keeps its relying party"
like "$json" '"uv_required": true' "and its +pin policy"
like "$(ctl --json list carol)" '"uv_required": false' "carol's needs no PIN"
audit_has "import +alice .*ok" ; ok $? "each imported credential is audited"

ctl import-pam-u2f --origin $ORIGIN --appid $APPID "$T/u2f_keys" > "$T/out" 2> "$T/err"
ok $((! $?)) "import_refuses_credentials_already_enrolled"
like "$(cat "$T/err")" "u2f_keys:2: this credential is already enrolled" "with their line numbers"
is "$(count)" 8 "nothing more was stored"

# --- logins with the imported credentials ------------------------------
pam_auth alice SOFTKEY_STATE="$T/keyA" < /dev/null
ok $? "pam_accepts_an_imported_es256_credential (rp $ORIGIN)" || diag "$OUT"
audit_has "auth.finish +alice +allow" ; ok $? "the allow is audited"
pam_auth alice SOFTKEY_STATE="$T/keyR" < /dev/null
ok $? "pam_accepts_the_second_credential_of_the_line (RS256)" || diag "$OUT"
pam_auth erin SOFTKEY_STATE="$T/keyE" < /dev/null
ok $? "pam_accepts_an_imported_eddsa_credential" || diag "$OUT"
pam_auth frank SOFTKEY_STATE="$T/keyO" < /dev/null
ok $? "pam_accepts_an_old_format_credential under its appid" || diag "$OUT"
pam_auth carol SOFTKEY_STATE="$T/keyC" < /dev/null
ok $? "pam accepts carol's (imported without +presence) with a touch" || diag "$OUT"
pam_auth carol SOFTKEY_STATE="$T/keyC" SOFTKEY_TOUCH=no SOFTKEY_TOUCH_TIMEOUT_MS=500 < /dev/null
ok $((! $?)) "pam_denies_an_untouched_key_even_where_pam_u2f_did_not_ask_for_presence"

pam_auth bob SOFTKEY_STATE="$T/keyP" <<< 4321
ok $? "pam_accepts_bob's_+pin_credential_with_its_PIN" || diag "$OUT"
like "$OUT" "Enter the PIN" "the PIN was asked for (+pin)"
pam_auth bob SOFTKEY_STATE="$T/keyP" <<< 9999
ok $((! $?)) "pam_denies_bob's_credential_with_a_wrong_PIN"
pam_auth dave SOFTKEY_STATE="$T/keyD" <<< 4321
ok $? "pam_accepts_dave's_+verification_credential_with_its_PIN" || diag "$OUT"
like "$OUT" "Enter the PIN" "user verification was asked for (+verification)"

# gina's resident credential: the key is asked with no allow list, and
# the agent finds the credential by its public key, then keeps its ID
like "$(ctl --json list gina)" '"id_pending": true' "gina's credential ID is not known yet"
cfg "$T/keyX" pamu2fcfg -u gina -o $ORIGIN -r < /dev/null > /dev/null
pam_auth gina SOFTKEY_STATE="$T/keyX" < /dev/null
ok $((! $?)) "pam_denies_another_key's_resident_credential_for_the_same_rp"
like "$(ctl --json list gina)" '"id_pending": true' "and binds nothing"
pam_auth gina SOFTKEY_STATE="$T/keyG" < /dev/null
ok $? "pam_accepts_an_imported_resident_credential" || diag "$OUT"
audit_has "auth.finish +gina +allow" ; ok $? "the allow is audited"
like "$(ctl --json list gina)" '"id_pending": false' "its credential ID is now known"
pam_auth gina SOFTKEY_STATE="$T/keyG" < /dev/null
ok $? "and it logs in again, by its ID" || diag "$OUT"
pam_auth gina SOFTKEY_STATE="$T/keyX" < /dev/null
ok $((! $?)) "while the other key's is still refused"

pam_auth alice SOFTKEY_STATE="$T/keyA" SOFTKEY_TOUCH=no SOFTKEY_TOUCH_TIMEOUT_MS=500 < /dev/null
ok $((! $?)) "pam_denies_an_imported_credential_not_touched"
pam_auth alice SOFTKEY_STATE="$T/other" < /dev/null
ok $((! $?)) "pam_denies_another_key"
pam_auth alice SOFTKEY_STATE= < /dev/null
ok $((! $?)) "pam_denies_without_a_key"

# --- no way round the second admin ---------------------------------------
# a user whose keys are all revoked (the lost-key call) gets a new one
# through enroll, which a second admin approves, never through an import
cfg "$T/keyH" pamu2fcfg -u hank -o $ORIGIN < /dev/null > "$T/hank1"
cfg "$T/keyH2" pamu2fcfg -u hank -o $ORIGIN < /dev/null > "$T/hank2"
ctl import-pam-u2f --origin $ORIGIN "$T/hank1" > /dev/null 2>&1 &&
	ctl revoke hank "$(ctl --json list hank | sed -n 's/.*"credential_id": "\([^"]*\)".*/\1/p' | head -c 8)" > /dev/null 2>&1
ok $? "hank's imported key is revoked"
ctl import-pam-u2f --origin $ORIGIN "$T/hank2" > "$T/out" 2> "$T/err"
ok $((! $?)) "importing a key for hank, who has keys but no active one, is refused"
like "$(cat "$T/err" "$T/out")" "hank has keys but no active one left" "with the reason"
pam_auth hank SOFTKEY_STATE="$T/keyH2" < /dev/null
ok $((! $?)) "and that key does not log in"

# --- never in the browser ------------------------------------------------
CALL="/usr/bin/python3 $TOP/tests/tools/fg_call.py $SOCK"
id=$(ctl --json list erin | sed -n 's/.*"credential_id": "\([^"]*\)".*/\1/p')
got=$($CALL << EOF
{"op":"oidc.authorize","params":{"client_id":"synapse","redirect_uri":"https://matrix.$RP/_synapse/client/oidc/callback","response_type":"code","scope":"openid","state":"s","nonce":"n","code_challenge":"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM","code_challenge_method":"S256"},"save":{"TX":"tx"}}
{"op":"web.begin","tx":"\$TX","user":"erin"}
EOF
)
begin=$(sed -n 2p <<< "$got")
like "$begin" '"ok": true' "web.begin answers for erin" || diag "$got"
unlike "$begin" "$id" "web_begin_never_offers_a_credential_of_another_relying_party"
unlike "$begin" "rp_groups" "nor any rp group"

done_testing
