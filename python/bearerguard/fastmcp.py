"""FastMCP (the ``fastmcp`` package) auth on bearerguard's core: ``pip install bearerguard[fastmcp]``.

    validator = Validator(issuer=..., resource="https://api.example.com/mcp", client_id=..., client_secret=...)
    mcp = FastMCP("files", auth=BearerGuardAuth(validator, base_url="https://api.example.com"))

`BearerGuardVerifier` is FastMCP's ``TokenVerifier`` over a `Validator`: a refused token is
``None`` (FastMCP's 401); an outage or a misconfiguration raises, never an acceptance and never
a 401. `BearerGuardAuth` is FastMCP's ``RemoteAuthProvider`` with it, advertising the issuer as
the authorization server in the RFC 9728 metadata FastMCP serves.

`BearerGuardAuth` hands the core the whole HTTP request (`RequestAuthentication`, in place of
the SDK's ``Bearer``-only authentication middleware), so DPoP-bound tokens (RFC 9449) work too:
every ``DPoP`` line, the method and the URL reach the core. FastMCP still answers a missing or
refused token (its 401 and 403); a DPoP refusal, whose challenge FastMCP cannot express, is
answered here as every bearerguard adapter answers it (``DPoP`` challenge, ``DPoP-Nonce``).
With DPoP nonces on, an accepted request's response carries ``DPoP-Nonce``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastmcp.server.auth import RemoteAuthProvider
from fastmcp.server.auth import TokenVerifier as _FastMCPTokenVerifier
from fastmcp.server.auth.auth import AccessToken
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from pydantic import AnyHttpUrl
from starlette.authentication import AuthCredentials
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Receive, Scope, Send

from bearerguard import asgi
from bearerguard._adapter import asgi_seen, asgi_send_with, decide_async, log_refusal, success_headers
from bearerguard._native import TokenInfo, Validator
from bearerguard.errors import (
    InsufficientScopeError,
    InvalidDpopProofError,
    InvalidRequestError,
    InvalidTokenError,
    MissingTokenError,
    TokenExpiredError,
    UseDpopNonceError,
)

__all__ = ["BearerGuardAuth", "BearerGuardVerifier", "RequestAuthentication"]

_REFUSALS = (InvalidTokenError, TokenExpiredError, MissingTokenError, InvalidRequestError, InsufficientScopeError)


class BearerGuardVerifier(_FastMCPTokenVerifier):
    """FastMCP's token verifier, deciding in bearerguard's core."""

    def __init__(
        self, validator: Validator, *, base_url: str | None = None, required_scopes: Iterable[str] = ()
    ) -> None:
        super().__init__(base_url=base_url, required_scopes=list(required_scopes) or None)
        self.validator = validator

    async def verify_token(self, token: str) -> AccessToken | None:
        try:
            info = await self.validator.validate_async(token, self.required_scopes or ())
        except _REFUSALS as e:
            log_refusal(e)
            return None
        return self.access_token(token, info)

    def access_token(self, token: str, info: TokenInfo) -> AccessToken:
        """FastMCP's `AccessToken` for a token the core accepted."""
        return AccessToken(
            token=token,
            client_id=info.client_id or info.subject or "",
            scopes=list(info.scopes),
            expires_at=info.expires_at,
            resource=self.validator.resource,
            subject=info.subject,
            claims=dict(info.claims),
        )


class RequestAuthentication:
    """ASGI middleware: the whole request decided by the core (``Authorization``, ``DPoP``,
    method, URL), the caller put where FastMCP looks (``scope["user"]``, ``scope["auth"]``).
    No ``Authorization`` line, or a refused token: the request goes on unauthenticated and
    FastMCP answers it. A DPoP refusal is answered here; an outage or a misconfiguration raises."""

    def __init__(self, app: ASGIApp, verifier: BearerGuardVerifier) -> None:
        self.app = app
        self.verifier = verifier

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        validator = self.verifier.validator
        seen = asgi_seen(scope, validator)
        if not seen.authorization:
            await self.app(scope, receive, send)
            return
        try:
            info = await decide_async(validator, seen, self.verifier.required_scopes or ())
        except (InvalidDpopProofError, UseDpopNonceError) as e:
            await asgi.send_refusal(send, e)
            return
        except _REFUSALS:
            await self.app(scope, receive, send)
            return
        token = seen.authorization[0].split(" ", 1)[1].strip()
        user = AuthenticatedUser(self.verifier.access_token(token, info))
        # FastMCP's route guard admits only requests whose `Authorization` says `Bearer`, before
        # it looks at the user: the core has accepted this one (a `DPoP` one too), so the app
        # behind sees it as `Bearer`; the `DPoP` lines stay as they came.
        headers = [(k, v) for k, v in scope.get("headers", ()) if k != b"authorization"]
        headers.append((b"authorization", b"Bearer " + token.encode("latin-1")))
        scope = {**scope, "headers": headers, "user": user, "auth": AuthCredentials(list(info.scopes))}
        await self.app(scope, receive, asgi_send_with(send, success_headers(info)))


class BearerGuardAuth(RemoteAuthProvider):
    """FastMCP's remote auth provider over bearerguard: metadata names the issuer."""

    def __init__(
        self,
        validator: Validator,
        *,
        base_url: str,
        required_scopes: Iterable[str] = (),
        scopes_supported: list[str] | None = None,
        resource_name: str | None = None,
    ) -> None:
        self.verifier = verifier = BearerGuardVerifier(validator, base_url=base_url, required_scopes=required_scopes)
        super().__init__(
            token_verifier=verifier,
            authorization_servers=[AnyHttpUrl(validator.issuer)],
            base_url=base_url,
            scopes_supported=scopes_supported,
            resource_name=resource_name,
        )

    def get_middleware(self) -> list[Any]:
        """The whole request decided by the core (`RequestAuthentication`), then the SDK's
        auth context (``get_access_token()``)."""
        return [Middleware(RequestAuthentication, verifier=self.verifier), Middleware(AuthContextMiddleware)]
