# shellcheck shell=bash
# Helpers for the tests that drive real web fronts over HTTP with curl
# (48-web-networks, 69-pg-two-fronts, 74-pg-two-fronts-invite). Sourced
# after tap.sh; the caller keeps $PIDS and kills them on exit.

# front N SOCKET [ARGS...]: fido2gate-web N on a free loopback port, for
# the agent at SOCKET, with no budget per address (every request comes
# from 127.0.0.1) unless ARGS say otherwise; sets URL<N>
front() {
	local n=$1 sock=$2
	shift 2
	"$BUILD/fido2gate-web" --agent "$sock" --listen 127.0.0.1:0 \
		--login-budget off --token-budget off "$@" 2> "$T/front$n.log" &
	PIDS+=($!)
	if ! wait_for 20 grep -q "listening on http://" "$T/front$n.log" 2> /dev/null; then
		diag_file "$T/front$n.log"
		return 1
	fi
	printf -v "URL$n" '%s' "$(sed -n 's/.*listening on \(http:.*\)$/\1/p' "$T/front$n.log")"
}

# req URL [CURL-ARGS...]: the status in $CODE, the body in $T/body, the
# headers in $T/head
req() {
	local url=$1
	shift
	# shellcheck disable=SC2034 # read by the tests
	CODE=$(curl -s -o "$T/body" -D "$T/head" -w '%{http_code}' --max-time 30 "$@" "$url")
}
header() { # NAME: its value in the last answer
	tr -d '\r' < "$T/head" | sed -n "s/^$1: //Ip" | head -n 1
}
json() { # EXPR: a Python expression on the last body, as j
	/usr/bin/python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($1)" \
		"$T/body" 2> /dev/null
}
# jpost URL PATH JSON [CURL-ARGS...]: the page's POST to the front at URL
jpost() {
	local url=$1 path=$2 body=$3
	shift 3
	req "$url/$path" -H 'Content-Type: application/json' -H "Origin: $url" \
		--data-binary "$body" "$@"
}
