#!/usr/bin/env python3
"""Slow and many HTTP clients from one address, for the web front's limits.

  slow_clients.py SOURCE HOST PORT COUNT STATUS

Opens COUNT connections from SOURCE (a local address, e.g. 127.0.0.1) to
HOST:PORT and sends each a request's headers one byte a second, never
finishing them. Every round it writes "tried=N open=K" to STATUS: how many
connections it made and how many the server still holds open. Runs until
killed.
"""
import os
import select
import socket
import sys
import time

HEADERS = b"GET /.well-known/openid-configuration HTTP/1.1\r\nHost: x\r\n" + \
    b"X-Slow: " + b"a" * 100000


def main():
    source, host, port, count, status = sys.argv[1:6]
    conns = []
    for _ in range(int(count)):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((source, 0))
        s.setblocking(False)
        try:
            s.connect((host, int(port)))
        except BlockingIOError:
            pass
        conns.append(s)
    sent = 0
    while True:
        # a server that closed a connection makes it readable (EOF or RST)
        readable, _, _ = select.select(conns, [], [], 0)
        for s in readable:
            try:
                if s.recv(4096) == b"":
                    raise ConnectionError
            except (ConnectionError, OSError):
                conns.remove(s)
                s.close()
        for s in list(conns):
            try:
                s.send(HEADERS[sent:sent + 1])
            except BlockingIOError:
                pass
            except OSError:
                conns.remove(s)
                s.close()
        sent += 1
        tmp = status + ".tmp"
        with open(tmp, "w") as f:
            f.write("tried=%s open=%d round=%d\n" % (count, len(conns), sent))
        os.replace(tmp, status)
        time.sleep(1)


if __name__ == "__main__":
    main()
