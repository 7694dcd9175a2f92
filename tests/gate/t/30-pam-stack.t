#!/bin/bash
# The README's PAM lines in Debian 12's stock common-auth: the password
# first, then the key, and a wrong password stops before fido2gate is
# asked (so that password guessers cannot drive a user into lockout).
# pam_unix is replaced by pam_wrapper's pam_matrix, which checks passwords
# from a file: everything else is the stock file, line for line.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"

MATRIX=$(dirname "$PAM_WRAPPER_SO")/pam_wrapper/pam_matrix.so
if [ ! -f "$MATRIX" ]; then
	echo "1..0 # SKIP pam_wrapper's pam_matrix.so is missing"
	exit 0
fi
echo "alice:secret:login" > "$T/passdb"

# Debian 12's /etc/pam.d/common-auth as pam-auth-update writes it with the
# stock profile (libpam-runtime 1.5.2)
stock() {
	cat << 'PAM'
#
# /etc/pam.d/common-auth - authentication settings common to all services
#
# This file is included from other service-specific PAM config files,
# and should contain a list of the authentication modules that define
# the central authentication scheme for use on the system
# (e.g., /etc/shadow, LDAP, Kerberos, etc.).  The default is to use the
# traditional Unix authentication mechanisms.
#
# As of pam 1.0.1-6, this file is managed by pam-auth-update by default.
# To take advantage of this, it is recommended that you configure any
# local modules either before or after the default block, and use
# pam-auth-update to manage selection of other modules.  See
# pam-auth-update(8) for details.

# here are the per-package modules (the "Primary" block)
auth	[success=1 default=ignore]	pam_unix.so nullok
# here's the fallback if no module succeeds
auth	requisite			pam_deny.so
# prime the stack with a positive return value if there isn't one already;
# this avoids us returning an error just because nothing sets a success code
# since the modules above will each just jump around
auth	required			pam_permit.so
# and here are more per-package modules (the "Additional" block)
# end of pam-auth-update config
PAM
}

# The README's instruction, read from the README itself: the lines in its
# "common-auth" block are appended after the stock file's last line.
readme_lines=$(sed -n '/^```pam-common-auth$/,/^```$/p' "$TOP/README.md" | sed '1d;$d')
like "$readme_lines" "pam_fido2gate.so" "the README gives the common-auth lines"
{
	stock
	printf '%s\n' "$readme_lines"
} | sed -e "s|pam_unix.so nullok|$MATRIX passdb=$T/passdb|" \
	-e "s|[^[:space:]]*pam_fido2gate.so|$BUILD/pam_fido2gate.so socket=$SOCK timeout=5|" \
	> "$T/pam.d/common-auth"
stack_after_password

# what the old README said ("after the password module") breaks the stack:
# pam_unix's success=1 then jumps over fido2gate onto pam_deny
stock | sed -e "s|^\(auth.*pam_unix.so nullok\)$|\1\nauth required $BUILD/pam_fido2gate.so socket=$SOCK timeout=5|" \
	-e "s|pam_unix.so nullok|$MATRIX passdb=$T/passdb|" > "$T/pam.d/common-auth"
SERVICE=login pam_auth alice <<< secret
ok $((! $?)) "right after the password module: the right password and key are refused"
before=$(auth_audit_count)
SERVICE=login pam_auth alice <<< wrong
after=$(auth_audit_count)
ok $((! (after > before))) "and a wrong password reaches fido2gate: why the README says otherwise"

done_testing
