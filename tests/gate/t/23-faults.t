#!/bin/bash
# Fail closed, proved by injection: inside pam_authenticate, fail each
# libfido2 call, each conversation call, each allocation and each socket
# call in turn (build/test/fault.so, preloaded into pamtester), and give
# the module broken agent replies. No failure may end in PAM_SUCCESS or
# PAM_IGNORE, and none may crash pamtester.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"

FAULT_SO="$BUILD/test/fault.so"
# hundreds of refusals in a row: no backoff here (21-limits tests it)
printf '[rate_limit]\nbackoff_after = 1000\nlockout_after = 0\n' | write_conf
agent_start
enrol alice > /dev/null 2>&1
ok $? "enrol alice"

# fault KIND AT [VAR=VALUE...]: one pamtester run; its log line in $LINE
fault() {
	local kind=$1 at=$2
	shift 2
	rm -f "$T/fault.log"
	env "$@" FAULT_KIND="$kind" FAULT_AT="$at" FAULT_LOG="$T/fault.log" \
		LD_PRELOAD="$PRE$FAULT_SO:$PAM_WRAPPER_SO:$SOFTKEY_SO" PAM_WRAPPER=1 \
		PAM_WRAPPER_SERVICE_DIR="$T/pam.d" \
		setsid pamtester "${SERVICE:-gate}" alice authenticate < "${FAULT_STDIN:-/dev/null}" > "$T/fault.out" 2>&1
	STATUS=$?
	LINE=$(cat "$T/fault.log" 2> /dev/null)
}
result() { sed -n 's/.*result=\([0-9]*\).*/\1/p' <<< "$LINE"; }
calls() { sed -n 's/^calls=\([0-9]*\).*/\1/p' <<< "$LINE"; }

# sweep KIND [VAR=VALUE...]: fail call 1..N of KIND, N counted on a clean run
sweep() {
	local kind=$1 n at bad=0 crash=0 named=""
	shift
	fault "$kind" 0 "$@"
	n=$(calls)
	is "$(result)" 0 "$kind: a clean run succeeds ($n calls to fail)"
	[ -n "$n" ] && [ "$n" -gt 0 ] || { ok 1 "$kind: calls were counted"; return; }
	for at in $(seq "$n"); do
		fault "$kind" "$at" "$@"
		r=$(result)
		if [ -z "$r" ] || [ "$STATUS" -gt 128 ]; then
			crash=$((crash + 1))
			diag "$kind call $at: no result (status $STATUS): $(tail -n 2 "$T/fault.out" | tr '\n' ' ')"
		elif [ "$r" = 0 ] || [ "$r" = 25 ]; then
			bad=$((bad + 1))
			diag "$kind call $at ($LINE) returned $r"
		fi
		named="$named $(sed -n 's/.*failed=//p' <<< "$LINE")"
	done
	is "$bad" 0 "$kind: none of $n injected failures returned PAM_SUCCESS or PAM_IGNORE"
	is "$crash" 0 "$kind: none crashed"
	FAILED_NAMES=$named
}

sweep fido
for f in fido_dev_info_manifest fido_dev_open_with_info fido_dev_get_assert \
	fido_assert_set_clientdata_hash fido_assert_allow_cred fido_assert_sig_ptr; do
	grep -qw "$f" <<< "$FAILED_NAMES"
	ok $? "the fido sweep failed $f"
done
sweep conv
sweep net
if [ -n "${FG_SANITIZE:-}" ]; then
	skip 5 "under ASan its interceptors stand between the module and libc"
else
	for f in socket connect send recv poll; do
		grep -qw "$f" <<< "$FAILED_NAMES"
		ok $? "the net sweep failed $f"
	done
fi
# allocations by the module (and libfg inside it) and by jansson, which
# builds and parses its agent messages; OpenSSL, libcbor and libfido2 are
# left alone (OpenSSL 3.0 crashes on some failed lazy initialisations,
# and a real key's allocations are not in this process at all)
# (fault.so's malloc would replace ASan's, so not under the sanitizers)
[ -z "${FG_SANITIZE:-}" ] && sweep malloc FAULT_SCOPE=pam_fido2gate,libjansson

# a broken agent: replies missing, silent, truncated, garbled or wrong
FAKE="$T/fake.sock"
pam_service fake "socket=$FAKE" timeout=5
cred=$(ctl --json list alice | sed -n 's/.*"credential_id": "\([^"]*\)".*/\1/p' | head -n 1)
fake_run() { # scenario: the PAM result in $LINE ("" if the fake never ran)
	rm -f "$FAKE"
	/usr/bin/python3 "$TOP/tests/tools/fake_agent.py" "$FAKE" "$1" "$cred" > "$T/fake.out" 2>&1 &
	fake_pid=$!
	if wait_for 30 test -S "$FAKE"; then
		SERVICE=fake fault none 0
	else
		# a refusal of nobody proves nothing: counted as a failure
		diag "the fake agent did not start for $1:"
		diag_file "$T/fake.out"
		LINE=
	fi
	kill "$fake_pid" 2> /dev/null
	wait "$fake_pid" 2> /dev/null
}
fake_run finish-control
is "$(result)" 0 "the fake agent's proper allow gets in (the harness works)"
bad=0 n=0
for sc in $(/usr/bin/python3 "$TOP/tests/tools/fake_agent.py" --list); do
	fake_run "$sc"
	n=$((n + 1))
	r=$(result)
	if [ -z "$r" ] || [ "$r" = 0 ] || [ "$r" = 25 ]; then
		bad=$((bad + 1))
		diag "$sc: result '${r}' ($STATUS)"
	fi
done
is "$bad" 0 "none of $n broken agent replies got in, crashed or was ignored"
fake_run begin-garbage
is "$(result)" 9 "a garbled auth.begin reply is PAM_AUTHINFO_UNAVAIL"
fake_run finish-result-Allow
is "$(result)" 7 "a finish reply that is not exactly \"allow\" is PAM_AUTH_ERR"

# with UV required and a PIN: the prompt is one more conversation call and
# the PIN path more libfido2 calls
printf '[policy]\nuser_verification = required\n[rate_limit]\nbackoff_after = 1000\nlockout_after = 0\n' | write_conf
agent_stop
agent_start
export SOFTKEY_STATE="$T/pinkey" SOFTKEY_PIN=2468
echo 2468 | sk "$BUILD/fido2gatectl" --socket "$SOCK" enroll alice --label pin > /dev/null 2>&1
ok $? "enrol a key with a PIN"
echo 2468 > "$T/pin"
export FAULT_STDIN="$T/pin"
sweep conv
sweep conv FAULT_CONV=null
sweep fido

done_testing
