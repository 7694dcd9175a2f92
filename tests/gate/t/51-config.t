#!/bin/bash
# fido2gate.conf: the shipped file (etc/fido2gate.conf) is what the table
# of settings (agent/settings.c) makes and passes --check-config; an
# unknown section or key and a value out of range are refused with the
# file's name and line; the parser knows every key of the table and no
# other; fido2gate.conf(5) lists exactly the table's settings, and
# --check-config prints the effective value of every one.
. "$(dirname "$0")/../../lib/tap.sh"

TOOL="$BUILD/man/fg-settings"
AGENT="$BUILD/fido2gated"

# check FILE: --check-config on a copy of the lines on stdin
check() {
	cat > "$T/$1"
	chmod 600 "$T/$1"
	"$AGENT" --check-config --config "$T/$1" > "$T/out" 2> "$T/err"
}

# --- the shipped file ---
cp "$TOP/etc/fido2gate.conf" "$T/shipped.conf"
chmod 644 "$T/shipped.conf"
"$AGENT" --check-config --config "$T/shipped.conf" > "$T/out" 2> "$T/err"
ok $? "--check-config passes on the shipped etc/fido2gate.conf" ||
	diag "$(cat "$T/err")"
"$TOOL" --sample > "$T/sample.conf"
ok $? "fg-settings makes the file from the table"
cmp -s "$T/sample.conf" "$TOP/etc/fido2gate.conf"
ok $? "etc/fido2gate.conf is up to date with the table (make conf-sample)" ||
	diff "$TOP/etc/fido2gate.conf" "$T/sample.conf" | head -n 20 |
	sed 's/^/#   /'
"$TOOL" --keys | sort -u > "$T/keys"
n=$(wc -l < "$T/keys")
ok $([ "$n" -ge 50 ]; echo $?) "the table holds every setting ($n)"
missing=$(while read -r sec key; do
	grep -qxE "#?$key =.*|# $key: another name for .*" "$T/sample.conf" ||
		echo "[$sec] $key"
done < "$T/keys")
is "$missing" "" "the shipped file lists every setting of the table"

# --- refusals, with file:line ---
printf '[limits]\nmax_pending = 10\n\nbogus_key = 1\n' | check unknown-key.conf
ok $((! $?)) "an unknown key is refused"
like "$(cat "$T/err")" "unknown-key.conf:4: unknown setting \[limits\] bogus_key" \
	"with its file and line"
printf '# a comment\n[limits]\nmax_pending = 10\n[bogus_section]\nkey = 1\n' |
	check unknown-section.conf
ok $((! $?)) "an unknown section is refused"
like "$(cat "$T/err")" "unknown-section.conf:5: unknown section \[bogus_section\]" \
	"with its file and line"
printf '[rate_limit]\ncaller_rate = 5\n[limits]\nmax_connections = 1\n' |
	check range.conf
ok $((! $?)) "a number below its range is refused"
like "$(cat "$T/err")" 'range.conf:4: bad value for \[limits\] max_connections: "1"' \
	"with its file and line"
printf '[oidc]\ntoken_ttl = 3601\n' | check above.conf
ok $((! $?)) "a number above its range is refused, in the gate's sections too"
like "$(cat "$T/err")" 'above.conf:2: bad value for \[oidc\] token_ttl' \
	"with its file and line"
# glibc's regcomp() copies a repeated expression per repetition: a
# repetition of a repetition would let one line of config take gigabytes
# (the fuzzer found "b+++..."), so those are refused, with the reason
hs='[relying_party]\nid = example.org\n[homeserver]\nuser = root\nserver_name = example.org\n'
plus=$(printf '+%.0s' $(seq 120))
for re in "^@b$plus" '^@(a{9}){9}' '^@(b(c+))*' '^@a{65}' '^@a{1,99999999999999999999}' 'a*?' \
	"x)$plus" '^@(a)\1' '^@[a-z' '^@a{2,x}'; do
	printf "$hs"'exempt = %s\n' "$re" | check exempt-costly.conf
	ok $((! $?)) "exempt = ${re:0:24}: refused"
	like "$(cat "$T/err")" "exempt-costly.conf:6: .*\[homeserver\] exempt: an? .* is not allowed" \
		"  with its line and why"
done
for re in '^@bridge_[a-z]{1,32}:' '^@b{2,}_[0-9]{,3}' '^@(irc|slack)_[^:]+:example\.org$' '^@[[:alnum:]+]*:' '^@a\++:'; do
	printf "$hs"'exempt = %s\n' "$re" | check exempt-fine.conf
	ok $? "exempt = $re: accepted" || diag "$(cat "$T/err")"
done

printf '[upstream.corp]\nskew = 601\n' | check instance.conf
ok $((! $?)) "and in a [upstream.NAME] section"
like "$(cat "$T/err")" 'instance.conf:2: bad value for \[upstream.corp\] skew' \
	"with its file and line"
printf '[policy]\nattestation = sometimes\n' | check choice.conf
like "$(cat "$T/err")" 'choice.conf:2: bad value for \[policy\] attestation' \
	"a value that is none of the choices is refused"

# --- the parser knows every key of the table, and only those ---
unknown=$(while read -r sec key; do
	sec=${sec/%.\*/.x}
	printf '[%s]\n%s = \001\n' "$sec" "$key" | check key.conf
	grep -q "unknown" "$T/err" && echo "[$sec] $key: $(cat "$T/err")"
done < "$T/keys")
is "$unknown" "" "the parser accepts every key of the table"
for sec in relying_party limits client.x upstream.x; do
	printf '[%s]\nnot_a_key = 1\n' "$sec" | check key.conf
	like "$(cat "$T/err")" "unknown setting \[$sec\] not_a_key" \
		"and no other in [$sec]"
done

# --- the manual lists the table's settings ---
if command -v man > /dev/null && [ -s "$BUILD/man/fido2gate.conf.5" ]; then
	MANWIDTH=250 man -E UTF-8 -l "$BUILD/man/fido2gate.conf.5" 2> /dev/null |
		awk '/^[A-Z][A-Z ]*$/ { sec = $0; next }
		sec == "SETTINGS" && /^   \[[a-z_.A-Z]+\]$/ {
			s = $1; gsub(/[][]/, "", s); sub(/\.NAME$/, ".*", s) }
		sec == "SETTINGS" && /^       [a-z_]+( = .*)?$/ { print s, $1 }' |
		sort -u > "$T/man-keys"
	is "$(cat "$T/man-keys")" "$(cat "$T/keys")" \
		"fido2gate.conf(5)'s SETTINGS are exactly the table's"
else
	skip 1 "man or the built fido2gate.conf(5) is missing"
fi

# --- --check-config prints every effective value ---
printf 'x\n' > "$T/cs.secret"
printf 'a-secret-of-some-length-0123\n' > "$T/c.secret"
chmod 600 "$T/cs.secret" "$T/c.secret"
check full.conf <<CONF
[relying_party]
id = example.org
[oidc]
issuer = https://example.org/_fido2gate
[web]
user = root
first_factor = oidc:corp
[homeserver]
user = root
server_name = example.org
exempt = ^@bot:
[client.synapse]
secret_file = $T/c.secret
redirect_uri = https://example.org/cb
[upstream.corp]
issuer = https://id.example.org
client_id = fido2gate
client_secret_file = $T/cs.secret
CONF
ok $? "--check-config passes on a config with every kind of section" ||
	diag "$(cat "$T/err")"
shown=$(awk '/^\[/ { s = $1; gsub(/[][]/, "", s); sub(/^client\..*/, "client.*", s);
	sub(/^upstream\..*/, "upstream.*", s) }
	/^[a-z_]+ =/ { print s, $1 }' "$T/out" | sort -u)
is "$shown" "$(grep -v ' redirect_uris$' "$T/keys")" \
	"it prints every setting of the table (an alias aside)"
like "$(cat "$T/out")" "^max_connections = 256$" "with its effective value"
unlike "$(cat "$T/out")" "a-secret-of-some-length" "and never a secret"

done_testing
