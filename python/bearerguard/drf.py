"""Django REST framework protection: an authentication class and a scopes permission.

    REST_FRAMEWORK = {"EXCEPTION_HANDLER": "bearerguard.drf.exception_handler"}   # settings.py

    class Orders(APIView):
        authentication_classes = [BearerAuthentication.using(validator)]
        permission_classes = [HasScopes.of("read")]

        def get(self, request):
            return Response({"client": request.auth.client_id})

`BearerAuthentication` hands the core the whole request (the ``Authorization`` and ``DPoP``
values, the trusted proxy's client-certificate header when the config names one, the method,
the absolute URL) with the scopes the view requires: those of its
`HasScopes` permissions and of a ``required_scopes`` attribute. The core decides everything, the
scopes included, in one call; ``request.auth`` is the `TokenInfo` and ``request.user`` a
`TokenUser`. `HasScopes` grants only requests that `BearerAuthentication` authenticated (with
another authentication class it refuses), so a view cannot lose its scope check by mistake.

A refusal raises `BearerAuthError` (an ``APIException``): DRF answers the error's status and
``{"error": code}``, with the RFC 6750 challenge as ``WWW-Authenticate``. DRF's handler sets no
other header, so `exception_handler` (in ``REST_FRAMEWORK``, as above) adds ``Cache-Control:
no-store`` too (and ``DPoP-Nonce`` when the error carries one), the answer of every bearerguard
adapter; it hands every other exception to DRF's. With DPoP nonces on, an accepted request's
response carries ``DPoP-Nonce``: it goes in the view's ``headers``, which DRF's
``finalize_response`` copies onto the response.
A missing token is refused here too (``missing_token``, 401), never passed on as anonymous.
"""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, permissions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from bearerguard import django as django_adapter
from bearerguard._adapter import decide, merge_scopes, refusal, success_headers
from bearerguard._native import TokenInfo, Validator
from bearerguard.errors import BearerGuardError

__all__ = ["BearerAuthError", "BearerAuthentication", "HasScopes", "TokenUser", "exception_handler"]


class BearerAuthError(exceptions.APIException):
    """A refusal: the error's status, ``{"error": code}``, the challenge; `error` is the original."""

    def __init__(self, error: BearerGuardError) -> None:
        status, headers, body = refusal(error)
        super().__init__(detail=body)
        self.status_code = status
        self.auth_header = headers.get("WWW-Authenticate")
        self.headers = headers
        self.error = error


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus every header of a bearerguard refusal (``Cache-Control: no-store``)."""
    response = drf_exception_handler(exc, context)
    if isinstance(exc, BearerAuthError) and response is not None:
        for name, value in exc.headers.items():
            response[name] = value
    return response


class TokenUser:
    """``request.user`` of a request with a good token: authenticated, no Django user behind it."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False
    pk = None

    def __init__(self, info: TokenInfo) -> None:
        self.token_info = info
        self.username = info.subject or info.client_id or ""

    def __str__(self) -> str:
        return self.username


class HasScopes(permissions.BasePermission):
    """Requires the scopes `of` names; `BearerAuthentication` hands them to the core."""

    scopes: tuple[str, ...] = ()

    @classmethod
    def of(cls, *scopes: str) -> type[HasScopes]:
        """A permission class requiring `scopes`."""
        return type(f"HasScopes({', '.join(scopes)})", (cls,), {"scopes": scopes})

    def has_permission(self, request: Request, view: Any) -> bool:
        # The core checked the scopes when it authenticated the request (see the module doc).
        return isinstance(request.auth, TokenInfo) and bool(getattr(request, "_bearerguard_scoped", False))


def _view_scopes(view: Any) -> list[str]:
    groups: list[tuple[str, ...]] = [tuple(getattr(view, "required_scopes", ()) or ())]
    for permission in getattr(view, "permission_classes", ()):
        if isinstance(permission, type) and issubclass(permission, HasScopes):
            groups.append(permission.scopes)
    return merge_scopes(*groups)


class BearerAuthentication(BaseAuthentication):
    """Authenticates by bearer token; build the class for a validator with `using`."""

    validator: Validator | None = None
    www_authenticate_realm = "api"

    @classmethod
    def using(cls, validator: Validator) -> type[BearerAuthentication]:
        """An authentication class deciding with `validator`."""
        return type("BearerAuthentication", (cls,), {"validator": validator})

    def authenticate(self, request: Request) -> tuple[TokenUser, TokenInfo]:
        if self.validator is None:
            raise BearerAuthError(BearerGuardError("BearerAuthentication has no validator: use .using(v)"))
        view = (getattr(request, "parser_context", None) or {}).get("view")
        try:
            info = decide(self.validator, django_adapter.seen(request._request, self.validator), _view_scopes(view))
        except BearerGuardError as e:
            raise BearerAuthError(e) from None
        view_headers = getattr(view, "headers", None)
        if isinstance(view_headers, dict):
            view_headers.update(success_headers(info))  # APIView.finalize_response sets them
        request._bearerguard_scoped = True
        return TokenUser(info), info

    def authenticate_header(self, request: Request) -> str:
        return "Bearer"
