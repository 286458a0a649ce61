"""A throwaway redis-server for the fleet tests (many validators sharing `cache.shared`).

Each `RedisServer` runs its own `redis-server` on a free 127.0.0.1 port: no config file, no
persistence, its own temporary `--dir`. Commands go over a raw socket in RESP, so no Redis
client package is needed::

    from redis_server import RedisServer

    with RedisServer() as redis:
        config = {"cache": {"shared": {"url": redis.url, ...}}}
        redis.command("SET", "k", "v")        # b"OK" replies are str, bulk strings bytes
        redis.pause()                         # SIGSTOP: connections hang, nothing answers
        redis.resume()
        redis.stop(); redis.start()           # same port, empty again

The server never outlives the test process: `__exit__`/`stop()` kill it, an `atexit` hook
kills any still running, and on Linux the kernel sends it SIGKILL when the thread that started
it ends (PR_SET_PDEATHSIG), so even a SIGKILLed pytest leaves no orphan. Start servers from the
thread that outlives them (pytest's main thread), not from a short-lived worker thread.
"""

from __future__ import annotations

import atexit
import ctypes
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from typing import Any

START_TIMEOUT_S = 10.0
COMMAND_TIMEOUT_S = 5.0

# A RESP reply: simple string (str), error (RedisError, returned, not raised), integer, bulk
# string (bytes, None for nil), array (list, None for nil).
Reply = Any


class RedisError(str):
    """An error reply (`-ERR ...`), returned by `command` as a value: tests assert on it."""

    __slots__ = ()


_RUNNING: weakref.WeakSet[RedisServer] = weakref.WeakSet()


@atexit.register
def _kill_all() -> None:
    for server in list(_RUNNING):
        server.stop()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:
    # In the child between fork and exec: SIGKILL when the parent thread ends.
    PR_SET_PDEATHSIG = 1  # noqa: N806 (the kernel's name)
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


class RedisServer:
    """A redis-server of the test's own on a free loopback port; a context manager."""

    def __init__(self) -> None:
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            raise RuntimeError("redis-server is not installed (Debian package redis-server): run `make setup`")
        self.port = _free_port()
        self._dir = tempfile.mkdtemp(prefix="bearerguard-redis-")
        self._proc: subprocess.Popen[bytes] | None = None
        self._paused = False

    # -- lifecycle ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """`redis://127.0.0.1:<port>/0`, the shape of `cache.shared.url`."""
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def start(self) -> RedisServer:
        """Starts the server (again, after `stop`, on the same port) and waits for PING."""
        if self._proc is not None:
            return self
        assert self.binary is not None
        args = [
            self.binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--protected-mode", "yes",
            "--dir", self._dir,
        ]  # fmt: skip
        # Its log (stdout) goes to a file in its directory, read when the start fails.
        log_path = os.path.join(self._dir, "redis.log")
        with open(log_path, "ab") as log:
            self._proc = subprocess.Popen(
                args,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        self._paused = False
        _RUNNING.add(self)
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if self._proc.poll() is not None:
                with open(log_path, "rb") as log:
                    output = log.read().decode(errors="replace")
                self._proc = None
                _RUNNING.discard(self)
                raise RuntimeError(f"redis-server exited at start on port {self.port}:\n{output[-2000:]}")
            try:
                if self.command("PING", timeout=0.5) == "PONG":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"redis-server did not answer PING on port {self.port} within {START_TIMEOUT_S} s")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        """Kills the server (a paused one too) and waits for it to exit."""
        proc, self._proc = self._proc, None
        _RUNNING.discard(self)
        self._paused = False
        if proc is None:
            return
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)

    def pause(self) -> None:
        """SIGSTOP: the server keeps its connections and answers nothing until `resume`."""
        self._signal(signal.SIGSTOP)
        self._paused = True

    def resume(self) -> None:
        """SIGCONT after `pause`."""
        self._signal(signal.SIGCONT)
        self._paused = False

    def _signal(self, sig: signal.Signals) -> None:
        if self._proc is None or self._proc.poll() is not None:
            raise RuntimeError("redis-server is not running")
        os.kill(self._proc.pid, sig)

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        # The last resort for a server never closed; atexit covers interpreter exit.
        proc = getattr(self, "_proc", None)
        if proc is not None and proc.poll() is None:
            proc.kill()

    def __repr__(self) -> str:
        state = "paused" if self._paused else "running" if self._proc else "stopped"
        return f"RedisServer(port={self.port}, {state})"

    # -- commands ----------------------------------------------------------------------------

    def command(self, *args: str | bytes | int, timeout: float = COMMAND_TIMEOUT_S) -> Reply:
        """Sends one command on a fresh connection and returns the parsed reply.

        Raises OSError (socket.timeout included) when the server does not answer in time,
        e.g. while paused."""
        parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        request = b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            sock.sendall(request)
            return _read_reply(sock.makefile("rb"))

    def flushall(self) -> None:
        reply = self.command("FLUSHALL")
        if reply != "OK":
            raise RuntimeError(f"FLUSHALL answered {reply!r}")

    def keys(self, pattern: str = "*") -> list[str]:
        """The keys matching `pattern`, sorted (KEYS: fine for a test's handful of keys)."""
        reply = self.command("KEYS", pattern)
        return sorted(k.decode() for k in reply)


def _read_line(f: Any) -> bytes:
    line: bytes = f.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionError(f"redis closed the connection or sent a bad line: {line[:80]!r}")
    return line[:-2]


def _read_reply(f: Any) -> Reply:
    line = _read_line(f)
    kind, rest = line[:1], line[1:]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        return RedisError(rest.decode())
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data: bytes = f.read(n + 2)
        if len(data) != n + 2 or not data.endswith(b"\r\n"):
            raise ConnectionError("redis sent a short bulk string")
        return data[:-2]
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_read_reply(f) for _ in range(n)]
    raise ConnectionError(f"unknown RESP reply type: {line[:80]!r}")
