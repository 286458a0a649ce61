"""Decide whether an OAuth 2.0 bearer token is good: local JWT validation against the
issuer's JWKS, or RFC 7662 introspection for opaque tokens.

>>> validator = Validator(issuer="https://auth.example.com", audience="https://api.example.com",
...                       client_id="my-api", client_secret="s3cret")   # doctest: +SKIP
>>> info = validator.validate(token, ["read"])                           # doctest: +SKIP
>>> info = validator.validate_request(request.headers.getlist("authorization"), ["read"])  # doctest: +SKIP

`validator.metrics()`, `validator.health()` and `metric_families(*validators)` report what was
counted (`bearerguard.prometheus` serves it to prometheus_client). The core's log events reach
the `bearerguard.*` loggers of `logging`; after changing their level, call `reset_log_cache()`.
"""

from bearerguard._native import TokenInfo, Validator, __version__, metric_families, reset_log_cache
from bearerguard.config import ValidatorConfig
from bearerguard.errors import (
    BearerGuardError,
    ConfigurationError,
    InsufficientScopeError,
    InvalidDpopProofError,
    InvalidRequestError,
    InvalidTokenError,
    MissingTokenError,
    TokenExpiredError,
    UnavailableError,
    UseDpopNonceError,
)

__all__ = [
    "BearerGuardError",
    "ConfigurationError",
    "InsufficientScopeError",
    "InvalidDpopProofError",
    "InvalidRequestError",
    "InvalidTokenError",
    "MissingTokenError",
    "TokenExpiredError",
    "TokenInfo",
    "UnavailableError",
    "UseDpopNonceError",
    "Validator",
    "ValidatorConfig",
    "__version__",
    "metric_families",
    "reset_log_cache",
]
