#!/usr/bin/env python3
"""A misbehaving client of the agent's SOCK_SEQPACKET socket, for tests.

  sockpeer.py SOCKET hold N SECONDS      open N connections, send one status
                                         request on each, print each reply (or
                                         "<closed>"), then hold them open
  sockpeer.py SOCKET idle SECONDS        connect, stay silent, then report
                                         whether the agent closed the line
  sockpeer.py SOCKET size BYTES          one status request padded to BYTES
  sockpeer.py SOCKET flood N             N requests without reading a reply,
                                         then report whether the line is open
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
    s.settimeout(timeout)
    try:
        data = s.recv(70000)
    except (ConnectionResetError, BrokenPipeError):
        return "<closed>"
    except socket.timeout:
        return "<timeout>"
    return data.decode() if data else "<closed>"


def main():
    path, cmd = sys.argv[1], sys.argv[2]
    if cmd == "hold":
        conns = []
        for _ in range(int(sys.argv[3])):
            s = connect(path)
            # a connection turned away is told so at once
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
        time.sleep(float(sys.argv[4]))
    elif cmd == "idle":
        s = connect(path)
        time.sleep(float(sys.argv[3]))
        try:
            s.send(status())
            print(reply(s, 2.0))
        except (BrokenPipeError, ConnectionResetError):
            print("<closed>")
    elif cmd == "size":
        s = connect(path)
        s.send(status(int(sys.argv[3])))
        print(reply(s))
    elif cmd == "flood":
        s = connect(path)
        s.setblocking(False)
        sent = 0
        try:
            for _ in range(int(sys.argv[3])):
                s.send(status())
                sent += 1
        except (BlockingIOError, BrokenPipeError, ConnectionResetError):
            pass
        time.sleep(1.0)
        s.setblocking(True)
        # drain what the agent managed to answer, then see if it hung up
        s.settimeout(0.5)
        got = 0
        try:
            while True:
                data = s.recv(70000)
                if not data:
                    print(f"sent {sent} got {got} <closed>")
                    return
                got += 1
        except socket.timeout:
            print(f"sent {sent} got {got} <open>")
        except ConnectionResetError:
            print(f"sent {sent} got {got} <closed>")
    else:
        sys.exit("unknown command")


if __name__ == "__main__":
    main()
