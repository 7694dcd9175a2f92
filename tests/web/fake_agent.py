#!/usr/bin/env python3
"""A stand-in fido2gated for the web front's tests: the oidc.* and web.*
ops of docs/oidc.md, answered from a fixed script, so that every path of
the front (redirects, the login page, token and userinfo answers, and an
agent that is slow or talks nonsense) can be tested without the real
agent's store, keys and policy.

  fake_agent.py SOCKET LOG MODE_FILE

Every request is appended to LOG as one JSON line. MODE_FILE, read at each
request when it exists, switches the behaviour: "good" (the default),
"slow" (never answers), "close" (hangs up), "garbage" (answers bytes that
are not JSON), "nonsense" (answers ok:true without what each op needs,
and an OAuth refusal with a javascript: redirect), "unknown" (every op is
unknown_op, as an agent that predates them). "MODE OP" applies MODE to
that op alone.
"""
import base64
import json
import os
import socket
import sys
import threading
import time
import urllib.parse

ISSUER = "https://matrix.test/_fido2gate"
CB = "https://matrix.test/_synapse/client/oidc/callback"
CLIENTS = {
    "synapse": {"name": 'Matrix <b>"Synapse"</b> & co', "redirect": CB,
                "secret": "s3cr:et+/%", "first_factor": "none"},
    "pwclient": {"name": "Password client", "redirect": CB,
                 "secret": "pw", "first_factor": "password"},
}
GOOD_SIG = base64.urlsafe_b64encode(b"good").rstrip(b"=").decode()

lock = threading.Lock()
txs = {}        # tx -> the authorize params
sessions = {}   # session -> tx


def b64(n):
    return base64.urlsafe_b64encode(os.urandom(n)).rstrip(b"=").decode()


def ok(**kw):
    return dict({"v": 1, "ok": True}, **kw)


def refuse(code, message, **kw):
    return dict({"v": 1, "ok": False, "error": code, "message": message}, **kw)


def with_query(url, **params):
    sep = "&" if "?" in url else "?"
    return url + sep + urllib.parse.urlencode(params)


def authorize(params):
    client = CLIENTS.get(params.get("client_id"))
    if client is None:
        return refuse("oauth", "unknown client_id", oauth_error="invalid_request")
    if params.get("redirect_uri") != client["redirect"]:
        return refuse("oauth", "redirect_uri is not registered for this client",
                      oauth_error="invalid_request")
    state = params.get("state", "")
    if params.get("response_type") != "code":
        return refuse("oauth", "response_type must be code",
                      oauth_error="unsupported_response_type",
                      redirect=with_query(CB, error="unsupported_response_type",
                                          state=state, iss=ISSUER))
    if params.get("prompt") == "none":
        return refuse("oauth", "no provider session",
                      oauth_error="login_required",
                      redirect=with_query(CB, error="login_required",
                                          state=state, iss=ISSUER))
    tx = b64(16)
    with lock:
        txs[tx] = params
    return ok(tx=tx, client=client["name"], first_factor=client["first_factor"],
              uv="preferred", expires_in=600)


def begin(req):
    if req.get("tx") not in txs:
        return refuse("no_session", "unknown or expired login transaction")
    user = req.get("user")
    if user == "locked":
        return refuse("locked", "locked until an admin unlocks")
    if user == "slowpoke":
        return refuse("rate_limited", "backing off", retry_after=7)
    session = b64(16)
    with lock:
        sessions[session] = req["tx"]
    return ok(session=session, challenge=b64(32), rp_id="matrix.test",
              origin="https://matrix.test", allow_credentials=[b64(32), b64(48)],
              uv="preferred", timeout=60)


def finish(req):
    tx = sessions.get(req.get("session"))
    if tx is None or tx != req.get("tx"):
        return refuse("no_session", "unknown session")
    if req.get("signature") != GOOD_SIG:
        return ok(result="deny", reason="signature: does not verify",
                  why="wrong_key")
    params = txs[tx]
    return ok(result="allow", redirect=with_query(
        CB, code="c0de", state=params.get("state", ""), iss=ISSUER))


def token(req):
    client = CLIENTS.get(req.get("client_id"))
    if client is None or req.get("client_secret") != client["secret"]:
        return refuse("oauth", "client authentication failed",
                      oauth_error="invalid_client")
    if req.get("grant_type") != "authorization_code":
        return refuse("oauth", "grant_type", oauth_error="unsupported_grant_type")
    if req.get("code") != "goodcode":
        return refuse("oauth", "unknown \"code\"\n", oauth_error="invalid_grant")
    return ok(token={"access_token": "at-123", "token_type": "Bearer",
                     "expires_in": 300, "id_token": "h.p.s", "scope": "openid"})


def good(req):
    op = req.get("op")
    if op == "oidc.discovery":
        return ok(document={"issuer": ISSUER,
                            "authorization_endpoint": ISSUER + "/authorize",
                            "response_types_supported": ["code"]})
    if op == "oidc.jwks":
        return ok(jwks={"keys": [{"kty": "EC", "crv": "P-256", "kid": "k1",
                                  "x": b64(32), "y": b64(32)}]})
    if op == "oidc.authorize":
        return authorize(req.get("params", {}))
    if op == "web.begin":
        return begin(req)
    if op == "web.finish":
        return finish(req)
    if op == "web.abort":
        return ok()
    if op == "oidc.token":
        return token(req)
    if op == "oidc.userinfo":
        if req.get("access_token") != "at-123":
            return refuse("oauth", "unknown token", oauth_error="invalid_token")
        return ok(claims={"sub": "alice-handle", "preferred_username": "alice"})
    return refuse("unknown_op", "unknown op")


def nonsense(req):
    if req.get("op") == "oidc.authorize":
        return refuse("oauth", "nonsense", oauth_error="invalid_request",
                      redirect="javascript:alert(1)")
    if req.get("op") == "web.finish":
        return ok(result="allow", redirect="https://evil.test/\r\nSet-Cookie: x=1")
    return ok()


def mode(path, op):
    try:
        with open(path) as f:
            words = f.read().split()
    except OSError:
        return "good"
    if not words or (len(words) > 1 and words[1] != op):
        return "good"
    return words[0]


def serve(conn, log, mode_file):
    with conn:
        while True:
            try:
                data = conn.recv(65536)
            except OSError:
                return
            if not data:
                return
            req = json.loads(data)
            with lock:
                with open(log, "a") as f:
                    f.write(json.dumps(req) + "\n")
            m = mode(mode_file, req.get("op"))
            if m == "slow":
                time.sleep(120)
                return
            if m == "close":
                return
            if m == "garbage":
                conn.send(b"\x00not json")
                continue
            if m == "unknown":
                reply = refuse("unknown_op", "unknown op")
            elif m == "nonsense":
                reply = nonsense(req)
            else:
                reply = good(req)
            conn.send(json.dumps(reply).encode())


def main():
    path, log, mode_file = sys.argv[1:4]
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    srv.bind(path)
    srv.listen(64)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve, args=(conn, log, mode_file),
                         daemon=True).start()


if __name__ == "__main__":
    main()
