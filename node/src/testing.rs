//! `NativeTestAuthorizationServer`: the core's test kit (`bearerguard::testing`) held by a
//! JavaScript object. Converts arguments and results only; `testing.js` wraps it.

use std::panic::{AssertUnwindSafe, catch_unwind};

use bearerguard::testing::{ServerOptions, TestAuthorizationServer, TokenOptions};
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
