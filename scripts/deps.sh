#!/bin/sh
# Installs the Debian packages fido2gate needs to build and test, when any
# is missing. Quick and silent when everything is present.
set -eu

PACKAGES="
gcc make pkg-config libc6-dev perl
libfido2-dev libcbor-dev libssl-dev libpam0g-dev
libjansson-dev libsqlite3-dev libpq-dev libmicrohttpd-dev libinih-dev libjose-dev
libcurl4-openssl-dev
fido2-tools libpam-u2f pamu2fcfg pamtester libpam-wrapper libcmocka-dev
valgrind openssl sqlite3 postgresql-15 python3 util-linux nftables iproute2
clang libclang-rt-14-dev
curl
scdoc gettext locales libsystemd-dev systemd udev umockdev bash-completion
man-db groff-base
dpkg-dev debhelper fakeroot lintian mmdebstrap
chromium apache2 libapache2-mod-auth-openidc python3-authlib python3-requests jq
"
# the web front's page script runs under Node.js in the tests (any
# Node.js will do; Debian's unless one is installed)
command -v node > /dev/null || PACKAGES="$PACKAGES nodejs"
# the browser and relying-party tests (tests/e2e/) also need npm; only
# with Debian's Node.js: npm comes with any other
command -v node > /dev/null || PACKAGES="$PACKAGES npm"

# `deps.sh bench`: what the benchmarks need besides (gnuplot; Node.js and
# npm unless some Node.js is already installed)
if [ "${1:-}" = bench ]; then
	PACKAGES="$PACKAGES gnuplot-nox"
	command -v node > /dev/null && command -v npm > /dev/null ||
		PACKAGES="$PACKAGES nodejs npm"
fi

missing=""
for p in $PACKAGES; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[ "$status" = "install ok installed" ] || missing="$missing $p"
done

if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: missing Debian packages:$missing" >&2
		echo "deps: run 'make' once as root, or: apt-get install$missing" >&2
		exit 1
	fi
	echo "deps: installing$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# shellcheck disable=SC2086
	apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# tests/e2e's npm packages (playwright-core, openid-client, oidc-provider), exactly as its
# package-lock.json pins them, when they are missing or older than the
# lock file. Without them the browser tests skip, saying so.
e2e="$(dirname "$0")/../tests/e2e"
if [ -f "$e2e/package-lock.json" ] && command -v npm > /dev/null &&
	{ [ ! -f "$e2e/node_modules/.package-lock.json" ] ||
		[ "$e2e/package-lock.json" -nt \
			"$e2e/node_modules/.package-lock.json" ]; }; then
	echo "deps: npm ci in tests/e2e"
	(cd "$e2e" && npm ci --no-audit --no-fund --loglevel=error >/dev/null) ||
		echo "deps: npm ci failed in tests/e2e: the browser tests will skip" >&2
fi
