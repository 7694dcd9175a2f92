#!/bin/bash
# The pam-auth-update profile (pam-configs/fido2gate): Debian's own
# pam-auth-update, on a copy of this machine's common-* files and profiles,
# enables it by adding exactly one line, after the password has succeeded
# (the "Additional" block); a login through the common-auth it wrote asks
# for the key after the right password and never after a wrong one; the
# profile is off by default; --remove gives back the original files.
# pam-auth-update also records its choices in debconf's database: it runs
# in a private mount namespace over a copy of that database, so that the
# machine's own is never touched.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"

MATRIX=$(dirname "$PAM_WRAPPER_SO")/pam_wrapper/pam_matrix.so
if ! command -v pam-auth-update > /dev/null; then
	echo "1..0 # SKIP pam-auth-update is missing (libpam-runtime)"
	exit 0
elif [ ! -f "$MATRIX" ]; then
	echo "1..0 # SKIP pam_wrapper's pam_matrix.so is missing"
	exit 0
elif ! unshare -m true 2> /dev/null; then
	echo "1..0 # SKIP no private mount namespace (unshare -m) for debconf's database"
	exit 0
fi

R="$T/root"
mkdir -p "$R/etc/pam.d" "$R/usr/share/pam-configs" "$R/var/lib/pam" "$T/debconf"
cp /etc/pam.d/common-* "$R/etc/pam.d/"
cp /usr/share/pam-configs/* "$R/usr/share/pam-configs/"
cp /var/lib/pam/* "$R/var/lib/pam/" 2> /dev/null
cp -a /var/cache/debconf/. "$T/debconf/"
cp "$TOP/pam-configs/fido2gate" "$R/usr/share/pam-configs/"
cp -a "$R/etc/pam.d" "$T/orig"

pau() {
	DEBIAN_FRONTEND=noninteractive unshare -m sh -c \
		'mount --bind "$1" /var/cache/debconf && shift && exec pam-auth-update "$@"' \
		sh "$T/debconf" --root "$R" "$@" > "$T/pau.log" 2>&1
}

# what the package's postinst runs: the profile is known, not enabled
pau --package
ok $? "pam-auth-update --package accepts the profile" || diag_file "$T/pau.log"
ok "$(diff -r "$T/orig" "$R/etc/pam.d" > /dev/null; echo $?)" \
	"off by default: --package changes no common-* file"
like "$(cat "$R/var/lib/pam/seen")" '^fido2gate$' "and records it as seen"

pau --enable fido2gate
ok $? "pam-auth-update --enable fido2gate" || diag_file "$T/pau.log"
# exactly one line added, right after the stack was primed with
# pam_permit (a wrong password has stopped at `requisite pam_deny` by then)
added=$(diff "$T/orig/common-auth" "$R/etc/pam.d/common-auth" | sed -n 's/^> //p')
is "$added" "$(printf 'auth\trequired\tpam_fido2gate.so ')" \
	"common-auth gains exactly 'auth required pam_fido2gate.so'"
is "$(grep -v '^#' "$R/etc/pam.d/common-auth" | grep -A1 -P '^auth\trequired\t+pam_permit.so' | tail -n 1)" \
	"$(printf 'auth\trequired\tpam_fido2gate.so ')" \
	"the next rule after the stack is primed with pam_permit"
block=$(sed -n '/"Additional" block/,/end of pam-auth-update config/p' "$R/etc/pam.d/common-auth")
like "$block" "pam_fido2gate.so" "inside the block pam-auth-update manages"
for f in account password session session-noninteractive; do
	cmp -s "$T/orig/common-$f" "$R/etc/pam.d/common-$f"
	ok $? "common-$f unchanged"
done

# a login through the common-auth it wrote: only the password module (by
# pam_matrix, which reads passwords from a file) and our module's socket
# differ from the file pam-auth-update wrote
echo "alice:secret:login" > "$T/passdb"
sed -e "s|pam_unix.so nullok\( try_first_pass\)\?|$MATRIX passdb=$T/passdb|" \
	-e "s|pam_fido2gate.so |$BUILD/pam_fido2gate.so socket=$SOCK timeout=5|" \
	"$R/etc/pam.d/common-auth" > "$T/pam.d/common-auth"
is "$(grep -c 'pam_matrix.so\|build.*pam_fido2gate.so' "$T/pam.d/common-auth")" 2 \
	"the test stack swaps only the password module and the socket" ||
	diag_file "$T/pam.d/common-auth"
stack_after_password

pau --remove fido2gate
ok $? "pam-auth-update --remove fido2gate" || diag_file "$T/pau.log"
diff -r "$T/orig" "$R/etc/pam.d" > "$T/diff"
ok $? "every common-* file is back as it was" || diag_file "$T/diff"

done_testing
