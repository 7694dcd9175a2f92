"""A fake fido2gate agent for the Synapse module's tests: a SOCK_SEQPACKET
Unix socket that records each request record and answers with a scripted
action. Not the real agent: it knows nothing of approvals; it only lets the
tests drive the module through every kind of reply.

In a test (a thread in the test's process):

    agent = FakeAgent(path, lambda request: Reply(b'{"v":1,...}'))
    agent.start(); ...; agent.requests; agent.stop()

As a script (for a real Synapse):

    fake_agent.py --socket PATH --answer allow|deny [--log FILE]

answers every request {"v":1,"ok":true,"result":ANSWER,"reason":...} and
appends each request to FILE, one JSON line each, until SIGTERM.
"""

import argparse
import json
import os
import select
import signal
import socket
import sys
import threading
from typing import Callable, List, NamedTuple, Optional

RECORD_MAX = 1 << 20


class Reply(NamedTuple):
    """Send these bytes as one record, then keep the connection open."""

    data: bytes


class Close(NamedTuple):
    """Close the connection without a reply."""


class Silent(NamedTuple):
    """Never answer; hold the connection open until the agent stops."""


def reply_obj(obj) -> Reply:
    return Reply(json.dumps(obj).encode())


class FakeAgent:
    def __init__(self, path: str, script: Callable[[bytes], object], backlog: int = 16):
        self.path = path
        self.script = script
        self.requests: List[bytes] = []
        self._backlog = backlog
        self._held: List[socket.socket] = []
        self._stop_r, self._stop_w = os.pipe()
        self._thread: Optional[threading.Thread] = None
        self._listener: Optional[socket.socket] = None
        self._lock = threading.Lock()

    def start(self) -> "FakeAgent":
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self._listener.bind(self.path)
        self._listener.listen(self._backlog)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        os.write(self._stop_w, b"x")
        if self._thread is not None:
            self._thread.join(5)
        for s in self._held:
            s.close()
        if self._listener is not None:
            self._listener.close()
        os.close(self._stop_r)
        os.close(self._stop_w)
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass

    def _serve(self) -> None:
        conns: List[socket.socket] = []
        while True:
            ready, _, _ = select.select([self._stop_r, self._listener] + conns, [], [])
            if self._stop_r in ready:
                break
            if self._listener in ready:
                conn, _ = self._listener.accept()
                conns.append(conn)
            for conn in [c for c in conns if c in ready]:
                try:
                    data = conn.recv(RECORD_MAX)
                except OSError:
                    data = b""
                if not data:
                    conns.remove(conn)
                    conn.close()
                    continue
                with self._lock:
                    self.requests.append(data)
                action = self.script(data)
                if isinstance(action, Reply):
                    try:
                        conn.send(action.data)
                    except OSError:
                        pass
                elif isinstance(action, Silent):
                    conns.remove(conn)
                    self._held.append(conn)
                else:
                    conns.remove(conn)
                    conn.close()
        for conn in conns:
            conn.close()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--socket", required=True)
    p.add_argument("--answer", required=True, choices=["allow", "deny"])
    p.add_argument("--log")
    args = p.parse_args()

    def script(data: bytes) -> Reply:
        if args.log:
            with open(args.log, "a") as f:
                f.write(data.decode("utf-8", "replace") + "\n")
        return reply_obj(
            {"v": 1, "ok": True, "result": args.answer, "reason": "the fake agent says " + args.answer}
        )

    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    agent = FakeAgent(args.socket, script).start()
    try:
        while not done.wait(1):
            pass
    finally:
        agent.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
