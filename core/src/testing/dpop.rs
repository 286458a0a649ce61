//! A client's DPoP key for tests: it makes good proofs (RFC 9449 §4.2), and the thumbprint a
//! bound token names (`TokenOptions::dpop_jkt`).

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};

use crate::error::{Error, ErrorKind, Result};

fn failed(what: &str) -> Error {
    Error::new(ErrorKind::Unavailable, format!("test DPoP key: {what}"))
}

/// What one proof says; every field but `method` and `url` is optional. `Debug` shows whether
/// a token and a nonce are set, not what they are.
#[derive(Clone, Default, PartialEq)]
#[non_exhaustive]
pub struct ProofOptions {
    /// `htm`, e.g. `GET`.
    pub method: String,
    /// `htu`: the request URL (query and fragment are dropped, as RFC 9449 §4.2 asks).
    pub url: String,
    /// The access token the proof goes with (`ath`); none leaves `ath` out.
    pub access_token: Option<String>,
    /// The server nonce (`nonce`), when the server asked for one.
    pub nonce: Option<String>,
    /// `iat`, seconds since the epoch. Default: now.
    pub iat: Option<i64>,
    /// `jti`. Default: 16 random bytes, base64url.
    pub jti: Option<String>,
}

impl std::fmt::Debug for ProofOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProofOptions")
            .field("method", &self.method)
            .field("url", &self.url)
            .field("access_token", &self.access_token.as_ref().map(|_| "<redacted>"))
            .field("nonce", &self.nonce.as_ref().map(|_| "<redacted>"))
            .field("iat", &self.iat)
            .field("jti", &self.jti)
            .finish()
    }
}

impl ProofOptions {
    /// A proof for `method` and `url`.
    pub fn new(method: impl Into<String>, url: impl Into<String>) -> Self {
        ProofOptions { method: method.into(), url: url.into(), ..ProofOptions::default() }
    }

    /// Binds the proof to `token` (`ath`).
    #[must_use]
    pub fn access_token(mut self, token: impl Into<String>) -> Self {
        self.access_token = Some(token.into());
        self
    }

    /// Carries the server's nonce.
    #[must_use]
    pub fn nonce(mut self, nonce: impl Into<String>) -> Self {
        self.nonce = Some(nonce.into());
        self
    }

    /// Sets `iat`.
    #[must_use]
    pub fn iat(mut self, iat: i64) -> Self {
        self.iat = Some(iat);
        self
    }

    /// Sets `jti`.
    #[must_use]
    pub fn jti(mut self, jti: impl Into<String>) -> Self {
        self.jti = Some(jti.into());
        self
    }
}

/// A client's key pair that signs DPoP proofs: P-256 (ES256) by default, or Ed25519 or RSA.
/// `Debug` shows the algorithm and the thumbprint only.
///
/// ```
/// use bearerguard::testing::{DpopKey, ProofOptions, TestAuthorizationServer, TokenOptions};
/// use bearerguard::{Request, SenderConstraint, Validator};
/// # async fn run() -> Result<(), bearerguard::Error> {
/// let server = TestAuthorizationServer::start()?;
/// let mut config = server.config();
/// config.sender_constraint = SenderConstraint::Allow;
/// let validator = Validator::new(config)?;
///
/// let key = DpopKey::generate()?;
/// let token = server.jwt(&TokenOptions::new().dpop_jkt(key.thumbprint()))?;
/// let url = "https://api.example.test/orders";
/// let proof = key.proof("GET", url, &token)?;
/// let request = Request::new().method("GET").url(url).authorization(format!("DPoP {token}")).dpop(proof);
/// assert!(validator.decide(&request).await.is_ok());
/// // The same proof again is a replay.
/// assert_eq!(validator.decide(&request).await.unwrap_err().code(), "invalid_dpop_proof");
/// # Ok(()) }
/// # tokio::runtime::Runtime::new().unwrap().block_on(run()).unwrap();
/// ```
pub struct DpopKey {
    key: super::keys::SigningKey,
    jwk: Map<String, Value>,
    thumbprint: String,
}

impl std::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopKey")
            .field("alg", &self.key.alg)
            .field("thumbprint", &self.thumbprint)
            .finish_non_exhaustive()
    }
}

impl DpopKey {
    /// A fresh P-256 key (ES256, what DPoP clients use most).
    pub fn generate() -> Result<Self> {
        Self::generate_for("ES256")
    }

    /// A fresh key for `alg`: `ES256`, `EdDSA` or `RS256` (a 2048-bit key).
    pub fn generate_for(alg: &str) -> Result<Self> {
        let key = super::keys::generate_for(alg)?;
        let Value::Object(mut jwk) = key.public_jwk.clone() else { return Err(failed("JWK")) };
        // A client's proof key is the key alone: no key id, use or alg (the proof's header
        // says the alg).
        for member in ["kid", "use", "alg"] {
            jwk.remove(member);
        }
        let thumbprint = crate::dpop::jwk_thumbprint(&jwk).ok_or_else(|| failed("thumbprint"))?;
        Ok(DpopKey { key, jwk, thumbprint })
    }

    /// The proofs' `alg`.
    pub fn algorithm(&self) -> &'static str {
        match self.key.alg {
            jsonwebtoken::Algorithm::RS256 => "RS256",
            jsonwebtoken::Algorithm::EdDSA => "EdDSA",
            _ => "ES256",
        }
    }

    /// The RFC 7638 thumbprint: what a bound token's `cnf.jkt` says.
    pub fn thumbprint(&self) -> &str {
        &self.thumbprint
    }

    /// The public JWK the proofs carry.
    pub fn public_jwk(&self) -> Value {
        Value::Object(self.jwk.clone())
    }

    /// A good proof for `method` and `url` with `access_token`, issued now.
    pub fn proof(&self, method: &str, url: &str, access_token: &str) -> Result<String> {
        self.proof_with(&ProofOptions::new(method, url).access_token(access_token))
    }

    /// A proof as `options` say.
    pub fn proof_with(&self, options: &ProofOptions) -> Result<String> {
        let header = json!({"typ": "dpop+jwt", "alg": self.algorithm(), "jwk": self.jwk});
        let iat = match options.iat {
            Some(iat) => iat,
            None => SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64),
        };
        let jti = match &options.jti {
            Some(jti) => jti.clone(),
            None => super::keys::random_string(16)?,
        };
        let htu = options.url.split(['?', '#']).next().unwrap_or_default();
        let mut claims = json!({"jti": jti, "htm": options.method, "htu": htu, "iat": iat});
        if let Some(token) = &options.access_token {
            claims["ath"] = json!(crate::dpop::access_token_hash(token));
        }
        if let Some(nonce) = &options.nonce {
            claims["nonce"] = json!(nonce);
        }
        let encode = |v: &Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let signing_input = format!("{}.{}", encode(&header), encode(&claims));
        let signature =
            jsonwebtoken::crypto::sign(signing_input.as_bytes(), &self.key.encoding, self.key.alg)
                .map_err(|_| failed("signing failed"))?;
        Ok(format!("{signing_input}.{signature}"))
    }
}
