"""Exceptions raised by bearerguard: one root, one class per core error code.

Every instance carries ``code`` (the core's stable string), ``status_code`` (the HTTP status
an API should answer with), ``www_authenticate`` (the RFC 6750 header value, or ``None`` for
server-side failures) and ``detail`` (a fixed description that never contains the token or a
secret). The core's cause, when it has one (an I/O error, a transport error), is attached as
``__cause__`` (an ``OSError`` subclass or a ``RuntimeError``). They pickle, so they cross
process boundaries (the cause stays behind).

There is one class per core error code: ``bearerguard._native.error_codes()`` lists the core's
codes and ``error_class(code)`` names the class raised for each; a test proves every code has a
class of its own, so a code added to the core cannot arrive as a bare `BearerGuardError`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = [
    "BearerGuardError",
    "ConfigurationError",
    "InsufficientScopeError",
    "InvalidDpopProofError",
    "InvalidRequestError",
    "InvalidTokenError",
    "MissingTokenError",
    "TokenExpiredError",
    "UnavailableError",
    "UseDpopNonceError",
]


class BearerGuardError(Exception):
    """Root of every bearerguard error. Also raised, with code ``"internal"``, for a bug."""

    code: str = "internal"
    status_code: int = 500

    def __init__(
        self,
        detail: str = "",
        code: str | None = None,
        status_code: int | None = None,
        www_authenticate: str | None = None,
        required_scopes: Iterable[str] = (),
        dpop_nonce: str | None = None,
    ) -> None:
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code
        self.detail = detail
        self.www_authenticate = www_authenticate
        self.required_scopes: tuple[str, ...] = tuple(required_scopes)
        # The DPoP nonce to send as the `DPoP-Nonce` response header (RFC 9449 §9), or None.
        self.dpop_nonce = dpop_nonce
        super().__init__(f"{self.code}: {detail}" if detail else self.code)

    def __reduce__(self) -> tuple[Any, ...]:
        args = (
            self.detail,
            self.code,
            self.status_code,
            self.www_authenticate,
            self.required_scopes,
            self.dpop_nonce,
        )
        return (type(self), args)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, detail={self.detail!r})"


class MissingTokenError(BearerGuardError):
    """The request carried no bearer token (401, challenge without an ``error``)."""

    code = "missing_token"
    status_code = 401


class InvalidRequestError(BearerGuardError):
    """The ``Authorization`` header is malformed (400, ``invalid_request``)."""

    code = "invalid_request"
    status_code = 400


class InvalidTokenError(BearerGuardError):
    """The token is malformed, forged, revoked, or not for us (401, ``invalid_token``)."""

    code = "invalid_token"
    status_code = 401


class TokenExpiredError(InvalidTokenError):
    """The token was valid once but has expired (401, ``invalid_token``)."""

    code = "token_expired"


class InsufficientScopeError(BearerGuardError):
    """The token lacks a required scope (403); ``required_scopes`` lists what was asked."""

    code = "insufficient_scope"
    status_code = 403


class UnavailableError(BearerGuardError):
    """The authorization server gave no usable answer (503); never cached."""

    code = "unavailable"
    status_code = 503


class InvalidDpopProofError(BearerGuardError):
    """The DPoP proof is malformed, badly signed, for another request or token, too old or
    new, or replayed (401, ``DPoP error="invalid_dpop_proof"``)."""

    code = "invalid_dpop_proof"
    status_code = 401


class UseDpopNonceError(BearerGuardError):
    """The DPoP proof lacks a current server nonce (401, ``DPoP error="use_dpop_nonce"``);
    ``dpop_nonce`` is the nonce to send as the ``DPoP-Nonce`` response header."""

    code = "use_dpop_nonce"
    status_code = 401


class ConfigurationError(BearerGuardError):
    """The validator is misconfigured, or the server refused our own credentials (500)."""

    code = "configuration"
    status_code = 500
