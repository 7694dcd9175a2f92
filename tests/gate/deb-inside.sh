#!/bin/bash
# Run by tests/gate/t/59-deb.t inside a fresh Debian 12 root (mmdebstrap's
# customize hook, as root, network to the mirror): installs
# /tmp/fg/fido2gate.deb with apt, tries it, purges it. Writes NAME=VALUE
# lines to /tmp/fg/out/results, its trace to /tmp/fg/out/log, and the
# paths the purge left behind to /tmp/fg/out/left. Always exits 0: the
# test reads the results.
mkdir -p /tmp/fg/out
exec > /tmp/fg/out/log 2>&1
set -x
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8
R=/tmp/fg/out/results
res() { echo "$1=$2" >> "$R"; }
# every path but the virtual file systems and the test's own
snapshot() {
	find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run \
		-o -path /tmp \) -prune -o -print | sort
}
users() {
	for u in _fido2gate _fido2gate-web; do getent passwd "$u" > /dev/null && printf '%s ' "$u"; done
	getent group fido2gate-admin > /dev/null && printf fido2gate-admin
}

# the test's user and PAM service, before the "before" snapshot
useradd -m alice && echo alice:secret | chpasswd
printf '@include common-auth\naccount required pam_permit.so\n' > /etc/pam.d/fg-login
cp /etc/pam.d/common-auth /tmp/fg/common-auth.orig
snapshot > /tmp/fg/before
dpkg-query -W -f '${Package}\n' | sort > /tmp/fg/pkgs.before

apt-get install -y --no-install-recommends /tmp/fg/fido2gate.deb
res install $?
res users "$(users)"

/usr/sbin/fido2gated --check-config --config /etc/fido2gate/fido2gate.conf
res check_config $?

# the agent as fido2gated.service starts it (its ExecStart line); without
# systemd here, as root, and its folders made as the unit would
cmd=$(sed -n 's/^ExecStart=//p' /lib/systemd/system/fido2gated.service)
mkdir -p /run/fido2gate /var/lib/fido2gate
$cmd 2> /tmp/fg/out/agent.log &
agent=$!
status=1
for _ in $(seq 200); do
	fido2gatectl status > /dev/null 2>&1 && status=0 && break
	kill -0 $agent 2> /dev/null || break
	sleep 0.05
done
res status $status
res exec "$(readlink /proc/$agent/exe)"

export SOFTKEY_STATE=/tmp/fg/key
LD_PRELOAD=/tmp/fg/softkey.so fido2gatectl enroll alice < /dev/null
res enroll $?

pam-auth-update --enable fido2gate
res pam_enable $?
res common_auth "$(grep -v '^#' /etc/pam.d/common-auth | tr '\n\t' '  ')"

login() {
	env "$@" LD_PRELOAD=/tmp/fg/softkey.so setsid pamtester fg-login alice authenticate
}
echo secret | login > /tmp/fg/out/key.out 2>&1
res login_key $?
res cue_key "$(grep -c 'Touch your security key' /tmp/fg/out/key.out)"
echo secret | login SOFTKEY_STATE=/tmp/fg/other > /tmp/fg/out/nokey.out 2>&1
r=$?
# pamtester exits 1 on any failure: 7 (PAM_AUTH_ERR) stands for that
res login_nokey "$([ $r -ne 0 ] && echo 7 || echo $r)"
echo wrong | login > /tmp/fg/out/wrong.out 2>&1
r=$?
res login_wrong "$([ $r -ne 0 ] && echo 7 || echo $r)"
res cue_wrong "$(grep -c 'Touch your security key' /tmp/fg/out/wrong.out)"
cat /tmp/fg/out/*.out

kill $agent
wait $agent
apt-get purge -y --autoremove fido2gate
res purge $?
cmp /etc/pam.d/common-auth /tmp/fg/common-auth.orig
res common_auth_back $?
res users_after "$(users)"
rm -rf /run/fido2gate
snapshot > /tmp/fg/after
# new paths that no package still installed owns (apt's autoremove keeps
# what an installed package recommends or suggests: systemd suggests
# libfido2-1, which is theirs, not ours)
comm -13 /tmp/fg/before /tmp/fg/after | while read -r p; do
	dpkg-query -S "$p" > /dev/null 2>&1 || echo "$p"
done > /tmp/fg/out/left
dpkg-query -W -f '${Package}\n' | sort | comm -13 /tmp/fg/pkgs.before - |
	tr '\n' ' ' > /tmp/fg/out/kept
exit 0
