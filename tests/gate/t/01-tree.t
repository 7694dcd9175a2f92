#!/bin/bash
# The source tree and its build: no build output is tracked by git, and
# every object depends on the headers it reads (-MMD), so that editing a
# header rebuilds each part that uses it and nothing is left stale.
. "$(dirname "$0")/../../lib/tap.sh"

if git -C "$TOP" rev-parse --is-inside-work-tree > /dev/null 2>&1; then
	tracked=$(git -C "$TOP" ls-files -- 'build*' | head -n 5)
	is "$tracked" "" "no file under build*/ is tracked by git"
	untracked_ignored=$(git -C "$TOP" check-ignore build/a.o build-san/a.o build-x/a.o)
	is "$(echo $untracked_ignored)" "build/a.o build-san/a.o build-x/a.o" \
		".gitignore covers every build*/ folder"
else
	skip 2 "not a git checkout"
fi

# what make would run if a header changed (-W: "what if", nothing is built)
rel=${BUILD#"$TOP"/}
if [ "$rel" != "$BUILD" ]; then
	test -f "$BUILD/cli/enroll.d"
	ok $? "objects record the headers they read (-MMD)"
	would=$(make -C "$TOP" --no-print-directory -n BUILD="$rel" \
		-W lib/fg_device.h build-all 2> /dev/null)
	for obj in cli/enroll.o pam_module/pam_fido2gate.o lib/device.o; do
		like "$would" "-o $rel/$obj " "editing lib/fg_device.h rebuilds $obj"
	done
	unlike "$would" "-o $rel/agent/" "and leaves the agent, which does not read it"
	would=$(make -C "$TOP" --no-print-directory -n BUILD="$rel" \
		-W include/fido2gate/protocol.h build-all 2> /dev/null)
	for obj in agent/ops.o cli/admin.o pam_module/pam_fido2gate.o lib/client.o; do
		like "$would" "-o $rel/$obj " "editing the protocol header rebuilds $obj"
	done
else
	skip 9 "the build is outside the checkout"
fi

done_testing
