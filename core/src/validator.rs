//! [`Validator`]: one `validate(token)` for JWTs and opaque tokens.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use jsonwebtoken::Algorithm;
use tokio::sync::{OnceCell, Semaphore};
use url::Url;

use crate::cache::{Entry, Verdict, VerdictCache, identity_digest, log_tag, token_key};
use crate::claims::{ClaimRules, Demands, TokenInfo, TokenSource, check_scopes};
use crate::client_auth::ClientAuth;
use crate::clock::{SharedClock, SystemClock};
use crate::config::{Config, IntrospectionResponseFormat, Secret, Strategy};
use crate::error::{Error, ErrorKind, Result};
use crate::http::{HttpClient, check_url};
use crate::introspection::{Answer, Introspector, token_type_accepted};
use crate::jwks::{Jwks, supported_alg};
use crate::jwt::{TypPolicy, looks_like_jws, parse_compact};

/// Introspection responses larger than this are used but not cached.
const MAX_CACHED_RESPONSE_BYTES: usize = 16 * 1024;

/// After discovery fails, calls within this window fail fast instead of retrying it.
const DISCOVERY_BACKOFF: Duration = Duration::from_secs(2);

/// Validates bearer tokens for one issuer. Cheap to clone; share it across threads and
/// tasks.
///
/// ```no_run
/// # async fn run() -> Result<(), bearerguard::Error> {
/// let validator = bearerguard::Validator::builder("https://auth.example.com", "https://api.example.com")
///     .client_secret_basic("my-api", "s3cret")
///     .build()?;
/// let info = validator.validate_with_scopes("eyJhbGciOi...", &["read"]).await?;
/// println!("subject: {:?}, scopes: {:?}", info.subject, info.scopes);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Validator {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Validator")
            .field("issuer", &self.inner.config.issuer)
            .field("strategy", &self.inner.config.strategy)
            .field("client_auth", &self.inner.auth)
            .finish_non_exhaustive()
    }
}

struct Inner {
    config: Config,
    clock: SharedClock,
    http: HttpClient,
    auth: Arc<ClientAuth>,
    algorithms: Vec<Algorithm>,
    rules: ClaimRules,
    resolved: OnceCell<Arc<Resolved>>,
    discovery_failure: Mutex<Option<(Duration, Error)>>,
    cache: VerdictCache,
}

struct Resolved {
    jwks: Option<Arc<Jwks>>,
    introspector: Option<Arc<Introspector>>,
    identity: [u8; 32],
}

/// Counters for tests, benchmarks and metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// HTTP requests made to the introspection endpoint (retries included).
    pub introspection_requests: u64,
    /// HTTP fetches of the JWKS.
    pub jwks_fetches: u64,
}

impl Validator {
    /// Builds a validator from `config`, checking it and loading keys now. No I/O happens
    /// until the first `validate`.
    pub fn new(config: Config) -> Result<Self> {
        Validator::with_clock(config, Arc::new(SystemClock))
    }

    /// Like [`Validator::new`] with an injected clock (tests drive expiry and TTLs with
    /// [`ManualClock`](crate::ManualClock)).
    pub fn with_clock(config: Config, clock: SharedClock) -> Result<Self> {
        config.check()?;
        let mut algorithms = Vec::with_capacity(config.algorithms.len());
        for name in &config.algorithms {
            if name.eq_ignore_ascii_case("none") || name.starts_with("HS") {
                return Err(Error::config(
                    "`algorithms` may hold only asymmetric algorithms: `none` and HMAC are refused \
                     for keys from a remote JWKS",
                ));
            }
            let alg = supported_alg(name)
                .ok_or_else(|| Error::config("`algorithms` holds an unsupported algorithm"))?;
            if !algorithms.contains(&alg) {
                algorithms.push(alg);
            }
        }
        if algorithms.is_empty() {
            return Err(Error::config("`algorithms` must not be empty"));
        }
        let auth = Arc::new(ClientAuth::from_config(&config)?);
        let http = HttpClient::new(&config.http)?;
        let rules = ClaimRules {
            issuer: config.issuer.clone(),
            audiences: config.audience.0.clone(),
            leeway: config.leeway_secs,
            max_lifetime: config.max_token_lifetime_secs,
            scope_claim: config.scope_claim,
        };
        let cache = VerdictCache::new(config.cache.max_entries, Arc::clone(&clock));
        let inner = Arc::new(Inner {
            config,
            clock,
            http,
            auth,
            algorithms,
            rules,
            resolved: OnceCell::new(),
            discovery_failure: Mutex::new(None),
            cache,
        });
        if !inner.needs_discovery() {
            let resolved = inner.assemble(None)?;
            let _ = inner.resolved.set(resolved);
        }
        Ok(Validator { inner })
    }

    /// Starts a builder for `issuer` and one `audience`.
    pub fn builder(issuer: impl Into<String>, audience: impl Into<String>) -> ValidatorBuilder {
        ValidatorBuilder { config: Config::new(issuer, audience), clock: None }
    }

    /// The configuration this validator was built from (secrets redacted in `Debug`).
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Validates `token` and returns what it says, or a typed refusal.
    pub async fn validate(&self, token: &str) -> Result<Arc<TokenInfo>> {
        self.validate_with_scopes::<&str>(token, &[]).await
    }

    /// Validates `token` and requires every scope in `scopes` (plus the configured
    /// `required_scopes`). Scopes are checked on every call, cache hit or not.
    pub async fn validate_with_scopes<S: AsRef<str>>(
        &self,
        token: &str,
        scopes: &[S],
    ) -> Result<Arc<TokenInfo>> {
        let result = self.inner.decide(token).await;
        let info = match result {
            Ok(info) => info,
            Err(e) => {
                tracing::debug!(token = %log_tag(token), code = e.code(), detail = e.detail(), "token refused");
                return Err(e);
            }
        };
        let required = self.inner.required_scopes(scopes);
        if !required.is_empty() {
            check_scopes(&info, &required)?;
        }
        Ok(info)
    }

    /// Answers at once, without I/O or waiting, when the answer is already known: a
    /// refusal that needs no network, a JWT whose key is in the fresh key set, or a cached
    /// introspection verdict. `None` means "call [`validate_with_scopes`](Self::validate_with_scopes)".
    ///
    /// Bindings use it to skip the thread hop of an async call when nothing would wait; the
    /// rules applied are exactly those of `validate_with_scopes`.
    pub fn validate_now<S: AsRef<str>>(&self, token: &str, scopes: &[S]) -> Option<Result<Arc<TokenInfo>>> {
        let result = self.inner.decide_now(token)?;
        Some(result.and_then(|info| {
            let required = self.inner.required_scopes(scopes);
            if !required.is_empty() {
                check_scopes(&info, &required)?;
            }
            Ok(info)
        }))
    }

    /// Reads the bearer token from an `Authorization` header value and validates it: the
    /// one call a framework adapter needs.
    pub async fn validate_header<S: AsRef<str>>(
        &self,
        authorization: Option<&str>,
        scopes: &[S],
    ) -> Result<Arc<TokenInfo>> {
        let token = crate::header::bearer_token(authorization)?;
        self.validate_with_scopes(token, scopes).await
    }

    /// The `WWW-Authenticate` value for `error` with this validator's realm.
    pub fn www_authenticate(&self, error: &Error) -> Option<String> {
        error.www_authenticate(self.inner.config.realm.as_deref())
    }

    /// Counters of the requests this validator made.
    pub fn stats(&self) -> Stats {
        let Some(resolved) = self.inner.resolved.get() else { return Stats::default() };
        Stats {
            introspection_requests: resolved.introspector.as_ref().map_or(0, |i| i.request_count()),
            jwks_fetches: resolved.jwks.as_ref().map_or(0, |j| j.fetch_count()),
        }
    }

    /// Introspection verdicts held in the cache (runs pending cache maintenance first).
    pub async fn cached_entries(&self) -> u64 {
        self.inner.cache.entry_count().await
    }
}

impl Inner {
    fn wants_jwks(&self) -> bool {
        !matches!(self.config.strategy, Strategy::Introspection)
            || self.config.introspection_response == IntrospectionResponseFormat::Jwt
    }

    fn wants_introspection(&self) -> bool {
        !matches!(self.config.strategy, Strategy::Jwt)
    }

    fn needs_discovery(&self) -> bool {
        self.config.discovery
            && ((self.wants_jwks() && self.config.jwks_uri.is_none())
                || (self.wants_introspection() && self.config.introspection_endpoint.is_none()))
    }

    fn required_scopes<S: AsRef<str>>(&self, scopes: &[S]) -> Vec<String> {
        let mut all = self.config.required_scopes.clone();
        for s in scopes {
            let s = s.as_ref();
            if !all.iter().any(|a| a == s) {
                all.push(s.to_owned());
            }
        }
        all
    }

    /// Builds the JWKS cache and introspector from configured and discovered endpoints.
    fn assemble(&self, discovered: Option<crate::discovery::Metadata>) -> Result<Arc<Resolved>> {
        let c = &self.config;
        let insecure = c.http.allow_insecure_http;
        let discovered = discovered.unwrap_or_default();
        let pick = |field: &str, configured: &Option<String>, found: Option<Url>| -> Result<Option<Url>> {
            match configured {
                Some(u) => check_url(field, u, insecure).map(Some),
                None => Ok(found),
            }
        };
        let jwks_uri = pick("jwks_uri", &c.jwks_uri, discovered.jwks_uri)?;
        let introspection =
            pick("introspection_endpoint", &c.introspection_endpoint, discovered.introspection_endpoint)?;
        let token_endpoint = pick("token_endpoint", &c.token_endpoint, discovered.token_endpoint)?;

        if c.strategy == Strategy::Jwt && jwks_uri.is_none() {
            return Err(Error::config("strategy `jwt` needs a `jwks_uri` (configured or discovered)"));
        }
        if matches!(c.strategy, Strategy::Introspection | Strategy::IntrospectAll) && introspection.is_none()
        {
            return Err(Error::config(
                "this strategy needs an `introspection_endpoint` (configured or discovered)",
            ));
        }
        if jwks_uri.is_none() && introspection.is_none() {
            return Err(Error::config("neither a `jwks_uri` nor an `introspection_endpoint` is known"));
        }
        let jwks = jwks_uri
            .filter(|_| self.wants_jwks())
            .map(|url| Arc::new(Jwks::new(url, self.http.clone(), Arc::clone(&self.clock), c.jwks.clone())));
        let signed = match c.introspection_response {
            IntrospectionResponseFormat::Json => None,
            IntrospectionResponseFormat::Jwt => Some((
                jwks.clone()
                    .ok_or_else(|| Error::config("signed introspection responses need a `jwks_uri`"))?,
                self.algorithms.clone(),
            )),
        };
        let introspector = introspection.filter(|_| self.wants_introspection()).map(|endpoint| {
            Arc::new(Introspector {
                endpoint,
                http: self.http.clone(),
                auth: Arc::clone(&self.auth),
                issuer: c.issuer.clone(),
                token_endpoint,
                semaphore: Semaphore::new(c.http.max_concurrent_requests),
                retry: c.http.retry,
                max_bytes: c.http.max_response_bytes,
                signed,
                clock: Arc::clone(&self.clock),
                requests: Default::default(),
            })
        });
        // Two validators share a cached verdict only if everything that shapes it agrees.
        let audiences = c.audience.0.join("\n");
        let endpoint = introspector.as_ref().map(|i| i.endpoint.to_string()).unwrap_or_default();
        let client = self.auth.client_id().unwrap_or("");
        let auth_kind = format!("{:?}", c.client_auth);
        let identity = identity_digest(&[&c.issuer, &endpoint, client, &auth_kind, &audiences]);
        Ok(Arc::new(Resolved { jwks, introspector, identity }))
    }

    async fn resolve(&self) -> Result<Arc<Resolved>> {
        if let Some(r) = self.resolved.get() {
            return Ok(Arc::clone(r));
        }
        if let Some((at, e)) = &*self.discovery_failure.lock().unwrap_or_else(|p| p.into_inner())
            && self.clock.now() < *at + DISCOVERY_BACKOFF
        {
            return Err(Error::new(e.kind(), e.detail().to_owned()));
        }
        let result = self
            .resolved
            .get_or_try_init(|| async {
                let metadata = crate::discovery::discover(
                    &self.http,
                    &self.config.issuer,
                    self.config.http.allow_insecure_http,
                )
                .await?;
                self.assemble(Some(metadata))
            })
            .await;
        match result {
            Ok(r) => Ok(Arc::clone(r)),
            Err(e) => {
                tracing::warn!(issuer = %self.config.issuer, error = %e, "discovery failed");
                *self.discovery_failure.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some((self.clock.now(), Error::new(e.kind(), e.detail().to_owned())));
                Err(e)
            }
        }
    }

    /// Everything `decide` does before any I/O: the cheap refusals, and for JWTs the
    /// keyless parse and the claim checks.
    fn precheck<'t>(&self, token: &'t str) -> Result<Option<(crate::jwt::ParsedJws<'t>, TokenInfo)>> {
        if token.is_empty() {
            return Err(Error::new(ErrorKind::MissingToken, "no bearer token in the request"));
        }
        if token.len() > self.config.max_token_bytes {
            return Err(Error::invalid_token("the token is over the size limit"));
        }
        if !crate::header::is_b64token(token) {
            return Err(Error::invalid_token("the token has characters a bearer token cannot have"));
        }
        let strategy = self.config.strategy;
        let parse = || parse_compact(token, &self.algorithms, self.config.max_token_bytes, self.typ_policy());
        // Route without parsing twice: a token that parses is a JWS; one that fails is refused
        // if it looks like a JWS (its header names an `alg`) and introspected otherwise.
        let parsed = match strategy {
            Strategy::Introspection => None,
            _ => match parse() {
                Ok(jws) => Some(jws),
                // `jwt` only: the parser's refusal says what is wrong (JWE, JSON, ...).
                Err(e) if strategy == Strategy::Jwt || looks_like_jws(token) => return Err(e),
                Err(_) => None,
            },
        };
        let checked = if let Some(mut jws) = parsed {
            let demands =
                Demands { registered_claims_required: true, rfc9068_strict: self.config.rfc9068_strict };
            // Claims are read before the signature only to reject early; the info built
            // here is returned only after the signature verifies.
            let info = self.rules.check(
                std::mem::take(&mut jws.payload),
                self.clock.now(),
                demands,
                TokenSource::Jwt,
                jws.typ.clone(),
            )?;
            Some((jws, info))
        } else {
            None
        };
        Ok(checked)
    }

    fn decide_now(&self, token: &str) -> Option<Result<Arc<TokenInfo>>> {
        let checked = match self.precheck(token) {
            Ok(c) => c,
            Err(e) => return Some(Err(e)),
        };
        let resolved = self.resolved.get()?;
        if let (Some((jws, info)), Some(jwks)) = (checked, &resolved.jwks) {
            if self.config.strategy == Strategy::IntrospectAll {
                return None;
            }
            let set = jwks.fresh_set()?;
            return match set.select(jws.alg, jws.kid.as_deref()) {
                crate::jwks::Selection::Found(key) => Some(jws.verify(key).map(|()| Arc::new(info))),
                crate::jwks::Selection::Ambiguous => {
                    Some(Err(Error::invalid_token("more than one key fits the token")))
                }
                crate::jwks::Selection::NotFound => None,
            };
        }
        match &resolved.introspector {
            None => Some(Err(Error::invalid_token("this validator accepts only JWTs it can verify"))),
            Some(_) => self.cache.get_now(&token_key(&resolved.identity, token)).map(|v| v.to_result()),
        }
    }

    async fn decide(&self, token: &str) -> Result<Arc<TokenInfo>> {
        let checked = self.precheck(token)?;
        let strategy = self.config.strategy;
        let resolved = self.resolve().await?;
        if let (Some((jws, info)), Some(jwks)) = (checked, &resolved.jwks) {
            jwks.with_key(jws.alg, jws.kid.as_deref(), |key| jws.verify(key)).await?;
            if strategy != Strategy::IntrospectAll {
                return Ok(Arc::new(info));
            }
        }
        match &resolved.introspector {
            Some(introspector) => self.introspect(&resolved, introspector, token).await,
            None => Err(Error::invalid_token("this validator accepts only JWTs it can verify")),
        }
    }

    fn typ_policy(&self) -> TypPolicy {
        TypPolicy::AccessToken { strict: self.config.rfc9068_strict }
    }

    async fn introspect(
        &self,
        resolved: &Resolved,
        introspector: &Introspector,
        token: &str,
    ) -> Result<Arc<TokenInfo>> {
        let key = token_key(&resolved.identity, token);
        let fetch = async {
            let (answer, size) = introspector.introspect(token).await?;
            let now = self.clock.now();
            let cache = &self.config.cache;
            let negative = Duration::from_secs(cache.negative_ttl_secs);
            let (verdict, mut ttl) = match answer {
                Answer::Inactive => {
                    (Verdict::Refused(ErrorKind::InvalidToken, "the token is not active".into()), negative)
                }
                Answer::Active(claims) => {
                    let checked = token_type_accepted(claims.get("token_type")).and_then(|token_type| {
                        let demands = Demands { registered_claims_required: false, rfc9068_strict: false };
                        self.rules.check(claims, now, demands, TokenSource::Introspection, token_type)
                    });
                    match checked {
                        Ok(mut info) => {
                            // The parsed map has room to grow; a cached verdict never will.
                            info.claims = std::mem::take(&mut info.claims).into_iter().collect();
                            let until_exp = info
                                .expires_at
                                .map(|exp| {
                                    Duration::from_secs(u64::try_from(exp).unwrap_or(0)).saturating_sub(now)
                                })
                                .unwrap_or(Duration::MAX);
                            let ttl = Duration::from_secs(cache.max_ttl_secs).min(until_exp);
                            (Verdict::Active(Arc::new(info)), ttl)
                        }
                        Err(e) if matches!(e.kind(), ErrorKind::InvalidToken | ErrorKind::TokenExpired) => {
                            (Verdict::Refused(e.kind(), e.detail().to_owned().into()), negative)
                        }
                        Err(e) => return Err(e),
                    }
                }
            };
            if !cache.enabled || size > MAX_CACHED_RESPONSE_BYTES {
                ttl = Duration::ZERO;
            }
            Ok(Entry { verdict: Arc::new(verdict), expires_at: now + ttl, ttl })
        };
        self.cache.get_or_fetch(key, fetch).await?.to_result()
    }
}

/// Builds a [`Validator`] step by step; every setter maps to one [`Config`] field.
#[derive(Debug, Clone)]
#[must_use]
pub struct ValidatorBuilder {
    config: Config,
    clock: Option<SharedClock>,
}

impl ValidatorBuilder {
    /// Adds an accepted audience.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.config.audience.0.push(audience.into());
        self
    }
    /// Sets the strategy.
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.config.strategy = strategy;
        self
    }
    /// Turns discovery on or off.
    pub fn discovery(mut self, on: bool) -> Self {
        self.config.discovery = on;
        self
    }
    /// Sets the introspection endpoint.
    pub fn introspection_endpoint(mut self, url: impl Into<String>) -> Self {
        self.config.introspection_endpoint = Some(url.into());
        self
    }
    /// Sets the JWKS location.
    pub fn jwks_uri(mut self, url: impl Into<String>) -> Self {
        self.config.jwks_uri = Some(url.into());
        self
    }
    /// Authenticates with HTTP Basic.
    pub fn client_secret_basic(mut self, client_id: impl Into<String>, secret: impl Into<String>) -> Self {
        self.config.client_id = Some(client_id.into());
        self.config.client_secret = Some(Secret::new(secret));
        self.config.client_auth = Some(crate::ClientAuthMethod::ClientSecretBasic);
        self
    }
    /// Authenticates with `client_id`/`client_secret` in the form body.
    pub fn client_secret_post(mut self, client_id: impl Into<String>, secret: impl Into<String>) -> Self {
        self.config.client_id = Some(client_id.into());
        self.config.client_secret = Some(Secret::new(secret));
        self.config.client_auth = Some(crate::ClientAuthMethod::ClientSecretPost);
        self
    }
    /// Authenticates with a private key (PEM or private JWK).
    pub fn private_key_jwt(mut self, client_id: impl Into<String>, private_key: impl Into<String>) -> Self {
        self.config.client_id = Some(client_id.into());
        self.config.private_key = Some(Secret::new(private_key));
        self.config.client_auth = Some(crate::ClientAuthMethod::PrivateKeyJwt);
        self
    }
    /// Authenticates with a ZITADEL application key file.
    pub fn key_file(mut self, path: impl Into<String>) -> Self {
        self.config.key_file = Some(path.into());
        self.config.client_auth = Some(crate::ClientAuthMethod::PrivateKeyJwt);
        self
    }
    /// Sets the clock skew allowed, in seconds.
    pub fn leeway_secs(mut self, secs: u64) -> Self {
        self.config.leeway_secs = secs;
        self
    }
    /// Requires these scopes on every call.
    pub fn required_scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.config.required_scopes = scopes.into_iter().map(Into::into).collect();
        self
    }
    /// Uses `clock` instead of the system clock.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }
    /// Changes any other field.
    pub fn configure(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(&mut self.config);
        self
    }
    /// Checks the config and builds the validator.
    pub fn build(self) -> Result<Validator> {
        match self.clock {
            Some(clock) => Validator::with_clock(self.config, clock),
            None => Validator::new(self.config),
        }
    }
}
