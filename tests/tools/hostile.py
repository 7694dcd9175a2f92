#!/usr/bin/env python3
"""What a hostile local user does to the agent's socket, for tests.

  hostile.py SOCKET flood SECONDS     connect and close as fast as it can
                                      for SECONDS: "flooding", then
                                      "connects N"
  hostile.py SOCKET hold N SECONDS    open N connections (no request) and
                                      hold them: prints "held K" once they
                                      are open (K may be less than N when
                                      the agent turns some away), then holds
  hostile.py SOCKET garbage N         N records of 60 KB of garbage on one
                                      connection, without reading replies;
                                      then reads them all: "replies R"
  hostile.py SOCKET stall SECONDS     auth.begin for this user, then silence:
                                      waits up to SECONDS for the agent to
                                      hang up: "<closed> after S s" or
                                      "<open>"
  hostile.py SOCKET fail USER N       N times auth.begin for USER and
                                      auth.abort: N failed attempts
  hostile.py SOCKET abort USER TEXT   auth.begin for USER, then auth.abort
                                      with TEXT as reason (Python escapes
                                      decoded): prints the abort's reply
  hostile.py SOCKET fill SECONDS      open connections until the listen
                                      queue is full (connect would block),
                                      print "filled K", and hold them

Standard library only: it runs as another user from a copy in the test's
temporary folder.
"""
import json
import os
import pwd
import resource
import socket
import sys
import time


def connect(path, block=True):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    if not block:
        s.setblocking(False)
    s.connect(path)
    return s


def flood(path, seconds):
    print("flooding", flush=True)
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        try:
            s = connect(path)
            s.close()
            n += 1
        except OSError:
            pass
    print("connects %d" % n, flush=True)


def hold(path, n, seconds):
    conns = []
    for _ in range(n):
        try:
            conns.append(connect(path))
        except OSError:
            break
    # a connection turned away gets a refusal and is closed by the agent
    time.sleep(0.5)
    alive = 0
    for s in conns:
        s.setblocking(False)
        try:
            data = s.recv(70000)
            if data:
                continue  # a refusal: "too many connections"
        except BlockingIOError:
            alive += 1
            continue
        except OSError:
            continue
    print("held %d" % alive, flush=True)
    time.sleep(seconds)


def garbage(path, n):
    s = connect(path)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 22)
    junk = b"{" * 60000
    sent = 0
    for _ in range(n):
        try:
            s.send(junk)
            sent += 1
        except OSError:
            break
    s.settimeout(10)
    got = 0
    while got < sent:
        try:
            if not s.recv(70000):
                break
            got += 1
        except OSError:
            break
    print("replies %d" % got, flush=True)


def stall(path, seconds):
    user = pwd.getpwuid(os.getuid()).pw_name
    s = connect(path)
    s.send(json.dumps({"v": 1, "op": "auth.begin", "user": user}).encode())
    s.settimeout(10)
    first = s.recv(70000)
    if b'"ok":true' not in first.replace(b" ", b""):
        print("begin refused: %s" % first.decode(), flush=True)
        return
    t0 = time.monotonic()
    s.settimeout(seconds)
    try:
        data = s.recv(70000)
        if not data:
            print("<closed> after %d s" % round(time.monotonic() - t0),
                  flush=True)
            return
        print("unexpected: %s" % data.decode(), flush=True)
    except socket.timeout:
        print("<open>", flush=True)
    except OSError:
        print("<closed> after %d s" % round(time.monotonic() - t0),
              flush=True)


def call(s, req):
    s.send(json.dumps(dict(req, v=1)).encode())
    s.settimeout(10)
    return json.loads(s.recv(70000))


def fail(path, user, n):
    s = connect(path)
    for _ in range(n):
        b = call(s, {"op": "auth.begin", "user": user})
        if not b.get("ok"):
            print("begin refused: %s" % b, flush=True)
            return
        call(s, {"op": "auth.abort", "session": b["session"],
                 "reason": "no key"})
    print("failed %d" % n, flush=True)


def abort(path, user, text):
    s = connect(path)
    b = call(s, {"op": "auth.begin", "user": user})
    reason = text.encode().decode("unicode_escape")
    print(json.dumps(call(s, {"op": "auth.abort", "session": b["session"],
                              "reason": reason}), sort_keys=True), flush=True)


def fill(path, seconds):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    conns = []
    while True:
        try:
            conns.append(connect(path, block=False))
        except BlockingIOError:
            break
        except OSError as e:
            print("fill: %s" % e, flush=True)
            return
    print("filled %d" % len(conns), flush=True)
    time.sleep(seconds)


def main():
    path, cmd = sys.argv[1], sys.argv[2]
    if cmd == "flood":
        flood(path, float(sys.argv[3]))
    elif cmd == "hold":
        hold(path, int(sys.argv[3]), float(sys.argv[4]))
    elif cmd == "garbage":
        garbage(path, int(sys.argv[3]))
    elif cmd == "stall":
        stall(path, float(sys.argv[3]))
    elif cmd == "fail":
        fail(path, sys.argv[3], int(sys.argv[4]))
    elif cmd == "abort":
        abort(path, sys.argv[3], sys.argv[4])
    elif cmd == "fill":
        fill(path, float(sys.argv[3]))
    else:
        sys.exit("hostile.py: unknown command " + cmd)


if __name__ == "__main__":
    main()
