//! Sender-constrained tokens end to end through `Validator::decide`: DPoP-bound JWTs and
//! opaque tokens minted by the test kit, proofs made by its `DpopKey`, certificate-bound tokens
//! (docs/security.md DPOP-*, MTLS-*). The shared cases (`tests/cases/sender_constrained.json`)
//! check the refusals in all three languages; this file checks what they cannot express.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests")]

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bearerguard::replay::{MemoryReplayStore, ReplayStore};
use bearerguard::testing::{DpopKey, ProofOptions, TestAuthorizationServer, TokenOptions};
use bearerguard::{ClientCertificate, Config, ManualClock, Request, SenderConstraint, Validator};

const URL: &str = "https://api.example.test/orders";

fn config(server: &TestAuthorizationServer, policy: SenderConstraint) -> Config {
    let mut config = server.config();
    config.sender_constraint = policy;
    config
}

fn dpop_request(token: &str, proof: String) -> Request {
    Request::new()
        .method("GET")
        .url(format!("{URL}?page=2"))
        .authorization(format!("DPoP {token}"))
        .dpop(proof)
}

#[tokio::test]
async fn dpop_bound_jwt_and_opaque_tokens_are_accepted_once_per_proof() {
    let server = TestAuthorizationServer::start().unwrap();
    let validator = Validator::new(config(&server, SenderConstraint::Allow)).unwrap();
    let key = DpopKey::generate().unwrap();
    let options = TokenOptions::new().subject("alice").scope("read").dpop_jkt(key.thumbprint());
    for token in [server.jwt(&options).unwrap(), server.opaque(&options).unwrap()] {
        let request = dpop_request(&token, key.proof("GET", URL, &token).unwrap());
        let info = validator.decide(&request).await.unwrap();
        assert_eq!(info.subject.as_deref(), Some("alice"));
        assert!(info.dpop_nonce.is_none(), "nonces are off");
        let again = validator.decide(&request).await.unwrap_err();
        assert_eq!(again.code(), "invalid_dpop_proof", "a replay");
        assert_eq!(again.http_status(), 401);
        let www = validator.www_authenticate(&again).unwrap();
        assert!(www.starts_with("Bearer"), "{www}");
        assert!(www.contains(r#"DPoP error="invalid_dpop_proof""#), "{www}");
        assert!(www.contains(r#"algs="ES256 ES384 EdDSA"#), "{www}");
        // A bound token sent as Bearer, with or without the proof beside it: a downgrade.
        let fresh = key.proof("GET", URL, &token).unwrap();
        let bearer =
            Request::new().method("GET").url(URL).authorization(format!("Bearer {token}")).dpop(fresh);
        assert_eq!(validator.decide(&bearer).await.unwrap_err().code(), "invalid_token");
        assert_eq!(validator.validate(&token).await.unwrap_err().code(), "invalid_token");
        // Another key's proof: the token is not bound to it.
        let other = DpopKey::generate().unwrap();
        let request = dpop_request(&token, other.proof("GET", URL, &token).unwrap());
        let refused = validator.decide(&request).await.unwrap_err();
        assert_eq!(refused.code(), "invalid_token");
        let www = validator.www_authenticate(&refused).unwrap();
        assert!(www.contains(r#"DPoP error="invalid_token""#), "the error is on the scheme used: {www}");
        // The proof made for another token.
        let another = server.jwt(&options).unwrap();
        let request = dpop_request(&token, key.proof("GET", URL, &another).unwrap());
        assert_eq!(validator.decide(&request).await.unwrap_err().code(), "invalid_dpop_proof");
    }
}

#[tokio::test]
async fn the_default_policy_refuses_bound_tokens_and_require_refuses_unbound_ones() {
    let server = TestAuthorizationServer::start().unwrap();
    let key = DpopKey::generate().unwrap();
    let bound = server.jwt(&TokenOptions::new().dpop_jkt(key.thumbprint())).unwrap();
    let plain = server.jwt(&TokenOptions::new()).unwrap();

    let none = Validator::new(server.config()).unwrap();
    let request = dpop_request(&bound, key.proof("GET", URL, &bound).unwrap());
    assert_eq!(none.decide(&request).await.unwrap_err().code(), "missing_token", "no DPoP scheme");
    let e = none.validate(&bound).await.unwrap_err();
    assert_eq!(e.code(), "invalid_token");
    assert!(!none.www_authenticate(&e).unwrap().contains("DPoP"));
    assert!(none.validate(&plain).await.is_ok());

    let require = Validator::new(config(&server, SenderConstraint::Require)).unwrap();
    let e = require.validate(&plain).await.unwrap_err();
    assert_eq!(e.code(), "invalid_token");
    let www = require.www_authenticate(&e).unwrap();
    assert!(www.starts_with("DPoP ") && !www.contains("Bearer"), "DPoP instead of Bearer: {www}");
    assert!(require.decide(&request).await.is_ok());
    // An unbound token with the DPoP scheme and a good proof: refused unless allowed.
    let allow = Validator::new(config(&server, SenderConstraint::Allow)).unwrap();
    let request = dpop_request(&plain, key.proof("GET", URL, &plain).unwrap());
    assert_eq!(allow.decide(&request).await.unwrap_err().code(), "invalid_token");
    let mut lenient = config(&server, SenderConstraint::Allow);
    lenient.dpop.allow_unbound_tokens = true;
    let lenient = Validator::new(lenient).unwrap();
    let request = dpop_request(&plain, key.proof("GET", URL, &plain).unwrap());
    assert!(lenient.decide(&request).await.is_ok());
}

#[tokio::test]
async fn nonces_are_required_handed_back_and_shared_by_validators_with_one_key() {
    let server = TestAuthorizationServer::start().unwrap();
    let mut with_nonces = config(&server, SenderConstraint::Allow);
    with_nonces.dpop.nonce_key = Some("a nonce key of at least thirty-two bytes".into());
    let first = Validator::new(with_nonces.clone()).unwrap();
    let second = Validator::new(with_nonces).unwrap();
    let key = DpopKey::generate().unwrap();
    let token = server.jwt(&TokenOptions::new().dpop_jkt(key.thumbprint())).unwrap();
    let e = first.decide(&dpop_request(&token, key.proof("GET", URL, &token).unwrap())).await.unwrap_err();
    assert_eq!(e.code(), "use_dpop_nonce");
    let nonce = e.dpop_nonce().unwrap().to_owned();
    let www = first.www_authenticate(&e).unwrap();
    assert!(www.contains(r#"DPoP error="use_dpop_nonce""#), "{www}");
    assert!(!format!("{e:?}{e}").contains(&nonce), "Debug and Display do not show the nonce");
    let proof = key.proof_with(&ProofOptions::new("GET", URL).access_token(&token).nonce(&nonce)).unwrap();
    let info = second.decide(&dpop_request(&token, proof)).await.unwrap();
    assert_eq!(info.dpop_nonce.as_deref(), Some(nonce.as_str()), "the current nonce, handed back");
    let stale =
        key.proof_with(&ProofOptions::new("GET", URL).access_token(&token).nonce("A".repeat(32))).unwrap();
    assert_eq!(second.decide(&dpop_request(&token, stale)).await.unwrap_err().code(), "use_dpop_nonce");
}

fn x5t(der: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, der))
}

#[tokio::test]
async fn certificate_bound_tokens_need_the_certificate_from_the_connection_or_a_trusted_header() {
    let server = TestAuthorizationServer::start().unwrap();
    let der = b"0\x82 not a real certificate, only its bytes are hashed".to_vec();
    let token = server.jwt(&TokenOptions::new().x5t_s256(x5t(&der))).unwrap();
    let validator = Validator::new(config(&server, SenderConstraint::Allow)).unwrap();
    let bearer = || Request::new().method("GET").url(URL).authorization(format!("Bearer {token}"));
    let connection = bearer().client_certificate(ClientCertificate::Der(der.clone()));
    assert!(validator.decide(&connection).await.is_ok());
    let hashed = bearer().client_certificate(ClientCertificate::Sha256(
        digest::digest(&digest::SHA256, &der).as_ref().try_into().unwrap(),
    ));
    assert!(validator.decide(&hashed).await.is_ok());
    let other = bearer().client_certificate(ClientCertificate::Der(b"another certificate".to_vec()));
    assert_eq!(validator.decide(&other).await.unwrap_err().code(), "invalid_token");
    assert_eq!(validator.decide(&bearer()).await.unwrap_err().code(), "invalid_token");
    // The header counts only when the config names it.
    let header = format!(":{}:", STANDARD.encode(&der));
    let proxied = bearer().header("Client-Cert", header.clone());
    assert_eq!(validator.decide(&proxied).await.unwrap_err().code(), "invalid_token", "untrusted");
    let mut trusting = config(&server, SenderConstraint::Allow);
    trusting.client_certificate_header = Some("client-cert".into());
    let trusting = Validator::new(trusting).unwrap();
    assert!(trusting.decide(&proxied).await.is_ok());
    let twice = proxied.clone().header("client-cert", header);
    assert_eq!(trusting.decide(&twice).await.unwrap_err().code(), "invalid_token");
    let garbled = bearer().header("client-cert", "not base64");
    assert_eq!(trusting.decide(&garbled).await.unwrap_err().code(), "invalid_token");
}

#[tokio::test]
async fn the_replay_store_fails_closed_when_full_and_is_pluggable() {
    let server = TestAuthorizationServer::start().unwrap();
    let store: Arc<dyn ReplayStore> = Arc::new(MemoryReplayStore::new(64));
    let start = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let clock = Arc::new(ManualClock::new(Duration::from_secs(start)));
    let validator = Validator::builder(server.issuer(), server.audience())
        .configure(|c| c.client_auth = server.config().client_auth)
        .sender_constraint(SenderConstraint::Allow)
        .clock(clock.clone())
        .replay_store(Arc::clone(&store))
        .build()
        .unwrap();
    let key = DpopKey::generate().unwrap();
    let token = server.jwt(&TokenOptions::new().dpop_jkt(key.thumbprint())).unwrap();
    let (mut accepted, mut unavailable) = (0, 0);
    for _ in 0..400 {
        match validator.decide(&dpop_request(&token, key.proof("GET", URL, &token).unwrap())).await {
            Ok(_) => accepted += 1,
            Err(e) if e.code() == "unavailable" => unavailable += 1,
            Err(e) => panic!("{e}"),
        }
    }
    assert!((1..=64).contains(&accepted), "{accepted}");
    assert_eq!(accepted + unavailable, 400);
    assert_eq!(store.refused_full(), unavailable);
    assert_eq!(validator.replay_store().unwrap().refused_full(), unavailable);
    // Once the proofs' window has passed, the store takes new ones again.
    clock.advance(Duration::from_secs(400));
    let later = i64::try_from(start + 400).unwrap();
    let proof = key.proof_with(&ProofOptions::new("GET", URL).access_token(&token).iat(later)).unwrap();
    assert!(validator.decide(&dpop_request(&token, proof)).await.is_ok());
}

#[tokio::test]
async fn proofs_of_every_allowed_algorithm_are_accepted_and_an_unlisted_one_is_not() {
    let server = TestAuthorizationServer::start().unwrap();
    let default = Validator::new(config(&server, SenderConstraint::Allow)).unwrap();
    let mut no_rsa = config(&server, SenderConstraint::Allow);
    no_rsa.dpop.algorithms = vec!["ES256".into(), "EdDSA".into()];
    let no_rsa = Validator::new(no_rsa).unwrap();
    for alg in ["ES256", "EdDSA", "RS256"] {
        let key = DpopKey::generate_for(alg).unwrap();
        assert_eq!(key.algorithm(), alg);
        let token = server.jwt(&TokenOptions::new().dpop_jkt(key.thumbprint())).unwrap();
        let request = || dpop_request(&token, key.proof("GET", URL, &token).unwrap());
        assert!(default.decide(&request()).await.is_ok(), "{alg} is on the default list");
        let narrowed = no_rsa.decide(&request()).await;
        if alg == "RS256" {
            assert_eq!(narrowed.unwrap_err().code(), "invalid_dpop_proof", "RS256 is not on the list");
        } else {
            assert!(narrowed.is_ok(), "{alg}");
        }
    }
    assert!(DpopKey::generate_for("HS256").is_err());
}

#[test]
fn test_kit_proof_options_and_keys_show_no_token_nonce_or_private_key() {
    let token = "access-token-canary-0123456789";
    let options = ProofOptions::new("GET", URL).access_token(token).nonce("nonce-canary-42");
    let shown = format!("{options:?}");
    assert!(!shown.contains(token) && !shown.contains("nonce-canary-42"), "{shown}");
    assert!(shown.contains("GET") && shown.contains(URL), "{shown}");
    let key = DpopKey::generate_for("EdDSA").unwrap();
    let shown = format!("{key:?}");
    assert!(shown.contains(key.thumbprint()) && !shown.contains("\"d\""), "{shown}");
}

#[tokio::test]
async fn behind_a_proxy_htu_is_the_external_base_url_plus_the_request_path() {
    let server = TestAuthorizationServer::start().unwrap();
    let mut c = config(&server, SenderConstraint::Allow);
    c.dpop.external_base_url = Some("HTTPS://API.Example.test:443/v1/".into());
    let validator = Validator::new(c).unwrap();
    let key = DpopKey::generate().unwrap();
    let token = server.jwt(&TokenOptions::new().dpop_jkt(key.thumbprint())).unwrap();
    let signed_for = "https://api.example.test/v1/orders";
    // The app behind the proxy sees http://10.0.0.7:8080/orders, or only the path.
    for seen in ["http://10.0.0.7:8080/orders?page=2", "/orders", "/orders?page=2"] {
        let request = Request::new()
            .method("GET")
            .url(seen)
            .authorization(format!("DPoP {token}"))
            .dpop(key.proof("GET", signed_for, &token).unwrap());
        assert!(validator.decide(&request).await.is_ok(), "{seen}");
    }
    // A proof for the internal URL, or for another path under the base: refused.
    for signed in [
        "http://10.0.0.7:8080/orders",
        "https://api.example.test/orders",
        "https://api.example.test/v1/other",
    ] {
        let request = Request::new()
            .method("GET")
            .url("/orders")
            .authorization(format!("DPoP {token}"))
            .dpop(key.proof("GET", signed, &token).unwrap());
        let e = validator.decide(&request).await.unwrap_err();
        assert_eq!(e.code(), "invalid_dpop_proof", "{signed}");
    }
    // Without the setting, a path-only request URL cannot be checked: refused, never guessed.
    let plain = Validator::new(config(&server, SenderConstraint::Allow)).unwrap();
    let request = Request::new()
        .method("GET")
        .url("/orders")
        .authorization(format!("DPoP {token}"))
        .dpop(key.proof("GET", URL, &token).unwrap());
    assert_eq!(plain.decide(&request).await.unwrap_err().code(), "invalid_dpop_proof");
}

#[test]
fn config_rules_name_their_field_and_the_nonce_key_is_redacted() {
    let base = || Config::new("https://issuer.example", "https://api.example");
    let build = |f: &dyn Fn(&mut Config)| {
        let mut c = base();
        c.sender_constraint = SenderConstraint::Allow;
        f(&mut c);
        Validator::new(c).map(|_| ()).map_err(|e| e.detail().to_owned())
    };
    assert!(build(&|_| {}).is_ok());
    for (field, f) in [
        ("dpop.max_age_secs", &(|c: &mut Config| c.dpop.max_age_secs = 0) as &dyn Fn(&mut Config)),
        ("dpop.replay_max_entries", &|c: &mut Config| c.dpop.replay_max_entries = 10),
        ("dpop.algorithms", &|c: &mut Config| c.dpop.algorithms = vec!["HS256".into()]),
        ("dpop.algorithms", &|c: &mut Config| c.dpop.algorithms = vec!["none".into()]),
        ("dpop.algorithms", &|c: &mut Config| c.dpop.algorithms = vec![]),
        ("dpop.nonce_key", &|c: &mut Config| c.dpop.nonce_key = Some("short".into())),
        ("dpop.nonce_previous_key", &|c: &mut Config| {
            c.dpop.nonce_previous_key = Some("x".repeat(40).into());
        }),
        ("dpop.nonce_slot_secs", &|c: &mut Config| c.dpop.nonce_slot_secs = 0),
        ("dpop.nonce_lifetime_slots", &|c: &mut Config| c.dpop.nonce_lifetime_slots = 11),
        ("dpop.external_base_url", &|c: &mut Config| c.dpop.external_base_url = Some("/api".into())),
        ("dpop.external_base_url", &|c: &mut Config| {
            c.dpop.external_base_url = Some("ftp://api.example".into());
        }),
        ("dpop.external_base_url", &|c: &mut Config| {
            c.dpop.external_base_url = Some("https://api.example/?x=1".into());
        }),
        ("client_certificate_header", &|c: &mut Config| c.client_certificate_header = Some("a b".into())),
        ("client_certificate_header", &|c: &mut Config| c.client_certificate_header = Some("DPoP".into())),
    ] {
        let detail = build(f).unwrap_err();
        assert!(detail.contains(field), "{field}: {detail}");
    }
    let detail = Validator::new(Config {
        dpop: bearerguard::DpopConfig { nonce_key: Some("y".repeat(40).into()), ..Default::default() },
        ..base()
    })
    .unwrap_err();
    assert_eq!(detail.code(), "configuration");
    let canary = "nonce-key-canary-0123456789abcdefghij";
    let mut c = base();
    c.dpop.nonce_key = Some(canary.into());
    assert!(!format!("{c:?}").contains(canary));
    assert!(!serde_json::to_string(&c).unwrap().contains(canary));
}

#[test]
fn metadata_advertises_dpop() {
    let mut c = Config::new("https://issuer.example", "https://api.example");
    c.resource = Some("https://api.example/mcp".into());
    c.sender_constraint = SenderConstraint::Require;
    let v = Validator::new(c).unwrap();
    let doc = v.resource_metadata().unwrap();
    assert_eq!(doc["dpop_bound_access_tokens_required"], serde_json::json!(true));
    assert_eq!(doc["dpop_signing_alg_values_supported"][0], "ES256");
    let mut c = Config::new("https://issuer.example", "https://api.example");
    c.resource = Some("https://api.example/mcp".into());
    let doc = Validator::new(c).unwrap().resource_metadata().unwrap().clone();
    assert!(doc.get("dpop_signing_alg_values_supported").is_none());
}
