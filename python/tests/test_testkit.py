"""The test kit (bearerguard.testing) from Python, against its own contract over real HTTP on
127.0.0.1; and the README's "Test your protected routes" blocks are the test files run here."""

import re
from importlib.metadata import entry_points
from pathlib import Path

import httpx
import pytest

from bearerguard import Validator
from bearerguard._native import _TestAuthorizationServer
from bearerguard.errors import ConfigurationError, InvalidDpopProofError, InvalidTokenError, TokenExpiredError
from bearerguard.testing import AuthorizationServer, DpopKey

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"


def test_serves_discovery_jwks_and_guards_introspection() -> None:
    with AuthorizationServer(audience="https://orders.example.test") as server:
        assert server.issuer.startswith("http://127.0.0.1:")
        doc = httpx.get(server.issuer + "/.well-known/openid-configuration").json()
        assert doc == server.metadata() and doc["issuer"] == server.issuer
        assert doc["introspection_endpoint"] == server.issuer + "/introspect"
        assert httpx.get(doc["jwks_uri"]).json() == server.jwks()
        token = server.opaque_token(scope="read")
        url = doc["introspection_endpoint"]
        assert httpx.post(url, data={"token": token}).status_code == 401
        assert httpx.post(url, data={"token": token}, auth=(server.client_id, "wrong")).status_code == 401
        answer = httpx.post(url, data={"token": token}, auth=(server.client_id, server.client_secret)).json()
        assert (answer["active"], answer["scope"], answer["aud"]) == (True, "read", "https://orders.example.test")
        assert server.counts() == {"discovery": 1, "jwks": 1, "introspection": 3, "revocation": 0}


def test_a_validator_from_its_config() -> None:
    with AuthorizationServer() as server:
        validator = Validator.from_config(server.config())
        assert validator.validate(server.token(subject="alice", algorithm="ES256")).subject == "alice"
        with pytest.raises(TokenExpiredError):
            validator.validate(server.expired_token())
        revoked = server.opaque_token()
        assert server.revoke(revoked) and not server.revoke("never-minted")
        with pytest.raises(InvalidTokenError):
            validator.validate(revoked)
        # Under introspect_all a revoked JWT is refused too (under auto it is checked locally).
        jwt = server.token()
        server.revoke(jwt)
        assert Validator.from_config(server.config()).validate(jwt).source == "jwt"
        with pytest.raises(InvalidTokenError):
            Validator.from_config(server.config(strategy="introspect_all")).validate(jwt)


def test_forget_makes_a_revoked_opaque_token_ask_the_server_again() -> None:
    with AuthorizationServer() as server:
        validator = Validator.from_config(server.config())
        token = server.opaque_token(subject="carol")
        assert validator.validate(token).subject == "carol"
        server.revoke(token)
        assert validator.validate(token).subject == "carol", "the cached verdict"
        assert server.counts()["introspection"] == 1
        validator.forget(token)
        with pytest.raises(InvalidTokenError):
            validator.validate(token)
        assert server.counts()["introspection"] == 2
        validator.forget("never-seen")
        with pytest.raises(TypeError):
            validator.forget(None)  # type: ignore[arg-type]


def test_claims_and_bad_options() -> None:
    with AuthorizationServer() as server:
        validator = Validator.from_config(server.config())
        info = validator.validate(server.token(scope=["a", "b"], claims={"tenant": "t1"}))
        assert (info.scopes, info.claims["tenant"]) == (("a", "b"), "t1")
        with pytest.raises(ConfigurationError):
            server.token(algorithm="HS256")
        with pytest.raises(ConfigurationError):
            server._native.jwt({"scopes": "read"})
        with pytest.raises(ConfigurationError):
            _TestAuthorizationServer({"audiences": "x"})


def test_no_secret_in_repr_and_close_stops_it() -> None:
    server = AuthorizationServer()
    secret = server.client_secret
    assert len(secret) >= 20 and server.config()["client_auth"]["client_secret"] == secret  # type: ignore[typeddict-item]
    assert secret not in repr(server) + repr(server._native)
    url = server.issuer + "/jwks"
    assert httpx.get(url).status_code == 200
    server.close()
    server.close()
    assert server.closed
    with pytest.raises(httpx.ConnectError):
        httpx.get(url)


def test_the_pytest_plugin_is_registered(bearerguard_server: AuthorizationServer) -> None:
    plugins = {e.name: e.value for e in entry_points(group="pytest11")}
    assert plugins.get("bearerguard") == "bearerguard.pytest_plugin"
    assert isinstance(bearerguard_server, AuthorizationServer) and not bearerguard_server.closed


def test_readme_shows_the_test_files_that_run() -> None:
    shown = dict(re.findall(r"^```python (tests/test_testkit_\w+\.py)\n(.*?)^```$", README.read_text(), re.S | re.M))
    assert sorted(shown) == ["tests/test_testkit_fastapi.py", "tests/test_testkit_flask.py"]
    for path, code in shown.items():
        assert code == (HERE.parent / path).read_text(), f"python/README.md's {path} differs from the file"


def test_a_dpop_key_makes_proofs_the_validator_accepts_once_and_hides_its_private_key() -> None:
    key = DpopKey()
    jwk = key.public_jwk()
    assert set(jwk) == {"kty", "crv", "x", "y"} and "d" not in jwk  # public members only
    assert repr(key) == f"DpopKey(thumbprint={key.thumbprint!r})"
    assert DpopKey.generate().thumbprint != key.thumbprint
    url = "https://api.example.test/orders"
    with AuthorizationServer() as server:
        validator = Validator.from_config(server.config(sender_constraint="allow"))
        token = server.token(dpop_jkt=key.thumbprint)
        proof = key.proof("GET", url + "?page=2", token)  # htu drops the query
        assert validator.validate_request([f"DPoP {token}"], method="GET", url=url, dpop=[proof]).subject == "test-user"
        with pytest.raises(InvalidDpopProofError):  # a replay
            validator.validate_request([f"DPoP {token}"], method="GET", url=url, dpop=[proof])
        with pytest.raises(InvalidDpopProofError):  # far too old
            validator.validate_request(
                [f"DPoP {token}"], method="GET", url=url, dpop=[key.proof("GET", url, token, iat=1_000_000_000)]
            )
        with pytest.raises(InvalidTokenError):  # another key's proof
            validator.validate_request(
                [f"DPoP {token}"], method="GET", url=url, dpop=[DpopKey().proof("GET", url, token)]
            )
