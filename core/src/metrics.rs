//! What a validator counts and how healthy it is: decisions by outcome, source and cache
//! tier, calls to the authorization server by endpoint and result class with their latency,
//! the JWKS's state and refreshes, and single-flight joins (docs/security.md SECRET-4).
//!
//! The counting on the decision path is one relaxed atomic increment in a fixed array indexed
//! by small enums: no map, no lock, no allocation, no label built per call. Everything else
//! (the snapshot, its Prometheus [`families`], the [`Health`] report, the `metrics` facade's
//! `publish`) reads those counters when asked.
//!
//! Labels are bounded: the issuer string comes from the configuration, every other label
//! value is one of the fixed names below. Nothing from a token or its claims is ever a label.
//!
//! There is no circuit breaker yet (a shared cache tier with one comes later), so no
//! breaker state is reported rather than a made-up one.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde::Serialize;

use crate::claims::{TokenInfo, TokenSource};
use crate::clock::SharedClock;
use crate::error::{ErrorKind, Result};

mod families;
pub use families::{Family, FamilyKind, HistogramSample, Sample, families};

/// Upper bounds (seconds) of the latency histogram buckets of calls to the authorization
/// server; a last, implicit bucket is `+Inf`.
pub const LATENCY_BUCKETS: [f64; 12] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];

/// Outcome names: `accepted`, then every [`ErrorKind::code`] in [`ErrorKind::ALL`] order.
pub const OUTCOMES: [&str; 1 + ErrorKind::ALL.len()] = {
    let mut names = ["accepted"; 1 + ErrorKind::ALL.len()];
    let mut i = 0;
    while i < ErrorKind::ALL.len() {
        names[i + 1] = ErrorKind::ALL[i].code();
        i += 1;
    }
    names
};

/// Where an answer came from: `none` for a refusal before a token reached either.
pub const SOURCES: [&str; 3] = ["none", "jwt", "introspection"];

/// Cache tiers of a decision (see [`DecisionCount::tier`]).
pub const TIERS: [&str; 4] = ["none", "hit", "miss", "negative"];

/// The authorization server's endpoints this crate calls.
pub const ENDPOINTS: [&str; 3] = ["discovery", "jwks", "introspection"];

/// Result classes of one HTTP call to the authorization server.
pub const RESULTS: [&str; 6] = ["ok", "http_error", "timeout", "connect", "transport", "too_large"];

const fn outcome_index(kind: ErrorKind) -> usize {
    1 + match kind {
        ErrorKind::MissingToken => 0,
        ErrorKind::InvalidRequest => 1,
        ErrorKind::InvalidToken => 2,
        ErrorKind::TokenExpired => 3,
        ErrorKind::InsufficientScope => 4,
        ErrorKind::Unavailable => 5,
        ErrorKind::Configuration => 6,
        ErrorKind::InvalidDpopProof => 7,
        ErrorKind::UseDpopNonce => 8,
    }
}

/// Which endpoint an HTTP call went to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Discovery = 0,
    Jwks = 1,
    Introspection = 2,
}

/// How an HTTP call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CallResult {
    /// A 2xx response.
    Ok = 0,
    /// Any other status.
    HttpError = 1,
    Timeout = 2,
    Connect = 3,
    Transport = 4,
    TooLarge = 5,
}

#[derive(Debug, Clone, Copy)]
enum Tier {
    None = 0,
    Hit = 1,
    Miss = 2,
    Negative = 3,
    /// Answered from the introspection cache: a hit when it accepts, negative when not.
    Cached = 4,
}

/// How a decision was reached, for its labels: chosen where the validator knows it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Via {
    source: usize,
    tier: Tier,
}

impl Via {
    /// Refused before any source or cache was consulted.
    pub const EARLY: Via = Via { source: 0, tier: Tier::None };
    /// A verified JWT remembered.
    pub const MEMO: Via = Via { source: 1, tier: Tier::Hit };

    /// A decision that waited for I/O on `route` (or could have).
    pub fn pending(route: &crate::route::Route<'_>) -> Via {
        match route {
            crate::route::Route::Jwt { then_introspect: false, .. } => Via { source: 1, tier: Tier::Miss },
            _ => Via { source: 2, tier: Tier::Miss },
        }
    }

    /// A decision answered at once on `route`: a signature checked with cached keys, or a
    /// cached introspection verdict (`validator.rs`, `answer_now`, is the mirror of this).
    pub fn ready(route: &crate::route::Route<'_>, resolved: &crate::endpoints::Resolved) -> Via {
        match (route, &resolved.jwks, &resolved.introspector) {
            (crate::route::Route::Jwt { .. }, Some(_), _) => Via { source: 1, tier: Tier::Miss },
            (_, _, Some(_)) => Via { source: 2, tier: Tier::Cached },
            (_, _, None) => Via::EARLY,
        }
    }
}

/// One latency histogram.
#[derive(Default)]
struct Histogram {
    buckets: [AtomicU64; LATENCY_BUCKETS.len() + 1],
    sum_micros: AtomicU64,
}

impl Histogram {
    fn record(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let slot = LATENCY_BUCKETS.iter().position(|b| secs <= *b).unwrap_or(LATENCY_BUCKETS.len());
        self.buckets[slot].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }
}

/// Stripes of the decision counters: threads deciding at once increment counters on
/// different cache lines (one shared counter costs a cache-line transfer per decision).
const STRIPES: usize = 8;

type DecisionCounters = [[[AtomicU64; TIERS.len()]; SOURCES.len()]; OUTCOMES.len()];

/// One stripe, on cache lines of its own.
#[repr(align(128))]
#[derive(Default)]
struct Stripe(DecisionCounters);

/// Decisions by outcome, source and tier, striped by thread; a read sums the stripes.
struct Decisions(Box<[Stripe; STRIPES]>);

impl Decisions {
    fn new() -> Self {
        Decisions(Box::default())
    }

    /// This thread's stripe, fixed per thread (threads take stripes in turn).
    #[inline]
    fn stripe() -> usize {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        thread_local!(static MINE: usize = NEXT.fetch_add(1, Ordering::Relaxed) % STRIPES);
        MINE.with(|mine| *mine)
    }

    #[inline]
    fn add(&self, outcome: usize, source: usize, tier: usize) {
        self.0[Self::stripe()].0[outcome][source][tier].fetch_add(1, Ordering::Relaxed);
    }

    fn get(&self, outcome: usize, source: usize, tier: usize) -> u64 {
        self.0.iter().map(|stripe| stripe.0[outcome][source][tier].load(Ordering::Relaxed)).sum()
    }
}

/// The counters of one validator (one issuer).
pub(crate) struct Metrics {
    issuer: String,
    clock: SharedClock,
    decisions: Decisions,
    calls: [[Histogram; RESULTS.len()]; ENDPOINTS.len()],
    /// Per endpoint, when (ms since the epoch, validator clock) it last answered 2xx; 0 never.
    last_ok_ms: [AtomicU64; ENDPOINTS.len()],
    /// Per endpoint, when it last failed (0 never) and how (a [`CallResult`]).
    last_failure_ms: [AtomicU64; ENDPOINTS.len()],
    last_failure_class: [AtomicU64; ENDPOINTS.len()],
    /// Orders answers and failures: two calls in the same millisecond still have an order, so a
    /// failure just after an answer makes the issuer unhealthy.
    sequence: AtomicU64,
    last_ok_seq: AtomicU64,
    last_failure_seq: AtomicU64,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").field("issuer", &self.issuer).finish_non_exhaustive()
    }
}

impl Metrics {
    pub fn new(issuer: &str, clock: SharedClock) -> Self {
        Metrics {
            issuer: issuer.to_owned(),
            clock,
            decisions: Decisions::new(),
            calls: Default::default(),
            last_ok_ms: Default::default(),
            last_failure_ms: Default::default(),
            last_failure_class: Default::default(),
            sequence: AtomicU64::new(0),
            last_ok_seq: AtomicU64::new(0),
            last_failure_seq: AtomicU64::new(0),
        }
    }

    /// Counts one decision: the hot path, one relaxed increment.
    #[inline]
    pub fn decision(&self, via: Via, answer: &Result<Arc<TokenInfo>>) {
        let (outcome, source, tier) = match answer {
            Ok(info) => {
                let source = match info.source {
                    TokenSource::Jwt => 1,
                    TokenSource::Introspection => 2,
                };
                let tier = if let Tier::Cached = via.tier { Tier::Hit } else { via.tier };
                (0, source, tier)
            }
            Err(e) => {
                let tier = if let Tier::Cached = via.tier { Tier::Negative } else { via.tier };
                (outcome_index(e.kind()), via.source, tier)
            }
        };
        #[cfg(not(feature = "bench-uncounted"))]
        self.decisions.add(outcome, source, tier as usize);
        #[cfg(feature = "bench-uncounted")]
        std::hint::black_box((outcome, source, tier));
    }

    /// Settles a ready decision's tier against the answer before scopes are checked: a
    /// cached verdict that accepts is a hit even when the scopes then refuse.
    pub fn settle(via: Via, answer: &Result<Arc<TokenInfo>>) -> Via {
        match (via.tier, answer) {
            (Tier::Cached, Ok(_)) => Via { tier: Tier::Hit, ..via },
            (Tier::Cached, Err(_)) => Via { tier: Tier::Negative, ..via },
            _ => via,
        }
    }

    /// Decisions that accepted a token.
    pub fn accepted(&self) -> u64 {
        (0..SOURCES.len())
            .flat_map(|s| (0..TIERS.len()).map(move |t| (s, t)))
            .map(|(s, t)| self.decisions.get(0, s, t))
            .sum()
    }

    /// Decisions that refused, for any reason.
    pub fn refused(&self) -> u64 {
        let all: u64 = (0..OUTCOMES.len())
            .flat_map(|o| (0..SOURCES.len()).flat_map(move |s| (0..TIERS.len()).map(move |t| (o, s, t))))
            .map(|(o, s, t)| self.decisions.get(o, s, t))
            .sum();
        all - self.accepted()
    }

    /// Records one HTTP call to the authorization server.
    pub fn call(&self, endpoint: Endpoint, result: CallResult, elapsed: Duration) {
        let (e, r) = (endpoint as usize, result as usize);
        self.calls[e][r].record(elapsed);
        let now = u64::try_from(self.clock.now().as_millis()).unwrap_or(u64::MAX).max(1);
        let seq = self.sequence.fetch_add(1, Ordering::Relaxed) + 1;
        if result == CallResult::Ok {
            self.last_ok_ms[e].store(now, Ordering::Relaxed);
            self.last_ok_seq.fetch_max(seq, Ordering::Relaxed);
        } else {
            self.last_failure_class[e].store(r as u64, Ordering::Relaxed);
            self.last_failure_ms[e].store(now, Ordering::Relaxed);
            self.last_failure_seq.fetch_max(seq, Ordering::Relaxed);
        }
        #[cfg(feature = "metrics")]
        ::metrics::histogram!(
            "bearerguard_as_request_duration_seconds",
            "issuer" => self.issuer.clone(),
            "endpoint" => ENDPOINTS[e],
            "result" => RESULTS[r],
        )
        .record(elapsed.as_secs_f64());
    }

    fn now_secs(&self) -> f64 {
        self.clock.now().as_secs_f64()
    }
}

/// Decisions with one combination of labels.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct DecisionCount {
    /// `accepted` or an error code (`invalid_token`, `token_expired`, …).
    pub outcome: &'static str,
    /// `jwt` or `introspection`; `none` for a refusal before a token reached either (no token,
    /// a malformed header or token, claims refused before the signature was checked).
    pub source: &'static str,
    /// `hit` (a remembered JWT or a cached introspection verdict that accepts), `negative` (a
    /// cached refusal), `miss` (computed: a signature checked, or the server asked) or `none`
    /// (refused before a cache was consulted).
    pub tier: &'static str,
    /// How many.
    pub count: u64,
}

/// Calls to one endpoint of the authorization server that ended one way.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CallStats {
    /// `discovery`, `jwks` or `introspection`.
    pub endpoint: &'static str,
    /// `ok` (2xx), `http_error` (another status), `timeout`, `connect`, `transport` or
    /// `too_large` (a body over its cap).
    pub result: &'static str,
    /// How many calls.
    pub count: u64,
    /// Their total duration, in seconds.
    pub sum_seconds: f64,
    /// Cumulative counts per [`LATENCY_BUCKETS`] bound (`+Inf` is `count`).
    pub buckets: Vec<u64>,
}

/// The JWKS of one issuer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct JwksStats {
    /// A key set has been fetched.
    pub loaded: bool,
    /// It is within its cache lifetime (not merely usable as stale).
    pub fresh: bool,
    /// Usable keys in it.
    pub keys: u64,
    /// Seconds since it was fetched.
    pub age_seconds: Option<f64>,
    /// Fetch attempts made (successful or not).
    pub refreshes: u64,
    /// Fetch attempts that failed (transport, status, or not a JWKS).
    pub failures: u64,
}

/// Callers that waited for a fetch another caller had started instead of making their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Joins {
    /// Joined an in-flight introspection of the same token.
    pub introspection: u64,
    /// Took the key set a concurrent JWKS refresh had just fetched.
    pub jwks: u64,
}

/// A point-in-time copy of a validator's counters. Every label value is the configured
/// issuer or one of the fixed names of this module ([`OUTCOMES`], [`SOURCES`], [`TIERS`],
/// [`ENDPOINTS`], [`RESULTS`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct MetricsSnapshot {
    /// The configured issuer, the `issuer` label.
    pub issuer: String,
    /// Decisions per (outcome, source, tier); combinations never seen are left out.
    pub decisions: Vec<DecisionCount>,
    /// Calls to the authorization server per (endpoint, result); combinations never seen are
    /// left out.
    pub requests: Vec<CallStats>,
    /// The bounds of [`CallStats::buckets`], in seconds.
    pub latency_buckets: Vec<f64>,
    /// The JWKS, when this validator uses one and knows its endpoint.
    pub jwks: Option<JwksStats>,
    /// Single-flight joins.
    pub joins: Joins,
    /// Introspection verdicts cached (approximate).
    pub cached_verdicts: u64,
    /// Verified JWTs remembered (approximate).
    pub remembered_jwts: u64,
}

impl MetricsSnapshot {
    /// Decisions with `outcome`, summed over sources and tiers.
    pub fn outcome(&self, outcome: &str) -> u64 {
        self.decisions.iter().filter(|d| d.outcome == outcome).map(|d| d.count).sum()
    }
}

/// The last failed call to the authorization server.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CallFailure {
    /// Which endpoint.
    pub endpoint: &'static str,
    /// How it failed (a [`RESULTS`] name other than `ok`).
    pub result: &'static str,
    /// When, in seconds since the Unix epoch (the validator's clock).
    pub at: f64,
}

/// The health of one issuer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct IssuerHealth {
    /// The configured issuer.
    pub issuer: String,
    /// Whether this issuer looks able to decide now: its endpoints are known, its JWKS (when
    /// it uses one) is loaded and fresh, and no call failed since the server last answered.
    pub ok: bool,
    /// The endpoints are known (configured, or discovery succeeded).
    pub endpoints_known: bool,
    /// The JWKS, when this validator uses one and knows its endpoint.
    pub jwks: Option<JwksStats>,
    /// When the authorization server last answered a call with 2xx, in seconds since the
    /// Unix epoch; `None` before any answer.
    pub last_answer_at: Option<f64>,
    /// Seconds since then.
    pub last_answer_age_seconds: Option<f64>,
    /// The latest failed call, if any.
    pub last_failure: Option<CallFailure>,
}

/// What [`Validator::health`](crate::Validator::health) reports.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Health {
    /// Every issuer is `ok`.
    pub ok: bool,
    /// One entry per issuer (one today).
    pub issuers: Vec<IssuerHealth>,
}

/// What the snapshot reads besides the counters (gathered by the validator).
pub(crate) struct Parts {
    pub jwks: Option<JwksStats>,
    pub joins: Joins,
    pub cached_verdicts: u64,
    pub remembered_jwts: u64,
    pub endpoints_known: bool,
}

/// Gathers what the snapshot reads from the validator's parts.
pub(crate) fn parts(
    resolved: Option<&Arc<crate::endpoints::Resolved>>,
    cache: &crate::cache::VerdictCache,
    verified: &crate::verified::VerifiedJwts,
) -> Parts {
    let jwks = resolved.and_then(|r| r.jwks.as_ref());
    Parts {
        jwks: jwks.map(|j| j.stats()),
        joins: Joins { introspection: cache.join_count(), jwks: jwks.map_or(0, |j| j.join_count()) },
        cached_verdicts: cache.approximate_len(),
        remembered_jwts: verified.approximate_len(),
        endpoints_known: resolved.is_some(),
    }
}

impl Metrics {
    /// The counters now.
    pub fn snapshot(&self, parts: Parts) -> MetricsSnapshot {
        let mut decisions = Vec::new();
        for (o, outcome) in OUTCOMES.iter().enumerate() {
            for (s, source) in SOURCES.iter().enumerate() {
                for (t, tier) in TIERS.iter().enumerate() {
                    let count = self.decisions.get(o, s, t);
                    if count > 0 {
                        decisions.push(DecisionCount { outcome, source, tier, count });
                    }
                }
            }
        }
        let mut requests = Vec::new();
        for (e, by_result) in self.calls.iter().enumerate() {
            for (r, histogram) in by_result.iter().enumerate() {
                let mut running = 0;
                let buckets: Vec<u64> = histogram
                    .buckets
                    .iter()
                    .map(|b| {
                        running += b.load(Ordering::Relaxed);
                        running
                    })
                    .collect();
                if running == 0 {
                    continue;
                }
                let sum_seconds = histogram.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
                requests.push(CallStats {
                    endpoint: ENDPOINTS[e],
                    result: RESULTS[r],
                    count: running,
                    sum_seconds,
                    buckets: buckets[..LATENCY_BUCKETS.len()].to_vec(),
                });
            }
        }
        MetricsSnapshot {
            issuer: self.issuer.clone(),
            decisions,
            requests,
            latency_buckets: LATENCY_BUCKETS.to_vec(),
            jwks: parts.jwks,
            joins: parts.joins,
            cached_verdicts: parts.cached_verdicts,
            remembered_jwts: parts.remembered_jwts,
        }
    }

    /// The health report.
    pub fn health(&self, parts: Parts) -> Health {
        let max =
            |counters: &[AtomicU64]| counters.iter().map(|c| c.load(Ordering::Relaxed)).max().unwrap_or(0);
        let last_ok = max(&self.last_ok_ms);
        let (mut failed_at, mut failure) = (0, None);
        for (e, endpoint) in ENDPOINTS.iter().enumerate() {
            let at = self.last_failure_ms[e].load(Ordering::Relaxed);
            if at > failed_at {
                let class = self.last_failure_class[e].load(Ordering::Relaxed) as usize;
                failed_at = at;
                failure = Some(CallFailure {
                    endpoint,
                    result: RESULTS.get(class).copied().unwrap_or("transport"),
                    at: at as f64 / 1e3,
                });
            }
        }
        let last_answer_at = (last_ok > 0).then(|| last_ok as f64 / 1e3);
        let jwks_ok = parts.jwks.as_ref().is_none_or(|j| j.loaded && j.fresh);
        let ok = parts.endpoints_known
            && jwks_ok
            && self.last_failure_seq.load(Ordering::Relaxed) <= self.last_ok_seq.load(Ordering::Relaxed);
        let issuer = IssuerHealth {
            issuer: self.issuer.clone(),
            ok,
            endpoints_known: parts.endpoints_known,
            jwks: parts.jwks,
            last_answer_at,
            last_answer_age_seconds: last_answer_at.map(|at| (self.now_secs() - at).max(0.0)),
            last_failure: failure,
        };
        Health { ok, issuers: vec![issuer] }
    }
}

/// Publishes `snapshot` to the `metrics` facade's installed recorder: the counters and
/// gauges of its [`families`] (counters set to their absolute values). Call it before each
/// scrape (or on a timer). The histogram `bearerguard_as_request_duration_seconds` is not
/// published from the snapshot: calls to the authorization server are recorded to it live.
#[cfg(feature = "metrics")]
#[cfg_attr(docsrs, doc(cfg(feature = "metrics")))]
pub fn publish(snapshot: &MetricsSnapshot) {
    for family in snapshot.families() {
        for sample in family.samples {
            let labels: Vec<::metrics::Label> =
                sample.labels.into_iter().map(|(k, v)| ::metrics::Label::new(k, v)).collect();
            match family.kind {
                FamilyKind::Counter => ::metrics::counter!(family.name, labels).absolute(sample.value as u64),
                FamilyKind::Gauge => ::metrics::gauge!(family.name, labels).set(sample.value),
                FamilyKind::Histogram => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::error::Error;

    fn metrics() -> (Metrics, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(Duration::from_secs(1_000)));
        (Metrics::new("https://as.example", clock.clone()), clock)
    }

    #[test]
    fn outcome_names_follow_the_error_kinds() {
        for kind in ErrorKind::ALL {
            assert_eq!(OUTCOMES[outcome_index(kind)], kind.code());
        }
        assert_eq!(OUTCOMES[0], "accepted");
    }

    #[test]
    fn decisions_are_counted_by_outcome_source_and_tier() {
        let (m, _) = metrics();
        let refused: Result<Arc<TokenInfo>> = Err(Error::invalid_token("x"));
        m.decision(Via::EARLY, &refused);
        m.decision(Metrics::settle(Via { source: 2, tier: Tier::Cached }, &refused), &refused);
        m.decision(Via { source: 2, tier: Tier::Cached }, &refused);
        let snapshot = m.snapshot(Parts {
            jwks: None,
            joins: Joins { introspection: 0, jwks: 0 },
            cached_verdicts: 0,
            remembered_jwts: 0,
            endpoints_known: true,
        });
        assert_eq!(snapshot.outcome("invalid_token"), 3);
        assert_eq!(snapshot.outcome("accepted"), 0);
        let negative: u64 = snapshot
            .decisions
            .iter()
            .filter(|d| d.tier == "negative" && d.source == "introspection")
            .map(|d| d.count)
            .sum();
        assert_eq!(negative, 2);
        assert_eq!((m.accepted(), m.refused()), (0, 3));
    }

    #[test]
    fn calls_fill_cumulative_buckets_and_health_follows_the_last_result() {
        let (m, clock) = metrics();
        let parts = || Parts {
            jwks: None,
            joins: Joins { introspection: 0, jwks: 0 },
            cached_verdicts: 0,
            remembered_jwts: 0,
            endpoints_known: true,
        };
        assert!(m.health(parts()).ok, "nothing failed yet");
        m.call(Endpoint::Introspection, CallResult::Ok, Duration::from_millis(3));
        m.call(Endpoint::Introspection, CallResult::Ok, Duration::from_secs(30));
        let s = m.snapshot(parts());
        assert_eq!(s.requests.len(), 1);
        let r = &s.requests[0];
        assert_eq!((r.endpoint, r.result, r.count), ("introspection", "ok", 2));
        assert_eq!(r.buckets[LATENCY_BUCKETS.iter().position(|b| *b == 0.005).unwrap()], 1);
        assert_eq!(*r.buckets.last().unwrap(), 1, "30 s is only in +Inf");
        assert!((r.sum_seconds - 30.003).abs() < 1e-6);
        let h = m.health(parts());
        assert!(h.ok);
        assert_eq!(h.issuers[0].last_answer_at, Some(1_000.0));
        clock.advance(Duration::from_secs(5));
        m.call(Endpoint::Jwks, CallResult::Timeout, Duration::from_secs(1));
        let h = m.health(parts());
        assert!(!h.ok, "a failure after the last answer");
        let failure = h.issuers[0].last_failure.clone().unwrap();
        assert_eq!((failure.endpoint, failure.result, failure.at), ("jwks", "timeout", 1_005.0));
        assert_eq!(h.issuers[0].last_answer_age_seconds, Some(5.0));
        clock.advance(Duration::from_secs(1));
        m.call(Endpoint::Jwks, CallResult::Ok, Duration::from_millis(1));
        assert!(m.health(parts()).ok, "recovered");
        // Same millisecond on the clock: the order of the calls decides, not their timestamps.
        m.call(Endpoint::Introspection, CallResult::HttpError, Duration::from_millis(1));
        assert!(!m.health(parts()).ok, "a failure in the millisecond of the last answer");
        m.call(Endpoint::Introspection, CallResult::Ok, Duration::from_millis(1));
        assert!(m.health(parts()).ok, "and an answer after it in the same millisecond");
    }
}
