#!/bin/sh
# libfido2's fido2-token sees the soft keys and reads their getInfo.
. "$(dirname "$0")/../../lib/tap.sh"
export SOFTKEY_STATE="$T/key"

out=$(sk fido2-token -L 2>&1)
like "$out" '^softkey:0: .*\(fido2gate softkey 0\)$' "fido2-token -L lists the soft key"

out=$(sk SOFTKEY_STATE= fido2-token -L 2>&1)
is "$out" "" "without SOFTKEY_STATE no soft key is listed"

out=$(sk SOFTKEY_DEVICES=3 fido2-token -L 2>&1)
is "$(printf '%s\n' "$out" | grep -c '^softkey:')" 3 "SOFTKEY_DEVICES=3 lists three keys"

info=$(sk fido2-token -I softkey:0 2>&1)
ok $? "fido2-token -I reads the key's info"
like "$info" '^version strings: U2F_V2, FIDO_2_0, FIDO_2_1$' "versions U2F_V2, FIDO_2_0 and FIDO_2_1"
like "$info" '^algorithms: es256 \(public-key\), eddsa \(public-key\), rs256 \(public-key\)$' "algorithms ES256, EdDSA and RS256"
like "$info" '^options: rk, up, nouv, noplat, noclientPin, pinUvAuthToken$' "options rk, up, uv, clientPin (no PIN yet)"
like "$info" '^pin protocols: 2, 1$' "PIN/UV auth protocols 2 and 1"
like "$info" '^aaguid: 6632672d736f66746b65792d76310002$' "the soft key's AAGUID"
like "$info" '^caps: 0x05 \(wink, cbor, msg\)$' "CTAPHID capabilities: wink, cbor, msg"
like "$info" '^pin retries: 8$' "eight PIN retries"

mode=$(stat -c %a "$T/key")
is "$mode" 600 "the state file is created mode 0600"

info=$(sk SOFTKEY_STATE="$T/pinned" SOFTKEY_PIN=4242 fido2-token -I softkey:0 2>&1)
like "$info" '^options: .* clientPin' "SOFTKEY_PIN sets a PIN on a new state"

info1=$(sk SOFTKEY_DEVICES=2 fido2-token -I softkey:1 2>&1)
ok $? "the second key answers"
test -f "$T/key.1"
ok $? "the second key keeps its state beside the first (key.1)"

done_testing
