"""A FastAPI app (uvicorn) and a Flask app (werkzeug), driven over real HTTP on 127.0.0.1, with
JWT, opaque, missing, malformed, expired and under-scoped tokens."""

import logging
import socket
import threading
import time
from collections.abc import Iterator
from typing import Annotated, Any

import httpx
import pytest
import uvicorn
from fastapi import Depends, FastAPI, Security
from flask import Flask, g
from werkzeug.serving import make_server

from bearerguard import TokenInfo, Validator
from bearerguard.fastapi import BearerAuth as FastAPIBearer
from bearerguard.flask import BearerAuth as FlaskBearer


def fastapi_app(v: Validator) -> FastAPI:
    app = FastAPI()
    bearer = FastAPIBearer(v)

    @app.get("/orders")
    async def orders(token: Annotated[TokenInfo, Security(bearer, scopes=["write"])]) -> dict[str, Any]:
        return {"subject": token.subject, "source": token.source, "scopes": list(token.scopes)}

    @app.get("/any")
    def any_token(token: Annotated[TokenInfo, Depends(bearer)]) -> dict[str, Any]:
        return {"source": token.source}

    @app.get("/admin")
    async def admin(token: Annotated[TokenInfo, Depends(FastAPIBearer(v, ["admin"]))]) -> dict[str, Any]:
        return {"source": token.source}

    return app


def flask_app(v: Validator) -> Flask:
    app = Flask(__name__)
    require_token = FlaskBearer(v)

    @app.get("/orders")
    @require_token("write")
    def orders() -> dict[str, Any]:
        info = g.token_info
        return {"subject": info.subject, "source": info.source, "scopes": list(info.scopes)}

    @app.get("/any")
    @require_token
    def any_token() -> dict[str, Any]:
        return {"source": g.token_info.source}

    @app.get("/admin")
    @require_token("admin")
    def admin() -> dict[str, Any]:
        return {"source": g.token_info.source}

    return app


def serve_fastapi(app: FastAPI) -> Iterator[str]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(10)


def serve_flask(app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


@pytest.fixture(params=["fastapi", "flask"])
def api(request: pytest.FixtureRequest, auth_server: Any) -> Iterator[str]:
    v = Validator(**auth_server.config(leeway_secs=0, realm="orders"))
    if request.param == "fastapi":
        yield from serve_fastapi(fastapi_app(v))
    else:
        yield from serve_flask(flask_app(v))


def call(base: str, path: str, authorization: str | None = None) -> httpx.Response:
    headers = {"Authorization": authorization} if authorization else {}
    return httpx.get(base + path, headers=headers, timeout=10)


def test_decisions(api: str, auth_server: Any, expired_jwt: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    jwt = auth_server.token("jwt", "read write")
    opaque = auth_server.token("opaque", "read write")
    read_only = auth_server.token("opaque", "read")

    r = call(api, "/orders", f"Bearer {jwt}")
    assert r.status_code == 200 and r.json()["source"] == "jwt" and r.json()["scopes"] == ["read", "write"]
    r = call(api, "/orders", f"Bearer {opaque}")
    assert r.status_code == 200 and r.json()["source"] == "introspection"
    assert call(api, "/any", f"Bearer {read_only}").json() == {"source": "introspection"}

    r = call(api, "/orders")
    assert r.status_code == 401 and r.headers["WWW-Authenticate"] == 'Bearer realm="orders"'
    r = call(api, "/orders", "Basic dXNlcjpwdw==")
    assert r.status_code == 401 and "error=" not in r.headers["WWW-Authenticate"]
    r = call(api, "/orders", "Bearer a b")
    assert r.status_code == 400 and 'error="invalid_request"' in r.headers["WWW-Authenticate"]
    r = call(api, "/orders", "Bearer not-a-real-token")
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["WWW-Authenticate"]
    r = call(api, "/orders", f"Bearer {expired_jwt}")
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["WWW-Authenticate"] and "expired" in r.headers["WWW-Authenticate"]
    r = call(api, "/orders", f"Bearer {read_only}")
    assert r.status_code == 403
    assert r.headers["WWW-Authenticate"].startswith('Bearer realm="orders", error="insufficient_scope"')
    assert 'scope="write"' in r.headers["WWW-Authenticate"]
    r = call(api, "/admin", f"Bearer {jwt}")
    assert r.status_code == 403 and 'scope="admin"' in r.headers["WWW-Authenticate"]
    for token in (jwt, opaque, read_only, expired_jwt):
        assert token not in caplog.text


@pytest.mark.parametrize("framework", ["fastapi", "flask"])
def test_authorization_server_down_is_503(framework: str) -> None:
    v = Validator(issuer="http://127.0.0.1:9", audience="api", http={"connect_timeout_ms": 200, "retry": False})
    serve = serve_fastapi(fastapi_app(v)) if framework == "fastapi" else serve_flask(flask_app(v))
    base = next(serve)
    try:
        r = call(base, "/orders", "Bearer some-opaque-token")
        assert r.status_code == 503 and "WWW-Authenticate" not in r.headers
    finally:
        next(serve, None)


def test_openapi_registers_the_bearer_scheme() -> None:
    app = fastapi_app(Validator(issuer="https://as.example", audience="api"))
    spec = app.openapi()
    assert spec["components"]["securitySchemes"]["bearerAuth"]["type"] == "http"
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert spec["paths"]["/orders"]["get"]["security"] == [{"bearerAuth": ["write"]}]
    assert spec["paths"]["/any"]["get"]["security"] == [{"bearerAuth": []}]
