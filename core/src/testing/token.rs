//! What a test asks a token to say: [`TokenOptions`], and the claims made from them.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::config::OneOrMany;
use crate::error::{Error, Result};

/// The default subject (`sub`) of minted tokens.
pub const DEFAULT_SUBJECT: &str = "test-user";
/// The default `client_id` claim: the OAuth client the token was issued to.
pub const DEFAULT_TOKEN_CLIENT_ID: &str = "test-client";
/// The default lifetime of minted tokens, in seconds.
pub const DEFAULT_EXPIRES_IN: i64 = 3600;
/// What `expired()` sets `expires_in` to: an hour ago, well past the validator's default 60 s
/// leeway (a token that expired a few seconds ago is still accepted under it).
pub const EXPIRED_EXPIRES_IN: i64 = -3600;

/// The claims of a token to mint (a JWT or an opaque token). Every field is optional: the
/// default is a token for [`DEFAULT_SUBJECT`], no scopes, the server's audience, valid for an
/// hour. From JSON (the bindings), the same names; unknown names are refused.
///
/// ```
/// use bearerguard::testing::TokenOptions;
/// let expired = TokenOptions::new().subject("alice").scope("read").expires_in(-3600);
/// assert_eq!(expired.expires_in, Some(-3600));
/// ```
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct TokenOptions {
    /// `sub`. Default [`DEFAULT_SUBJECT`].
    pub subject: Option<String>,
    /// The scopes, as `scope` (space-separated). A string is split on spaces. Default none.
    pub scope: Option<OneOrMany>,
    /// `aud`. Default: the server's audience (the one its `config()` accepts).
    pub audience: Option<OneOrMany>,
    /// Seconds from now to `exp`; negative mints an expired token (−120 or less is past the
    /// default leeway). Default [`DEFAULT_EXPIRES_IN`].
    pub expires_in: Option<i64>,
    /// `iss`. Default: the server's issuer. Another value mints a token from a wrong issuer.
    pub issuer: Option<String>,
    /// `client_id`. Default [`DEFAULT_TOKEN_CLIENT_ID`].
    pub client_id: Option<String>,
    /// JWS algorithm of a JWT: `RS256` (default), `ES256` or `EdDSA`.
    pub algorithm: Option<String>,
    /// The JWT header's `typ`. Default `at+jwt` (RFC 9068).
    pub typ: Option<String>,
    /// DPoP binding (RFC 9449): `cnf.jkt`, the JWK SHA-256 thumbprint of the client's key.
    pub dpop_jkt: Option<String>,
    /// Certificate binding (RFC 8705): `cnf["x5t#S256"]`, the certificate's SHA-256 thumbprint.
    pub x5t_s256: Option<String>,
    /// Further claims, set last: they replace any claim above (`{"exp": null}` removes `exp`).
    pub claims: Map<String, Value>,
}

impl TokenOptions {
    /// A token with every default.
    pub fn new() -> Self {
        TokenOptions::default()
    }

    /// The options from a JSON object of the field names above.
    pub fn from_value(value: Value) -> Result<Self> {
        if value.is_null() {
            return Ok(TokenOptions::default());
        }
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            Error::config(format!("invalid token options: `{path}`: {}", e.inner()))
        })
    }

    /// Sets `sub`.
    pub fn subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Sets the scopes: one string, split on spaces (`"read write"`).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(OneOrMany(vec![scope.into()]));
        self
    }

    /// Sets `aud`.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(OneOrMany(vec![audience.into()]));
        self
    }

    /// Sets the lifetime in seconds from now (negative: already expired).
    pub fn expires_in(mut self, secs: i64) -> Self {
        self.expires_in = Some(secs);
        self
    }

    /// An expired token: [`EXPIRED_EXPIRES_IN`].
    pub fn expired(self) -> Self {
        self.expires_in(EXPIRED_EXPIRES_IN)
    }

    /// Sets `iss`.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Sets the JWS algorithm (`RS256`, `ES256`, `EdDSA`).
    pub fn algorithm(mut self, alg: impl Into<String>) -> Self {
        self.algorithm = Some(alg.into());
        self
    }

    /// Binds the token to a DPoP key by its JWK thumbprint (`cnf.jkt`).
    pub fn dpop_jkt(mut self, jkt: impl Into<String>) -> Self {
        self.dpop_jkt = Some(jkt.into());
        self
    }

    /// Binds the token to a client certificate by its thumbprint (`cnf["x5t#S256"]`).
    pub fn x5t_s256(mut self, thumbprint: impl Into<String>) -> Self {
        self.x5t_s256 = Some(thumbprint.into());
        self
    }

    /// Sets one further claim (replacing any claim of that name; `Value::Null` removes it).
    pub fn claim(mut self, name: impl Into<String>, value: Value) -> Self {
        self.claims.insert(name.into(), value);
        self
    }

    /// The claims these options make, at `now` (seconds since the epoch), with a fresh `jti`.
    pub(super) fn claims(&self, issuer: &str, audience: &str, now: i64) -> Map<String, Value> {
        let expires_in = self.expires_in.unwrap_or(DEFAULT_EXPIRES_IN);
        let exp = now.saturating_add(expires_in);
        // An expired token was issued before it expired, not in the future.
        let iat = if expires_in > 0 { now } else { exp.saturating_sub(DEFAULT_EXPIRES_IN) };
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(self.issuer.as_deref().unwrap_or(issuer)));
        claims.insert("sub".into(), json!(self.subject.as_deref().unwrap_or(DEFAULT_SUBJECT)));
        let aud = match &self.audience {
            Some(OneOrMany(list)) if list.len() == 1 => json!(list[0]),
            Some(OneOrMany(list)) => json!(list),
            None => json!(audience),
        };
        claims.insert("aud".into(), aud);
        claims
            .insert("client_id".into(), json!(self.client_id.as_deref().unwrap_or(DEFAULT_TOKEN_CLIENT_ID)));
        claims.insert("iat".into(), json!(iat));
        claims.insert("exp".into(), json!(exp));
        claims.insert("jti".into(), json!(uuid::Uuid::new_v4().to_string()));
        if let Some(OneOrMany(scopes)) = &self.scope {
            let joined: Vec<&str> =
                scopes.iter().flat_map(|s| s.split(' ')).filter(|s| !s.is_empty()).collect();
            if !joined.is_empty() {
                claims.insert("scope".into(), json!(joined.join(" ")));
            }
        }
        let mut cnf = Map::new();
        if let Some(jkt) = &self.dpop_jkt {
            cnf.insert("jkt".into(), json!(jkt));
        }
        if let Some(x5t) = &self.x5t_s256 {
            cnf.insert("x5t#S256".into(), json!(x5t));
        }
        if !cnf.is_empty() {
            claims.insert("cnf".into(), Value::Object(cnf));
        }
        for (name, value) in &self.claims {
            if value.is_null() {
                claims.remove(name);
            } else {
                claims.insert(name.clone(), value.clone());
            }
        }
        claims
    }
}
