//! # bearerguard
//!
//! Decide whether the access token in `Authorization: Bearer …` is good, whether it is a JWT
//! or an opaque string: one [`Validator::validate`] call answers with the token's claims
//! ([`TokenInfo`]) or a typed refusal ([`Error`] with a stable [`code`](Error::code), an HTTP
//! status and an RFC 6750 `WWW-Authenticate` value).
//!
//! - **Introspection** (RFC 7662) with `client_secret_basic`, `client_secret_post`,
//!   `private_key_jwt` (RFC 7523, including ZITADEL key files), `client_secret_jwt` or a static
//!   bearer credential; RFC 9701 signed responses; results cached by a hash of the token, one
//!   request for many concurrent callers.
//! - **Local JWT validation** (RFC 9068 under RFC 8725 rules) against the issuer's JWKS,
//!   fetched, cached and rotated safely.
//! - **Discovery** from the issuer URL (OpenID Connect, then RFC 8414).
//!
//! ```no_run
//! # async fn run() -> Result<(), bearerguard::Error> {
//! use bearerguard::{Config, Validator};
//! let config = Config::from_json(r#"{
//!     "issuer": "https://auth.example.com",
//!     "audience": "https://api.example.com",
//!     "client_id": "my-api",
//!     "client_secret": "s3cret"
//! }"#)?;
//! let validator = Validator::new(config)?;
//! match validator.validate_header(Some("Bearer abc"), &["read"]).await {
//!     Ok(info) => println!("hello {:?}", info.subject),
//!     Err(e) => println!("{} -> HTTP {}", e.code(), e.http_status()),
//! }
//! # Ok(()) }
//! ```

pub mod algorithms;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod axum;
mod binding;
mod builder;
mod cache;
mod check;
pub mod claims;
mod client_auth;
mod clock;
pub mod config;
pub mod discovery;
pub mod dpop;
mod endpoints;
mod error;
mod header;
mod http;
pub mod introspection;
mod issuers;
mod json;
pub mod jwks;
pub mod jwt;
pub mod metrics;
mod nonce;
mod presets;
pub mod replay;
mod request;
pub mod resource;
mod route;
mod scopes;
mod seal;
mod shared;
mod stats;
#[cfg(feature = "testing")]
#[cfg_attr(docsrs, doc(cfg(feature = "testing")))]
pub mod testing;
mod validator;
mod verdict;
mod verified;

pub use builder::ValidatorBuilder;
pub use claims::{TokenInfo, TokenSource};
pub use clock::{Clock, ManualClock, SharedClock, SystemClock};
pub use config::{
    AudienceClaim, CacheConfig, ClientAuthMethod, Config, DpopConfig, HttpConfig, IntrospectionConfig,
    IntrospectionResponseFormat, JwksConfig, OneOrMany, OpaqueRouting, Provider, ResolverConfig, ScopeClaim,
    Secret, SenderConstraint, SharedCacheConfig, SharedSecret, Strategy, TenantFrom,
};
pub use error::{BoxError, Error, ErrorKind, Result};
pub use header::{bearer_token, is_b64token};
pub use issuers::{IssuerResolver, ResolverFuture};
pub use metrics::{Health, MetricsSnapshot};
pub use request::{ClientCertificate, Decision, Pending, Request};
pub use shared::SharedStats;
pub use stats::Stats;
pub use validator::{Unremembered, Validator};
pub use verdict::token_type_accepted;

/// Strict JSON parsing for untrusted documents (exposed for fuzzing and tests).
pub mod strict_json {
    pub use crate::json::{JsonError, MAX_DEPTH, parse_object};
}

/// The README's Rust examples, compiled as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;
