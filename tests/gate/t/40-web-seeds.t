#!/bin/bash
# The web front's fuzz harnesses (tests/fuzz/fuzz_web_*.c), built by gcc
# with ASan and UBSan, replay their seeds (tests/web/seeds/): each input
# passes the harness's own checks of what the parser may accept. (Inputs
# that once crashed a harness live in tests/fuzz/regress/web_*/, replayed
# by 26-fuzz-regress.t.)
. "$(dirname "$0")/../../lib/tap.sh"

for dir in "$TOP"/tests/web/seeds/*/; do
	name=$(basename "$dir")
	out=$("$BUILD/test/replay_$name" "$dir"* 2>&1)
	ok $? "$name: $(ls "$dir" | wc -l) seeds replay cleanly" || {
		diag "replay_$name:"
		printf '%s\n' "$out" | tail -n 15 | sed 's/^/#   /'
	}
done

done_testing
