#!/bin/bash
# Every input that ever crashed a fuzz harness (tests/fuzz/regress/NAME/)
# runs again through that harness, built by gcc with ASan and UBSan.
. "$(dirname "$0")/../../lib/tap.sh"

n=0
for dir in "$TOP"/tests/fuzz/regress/*/; do
	name=$(basename "$dir")
	for f in "$dir"*; do
		out=$("$BUILD/test/replay_$name" "$f" 2>&1)
		rc=$?
		# on a failure, what the harness said (the sanitizer's report)
		ok $rc "$name: $(basename "$f") no longer crashes" || {
			diag "replay_$name exited $rc:"
			printf '%s\n' "$out" | tail -n 15 | sed 's/^/#   /'
		}
		n=$((n + 1))
	done
done
# and the replay builds do catch what they are for
printf '\x01\x00\x00' > "$T/tiny"
out=$("$BUILD/test/replay_attest" "$T/tiny" 2>&1)
ok $? "a harmless input replays cleanly ($n regression inputs above)" ||
	printf '%s\n' "$out" | tail -n 15 | sed 's/^/#   /'

done_testing
