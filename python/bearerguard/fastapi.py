"""FastAPI protection: a dependency that returns the request's `TokenInfo`.

    bearer = BearerAuth(validator)

    @app.get("/orders")
    async def orders(token: Annotated[TokenInfo, Security(bearer, scopes=["read"])]): ...

It registers an HTTP Bearer security scheme (Swagger UI shows the lock), validates on the
runtime without blocking the event loop, and refuses with 401/403/503 and the RFC 6750
``WWW-Authenticate`` header chosen by the core. ``Depends(BearerAuth(validator, scopes=[...]))``
works too.
"""

import logging
from collections.abc import Iterable

from fastapi import HTTPException, Request
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security import SecurityScopes
from fastapi.security.base import SecurityBase

from bearerguard._native import TokenInfo, Validator
from bearerguard.errors import BearerGuardError

__all__ = ["BearerAuth", "http_exception"]

logger = logging.getLogger("bearerguard")


def http_exception(error: BearerGuardError) -> HTTPException:
    """The response for a refusal: its status, its challenge, and only its code as detail."""
    headers = {"WWW-Authenticate": error.www_authenticate} if error.www_authenticate else None
    return HTTPException(status_code=error.status_code, detail=error.code, headers=headers)


class BearerAuth(SecurityBase):
    """A FastAPI dependency requiring a good bearer token (and ``scopes``, if given)."""

    def __init__(
        self,
        validator: Validator,
        scopes: Iterable[str] = (),
        *,
        scheme_name: str | None = None,
        description: str | None = None,
    ) -> None:
        self.validator = validator
        self.scopes = tuple(scopes)
        self.model = HTTPBearerModel(bearerFormat="JWT or opaque", description=description)
        self.scheme_name = scheme_name or "bearerAuth"

    async def __call__(self, request: Request, security_scopes: SecurityScopes) -> TokenInfo:
        scopes = [*self.scopes, *(s for s in security_scopes.scopes if s not in self.scopes)]
        try:
            return await self.validator.validate_header_async(request.headers.get("authorization"), scopes)
        except BearerGuardError as e:
            logger.debug("request refused: %s (%s)", e.code, e.detail)
            raise http_exception(e) from None
