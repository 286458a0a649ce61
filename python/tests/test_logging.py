"""The core's tracing events reach Python's `logging` (pyo3-log), on loggers named after the
Rust targets (`bearerguard.jwks`, `bearerguard.validator`, …), and no record ever holds a
token or the client secret."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from bearerguard import InvalidTokenError, TokenExpiredError, UnavailableError, Validator, reset_log_cache


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def named(self, logger: str, level: int, message: str) -> list[logging.LogRecord]:
        return [r for r in self.records if r.name == logger and r.levelno == level and message in r.getMessage()]


@pytest.fixture
def records() -> Iterator[Records]:
    """A handler on the `bearerguard` logger at debug level (the level cache reset, since
    other tests logged before)."""
    logger = logging.getLogger("bearerguard")
    handler, level = Records(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    reset_log_cache()
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        reset_log_cache()


def holds(record: logging.LogRecord, secret: str) -> bool:
    """Whether `secret` is anywhere in the record: message, arguments or any attribute."""
    return secret in record.getMessage() or secret in repr(record.args) or secret in repr(vars(record))


def test_a_jwks_fetch_failure_and_refusals_are_logged_without_the_token(
    auth_server: Any, expired_jwt: str, records: Records
) -> None:
    config = auth_server.config(jwks_uri="http://127.0.0.1:9/jwks", http={"connect_timeout_ms": 200, "retry": False})
    validator = Validator(**config)
    jwt = auth_server.token("jwt", "read write")
    with pytest.raises(UnavailableError):
        validator.validate(jwt)
    (warning,) = records.named("bearerguard.jwks", logging.WARNING, "JWKS fetch failed")
    assert "http://127.0.0.1:9/jwks" in warning.getMessage()

    with pytest.raises(InvalidTokenError):
        validator.validate("not-a-real-token")
    with pytest.raises(TokenExpiredError):
        Validator(**auth_server.config(leeway_secs=0)).validate(expired_jwt)
    refused = records.named("bearerguard.validator", logging.DEBUG, "request refused")
    assert len(refused) == 3
    for code in ("unavailable", "invalid_token", "token_expired"):
        assert any(f'code="{code}"' in r.getMessage() for r in refused), code

    secrets = [jwt, expired_jwt, "not-a-real-token", config["client_secret"], *jwt.split("."), *expired_jwt.split(".")]
    assert len(records.records) >= 4
    for record in records.records:
        for secret in secrets:
            assert not holds(record, secret), (record.name, record.getMessage())


def test_an_accepted_token_logs_nothing(auth_server: Any, records: Records) -> None:
    validator = Validator(**auth_server.config())
    jwt, opaque = auth_server.token("jwt", "read"), auth_server.token("opaque", "read")
    validator.validate(jwt)
    validator.validate(opaque)
    records.records.clear()
    for _ in range(3):
        validator.validate(jwt)
        validator.validate(opaque)
    assert records.records == []


def test_a_level_change_is_seen_after_reset_log_cache(records: Records) -> None:
    """pyo3-log caches each logger's level on first use: a change is seen once the cache is
    reset (bearerguard.reset_log_cache)."""
    validator = Validator(issuer="http://127.0.0.1:9", audience="api", http={"connect_timeout_ms": 200, "retry": False})
    logger = logging.getLogger("bearerguard")
    logger.setLevel(logging.WARNING)
    reset_log_cache()
    with pytest.raises(UnavailableError):
        validator.validate("not-a-real-token")
    assert records.named("bearerguard.validator", logging.DEBUG, "request refused") == []
    logger.setLevel(logging.DEBUG)
    with pytest.raises(UnavailableError):
        validator.validate("not-a-real-token")
    assert records.named("bearerguard.validator", logging.DEBUG, "request refused") == [], "still cached"
    reset_log_cache()
    with pytest.raises(UnavailableError):
        validator.validate("not-a-real-token")
    assert len(records.named("bearerguard.validator", logging.DEBUG, "request refused")) == 1
