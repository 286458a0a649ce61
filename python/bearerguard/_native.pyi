# Hand-written stub of the Rust extension, checked against it by `python -m mypy.stubtest`.
from collections.abc import Awaitable, Generator, Iterable, Mapping, Sequence
from os import PathLike
from typing import Any, Literal, TypedDict, final, overload

from typing_extensions import Unpack

from bearerguard.config import IssuerResolver, ManyIssuersConfig, ValidatorConfig
from bearerguard.metrics import Health, MetricFamily, MetricsSnapshot

__all__ = [
    "RESOURCE_METADATA_CACHE_CONTROL",
    "DpopKey",
    "TokenInfo",
    "Validator",
    "_Ready",
    "_TestAuthorizationServer",
    "__version__",
    "cli_main",
    "config_fields",
    "error_class",
    "error_codes",
    "metric_families",
    "reset_log_cache",
    "test_hooks_enabled",
]

__version__: str
RESOURCE_METADATA_CACHE_CONTROL: str

def config_fields() -> list[str]:
    """Every key path the core's config accepts (`"cache.max_ttl_secs"`), aliases included."""

def error_codes() -> list[str]:
    """The core's error codes, one per error kind."""

def error_class(code: str) -> str:
    """The name of the `bearerguard.errors` class raised for the core's error `code`."""

def metric_families(*validators: Validator) -> list[MetricFamily]:
    """The Prometheus metric families of every validator given, merged by the core: each name
    once, with the samples of every issuer."""

def reset_log_cache() -> None:
    """Forgets the Python loggers and levels cached for the core's log records; call it after
    changing the level of a ``bearerguard`` logger."""

def test_hooks_enabled() -> bool:
    """Whether this build has the test-only entry points (cargo feature `test-hooks`)."""

class _SharedStats(TypedDict):
    hits: int
    misses: int
    errors: int
    rejected: int
    skipped: int
    waits: int
    forgets_received: int

class _Stats(TypedDict):
    introspection_requests: int
    jwks_fetches: int
    accepted: int
    refused: int
    unrouted: int
    shared: _SharedStats

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
    def roles(self) -> tuple[str, ...]: ...
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
    def dpop_nonce(self) -> str | None: ...
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

    @overload
    def __new__(
        cls, *, issuer_resolver: IssuerResolver | None = None, **config: Unpack[ValidatorConfig]
    ) -> Validator: ...
    @overload
    def __new__(
        cls, *, issuer_resolver: IssuerResolver | None = None, **config: Unpack[ManyIssuersConfig]
    ) -> Validator: ...
    @staticmethod
    def from_config(
        config: ValidatorConfig | ManyIssuersConfig, issuer_resolver: IssuerResolver | None = None
    ) -> Validator: ...
    @staticmethod
    def from_file(path: str | PathLike[str], issuer_resolver: IssuerResolver | None = None) -> Validator: ...
    def validate_request(
        self,
        authorization: Sequence[str],
        scopes: Iterable[str] | None = None,
        *,
        method: str | None = None,
        url: str | None = None,
        dpop: Sequence[str] | None = None,
        client_certificate: bytes | None = None,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        tenant: str | None = None,
    ) -> TokenInfo: ...
    def validate_request_async(
        self,
        authorization: Sequence[str],
        scopes: Iterable[str] | None = None,
        *,
        method: str | None = None,
        url: str | None = None,
        dpop: Sequence[str] | None = None,
        client_certificate: bytes | None = None,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        tenant: str | None = None,
    ) -> Awaitable[TokenInfo]: ...
    def validate(self, token: str, scopes: Iterable[str] | None = None) -> TokenInfo: ...
    def validate_header(self, authorization: str | None, scopes: Iterable[str] | None = None) -> TokenInfo: ...
    def validate_async(self, token: str, scopes: Iterable[str] | None = None) -> Awaitable[TokenInfo]: ...
    def validate_header_async(
        self, authorization: str | None, scopes: Iterable[str] | None = None
    ) -> Awaitable[TokenInfo]: ...
    def stats(self) -> _Stats: ...
    def stats_by_issuer(self) -> dict[str, _Stats]:
        """Each issuer's counters, keyed by issuer: the configured ones in order, then those the
        resolver added (still kept)."""
    def resolver_entries(self) -> tuple[int, int]:
        """With ``issuer_resolver``: (approved issuers kept, declined issuers remembered)."""
    def metrics(self) -> MetricsSnapshot:
        """What this validator counted: decisions, calls to the authorization server, the JWKS."""
    def health(self) -> Health:
        """Whether the issuer looks able to decide now, and when the authorization server last answered."""
    @property
    def issuer(self) -> str:
        """The configured issuer."""
    @property
    def resource(self) -> str | None:
        """The configured canonical URI of this API (RFC 8707), or ``None``."""
    @property
    def resource_metadata_json(self) -> str | None:
        """The RFC 9728 protected resource metadata document, serialized, when ``resource`` is set."""
    @property
    def resource_metadata_url(self) -> str | None:
        """Where the metadata document lives (the well-known path inserted), when ``resource`` is set."""
    @property
    def resource_metadata_path(self) -> str | None:
        """The path part of ``resource_metadata_url``: where an adapter serves the document."""
    @property
    def required_scopes(self) -> list[str]:
        """The configured ``required_scopes``."""
    @property
    def client_certificate_header(self) -> str | None:
        """The trusted proxy's client-certificate header (``client_certificate_header``), lower-cased."""
    def forget(self, token: str) -> None:
        """Forgets what this validator remembers about ``token`` (a cached introspection verdict,
        a remembered JWT), so that its next use is decided afresh: an opaque token by asking the
        authorization server again. For apps told of a revocation or logout; a JWT verified again
        stays valid until ``exp`` unless it is introspected (``introspect_all``).

        With a shared tier (``cache.shared``) the token is dropped there and by every instance;
        raises ``UnavailableError`` when the shared tier could not be told (this instance has
        forgotten, the others may not have: call again).
        """

# The test kit (bearerguard.testing wraps it).
@final
class _TestAuthorizationServer:
    """An in-process authorization server on 127.0.0.1 for tests."""

    def __new__(cls, options: dict[str, Any] | None = None) -> _TestAuthorizationServer: ...
    @property
    def issuer(self) -> str: ...
    @property
    def audience(self) -> str: ...
    @property
    def client_id(self) -> str: ...
    @property
    def client_secret(self) -> str: ...
    @property
    def closed(self) -> bool: ...
    def config(self) -> dict[str, Any]: ...
    def metadata(self) -> dict[str, Any]: ...
    def jwks(self) -> dict[str, Any]: ...
    def jwt(self, options: dict[str, Any] | None = None) -> str: ...
    def opaque(self, options: dict[str, Any] | None = None) -> str: ...
    def revoke(self, token: str) -> bool: ...
    def counts(self) -> dict[str, int]: ...
    def close(self) -> None: ...

@final
class DpopKey:
    """A client's DPoP key for tests (ES256): it signs proofs; `thumbprint` is what a bound
    token's ``cnf.jkt`` names. Its repr shows the thumbprint only."""

    def __new__(cls) -> DpopKey: ...
    @staticmethod
    def generate() -> DpopKey: ...
    @property
    def thumbprint(self) -> str:
        """The RFC 7638 thumbprint of the public key (``cnf.jkt``)."""
    def public_jwk(self) -> dict[str, str]:
        """The public JWK the proofs carry."""
    def proof(
        self,
        method: str,
        url: str,
        access_token: str | None = None,
        *,
        nonce: str | None = None,
        iat: int | None = None,
        jti: str | None = None,
    ) -> str:
        """A proof for `method` and `url`, bound to `access_token` (``ath``) when given,
        carrying the server's `nonce` when given; `iat` defaults to now, `jti` to a random one."""

def cli_main(argv: list[str]) -> int:
    """Runs the ``bearerguard`` command line (program name first); returns its exit status."""
