//! A test kit for the tests of an API protected by bearerguard (cargo feature `testing`).
//!
//! [`TestAuthorizationServer::start`] runs an OAuth 2.0 authorization server in the process, on
//! `127.0.0.1` and a free port, on a thread of its own (its own Tokio runtime, so synchronous
//! tests can use it as well as async ones). It serves what a validator needs, over real HTTP:
//!
//! | path | what |
//! | --- | --- |
//! | `/.well-known/openid-configuration`, `/.well-known/oauth-authorization-server` | the discovery document |
//! | `/jwks` | the public keys (RS256, ES256, EdDSA; generated at start) |
//! | `/introspect` | RFC 7662, for the client it hands out (`client_secret_basic` or `client_secret_post`; anything else is 401) |
//! | `/revoke` | RFC 7009, same client |
//!
//! It mints whatever token a test asks for ([`TokenOptions`]): a JWT ([`jwt`](TestAuthorizationServer::jwt))
//! or an opaque token ([`opaque`](TestAuthorizationServer::opaque)), valid, expired, for
//! another audience, with any scopes, DPoP- or certificate-bound, with any claims; a
//! [`DpopKey`] makes the proofs for DPoP-bound ones. And it hands
//! back a [`Config`] pointing at itself ([`config`](TestAuthorizationServer::config)), which
//! [`Validator::new`](crate::Validator::new) takes as it is.
//!
//! **Revocation** ([`revoke`](TestAuthorizationServer::revoke) or `POST /revoke`) makes
//! introspection answer `active: false` for the token. An opaque token is always introspected,
//! so a revoked one is refused. A JWT is validated locally under the default `auto` strategy, and
//! revoking it changes nothing, exactly as with a real server; under the `introspect_all`
//! strategy it is introspected too, and refused once revoked. A validator reuses an
//! introspection answer for up to `cache.max_ttl_secs`: revoke a token before its first use, or
//! turn the cache off, to see the refusal at once.
//!
//! This is for tests only: it signs any token it is asked for. Never point a production
//! validator at it.
//!
//! ```
//! use bearerguard::Validator;
//! use bearerguard::testing::{TestAuthorizationServer, TokenOptions};
//! # async fn run() -> Result<(), bearerguard::Error> {
//! let server = TestAuthorizationServer::start()?;
//! let validator = Validator::new(server.config())?;
//!
//! let token = server.jwt(&TokenOptions::new().subject("alice").scope("read"))?;
//! assert_eq!(validator.validate_with_scopes(&token, &["read"]).await?.subject.as_deref(), Some("alice"));
//!
//! let expired = server.jwt(&TokenOptions::new().expired())?;
//! assert_eq!(validator.validate(&expired).await.unwrap_err().code(), "token_expired");
//!
//! let opaque = server.opaque(&TokenOptions::new().scope("read"))?;
//! server.revoke(&opaque);
//! assert_eq!(validator.validate(&opaque).await.unwrap_err().code(), "invalid_token");
//! assert_eq!(server.counts().introspection, 1);
//! # Ok(()) }
//! # tokio::runtime::Runtime::new().unwrap().block_on(run()).unwrap();
//! ```

mod dpop;
mod keys;
mod routes;
mod token;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, Header};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

pub use dpop::{DpopKey, ProofOptions};
pub use keys::SIGNING_ALGORITHMS;
pub use token::{
    DEFAULT_EXPIRES_IN, DEFAULT_SUBJECT, DEFAULT_TOKEN_CLIENT_ID, EXPIRED_EXPIRES_IN, TokenOptions,
};

use crate::config::{ClientAuthConfig, ClientAuthMethod, Config, OneOrMany, Secret};
use crate::error::{Error, ErrorKind, Result};

/// The audience of the server's tokens and config unless [`ServerOptions::audience`] says
/// otherwise.
pub const DEFAULT_AUDIENCE: &str = "https://api.example.test";
/// The client id the server's config introspects with.
pub const DEFAULT_CLIENT_ID: &str = "test-api";

/// How the server is set up (from JSON in the bindings: the same names, unknown ones refused).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
#[non_exhaustive]
pub struct ServerOptions {
    /// The audience its tokens carry and its config accepts. Default [`DEFAULT_AUDIENCE`].
    pub audience: Option<String>,
    /// The client id its config introspects with. Default [`DEFAULT_CLIENT_ID`].
    pub client_id: Option<String>,
}

impl ServerOptions {
    /// The options from a JSON object (`null`: every default).
    pub fn from_value(value: Value) -> Result<Self> {
        if value.is_null() {
            return Ok(ServerOptions::default());
        }
        serde_json::from_value(value).map_err(|e| Error::config(format!("invalid test server options: {e}")))
    }
}

/// Requests the server answered, per endpoint (every request, refused ones included).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct RequestCounts {
    /// Discovery documents served (both well-known paths).
    pub discovery: u64,
    /// JWKS documents served.
    pub jwks: u64,
    /// Introspection requests.
    pub introspection: u64,
    /// Revocation requests.
    pub revocation: u64,
}

#[derive(Default)]
struct Counts {
    discovery: AtomicU64,
    jwks: AtomicU64,
    introspection: AtomicU64,
    revocation: AtomicU64,
}

/// A token the server minted: its claims, and whether it was revoked.
struct Minted {
    claims: Map<String, Value>,
    revoked: bool,
}

/// What the HTTP handlers and the owner share.
struct Shared {
    issuer: String,
    audience: String,
    client_id: String,
    client_secret: String,
    keys: keys::Keys,
    counts: Counts,
    tokens: Mutex<HashMap<String, Minted>>,
}

fn now() -> i64 {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
    i64::try_from(secs).unwrap_or(i64::MAX)
}

impl Shared {
    fn remember(&self, token: &str, claims: Map<String, Value>) {
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        tokens.insert(token.to_owned(), Minted { claims, revoked: false });
    }

    fn revoke(&self, token: &str) -> bool {
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        match tokens.get_mut(token) {
            Some(minted) => {
                minted.revoked = true;
                true
            }
            None => false,
        }
    }

    /// RFC 7662 §2.2: the claims of a token it minted that is neither revoked nor expired,
    /// else `active: false`.
    fn introspection_answer(&self, token: &str) -> Value {
        let tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        match tokens.get(token) {
            Some(minted)
                if !minted.revoked
                    && minted.claims.get("exp").and_then(Value::as_i64).is_none_or(|exp| exp > now()) =>
            {
                let mut answer = Map::new();
                answer.insert("active".into(), Value::Bool(true));
                answer.extend(minted.claims.iter().map(|(k, v)| (k.clone(), v.clone())));
                Value::Object(answer)
            }
            _ => json!({"active": false}),
        }
    }
}

/// An in-process authorization server for tests; see the [module documentation](self).
/// It stops when dropped (or at [`close`](Self::close)).
pub struct TestAuthorizationServer {
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

fn unavailable(what: &str, e: impl fmt::Display) -> Error {
    Error::new(ErrorKind::Unavailable, format!("test authorization server: {what}: {e}"))
}

impl TestAuthorizationServer {
    /// Starts a server with every default ([`ServerOptions`]).
    pub fn start() -> Result<Self> {
        Self::start_with(ServerOptions::default())
    }

    /// Starts a server on `127.0.0.1` and a free port, with fresh keys and a fresh client
    /// secret. Returns once it accepts connections.
    pub fn start_with(options: ServerOptions) -> Result<Self> {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).map_err(|e| unavailable("bind", e))?;
        listener.set_nonblocking(true).map_err(|e| unavailable("bind", e))?;
        let addr = listener.local_addr().map_err(|e| unavailable("bind", e))?;
        let shared = Arc::new(Shared {
            issuer: format!("http://{addr}"),
            audience: options.audience.unwrap_or_else(|| DEFAULT_AUDIENCE.to_owned()),
            client_id: options.client_id.unwrap_or_else(|| DEFAULT_CLIENT_ID.to_owned()),
            client_secret: keys::random_string(24)?,
            keys: keys::Keys::generate()?,
            counts: Counts::default(),
            tokens: Mutex::new(HashMap::new()),
        });
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| unavailable("runtime", e))?;
        let router = routes::router(Arc::clone(&shared));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("bearerguard-test-as".into())
            .spawn(move || {
                runtime.block_on(async move {
                    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
                    let serve = std::future::IntoFuture::into_future(::axum::serve(listener, router));
                    tokio::select! {
                        _ = serve => {}
                        _ = stopped => {}
                    }
                });
                // Dropping the runtime here ends every connection task.
            })
            .map_err(|e| unavailable("thread", e))?;
        Ok(TestAuthorizationServer { shared, stop: Some(stop), thread: Some(thread) })
    }

    /// The issuer identifier, `http://127.0.0.1:<port>`; also the base of every endpoint.
    pub fn issuer(&self) -> &str {
        &self.shared.issuer
    }

    /// The audience its tokens carry by default and its config accepts.
    pub fn audience(&self) -> &str {
        &self.shared.audience
    }

    /// The client id of its config (the client allowed to introspect and revoke).
    pub fn client_id(&self) -> &str {
        &self.shared.client_id
    }

    /// The client secret of its config: a random test secret, new for every server.
    pub fn client_secret(&self) -> &str {
        &self.shared.client_secret
    }

    /// The discovery document it serves.
    pub fn metadata(&self) -> Value {
        routes::metadata(&self.shared.issuer)
    }

    /// The public JWKS it serves.
    pub fn jwks(&self) -> Value {
        self.shared.keys.jwks()
    }

    /// A validator config pointing at this server: its issuer (endpoints by discovery), its
    /// audience, and its client credentials (`client_secret_basic`) for introspection; every
    /// other field at its default, as in production.
    pub fn config(&self) -> Config {
        Config {
            issuer: self.shared.issuer.clone(),
            audience: OneOrMany(vec![self.shared.audience.clone()]),
            client_auth: ClientAuthConfig {
                method: Some(ClientAuthMethod::ClientSecretBasic),
                client_id: Some(self.shared.client_id.clone()),
                client_secret: Some(Secret::new(self.shared.client_secret.clone())),
                ..ClientAuthConfig::default()
            },
            ..Config::default()
        }
    }

    /// [`config`](Self::config) as the JSON object a binding's validator takes. Unlike
    /// `Config`'s own serialization, it carries the client secret (the server's test secret).
    pub fn config_value(&self) -> Value {
        json!({
            "issuer": self.shared.issuer,
            "audience": self.shared.audience,
            "client_auth": {
                "method": "client_secret_basic",
                "client_id": self.shared.client_id,
                "client_secret": self.shared.client_secret,
            },
        })
    }

    /// Mints a signed JWT access token (RFC 9068 shape: header `typ: at+jwt`, `kid` of a key in
    /// its JWKS) with the claims `options` ask for. Introspection knows it too.
    pub fn jwt(&self, options: &TokenOptions) -> Result<String> {
        let alg_name = options.algorithm.as_deref().unwrap_or("RS256");
        let alg: Algorithm = alg_name.parse().map_err(|_| {
            Error::config(format!(
                "invalid token options: `algorithm`: one of {}",
                SIGNING_ALGORITHMS.join(", ")
            ))
        })?;
        let key = self.shared.keys.for_alg(alg)?;
        let claims = options.claims(&self.shared.issuer, &self.shared.audience, now());
        let mut header = Header::new(alg);
        header.kid = Some(key.kid.clone());
        header.typ = Some(options.typ.clone().unwrap_or_else(|| "at+jwt".to_owned()));
        let token = jsonwebtoken::encode(&header, &claims, &key.encoding)
            .map_err(|e| unavailable("signing failed", e))?;
        self.shared.remember(&token, claims);
        Ok(token)
    }

    /// Mints an opaque token (random, not a JWT) that introspection answers with the claims
    /// `options` ask for: active while it is neither expired nor revoked.
    pub fn opaque(&self, options: &TokenOptions) -> Result<String> {
        let token = keys::random_string(32)?;
        let claims = options.claims(&self.shared.issuer, &self.shared.audience, now());
        self.shared.remember(&token, claims);
        Ok(token)
    }

    /// Revokes a token it minted: introspection answers `active: false` for it from now on.
    /// Returns whether it knew the token. (A JWT validated locally is unaffected; see the
    /// [module documentation](self).)
    pub fn revoke(&self, token: &str) -> bool {
        self.shared.revoke(token)
    }

    /// The requests answered so far, per endpoint.
    pub fn counts(&self) -> RequestCounts {
        let c = &self.shared.counts;
        RequestCounts {
            discovery: c.discovery.load(Ordering::Relaxed),
            jwks: c.jwks.load(Ordering::Relaxed),
            introspection: c.introspection.load(Ordering::Relaxed),
            revocation: c.revocation.load(Ordering::Relaxed),
        }
    }

    /// Stops the server and waits for its thread; later requests are refused. Idempotent.
    pub fn close(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }

    /// Whether [`close`](Self::close) has run.
    pub fn is_closed(&self) -> bool {
        self.thread.is_none()
    }
}

impl Drop for TestAuthorizationServer {
    fn drop(&mut self) {
        self.close();
    }
}

impl fmt::Debug for TestAuthorizationServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestAuthorizationServer")
            .field("issuer", &self.shared.issuer)
            .field("audience", &self.shared.audience)
            .field("client_id", &self.shared.client_id)
            .field("client_secret", &"[redacted]")
            .field("closed", &self.is_closed())
            .finish_non_exhaustive()
    }
}
