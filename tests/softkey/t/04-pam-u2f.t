#!/bin/bash
# Debian's pam-u2f, unchanged, with the soft key: pamu2fcfg enrols it and
# pam_u2f.so in a real PAM stack (pam_wrapper + pamtester) accepts it only
# when it is present, touched, and the enrolled key.
. "$(dirname "$0")/../../lib/tap.sh"
export SOFTKEY_STATE="$T/key"
ORIGIN=pam://fido2gate-test
USER_NAME=$(id -un)

mkdir -p "$T/pam.d"
cat > "$T/pam.d/other" <<PAM
auth required pam_deny.so
account required pam_deny.so
PAM
cat > "$T/pam.d/u2f" <<PAM
auth required $PAM_U2F_SO authfile=$T/u2f_keys origin=$ORIGIN appid=$ORIGIN
account required pam_permit.so
PAM
cat > "$T/pam.d/u2f-pin" <<PAM
auth required $PAM_U2F_SO authfile=$T/u2f_keys_pin origin=$ORIGIN appid=$ORIGIN pinverification=1
account required pam_permit.so
PAM

auth() { # SERVICE [VAR=VALUE...]: pamtester through pam_wrapper
	local svc=$1
	shift
	env "$@" LD_PRELOAD="$PRE$PAM_WRAPPER_SO:$SOFTKEY_SO" PAM_WRAPPER=1 \
		PAM_WRAPPER_SERVICE_DIR="$T/pam.d" \
		setsid pamtester "$svc" "$USER_NAME" authenticate
}

sk pamu2fcfg -u "$USER_NAME" -o $ORIGIN -i $ORIGIN > "$T/u2f_keys" 2> "$T/err"
ok $? "pamu2fcfg enrols the soft key (it verifies the x5c attestation)"
like "$(cat "$T/u2f_keys")" "^$USER_NAME:[^,]+,[^,]+,es256,\+presence\$" "the authfile names the credential"

out=$(auth u2f < /dev/null 2>&1)
ok $? "pam_u2f accepts the enrolled key, touched"
out=$(auth u2f SOFTKEY_TOUCH=no SOFTKEY_TOUCH_TIMEOUT_MS=500 < /dev/null 2>&1)
ok $((! $?)) "pam_u2f refuses when the key is not touched"
out=$(auth u2f SOFTKEY_STATE= < /dev/null 2>&1)
ok $((! $?)) "pam_u2f refuses when no key is plugged in"
out=$(auth u2f SOFTKEY_STATE="$T/other" < /dev/null 2>&1)
ok $((! $?)) "pam_u2f refuses a different soft key"
out=$(auth u2f SOFTKEY_STATE="$T/other" SOFTKEY_DEVICES=2 < /dev/null 2>&1)
ok $((! $?)) "pam_u2f refuses two keys that are not enrolled"
cp "$T/key" "$T/other.1"
out=$(auth u2f SOFTKEY_STATE="$T/other" SOFTKEY_DEVICES=2 < /dev/null 2>&1)
ok $? "pam_u2f finds the enrolled key among two"

# with a PIN, asked through the PAM conversation
export SOFTKEY_STATE="$T/pinkey" SOFTKEY_PIN=1357
echo 1357 | sk setsid pamu2fcfg -N -u "$USER_NAME" -o $ORIGIN -i $ORIGIN > "$T/u2f_keys_pin" 2> "$T/err"
ok $? "pamu2fcfg -N enrols a key with a PIN"
like "$(cat "$T/u2f_keys_pin")" '\+pin$' "the authfile requires the PIN"
out=$(echo 1357 | auth u2f-pin 2>&1)
ok $? "pam_u2f accepts the key with the right PIN"
out=$(echo 7531 | auth u2f-pin 2>&1)
ok $((! $?)) "pam_u2f refuses a wrong PIN"
like "$(sk fido2-token -I softkey:0)" '^pin retries: 7$' "the wrong PIN was counted by the key"

done_testing
