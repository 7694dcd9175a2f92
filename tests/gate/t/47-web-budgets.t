#!/bin/bash
# The web front's defences against volume (web/README.md, "Budgets"):
# each client address has a request budget per class of endpoint, and
# a request over it is answered 429 with Retry-After and never reaches
# the agent (the stand-in agent, tests/web/fake_agent.py, logs every
# request it gets); another address is unaffected. Behind a trusted
# proxy the client is the rightmost X-Forwarded-For entry that is not a
# proxy: two clients through one proxy have budgets of their own, a
# forged leftmost entry buys nothing, the proxy itself is not held to
# the per-address connection limit, and an untrusted peer's header is
# ignored. The table of budgets stays bounded under 10,000 addresses. A
# request whose headers or body dribble in is cut at its deadline, and a
# Unix socket for the proxy gets the mode and group asked for.
. "$(dirname "$0")/../../lib/tap.sh"

PY=/usr/bin/python3
WEB="$TOP/tests/web"
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2> /dev/null; wait "$p" 2> /dev/null; done
	rm -rf "$T"' EXIT

# front NAME [ARGS...]: a fido2gate-web on a free loopback port, for the
# stand-in agent; its log in $T/NAME.log, its URL in $URL
front() {
	local name=$1
	shift
	"$BUILD/fido2gate-web" --agent "$FAKE" --listen 127.0.0.1:0 "$@" \
		2> "$T/$name.log" &
	PIDS+=($!)
	FRONT_PID=$!
	if ! wait_for 20 grep -q "listening on http://" "$T/$name.log"; then
		diag "fido2gate-web did not start:"
		diag_file "$T/$name.log"
		return 1
	fi
	URL=$(sed -n 's/.*listening on \(http:.*\)$/\1/p' "$T/$name.log")
}
# code PATH [CURL-ARGS...]: the status of one request; the body in
# $T/body, the headers in $T/head
code() {
	local path=$1
	shift
	curl -s -o "$T/body" -D "$T/head" -w '%{http_code}' --max-time 30 \
		"$@" "$URL$path"
}
header() { # NAME: its value in the last answer
	tr -d '\r' < "$T/head" | sed -n "s/^$1: //Ip" | head -n 1
}
json() { # EXPR on the last body, as j
	$PY -c "import json,sys; j=json.load(open(sys.argv[1])); print($1)" \
		"$T/body" 2> /dev/null
}
# codes N PATH [CURL-ARGS...]: N requests, one after the other; their
# statuses counted ("10x200 20x429")
codes() {
	local n=$1 i
	shift
	for i in $(seq "$n"); do
		code "$@"
		echo
	done | sort | uniq -c | awk '{ printf "%s%sx%s", sep, $1, $2; sep = " " }'
}
# relayed OP: how many requests of OP the agent has had
relayed() {
	grep -c "\"op\": \"$1\"" "$T/relayed" 2> /dev/null
}
AUTHZ='/authorize?client_id=synapse&redirect_uri=https%3A%2F%2Fmatrix.test%2F_synapse%2Fclient%2Foidc%2Fcallback&response_type=code&scope=openid&state=s'
begin() { # [CURL-ARGS...]: a /login/begin the agent refuses (no such tx)
	code /login/begin -H 'Content-Type: application/json' \
		-H "Origin: $URL" --data-binary '{"tx":"AAAAAAAAAAAAAAAAAAAAAA","user":"alice"}' "$@"
}

FAKE="$T/fake.sock"
$PY "$WEB/fake_agent.py" "$FAKE" "$T/relayed" "$T/fake.mode" 2> "$T/fake.err" &
PIDS+=($!)
wait_for 20 test -S "$FAKE"

# --- budgets per address, without a proxy ---
# a minute's rate, so that the burst is all there is while the test runs
front direct --login-budget 1/m,10 --token-budget 1/m,5 \
	--document-budget off || exit 1
start=$(date +%s)
is "$(codes 30 "$AUTHZ")" "10x200 20x429" \
	"30 /authorize from one address: the burst (10) served, the rest 429"
is "$(relayed oidc.authorize)" 10 "the agent saw the 10 only"
code "$AUTHZ" > /dev/null
like "$(header Retry-After)" '^[1-9][0-9]?$' "a 429 says when to retry (Retry-After)"
is "$(header Location)" "" "and is no redirect"
like "$(cat "$T/body")" '<title>Too many requests</title>' "a page that says so"
is "$(header X-Frame-Options) $(header Cache-Control)" "DENY no-store" \
	"with the security headers"
beginx() { # N [CURL-ARGS...]: N /login/begin, their statuses counted
	local n=$1 i
	shift
	for i in $(seq "$n"); do
		begin "$@"
		echo
	done | sort | uniq -c | awk '{ printf "%s%sx%s", sep, $1, $2; sep = " " }'
}
is "$(beginx 30)" "30x429" \
	"/login/begin from that address: the same budget, spent: 429"
is "$(relayed web.begin)" 0 "and the agent saw none of them"
is "$(codes 5 "$AUTHZ" --interface 127.0.0.2)" "5x200" \
	"another address (127.0.0.2) is unaffected"
is "$(beginx 30 --interface 127.0.0.3)" "10x403 20x429" \
	"30 /login/begin from a third: 10 reach the agent (which refuses them), 20 get 429"
is "$(relayed web.begin)" 10 "the agent saw the 10 only"
begin --interface 127.0.0.3 > /dev/null
is "$(json 'j["error"]') $(json 'j["retry_after"] > 0')" "too_many_requests True" \
	"the page's JSON says too_many_requests, and when to retry"
# /token and /userinfo come from the homeserver: a budget of their own
is "$(code /token -u 'synapse:s3cr%3Aet%2B%2F%25' \
	-d 'grant_type=authorization_code&code=goodcode')" 200 \
	"/token from the address whose login budget is spent: served"
is "$(codes 5 /userinfo -H 'Authorization: Bearer at-123')" "4x200 1x429" \
	"/token and /userinfo share their own budget (5)"
is "$(json 'j["error"]')" too_many_requests "a JSON 429 for the relying party"
is "$(codes 50 /.well-known/openid-configuration)" 50x200 \
	"--document-budget off: discovery is never refused"
is "$(codes 50 /static/login.css)" 50x200 "nor are the static files"
lines=$(grep -c " 429: over the " "$T/direct.log")
[ "$lines" -ge 2 ] && [ "$lines" -le 10 ]
ok $? "the refusals are logged once per address, not once each ($lines lines)" ||
	diag_file "$T/direct.log"
like "$(grep -m 1 ' 429: ' "$T/direct.log")" \
	'127\.0\.0\.1 GET /authorize 429: over the login budget of 1/min, burst 10' \
	"the line names the address and the budget"
elapsed=$(($(date +%s) - start))
[ "$elapsed" -lt 60 ]
ok $? "(all within a minute, so that no budget refilled: $elapsed s)"

# --- state and nonce: 512 bytes at most, refused without a redirect ---
long=$(head -c 513 /dev/zero | tr '\0' s)
before=$(relayed oidc.authorize)
is "$(code "$AUTHZ$long" --interface 127.0.0.2)" 400 \
	"a state of 513 bytes: 400"
is "$(header Location)" "" "no redirect"
like "$(cat "$T/body")" "state is longer than 512 bytes" "the page says why"
is "$(code "$AUTHZ&nonce=$long" --interface 127.0.0.2)" 400 \
	"a nonce of 513 bytes: 400"
is "$(relayed oidc.authorize)" "$before" "neither reached the agent"
is "$(code "/authorize?client_id=synapse&state=${long%s}&nonce=${long%s}" \
	--interface 127.0.0.2)" 400 "512 bytes of each go on to the agent"
like "$(tail -n 1 "$T/relayed")" '"state": "s{512}"' "(which refuses the unknown client)"

# --- behind a trusted proxy ---
front proxied --trusted-proxy 127.0.0.1 --login-budget 1/m,3 \
	--max-connections-per-ip 4 --request-timeout 600 || exit 1
is "$(codes 5 "$AUTHZ" -H 'X-Forwarded-For: 198.51.100.1')" "3x200 2x429" \
	"client A through the proxy: its burst (3), then 429"
is "$(codes 5 "$AUTHZ" -H 'X-Forwarded-For: 198.51.100.2')" "3x200 2x429" \
	"client B through the same proxy: a budget of its own"
before=$(relayed oidc.authorize)
forged() {
	for i in $(seq 10); do
		code "$AUTHZ" -H "X-Forwarded-For: 10.$i.0.1, 198.51.100.1"
		echo
	done | sort | uniq -c | awk '{ printf "%s%sx%s", sep, $1, $2; sep = " " }'
}
is "$(forged)" 10x429 \
	"client A forging a new leftmost entry each time: still A's budget, 429"
is "$(codes 2 "$AUTHZ" -H 'X-Forwarded-For: 198.51.100.9' \
	-H 'X-Forwarded-For: 198.51.100.1')" 2x429 \
	"nor does a header of its own before the proxy's"
is "$(relayed oidc.authorize)" "$before" "the agent saw none of those"
is "$(codes 4 "$AUTHZ" -H 'X-Forwarded-For: 2001:db8:1:2::1')" "3x200 1x429" \
	"an IPv6 client: its budget"
is "$(codes 2 "$AUTHZ" -H 'X-Forwarded-For: 2001:db8:1:2:ffff::7')" 2x429 \
	"is its /64's"
is "$(codes 1 "$AUTHZ" -H 'X-Forwarded-For: [2001:db8:1:3::1]:4711')" 1x200 \
	"and not the next /64's"
untrusted() {
	for i in $(seq 5); do
		code "$AUTHZ" --interface 127.0.0.2 \
			-H "X-Forwarded-For: 203.0.113.$i"
		echo
	done | sort | uniq -c | awk '{ printf "%s%sx%s", sep, $1, $2; sep = " " }'
}
is "$(untrusted)" "3x200 2x429" \
	"an untrusted peer's X-Forwarded-For is ignored: five \"clients\", one budget"
like "$(grep ' 429: ' "$T/proxied.log" | head -n 1)" '^fido2gate-web: 198\.51\.100\.1 ' \
	"the log names the client behind the proxy"

# the proxy holds as many connections as it needs; anyone else, 4
port=${URL##*:}
$PY "$WEB/slow_clients.py" 127.0.0.1 127.0.0.1 "$port" 12 "$T/slow-proxy" &
SLOW1=$!
PIDS+=($SLOW1)
$PY "$WEB/slow_clients.py" 127.0.0.2 127.0.0.1 "$port" 12 "$T/slow-other" &
SLOW2=$!
PIDS+=($SLOW2)
wait_for 60 grep -Eqs 'open=[0-4] round=([3-9]|[1-9][0-9])' "$T/slow-other"
ok $? "12 connections from another address: the front holds at most 4" ||
	diag "$(cat "$T/slow-other" 2> /dev/null)"
grep -Eq 'tried=12 open=12 ' "$T/slow-proxy"
ok $? "12 from the trusted proxy: all held (its own limits take that role)" ||
	diag "$(cat "$T/slow-proxy" 2> /dev/null)"
is "$(code "$AUTHZ" -H 'X-Forwarded-For: 198.51.100.77')" 200 \
	"and a client still gets through the proxy meanwhile"
kill "$SLOW1" "$SLOW2"
grep -q "127.0.0.2: over the connection limit of 4 per address" "$T/proxied.log"
ok $? "the refused connections are logged"

# --- the table of budgets stays bounded ---
front table --trusted-proxy 127.0.0.1 --login-budget 1/m,2 \
	--budget-table 1000 --request-timeout 600 || exit 1
is "$(codes 3 "$AUTHZ" -H 'X-Forwarded-For: 192.0.2.1')" "2x200 1x429" \
	"client A spends its budget"
rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$FRONT_PID/status"; }
rss_before=$(rss)
# 10,000 addresses, each once (a repeated state: the front answers 400
# itself, after the budget, without the agent)
$PY - "${URL##*:}" > "$T/many" << 'PY'
import http.client, sys
port = int(sys.argv[1])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
counts = {}
for i in range(10000):
    xff = "10.%d.%d.%d" % (i >> 16 & 255, i >> 8 & 255, i & 255)
    conn.request("GET", "/authorize?state=a&state=b",
                 headers={"X-Forwarded-For": xff})
    r = conn.getresponse()
    r.read()
    counts[r.status] = counts.get(r.status, 0) + 1
print(" ".join("%dx%d" % (n, s) for s, n in sorted(counts.items())))
PY
is "$(cat "$T/many")" "10000x400" \
	"10,000 new addresses through the proxy: each served (none refused)"
like "$(grep -m 1 'budget table is full' "$T/table.log")" \
	'budget table is full \(1000 addresses\)' \
	"the front says its table (1000 addresses) is full"
is "$(code "$AUTHZ" -H 'X-Forwarded-For: 192.0.2.1')" 200 \
	"client A, the oldest, was forgotten to make room: the table did not grow"
rss_after=$(rss)
if [ -n "${FG_SANITIZE:-}" ]; then
	skip 1 "under the sanitizers (ASan keeps freed memory in quarantine)"
else
	[ -n "$rss_before" ] && [ -n "$rss_after" ] &&
		[ $((rss_after - rss_before)) -lt 4096 ]
	ok $? "the front's memory grew by less than 4 MiB ($rss_before kB, then $rss_after kB)"
fi

# --- a request must be in within its deadline ---
front deadline --request-timeout 2 --timeout 60 || exit 1
port=${URL##*:}
# headers one byte a second (never idle long), then a body the same way:
# each connection closed by the front within a few seconds, long before
# its idle timeout
dribble() { # WHAT
	$PY - "$port" "$1" << 'PY'
import select, socket, sys, time
port, what = int(sys.argv[1]), sys.argv[2]
s = socket.create_connection(("127.0.0.1", port))
head = b"POST /token HTTP/1.1\r\nHost: x\r\n" \
    b"Content-Type: application/x-www-form-urlencoded\r\n" \
    b"Content-Length: 1000\r\n\r\n"
if what == "body":
    s.sendall(head)
    data = b"a" * 1000
else:
    data = head
start = time.monotonic()
for i in range(len(data)):
    if time.monotonic() - start > 20:
        print("still open after 20 s")
        sys.exit(1)
    try:
        s.send(data[i:i + 1])
    except OSError:
        break
    r, _, _ = select.select([s], [], [], 1)
    if r:
        try:
            if s.recv(4096) == b"":
                break
        except OSError:
            break
print("closed after %d s" % round(time.monotonic() - start))
PY
}
like "$(dribble headers)" '^closed after [2-6] s$' \
	"headers a byte a second: cut at the 2 s deadline, not the 60 s idle timeout"
like "$(dribble body)" '^closed after [2-6] s$' "a body a byte a second: cut too"
grep -q "127.0.0.1: no whole request within 2 s: connection closed" "$T/deadline.log"
ok $? "the cut is logged"
is "$(code /.well-known/openid-configuration)" 200 "a prompt request is served"

# --- the login page tells the user ---
if command -v node > /dev/null; then
	front page --login-budget 1/m,1 || exit 1
	node "$WEB/login_page.js" "$URL$AUTHZ" sign > "$T/page.json" 2> "$T/page.err"
	like "$($PY -c 'import json,sys; print(json.load(open(sys.argv[1]))["error"])' \
		"$T/page.json" 2> /dev/null)" \
		"Too many sign-in requests from your network. Wait [1-6][0-9] seconds" \
		"over budget at login/begin: the page says to wait, and how long" ||
		diag_file "$T/page.json"
else
	skip 1 "Node.js is not installed"
fi

# --- a Unix socket that only the proxy's group can reach ---
"$BUILD/fido2gate-web" --agent "$FAKE" --listen "unix:$T/web.sock" \
	--listen-mode 0660 --listen-group daemon --login-budget 1/m,2 \
	2> "$T/unix.log" &
PIDS+=($!)
wait_for 20 test -S "$T/web.sock"
is "$(stat -c '%a %G' "$T/web.sock")" "660 daemon" \
	"--listen-mode 0660 --listen-group daemon: the socket's mode and group"
like "$(cat "$T/unix.log")" "listening on unix:.*web.sock \(mode 0660, group daemon\)" \
	"and the log says so"
ucodes() { # N XFF
	for i in $(seq "$1"); do
		curl -s -o /dev/null -w '%{http_code}\n' --unix-socket "$T/web.sock" \
			-H "X-Forwarded-For: $2" "http://fido2gate$AUTHZ"
	done | sort | uniq -c | awk '{ printf "%s%sx%s", sep, $1, $2; sep = " " }'
}
is "$(ucodes 3 198.51.100.1) / $(ucodes 3 198.51.100.2)" "2x200 1x429 / 2x200 1x429" \
	"on a Unix socket every peer is the proxy: each client its own budget"
if [ "$(id -u)" -eq 0 ] && command -v setpriv > /dev/null; then
	chmod 755 "$T"
	as() { # GROUP: a request as nobody in GROUP
		setpriv --reuid=nobody --regid="$1" --clear-groups \
			curl -s -o /dev/null -w '%{http_code}' --unix-socket "$T/web.sock" \
			http://fido2gate/static/login.css
	}
	is "$(as nogroup)" 000 "a user outside the group cannot connect"
	is "$(as daemon)" 200 "a member of the group can"
else
	skip 2 "needs root and setpriv to connect as other users"
fi

# --- the command line ---
for bad in "--login-budget 0,5" "--login-budget 5" "--token-budget 5/h,1" \
	"--budget-table 1" "--trusted-proxy 0.0.0.0/0" "--trusted-proxy 1.2.3.4:80" \
	"--trusted-proxy host.example" "--request-timeout 0" "--listen-mode 0660"; do
	# shellcheck disable=SC2086
	"$BUILD/fido2gate-web" --agent "$FAKE" --listen 127.0.0.1:0 $bad 2> /dev/null
	is $? 2 "refused: $bad"
done
"$BUILD/fido2gate-web" --help | grep -q -- '--trusted-proxy'
ok $? "--help lists --trusted-proxy and the budgets"
grep -l "AddressSanitizer\|runtime error\|LeakSanitizer" "$T"/*.log
ok $((! $?)) "no sanitizer report in any front's log"

done_testing
