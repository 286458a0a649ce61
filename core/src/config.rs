//! Validator configuration: plain serde data with documented defaults.
//!
//! The same [`Config`] is built from a Python dict, a JavaScript object, a JSON or TOML file,
//! or the Rust [`ValidatorBuilder`](crate::ValidatorBuilder). Unknown fields are refused, and
//! every check names the field it found wrong.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::{Error, Result};

/// A secret string (client secret, private key, static bearer credential).
///
/// Its `Debug` and `Display` print `[redacted]`; it serializes as `"[redacted]"` too, so a
/// config dumped to a log never carries the value.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value. Call only where the value is put on the wire or parsed.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Secret(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str("[redacted]")
    }
}

/// How a validator decides which path a token takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// A compact JWS is validated locally when a JWKS is known; anything else is
    /// introspected. The default: the API need not care which kind of token it got.
    #[default]
    Auto,
    /// Only local JWT validation; opaque tokens are refused.
    Jwt,
    /// Only introspection, for every token.
    Introspection,
    /// JWTs are checked locally first (cheap refusals), then introspected as well so that
    /// revocation is seen; opaque tokens are introspected.
    IntrospectAll,
}

/// How bearerguard authenticates itself to the introspection endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClientAuthMethod {
    /// HTTP Basic with the form-urlencoded client id and secret (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body.
    ClientSecretPost,
    /// An RFC 7523 assertion signed with the client's private key.
    PrivateKeyJwt,
    /// An RFC 7523 assertion signed with HMAC using the client secret.
    ClientSecretJwt,
    /// A static `Authorization: Bearer` credential (`introspection_bearer_token`).
    Bearer,
    /// No client authentication (only for servers that allow it).
    None,
}

/// Where scopes are read from in a JWT access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScopeClaim {
    /// `scope` (space-separated string, RFC 9068), else `scp` (array of strings). Default.
    #[default]
    Auto,
    /// Only `scope`, a space-separated string.
    Scope,
    /// Only `scp`, an array of strings.
    Scp,
    /// Microsoft Entra ID: `scp` as a space-separated **string** (delegated tokens), else,
    /// for app-only tokens that carry no `scp`, the `roles` array (the app roles granted).
    /// Selected by `provider: "entra"`.
    Entra,
}

/// Which claim names the audience a token is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AudienceClaim {
    /// `aud` (RFC 7519 §4.1.3): a string or an array of strings. Default.
    #[default]
    Aud,
    /// `client_id`: the configured `audience` is matched against the token's `client_id`
    /// string, and `aud` is not required (Amazon Cognito access tokens carry no `aud`).
    ClientId,
}

/// An authorization server whose documented token and metadata shapes bearerguard knows
/// (`provider`): a preset fills fields the config left at their defaults with that server's
/// documented facts and adds its own config checks; it never loosens a check the config
/// sets. Every fact and its source is in `docs/providers.md` and `core/src/presets.rs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Provider {
    /// ZITADEL.
    Zitadel,
    /// Asgardeo (WSO2's cloud identity service).
    Asgardeo,
    /// WSO2 Identity Server.
    Wso2,
    /// Keycloak.
    Keycloak,
    /// Auth0.
    Auth0,
    /// Okta (custom authorization servers).
    Okta,
    /// Microsoft Entra ID (Azure AD), v1.0 and v2.0 tokens, single or multi-tenant.
    Entra,
    /// Amazon Cognito user pools.
    Cognito,
    /// Google (`https://accounts.google.com`).
    Google,
}

impl Provider {
    /// The name used in configs (`"entra"`, `"cognito"`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Zitadel => "zitadel",
            Provider::Asgardeo => "asgardeo",
            Provider::Wso2 => "wso2",
            Provider::Keycloak => "keycloak",
            Provider::Auth0 => "auth0",
            Provider::Okta => "okta",
            Provider::Entra => "entra",
            Provider::Cognito => "cognito",
            Provider::Google => "google",
        }
    }
}

/// The format bearerguard asks the introspection endpoint for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IntrospectionResponseFormat {
    /// Plain RFC 7662 JSON. Default.
    #[default]
    Json,
    /// RFC 9701 signed JWT response (`application/token-introspection+jwt`), verified with
    /// the issuer's JWKS; a plain JSON answer is then refused.
    Jwt,
}

/// The verdict caches: introspection answers, and JWTs already verified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CacheConfig {
    /// Cache verdicts at all (both caches). Default `true`.
    pub enabled: bool,
    /// Most introspection verdicts kept. Default 10 000.
    pub max_entries: u64,
    /// Most verified JWTs remembered, so a repeated token skips its signature check; 0 turns
    /// this cache off. Never used under `introspect_all` or `introspection`. A remembered
    /// token still has `exp`, `nbf` and the scopes checked on every call, and is forgotten when
    /// the JWKS that verified it is replaced. Default 10 000.
    pub jwt_max_entries: u64,
    /// Longest time an active result is reused, in seconds; never past the token's `exp`.
    /// Default 300.
    pub max_ttl_secs: u64,
    /// How long an `active: false` answer is reused, in seconds; 0 disables. Default 5,
    /// at most 300.
    pub negative_ttl_secs: u64,
    /// A second tier shared by every instance of the API: a Redis or Valkey server holding
    /// introspection verdicts (and DPoP proofs), so a fleet asks the authorization server
    /// about a token about once, and `forget` reaches every instance. Off by default.
    pub shared: Option<SharedCacheConfig>,
}

/// The shared cache tier (Redis or Valkey), `cache.shared`. Entries are keyed by an HMAC of
/// the token under `secrets` and sealed (AES-256-GCM-SIV) so that whoever reads or writes the
/// server can neither read claims, nor forge a verdict, nor confirm a guessed token
/// (docs/security.md SCACHE). A failing server is skipped, never trusted: the validator goes
/// on with its own cache and the authorization server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SharedCacheConfig {
    /// `redis://[user:password@]host:port/db`, `rediss://` (TLS), `redis+unix:///path`, or
    /// `redis+sentinel://[user:password@]host:port[,host:port…]/service[/db]`: the master the
    /// sentinels name for `service` (the login and `db` are the master's), asked again after
    /// the circuit breaker opens, so a failover is followed. Redacted in `Debug` (it may hold
    /// a password).
    pub url: Secret,
    /// Prefix of every key and of the pub/sub channel. Default `"bearerguard"`.
    pub key_prefix: String,
    /// Keys for the HMAC of entry names and for sealing values, the writing key first: entries
    /// are written under the first and read, forgotten and looked for under any. Rotate in two
    /// steps (docs/security.md SCACHE-8): the new key second on every instance, then first.
    /// Each `secret` has at least 32 bytes.
    pub secrets: Vec<SharedSecret>,
    /// Longest wait for one command, in milliseconds (1 to 10 000). Default 50.
    pub timeout_ms: u64,
    /// Longest wait to connect, in milliseconds (1 to 30 000). Default 1 000.
    pub connect_timeout_ms: u64,
    /// Values authenticated (HMAC) but not encrypted, so claims are readable in the server.
    /// Default `false`: sealed with AES-256-GCM-SIV.
    pub plaintext: bool,
    /// How long an instance introspecting a new token holds the fleet-wide lock, and the
    /// longest another instance waits for its answer before asking itself, in milliseconds
    /// (10 to 60 000). Default 3 000.
    pub lock_ms: u64,
    /// How often a waiting instance looks for the answer, in milliseconds (1 to 1 000).
    /// Default 5.
    pub poll_ms: u64,
    /// Failed commands in a row that open the circuit breaker (1 to 1 000). Default 3.
    pub breaker_failures: u32,
    /// How long the breaker stays open (the tier is skipped, adding no latency), in
    /// milliseconds (10 to 600 000). Default 2 000.
    pub breaker_open_ms: u64,
    /// Record DPoP proofs in the shared tier too, so a proof replayed against another
    /// instance is refused. Default `true`.
    pub replay: bool,
    /// With `rediss://`: a PEM file of the CA certificates that sign the server's
    /// certificate, instead of the system's trust store (a private CA).
    pub tls_ca_file: Option<String>,
}

impl Default for SharedCacheConfig {
    fn default() -> Self {
        SharedCacheConfig {
            url: Secret::new(""),
            key_prefix: "bearerguard".into(),
            secrets: Vec::new(),
            timeout_ms: 50,
            connect_timeout_ms: 1_000,
            plaintext: false,
            lock_ms: 3_000,
            poll_ms: 5,
            breaker_failures: 3,
            breaker_open_ms: 2_000,
            replay: true,
            tls_ca_file: None,
        }
    }
}

/// One key of the shared tier: an `id` (named in every entry, so rotation knows which key
/// made it) and the `secret` it is derived from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SharedSecret {
    /// Short name of the key, 1 to 32 characters of `[A-Za-z0-9_-]`.
    pub id: String,
    /// At least 32 bytes; redacted in `Debug` and serialization.
    pub secret: Secret,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            enabled: true,
            max_entries: 10_000,
            jwt_max_entries: 10_000,
            max_ttl_secs: 300,
            negative_ttl_secs: 5,
            shared: None,
        }
    }
}

/// How introspection answers are judged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IntrospectionConfig {
    /// Refuse an active answer that has no `exp`. Default `true`: such a token cannot be
    /// bounded, and servers answer refresh tokens that way (Doorkeeper: `active`, no
    /// `token_type`, no `exp`). Turn it off only for a server that never sends `exp` for
    /// access tokens.
    pub require_exp: bool,
    /// Oldest RFC 9701 signed answer accepted, by its outer `iat`, in seconds (1 to 3 600).
    /// Default 300.
    pub signed_response_max_age_secs: u64,
    /// Most introspection requests per second for tokens not seen before (a cache miss);
    /// past it such tokens are refused as `unavailable` until the rate drops. 0 (default)
    /// means no limit. In `auto`, every distinct opaque token costs one request, so a flood of
    /// garbage tokens is a flood of requests to the authorization server; this bounds it.
    pub max_new_tokens_per_sec: u64,
    /// Refuse an active answer that has no `aud` (RFC 7662 makes it optional). Default:
    /// `true` when `resource` is set (MCP: a token must be issued specifically for this
    /// server; `docs/security.md` RES-2), else `false`. Set `false` only for an
    /// authorization server that never sends `aud` in introspection answers.
    pub require_aud: Option<bool>,
}

impl Default for IntrospectionConfig {
    fn default() -> Self {
        IntrospectionConfig {
            require_exp: true,
            signed_response_max_age_secs: 300,
            max_new_tokens_per_sec: 0,
            require_aud: None,
        }
    }
}

/// HTTP behaviour towards the authorization server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpConfig {
    /// Connect timeout in milliseconds. Default 2 000.
    pub connect_timeout_ms: u64,
    /// Total deadline for one request, body included, in milliseconds. Default 5 000.
    pub timeout_ms: u64,
    /// Allow `http://` endpoints on non-loopback hosts. Default `false`: only `https`, or
    /// `http` on 127.0.0.0/8, `::1` and `localhost`.
    pub allow_insecure_http: bool,
    /// Largest introspection response body accepted, in bytes. Default 65 536.
    pub max_response_bytes: usize,
    /// Most introspection requests in flight at once per validator. Default 64.
    pub max_concurrent_requests: usize,
    /// Retry once on connection errors and 502/503/504. Default `true`.
    pub retry: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            connect_timeout_ms: 2_000,
            timeout_ms: 5_000,
            allow_insecure_http: false,
            max_response_bytes: 64 * 1024,
            max_concurrent_requests: 64,
            retry: true,
        }
    }
}

/// Whether tokens bound to a key or a certificate (`cnf`, RFC 9449 / RFC 8705) are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SenderConstraint {
    /// Bound tokens are refused; only plain Bearer tokens are accepted. The default (what
    /// bearerguard did before it could check bindings).
    #[default]
    None,
    /// Bound tokens are accepted when their binding is proven (a DPoP proof for `cnf.jkt`,
    /// the client certificate for `cnf["x5t#S256"]`); unbound Bearer tokens too.
    Allow,
    /// Every token must be bound and its binding proven (DPoP or certificate).
    Require,
}

/// DPoP proofs (RFC 9449), checked when `sender_constraint` is `allow` or `require`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DpopConfig {
    /// Accepted proof algorithms, asymmetric only (`none` and HMAC are refused). Default:
    /// ES256, ES384, EdDSA, PS256, PS384, PS512, RS256, RS384, RS512.
    pub algorithms: Vec<String>,
    /// Oldest proof accepted, by its `iat`, in seconds (1 to 3 600); a proof may be at most
    /// `leeway_secs` in the future. Default 300.
    pub max_age_secs: u64,
    /// Accept an unbound token (no `cnf.jkt`) sent with the `DPoP` scheme and a good proof.
    /// Default `false`: the scheme promises a binding the token does not have.
    pub allow_unbound_tokens: bool,
    /// Most proofs remembered for replay detection (1 000 to 100 000 000). When full of
    /// proofs still inside their window, new proofs are refused (`unavailable`), never a
    /// replay accepted. Default 1 000 000.
    pub replay_max_entries: u64,
    /// Server nonces (RFC 9449 §9) on: the key (at least 32 bytes) that MACs each time slot.
    /// Two validators with the same key accept each other's nonces. Default none (off).
    pub nonce_key: Option<Secret>,
    /// The key before the last rotation: nonces it made are still accepted. Default none.
    pub nonce_previous_key: Option<Secret>,
    /// Length of one nonce time slot, in seconds (1 to 3 600). Default 60.
    pub nonce_slot_secs: u64,
    /// How many slots a nonce stays valid, the current one included (1 to 10). Default 2.
    pub nonce_lifetime_slots: u64,
    /// The API's URL as clients see it, e.g. `https://api.example.com` or
    /// `https://example.com/api`, when a proxy in front of it changes the scheme, host or path
    /// prefix: a proof's `htu` is compared with this URL followed by the request's path. The
    /// request URL then only needs its path. Default none: the request URL as the adapter saw it.
    pub external_base_url: Option<String>,
}

impl Default for DpopConfig {
    fn default() -> Self {
        DpopConfig {
            algorithms: ["ES256", "ES384", "EdDSA", "PS256", "PS384", "PS512", "RS256", "RS384", "RS512"]
                .map(str::to_owned)
                .to_vec(),
            max_age_secs: 300,
            allow_unbound_tokens: false,
            replay_max_entries: 1_000_000,
            nonce_key: None,
            nonce_previous_key: None,
            nonce_slot_secs: 60,
            nonce_lifetime_slots: 2,
            external_base_url: None,
        }
    }
}

/// JWKS fetching and caching.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JwksConfig {
    /// Key-set lifetime when the server sends no usable `Cache-Control: max-age`, in seconds.
    /// Default 300.
    pub default_ttl_secs: u64,
    /// Lower clamp for `max-age`, in seconds. Default 30.
    pub min_ttl_secs: u64,
    /// Upper clamp for `max-age`, in seconds. Default 86 400.
    pub max_ttl_secs: u64,
    /// Least time between two fetches caused by an unknown `kid`, in seconds (at least 10).
    /// Default 30.
    pub refresh_cooldown_secs: u64,
    /// How long past its lifetime the last good key set is still used while refreshes fail,
    /// in seconds. Default 3 600.
    pub stale_secs: u64,
    /// Largest JWKS document accepted, in bytes. Default 262 144.
    pub max_bytes: usize,
}

impl Default for JwksConfig {
    fn default() -> Self {
        JwksConfig {
            default_ttl_secs: 300,
            min_ttl_secs: 30,
            max_ttl_secs: 86_400,
            refresh_cooldown_secs: 30,
            stale_secs: 3_600,
            max_bytes: 256 * 1024,
        }
    }
}

/// How bearerguard authenticates itself to the introspection endpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClientAuthConfig {
    /// The method. Default: `private_key_jwt` when a key is configured, else
    /// `client_secret_basic` when a secret is, else `bearer` when `bearer_token` is, else
    /// `none`.
    pub method: Option<ClientAuthMethod>,
    /// Our client id at the authorization server.
    pub client_id: Option<String>,
    /// Our client secret (for `client_secret_basic`, `client_secret_post`,
    /// `client_secret_jwt`).
    pub client_secret: Option<Secret>,
    /// Path to a ZITADEL application key file
    /// (`{"type":"application","keyId","key","appId","clientId"}`); sets the key, its `kid`
    /// and, when not given, `client_id`.
    pub key_file: Option<String>,
    /// The contents of a ZITADEL application key file, as an alternative to `key_file`.
    pub key_json: Option<Secret>,
    /// A private key for `private_key_jwt`: PEM (PKCS#1 or PKCS#8, RSA, EC P-256/P-384 or
    /// Ed25519) or a private JWK as JSON.
    pub private_key: Option<Secret>,
    /// The `kid` header of client assertions (defaults to the key file's `keyId` or the
    /// JWK's `kid`).
    pub private_key_id: Option<String>,
    /// Client-assertion algorithm. Default: RS256 for RSA keys, ES256/ES384 for EC keys by
    /// curve, EdDSA for Ed25519, HS256 for `client_secret_jwt`.
    pub assertion_alg: Option<String>,
    /// Client-assertion `aud`: `"issuer"` (default), `"token_endpoint"`,
    /// `"introspection_endpoint"`, or any other string, used as is.
    pub assertion_audience: Option<String>,
    /// Client-assertion lifetime in seconds. Default 60.
    pub assertion_lifetime_secs: u64,
    /// A static credential sent as `Authorization: Bearer` to the introspection endpoint.
    pub bearer_token: Option<Secret>,
}

impl Default for ClientAuthConfig {
    fn default() -> Self {
        ClientAuthConfig {
            method: None,
            client_id: None,
            client_secret: None,
            key_file: None,
            key_json: None,
            private_key: None,
            private_key_id: None,
            assertion_alg: None,
            assertion_audience: None,
            assertion_lifetime_secs: 60,
            bearer_token: None,
        }
    }
}

/// A string or a list of strings (for `audience`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(transparent)]
pub struct OneOrMany(pub Vec<String>);

impl<'de> Deserialize<'de> for OneOrMany {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(String),
            Many(Vec<String>),
        }
        match Raw::deserialize(d) {
            Ok(Raw::One(s)) => Ok(OneOrMany(vec![s])),
            Ok(Raw::Many(v)) => Ok(OneOrMany(v)),
            Err(_) => Err(serde::de::Error::custom("expected a string or a list of strings")),
        }
    }
}

/// Everything a [`Validator`](crate::Validator) needs. Only `issuer` and `audience` are
/// required; every other field has the default documented on it.
///
/// ```
/// let config: bearerguard::Config = serde_json::from_value(serde_json::json!({
///     "issuer": "https://auth.example.com",
///     "audience": "https://api.example.com",
///     "client_id": "my-api",
///     "client_secret": "s3cret",
/// })).unwrap();
/// assert_eq!(config.leeway_secs, 60);
/// assert!(!format!("{config:?}").contains("s3cret"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
// `remote = "Self"`: the derived code becomes `Config::serialize`/`Config::deserialize`, and the
// trait impls below wrap them, so the aliases of earlier versions are folded in one place.
#[serde(remote = "Self", default, deny_unknown_fields)]
pub struct Config {
    /// The issuer identifier, compared byte for byte with `iss` and the discovery
    /// document's `issuer`. Required. With `provider: "entra"` only, it may be the
    /// multi-tenant template `https://login.microsoftonline.com/{tenantid}/v2.0` (or
    /// `https://sts.windows.net/{tenantid}/`), which needs `allowed_tenants`.
    pub issuer: String,
    /// The authorization server's preset (`zitadel`, `asgardeo`, `wso2`, `keycloak`, `auth0`,
    /// `okta`, `entra`, `cognito`, `google`): its documented facts fill the fields left at
    /// their defaults, and its config checks apply (`docs/providers.md`). Default none.
    pub provider: Option<Provider>,
    /// Accepted audiences: a token must name at least one. Required unless `resource` is
    /// set, which it then defaults to.
    pub audience: OneOrMany,
    /// Which path tokens take. Default `auto`.
    pub strategy: Strategy,
    /// Fetch `/.well-known/openid-configuration` (then RFC 8414 metadata) from the issuer
    /// for endpoints not given here. Default `true`.
    pub discovery: bool,
    /// RFC 7662 endpoint. Default: from discovery.
    pub introspection_endpoint: Option<String>,
    /// JWKS location. Default: from discovery.
    pub jwks_uri: Option<String>,
    /// Token endpoint (only used as a client-assertion audience). Default: from discovery.
    pub token_endpoint: Option<String>,
    /// How bearerguard authenticates itself to the introspection endpoint. In a config
    /// file, an object; a bare string is the `method`, and the flat keys of earlier versions
    /// (`client_id`, `client_secret`, `key_file`, … `introspection_bearer_token`) are accepted
    /// as aliases of its fields ([`Config::ALIASES`]).
    pub client_auth: ClientAuthConfig,
    /// Ask for plain JSON or an RFC 9701 signed introspection response. Default `json`.
    pub introspection_response: IntrospectionResponseFormat,
    /// How introspection answers are judged.
    pub introspection: IntrospectionConfig,
    /// Accepted JWS algorithms, all of one kind (asymmetric only; HMAC is refused for
    /// remote keys). Default: RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA.
    pub algorithms: Vec<String>,
    /// Clock skew allowed on `exp`, `nbf` and `iat`, in seconds. Default 60.
    pub leeway_secs: u64,
    /// Longest accepted token lifetime (`exp` − `iat`), in seconds; unset means no limit.
    pub max_token_lifetime_secs: Option<u64>,
    /// Refuse tokens over this many bytes before any decoding. Default 16 384.
    pub max_token_bytes: usize,
    /// Strict RFC 9068: `typ` must be `at+jwt`, and `sub`, `client_id`, `iat`, `jti` are
    /// required. Default `false` (ZITADEL's access tokens say `typ: JWT`).
    pub rfc9068_strict: bool,
    /// Where JWT scopes come from. Default `auto`.
    pub scope_claim: ScopeClaim,
    /// Where a token's roles (`TokenInfo.roles`) come from: a claim name, or an RFC 6901
    /// JSON pointer when it starts with `/` (`/realm_access/roles`). An array of strings
    /// gives its items, an object its keys (ZITADEL's role claim); any other type gives no
    /// roles. Default none (no roles).
    pub roles_claim: Option<String>,
    /// Claims a token must carry with exactly these JSON values (`{"token_use": "access"}`),
    /// on both paths; missing or different is `invalid_token`. Default none.
    pub required_claims: BTreeMap<String, serde_json::Value>,
    /// Which claim names the audience: `aud` (default) or `client_id` (Amazon Cognito access
    /// tokens have no `aud`).
    pub audience_claim: AudienceClaim,
    /// The claim `TokenInfo.client_id` is read from when the token has no `client_id`
    /// (`azp` for Keycloak, `cid` for Okta). A non-string value is ignored. Default none.
    pub client_id_claim: Option<String>,
    /// Other spellings of `issuer` a token's `iss` may have, each compared byte for byte
    /// (Google: `accounts.google.com`). Default none.
    pub issuer_aliases: Vec<String>,
    /// With a multi-tenant Entra `issuer` template: the tenant ids (GUIDs) whose tokens are
    /// accepted, or exactly `["any"]` for every tenant. A token's `iss` must equal the
    /// template with its own `tid` in place of `{tenantid}`. Required with a template,
    /// refused without one. Default none.
    pub allowed_tenants: Vec<String>,
    /// Scopes every token must carry, on top of per-call scopes. Default none.
    pub required_scopes: Vec<String>,
    /// Scope hierarchy: each scope maps to the scopes it implies (`{"files:write":
    /// ["files:read"]}`), transitively, exact names only (no prefix matching). Applied on
    /// every call, cache hits included; a token info's scopes include the implied ones.
    /// Default none.
    pub implied_scopes: BTreeMap<String, Vec<String>>,
    /// Realm for `WWW-Authenticate`. Default none.
    pub realm: Option<String>,
    /// This API's canonical URI as a protected resource (RFC 8707, RFC 9728, MCP), e.g.
    /// `https://api.example.com/mcp`. When set: `audience` defaults to it, audiences compare
    /// as canonical URIs, introspection answers need an `aud` naming us
    /// (`introspection.require_aud`), challenges carry `resource_metadata` and `scope`, and
    /// the RFC 9728 metadata document is available. Default none.
    pub resource: Option<String>,
    /// `resource_name` of the metadata document. Default none.
    pub resource_name: Option<String>,
    /// `resource_documentation` (a URL) of the metadata document. Default none.
    pub resource_documentation: Option<String>,
    /// `scopes_supported` of the metadata document (never `offline_access`). Default none.
    pub scopes_supported: Vec<String>,
    /// Introspection result cache.
    pub cache: CacheConfig,
    /// HTTP behaviour.
    pub http: HttpConfig,
    /// JWKS behaviour.
    pub jwks: JwksConfig,
    /// Tokens bound to a key or certificate (`cnf`): `none` (default: refused), `allow`
    /// (accepted when the binding is proven), `require` (every token must be bound).
    pub sender_constraint: SenderConstraint,
    /// DPoP proofs (RFC 9449): algorithms, age, replay store, nonces.
    pub dpop: DpopConfig,
    /// The request header a trusted proxy puts the client certificate in (RFC 9440
    /// `Client-Cert`: `:base64(DER):`), e.g. `client-cert`. Only set it when a proxy you run
    /// sets this header and strips it from client requests; otherwise the certificate is
    /// taken from the connection only. Default none.
    pub client_certificate_header: Option<String>,
    /// Keys that select this issuer when the app passes one with a request
    /// ([`Request::tenant`](crate::Request::tenant)): a host name, a path prefix, a header
    /// value the app reads — whatever it routes tenants by. Only in an entry of `issuers`.
    /// Default none.
    pub tenant: OneOrMany,
    /// Many issuers served by one validator (docs/security.md ISS), each entry a whole
    /// config of its own (`issuer`, `audience`, `strategy`, `client_auth`, endpoints, JWKS
    /// rules, ...; nothing is inherited, so no setting meant for one issuer reaches another).
    /// The top level then holds only what they share: `cache` (one budget), `http` (one
    /// client and connection pool), `opaque_routing`, `tenant_from` and `resolver`. A JWT goes
    /// to the entry
    /// whose issuer its unverified `iss` names exactly, and no other issuer ever sees it; an
    /// opaque token to the entry its request's tenant key selects. Default none: one issuer.
    #[serde(deserialize_with = "entries")]
    pub issuers: Vec<Config>,
    /// With `issuers`: what an opaque token with no tenant key gets. `tenant` (default):
    /// refused with no request. `in_order`: introspected by each introspecting issuer in
    /// turn until one calls it active (each of them sees the token; see docs/security.md
    /// ISS-5).
    pub opaque_routing: OpaqueRouting,
    /// With `issuers`: where the tenant key of a request comes from when the app passes none
    /// (`Request::tenant`), so every framework adapter routes by it: `host`, the request URL's
    /// host (the `Host` the adapter saw), lower-cased, without the port. A request without a
    /// plain host, or with one no entry lists, is then refused unrouted. Default none: only the
    /// key the app passes (route by a path prefix that way: the app knows its own routes).
    pub tenant_from: Option<TenantFrom>,
    /// With an issuer resolver (issuers added at run time): how many resolved issuers are kept
    /// and how long an issuer the resolver declined is remembered.
    pub resolver: ResolverConfig,
}

/// What an opaque token without a tenant key gets when a validator serves many issuers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpaqueRouting {
    /// Refused (`invalid_token`) with no request: opaque tokens need a tenant key. Default.
    #[default]
    Tenant,
    /// Introspected by each issuer that introspects, in the configured order, until one
    /// answers active.
    InOrder,
}

/// Where a request's tenant key is read from (`tenant_from`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TenantFrom {
    /// The host of the request URL (lower-cased, without the port): `acme.api.example.com`.
    /// No path mode: a path segment read from a URL rebuilt by an adapter can differ from the
    /// path the framework routed (a `Host` holding `/`, dot segments), so apps that route by
    /// path pass the tenant themselves.
    Host,
}

/// The bounds of an issuer resolver's answers (docs/security.md ISS-3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResolverConfig {
    /// Most resolved issuers kept (least recently used dropped first), 1 to 100 000.
    /// Default 100.
    pub max_issuers: u64,
    /// Most declined issuers remembered (as SHA-256 digests), 1 to 10 000 000. Default 10 000.
    pub max_declined: u64,
    /// How long a declined issuer is remembered, in seconds (1 to 86 400). Default 300.
    pub declined_ttl_secs: u64,
    /// Longest `iss` handed to the resolver, in bytes (1 to 8 192); a longer one is refused
    /// unasked. Default 512.
    pub max_issuer_bytes: usize,
    /// How long an approved issuer is kept before the resolver is asked again, in seconds (1 to
    /// 86 400), so a tenant removed from the app's records stops being served. Default 600.
    pub ttl_secs: u64,
    /// Longest wait for the resolver's answer, in milliseconds (1 to 60 000); past it the request
    /// is `unavailable` (503) and nothing is remembered. At most 64 answers are awaited at once.
    /// Default 2 000.
    pub timeout_ms: u64,
}

impl Default for ResolverConfig {
    fn default() -> Self {
        ResolverConfig {
            max_issuers: 100,
            max_declined: 10_000,
            declined_ttl_secs: 300,
            max_issuer_bytes: 512,
            ttl_secs: 600,
            timeout_ms: 2_000,
        }
    }
}

/// `issuers`: each entry through the derived, alias-free deserialization (aliases and the
/// top level's defaults were folded in by [`prepare`], so errors keep their paths).
fn entries<'de, D: Deserializer<'de>>(d: D) -> std::result::Result<Vec<Config>, D::Error> {
    Ok(Vec::<Canonical>::deserialize(d)?.into_iter().map(|Canonical(c)| c).collect())
}

/// A config error that names the field but never echoes the value given (it may be a
/// secret typed into the wrong place, e.g. a numeric `client_secret`).
fn config_error(path: String, inner: &serde_json::Error) -> Error {
    let message = inner.to_string();
    // serde's messages look like "invalid type: integer `123`, expected a string at line 1
    // column 5": keep the kind and what was expected, drop the value and the position.
    let message = message.split(" at line ").next().unwrap_or_default();
    let echoes_value = ["invalid type", "invalid value", "invalid length", "unknown variant"]
        .iter()
        .any(|kind| message.starts_with(kind));
    let cleaned = if !echoes_value {
        message.to_owned()
    } else if let (Some(kind), Some(idx)) = (message.split(':').next(), message.find(", expected")) {
        format!("{}{}", kind.split(' ').take(2).collect::<Vec<_>>().join(" "), &message[idx..])
    } else {
        "invalid value".to_owned()
    };
    if path.is_empty() || path == "." {
        Error::config(format!("invalid config: {cleaned}"))
    } else {
        Error::config(format!("invalid config: `{path}`: {cleaned}"))
    }
}

/// The derived, alias-free deserialization of [`Config`].
struct Canonical(Config);

impl<'de> Deserialize<'de> for Canonical {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Config::deserialize(d).map(Canonical)
    }
}

impl<'de> Deserialize<'de> for Config {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        let (value, _) = prepare(value).map_err(|e| serde::de::Error::custom(e.detail().to_owned()))?;
        Config::deserialize(value).map_err(serde::de::Error::custom)
    }
}

impl Serialize for Config {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        Config::serialize(self, s)
    }
}

/// [`fold_aliases`] at the top level and in every entry of `issuers`.
fn prepare(value: serde_json::Value) -> Result<(serde_json::Value, Vec<(&'static str, &'static str)>)> {
    let (mut value, moved) = fold_aliases(value)?;
    if let Some(serde_json::Value::Array(entries)) = value.get_mut("issuers") {
        for entry in entries.iter_mut() {
            *entry = fold_aliases(std::mem::take(entry))?.0;
        }
    }
    Ok((value, moved))
}

/// Folds the flat client-authentication keys of earlier versions, and a bare `client_auth`
/// method string, into the `client_auth` object. Returns the aliases it moved, so errors can
/// name the key the user wrote. Giving a field both ways is an error.
fn fold_aliases(value: serde_json::Value) -> Result<(serde_json::Value, Vec<(&'static str, &'static str)>)> {
    use serde_json::Value;
    let Value::Object(mut top) = value else { return Ok((value, Vec::new())) };
    let mut auth = match top.remove("client_auth") {
        None | Some(Value::Null) => serde_json::Map::new(),
        Some(Value::String(method)) => {
            serde_json::Map::from_iter([("method".to_owned(), Value::String(method))])
        }
        Some(Value::Object(auth)) => auth,
        Some(other) => {
            // Let the typed deserialization name the field and the expected type.
            top.insert("client_auth".to_owned(), other);
            return Ok((Value::Object(top), Vec::new()));
        }
    };
    let mut moved = Vec::new();
    for &(alias, field) in Config::ALIASES {
        let Some(v) = top.remove(alias) else { continue };
        if v.is_null() {
            continue;
        }
        if auth.contains_key(field) {
            return Err(Error::config(format!(
                "invalid config: `{alias}` is given twice (also as `client_auth.{field}`)"
            )));
        }
        auth.insert(field.to_owned(), v);
        moved.push((alias, field));
    }
    top.insert("client_auth".to_owned(), Value::Object(auth));
    Ok((Value::Object(top), moved))
}

impl Default for Config {
    fn default() -> Self {
        Config {
            issuer: String::new(),
            provider: None,
            audience: OneOrMany::default(),
            strategy: Strategy::default(),
            discovery: true,
            introspection_endpoint: None,
            jwks_uri: None,
            token_endpoint: None,
            client_auth: ClientAuthConfig::default(),
            introspection_response: IntrospectionResponseFormat::default(),
            introspection: IntrospectionConfig::default(),
            // Every algorithm of the table that may verify a remote key.
            algorithms: crate::algorithms::ALGORITHMS
                .iter()
                .filter(|a| a.verifies_remote_keys())
                .map(|a| a.name.to_owned())
                .collect(),
            leeway_secs: 60,
            max_token_lifetime_secs: None,
            max_token_bytes: 16 * 1024,
            rfc9068_strict: false,
            scope_claim: ScopeClaim::default(),
            roles_claim: None,
            required_claims: BTreeMap::new(),
            audience_claim: AudienceClaim::default(),
            client_id_claim: None,
            issuer_aliases: Vec::new(),
            allowed_tenants: Vec::new(),
            required_scopes: Vec::new(),
            implied_scopes: BTreeMap::new(),
            realm: None,
            resource: None,
            resource_name: None,
            resource_documentation: None,
            scopes_supported: Vec::new(),
            cache: CacheConfig::default(),
            http: HttpConfig::default(),
            jwks: JwksConfig::default(),
            sender_constraint: SenderConstraint::default(),
            dpop: DpopConfig::default(),
            client_certificate_header: None,
            tenant: OneOrMany::default(),
            issuers: Vec::new(),
            opaque_routing: OpaqueRouting::default(),
            tenant_from: None,
            resolver: ResolverConfig::default(),
        }
    }
}

impl Config {
    /// Every top-level field name, as accepted by deserialization (bindings use it to keep
    /// their keyword arguments in step with the core).
    pub const FIELDS: &'static [&'static str] = &[
        "issuer",
        "provider",
        "audience",
        "strategy",
        "discovery",
        "introspection_endpoint",
        "jwks_uri",
        "token_endpoint",
        "client_auth",
        "introspection_response",
        "introspection",
        "algorithms",
        "leeway_secs",
        "max_token_lifetime_secs",
        "max_token_bytes",
        "rfc9068_strict",
        "scope_claim",
        "roles_claim",
        "required_claims",
        "audience_claim",
        "client_id_claim",
        "issuer_aliases",
        "allowed_tenants",
        "required_scopes",
        "implied_scopes",
        "realm",
        "resource",
        "resource_name",
        "resource_documentation",
        "scopes_supported",
        "cache",
        "http",
        "jwks",
        "sender_constraint",
        "dpop",
        "client_certificate_header",
        "tenant",
        "issuers",
        "opaque_routing",
        "tenant_from",
        "resolver",
    ];

    /// A config for `issuer` and one `audience`, everything else default.
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>) -> Self {
        Config { issuer: issuer.into(), audience: OneOrMany(vec![audience.into()]), ..Config::default() }
    }

    /// The flat keys of earlier versions, still accepted, and the field of `client_auth` each
    /// stands for (`client_auth` itself may also be a bare method string).
    pub const ALIASES: &'static [(&'static str, &'static str)] = &[
        ("client_id", "client_id"),
        ("client_secret", "client_secret"),
        ("key_file", "key_file"),
        ("key_json", "key_json"),
        ("private_key", "private_key"),
        ("private_key_id", "private_key_id"),
        ("assertion_alg", "assertion_alg"),
        ("assertion_audience", "assertion_audience"),
        ("assertion_lifetime_secs", "assertion_lifetime_secs"),
        ("introspection_bearer_token", "bearer_token"),
    ];

    /// Every key path a config accepts, nested ones dotted (`"cache.max_ttl_secs"`), aliases
    /// included: what the bindings' typed options are checked against.
    pub fn field_paths() -> Vec<String> {
        // The defaults, with the optional sections that hold fields of their own filled in.
        let mut sample = Config::default();
        sample.cache.shared = Some(SharedCacheConfig {
            secrets: vec![SharedSecret { id: String::new(), secret: Secret::new("") }],
            ..SharedCacheConfig::default()
        });
        let mut paths = Vec::new();
        fn walk(prefix: &str, value: &serde_json::Value, paths: &mut Vec<String>) {
            let object = match value {
                serde_json::Value::Object(object) => object,
                // A list of sections (`cache.shared.secrets`): the fields of one.
                serde_json::Value::Array(items) => match items.first() {
                    Some(serde_json::Value::Object(object)) => object,
                    _ => return,
                },
                _ => return,
            };
            for (name, value) in object {
                let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}.{name}") };
                paths.push(path.clone());
                walk(&path, value, paths);
            }
        }
        walk("", &serde_json::to_value(sample).unwrap_or_default(), &mut paths);
        paths.extend(Config::ALIASES.iter().map(|(alias, _)| (*alias).to_owned()));
        paths
    }

    /// Parses a config from JSON text; errors name the field.
    pub fn from_json(text: &str) -> Result<Self> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| config_error(String::new(), &e))?;
        Config::from_value(value)
    }

    /// Parses a config from a JSON value; errors name the field (as the user wrote it, alias
    /// or not) and never echo a value.
    pub fn from_value(value: serde_json::Value) -> Result<Self> {
        let (value, moved) = prepare(value)?;
        serde_path_to_error::deserialize(value).map(|Canonical(c)| c).map_err(|e| {
            let mut path = e.path().to_string();
            if let Some(field) = path.strip_prefix("client_auth.")
                && let Some((alias, _)) = moved.iter().find(|(_, f)| *f == field)
            {
                path = (*alias).to_owned();
            }
            config_error(path, e.inner())
        })
    }

    /// The audiences tokens must name: `audience`, or `resource` when no audience is given.
    pub fn effective_audiences(&self) -> Vec<String> {
        match (&self.resource, self.audience.0.is_empty()) {
            (Some(resource), true) => vec![resource.clone()],
            _ => self.audience.0.clone(),
        }
    }

    /// Whether an introspection answer without `aud` is refused.
    pub fn introspection_requires_aud(&self) -> bool {
        self.introspection.require_aud.unwrap_or(self.resource.is_some())
    }

    /// Checks the fields that can be checked without I/O (every rule lives in `check.rs`).
    /// Errors name the field.
    pub fn check(&self) -> Result<()> {
        crate::check::fields(self)
    }

    /// Reads a config from a `.json` or `.toml` file.
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::config(format!("cannot read config file {}", path.display())).with_source(e)
        })?;
        if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("toml")) {
            let value: serde_json::Value = toml::from_str(&text)
                .map_err(|e| Error::config(format!("invalid config: {}", e.message())))?;
            Config::from_value(value)
        } else {
            Config::from_json(&text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_and_mistyped_fields_are_named() {
        let e = Config::from_json(r#"{"issuer":"https://a","audience":"x","leway_secs":1}"#).unwrap_err();
        assert!(e.detail().contains("leway_secs"), "{e}");
        let e = Config::from_json(r#"{"issuer":"https://a","audience":5}"#).unwrap_err();
        assert!(e.detail().contains("string or a list"), "{e}");
        let e = Config::from_json(r#"{"issuer":"https://a","audience":"x","strategy":"magic"}"#).unwrap_err();
        assert!(e.detail().contains("magic") || e.detail().contains("strategy"), "{e}");
    }

    #[test]
    fn fields_lists_every_field_and_errors_never_echo_values() {
        let value = serde_json::to_value(Config::default()).unwrap();
        let keys: Vec<&str> = value.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(keys, Config::FIELDS);
        let e = Config::from_json(r#"{"issuer":"https://a","audience":"x","client_secret":987654321}"#)
            .unwrap_err();
        assert!(e.detail().contains("`client_secret`"), "{e}");
        assert!(!e.detail().contains("987654321"), "{e}");
        let e = Config::from_value(
            serde_json::json!({"issuer":"https://a","audience":"x","http":{"timeout_ms":"s3cr3t"}}),
        )
        .unwrap_err();
        assert!(e.detail().contains("http.timeout_ms") && !e.detail().contains("s3cr3t"), "{e}");
    }

    #[test]
    fn client_auth_nests_and_the_flat_keys_of_earlier_versions_are_aliases() {
        let nested = Config::from_json(
            r#"{"issuer":"https://a","audience":"x","client_auth":{"method":"client_secret_post","client_id":"rs","client_secret":"s"}}"#,
        )
        .unwrap();
        let flat = Config::from_json(
            r#"{"issuer":"https://a","audience":"x","client_auth":"client_secret_post","client_id":"rs","client_secret":"s"}"#,
        )
        .unwrap();
        assert_eq!(nested, flat);
        assert_eq!(flat.client_auth.method, Some(ClientAuthMethod::ClientSecretPost));
        let bearer =
            Config::from_json(r#"{"issuer":"https://a","audience":"x","introspection_bearer_token":"t"}"#)
                .unwrap();
        assert_eq!(bearer.client_auth.bearer_token, Some(Secret::new("t")));
        // serde's own entry point folds aliases too (the doc example above uses it).
        let via_serde: Config =
            serde_json::from_value(serde_json::json!({"issuer":"https://a","audience":"x","client_id":"rs"}))
                .unwrap();
        assert_eq!(via_serde.client_auth.client_id.as_deref(), Some("rs"));
        let twice = Config::from_json(
            r#"{"issuer":"https://a","audience":"x","client_id":"a","client_auth":{"client_id":"b"}}"#,
        )
        .unwrap_err();
        assert!(twice.detail().contains("`client_id` is given twice"), "{twice}");
        // Errors name the key as the user wrote it, and never its value.
        let e = Config::from_json(r#"{"issuer":"https://a","audience":"x","client_secret":987654321}"#)
            .unwrap_err();
        assert!(e.detail().contains("`client_secret`") && !e.detail().contains("987654321"), "{e}");
        let e =
            Config::from_json(r#"{"issuer":"https://a","audience":"x","client_auth":{"client_secret":5}}"#)
                .unwrap_err();
        assert!(e.detail().contains("`client_auth.client_secret`"), "{e}");
        let e = Config::from_json(r#"{"issuer":"https://a","audience":"x","client_auth":{"clientid":"x"}}"#)
            .unwrap_err();
        assert!(e.detail().contains("clientid"), "{e}");
        let paths = Config::field_paths();
        for p in [
            "issuer",
            "client_auth",
            "client_auth.client_id",
            "cache.max_ttl_secs",
            "introspection.require_exp",
            "client_id",
            "introspection_bearer_token",
        ] {
            assert!(paths.iter().any(|x| x == p), "{p} in {paths:?}");
        }
    }

    #[test]
    fn documented_defaults_hold() {
        let j = JwksConfig::default();
        assert_eq!(
            j.refresh_cooldown_secs, 30,
            "docs/security.md FAULT-3: unknown-kid cooldown defaults to 30 s"
        );
        assert!(j.refresh_cooldown_secs >= 10);
        let from_json = Config::from_json(r#"{"issuer":"https://a","audience":"x"}"#).unwrap();
        assert_eq!(from_json.jwks.refresh_cooldown_secs, 30, "a config file without `jwks` too");
        let h = HttpConfig::default();
        assert!(h.connect_timeout_ms > 0 && h.timeout_ms > 0);
        assert_eq!(h.max_response_bytes, 64 * 1024);
    }

    #[test]
    fn check_names_the_field() {
        let c = Config { audience: OneOrMany(vec!["a".into()]), ..Config::default() };
        assert!(c.check().unwrap_err().detail().contains("`issuer`"));
        let c = Config::new("https://as.example", "");
        assert!(c.check().unwrap_err().detail().contains("`audience`"));
        let mut c = Config::new("https://as.example", "api");
        c.jwks.refresh_cooldown_secs = 1;
        assert!(c.check().unwrap_err().detail().contains("refresh_cooldown_secs"));
        let c = Config::new("http://as.example", "api");
        assert!(c.check().unwrap_err().detail().contains("`issuer`"));
        assert!(Config::new("http://127.0.0.1:8080", "api").check().is_ok());
    }

    #[test]
    fn secrets_are_redacted_in_debug_and_serialization() {
        let mut c = Config::new("https://as.example", "api");
        c.client_auth.client_secret = Some(Secret::new("canary-secret-123"));
        c.client_auth.private_key = Some(Secret::new("-----BEGIN PRIVATE KEY----- canary"));
        let dbg = format!("{c:?}");
        let json = serde_json::to_string(&c).unwrap();
        for out in [dbg, json] {
            assert!(!out.contains("canary"), "{out}");
            assert!(out.contains("[redacted]"));
        }
    }

    #[test]
    fn toml_and_json_files_land_in_the_same_config() {
        let dir = std::env::temp_dir().join(format!("bg-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let toml_path = dir.join("c.toml");
        std::fs::write(
            &toml_path,
            "issuer = \"https://as.example\"\naudience = [\"a\", \"b\"]\n[cache]\nmax_ttl_secs = 7\n",
        )
        .unwrap();
        let json_path = dir.join("c.json");
        std::fs::write(
            &json_path,
            r#"{"issuer":"https://as.example","audience":["a","b"],"cache":{"max_ttl_secs":7}}"#,
        )
        .unwrap();
        let a = Config::from_file(&toml_path).unwrap();
        let b = Config::from_file(&json_path).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.cache.max_ttl_secs, 7);
        std::fs::remove_dir_all(dir).ok();
    }
}
