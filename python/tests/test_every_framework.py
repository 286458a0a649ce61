"""One table for every Python framework: FastAPI, Flask, Starlette (any ASGI app), Litestar,
Django (sync and async views) and Django REST framework, each served over real HTTP on 127.0.0.1
(uvicorn or werkzeug) against the real authorization server, get the demo's request list
(tests/demo/requests.json: JWT, opaque, none, garbage, expired, under-scoped, authorization
server down) on GET /orders requiring "write". Every framework must answer every request with
the same status, challenge, Cache-Control, content type and body."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import django
import httpx
import uvicorn
from django.conf import settings
from werkzeug.serving import make_server

from bearerguard import Validator
from test_frameworks import fastapi_app, flask_app

REQUESTS = json.loads((Path(__file__).resolve().parents[2] / "tests/demo/requests.json").read_text())["requests"]

URLCONF: Any = ModuleType("bearerguard_test_urls")  # Django's URL conf: the patterns of the round
URLCONF.urlpatterns = []
if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bearerguard-tests-only",
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF=URLCONF,
        INSTALLED_APPS=["rest_framework"],
        MIDDLEWARE=[],
        REST_FRAMEWORK={
            "EXCEPTION_HANDLER": "bearerguard.drf.exception_handler",
            "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
            "UNAUTHENTICATED_USER": None,
        },
    )
    django.setup()


def starlette_app(v: Validator) -> Any:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from bearerguard.asgi import BearerMiddleware

    async def orders(request: Any) -> JSONResponse:
        info = request.state.token_info
        return JSONResponse({"subject": info.subject, "source": info.source})

    middleware = [Middleware(BearerMiddleware, validator=v, scopes=["write"])]
    return Starlette(routes=[Route("/orders", orders, middleware=middleware)])


def litestar_app(v: Validator) -> Any:
    from litestar import Litestar, Request, get
    from litestar.middleware import DefineMiddleware

    from bearerguard.litestar import BearerMiddleware

    @get("/orders", opt={"scopes": ["write"]})
    async def orders(request: Request[Any, Any, Any]) -> dict[str, Any]:
        info = request.state.token_info
        return {"subject": info.subject, "source": info.source}

    return Litestar([orders], middleware=[DefineMiddleware(BearerMiddleware, validator=v)])


def django_urls(v: Validator) -> list[Any]:
    from django.http import JsonResponse
    from django.urls import path
    from rest_framework.response import Response
    from rest_framework.views import APIView

    from bearerguard.django import BearerAuth
    from bearerguard.drf import BearerAuthentication, HasScopes

    require_token = BearerAuth(v)

    @require_token("write")
    def orders(request: Any) -> JsonResponse:
        return JsonResponse({"subject": request.token_info.subject, "source": request.token_info.source})

    @require_token("write")
    async def orders_async(request: Any) -> JsonResponse:
        return JsonResponse({"subject": request.token_info.subject, "source": request.token_info.source})

    class Orders(APIView):
        authentication_classes = (BearerAuthentication.using(v),)
        permission_classes = (HasScopes.of("write"),)

        def get(self, request: Any) -> Response:
            return Response({"subject": request.auth.subject, "source": request.auth.source})

    return [
        path("django/orders", orders),
        path("django-async/orders", orders_async),
        path("drf/orders", Orders.as_view()),
    ]


def serve_asgi(app: Any) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="auto"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)


def serve_wsgi(app: Any) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


def frameworks(v: Validator) -> dict[str, Callable[[], Iterator[str]]]:
    """Each framework's server for `v`: yields the base URL its /orders is under."""
    from django.core.handlers.asgi import ASGIHandler
    from django.core.handlers.wsgi import WSGIHandler
    from django.urls import clear_url_caches

    URLCONF.urlpatterns = django_urls(v)
    clear_url_caches()

    def under(prefix: str, serving: Iterator[str]) -> Iterator[str]:
        for base in serving:
            yield base + prefix

    return {
        "FastAPI": lambda: serve_asgi(fastapi_app(v)),
        "Flask": lambda: serve_wsgi(flask_app(v)),
        "Starlette": lambda: serve_asgi(starlette_app(v)),
        "Litestar": lambda: serve_asgi(litestar_app(v)),
        "Django": lambda: under("/django", serve_wsgi(WSGIHandler())),
        "Django (async view)": lambda: under("/django-async", serve_asgi(ASGIHandler())),
        "Django REST framework": lambda: under("/drf", serve_wsgi(WSGIHandler())),
    }


def test_every_framework_answers_the_demo_requests_alike(auth_server: Any, expired_jwt: str) -> None:
    good = Validator(**auth_server.config(leeway_secs=0, realm="orders"))
    down = Validator(
        issuer="http://127.0.0.1:9", audience="api", realm="orders", http={"connect_timeout_ms": 200, "retry": False}
    )
    authorization = {
        "none": lambda r: None,
        "garbage": lambda r: "Bearer not-a-real-token",
        "expired": lambda r: f"Bearer {expired_jwt}",
        "down": lambda r: "Bearer some-opaque-token",
        "jwt": lambda r: f"Bearer {auth_server.token('jwt', r['scope'])}",
        "opaque": lambda r: f"Bearer {auth_server.token('opaque', r['scope'])}",
    }
    sent = [(r, authorization[r["token"]](r)) for r in REQUESTS]
    table: dict[str, list[tuple[Any, ...]]] = {}
    for v, rows in (
        (good, [s for s in sent if s[0]["token"] != "down"]),
        (down, [s for s in sent if s[0]["token"] == "down"]),
    ):
        for name, serve in frameworks(v).items():
            serving = serve()
            base = next(serving)
            try:
                for _, value in rows:
                    r = httpx.get(base + "/orders", headers={"Authorization": value} if value else {}, timeout=10)
                    h = r.headers
                    body = r.json()
                    if r.status_code == 200:
                        body = body["source"]
                    answer = (
                        r.status_code,
                        h.get("www-authenticate"),
                        h.get("cache-control"),
                        h.get("content-type"),
                        body,
                    )
                    table.setdefault(name, []).append(answer)
            finally:
                next(serving, None)
    assert len(table) == 7
    first = table["FastAPI"]
    for name, answers in table.items():
        assert answers == first, (name, answers, first)
    for (request, _), (status, challenge, cache, ctype, body) in zip(sent, first, strict=True):
        assert status == request["status"], request
        assert ctype == "application/json"
        if status == 200:
            assert body == ("jwt" if request["token"] == "jwt" else "introspection")
            continue
        assert body == {"error": request["code"]} and cache == "no-store", request
        if status >= 500:
            assert challenge is None
        else:
            assert challenge is not None and challenge.startswith('Bearer realm="orders"')
            assert (f'error="{request["error"]}"' in challenge) if request["error"] else ("error=" not in challenge)
