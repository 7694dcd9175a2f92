#!/bin/bash
# Every gate test whose subject is what the store keeps, run again with the
# agent on PostgreSQL (FG_TEST_STORE=postgresql, read by tests/lib/gate.sh
# alone): users and keys, PINs, counters, the CLI, the store itself,
# kill -9 under load, rate limits and lockouts, the audit log and its
# chain, imports, locks, admins and their requests, invitations, the
# browser's logins under way per client network. One throwaway cluster
# (tests/lib/pg.sh) for them all, a fresh database for each. Each test is one ok or not ok
# here, its failing lines shown as diagnostics; a test that skips itself
# is a skip, with its reason. The tests left on SQLite alone, and why, are
# listed in docs/postgresql.md.
. "$(dirname "$0")/../../lib/tap.sh"
. "$TOP/tests/lib/pg.sh"
if why=$(pg_missing); then
	echo "1..0 # SKIP $why"
	exit 0
fi
trap 'pg_cleanup; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

# PG_TESTS: some of them only, when working on one. The longest first,
# for the two at a time below to end together.
TESTS=${PG_TESTS:-"21-limits 64-admin 22-crash 60-audit-chain
	61-import-pam-u2f 10-pam 65-invite 75-invite-restart 63-lock 11-pin
	15-counter 13-protocol 17-store 16-cli 62-attest-policy 29-lockout-audit
	12-keys 14-callers 48-web-networks"}
# Under the sanitizers (make check's second pass) the backend's code is
# what is new: the tests that write the most through it, not all again.
[ -n "${FG_SANITIZE:-}" ] && [ -z "${PG_TESTS:-}" ] &&
	TESTS="64-admin 60-audit-chain 15-counter 17-store 29-lockout-audit"

pg_start
ok $? "a PostgreSQL cluster for the tests" || exit 1

# verdict NAME STATUS OUT SECONDS: the sub-test's TAP in OUT, as one line
verdict() {
	local name=$1 st=$2 out=$3 secs=$4 plan n bad why
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\).*/\1/p' "$out" | tail -n 1)
	if [ "$plan" = 0 ] && [ "$st" = 0 ]; then
		why=$(sed -n 's/^1\.\.0 *# *[Ss][Kk][Ii][Pp] *//p' "$out")
		skip 1 "$name on PostgreSQL: ${why:-skipped}"
		return 0
	fi
	n=$(grep -cE '^(not )?ok [0-9]+' "$out")
	bad=$(grep -cE '^not ok [0-9]+' "$out")
	if [ "$st" = 0 ] && [ -n "$plan" ] && [ "$n" = "$plan" ] && [ "$bad" = 0 ]; then
		ok 0 "$name on PostgreSQL ($n tests, ${secs} s)"
		return 0
	fi
	ok 1 "$name on PostgreSQL"
	diag "  exit status $st, plan ${plan:-missing}, $n ran, $bad failed"
	# each failing line with the diagnostics under it
	awk '/^not ok [0-9]+/ { show = 1; print; next }
		/^(ok [0-9]+|1\.\.)/ { show = 0 }
		show && /^#/ { print }' "$out" | head -n 60 | sed 's/^/#   /'
	if [ "$bad" = 0 ]; then
		diag "  its last lines:"
		tail -n 15 "$out" | sed 's/^/#   /'
	fi
	return 1
}

# run NAME: one test on the cluster, its TAP in $T/NAME.out, its status
# and seconds in $T/NAME.st. 22-crash kills the agent 15 times, not 40:
# the SQLite run has the length, this one the other backend.
run() {
	local start st
	start=$(date +%s)
	FG_TEST_STORE=postgresql FG_TEST_PGT=$PGT KILLS=${KILLS:-15} timeout 600 \
		bash "$TOP/tests/gate/t/$1.t" < /dev/null > "$T/$1.out" 2>&1
	st=$?
	echo "$st $(($(date +%s) - start))" > "$T/$1.st"
}

# two at a time: the tests mostly wait (on backoffs, timeouts, PAM's fail
# delay), each in its own folder, socket and database
running=0
for t in $TESTS; do
	[ -f "$TOP/tests/gate/t/$t.t" ] || continue
	if [ "$running" -ge "${PG_JOBS:-2}" ]; then
		wait -n
		running=$((running - 1))
	fi
	run "$t" &
	running=$((running + 1))
done
wait

for t in $TESTS; do
	if [ ! -f "$TOP/tests/gate/t/$t.t" ]; then
		ok 1 "$t: no such test"
	elif [ ! -s "$T/$t.st" ]; then
		ok 1 "$t on PostgreSQL: it did not finish"
	else
		read -r st secs < "$T/$t.st"
		verdict "$t" "$st" "$T/$t.out" "$secs"
	fi
done

# the cluster holds nothing the tests left behind
is "$(pg_sql postgres "SELECT count(*) FROM pg_database WHERE datname LIKE 'fg\\_%'")" 0 \
	"every test removed its database"

done_testing
