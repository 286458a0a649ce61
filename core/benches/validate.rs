//! Criterion benchmarks of the core: JWT validation per algorithm, first-seen tokens (a new
//! `jti` each, signed before timing) against the raw signature check (the floor) and one
//! repeated token (the cache of verified JWTs), introspection cache hits and misses against a loopback server, and a
//! concurrent burst of one token. `make bench` runs them; figures only, no assertions.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs, reason = "benchmark")]

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::time::{Duration, Instant};

use base64::Engine as _;
use bearerguard::{Secret, Validator};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use support::{FakeAs, TestKey, opaque};

/// First-seen tokens signed per algorithm before timing; a validator sees each once.
const FIRST_SEEN_POOL: usize = 2_000;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let fake = rt.block_on(FakeAs::start());
    let (rsa, ec, ed) = (TestKey::rsa(), TestKey::ec(), TestKey::ed());
    fake.set_keys(&[&rsa, &ec, &ed]);
    fake.expect_secret("rs", "secret");
    let mut config = fake.config("api");
    config.client_auth.client_id = Some("rs".into());
    config.client_auth.client_secret = Some(Secret::new("secret"));
    let validator = Validator::new(config.clone()).unwrap();

    // Tokens each validator sees once (a new `jti` per token, all signed before any timing),
    // and one token validated over and over. Since the core remembers verified JWTs, the two
    // cost very different things: a first-seen token is parsed and its signature verified; a
    // repeated one is a lookup in the cache of verified JWTs.
    let first_seen = |key: &TestKey, alg: &str| -> Vec<String> {
        (0..FIRST_SEEN_POOL)
            .map(|i| {
                key.sign(&fake.good_claims(
                    json!({"exp": support::now() + 86_400, "jti": format!("first-seen-{alg}-{i:06}")}),
                ))
            })
            .collect()
    };
    let pools: Vec<(&str, &TestKey, Vec<String>)> = [("RS256", &rsa), ("ES256", &ec), ("EdDSA", &ed)]
        .into_iter()
        .map(|(name, key)| (name, key, first_seen(key, name)))
        .collect();

    // The floor per algorithm: aws-lc-rs verifying the signatures of the same first-seen
    // tokens with a key parsed once.
    for (name, key, pool) in &pools {
        let split: Vec<(&str, Vec<u8>)> = pool
            .iter()
            .map(|t| {
                let (input, sig) = t.rsplit_once('.').unwrap();
                (input, b64(sig))
            })
            .collect();
        let parsed = parsed_key(&key.public_jwk);
        let mut next = 0usize;
        c.bench_function(&format!("raw aws-lc-rs {name} verify (key parsed once)"), |b| {
            b.iter(|| {
                let (input, sig) = &split[next % split.len()];
                next += 1;
                parsed.verify_sig(black_box(input.as_bytes()), black_box(sig)).unwrap()
            })
        });
    }

    // First seen: when a validator has seen every token of the pool, a new one takes its
    // place, its JWKS fetched outside the timing, so every timed call is a token new to the
    // validator timing it (parse, signature, claims, and remembering it).
    let fresh_validator = |warm: &str| {
        let v = Validator::new(config.clone()).unwrap();
        rt.block_on(v.validate(warm)).unwrap();
        v
    };
    for (name, key, pool) in &pools {
        let warm = key.sign(&fake.good_claims(json!({"exp": support::now() + 86_400, "jti": "warm"})));
        let mut v = fresh_validator(&warm);
        let mut next = 0usize;
        c.bench_function(&format!("validate JWT {name} (first seen, keys cached)"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters as usize;
                while left > 0 {
                    if next == pool.len() {
                        v = fresh_validator(&warm);
                        next = 0;
                    }
                    let take = left.min(pool.len() - next);
                    let chunk = &pool[next..next + take];
                    let start = Instant::now();
                    rt.block_on(async {
                        for t in chunk {
                            black_box(v.validate(black_box(t)).await.unwrap());
                        }
                    });
                    total += start.elapsed();
                    next += take;
                    left -= take;
                }
                total
            })
        });
    }

    for (name, key, _) in &pools {
        let token = key.sign(&fake.good_claims(json!({"exp": support::now() + 86_400})));
        rt.block_on(validator.validate(&token)).unwrap();
        c.bench_function(&format!("validate JWT {name} (repeated token)"), |b| {
            b.to_async(&rt).iter(|| async { black_box(validator.validate(black_box(&token)).await.unwrap()) })
        });
    }

    // Parsing cost stays linear in length: 16 KiB of hostile structure costs about what 16 KiB
    // of plain claims does (all refused or accepted before any key is touched).
    let cap = 16 * 1024;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let header = b64(r#"{"alg":"RS256","typ":"at+jwt"}"#);
    let fill = |payload: String| format!("{header}.{}.c2ln", b64(&payload));
    let plain = fill(format!(r#"{{"pad":"{}"}}"#, "x".repeat(cap * 3 / 4 - 100)));
    let members =
        fill(format!("{{{}\"z\":0}}", (0..1300).map(|i| format!(r#""{i:x}":0,"#)).collect::<String>()));
    let nested = fill(format!(r#"{{"a":{}{}1{}}}"#, "[".repeat(31), "1,".repeat(5000), "]".repeat(31)));
    let escapes = fill(format!(r#"{{"e":"{}"}}"#, "\\u0041".repeat(cap / 10)));
    let dots = ".".repeat(cap - 1);
    for (name, t) in [
        ("plain claims", &plain),
        ("1300 members", &members),
        ("deep arrays", &nested),
        ("escapes", &escapes),
        ("dots", &dots),
    ] {
        assert!(t.len() <= cap, "{name} is {} bytes", t.len());
        c.bench_function(&format!("parse a 16 KiB token: {name}"), |b| {
            b.iter(|| {
                black_box(bearerguard::jwt::parse_compact(
                    black_box(t),
                    &[bearerguard::algorithms::by_name("RS256").unwrap()],
                    cap,
                    bearerguard::jwt::TypPolicy::AccessToken { strict: false },
                ))
                .ok()
            })
        });
    }

    let token = opaque();
    fake.add_token(&token, fake.active(json!({})));
    rt.block_on(validator.validate(&token)).unwrap();
    c.bench_function("validate opaque (cache hit)", |b| {
        b.to_async(&rt).iter(|| async { black_box(validator.validate(black_box(&token)).await.unwrap()) })
    });

    let mut uncached = config.clone();
    uncached.cache.enabled = false;
    let uncached = Validator::new(uncached).unwrap();
    c.bench_function("validate opaque (cache miss, loopback introspection)", |b| {
        b.to_async(&rt).iter(|| async { black_box(uncached.validate(black_box(&token)).await.unwrap()) })
    });

    c.bench_function("burst: 64 concurrent validations of one new opaque token", |b| {
        b.to_async(&rt).iter(|| async {
            let t = opaque();
            fake.add_token(&t, fake.active(json!({})));
            let calls = (0..64).map(|_| validator.validate(&t));
            for r in futures_util::future::join_all(calls).await {
                black_box(r.unwrap());
            }
        })
    });
}

fn b64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).unwrap()
}

fn parsed_key(jwk: &serde_json::Value) -> aws_lc_rs::signature::ParsedPublicKey {
    use aws_lc_rs::signature as sig;
    let field = |name: &str| b64(jwk[name].as_str().unwrap());
    match jwk["kty"].as_str().unwrap() {
        "RSA" => sig::RsaPublicKeyComponents { n: field("n"), e: field("e") }
            .to_parsed_public_key(&sig::RSA_PKCS1_2048_8192_SHA256)
            .unwrap(),
        "EC" => {
            let point = [&[4u8][..], &field("x"), &field("y")].concat();
            sig::ParsedPublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, point).unwrap()
        }
        _ => sig::ParsedPublicKey::new(&sig::ED25519, field("x")).unwrap(),
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
