# Hand-written stub of the Rust extension, checked against it by `python -m mypy.stubtest`.
from collections.abc import Awaitable, Generator, Iterable, Mapping, Sequence
from os import PathLike
from typing import Any, Literal, TypedDict, final

__all__ = ["TokenInfo", "Validator", "_Ready", "__version__"]

__version__: str

class _CacheConfig(TypedDict, total=False):
    enabled: bool
    max_entries: int
    max_ttl_secs: int
    negative_ttl_secs: int

class _HttpConfig(TypedDict, total=False):
    connect_timeout_ms: int
    timeout_ms: int
    allow_insecure_http: bool
    max_response_bytes: int
    max_concurrent_requests: int
    retry: bool

class _JwksConfig(TypedDict, total=False):
    default_ttl_secs: int
    min_ttl_secs: int
    max_ttl_secs: int
    refresh_cooldown_secs: int
    stale_secs: int
    max_bytes: int

class _Stats(TypedDict):
    introspection_requests: int
    jwks_fetches: int

@final
class TokenInfo:
    """What a validated token says. Holds no token."""

    @property
    def subject(self) -> str | None: ...
    @property
    def client_id(self) -> str | None: ...
    @property
    def username(self) -> str | None: ...
    @property
    def scopes(self) -> tuple[str, ...]: ...
    @property
    def audiences(self) -> tuple[str, ...]: ...
    @property
    def issuer(self) -> str | None: ...
    @property
    def expires_at(self) -> int | None: ...
    @property
    def issued_at(self) -> int | None: ...
    @property
    def not_before(self) -> int | None: ...
    @property
    def jti(self) -> str | None: ...
    @property
    def token_type(self) -> str | None: ...
    @property
    def source(self) -> Literal["jwt", "introspection"]: ...
    @property
    def claims(self) -> dict[str, Any]: ...
    def has_scopes(self, scopes: Sequence[str]) -> bool: ...

@final
class _Ready:
    """What `validate_async` returns when the answer needed no waiting: already finished."""

    def __await__(self) -> Generator[Any, None, TokenInfo]: ...
    def __iter__(self) -> _Ready: ...
    def __next__(self) -> None: ...

@final
class Validator:
    """Validates bearer tokens for one issuer; share one per application."""

    def __new__(
        cls,
        *,
        issuer: str,
        audience: str | Sequence[str],
        strategy: Literal["auto", "jwt", "introspection", "introspect_all"] = ...,
        discovery: bool = ...,
        introspection_endpoint: str | None = ...,
        jwks_uri: str | None = ...,
        token_endpoint: str | None = ...,
        client_id: str | None = ...,
        client_secret: str | None = ...,
        client_auth: Literal[
            "client_secret_basic", "client_secret_post", "private_key_jwt", "client_secret_jwt", "bearer", "none"
        ]
        | None = ...,
        key_file: str | PathLike[str] | None = ...,
        key_json: str | None = ...,
        private_key: str | None = ...,
        private_key_id: str | None = ...,
        assertion_alg: str | None = ...,
        assertion_audience: str | None = ...,
        assertion_lifetime_secs: int = ...,
        introspection_bearer_token: str | None = ...,
        introspection_response: Literal["json", "jwt"] = ...,
        algorithms: Sequence[str] = ...,
        leeway_secs: int = ...,
        max_token_lifetime_secs: int | None = ...,
        max_token_bytes: int = ...,
        rfc9068_strict: bool = ...,
        scope_claim: Literal["auto", "scope", "scp"] = ...,
        required_scopes: Sequence[str] = ...,
        realm: str | None = ...,
        cache: _CacheConfig = ...,
        http: _HttpConfig = ...,
        jwks: _JwksConfig = ...,
    ) -> Validator: ...
    @staticmethod
    def from_config(config: Mapping[str, Any]) -> Validator: ...
    @staticmethod
    def from_file(path: str | PathLike[str]) -> Validator: ...
    def validate(self, token: str, scopes: Iterable[str] | None = None) -> TokenInfo: ...
    def validate_header(self, authorization: str | None, scopes: Iterable[str] | None = None) -> TokenInfo: ...
    def validate_async(self, token: str, scopes: Iterable[str] | None = None) -> Awaitable[TokenInfo]: ...
    def validate_header_async(
        self, authorization: str | None, scopes: Iterable[str] | None = None
    ) -> Awaitable[TokenInfo]: ...
    def stats(self) -> _Stats: ...
