#!/bin/bash
# The state file: concurrent processes are serialised, updates are atomic
# (kill -9 at any moment leaves the old or the new state), a corrupt file
# is refused and left as it is.
. "$(dirname "$0")/../../lib/tap.sh"
export SOFTKEY_STATE="$T/key"
RP=example.org

printf '%s\n%s\n%s\n%s\n' "$(rand_b64)" $RP alice "$(rand_b64 16)" > "$T/cp"
sk fido2-cred -M -i "$T/cp" softkey:0 > "$T/cred" 2> "$T/err"
id=$(sed -n 5p "$T/cred")
assert() { # OUTFILE
	printf '%s\n%s\n%s\n' "$(rand_b64)" $RP "$id" > "$1.in"
	sk fido2-assert -G -i "$1.in" softkey:0 > "$1" 2>> "$T/err"
}

for i in $(seq 1 12); do assert "$T/par.$i" & done
wait
fails=0
for i in $(seq 1 12); do
	[ -s "$T/par.$i" ] || fails=$((fails + 1))
	ad_count "$(sed -n 3p "$T/par.$i")"
done | sort -n > "$T/counts"
is "$(sort -u "$T/counts" | wc -l)" 12 "12 concurrent assertions get 12 different counters"
is "$(tail -n 1 "$T/counts")" 12 "and the counter ends at 12: no update was lost"

for u in 1 2 3 4 5 6; do
	printf '%s\n%s\n%s\n%s\n' "$(rand_b64)" $RP "user$u" "$(rand_b64 16)" > "$T/rk.$u"
	sk fido2-cred -M -r -i "$T/rk.$u" softkey:0 > /dev/null 2>> "$T/err" &
done
wait
printf '%s\n%s\n' "$(rand_b64)" $RP > "$T/ap"
n=$(sk fido2-assert -G -r -i "$T/ap" softkey:0 2>> "$T/err" | grep -c "^$RP\$")
is "$n" 6 "6 concurrent discoverable enrolments are all kept"

# kill -9 at random moments: the state stays loadable, counters only rise
broken=0
killed=0
for i in $(seq 1 40); do
	assert "$T/k.$i" &
	pid=$!
	sleep "0.0$((RANDOM % 3))$((RANDOM % 10))"
	kill -9 $pid 2> /dev/null && killed=$((killed + 1))
	wait $pid 2> /dev/null
	if ! sk fido2-token -I softkey:0 > /dev/null 2>&1; then
		broken=$((broken + 1))
	fi
done
diag "$killed of 40 assertions were killed before they ended"
is "$broken" 0 "40 kill -9 at random moments: the state always loads"
max=12
for i in $(seq 1 40); do
	a=$(sed -n 3p "$T/k.$i" 2> /dev/null)
	[ -n "$a" ] && [ "$(ad_count "$a")" -gt $max ] && max=$(ad_count "$a")
done
assert "$T/after"
c=$(ad_count "$(sed -n 3p "$T/after")")
test "$c" -gt "$max"
ok $? "the counter never went back (highest seen $max, then $c)"
ls "$T"/key.tmp > /dev/null 2>&1
ok $((! $?)) "after a completed update no temporary file is left"
test "$(stat -c %a "$T/key")" = 600
ok $? "the state is still mode 0600"

# a corrupt state is an error, never silently replaced
cp "$T/key" "$T/key.good"
printf 'not cbor' > "$T/key"
out=$(sk fido2-assert -G -i "$T/after.in" softkey:0 2>&1)
status=$?
test $status -eq 1
ok $? "a corrupt state: the key answers with an error, no crash ($status)"
like "$out" 'FIDO_ERR_INTERNAL|FIDO_ERR_OTHER|FIDO_ERR_' "libfido2 reports the key's error"
is "$(cat "$T/key")" "not cbor" "the corrupt file is left for inspection"

done_testing
