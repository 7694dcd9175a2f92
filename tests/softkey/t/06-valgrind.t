#!/bin/bash
# softkey.so inside real libfido2 programs under valgrind memcheck: both
# ways in (fido_dev_open and the manifest's transport functions), PIN
# protocol, keepalives while waiting for a touch.
. "$(dirname "$0")/../../lib/tap.sh"
skip_if_sanitized "valgrind cannot run ASan binaries"
export SOFTKEY_STATE="$T/key" SOFTKEY_PIN=1234
RP=example.org
vg() { # runs CMD under memcheck with the soft key preloaded
	LD_PRELOAD="$SOFTKEY_SO" setsid valgrind -q --error-exitcode=3 \
		--leak-check=full --errors-for-leak-kinds=definite \
		--log-file="$T/vg.log" "$@"
}

printf '%s\n%s\n%s\n%s\n' "$(rand_b64)" $RP alice "$(rand_b64 16)" > "$T/cp"
echo 1234 | vg fido2-cred -M -i "$T/cp" softkey:0 eddsa > "$T/cred" 2> "$T/err"
ok $? "fido2-cred -M with a PIN: no memcheck error"
id=$(sed -n 5p "$T/cred")
printf '%s\n%s\n%s\n' "$(rand_b64)" $RP "$id" > "$T/ap"
echo 1234 | vg fido2-assert -G -v -i "$T/ap" softkey:0 > "$T/a" 2> "$T/err"
ok $? "fido2-assert -G -v: no memcheck error"
out=$(vg "$BUILD/test/softkey-pin-client" $RP "$id" 0000 1234)
ok $? "manifest + transport functions, wrong then right PIN: no memcheck error"
is "$(echo $out)" "FIDO_ERR_PIN_INVALID FIDO_ERR_SUCCESS" "... with the expected answers"
SOFTKEY_TOUCH=no SOFTKEY_TOUCH_TIMEOUT_MS=300 vg fido2-assert -G -i "$T/ap" softkey:0 > /dev/null 2>&1
is $? 1 "no touch (keepalives, timeout): a clean refusal, no memcheck error"
test -s "$T/vg.log" && sed 's/^/# /' "$T/vg.log" | head -n 30

done_testing
