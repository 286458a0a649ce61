"""Every Python framework bearerguard protects, for `make demo` and the table test
(tests/test_every_framework.py): FastAPI, Flask, Starlette, Litestar, Django (sync and async
views) and Django REST framework, each serving GET /orders requiring scope "write" and answering
``{"client": client_id}``.

As a program: reads the validator config (core JSON keys) from BEARERGUARD_CONFIG, serves each
framework on its own free port of 127.0.0.1 (uvicorn for ASGI, werkzeug for WSGI) and prints
``{"ready": true, "apps": {"FastAPI": {"port": N, "prefix": ""}, ...}}`` once all accept connections.
"""

# No `from __future__ import annotations`: FastAPI reads the route's annotations at runtime.
import json
import os
import socket
import threading
import time
from collections.abc import Callable
from types import ModuleType
from typing import Annotated, Any

import django
import uvicorn
from django.conf import settings
from werkzeug.serving import make_server

from bearerguard import TokenInfo, Validator

#: Django's URL conf: `django_urls` fills it for the validator of the moment.
URLCONF: Any = ModuleType("bearerguard_demo_urls")
URLCONF.urlpatterns = []
if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="bearerguard-demo-only",
        ALLOWED_HOSTS=["127.0.0.1", "localhost"],
        ROOT_URLCONF=URLCONF,
        INSTALLED_APPS=["rest_framework"],
        MIDDLEWARE=[],
        REST_FRAMEWORK={
            "EXCEPTION_HANDLER": "bearerguard.drf.exception_handler",  # adds Cache-Control: no-store
            "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
            "UNAUTHENTICATED_USER": None,
        },
    )
    django.setup()


def fastapi_app(validator: Validator) -> Any:
    from fastapi import FastAPI, Security

    from bearerguard.fastapi import BearerAuth, install

    app = FastAPI()
    install(app)
    bearer = BearerAuth(validator)

    @app.get("/orders")
    async def orders(token: Annotated[TokenInfo, Security(bearer, scopes=["write"])]) -> dict[str, Any]:
        return {"client": token.client_id}

    return app


def flask_app(validator: Validator) -> Any:
    from flask import Flask, g

    from bearerguard.flask import BearerAuth

    app = Flask(__name__)

    @app.get("/orders")
    @BearerAuth(validator)("write")
    def orders() -> dict[str, Any]:
        return {"client": g.token_info.client_id}

    return app


def starlette_app(validator: Validator) -> Any:
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from bearerguard.asgi import BearerMiddleware

    async def orders(request: Request) -> JSONResponse:
        return JSONResponse({"client": request.state.token_info.client_id})

    guard = Middleware(BearerMiddleware, validator=validator, scopes=["write"])
    return Starlette(routes=[Route("/orders", orders, middleware=[guard])])


def litestar_app(validator: Validator) -> Any:
    from litestar import Litestar, Request, get
    from litestar.middleware import DefineMiddleware

    from bearerguard.litestar import BearerMiddleware

    @get("/orders", opt={"scopes": ["write"]})
    async def orders(request: Request[Any, Any, Any]) -> dict[str, Any]:
        return {"client": request.state.token_info.client_id}

    return Litestar([orders], middleware=[DefineMiddleware(BearerMiddleware, validator=validator)])


def django_urls(validator: Validator) -> None:
    """Django's routes for `validator`: /django/orders (a sync view), /django-async/orders, /drf/orders."""
    from django.http import JsonResponse
    from django.urls import clear_url_caches, path
    from rest_framework.response import Response
    from rest_framework.views import APIView

    from bearerguard.django import BearerAuth
    from bearerguard.drf import BearerAuthentication, HasScopes

    require_token = BearerAuth(validator)

    @require_token("write")
    def orders(request: Any) -> Any:
        return JsonResponse({"client": request.token_info.client_id})

    @require_token("write")
    async def orders_async(request: Any) -> Any:
        return JsonResponse({"client": request.token_info.client_id})

    class Orders(APIView):  # type: ignore[misc]
        authentication_classes = (BearerAuthentication.using(validator),)
        permission_classes = (HasScopes.of("write"),)

        def get(self, request: Any) -> Any:
            return Response({"client": request.auth.client_id})

    URLCONF.urlpatterns = [
        path("django/orders", orders),
        path("django-async/orders", orders_async),
        path("drf/orders", Orders.as_view()),
    ]
    clear_url_caches()


def django_wsgi(prefix: str) -> Callable[[Validator], tuple[str, Any, str]]:
    def app(validator: Validator) -> tuple[str, Any, str]:
        from django.core.handlers.wsgi import WSGIHandler

        django_urls(validator)
        return "wsgi", WSGIHandler(), prefix

    return app


def django_asgi(validator: Validator) -> tuple[str, Any, str]:
    from django.core.handlers.asgi import ASGIHandler

    django_urls(validator)
    return "asgi", ASGIHandler(), "/django-async"


#: name -> a factory of (kind, app, path prefix of /orders) for a validator.
APPS: dict[str, Callable[[Validator], tuple[str, Any, str]]] = {
    "FastAPI": lambda v: ("asgi", fastapi_app(v), ""),
    "Flask": lambda v: ("wsgi", flask_app(v), ""),
    "Starlette": lambda v: ("asgi", starlette_app(v), ""),
    "Litestar": lambda v: ("asgi", litestar_app(v), ""),
    "Django": django_wsgi("/django"),
    "Django async": django_asgi,
    "Django REST framework": django_wsgi("/drf"),
}


def serve(kind: str, app: Any) -> tuple[int, Callable[[], None]]:
    """Serves `app` on a free port of 127.0.0.1 in a thread; returns the port and a stop."""
    if kind == "wsgi":
        wsgi = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=wsgi.serve_forever, daemon=True)
        thread.start()

        def stop_wsgi() -> None:
            wsgi.shutdown()
            thread.join(10)

        return wsgi.server_port, stop_wsgi
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="auto"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)

    def stop_asgi() -> None:
        server.should_exit = True
        thread.join(10)

    return sock.getsockname()[1], stop_asgi


def main() -> None:
    validator = Validator.from_config(json.loads(os.environ["BEARERGUARD_CONFIG"]))
    ports = {}
    for name, factory in APPS.items():
        kind, app, prefix = factory(validator)
        port, _ = serve(kind, app)
        ports[name] = {"port": port, "prefix": prefix}
    print(json.dumps({"ready": True, "apps": ports}), flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
