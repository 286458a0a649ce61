"""The fleet tests' Redis fixture does what they rely on: its own server on a free port, RESP
replies of every kind, pause and resume, stop and restart on the same port, no orphans."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from redis_server import RedisError, RedisServer

HERE = Path(__file__).resolve().parent


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by a dead parent's init) counts as gone.
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "\nState:\tZ" in status.read_text())


def test_commands_and_replies() -> None:
    with RedisServer() as redis:
        assert redis.url == f"redis://127.0.0.1:{redis.port}/0"
        assert redis.command("PING") == "PONG"
        assert redis.command("SET", "bearerguard:a", b"v\r\n\x00") == "OK"
        assert redis.command("GET", "bearerguard:a") == b"v\r\n\x00"
        assert redis.command("GET", "missing") is None
        assert redis.command("INCR", "n") == 1
        error = redis.command("INCR", "bearerguard:a")
        assert isinstance(error, RedisError) and error.startswith("ERR")
        assert redis.command("RPUSH", "l", "x", "y") == 2
        assert redis.command("LRANGE", "l", 0, -1) == [b"x", b"y"]
        assert redis.keys("bearerguard:*") == ["bearerguard:a"]
        assert redis.keys() == ["bearerguard:a", "l", "n"]
        assert redis.command("CONFIG", "GET", "save") == [b"save", b""]
        assert redis.command("CONFIG", "GET", "bind")[1] == b"127.0.0.1"
        redis.flushall()
        assert redis.keys() == []


def test_pause_resume_stop_start_same_port() -> None:
    with RedisServer() as redis:
        redis.command("SET", "k", "v")
        redis.pause()
        with pytest.raises(OSError):
            redis.command("PING", timeout=0.3)
        redis.resume()
        assert redis.command("GET", "k") == b"v"

        port, pid = redis.port, redis.pid
        redis.stop()
        assert pid is not None and not alive(pid)
        with pytest.raises(OSError):
            redis.command("PING", timeout=0.3)
        redis.start()
        assert redis.port == port and redis.pid != pid
        assert redis.command("GET", "k") is None  # no persistence

        # Stopped while paused: killed all the same.
        redis.pause()
        pid = redis.pid
        redis.stop()
        assert pid is not None and not alive(pid)


def test_no_orphan_after_the_test_process_is_killed() -> None:
    # A child Python starts a server, prints its pid and is SIGKILLed: no atexit runs, the
    # kernel's parent-death signal ends the server.
    code = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(HERE)!r})
        from redis_server import RedisServer
        r = RedisServer().start()
        print(r.pid, r.port, flush=True)
        time.sleep(60)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        pid_text, port_text = child.stdout.readline().split()
    finally:
        child.kill()
        child.wait()
    pid = int(pid_text)
    for _ in range(100):
        if not alive(pid):
            break
        subprocess.run(["sleep", "0.05"], check=True)
    assert not alive(pid), f"redis-server {pid} outlived its killed parent"
    # Its leader thread is a zombie before its other threads are gone and its socket closed.
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", int(port_text)), timeout=0.5).close()
        except OSError:
            break
        subprocess.run(["sleep", "0.05"], check=True)
    else:
        pytest.fail(f"port {port_text} still accepts connections 5 s after its server was killed")


def test_atexit_stops_a_server_never_closed() -> None:
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(HERE)!r})
        from redis_server import RedisServer
        keep = RedisServer().start()
        print(keep.pid, flush=True)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30)
    pid = int(out.stdout.split()[0])
    assert not alive(pid)


def test_missing_binary_says_run_make_setup(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(RuntimeError, match="run `make setup`"):
        RedisServer()
