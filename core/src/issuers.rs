//! Many issuers behind one [`Validator`](crate::Validator) (docs/security.md ISS): which issuer
//! a request goes to, decided before any I/O, and issuers added at run time by a resolver.
//!
//! | the request has | its token goes to |
//! | --- | --- |
//! | a tenant key ([`Request::tenant`]) | the entry that lists the key, whatever the token; an unknown key is refused |
//! | a JWS | the entry whose issuer its unverified `iss` names exactly; else the resolver; else refused |
//! | an opaque token (or a JWE) | with `opaque_routing: in_order`, each introspecting entry in turn; else refused |
//! | no token it can read | the first entry, which refuses it precisely (missing, two headers, ...) |
//!
//! A token is handed to one issuer's validator only, and never built into a URL (ISS-2): an
//! unlisted `iss` costs no request. Each issuer has its own endpoints, JWKS, single flights
//! and counters, so one issuer's outage or slow JWKS never holds another's requests (ISS-4);
//! they share the HTTP client (one connection pool), the verdict caches (one budget; keys
//! carry the issuer's identity) and the shared tier.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::cache::VerdictCache;
use crate::clock::SharedClock;
use crate::config::{Config, OpaqueRouting, Strategy};
use crate::error::{BoxError, Error, ErrorKind, Result};
use crate::http::HttpClient;
use crate::jwt::Shape;
use crate::replay::ReplayStore;
use crate::request::{Decision, Pending, Request};
use crate::shared::SharedTier;
use crate::stats::Stats;
use crate::validator::Validator;

/// Issuers added at run time: the app's hook that says whether it serves an issuer it has not
/// listed, and with which config.
///
/// **`issuer` is attacker-chosen**: it is the unverified `iss` of a token anyone can send.
/// Look it up among the tenants you approved (a database, a pattern you control); never fetch
/// it, never build a URL from it. Answers are kept (docs/security.md ISS-3): a config in an
/// LRU of `resolver.max_issuers`, a decline as a digest for `resolver.declined_ttl_secs` (at
/// most `resolver.max_declined` of them), so a flood of made-up issuers builds nothing and
/// fetches nothing. A returned config must name `issuer` exactly; it may not set the fields
/// the validator shares (`cache`, `http`, `issuers`, `opaque_routing`, `tenant_from`,
/// `resolver`). An error
/// refuses the request as `configuration` (HTTP 500), never an acceptance.
///
/// ```
/// use bearerguard::{Config, IssuerResolver, ResolverFuture};
/// struct Tenants;
/// impl IssuerResolver for Tenants {
///     fn resolve(&self, issuer: &str) -> ResolverFuture {
///         // Approved tenants only: the issuer comes from the token, unverified.
///         let known = issuer.strip_prefix("https://login.example.com/tenants/")
///             .filter(|id| ["acme", "globex"].contains(id))
///             .map(|_| Config::new(issuer, "https://api.example.com"));
///         Box::pin(async move { Ok(known) })
///     }
/// }
/// ```
pub trait IssuerResolver: Send + Sync + 'static {
    /// The config for `issuer`, `None` to decline it.
    fn resolve(&self, issuer: &str) -> ResolverFuture;
}

/// What an [`IssuerResolver`] answers.
pub type ResolverFuture = Pin<Box<dyn Future<Output = std::result::Result<Option<Config>, BoxError>> + Send>>;

/// The fields of a config with `issuers` that only its top level may set.
pub(crate) const SHARED_FIELDS: &[&str] =
    &["cache", "http", "issuers", "opaque_routing", "tenant_from", "resolver"];

/// What the issuers of one validator share.
pub(crate) struct Common {
    pub http: HttpClient,
    pub cache: VerdictCache,
    pub jwts: Option<VerdictCache>,
    pub shared: Option<Arc<SharedTier>>,
}

/// The issuers of a validator built with `issuers` or a resolver.
pub(crate) struct Issuers {
    /// The config as given (its top level and its entries).
    pub config: Config,
    /// The configured entries, in order; the first refuses what no issuer can be chosen for.
    listed: Vec<Validator>,
    tenants: HashMap<String, usize>,
    resolver: Option<Resolving>,
    common: Common,
    clock: SharedClock,
    replay_store: Option<Arc<dyn ReplayStore>>,
    /// Requests refused before an issuer was chosen.
    unrouted: AtomicU64,
    /// The longest token any entry accepts (tokens over it are not read for routing).
    max_token_bytes: usize,
    /// The RFC 9728 document naming every listed issuer, when `resource` is set.
    pub metadata: Option<crate::resource::ResourceMetadata>,
}

struct Resolving {
    resolver: Arc<dyn IssuerResolver>,
    /// Issuers the resolver approved, least recently used dropped first.
    known: moka::sync::Cache<String, Validator>,
    /// The resolver's answers being awaited, so many calls for one new issuer ask it once.
    pending: moka::future::Cache<String, Validator>,
    /// SHA-256 of the issuers it declined (a digest: an `iss` may be kilobytes long).
    declined: moka::sync::Cache<[u8; 32], ()>,
    resolved: AtomicU64,
    max_issuer_bytes: usize,
    /// Answers awaited at once (so a flood of made-up issuers cannot hold every thread).
    permits: tokio::sync::Semaphore,
    timeout: Duration,
}

/// Most resolver answers awaited at once.
const RESOLVER_CALLS: usize = 64;

/// Why a resolution gave no validator.
enum Unresolved {
    Declined,
    Failed(Error),
}

impl Issuers {
    /// A validator for `config` (with `issuers`, or one issuer and a resolver).
    pub fn validator(
        config: Config,
        clock: SharedClock,
        replay_store: Option<Arc<dyn ReplayStore>>,
        resolver: Option<Arc<dyn IssuerResolver>>,
    ) -> Result<Validator> {
        let entries = if config.issuers.is_empty() {
            // One issuer and a resolver: that issuer is the first entry.
            vec![Config { issuers: Vec::new(), ..config.clone() }]
        } else {
            crate::check::many(&config)?;
            config.issuers.clone()
        };
        let common = Common {
            http: HttpClient::new(&config.http)?,
            cache: VerdictCache::new(config.cache.max_entries, Arc::clone(&clock)),
            jwts: (config.cache.enabled && config.cache.jwt_max_entries > 0)
                .then(|| VerdictCache::new(config.cache.jwt_max_entries, Arc::clone(&clock))),
            shared: config.cache.shared.as_ref().map(SharedTier::new).transpose()?,
        };
        let mut listed = Vec::with_capacity(entries.len());
        let mut tenants = HashMap::new();
        for (i, entry) in entries.into_iter().enumerate() {
            for key in &entry.tenant.0 {
                tenants.insert(key.clone(), i);
            }
            let entry = shared_into(entry, &config);
            let at = format!("issuers[{i}]");
            let v = Validator::build(entry, Arc::clone(&clock), replay_store.clone(), Some(&common))
                .map_err(|e| in_entry(&at, e))?;
            // Every issuer of this entry (its own, its aliases) goes to it, not to an earlier
            // entry (a `{tenantid}` template, an alias) that would take its tokens.
            let effective = v.api_config();
            for name in std::iter::once(&effective.issuer).chain(&effective.issuer_aliases) {
                if let Some(earlier) = listed.iter().position(|e: &Validator| e.routes_issuer(name)) {
                    return Err(Error::config(format!(
                        "`{at}.issuer`: its tokens would go to `issuers[{earlier}]`, which names the same issuer"
                    )));
                }
            }
            listed.push(v);
        }
        let metadata = match &config.issuers.first().and_then(|c| c.resource.clone()) {
            Some(_) => {
                let first = listed[0].config();
                crate::resource::ResourceMetadata::for_issuers(
                    first,
                    listed.iter().map(|v| v.config().issuer.clone()).collect(),
                )?
            }
            None => None,
        };
        let resolver = resolver.map(|resolver| Resolving {
            resolver,
            known: moka::sync::Cache::builder()
                .max_capacity(config.resolver.max_issuers)
                .time_to_live(Duration::from_secs(config.resolver.ttl_secs))
                .build(),
            pending: moka::future::Cache::builder()
                .max_capacity(config.resolver.max_issuers)
                .time_to_live(Duration::from_secs(1))
                .build(),
            declined: moka::sync::Cache::builder()
                .max_capacity(config.resolver.max_declined)
                .time_to_live(Duration::from_secs(config.resolver.declined_ttl_secs))
                .build(),
            resolved: AtomicU64::new(0),
            max_issuer_bytes: config.resolver.max_issuer_bytes,
            permits: tokio::sync::Semaphore::new(RESOLVER_CALLS),
            timeout: Duration::from_millis(config.resolver.timeout_ms),
        });
        let max_token_bytes = listed.iter().map(|v| v.config().max_token_bytes).max().unwrap_or(0);
        let primary = listed[0].clone();
        let issuers = Issuers {
            config,
            listed,
            tenants,
            resolver,
            common,
            clock,
            replay_store,
            unrouted: AtomicU64::new(0),
            max_token_bytes,
            metadata,
        };
        Ok(primary.with_issuers(Arc::new(issuers)))
    }

    /// The one routing decision (the table at the top of this module).
    pub fn decide(this: &Arc<Issuers>, request: &Request) -> Decision {
        let derived = match (&request.tenant, this.config.tenant_from) {
            (None, Some(from)) => match tenant_of(request.url.as_deref(), from) {
                Some(key) => Some(key),
                // With `tenant_from`, every request names its tenant: one whose URL does not
                // (no URL, a host or path that is not plain) is never routed by its token.
                None => return this.refuse(request, "the request names no tenant this API serves"),
            },
            _ => None,
        };
        if let Some(key) = request.tenant.as_deref().or(derived.as_deref()) {
            return match this.tenants.get(key) {
                Some(&i) => this.listed[i].decide(request),
                None => this.refuse(request, "no issuer serves this request's tenant"),
            };
        }
        let token = match request.authorization.as_slice() {
            [one] => crate::header::credentials(Some(one), true).ok().map(|(_, token)| token),
            _ => None,
        };
        // Nothing to send anywhere: the first entry says precisely what is wrong.
        let Some(token) = token.filter(|t| !t.is_empty()) else { return this.listed[0].decide(request) };
        if token.len() > this.max_token_bytes || !crate::header::is_b64token(token) {
            return this.listed[0].decide(request);
        }
        match crate::jwt::shape(token) {
            Shape::Jws => match unverified_issuer(token) {
                Some(iss) => match this.listed.iter().find(|v| v.routes_issuer(&iss)) {
                    Some(v) => v.decide(request),
                    None => Issuers::resolve(this, iss, request),
                },
                None => this.refuse(request, "the token names no issuer (`iss`)"),
            },
            Shape::Jwe | Shape::Opaque => match this.config.opaque_routing {
                OpaqueRouting::InOrder => Issuers::in_order(this, request),
                OpaqueRouting::Tenant => {
                    this.refuse(request, "an opaque token needs the request's tenant to choose its issuer")
                }
            },
        }
    }

    /// A refusal before any issuer was chosen: no request made, counted.
    fn refuse(&self, request: &Request, detail: &'static str) -> Decision {
        self.unrouted.fetch_add(1, Ordering::Relaxed);
        Decision::Ready(self.listed[0].refuse_unrouted(request, Error::invalid_token(detail)))
    }

    /// An issuer not listed: the resolver's answer, kept.
    fn resolve(this: &Arc<Issuers>, iss: String, request: &Request) -> Decision {
        let Some(resolving) = &this.resolver else {
            return this.refuse(request, "the token's issuer is not one this API accepts");
        };
        if iss.len() > resolving.max_issuer_bytes {
            return this.refuse(request, "the token's issuer is not one this API accepts");
        }
        if let Some(v) = resolving.known.get(&iss) {
            return v.decide(request);
        }
        let digest = crate::cache::identity_digest(&["issuer", &iss]);
        if resolving.declined.contains_key(&digest) {
            return this.refuse(request, "the token's issuer is not one this API accepts");
        }
        let (this, request) = (Arc::clone(this), request.clone());
        Decision::Pending(Pending::new(async move {
            let Some(resolving) = &this.resolver else { unreachable!("checked above") };
            let built = resolving
                .pending
                .try_get_with(iss.clone(), async { this.build_resolved(resolving, &iss).await })
                .await;
            match built {
                Ok(v) => {
                    resolving.known.insert(iss, v.clone());
                    v.decide(&request).await
                }
                Err(failure) => match &*failure {
                    Unresolved::Declined => {
                        resolving.declined.insert(digest, ());
                        this.refuse(&request, "the token's issuer is not one this API accepts").await
                    }
                    Unresolved::Failed(e) => {
                        let e = Error::new(e.kind(), e.detail().to_owned());
                        this.unrouted.fetch_add(1, Ordering::Relaxed);
                        this.listed[0].refuse_unrouted(&request, e)
                    }
                },
            }
        }))
    }

    /// Asks the resolver about `iss` and builds its validator.
    async fn build_resolved(
        &self,
        resolving: &Resolving,
        iss: &str,
    ) -> std::result::Result<Validator, Unresolved> {
        let asked = async {
            let _permit = resolving.permits.acquire().await;
            resolving.resolver.resolve(iss).await
        };
        let answer = match tokio::time::timeout(resolving.timeout, asked).await {
            Ok(answer) => answer,
            Err(_) => {
                tracing::warn!("the issuer resolver did not answer in time");
                return Err(Unresolved::Failed(Error::unavailable(
                    "the issuer resolver did not answer in time",
                )));
            }
        };
        // The app's error may name its database: only the fact is logged, the cause kept.
        let answer = answer.map_err(|e| {
            tracing::warn!("the issuer resolver failed");
            Unresolved::Failed(Error::config("the issuer resolver failed").with_source(e))
        })?;
        let Some(config) = answer else { return Err(Unresolved::Declined) };
        let failed = |e: Error| {
            tracing::warn!(detail = e.detail(), "the issuer resolver returned an unusable config");
            Unresolved::Failed(e)
        };
        if config.issuer != iss {
            return Err(failed(Error::config("the issuer resolver returned a config for another issuer")));
        }
        crate::check::entry(&config, "the resolver's config").map_err(failed)?;
        if !config.tenant.0.is_empty() {
            return Err(failed(Error::config(
                "the resolver's config sets `tenant`: tenant keys are for listed issuers",
            )));
        }
        let config = shared_into(config, &self.config);
        let v =
            Validator::build(config, Arc::clone(&self.clock), self.replay_store.clone(), Some(&self.common))
                .map_err(|e| failed(in_entry("the resolver's config", e)))?;
        resolving.resolved.fetch_add(1, Ordering::Relaxed);
        Ok(v)
    }

    /// An opaque token tried at each introspecting issuer in turn: the first acceptance wins;
    /// an outage anywhere is never reported as an invalid token.
    fn in_order(this: &Arc<Issuers>, request: &Request) -> Decision {
        let (this, request) = (Arc::clone(this), request.clone());
        Decision::Pending(Pending::new(async move {
            let mut refusal = None;
            let mut outage = None;
            for v in this.listed.iter().filter(|v| v.config().strategy != Strategy::Jwt) {
                match v.decide(&request).await {
                    Ok(info) => return Ok(info),
                    Err(e) if e.kind() == ErrorKind::InvalidToken => refusal = refusal.or(Some(e)),
                    Err(e) if e.kind() == ErrorKind::Unavailable => outage = outage.or(Some(e)),
                    // The token is this issuer's: its answer stands (scope, proof, expiry).
                    Err(e) => return Err(e),
                }
            }
            match (outage, refusal) {
                (Some(e), _) | (None, Some(e)) => Err(e),
                (None, None) => {
                    this.unrouted.fetch_add(1, Ordering::Relaxed);
                    this.listed[0]
                        .refuse_unrouted(&request, Error::invalid_token("no issuer introspects tokens"))
                }
            }
        }))
    }

    /// The validator a token's issuer routes to, without asking the resolver.
    fn of_token(&self, token: &str) -> Vec<Validator> {
        let known = || self.resolver.iter().flat_map(|r| r.known.iter().map(|(_, v)| v));
        if crate::jwt::shape(token) == Shape::Jws {
            let Some(iss) = unverified_issuer(token) else { return Vec::new() };
            return self
                .listed
                .iter()
                .cloned()
                .chain(known())
                .filter(|v| v.routes_issuer(&iss))
                .take(1)
                .collect();
        }
        self.listed.iter().cloned().chain(known()).filter(|v| v.config().strategy != Strategy::Jwt).collect()
    }

    /// Forgets `token` at the issuer it routes to (a JWT), or at every introspecting issuer.
    pub async fn forget(&self, token: &str) -> Result<()> {
        let mut result = Ok(());
        for v in self.of_token(token) {
            if let Err(e) = v.forget_one(token).await {
                result = Err(e);
            }
        }
        result
    }

    /// Every issuer's counters, summed; the shared tier's once; refusals before routing added.
    pub fn stats(&self) -> Stats {
        let mut total = Stats::default();
        for (_, s) in self.by_issuer() {
            total.introspection_requests += s.introspection_requests;
            total.jwks_fetches += s.jwks_fetches;
            total.accepted += s.accepted;
            total.refused += s.refused;
            total.shared = s.shared;
        }
        let unrouted = self.unrouted.load(Ordering::Relaxed);
        total.refused += unrouted;
        total.unrouted = unrouted;
        total
    }

    /// The counters of each issuer, listed ones first, then those the resolver added.
    pub fn by_issuer(&self) -> Vec<(String, Stats)> {
        let known = self.resolver.iter().flat_map(|r| r.known.iter().map(|(_, v)| v));
        self.listed.iter().cloned().chain(known).map(|v| (v.config().issuer.clone(), v.stats())).collect()
    }

    /// How many issuers the resolver approved (kept now), and how many declined ones are
    /// remembered.
    pub fn resolver_entries(&self) -> (u64, u64) {
        match &self.resolver {
            Some(r) => {
                r.known.run_pending_tasks();
                r.declined.run_pending_tasks();
                (r.known.entry_count(), r.declined.entry_count())
            }
            None => (0, 0),
        }
    }
}

/// `entry` with the fields its validator shares with the others: the top level's.
fn shared_into(entry: Config, top: &Config) -> Config {
    Config {
        cache: top.cache.clone(),
        http: top.http.clone(),
        opaque_routing: OpaqueRouting::default(),
        issuers: Vec::new(),
        ..entry
    }
}

/// The tenant key `from` names in a request URL as the adapter built it (`scheme://` + the
/// `Host` header + the request target): the host, lower-cased, without port or trailing dot.
/// `None` when there is none or the authority is not a plain `host[:port]` (no user info, no
/// brackets, no `#`, `?` or `%`): a key read from anything else could differ from the host the
/// framework saw, so such a request names no tenant (and is refused).
fn tenant_of(url: Option<&str>, from: crate::config::TenantFrom) -> Option<String> {
    let crate::config::TenantFrom::Host = from;
    let rest = url?.split_once("://")?.1;
    let authority = rest.split('/').next().unwrap_or_default();
    let plain = authority.bytes().all(|b| b.is_ascii_alphanumeric() || b"-.:_".contains(&b));
    let host = authority.split(':').next().unwrap_or_default().trim_end_matches('.');
    (plain && !host.is_empty()).then(|| host.to_ascii_lowercase())
}

/// A config error of an entry, saying which.
fn in_entry(at: &str, e: Error) -> Error {
    if e.kind() == ErrorKind::Configuration { Error::config(format!("`{at}`: {}", e.detail())) } else { e }
}

/// The `iss` of a compact JWS, read without any check of its signature: for routing only.
/// `None` when the payload is not a strict JSON object with a string `iss`.
pub(crate) fn unverified_issuer(token: &str) -> Option<String> {
    use base64::Engine as _;
    let mut parts = token.split('.');
    let (_, payload, _, None) = (parts.next()?, parts.next()?, parts.next()?, parts.next()) else {
        return None;
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
    let claims = crate::json::parse_object(&bytes).ok()?;
    match claims.get("iss") {
        Some(serde_json::Value::String(iss)) if !iss.is_empty() => Some(iss.clone()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jws(payload: &str) -> String {
        use base64::Engine as _;
        let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
        format!("{}.{}.sig", b64(r#"{"alg":"RS256"}"#), b64(payload))
    }

    #[test]
    fn tenant_keys_come_from_a_plain_host_only() {
        use crate::config::TenantFrom::Host;
        assert_eq!(
            tenant_of(Some("https://Acme.API.example:8443/orders?x=1"), Host).as_deref(),
            Some("acme.api.example")
        );
        assert_eq!(tenant_of(Some("https://acme.example./orders"), Host).as_deref(), Some("acme.example"));
        assert_eq!(tenant_of(Some("http://acme.example"), Host).as_deref(), Some("acme.example"));
        // No host, or one that is not plain: no tenant.
        for url in [
            "/orders",
            "http://h#/globex/orders",
            "http://acme.example?x/y",
            "http://user@acme.example/x",
            "http://[::1]/x",
            "http:///x",
            "http://acme%2eexample/x",
        ] {
            assert_eq!(tenant_of(Some(url), Host), None, "{url}");
        }
        assert_eq!(tenant_of(None, Host), None);
    }

    #[test]
    fn the_unverified_issuer_is_read_from_strict_json_only() {
        assert_eq!(
            unverified_issuer(&jws(r#"{"iss":"https://a.example"}"#)).as_deref(),
            Some("https://a.example")
        );
        assert_eq!(unverified_issuer(&jws(r#"{"iss":5}"#)), None);
        assert_eq!(unverified_issuer(&jws(r#"{"iss":""}"#)), None);
        assert_eq!(unverified_issuer(&jws(r#"{"sub":"x"}"#)), None);
        // Duplicate members are refused by the strict parser: no routing by the first `iss`
        // while the claim check reads another.
        assert_eq!(unverified_issuer(&jws(r#"{"iss":"https://a","iss":"https://b"}"#)), None);
        assert_eq!(unverified_issuer(&format!("{}.x", jws("{}"))), None);
        assert_eq!(unverified_issuer("opaque"), None);
    }
}
