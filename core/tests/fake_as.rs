//! The core over real HTTP on 127.0.0.1 against an in-process fake authorization server:
//! discovery, JWKS, introspection with real client authentication checks, caching, single
//! flight, faults.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests")]

mod support;

use std::sync::atomic::Ordering;
use std::time::Duration;

use bearerguard::{ClientAuthMethod, Config, ManualClock, Secret, Strategy, TokenSource, Validator};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::json;
use support::{FakeAs, Fault, TestKey, now, opaque};

fn basic_config(fake: &FakeAs) -> Config {
    fake.expect_secret("rs special@client:%+/", "s3cr@t:%+/ x!");
    let mut c = fake.config("api");
    c.client_id = Some("rs special@client:%+/".into());
    c.client_secret = Some(Secret::new("s3cr@t:%+/ x!"));
    c
}

#[tokio::test]
async fn jwts_of_each_algorithm_validate_through_discovery_and_jwks() {
    let fake = FakeAs::start().await;
    let (rsa, ec, ed) = (TestKey::rsa(), TestKey::ec(), TestKey::ed());
    fake.set_keys(&[&rsa, &ec, &ed]);
    let v = Validator::new(fake.config("api")).unwrap();
    for key in [&rsa, &ec, &ed] {
        let token =
            key.sign(&fake.good_claims(json!({"urn:zitadel:iam:org:project:roles": {"admin": {"1": "x"}}})));
        let info = v.validate(&token).await.unwrap();
        assert_eq!(info.source, TokenSource::Jwt);
        assert_eq!(info.subject.as_deref(), Some("user-1"));
        assert_eq!(info.scopes, ["read", "write"]);
        assert_eq!(info.claims["urn:zitadel:iam:org:project:roles"]["admin"]["1"], "x");
    }
    assert_eq!(fake.state.counters.discovery.load(Ordering::SeqCst), 1, "discovery is cached");
    assert_eq!(fake.jwks_fetches(), 1, "one JWKS fetch serves every token");
    assert_eq!(fake.introspections(), 0);
    // ZITADEL's access tokens say typ JWT; strict mode refuses them.
    let zitadel_style = rsa.sign_with(&fake.good_claims(json!({})), Some(&rsa.kid), Some("JWT"));
    assert!(v.validate(&zitadel_style).await.is_ok());
    let mut strict = fake.config("api");
    strict.rfc9068_strict = true;
    let strict = Validator::new(strict).unwrap();
    assert_eq!(strict.validate(&zitadel_style).await.unwrap_err().code(), "invalid_token");
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
async fn client_secret_post_sends_credentials_in_the_body() {
    let fake = FakeAs::start().await;
    fake.expect_secret("rs-post", "post-secret");
    let mut c = fake.config("api");
    c.client_id = Some("rs-post".into());
    c.client_secret = Some(Secret::new("post-secret"));
    c.client_auth = Some(ClientAuthMethod::ClientSecretPost);
    let v = Validator::new(c).unwrap();
    let token = opaque();
    fake.add_token(&token, fake.active(json!({})));
    v.validate(&token).await.unwrap();
}

#[tokio::test]
async fn private_key_jwt_assertions_carry_the_right_claims_and_a_fresh_jti() {
    let fake = FakeAs::start().await;
    let rsa = TestKey::rsa();
    let jwk = rsa.public_jwk.clone();
    let key =
        DecodingKey::from_rsa_components(jwk["n"].as_str().unwrap(), jwk["e"].as_str().unwrap()).unwrap();
    fake.expect_jwt_client("rs-pkjwt", key, Algorithm::RS256);
    let mut c = fake.config("api");
    c.key_file =
        Some(support::repo_root().join("tests/fixtures/clients/zitadel-rs-pkjwt.json").display().to_string());
    let v = Validator::new(c).unwrap();
    for _ in 0..2 {
        let token = opaque();
        fake.add_token(&token, fake.active(json!({})));
        v.validate(&token).await.unwrap();
    }
    let assertions = fake.state.assertions.lock().unwrap().clone();
    assert_eq!(assertions.len(), 2);
    let (header, claims) = &assertions[0];
    assert_eq!(header["kid"], rsa.kid);
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
    c.client_id = Some("rs-ec".into());
    c.private_key = Some(Secret::new(support::fixture("clients/rs-pkjwt-ec.pem")));
    c.private_key_id = Some("rs-pkjwt-ec".into());
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
    c.assertion_audience = Some("introspection_endpoint".into());
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
    fake.add_token(&token, fake.active(json!({"exp": exp, "scope": "read"})));
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
async fn wrong_credentials_are_a_configuration_error() {
    let fake = FakeAs::start().await;
    fake.expect_secret("rs", "right");
    let mut c = fake.config("api");
    c.client_id = Some("rs".into());
    c.client_secret = Some(Secret::new("wrong"));
    let v = Validator::new(c).unwrap();
    let token = opaque();
    fake.add_token(&token, fake.active(json!({})));
    let e = v.validate(&token).await.unwrap_err();
    assert_eq!(e.code(), "configuration");
    assert_eq!(e.http_status(), 500);
    assert!(v.www_authenticate(&e).is_none());
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
    c.http.timeout_ms = 300;
    let v_down = Validator::new(c).unwrap();
    down.set_fault(Fault::Hang);
    let token = opaque();
    up.add_token(&token, up.active(json!({})));
    let hung = tokio::spawn({
        let v = v_down.clone();
        async move { v.validate(&opaque()).await.map(|_| ()) }
    });
    v_up.validate(&token).await.unwrap();
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
async fn strategies_route_tokens() {
    let fake = FakeAs::start().await;
    let rsa = TestKey::rsa();
    fake.set_keys(&[&rsa]);
    let jwt = rsa.sign(&fake.good_claims(json!({})));
    let token = opaque();
    let mut c = basic_config(&fake);
    c.strategy = Strategy::Jwt;
    let v = Validator::new(c.clone()).unwrap();
    assert!(v.validate(&jwt).await.is_ok());
    assert_eq!(v.validate(&token).await.unwrap_err().code(), "invalid_token");
    assert_eq!(fake.introspections(), 0);

    c.strategy = Strategy::Introspection;
    let v = Validator::new(c.clone()).unwrap();
    fake.add_token(&jwt, fake.active(json!({})));
    assert_eq!(v.validate(&jwt).await.unwrap().source, TokenSource::Introspection);
    assert_eq!(fake.jwks_fetches(), 1, "introspection-only never fetches keys");

    c.strategy = Strategy::IntrospectAll;
    let v = Validator::new(c).unwrap();
    // Revoked at the server: local validation alone would accept it.
    fake.add_token(&jwt, json!({"active": false}));
    assert_eq!(v.validate(&jwt).await.unwrap_err().code(), "invalid_token");
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
    c.client_id = Some("rs-jwk".into());
    c.private_key = Some(Secret::new(support::fixture("clients/rs-pkjwt-rsa.jwk.json")));
    let v = Validator::new(c).unwrap();
    let token = opaque();
    fake.add_token(&token, fake.active(json!({})));
    v.validate(&token).await.unwrap();
    let (header, _) = fake.state.assertions.lock().unwrap()[0].clone();
    assert_eq!(header["kid"], rsa.kid, "the JWK's kid is used");

    let fake = FakeAs::start().await;
    *fake.state.bearer.lock().unwrap() = Some("static-credential".into());
    let mut c = fake.config("api");
    c.introspection_bearer_token = Some(Secret::new("static-credential"));
    let v = Validator::new(c.clone()).unwrap();
    let token = opaque();
    fake.add_token(&token, fake.active(json!({})));
    v.validate(&token).await.unwrap();
    c.introspection_bearer_token = Some(Secret::new("wrong"));
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
