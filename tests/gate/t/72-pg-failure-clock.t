#!/bin/bash
# Failed attempts counted in the store (failures) with the time of the
# last one: that time must mean the same at every agent. Here the second
# agent runs in a time namespace whose monotonic clock is 30 days ahead of
# the first's, as on a host up 30 days longer; failures alternating
# between the two agents still lock the user out at lockout_after, not at
# twice that (a monotonic time in the store restarted the count at each
# change of agent).
. "$(dirname "$0")/../../lib/tap.sh"
. "$TOP/tests/lib/pg.sh"
if why=$(pg_missing); then
	echo "1..0 # SKIP $why"
	exit 0
fi
if ! unshare --time --monotonic 1 true 2> /dev/null; then
	echo "1..0 # SKIP no time namespace (root and Linux 5.6 or later)"
	exit 0
fi
# its store is its own, whatever FG_TEST_STORE says
FG_TEST_STORE=sqlite
. "$TOP/tests/lib/gate.sh"
AGENT2_PID=
trap 'agent_stop; [ -z "$AGENT2_PID" ] || { kill "$AGENT2_PID"; wait "$AGENT2_PID"; }
	pg_cleanup; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

pg_start
ok $? "a PostgreSQL cluster on a Unix socket" || exit 1
pg_createdb fg
DB="postgresql:$(pg_conninfo fg)"
printf '[rate_limit]\nbackoff_after = 4\nlockout_after = 4\n' | write_conf
agent_start
ok $? "the first agent" || exit 1
SOCK2="$T/agent2.sock"
agent2_start unshare --time --monotonic 2592000
ok $? "the second, its monotonic clock 30 days ahead" || diag_file "$T/agent2.log"
pam_service gate2 "socket=$SOCK2" timeout=5
SOFTKEY_STATE="$T/key-bob" enrol bob > /dev/null 2>&1 &&
	SOFTKEY_STATE="$T/key-hank" enrol hank > /dev/null 2>&1
ok $? "enrol bob and hank"
for s in gate gate2 gate gate2; do
	SERVICE=$s pam_auth hank SOFTKEY_STATE="$T/key-bob" < /dev/null
done
is "$(pg_sql fg "SELECT count(*) FROM audit WHERE event = 'lockout' AND \"user\" = 'hank'")" 1 \
	"two failed attempts at each agent lock hank out (lockout_after = 4)" ||
	diag "failures: $(pg_sql fg "SELECT n, last_fail FROM failures")"
SERVICE=gate pam_auth hank SOFTKEY_STATE="$T/key-hank" < /dev/null
ok $((! $?)) "and his own key is refused at the first agent" || diag "$OUT"

done_testing
