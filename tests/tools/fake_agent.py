#!/usr/bin/env python3
"""A broken fido2gated, for tests of the PAM module's side of the protocol.

  fake_agent.py SOCKET SCENARIO CREDENTIAL_ID

Serves one connection at a time. Scenarios named begin-* break the reply to
auth.begin; finish-* answer auth.begin properly (a fresh challenge, the
given credential ID allowed) and break the reply to auth.finish. The module
must refuse in every case.
"""
import base64
import json
import os
import socket
import sys

RP = "fido2gate.test"


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def good_begin(cred):
    return {"v": 1, "ok": True, "session": b64(os.urandom(16)),
            "challenge": b64(os.urandom(32)), "rp_id": RP,
            "origin": "pam://" + RP, "allow_credentials": [cred],
            "uv": "preferred", "timeout": 60}


def dump(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


BROKEN = {
    "close": None,
    "silent": "silent",
    "truncated": lambda good: dump(good)[: len(dump(good)) // 2],
    "garbage": lambda good: os.urandom(200),
    "not-object": lambda good: b"[1,2,3]",
    "no-version": lambda good: dump({k: v for k, v in good.items() if k != "v"}),
    "version-2": lambda good: dump(dict(good, v=2)),
    "not-ok": lambda good: dump(dict(good, ok=False)),
    "ok-string": lambda good: dump(dict(good, ok="true")),
    "nul-inside": lambda good: dump(good)[:10] + b"\0" + dump(good)[10:],
}

BEGIN_ONLY = {
    "no-session": lambda good: dump({k: v for k, v in good.items() if k != "session"}),
    "bad-challenge": lambda good: dump(dict(good, challenge="***")),
    "empty-allow": lambda good: dump(dict(good, allow_credentials=[])),
    "allow-not-list": lambda good: dump(dict(good, allow_credentials="x")),
    "no-rp": lambda good: dump({k: v for k, v in good.items() if k != "rp_id"}),
}

FINISH_ONLY = {
    "ok-no-result": lambda good: dump({"v": 1, "ok": True}),
    "result-Allow": lambda good: dump({"v": 1, "ok": True, "result": "Allow"}),
    "result-allow-space": lambda good: dump({"v": 1, "ok": True, "result": "allow "}),
    "result-list": lambda good: dump({"v": 1, "ok": True, "result": ["allow"]}),
    "result-true": lambda good: dump({"v": 1, "ok": True, "result": True}),
    "not-ok-allow": lambda good: dump({"v": 1, "ok": False, "result": "allow"}),
    "deny": lambda good: dump({"v": 1, "ok": True, "result": "deny"}),
}
# the harness's own check: a proper "allow" must get in
CONTROL = {"control": lambda good: dump(good)}


def scenarios():
    for name in BROKEN:
        yield "begin-" + name
        yield "finish-" + name
    for name in BEGIN_ONLY:
        yield "begin-" + name
    for name in FINISH_ONLY:
        yield "finish-" + name


def answer(conn, how, good):
    if how is None:
        return False
    if how == "silent":
        conn.recv(70000)  # and say nothing until the client gives up
        conn.settimeout(30)
        try:
            conn.recv(70000)
        except OSError:
            pass
        return False
    conn.send(how(good) if callable(how) else how)
    return True


def serve(path, scenario, cred):
    phase, name = scenario.split("-", 1)
    how = {**BROKEN, **BEGIN_ONLY, **FINISH_ONLY, **CONTROL}[name]
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    srv.bind(path)
    srv.listen(8)
    print("ready", flush=True)
    while True:
        conn, _ = srv.accept()
        with conn:
            req = json.loads(conn.recv(70000))
            good = good_begin(cred)
            if phase == "begin":
                if how == "silent":
                    conn.settimeout(30)
                    try:
                        conn.recv(70000)
                    except OSError:
                        pass
                    continue
                if how is None:
                    continue
                conn.send(how(good))
                continue
            conn.send(dump(good))
            data = conn.recv(70000)
            if not data:
                continue
            req = json.loads(data)
            if req.get("op") != "auth.finish":
                conn.send(dump({"v": 1, "ok": True}))
                continue
            answer(conn, how, {"v": 1, "ok": True, "result": "allow", "user": "alice"})


if __name__ == "__main__":
    if sys.argv[1] == "--list":
        print("\n".join(scenarios()))
    else:
        serve(sys.argv[1], sys.argv[2], sys.argv[3])
