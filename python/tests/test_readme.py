"""The README's Python code blocks run as written, against the real authorization server: only
the example URLs, client credentials and token are replaced by the live ones."""

import re
import socket
from pathlib import Path
from typing import Any

import httpx

from test_frameworks import serve_fastapi
from test_mcp import call_whoami, challenge
from test_mcp import token as token_for

README = Path(__file__).resolve().parents[1] / "README.md"
ROOT_README = Path(__file__).resolve().parents[2] / "README.md"


def python_blocks() -> list[str]:
    """The root README's "## Python" section (if it has code), then python/README.md."""
    root = ROOT_README.read_text() if ROOT_README.exists() else ""
    section = re.search(r"^## Python\n(.*?)(?=^## |\Z)", root, re.S | re.M)
    text = (section.group(1) if section else "") + README.read_text()
    return re.findall(r"```python\n(.*?)```", text, re.S)


def test_readme_python_blocks_run(auth_server: Any) -> None:
    blocks = python_blocks()
    assert len(blocks) >= 4
    token = auth_server.token("opaque", "read write")
    mcp_socket = socket.socket()
    mcp_socket.bind(("127.0.0.1", 0))
    mcp_resource = f"http://127.0.0.1:{mcp_socket.getsockname()[1]}/mcp"
    live = {
        "https://api.example.com/mcp": mcp_resource,
        '"..."': repr(token),
        "https://auth.example.com": auth_server.issuer,
        "https://api.example.com/opaque": auth_server.resources["opaque"],
        "https://api.example.com/jwt": auth_server.resources["jwt"],
        "my-api-secret": auth_server.clients["rs_basic"]["client_secret"],
        '"my-api"': repr(auth_server.clients["rs_basic"]["client_id"]),
    }
    namespace: dict[str, Any] = {"__name__": "readme"}
    for block in blocks:
        for example, real in live.items():
            block = block.replace(example, real)
        exec(compile(block, str(README), "exec"), namespace)

    headers = {"Authorization": f"Bearer {token}"}
    serving = serve_fastapi(namespace["app"])
    base = next(serving)
    try:
        assert httpx.get(base + "/orders", headers=headers).json() == {"client": "svc-client"}
        refused = httpx.get(base + "/orders")
        assert (refused.status_code, refused.json()) == (401, {"error": "missing_token"})
    finally:
        next(serving, None)
    # The MCP server of "Protect an MCP server", called with the SDK's own client.
    serving = serve_fastapi(namespace["mcp_app"], mcp_socket)
    next(serving)
    try:
        good = token_for(auth_server, mcp_resource, "write", opaque=True)
        assert call_whoami(mcp_resource, good)[0] == {"result": "svc-opaque-client"}
        result, seen = call_whoami(mcp_resource, None)
        assert result is None and challenge(seen)[0] == 401
        assert (
            f'resource_metadata="{mcp_resource.replace("/mcp", "/.well-known/oauth-protected-resource/mcp")}"'
            in (challenge(seen)[1])
        )
    finally:
        next(serving, None)
    flask_client = namespace["flask_app"].test_client()
    assert flask_client.get("/orders", headers=headers).json == {"client": "svc-client"}
    refused = flask_client.get("/orders")
    assert (refused.status_code, refused.json) == (401, {"error": "missing_token"})
