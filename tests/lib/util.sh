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

# tls_localhost DIR: a test CA (DIR/ca.pem) and a certificate for
# localhost and 127.0.0.1 that it signed (DIR/idp.pem, key DIR/idp.key),
# made with openssl for a provider the tests run over HTTPS; its log in
# DIR/openssl.log. Status 0 when all of it was made. (POSIX sh: the
# tests that sh runs source this file too.)
tls_localhost() {
	local d=$1
	mkdir -p "$d" &&
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
			-keyout "$d/ca.key" -out "$d/ca.pem" -subj "/CN=fido2gate test CA" \
			-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign \
			2> "$d/openssl.log" &&
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout "$d/idp.key" -out "$d/idp.csr" -subj "/CN=localhost" \
			2>> "$d/openssl.log" &&
		printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' \
			> "$d/idp.ext" &&
		openssl x509 -req -in "$d/idp.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
			-CAcreateserial -days 2 -out "$d/idp.pem" -extfile "$d/idp.ext" \
			2>> "$d/openssl.log"
}
