#!/bin/bash
# The attestation policy of enrolment: attestation = hardware refuses self
# and none; attestation_roots makes packed x5c and fido-u2f statements
# chain to a configured root (through their own intermediates, each valid
# now); aaguid_allow and aaguid_deny choose the models. Chains are made
# here with the openssl command, and the soft key attests with them
# (SOFTKEY_ATTESTATION_KEY/CERTS); its own test CA is trusted, then not.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"

# the soft key's AAGUID ("f2g-softkey-v1" + 0 2), and another model's
SK_AAGUID=6632672d-736f-6674-6b65-792d76310002
OTHER_AAGUID=cb69481e-8ff7-4039-93ec-0a2729a154a8
ZERO_AAGUID=00000000-0000-0000-0000-000000000000

# --- the certificates: root A > intermediate A > leaves; root B > leaf
P="$T/pki"
mkdir -p "$P/new"
aaguid_der() { echo "DER:04:10:$(tr -d - <<< "$1" | sed 's/../&:/g; s/:$//')"; }
cat > "$P/ext.cnf" << EOF
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[leaf]
basicConstraints = critical,CA:FALSE
1.3.6.1.4.1.45724.1.1.4 = $(aaguid_der $SK_AAGUID)
[leaf_other]
basicConstraints = critical,CA:FALSE
1.3.6.1.4.1.45724.1.1.4 = $(aaguid_der $OTHER_AAGUID)
[u2f]
basicConstraints = critical,CA:FALSE
EOF
cat > "$P/ca.cnf" << EOF
[ca]
default_ca = test
[test]
database = $P/index.txt
new_certs_dir = $P/new
serial = $P/serial
default_md = sha256
policy = any
email_in_dn = no
preserve = yes
[any]
countryName = optional
organizationName = optional
organizationalUnitName = optional
commonName = supplied
EOF
: > "$P/index.txt"
echo 1000 > "$P/serial"
key() { openssl ecparam -name prime256v1 -genkey -noout 2> /dev/null |
	openssl pkcs8 -topk8 -nocrypt -out "$P/$1.key"; }
leaf_subj() { echo "/C=SE/O=fido2gate test/OU=Authenticator Attestation/CN=$1"; }
# cert NAME ISSUER SUBJECT EXT [START END]: NAME.pem signed by ISSUER
cert() {
	local name=$1 issuer=$2 subj=$3 ext=$4 start=${5:-} end=${6:-}
	key "$name"
	openssl req -new -key "$P/$name.key" -subj "$subj" -out "$P/$name.csr" 2> /dev/null
	if [ "$issuer" = self ]; then
		openssl ca -batch -config "$P/ca.cnf" -selfsign -keyfile "$P/$name.key" \
			-in "$P/$name.csr" -out "$P/$name.pem" -extfile "$P/ext.cnf" \
			-extensions "$ext" -days 3650 -notext 2> /dev/null
	else
		local validity=(-days 3650)
		[ -n "$start" ] && validity=(-startdate "$start" -enddate "$end")
		openssl ca -batch -config "$P/ca.cnf" -cert "$P/$issuer.pem" \
			-keyfile "$P/$issuer.key" -in "$P/$name.csr" -out "$P/$name.pem" \
			-extfile "$P/ext.cnf" -extensions "$ext" -notext "${validity[@]}" \
			2> /dev/null
	fi
}
cert rootA self "/C=SE/O=fido2gate test/CN=Test Root A" ca
cert interA rootA "/C=SE/O=fido2gate test/CN=Test Intermediate A" ca
cert leaf interA "$(leaf_subj 'Test Leaf')" leaf
cert other interA "$(leaf_subj 'Test Leaf, another model')" leaf_other
cert expired interA "$(leaf_subj 'Test Leaf, expired')" leaf 20200101000000Z 20210101000000Z
cert u2f rootA "/C=SE/O=fido2gate test/CN=Test U2F Leaf" u2f
cert rootB self "/C=SE/O=fido2gate test/CN=Test Root B" ca
cert leafB rootB "$(leaf_subj 'Test Leaf B')" leaf
n=0
for c in rootA interA leaf other expired u2f rootB leafB; do
	[ -s "$P/$c.pem" ] && n=$((n + 1))
done
is "$n" 8 "the test made its certificates"
chain() { cat "$P/$1.pem" "$P/$2.pem" > "$P/$1-chain.pem"; }
chain leaf interA
chain other interA
chain expired interA
cat "$P/rootA.pem" > "$T/roots.pem"
chmod 644 "$T/roots.pem"

# enrolled_has REGEX: the detail of a recent successful enrolment matches
enrolled_has() {
	ctl --json audit --limit 20 | grep -Eq -- "\"detail\": \"label=[^ ]* $1"
}

# with_cert NAME: the soft key attests with NAME.key and NAME-chain.pem
with_cert() {
	local name=$1
	shift
	[ -s "$P/$name-chain.pem" ] || cp "$P/$name.pem" "$P/$name-chain.pem"
	SOFTKEY_ATTESTATION_KEY="$P/$name.key" \
		SOFTKEY_ATTESTATION_CERTS="$P/$name-chain.pem" "$@"
}
# policy LINES: restart the agent with [policy] LINES
policy() {
	agent_stop
	printf '[policy]\n%s\n' "$1" | write_conf
	agent_start
}
# try USER CERT|- [ARGS]: a fresh soft key enrols USER; output in $OUT
k=0
try() {
	local user=$1 c=$2
	shift 2
	k=$((k + 1))
	if [ "$c" = - ]; then
		OUT=$(SOFTKEY_STATE="$T/key$k" enrol "$user" "$@" 2>&1)
	else
		OUT=$(with_cert "$c" env SOFTKEY_STATE="$T/key$k" \
			LD_PRELOAD="$PRE$SOFTKEY_SO" "$BUILD/fido2gatectl" \
			--socket "$SOCK" enroll "$user" "$@" < /dev/null 2>&1)
	fi
}
try_u2f() { # try_u2f USER CERT: over CTAP1, a fido-u2f statement
	k=$((k + 1))
	OUT=$(with_cert "$2" env SOFTKEY_STATE="$T/key$k" \
		LD_PRELOAD="$PRE$SOFTKEY_SO" "$BUILD/test/fg-client" "$SOCK" \
		enroll "$1" --u2f 2>&1)
}

# --- attestation_roots
policy "attestation = hardware
attestation_roots = $T/roots.pem"
try alice leaf
ok $? "a leaf that chains to the trusted root through its intermediate enrols" ||
	diag "$OUT"
like "$OUT" "attestation basic" "as basic attestation"
enrolled_has "fmt=packed attestation=basic aaguid=$SK_AAGUID .*root=.*CN=Test Root A"
ok $? "the audit names the AAGUID and the root it chained to"
enrolled_has "fmt=packed .*subject=.*CN=Test Leaf"
ok $? "and the attestation certificate's subject"

try bob leafB
ok $((! $?)) "a leaf of an untrusted root is refused"
like "$OUT" "does not chain to a trusted root: unable to get local issuer certificate" \
	"with OpenSSL's reason" || diag "$OUT"
audit_has "enroll +bob +deny .*attestation refused: .*does not chain to a trusted root"
ok $? "and the refusal is audited with it"

try bob expired
ok $((! $?)) "an expired leaf is refused"
like "$OUT" "does not chain to a trusted root: certificate has expired" "as expired"

# the intermediate is needed: a leaf alone does not reach root A
cp "$P/leaf.pem" "$P/lonely-chain.pem"
cp "$P/leaf.key" "$P/lonely.key"
try bob lonely
ok $((! $?)) "a leaf without its intermediate does not reach the root"
like "$OUT" "does not chain to a trusted root: unable to get local issuer" "and says so"

try bob other
ok $((! $?)) "a certificate naming another AAGUID than the key's is refused"
like "$OUT" "AAGUID differs" "as an AAGUID mismatch" || diag "$OUT"

try_u2f carol u2f
ok $? "a fido-u2f statement whose certificate chains to the root enrols" ||
	diag "$OUT"
like "$OUT" '"attestation":"basic"' "as basic attestation"
try_u2f carol leafB
ok $((! $?)) "a fido-u2f statement of an untrusted root is refused"
like "$OUT" "does not chain to a trusted root" "and says why"

# --- hardware only
SOFTKEY_ATTESTATION=self try dave -
ok $((! $?)) "attestation = hardware refuses self attestation"
like "$OUT" "attestation refused: self attestation is not hardware" "and says why"
SOFTKEY_ATTESTATION=none try dave -
ok $((! $?)) "attestation = hardware refuses fmt none"
like "$OUT" "attestation refused: .*sent none" "and says why"
audit_has "enroll +dave +deny .*attestation refused: self attestation is not hardware"
ok $? "the refusal of self attestation is audited"
like "$(ctl list dave)" "no credentials" "nothing was stored for dave"

policy "attestation = optional"
SOFTKEY_ATTESTATION=self try dave -
ok $? "attestation = optional takes self attestation"
try dave leafB
ok $? "and, without roots, any chain"

# --- AAGUID lists
policy "aaguid_deny = $SK_AAGUID"
try erin -
ok $((! $?)) "a denied AAGUID is refused"
like "$OUT" "attestation refused: AAGUID $SK_AAGUID is not allowed" "and named" ||
	diag "$OUT"
audit_has "enroll +erin +deny .*attestation refused: AAGUID $SK_AAGUID is not allowed"
ok $? "the refusal is audited"

policy "aaguid_allow = $OTHER_AAGUID"
try erin -
ok $((! $?)) "an AAGUID the allow list lacks is refused"
like "$OUT" "AAGUID $SK_AAGUID is not allowed" "and named"
SOFTKEY_ATTESTATION=none try erin -
ok $((! $?)) "the allow list holds for fmt none too"
try_u2f erin u2f
ok $((! $?)) "a fido-u2f key counts as the all-zero AAGUID"
like "$OUT" "AAGUID $ZERO_AAGUID is not allowed" "and is named so"

policy "aaguid_allow = $OTHER_AAGUID ${SK_AAGUID^^}
aaguid_allow = $ZERO_AAGUID"
try erin -
ok $? "an AAGUID on the allow list (in upper case, one of several) enrols"
try_u2f erin u2f
ok $? "the all-zero AAGUID allowed lets a fido-u2f key enrol"

policy "aaguid_allow = $SK_AAGUID
aaguid_deny = $SK_AAGUID"
try erin -
ok $((! $?)) "deny wins over allow"

# --- the soft key's own test CA
"$BUILD/test/softkey-ca" > "$T/softkey-ca.pem"
ok $? "softkey-ca prints the soft key's test CA"
policy "attestation = hardware
attestation_roots = $T/softkey-ca.pem"
try frank -
ok $? "the soft key's test CA trusted: fido2gatectl enroll works" || diag "$OUT"
like "$OUT" "enrolled .* for frank" "and says so"
like "$(ctl list frank)" "frank" "frank's key is stored"
enrolled_has "fmt=packed .*root=.*CN=fido2gate softkey attestation test CA"
ok $? "the audit names the soft key's CA"

policy "attestation = hardware
attestation_roots = $T/roots.pem"
try gina -
ok $((! $?)) "the soft key's test CA untrusted: enrolment is refused"
like "$OUT" "attestation refused: the attestation certificate does not chain to a trusted root: unable to get local issuer certificate" \
	"with the reason" || diag "$OUT"
audit_has "enroll +gina +deny .*attestation refused: .*does not chain"
ok $? "and audited"
like "$(ctl list gina)" "no credentials" "nothing was stored for gina"

# a folder of roots: either root trusts its leaves
mkdir -m 755 "$T/roots.d"
cp "$P/rootB.pem" "$T/roots.d/b.pem"
cp "$T/softkey-ca.pem" "$T/roots.d/softkey.pem"
chmod 644 "$T/roots.d"/*
policy "attestation_roots = $T/roots.d"
try gina -
ok $? "a folder of roots: the soft key's CA in it is trusted" || diag "$OUT"
try gina leafB
ok $? "and so is root B"
try gina leaf
ok $((! $?)) "but not root A, which is not in it"

# --- the roots must be trustworthy, and be there
agent_stop
printf '[policy]\nattestation_roots = %s\n' "$T/none.pem" | write_conf
"$BUILD/fido2gated" --socket "$SOCK" --db "$DB" --config "$CONF" > "$T/err" 2>&1
ok $((! $?)) "a missing roots file stops the agent"
like "$(cat "$T/err")" "attestation_roots: .*none.pem" "and says which"
chmod 666 "$T/roots.pem"
printf '[policy]\nattestation_roots = %s\n' "$T/roots.pem" | write_conf
"$BUILD/fido2gated" --socket "$SOCK" --db "$DB" --config "$CONF" > "$T/err" 2>&1
ok $((! $?)) "a roots file others can write stops the agent"
like "$(cat "$T/err")" "not writable by group or others" "and says why"
chmod 644 "$T/roots.pem"
echo "not a certificate" > "$T/junk.pem"
printf '[policy]\nattestation_roots = %s\n' "$T/junk.pem" | write_conf
"$BUILD/fido2gated" --socket "$SOCK" --db "$DB" --config "$CONF" > "$T/err" 2>&1
ok $((! $?)) "a roots file without a certificate stops the agent"
printf '[policy]\naaguid_allow = not-an-aaguid\n' | write_conf
"$BUILD/fido2gated" --socket "$SOCK" --db "$DB" --config "$CONF" > "$T/err" 2>&1
ok $((! $?)) "a malformed AAGUID stops the agent"
like "$(cat "$T/err")" "is not an AAGUID" "and says so"
printf '[policy]\nattestation = hardware\naaguid_deny = %s\n' "$OTHER_AAGUID" |
	write_conf
out=$("$BUILD/fido2gated" --socket "$SOCK" --db "$DB" --config "$CONF" --check-config 2>&1)
like "$out" "attestation = hardware" "--check-config shows the attestation policy"
like "$out" "aaguid_deny = $OTHER_AAGUID" "and the lists"

done_testing
