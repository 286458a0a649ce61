"""The shared tier (`cache.shared`) from Python: the same config as every language, a real
redis-server on 127.0.0.1 (tests/fleet/redis_server.py) and the test kit's authorization server,
which counts introspections. Two validators stand for two instances of one API."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bearerguard import ConfigurationError, InvalidTokenError, UnavailableError, Validator
from bearerguard.testing import AuthorizationServer

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "fleet"))
from redis_server import RedisServer

SECRET = "python-shared-tier-test-secret-0123456789"


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


def shared_config(server: AuthorizationServer, redis: RedisServer, **shared: Any) -> Any:
    tier = {"url": redis.url, "key_prefix": "py", "secrets": [{"id": "k1", "secret": SECRET}], **shared}
    return server.config(cache={"shared": tier})


def test_two_instances_share_a_verdict_and_forget_reaches_both(redis: RedisServer) -> None:
    with AuthorizationServer() as server:
        a, b = (Validator.from_config(shared_config(server, redis)) for _ in range(2))
        token = server.opaque_token(scope="read")
        assert a.validate(token).subject == b.validate(token).subject
        assert server.counts()["introspection"] == 1
        assert b.stats()["shared"]["hits"] == 1 and a.stats()["shared"]["misses"] == 1
        assert len(redis.keys("py:v:k1:*")) == 1
        server.revoke(token)
        a.forget(token)
        assert redis.keys("py:v:*") == []
        deadline = time.monotonic() + 1
        while True:
            try:
                b.validate(token)
            except InvalidTokenError:  # the refusal, once the announcement is applied
                break
            assert time.monotonic() < deadline, "b still accepts the token 1 s after a's forget"
            time.sleep(0.01)
        assert b.stats()["shared"]["forgets_received"] >= 1


def test_redis_down_is_a_miss_never_a_refusal_and_forget_says_so(redis: RedisServer) -> None:
    with AuthorizationServer() as server:
        v = Validator.from_config(shared_config(server, redis, timeout_ms=100))
        token = server.opaque_token()
        v.validate(token)
        redis.stop()
        for _ in range(5):
            assert v.validate(server.opaque_token()).subject == "test-user"
        shared = v.stats()["shared"]
        assert shared["errors"] >= 1 and shared["hits"] == 0
        # The other instances cannot be told: forget raises, having forgotten here.
        with pytest.raises(UnavailableError):
            v.forget(token)
        server.revoke(token)
        with pytest.raises(InvalidTokenError):
            v.validate(token)


def test_bad_shared_config_names_the_field_and_secrets_never_show(redis: RedisServer) -> None:
    with AuthorizationServer() as server:
        with pytest.raises(ConfigurationError) as info:
            Validator.from_config(shared_config(server, redis, secrets=[{"id": "k1", "secret": "short"}]))
        assert "cache.shared.secrets[].secret" in info.value.detail
        v = Validator.from_config(shared_config(server, redis, url="redis://:hunter2-pass@127.0.0.1:1/0"))
        assert "hunter2" not in repr(v) and SECRET not in repr(v)
