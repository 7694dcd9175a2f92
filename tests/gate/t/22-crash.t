#!/bin/bash
# kill -9 the agent at random moments under a mixed load of enrolments,
# logins and revocations, KILLS times (40 in make check; make crash runs
# 200): after every
# restart the store passes PRAGMA integrity_check (on PostgreSQL, run by
# 71-on-postgresql.t: answers), every acknowledged enrolment and
# revocation is there, no sign counter went backwards, and the audit log
# is still one intact chain.
. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"

KILLS=${KILLS:-40}
[ -n "${FG_SANITIZE:-}" ] && KILLS=${KILLS_SANITIZED:-15}
mkdir -p "$T/keys"
printf '[limits]\nmax_credentials_per_user = 40\n' | write_conf
agent_start
SOFTKEY_STATE="$T/keys/main" enrol alice --label main > /dev/null 2>&1
ok $? "enrol alice's main key"

# three clients, each logging what the agent acknowledged
enroller() {
	local i=0
	while [ ! -e "$T/stop" ]; do
		i=$((i + 1))
		SOFTKEY_STATE="$T/keys/k$i" enrol alice --label "k$i" > /dev/null 2>&1 &&
			echo "k$i" >> "$T/enrolled"
		sleep 0.2
	done
}
revoker() {
	local done_n=0 l rc
	while [ ! -e "$T/stop" ]; do
		l=$(sed -n "$((done_n + 1))p" "$T/enrolled" 2> /dev/null)
		if [ -n "$l" ]; then
			ctl revoke alice "$l" > /dev/null 2>&1
			rc=$?
			[ $rc = 0 ] && echo "$l" >> "$T/revoked"
			# 1: revoked before a crash cut the reply off; move on
			[ $rc = 0 ] || [ $rc = 1 ] && done_n=$((done_n + 1))
		fi
		sleep 0.1
	done
}
logger_in() {
	while [ ! -e "$T/stop" ]; do
		SOFTKEY_STATE="$T/keys/main" client login alice > /dev/null 2>&1
	done
}
: > "$T/enrolled"
: > "$T/revoked"
enroller &
e_pid=$!
revoker &
r_pid=$!
logger_in &
l_pid=$!

counters() { store_sql 'SELECT id, sign_count FROM credentials ORDER BY id' 2> /dev/null; }
# sound: SQLite's own check of its file; PostgreSQL recovers a client's
# death by itself (its transaction rolled back), and need only answer
sound() {
	if on_postgresql; then
		store_sql 'SELECT count(*) FROM credentials' > /dev/null 2>&1
	else
		[ "$(sqlite3 "$DB" 'PRAGMA integrity_check' 2>&1)" = ok ]
	fi
}

bad_integrity=0 lost_enrol=0 lost_revoke=0 backwards=0 no_start=0 kills=0
for i in $(seq "$KILLS"); do
	sleep "0.$((RANDOM % 4))$((RANDOM % 10))"
	before=$(counters)
	acked_e=$(sort -u "$T/enrolled")
	acked_r=$(sort -u "$T/revoked")
	kill -9 "$AGENT_PID" 2> /dev/null && kills=$((kills + 1))
	wait "$AGENT_PID" 2> /dev/null
	AGENT_PID=
	sound || bad_integrity=$((bad_integrity + 1))
	agent_start > /dev/null || { no_start=$((no_start + 1)); break; }
	listing=$(ctl list alice) || diag "list failed after kill $i"
	active=$(awk '$4 == "active" { print $NF }' <<< "$listing" | sort)
	revoked=$(awk '$4 == "revoked" { print $NF }' <<< "$listing" | sort)
	missing=$(comm -23 <(echo "$acked_e") <(sort <<< "$active
$revoked"))
	[ -z "$missing" ] || { lost_enrol=$((lost_enrol + $(wc -l <<< "$missing"))); diag "lost enrolments:" $missing; }
	missing=$(comm -23 <(echo "$acked_r") <(echo "$revoked"))
	[ -z "$missing" ] || { lost_revoke=$((lost_revoke + $(wc -l <<< "$missing"))); diag "lost revocations:" $missing; }
	after=$(counters)
	while read -r id n; do
		[ -z "$id" ] && continue
		m=$(awk -v id="$id" -F'|' '$1 == id { print $2 }' <<< "$after")
		[ "${m:-0}" -ge "$n" ] || { backwards=$((backwards + 1)); diag "credential $id: $n -> $m"; }
	done <<< "$(tr '|' ' ' <<< "$before")"
done
touch "$T/stop"
wait "$e_pid" "$r_pid" "$l_pid" 2> /dev/null

is "$kills" "$KILLS" "the agent was killed $KILLS times under load"
is "$no_start" 0 "it restarted every time"
is "$bad_integrity" 0 "the store was sound after every kill"
is "$lost_enrol" 0 "no acknowledged enrolment was lost ($(sort -u "$T/enrolled" | wc -l) acknowledged)"
is "$lost_revoke" 0 "no acknowledged revocation was lost ($(sort -u "$T/revoked" | wc -l) acknowledged)"
is "$backwards" 0 "no sign counter went backwards"
total=$(store_sql "SELECT count(*) FROM credentials")
is "$(ctl list alice | tail -n +2 | wc -l)" "$total" "fido2gatectl list pages through all $total credentials"
n=$(store_sql "SELECT sign_count FROM credentials WHERE label = 'main'")
ok $((! (n > 0))) "logins went on throughout (main key's counter is $n)"
SOFTKEY_STATE="$T/keys/main" pam_auth alice < /dev/null
ok $? "alice logs in with her main key at the end"
ctl audit --verify > "$T/verify" 2>&1
ok $? "the audit log is one intact chain after every kill" || diag_file "$T/verify"

done_testing
