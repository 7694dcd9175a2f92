"""A stand-in for fido2gate's OpenID Connect discovery, so that a real
Synapse with an oidc_providers block (discover: true) can start before the
web front exists. It serves only the discovery document and an empty JWKS;
every other path is 404. It signs nothing and logs nobody in: tests that
need a real login use the real web front.

    fake_issuer.py --port-file FILE [--path /_fido2gate]

listens on 127.0.0.1 (a free port, written to FILE once it listens) and
serves until SIGTERM. The issuer is http://127.0.0.1:PORT/_fido2gate.
"""

import argparse
import json
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port-file", required=True)
    p.add_argument("--path", default="/_fido2gate")
    args = p.parse_args()
    base = args.path.rstrip("/")

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, fmt, *a):
            sys.stderr.write("fake_issuer: " + (fmt % a) + "\n")

        def _json(self, obj):
            body = json.dumps(obj).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            issuer = "http://127.0.0.1:%d%s" % (self.server.server_address[1], base)
            if self.path == base + "/.well-known/openid-configuration":
                self._json(
                    {
                        "issuer": issuer,
                        "authorization_endpoint": issuer + "/authorize",
                        "token_endpoint": issuer + "/token",
                        "userinfo_endpoint": issuer + "/userinfo",
                        "jwks_uri": issuer + "/jwks",
                        "response_types_supported": ["code"],
                        "grant_types_supported": ["authorization_code"],
                        "code_challenge_methods_supported": ["S256"],
                        "token_endpoint_auth_methods_supported": [
                            "client_secret_basic",
                            "client_secret_post",
                            "none",
                        ],
                        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
                        "subject_types_supported": ["public"],
                        "scopes_supported": ["openid", "profile"],
                        "response_modes_supported": ["query"],
                    }
                )
            elif self.path == base + "/jwks":
                self._json({"keys": []})
            else:
                self.send_error(404)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    def stop(*_):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
