//! Memory stays bounded under a stream of a million distinct random tokens (docs/security.md
//! "Faults and load"). Slow, so ignored by default: `make soak` runs it in release mode and
//! prints the figures.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests")]

mod support;

use std::time::Instant;

use bearerguard::{Secret, Validator};
use futures_util::StreamExt;
use support::FakeAs;

fn rss_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "soak test: run with `make soak`"]
async fn a_million_distinct_tokens_keep_memory_bounded() {
    let total: usize = std::env::var("SOAK_TOKENS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let fake = FakeAs::start().await;
    // Every refusal stays cached: the worst case for memory.
    let v = caching_validator(&fake, 10_000);
    let started = Instant::now();
    let (done, after_warmup) = refuse_all(&v, (0..total).map(opaque_token), 20_000).await;
    let entries = v.cached_entries().await;
    let (rss, peak) = (rss_kib("VmRSS:"), rss_kib("VmHWM:"));
    println!(
        "soak: {done} distinct tokens in {:.1} s, {} introspection requests, {entries} cached entries, \
         RSS after 20k tokens {after_warmup} KiB, at the end {rss} KiB, peak {peak} KiB",
        started.elapsed().as_secs_f64(),
        fake.introspections()
    );
    assert_eq!(fake.introspections(), total);
    assert!(entries <= 10_000, "the cache is bounded: {entries}");
    assert!(rss < after_warmup + 64 * 1024, "RSS grew from {after_warmup} KiB to {rss} KiB");
}

/// The CI-sized cousin of the soak test (debug build, a few seconds): 30,000 distinct tokens,
/// half opaque (each introspected once, every verdict cached) and half JWTs with random `kid`s
/// and junk signatures (the unknown-kid flood). The cache stays at its cap, the flood costs at
/// most one JWKS refetch per cooldown, and RSS after warm-up grows by less than 32 MiB.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_thousand_distinct_tokens_keep_memory_and_requests_bounded() {
    use base64::Engine as _;
    let b64 = |s: &str| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s);
    let total = 30_000usize;
    let fake = FakeAs::start().await;
    let rsa = support::TestKey::rsa();
    fake.set_keys(&[&rsa]);
    let v = caching_validator(&fake, 1_000);
    let payload = b64(&fake.good_claims(serde_json::json!({})).to_string());
    let tokens = (0..total).map(|i| {
        if i % 2 == 0 {
            opaque_token(i)
        } else {
            let header = b64(&format!(r#"{{"alg":"RS256","typ":"at+jwt","kid":"{:x}"}}"#, rand_u128(i)));
            format!("{header}.{payload}.{}", b64(&format!("{:064x}", rand_u128(i + 1))))
        }
    });
    let (_, after_warmup) = refuse_all(&v, tokens, 5_000).await;
    let entries = v.cached_entries().await;
    let rss = rss_kib("VmRSS:");
    assert_eq!(fake.introspections(), total / 2, "each opaque token is introspected once, no JWT is");
    assert!(fake.jwks_fetches() <= 2, "the unknown-kid flood refetched {} times", fake.jwks_fetches());
    assert!(entries <= 1_000, "the cache is bounded: {entries}");
    assert!(rss < after_warmup + 32 * 1024, "RSS grew from {after_warmup} KiB to {rss} KiB");
}

/// A validator with the fake AS's client, caching up to `max_entries` verdicts and keeping
/// every refusal for 5 minutes.
fn caching_validator(fake: &FakeAs, max_entries: u64) -> Validator {
    fake.expect_secret("rs", "secret");
    let mut c = fake.config("api");
    c.client_auth.client_id = Some("rs".into());
    c.client_auth.client_secret = Some(Secret::new("secret"));
    c.cache.max_entries = max_entries;
    c.cache.negative_ttl_secs = 300;
    Validator::new(c).unwrap()
}

fn opaque_token(i: usize) -> String {
    format!("{:032x}{i}", rand_u128(i))
}

/// Validates every token, 32 at a time, asserting each is refused as `invalid_token`; returns
/// how many ran and the RSS (KiB) once `warmup` of them had.
async fn refuse_all(v: &Validator, tokens: impl Iterator<Item = String>, warmup: usize) -> (usize, u64) {
    let mut stream = futures_util::stream::iter(tokens)
        .map(|token| {
            let v = v.clone();
            async move { v.validate(&token).await.map(|_| ()) }
        })
        .buffer_unordered(32);
    let (mut done, mut after_warmup) = (0, 0);
    while let Some(result) = stream.next().await {
        assert_eq!(result.unwrap_err().code(), "invalid_token");
        done += 1;
        if done == warmup {
            after_warmup = rss_kib("VmRSS:");
        }
    }
    (done, after_warmup)
}

fn rand_u128(i: usize) -> u128 {
    // splitmix-style mixing: distinct, random-looking tokens without a dependency.
    let mut z = (i as u128).wrapping_add(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835);
    z = (z ^ (z >> 61)).wrapping_mul(0xBF58_476D_1CE4_E5B9_94D0_49BB_1331_11EB);
    z ^ (z >> 59)
}
