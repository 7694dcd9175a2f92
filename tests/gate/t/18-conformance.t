#!/bin/bash
# The public WebAuthn/CTAP2 conformance corpus, when it sits beside the
# checkout (../shared/conformance): zero failures against
# `fido2gatectl verify`, also under valgrind.
. "$(dirname "$0")/../../lib/tap.sh"

RUN="$TOP/../shared/conformance/run"
if [ ! -x "$RUN" ]; then
	echo "1..0 # SKIP no conformance corpus at ../shared/conformance"
	exit 0
fi
cd "$TOP" || exit 1
if [ -n "${FG_SANITIZE:-}" ]; then
	# the sanitized CLI on the corpus; valgrind cannot run it
	out=$("$RUN" -j 2 --timeout 30 --cmd "$BUILD/fido2gatectl verify" 2>&1)
	ok $? "the corpus passes under ASan and UBSan"
	done_testing
	exit
fi
out=$("$RUN" 2>&1)
ok $? "the conformance runner passes"
like "$(printf '%s\n' "$out" | tail -n 1)" "conformance: [0-9]+ passed, 0 failed" "0 failures"
diag "$(printf '%s\n' "$out" | tail -n 2 | head -n 1)"
out=$("$RUN" -j 2 --timeout 30 --cmd "valgrind -q --error-exitcode=3 --leak-check=full --errors-for-leak-kinds=definite $BUILD/fido2gatectl verify" 2>&1)
ok $? "the corpus passes under valgrind memcheck with no errors or leaks"
done_testing
