"""Interop with the real authorization server (panva/oidc-provider), each on both paths."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from bearerguard import (
    BearerGuardError,
    ConfigurationError,
    InsufficientScopeError,
    InvalidTokenError,
    TokenExpiredError,
    TokenInfo,
    Validator,
)
from conftest import NO_SHARED, example_app


def run(v: Validator, token: str, scopes: Any, asynchronous: bool) -> TokenInfo:
    if not asynchronous:
        return v.validate(token, scopes)

    async def go() -> TokenInfo:
        return await v.validate_async(token, scopes)

    return asyncio.run(go())


paths = pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])


@paths
def test_opaque_with_client_secret_basic(auth_server: Any, asynchronous: bool) -> None:
    v = Validator(**auth_server.config("rs_basic"))
    info = run(v, auth_server.token("opaque", "read write"), ["write"], asynchronous)
    assert info.source == "introspection"
    assert info.claims["client_id"] == "svc-client" and info.scopes == ("read", "write")


@paths
def test_opaque_with_private_key_jwt_from_a_zitadel_key_file(auth_server: Any, asynchronous: bool) -> None:
    pk = auth_server.clients["rs_pkjwt"]
    v = Validator(issuer=auth_server.issuer, audience=auth_server.resources["opaque"], key_file=pk["key_file"])
    for _ in range(2):  # two introspections: each assertion has a fresh jti
        info = run(v, auth_server.token("opaque", "read"), ["read"], asynchronous)
        assert info.claims["active"] is True
    assert v.stats()["introspection_requests"] == 2


@paths
@pytest.mark.parametrize("resource", ["jwt", "jwt_es256", "jwt_eddsa"])
def test_jwt_access_tokens_validate_locally(auth_server: Any, resource: str, asynchronous: bool) -> None:
    v = Validator(**auth_server.config())
    info = run(v, auth_server.token(resource, "read"), ["read"], asynchronous)
    assert info.source == "jwt" and info.audiences == (auth_server.resources[resource],)
    assert v.stats() == {
        "introspection_requests": 0,
        "jwks_fetches": 1,
        "accepted": 1,
        "refused": 0,
        "unrouted": 0,
        "shared": NO_SHARED,
    }


@paths
def test_revoked_token_is_invalid(auth_server: Any, asynchronous: bool) -> None:
    v = Validator(**auth_server.config(cache={"enabled": False}))
    token = auth_server.token("opaque", "read")
    assert run(v, token, [], asynchronous).source == "introspection"
    auth_server.revoke(token)
    with pytest.raises(InvalidTokenError) as info:
        run(v, token, [], asynchronous)
    assert type(info.value) is InvalidTokenError


@paths
def test_expired_jwt_is_token_expired(auth_server: Any, expired_jwt: str, asynchronous: bool) -> None:
    v = Validator(**auth_server.config(leeway_secs=0))
    with pytest.raises(TokenExpiredError) as info:
        run(v, expired_jwt, [], asynchronous)
    assert info.value.status_code == 401


@paths
def test_wrong_client_secret_is_configuration_never_invalid_token(auth_server: Any, asynchronous: bool) -> None:
    v = Validator(**auth_server.config(client_secret="wrong-secret"))
    with pytest.raises(BearerGuardError) as info:
        run(v, auth_server.token("opaque", "read"), [], asynchronous)
    assert type(info.value) is ConfigurationError and info.value.status_code == 500
    assert "wrong-secret" not in str(info.value)


@paths
def test_missing_scope_is_insufficient_scope(auth_server: Any, asynchronous: bool) -> None:
    v = Validator(**auth_server.config())
    for resource in ("opaque", "jwt"):
        with pytest.raises(InsufficientScopeError) as info:
            run(v, auth_server.token(resource, "read"), ["read", "admin"], asynchronous)
        assert info.value.status_code == 403 and 'scope="read admin"' in str(info.value.www_authenticate)


@paths
def test_special_character_client(auth_server: Any, asynchronous: bool) -> None:
    v = Validator(**auth_server.config("rs_special"))
    assert auth_server.clients["rs_special"]["client_id"] == "rs special@client:%+/"
    assert run(v, auth_server.token("opaque", "read"), ["read"], asynchronous).claims["active"] is True


@paths
def test_signed_introspection_response(auth_server: Any, asynchronous: bool) -> None:
    v = Validator(**auth_server.config("rs_basic", introspection_response="jwt"))
    info = run(v, auth_server.token("opaque", "read"), ["read"], asynchronous)
    assert info.source == "introspection" and info.claims["client_id"] == "svc-client"
    assert v.stats()["introspection_requests"] == 1 and v.stats()["jwks_fetches"] >= 1


def test_the_example_apps_revocation_hook_against_the_real_server(auth_server: Any, tmp_path: Any) -> None:
    """python/examples/fastapi_app.py run as the fleet tests run it: with
    BEARERGUARD_REVOCATION_HOOK_SECRET set, POST /revocations (RFC 7009's form, the secret in
    X-Hook-Secret) makes it forget a revoked token's cached verdict, so the next request asks
    the server again and is refused; the token never reaches its output."""
    secret = "fleet-hook-secret-0123456789abcdef"
    counters_url = auth_server.ready["counters_url"]
    token = auth_server.token("opaque", "read write")
    log = tmp_path / "app.stderr"
    with (
        log.open("w") as stderr,
        example_app(
            auth_server.config(realm="orders"), env={"BEARERGUARD_REVOCATION_HOOK_SECRET": secret}, stderr=stderr
        ) as base,
    ):

        def orders() -> int:
            return httpx.get(f"{base}/orders", headers={"Authorization": f"Bearer {token}"}, timeout=10).status_code

        def hook(form: dict[str, str], headers: dict[str, str]) -> int:
            return httpx.post(f"{base}/revocations", data=form, headers=headers, timeout=10).status_code

        assert orders() == 200
        auth_server.revoke(token)
        assert orders() == 200  # the cached verdict
        before = httpx.get(counters_url).json()["introspection"]
        assert hook({"token": token}, {}) == 403
        assert hook({"token": token}, {"X-Hook-Secret": secret[:-1]}) == 403
        assert hook({}, {"X-Hook-Secret": secret}) == 400
        assert orders() == 200  # nothing forgotten yet
        assert hook({"token": token, "token_type_hint": "access_token"}, {"X-Hook-Secret": secret}) == 204
        assert orders() == 401
        assert httpx.get(counters_url).json()["introspection"] == before + 1
    assert token not in log.read_text()

    # Without the variable the route does not exist.
    with example_app(auth_server.config()) as base:
        assert (
            httpx.post(f"{base}/revocations", data={"token": token}, headers={"X-Hook-Secret": secret}).status_code
            == 404
        )
