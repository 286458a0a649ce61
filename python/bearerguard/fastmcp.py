"""FastMCP (the ``fastmcp`` package) auth on bearerguard's core: ``pip install bearerguard[fastmcp]``.

    validator = Validator(issuer=..., resource="https://api.example.com/mcp", client_id=..., client_secret=...)
    mcp = FastMCP("files", auth=BearerGuardAuth(validator, base_url="https://api.example.com"))

`BearerGuardVerifier` is FastMCP's ``TokenVerifier`` over a `Validator`: a refused token is
``None`` (FastMCP's 401); an outage or a misconfiguration raises, never an acceptance and never
a 401. `BearerGuardAuth` is FastMCP's ``RemoteAuthProvider`` with it, advertising the issuer as
the authorization server in the RFC 9728 metadata FastMCP serves.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastmcp.server.auth import RemoteAuthProvider
from fastmcp.server.auth import TokenVerifier as _FastMCPTokenVerifier
from fastmcp.server.auth.auth import AccessToken
from pydantic import AnyHttpUrl

from bearerguard._adapter import log_refusal
from bearerguard._native import Validator
from bearerguard.errors import (
    InsufficientScopeError,
    InvalidRequestError,
    InvalidTokenError,
    MissingTokenError,
    TokenExpiredError,
)

__all__ = ["BearerGuardAuth", "BearerGuardVerifier"]

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
        return AccessToken(
            token=token,
            client_id=info.client_id or info.subject or "",
            scopes=list(info.scopes),
            expires_at=info.expires_at,
            resource=self.validator.resource,
            subject=info.subject,
            claims=dict(info.claims),
        )


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
        verifier = BearerGuardVerifier(validator, base_url=base_url, required_scopes=required_scopes)
        super().__init__(
            token_verifier=verifier,
            authorization_servers=[AnyHttpUrl(validator.issuer)],
            base_url=base_url,
            scopes_supported=scopes_supported,
            resource_name=resource_name,
        )
