#!/usr/bin/python3
"""A relying party that is not ours: Debian's python3-authlib, the library
Synapse's own OpenID Connect client is built on, used as Synapse uses it
(synapse/handlers/oidc.py): the discovery document checked by authlib's
OpenIDProviderMetadata, the code flow with PKCE S256, state and nonce
through OAuth2Session, and the id_token checked by JsonWebToken against
the provider's JWKS with CodeIDToken's claims rules (iss, aud, exp, iat,
nonce, at_hash).

GET /login sends the browser to the provider; GET /cb redeems the code and
answers a page whose <pre id="result"> holds the outcome as JSON (the same
line is appended to --out).

  authlib_rp.py --issuer URL --client-id ID --secret-file FILE --port N
      [--auth client_secret_basic|client_secret_post] [--alg RS256|ES256]
      [--token-endpoint URL] [--out FILE] [--ready FILE]

--token-endpoint redeems codes there instead of the discovered endpoint
(the tests' tampering proxy).
"""

import argparse
import html
import json
import os
import secrets
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from authlib.integrations.requests_client import OAuth2Session
from authlib.jose import JsonWebKey, JsonWebToken
from authlib.oidc.core import CodeIDToken
from authlib.oidc.discovery import OpenIDProviderMetadata

# loopback http in the tests: authlib's metadata checks want https
os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")


class RP:
    def __init__(self, o):
        self.o = o
        with open(o.secret_file) as f:
            self.secret = f.read().strip()
        self.base = "http://localhost:%d" % o.port
        r = requests.get(o.issuer + "/.well-known/openid-configuration",
                         timeout=30)
        r.raise_for_status()
        self.meta = OpenIDProviderMetadata(r.json())
        # what Synapse checks of a discovered provider
        self.meta.validate_issuer()
        self.meta.validate_authorization_endpoint()
        self.meta.validate_token_endpoint()
        self.meta.validate_jwks_uri()
        self.meta.validate_response_types_supported()
        self.meta.validate_id_token_signing_alg_values_supported()
        if self.meta["issuer"] != o.issuer:
            raise ValueError("the discovery document's issuer is %r"
                             % self.meta["issuer"])
        self.token_endpoint = o.token_endpoint or self.meta["token_endpoint"]
        self.pending = {}
        self.lock = threading.Lock()

    def session(self):
        return OAuth2Session(
            client_id=self.o.client_id, client_secret=self.secret,
            token_endpoint_auth_method=self.o.auth,
            scope="openid profile", redirect_uri=self.base + "/cb",
            code_challenge_method="S256")

    def login(self):
        verifier = secrets.token_urlsafe(48)
        nonce = secrets.token_urlsafe(24)
        url, state = self.session().create_authorization_url(
            self.meta["authorization_endpoint"], code_verifier=verifier,
            nonce=nonce)
        sid = secrets.token_hex(16)
        with self.lock:
            self.pending[sid] = (state, nonce, verifier)
        return url, sid

    def callback(self, sid, full_url):
        with self.lock:
            t = self.pending.pop(sid, None)
        if t is None:
            raise ValueError("no login under way in this browser")
        state, nonce, verifier = t
        s = self.session()
        token = s.fetch_token(self.token_endpoint,
                              authorization_response=full_url, state=state,
                              code_verifier=verifier)
        jwks = requests.get(self.meta["jwks_uri"], timeout=30)
        jwks.raise_for_status()
        jwt = JsonWebToken([self.o.alg])
        claims = jwt.decode(
            token["id_token"], key=JsonWebKey.import_key_set(jwks.json()),
            claims_cls=CodeIDToken,
            claims_options={"iss": {"values": [self.meta["issuer"]]}},
            claims_params={"nonce": nonce, "client_id": self.o.client_id,
                           "access_token": token["access_token"]})
        claims.validate(leeway=120)
        return {"ok": True, "claims": dict(claims),
                "alg": claims.header.get("alg"), "nonce_sent": nonce}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def page(self, status, result):
        line = json.dumps(result)
        if self.server.rp.o.out:
            with self.server.rp.lock, open(self.server.rp.o.out, "a") as f:
                f.write(line + "\n")
        body = ("<!DOCTYPE html><title>authlib RP</title>"
                "<pre id=\"result\">%s</pre>\n" % html.escape(line)).encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        rp = self.server.rp
        path = urllib.parse.urlsplit(self.path).path
        try:
            if path == "/login":
                url, sid = rp.login()
                self.send_response(302)
                self.send_header("Location", url)
                self.send_header("Set-Cookie", "al_rp=%s; HttpOnly; "
                                 "SameSite=Lax; Path=/" % sid)
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif path == "/cb":
                cookies = dict(c.strip().split("=", 1) for c in
                               self.headers.get("Cookie", "").split(";")
                               if "=" in c)
                self.page(200, rp.callback(cookies.get("al_rp"),
                                           rp.base + self.path))
            else:
                self.send_error(404)
        except Exception as e:  # the refusal is the result
            self.page(403, {"ok": False, "error": "%s: %s"
                            % (type(e).__name__, e)})


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--issuer", required=True)
    p.add_argument("--client-id", required=True)
    p.add_argument("--secret-file", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--auth", default="client_secret_basic",
                   choices=["client_secret_basic", "client_secret_post"])
    p.add_argument("--alg", default="RS256", choices=["RS256", "ES256"])
    p.add_argument("--token-endpoint")
    p.add_argument("--out")
    p.add_argument("--ready")
    o = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", o.port), Handler)
    server.rp = RP(o)
    if o.ready:
        with open(o.ready, "w") as f:
            f.write(server.rp.base + "\n")
    server.serve_forever()


if __name__ == "__main__":
    main()
