//! The cache of verified JWTs (`cache.jwt_max_entries`): a repeated token skips its parse and
//! signature check, yet `exp`, `nbf` and scopes are checked on every call, and a replaced key
//! set makes every remembered token verify again. Over real HTTP against the fake server.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests")]

mod support;

use std::sync::Arc;
use std::time::Duration;

use bearerguard::{ManualClock, Strategy, Validator};
use serde_json::json;
use support::{FakeAs, TestKey, now};

#[tokio::test]
async fn a_repeated_jwt_is_answered_from_memory_with_scopes_and_expiry_checked_each_time() {
    let fake = FakeAs::start().await;
    let rsa = TestKey::rsa();
    fake.set_keys(&[&rsa]);
    let clock = ManualClock::starting_now();
    let mut c = fake.config("api");
    c.leeway_secs = 5;
    let v = Validator::with_clock(c, clock.clone()).unwrap();
    let token = rsa.sign(&fake.good_claims(json!({"exp": now() + 60, "scope": "read"})));
    let first = v.validate(&token).await.unwrap();
    assert_eq!(v.remembered_jwts().await, 1);
    // The same answer object: no parse, no signature check.
    let again = v.validate_now::<&str>(&token, &[]).expect("a hit needs no I/O").unwrap();
    assert!(Arc::ptr_eq(&first, &again), "a hit hands back the remembered answer");
    // Scopes are the caller's, checked on every hit.
    let refused = v.validate_with_scopes(&token, &["write"]).await.unwrap_err();
    assert_eq!(refused.code(), "insufficient_scope");
    assert!(v.validate_with_scopes(&token, &["read"]).await.is_ok());
    // Within the leeway after exp the rules still accept; past it a hit must not answer.
    clock.advance(Duration::from_secs(62));
    assert!(Arc::ptr_eq(&first, &v.validate(&token).await.unwrap()), "exp + leeway not reached");
    clock.advance(Duration::from_secs(4));
    assert_eq!(v.validate(&token).await.unwrap_err().code(), "token_expired");
    assert_eq!(fake.jwks_fetches(), 1);
    let stats = v.stats();
    assert_eq!((stats.accepted, stats.refused), (4, 2), "hits are decisions: logged and counted");
}

#[tokio::test]
async fn a_key_removed_from_the_jwks_drops_the_tokens_it_verified() {
    let fake = FakeAs::start().await;
    let (rsa, ec) = (TestKey::rsa(), TestKey::ec());
    fake.set_keys(&[&rsa, &ec]);
    *fake.state.jwks_cache_control.lock().unwrap() = Some("max-age=60".into());
    let clock = ManualClock::starting_now();
    let mut c = fake.config("api");
    c.jwks.min_ttl_secs = 10;
    c.jwks.stale_secs = 100;
    let v = Validator::with_clock(c, clock.clone()).unwrap();
    let rsa_token = rsa.sign(&fake.good_claims(json!({"exp": now() + 100_000})));
    let ec_token = ec.sign(&fake.good_claims(json!({"exp": now() + 100_000})));
    v.validate(&rsa_token).await.unwrap();
    v.validate(&ec_token).await.unwrap();
    assert_eq!(v.remembered_jwts().await, 2);
    // The issuer drops the RSA key; once the set is refetched, the token it verified is
    // refused although its verdict is still in memory, and the EC token verifies once more.
    fake.set_keys(&[&ec]);
    clock.advance(Duration::from_secs(61));
    assert_eq!(v.validate(&rsa_token).await.unwrap_err().code(), "invalid_token");
    assert_eq!(fake.jwks_fetches(), 2);
    let ec_again = v.validate(&ec_token).await.unwrap();
    let ec_third = v.validate_now::<&str>(&ec_token, &[]).unwrap().unwrap();
    assert!(Arc::ptr_eq(&ec_again, &ec_third), "remembered again under the new set");
    // A set that expired and cannot be refetched stops every hit: the JWKS rules decide
    // (the stale window, then unavailable).
    fake.state.jwks_status.store(500, std::sync::atomic::Ordering::SeqCst);
    clock.advance(Duration::from_secs(61));
    assert!(v.validate_now::<&str>(&ec_token, &[]).is_none(), "an expired set answers no hit");
    assert!(v.validate(&ec_token).await.is_ok(), "within the stale window");
    clock.advance(Duration::from_secs(200));
    assert_eq!(v.validate(&ec_token).await.unwrap_err().code(), "unavailable");
    assert!(v.validate_now::<&str>(&rsa_token, &[]).is_none(), "no hit for the dropped key either");
}

#[tokio::test]
async fn remembering_is_off_when_the_server_must_be_asked_or_when_configured_off() {
    let fake = FakeAs::start().await;
    let rsa = TestKey::rsa();
    fake.set_keys(&[&rsa]);
    let token = rsa.sign(&fake.good_claims(json!({})));
    let mut all = fake.config("api");
    all.strategy = Strategy::IntrospectAll;
    all.client_auth.client_id = Some("rs".into());
    all.client_auth.client_secret = Some(bearerguard::Secret::new("secret"));
    fake.expect_secret("rs", "secret");
    fake.add_token(&token, fake.active(json!({})));
    let introspect_all = Validator::new(all).unwrap();
    introspect_all.validate(&token).await.unwrap();
    assert_eq!(introspect_all.remembered_jwts().await, 0, "introspect_all asks the server (revocation)");
    for off in [0, 1] {
        let mut c = fake.config("api");
        if off == 0 {
            c.cache.jwt_max_entries = 0;
        } else {
            c.cache.enabled = false;
        }
        let v = Validator::new(c).unwrap();
        let a = v.validate(&token).await.unwrap();
        let b = v.validate(&token).await.unwrap();
        assert!(!Arc::ptr_eq(&a, &b), "verified again");
        assert_eq!(v.remembered_jwts().await, 0);
    }
    // A token over 8 KiB is verified every time, so entries stay small.
    let v = Validator::new(fake.config("api")).unwrap();
    let big = rsa.sign(&fake.good_claims(json!({"pad": "x".repeat(9 * 1024)})));
    v.validate(&big).await.unwrap();
    v.validate(&big).await.unwrap();
    assert_eq!(v.remembered_jwts().await, 0);
    // A forged copy of a remembered token is not a hit: the key is a hash of the whole token.
    v.validate(&token).await.unwrap();
    let mut forged = token.clone();
    forged.pop();
    forged.push(if token.ends_with('A') { 'B' } else { 'A' });
    assert_eq!(v.validate(&forged).await.unwrap_err().code(), "invalid_token");
}

#[tokio::test]
async fn the_two_step_decision_answers_a_remembered_jwt_in_its_first_step_and_is_one_decision() {
    let fake = FakeAs::start().await;
    let ec = TestKey::ec();
    fake.set_keys(&[&ec]);
    let v = Validator::new(fake.config("api")).unwrap();
    let token = ec.sign(&fake.good_claims(json!({"exp": now() + 600, "scope": "read"})));
    let no_scopes: &[&str] = &[];
    // Not remembered yet: the first step hands the rest back, which verifies it.
    let rest = v.decide_token_remembered(&token, no_scopes).expect_err("not remembered yet");
    assert_eq!(format!("{rest:?}"), "Unremembered { .. }", "shows neither token nor key");
    let first = rest.decide().await.unwrap();
    // Remembered: the first step answers, the same answer object.
    let Ok(bearerguard::Decision::Ready(again)) = v.decide_token_remembered(&token, no_scopes) else {
        panic!("a remembered JWT is answered by the first step, ready");
    };
    assert!(Arc::ptr_eq(&first, &again.unwrap()));
    // Scopes are checked in the first step too; a malformed scope name is refused there.
    let Ok(decided) = v.decide_token_remembered(&token, &["write"]) else { panic!("remembered") };
    assert_eq!(decided.await.unwrap_err().code(), "insufficient_scope");
    let Ok(decided) = v.decide_token_remembered(&token, &["bad scope"]) else { panic!("refused early") };
    assert_eq!(decided.await.unwrap_err().code(), "configuration", "the app asked for a bad name");
    // A token that is no JWT goes through the rest of the path like any other.
    let rest = v.decide_token_remembered("not-a-jwt", no_scopes).expect_err("not remembered");
    assert_eq!(rest.decide().await.unwrap_err().code(), "invalid_token");
    let stats = v.stats();
    assert_eq!((stats.accepted, stats.refused), (2, 3), "each call counted once");
    assert_eq!(fake.jwks_fetches(), 1);
}
