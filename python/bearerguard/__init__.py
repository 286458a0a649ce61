"""Decide whether an OAuth 2.0 bearer token is good: local JWT validation against the
issuer's JWKS, or RFC 7662 introspection for opaque tokens.

>>> validator = Validator(issuer="https://auth.example.com", audience="https://api.example.com",
...                       client_id="my-api", client_secret="s3cret")   # doctest: +SKIP
>>> info = validator.validate(token, ["read"])                           # doctest: +SKIP
>>> info = validator.validate_request(request.headers.getlist("authorization"), ["read"])  # doctest: +SKIP
"""

from bearerguard._native import TokenInfo, Validator, __version__
from bearerguard.config import ValidatorConfig
from bearerguard.errors import (
    BearerGuardError,
    ConfigurationError,
    InsufficientScopeError,
    InvalidRequestError,
    InvalidTokenError,
    MissingTokenError,
    TokenExpiredError,
    UnavailableError,
)

__all__ = [
    "BearerGuardError",
    "ConfigurationError",
    "InsufficientScopeError",
    "InvalidRequestError",
    "InvalidTokenError",
    "MissingTokenError",
    "TokenExpiredError",
    "TokenInfo",
    "UnavailableError",
    "Validator",
    "ValidatorConfig",
    "__version__",
]
