#!/bin/bash
# The audit trail in the journal: a real systemd-journald, in a private
# mount namespace (its sockets and storage on tmpfs), receives one
# structured entry per audit record the agent keeps: an allowed login, a
# refused one, admin actions; with the fields and values of the record and
# no secret from the wire. Without a journal, the same facts reach syslog
# (/dev/log, LOG_AUTHPRIV).

# the whole test runs in its own mount namespace: re-run there first
JOURNALD=/lib/systemd/systemd-journald
if [ -z "${FG_JOURNAL_NS:-}" ]; then
	why=
	[ "$(id -u)" = 0 ] || why="needs root (a mount namespace)"
	[ -n "$why" ] || [ -x "$JOURNALD" ] || why="no $JOURNALD"
	[ -n "$why" ] || command -v journalctl > /dev/null || why="no journalctl"
	[ -n "$why" ] || command -v python3 > /dev/null || why="no python3"
	[ -n "$why" ] || unshare -m --propagation private true 2> /dev/null ||
		why="unshare -m is not permitted here"
	if [ -n "$why" ]; then
		echo "1..0 # SKIP $why"
		exit 0
	fi
	FG_JOURNAL_NS=1 exec unshare -m --propagation private "$0" "$@"
fi

. "$(dirname "$0")/../../lib/tap.sh"
. "$(dirname "$0")/../../lib/gate.sh"

FAULT_SO="$BUILD/test/fault.so"
JPID=
LOGPID=
trap 'agent_stop; [ -n "$JPID" ] && kill $JPID; [ -n "$LOGPID" ] && kill $LOGPID
	umount -R -l "$T/dev" 2> /dev/null; rm -rf "$T"' EXIT

# a /run of our own (journald's sockets, its runtime storage), a config of
# our own (volatile, no kernel messages, nothing forwarded anywhere), and
# the persistent storage out of reach
mount -t tmpfs tmpfs /run
[ -d /var/log/journal ] && mount -t tmpfs tmpfs /var/log/journal
printf '[Journal]\nStorage=volatile\nReadKMsg=no\nRateLimitBurst=0\nForwardToSyslog=no\nForwardToKMsg=no\nForwardToConsole=no\nForwardToWall=no\n' > "$T/journald.conf"
[ -f /etc/systemd/journald.conf ] &&
	mount --bind "$T/journald.conf" /etc/systemd/journald.conf
"$JOURNALD" > "$T/journald.log" 2>&1 &
JPID=$!
wait_for 10 test -S /run/systemd/journal/socket
ok $? "systemd-journald runs in the namespace" || diag_file "$T/journald.log"

jdump() { # the agent's entries, one JSON object a line
	journalctl -D /run/log/journal -o json --no-pager SYSLOG_IDENTIFIER=fido2gated 2> /dev/null
}
jcount_is() { # N
	[ "$(jdump | wc -l)" -ge "$1" ]
}

agent_start
ok $? "the agent starts"
enrol alice --label laptop > "$T/enrol" 2>&1
ok $? "enrol alice (an admin action)" || diag_file "$T/enrol"

# logins with every record the module sends captured (fault.so)
wire_login() { # VAR=VALUE...
	env "$@" FAULT_WIRE="$T/wire" \
		LD_PRELOAD="$PRE$FAULT_SO:$PAM_WRAPPER_SO:$SOFTKEY_SO" PAM_WRAPPER=1 \
		PAM_WRAPPER_SERVICE_DIR="$T/pam.d" \
		setsid pamtester gate alice authenticate < /dev/null >> "$T/pam.out" 2>&1
}
wire_login
ok $? "alice logs in with her key"
wire_login SOFTKEY_STATE="$T/other"
ok $((! $?)) "alice with another key is refused"
ctl unlock alice > /dev/null
ok $? "an admin clears alice's backoff (an admin action)"

ctl --json audit --limit 100 > "$T/audit.json"
n_audit=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))))' "$T/audit.json")
wait_for 10 jcount_is "$n_audit"
jdump > "$T/journal.json"
is "$(wc -l < "$T/journal.json")" "$n_audit" \
	"one journal entry per audit record ($n_audit)" || diag_file "$T/journal.json"

# each audit record has its entry, field for field; priorities and ids
python3 - "$T/audit.json" "$T/journal.json" "$AGENT_PID" > "$T/check" 2>&1 << 'PY'
import json, sys
audit = json.load(open(sys.argv[1]))
entries = [json.loads(l) for l in open(sys.argv[2])]
agent_pid = sys.argv[3]
F = {"event": "FIDO2GATE_EVENT", "user": "FIDO2GATE_USER",
     "result": "FIDO2GATE_RESULT", "reason": "FIDO2GATE_REASON",
     "credential": "FIDO2GATE_CREDENTIAL", "detail": "FIDO2GATE_DETAIL",
     "caller_uid": "FIDO2GATE_CALLER_UID", "caller_pid": "FIDO2GATE_CALLER_PID",
     "id": "FIDO2GATE_AUDIT_ID", "hash": "FIDO2GATE_AUDIT_HASH"}
def key(d, names):
    return tuple(str(d.get(n)) if d.get(n) is not None else None for n in names)
want = sorted(key(r, F.keys()) for r in audit)
got = sorted(key(e, F.values()) for e in entries)
print("fields", "same" if want == got else "differ: %r != %r" % (want, got))
for e in entries:
    print("entry", e["FIDO2GATE_EVENT"], e.get("FIDO2GATE_USER", "-"),
          e["FIDO2GATE_RESULT"], "prio=" + e["PRIORITY"],
          "facility=" + e.get("SYSLOG_FACILITY", "?"),
          "id=" + e.get("MESSAGE_ID", "?"),
          "pid=" + ("agent" if e["_PID"] == agent_pid else e["_PID"]),
          "msg=" + e["MESSAGE"])
print("names", " ".join(sorted({k for e in entries for k in e
                                 if not k.startswith("_")})))
PY
cat "$T/check" > /dev/null
like "$(cat "$T/check")" "^fields same$" \
	"every entry carries its record's event, user, result, reason, credential, detail, caller uid and pid, id and chain hash" ||
	diag_file "$T/check"
like "$(cat "$T/check")" "^entry auth.finish alice allow prio=6 facility=10 id=eccb7664fe2148a9871c504db42c9411 pid=agent msg=auth.finish alice allow: \"signature verified\", credential [A-Za-z0-9_-]+, \"service=gate rhost=- tty=-\" \(caller uid 0 pid [0-9]+\), record [0-9]+$" \
	"the allowed login: info, authpriv, the login message id, from the agent, a readable message" ||
	diag_file "$T/check"
like "$(cat "$T/check")" "^entry auth.(finish|abort) alice deny prio=5 .*id=eccb7664fe2148a9871c504db42c9411 pid=agent " \
	"the refused login: notice" || diag_file "$T/check"
like "$(cat "$T/check")" "^entry enroll alice ok prio=6 .*id=2add6e5faa164a4d9c6364c1fc035333 pid=agent msg=enroll alice ok: \"laptop\", credential " \
	"the enrolment: the admin message id" || diag_file "$T/check"
like "$(cat "$T/check")" "^entry unlock alice ok prio=6 .*id=2add6e5faa164a4d9c6364c1fc035333 " \
	"the unlock: the admin message id" || diag_file "$T/check"
like "$(cat "$T/check")" "^names FIDO2GATE_AUDIT_HASH FIDO2GATE_AUDIT_ID FIDO2GATE_CALLER_PID FIDO2GATE_CALLER_UID FIDO2GATE_CREDENTIAL( FIDO2GATE_DETAIL)? FIDO2GATE_EVENT FIDO2GATE_REASON FIDO2GATE_RESULT FIDO2GATE_USER MESSAGE MESSAGE_ID PRIORITY SYSLOG_FACILITY SYSLOG_IDENTIFIER$" \
	"no field but those (no session, challenge, signature)" || diag_file "$T/check"
journalctl -D /run/log/journal --no-pager -o cat -t fido2gated FIDO2GATE_USER=alice \
	FIDO2GATE_RESULT=allow > "$T/alice" 2>&1
like "$(cat "$T/alice")" "^auth.finish alice allow" \
	"journalctl -t fido2gated FIDO2GATE_USER=alice finds her logins"

# secrets from the wire: the session, the signature, the challenge
wire_secrets "$T/wire"
journalctl -D /run/log/journal -o export --no-pager > "$T/journal.export" 2>&1
for what in session sig chal; do
	! grep -qF -- "${!what}" "$T/journal.export"
	ok $? "no $what anywhere in the journal"
done
agent_stop

# no journal: the agent falls back to syslog. journald goes, with its
# sockets; /dev/log is a receiver of ours on a /dev of our own
kill "$JPID"
wait "$JPID" 2> /dev/null
JPID=
rm -rf /run/systemd/journal
mkdir "$T/dev"
mount -t tmpfs tmpfs "$T/dev"
for n in null zero full random urandom tty; do
	[ -e "/dev/$n" ] || continue
	touch "$T/dev/$n"
	mount --bind "/dev/$n" "$T/dev/$n"
done
mount --rbind "$T/dev" /dev
# (it stops reading while the file $T/stuck exists, as a stalled log does)
python3 -c '
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
out = open(sys.argv[1], "ab", buffering=0)
while True:
    while os.path.exists(sys.argv[2]):
        time.sleep(0.05)
    out.write(s.recv(65536) + b"\n")
' "$T/syslog" "$T/stuck" &
LOGPID=$!
wait_for 10 test -S /dev/log
ok $? "a /dev/log receiver, and no journal socket"
agent_start
ok $? "the agent starts without a journal"
wire_login
ok $? "alice logs in"
wire_login SOFTKEY_STATE="$T/other"
ok $((! $?)) "another key is refused"
syslog_has() { grep -Eq -- "$1" "$T/syslog" 2> /dev/null; }
wait_for 10 syslog_has 'fido2gated\[[0-9]+\]: event=auth.finish user="alice" result=allow'
ok $? "the allowed login reaches syslog" || diag_file "$T/syslog"
like "$(cat "$T/syslog")" "^<86>.*fido2gated\[$AGENT_PID\]: event=auth.finish user=\"alice\" result=allow reason=\"signature verified\" credential=[A-Za-z0-9_-]+ detail=\"service=gate rhost=- tty=-\" caller_uid=0 caller_pid=[0-9]+ audit_id=[0-9]+ audit_hash=[0-9a-f]{64}$" \
	"as one line: authpriv.info, the agent's pid, the record's facts" || diag_file "$T/syslog"
like "$(cat "$T/syslog")" "^<85>.*fido2gated\[$AGENT_PID\]: event=auth.(finish|abort) user=\"alice\" result=deny " \
	"the refusal too, authpriv.notice" || diag_file "$T/syslog"
wire_secrets "$T/wire" last
for what in session sig; do
	! grep -qF -- "${!what}" "$T/syslog"
	ok $? "no $what in syslog"
done

# a reason is the caller's text: quoted, it cannot pose as other fields
HOSTILE="/usr/bin/python3 $TOP/tests/tools/hostile.py $SOCK"
$HOSTILE abort alice 'no key" user=root result=allow reason="signature verified' > /dev/null
wait_for 10 syslog_has 'event=auth.abort .*no key'
like "$(grep 'event=auth.abort .*no key' "$T/syslog")" \
	'user="alice" result=deny reason="no key\\" user=root result=allow reason=\\"signature verified" credential=- ' \
	"a forged reason stays inside its quotes, escaped" || diag_file "$T/syslog"

# a log that stops reading (a stalled journald or rsyslog) must not stop
# logins: the records wait in a bounded queue, the overflow is dropped and
# counted, and the next record that gets through says how many
touch "$T/stuck"
for _ in $(seq 300); do echo unlock alice; done > "$T/unlocks"
while read -r cmd user; do ctl "$cmd" "$user" > /dev/null || break; done < "$T/unlocks"
ok $? "300 admin actions answered while the log reads nothing"
timeout 10 "$BUILD/fido2gatectl" --socket "$SOCK" status > /dev/null
ok $? "status answers"
wire_login
ok $? "alice logs in"
rm -f "$T/stuck"
# the next record that gets into the queue once it drains
unlock_and_look() {
	ctl unlock alice > /dev/null && syslog_has 'not_logged=[0-9]+$'
}
wait_for 20 unlock_and_look
ok $? "once the log reads again, a record says how many were not logged" ||
	diag "$(tail -n 3 "$T/syslog")"
agent_stop

done_testing
