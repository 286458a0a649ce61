"""A fleet of three API processes for the fleet tests: the FastAPI, Express and Rust example apps
(python/examples/fastapi_app.py, node/examples/express_app.js, core/examples/protected_api.rs),
each with the same validator config, sharing one Redis (redis_server.py) and one real
authorization server (tests/authorization-server, restartable on its port).

Every app serves GET /orders (scope "write") and, with BEARERGUARD_REVOCATION_HOOK_SECRET,
POST /revocations (`token=...`, header X-Hook-Secret), which calls the validator's `forget`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]
AS_SCRIPT = ROOT / "tests" / "authorization-server" / "server.mjs"
RUST_APP = ROOT / "target" / "debug" / "examples" / "protected_api"
HOOK_SECRET = "fleet-revocation-hook-secret-0123456789"
TIER_SECRETS = [{"id": "k1", "secret": "fleet-shared-tier-secret-0123456789abcdef"}]
#: The URL clients use for the fleet (behind its load balancer): DPoP proofs name it (`htu`).
BASE_URL = "http://api.fleet.test"
APPS = ("fastapi", "express", "rust")


def read_ready(proc: subprocess.Popen[str], what: str) -> dict[str, Any]:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line:
        raise RuntimeError(f"{what} exited ({proc.wait()}) before its ready line")
    ready = json.loads(line)
    assert ready["ready"] is True, ready
    return dict(ready)


class AuthorizationServer:
    """server.mjs (oidc-provider) on a fixed port once started: `stop()` and `start()` again
    bring it back on the same port with fresh signing keys (a JWKS rotation) and no tokens."""

    def __init__(self) -> None:
        self.port = 0
        self.proc: subprocess.Popen[str] | None = None
        self.ready: dict[str, Any] = {}

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["node", str(AS_SCRIPT), "--port", str(self.port)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.ready = read_ready(self.proc, "the authorization server (run `make setup`)")
        self.port = int(self.ready["port"])

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    @property
    def up(self) -> bool:
        return self.proc is not None

    def token(self, resource: str = "opaque", scope: str = "read write", dpop: str | None = None) -> str:
        svc = self.ready["clients"]["svc"]
        form = {"grant_type": "client_credentials", "scope": scope, "resource": self.ready["resources"][resource]}
        r = httpx.post(
            self.ready["token_endpoint"],
            data=form,
            headers={"DPoP": dpop} if dpop else {},
            auth=(svc["client_id"], svc["client_secret"]),
        )
        r.raise_for_status()
        return str(r.json()["access_token"])

    def revoke(self, token: str) -> None:
        svc = self.ready["clients"]["svc"]
        r = httpx.post(
            self.ready["revocation_endpoint"], data={"token": token}, auth=(svc["client_id"], svc["client_secret"])
        )
        r.raise_for_status()

    def introspections(self) -> int:
        return int(httpx.get(self.ready["counters_url"]).json()["introspection"])


def fleet_config(auth: AuthorizationServer, redis_url: str, key_prefix: str, **shared: Any) -> dict[str, Any]:
    """One validator config for every app: the server's resources, rs_basic's credentials, the
    shared tier, DPoP allowed with the fleet's URL, a JWKS refetch allowed every 10 s."""
    rs = auth.ready["clients"]["rs_basic"]
    return {
        "issuer": auth.ready["issuer"],
        "audience": list(auth.ready["resources"].values()),
        "client_auth": {"client_id": rs["client_id"], "client_secret": rs["client_secret"]},
        "cache": {
            "shared": {
                "url": redis_url,
                "key_prefix": key_prefix,
                "secrets": TIER_SECRETS,
                "timeout_ms": 100,
                "breaker_open_ms": 500,
                **shared,
            }
        },
        "sender_constraint": "allow",
        "dpop": {"external_base_url": BASE_URL},
        "jwks": {"refresh_cooldown_secs": 10},
        "http": {"timeout_ms": 2000, "connect_timeout_ms": 500},
    }


def app_command(name: str) -> list[str]:
    if name == "fastapi":
        return [sys.executable, str(ROOT / "python" / "examples" / "fastapi_app.py")]
    if name == "express":
        return ["node", str(ROOT / "node" / "examples" / "express_app.js")]
    if not RUST_APP.exists():
        raise RuntimeError(f"{RUST_APP} is missing: `make test-fleet` builds it")
    return [str(RUST_APP)]


@contextmanager
def fleet(config: dict[str, Any]) -> Iterator[dict[str, str]]:
    """The three apps, each with `config`; yields name -> base URL. Stops them all on exit."""
    env = {
        **os.environ,
        "BEARERGUARD_CONFIG": json.dumps(config),
        "BEARERGUARD_REVOCATION_HOOK_SECRET": HOOK_SECRET,
    }
    procs: list[subprocess.Popen[str]] = []
    try:
        urls = {}
        for name in APPS:
            proc = subprocess.Popen(
                app_command(name),
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                # The apps log every outage the tests cause; FLEET_LOGS=1 shows them.
                stderr=None if os.environ.get("FLEET_LOGS") else subprocess.DEVNULL,
                text=True,
            )
            procs.append(proc)
            urls[name] = f"http://127.0.0.1:{read_ready(proc, name)['port']}"
        yield urls
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


def forget(url: str, token: str) -> int:
    """The app's revocation hook: it calls `forget(token)`."""
    r = httpx.post(f"{url}/revocations", data={"token": token}, headers={"X-Hook-Secret": HOOK_SECRET})
    return r.status_code
