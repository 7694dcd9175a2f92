"""Unit tests of homeserver/synapse/fido2gate_synapse.py against a fake
module API and a fake agent (fake_agent.py): no Synapse needed.

    python3 -m unittest tests/homeserver/test_synapse_module.py
    python3 tests/homeserver/test_synapse_module.py --tap   # for the .t

With FIDO2GATE_REAL_SYNAPSE=1 (run by Synapse's own Python), NOT_SPAM,
Codes and ConfigError come from the real synapse.module_api instead of
the stubs below, so that a change in Synapse's module API shows here.
"""

import asyncio
import enum
import json
import logging
import os
import socket
import sys
import tempfile
import time
import types
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(TOP, "homeserver", "synapse"))

REAL_SYNAPSE = os.environ.get("FIDO2GATE_REAL_SYNAPSE") == "1"


def install_stubs() -> None:
    """Just enough of synapse.module_api for the module to import."""

    class Codes(str, enum.Enum):
        FORBIDDEN = "M_FORBIDDEN"
        UNKNOWN = "M_UNKNOWN"

    class ConfigError(Exception):
        def __init__(self, msg, path=None):
            super().__init__(msg)
            self.msg = msg
            self.path = path

    class ModuleApi:  # only a type for the module's annotations
        pass

    synapse = types.ModuleType("synapse")
    module_api = types.ModuleType("synapse.module_api")
    module_api.NOT_SPAM = "NOT_SPAM"
    module_api.ModuleApi = ModuleApi
    errors = types.ModuleType("synapse.module_api.errors")
    errors.Codes = Codes
    errors.ConfigError = ConfigError
    api = types.ModuleType("synapse.api")
    api_errors = types.ModuleType("synapse.api.errors")
    api_errors.Codes = Codes
    synapse.module_api = module_api
    synapse.api = api
    module_api.errors = errors
    api.errors = api_errors
    sys.modules.update(
        {
            "synapse": synapse,
            "synapse.module_api": module_api,
            "synapse.module_api.errors": errors,
            "synapse.api": api,
            "synapse.api.errors": api_errors,
        }
    )


if not REAL_SYNAPSE:
    install_stubs()

import fido2gate_synapse as fg  # noqa: E402

# The module's log lines are checked with assertLogs; keep them off stderr.
logging.getLogger(fg.__name__).addHandler(logging.NullHandler())
from fake_agent import Close, FakeAgent, Reply, Silent, reply_obj  # noqa: E402
from synapse.module_api import NOT_SPAM  # noqa: E402
from synapse.module_api.errors import Codes, ConfigError  # noqa: E402


class FakeModuleApi:
    """Records the callbacks registered; runs defer_to_thread's function in
    a real thread, as Synapse's thread pool would."""

    def __init__(self):
        self.spam_checker_callbacks = []
        self.deferred = []

    def register_spam_checker_callbacks(self, **callbacks):
        self.spam_checker_callbacks.append(callbacks)

    async def defer_to_thread(self, f, *args, **kwargs):
        self.deferred.append(f)
        return await asyncio.get_running_loop().run_in_executor(
            None, lambda: f(*args, **kwargs)
        )


ALLOW = {"v": 1, "ok": True, "result": "allow", "reason": "approval consumed"}


def pad_allow(total: int) -> bytes:
    """An exact allow, padded with an extra member to total bytes."""
    base = json.dumps(dict(ALLOW, pad="")).encode()
    out = json.dumps(dict(ALLOW, pad="x" * (total - len(base)))).encode()
    assert len(out) == total
    return out


# Every reply that is not an exact allow: (name, action, what the log says).
BROKEN_REPLIES = [
    ("closed_without_reply", Close(), "closed the connection"),
    ("silent_past_the_timeout", Silent(), "timed out"),
    ("garbage", Reply(b"\x00\xffnot json at all"), "not JSON"),
    ("empty_record", Reply(b""), "closed the connection"),
    ("invalid_utf8", Reply(b'{"v":1,"ok":true,"result":"allow","reason":"\xff"}'), "not JSON"),
    ("utf16_json", Reply(json.dumps(ALLOW).encode("utf-16")), "not JSON"),
    ("not_an_object", Reply(b'["v",1,"ok",true,"result","allow"]'), "not a JSON object"),
    ("bare_true", Reply(b"true"), "not a JSON object"),
    ("bare_allow_string", Reply(b'"allow"'), "not a JSON object"),
    ("ok_false", reply_obj({"v": 1, "ok": False, "error": "denied", "message": "no"}), "refused the request: denied"),
    ("ok_false_with_allow", reply_obj({"v": 1, "ok": False, "result": "allow"}), "refused the request"),
    ("ok_string_true", reply_obj({"v": 1, "ok": "true", "result": "allow"}), '"ok" is'),
    ("ok_one", reply_obj({"v": 1, "ok": 1, "result": "allow"}), '"ok" is'),
    ("ok_missing", reply_obj({"v": 1, "result": "allow"}), '"ok" is'),
    ("result_Allow", reply_obj({"v": 1, "ok": True, "result": "Allow"}), "neither allow nor deny"),
    ("result_allow_with_space", reply_obj({"v": 1, "ok": True, "result": "allow "}), "neither allow nor deny"),
    ("result_list_allow", reply_obj({"v": 1, "ok": True, "result": ["allow"]}), "neither allow nor deny"),
    ("result_true", reply_obj({"v": 1, "ok": True, "result": True}), "neither allow nor deny"),
    ("result_missing", reply_obj({"v": 1, "ok": True}), "neither allow nor deny"),
    ("result_deny", reply_obj({"v": 1, "ok": True, "result": "deny", "reason": "no approval"}), "deny: no approval"),
    ("result_maybe", reply_obj({"v": 1, "ok": True, "result": "maybe"}), "neither allow nor deny"),
    ("v_missing", reply_obj({"ok": True, "result": "allow"}), "version"),
    ("v_2", reply_obj({"v": 2, "ok": True, "result": "allow"}), "version"),
    ("v_string", reply_obj({"v": "1", "ok": True, "result": "allow"}), "version"),
    ("v_true", reply_obj({"v": True, "ok": True, "result": "allow"}), "version"),
    ("v_float", Reply(b'{"v":1.0,"ok":true,"result":"allow"}'), "version"),
    ("repeated_member", Reply(b'{"v":1,"ok":false,"ok":true,"result":"allow"}'), "repeated member"),
    ("repeated_result", Reply(b'{"v":1,"ok":true,"result":"deny","result":"allow"}'), "repeated member"),
    ("nan_member", Reply(b'{"v":1,"ok":true,"result":"allow","x":NaN}'), "not JSON"),
    ("trailing_garbage", Reply(json.dumps(ALLOW).encode() + b"x"), "not JSON"),
    ("two_objects", Reply(json.dumps(ALLOW).encode() * 2), "not JSON"),
    ("deep_nesting", Reply(b'{"v":1,"ok":true,"result":"allow","x":' + b"[" * 30000 + b"]" * 30000 + b"}"), "not JSON"),
    ("oversized_allow", Reply(pad_allow(fg.MSG_MAX + 1)), "over 65536 bytes"),
    ("much_oversized_allow", Reply(pad_allow(200000)), "over 65536 bytes"),
]


class Fixture(unittest.TestCase):
    timeout = 0.5

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="fg-synapse-")
        self.addCleanup(lambda: os.path.isdir(self.dir) and _rmtree(self.dir))
        self.sock = os.path.join(self.dir, "agent.sock")
        self.api = FakeModuleApi()
        self.agent = None

    def tearDown(self):
        if self.agent is not None:
            self.agent.stop()

    def serve(self, action_or_script):
        script = action_or_script if callable(action_or_script) else (lambda _r: action_or_script)
        self.agent = FakeAgent(self.sock, script).start()
        return self.agent

    def module(self, **config):
        config.setdefault("socket", self.sock)
        config.setdefault("timeout", self.timeout)
        return fg.Fido2gateBackstop(fg.Fido2gateBackstop.parse_config(config), self.api)

    def login(self, module=None, user="@alice:example.org", device=None, provider="oidc-fido2gate"):
        module = module or self.module()
        return asyncio.run(
            module.check_login_for_spam(user, device, "Element", [("UA", "192.0.2.1")], provider)
        )

    def assertDenied(self, result, refusal=None):
        self.assertIsInstance(result, tuple, "a refusal is (Codes, dict), got %r" % (result,))
        code, fields = result
        self.assertIs(code, Codes.FORBIDDEN)
        self.assertIsInstance(fields, dict)
        self.assertIsInstance(fields.get("error"), str)
        if refusal is not None:
            self.assertEqual(fields.get("org.fido2gate.refusal"), refusal)


def _rmtree(path):
    for root, dirs, files in os.walk(path, topdown=False):
        for name in files:
            os.unlink(os.path.join(root, name))
        for name in dirs:
            os.rmdir(os.path.join(root, name))
    os.rmdir(path)


class TestVerdicts(Fixture):
    def test_allows_on_an_exact_allow(self):
        self.serve(reply_obj(ALLOW))
        self.assertIs(self.login(), NOT_SPAM)

    def test_allows_a_minimal_allow_reply(self):
        self.serve(Reply(b'{"v":1,"ok":true,"result":"allow"}'))
        self.assertIs(self.login(), NOT_SPAM)

    def test_allows_a_reply_of_exactly_64_kib(self):
        self.serve(Reply(pad_allow(fg.MSG_MAX)))
        self.assertIs(self.login(), NOT_SPAM)

    def test_denies_with_an_actionable_message_when_agent_says_deny(self):
        self.serve(reply_obj({"v": 1, "ok": True, "result": "deny", "reason": "no approval"}))
        result = self.login()
        self.assertDenied(result, "key_required")
        self.assertIn("security key", result[1]["error"])
        self.assertIn("single sign-on", result[1]["error"])

    def test_denies_when_agent_is_down(self):
        result = self.login()
        self.assertDenied(result, "unavailable")
        self.assertIn("try again", result[1]["error"])

    def test_denies_when_socket_is_stale(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.bind(self.sock)
        s.close()  # the file stays, nobody listens: ECONNREFUSED
        self.assertDenied(self.login(), "unavailable")

    def test_denies_when_socket_path_is_not_a_socket(self):
        with open(self.sock, "w") as f:
            f.write("")
        self.assertDenied(self.login(), "unavailable")

    def test_denies_when_socket_is_a_symlink(self):
        self.serve(reply_obj(ALLOW))
        link = os.path.join(self.dir, "link.sock")
        os.symlink(self.sock, link)
        self.assertDenied(self.login(self.module(socket=link)), "unavailable")

    def test_denies_when_socket_folder_is_writable_by_others(self):
        self.serve(reply_obj(ALLOW))
        os.chmod(self.dir, 0o777)
        self.assertDenied(self.login(), "unavailable")
        self.assertEqual(len(self.agent.requests), 0, "nothing is sent to an untrusted socket")

    @unittest.skipUnless(os.geteuid() == 0, "needs root to give the socket another owner")
    def test_denies_when_socket_is_served_by_another_user(self):
        self.serve(reply_obj(ALLOW))
        os.chown(self.sock, 65534, -1)  # the file says nobody; the peer is root
        self.assertDenied(self.login(), "unavailable")

    def test_denies_when_the_connection_is_closed_after_the_request(self):
        self.serve(Close())
        self.assertDenied(self.login(), "unavailable")


def _make_broken_reply_test(action, why):
    def test(self):
        self.serve(action)
        start = time.monotonic()
        with self.assertLogs("fido2gate_synapse", level="INFO") as logs:
            result = self.login()
        self.assertDenied(result)
        self.assertLess(time.monotonic() - start, self.timeout + 2.0)
        self.assertIn(why, "\n".join(logs.output))

    return test


for _name, _action, _why in BROKEN_REPLIES:
    setattr(TestVerdicts, "test_denies_reply_" + _name, _make_broken_reply_test(_action, _why))


class TestRequest(Fixture):
    def test_request_carries_user_provider_and_device(self):
        self.serve(reply_obj(ALLOW))
        self.login(user="@bob:example.org", device="DEVICE1", provider="oidc-fido2gate")
        self.assertEqual(len(self.agent.requests), 1)
        req = json.loads(self.agent.requests[0])
        self.assertEqual(
            req,
            {
                "v": 1,
                "op": "login.check",
                "user_id": "@bob:example.org",
                "auth_provider_id": "oidc-fido2gate",
                "device_id": "DEVICE1",
            },
        )

    def test_request_sends_null_for_a_password_login(self):
        self.serve(reply_obj(ALLOW))
        self.login(device=None, provider=None)
        req = json.loads(self.agent.requests[0])
        self.assertIn("auth_provider_id", req)
        self.assertIsNone(req["auth_provider_id"])
        self.assertIn("device_id", req)
        self.assertIsNone(req["device_id"])

    def test_request_relays_nothing_from_the_client_but_ids(self):
        self.serve(reply_obj(ALLOW))
        self.login()
        req = json.loads(self.agent.requests[0])
        self.assertEqual(sorted(req), ["auth_provider_id", "device_id", "op", "user_id", "v"])

    def test_each_login_asks_again(self):
        self.serve(reply_obj(ALLOW))
        module = self.module()
        for _ in range(3):
            self.assertIs(self.login(module), NOT_SPAM)
        self.assertEqual(len(self.agent.requests), 3)

    def test_verdict_follows_each_reply(self):
        answers = iter(["allow", "deny", "allow"])
        self.serve(lambda _r: reply_obj({"v": 1, "ok": True, "result": next(answers)}))
        module = self.module()
        self.assertIs(self.login(module), NOT_SPAM)
        self.assertDenied(self.login(module), "key_required")
        self.assertIs(self.login(module), NOT_SPAM)

    def test_unencodable_user_id_is_denied_without_asking(self):
        self.serve(reply_obj(ALLOW))
        self.assertDenied(self.login(user="@\ud800:example.org"), "unavailable")
        self.assertEqual(len(self.agent.requests), 0)


class TestNonBlocking(Fixture):
    def test_registers_check_login_for_spam(self):
        module = self.module()
        self.assertEqual(len(self.api.spam_checker_callbacks), 1)
        callbacks = self.api.spam_checker_callbacks[0]
        self.assertEqual(list(callbacks), ["check_login_for_spam"])
        self.assertEqual(callbacks["check_login_for_spam"], module.check_login_for_spam)

    def test_socket_io_runs_through_defer_to_thread(self):
        self.serve(reply_obj(ALLOW))
        self.login()
        self.assertEqual(len(self.api.deferred), 1)

    def test_event_loop_keeps_running_while_agent_is_silent(self):
        self.serve(Silent())
        module = self.module(timeout=0.6)
        ticks = []

        async def ticker():
            while True:
                ticks.append(time.monotonic())
                await asyncio.sleep(0.05)

        async def both():
            t = asyncio.ensure_future(ticker())
            try:
                return await module.check_login_for_spam("@a:x", None, None, [], None)
            finally:
                t.cancel()

        start = time.monotonic()
        result = asyncio.run(both())
        elapsed = time.monotonic() - start
        self.assertDenied(result, "unavailable")
        self.assertGreaterEqual(elapsed, 0.5, "waited for the timeout")
        self.assertLess(elapsed, 2.0, "and not much longer")
        self.assertGreater(len(ticks), 5, "the loop ran while the agent was silent")

    def test_connect_is_bounded_when_agent_backlog_is_full(self):
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        listener.bind(self.sock)
        listener.listen(0)  # never accepted
        filler = []
        self.addCleanup(lambda: [s.close() for s in filler + [listener]])
        while True:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_NONBLOCK)
            filler.append(s)
            if s.connect_ex(self.sock) != 0:
                break
            self.assertLess(len(filler), 64, "the backlog never filled")
        start = time.monotonic()
        result = self.login(self.module(timeout=0.4))
        elapsed = time.monotonic() - start
        self.assertDenied(result, "unavailable")
        self.assertGreaterEqual(elapsed, 0.35)
        self.assertLess(elapsed, 2.0)

    def test_a_failing_thread_pool_is_a_refusal(self):
        class BrokenApi(FakeModuleApi):
            async def defer_to_thread(self, f, *args, **kwargs):
                raise RuntimeError("thread pool gone")

        self.api = BrokenApi()
        self.serve(reply_obj(ALLOW))
        self.assertDenied(self.login(), "unavailable")

    def test_deadline_counts_time_waiting_for_a_thread(self):
        class SlowPool(FakeModuleApi):
            async def defer_to_thread(self, f, *args, **kwargs):
                await asyncio.sleep(0.5)  # the pool was busy
                return f(*args, **kwargs)

        self.api = SlowPool()
        self.serve(reply_obj(ALLOW))
        self.assertDenied(self.login(self.module(timeout=0.2)), "unavailable")
        self.assertEqual(len(self.agent.requests), 0)


class TestLogs(Fixture):
    def test_logs_say_why_and_stay_short(self):
        secret = "S3CRET" * 2000
        self.serve(reply_obj({"v": 1, "ok": True, "result": "deny", "reason": secret}))
        with self.assertLogs("fido2gate_synapse", level="INFO") as logs:
            self.assertDenied(self.login(), "key_required")
        text = "\n".join(logs.output)
        self.assertIn("deny", text)
        self.assertNotIn(secret, text)
        self.assertLess(max(len(line) for line in logs.output), 400)

    def test_logs_never_quote_a_malformed_reply_whole(self):
        secret = "T0KEN" * 3000
        self.serve(Reply(b'{"v":1,"ok":true,"result":"' + secret.encode() + b'"}'))
        with self.assertLogs("fido2gate_synapse", level="INFO") as logs:
            self.assertDenied(self.login(), "unavailable")
        self.assertLess(max(len(line) for line in logs.output), 400)

    def test_logs_escape_control_characters(self):
        self.serve(reply_obj({"v": 1, "ok": True, "result": "deny", "reason": "a\nforged line\x1b[2J"}))
        with self.assertLogs("fido2gate_synapse", level="INFO") as logs:
            self.login()
        self.assertFalse(any("\n" in line or "\x1b" in line for line in logs.output))


class TestConfig(unittest.TestCase):
    parse = staticmethod(fg.Fido2gateBackstop.parse_config)

    def test_defaults(self):
        c = self.parse({})
        self.assertEqual(c.socket, "/run/fido2gate/agent.sock")
        self.assertEqual(c.timeout, 3.0)

    def test_none_is_the_defaults(self):
        self.assertEqual(self.parse(None), self.parse({}))

    def test_accepts_socket_and_timeout(self):
        c = self.parse({"socket": "/tmp/x/agent.sock", "timeout": 30})
        self.assertEqual(c, fg.BackstopConfig("/tmp/x/agent.sock", 30.0))
        self.assertEqual(self.parse({"timeout": 0.25}).timeout, 0.25)

    def test_refuses_unknown_keys(self):
        for cfg in ({"sock": "/run/x.sock"}, {"socket": "/a", "exempt": "@bot:.*"}, {"Timeout": 3}):
            with self.subTest(cfg=cfg), self.assertRaises(ConfigError) as cm:
                self.parse(cfg)
            self.assertIn("unknown config key", str(cm.exception))

    def test_refuses_a_relative_socket_path(self):
        for path in ("agent.sock", "./agent.sock", "run/fido2gate/agent.sock", ""):
            with self.subTest(path=path), self.assertRaises(ConfigError) as cm:
                self.parse({"socket": path})
            self.assertIn("absolute", str(cm.exception))

    def test_refuses_a_socket_path_that_is_not_a_string_or_too_long(self):
        for path in (None, 3, ["/a"], "/" + "a" * 107, "/a\0b"):
            with self.subTest(path=path), self.assertRaises(ConfigError):
                self.parse({"socket": path})

    def test_refuses_a_bad_timeout(self):
        for t in (0, -1, 30.01, 31, 1e9, float("nan"), float("inf"), "3", None, True, [3]):
            with self.subTest(timeout=t), self.assertRaises(ConfigError) as cm:
                self.parse({"timeout": t})
            self.assertIn("timeout", str(cm.exception))

    def test_refuses_a_config_that_is_not_a_mapping(self):
        for cfg in ("socket", ["socket"], 3):
            with self.subTest(cfg=cfg), self.assertRaises(ConfigError):
                self.parse(cfg)

    def test_init_parses_a_raw_config(self):
        api = FakeModuleApi()
        with self.assertRaises(ConfigError):
            fg.Fido2gateBackstop({"bogus": 1}, api)
        self.assertEqual(api.spam_checker_callbacks, [])


class TapResult(unittest.TextTestResult):
    """One TAP-ish line per test ("ok - NAME", "not ok - NAME", "skip -
    NAME: WHY"); the .t numbers them."""

    def _name(self, test):
        return "%s.%s" % (type(test).__name__, test._testMethodName)

    def addSuccess(self, test):
        super().addSuccess(test)
        print("ok - " + self._name(test), flush=True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        print("not ok - " + self._name(test), flush=True)
        for line in self._exc_info_to_string(err, test).splitlines():
            print("# " + line, flush=True)

    def addError(self, test, err):
        super().addError(test, err)
        print("not ok - " + self._name(test) + " (error)", flush=True)
        for line in self._exc_info_to_string(err, test).splitlines():
            print("# " + line, flush=True)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        print("skip - %s: %s" % (self._name(test), reason), flush=True)

    def addSubTest(self, test, subtest, err):
        super().addSubTest(test, subtest, err)
        if err is not None:
            print("not ok - %s %s" % (self._name(test), subtest._subDescription()), flush=True)
            for line in self._exc_info_to_string(err, test).splitlines():
                print("# " + line, flush=True)


if __name__ == "__main__":
    if "--tap" in sys.argv:
        sys.argv.remove("--tap")
        runner = unittest.TextTestRunner(
            stream=open(os.devnull, "w"), resultclass=TapResult, verbosity=0
        )
        unittest.main(testRunner=runner, verbosity=0)
    else:
        unittest.main()
