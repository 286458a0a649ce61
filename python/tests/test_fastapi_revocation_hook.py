"""The FastAPI example's revocation hook (POST /revocations, which calls `forget`); the README's
own test of the example is test_testkit_fastapi.py."""

import pytest
from fastapi.testclient import TestClient
from fastapi_app import create_app  # python/examples/fastapi_app.py

from bearerguard.testing import AuthorizationServer


@pytest.fixture
def client(bearerguard_server: AuthorizationServer) -> TestClient:
    return TestClient(create_app(bearerguard_server.config()))


def get_orders(client: TestClient, token: str) -> tuple[int, dict[str, object]]:
    response = client.get("/orders", headers={"Authorization": f"Bearer {token}"})
    return response.status_code, response.json()


HOOK_SECRET = "hook-secret-for-the-tests-0123456789"


@pytest.fixture
def hooked(bearerguard_server: AuthorizationServer) -> TestClient:
    return TestClient(create_app(bearerguard_server.config(), revocation_hook_secret=HOOK_SECRET))


def revoke_via_hook(client: TestClient, form: dict[str, str] | None, secret: str | None = HOOK_SECRET) -> int:
    headers = {"X-Hook-Secret": secret} if secret is not None else {}
    return client.post("/revocations", data=form, headers=headers).status_code


def test_the_revocation_hook_forgets_a_cached_verdict(
    bearerguard_server: AuthorizationServer, hooked: TestClient
) -> None:
    token = bearerguard_server.opaque_token(subject="carol", scope="write")
    assert get_orders(hooked, token)[0] == 200
    bearerguard_server.revoke(token)
    # The verdict is cached: the revocation is not seen yet.
    assert get_orders(hooked, token)[0] == 200
    assert bearerguard_server.counts()["introspection"] == 1
    assert revoke_via_hook(hooked, {"token": token}) == 204
    assert get_orders(hooked, token) == (401, {"error": "invalid_token"})
    assert bearerguard_server.counts()["introspection"] == 2


def test_the_revocation_hook_refuses_without_the_secret_or_the_token(
    bearerguard_server: AuthorizationServer, hooked: TestClient
) -> None:
    token = bearerguard_server.opaque_token(scope="write")
    assert get_orders(hooked, token)[0] == 200
    bearerguard_server.revoke(token)
    for secret in (None, "", "wrong", HOOK_SECRET[:-1], HOOK_SECRET + "x", HOOK_SECRET.upper()):
        assert revoke_via_hook(hooked, {"token": token}, secret) == 403, secret
    assert revoke_via_hook(hooked, None) == 400
    assert revoke_via_hook(hooked, {"token": ""}) == 400
    assert revoke_via_hook(hooked, {"token_type_hint": "access_token"}) == 400
    # Nothing was forgotten: the cached verdict still answers.
    assert get_orders(hooked, token)[0] == 200
    assert bearerguard_server.counts()["introspection"] == 1


def test_without_a_secret_there_is_no_revocation_hook(
    bearerguard_server: AuthorizationServer, client: TestClient
) -> None:
    token = bearerguard_server.opaque_token(scope="write")
    assert revoke_via_hook(client, {"token": token}) == 404
    with pytest.raises(ValueError, match="empty"):
        create_app(bearerguard_server.config(), revocation_hook_secret="")
