"""fido2gate's backstop for Synapse: every login asks the fido2gate agent.

Synapse calls ``check_login_for_spam`` (module API, Synapse >= 1.87) for
every login that is about to create a device: password, m.login.token after
single sign-on, JWT, application services. This module relays the login to
the agent (``login.check`` on its Unix socket, docs/oidc.md) and lets it
through only when the agent answers exactly
``{"v": 1, "ok": true, "result": "allow"}``. Anything else (a deny, the
agent down or slow, a closed connection, a malformed or oversized reply) is
a refusal: fail closed. The agent decides everything, exemptions included;
this module has no policy of its own and trusts nothing from the request.

Configuration (homeserver.yaml)::

    modules:
      - module: fido2gate_synapse.Fido2gateBackstop
        config:
          socket: /run/fido2gate/agent.sock   # absolute path (the default)
          timeout: 3                          # seconds, 0 < timeout <= 30

Python's standard library and Synapse's module API only. See
docs/homeserver.md.
"""

import errno
import json
import logging
import math
import os
import select
import socket
import stat
import struct
import time
from typing import Any, Collection, Dict, NamedTuple, Optional, Tuple, Union

from synapse.module_api import NOT_SPAM, ModuleApi
from synapse.module_api.errors import Codes, ConfigError

logger = logging.getLogger(__name__)

# The protocol's constants, as include/fido2gate/protocol.h spells them.
PROTO_VERSION = 1
MSG_MAX = 65536  # bytes per record, either way (FG_MSG_MAX)
SOCKET_DEFAULT = "/run/fido2gate/agent.sock"
SOCKET_PATH_MAX = 108  # sizeof(sun_path), with its NUL
OP_LOGIN_CHECK = "login.check"
RESULT_ALLOW = "allow"
RESULT_DENY = "deny"

TIMEOUT_DEFAULT = 3.0
TIMEOUT_MAX = 30.0
CONFIG_KEYS = ("socket", "timeout")

# What the person logging in reads (Synapse sends it as the error's text).
MESSAGE_KEY_REQUIRED = (
    "This homeserver requires your security key: log in with single "
    "sign-on (fido2gate) and touch your key when asked."
)
MESSAGE_UNAVAILABLE = (
    "The security key check is unavailable right now, so this login is "
    "refused: try again in a minute, and tell your administrator if it "
    "keeps failing."
)

LOG_TEXT_MAX = 120  # characters of agent text quoted in a log line


class BackstopConfig(NamedTuple):
    socket: str
    timeout: float


class _Verdict(NamedTuple):
    allowed: bool
    unavailable: bool  # no trustworthy answer (as opposed to a deny)
    why: str  # for the log only


class _AgentError(Exception):
    """The exchange with the agent failed; the message says how."""


def _short(text: Any) -> str:
    """Text fit for one log line: printable, and short."""
    s = text if isinstance(text, str) else repr(text)
    s = "".join(c if c.isprintable() else "?" for c in s)
    return s if len(s) <= LOG_TEXT_MAX else s[:LOG_TEXT_MAX] + "..."


def _remaining_ms(deadline: float) -> int:
    return max(0, math.ceil((deadline - time.monotonic()) * 1000))


def _wait(sock: socket.socket, events: int, deadline: float, what: str) -> None:
    poller = select.poll()
    poller.register(sock.fileno(), events)
    while True:
        left = _remaining_ms(deadline)
        if left == 0:
            raise _AgentError("timed out waiting to " + what)
        if poller.poll(left):
            return


def _check_socket_file(path: str) -> int:
    """The socket's owner, once the path is known to be a socket in a
    folder nobody else could have put it in (as lib/client.c checks)."""
    try:
        st = os.lstat(path)
    except OSError as e:
        raise _AgentError("%s: %s" % (path, e.strerror)) from None
    if not stat.S_ISSOCK(st.st_mode):
        raise _AgentError("%s is not a socket" % path)
    try:
        folder = os.stat(os.path.dirname(path) or "/")
    except OSError as e:
        raise _AgentError("the folder of %s: %s" % (path, e.strerror)) from None
    if (
        not stat.S_ISDIR(folder.st_mode)
        or folder.st_mode & 0o022
        or folder.st_uid not in (0, st.st_uid)
    ):
        raise _AgentError(
            "refusing %s: its folder is writable by others or owned by "
            "another user" % path
        )
    return st.st_uid


def _connect(path: str, deadline: float) -> socket.socket:
    """A non-blocking connection, retried while the agent's backlog is
    full, until the deadline."""
    sock = socket.socket(
        socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK
    )
    pause = 0.001
    try:
        while True:
            err = sock.connect_ex(path)
            if err == 0:
                return sock
            if err == errno.EINTR:
                continue
            if err == errno.EINPROGRESS:
                _wait(sock, select.POLLOUT, deadline, "connect")
                err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err == 0:
                    return sock
            if err not in (errno.EAGAIN, errno.EINPROGRESS):
                raise _AgentError("cannot connect to %s: %s" % (path, os.strerror(err)))
            if time.monotonic() >= deadline:
                raise _AgentError("timed out connecting to %s (its backlog is full)" % path)
            time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
            pause = min(pause * 2, 0.05)
    except BaseException:
        sock.close()
        raise


def _exchange(path: str, request: bytes, deadline: float) -> bytes:
    """One request record out, one reply record back, all before the
    deadline. Runs in a thread, never on Synapse's reactor."""
    owner = _check_socket_file(path)
    sock = _connect(path, deadline)
    try:
        creds = sock.getsockopt(
            socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i")
        )
        _pid, uid, _gid = struct.unpack("3i", creds)
        if uid != owner:
            raise _AgentError(
                "refusing %s: the process behind it (uid %d) is not its owner "
                "(uid %d)" % (path, uid, owner)
            )
        while True:
            _wait(sock, select.POLLOUT, deadline, "send")
            try:
                sent = sock.send(request, socket.MSG_NOSIGNAL)
                break
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as e:
                raise _AgentError("cannot send to the agent: %s" % e.strerror) from None
        if sent != len(request):
            raise _AgentError("the request went out cut short")
        while True:
            _wait(sock, select.POLLIN, deadline, "hear from the agent")
            try:
                data, _anc, flags, _addr = sock.recvmsg(MSG_MAX + 1)
                break
            except (BlockingIOError, InterruptedError):
                continue
            except OSError as e:
                raise _AgentError("cannot read the reply: %s" % e.strerror) from None
        if not data:
            raise _AgentError("the agent closed the connection without a reply")
        if flags & socket.MSG_TRUNC or len(data) > MSG_MAX:
            raise _AgentError("the reply is over %d bytes" % MSG_MAX)
        return data
    finally:
        sock.close()


def _refuse_duplicates(pairs: list) -> dict:
    obj = {}
    for key, value in pairs:
        if key in obj:
            raise ValueError("repeated member %r" % key)
        obj[key] = value
    return obj


def _refuse_constant(name: str) -> None:
    raise ValueError("%s is not JSON" % name)


def _read_reply(data: bytes) -> _Verdict:
    """The agent's reply, checked member by member; only an exact allow
    allows."""
    try:
        reply = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=_refuse_duplicates,
            parse_constant=_refuse_constant,
        )
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        return _Verdict(False, True, "the reply is not JSON (%s)" % _short(str(e)))
    if not isinstance(reply, dict):
        return _Verdict(False, True, "the reply is not a JSON object")
    v = reply.get("v")
    if type(v) is not int or v != PROTO_VERSION:
        return _Verdict(False, True, "the reply's version is %s, not 1" % _short(v))
    ok = reply.get("ok")
    if ok is False:
        return _Verdict(
            False,
            True,
            "the agent refused the request: %s: %s"
            % (_short(reply.get("error")), _short(reply.get("message"))),
        )
    if ok is not True:
        return _Verdict(False, True, "the reply's \"ok\" is %s, not true" % _short(ok))
    result = reply.get("result")
    reason = reply.get("reason")
    if type(result) is str and result == RESULT_ALLOW:
        return _Verdict(True, False, "allow: %s" % _short(reason))
    if type(result) is str and result == RESULT_DENY:
        return _Verdict(False, False, "deny: %s" % _short(reason))
    return _Verdict(
        False, True, "the reply's \"result\" is %s, neither allow nor deny" % _short(result)
    )


def _ask_agent(path: str, request: Dict[str, Any], deadline: float) -> _Verdict:
    try:
        payload = json.dumps(request, ensure_ascii=False, separators=(",", ":")).encode(
            "utf-8"
        )
    except (TypeError, ValueError, UnicodeEncodeError) as e:
        return _Verdict(False, True, "cannot encode the request: %s" % _short(str(e)))
    if len(payload) > MSG_MAX:
        return _Verdict(False, True, "the request is over %d bytes" % MSG_MAX)
    if time.monotonic() >= deadline:
        return _Verdict(False, True, "no thread was free before the timeout")
    try:
        return _read_reply(_exchange(path, payload, deadline))
    except _AgentError as e:
        return _Verdict(False, True, str(e))
    except OSError as e:
        return _Verdict(False, True, "socket error: %s" % _short(str(e)))


class Fido2gateBackstop:
    """Refuses every login the fido2gate agent does not allow."""

    def __init__(self, config: Union[BackstopConfig, Dict[str, Any]], api: ModuleApi):
        if not isinstance(config, BackstopConfig):
            config = self.parse_config(config)
        self._config = config
        self._api = api
        api.register_spam_checker_callbacks(check_login_for_spam=self.check_login_for_spam)
        logger.info(
            "fido2gate: every login asks the agent at %s (timeout %gs)",
            config.socket,
            config.timeout,
        )

    @staticmethod
    def parse_config(config: Optional[Dict[str, Any]]) -> BackstopConfig:
        if config is None:
            config = {}
        if not isinstance(config, dict):
            raise ConfigError("fido2gate: the module's config must be a mapping")
        unknown = sorted(str(k) for k in config if k not in CONFIG_KEYS)
        if unknown:
            raise ConfigError(
                "fido2gate: unknown config key %s (the keys are: %s)"
                % (", ".join(repr(k) for k in unknown), ", ".join(CONFIG_KEYS))
            )
        path = config.get("socket", SOCKET_DEFAULT)
        if not isinstance(path, str) or not path.startswith("/"):
            raise ConfigError("fido2gate: 'socket' must be an absolute path, not %r" % (path,))
        if "\0" in path or len(os.fsencode(path)) >= SOCKET_PATH_MAX:
            raise ConfigError(
                "fido2gate: 'socket' must be shorter than %d bytes, with no NUL"
                % SOCKET_PATH_MAX
            )
        timeout = config.get("timeout", TIMEOUT_DEFAULT)
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or not math.isfinite(timeout)
            or not 0 < timeout <= TIMEOUT_MAX
        ):
            raise ConfigError(
                "fido2gate: 'timeout' must be a number of seconds, more than 0 "
                "and at most %g, not %r" % (TIMEOUT_MAX, timeout)
            )
        return BackstopConfig(socket=path, timeout=float(timeout))

    async def check_login_for_spam(
        self,
        user_id: str,
        device_id: Optional[str],
        initial_display_name: Optional[str],
        request_info: Collection[Tuple[Optional[str], str]],
        auth_provider_id: Optional[str] = None,
    ) -> Union[str, Tuple[Codes, Dict[str, str]]]:
        # One deadline for the whole exchange, counted from now: time spent
        # waiting for a free thread counts too.
        deadline = time.monotonic() + self._config.timeout
        request = {
            "v": PROTO_VERSION,
            "op": OP_LOGIN_CHECK,
            "user_id": user_id,
            "auth_provider_id": auth_provider_id,
            "device_id": device_id,
        }
        try:
            verdict = await self._api.defer_to_thread(
                _ask_agent, self._config.socket, request, deadline
            )
        except Exception as e:  # fail closed, whatever went wrong
            verdict = _Verdict(False, True, "internal error: %s" % _short(repr(e)))
        if not isinstance(verdict, _Verdict):
            verdict = _Verdict(False, True, "internal error: no verdict")
        if verdict.allowed:
            logger.info(
                "fido2gate: login of %s via %s allowed by the agent",
                _short(user_id),
                _short(auth_provider_id),
            )
            return NOT_SPAM
        if verdict.unavailable:
            logger.warning(
                "fido2gate: login of %s via %s refused: no answer from the agent: %s",
                _short(user_id),
                _short(auth_provider_id),
                verdict.why,
            )
            return Codes.FORBIDDEN, {
                "error": MESSAGE_UNAVAILABLE,
                "org.fido2gate.refusal": "unavailable",
            }
        logger.info(
            "fido2gate: login of %s via %s refused by the agent: %s",
            _short(user_id),
            _short(auth_provider_id),
            verdict.why,
        )
        return Codes.FORBIDDEN, {
            "error": MESSAGE_KEY_REQUIRED,
            "org.fido2gate.refusal": "key_required",
        }
