//! [`Validator`]: one decision about a request, whatever its token.
//!
//! Every entry point — [`decide`](Validator::decide) for a whole request, the
//! [`validate`](Validator::validate) conveniences for a bare token — reaches one place,
//! `Inner::decide`, which answers at once when no I/O is needed ([`Decision::Ready`]) and
//! hands back a future otherwise ([`Decision::Pending`]). Every decision, ready or awaited,
//! passes `Inner::finish`, the one place that logs and counts. The path runs downward:
//! request → header → route → jwt | cache → introspection → http.

use std::sync::Arc;
use std::time::Duration;

use crate::binding::{Binding, Presented};
use crate::builder::ValidatorBuilder;
use crate::cache::{VerdictCache, log_tag, token_key};
use crate::claims::{ClaimRules, TokenInfo};
use crate::client_auth::ClientAuth;
use crate::clock::{SharedClock, SystemClock};
use crate::config::Config;
use crate::endpoints::{Endpoints, Resolved};
use crate::error::{Error, Result};
use crate::header::Scheme;
use crate::http::HttpClient;
use crate::introspection::Introspector;
use crate::issuers::{Common, IssuerResolver, Issuers};
use crate::jwks::{KeySet, Selection};
use crate::metrics::{Metrics, Via};
use crate::request::{Decision, Pending, Request};
use crate::resource::ResourceMetadata;
use crate::route::{Route, Router};
use crate::scopes::ScopeRules;
use crate::shared::{Lookup, ProofRecord, SharedTier};
use crate::stats::Stats;
use crate::verdict::VerdictPolicy;
use crate::verified::VerifiedJwts;

/// Validates bearer tokens for one issuer. Cheap to clone; share it across threads and tasks.
///
/// ```no_run
/// # async fn run() -> Result<(), bearerguard::Error> {
/// let validator = bearerguard::Validator::builder("https://auth.example.com", "https://api.example.com")
///     .client_secret_basic("my-api", "s3cret")
///     .build()?;
/// let info = validator.validate_with_scopes("eyJhbGciOi...", &["read"]).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Validator {
    inner: Arc<Inner>,
    /// With many issuers (`issuers`, or a resolver): the routing; `inner` is then the first
    /// entry's.
    issuers: Option<Arc<Issuers>>,
}

impl std::fmt::Debug for Validator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(issuers) = &self.issuers {
            let listed: Vec<&str> = issuers.config.issuers.iter().map(|c| c.issuer.as_str()).collect();
            return f.debug_struct("Validator").field("issuers", &listed).finish_non_exhaustive();
        }
        f.debug_struct("Validator")
            .field("issuer", &self.inner.config.issuer)
            .field("strategy", &self.inner.config.strategy)
            .field("client_auth", &self.inner.auth)
            .finish_non_exhaustive()
    }
}

struct Inner {
    config: Config,
    metadata: Option<ResourceMetadata>,
    clock: SharedClock,
    auth: Arc<ClientAuth>,
    rules: ClaimRules,
    scopes: ScopeRules,
    router: Router,
    policy: VerdictPolicy,
    endpoints: Endpoints,
    cache: VerdictCache,
    verified: VerifiedJwts,
    binding: Binding,
    metrics: Arc<Metrics>,
    /// The second tier every instance shares (`cache.shared`).
    shared: Option<Arc<SharedTier>>,
}

impl Validator {
    /// Builds a validator from `config`, checking it and loading keys now. No I/O happens
    /// until the first decision.
    pub fn new(config: Config) -> Result<Self> {
        Validator::with_clock(config, Arc::new(SystemClock))
    }

    /// Like [`Validator::new`] with an injected clock (tests drive expiry and TTLs with
    /// [`ManualClock`](crate::ManualClock)).
    pub fn with_clock(config: Config, clock: SharedClock) -> Result<Self> {
        Validator::with_parts(config, clock, None)
    }

    /// Like [`Validator::with_clock`], remembering DPoP proofs in `replay_store` (default: an
    /// in-memory store of `dpop.replay_max_entries`).
    pub fn with_parts(
        config: Config,
        clock: SharedClock,
        replay_store: Option<Arc<dyn crate::replay::ReplayStore>>,
    ) -> Result<Self> {
        Validator::with_resolver(config, clock, replay_store, None)
    }

    /// Like [`Validator::with_parts`], with a `resolver` for issuers added at run time (see
    /// [`IssuerResolver`]): a token whose `iss` no configured issuer names is decided by the
    /// config the resolver returns for it, or refused when it declines.
    pub fn with_resolver(
        config: Config,
        clock: SharedClock,
        replay_store: Option<Arc<dyn crate::replay::ReplayStore>>,
        resolver: Option<Arc<dyn IssuerResolver>>,
    ) -> Result<Self> {
        if !config.issuers.is_empty() || resolver.is_some() {
            return Issuers::validator(config, clock, replay_store, resolver);
        }
        if !config.tenant.0.is_empty() {
            return Err(Error::config("`tenant` selects an entry of `issuers`: set it in one"));
        }
        Validator::build(config, clock, replay_store, None)
    }

    /// One issuer's validator; with `common`, one of many sharing its parts.
    pub(crate) fn build(
        config: Config,
        clock: SharedClock,
        replay_store: Option<Arc<dyn crate::replay::ReplayStore>>,
        common: Option<&Common>,
    ) -> Result<Self> {
        // The provider's documented facts first (`provider`, docs/providers.md).
        let config = crate::presets::apply(config)?;
        let crate::check::Checked { algorithms, auth } = crate::check::check(&config)?;
        let auth = Arc::new(auth);
        let metrics = Arc::new(Metrics::new(&config.issuer, Arc::clone(&clock)));
        let http = match common {
            Some(common) => common.http.clone(),
            None => HttpClient::new(&config.http)?,
        }
        .with_metrics(Arc::clone(&metrics));
        let rules = ClaimRules::from_config(&config);
        let metadata = ResourceMetadata::from_config(&config)?;
        let policy = VerdictPolicy::from_config(&config);
        let router = Router::new(&config, algorithms.clone());
        let endpoints = Endpoints::new(
            &config,
            http,
            Arc::clone(&auth),
            Arc::clone(&clock),
            algorithms,
            rules.clone(),
            policy.clone(),
        )?;
        let (cache, verified, shared) = match common {
            Some(common) => (
                common.cache.sharing(),
                VerifiedJwts::new(&config, Arc::clone(&clock), Some(common.jwts.as_ref())),
                common.shared.clone(),
            ),
            None => (
                VerdictCache::new(config.cache.max_entries, Arc::clone(&clock)),
                VerifiedJwts::new(&config, Arc::clone(&clock), None),
                config.cache.shared.as_ref().map(SharedTier::new).transpose()?,
            ),
        };
        let scopes = ScopeRules::from_config(&config);
        let binding = Binding::from_config(&config, replay_store)?;
        let inner = Inner {
            config,
            metadata,
            clock,
            auth,
            rules,
            scopes,
            router,
            policy,
            endpoints,
            cache,
            verified,
            binding,
            metrics,
            shared,
        };
        Ok(Validator { inner: Arc::new(inner), issuers: None })
    }

    /// This validator (the first entry's) routing for many issuers.
    pub(crate) fn with_issuers(self, issuers: Arc<Issuers>) -> Self {
        Validator { inner: self.inner, issuers: Some(issuers) }
    }

    /// Whether a token's unverified `iss` belongs to this (one issuer's) validator.
    pub(crate) fn routes_issuer(&self, iss: &str) -> bool {
        self.inner.rules.routes_issuer(iss)
    }

    /// A refusal of a request no issuer was chosen for (counted by the caller): with this
    /// validator's challenge, logged without the token.
    pub(crate) fn refuse_unrouted(&self, request: &Request, e: Error) -> Result<Arc<TokenInfo>> {
        let e = self.inner.scopes.annotate(e, &request.scopes);
        let e = match self.inner.binding.active() {
            true => {
                self.inner.binding.challenge(e, uses_dpop_scheme(request), self.inner.clock.now().as_secs())
            }
            false => e,
        };
        tracing::debug!(code = e.code(), detail = e.detail(), "request refused before an issuer was chosen");
        Err(e)
    }

    /// Starts a builder for `issuer` and one `audience`.
    pub fn builder(issuer: impl Into<String>, audience: impl Into<String>) -> ValidatorBuilder {
        ValidatorBuilder {
            config: Config::new(issuer, audience),
            clock: None,
            replay_store: None,
            resolver: None,
        }
    }

    /// Starts a builder for many issuers: add each with [`issuer`](ValidatorBuilder::issuer)
    /// (one issuer's whole [`Config`]); the top level then sets only what they share (`cache`,
    /// `http`, `opaque_routing`, `tenant_from`, `resolver`).
    ///
    /// ```
    /// use bearerguard::{Config, Validator};
    /// let validator = Validator::builder_for_issuers()
    ///     .issuer(Config::new("https://tenant-a.example.com", "https://api.example.com"))
    ///     .issuer(Config::new("https://tenant-b.example.com", "https://api.example.com"))
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(validator.stats_by_issuer().len(), 2);
    /// ```
    pub fn builder_for_issuers() -> ValidatorBuilder {
        ValidatorBuilder { config: Config::default(), clock: None, replay_store: None, resolver: None }
    }

    /// The configuration this validator uses (secrets redacted in `Debug`): as given, with the
    /// facts of its `provider` preset filled in; with many issuers, the config as given (each
    /// entry's preset is applied in that entry's validator).
    pub fn config(&self) -> &Config {
        match &self.issuers {
            Some(issuers) => &issuers.config,
            None => &self.inner.config,
        }
    }

    /// The config whose API-wide settings answer for this validator (`realm`, `resource` and
    /// its metadata fields, `required_scopes`, `client_certificate_header`, ...): with many
    /// issuers the first entry's (challenges before routing carry its realm), else
    /// [`config`](Self::config).
    pub fn api_config(&self) -> &Config {
        &self.inner.config
    }

    /// Decides about a whole request: its one `Authorization` header (two are
    /// `invalid_request`), the scopes it requires, and, when `sender_constraint` allows bound
    /// tokens, its `DPoP` proof and client certificate. The one entry framework adapters call.
    pub fn decide(&self, request: &Request) -> Decision {
        if let Some(issuers) = &self.issuers {
            return Issuers::decide(issuers, request);
        }
        let now = self.inner.clock.now().as_secs();
        match self.inner.binding.presented(request, now) {
            Ok((token, presented)) => Inner::decide(&self.inner, token, &request.scopes, presented),
            Err(e) => {
                let e = self.inner.scopes.annotate(e, &request.scopes);
                let dpop = e.kind().is_dpop() || uses_dpop_scheme(request);
                Decision::Ready(self.inner.finish("", Via::EARLY, Err(e), dpop))
            }
        }
    }

    /// Decides about a bare `token`, requiring every scope in `scopes` (plus the configured
    /// `required_scopes`): at once when no I/O is needed, else as a future. Scopes are
    /// checked on every call, cache hit or not.
    ///
    /// A bare token is a `Bearer` presentation: a token bound to a key or certificate is
    /// refused here (use [`decide`](Self::decide) with the whole request).
    pub fn decide_token<S: AsRef<str>>(&self, token: &str, scopes: &[S]) -> Decision {
        // A token a header could not carry as it is (empty, a space, a comma): refused by the
        // first entry before any routing, as one issuer's validator refuses it; wrapped in a
        // header, surrounding whitespace would be trimmed off and the token judged as another.
        if let Some(issuers) =
            self.issuers.as_ref().filter(|_| !token.is_empty() && crate::header::is_b64token(token))
        {
            let request = Request::new()
                .authorization(format!("Bearer {token}"))
                .scopes(scopes.iter().map(|s| s.as_ref().to_owned()));
            return Issuers::decide(issuers, &request);
        }
        Inner::decide(&self.inner, token, scopes, Presented::default())
    }

    /// [`decide_token`](Self::decide_token) in two steps, for a binding that must release a
    /// lock before long work (Python's GIL): the decision at once when the token is a JWT this
    /// validator verified before (a hash and a lookup, no parse, no signature), or when the
    /// scopes asked for are refused; else what the rest of the decision needs, to finish with
    /// [`Unremembered::decide`] (the lock released). Either way it is the one decision path:
    /// the same answer, counted once.
    pub fn decide_token_remembered<'a, S: AsRef<str>>(
        &self,
        token: &'a str,
        scopes: &'a [S],
    ) -> std::result::Result<Decision, Unremembered<'a, S>> {
        let rest = |memo, now| Unremembered { validator: self.clone(), token, scopes, memo, now };
        if self.issuers.is_some() {
            return Err(rest(None, Duration::ZERO));
        }
        Inner::remembered(&self.inner, token, scopes, &Presented::default())
            .map_err(|(memo, now)| rest(memo, now))
    }

    /// Validates `token` and returns what it says, or a typed refusal.
    pub async fn validate(&self, token: &str) -> Result<Arc<TokenInfo>> {
        self.decide_token::<&str>(token, &[]).await
    }

    /// Validates `token` and requires every scope in `scopes` (and `required_scopes`).
    pub async fn validate_with_scopes<S: AsRef<str>>(
        &self,
        token: &str,
        scopes: &[S],
    ) -> Result<Arc<TokenInfo>> {
        self.decide_token(token, scopes).await
    }

    /// The answer if it needs no I/O ([`Decision::Ready`]); `None`: it would wait for I/O.
    pub fn validate_now<S: AsRef<str>>(&self, token: &str, scopes: &[S]) -> Option<Result<Arc<TokenInfo>>> {
        self.decide_token(token, scopes).ready()
    }

    /// Reads the bearer token from one `Authorization` header value and validates it.
    /// Adapters that can see every header line should build a [`Request`] and call
    /// [`decide`](Self::decide), which also refuses a request with two.
    pub async fn validate_header<S: AsRef<str>>(
        &self,
        authorization: Option<&str>,
        scopes: &[S],
    ) -> Result<Arc<TokenInfo>> {
        if self.issuers.is_some() {
            let mut request = Request::new().scopes(scopes.iter().map(|s| s.as_ref().to_owned()));
            request.authorization.extend(authorization.map(str::to_owned));
            return self.decide(&request).await;
        }
        match crate::header::bearer_token(authorization) {
            Ok(token) => self.decide_token(token, scopes).await,
            Err(e) => {
                let e = self.inner.scopes.annotate(e, scopes);
                self.inner.finish("", Via::EARLY, Err(e), false)
            }
        }
    }

    /// Forgets what this validator remembers about `token` — its cached introspection
    /// verdict, positive or negative, and a remembered JWT verdict — so that its next use is
    /// decided afresh: an opaque token by asking the authorization server again, a JWT by
    /// verifying it again. For apps that learn of a revocation or a logout (an event, a
    /// webhook, a back-channel logout) before the cached verdict's TTL ends.
    ///
    /// A JWT verified again is accepted again until its `exp`: its signature does not change
    /// when it is revoked. To refuse a revoked JWT, introspect it (`introspect_all`). An
    /// introspection of `token` already under way when `forget` is called may still cache its
    /// answer; call `forget` once the server refuses the token.
    ///
    /// With a shared tier (`cache.shared`), the verdict is also deleted there and every
    /// instance subscribed to it drops its own copy (within milliseconds while the server is
    /// reachable; an instance that lost its subscription clears its first tier when it is
    /// back).
    ///
    /// `Err(unavailable)` when a shared tier is configured but could not be told (it is down,
    /// or the endpoints that make the cache identity could not be discovered): this
    /// instance has forgotten, the others may not have; call again (a revocation webhook
    /// answers 503 so its sender retries).
    pub async fn forget(&self, token: &str) -> Result<()> {
        match &self.issuers {
            Some(issuers) => issuers.forget(token).await,
            None => self.forget_one(token).await,
        }
    }

    /// [`forget`](Self::forget) at this one issuer.
    pub(crate) async fn forget_one(&self, token: &str) -> Result<()> {
        self.inner.verified.forget(token).await;
        let resolved = match (&self.inner.shared, self.inner.endpoints.get()) {
            (_, Some(resolved)) => Some(Arc::clone(resolved)),
            // Other instances may hold the verdict even if this one never resolved its
            // endpoints (the cache identity needs them).
            (Some(_), None) => Some(self.inner.endpoints.resolve().await?),
            (None, None) => None,
        };
        let Some(resolved) = resolved else { return Ok(()) };
        self.inner.cache.invalidate(&self.inner.verdict_key(&resolved, token)).await;
        match &self.inner.shared {
            Some(shared) if !shared.forget(&shared.names(&resolved.identity, token)).await => {
                Err(Error::unavailable("the shared cache could not be told to forget the token"))
            }
            _ => Ok(()),
        }
    }

    /// This API's RFC 9728 metadata, when `resource` is set (accessors in `resource.rs`).
    pub(crate) fn metadata(&self) -> Option<&ResourceMetadata> {
        match self.issuers.as_ref().and_then(|i| i.metadata.as_ref()) {
            Some(metadata) => Some(metadata),
            None => self.inner.metadata.as_ref(),
        }
    }

    /// Counters of the requests this validator made and the decisions it took. With many
    /// issuers, the sum over them (the shared tier's counters once), refusals before any
    /// issuer was chosen included (`unrouted`).
    pub fn stats(&self) -> Stats {
        if let Some(issuers) = &self.issuers {
            return issuers.stats();
        }
        Stats::of(self.inner.endpoints.get().map(|r| &**r), &self.inner.metrics, self.inner.shared.as_deref())
    }

    /// Each issuer's counters, by issuer: the configured ones in order, then those a resolver
    /// added (still kept). One issuer's validator lists itself.
    pub fn stats_by_issuer(&self) -> Vec<(String, Stats)> {
        match &self.issuers {
            Some(issuers) => issuers.by_issuer(),
            None => vec![(self.inner.config.issuer.clone(), self.stats())],
        }
    }

    /// With a resolver: how many issuers it approved that are kept, and how many issuers it
    /// declined are remembered (both bounded by `resolver`). `(0, 0)` without one.
    pub fn resolver_entries(&self) -> (u64, u64) {
        self.issuers.as_ref().map_or((0, 0), |i| i.resolver_entries())
    }

    /// Counters for dashboards: decisions by outcome, source and cache tier, calls to the
    /// authorization server, the JWKS, single-flight joins (see [`crate::metrics`]).
    pub fn metrics(&self) -> crate::metrics::MetricsSnapshot {
        self.inner.metrics.snapshot(self.inner.parts())
    }

    /// Whether the issuer's JWKS is loaded and fresh and when its server last answered.
    pub fn health(&self) -> crate::metrics::Health {
        self.inner.metrics.health(self.inner.parts())
    }

    /// Where this validator remembers DPoP proofs, when sender constraints are on (its
    /// [`refused_full`](crate::replay::ReplayStore::refused_full) counts proofs refused because
    /// the store was full).
    pub fn replay_store(&self) -> Option<&Arc<dyn crate::replay::ReplayStore>> {
        self.inner.binding.proofs.as_ref().map(|p| p.store())
    }

    /// Introspection verdicts held in the cache (runs pending cache maintenance first).
    pub async fn cached_entries(&self) -> u64 {
        self.inner.cache.entry_count().await
    }

    /// Verified JWTs remembered (runs pending cache maintenance first).
    pub async fn remembered_jwts(&self) -> u64 {
        self.inner.verified.entry_count().await
    }
}

/// Whether the request's one `Authorization` line names the `DPoP` scheme (for the challenge
/// of a request refused before its token was read).
fn uses_dpop_scheme(request: &Request) -> bool {
    match request.authorization.as_slice() {
        [one] => one.trim_start().get(..5).is_some_and(|s| s.eq_ignore_ascii_case("dpop ")),
        _ => false,
    }
}

/// The key a JWT is remembered under, when it can be (see `verified.rs`).
type Memo = Option<[u8; 32]>;

/// A decision [`Validator::decide_token_remembered`] began and did not finish (the token is
/// not a JWT the validator remembers): its validator, token and scopes, its instant and the
/// memo key it computed, so the rest is the same decision. `Debug` shows none of them.
pub struct Unremembered<'a, S> {
    validator: Validator,
    token: &'a str,
    scopes: &'a [S],
    memo: Memo,
    now: Duration,
}

impl<S> std::fmt::Debug for Unremembered<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unremembered").finish_non_exhaustive()
    }
}

impl<S: AsRef<str>> Unremembered<'_, S> {
    /// The rest of the decision (parse, signature or introspection, as
    /// [`Validator::decide_token`] would do it).
    pub fn decide(self) -> Decision {
        let Unremembered { validator, token, scopes, memo, now } = self;
        if validator.issuers.is_some() {
            return validator.decide_token(token, scopes);
        }
        Inner::decide_rest(&validator.inner, token, scopes, Presented::default(), memo, now)
    }
}

impl Inner {
    /// What the metrics read besides their own counters.
    fn parts(&self) -> crate::metrics::Parts {
        crate::metrics::parts(self.endpoints.get(), &self.cache, &self.verified)
    }

    /// The one decision path.
    fn decide<S: AsRef<str>>(this: &Arc<Inner>, token: &str, scopes: &[S], presented: Presented) -> Decision {
        match Inner::remembered(this, token, scopes, &presented) {
            Ok(decided) => decided,
            Err((memo, now)) => Inner::decide_rest(this, token, scopes, presented, memo, now),
        }
    }

    /// The decision's first step: refusals of the scopes asked for, and a JWT verified before
    /// (no parse, no signature); else what the rest of the decision needs.
    fn remembered<S: AsRef<str>>(
        this: &Arc<Inner>,
        token: &str,
        scopes: &[S],
        presented: &Presented,
    ) -> std::result::Result<Decision, (Memo, Duration)> {
        let dpop = presented.scheme == Scheme::Dpop;
        if let Err(e) = ScopeRules::check_names(scopes) {
            return Ok(Decision::Ready(this.finish(token, Via::EARLY, Err(e), dpop)));
        }
        // One reading of the clock for every check made without I/O (each is a system call's
        // worth of the memo hit's budget).
        let now = this.clock.now();
        // A JWT verified before (docs/security.md KEY-9); its key is computed once.
        let memo = this.verified.key(token);
        let current = || this.endpoints.get().and_then(|r| r.jwks.as_ref()).and_then(|j| j.fresh_set(now));
        if let Some(info) = memo.and_then(|m| this.verified.get(&m, current().as_ref().map(|c| &c.0), now)) {
            let bound = this.binding.check(Ok(info), presented, now.as_secs());
            return Ok(Inner::settle(this, token, Via::MEMO, bound, presented, scopes, dpop));
        }
        Err((memo, now))
    }

    /// The rest of the decision about a token [`remembered`](Self::remembered) did not know.
    fn decide_rest<S: AsRef<str>>(
        this: &Arc<Inner>,
        token: &str,
        scopes: &[S],
        presented: Presented,
        memo: Memo,
        now: Duration,
    ) -> Decision {
        let dpop = presented.scheme == Scheme::Dpop;
        let routed = this.router.route(token, &this.rules, now);
        let route = match routed {
            Ok(route) => route,
            Err(e) => {
                let e = this.scopes.annotate(e, scopes);
                return Decision::Ready(this.finish(token, Via::EARLY, Err(e), dpop));
            }
        };
        let route = match this.endpoints.get() {
            Some(resolved) => {
                match (Via::ready(&route, resolved), this.answer_now(resolved, route, token, memo, now)) {
                    (via, Ok(answer)) => {
                        let via = Metrics::settle(via, &answer);
                        let bound = this.binding.check(answer, &presented, now.as_secs());
                        return Inner::settle(this, token, via, bound, &presented, scopes, dpop);
                    }
                    (_, Err(route)) => route,
                }
            }
            None => route,
        };
        let via = Via::pending(&route);
        let (this, route, token) = (Arc::clone(this), route.into_owned(), token.to_owned());
        let scopes: Vec<String> = scopes.iter().map(|s| s.as_ref().to_owned()).collect();
        Decision::Pending(Pending::new(async move {
            let answer = this.answer(route, &token, memo).await;
            let bound = this.binding.check(answer, &presented, this.clock.now().as_secs());
            let bound = this.shared_proof(bound, &presented).await;
            this.finish(&token, via, this.scopes.require(bound, &scopes), dpop)
        }))
    }

    /// A decision whose token is known without I/O: ready, unless its DPoP proof must still be
    /// recorded in the shared tier.
    fn settle<S: AsRef<str>>(
        this: &Arc<Inner>,
        token: &str,
        via: Via,
        bound: Result<Arc<TokenInfo>>,
        presented: &Presented,
        scopes: &[S],
        dpop: bool,
    ) -> Decision {
        if !(bound.is_ok() && presented.proof.is_some() && this.shared.as_ref().is_some_and(|s| s.replay)) {
            return Decision::Ready(this.finish(token, via, this.scopes.require(bound, scopes), dpop));
        }
        let (this, token, presented) = (Arc::clone(this), token.to_owned(), presented.clone());
        let scopes: Vec<String> = scopes.iter().map(|s| s.as_ref().to_owned()).collect();
        Decision::Pending(Pending::new(async move {
            let bound = this.shared_proof(bound, &presented).await;
            this.finish(&token, via, this.scopes.require(bound, &scopes), dpop)
        }))
    }

    /// `bound`, unless the shared tier says its DPoP proof was used on another instance. The
    /// local store has recorded it already (`Binding::check`); when the shared tier cannot
    /// answer, that record stands (docs/security.md SCACHE-6).
    async fn shared_proof(
        &self,
        bound: Result<Arc<TokenInfo>>,
        presented: &Presented,
    ) -> Result<Arc<TokenInfo>> {
        let (Ok(_), Some(proof), Some(shared)) = (&bound, &presented.proof, &self.shared) else {
            return bound;
        };
        if !shared.replay {
            return bound;
        }
        let now = self.clock.now().as_secs();
        let ttl = std::time::Duration::from_secs(proof.expires_at.saturating_sub(now).max(1));
        match shared.record_proof(self.config.issuer.as_bytes(), &proof.replay, ttl).await {
            ProofRecord::Replay => Err(crate::dpop::replayed()),
            ProofRecord::Fresh | ProofRecord::Unknown => bound,
        }
    }

    /// The one place every decision passes: it adds the `DPoP` challenge to a refusal when
    /// DPoP is on, logs refusals (with a hash tag, never the token) and counts outcomes.
    fn finish(
        &self,
        token: &str,
        via: Via,
        result: Result<Arc<TokenInfo>>,
        dpop: bool,
    ) -> Result<Arc<TokenInfo>> {
        let result = match result {
            Err(e) if self.binding.active() => {
                Err(self.binding.challenge(e, dpop, self.clock.now().as_secs()))
            }
            other => other,
        };
        self.metrics.decision(via, &result);
        if let Err(e) = &result {
            tracing::debug!(token = %log_tag(token), code = e.code(), detail = e.detail(), "request refused");
        }
        result
    }

    /// The answer without I/O, or the route back when the decision must wait.
    fn answer_now<'t>(
        &self,
        resolved: &Resolved,
        route: Route<'t>,
        token: &str,
        memo: Memo,
        now: Duration,
    ) -> std::result::Result<Result<Arc<TokenInfo>>, Route<'t>> {
        let (jws, info) = match (route, &resolved.jwks) {
            (Route::Jwt { jws, info, then_introspect: false }, Some(_)) => (jws, info),
            (route @ Route::Jwt { then_introspect: true, .. }, Some(_)) => return Err(route),
            (route, _) => return self.cached(resolved, token, now).ok_or(route),
        };
        let back = |jws, info| Route::Jwt { jws, info, then_introspect: false };
        let Some((set, rotation_possible)) = resolved.jwks.as_ref().and_then(|j| j.fresh_set(now)) else {
            return Err(back(jws, info));
        };
        match set.select(jws.alg, jws.kid.as_deref()) {
            Selection::Found(key) => match jws.verify(key) {
                Ok(()) => Ok(Ok(self.verified_now(memo, *info, &set))),
                // Maybe the key was replaced under its kid: the async path may refetch.
                Err(_) if rotation_possible => Err(back(jws, info)),
                Err(e) => Ok(Err(e)),
            },
            Selection::Ambiguous => Ok(Err(Error::invalid_token("more than one key fits the token"))),
            Selection::NotFound => Err(back(jws, info)),
        }
    }

    /// The answer for a JWT whose signature a key of `set` just verified, remembered.
    fn verified_now(&self, memo: Memo, info: TokenInfo, set: &Arc<KeySet>) -> Arc<TokenInfo> {
        let info = Arc::new(info);
        memo.inspect(|m| self.verified.remember(*m, &info, set));
        info
    }

    /// A cached introspection verdict, or the refusal of a validator that cannot introspect.
    fn cached(&self, resolved: &Resolved, token: &str, now: Duration) -> Option<Result<Arc<TokenInfo>>> {
        match &resolved.introspector {
            None => Some(Err(Error::invalid_token("this validator accepts only JWTs it can verify"))),
            Some(_) => self.cache.get_now(&self.verdict_key(resolved, token), now).map(|v| v.to_result()),
        }
    }

    /// The answer that needs I/O: discovery, the JWKS, introspection.
    async fn answer(&self, route: Route<'static>, token: &str, memo: Memo) -> Result<Arc<TokenInfo>> {
        let resolved = self.endpoints.resolve().await?;
        if let Route::Jwt { jws, info, then_introspect } = route
            && let Some(jwks) = &resolved.jwks
        {
            let ((), set) = jwks.with_key(jws.alg, jws.kid.as_deref(), |key| jws.verify(key)).await?;
            if !then_introspect {
                return Ok(self.verified_now(memo, *info, &set));
            }
        }
        match &resolved.introspector {
            Some(introspector) => self.introspect(&resolved, introspector, token).await,
            None => Err(Error::invalid_token("this validator accepts only JWTs it can verify")),
        }
    }

    async fn introspect(
        &self,
        resolved: &Resolved,
        introspector: &Introspector,
        token: &str,
    ) -> Result<Arc<TokenInfo>> {
        let key = self.verdict_key(resolved, token);
        let fetch = async {
            // The shared tier, unless there is none or it is failing (then it is not tried
            // again in this call).
            let tier = match &self.shared {
                Some(shared) => {
                    let names = shared.names(&resolved.identity, token);
                    match shared.lookup(&names, &self.cache).await {
                        Lookup::Hit(stored, ticket) => {
                            match self.policy.rebuild(&self.rules, stored, self.clock.now()) {
                                Some(entry) => return Ok(entry),
                                None => Some((shared, names, ticket)),
                            }
                        }
                        Lookup::Ask(ticket) => Some((shared, names, ticket)),
                        Lookup::Down => None,
                    }
                }
                None => None,
            };
            let Some((shared, names, ticket)) = tier else {
                let (answer, size) = introspector.introspect(token).await?;
                return self.policy.entry(&self.rules, answer, size, self.clock.now());
            };
            // Whatever the answer, the lock is freed: waiting instances then ask themselves.
            let (answer, size) = match introspector.introspect(token).await {
                Ok(answered) => answered,
                Err(e) => {
                    shared.store(&names, ticket, None).await;
                    return Err(e);
                }
            };
            let entry = self.policy.entry(&self.rules, answer.clone(), size, self.clock.now());
            let stored = entry.as_ref().ok().map(|entry| {
                let exp_ms = u64::try_from(entry.expires_at.as_millis()).unwrap_or(u64::MAX);
                (crate::seal::Stored { exp_ms, answer }, entry.ttl)
            });
            shared.store(&names, ticket, stored.as_ref().map(|(s, ttl)| (s, *ttl))).await;
            entry
        };
        self.cache.get_or_fetch(key, fetch).await?.to_result()
    }

    /// The first-tier key of an introspection verdict: with a shared tier, the keyed digest
    /// its `forget` announcements name; else SHA-256 of the identity and the token.
    fn verdict_key(&self, resolved: &Resolved, token: &str) -> [u8; 32] {
        match &self.shared {
            Some(shared) => shared.first_tier_key(&resolved.identity, token),
            None => token_key(&resolved.identity, token),
        }
    }
}
