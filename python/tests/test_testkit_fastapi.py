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


def test_accepts_a_jwt_with_the_scope(bearerguard_server: AuthorizationServer, client: TestClient) -> None:
    token = bearerguard_server.token(subject="alice", scope="read write")
    assert get_orders(client, token) == (200, {"subject": "alice", "scopes": ["read", "write"], "source": "jwt"})
    assert bearerguard_server.counts()["introspection"] == 0  # JWTs are checked locally


def test_accepts_an_opaque_token_with_the_scope(bearerguard_server: AuthorizationServer, client: TestClient) -> None:
    token = bearerguard_server.opaque_token(subject="bob", scope="write")
    assert get_orders(client, token) == (200, {"subject": "bob", "scopes": ["write"], "source": "introspection"})


def test_refuses_an_expired_token(bearerguard_server: AuthorizationServer, client: TestClient) -> None:
    assert get_orders(client, bearerguard_server.expired_token(scope="write")) == (401, {"error": "token_expired"})


def test_refuses_a_token_without_the_scope(bearerguard_server: AuthorizationServer, client: TestClient) -> None:
    token = bearerguard_server.token(scope="read")
    assert get_orders(client, token) == (403, {"error": "insufficient_scope"})


def test_refuses_a_revoked_token(bearerguard_server: AuthorizationServer, client: TestClient) -> None:
    token = bearerguard_server.opaque_token(scope="write")
    bearerguard_server.revoke(token)
    assert get_orders(client, token) == (401, {"error": "invalid_token"})


def test_refuses_a_token_for_another_api(bearerguard_server: AuthorizationServer, client: TestClient) -> None:
    token = bearerguard_server.token(scope="write", audience="https://other-api.example.test")
    assert get_orders(client, token) == (401, {"error": "invalid_token"})
