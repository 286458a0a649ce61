//! Tokens, client secrets and private keys never reach logs, errors, `Debug` or serialized
//! config: proven with canary values and a global log capture.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests")]

mod support;

use std::sync::Arc;

use bearerguard::{Secret, Validator};
use serde_json::json;
use support::{FakeAs, TestKey};

#[tokio::test]
async fn tokens_and_secrets_never_reach_logs_errors_or_debug() {
    use std::io::Write;
    #[derive(Clone, Default)]
    struct Buf(Arc<std::sync::Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .finish();
    tracing::subscriber::set_global_default(subscriber).unwrap();

    let fake = FakeAs::start().await;
    let canary_secret = "CANARY-SECRET-7f3a";
    fake.expect_secret("rs", "other");
    let mut c = fake.config("api");
    c.client_id = Some("rs".into());
    c.client_secret = Some(Secret::new(canary_secret));
    c.private_key_id = None;
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
    c.key_file = Some(key_file.display().to_string());
    let with_key = Validator::new(c).unwrap();
    outputs.push(format!("{with_key:?} {:?}", with_key.config()));
    // A parsed token's Debug names its header only: payload and signature would rebuild it.
    let signed = rsa.sign(&fake.good_claims(json!({"sub": "CANARYSUB"})));
    let parsed = bearerguard::jwt::parse_compact(
        &signed,
        &[jsonwebtoken::Algorithm::RS256],
        16 * 1024,
        bearerguard::jwt::TypPolicy::AccessToken { strict: false },
    )
    .unwrap();
    let debug = format!("{parsed:?}");
    assert!(debug.contains("RS256"), "{debug}");
    outputs.push(debug);
    let signature_tail = &signed[signed.len() - 24..];
    outputs.push(String::from_utf8(buf.0.lock().unwrap().clone()).unwrap());
    let all = outputs.join("\n");
    assert!(all.contains("token refused"), "the log capture works: {all}");
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
