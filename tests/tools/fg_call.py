#!/usr/bin/env python3
"""Send agent requests and print the replies, for tests.

  fg_call.py SOCKET < requests       one JSON request per line ("v" added);
                                     prints each reply on one line, keys
                                     sorted. A line may use $NAME for a
                                     member of an earlier reply saved with
                                     "save": {"NAME": "member"}.

Standard library only.
"""
import json
import socket
import sys


def main():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(30)
    s.connect(sys.argv[1])
    saved = {}
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        for k, v in saved.items():
            line = line.replace("$" + k, v)
        req = json.loads(line)
        save = req.pop("save", {})
        req["v"] = 1
        s.send(json.dumps(req).encode())
        data = s.recv(70000)
        if not data:
            print("<closed>", flush=True)
            return
        reply = json.loads(data)
        for name, member in save.items():
            saved[name] = str(reply.get(member, ""))
        print(json.dumps(reply, sort_keys=True), flush=True)


if __name__ == "__main__":
    main()
