"""Protect an MCP server (the official ``mcp`` SDK) with bearerguard: ``pip install bearerguard[mcp]``.

Two ways, both deciding in the core (audience as RFC 8707/MCP define it, scope hierarchies,
caching, one request for many callers):

* **The SDK's own auth** (`TokenVerifier` + `auth_settings`): the SDK answers the challenges.
  A refused token is ``None`` (the SDK's 401); an outage or a misconfiguration *raises*, so the
  SDK answers 500: never an acceptance, never a 401::

      mcp = MCPServer("files", token_verifier=TokenVerifier(validator), auth=auth_settings(validator))

* **bearerguard's own challenges** (`BearerGuardMiddleware` around the SDK's ASGI app): a 401
  without ``error`` when no token was sent, ``scope`` and ``resource_metadata`` on every
  challenge, 403 ``insufficient_scope`` with a fixed description, 503 when the authorization
  server is unreachable, and the RFC 9728 metadata document served at its well-known path. It
  hands the core the whole request, so DPoP-bound tokens (RFC 9449) work here, nonces
  (``DPoP-Nonce``) included; the SDK's own auth reads ``Bearer`` tokens only::

      app = BearerGuardMiddleware(mcp.streamable_http_app(), validator, scopes=["read"])

Tools read the caller with the SDK's ``get_access_token()`` either way: its ``scopes`` include
the implied ones, ``resource`` is the configured ``resource``, ``claims`` every claim received.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from pydantic import AnyHttpUrl
from starlette.authentication import AuthCredentials
from starlette.types import ASGIApp, Receive, Scope, Send

from bearerguard._adapter import asgi_seen, asgi_send_with, decide_async, log_refusal, refusal, success_headers
from bearerguard._native import RESOURCE_METADATA_CACHE_CONTROL, TokenInfo, Validator
from bearerguard.errors import (
    BearerGuardError,
    InsufficientScopeError,
    InvalidRequestError,
    InvalidTokenError,
    MissingTokenError,
    TokenExpiredError,
)

__all__ = ["BearerGuardMiddleware", "TokenVerifier", "access_token", "auth_settings", "metadata_response"]

# What the SDK may answer 401/403 for; everything else (unavailable, configuration) raises.
_REFUSALS = (InvalidTokenError, TokenExpiredError, MissingTokenError, InvalidRequestError, InsufficientScopeError)


def access_token(token: str, info: TokenInfo, validator: Validator) -> AccessToken:
    """The SDK's `AccessToken` for a token the core accepted."""
    return AccessToken(
        token=token,
        client_id=info.client_id or info.subject or "",
        scopes=list(info.scopes),
        expires_at=info.expires_at,
        # The core checked that `aud` names this resource (canonically): report the configured URI.
        resource=validator.resource,
        subject=info.subject,
        claims=dict(info.claims),
    )


class TokenVerifier:
    """The SDK's ``TokenVerifier`` protocol over a bearerguard `Validator`.

    ``scopes`` are required on every token, on top of the validator's ``required_scopes``; a
    token lacking one is ``None`` here (the SDK's own ``required_scopes`` give a 403).
    """

    def __init__(self, validator: Validator, scopes: Iterable[str] = ()) -> None:
        self.validator = validator
        self.scopes = tuple(scopes)

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            info = await self.validator.validate_async(token, self.scopes)
        except _REFUSALS as e:
            log_refusal(e)
            return None
        # UnavailableError and ConfigurationError propagate: the SDK must not see them as a
        # refused token (its 401) nor, of course, as an accepted one.
        return access_token(token, info, self.validator)


def auth_settings(
    validator: Validator,
    *,
    required_scopes: Sequence[str] | None = None,
    service_documentation_url: str | None = None,
) -> AuthSettings:
    """The SDK's `AuthSettings` for a validator built with a ``resource``: the issuer, the
    resource server URL (the SDK serves its metadata), the scopes it requires."""
    if validator.resource is None:
        raise ValueError("bearerguard.mcp.auth_settings needs a validator built with a `resource`")
    return AuthSettings(
        issuer_url=AnyHttpUrl(validator.issuer),
        resource_server_url=AnyHttpUrl(validator.resource),
        required_scopes=list(required_scopes) if required_scopes is not None else None,
        service_documentation_url=AnyHttpUrl(service_documentation_url) if service_documentation_url else None,
        # The core already compared the audience canonically; `access_token` reports the
        # configured URI, so the SDK's own check agrees.
        validate_token_resource=True,
    )


def metadata_response(validator: Validator) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """The status, headers and body that serve the RFC 9728 metadata document."""
    body = (validator.resource_metadata_json or "{}").encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"cache-control", RESOURCE_METADATA_CACHE_CONTROL.encode()),
        (b"access-control-allow-origin", b"*"),
        (b"content-length", str(len(body)).encode()),
    ]
    return 200, headers, body


class BearerGuardMiddleware:
    """ASGI middleware: bearerguard's own challenges in front of an MCP server (or any ASGI app).

    Serves the metadata document at ``validator.resource_metadata_path`` (GET, HEAD); requires a
    good token carrying ``scopes`` on every other HTTP request under ``paths`` (default: all).
    An accepted request reaches the app with the SDK's ``scope["user"]``/``scope["auth"]`` set
    and ``get_access_token()`` answering. Lifespan and other scope types pass through.
    """

    def __init__(
        self,
        app: ASGIApp,
        validator: Validator,
        *,
        scopes: Iterable[str] = (),
        paths: Sequence[str] | None = None,
    ) -> None:
        if validator.resource is None:
            raise ValueError("BearerGuardMiddleware needs a validator built with a `resource`")
        self.app = app
        self.validator = validator
        self.scopes = tuple(scopes)
        self.paths = tuple(paths) if paths is not None else None
        self.metadata_path = validator.resource_metadata_path

    def _protects(self, path: str) -> bool:
        if self.paths is None:
            return True
        return any(path == p or path.startswith(p.rstrip("/") + "/") for p in self.paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        method: str = scope.get("method", "GET")
        if path == self.metadata_path and method in ("GET", "HEAD"):
            status, headers, body = metadata_response(self.validator)
            await _send(send, status, headers, b"" if method == "HEAD" else body)
            return
        if not self._protects(path):
            await self.app(scope, receive, send)
            return
        seen = asgi_seen(scope, self.validator)
        try:
            info = await decide_async(self.validator, seen, self.scopes)
        except BearerGuardError as e:
            status, hdrs, payload = refusal(e)
            body = json.dumps(payload).encode()
            headers = [(k.lower().encode(), v.encode("latin-1")) for k, v in hdrs.items()]
            headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await _send(send, status, headers, body)
            return
        token = _credentials(seen.authorization)
        user = AuthenticatedUser(access_token(token, info, self.validator))
        scope = {**scope, "user": user, "auth": AuthCredentials(list(info.scopes))}
        reset = auth_context_var.set(user)
        try:
            await self.app(scope, receive, asgi_send_with(send, success_headers(info)))
        finally:
            auth_context_var.reset(reset)


def _credentials(authorization: Sequence[str]) -> str:
    # The core accepted exactly one `Bearer` or `DPoP` line; the SDK's AccessToken carries the token.
    return authorization[0].split(" ", 1)[1].strip() if authorization else ""


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
