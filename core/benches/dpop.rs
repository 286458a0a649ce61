//! Criterion benchmarks of DPoP (RFC 9449): what a proof check costs a request, per proof
//! algorithm, beside its signature floor. `make bench` runs them; figures only, no assertions.
//!
//! - the floor: aws-lc-rs verifying the proofs' signatures with the key parsed once, and with
//!   the key parsed from the proof's JWK each time (what any verifier of a DPoP proof must do:
//!   the key travels in the proof);
//! - `decide` of a DPoP request (every call a proof the validator has not seen, signed before
//!   timing; the access token remembered, so the time is the proof's), beside `decide` of a
//!   Bearer request with a remembered token: the difference is the proof check, its replay
//!   record included.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs, reason = "benchmark")]

use std::hint::black_box;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bearerguard::testing::{DpopKey, TestAuthorizationServer, TokenOptions};
use bearerguard::{Request, SenderConstraint, Validator};
use criterion::{Criterion, criterion_group, criterion_main};

const URL: &str = "https://api.example.test/orders";
/// Proofs signed per algorithm before timing; a validator sees each once.
const POOL: usize = 2_000;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let server = TestAuthorizationServer::start().unwrap();
    let mut config = server.config();
    config.sender_constraint = SenderConstraint::Allow;

    let plain = server.jwt(&TokenOptions::new()).unwrap();
    let bearer = Request::new().method("GET").url(URL).authorization(format!("Bearer {plain}"));
    let validator = Validator::new(config.clone()).unwrap();
    rt.block_on(validator.decide(&bearer).into_future()).unwrap();
    c.bench_function("dpop: decide Bearer (repeated token)", |b| {
        b.to_async(&rt).iter(|| async { black_box(validator.decide(black_box(&bearer)).await.unwrap()) })
    });

    for alg in ["ES256", "EdDSA", "RS256"] {
        let key = DpopKey::generate_for(alg).unwrap();
        let token = server.jwt(&TokenOptions::new().dpop_jkt(key.thumbprint())).unwrap();
        let requests: Vec<Request> = (0..POOL)
            .map(|_| {
                Request::new()
                    .method("GET")
                    .url(URL)
                    .authorization(format!("DPoP {token}"))
                    .dpop(key.proof("GET", URL, &token).unwrap())
            })
            .collect();
        let proofs: Vec<String> = requests.iter().map(|r| r.dpop[0].clone()).collect();
        floor(c, alg, &key.public_jwk(), &proofs);

        // A validator that has seen the token (JWKS fetched, the JWT remembered) and the pool's
        // first proof; every timed call after is a new proof.
        let fresh = || {
            let v = Validator::new(config.clone()).unwrap();
            rt.block_on(v.decide(&requests[0]).into_future()).unwrap();
            v
        };
        let mut v = fresh();
        let mut next = 1usize;
        c.bench_function(&format!("dpop: decide DPoP {alg} (new proof, repeated token)"), |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                let mut left = iters as usize;
                while left > 0 {
                    if next == requests.len() {
                        v = fresh();
                        next = 1;
                    }
                    let take = left.min(requests.len() - next);
                    let chunk = &requests[next..next + take];
                    let start = Instant::now();
                    rt.block_on(async {
                        for r in chunk {
                            black_box(v.decide(black_box(r)).await.unwrap());
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
}

/// The signature floor of `alg` over the proofs' own signatures.
fn floor(c: &mut Criterion, alg: &str, jwk: &serde_json::Value, proofs: &[String]) {
    let split: Vec<(&str, Vec<u8>)> = proofs
        .iter()
        .map(|p| {
            let (input, sig) = p.rsplit_once('.').unwrap();
            (input, URL_SAFE_NO_PAD.decode(sig).unwrap())
        })
        .collect();
    let parsed = parsed_key(jwk);
    let mut next = 0usize;
    c.bench_function(&format!("dpop: raw aws-lc-rs {alg} verify (key parsed once)"), |b| {
        b.iter(|| {
            let (input, sig) = &split[next % split.len()];
            next += 1;
            parsed.verify_sig(black_box(input.as_bytes()), black_box(sig)).unwrap()
        })
    });
    c.bench_function(&format!("dpop: raw aws-lc-rs {alg} verify (key parsed each time)"), |b| {
        b.iter(|| {
            let (input, sig) = &split[next % split.len()];
            next += 1;
            parsed_key(black_box(jwk)).verify_sig(black_box(input.as_bytes()), black_box(sig)).unwrap()
        })
    });
}

fn parsed_key(jwk: &serde_json::Value) -> aws_lc_rs::signature::ParsedPublicKey {
    use aws_lc_rs::signature as sig;
    let field = |name: &str| URL_SAFE_NO_PAD.decode(jwk[name].as_str().unwrap()).unwrap();
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
