#!/bin/bash
# `make install DESTDIR=...` puts every production file at its Debian path
# with its mode (0755 programs, 0644 data), and nothing of the tests;
# it keeps a config that is already there; `make uninstall` removes
# exactly what it put, and a config the admin changed stays.
. "$(dirname "$0")/../../lib/tap.sh"

skip_if_sanitized "installing the sanitized build would only repeat this"

R="$T/root"
MK=(make -s -C "$TOP" BUILD="$BUILD" DESTDIR="$R")
"${MK[@]}" install > "$T/install.log" 2>&1
ok $? "make install DESTDIR=..." || diag_file "$T/install.log"

PAMDIR=$(pkg-config --variable=libdir pam 2> /dev/null || echo "/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH)")/security
UNITDIR=$(pkg-config --variable=systemdsystemunitdir systemd 2> /dev/null || echo /lib/systemd/system)
UDEVDIR=$(pkg-config --variable=udevdir udev 2> /dev/null || echo /lib/udev)
COMPDIR=$(pkg-config --variable=completionsdir bash-completion 2> /dev/null ||
	echo /usr/share/bash-completion/completions)
SYSUSERS=$(pkg-config --variable=sysusersdir systemd 2> /dev/null || echo /usr/lib/sysusers.d)
TMPFILES=$(pkg-config --variable=tmpfilesdir systemd 2> /dev/null || echo /usr/lib/tmpfiles.d)

# expect MODE PATH [SOURCE]: installed, with that mode (and that content)
expect() {
	local mode=$1 path=$2 src=${3:-}
	if [ ! -f "$R$path" ]; then
		ok 1 "$path installed"
		return
	fi
	is "$(stat -c %a "$R$path")" "${mode#0}" "$path installed, mode $mode"
	if [ -n "$src" ]; then
		cmp -s "$src" "$R$path"
		ok $? "$path is $(basename "$src")"
	fi
}
expect 0755 /usr/sbin/fido2gated "$BUILD/fido2gated"
expect 0755 /usr/sbin/fido2gate-web "$BUILD/fido2gate-web"
expect 0755 /usr/bin/fido2gatectl "$BUILD/fido2gatectl"
expect 0644 "$PAMDIR/pam_fido2gate.so" "$BUILD/pam_fido2gate.so"
expect 0644 /usr/share/pam-configs/fido2gate "$TOP/pam-configs/fido2gate"
expect 0644 "$UDEVDIR/rules.d/60-fido2gate.rules" "$TOP/udev/60-fido2gate.rules"
expect 0644 /usr/share/doc/fido2gate/examples/61-fido2gate-lock.rules.example
expect 0644 /usr/share/fido2gate/fido2gate_synapse.py "$TOP/homeserver/synapse/fido2gate_synapse.py"
expect 0644 /usr/share/doc/fido2gate/README.md
for f in $(ls "$TOP"/docs/*.md | grep -v softkey.md); do
	expect 0644 "/usr/share/doc/fido2gate/$(basename "$f")"
done
# the other parts of issue 13, each where its source is in the tree
n_man=0
if [ -f "$TOP/man/man.mk" ]; then
	pages=$(ls "$TOP"/man/*.scd | sed 's|.*/||; s|\.scd$||')
	for page in $(printf '%s\n' fido2gated.8 fido2gatectl.8 pam_fido2gate.8 \
		fido2gate.conf.5 $pages | sort -u); do
		expect 0644 "/usr/share/man/man${page##*.}/$page"
		n_man=$((n_man + 1))
	done
fi
[ ! -f "$TOP/po/po.mk" ] ||
	for f in "$TOP"/po/*.po; do
		expect 0644 "/usr/share/locale/$(basename "$f" .po)/LC_MESSAGES/fido2gate.mo"
	done
for f in "$TOP"/systemd/*.service "$TOP"/systemd/*.socket; do
	[ ! -f "$f" ] || expect 0644 "$UNITDIR/$(basename "$f")" "$f"
done
[ ! -f "$TOP/systemd/fido2gate.sysusers" ] ||
	expect 0644 "$SYSUSERS/fido2gate.conf" "$TOP/systemd/fido2gate.sysusers"
[ ! -f "$TOP/systemd/fido2gate.tmpfiles" ] ||
	expect 0644 "$TMPFILES/fido2gate.conf" "$TOP/systemd/fido2gate.tmpfiles"
[ ! -f "$TOP/completions/fido2gatectl" ] ||
	expect 0644 "$COMPDIR/fido2gatectl" "$TOP/completions/fido2gatectl"
[ ! -f "$TOP/etc/fido2gate.conf" ] ||
	expect 0644 /etc/fido2gate/fido2gate.conf "$TOP/etc/fido2gate.conf"
[ ! -f "$TOP/systemd/fido2gate-web.default" ] ||
	expect 0644 /etc/default/fido2gate-web "$TOP/systemd/fido2gate-web.default"
diag "man pages: $n_man"

# nothing else: every file is one of the above, no test artefact
find "$R" -type f | sed "s|^$R||" | sort > "$T/files"
unlike "$(cat "$T/files")" "softkey|fg-client|fg-load|fg-webkey|pam-child|fault\.so|-unit|replay_|/test/|\.o$|\.d$" \
	"no test tool, soft key or object file installed"
like "$(find "$R" -type f -perm /0022 -o -type d -perm /0022 | head -n 1)" "^$" \
	"nothing group- or world-writable"
is "$(find "$R" -type f ! -perm 0755 ! -perm 0644 | sed "s|^$R||")" "" \
	"every file is 0755 or 0644"
is "$(find "$R" -type f -perm 0755 | sed "s|^$R||" | sort | tr '\n' ' ')" \
	"/usr/bin/fido2gatectl /usr/sbin/fido2gate-web /usr/sbin/fido2gated " \
	"only the three programs are executable"
diag "$(wc -l < "$T/files") files installed"

# a config already there is kept by a second install
if [ -f "$TOP/etc/fido2gate.conf" ]; then
	echo "# the admin's" >> "$R/etc/fido2gate/fido2gate.conf"
	"${MK[@]}" install > "$T/install.log" 2>&1
	like "$(tail -n 1 "$R/etc/fido2gate/fido2gate.conf")" "the admin's" \
		"make install keeps an existing /etc/fido2gate/fido2gate.conf"
fi

"${MK[@]}" uninstall > "$T/uninstall.log" 2>&1
ok $? "make uninstall DESTDIR=..." || diag_file "$T/uninstall.log"
left=$(find "$R" ! -type d | sed "s|^$R||")
if [ -f "$TOP/etc/fido2gate.conf" ]; then
	is "$left" /etc/fido2gate/fido2gate.conf "only the changed config is left"
	rm "$R/etc/fido2gate/fido2gate.conf"
	"${MK[@]}" install > /dev/null 2>&1 && "${MK[@]}" uninstall > /dev/null 2>&1
	left=$(find "$R" ! -type d | sed "s|^$R||")
fi
is "$left" "" "make uninstall leaves no file behind"
is "$(cd "$R" && find . -path '*fido2gate*')" "" "nor a folder of ours"

done_testing
