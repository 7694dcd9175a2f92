#!/bin/bash
# Abuse limits: backoff after failed attempts, a lockout that only an admin
# clears (and that outlives the agent), a token bucket per calling uid,
# caps on connections, pending challenges and message size, and idle
# connections closed. Each limit is set small here and seen to bite.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"

# Debian's python3: the tests also run it as nobody
PEER="/usr/bin/python3 $TOP/tests/tools/sockpeer.py"

write_conf << 'CONF'
[rate_limit]
backoff_after = 2
backoff_base = 4
backoff_max = 8
lockout_after = 4
failure_window = 60
CONF
agent_start
enrol alice > /dev/null 2>&1
ok $? "enrol alice"

# --- backoff per user ---
pam_auth alice SOFTKEY_STATE="$T/other" < /dev/null
pam_auth alice SOFTKEY_STATE="$T/other" < /dev/null
ok $((! $?)) "two failed attempts with another key"
pam_auth alice < /dev/null
ok $((! $?)) "backoff_refuses_even_the_right_key_right_after_failures"
like "$OUT" "try again in [1-4] s" "the user is told how long to wait"
audit_has "auth.begin +alice +deny .*backing off"
ok $? "the refusal is audited"
sleep 4
pam_auth alice < /dev/null
ok $? "after the backoff the right key gets in"
pam_auth alice SOFTKEY_STATE="$T/other" < /dev/null
pam_auth alice < /dev/null
ok $? "a success reset the count: one failure does not back off"

# --- lockout, persistent, cleared by an admin ---
# each refusal already takes pam_fail_delay (2 s, which libpam varies by a
# quarter either way); wait out the rest with a margin
fail_and_wait() { # fail once, then wait out the backoff
	pam_auth "$1" SOFTKEY_STATE="$T/other" < /dev/null
	sleep "$2"
}
fail_and_wait alice 0
fail_and_wait alice 3.5
fail_and_wait alice 7.5
fail_and_wait alice 0
like "$OUT" "security key check failed" "the fourth failure in a row is refused"
pam_auth alice < /dev/null
ok $((! $?)) "lockout_refuses_the_right_key"
like "$OUT" "locked until an administrator" "the user is told to ask an admin"
audit_has "lockout +alice +deny .*4 failed attempts"
ok $? "the lockout is audited"
agent_stop
agent_start
pam_auth alice < /dev/null
ok $((! $?)) "the lockout outlives a restart of the agent"
ctl unlock alice > "$T/unlock.out"
ok $? "fido2gatectl unlock alice succeeds"
like "$(cat "$T/unlock.out")" "unlocked alice \(locked after 4 failed" "and says what it cleared"
audit_has "unlock +alice +ok .*lockout cleared"
ok $? "the unlock is audited"
pam_auth alice < /dev/null
ok $? "alice gets in after the unlock"
ctl unlock alice > "$T/unlock.out"
like "$(cat "$T/unlock.out")" "was not locked" "unlocking an unlocked user says so"

# an unknown user backs off and locks exactly like a known one
fail_and_wait ghost 0
fail_and_wait ghost 3.5
fail_and_wait ghost 7.5
fail_and_wait ghost 0
pam_auth ghost < /dev/null
like "$OUT" "locked until an administrator" "an unknown user is locked the same way (no enumeration)"
ctl unlock ghost > /dev/null

# expired challenges count as failures: begin and walk away
write_conf << 'CONF'
[limits]
challenge_timeout = 1
idle_timeout = 2
[rate_limit]
backoff_after = 2
backoff_base = 30
CONF
agent_stop
agent_start
for _ in 1 2; do
	printf '%s\n' '{"v":1,"op":"auth.begin","user":"bob"}' | "$BUILD/test/fg-client" "$SOCK" raw > /dev/null
done
sleep 2.5
got=$(printf '%s\n' '{"v":1,"op":"auth.begin","user":"bob"}' | "$BUILD/test/fg-client" "$SOCK" raw)
like "$got" '"error":"rate_limited"' "challenges left to expire count as failed attempts"
like "$got" '"retry_after":' "and the reply says when to retry"

# --- idle connections ---
like "$($PEER "$SOCK" idle 3.5)" "<closed>" "a connection idle past idle_timeout is closed"
like "$($PEER "$SOCK" idle 0.5)" '"ok":true' "a connection used within idle_timeout is served"

# --- message size ---
write_conf << 'CONF'
[limits]
max_message = 2048
max_pending = 3
max_connections = 6
max_connections_per_uid = 2
CONF
agent_stop
agent_start
like "$($PEER "$SOCK" size 2000)" '"ok":true' "a request under max_message is served"
like "$($PEER "$SOCK" size 3000)" '"error":"too_large"' "a request over max_message is refused"

# --- pending challenges ---
got=$(for _ in 1 2 3 4; do printf '%s\n' '{"v":1,"op":"auth.begin","user":"carol"}'; done |
	"$BUILD/test/fg-client" "$SOCK" raw | tail -n 1)
like "$got" '"error":"limit"' "the max_pending+1th challenge is refused"

# --- connections ---
got=$($PEER "$SOCK" hold 7 0.1 | tail -n 1)
like "$got" '"error":"limit".*too many connections"' "the max_connections+1th connection is turned away"
ctl status > /dev/null
ok $? "and the agent serves again once they close"

# --- a client that never reads its replies ---
like "$($PEER "$SOCK" flood 5000)" "<closed>" "a client that does not read its replies is hung up on"
ctl status > /dev/null
ok $? "the agent serves others after it"

if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
	chmod 755 "$T"
	as_nobody() { setpriv --reuid=nobody --regid=nogroup --clear-groups "$@"; }
	got=$(as_nobody $PEER "$SOCK" hold 3 0.1 | tail -n 1)
	like "$got" "too many connections from this user" "a non-root uid is capped at max_connections_per_uid"
	as_nobody "$BUILD/fido2gatectl" --socket "$SOCK" unlock alice 2> /dev/null
	is $? 4 "a non-admin cannot unlock"

	write_conf << 'CONF'
[rate_limit]
caller_rate = 1
caller_burst = 3
CONF
	agent_stop
	agent_start
	n_ok=0
	for _ in 1 2 3 4 5 6; do
		as_nobody "$BUILD/fido2gatectl" --socket "$SOCK" status > /dev/null 2> "$T/err" &&
			n_ok=$((n_ok + 1))
	done
	ok $((n_ok == 6)) "a non-root caller's burst is capped by its token bucket ($n_ok of 6 served)"
	like "$(cat "$T/err")" "too many requests" "and is told to slow down"
	for _ in 1 2 3 4 5 6; do ctl status > /dev/null || break; done
	ok $? "root, the PAM stack of every service, is not throttled per caller"
	sleep 1.2
	as_nobody "$BUILD/fido2gatectl" --socket "$SOCK" status > /dev/null
	ok $? "the bucket refills"
else
	skip 5 "needs root and setpriv to act as another user"
fi

# --- credentials per user ---
write_conf << 'CONF'
[limits]
max_credentials_per_user = 2
CONF
agent_stop
agent_start
SOFTKEY_STATE="$T/c1" enrol carol > /dev/null 2>&1
SOFTKEY_STATE="$T/c2" enrol carol > /dev/null 2>&1
ok $? "two credentials for carol"
SOFTKEY_STATE="$T/c3" enrol carol 2> "$T/err" > /dev/null
ok $((! $?)) "a third is refused at max_credentials_per_user"
like "$(cat "$T/err")" "revoke one first" "with a message saying what to do"
ctl revoke alice "$(ctl --json list alice | sed -n 's/.*"credential_id": "\(.\{8\}\).*/\1/p' | head -n 1)" > /dev/null
ctl revoke carol "$(ctl --json list carol | sed -n 's/.*"credential_id": "\(.\{8\}\).*/\1/p' | head -n 1)" > /dev/null
SOFTKEY_STATE="$T/c3" enrol carol > /dev/null 2>&1
ok $? "revoked credentials do not count"

# --- bad limit settings ---
printf '[limits]\nchallenge_timeout = 60\nidle_timeout = 30\n' > "$T/bad.conf"
"$BUILD/fido2gated" --check-config --config "$T/bad.conf" 2> "$T/err"
ok $((! $?)) "idle_timeout not above challenge_timeout is refused"
like "$(cat "$T/err")" "idle_timeout" "and named"
printf '[limits]\nmax_message = 100000\n' > "$T/bad.conf"
"$BUILD/fido2gated" --check-config --config "$T/bad.conf" 2> /dev/null
ok $((! $?)) "max_message above the protocol's 65536 is refused"
printf '[rate_limit]\nbackoff_after = 5\nlockout_after = 3\n' > "$T/bad.conf"
"$BUILD/fido2gated" --check-config --config "$T/bad.conf" 2> /dev/null
ok $((! $?)) "a lockout before the backoff starts is refused"

done_testing
