"""A FastAPI app (uvicorn) and a Flask app (werkzeug), driven over real HTTP on 127.0.0.1, with
JWT, opaque, missing, malformed, repeated, expired and under-scoped tokens; both adapters answer
every refusal with the same status, headers and body."""

import contextlib
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

import bearerguard.fastapi
import bearerguard.flask
from bearerguard import BearerGuardError, ConfigurationError, TokenInfo, Validator
from bearerguard.fastapi import BearerAuth as FastAPIBearer
from bearerguard.flask import BearerAuth as FlaskBearer


def fastapi_app(v: Validator, *, install: bool = True) -> FastAPI:
    app = FastAPI()
    if install:
        bearerguard.fastapi.install(app)
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


def serve_fastapi(app: Any, sock: socket.socket | None = None) -> Iterator[str]:
    if sock is None:
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


@contextlib.contextmanager
def both_frameworks(v: Validator, *, install: bool = True) -> Iterator[dict[str, str]]:
    """The FastAPI and the Flask app on one validator, both serving."""
    fast, flask = serve_fastapi(fastapi_app(v, install=install)), serve_flask(flask_app(v))
    try:
        yield {"fastapi": next(fast), "flask": next(flask)}
    finally:
        next(fast, None)
        next(flask, None)


def call(base: str, path: str, authorization: str | list[str] | None = None) -> httpx.Response:
    if isinstance(authorization, list):
        headers: Any = [("Authorization", line) for line in authorization]
    else:
        headers = {"Authorization": authorization} if authorization else {}
    return httpx.get(base + path, headers=headers, timeout=10)


def answer(r: httpx.Response) -> tuple[Any, ...]:
    """What a client sees of a refusal."""
    h = r.headers
    return (r.status_code, h.get("www-authenticate"), h.get("cache-control"), h.get("content-type"), r.json())


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


def test_two_authorization_headers_are_invalid_request(api: str, auth_server: Any) -> None:
    """REQ-2: the adapters hand the core every line; neither keeps the first or the last."""
    jwt = auth_server.token("jwt", "read write")
    assert call(api, "/orders", f"Bearer {jwt}").status_code == 200
    for lines in ([f"Bearer {jwt}", "Bearer other-token"], [f"Bearer {jwt}", f"Bearer {jwt}"]):
        r = call(api, "/orders", lines)
        assert (r.status_code, r.json()) == (400, {"error": "invalid_request"}), r.text
        assert 'error="invalid_request"' in r.headers["WWW-Authenticate"]
        assert r.headers["Cache-Control"] == "no-store"


def test_both_frameworks_answer_every_refusal_alike(
    auth_server: Any, expired_jwt: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="bearerguard")
    jwt = auth_server.token("jwt", "read write")
    read_only = auth_server.token("opaque", "read")
    good = Validator(**auth_server.config(leeway_secs=0, realm="orders"))
    down = Validator(issuer="http://127.0.0.1:9", audience="api", http={"connect_timeout_ms": 200, "retry": False})
    wrong_secret = Validator(**auth_server.config(client_secret="wrong-secret-canary"))
    requests: list[tuple[Validator, str, Any, int, str]] = [
        (good, "/orders", None, 401, "missing_token"),
        (good, "/orders", "Basic dXNlcjpwdw==", 401, "missing_token"),
        (good, "/orders", "Bearer a b", 400, "invalid_request"),
        (good, "/orders", [f"Bearer {jwt}", "Bearer b"], 400, "invalid_request"),
        (good, "/orders", "Bearer not-a-real-token", 401, "invalid_token"),
        (good, "/orders", f"Bearer {expired_jwt}", 401, "token_expired"),
        (good, "/orders", f"Bearer {read_only}", 403, "insufficient_scope"),
        (good, "/admin", f"Bearer {jwt}", 403, "insufficient_scope"),
        (down, "/orders", "Bearer some-opaque-token", 503, "unavailable"),
        (wrong_secret, "/orders", f"Bearer {read_only}", 500, "configuration"),
    ]
    for v in (good, down, wrong_secret):
        with both_frameworks(v) as apps:
            for _, path, authorization, status, code in (r for r in requests if r[0] is v):
                fast, flask = (answer(call(apps[name], path, authorization)) for name in ("fastapi", "flask"))
                assert fast == flask, (code, fast, flask)
                assert fast[0] == status and fast[4] == {"error": code} and fast[2] == "no-store", fast
                assert fast[3] == "application/json"
                assert (fast[1] is None) is (status >= 500), fast
    # The adapters' own records (the core's, on bearerguard.jwks etc., are counted elsewhere).
    adapter = [r for r in caplog.records if r.name == "bearerguard"]
    errors = [r for r in adapter if r.levelno == logging.ERROR]
    assert len(errors) == 2 and all("configuration" in r.getMessage() for r in errors), errors
    assert sum(r.levelno == logging.WARNING for r in adapter) == 2  # unavailable, once per framework
    for secret in (jwt, read_only, expired_jwt, "wrong-secret-canary"):
        assert secret not in caplog.text


def test_both_error_responses_answer_an_internal_error_alike() -> None:
    """The 500 of a bug (code `internal`) and a configuration error, built by each adapter."""
    for error in (BearerGuardError(), ConfigurationError("`issuer` is required")):
        fast = bearerguard.fastapi.error_response(error)
        with Flask(__name__).app_context():
            flask = bearerguard.flask.error_response(error)
        assert fast.status_code == flask.status_code == 500
        assert flask.get_json() == {"error": error.code} and fast.body == b'{"error":"%s"}' % error.code.encode()
        assert fast.headers["cache-control"] == flask.headers["Cache-Control"] == "no-store"
        assert "www-authenticate" not in fast.headers and "WWW-Authenticate" not in flask.headers


def test_fastapi_without_install_keeps_status_and_headers(auth_server: Any) -> None:
    """Without `install(app)`, FastAPI's own handler writes the body (`detail`); the status and
    headers are the adapter's."""
    v = Validator(**auth_server.config(realm="orders"))
    with both_frameworks(v, install=False) as apps:
        fast, flask = (answer(call(apps[name], "/orders", "Bearer a b")) for name in ("fastapi", "flask"))
    assert fast[:4] == flask[:4] and fast[0] == 400
    assert (fast[4], flask[4]) == ({"detail": "invalid_request"}, {"error": "invalid_request"})


def test_both_frameworks_serve_the_resource_metadata_and_mcp_challenges(auth_server: Any) -> None:
    """RFC 9728 metadata at the well-known path (path inserted) with a cache header, and the
    challenges of a resource: scope and resource_metadata, no `error` without credentials;
    an under-scoped token is 403 with `scope`; a token for another resource is 401."""
    resource = "https://api.example.test/opaque"
    config = auth_server.config(resource=resource, audience=[], scopes_supported=["read", "write"])
    config.pop("audience")
    v = Validator(**config)
    fast_app, fl_app = fastapi_app(v), flask_app(v)
    bearerguard.fastapi.serve_resource_metadata(fast_app, v)
    bearerguard.flask.serve_resource_metadata(fl_app, v)
    fast, flask = serve_fastapi(fast_app), serve_flask(fl_app)
    metadata_url = "https://api.example.test/.well-known/oauth-protected-resource/opaque"
    try:
        for base in (next(fast), next(flask)):
            doc = httpx.get(base + "/.well-known/oauth-protected-resource/opaque")
            assert doc.status_code == 200 and doc.headers["content-type"].startswith("application/json")
            assert doc.headers["cache-control"] == "public, max-age=3600"
            assert doc.json() == {
                "resource": resource,
                "authorization_servers": [auth_server.issuer],
                "scopes_supported": ["read", "write"],
                "bearer_methods_supported": ["header"],
            }
            r = call(base, "/orders")
            assert r.status_code == 401
            assert r.headers["www-authenticate"] == f'Bearer scope="write", resource_metadata="{metadata_url}"'
            r = call(base, "/orders", f"Bearer {auth_server.token('opaque', 'read')}")
            assert r.status_code == 403
            assert 'scope="write"' in r.headers["www-authenticate"]
            assert f'resource_metadata="{metadata_url}"' in r.headers["www-authenticate"]
            r = call(base, "/orders", f"Bearer {auth_server.token('jwt', 'write')}")
            assert r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"]
            assert call(base, "/orders", f"Bearer {auth_server.token('opaque', 'write')}").status_code == 200
    finally:
        next(fast, None)
        next(flask, None)
