//! What a validator counts: requests it made, and decisions by outcome (counted at the one
//! place every decision passes).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::claims::TokenInfo;
use crate::endpoints::Resolved;
use crate::error::{ErrorKind, Result};

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
}

impl Stats {
    /// The counters of the endpoints resolved so far and the decisions taken.
    pub(crate) fn of(resolved: Option<&Resolved>, outcomes: &Outcomes) -> Stats {
        Stats {
            introspection_requests: resolved
                .and_then(|r| r.introspector.as_ref())
                .map_or(0, |i| i.request_count()),
            jwks_fetches: resolved.and_then(|r| r.jwks.as_ref()).map_or(0, |j| j.fetch_count()),
            accepted: outcomes.accepted(),
            refused: outcomes.refused(),
        }
    }
}

/// Decisions by outcome: index 0 accepted, then one per [`ErrorKind::ALL`] entry.
#[derive(Default)]
pub(crate) struct Outcomes([AtomicU64; 1 + ErrorKind::ALL.len()]);

impl Outcomes {
    pub fn count(&self, result: &Result<Arc<TokenInfo>>) {
        let slot = match result {
            Ok(_) => 0,
            Err(e) => 1 + ErrorKind::ALL.iter().position(|k| *k == e.kind()).unwrap_or(0),
        };
        self.0[slot].fetch_add(1, Ordering::Relaxed);
    }

    pub fn accepted(&self) -> u64 {
        self.0[0].load(Ordering::Relaxed)
    }

    pub fn refused(&self) -> u64 {
        self.0[1..].iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }
}
