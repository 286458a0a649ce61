"""Litestar protection: the ASGI middleware, with per-route scopes from the handler's ``opt``.

    @get("/orders", opt={"scopes": ["read"]})
    async def orders(request: Request) -> dict[str, str]:
        return {"client": request.state.token_info.client_id}

    app = Litestar([orders], middleware=[DefineMiddleware(BearerMiddleware, validator=validator)])

The middleware runs after routing, so the scopes of a handler (``opt={"scopes": [...]}``, on any
layer: app, router, controller, handler) join the ones given to it. Everything else is
`bearerguard.asgi.BearerMiddleware`: the same request handed to the core, the same refusals.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from litestar.types import ASGIApp, Receive, Scope, Send

from bearerguard import asgi
from bearerguard._native import Validator

__all__ = ["BearerMiddleware"]


class BearerMiddleware(asgi.BearerMiddleware):
    """`bearerguard.asgi.BearerMiddleware` adding the route handler's ``opt["scopes"]``, typed
    with Litestar's ASGI types."""

    def __init__(
        self, app: ASGIApp, *, validator: Validator, scopes: Iterable[str] = (), websockets: bool = False
    ) -> None:
        super().__init__(cast(asgi.ASGIApp, app), validator=validator, scopes=scopes, websockets=websockets)

    def route_scopes(self, scope: asgi.Scope) -> Iterable[str]:
        handler: Any = scope.get("route_handler")
        scopes = getattr(handler, "opt", {}).get("scopes", ()) if handler is not None else ()
        return (scopes,) if isinstance(scopes, str) else tuple(scopes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # type: ignore[override]
        await super().__call__(cast(asgi.Scope, scope), cast(asgi.Receive, receive), cast(asgi.Send, send))
