#!/bin/bash
# Authorisation by SO_PEERCRED: root may authenticate anyone; a user only
# itself; enrolment, revocation, other users' lists and the audit log need
# root or the admin group. The socket is open to all; the agent decides.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"

if [ "$(id -u)" != 0 ] || ! command -v setpriv > /dev/null; then
	echo "1..0 # SKIP needs root and setpriv to act as other users"
	exit 0
fi
chmod 755 "$T"
printf '[access]\nadmin_group = users\n' | write_conf
agent_start
enrol alice > /dev/null 2>&1
ok $? "root enrols alice"

as_nobody() { # [setpriv options...] -- command
	setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"
}
as_user_admin() {
	setpriv --reuid=nobody --regid=nogroup --groups=users "$@"
}
req() { printf '%s\n' "$1"; }

got=$(req '{"v":1,"op":"auth.begin","user":"alice"}' | as_nobody "$BUILD/test/fg-client" "$SOCK" raw)
like "$got" '"error":"denied"' "a_non_root_caller_cannot_authenticate_another_user"
audit_has "auth.begin +alice +deny .*only authenticate itself"
ok $? "the attempt is audited"

got=$(req '{"v":1,"op":"auth.begin","user":"nobody"}' | as_nobody "$BUILD/test/fg-client" "$SOCK" raw)
like "$got" '"ok":true' "a non-root caller may authenticate itself (screen lockers)"

for op in '{"v":1,"op":"enroll.begin","user":"nobody"}' \
	'{"v":1,"op":"cred.revoke","user":"alice","credential":"abcd"}' \
	'{"v":1,"op":"cred.list","user":"alice"}' \
	'{"v":1,"op":"cred.list"}' \
	'{"v":1,"op":"audit.list"}'; do
	got=$(req "$op" | as_nobody "$BUILD/test/fg-client" "$SOCK" raw)
	like "$got" '"error":"denied"' "a plain user is refused: $op"
done
got=$(req '{"v":1,"op":"cred.list","user":"nobody"}' | as_nobody "$BUILD/test/fg-client" "$SOCK" raw)
like "$got" '"ok":true' "a user may list its own credentials"
got=$(req '{"v":1,"op":"status"}' | as_nobody "$BUILD/test/fg-client" "$SOCK" raw)
like "$got" '"ok":true' "anyone may ask for the status"
if printf '%s' "$got" | grep -q '"users"'; then st=1; else st=0; fi
ok $st "but a plain user is not told how many users there are"

as_nobody "$BUILD/fido2gatectl" --socket "$SOCK" list alice > /dev/null 2>&1
is $? 4 "fido2gatectl exits 4 when the agent refuses the caller"

got=$(req '{"v":1,"op":"cred.list"}' | as_user_admin "$BUILD/test/fg-client" "$SOCK" raw)
like "$got" '"user":"alice"' "a member of the admin group may list every user"
got=$(req '{"v":1,"op":"auth.begin","user":"alice"}' | as_user_admin "$BUILD/test/fg-client" "$SOCK" raw)
like "$got" '"error":"denied"' "but an admin may not authenticate as another user"

done_testing
