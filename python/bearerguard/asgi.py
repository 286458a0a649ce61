"""ASGI protection (Starlette, and any ASGI app): a middleware that puts the request's `TokenInfo`
on ``scope["state"]["token_info"]`` (``request.state.token_info`` in Starlette).

    app = Starlette(routes=[
        Route("/orders", orders, middleware=[Middleware(BearerMiddleware, validator=validator, scopes=["read"])]),
    ])

    async def orders(request):
        return JSONResponse({"client": request.state.token_info.client_id})

Wrapping a whole app works too: ``BearerMiddleware(app, validator=validator)``. The core gets the
whole request: every ``Authorization`` and ``DPoP`` line (ASGI keeps repeated lines apart; two
``Authorization`` lines are ``invalid_request``), the trusted proxy's client-certificate header
when the config names one, the method and the absolute URL. The decision runs on the runtime
without blocking the event loop. A refusal answers as every bearerguard adapter does: the
error's status, ``Cache-Control: no-store``, the RFC 6750 ``WWW-Authenticate`` header chosen by
the core when there is one, ``DPoP-Nonce`` when the error carries one, and ``{"error": code}``.
An accepted request's response gets ``DPoP-Nonce`` when the validator has DPoP nonces on.
Non-HTTP scopes (``lifespan``)
pass through; a ``websocket`` scope is refused unless `websockets` is true (then it is decided
like a request and closed with code 1008 when refused).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any

from bearerguard._adapter import (
    Seen,
    asgi_seen,
    asgi_send_with,
    decide_async,
    merge_scopes,
    refusal,
    success_headers,
)
from bearerguard._native import Validator
from bearerguard.errors import BearerGuardError

__all__ = ["BearerMiddleware", "send_refusal"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def send_refusal(send: Send, error: BearerGuardError) -> None:
    """Answers `error` on an HTTP scope: its status, its headers, ``{"error": code}``."""
    status, headers, body = refusal(error)
    payload = json.dumps(body).encode()
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    raw += [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": payload})


class BearerMiddleware:
    """Requires a good bearer token (and every scope in `scopes`) on each HTTP request."""

    def __init__(
        self, app: ASGIApp, *, validator: Validator, scopes: Iterable[str] = (), websockets: bool = False
    ) -> None:
        self.app = app
        self.validator = validator
        self.scopes = tuple(scopes)
        self.websockets = websockets

    def route_scopes(self, scope: Scope) -> Iterable[str]:
        """Scopes the matched route adds (none here; the Litestar adapter reads its ``opt``)."""
        return ()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        if kind == "websocket" and not self.websockets:
            await send({"type": "websocket.close", "code": 1008})
            return
        seen: Seen = asgi_seen(scope, self.validator)
        try:
            info = await decide_async(self.validator, seen, merge_scopes(self.scopes, self.route_scopes(scope)))
        except BearerGuardError as e:
            if kind == "websocket":
                await send({"type": "websocket.close", "code": 1008})
            else:
                await send_refusal(send, e)
            return
        scope.setdefault("state", {})["token_info"] = info
        await self.app(scope, receive, asgi_send_with(send, success_headers(info)) if kind == "http" else send)
