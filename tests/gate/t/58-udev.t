#!/bin/bash
# udev/60-fido2gate.rules through the real udevadm and fido_id, against
# recorded devices: a FIDO key's hidraw node (its HID report descriptor
# opens the FIDO usage page, 0xF1D0) is known as a security token and
# tagged "uaccess", so that logind gives the seat's user access to it; a
# keyboard's is not. Without our file (and without udev's 60-fido-id.rules)
# the key is not tagged: the test sees our rule's work. The example
# 61-fido2gate-lock.rules.example locks the sessions when a key is removed.
#
# umockdev-run lays the recorded devices out as a sysfs tree. udevadm and
# fido_id (which udev starts with the device's properties for environment,
# so without umockdev's preload) see that tree as /sys through a private
# mount namespace, with our rules and udev's stock ones as the only rules,
# and with /dev and /run as empty tmpfs: nothing of the machine's udev
# changes. SYSTEMD_DEVICE_VERIFY_SYSFS=0 (systemd's own knob) lets them
# accept a /sys that is not sysfs; it is also a property of the recorded
# node, since udev's programs get the properties as their environment.
. "$(dirname "$0")/../../lib/tap.sh"

skip_if_sanitized "it runs no fido2gate code, only udev's"

for tool in umockdev-run udevadm unshare; do
	if ! command -v $tool > /dev/null; then
		echo "1..0 # SKIP $tool is missing"
		exit 0
	fi
done
UDEVLIB=$(pkg-config --variable=udevdir udev 2> /dev/null || echo /lib/udev)
if [ ! -x "$UDEVLIB/fido_id" ]; then
	echo "1..0 # SKIP udev's fido_id is missing (systemd < 244)"
	exit 0
elif ! unshare -m true 2> /dev/null; then
	echo "1..0 # SKIP no private mount namespace (unshare -m)"
	exit 0
fi

FIDO=/sys/devices/virtual/fido2gate-test/0003:1050:0407.0001/hidraw/hidraw0
KBD=/sys/devices/virtual/fido2gate-test/0003:046D:C31C.0002/hidraw/hidraw1
# record NAME PARENT HID_ID REPORT-DESCRIPTOR MINOR [EXTRA-PROPERTY...]
record() {
	local name=$1 parent=$2 hid=$3 desc=$4 minor=$5
	shift 5
	{
		echo "P: /devices/virtual/fido2gate-test/$parent/hidraw/$name"
		echo "N: $name"
		echo "E: DEVNAME=/dev/$name"
		echo "E: MAJOR=243"
		echo "E: MINOR=$minor"
		echo "E: SUBSYSTEM=hidraw"
		echo "E: SEQNUM=1"
		echo "E: SYSTEMD_DEVICE_VERIFY_SYSFS=0"
		for p in "$@"; do echo "E: $p"; done
		echo "A: dev=243:$minor"
		echo
		echo "P: /devices/virtual/fido2gate-test/$parent"
		echo "E: DRIVER=hid-generic"
		echo "E: HID_ID=$hid"
		echo "E: SUBSYSTEM=hid"
		echo "H: report_descriptor=$desc"
	}
}
# CTAPHID's descriptor (CTAP 2.1, 11.2.8.1): usage page 0xF1D0, usage 1,
# 64-byte input and output reports
FIDO_DESC=06D0F10901A1010920150026FF007508954081020921150026FF00750895409102C0
# a boot keyboard's modifier byte
KBD_DESC=05010906A101050719E029E715002501750195088102C0
record hidraw0 0003:1050:0407.0001 0003:00001050:00000407 "$FIDO_DESC" 0 > "$T/fido.umockdev"
record hidraw1 0003:046D:C31C.0002 0003:0000046D:0000C31C "$KBD_DESC" 1 > "$T/kbd.umockdev"
# as udev's database has them when the devices are removed
record hidraw0 0003:1050:0407.0001 0003:00001050:00000407 "$FIDO_DESC" 0 \
	ID_FIDO_TOKEN=1 ID_SECURITY_TOKEN=1 > "$T/fido-db.umockdev"
record hidraw1 0003:046D:C31C.0002 0003:0000046D:0000C31C "$KBD_DESC" 1 > "$T/kbd-db.umockdev"

# rules DIR [FILE...]: udev's stock rules, less 60-fido-id.rules, plus FILEs
rules() {
	local dir="$T/$1"
	shift
	mkdir -p "$dir"
	cp "$UDEVLIB"/rules.d/*.rules "$dir/"
	rm -f "$dir/60-fido-id.rules" "$dir"/*fido2gate*
	[ $# -eq 0 ] || cp "$@" "$dir/"
}
mkdir -p "$T/empty" "$T/olddev"

# udevtest RULES-DIR ACTION SYSPATH RECORDING...: udevadm test's output in $OUT
udevtest() {
	local dir=$1 action=$2 sys=$3
	shift 3
	local devs=()
	for r in "$@"; do devs+=(--device "$r"); done
	OUT=$(umockdev-run "${devs[@]}" -- env -u LD_PRELOAD unshare -m sh -ec '
		mount --bind "$UMOCKDEV_DIR/sys" /sys
		mount --rbind /dev "$1/olddev"
		mount -t tmpfs none /dev
		for n in null zero full random urandom; do
			touch /dev/$n
			mount --bind "$1/olddev/$n" /dev/$n
		done
		mount -t tmpfs none /run
		mount --bind "$2" "$4/rules.d"
		mount --bind "$1/empty" /etc/udev/rules.d
		SYSTEMD_DEVICE_VERIFY_SYSFS=0 exec udevadm test --action="$3" "$5"
	' sh "$T" "$dir" "$action" "$UDEVLIB" "$sys" 2>&1)
}
# prop NAME: its value in udevadm test's final list of properties
prop() { printf '%s\n' "$OUT" | sed -n "s/^$1=//p" | tail -n 1; }
# ran ACTION: udevadm test went through the rules (a negative check
# after it means something)
ran() { like "$OUT" "^ACTION=$1\$" "udevadm test ran ($1)" || diag "$(printf '%s\n' "$OUT" | tail -n 20)"; }

rules ours "$TOP/udev/60-fido2gate.rules"
rules none
rules stock "$TOP/udev/60-fido2gate.rules" "$UDEVLIB/rules.d/60-fido-id.rules"
rules alone "$TOP/udev/60-fido2gate.rules"
rm "$T/alone/70-uaccess.rules"
rules lock "$TOP/udev/60-fido2gate.rules" "$TOP/udev/61-fido2gate-lock.rules.example"
mv "$T/lock/61-fido2gate-lock.rules.example" "$T/lock/61-fido2gate-lock.rules"

udevtest "$T/ours" add "$FIDO" "$T/fido.umockdev" "$T/kbd.umockdev"
is "$(prop ID_FIDO_TOKEN)" 1 "a FIDO key: fido_id, run by our rule, finds the FIDO usage page" ||
	printf '%s\n' "$OUT" | grep -v 'Reading rules' | tail -n 25 | sed 's/^/#   /'
is "$(prop ID_SECURITY_TOKEN)" 1 "it is a security token"
like "$(prop TAGS)" ":uaccess:" "tagged uaccess: logind gives the seat's user access"
like "$OUT" "60-fido2gate.rules" "by our rules file"

udevtest "$T/ours" add "$KBD" "$T/fido.umockdev" "$T/kbd.umockdev"
like "$OUT" "USEC_INITIALIZED=" "a keyboard's hidraw node went through the rules" ||
	printf '%s\n' "$OUT" | tail -n 25 | sed 's/^/#   /'
is "$(prop ID_SECURITY_TOKEN)" "" "a keyboard is not a security token"
unlike "$(prop TAGS)" "uaccess" "and not tagged uaccess"

udevtest "$T/none" add "$FIDO" "$T/fido.umockdev"
ran add
unlike "$(prop TAGS)" "uaccess" "without our file (nor 60-fido-id) the key is not tagged"

# udev >= 244's 70-uaccess.rules also tags security tokens: without it
# (older udev), our rule's own tag
udevtest "$T/alone" add "$FIDO" "$T/fido.umockdev"
like "$(prop TAGS)" ":uaccess:" "without 70-uaccess.rules, our rule tags the key itself"

udevtest "$T/stock" add "$FIDO" "$T/fido.umockdev"
like "$(prop TAGS)" ":uaccess:" "beside udev's own 60-fido-id.rules: tagged uaccess"
is "$(printf '%s\n' "$OUT" | grep -c "Starting 'fido_id")" 2 \
	"fido_id tried by 60-fido-id, then ours (udevadm test's environment lacks what theirs needs)" ||
	printf '%s\n' "$OUT" | grep fido_id | sed 's/^/#   /'

udevtest "$T/lock" remove "$FIDO" "$T/fido-db.umockdev"
like "$OUT" "loginctl lock-sessions" "the lock example: a FIDO key removed locks the sessions"
udevtest "$T/lock" remove "$KBD" "$T/kbd-db.umockdev"
ran remove
unlike "$OUT" "loginctl lock-sessions" "a keyboard removed does not"
udevtest "$T/lock" add "$FIDO" "$T/fido.umockdev"
ran add
unlike "$OUT" "loginctl lock-sessions" "a key plugged in does not"

done_testing
