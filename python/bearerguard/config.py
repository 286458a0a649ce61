"""The validator config as typed dicts: what `Validator(**config)` and `Validator.from_config`
accept, key for key the core's `bearerguard::Config` (defaults are documented there).

`test_config_typed_dict_matches_the_core` checks these keys, nested ones included, against
`bearerguard._native.config_fields()` (the core's `Config::field_paths()`), so a field added to
or removed from the core fails a test instead of drifting.

    config: ValidatorConfig = {
        "issuer": "https://auth.example.com",
        "audience": "https://api.example.com",
        "client_auth": {"method": "client_secret_basic", "client_id": "my-api", "client_secret": "..."},
        "cache": {"max_ttl_secs": 120},
    }
    validator = Validator(**config)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from os import PathLike
from typing import Any, Literal, TypedDict

__all__ = [
    "CacheConfig",
    "ClientAuthConfig",
    "ClientAuthMethod",
    "DpopConfig",
    "HttpConfig",
    "IntrospectionConfig",
    "IssuerResolver",
    "JwksConfig",
    "ManyIssuersConfig",
    "ResolverConfig",
    "SharedCacheConfig",
    "SharedSecret",
    "ValidatorConfig",
]

ClientAuthMethod = Literal[
    "client_secret_basic", "client_secret_post", "private_key_jwt", "client_secret_jwt", "bearer", "none"
]


class ClientAuthConfig(TypedDict, total=False):
    """How bearerguard authenticates itself to the introspection endpoint."""

    method: ClientAuthMethod | None
    client_id: str | None
    client_secret: str | None
    key_file: str | PathLike[str] | None
    key_json: str | None
    private_key: str | None
    private_key_id: str | None
    assertion_alg: str | None
    assertion_audience: str | None
    assertion_lifetime_secs: int
    bearer_token: str | None


class IntrospectionConfig(TypedDict, total=False):
    """How introspection answers are judged."""

    require_exp: bool
    signed_response_max_age_secs: int
    max_new_tokens_per_sec: int
    require_aud: bool | None


class SharedSecret(TypedDict):
    """One key of the shared tier: ``id`` (named in every entry) and ``secret`` (>= 32 bytes)."""

    id: str
    secret: str


class SharedCacheConfig(TypedDict, total=False):
    """The second tier every instance shares (Redis or Valkey); see docs/security.md SCACHE."""

    url: str
    key_prefix: str
    secrets: list[SharedSecret]
    timeout_ms: int
    connect_timeout_ms: int
    plaintext: bool
    lock_ms: int
    poll_ms: int
    breaker_failures: int
    breaker_open_ms: int
    replay: bool
    tls_ca_file: str | None


class CacheConfig(TypedDict, total=False):
    """The verdict caches: introspection answers and verified JWTs."""

    enabled: bool
    max_entries: int
    jwt_max_entries: int
    max_ttl_secs: int
    negative_ttl_secs: int
    shared: SharedCacheConfig | None


class HttpConfig(TypedDict, total=False):
    """HTTP behaviour towards the authorization server."""

    connect_timeout_ms: int
    timeout_ms: int
    allow_insecure_http: bool
    max_response_bytes: int
    max_concurrent_requests: int
    retry: bool


class JwksConfig(TypedDict, total=False):
    """JWKS fetching and caching."""

    default_ttl_secs: int
    min_ttl_secs: int
    max_ttl_secs: int
    refresh_cooldown_secs: int
    stale_secs: int
    max_bytes: int


class DpopConfig(TypedDict, total=False):
    """DPoP proofs (RFC 9449), checked when `sender_constraint` is `allow` or `require`."""

    algorithms: Sequence[str]
    max_age_secs: int
    allow_unbound_tokens: bool
    replay_max_entries: int
    nonce_key: str | None
    nonce_previous_key: str | None
    nonce_slot_secs: int
    nonce_lifetime_slots: int
    external_base_url: str | None


class ResolverConfig(TypedDict, total=False):
    """The bounds of an issuer resolver's answers (docs/security.md ISS-3)."""

    max_issuers: int
    max_declined: int
    declined_ttl_secs: int
    max_issuer_bytes: int
    ttl_secs: int
    timeout_ms: int


class _Required(TypedDict):
    issuer: str


class ValidatorConfig(_Required, total=False):
    """Every field of the core's config: `issuer` is required, and `audience` unless `resource`
    is set (it then defaults to it); the rest optional.

    The flat client-authentication keys (`client_id`, `client_secret`, `key_file`, …,
    `introspection_bearer_token`) are the aliases of earlier versions for the fields of
    `client_auth`, which may also be a bare method name. Give each field one way only.
    """

    provider: Literal["zitadel", "asgardeo", "wso2", "keycloak", "auth0", "okta", "entra", "cognito", "google"] | None
    audience: str | Sequence[str]
    strategy: Literal["auto", "jwt", "introspection", "introspect_all"]
    discovery: bool
    introspection_endpoint: str | None
    jwks_uri: str | None
    token_endpoint: str | None
    client_auth: ClientAuthConfig | ClientAuthMethod | None
    introspection_response: Literal["json", "jwt"]
    introspection: IntrospectionConfig
    algorithms: Sequence[str]
    leeway_secs: int
    max_token_lifetime_secs: int | None
    max_token_bytes: int
    rfc9068_strict: bool
    scope_claim: Literal["auto", "scope", "scp", "entra"]
    roles_claim: str | None
    required_claims: Mapping[str, Any]
    audience_claim: Literal["aud", "client_id"]
    client_id_claim: str | None
    issuer_aliases: Sequence[str]
    allowed_tenants: Sequence[str]
    required_scopes: Sequence[str]
    implied_scopes: Mapping[str, Sequence[str]]
    realm: str | None
    resource: str | None
    resource_name: str | None
    resource_documentation: str | None
    scopes_supported: Sequence[str]
    cache: CacheConfig
    http: HttpConfig
    jwks: JwksConfig
    sender_constraint: Literal["none", "allow", "require"]
    dpop: DpopConfig
    client_certificate_header: str | None
    # Many issuers (docs/security.md ISS): each entry of `issuers` is a whole config of its own,
    # `tenant` is set only in one; the top level of a config with `issuers` holds what they
    # share (`cache`, `http`, `opaque_routing`, `tenant_from`, `resolver`) and no `issuer`: `ManyIssuersConfig`
    # types it.
    tenant: str | Sequence[str]
    issuers: Sequence[ValidatorConfig]
    opaque_routing: Literal["tenant", "in_order"]
    tenant_from: Literal["host"] | None
    resolver: ResolverConfig
    # Aliases of `client_auth.*`.
    client_id: str | None
    client_secret: str | None
    key_file: str | PathLike[str] | None
    key_json: str | None
    private_key: str | None
    private_key_id: str | None
    assertion_alg: str | None
    assertion_audience: str | None
    assertion_lifetime_secs: int
    introspection_bearer_token: str | None


class _RequiredIssuers(TypedDict):
    issuers: Sequence[ValidatorConfig]


class ManyIssuersConfig(_RequiredIssuers, total=False):
    """The top level of a config serving many issuers (docs/security.md ISS): the entries of
    `issuers` (each a whole `ValidatorConfig`, with its `tenant` keys) and what they share."""

    cache: CacheConfig
    http: HttpConfig
    opaque_routing: Literal["tenant", "in_order"]
    tenant_from: Literal["host"] | None
    resolver: ResolverConfig


IssuerResolver = Callable[[str], Mapping[str, Any] | None]
"""`Validator(..., issuer_resolver=)`: called with a token's **unverified, attacker-chosen** `iss`
for an issuer no entry lists (look it up among the tenants you approved; never fetch it); a
config mapping (one issuer's, naming that `issuer`) approves it, ``None`` declines it, an
exception refuses the request as `configuration`. Answers are kept within `resolver`'s bounds."""
