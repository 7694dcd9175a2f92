#!/bin/bash
# `make deb`: the package builds, lintian finds no error and no warning,
# and in a clean Debian 12 root made by mmdebstrap it installs with apt
# (which fetches its dependencies), `fido2gated --check-config` accepts the
# shipped config, the agent starts from /usr/sbin as its unit starts it,
# a login through the installed module, enabled by pam-auth-update in the
# root's common-auth (the real pam_unix and the real libpam: the test is
# root inside the root, nothing is wrapped), is refused without the key
# and accepted with it, and `apt-get purge` leaves nothing behind but what
# Debian policy allows: the system users and group (kept, as policy
# advises) and apt's and dpkg's own logs and state.
#
# The root has systemd, as a Debian 12 system does (the package needs
# systemd-sysusers); apt fetches the rest.
#
# Everything in the root runs as mmdebstrap's customize hook
# (tests/gate/deb-inside.sh), which writes NAME=VALUE results that this
# test checks. Downloaded packages and apt's lists are kept in
# $FG_APT_CACHE (/var/cache/fido2gate-test/apt) between runs.
. "$(dirname "$0")/../../lib/tap.sh"

skip_if_sanitized "it would only repeat the plain build's package test"
for tool in dpkg-buildpackage lintian mmdebstrap git; do
	if ! command -v $tool > /dev/null; then
		echo "1..0 # SKIP $tool is missing"
		exit 0
	fi
done
if [ ! -f "$SOFTKEY_SO" ]; then
	echo "1..0 # SKIP the soft key $SOFTKEY_SO is not built"
	exit 0
fi
start=$(date +%s)

make -s -C "$TOP" BUILD="$BUILD" deb > "$T/deb.log" 2>&1
ok $? "make deb" || diag_file "$T/deb.log" 40
DEB=$(ls "$BUILD"/deb/fido2gate_*_*.deb 2> /dev/null | head -n 1)
[ -n "$DEB" ]
ok $? "the package is in $BUILD/deb/"
if [ -z "$DEB" ]; then
	done_testing
	exit
fi
diag "$(basename "$DEB"): $(stat -c %s "$DEB") bytes, installed size" \
	"$(dpkg-deb -f "$DEB" Installed-Size) KiB"
built=$(date +%s)

lintian "$BUILD"/deb/fido2gate_*.changes > "$T/lintian.log" 2>&1
is "$(grep -E '^[EW]: ' "$T/lintian.log")" "" "lintian: no error, no warning" ||
	diag_file "$T/lintian.log"

# the Debian mirror this machine uses (its apt sources), bookworm
MIRROR=()
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
	/etc/apt/sources.list.d/*.sources; do
	[ -f "$f" ] && grep -Eq '^[^#]*(deb|URIs:).*/debian' "$f" && MIRROR+=("$f")
done
CACHE=${FG_APT_CACHE:-/var/cache/fido2gate-test/apt}/archives
LISTS=${FG_APT_CACHE:-/var/cache/fido2gate-test/apt}/lists
mkdir -p "$CACHE" "$LISTS" "$T/fg" "$T/out"
cp "$DEB" "$T/fg/fido2gate.deb"
cp "$SOFTKEY_SO" "$T/fg/softkey.so"
cp "$TOP/tests/gate/deb-inside.sh" "$T/fg/inside.sh"

mmdebstrap --variant=apt --include=passwd,pamtester,systemd --quiet \
	--skip=download/empty --skip=essential/unlink \
	--setup-hook='mkdir -p "$1"/var/cache/apt/archives/' \
	--setup-hook="sync-in $CACHE /var/cache/apt/archives/" \
	--setup-hook='mkdir -p "$1"/var/lib/apt/lists/' \
	--setup-hook="sync-in $LISTS /var/lib/apt/lists/" \
	--customize-hook='mkdir -p "$1"/tmp/fg' \
	--customize-hook="sync-in $T/fg /tmp/fg" \
	--customize-hook='chroot "$1" /bin/bash /tmp/fg/inside.sh' \
	--customize-hook="sync-out /tmp/fg/out $T/out" \
	--customize-hook="sync-out /var/cache/apt/archives $CACHE" \
	--customize-hook="sync-out /var/lib/apt/lists $LISTS" \
	bookworm /dev/null "${MIRROR[@]}" > "$T/mmdebstrap.log" 2>&1
if ! ok $? "mmdebstrap: a Debian 12 root, the package tested inside"; then
	diag_file "$T/mmdebstrap.log" 30
	diag_file "$T/out/log" 30
	done_testing
	exit
fi
rm -rf "$CACHE"/lock "$CACHE"/partial "$LISTS"/lock "$LISTS"/partial 2> /dev/null

# res NAME: a result the hook wrote
res() { sed -n "s/^$1=//p" "$T/out/results" 2> /dev/null | tail -n 1; }
show() { diag_file "$T/out/log" 40; }

is "$(res install)" 0 "apt-get install ./fido2gate.deb (with its dependencies)" || show
is "$(res check_config)" 0 "fido2gated --check-config passes on the shipped /etc/fido2gate/fido2gate.conf" || show
is "$(res users)" "_fido2gate _fido2gate-web fido2gate-admin" \
	"the postinst made the system users and group (sysusers.d)" || show
is "$(res exec)" /usr/sbin/fido2gated "the agent runs from /usr/sbin, started as its unit starts it" || show
is "$(res status)" 0 "the installed fido2gatectl reaches it on /run/fido2gate/agent.sock" || show
is "$(res enroll)" 0 "fido2gatectl enroll alice (the soft key)" || show
is "$(res pam_enable)" 0 "pam-auth-update --enable fido2gate" || show
like "$(res common_auth)" "pam_fido2gate.so" "common-auth now asks for the key" || show
is "$(res login_key)" 0 "alice's password and her key: in" || show
is "$(res cue_key)" 1 "the key was asked for after the password" || show
is "$(res login_nokey)" 7 "her password without her key: refused (PAM_AUTH_ERR)" || show
is "$(res login_wrong)" 7 "a wrong password: refused" || show
is "$(res cue_wrong)" 0 "and the key was not asked for" || show
is "$(res purge)" 0 "apt-get purge --autoremove fido2gate" || show
is "$(res common_auth_back)" 0 "common-auth is back as it was before the install" || show
is "$(res users_after)" "_fido2gate _fido2gate-web fido2gate-admin" \
	"the system users and group stay after purge (Debian policy 9.2.2)" || show
# every path the purge left that was not there before the install
left=$(grep -v -E '^/etc/(passwd|group|shadow|gshadow)-$|^/var/log/|^/var/lib/dpkg/|^/var/lib/apt/|^/var/cache/(apt|debconf|ldconfig)/|^/var/lib/systemd/deb-systemd-helper-enabled$|^/var/lib/systemd/deb-systemd-helper-masked$' \
	"$T/out/left" 2> /dev/null)
[ -f "$T/out/left" ]
ok $? "the list of what purge left was taken" || show
is "$left" "" "purge leaves nothing of ours (only apt's and dpkg's logs and state, and the users)" ||
	diag "all it left: $(tr '\n' ' ' < "$T/out/left")"

diag "packages apt kept after purge --autoremove (recommended or suggested by others): $(cat "$T/out/kept" 2> /dev/null)"
unlike "$(cat "$T/out/kept" 2> /dev/null)" "fido2gate" "fido2gate itself is gone"

end=$(date +%s)
diag "make deb and lintian: $((built - start)) s + lintian; whole test: $((end - start)) s"
done_testing
