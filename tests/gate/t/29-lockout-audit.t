#!/bin/bash
# A lockout refuses every open session of the user, not only new ones,
# through PAM and through the protocol; and no client can write a line
# into the audit log that reads as another record or drives the terminal.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"

HOSTILE="/usr/bin/python3 $TOP/tests/tools/hostile.py $SOCK"
write_conf << 'CONF'
[policy]
user_verification = required
[rate_limit]
backoff_after = 3
lockout_after = 3
CONF
agent_start
export SOFTKEY_PIN=2468
echo 2468 | sk "$BUILD/fido2gatectl" --socket "$SOCK" enroll alice > /dev/null 2>&1
ok $? "enrol alice, with a PIN"

pending() {
	ctl --json status | sed -n 's/.*"pending_challenges": \([0-9]*\).*/\1/p'
}
wait_pending() { # wait_pending N
	wait_for 30 eval "[ \"\$(pending)\" = $1 ]"
}

# --- through PAM: the login waits at the PIN prompt while alice is locked
mkfifo "$T/pin"
pam_auth alice < "$T/pin" &
login=$!
exec 3> "$T/pin" # the login reads the PIN once we write it
wait_pending 1
ok $? "the PAM login has begun and waits for the PIN"
got=$($HOSTILE fail alice 3)
is "$got" "failed 3" "three failed attempts meanwhile"
like "$(ctl audit --limit 5)" "lockout +alice +deny" "alice is locked"
echo 2468 >&3
exec 3>&-
wait "$login"
ok $((! $?)) "the session opened before the lockout cannot finish after it (PAM)"
like "$(ctl audit --limit 5)" "auth.finish +alice +deny .*locked out" \
	"the agent says why"
ctl unlock alice > /dev/null
pam_auth alice <<< 2468
ok $? "once unlocked, alice's key gets in"

# --- through the protocol: a signed assertion held until after the lockout
rm -f "$T/go"
client login alice --wait-for "$T/go" > "$T/login.out" 2>&1 &
login=$!
wait_pending 1
$HOSTILE fail alice 3 > /dev/null
touch "$T/go"
wait "$login"
ok $((! $?)) "the session opened before the lockout cannot finish after it (protocol)"
like "$(cat "$T/login.out")" '"reason":"locked out"' "with the reason"
ctl unlock alice > /dev/null

# --- free text in the audit log ---
forged='no key\n2026-11-30 09:00:00Z auth.finish root allow uid=0 signature verified\x1b[2J'
got=$($HOSTILE abort alice "$forged")
like "$got" '"error": "bad_request"' "a reason with a newline and an escape is refused"
got=$($HOSTILE abort alice "$(printf 'x%.0s' $(seq 200))")
like "$got" '"error": "bad_request"' "an over-long reason is refused"
got=$($HOSTILE abort alice 'caf\u00e9 \u202eevil')
like "$got" '"error": "bad_request"' "a bidirectional override is refused"
got=$($HOSTILE abort alice 'le PIN est bloqu\u00e9')
like "$got" '"ok": true' "printable text, accents included, is kept"
unlike "$(ctl audit --limit 50)" "auth.finish +root +allow" "no forged record shows"

# a record an older agent may have stored, written straight into the store
# (on PostgreSQL with its id from audit_seq, as the agent takes it)
agent_stop
if on_postgresql; then
	store_sql "INSERT INTO audit (id, ts, event, \"user\", caller_uid, result, reason) \
		SELECT last + 1, 0, 'auth.abort', 'alice', 0, 'deny', 'x' || chr(10) || 'forged' || chr(27) || '[2J' || chr(155) || 'y' || chr(8238) FROM audit_seq; \
		UPDATE audit_seq SET last = last + 1;"
else
	sqlite3 "$DB" "PRAGMA trusted_schema=1; INSERT INTO audit (ts, event, user, caller_uid, result, reason) \
		VALUES (0, 'auth.abort', 'alice', 0, 'deny', 'x' || char(10) || 'forged' || char(27) || '[2J' || char(155) || 'y' || char(8238));"
fi
agent_start
human=$(ctl audit --limit 50)
like "$human" 'x\\x0aforged\\x1b\[2J\\xc2\\x9by\\xe2\\x80\\xae' "the human audit shows control characters escaped"
ctl audit --limit 50 | LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f]'
ok $((! $?)) "and holds no control character"
ctl --json audit --limit 50 | LC_ALL=C grep -q $'[\x01-\x09\x0b-\x1f\x7f-\xff]'
ok $((! $?)) "the JSON audit holds none either (and nothing but ASCII)"
like "$(ctl --json audit --limit 50)" 'x\\nforged\\u001[bB]\[2J\\u009[bB]y\\u202[eE]' \
	"JSON keeps the text, escaped"

done_testing
