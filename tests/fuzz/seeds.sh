#!/bin/bash
# seeds.sh OUT: seed corpora for the fuzzers, taken from a real run: an
# agent on a fresh store, an enrolment by fido2gatectl and a PAM login,
# every record they sent captured by fault.so (FAULT_WIRE), then cut into
# the pieces each harness reads.
set -euo pipefail
TOP=$(cd "$(dirname "$0")/../.." && pwd)
BUILD="$TOP/build"
OUT=$1
T=$(mktemp -d)
trap 'kill $AGENT 2> /dev/null; wait $AGENT 2> /dev/null; rm -rf "$T"' EXIT
AGENT=
PAM_WRAPPER_SO=$(ls /usr/lib/*/libpam_wrapper.so | head -n 1)
export SOFTKEY_STATE="$T/key" FAULT_WIRE="$T/wire"

printf '[relying_party]\nid = fido2gate.test\n[admin]\nbootstrap = open\n' > "$T/agent.conf"
"$BUILD/fido2gated" --socket "$T/s" --db "$T/db" --config "$T/agent.conf" 2> /dev/null &
AGENT=$!
for _ in $(seq 100); do [ -S "$T/s" ] && break; sleep 0.05; done
LD_PRELOAD="$BUILD/test/fault.so:$BUILD/test/softkey.so" \
	"$BUILD/fido2gatectl" --socket "$T/s" enroll alice < /dev/null > /dev/null
LD_PRELOAD="$BUILD/test/fault.so:$BUILD/test/softkey.so" \
	"$BUILD/test/fg-client" "$T/s" enroll bob --u2f > /dev/null
mkdir -p "$T/pam.d"
echo "auth required $BUILD/pam_fido2gate.so socket=$T/s timeout=5" > "$T/pam.d/gate"
LD_PRELOAD="$BUILD/test/fault.so:$PAM_WRAPPER_SO:$BUILD/test/softkey.so" PAM_WRAPPER=1 \
	PAM_WRAPPER_SERVICE_DIR="$T/pam.d" pamtester gate alice authenticate < /dev/null > /dev/null 2>&1
sqlite3 "$T/db" "SELECT hex(public_key) FROM credentials" > "$T/keys"

/usr/bin/python3 - "$T/wire" "$T/keys" "$OUT" << 'PY'
import base64, json, os, sys
wire, keys, out = sys.argv[1:4]
def put(kind, name, data):
    os.makedirs(os.path.join(out, kind), exist_ok=True)
    with open(os.path.join(out, kind, name), "wb") as f:
        f.write(data)
def unb64(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
fmts = ["none", "packed", "fido-u2f", "tpm"]
for i, line in enumerate(open(wire, "rb").read().split(b"\n")):
    if not line.startswith(b"{"):
        continue
    put("proto", f"wire-{i}", line)
    req = json.loads(line)
    if "authenticator_data" in req:
        ad = unb64(req["authenticator_data"])
        put("authdata", f"wire-{i}", ad)
        if "attestation_statement" in req:
            st = unb64(req["attestation_statement"])
            f = fmts.index(req["fmt"]) if req["fmt"] in fmts else 3
            put("attest", f"wire-{i}", bytes([f, len(ad) >> 8, len(ad) & 255]) + ad + st)
    if "client_data_json" in req:
        put("clientdata", f"wire-{i}", unb64(req["client_data_json"]))
# the homeserver gate's requests, as the web front and the module send them
gate = [
    {"op": "oidc.discovery"}, {"op": "oidc.jwks"},
    {"op": "oidc.authorize", "params": {"client_id": "synapse",
        "redirect_uri": "https://m.test/cb", "response_type": "code",
        "scope": "openid profile", "state": "s", "nonce": "n",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256", "prompt": "login"}},
    {"op": "web.begin", "tx": "AAAAAAAAAAAAAAAAAAAAAA", "user": "@alice:m.test"},
    {"op": "web.finish", "tx": "AAAAAAAAAAAAAAAAAAAAAA", "session": "AAAAAAAAAAAAAAAAAAAAAA",
        "credential_id": "AAAA", "authenticator_data": "AAAA",
        "client_data_json": "AAAA", "signature": "AAAA"},
    {"op": "web.abort", "tx": "AAAAAAAAAAAAAAAAAAAAAA", "session": "AAAAAAAAAAAAAAAAAAAAAA", "reason": "no key"},
    {"op": "oidc.token", "grant_type": "authorization_code", "code": "AAAA",
        "redirect_uri": "https://m.test/cb", "client_id": "synapse",
        "client_secret": "secret-secret-secret",
        "code_verifier": "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"},
    {"op": "oidc.userinfo", "access_token": "AAAA"},
    {"op": "login.check", "user_id": "@alice:m.test", "auth_provider_id": "oidc-fido2gate"},
    {"op": "login.check", "user_id": "@alice:m.test", "auth_provider_id": None},
]
for i, req in enumerate(gate):
    req["v"] = 1
    put("proto", f"gate-{i}", json.dumps(req).encode())
for i, k in enumerate(open(keys).read().split()):
    put("cose", f"key-{i}", bytes.fromhex(k))
configs = [
    "[relying_party]\nid = example.org\nname = Example\norigins = https://matrix.example.org\n",
    "[policy]\nuser_verification = required\nattestation = required\n",
    "[limits]\nchallenge_timeout = 60\nmax_pending = 65536\nmax_connections = 256\n"
    "max_connections_per_uid = 16\nmax_message = 65536\nidle_timeout = 120\n"
    "max_credentials_per_user = 16\n",
    "[rate_limit]\ncaller_rate = 10\ncaller_burst = 30\nbackoff_after = 3\n"
    "backoff_base = 1\nbackoff_max = 60\nlockout_after = 10\nfailure_window = 900\n",
    "[access]\nadmin_group = fido2gate-admin\n",
]
for i, c in enumerate(configs):
    put("config", f"conf-{i}", c.encode())
for i, a in enumerate([["socket=/run/fido2gate/agent.sock", "timeout=30"],
                       ["debug", "nocue"], ["timeout=600", "socket=/x"]]):
    put("pam_args", f"args-{i}", "\0".join(a).encode())
# CTAPHID: INIT on the broadcast channel, then CBOR getInfo on channel 1
init = bytes([0xff] * 4) + bytes([0x86, 0, 8]) + bytes(range(8))
info = bytes([0, 0, 0, 1, 0x90, 0, 1, 0x04])
put("softkey", "init-getinfo", init.ljust(64, b"\0") + info.ljust(64, b"\0"))
PY
echo "seeds: $(find "$OUT" -type f | wc -l) files in $OUT"
