#!/usr/bin/env python3
"""A misbehaving client of the agent's SOCK_SEQPACKET socket, for tests.

  sockpeer.py SOCKET hold N SECONDS      open N connections, send one status
                                         request on each, print each reply (or
                                         "<closed>"), then hold them open
  sockpeer.py SOCKET idle SECONDS        connect, stay silent, then report
                                         whether the agent closed the line
  sockpeer.py SOCKET hangup SECONDS      connect, stay silent and wait up to
                                         SECONDS for the agent to hang up:
                                         "<closed> after S s" or "<open>"
  sockpeer.py SOCKET size BYTES          one status request padded to BYTES
  sockpeer.py SOCKET flood SECONDS       send requests without ever reading a
                                         reply until the agent hangs up or
                                         SECONDS pass, then drain the replies:
                                         "sent N got M <closed>" (or <open>)

Every wait here ends on the agent's verdict, or on a deadline far past it:
none races the agent, so the answers are the same on a busy machine.
"""
import json
import socket
import sys
import time


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    return s


def status(pad=0):
    req = {"v": 1, "op": "status"}
    if pad:
        req["pad"] = ""
        base = len(json.dumps(req, separators=(",", ":")))
        req["pad"] = "x" * max(0, pad - base)
    return json.dumps(req, separators=(",", ":")).encode()


def reply(s, timeout=5.0):
    """The next record, "<closed>" or "<timeout>". A peer that closed with
    our request unread leaves ECONNRESET pending, which recv() reports
    before the records still queued: read on past it, so a reply the agent
    sent before it hung up (a refusal, say) is never lost."""
    s.settimeout(timeout)
    for _ in range(2):
        try:
            data = s.recv(70000)
        except (ConnectionResetError, BrokenPipeError):
            continue
        except socket.timeout:
            return "<timeout>"
        return data.decode() if data else "<closed>"
    return "<closed>"


def hold(path, n, seconds):
    conns = []
    for _ in range(n):
        s = connect(path)
        # a connection turned away is told so at once; if the agent is slow
        # to say so, the status request below is answered by the refusal
        first = reply(s, 0.3)
        if first != "<timeout>":
            print(first, flush=True)
            conns.append(s)
            continue
        try:
            s.send(status())
        except (BrokenPipeError, ConnectionResetError):
            pass
        print(reply(s), flush=True)
        conns.append(s)
    time.sleep(seconds)


def hangup(path, seconds):
    t0 = time.monotonic()  # before the agent's accept starts its clock
    s = connect(path)
    got = reply(s, seconds)
    if got == "<closed>":
        print(f"<closed> after {time.monotonic() - t0:.2f} s")
    else:
        print(got if got != "<timeout>" else "<open>")


def flood(path, seconds):
    """The agent answers each request with a non-blocking send; replies we
    do not read are charged to its socket's send buffer (an AF_UNIX
    datagram is accounted to the sender until it is read, whatever the
    receiver's SO_RCVBUF), so while we keep sending, that buffer fills and
    the agent must hang up. Keep sending until it does."""
    s = connect(path)
    s.settimeout(1.0)
    req = status()
    deadline = time.monotonic() + seconds
    sent, verdict = 0, "<open>"
    while time.monotonic() < deadline:
        try:
            s.send(req)
            sent += 1
        except socket.timeout:
            continue  # our own send buffer is full: the agent reads on
        except (BrokenPipeError, ConnectionResetError):
            verdict = "<closed>"
            break
    # drain what the agent answered before it hung up
    got = 0
    while True:
        r = reply(s, 5.0)
        if r in ("<closed>", "<timeout>"):
            if r == "<closed>":
                verdict = "<closed>"
            break
        got += 1
    print(f"sent {sent} got {got} {verdict}")


def main():
    path, cmd = sys.argv[1], sys.argv[2]
    if cmd == "hold":
        hold(path, int(sys.argv[3]), float(sys.argv[4]))
    elif cmd == "idle":
        s = connect(path)
        time.sleep(float(sys.argv[3]))
        try:
            s.send(status())
            print(reply(s, 2.0))
        except (BrokenPipeError, ConnectionResetError):
            print("<closed>")
    elif cmd == "hangup":
        hangup(path, float(sys.argv[3]))
    elif cmd == "size":
        s = connect(path)
        s.send(status(int(sys.argv[3])))
        print(reply(s))
    elif cmd == "flood":
        flood(path, float(sys.argv[3]))
    else:
        sys.exit("unknown command")


if __name__ == "__main__":
    main()
