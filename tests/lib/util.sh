# Shell helpers with no TAP in them: sourced by tests/lib/tap.sh and by
# the demo (demo/matrix.sh). Both expect $T, a private folder.

# wait_for SECONDS CMD...: run CMD every 0.1 s until it succeeds (0) or
# SECONDS pass (1). Wait for what a test needs to have happened, never a
# fixed time it is hoped to take.
wait_for() {
	local end=$(($(date +%s) + $1))
	shift
	until "$@"; do
		[ "$(date +%s)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# share FILE: copy FILE into $T/shared, readable (and, if it was,
# runnable) by any user, and print the copy's path. For what a test runs
# as another user: the checkout may sit under a folder only its owner can
# enter; $T is made 755, and TMPDIR (/tmp) lets everyone through.
share() {
	local dst="$T/shared/${1##*/}"
	mkdir -p "$T/shared" && chmod 755 "$T" "$T/shared" &&
		cp "$1" "$dst" && chmod a+rX "$dst" && echo "$dst"
}
