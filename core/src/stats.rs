//! What a validator counts: requests it made, and decisions by outcome (counted at the one
//! place every decision passes, in `metrics.rs`).

/// Counters for tests, benchmarks and metrics.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// HTTP requests made to the introspection endpoint (retries included).
    pub introspection_requests: u64,
    /// HTTP fetches of the JWKS.
    pub jwks_fetches: u64,
    /// Decisions that accepted a token.
    pub accepted: u64,
    /// Decisions that refused a request, for any reason.
    pub refused: u64,
    /// The shared tier's counters (`cache.shared`; zero without it).
    pub shared: crate::SharedStats,
    /// With many issuers: requests refused before any issuer was chosen (an unlisted or
    /// declined `iss`, an unknown tenant key, an opaque token without one), each without a
    /// request to any server. Counted in `refused` too.
    pub unrouted: u64,
}

impl Stats {
    /// The counters of the endpoints resolved so far and the decisions taken.
    pub(crate) fn of(
        resolved: Option<&crate::endpoints::Resolved>,
        decisions: &crate::metrics::Metrics,
        shared: Option<&crate::shared::SharedTier>,
    ) -> Stats {
        Stats {
            introspection_requests: resolved
                .and_then(|r| r.introspector.as_ref())
                .map_or(0, |i| i.request_count()),
            jwks_fetches: resolved.and_then(|r| r.jwks.as_ref()).map_or(0, |j| j.fetch_count()),
            accepted: decisions.accepted(),
            refused: decisions.refused(),
            shared: shared.map(crate::shared::SharedTier::snapshot).unwrap_or_default(),
            unrouted: 0,
        }
    }
}
