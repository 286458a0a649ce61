//! The holes an adversarial review and a load test found (issue 20), each proven closed over
//! real HTTP on 127.0.0.1 against the in-process fake authorization server. Every test here
//! failed on the code before the fix. Rule IDs are those of docs/security.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests")]

mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use bearerguard::{Config, ManualClock, Request, Secret, Validator};
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};
use support::{FakeAs, Fault, TestKey, opaque};

/// An RSA key of the shared-case fixtures, published under `kid`.
fn fixture_rsa(name: &str, kid: &str) -> TestKey {
    let jwks: Value = serde_json::from_str(&support::fixture("cases/jwks.json")).unwrap();
    let mut public_jwk = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == name).unwrap().clone();
    public_jwk["kid"] = json!(kid);
    public_jwk.as_object_mut().unwrap().remove("alg");
    let pem = support::fixture(&format!("cases/{name}.pem"));
    TestKey {
        alg: Algorithm::RS256,
        kid: kid.to_owned(),
        encoding: EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
        public_jwk,
    }
}

fn basic(fake: &FakeAs) -> Config {
    fake.expect_secret("rs", "secret");
    let mut c = fake.config("api");
    c.client_auth.client_id = Some("rs".into());
    c.client_auth.client_secret = Some(Secret::new("secret"));
    c
}

/// FAULT-4: oidc-provider replaces its keys on restart but keeps their `kid`s. A signature that
/// fails under a cached key older than the cooldown refetches once and retries; within the
/// cooldown nothing is fetched, so forged tokens cannot cause a refetch flood.
#[tokio::test]
async fn a_key_replaced_under_its_kid_is_refetched_once_per_cooldown() {
    let fake = FakeAs::start().await;
    let (old, new) = (fixture_rsa("rsa-1", "k1"), fixture_rsa("rsa-2", "k1"));
    fake.set_keys(&[&old]);
    let clock = ManualClock::starting_now();
    let v = Validator::with_clock(fake.config("api"), clock.clone()).unwrap();
    let claims = fake.good_claims(json!({"exp": support::now() + 100_000}));
    v.validate(&old.sign(&claims)).await.unwrap();
    assert_eq!(fake.jwks_fetches(), 1);

    fake.set_keys(&[&new]);
    let rotated = new.sign(&claims);
    // Within the cooldown the cached key is trusted as it is: refused, nothing fetched, and
    // the answer needs no I/O.
    assert_eq!(v.validate(&rotated).await.unwrap_err().code(), "invalid_token");
    assert!(v.validate_now(&rotated, &[] as &[&str]).is_some_and(|r| r.is_err()));
    assert_eq!(fake.jwks_fetches(), 1);

    clock.advance(Duration::from_secs(31));
    assert!(
        v.validate_now(&rotated, &[] as &[&str]).is_none(),
        "past the cooldown, a failure may be a rotation"
    );
    let info = v.validate(&rotated).await.unwrap();
    assert_eq!(info.subject.as_deref(), Some("user-1"));
    assert_eq!(fake.jwks_fetches(), 2, "one refetch");
    v.validate(&rotated).await.unwrap();

    // Tokens signed by an attacker's key under the same kid: one refetch per cooldown at
    // most, however many.
    let forged = TestKey::rsa().sign_with(&claims, Some("k1"), Some("at+jwt"));
    for _ in 0..50 {
        assert_eq!(v.validate(&forged).await.unwrap_err().code(), "invalid_token");
    }
    assert_eq!(fake.jwks_fetches(), 2, "the fresh set is not refetched for forgeries");
    clock.advance(Duration::from_secs(31));
    let calls = (0..50).map(|_| {
        let (v, forged) = (v.clone(), forged.clone());
        tokio::spawn(async move { v.validate(&forged).await.unwrap_err().code() })
    });
    for code in futures_util::future::join_all(calls).await {
        assert_eq!(code.unwrap(), "invalid_token");
    }
    assert_eq!(fake.jwks_fetches(), 3, "50 concurrent forgeries past the cooldown: one refetch");
    // The old key is gone: its tokens no longer verify.
    assert_eq!(v.validate(&old.sign(&claims)).await.unwrap_err().code(), "invalid_token");
}

/// FAULT-8: callers queued behind the concurrency permits of a hung server get their answer
/// within one deadline, not one deadline per permit holder ahead of them.
#[tokio::test]
async fn waiting_for_a_permit_counts_against_the_deadline() {
    let fake = FakeAs::start().await;
    let mut c = basic(&fake);
    c.http.max_concurrent_requests = 1;
    c.http.timeout_ms = 400;
    c.http.retry = false;
    let v = Validator::new(c).unwrap();
    fake.set_fault(Fault::Hang);
    let started = Instant::now();
    let calls = (0..4).map(|_| {
        let v = v.clone();
        tokio::spawn(async move {
            let code = v.validate(&opaque()).await.unwrap_err().code();
            (code, started.elapsed())
        })
    });
    for result in futures_util::future::join_all(calls).await {
        let (code, took) = result.unwrap();
        assert_eq!(code, "unavailable");
        // Before the fix the fourth caller waited for three timeouts, then its own (1.6 s).
        assert!(took < Duration::from_millis(1_200), "answered after {took:?}, past two deadlines");
    }
    assert_eq!(fake.introspections(), 1, "the queued callers never reached the hung server");
}

/// FAULT-13: `introspection.max_new_tokens_per_sec` bounds what a flood of never-seen tokens
/// costs the authorization server; cached tokens are not counted, and the refusal is
/// `unavailable`, never `invalid_token`.
#[tokio::test]
async fn new_tokens_past_the_configured_rate_cost_no_request() {
    let fake = FakeAs::start().await;
    let clock = ManualClock::starting_now();
    let mut c = basic(&fake);
    c.introspection.max_new_tokens_per_sec = 2;
    let v = Validator::with_clock(c, clock.clone()).unwrap();
    let tokens: Vec<String> = (0..4).map(|_| opaque()).collect();
    for t in &tokens {
        fake.add_token(t, fake.active(json!({})));
    }
    v.validate(&tokens[0]).await.unwrap();
    v.validate(&tokens[1]).await.unwrap();
    let refused = v.validate(&tokens[2]).await.unwrap_err();
    assert_eq!(refused.code(), "unavailable", "{refused}");
    assert_eq!(fake.introspections(), 2);
    v.validate(&tokens[0]).await.unwrap();
    assert_eq!(fake.introspections(), 2, "a cached token costs nothing and is not limited");
    clock.advance(Duration::from_secs(1));
    v.validate(&tokens[2]).await.unwrap();
    assert_eq!(fake.introspections(), 3);
}

/// Discovery tries the OpenID location, then RFC 8414's: a 500 on the first is not hidden
/// behind the 404 of the second.
#[tokio::test]
async fn discovery_reports_the_telling_error() {
    let fake = FakeAs::start().await;
    fake.set_discovery_fault(Fault::Status(500, "boom".into(), "text/plain"));
    let v = Validator::new(fake.config("api")).unwrap();
    let e = v.validate(&opaque()).await.unwrap_err();
    assert_eq!(e.code(), "unavailable");
    assert!(e.detail().contains("HTTP status 500"), "{e}");
    assert!(e.detail().contains("OpenID Connect"), "{e}");
}

/// CONF-1: every duration and size near 2^64 is refused when the validator is built, with the
/// field's name, instead of panicking on the first call.
#[tokio::test]
async fn durations_near_two_to_the_64_are_refused_at_build() {
    let fake = FakeAs::start().await;
    let huge = u64::MAX;
    type Set = fn(&mut Config, u64);
    let fields: [(&str, Set); 10] = [
        ("cache.max_ttl_secs", |c, v| c.cache.max_ttl_secs = v),
        ("jwks.default_ttl_secs", |c, v| c.jwks.default_ttl_secs = v),
        ("jwks.max_ttl_secs", |c, v| c.jwks.max_ttl_secs = v),
        ("jwks.refresh_cooldown_secs", |c, v| c.jwks.refresh_cooldown_secs = v),
        ("jwks.stale_secs", |c, v| c.jwks.stale_secs = v),
        ("http.timeout_ms", |c, v| c.http.timeout_ms = v),
        ("http.connect_timeout_ms", |c, v| c.http.connect_timeout_ms = v),
        ("max_token_lifetime_secs", |c, v| c.max_token_lifetime_secs = Some(v)),
        ("client_auth.assertion_lifetime_secs", |c, v| c.client_auth.assertion_lifetime_secs = v),
        ("introspection.signed_response_max_age_secs", |c, v| {
            c.introspection.signed_response_max_age_secs = v
        }),
    ];
    for (field, set) in fields {
        let mut c = basic(&fake);
        set(&mut c, huge);
        let e = Validator::new(c).unwrap_err();
        assert_eq!(e.code(), "configuration", "{field}");
        assert!(e.detail().contains(field), "{field}: {e}");
    }
}

/// REQ-2: a request with two `Authorization` lines is malformed, whichever comes first.
#[tokio::test]
async fn a_request_with_two_authorization_headers_is_invalid_request() {
    let fake = FakeAs::start().await;
    let v = Validator::new(basic(&fake)).unwrap();
    let token = opaque();
    fake.add_token(&token, fake.active(json!({})));
    let one = Request::new().authorization(format!("Bearer {token}")).scopes(["read"]);
    v.decide(&one).await.unwrap();
    let two = one.clone().authorization("Bearer another");
    assert_eq!(v.decide(&two).await.unwrap_err().code(), "invalid_request");
    let stats = v.stats();
    assert_eq!((stats.accepted, stats.refused), (1, 1), "both decisions passed the one counting point");
    assert_eq!(fake.introspections(), 1);
}

/// SIGNED-2 over real HTTP: under `client_secret_basic` (the default) a signed answer
/// addressed to another client is refused, and one addressed to us is used.
#[tokio::test]
async fn signed_answers_must_name_us_under_basic() {
    let fake = FakeAs::start().await;
    let rsa = TestKey::rsa();
    fake.set_keys(&[&rsa]);
    let server = Arc::new(rsa);
    for (aud, expected) in [("rs", "ok"), ("other-client", "unavailable")] {
        let mut c = basic(&fake);
        c.introspection_response = bearerguard::IntrospectionResponseFormat::Jwt;
        let v = Validator::new(c).unwrap();
        let token = opaque();
        let now = support::now();
        let inner = fake.active(json!({}));
        let signed = server.sign_raw(
            &json!({"alg": "RS256", "typ": "token-introspection+jwt", "kid": server.kid}),
            &json!({"iss": fake.issuer(), "aud": aud, "iat": now, "token_introspection": inner}),
        );
        fake.set_fault(Fault::Status(200, signed, "application/token-introspection+jwt"));
        let got = v.validate(&token).await.map(|_| "ok").unwrap_or_else(|e| e.code());
        assert_eq!(got, expected, "aud {aud}");
    }
}

/// An outage reaches every waiter of a single flight with its cause, so a binding can show it
/// (Python's `__cause__`).
#[tokio::test]
async fn an_introspection_outage_keeps_its_cause_for_every_waiter() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut c = Config::new(format!("http://127.0.0.1:{port}"), "api");
    c.discovery = false;
    c.introspection_endpoint = Some(format!("http://127.0.0.1:{port}/introspect"));
    c.http.retry = false;
    let v = Validator::new(c).unwrap();
    let token = opaque();
    let calls = (0..5).map(|_| {
        let (v, token) = (v.clone(), token.clone());
        tokio::spawn(async move { v.validate(&token).await.unwrap_err() })
    });
    for e in futures_util::future::join_all(calls).await {
        let e = e.unwrap();
        assert_eq!(e.code(), "unavailable");
        assert!(std::error::Error::source(&e).is_some(), "the cause is kept: {e:?}");
    }
}
