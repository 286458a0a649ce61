"""Flask protection: a decorator that puts the request's `TokenInfo` on ``flask.g``.

    require_token = BearerAuth(validator)

    @app.get("/orders")
    @require_token("read")          # or bare: @require_token
    def orders():
        return {"subject": g.token_info.subject}

Refusals answer 401/403/503 with the RFC 6750 ``WWW-Authenticate`` header chosen by the core.
The validation releases the GIL while it waits, so threaded servers keep serving.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar, overload

from flask import Response, g, jsonify, request

from bearerguard._native import Validator
from bearerguard.errors import BearerGuardError

__all__ = ["BearerAuth", "error_response"]

logger = logging.getLogger("bearerguard")
View = TypeVar("View", bound=Callable[..., Any])


def error_response(error: BearerGuardError) -> Response:
    """The response for a refusal: its status, its challenge, and only its code in the body."""
    response = jsonify(error=error.code)
    response.status_code = error.status_code
    if error.www_authenticate:
        response.headers["WWW-Authenticate"] = error.www_authenticate
    return response


class BearerAuth:
    """Decorates views that require a good bearer token (and the scopes given, if any)."""

    def __init__(self, validator: Validator) -> None:
        self.validator = validator

    @overload
    def __call__(self, view: View, /) -> View: ...
    @overload
    def __call__(self, *scopes: str) -> Callable[[View], View]: ...
    def __call__(self, *args: Any) -> Any:
        if len(args) == 1 and callable(args[0]):
            return self._protect(args[0], ())
        return lambda view: self._protect(view, args)

    def _protect(self, view: View, scopes: tuple[str, ...]) -> View:
        @functools.wraps(view)
        def protected(*args: Any, **kwargs: Any) -> Any:
            try:
                g.token_info = self.validator.validate_header(request.headers.get("Authorization"), scopes)
            except BearerGuardError as e:
                logger.debug("request refused: %s (%s)", e.code, e.detail)
                return error_response(e)
            return view(*args, **kwargs)

        return protected  # type: ignore[return-value]
