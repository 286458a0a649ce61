"""An MCP server (the official `mcp` SDK, streamable HTTP) with one tool, protected by bearerguard.

The tool `whoami` needs scope "read" ("write" implies it). The validator config (core JSON
keys, without `resource`) comes from BEARERGUARD_CONFIG; the server binds 127.0.0.1 on a free
port, sets `resource` to its own `http://127.0.0.1:<port>/mcp`, and prints
{"ready": true, "port": N, "resource": ...} once it accepts connections.

MCP_AUTH picks how: "middleware" (default) puts bearerguard's ASGI middleware in front of the
SDK's app (spec-exact challenges, 503 on an outage, the RFC 9728 document at its well-known
path); "sdk" hands the SDK bearerguard's TokenVerifier and AuthSettings (the SDK answers).
"""

from __future__ import annotations

import json
import os
import socket
import sys
from typing import Any

import uvicorn
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.mcpserver import MCPServer
from starlette.types import ASGIApp

from bearerguard import Validator, ValidatorConfig
from bearerguard.mcp import BearerGuardMiddleware, TokenVerifier, auth_settings


def build(port: int) -> ASGIApp:
    config: ValidatorConfig = json.loads(os.environ["BEARERGUARD_CONFIG"])
    config.setdefault("resource", f"http://127.0.0.1:{port}/mcp")
    config.setdefault("implied_scopes", {"write": ["read"]})
    config.setdefault("scopes_supported", ["read", "write"])
    validator = Validator.from_config(config)

    if os.environ.get("MCP_AUTH", "middleware") == "sdk":
        mcp = MCPServer(
            "whoami",
            token_verifier=TokenVerifier(validator),
            auth=auth_settings(validator, required_scopes=["read"]),
            log_level="WARNING",
        )
    else:
        mcp = MCPServer("whoami", log_level="WARNING")

    @mcp.tool()
    def whoami() -> dict[str, Any]:
        """Who the caller is, as its access token says."""
        token = get_access_token()
        assert token is not None  # the server refuses unauthenticated calls before any tool runs
        return {"client_id": token.client_id, "scopes": token.scopes, "resource": token.resource}

    app = mcp.streamable_http_app(host="127.0.0.1")
    if os.environ.get("MCP_AUTH", "middleware") == "sdk":
        return app
    return BearerGuardMiddleware(app, validator, scopes=["read"])


class Server(uvicorn.Server):
    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        port = sockets[0].getsockname()[1] if sockets else 0
        print(json.dumps({"ready": True, "port": port, "resource": f"http://127.0.0.1:{port}/mcp"}), flush=True)


if __name__ == "__main__":
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = Server(uvicorn.Config(build(sock.getsockname()[1]), log_level="warning"))
    server.run(sockets=[sock])
    sys.exit(0)
