"""One table for every Python framework: FastAPI, Flask, Starlette (any ASGI app), Litestar,
Django (sync and async views) and Django REST framework — the apps of `make demo`
(examples/frameworks_app.py) and the README's examples ("## Frameworks", run as written with
`validator` in scope) — each served over real HTTP on 127.0.0.1 (uvicorn or werkzeug) against
the real authorization server, get the demo's request list (tests/demo/requests.json: JWT,
opaque, none, garbage, expired, under-scoped, authorization server down) on GET /orders
requiring "write". Every app must answer every request alike: status, challenge, Cache-Control,
content type and body."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx

from bearerguard import Validator
from bearerguard.testing import DpopKey
from conftest import DOWN_CONFIG

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "python" / "examples"))

import frameworks_app  # noqa: E402 - the demo's apps, from examples/

README = (ROOT / "README.md").read_text()
EXAMPLES = dict(re.findall(r"^```python (\w+)\n(.*?)^```$", README, re.S | re.M))


def readme(name: str, validator: Validator) -> dict[str, Any]:
    """The namespace after running the README's `name` example with `validator` in scope."""
    assert name in EXAMPLES, f"README.md has no ```python {name} example"
    module = ModuleType(f"readme_{name}")  # a real module: Litestar resolves annotations in it
    module.validator = validator  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    exec(compile(EXAMPLES[name], f"README.md ({name})", "exec"), module.__dict__)
    return module.__dict__


def apps(validator: Validator) -> dict[str, tuple[str, Any, str]]:
    """Every app for `validator`: name -> (kind, app, path prefix of /orders)."""
    from django.core.handlers.asgi import ASGIHandler
    from django.core.handlers.wsgi import WSGIHandler
    from django.urls import clear_url_caches, path

    built = {name: factory(validator) for name, factory in frameworks_app.APPS.items()}
    built["Starlette (README)"] = ("asgi", readme("starlette", validator)["starlette_app"], "")
    built["Litestar (README)"] = ("asgi", readme("litestar", validator)["litestar_app"], "")
    frameworks_app.URLCONF.urlpatterns += [
        path("readme-django/orders", readme("django", validator)["orders"]),
        path("readme-drf/orders", readme("drf", validator)["Orders"].as_view()),
    ]
    clear_url_caches()
    built["Django (README, async view)"] = ("asgi", ASGIHandler(), "/readme-django")
    built["Django REST framework (README)"] = ("wsgi", WSGIHandler(), "/readme-drf")
    return built


def test_every_framework_answers_the_demo_requests_alike(
    auth_server: Any, demo_requests: list[tuple[dict[str, Any], str | None]]
) -> None:
    good = Validator(**auth_server.config(leeway_secs=0, realm="orders"))
    down = Validator(**DOWN_CONFIG)
    sent = demo_requests
    table: dict[str, list[tuple[Any, ...]]] = {}
    rounds = [
        (good, [s for s in sent if s[0]["token"] != "down"]),
        (down, [s for s in sent if s[0]["token"] == "down"]),
    ]
    for v, rows in rounds:
        for name, (kind, app, prefix) in apps(v).items():
            port, stop = frameworks_app.serve(kind, app)
            try:
                for _, value in rows:
                    headers = {"Authorization": value} if value else {}
                    r = httpx.get(f"http://127.0.0.1:{port}{prefix}/orders", headers=headers, timeout=10)
                    h = r.headers
                    seen = (h.get("www-authenticate"), h.get("cache-control"), h.get("content-type"))
                    table.setdefault(name, []).append((r.status_code, *seen, r.json()))
            finally:
                stop()
    assert len(table) == 11
    first = table["FastAPI"]
    for name, answers in table.items():
        assert answers == first, (name, answers, first)
    for (request, _), (status, challenge, cache, ctype, body) in zip(sent, first, strict=True):
        assert status == request["status"], request
        assert ctype == "application/json"
        if status == 200:
            assert body == {"client": "svc-client"}
            continue
        assert body == {"error": request["code"]} and cache == "no-store", request
        if status >= 500:
            assert challenge is None
        else:
            assert challenge is not None and challenge.startswith('Bearer realm="orders"')
            assert (f'error="{request["error"]}"' in challenge) if request["error"] else ("error=" not in challenge)


def test_every_framework_hands_the_core_every_authorization_line(auth_server: Any) -> None:
    """Two ``Authorization`` lines are ``invalid_request`` everywhere: ASGI servers keep them
    apart, WSGI servers and Django join them, and the core refuses both shapes."""
    validator = Validator(**auth_server.config(realm="orders"))
    jwt = auth_server.token("jwt", "read write")
    for name, (kind, app, prefix) in apps(validator).items():
        port, stop = frameworks_app.serve(kind, app)
        url = f"http://127.0.0.1:{port}{prefix}/orders"
        try:
            assert httpx.get(url, headers={"Authorization": f"Bearer {jwt}"}).status_code == 200, name
            for lines in ([f"Bearer {jwt}", "Bearer other"], [f"Bearer {jwt}", f"Bearer {jwt}"]):
                r = httpx.get(url, headers=[("Authorization", line) for line in lines])
                assert (r.status_code, r.json()) == (400, {"error": "invalid_request"}), (name, r.text)
                assert 'error="invalid_request"' in r.headers["WWW-Authenticate"], name
                assert r.headers["Cache-Control"] == "no-store", name
        finally:
            stop()


#: Server nonces on (RFC 9449 §8): every app must send them, on refusals and on successes.
DPOP_CONFIG: dict[str, Any] = {
    "sender_constraint": "allow",
    "dpop": {"nonce_key": "every-framework-dpop-nonce-key-0123456789"},
}


def dpop_token(auth_server: Any, key: DpopKey) -> str:
    """A JWT from the real authorization server, bound to `key` (``cnf.jkt``): the token request
    carries a DPoP proof by it, as a client's would."""
    svc = auth_server.clients["svc"]
    endpoint = auth_server.ready["token_endpoint"]
    form = {"grant_type": "client_credentials", "scope": "read write", "resource": auth_server.resources["jwt"]}
    r = httpx.post(
        endpoint,
        data=form,
        headers={"DPoP": key.proof("POST", endpoint)},
        auth=(svc["client_id"], svc["client_secret"]),
    )
    assert r.status_code == 200 and r.json()["token_type"] == "DPoP", r.text
    return str(r.json()["access_token"])


def test_every_framework_accepts_a_dpop_bound_token_with_its_proof_and_nonce(auth_server: Any) -> None:
    """A DPoP-bound token from the real authorization server, on every app: a proof without a
    nonce is ``use_dpop_nonce`` with the nonce to use (``DPoP-Nonce``); the retry with it is
    accepted and the response carries the next nonce; the same proof again is a replay; the
    bound token as a bearer token is refused."""
    validator = Validator(**auth_server.config(realm="orders", **DPOP_CONFIG))
    key = DpopKey()
    token = dpop_token(auth_server, key)
    for name, (kind, app, prefix) in apps(validator).items():
        port, stop = frameworks_app.serve(kind, app)
        url = f"http://127.0.0.1:{port}{prefix}/orders"
        try:
            first = httpx.get(url, headers={"Authorization": f"DPoP {token}", "DPoP": key.proof("GET", url, token)})
            assert (first.status_code, first.json()) == (401, {"error": "use_dpop_nonce"}), (name, first.text)
            assert 'DPoP realm="orders", error="use_dpop_nonce"' in first.headers["WWW-Authenticate"], name
            assert first.headers["Cache-Control"] == "no-store", name
            nonce = first.headers["DPoP-Nonce"]
            headers = {"Authorization": f"DPoP {token}", "DPoP": key.proof("GET", url, token, nonce=nonce)}
            good = httpx.get(url, headers=headers)
            assert (good.status_code, good.json()) == (200, {"client": "svc-client"}), (name, good.text)
            assert good.headers.get("DPoP-Nonce"), name
            replay = httpx.get(url, headers=headers)
            assert (replay.status_code, replay.json()) == (401, {"error": "invalid_dpop_proof"}), (name, replay.text)
            assert 'DPoP realm="orders", error="invalid_dpop_proof"' in replay.headers["WWW-Authenticate"], name
            bearer = httpx.get(url, headers={"Authorization": f"Bearer {token}"})
            assert (bearer.status_code, bearer.json()) == (401, {"error": "invalid_token"}), (name, bearer.text)
        finally:
            stop()


def test_every_framework_hands_the_core_the_trusted_certificate_header(auth_server: Any) -> None:
    """A certificate-bound token (RFC 8705) from the real authorization server, with the
    certificate in the header the config trusts (RFC 9440): accepted by every app; without
    the header, or with another header name, refused."""
    import base64
    import urllib.parse

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    client = auth_server.clients["svc_mtls"]
    pem = Path(client["certificate_pem"]).read_text()
    form = {"grant_type": "client_credentials", "scope": "read write", "resource": auth_server.resources["jwt"]}
    issued = httpx.post(
        auth_server.ready["token_endpoint"],
        data=form,
        headers={client["certificate_header"]: urllib.parse.quote(pem, safe="")},
        auth=(client["client_id"], client["client_secret"]),
    )
    assert issued.status_code == 200, issued.text
    token = issued.json()["access_token"]
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
    certificate = f":{base64.b64encode(der).decode()}:"
    config = auth_server.config(sender_constraint="allow", client_certificate_header="Client-Cert")
    for name, (kind, app, prefix) in apps(Validator(**config)).items():
        port, stop = frameworks_app.serve(kind, app)
        url = f"http://127.0.0.1:{port}{prefix}/orders"
        try:
            good = httpx.get(url, headers={"Authorization": f"Bearer {token}", "client-cert": certificate})
            assert (good.status_code, good.json()) == (200, {"client": "svc-mtls-client"}), (name, good.text)
            for headers in ({}, {"x-client-cert": certificate}):
                refused = httpx.get(url, headers={"Authorization": f"Bearer {token}", **headers})
                assert (refused.status_code, refused.json()) == (401, {"error": "invalid_token"}), (name, headers)
        finally:
            stop()


def test_asgi_middleware_passes_lifespan_and_refuses_websockets_unless_asked() -> None:
    import asyncio

    from bearerguard.asgi import BearerMiddleware

    seen: list[str] = []

    async def inner(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    sent: list[Any] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {}

    middleware = BearerMiddleware(inner, validator=Validator(issuer="https://as.example", audience="api"))
    asyncio.run(middleware({"type": "lifespan"}, receive, send))
    asyncio.run(middleware({"type": "websocket", "headers": [], "path": "/ws"}, receive, send))
    assert seen == ["lifespan"] and sent == [{"type": "websocket.close", "code": 1008}]
