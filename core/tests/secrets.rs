//! Tokens, client secrets and private keys never reach logs, errors, `Debug` or serialized
//! config: proven with canary values and a global log capture.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests")]

mod support;

use std::sync::{Mutex, OnceLock};

use bearerguard::{Error, Secret, Validator};
use serde_json::json;
use support::{FakeAs, Fault, TestKey, opaque};

/// Everything logged at any level by any test in this binary (one global subscriber).
fn captured_logs() -> &'static Mutex<Vec<u8>> {
    use std::io::Write;
    #[derive(Clone)]
    struct Buf(&'static Mutex<Vec<u8>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    static LOGS: OnceLock<&'static Mutex<Vec<u8>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let buf: &'static Mutex<Vec<u8>> = Box::leak(Box::default());
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Buf(buf))
            .finish();
        tracing::subscriber::set_global_default(subscriber).unwrap();
        buf
    })
}

fn logs() -> String {
    String::from_utf8(captured_logs().lock().unwrap().clone()).unwrap()
}

/// The tag a refusal is logged under: the first 8 hex digits of SHA-256(token).
fn log_tag(token: &str) -> String {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    d.as_ref()[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// An error as every output an application could show or log: Display, Debug, the
/// `WWW-Authenticate` value and the whole `source()` chain.
fn rendered(v: &Validator, e: &Error) -> String {
    let mut out = format!("{e}\n{e:?}\n{:?}", v.www_authenticate(e));
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        out.push_str(&format!("\n{s}\n{s:?}"));
        source = s.source();
    }
    out
}

#[tokio::test]
async fn tokens_and_secrets_never_reach_logs_errors_or_debug() {
    captured_logs();
    let fake = FakeAs::start().await;
    let canary_secret = "CANARY-SECRET-7f3a";
    fake.expect_secret("rs", "other");
    let mut c = fake.config("api");
    c.client_auth.client_id = Some("rs".into());
    c.client_auth.client_secret = Some(Secret::new(canary_secret));
    c.client_auth.private_key_id = None;
    let v = Validator::new(c).unwrap();
    let rsa = TestKey::rsa();
    fake.set_keys(&[&rsa]);
    let canary_token = "CANARYTOKEN0123456789abcdef";
    let forged = format!("{}x", rsa.sign(&fake.good_claims(json!({"sub": "CANARYSUB"}))));
    let mut outputs =
        vec![format!("{v:?}"), format!("{:?}", v.config()), serde_json::to_string(v.config()).unwrap()];
    for t in [canary_token, forged.as_str()] {
        let e = v.validate(t).await.unwrap_err();
        outputs.push(format!("{e} {e:?} {:?}", v.www_authenticate(&e)));
        let mut source = std::error::Error::source(&e);
        while let Some(s) = source {
            outputs.push(s.to_string());
            source = s.source();
        }
    }
    let key_file = support::repo_root().join("tests/fixtures/clients/zitadel-rs-pkjwt.json");
    let mut c = fake.config("api");
    c.client_auth.key_file = Some(key_file.display().to_string());
    let with_key = Validator::new(c).unwrap();
    outputs.push(format!("{with_key:?} {:?}", with_key.config()));
    // A parsed token's Debug names its header only: payload and signature would rebuild it.
    let signed = rsa.sign(&fake.good_claims(json!({"sub": "CANARYSUB"})));
    let parsed = bearerguard::jwt::parse_compact(
        &signed,
        &[bearerguard::algorithms::by_name("RS256").unwrap()],
        16 * 1024,
        bearerguard::jwt::TypPolicy::AccessToken { strict: false },
    )
    .unwrap();
    let debug = format!("{parsed:?}");
    assert!(debug.contains("RS256"), "{debug}");
    outputs.push(debug);
    let signature_tail = &signed[signed.len() - 24..];
    outputs.push(logs());
    let all = outputs.join("\n");
    assert!(all.contains("request refused"), "the log capture works: {all}");
    for canary in [
        canary_secret,
        canary_token,
        "CANARYSUB",
        &forged[..40],
        signature_tail,
        "BEGIN RSA PRIVATE KEY",
        "MIIE",
    ] {
        assert!(!all.contains(canary), "{canary} leaked in:\n{all}");
    }
}

#[tokio::test]
async fn a_kid_never_reaches_a_log_line_unescaped() {
    captured_logs();
    let fake = FakeAs::start().await;
    let rsa = TestKey::rsa();
    let canary = "INJECTED-CANARY-KID";
    let hostile_kid = format!("k\r\n{canary}: 1");
    // The issuer's set holds the key under the hostile kid too, and an unusable entry with it.
    let mut aliased = rsa.public_jwk.clone();
    aliased["kid"] = json!(hostile_kid);
    *fake.state.jwks.lock().unwrap() =
        json!({"keys": [rsa.public_jwk, aliased, {"kty": "oct", "kid": format!("\r\n{canary}")}]});
    let v = Validator::new(fake.config("api")).unwrap();
    let claims = fake.good_claims(json!({}));
    let other_signature = rsa.sign_with(&fake.good_claims(json!({"sub": "x"})), Some(&hostile_kid), None);
    let known_bad_signature = {
        let good = rsa.sign_with(&claims, Some(&hostile_kid), None);
        let (input, _) = good.rsplit_once('.').unwrap();
        format!("{input}.{}", other_signature.rsplit_once('.').unwrap().1)
    };
    let tokens = [
        // Unknown kid: the JWKS lookup and the refresh path.
        rsa.sign_with(&claims, Some(&format!("\r\n{canary}")), None),
        rsa.sign_with(&claims, Some(&format!("x\n{canary}\r\n")), None),
        // Known kid, bad signature: the verification path.
        known_bad_signature,
    ];
    let mut errors = String::new();
    for token in &tokens {
        let e = v.validate(token).await.unwrap_err();
        assert_eq!(e.code(), "invalid_token");
        errors.push_str(&rendered(&v, &e));
    }
    // The key is usable under the hostile kid: the lookup really ran with it.
    v.validate(&rsa.sign_with(&claims, Some(&hostile_kid), None)).await.unwrap();
    assert!(!errors.contains(canary), "an error echoes the kid:\n{errors}");
    let logs = logs();
    for token in &tokens {
        assert!(logs.contains(&log_tag(token)), "the refusal was logged: {logs}");
    }
    assert!(!logs.contains('\r'), "a raw CR reached the log:\n{logs}");
    assert!(!logs.contains(&format!("\n{canary}")), "a kid started a log line:\n{logs}");
}

#[tokio::test]
async fn refusals_never_echo_claim_values() {
    captured_logs();
    let fake = FakeAs::start().await;
    let rsa = TestKey::rsa();
    fake.set_keys(&[&rsa]);
    fake.expect_secret("rs", "s");
    let mut c = fake.config("api");
    c.client_auth.client_id = Some("rs".into());
    c.client_auth.client_secret = Some(Secret::new("s"));
    let v = Validator::new(c).unwrap();
    let claims = |extra| fake.good_claims(extra);
    let mut cases: Vec<(&str, String, &[&str])> = vec![
        ("CANARY-ISS", rsa.sign(&claims(json!({"iss": "https://CANARY-ISS.example"}))), &[]),
        ("CANARY-AUD", rsa.sign(&claims(json!({"aud": ["CANARY-AUD"]}))), &[]),
        ("CANARY-EXP", rsa.sign(&claims(json!({"exp": "CANARY-EXP"}))), &[]),
        ("CANARY-CLIENT", rsa.sign(&claims(json!({"client_id": ["CANARY-CLIENT"]}))), &[]),
        ("CANARY-TYP", rsa.sign_with(&claims(json!({})), Some(&rsa.kid), Some("CANARY-TYP+jwt")), &[]),
        ("CANARY-KID", rsa.sign_with(&claims(json!({})), Some("CANARY-KID"), None), &[]),
        ("CANARY-GRANTED", rsa.sign(&claims(json!({"scope": "CANARY-GRANTED"}))), &["read"]),
    ];
    for (canary, answer) in [
        ("CANARY-TT", json!({"token_type": "CANARY-TT"})),
        ("CANARY-IISS", json!({"iss": "https://CANARY-IISS.example"})),
        ("CANARY-IAUD", json!({"aud": "CANARY-IAUD"})),
        ("CANARY-ISUB", json!({"sub": ["CANARY-ISUB"]})),
        ("CANARY-IGRANTED", json!({"scope": "CANARY-IGRANTED"})),
    ] {
        let token = opaque();
        fake.add_token(&token, fake.active(answer));
        let scopes: &[&str] = if canary == "CANARY-IGRANTED" { &["read"] } else { &[] };
        cases.push((canary, token, scopes));
    }
    for (canary, body) in [
        ("CANARY-ACTIVE", r#"{"active":"CANARY-ACTIVE"}"#),
        ("CANARY-ERR", r#"{"error":"CANARY-ERR","error_description":"CANARY-ERR"}"#),
    ] {
        let token = opaque();
        let fake_status = if canary == "CANARY-ERR" { 401 } else { 200 };
        fake.set_fault(Fault::Status(fake_status, body.into(), "application/json"));
        let e = v.validate(&token).await.unwrap_err();
        let out = rendered(&v, &e);
        assert!(!out.contains(canary), "{canary} echoed:\n{out}");
    }
    fake.set_fault(Fault::None);
    for (canary, token, scopes) in &cases {
        let e = v.validate_with_scopes(token, scopes).await.unwrap_err();
        let out = rendered(&v, &e);
        assert!(!out.contains(canary), "{canary} echoed ({}):\n{out}", e.code());
        // Scope refusals are not logged; every other refusal is.
        if e.code() != "insufficient_scope" {
            assert!(logs().contains(&log_tag(token)), "{canary}: the refusal was logged");
        }
    }
    let logs = logs();
    assert!(!logs.contains("CANARY-"), "a claim value reached the logs:\n{logs}");
}
