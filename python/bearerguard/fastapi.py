"""FastAPI protection: a dependency that returns the request's `TokenInfo`.

    app = FastAPI()
    install(app)                    # refusals answer {"error": code}, as the Flask adapter does
    bearer = BearerAuth(validator)

    @app.get("/orders")
    async def orders(token: Annotated[TokenInfo, Security(bearer, scopes=["read"])]): ...

It registers an HTTP Bearer security scheme (Swagger UI shows the lock) and hands the core the
whole request: every ``Authorization`` line (two are ``invalid_request``), every ``DPoP`` line,
the trusted proxy's client-certificate header when the config names one, the method, the URL
and the scopes. The decision runs on the runtime without blocking the event loop.
``Depends(BearerAuth(validator, scopes=[...]))`` works too. With DPoP nonces on, an accepted
request's response carries ``DPoP-Nonce`` (set on FastAPI's ``Response`` parameter, so a route
that returns a ``Response`` object of its own sets it from ``token.dpop_nonce`` itself).

A refusal raises `BearerAuthError`, an ``HTTPException`` carrying the status, ``Cache-Control:
no-store`` and the RFC 6750 ``WWW-Authenticate`` header chosen by the core, and the original
error as ``.error``. FastAPI lets no dependency choose a response body without an exception
handler, so `install(app)` registers the one that answers ``{"error": code}``, the body the Flask
adapter sends. **Without it**, FastAPI's default handler answers ``{"detail": code}`` (status and
headers are the same); an app with its own ``HTTPException`` handler keeps the challenge from
``exc.headers``.
"""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import FastAPI, HTTPException, Request
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.responses import JSONResponse, Response
from fastapi.security import SecurityScopes
from fastapi.security.base import SecurityBase

from bearerguard._adapter import (
    Seen,
    certificate_lines,
    decide_async,
    merge_scopes,
    refusal,
    resource_metadata,
    success_headers,
)
from bearerguard._native import TokenInfo, Validator
from bearerguard.errors import BearerGuardError

__all__ = ["BearerAuth", "BearerAuthError", "error_response", "install", "serve_resource_metadata"]


class BearerAuthError(HTTPException):
    """A refusal: status and headers from `error`; ``detail`` is its code."""

    def __init__(self, error: BearerGuardError) -> None:
        status, headers, _ = refusal(error)
        super().__init__(status_code=status, detail=error.code, headers=headers)
        self.error = error


def error_response(error: BearerGuardError) -> JSONResponse:
    """The response for a refusal: its status, its headers, and ``{"error": code}``."""
    status, headers, body = refusal(error)
    return JSONResponse(body, status_code=status, headers=headers)


async def _answer(request: Request, exc: Exception) -> JSONResponse:
    # Registered for BearerAuthError only; the fallback keeps the type checker honest.
    return error_response(exc.error if isinstance(exc, BearerAuthError) else BearerGuardError())


def install(app: FastAPI) -> None:
    """Makes `app` answer refusals with ``{"error": code}`` (see the module docstring)."""
    app.add_exception_handler(BearerAuthError, _answer)


def serve_resource_metadata(app: FastAPI, validator: Validator) -> None:
    """Serves the validator's RFC 9728 protected resource metadata document (it needs a
    ``resource``) at its well-known path, as JSON with ``Cache-Control``."""
    path, body, headers = resource_metadata(validator)

    async def metadata() -> Response:
        return Response(body, media_type="application/json", headers=headers)

    app.add_api_route(path, metadata, methods=["GET"], include_in_schema=False)


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

    async def __call__(self, request: Request, response: Response, security_scopes: SecurityScopes) -> TokenInfo:
        seen = Seen(
            request.headers.getlist("authorization"),
            method=request.method,
            url=str(request.url),
            dpop=request.headers.getlist("dpop"),
            certificate=certificate_lines(self.validator, request.headers.getlist),
        )
        try:
            info = await decide_async(self.validator, seen, merge_scopes(self.scopes, security_scopes.scopes))
        except BearerGuardError as e:
            raise BearerAuthError(e) from None
        response.headers.update(success_headers(info))
        return info
