"""The MCP example server (python/examples/mcp_server.py) driven by the official `mcp` SDK's own
client over streamable HTTP, with real tokens from oidc-provider (JWT and opaque, resource
indicators for this server and for another resource). docs/security.md RES-1..RES-5."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import httpx
import httpx2
import pytest
import uvicorn
from fastmcp import FastMCP
from fastmcp.server.dependencies import get_access_token as fastmcp_token
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client

from bearerguard import UnavailableError, Validator
from bearerguard.fastmcp import BearerGuardAuth
from bearerguard.mcp import TokenVerifier, auth_settings
from bearerguard.testing import DpopKey

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "mcp_server.py"


class McpServer:
    def __init__(self, ready: dict[str, Any]) -> None:
        self.port: int = ready["port"]
        self.resource: str = ready["resource"]
        self.url = self.resource


@contextmanager
def mcp_server(config: dict[str, Any], mode: str = "middleware") -> Iterator[McpServer]:
    env = {**os.environ, "BEARERGUARD_CONFIG": json.dumps(config), "MCP_AUTH": mode}
    proc = subprocess.Popen([sys.executable, str(EXAMPLE)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line, f"the MCP example exited ({proc.wait()})"
        yield McpServer(json.loads(line))
    finally:
        proc.terminate()
        proc.wait(10)


def token(auth_server: Any, resource: str | None, scope: str = "read", *, opaque: bool = False) -> str:
    client = auth_server.clients["svc_opaque" if opaque else "svc"]
    form = {"grant_type": "client_credentials", "scope": scope}
    if resource is not None:
        form["resource"] = resource
    r = httpx.post(auth_server.ready["token_endpoint"], data=form, auth=(client["client_id"], client["client_secret"]))
    r.raise_for_status()
    return str(r.json()["access_token"])


def call_whoami(url: str, bearer: str | None) -> tuple[dict[str, Any] | None, list[httpx2.Response]]:
    """Calls the tool with the SDK's client; returns its structured result (None if the client
    failed) and every HTTP response the client saw."""
    seen: list[httpx2.Response] = []

    async def record(response: httpx2.Response) -> None:
        seen.append(response)

    async def run() -> dict[str, Any] | None:
        headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
        http = httpx2.AsyncClient(headers=headers, event_hooks={"response": [record]}, timeout=10)
        try:
            with anyio.fail_after(15):
                async with http, streamable_http_client(url, http_client=http) as (read, write):
                    async with ClientSession(read, write) as session:
                        await session.initialize()
                        result = await session.call_tool("whoami", {})
                        assert not result.is_error, result
                        return dict(result.structured_content or {})
        except Exception:  # noqa: BLE001 - the SDK client's refusal: what matters is the responses it saw
            return None

    return anyio.run(run), seen


def challenge(responses: list[httpx2.Response]) -> tuple[int, str]:
    refused = [r for r in responses if r.status_code >= 400]
    assert refused, [r.status_code for r in responses]
    return refused[0].status_code, refused[0].headers.get("www-authenticate", "")


def rs_config(auth_server: Any, **extra: Any) -> dict[str, Any]:
    rs = auth_server.clients["rs_basic"]
    return {
        "issuer": auth_server.issuer,
        "client_id": rs["client_id"],
        "client_secret": rs["client_secret"],
        **extra,
    }


@pytest.fixture(scope="module")
def server(auth_server: Any) -> Iterator[McpServer]:
    with mcp_server(rs_config(auth_server)) as s:
        yield s


@pytest.mark.parametrize("opaque", [False, True], ids=["jwt", "opaque"])
def test_a_good_token_calls_the_tool(auth_server: Any, server: McpServer, opaque: bool) -> None:
    result, _ = call_whoami(server.url, token(auth_server, server.resource, "read", opaque=opaque))
    assert result is not None
    assert result["resource"] == server.resource and "read" in result["scopes"]


def test_write_implies_read(auth_server: Any, server: McpServer) -> None:
    result, _ = call_whoami(server.url, token(auth_server, server.resource, "write", opaque=True))
    assert result is not None and result["scopes"] == ["write", "read"], result


def test_no_token_is_401_naming_the_metadata_document(auth_server: Any, server: McpServer) -> None:
    result, seen = call_whoami(server.url, None)
    assert result is None
    status, www = challenge(seen)
    assert status == 401
    assert "error=" not in www, www
    assert 'scope="read"' in www, www
    url = re.search(r'resource_metadata="([^"]+)"', www)
    assert url, www
    assert url.group(1) == f"http://127.0.0.1:{server.port}/.well-known/oauth-protected-resource/mcp"
    doc = httpx.get(url.group(1))
    assert doc.status_code == 200 and "max-age" in doc.headers["cache-control"]
    body = doc.json()
    assert body["authorization_servers"] == [auth_server.issuer]
    assert body["resource"] == server.resource and body["bearer_methods_supported"] == ["header"]
    assert "offline_access" not in body.get("scopes_supported", [])


@pytest.mark.parametrize("opaque", [False, True], ids=["jwt", "opaque"])
def test_a_token_for_another_resource_is_401(auth_server: Any, server: McpServer, opaque: bool) -> None:
    other = auth_server.resources["opaque" if opaque else "jwt"]
    result, seen = call_whoami(server.url, token(auth_server, other, "read", opaque=opaque))
    assert result is None
    status, www = challenge(seen)
    assert status == 401 and 'error="invalid_token"' in www and "resource_metadata=" in www, www


def test_an_under_scoped_token_is_403_with_scope(auth_server: Any, server: McpServer) -> None:
    result, seen = call_whoami(server.url, token(auth_server, server.resource, "admin"))
    assert result is None
    status, www = challenge(seen)
    assert status == 403, www
    assert 'error="insufficient_scope"' in www and 'scope="read"' in www and "resource_metadata=" in www
    assert 'error_description="The request requires higher privileges than provided by the access token"' in www


def test_an_opaque_token_without_aud_is_refused_unless_switched(auth_server: Any, server: McpServer) -> None:
    no_aud = token(auth_server, None, "read", opaque=True)
    result, seen = call_whoami(server.url, no_aud)
    assert result is None and challenge(seen)[0] == 401
    with mcp_server(rs_config(auth_server, introspection={"require_aud": False})) as lenient:
        result, _ = call_whoami(lenient.url, no_aud)
        assert result is not None and result["scopes"] == ["read"]


def test_the_sdk_path_accepts_refuses_and_never_401s_an_outage(auth_server: Any) -> None:
    with mcp_server(rs_config(auth_server), mode="sdk") as s:
        result, _ = call_whoami(s.url, token(auth_server, s.resource, "write"))
        assert result is not None and result["scopes"] == ["write", "read"]
        result, seen = call_whoami(s.url, token(auth_server, auth_server.resources["jwt"], "read"))
        assert result is None and challenge(seen)[0] == 401
        # The SDK serves its own metadata document, naming the issuer.
        doc = httpx.get(f"http://127.0.0.1:{s.port}/.well-known/oauth-protected-resource/mcp").json()
        assert [a.rstrip("/") for a in doc["authorization_servers"]] == [auth_server.issuer]


def test_an_outage_is_503_never_401(stoppable_auth_server: Any) -> None:
    """The authorization server stopped, an opaque token never seen: 503 (middleware), and an
    exception rather than a refusal through the SDK's TokenVerifier."""
    auth, stop = stoppable_auth_server
    with mcp_server(rs_config(auth)) as s:
        opaque = token(auth, s.resource, "read", opaque=True)
        stop()
        result, seen = call_whoami(s.url, opaque)
        assert result is None
        status, www = challenge(seen)
        assert status == 503 and www == ""
        validator = Validator(**rs_config(auth, resource=s.resource))
        verifier = TokenVerifier(validator)
        with pytest.raises(UnavailableError):
            anyio.run(verifier.verify_token, opaque)
        assert auth_settings(validator).resource_server_url is not None


def test_fastmcp_with_bearerguard_auth(auth_server: Any) -> None:
    """FastMCP's own HTTP app with `BearerGuardAuth`: the mcp SDK client calls a tool with a
    token for this resource, is refused (401) with one for another resource, and FastMCP's
    metadata document names the issuer."""

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    resource = f"{base}/mcp"
    validator = Validator(**rs_config(auth_server, resource=resource, implied_scopes={"write": ["read"]}))
    server = FastMCP("whoami", auth=BearerGuardAuth(validator, base_url=base, required_scopes=["read"]))

    @server.tool
    def whoami() -> dict[str, Any]:
        token = fastmcp_token()
        assert token is not None
        return {"client_id": token.client_id, "scopes": token.scopes, "resource": token.resource}

    uv = uvicorn.Server(uvicorn.Config(server.http_app(path="/mcp"), log_level="warning"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not uv.started:
        time.sleep(0.01)
    try:
        result, _ = call_whoami(resource, token(auth_server, resource, "write", opaque=True))
        assert result is not None and result["scopes"] == ["write", "read"], result
        result, seen = call_whoami(resource, token(auth_server, auth_server.resources["jwt"], "read"))
        assert result is None and challenge(seen)[0] == 401
        doc = httpx.get(f"{base}/.well-known/oauth-protected-resource/mcp").json()
        assert [a.rstrip("/") for a in doc["authorization_servers"]] == [auth_server.issuer]
    finally:
        uv.should_exit = True
        thread.join(10)


#: DPoP accepted, server nonces on (RFC 9449 §8).
DPOP_CONFIG: dict[str, Any] = {
    "sender_constraint": "allow",
    "dpop": {"nonce_key": "mcp-tests-dpop-nonce-key-0123456789abcdef"},
}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "dpop-test", "version": "1"},
    },
}


def dpop_token(auth_server: Any, resource: str, key: DpopKey) -> str:
    """A token from the real authorization server for `resource`, bound to `key`."""
    client = auth_server.clients["svc"]
    endpoint = auth_server.ready["token_endpoint"]
    form = {"grant_type": "client_credentials", "scope": "read", "resource": resource}
    r = httpx.post(
        endpoint,
        data=form,
        headers={"DPoP": key.proof("POST", endpoint)},
        auth=(client["client_id"], client["client_secret"]),
    )
    assert r.status_code == 200 and r.json()["token_type"] == "DPoP", r.text
    return str(r.json()["access_token"])


def initialize_with_dpop(url: str, token: str, key: DpopKey) -> httpx.Response:
    """MCP's `initialize` with a DPoP-bound token: first without a nonce (refused with one),
    then with it; returns the second answer."""
    headers = {"Accept": "application/json, text/event-stream", "Authorization": f"DPoP {token}"}
    first = httpx.post(url, json=INITIALIZE, headers={**headers, "DPoP": key.proof("POST", url, token)}, timeout=10)
    assert first.status_code == 401, first.text
    assert first.json() == {"error": "use_dpop_nonce"} and 'error="use_dpop_nonce"' in first.headers["WWW-Authenticate"]
    nonce = first.headers["DPoP-Nonce"]
    proof = key.proof("POST", url, token, nonce=nonce)
    return httpx.post(url, json=INITIALIZE, headers={**headers, "DPoP": proof}, timeout=10)


def test_the_middleware_accepts_a_dpop_bound_token_and_sends_nonces(auth_server: Any) -> None:
    with mcp_server(rs_config(auth_server, **DPOP_CONFIG)) as s:
        key = DpopKey()
        token = dpop_token(auth_server, s.resource, key)
        good = initialize_with_dpop(s.url, token, key)
        assert good.status_code == 200 and "serverInfo" in good.text, good.text
        assert good.headers.get("DPoP-Nonce")
        bearer = httpx.post(s.url, json=INITIALIZE, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert (bearer.status_code, bearer.json()) == (401, {"error": "invalid_token"})


def test_fastmcp_accepts_a_dpop_bound_token_and_sends_nonces(auth_server: Any) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    resource = f"{base}/mcp"
    validator = Validator(**rs_config(auth_server, resource=resource, **DPOP_CONFIG))
    server = FastMCP("whoami", auth=BearerGuardAuth(validator, base_url=base, required_scopes=["read"]))
    uv = uvicorn.Server(uvicorn.Config(server.http_app(path="/mcp"), log_level="warning"))
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not uv.started:
        time.sleep(0.01)
    try:
        key = DpopKey()
        token = dpop_token(auth_server, resource, key)
        good = initialize_with_dpop(resource, token, key)
        assert good.status_code == 200 and "serverInfo" in good.text, good.text
        assert good.headers.get("DPoP-Nonce")
        # The bound token as a bearer token: refused, and FastMCP answers the refusal.
        bearer = httpx.post(resource, json=INITIALIZE, headers={"Authorization": f"Bearer {token}"}, timeout=10)
        assert bearer.status_code == 401
    finally:
        uv.should_exit = True
        thread.join(10)
