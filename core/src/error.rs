//! One error type for every refusal, with stable string codes.
//!
//! Every way `validate` can fail maps to exactly one [`ErrorKind`]. The kind decides the
//! stable [`code`](Error::code), the HTTP status an API should answer with, and the RFC 6750
//! `WWW-Authenticate` value. Messages are fixed strings chosen by this crate: they never echo
//! the token, a claim value, a client secret or a key.

use std::borrow::Cow;
use std::fmt;

/// A boxed error kept as the [`std::error::Error::source`] of an [`Error`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, as a closed set of categories with stable codes.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The request carried no bearer token at all (RFC 6750 §3.1: answer 401 without an
    /// error code).
    MissingToken,
    /// The `Authorization` header is malformed (RFC 6750 `invalid_request`, 400).
    InvalidRequest,
    /// The token is malformed, forged, revoked, for another audience or issuer, or
    /// otherwise unacceptable (RFC 6750 `invalid_token`, 401).
    InvalidToken,
    /// The token was valid once but has expired (`invalid_token`, 401).
    TokenExpired,
    /// The token is valid but lacks a required scope (RFC 6750 `insufficient_scope`, 403).
    InsufficientScope,
    /// The authorization server (introspection, JWKS or discovery) could not give a usable
    /// answer: down, slow, broken or garbage. Fail closed with 503; never cached.
    Unavailable,
    /// The validator is misconfigured, or the authorization server refused our own client
    /// credentials. Fail closed with 500.
    Configuration,
    /// The DPoP proof (RFC 9449 §4.3) is malformed, badly signed, for another request
    /// (`htm`, `htu`, `ath`), too old or too new (`iat`), or replayed (`jti`): 401 with a
    /// `DPoP error="invalid_dpop_proof"` challenge.
    InvalidDpopProof,
    /// The proof lacks a valid server nonce (RFC 9449 §9): 401 with a
    /// `DPoP error="use_dpop_nonce"` challenge and the nonce to use in `DPoP-Nonce`
    /// ([`Error::dpop_nonce`]).
    UseDpopNonce,
}

impl ErrorKind {
    /// The stable string code of this kind, e.g. `"invalid_token"`.
    pub const fn code(self) -> &'static str {
        match self {
            ErrorKind::MissingToken => "missing_token",
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::InvalidToken => "invalid_token",
            ErrorKind::TokenExpired => "token_expired",
            ErrorKind::InsufficientScope => "insufficient_scope",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Configuration => "configuration",
            ErrorKind::InvalidDpopProof => "invalid_dpop_proof",
            ErrorKind::UseDpopNonce => "use_dpop_nonce",
        }
    }

    /// The HTTP status an API should answer with.
    pub const fn http_status(self) -> u16 {
        match self {
            ErrorKind::MissingToken
            | ErrorKind::InvalidToken
            | ErrorKind::TokenExpired
            | ErrorKind::InvalidDpopProof
            | ErrorKind::UseDpopNonce => 401,
            ErrorKind::InvalidRequest => 400,
            ErrorKind::InsufficientScope => 403,
            ErrorKind::Unavailable => 503,
            ErrorKind::Configuration => 500,
        }
    }

    /// The RFC 6750 `error` attribute for `WWW-Authenticate`, if this kind has one.
    pub const fn rfc6750_error(self) -> Option<&'static str> {
        match self {
            ErrorKind::InvalidRequest => Some("invalid_request"),
            ErrorKind::InvalidToken | ErrorKind::TokenExpired => Some("invalid_token"),
            ErrorKind::InsufficientScope => Some("insufficient_scope"),
            ErrorKind::InvalidDpopProof => Some("invalid_dpop_proof"),
            ErrorKind::UseDpopNonce => Some("use_dpop_nonce"),
            ErrorKind::MissingToken | ErrorKind::Unavailable | ErrorKind::Configuration => None,
        }
    }

    /// Parses a stable code back into a kind (for bindings and shared test cases).
    pub fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "missing_token" => ErrorKind::MissingToken,
            "invalid_request" => ErrorKind::InvalidRequest,
            "invalid_token" => ErrorKind::InvalidToken,
            "token_expired" => ErrorKind::TokenExpired,
            "insufficient_scope" => ErrorKind::InsufficientScope,
            "unavailable" => ErrorKind::Unavailable,
            "configuration" => ErrorKind::Configuration,
            "invalid_dpop_proof" => ErrorKind::InvalidDpopProof,
            "use_dpop_nonce" => ErrorKind::UseDpopNonce,
            _ => return None,
        })
    }

    /// Every kind, in a fixed order (for bindings that define one class per kind).
    pub const ALL: [ErrorKind; 9] = [
        ErrorKind::MissingToken,
        ErrorKind::InvalidRequest,
        ErrorKind::InvalidToken,
        ErrorKind::TokenExpired,
        ErrorKind::InsufficientScope,
        ErrorKind::Unavailable,
        ErrorKind::Configuration,
        ErrorKind::InvalidDpopProof,
        ErrorKind::UseDpopNonce,
    ];

    /// Whether this kind is about the DPoP proof rather than the token: its challenge is
    /// always a `DPoP` one.
    pub const fn is_dpop(self) -> bool {
        matches!(self, ErrorKind::InvalidDpopProof | ErrorKind::UseDpopNonce)
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A refusal or failure from this crate.
///
/// The message is fixed by this crate (or, for configuration errors, names the offending
/// field); it never contains token data or secrets, so it is safe to log and to return to
/// clients. Use [`Error::www_authenticate`] for the response header.
pub struct Error {
    kind: ErrorKind,
    detail: Cow<'static, str>,
    required_scopes: Option<Box<[String]>>,
    /// For a 401 with `resource` set: the scopes the operation needs, for the challenge's
    /// `scope` (MCP). Never from the token.
    challenge_scopes: Option<Box<[String]>>,
    /// For a validator that accepts DPoP: what its `DPoP` challenge says (RFC 9449 §7.1).
    dpop: Option<Box<DpopChallenge>>,
    /// Shared, so an error handed to every waiter of a single flight keeps its cause.
    source: Option<std::sync::Arc<dyn std::error::Error + Send + Sync + 'static>>,
}

impl Error {
    /// A new error of `kind` with a fixed, non-sensitive `detail`.
    pub fn new(kind: ErrorKind, detail: impl Into<Cow<'static, str>>) -> Self {
        Error {
            kind,
            detail: detail.into(),
            required_scopes: None,
            challenge_scopes: None,
            dpop: None,
            source: None,
        }
    }

    pub(crate) fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.source = Some(std::sync::Arc::from(source.into()));
        self
    }

    pub(crate) fn invalid_token(detail: &'static str) -> Self {
        Error::new(ErrorKind::InvalidToken, detail)
    }

    pub(crate) fn expired() -> Self {
        Error::new(ErrorKind::TokenExpired, "the access token expired")
    }

    pub(crate) fn unavailable(detail: impl Into<Cow<'static, str>>) -> Self {
        Error::new(ErrorKind::Unavailable, detail)
    }

    pub(crate) fn config(detail: impl Into<Cow<'static, str>>) -> Self {
        Error::new(ErrorKind::Configuration, detail)
    }

    pub(crate) fn insufficient_scope(required: &[String]) -> Self {
        let mut e = Error::new(ErrorKind::InsufficientScope, "the access token lacks a required scope");
        e.required_scopes = Some(required.to_vec().into_boxed_slice());
        e
    }

    /// The category of this error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The stable string code, e.g. `"invalid_token"`.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// The HTTP status an API should answer with (400, 401, 403, 500 or 503).
    pub fn http_status(&self) -> u16 {
        self.kind.http_status()
    }

    /// The fixed, non-sensitive description of this error.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// For `insufficient_scope`: the scopes the call required (from configuration, never
    /// from the token).
    pub fn required_scopes(&self) -> Option<&[String]> {
        self.required_scopes.as_deref()
    }

    /// The RFC 6750 `WWW-Authenticate` header value for this error, or `None` for
    /// server-side failures (500/503), which carry no bearer challenge.
    ///
    /// ```
    /// use bearerguard::{Error, ErrorKind};
    /// let e = Error::new(ErrorKind::InvalidToken, "signature mismatch");
    /// assert_eq!(
    ///     e.www_authenticate(Some("api")).unwrap(),
    ///     r#"Bearer realm="api", error="invalid_token", error_description="The access token is invalid""#
    /// );
    /// ```
    pub fn www_authenticate(&self, realm: Option<&str>) -> Option<String> {
        self.challenge(realm, None)
    }

    /// Records the scopes the refused operation needs, so a 401 challenge can name them
    /// (MCP: `scope` on every 401 of a protected resource). Ignored for other statuses.
    pub(crate) fn with_challenge_scopes(mut self, scopes: Vec<String>) -> Self {
        if self.http_status() == 401 && !scopes.is_empty() {
            self.challenge_scopes = Some(scopes.into_boxed_slice());
        }
        self
    }

    /// The `WWW-Authenticate` value for this error, as RFC 6750 and RFC 9728 §5.1 want it:
    /// `realm` when given; `error` and a fixed `error_description` unless no credentials were
    /// sent; `scope` naming every scope the operation needs (a 403's required scopes, or a
    /// 401's when they were recorded); `resource_metadata` when given. `None` for
    /// server-side failures (500/503), which carry no bearer challenge.
    ///
    /// ```
    /// use bearerguard::{Error, ErrorKind};
    /// let e = Error::new(ErrorKind::MissingToken, "no token");
    /// assert_eq!(
    ///     e.challenge(None, Some("https://h/.well-known/oauth-protected-resource/mcp")).unwrap(),
    ///     r#"Bearer resource_metadata="https://h/.well-known/oauth-protected-resource/mcp""#
    /// );
    /// ```
    pub fn challenge(&self, realm: Option<&str>, resource_metadata: Option<&str>) -> Option<String> {
        let full = self.params(realm, resource_metadata, true)?;
        let dpop_on_error =
            self.kind.is_dpop() || self.dpop.as_ref().is_some_and(|d| d.used_dpop || !d.bearer);
        let Some(dpop) = &self.dpop else {
            return Some(scheme(if self.kind.is_dpop() { "DPoP" } else { "Bearer" }, full));
        };
        // RFC 9449 §7.1: the error goes on the scheme the client used (or the only one
        // offered); the other challenge names the realm only.
        let bare = self.params(realm, resource_metadata, false).unwrap_or_default();
        let (bearer_params, mut dpop_params) = if dpop_on_error { (bare, full) } else { (full, bare) };
        dpop_params.push(format!("algs=\"{}\"", quote_safe(&dpop.algs)));
        let mut challenges = Vec::with_capacity(2);
        if dpop.bearer {
            challenges.push(scheme("Bearer", bearer_params));
        }
        challenges.push(scheme("DPoP", dpop_params));
        Some(challenges.join(", "))
    }

    /// The nonce the client must put in its next DPoP proof (the `DPoP-Nonce` response
    /// header, RFC 9449 §8–9): set on `use_dpop_nonce`, and on any refusal of a validator
    /// with nonces on.
    pub fn dpop_nonce(&self) -> Option<&str> {
        self.dpop.as_ref().and_then(|d| d.nonce.as_deref())
    }

    /// Records what the validator's `DPoP` challenge says.
    pub(crate) fn with_dpop(mut self, challenge: DpopChallenge) -> Self {
        self.dpop = Some(Box::new(challenge));
        self
    }

    /// The auth-params of a challenge: `realm`, then (with `error`) `error`,
    /// `error_description` and `scope`, then `resource_metadata`. `None` for 500/503.
    fn params(
        &self,
        realm: Option<&str>,
        resource_metadata: Option<&str>,
        error: bool,
    ) -> Option<Vec<String>> {
        let mut parts: Vec<String> = Vec::new();
        if let Some(realm) = realm {
            parts.push(format!("realm=\"{}\"", quote_safe(realm)));
        }
        match self.kind {
            ErrorKind::Unavailable | ErrorKind::Configuration => return None,
            _ if !error => {}
            ErrorKind::MissingToken => {
                if let Some(scopes) = &self.challenge_scopes {
                    parts.push(format!("scope=\"{}\"", scope_value(scopes)));
                }
            }
            kind => {
                // Descriptions are fixed per kind (RFC 6750 §3): the detail may be more
                // precise than what a client should learn about why its token failed.
                let description = match kind {
                    ErrorKind::InvalidRequest => "The request is malformed",
                    ErrorKind::TokenExpired => "The access token expired",
                    ErrorKind::InsufficientScope => {
                        "The request requires higher privileges than provided by the access token"
                    }
                    ErrorKind::InvalidDpopProof => "The DPoP proof is invalid",
                    ErrorKind::UseDpopNonce => "The DPoP proof must carry the server nonce",
                    _ => "The access token is invalid",
                };
                if let Some(err) = kind.rfc6750_error() {
                    parts.push(format!("error=\"{err}\""));
                }
                parts.push(format!("error_description=\"{description}\""));
                if let Some(scopes) = self.required_scopes.as_ref().or(self.challenge_scopes.as_ref()) {
                    parts.push(format!("scope=\"{}\"", scope_value(scopes)));
                }
            }
        }
        if let Some(url) = resource_metadata {
            parts.push(format!("resource_metadata=\"{}\"", quote_safe(url)));
        }
        Some(parts)
    }
}

/// What a validator that accepts DPoP puts in its challenges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DpopChallenge {
    /// The accepted proof algorithms, space-separated (`algs`).
    pub algs: String,
    /// A `Bearer` challenge is offered too (DPoP is allowed, not required, or certificate-
    /// bound tokens ride the Bearer scheme).
    pub bearer: bool,
    /// The request used the `DPoP` scheme: the error goes on the `DPoP` challenge.
    pub used_dpop: bool,
    /// The nonce to send as `DPoP-Nonce`, when nonces are on.
    pub nonce: Option<String>,
}

fn scheme(name: &str, params: Vec<String>) -> String {
    if params.is_empty() { name.to_owned() } else { format!("{name} {}", params.join(", ")) }
}

fn scope_value(scopes: &[String]) -> String {
    scopes.iter().map(|s| quote_safe(s)).collect::<Vec<_>>().join(" ")
}

/// Keeps a configured string usable inside a quoted-string: drops `"`, `\` and controls.
fn quote_safe(s: &str) -> String {
    s.chars().filter(|c| *c != '"' && *c != '\\' && !c.is_control()).collect()
}

impl Clone for Error {
    fn clone(&self) -> Self {
        Error {
            kind: self.kind,
            detail: self.detail.clone(),
            required_scopes: self.required_scopes.clone(),
            challenge_scopes: self.challenge_scopes.clone(),
            dpop: self.dpop.clone(),
            source: self.source.clone(),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("code", &self.kind.code()).field("detail", &self.detail);
        if let Some(scopes) = &self.required_scopes {
            d.field("required_scopes", scopes);
        }
        if self.dpop_nonce().is_some() {
            d.field("dpop_nonce", &"[set]");
        }
        if let Some(source) = &self.source {
            d.field("source", &source.to_string());
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.code(), self.detail)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as &(dyn std::error::Error + 'static))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_map_to_statuses() {
        for kind in ErrorKind::ALL {
            assert_eq!(ErrorKind::from_code(kind.code()), Some(kind));
        }
        assert_eq!(ErrorKind::InsufficientScope.http_status(), 403);
        assert_eq!(ErrorKind::Unavailable.http_status(), 503);
        assert_eq!(ErrorKind::Configuration.http_status(), 500);
        assert_eq!(ErrorKind::InvalidRequest.http_status(), 400);
        assert_eq!(ErrorKind::TokenExpired.rfc6750_error(), Some("invalid_token"));
    }

    #[test]
    fn www_authenticate_follows_rfc6750() {
        let missing = Error::new(ErrorKind::MissingToken, "no token");
        assert_eq!(missing.www_authenticate(None).unwrap(), "Bearer");
        assert_eq!(missing.www_authenticate(Some("r")).unwrap(), "Bearer realm=\"r\"");
        let scope = Error::insufficient_scope(&["read".into(), "write".into()]);
        let h = scope.www_authenticate(None).unwrap();
        assert!(h.contains("error=\"insufficient_scope\""), "{h}");
        assert!(h.contains("scope=\"read write\""), "{h}");
        assert!(Error::unavailable("down").www_authenticate(None).is_none());
        let quoted = Error::new(ErrorKind::InvalidToken, "x");
        assert!(!quoted.www_authenticate(Some("a\"b")).unwrap().contains("a\"b"));
    }

    #[test]
    fn challenges_as_mcp_wants_them() {
        let url = Some("https://h/.well-known/oauth-protected-resource/mcp");
        let scopes = || vec!["files:read".to_owned(), "files:write".to_owned()];
        // No credentials sent: no `error`, but `scope` and `resource_metadata`.
        let missing = Error::new(ErrorKind::MissingToken, "no token").with_challenge_scopes(scopes());
        assert_eq!(
            missing.challenge(None, url).unwrap(),
            r#"Bearer scope="files:read files:write", resource_metadata="https://h/.well-known/oauth-protected-resource/mcp""#
        );
        let invalid = Error::invalid_token("aud").with_challenge_scopes(scopes());
        assert_eq!(
            invalid.challenge(None, url).unwrap(),
            r#"Bearer error="invalid_token", error_description="The access token is invalid", scope="files:read files:write", resource_metadata="https://h/.well-known/oauth-protected-resource/mcp""#
        );
        let forbidden = Error::insufficient_scope(&scopes());
        assert_eq!(
            forbidden.challenge(None, url).unwrap(),
            r#"Bearer error="insufficient_scope", error_description="The request requires higher privileges than provided by the access token", scope="files:read files:write", resource_metadata="https://h/.well-known/oauth-protected-resource/mcp""#
        );
        // 503 and 500 carry no challenge, scopes or not; 400 records none.
        assert!(Error::unavailable("down").with_challenge_scopes(scopes()).challenge(None, url).is_none());
        assert!(Error::config("x").challenge(None, url).is_none());
        let bad = Error::new(ErrorKind::InvalidRequest, "x").with_challenge_scopes(scopes());
        assert!(!bad.challenge(None, url).unwrap().contains("scope="));
        // Without a recorded scope list and a metadata URL, the RFC 6750 header is unchanged.
        assert_eq!(Error::new(ErrorKind::MissingToken, "x").challenge(None, None).unwrap(), "Bearer");
    }
}
