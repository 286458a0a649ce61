//! What counting decisions costs on the cache-hit path (issue: metrics ≤ 5 % slower). `make
//! bench` runs this twice: as shipped, and built with the benchmark-only feature
//! `bench-uncounted`, which compiles the one per-decision counter increment out. Each title
//! says which build it is; tests/bench/report.py sets them side by side. Figures only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs, reason = "benchmark")]

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bearerguard::{Secret, Validator};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use support::{FakeAs, TestKey, opaque};

const BUILD: &str = if cfg!(feature = "bench-uncounted") { "uncounted" } else { "counted" };

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let fake = rt.block_on(FakeAs::start());
    let rsa = TestKey::rsa();
    fake.set_keys(&[&rsa]);
    fake.expect_secret("rs", "secret");
    let mut config = fake.config("api");
    config.client_auth.client_id = Some("rs".into());
    config.client_auth.client_secret = Some(Secret::new("secret"));
    let validator = Arc::new(Validator::new(config).unwrap());

    let jwt = rsa.sign(&fake.good_claims(json!({"exp": support::now() + 86_400})));
    let token = opaque();
    fake.add_token(&token, fake.active(json!({})));
    for t in [&jwt, &token] {
        rt.block_on(validator.validate(t)).unwrap();
    }
    let counted = validator.metrics().outcome("accepted");
    assert_eq!(counted > 0, BUILD == "counted", "the {BUILD} build counts {counted}");

    // One caller: the decision path of a remembered JWT and of a cached introspection verdict.
    for (what, t) in [("repeated JWT", &jwt), ("opaque cache hit", &token)] {
        c.bench_function(&format!("metrics cost: {what} ({BUILD})"), |b| {
            b.to_async(&rt).iter(|| async { black_box(validator.validate(black_box(t)).await.unwrap()) })
        });
    }

    // Two threads hitting the same counters: where a shared atomic costs most (the cache line
    // moves between cores). Time per decision, both threads together.
    c.bench_function(&format!("metrics cost: repeated JWT, 2 threads ({BUILD})"), |b| {
        b.iter_custom(|iters| {
            let per_thread = iters.div_ceil(2);
            let start = Instant::now();
            let threads: Vec<_> = (0..2)
                .map(|_| {
                    let (v, t) = (Arc::clone(&validator), jwt.clone());
                    std::thread::spawn(move || {
                        for _ in 0..per_thread {
                            let decision = v.decide_token::<&str>(black_box(&t), &[]);
                            black_box(decision.ready().unwrap().unwrap());
                        }
                    })
                })
                .collect();
            for t in threads {
                t.join().unwrap();
            }
            start.elapsed().checked_div(2).unwrap_or(Duration::ZERO)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
