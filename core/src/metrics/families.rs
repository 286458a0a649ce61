//! The metric families of one or more validators, in Prometheus terms: the one place where
//! metric names, help texts, kinds and label names are defined. The Rust `metrics` facade
//! ([`publish`](super::publish)), the Python `prometheus_client` collector
//! (`bearerguard.prometheus`) and the Node `prom-client` collector (`bearerguard/prometheus`)
//! all translate these and add nothing of their own.
//!
//! | name | kind | labels |
//! | --- | --- | --- |
//! | `bearerguard_decisions_total` | counter | issuer, outcome, source, tier |
//! | `bearerguard_as_request_duration_seconds` | histogram | issuer, endpoint, result |
//! | `bearerguard_jwks_refreshes_total` | counter | issuer |
//! | `bearerguard_jwks_failures_total` | counter | issuer |
//! | `bearerguard_jwks_keys` | gauge | issuer |
//! | `bearerguard_jwks_fresh` | gauge (0 or 1) | issuer |
//! | `bearerguard_jwks_age_seconds` | gauge | issuer |
//! | `bearerguard_single_flight_joins_total` | counter | issuer, fetch (`introspection`, `jwks`) |
//! | `bearerguard_cache_entries` | gauge | issuer, cache (`introspection`, `jwt`) |
//!
//! Every label value is a configured issuer or one of the fixed names of [`super`]; a family
//! with no sample yet (no JWKS, no call made) is still listed, empty, so a scrape always shows
//! the same names.

use std::collections::BTreeMap;

use serde::Serialize;

use super::MetricsSnapshot;

/// What kind of metric a [`Family`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum FamilyKind {
    /// Only ever goes up (until the process restarts).
    Counter,
    /// Goes up and down.
    Gauge,
    /// Counts observations into cumulative buckets, with their sum.
    Histogram,
}

/// One metric family: a name and its samples, one per combination of label values.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Family {
    /// The full metric name (counters end in `_total`).
    pub name: &'static str,
    /// The help text.
    pub help: &'static str,
    /// Counter, gauge or histogram.
    pub kind: FamilyKind,
    /// The samples; empty before anything was counted.
    pub samples: Vec<Sample>,
}

/// One sample of a [`Family`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Sample {
    /// Label names and values.
    pub labels: BTreeMap<&'static str, String>,
    /// The counter's or gauge's value; for a histogram, its count.
    pub value: f64,
    /// For a histogram: the buckets and the sum.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub histogram: Option<HistogramSample>,
}

/// The buckets and sum of one histogram sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct HistogramSample {
    /// `(upper bound in seconds, cumulative count)` per bucket, in increasing order, without
    /// the implicit `+Inf` bucket (whose count is [`Sample::value`]).
    pub buckets: Vec<(f64, u64)>,
    /// The sum of the observations, in seconds.
    pub sum: f64,
}

fn labels<const N: usize>(pairs: [(&'static str, &str); N]) -> BTreeMap<&'static str, String> {
    pairs.into_iter().map(|(k, v)| (k, v.to_owned())).collect()
}

fn plain(labels: BTreeMap<&'static str, String>, value: f64) -> Sample {
    Sample { labels, value, histogram: None }
}

/// The families of every validator in `snapshots` (one per issuer), merged: each name once,
/// with the samples of all of them.
pub fn families(snapshots: &[MetricsSnapshot]) -> Vec<Family> {
    let family = |name, help, kind| Family { name, help, kind, samples: Vec::new() };
    let mut decisions = family(
        "bearerguard_decisions_total",
        "Token decisions by outcome (accepted or the error code), source and cache tier.",
        FamilyKind::Counter,
    );
    let mut requests = family(
        "bearerguard_as_request_duration_seconds",
        "Calls to the authorization server by endpoint and result class, with their duration.",
        FamilyKind::Histogram,
    );
    let mut refreshes =
        family("bearerguard_jwks_refreshes_total", "JWKS fetch attempts.", FamilyKind::Counter);
    let mut failures =
        family("bearerguard_jwks_failures_total", "JWKS fetch attempts that failed.", FamilyKind::Counter);
    let mut keys = family("bearerguard_jwks_keys", "Usable keys in the cached JWKS.", FamilyKind::Gauge);
    let mut fresh = family(
        "bearerguard_jwks_fresh",
        "1 while the cached JWKS is within its lifetime, else 0.",
        FamilyKind::Gauge,
    );
    let mut age =
        family("bearerguard_jwks_age_seconds", "Seconds since the JWKS was fetched.", FamilyKind::Gauge);
    let mut joins = family(
        "bearerguard_single_flight_joins_total",
        "Callers that joined a fetch another caller had started instead of making their own.",
        FamilyKind::Counter,
    );
    let mut entries = family(
        "bearerguard_cache_entries",
        "Entries in the verdict caches (approximate).",
        FamilyKind::Gauge,
    );
    for s in snapshots {
        let issuer = s.issuer.as_str();
        for d in &s.decisions {
            let l =
                labels([("issuer", issuer), ("outcome", d.outcome), ("source", d.source), ("tier", d.tier)]);
            decisions.samples.push(plain(l, d.count as f64));
        }
        for r in &s.requests {
            let buckets = s.latency_buckets.iter().copied().zip(r.buckets.iter().copied()).collect();
            requests.samples.push(Sample {
                labels: labels([("issuer", issuer), ("endpoint", r.endpoint), ("result", r.result)]),
                value: r.count as f64,
                histogram: Some(HistogramSample { buckets, sum: r.sum_seconds }),
            });
        }
        if let Some(j) = &s.jwks {
            refreshes.samples.push(plain(labels([("issuer", issuer)]), j.refreshes as f64));
            failures.samples.push(plain(labels([("issuer", issuer)]), j.failures as f64));
            keys.samples.push(plain(labels([("issuer", issuer)]), j.keys as f64));
            fresh.samples.push(plain(labels([("issuer", issuer)]), f64::from(u8::from(j.fresh))));
            if let Some(a) = j.age_seconds {
                age.samples.push(plain(labels([("issuer", issuer)]), a));
            }
        }
        for (fetch, n) in [("introspection", s.joins.introspection), ("jwks", s.joins.jwks)] {
            joins.samples.push(plain(labels([("issuer", issuer), ("fetch", fetch)]), n as f64));
        }
        for (cache, n) in [("introspection", s.cached_verdicts), ("jwt", s.remembered_jwts)] {
            entries.samples.push(plain(labels([("issuer", issuer), ("cache", cache)]), n as f64));
        }
    }
    vec![decisions, requests, refreshes, failures, keys, fresh, age, joins, entries]
}

impl MetricsSnapshot {
    /// This validator's metric families ([`families`] of this one snapshot).
    pub fn families(&self) -> Vec<Family> {
        families(std::slice::from_ref(self))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{CallStats, DecisionCount, Joins, JwksStats, LATENCY_BUCKETS};
    use super::*;

    fn snapshot(issuer: &str) -> MetricsSnapshot {
        MetricsSnapshot {
            issuer: issuer.into(),
            decisions: vec![DecisionCount { outcome: "accepted", source: "jwt", tier: "miss", count: 3 }],
            requests: vec![CallStats {
                endpoint: "jwks",
                result: "ok",
                count: 2,
                sum_seconds: 0.004,
                buckets: vec![1; LATENCY_BUCKETS.len()],
            }],
            latency_buckets: LATENCY_BUCKETS.to_vec(),
            jwks: Some(JwksStats {
                loaded: true,
                fresh: true,
                keys: 2,
                age_seconds: Some(1.5),
                refreshes: 2,
                failures: 0,
            }),
            joins: Joins { introspection: 0, jwks: 1 },
            cached_verdicts: 0,
            remembered_jwts: 3,
        }
    }

    #[test]
    fn every_name_once_with_the_samples_of_every_issuer() {
        let all = families(&[snapshot("https://a.example"), snapshot("https://b.example")]);
        let mut names: Vec<_> = all.iter().map(|f| f.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), all.len());
        let decisions = all.iter().find(|f| f.name == "bearerguard_decisions_total").unwrap();
        assert_eq!(decisions.kind, FamilyKind::Counter);
        let issuers: Vec<_> = decisions.samples.iter().map(|s| s.labels["issuer"].as_str()).collect();
        assert_eq!(issuers, ["https://a.example", "https://b.example"]);
        assert_eq!(decisions.samples[0].labels["outcome"], "accepted");
        assert_eq!(decisions.samples[0].value, 3.0);
        let h = all.iter().find(|f| f.name == "bearerguard_as_request_duration_seconds").unwrap();
        let sample = &h.samples[0];
        assert_eq!(sample.value, 2.0);
        let hist = sample.histogram.as_ref().unwrap();
        assert_eq!(hist.buckets.len(), LATENCY_BUCKETS.len());
        assert_eq!(hist.buckets[0], (0.001, 1));
        assert_eq!(hist.sum, 0.004);
        let fresh = all.iter().find(|f| f.name == "bearerguard_jwks_fresh").unwrap();
        assert_eq!(fresh.samples[1].value, 1.0);
    }

    #[test]
    fn nothing_counted_still_lists_every_family() {
        let mut s = snapshot("https://a.example");
        s.decisions.clear();
        s.requests.clear();
        s.jwks = None;
        let all = s.families();
        assert_eq!(all.len(), 9);
        assert!(all.iter().find(|f| f.name == "bearerguard_decisions_total").unwrap().samples.is_empty());
        let json = serde_json::to_value(&all).unwrap();
        assert_eq!(json[0]["kind"], "counter");
        assert_eq!(json[1]["kind"], "histogram");
    }
}
