//! The core over real HTTP on 127.0.0.1 against an in-process fake authorization server:
//! discovery, JWKS, introspection with real client authentication checks, caching, single
//! flight, faults.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests")]

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use bearerguard::{Config, ManualClock, Secret, Strategy, TokenSource, Validator};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::json;
use support::{FakeAs, Fault, TestKey, now, opaque};

fn basic_config(fake: &FakeAs) -> Config {
    fake.expect_secret("rs special@client:%+/", "s3cr@t:%+/ x!");
    let mut c = fake.config("api");
    c.client_auth.client_id = Some("rs special@client:%+/".into());
    c.client_auth.client_secret = Some(Secret::new("s3cr@t:%+/ x!"));
    c
}

#[tokio::test]
async fn basic_credentials_with_special_characters_are_accepted() {
    let fake = FakeAs::start().await;
    let v = Validator::new(basic_config(&fake)).unwrap();
    let token = opaque();
    fake.add_token(&token, fake.active(json!({"aut": "APPLICATION_USER", "username": "alice"})));
    let info = v.validate(&token).await.unwrap();
    assert_eq!(info.source, TokenSource::Introspection);
    assert_eq!(info.username.as_deref(), Some("alice"));
    assert_eq!(info.claims["aut"], "APPLICATION_USER");
    let form = fake.state.last_form.lock().unwrap().clone();
    assert_eq!(form.get("token_type_hint").map(String::as_str), Some("access_token"));
    assert_eq!(form.get("token"), Some(&token));
}

#[tokio::test]
async fn private_key_jwt_assertions_carry_the_right_claims_and_a_fresh_jti() {
    let fake = FakeAs::start().await;
    let v = zitadel_key_file_client(&fake);
    for _ in 0..2 {
        let token = opaque();
        fake.add_token(&token, fake.active(json!({})));
        v.validate(&token).await.unwrap();
    }
    let assertions = fake.state.assertions.lock().unwrap().clone();
    assert_eq!(assertions.len(), 2);
    let (header, claims) = &assertions[0];
    assert_eq!(header["kid"], TestKey::rsa().kid);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(claims["iss"], "rs-pkjwt", "client id comes from the key file");
    assert_eq!(claims["sub"], "rs-pkjwt");
    assert_eq!(claims["aud"], fake.issuer());
    let (iat, exp) = (claims["iat"].as_u64().unwrap(), claims["exp"].as_u64().unwrap());
    assert!(iat <= now() && iat + 10 >= now(), "iat is now, slightly backdated");
    assert!(exp > now() && exp <= now() + 61, "exp is short");
    assert_ne!(assertions[0].1["jti"], assertions[1].1["jti"], "a fresh jti per request");
}

#[tokio::test]
async fn private_key_jwt_from_pkcs8_and_jwk_with_other_audiences() {
    let fake = FakeAs::start().await;
    let ec = TestKey::ec();
    let key = DecodingKey::from_ec_components(
        ec.public_jwk["x"].as_str().unwrap(),
        ec.public_jwk["y"].as_str().unwrap(),
    )
    .unwrap();
    fake.expect_jwt_client("rs-ec", key, Algorithm::ES256);
    let mut c = fake.config("api");
    c.client_auth.client_id = Some("rs-ec".into());
    c.client_auth.private_key = Some(Secret::new(support::fixture("clients/rs-pkjwt-ec.pem")));
    c.client_auth.private_key_id = Some("rs-pkjwt-ec".into());
    let v = Validator::new(c.clone()).unwrap();
    let token = opaque();
    fake.add_token(&token, fake.active(json!({})));
    v.validate(&token).await.unwrap();
    let (header, claims) = fake.state.assertions.lock().unwrap()[0].clone();
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["kid"], "rs-pkjwt-ec");
    assert_eq!(claims["iss"], "rs-ec");
    // A server that wants the introspection endpoint as audience gets it (this fake then
    // refuses, which surfaces as a configuration error, never as an invalid token).
    c.client_auth.assertion_audience = Some("introspection_endpoint".into());
    let v = Validator::new(c).unwrap();
    let token = opaque();
    fake.add_token(&token, fake.active(json!({})));
    assert_eq!(v.validate(&token).await.unwrap_err().code(), "configuration");
}

#[tokio::test]
async fn one_hundred_concurrent_calls_make_one_introspection_request() {
    let fake = FakeAs::start().await;
    let v = Validator::new(basic_config(&fake)).unwrap();
    let token = opaque();
    fake.add_token(&token, fake.active(json!({})));
    fake.state.delay_ms.store(200, Ordering::SeqCst);
    let calls = (0..100).map(|_| {
        let v = v.clone();
        let t = token.clone();
        tokio::spawn(async move { v.validate(&t).await.map(|i| i.subject.clone()) })
    });
    for r in futures_util::future::join_all(calls).await {
        assert_eq!(r.unwrap().unwrap().as_deref(), Some("user-1"));
    }
    assert_eq!(fake.introspections(), 1);
    assert_eq!(v.stats().introspection_requests, 1);
}

#[tokio::test]
async fn a_cancelled_caller_does_not_fail_the_others() {
    let fake = FakeAs::start().await;
    let v = Validator::new(basic_config(&fake)).unwrap();
    let token = opaque();
    fake.add_token(&token, fake.active(json!({})));
    fake.state.delay_ms.store(300, Ordering::SeqCst);
    let first = {
        let (v, t) = (v.clone(), token.clone());
        tokio::spawn(async move { v.validate(&t).await.map(|_| ()) })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let second = {
        let (v, t) = (v.clone(), token.clone());
        tokio::spawn(async move { v.validate(&t).await.map(|_| ()) })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    first.abort();
    assert!(second.await.unwrap().is_ok());
}

#[tokio::test]
async fn cached_ttl_is_capped_by_exp_and_scopes_are_checked_on_hits() {
    let fake = FakeAs::start().await;
    let clock = ManualClock::starting_now();
    let mut c = basic_config(&fake);
    c.cache.max_ttl_secs = 300;
    c.leeway_secs = 0;
    let v = Validator::with_clock(c, clock.clone()).unwrap();
    let token = opaque();
    let exp = now() + 10;
    // `iat` a second before the manual clock's start: `now()` may already be a second later.
    fake.add_token(&token, fake.active(json!({"exp": exp, "iat": now() - 1, "scope": "read"})));
    v.validate(&token).await.unwrap();
    clock.advance(Duration::from_secs(5));
    v.validate(&token).await.unwrap();
    assert_eq!(fake.introspections(), 1, "cached within exp");
    assert_eq!(v.validate_with_scopes(&token, &["write"]).await.unwrap_err().code(), "insufficient_scope");
    assert_eq!(fake.introspections(), 1, "scope refusal came from the cache");
    clock.advance(Duration::from_secs(6));
    // Past exp: the cache must not answer; the server is asked again.
    fake.add_token(&token, json!({"active": false}));
    assert_eq!(v.validate(&token).await.unwrap_err().code(), "invalid_token");
    assert_eq!(fake.introspections(), 2);
}

#[tokio::test]
async fn negative_answers_are_cached_briefly_and_errors_never() {
    let fake = FakeAs::start().await;
    let clock = ManualClock::starting_now();
    let mut c = basic_config(&fake);
    c.cache.negative_ttl_secs = 5;
    c.http.retry = false;
    let v = Validator::with_clock(c, clock.clone()).unwrap();
    let token = opaque();
    assert_eq!(v.validate(&token).await.unwrap_err().code(), "invalid_token");
    assert_eq!(v.validate(&token).await.unwrap_err().code(), "invalid_token");
    assert_eq!(fake.introspections(), 1, "inactive cached");
    clock.advance(Duration::from_secs(6));
    fake.add_token(&token, fake.active(json!({})));
    v.validate(&token).await.unwrap();
    assert_eq!(fake.introspections(), 2, "negative TTL is short");

    let token = opaque();
    fake.add_token(&token, fake.active(json!({})));
    fake.set_fault(Fault::StatusTimes(500, 1));
    assert_eq!(v.validate(&token).await.unwrap_err().code(), "unavailable");
    v.validate(&token).await.unwrap();
    assert_eq!(fake.introspections(), 4, "the 500 was not cached");

    // Timeouts (no answer; headers but a body too slow), then a healthy answer.
    let mut c = basic_config(&fake);
    c.http.retry = false;
    c.http.timeout_ms = 300;
    let v = Validator::with_clock(c, clock.clone()).unwrap();
    for (fault, requests) in [(Fault::Hang, 6), (Fault::Dribble, 8)] {
        let token = opaque();
        fake.add_token(&token, fake.active(json!({})));
        fake.set_fault(fault.clone());
        assert_eq!(v.validate(&token).await.unwrap_err().code(), "unavailable", "{fault:?}");
        fake.set_fault(Fault::None);
        v.validate(&token).await.unwrap();
        assert_eq!(fake.introspections(), requests, "the timeout ({fault:?}) was not cached");
    }

    // A connection error, then the server comes up on that very port.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let mut c = Config::new(format!("http://{addr}"), "api");
    c.discovery = false;
    c.introspection_endpoint = Some(format!("http://{addr}/introspect"));
    c.client_auth.client_id = Some("rs".into());
    c.client_auth.client_secret = Some(Secret::new("s"));
    let v = Validator::with_clock(c, clock.clone()).unwrap();
    let token = opaque();
    assert_eq!(v.validate(&token).await.unwrap_err().code(), "unavailable");
    let revived = FakeAs::start_on(&addr.to_string()).await;
    revived.expect_secret("rs", "s");
    revived.add_token(&token, revived.active(json!({})));
    v.validate(&token).await.unwrap();
    assert_eq!(revived.introspections(), 1, "the connection error was not cached");
}

#[tokio::test]
async fn retries_once_only_on_502_to_504_with_a_fresh_assertion() {
    let fake = FakeAs::start().await;
    let v = Validator::new(basic_config(&fake)).unwrap();
    let token = opaque();
    fake.add_token(&token, fake.active(json!({})));
    fake.set_fault(Fault::StatusTimes(503, 1));
    v.validate(&token).await.unwrap();
    assert_eq!(fake.introspections(), 2);
    let token = opaque();
    fake.set_fault(Fault::StatusTimes(503, 2));
    assert_eq!(v.validate(&token).await.unwrap_err().code(), "unavailable");
    assert_eq!(fake.introspections(), 4, "at most one retry");
    fake.set_fault(Fault::Status(400, r#"{"error":"invalid_request"}"#.into(), "application/json"));
    assert_eq!(v.validate(&opaque()).await.unwrap_err().code(), "configuration");
    assert_eq!(fake.introspections(), 5, "a 4xx is never retried");
    fake.set_fault(Fault::Status(500, String::new(), "text/plain"));
    assert_eq!(v.validate(&opaque()).await.unwrap_err().code(), "unavailable");
    assert_eq!(fake.introspections(), 6, "a 500 is not retried");
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let fake = FakeAs::start().await;
    let v = Validator::new(basic_config(&fake)).unwrap();
    fake.set_fault(Fault::Redirect);
    assert_eq!(v.validate(&opaque()).await.unwrap_err().code(), "unavailable");
    assert_eq!(fake.state.counters.elsewhere.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_server_that_is_down_hangs_dribbles_or_floods_is_unavailable() {
    // Down: a port nobody listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let dead = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let mut c = Config::new(dead.clone(), "api");
    c.discovery = false;
    c.introspection_endpoint = Some(format!("{dead}/introspect"));
    let v = Validator::new(c).unwrap();
    assert_eq!(v.validate(&opaque()).await.unwrap_err().code(), "unavailable");
    assert_eq!(v.validate("eyJhbGciOiJSUzI1NiJ9.e30.c2ln").await.unwrap_err().code(), "invalid_token");

    let fake = FakeAs::start().await;
    let mut c = basic_config(&fake);
    c.http.timeout_ms = 400;
    c.http.retry = false;
    let v = Validator::new(c).unwrap();
    for fault in [Fault::Hang, Fault::Dribble] {
        fake.set_fault(fault);
        let started = std::time::Instant::now();
        assert_eq!(v.validate(&opaque()).await.unwrap_err().code(), "unavailable");
        assert!(started.elapsed() < Duration::from_secs(3), "the deadline covers the body");
    }
    fake.set_fault(Fault::Huge(5 * 1024 * 1024));
    assert_eq!(v.validate(&opaque()).await.unwrap_err().code(), "unavailable");
    fake.set_fault(Fault::Status(200, "<html>ok</html>".into(), "text/html"));
    assert_eq!(v.validate(&opaque()).await.unwrap_err().code(), "unavailable");
    fake.set_fault(Fault::Status(200, r#"{"active":"true"}"#.into(), "application/json"));
    assert_eq!(v.validate(&opaque()).await.unwrap_err().code(), "unavailable");
}

#[tokio::test]
async fn one_issuer_down_does_not_affect_another() {
    let up = FakeAs::start().await;
    let down = FakeAs::start().await;
    let v_up = Validator::new(basic_config(&up)).unwrap();
    let mut c = basic_config(&down);
    c.http.retry = false;
    c.http.timeout_ms = 2_000;
    let v_down = Validator::new(c).unwrap();
    down.set_fault(Fault::Hang);
    let token = opaque();
    up.add_token(&token, up.active(json!({})));
    let hung = tokio::spawn({
        let v = v_down.clone();
        async move { v.validate(&opaque()).await.map(|_| ()) }
    });
    down.wait_for(|c| &c.introspect, 1).await;
    // Shared blocking (a global lock or semaphore, a stalled shared client) would hold this
    // call until the hung one gives up, 2 s from now.
    let started = std::time::Instant::now();
    v_up.validate(&token).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    assert_eq!(hung.await.unwrap().unwrap_err().code(), "unavailable");
}

#[tokio::test]
async fn one_issuer_with_a_hung_jwks_does_not_affect_another() {
    let up = FakeAs::start().await;
    let down = FakeAs::start().await;
    let rsa = TestKey::rsa();
    up.set_keys(&[&rsa]);
    down.set_keys(&[&rsa]);
    down.set_jwks_fault(Fault::Hang);
    let v_up = Validator::new(up.config("api")).unwrap();
    let mut c = down.config("api");
    c.http.timeout_ms = 2_000;
    let v_down = Validator::new(c).unwrap();
    let hung = tokio::spawn({
        let (v, t) = (v_down.clone(), rsa.sign(&down.good_claims(json!({}))));
        async move { v.validate(&t).await.map(|_| ()) }
    });
    down.wait_for(|c| &c.jwks, 1).await;
    let started = std::time::Instant::now();
    v_up.validate(&rsa.sign(&up.good_claims(json!({})))).await.unwrap();
    assert!(started.elapsed() < Duration::from_secs(1), "{:?}", started.elapsed());
    assert_eq!(hung.await.unwrap().unwrap_err().code(), "unavailable");
}

#[tokio::test]
async fn unknown_kid_flood_makes_at_most_one_jwks_fetch() {
    let fake = FakeAs::start().await;
    let rsa = TestKey::rsa();
    fake.set_keys(&[&rsa]);
    let v = Validator::new(fake.config("api")).unwrap();
    v.validate(&rsa.sign(&fake.good_claims(json!({})))).await.unwrap();
    assert_eq!(fake.jwks_fetches(), 1);
    let calls = (0..1000).map(|i| {
        let v = v.clone();
        let token =
            rsa.sign_with(&fake.good_claims(json!({})), Some(&format!("unknown-{i}")), Some("at+jwt"));
        tokio::spawn(async move { v.validate(&token).await.map(|_| ()) })
    });
    for r in futures_util::future::join_all(calls).await {
        assert_eq!(r.unwrap().unwrap_err().code(), "invalid_token");
    }
    assert!(fake.jwks_fetches() <= 2, "fetches: {}", fake.jwks_fetches());
}

#[tokio::test]
async fn key_rotation_cooldown_stale_window_and_expiry_burst() {
    let fake = FakeAs::start().await;
    let (rsa, ec) = (TestKey::rsa(), TestKey::ec());
    fake.set_keys(&[&rsa]);
    *fake.state.jwks_cache_control.lock().unwrap() = Some("max-age=60".into());
    let clock = ManualClock::starting_now();
    let mut c = fake.config("api");
    c.jwks.refresh_cooldown_secs = 30;
    c.jwks.stale_secs = 100;
    c.jwks.min_ttl_secs = 10;
    let v = Validator::with_clock(c, clock.clone()).unwrap();
    let rsa_token = rsa.sign(&fake.good_claims(json!({"exp": now() + 100_000})));
    let ec_token = ec.sign(&fake.good_claims(json!({"exp": now() + 100_000})));
    v.validate(&rsa_token).await.unwrap();
    // The issuer rotates in a new key: an unknown kid right after a fetch waits for the
    // cooldown (as panva/jose does), then triggers one refetch.
    fake.set_keys(&[&rsa, &ec]);
    assert_eq!(v.validate(&ec_token).await.unwrap_err().code(), "invalid_token");
    assert_eq!(fake.jwks_fetches(), 1);
    clock.advance(Duration::from_secs(31));
    v.validate(&ec_token).await.unwrap();
    assert_eq!(fake.jwks_fetches(), 2);
    // A key removed while the set is fresh stays trusted until max-age; unknown kids within
    // the cooldown cause no fetch.
    let bogus = rsa.sign_with(&fake.good_claims(json!({})), Some("nope"), Some("at+jwt"));
    assert_eq!(v.validate(&bogus).await.unwrap_err().code(), "invalid_token");
    assert_eq!(fake.jwks_fetches(), 2, "cooldown");
    clock.advance(Duration::from_secs(31));
    assert_eq!(v.validate(&bogus).await.unwrap_err().code(), "invalid_token");
    assert_eq!(fake.jwks_fetches(), 3, "after the cooldown one refetch");

    // The set expires (max-age 60) while the JWKS endpoint fails: the last good set is
    // used within the stale window, then the validator fails closed.
    fake.state.jwks_status.store(500, Ordering::SeqCst);
    clock.advance(Duration::from_secs(61));
    let burst = (0..50).map(|_| {
        let (v, t) = (v.clone(), rsa_token.clone());
        tokio::spawn(async move { v.validate(&t).await.map(|_| ()) })
    });
    for r in futures_util::future::join_all(burst).await {
        r.unwrap().unwrap();
    }
    assert_eq!(fake.jwks_fetches(), 4, "a burst at expiry makes one fetch");
    clock.advance(Duration::from_secs(120));
    assert_eq!(v.validate(&rsa_token).await.unwrap_err().code(), "unavailable");
    // Recovery: the endpoint heals, the next call after the backoff fetches again.
    fake.state.jwks_status.store(200, Ordering::SeqCst);
    clock.advance(Duration::from_secs(2));
    v.validate(&rsa_token).await.unwrap();
}

#[tokio::test]
async fn cheap_refusals_make_no_request() {
    let fake = FakeAs::start().await;
    let rsa = TestKey::rsa();
    fake.set_keys(&[&rsa]);
    let v = Validator::new(basic_config(&fake)).unwrap();
    let expired = rsa.sign(&fake.good_claims(json!({"exp": now() - 3600})));
    let wrong_iss = rsa.sign(&fake.good_claims(json!({"iss": "https://evil.example"})));
    let huge = "a".repeat(20_000);
    let jku = {
        let mut h = jsonwebtoken::Header::new(Algorithm::RS256);
        h.jku = Some(format!("{}/elsewhere", fake.base));
        jsonwebtoken::encode(&h, &fake.good_claims(json!({"exp": now() - 10_000})), &rsa.encoding).unwrap()
    };
    assert_eq!(v.validate(&expired).await.unwrap_err().code(), "token_expired");
    assert_eq!(v.validate(&wrong_iss).await.unwrap_err().code(), "invalid_token");
    assert_eq!(v.validate(&huge).await.unwrap_err().code(), "invalid_token");
    assert_eq!(v.validate("has space").await.unwrap_err().code(), "invalid_token");
    assert_eq!(v.validate("").await.unwrap_err().code(), "missing_token");
    assert_eq!(v.validate(&jku).await.unwrap_err().code(), "token_expired");
    let c = &fake.state.counters;
    let total = c.discovery.load(Ordering::SeqCst) + c.jwks.load(Ordering::SeqCst) + fake.introspections();
    assert_eq!(total + c.elsewhere.load(Ordering::SeqCst), 0, "no request at all");
}

#[tokio::test]
async fn discovery_must_name_our_issuer_and_https_endpoints() {
    let fake = FakeAs::start().await;
    *fake.state.discovery_doc.lock().unwrap() =
        Some(json!({"issuer": "https://other.example", "jwks_uri": format!("{}/jwks", fake.base)}));
    let v = Validator::new(fake.config("api")).unwrap();
    assert_eq!(v.validate(&opaque()).await.unwrap_err().code(), "configuration");
    *fake.state.discovery_doc.lock().unwrap() =
        Some(json!({"issuer": fake.issuer(), "jwks_uri": "http://evil.example/jwks"}));
    let v = Validator::new(fake.config("api")).unwrap();
    assert_eq!(v.validate(&opaque()).await.unwrap_err().code(), "configuration");
    assert_eq!(fake.jwks_fetches(), 0);
}

#[tokio::test]
async fn refresh_tokens_and_foreign_audiences_are_refused_even_when_active() {
    let fake = FakeAs::start().await;
    let v = Validator::new(basic_config(&fake)).unwrap();
    for (extra, code) in [
        (json!({"token_type": "Refresh"}), "invalid_token"),
        (json!({"aud": ["someone-else"]}), "invalid_token"),
        (json!({"iss": "https://evil.example"}), "invalid_token"),
        (json!({"exp": now() - 3600}), "token_expired"),
        (json!({"cnf": {"jkt": "abc"}}), "invalid_token"),
    ] {
        let token = opaque();
        fake.add_token(&token, fake.active(extra.clone()));
        assert_eq!(v.validate(&token).await.unwrap_err().code(), code, "{extra}");
    }
}

#[tokio::test]
async fn memory_stays_bounded_under_many_distinct_tokens() {
    let fake = FakeAs::start().await;
    let mut c = basic_config(&fake);
    c.cache.max_entries = 500;
    c.cache.negative_ttl_secs = 300;
    let v = Validator::new(c).unwrap();
    for _ in 0..3000 {
        let _ = v.validate(&opaque()).await;
    }
    assert!(v.cached_entries().await <= 500, "entries: {}", v.cached_entries().await);
}

#[tokio::test]
async fn two_validators_never_share_a_verdict() {
    let fake = FakeAs::start().await;
    let token = opaque();
    fake.add_token(&token, fake.active(json!({"aud": "api"})));
    let a = Validator::new(basic_config(&fake)).unwrap();
    let mut other = basic_config(&fake);
    other.audience = bearerguard::OneOrMany(vec!["other-api".into()]);
    let b = Validator::new(other).unwrap();
    a.validate(&token).await.unwrap();
    assert_eq!(b.validate(&token).await.unwrap_err().code(), "invalid_token");
}

#[tokio::test]
async fn private_key_from_a_jwk_and_a_static_bearer_credential() {
    let fake = FakeAs::start().await;
    let rsa = TestKey::rsa();
    let jwk = rsa.public_jwk.clone();
    let key =
        DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap()).unwrap();
    fake.expect_jwt_client("rs-jwk", key, Algorithm::RS256);
    let mut c = fake.config("api");
    c.client_auth.client_id = Some("rs-jwk".into());
    c.client_auth.private_key = Some(Secret::new(support::fixture("clients/rs-pkjwt-rsa.jwk.json")));
    let v = Validator::new(c).unwrap();
    let token = opaque();
    fake.add_token(&token, fake.active(json!({})));
    v.validate(&token).await.unwrap();
    let (header, _) = fake.state.assertions.lock().unwrap()[0].clone();
    assert_eq!(header["kid"], rsa.kid, "the JWK's kid is used");

    let fake = FakeAs::start().await;
    *fake.state.bearer.lock().unwrap() = Some("static-credential".into());
    let mut c = fake.config("api");
    c.client_auth.bearer_token = Some(Secret::new("static-credential"));
    let v = Validator::new(c.clone()).unwrap();
    let token = opaque();
    fake.add_token(&token, fake.active(json!({})));
    v.validate(&token).await.unwrap();
    c.client_auth.bearer_token = Some(Secret::new("wrong"));
    assert_eq!(Validator::new(c).unwrap().validate(&token).await.unwrap_err().code(), "configuration");
}

#[tokio::test]
async fn validate_now_answers_only_what_needs_no_io() {
    let fake = FakeAs::start().await;
    let rsa = TestKey::rsa();
    fake.set_keys(&[&rsa]);
    let v = Validator::new(basic_config(&fake)).unwrap();
    let jwt = rsa.sign(&fake.good_claims(json!({})));
    assert!(v.validate_now(&jwt, &["read"]).is_none(), "nothing discovered yet");
    assert_eq!(v.validate_now("bad token", &[] as &[&str]).unwrap().unwrap_err().code(), "invalid_token");
    v.validate(&jwt).await.unwrap();
    assert_eq!(v.validate_now(&jwt, &["read"]).unwrap().unwrap().subject.as_deref(), Some("user-1"));
    assert_eq!(v.validate_now(&jwt, &["admin"]).unwrap().unwrap_err().code(), "insufficient_scope");
    let forged = format!("{}AAAA", &jwt[..jwt.len() - 4]);
    assert_eq!(v.validate_now(&forged, &[] as &[&str]).unwrap().unwrap_err().code(), "invalid_token");
    let token = opaque();
    fake.add_token(&token, fake.active(json!({})));
    assert!(v.validate_now(&token, &[] as &[&str]).is_none(), "a cache miss needs the server");
    v.validate(&token).await.unwrap();
    assert!(v.validate_now(&token, &[] as &[&str]).unwrap().is_ok(), "a cache hit answers at once");
    assert_eq!(fake.introspections(), 1);
}

// ------------------------------------------------------------------------------------------
// Header keys, kid, caches, timeouts and isolation (review gaps of docs/security.md).

#[tokio::test]
async fn header_keys_and_key_urls_are_never_fetched_or_trusted() {
    let fake = FakeAs::start().await;
    let (rsa, attacker) = (TestKey::rsa(), TestKey::ec());
    fake.set_keys(&[&rsa]);
    let clock = ManualClock::starting_now();
    let v = Validator::with_clock(fake.config("api"), clock.clone()).unwrap();
    let elsewhere = format!("{}/elsewhere", fake.base);
    let claims = fake.good_claims(json!({}));
    let hostile = [
        json!({"jku": elsewhere}),
        json!({"x5u": elsewhere}),
        json!({"jwk": attacker.public_jwk}),
        // Any certificate: it must not even be looked at.
        json!({"x5c": ["MIIBszCCAVmgAwIBAgIUQ2FuYXJ5"]}),
        json!({"jku": elsewhere, "x5u": elsewhere, "jwk": attacker.public_jwk, "x5c": ["MIIB"]}),
    ];
    let header = |alg: &str, kid: Option<&str>, extra: &serde_json::Value| {
        let mut h = json!({"alg": alg, "typ": "at+jwt"});
        if let Some(kid) = kid {
            h["kid"] = json!(kid);
        }
        for (k, val) in extra.as_object().unwrap() {
            h[k] = val.clone();
        }
        h
    };
    // Signed by the issuer's key: accepted, with the key from the issuer's JWKS only.
    for extra in &hostile {
        let token = rsa.sign_raw(&header("RS256", Some(&rsa.kid), extra), &claims);
        v.validate(&token).await.unwrap_or_else(|e| panic!("{extra}: {e}"));
    }
    // Signed by a key the header brings along (with and without a kid): refused.
    for extra in &hostile {
        for kid in [Some(attacker.kid.as_str()), None] {
            let token = attacker.sign_raw(&header("ES256", kid, extra), &claims);
            assert_eq!(v.validate(&token).await.unwrap_err().code(), "invalid_token", "{extra}");
        }
    }
    assert_eq!(fake.jwks_fetches(), 1);
    // Past the cooldown an unknown kid refetches the issuer's JWKS, and only that.
    clock.advance(Duration::from_secs(31));
    let token = rsa.sign_raw(&header("RS256", Some("rotated-1"), &hostile[4]), &claims);
    assert_eq!(v.validate(&token).await.unwrap_err().code(), "invalid_token");
    assert_eq!(fake.jwks_fetches(), 2, "the refresh path went to the configured JWKS");
    assert_eq!(fake.elsewhere(), 0, "no request to a header's URL");
    assert_eq!(fake.introspections(), 0);
}

#[tokio::test]
async fn kid_is_only_a_lookup_key_never_a_url_path_or_query() {
    let fake = FakeAs::start().await;
    let rsa = TestKey::rsa();
    fake.set_keys(&[&rsa]);
    let v = Validator::new(fake.config("api")).unwrap();
    let claims = fake.good_claims(json!({}));
    v.validate(&rsa.sign(&claims)).await.unwrap();
    for kid in [
        format!("{}/elsewhere", fake.base),
        "/elsewhere".into(),
        "../elsewhere".into(),
        "../../jwks".into(),
        "jwks".into(),
        "/jwks?kid=x".into(),
        "?kid=x".into(),
        "#elsewhere".into(),
    ] {
        let token = rsa.sign_with(&claims, Some(&kid), Some("at+jwt"));
        assert_eq!(v.validate(&token).await.unwrap_err().code(), "invalid_token", "{kid}");
    }
    assert_eq!(fake.elsewhere(), 0);
    assert_eq!(fake.jwks_fetches(), 1, "no kid-derived fetch, not even of the JWKS itself");
    assert_eq!(fake.discoveries(), 1);
    assert_eq!(fake.introspections(), 0);
}

#[tokio::test]
async fn an_oversized_introspection_response_is_used_but_not_cached() {
    let fake = FakeAs::start().await;
    let v = Validator::new(basic_config(&fake)).unwrap();
    // Over the 16 KiB cache limit, under the 64 KiB response cap: accepted each time, asked
    // each time.
    let big = opaque();
    fake.add_token(&big, fake.active(json!({"pad": "x".repeat(20 * 1024)})));
    v.validate(&big).await.unwrap();
    v.validate(&big).await.unwrap();
    assert_eq!(fake.introspections(), 2, "an oversized response is not cached");
    // 10 KiB is cached.
    let medium = opaque();
    fake.add_token(&medium, fake.active(json!({"pad": "x".repeat(10 * 1024)})));
    v.validate(&medium).await.unwrap();
    v.validate(&medium).await.unwrap();
    assert_eq!(fake.introspections(), 3, "a response under the limit is cached");
}

#[tokio::test]
async fn validators_differing_only_in_endpoint_or_client_never_share_a_verdict() {
    let fake = FakeAs::start().await;
    let twin = FakeAs::start().await;
    *twin.state.issuer.lock().unwrap() = fake.issuer();
    let token = opaque();
    fake.add_token(&token, fake.active(json!({})));
    twin.add_token(&token, json!({"active": false}));
    let a = Validator::new(basic_config(&fake)).unwrap();
    a.validate(&token).await.unwrap();
    // Same issuer, audience and client; only the endpoint differs.
    let mut c = basic_config(&twin);
    c.discovery = false;
    c.introspection_endpoint = Some(format!("{}/introspect", twin.base));
    assert_eq!(Validator::new(c).unwrap().validate(&token).await.unwrap_err().code(), "invalid_token");
    assert_eq!(twin.introspections(), 1);
    // Same endpoint; only the client differs (and this server does not know it).
    let mut c = basic_config(&fake);
    c.client_auth.client_id = Some("another-client".into());
    assert_eq!(Validator::new(c).unwrap().validate(&token).await.unwrap_err().code(), "configuration");
    assert_eq!(fake.introspections(), 2);
}

#[tokio::test]
async fn jwks_caches_are_kept_per_issuer_and_per_jwks_uri() {
    let (a, b) = (FakeAs::start().await, FakeAs::start().await);
    let (rsa, ec) = (TestKey::rsa(), TestKey::ec());
    a.set_keys(&[&rsa]);
    b.set_keys(&[&ec]);
    // Two issuers in one process.
    let va = Validator::new(a.config("api")).unwrap();
    let vb = Validator::new(b.config("api")).unwrap();
    va.validate(&rsa.sign(&a.good_claims(json!({})))).await.unwrap();
    vb.validate(&ec.sign(&b.good_claims(json!({})))).await.unwrap();
    assert_eq!(vb.validate(&rsa.sign(&b.good_claims(json!({})))).await.unwrap_err().code(), "invalid_token");
    assert_eq!(va.validate(&ec.sign(&a.good_claims(json!({})))).await.unwrap_err().code(), "invalid_token");
    assert_eq!((a.jwks_fetches(), b.jwks_fetches()), (1, 1), "each issuer's own set, fetched once");
    // One issuer, two jwks_uris.
    let mut c1 = Config::new(a.issuer(), "api");
    c1.discovery = false;
    c1.strategy = Strategy::Jwt;
    c1.jwks_uri = Some(format!("{}/jwks", a.base));
    let mut c2 = c1.clone();
    c2.jwks_uri = Some(format!("{}/jwks", b.base));
    let (v1, v2) = (Validator::new(c1).unwrap(), Validator::new(c2).unwrap());
    let rsa_token = rsa.sign(&a.good_claims(json!({})));
    let ec_token = ec.sign(&a.good_claims(json!({})));
    v1.validate(&rsa_token).await.unwrap();
    v2.validate(&ec_token).await.unwrap();
    assert_eq!(v1.validate(&ec_token).await.unwrap_err().code(), "invalid_token");
    assert_eq!(v2.validate(&rsa_token).await.unwrap_err().code(), "invalid_token");
    assert_eq!((a.jwks_fetches(), b.jwks_fetches()), (2, 2));
}

/// A loopback address whose accept queue is full: the kernel drops further SYNs, so a
/// connect is neither accepted nor refused and only a connect timeout ends it. (A
/// non-routable address is no use here: this sandbox answers connects to it at once.)
async fn unanswered_address() -> (tokio::net::TcpListener, Vec<tokio::net::TcpStream>, String) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(0).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut held = Vec::new();
    for _ in 0..64 {
        match tokio::time::timeout(Duration::from_millis(200), tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(stream)) => held.push(stream),
            Ok(Err(e)) => panic!("connect failed at once: {e}"),
            // The queue is full: connects now hang.
            Err(_) => return (listener, held, format!("http://{addr}")),
        }
    }
    panic!("the accept queue never filled");
}

#[tokio::test]
async fn every_call_to_the_server_has_a_connect_timeout() {
    let (_listener, _held, base) = unanswered_address().await;
    let rsa = TestKey::rsa();
    let with_timeouts = |mut c: Config| {
        c.http.connect_timeout_ms = 200;
        c.http.timeout_ms = 10_000;
        c
    };
    // Discovery.
    let v = Validator::new(with_timeouts(Config::new(base.clone(), "api"))).unwrap();
    // JWKS.
    let mut c = Config::new(base.clone(), "api");
    c.discovery = false;
    c.strategy = Strategy::Jwt;
    c.jwks_uri = Some(format!("{base}/jwks"));
    let v_jwks = Validator::new(with_timeouts(c)).unwrap();
    // Introspection (connection errors are retried once).
    let mut c = Config::new(base.clone(), "api");
    c.discovery = false;
    c.introspection_endpoint = Some(format!("{base}/introspect"));
    let v_introspect = Validator::new(with_timeouts(c)).unwrap();
    let jwt = rsa.sign(&json!({"iss": base, "aud": "api", "exp": now() + 600, "iat": now()}));
    for (what, v, token) in
        [("discovery", &v, opaque()), ("jwks", &v_jwks, jwt), ("introspection", &v_introspect, opaque())]
    {
        let started = std::time::Instant::now();
        assert_eq!(v.validate(&token).await.unwrap_err().code(), "unavailable", "{what}");
        assert!(started.elapsed() < Duration::from_secs(2), "{what}: {:?}", started.elapsed());
    }
}

#[tokio::test]
async fn jwks_and_discovery_fetches_have_a_total_deadline() {
    let rsa = TestKey::rsa();
    let mut runs = Vec::new();
    for fault in [Fault::Hang, Fault::Dribble] {
        for endpoint in ["jwks", "discovery"] {
            let fault = fault.clone();
            let rsa = &rsa;
            runs.push(async move {
                let fake = FakeAs::start().await;
                fake.set_keys(&[rsa]);
                match endpoint {
                    "jwks" => fake.set_jwks_fault(fault.clone()),
                    _ => fake.set_discovery_fault(fault.clone()),
                }
                let mut c = fake.config("api");
                c.http.timeout_ms = 400;
                let v = Validator::new(c).unwrap();
                let started = std::time::Instant::now();
                let e = v.validate(&rsa.sign(&fake.good_claims(json!({})))).await.unwrap_err();
                assert_eq!(e.code(), "unavailable", "{endpoint} {fault:?}");
                // Discovery tries two locations, each within the deadline.
                assert!(started.elapsed() < Duration::from_secs(3), "{endpoint} {fault:?}");
            });
        }
    }
    futures_util::future::join_all(runs).await;
}

#[tokio::test]
async fn the_default_unknown_kid_cooldown_is_thirty_seconds() {
    let fake = FakeAs::start().await;
    let (rsa, ec) = (TestKey::rsa(), TestKey::ec());
    fake.set_keys(&[&rsa]);
    let clock = ManualClock::starting_now();
    let v = Validator::with_clock(fake.config("api"), clock.clone()).unwrap();
    v.validate(&rsa.sign(&fake.good_claims(json!({})))).await.unwrap();
    fake.set_keys(&[&rsa, &ec]);
    let ec_token = ec.sign(&fake.good_claims(json!({"exp": now() + 3600})));
    assert_eq!(v.validate(&ec_token).await.unwrap_err().code(), "invalid_token");
    clock.advance(Duration::from_secs(29));
    assert_eq!(v.validate(&ec_token).await.unwrap_err().code(), "invalid_token");
    assert_eq!(fake.jwks_fetches(), 1, "no refetch within 29 s");
    clock.advance(Duration::from_secs(2));
    v.validate(&ec_token).await.unwrap();
    assert_eq!(fake.jwks_fetches(), 2, "one refetch after 31 s");
}

#[tokio::test]
async fn a_newer_jwks_is_never_overwritten_by_an_older_one() {
    let fake = FakeAs::start().await;
    let (rsa, ec) = (TestKey::rsa(), TestKey::ec());
    fake.set_keys(&[&rsa]);
    *fake.state.jwks_cache_control.lock().unwrap() = Some("max-age=60".into());
    let clock = ManualClock::starting_now();
    let v = Validator::with_clock(fake.config("api"), clock.clone()).unwrap();
    let rsa_token = rsa.sign(&fake.good_claims(json!({"exp": now() + 3600})));
    let ec_token = ec.sign(&fake.good_claims(json!({"exp": now() + 3600})));
    v.validate(&rsa_token).await.unwrap();
    clock.advance(Duration::from_secs(61));
    // The set expired. Refresh A starts and is answered late, with the set as it was when
    // A's request arrived: the old one.
    fake.state.jwks_delays.lock().unwrap().push_back(800);
    let a = tokio::spawn({
        let (v, t) = (v.clone(), rsa_token.clone());
        async move { v.validate(&t).await.map(|_| ()) }
    });
    fake.wait_for(|c| &c.jwks, 2).await;
    // The issuer rotates; caller B needs the new key while A's answer is still on its way. A
    // second fetch in flight would get the new set and answer first.
    fake.set_keys(&[&rsa, &ec]);
    let b = tokio::spawn({
        let (v, t) = (v.clone(), ec_token.clone());
        async move { v.validate(&t).await.map(|_| ()) }
    });
    a.await.unwrap().unwrap();
    let b = b.await.unwrap();
    // Whatever the order of answers, the set in use is the one the last-started fetch got,
    // and a key some caller was already accepted with is still there.
    let served = fake.state.jwks_served.lock().unwrap().clone();
    let newest_has_ec =
        served.last().unwrap()["keys"].as_array().unwrap().iter().any(|k| k["kid"] == ec.kid.as_str());
    let ec_now = matches!(v.validate_now(&ec_token, &[] as &[&str]), Some(Ok(_)));
    assert_eq!(ec_now, newest_has_ec, "the key set in use is the newest fetched ({} fetches)", served.len());
    if b.is_ok() {
        assert!(ec_now, "the key set B used was replaced by an older one");
    }
    assert!(matches!(v.validate_now(&rsa_token, &[] as &[&str]), Some(Ok(_))));
}

#[tokio::test]
async fn introspection_concurrency_is_bounded() {
    let fake = FakeAs::start().await;
    let mut c = basic_config(&fake);
    c.http.max_concurrent_requests = 2;
    let v = Validator::new(c).unwrap();
    fake.state.delay_ms.store(150, Ordering::SeqCst);
    let calls = (0..10).map(|_| {
        let token = opaque();
        fake.add_token(&token, fake.active(json!({})));
        let v = v.clone();
        tokio::spawn(async move { v.validate(&token).await.map(|_| ()) })
    });
    for r in futures_util::future::join_all(calls).await {
        r.unwrap().unwrap();
    }
    assert_eq!(fake.introspections(), 10);
    let peak = fake.state.counters.introspect_peak.load(Ordering::SeqCst);
    assert_eq!(peak, 2, "at most 2 requests in flight, and the calls did overlap");
}

#[tokio::test]
async fn timeouts_are_not_retried() {
    let fake = FakeAs::start().await;
    let mut c = basic_config(&fake);
    c.http.retry = true;
    c.http.timeout_ms = 300;
    let v = Validator::new(c).unwrap();
    for (fault, requests) in [(Fault::Hang, 1), (Fault::Dribble, 2)] {
        fake.set_fault(fault.clone());
        assert_eq!(v.validate(&opaque()).await.unwrap_err().code(), "unavailable");
        assert_eq!(fake.introspections(), requests, "{fault:?} was retried");
    }
    // The retry itself works: a 503 is retried.
    fake.set_fault(Fault::StatusTimes(503, 1));
    let token = opaque();
    fake.add_token(&token, fake.active(json!({})));
    v.validate(&token).await.unwrap();
    assert_eq!(fake.introspections(), 4);
}

#[tokio::test]
async fn a_retry_carries_a_fresh_client_assertion() {
    let fake = FakeAs::start().await;
    let v = zitadel_key_file_client(&fake);
    let token = opaque();
    fake.add_token(&token, fake.active(json!({})));
    // The fake refuses a jti it has seen: the retry succeeds only with a new assertion.
    fake.set_fault(Fault::StatusTimes(503, 1));
    v.validate(&token).await.unwrap();
    assert_eq!(fake.introspections(), 2);
    let assertions = fake.state.assertions.lock().unwrap().clone();
    assert_eq!(assertions.len(), 2);
    assert_ne!(assertions[0].1["jti"], assertions[1].1["jti"]);
}

/// A validator authenticating with `private_key_jwt` from ZITADEL's key file, and the fake AS
/// told to expect exactly that client and key.
fn zitadel_key_file_client(fake: &FakeAs) -> Validator {
    let jwk = TestKey::rsa().public_jwk;
    let key =
        DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap()).unwrap();
    fake.expect_jwt_client("rs-pkjwt", key, Algorithm::RS256);
    let mut c = fake.config("api");
    c.client_auth.key_file =
        Some(support::repo_root().join("tests/fixtures/clients/zitadel-rs-pkjwt.json").display().to_string());
    Validator::new(c).unwrap()
}
