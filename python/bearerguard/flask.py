"""Flask protection: a decorator that puts the request's `TokenInfo` on ``flask.g``.

    require_token = BearerAuth(validator)

    @app.get("/orders")
    @require_token("read")          # or bare: @require_token
    def orders():
        return {"subject": g.token_info.subject}

The core gets the whole request: every ``Authorization`` value (two are ``invalid_request``), the
``DPoP`` value, the trusted proxy's client-certificate header when the config names one, the
method, the absolute URL (``request.url``) and the scopes. A refusal answers as the FastAPI
adapter does: the error's status, ``Cache-Control: no-store``, the RFC 6750 ``WWW-Authenticate``
header chosen by the core when there is one, ``DPoP-Nonce`` when the error carries one, and
``{"error": code}``; 500s are logged at error level. With DPoP nonces on, an accepted request's
response carries ``DPoP-Nonce`` (set with ``after_this_request``). The decision releases the GIL
while it waits, so threaded servers keep serving.

WSGI gives an application one value per header name: servers join repeated ``Authorization``
lines with commas (werkzeug and gunicorn do), and the core refuses the joined value as
``invalid_request`` when it is a ``Bearer`` one.
"""

from __future__ import annotations

import functools
from typing import Any

from flask import Flask, Response, after_this_request, g, jsonify, request

from bearerguard._adapter import (
    ScopedDecorator,
    Seen,
    View,
    certificate_lines,
    decide,
    refusal,
    resource_metadata,
    success_headers,
)
from bearerguard._native import Validator
from bearerguard.errors import BearerGuardError

__all__ = ["BearerAuth", "error_response", "serve_resource_metadata"]


def error_response(error: BearerGuardError) -> Response:
    """The response for a refusal: its status, its headers, and ``{"error": code}``."""
    status, headers, body = refusal(error)
    response = jsonify(body)
    response.status_code = status
    response.headers.update(headers)
    return response


def serve_resource_metadata(app: Flask, validator: Validator) -> None:
    """Serves the validator's RFC 9728 protected resource metadata document (it needs a
    ``resource``) at its well-known path, as JSON with ``Cache-Control``."""
    path, body, headers = resource_metadata(validator)

    def metadata() -> Response:
        return Response(body, mimetype="application/json", headers=headers)

    app.add_url_rule(path, endpoint="bearerguard_resource_metadata", view_func=metadata, methods=["GET"])


class BearerAuth(ScopedDecorator):
    """Decorates views that require a good bearer token (and the scopes given, if any)."""

    def _protect(self, view: View, scopes: tuple[str, ...]) -> View:
        @functools.wraps(view)
        def protected(*args: Any, **kwargs: Any) -> Any:
            seen = Seen(
                request.headers.getlist("Authorization"),
                method=request.method,
                url=request.url,
                dpop=request.headers.getlist("DPoP"),
                certificate=certificate_lines(self.validator, request.headers.getlist),
            )
            try:
                g.token_info = info = decide(self.validator, seen, scopes)
            except BearerGuardError as e:
                return error_response(e)
            headers = success_headers(info)
            if headers:

                @after_this_request
                def add_headers(response: Response) -> Response:
                    response.headers.update(headers)
                    return response

            return view(*args, **kwargs)

        return protected  # type: ignore[return-value]
