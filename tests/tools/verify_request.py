"""Turn fido2-assert -G output and fido2-cred's PEM key into one
`fido2gatectl verify` request (the CTAP2 form, with client_data_hash).

usage: verify_request.py ASSERT-OUT KEY-PEM RP-ID none|flip
"""
import base64
import json
import sys


def b64url(b):
    return base64.urlsafe_b64encode(bytes(b)).decode().rstrip("=")


def main():
    lines = open(sys.argv[1]).read().split("\n")
    # fido2-assert prints authData as a CBOR byte string: drop its header
    ad = base64.b64decode(lines[2])
    header = {0x58: 2, 0x59: 3}.get(ad[0], 1)
    sig = bytearray(base64.b64decode(lines[3]))
    if sys.argv[4] == "flip":
        sig[-1] ^= 1
    print(json.dumps({
        "public_key": {"pem": open(sys.argv[2]).read(), "alg": "ES256"},
        "authenticator_data": b64url(ad[header:]),
        "client_data_hash": b64url(base64.b64decode(lines[0])),
        "signature": b64url(sig),
        "expect": {"rp_id": sys.argv[3]},
    }))


main()
