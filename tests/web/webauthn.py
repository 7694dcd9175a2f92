#!/usr/bin/env python3
"""The browser's part of a WebAuthn login, for tests of the web front,
with libfido2's fido2-assert (and the soft key) as the authenticator.

  webauthn.py request BEGIN_JSON ORIGIN CDJ_OUT
      writes the clientDataJSON a browser at ORIGIN would make for the
      /login/begin reply in BEGIN_JSON to CDJ_OUT, and prints the input of
      `fido2-assert -G` (client data hash, RP ID, the first allowed
      credential)
  webauthn.py finish BEGIN_JSON TX CDJ ASSERT_OUT [tamper]
      prints the /login/finish body login.js would post, from
      fido2-assert's output; "tamper" flips a bit of the signature
"""
import base64
import hashlib
import json
import sys


def b64u(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def unb64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def request(begin_path, origin, cdj_path):
    begin = json.load(open(begin_path))
    cdj = json.dumps({"type": "webauthn.get", "challenge": begin["challenge"],
                      "origin": origin, "crossOrigin": False},
                     separators=(",", ":")).encode()
    with open(cdj_path, "wb") as f:
        f.write(cdj)
    print(base64.b64encode(hashlib.sha256(cdj).digest()).decode())
    print(begin["rp_id"])
    print(base64.b64encode(unb64u(begin["allow_credentials"][0])).decode())


def finish(begin_path, tx, cdj_path, assert_path, tamper):
    begin = json.load(open(begin_path))
    lines = open(assert_path).read().split()
    authdata = base64.b64decode(lines[2])
    # fido2-assert prints authenticator data as a CBOR byte string
    authdata = authdata[{0x58: 2, 0x59: 3}.get(authdata[0], 1):]
    sig = bytearray(base64.b64decode(lines[3]))
    if tamper:
        sig[-1] ^= 1
    print(json.dumps({
        "tx": tx, "session": begin["session"],
        "credential_id": begin["allow_credentials"][0],
        "authenticator_data": b64u(authdata),
        "client_data_json": b64u(open(cdj_path, "rb").read()),
        "signature": b64u(bytes(sig))}))


if __name__ == "__main__":
    if sys.argv[1] == "request":
        request(*sys.argv[2:5])
    else:
        finish(*sys.argv[2:6], tamper=len(sys.argv) > 6)
