//! Metrics and health (docs/security.md SECRET-4): counted at the one decision point, against
//! the real authorization server (oidc-provider) and, for outages and single flights, the
//! fake one. Every label value is the configured issuer or a fixed name.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests")]

mod support;

use bearerguard::metrics::{ENDPOINTS, OUTCOMES, RESULTS, SOURCES, TIERS};
use bearerguard::{Config, MetricsSnapshot, Secret, Validator};
use serde_json::json;
use support::real_as::RealAs;
use support::{FakeAs, Fault, TestKey, opaque};

fn count(s: &MetricsSnapshot, outcome: &str, source: &str, tier: &str) -> u64 {
    s.decisions
        .iter()
        .filter(|d| d.outcome == outcome && d.source == source && d.tier == tier)
        .map(|d| d.count)
        .sum()
}

/// Every label value comes from the config or the fixed sets, and no token is anywhere.
fn assert_bounded(s: &MetricsSnapshot, issuer: &str, tokens: &[&str]) {
    assert_eq!(s.issuer, issuer);
    for d in &s.decisions {
        assert!(
            OUTCOMES.contains(&d.outcome) && SOURCES.contains(&d.source) && TIERS.contains(&d.tier),
            "{d:?}"
        );
    }
    for r in &s.requests {
        assert!(ENDPOINTS.contains(&r.endpoint) && RESULTS.contains(&r.result), "{r:?}");
    }
    let text = serde_json::to_string(s).unwrap();
    for t in tokens {
        assert!(!text.contains(&t[..t.len().min(24)]), "a token reached the metrics");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_calls_and_jwks_against_oidc_provider() {
    let server = RealAs::start();
    let mut c = Config::new(server.issuer(), server.resource("jwt"));
    let data = server.client("rs_basic");
    c.client_auth.client_id = data["client_id"].as_str().map(str::to_owned);
    c.client_auth.client_secret = data["client_secret"].as_str().map(Secret::new);
    let v = Validator::new(c).unwrap();
    let h = v.health();
    assert!(!h.ok && !h.issuers[0].endpoints_known, "nothing discovered yet: {h:?}");

    let jwt = server.token("jwt", "read").await;
    v.validate(&jwt).await.unwrap(); // discovery, JWKS, signature: a miss
    v.validate(&jwt).await.unwrap(); // remembered: a hit
    assert_eq!(v.validate_with_scopes(&jwt, &["admin"]).await.unwrap_err().code(), "insufficient_scope");
    v.validate_header::<&str>(None, &[]).await.unwrap_err();
    let forged = format!("{}x", &jwt[..jwt.len() - 1]);
    let _ = v.validate(&forged).await.unwrap_err();

    let s = v.metrics();
    assert_eq!(count(&s, "accepted", "jwt", "miss"), 1, "{s:#?}");
    assert_eq!(count(&s, "accepted", "jwt", "hit"), 1, "{s:#?}");
    assert_eq!(count(&s, "insufficient_scope", "jwt", "hit"), 1, "{s:#?}");
    assert_eq!(count(&s, "missing_token", "none", "none"), 1, "{s:#?}");
    assert_eq!(s.outcome("invalid_token"), 1, "{s:#?}");
    assert_eq!(s.outcome("accepted"), 2);
    let stats = v.stats();
    assert_eq!((stats.accepted, stats.refused), (2, 3));
    let calls = |endpoint: &str, result: &str| {
        s.requests
            .iter()
            .filter(|r| r.endpoint == endpoint && r.result == result)
            .map(|r| r.count)
            .sum::<u64>()
    };
    assert_eq!(calls("discovery", "ok"), 1, "{s:#?}");
    assert!(calls("jwks", "ok") >= 1, "{s:#?}");
    for r in &s.requests {
        assert_eq!(r.buckets.len(), s.latency_buckets.len());
        assert!(r.buckets.windows(2).all(|w| w[0] <= w[1]) && *r.buckets.last().unwrap() <= r.count);
        assert!(r.sum_seconds > 0.0);
    }
    let jwks = s.jwks.clone().unwrap();
    assert!(jwks.loaded && jwks.fresh && jwks.keys >= 1 && jwks.failures == 0, "{jwks:?}");
    assert_eq!(jwks.refreshes, stats.jwks_fetches);
    assert!(s.remembered_jwts <= 1);
    assert_bounded(&s, &server.issuer(), &[&jwt, &forged]);

    let h = v.health();
    assert!(h.ok, "{h:?}");
    let issuer = &h.issuers[0];
    assert!(issuer.endpoints_known && issuer.last_failure.is_none());
    assert!(issuer.last_answer_at.is_some() && issuer.last_answer_age_seconds.unwrap() < 600.0);
    assert_eq!(issuer.jwks.as_ref().unwrap().keys, jwks.keys);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn introspection_tiers_single_flight_and_outages() {
    let fake = FakeAs::start().await;
    fake.expect_secret("rs", "secret");
    let mut config = fake.config("api");
    config.strategy = bearerguard::Strategy::Introspection;
    config.client_auth.client_id = Some("rs".into());
    config.client_auth.client_secret = Some(Secret::new("secret"));
    config.http.retry = false;
    let v = Validator::new(config).unwrap();

    let good = opaque();
    fake.add_token(&good, fake.active(json!({})));
    let revoked = opaque();
    fake.add_token(&revoked, json!({"active": false}));

    // 16 concurrent callers of one new token: one introspection, the rest joined it (the
    // answer is held back so that every caller arrives while it is in flight).
    fake.state.delay_ms.store(200, std::sync::atomic::Ordering::SeqCst);
    let calls = (0..16).map(|_| v.validate(&good));
    for r in futures_util::future::join_all(calls).await {
        r.unwrap();
    }
    assert_eq!(fake.introspections(), 1);
    let s = v.metrics();
    assert_eq!(s.joins.introspection, 15, "{s:#?}");
    assert_eq!(count(&s, "accepted", "introspection", "miss"), 16);
    fake.state.delay_ms.store(0, std::sync::atomic::Ordering::SeqCst);

    v.validate(&good).await.unwrap();
    v.validate(&revoked).await.unwrap_err();
    v.validate(&revoked).await.unwrap_err();
    let s = v.metrics();
    assert_eq!(count(&s, "accepted", "introspection", "hit"), 1, "{s:#?}");
    assert_eq!(count(&s, "invalid_token", "introspection", "miss"), 1, "{s:#?}");
    assert_eq!(count(&s, "invalid_token", "introspection", "negative"), 1, "{s:#?}");
    assert!(s.jwks.is_none(), "introspection only: no JWKS");
    assert!(v.health().ok);

    // The server answers 500: an http_error call, an `unavailable` decision, and an unhealthy issuer.
    fake.set_fault(Fault::StatusTimes(500, 1));
    let fresh = opaque();
    fake.add_token(&fresh, fake.active(json!({})));
    assert_eq!(v.validate(&fresh).await.unwrap_err().code(), "unavailable");
    let s = v.metrics();
    assert_eq!(count(&s, "unavailable", "introspection", "miss"), 1, "{s:#?}");
    let failed: u64 = s
        .requests
        .iter()
        .filter(|r| r.endpoint == "introspection" && r.result == "http_error")
        .map(|r| r.count)
        .sum();
    assert_eq!(failed, 1, "{s:#?}");
    let h = v.health();
    assert!(!h.ok, "{h:?}");
    let failure = h.issuers[0].last_failure.clone().unwrap();
    assert_eq!((failure.endpoint, failure.result), ("introspection", "http_error"));
    // It answers again: healthy.
    v.validate(&fresh).await.unwrap();
    assert!(v.health().ok);
    assert_bounded(&v.metrics(), &fake.issuer(), &[&good, &revoked, &fresh]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwks_failures_are_counted_and_reported() {
    let fake = FakeAs::start().await;
    let key = TestKey::rsa();
    fake.set_keys(&[&key]);
    let mut config = fake.config("api");
    config.strategy = bearerguard::Strategy::Jwt;
    let v = Validator::new(config).unwrap();
    fake.set_jwks_fault(Fault::Status(503, "down".into(), "text/plain"));
    let token = key.sign(&fake.good_claims(json!({})));
    assert_eq!(v.validate(&token).await.unwrap_err().code(), "unavailable");
    let s = v.metrics();
    let jwks = s.jwks.clone().unwrap();
    assert!(!jwks.loaded && jwks.failures == 1 && jwks.refreshes == 1, "{jwks:?}");
    let h = v.health();
    assert!(!h.ok && h.issuers[0].endpoints_known);
    assert_eq!(h.issuers[0].last_failure.as_ref().unwrap().endpoint, "jwks");
    assert_bounded(&s, &fake.issuer(), &[&token]);
}
