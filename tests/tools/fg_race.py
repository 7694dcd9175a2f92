#!/usr/bin/env python3
"""One request sent to two places at the same instant, for tests of
agents sharing a store: both connections are made first, then two threads
send together from a barrier. Prints one line per place, in order.

  fg_race.py agent SOCK1 SOCK2 JSON
      the agent request JSON ("v" added) to both sockets; prints each
      reply's "result" (or its "error")
  fg_race.py token URL1 URL2 CLIENT:SECRET FORM
      POST FORM to URL1/token and URL2/token with HTTP Basic; prints each
      status, and "tokens" when the body holds an access_token
  fg_race.py finish URL1 URL2 JSON
      POST the login page's JSON to URL1/login/finish and URL2/login/finish
      (Origin: each front's own URL, as its page would); prints each
      status, and "code" when the body holds the redirect with a code

Standard library only.
"""
import base64
import http.client
import json
import socket
import sys
import threading
import urllib.parse


def agent(socks, req):
    req = json.loads(req)
    req["v"] = 1
    data = json.dumps(req).encode()
    conns = []
    for path in socks:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.settimeout(30)
        s.connect(path)
        conns.append(s)
    out = [None] * len(conns)
    go = threading.Barrier(len(conns))

    def run(i):
        go.wait()
        conns[i].send(data)
        r = json.loads(conns[i].recv(70000))
        out[i] = r.get("result") or r.get("error") or "?"

    return out, go, run


def token(urls, cred, form):
    conns = []
    for u in urls:
        p = urllib.parse.urlsplit(u)
        c = http.client.HTTPConnection(p.hostname, p.port, timeout=30)
        c.connect()
        conns.append(c)
    out = [None] * len(conns)
    go = threading.Barrier(len(conns))
    if cred is not None:
        path, mark = "/token", b'"access_token"'
        auth = "Basic " + base64.b64encode(cred.encode()).decode()
        heads = [{"Authorization": auth, "Content-Type":
                  "application/x-www-form-urlencoded"}] * len(urls)
    else:
        path, mark = "/login/finish", b'code='
        heads = [{"Content-Type": "application/json", "Origin": u}
                 for u in urls]

    def run(i):
        go.wait()
        conns[i].request("POST", path, body=form, headers=heads[i])
        r = conns[i].getresponse()
        body = r.read()
        out[i] = str(r.status)
        if r.status == 200 and mark in body:
            out[i] += " tokens" if cred is not None else " code"

    return out, go, run


def main():
    if sys.argv[1] == "agent":
        out, _, run = agent(sys.argv[2:4], sys.argv[4])
    elif sys.argv[1] == "token":
        out, _, run = token(sys.argv[2:4], sys.argv[4], sys.argv[5])
    else:
        out, _, run = token(sys.argv[2:4], None, sys.argv[4])
    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for o in out:
        print(o)


if __name__ == "__main__":
    main()
