//! `bearerguard::metrics::publish` and the live AS-call histogram reach the `metrics`
//! facade's recorder (`--features metrics`), with bounded labels only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests")]

mod support;

use bearerguard::{Secret, Validator};
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use serde_json::json;
use support::{FakeAs, opaque};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_snapshot_and_the_calls_reach_the_recorder() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();

    let fake = FakeAs::start().await;
    fake.expect_secret("rs", "secret");
    let mut config = fake.config("api");
    config.client_auth.client_id = Some("rs".into());
    config.client_auth.client_secret = Some(Secret::new("secret"));
    config.strategy = bearerguard::Strategy::Introspection;
    let v = Validator::new(config).unwrap();
    let token = opaque();
    fake.add_token(&token, fake.active(json!({})));
    v.validate(&token).await.unwrap();
    v.validate(&token).await.unwrap();
    v.validate("not-known-at-all").await.unwrap_err();
    bearerguard::metrics::publish(&v.metrics());

    let mut decisions = 0;
    let mut histogram_samples = 0;
    for (key, _unit, _description, value) in snapshotter.snapshot().into_vec() {
        let key = key.key();
        let labels: Vec<(String, String)> =
            key.labels().map(|l| (l.key().to_owned(), l.value().to_owned())).collect();
        for (name, value) in &labels {
            assert!(!value.contains(&token) && !value.contains("not-known"), "{name}={value}");
            if name == "issuer" {
                assert_eq!(value, &fake.issuer());
            }
        }
        match (key.name(), value) {
            ("bearerguard_decisions_total", DebugValue::Counter(n)) => {
                let outcome = labels.iter().find(|(k, _)| k == "outcome").unwrap().1.clone();
                let tier = labels.iter().find(|(k, _)| k == "tier").unwrap().1.clone();
                match (outcome.as_str(), tier.as_str()) {
                    ("accepted", "miss" | "hit") => assert_eq!(n, 1, "{labels:?}"),
                    ("invalid_token", "miss") => assert_eq!(n, 1, "{labels:?}"),
                    other => panic!("unexpected decision series {other:?}"),
                }
                decisions += n;
            }
            ("bearerguard_as_request_duration_seconds", DebugValue::Histogram(samples)) => {
                assert!(labels.contains(&("result".into(), "ok".into())), "{labels:?}");
                if labels.contains(&("endpoint".into(), "introspection".into())) {
                    histogram_samples += samples.len();
                }
            }
            _ => {}
        }
    }
    assert_eq!(decisions, 3);
    assert_eq!(histogram_samples, 2, "one introspection per token; the repeat was a cache hit");
}
