#!/bin/sh
# Installs the Debian packages fido2gate needs to build and test, when any
# is missing. Quick and silent when everything is present.
set -eu

PACKAGES="
gcc make pkg-config libc6-dev perl
libfido2-dev libcbor-dev libssl-dev libpam0g-dev
libjansson-dev libsqlite3-dev libmicrohttpd-dev libinih-dev libjose-dev
fido2-tools libpam-u2f pamu2fcfg pamtester libpam-wrapper libcmocka-dev
valgrind openssl sqlite3 python3 util-linux
clang libclang-rt-14-dev
"

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
[ -z "$missing" ] && exit 0

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
