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
from typing import Any

from bearerguard import asgi

__all__ = ["BearerMiddleware"]


class BearerMiddleware(asgi.BearerMiddleware):
    """`bearerguard.asgi.BearerMiddleware` adding the route handler's ``opt["scopes"]``."""

    def route_scopes(self, scope: asgi.Scope) -> Iterable[str]:
        handler: Any = scope.get("route_handler")
        scopes = getattr(handler, "opt", {}).get("scopes", ()) if handler is not None else ()
        return (scopes,) if isinstance(scopes, str) else tuple(scopes)
