"""Django protection: a decorator for sync and async views that puts the request's `TokenInfo`
on ``request.token_info``.

    require_token = BearerAuth(validator)

    @require_token("read")          # or bare: @require_token
    def orders(request):
        return JsonResponse({"client": request.token_info.client_id})

An ``async def`` view is decided without blocking the event loop; a sync view on the request's
thread, with the GIL released while the core waits. The core gets the whole request: the
``Authorization`` and ``DPoP`` values, the trusted proxy's client-certificate header when the
config names one, the method and the absolute URL (``request.build_absolute_uri()``, which
checks ``ALLOWED_HOSTS``). A refusal answers as every bearerguard adapter does: the error's
status, ``Cache-Control: no-store``, the RFC 6750 ``WWW-Authenticate`` header chosen by the core
when there is one, ``DPoP-Nonce`` when the error carries one, and ``{"error": code}``. With DPoP
nonces on, the view's response gets ``DPoP-Nonce`` when the request is accepted.

Django gives an application one value per header name: WSGI servers and Django's ASGI handler
join repeated ``Authorization`` lines with commas, and the core refuses the joined value as
``invalid_request`` when it is a ``Bearer`` one. Django REST framework views use
`bearerguard.drf` instead.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse

from bearerguard._adapter import (
    ScopedDecorator,
    Seen,
    View,
    certificate_lines,
    decide,
    decide_async,
    refusal,
    success_headers,
)
from bearerguard._native import TokenInfo, Validator
from bearerguard.errors import BearerGuardError

__all__ = ["BearerAuth", "error_response", "seen"]


def _lines(value: str | None) -> list[str]:
    return [value] if value is not None else []


def seen(request: HttpRequest, validator: Validator | None = None) -> Seen:
    """A Django request as the core sees it (with the client-certificate header `validator`
    trusts, when given)."""
    return Seen(
        _lines(request.META.get("HTTP_AUTHORIZATION")),
        method=request.method,
        url=request.build_absolute_uri(),
        dpop=_lines(request.META.get("HTTP_DPOP")),
        certificate=certificate_lines(validator, lambda name: _lines(request.headers.get(name))),
    )


def _with_success_headers(response: Any, info: TokenInfo) -> Any:
    for name, value in success_headers(info).items():
        response[name] = value
    return response


def error_response(error: BearerGuardError) -> HttpResponse:
    """The response for a refusal: its status, its headers, and ``{"error": code}``."""
    status, headers, body = refusal(error)
    return JsonResponse(body, status=status, headers=headers)


class BearerAuth(ScopedDecorator):
    """Decorates views (sync or async) that require a good bearer token (and the scopes given)."""

    def _protect(self, view: View, scopes: tuple[str, ...]) -> View:
        validator = self.validator
        if inspect.iscoroutinefunction(view):

            @functools.wraps(view)
            async def protected_async(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
                try:
                    request.token_info = info = await decide_async(validator, seen(request, validator), scopes)
                except BearerGuardError as e:
                    return error_response(e)
                return _with_success_headers(await view(request, *args, **kwargs), info)

            return protected_async  # type: ignore[return-value]

        @functools.wraps(view)
        def protected(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            try:
                request.token_info = info = decide(validator, seen(request, validator), scopes)
            except BearerGuardError as e:
                return error_response(e)
            return _with_success_headers(view(request, *args, **kwargs), info)

        return protected  # type: ignore[return-value]
