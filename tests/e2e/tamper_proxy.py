#!/usr/bin/python3
"""A man in the middle between a relying party and fido2gate's web front,
for the tests: everything is relayed to the front, except that

- the discovery document names this proxy as the token endpoint (the rest,
  the issuer and the JWKS included, is the front's), and
- the token endpoint's id_token is altered on its way back, as the file
  named by --mode-file says at that moment:
    none   relayed as it is
    sig    one bit of the signature flipped
    claim  preferred_username changed to "mallory" (header and signature
           kept)
    alg    the header's alg set to "none" and the signature dropped

Each token request leaves one JSON line in --log: the mode applied, how
the client authenticated (basic: an Authorization header; post:
client_secret in the body), whether it sent a PKCE code_verifier, the
front's status and the id_token's alg.

  tamper_proxy.py --port N --upstream http://localhost:FRONT
      --mode-file FILE --log FILE [--ready FILE]
"""

import argparse
import base64
import json
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def b64e(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def tamper(token, mode):
    head, payload, sig = token.split(".")
    if mode == "sig":
        raw = bytearray(b64d(sig))
        raw[len(raw) // 2] ^= 0x01
        return ".".join([head, payload, b64e(bytes(raw))])
    if mode == "claim":
        claims = json.loads(b64d(payload))
        claims["preferred_username"] = "mallory"
        body = json.dumps(claims, separators=(",", ":")).encode()
        return ".".join([head, b64e(body), sig])
    if mode == "alg":
        header = json.loads(b64d(head))
        header["alg"] = "none"
        return ".".join([b64e(json.dumps(header).encode()), payload, ""])
    return token


class Proxy(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the tests read --log
        pass

    def relay(self, method, body=None):
        o = self.server.opts
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() in ("authorization", "content-type", "accept",
                                    "accept-language", "user-agent")}
        req = urllib.request.Request(o.upstream + self.path, data=body,
                                     headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return r.status, dict(r.headers.items()), r.read()
        except urllib.error.HTTPError as e:
            return e.code, dict(e.headers.items()), e.read()

    def answer(self, status, headers, body):
        self.send_response(status)
        for k, v in headers.items():
            if k.lower() in ("content-type", "cache-control", "pragma",
                             "www-authenticate"):
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        status, headers, body = self.relay("GET")
        if self.path.split("?")[0] == "/.well-known/openid-configuration" \
                and status == 200:
            doc = json.loads(body)
            doc["token_endpoint"] = "http://localhost:%d/token" % \
                self.server.server_address[1]
            body = json.dumps(doc).encode()
        self.answer(status, headers, body)

    def do_POST(self):
        o = self.server.opts
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        status, headers, reply = self.relay("POST", body)
        if self.path.split("?")[0] != "/token":
            return self.answer(status, headers, reply)
        with open(o.mode_file) as f:
            mode = f.read().strip() or "none"
        form = urllib.parse.parse_qs(body.decode())
        entry = {
            "mode": mode,
            "auth": "basic" if self.headers.get("Authorization", "")
            .startswith("Basic ") else
            "post" if "client_secret" in form else "none",
            "pkce": "code_verifier" in form,
            "status": status,
        }
        if status == 200:
            token = json.loads(reply)
            entry["alg"] = json.loads(b64d(token["id_token"].split(".")[0])
                                      ).get("alg")
            token["id_token"] = tamper(token["id_token"], mode)
            entry["tampered"] = mode != "none"
            reply = json.dumps(token).encode()
        with self.server.lock, open(o.log, "a") as f:
            f.write(json.dumps(entry) + "\n")
        self.answer(status, headers, reply)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--upstream", required=True)
    p.add_argument("--mode-file", required=True)
    p.add_argument("--log", required=True)
    p.add_argument("--ready")
    o = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", o.port), Proxy)
    server.opts = o
    server.lock = threading.Lock()
    if o.ready:
        with open(o.ready, "w") as f:
            f.write("http://localhost:%d\n" % o.port)
    server.serve_forever()


if __name__ == "__main__":
    main()
