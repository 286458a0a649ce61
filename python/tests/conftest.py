"""Shared fixtures: the real authorization server (panva/oidc-provider), tokens from its token
endpoint, and a canned HTTP server for the shared cases and slow-server tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from bearerguard import _native

ROOT = Path(__file__).resolve().parents[2]
SERVER = ROOT / "tests" / "authorization-server" / "server.mjs"
SHORT_TTL = 1
# The demo's request list (`make demo`, the every-framework and metrics tests).
DEMO_REQUESTS: list[dict[str, Any]] = json.loads((ROOT / "tests/demo/requests.json").read_text())["requests"]
# A validator config whose authorization server is unreachable, as the demo's "down" row uses.
DOWN_CONFIG: dict[str, Any] = {
    "issuer": "http://127.0.0.1:9",
    "audience": "api",
    "realm": "orders",
    "http": {"connect_timeout_ms": 200, "retry": False},
}

# `Validator.stats()["shared"]` of a validator without a shared tier (`cache.shared`).
NO_SHARED: dict[str, int] = dict.fromkeys(
    ("hits", "misses", "errors", "rejected", "skipped", "waits", "forgets_received"), 0
)

# The fixed clock and the panic trigger exist only in builds with the cargo feature `test-hooks`
# (`make python-dev`); a release wheel has neither, and tests needing them say so as a skip.
needs_test_hooks = pytest.mark.skipif(
    not _native.test_hooks_enabled(),
    reason="needs the test hooks: this build lacks the cargo feature `test-hooks` (make python-dev enables it)",
)


class AuthServer:
    """The ready line of server.mjs, plus helpers to get tokens and configs."""

    def __init__(self, ready: dict[str, Any]) -> None:
        self.ready = ready
        self.issuer: str = ready["issuer"]
        self.resources: dict[str, str] = ready["resources"]
        self.clients: dict[str, dict[str, Any]] = ready["clients"]
        self.short_ttl: int = ready["short_ttl"]
        # `--tenant` of server.mjs (None: the default clients); see `auth_server_b`.
        self.tenant: str | None = ready.get("tenant")

    def token(self, resource: str | None = "opaque", scope: str = "read write") -> str:
        svc = self.clients["svc"]
        form = {"grant_type": "client_credentials", "scope": scope}
        if resource:
            form["resource"] = self.resources[resource]
        r = httpx.post(self.ready["token_endpoint"], data=form, auth=(svc["client_id"], svc["client_secret"]))
        r.raise_for_status()
        return str(r.json()["access_token"])

    def revoke(self, token: str) -> None:
        svc = self.clients["svc"]
        r = httpx.post(
            self.ready["revocation_endpoint"], data={"token": token}, auth=(svc["client_id"], svc["client_secret"])
        )
        r.raise_for_status()

    def config(self, client: str = "rs_basic", **extra: Any) -> dict[str, Any]:
        """A validator config for every resource of the server, authenticating as `client`."""
        c = self.clients[client]
        config: dict[str, Any] = {"issuer": self.issuer, "audience": list(self.resources.values())}
        if "client_secret" in c:
            config.update(client_id=c["client_id"], client_secret=c["client_secret"])
        config.update(extra)
        return config


@contextmanager
def running_auth_server(tenant: str | None = None) -> Iterator[tuple[AuthServer, Callable[[], None]]]:
    """A fresh authorization server, and a function that stops it (for outage tests). With
    `tenant`, server.mjs runs with `--tenant`: its secret-based clients are its own (read them
    from `AuthServer.clients`)."""
    proc = subprocess.Popen(
        ["node", str(SERVER), "--short-ttl", str(SHORT_TTL), *(["--tenant", tenant] if tenant else [])],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )

    def stop() -> None:
        proc.terminate()
        proc.wait(10)

    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            pytest.fail(f"authorization server exited ({proc.wait()}); run `make setup` first")
        ready = json.loads(line)
        assert ready["ready"] is True
        yield AuthServer(ready), stop
    finally:
        stop()


@pytest.fixture(scope="session")
def auth_server() -> Iterator[AuthServer]:
    with running_auth_server() as (server, _):
        yield server


@pytest.fixture(scope="session")
def auth_server_b() -> Iterator[AuthServer]:
    """A second authorization server, for tests of many issuers: started with `--tenant b`, so
    besides its own issuer and signing keys (same kids) its secret-based clients are its own
    (`b-<id>`, secret `b-<secret>`; `rs_pkjwt`, `rs_pkjwt_ed` keep their ids). Same lifecycle as
    `auth_server`."""
    with running_auth_server(tenant="b") as (server, _):
        yield server


@pytest.fixture
def stoppable_auth_server() -> Iterator[tuple[AuthServer, Callable[[], None]]]:
    with running_auth_server() as pair:
        yield pair


@pytest.fixture(scope="session")
def expired_jwt(auth_server: AuthServer) -> str:
    """A JWT access token from the short-lifetime resource, already past its `exp`."""
    token = auth_server.token("short_jwt", "read")
    time.sleep(auth_server.short_ttl + 1)
    return token


@pytest.fixture(scope="session")
def demo_requests(auth_server: AuthServer, expired_jwt: str) -> list[tuple[dict[str, Any], str | None]]:
    """Each of the demo's requests with the `Authorization` value it names (None: no header):
    tokens from the real authorization server, a garbage value, an expired JWT, any token for
    the "down" row."""
    authorization: dict[str, Callable[[dict[str, Any]], str | None]] = {
        "none": lambda r: None,
        "garbage": lambda r: "Bearer not-a-real-token",
        "expired": lambda r: f"Bearer {expired_jwt}",
        "down": lambda r: "Bearer some-opaque-token",
        "jwt": lambda r: f"Bearer {auth_server.token('jwt', r['scope'])}",
        "opaque": lambda r: f"Bearer {auth_server.token('opaque', r['scope'])}",
    }
    return [(r, authorization[r["token"]](r)) for r in DEMO_REQUESTS]


@contextmanager
def example_app(config: dict[str, Any], env: dict[str, str] | None = None, stderr: Any = None) -> Iterator[str]:
    """python/examples/fastapi_app.py as `make demo` runs it (config from BEARERGUARD_CONFIG,
    a ready line with its port), with `env` added to its environment and its stderr where
    `stderr` says (a file, or inherited); yields its base URL."""
    env = {**os.environ, "BEARERGUARD_CONFIG": json.dumps(config), **(env or {})}
    app = subprocess.Popen(
        [sys.executable, str(ROOT / "python" / "examples" / "fastapi_app.py")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=stderr,
        text=True,
    )
    try:
        assert app.stdout is not None
        ready = json.loads(app.stdout.readline())
        assert ready["ready"] is True
        yield f"http://127.0.0.1:{ready['port']}"
    finally:
        app.terminate()
        app.wait(10)


class Canned:
    """A canned HTTP server on 127.0.0.1:0: path -> (status, content type, body, delay)."""

    def __init__(self) -> None:
        self.routes: dict[str, tuple[int, str, bytes, float, dict[str, str]]] = {}
        self.requests: Counter[str] = Counter()
        canned = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                path = self.path.split("?")[0]
                canned.requests[path] += 1
                length = int(self.headers.get("content-length") or 0)
                self.rfile.read(length)
                status, ctype, body, delay, headers = canned.routes.get(
                    path, (404, "text/plain", b"not found", 0.0, {})
                )
                time.sleep(delay)
                self.send_response(status)
                self.send_header("content-type", ctype)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer  # noqa: N815 - the names http.server dispatches to

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def route(
        self,
        path: str,
        body: Any,
        status: int = 200,
        content_type: str = "application/json",
        delay: float = 0.0,
        headers: dict[str, str] | None = None,
    ) -> None:
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.routes[path] = (status, content_type, data, delay, headers or {})

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def canned() -> Iterator[Canned]:
    server = Canned()
    yield server
    server.close()


def pytest_report_header() -> str:
    return f"bearerguard tests: pid {os.getpid()}, authorization server {SERVER.relative_to(ROOT)}"
