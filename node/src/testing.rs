//! `NativeTestAuthorizationServer` and `NativeDpopKey`: the core's test kit
//! (`bearerguard::testing`) held by JavaScript objects. Converts arguments and results only;
//! `testing.js` wraps them.

use std::panic::{AssertUnwindSafe, catch_unwind};

use bearerguard::testing::{DpopKey, ProofOptions, ServerOptions, TestAuthorizationServer, TokenOptions};
use napi::{Env, Result};
use napi_derive::napi;
use serde_json::{Value, json};

use crate::errors::Refusal;

/// Runs `f` with panics caught; a core error becomes the JavaScript error for its code.
fn guarded<T>(env: &Env, f: impl FnOnce() -> bearerguard::Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(Refusal::from_core(&e, None).throw(env)),
        Err(_) => Err(Refusal::internal().throw(env)),
    }
}

/// An in-process authorization server on 127.0.0.1 for tests (see `testing.js`).
#[napi]
pub struct NativeTestAuthorizationServer {
    inner: TestAuthorizationServer,
}

#[napi]
impl NativeTestAuthorizationServer {
    /// Starts a server; `options` holds `audience` and `client_id` (both optional).
    #[napi(constructor)]
    pub fn new(env: Env, options: Option<Value>) -> Result<Self> {
        let value = options.unwrap_or(Value::Null);
        let inner = guarded(&env, || TestAuthorizationServer::start_with(ServerOptions::from_value(value)?))?;
        Ok(NativeTestAuthorizationServer { inner })
    }

    /// The issuer identifier, `http://127.0.0.1:<port>`.
    #[napi(getter)]
    pub fn issuer(&self) -> String {
        self.inner.issuer().to_owned()
    }

    /// The audience its tokens carry by default and its config accepts.
    #[napi(getter)]
    pub fn audience(&self) -> String {
        self.inner.audience().to_owned()
    }

    /// The client id of its config.
    #[napi(getter)]
    pub fn client_id(&self) -> String {
        self.inner.client_id().to_owned()
    }

    /// The client secret of its config (a random test secret).
    #[napi(getter)]
    pub fn client_secret(&self) -> String {
        self.inner.client_secret().to_owned()
    }

    /// Whether `close` has run.
    #[napi(getter)]
    pub fn closed(&self) -> bool {
        self.inner.is_closed()
    }

    /// A validator config (core keys) pointing at this server, its client secret included.
    #[napi]
    pub fn config(&self) -> Value {
        self.inner.config_value()
    }

    /// The discovery document it serves.
    #[napi]
    pub fn metadata(&self) -> Value {
        self.inner.metadata()
    }

    /// The public JWKS it serves.
    #[napi]
    pub fn jwks(&self) -> Value {
        self.inner.jwks()
    }

    /// Mints a JWT with the claims `options` (the core's token option names) ask for.
    #[napi]
    pub fn jwt(&self, env: Env, options: Option<Value>) -> Result<String> {
        let value = options.unwrap_or(Value::Null);
        guarded(&env, || self.inner.jwt(&TokenOptions::from_value(value)?))
    }

    /// Mints an opaque token that introspection answers with the claims `options` ask for.
    #[napi]
    pub fn opaque(&self, env: Env, options: Option<Value>) -> Result<String> {
        let value = options.unwrap_or(Value::Null);
        guarded(&env, || self.inner.opaque(&TokenOptions::from_value(value)?))
    }

    /// Revokes a token it minted; whether it knew the token.
    #[napi]
    pub fn revoke(&self, token: String) -> bool {
        self.inner.revoke(&token)
    }

    /// Requests answered so far, per endpoint.
    #[napi]
    pub fn counts(&self) -> Value {
        let c = self.inner.counts();
        json!({"discovery": c.discovery, "jwks": c.jwks, "introspection": c.introspection, "revocation": c.revocation})
    }

    /// Stops the server (idempotent).
    #[napi]
    pub fn close(&mut self) {
        self.inner.close();
    }
}

/// What one DPoP proof says (the core's `ProofOptions`, camelCase in JavaScript).
#[napi(object)]
pub struct NativeProofOptions {
    /// `htm`, e.g. `GET`.
    pub method: String,
    /// `htu`: the request URL (query and fragment are dropped).
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

impl From<NativeProofOptions> for ProofOptions {
    fn from(o: NativeProofOptions) -> Self {
        let mut options = ProofOptions::new(o.method, o.url);
        options.access_token = o.access_token;
        options.nonce = o.nonce;
        options.iat = o.iat;
        options.jti = o.jti;
        options
    }
}

/// A client's DPoP key for tests (P-256, ES256; see `testing.js`). The private key never
/// leaves the core: JavaScript sees the thumbprint, the public JWK and the proofs.
#[napi]
pub struct NativeDpopKey {
    inner: DpopKey,
}

#[napi]
impl NativeDpopKey {
    /// A fresh key.
    #[napi(constructor)]
    pub fn new(env: Env) -> Result<Self> {
        let inner = guarded(&env, DpopKey::generate)?;
        Ok(NativeDpopKey { inner })
    }

    /// The RFC 7638 thumbprint: what a bound token's `cnf.jkt` says.
    #[napi(getter)]
    pub fn thumbprint(&self) -> String {
        self.inner.thumbprint().to_owned()
    }

    /// The public JWK the proofs carry.
    #[napi]
    pub fn public_jwk(&self) -> Value {
        self.inner.public_jwk()
    }

    /// A proof as `options` say.
    #[napi]
    pub fn proof(&self, env: Env, options: NativeProofOptions) -> Result<String> {
        guarded(&env, || self.inner.proof_with(&options.into()))
    }
}
