#!/bin/bash
# A full disk: the store on a small tmpfs, filled up. Writes fail with a
# clear error, authentication is refused because the counter cannot be
# saved, nothing is corrupted, and once space returns the agent recovers
# by itself, without a restart.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"
sqlite_only "the store's file on a tmpfs of its own, filled up (PostgreSQL's disk is its server's)"

if [ "$(id -u)" != 0 ] || ! mkdir -p "$T/small" || ! mount -t tmpfs -o size=2m,mode=0700 tmpfs "$T/small" 2> /dev/null; then
	echo "1..0 # SKIP needs root and a tmpfs mount"
	exit 0
fi
trap 'agent_stop; umount "$T/small" 2> /dev/null; rm -rf "$T"' EXIT
DB="$T/small/store.db"
agent_start
enrol alice --label first > /dev/null 2>&1
ok $? "enrol alice on the small store"
pam_auth alice < /dev/null
ok $? "alice logs in"
before=$(sqlite3 "$DB" "SELECT sign_count FROM credentials")

# fill the disk to the last block
dd if=/dev/zero of="$T/small/filler" bs=4k 2> /dev/null
is "$(df --output=avail "$T/small" | tail -n 1 | tr -d ' ')" 0 "the disk is full"

pam_auth alice < /dev/null
ok $((! $?)) "authentication is refused when the counter cannot be saved"
grep -q "database or disk is full" "$T/agent.log"
ok $? "the agent's log says the disk is full"
SOFTKEY_STATE="$T/k2" enrol alice --label second 2> "$T/err" > /dev/null
ok $((! $?)) "an enrolment is refused"
like "$(cat "$T/err")" "store" "with a message about the store"
agent_alive
ok $? "the agent stays up"
ctl status > /dev/null
ok $? "and answers status"

rm -f "$T/small/filler"
pam_auth alice < /dev/null
ok $? "once space returns, alice logs in again without a restart"
SOFTKEY_STATE="$T/k2" enrol alice --label second > /dev/null 2>&1
ok $? "and enrolments work again"
after=$(sqlite3 "$DB" "SELECT sign_count FROM credentials WHERE label = 'first'")
ok $((! (after > before))) "the counter moved on from $before to $after, never back"
# the audit table is on the full disk too: the agent's log keeps the record
grep -q "audit write failed: auth.finish alice deny" "$T/agent.log"
ok $? "the refusal that could not be audited is in the agent's log"
agent_stop
is "$(sqlite3 "$DB" 'PRAGMA integrity_check')" ok "the store is consistent"
is "$(sqlite3 "$DB" "SELECT count(*) FROM credentials")" 2 "and holds exactly the two enrolments"

done_testing
