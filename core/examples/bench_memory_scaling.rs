//! Figures `make bench` adds to BENCHMARKS.md that criterion does not give:
//! - memory: bytes per cached introspection verdict and the peak RSS with 100,000 of them
//!   (every token distinct and active, answered by the loopback server of `bench_as`);
//! - memory per cached JWT verdict: RSS growth while 20,000 distinct first-seen JWTs (EdDSA,
//!   signed before measuring; a new `jti` each) are validated into the cache of verified JWTs,
//!   divided by the verdicts it then holds (RSS, so malloc overhead is included);
//! - the DPoP replay store full at its default bound (1,000,000 proofs): bytes per entry;
//! - scaling: JWT validations per second from 1 thread and from 2 (the core takes no lock on
//!   the validation path), RS256 with the key cached, JWT remembering off.
//!
//! Prints one JSON object on stdout; figures only.
//!
//! ```text
//! cargo run --release -p bearerguard --example bench_memory_scaling
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "benchmark helper")]

mod bench_as;
#[path = "../tests/support/mod.rs"]
mod support;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, Instant};

use bearerguard::{Secret, Validator};
use futures_util::StreamExt;
use serde_json::json;

const ENTRIES: usize = 100_000;
const JWT_ENTRIES: usize = 20_000;
const JWT_WARMUP: usize = 2_000;

/// The system allocator, counting the bytes requested and not yet freed: RSS says what a
/// verdict costs the process, this says how much of that the program asked for (the rest is
/// malloc's rounding, headers and holes).
struct Counting;

static LIVE: AtomicI64 = AtomicI64::new(0);

// SAFETY: every call is forwarded unchanged to `System`; only a counter is added. (The one
// `unsafe` in the repository outside the bindings' generated code: a measuring tool's.)
#[allow(unsafe_code, reason = "a counting allocator for a memory figure; forwards to System")]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        // SAFETY: the caller's contract is `System`'s.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> i64 {
    LIVE.load(Ordering::Relaxed)
}

/// Heap bytes `make` allocates and keeps (what it returns is held until measured).
fn heap_of<T>(make: impl FnOnce() -> T) -> (i64, T) {
    let before = live();
    let kept = make();
    (live() - before, kept)
}

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

async fn fill(v: &Validator, from: usize, to: usize) {
    let mut calls =
        futures_util::stream::iter(from..to)
            .map(|i| {
                let v = v.clone();
                async move {
                    v.validate(&format!("bench-token-{i:08}-{:016x}", i.wrapping_mul(0x9E37_79B9))).await
                }
            })
            .buffer_unordered(32);
    while let Some(r) = calls.next().await {
        r.unwrap();
    }
}

async fn memory() -> serde_json::Value {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let app = bench_as::router(&issuer);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut config = bearerguard::Config::new(issuer.clone(), "bench-api");
    config.discovery = false;
    config.introspection_endpoint = Some(format!("{issuer}/introspect"));
    config.client_auth.client_id = Some("bench".into());
    config.client_auth.client_secret = Some(Secret::new("bench-secret"));
    config.cache.max_entries = ENTRIES as u64 * 2;
    let v = Validator::new(config).unwrap();
    // Warm up: connection pool, runtime, allocator arenas, the cache's first segments.
    fill(&v, 0, 2_000).await;
    let before = (v.cached_entries().await, status_kib("VmRSS:"));
    fill(&v, 2_000, ENTRIES).await;
    let after = (v.cached_entries().await, status_kib("VmRSS:"));
    let added = after.0.saturating_sub(before.0).max(1);
    json!({
        "entries": after.0,
        "rss_before_kib": before.1,
        "rss_after_kib": after.1,
        "peak_rss_kib": status_kib("VmHWM:"),
        "bytes_per_entry": (after.1.saturating_sub(before.1) * 1024) / added,
    })
}

async fn jwt_memory() -> serde_json::Value {
    let fake = support::FakeAs::start().await;
    let ed = support::TestKey::ed();
    fake.set_keys(&[&ed]);
    let mut config = fake.config("api");
    config.cache.jwt_max_entries = (JWT_ENTRIES + JWT_WARMUP) as u64 * 2;
    let v = Validator::new(config).unwrap();
    // Every token signed before the first RSS reading, so the tokens' own strings are not
    // counted as cache.
    let tokens: Vec<String> = (0..JWT_WARMUP + JWT_ENTRIES)
        .map(|i| {
            ed.sign(&fake.good_claims(json!({"exp": support::now() + 86_400, "jti": format!("mem-{i:08}")})))
        })
        .collect();
    for t in &tokens[..JWT_WARMUP] {
        v.validate(t).await.unwrap();
    }
    let before = (v.remembered_jwts().await, status_kib("VmRSS:"), live());
    for t in &tokens[JWT_WARMUP..] {
        v.validate(t).await.unwrap();
    }
    let after = (v.remembered_jwts().await, status_kib("VmRSS:"), live());
    let added = after.0.saturating_sub(before.0).max(1);
    // Where a verdict's bytes go: one answer's claims map and its typed fields, measured as
    // the heap a copy of each takes (the same shapes and capacities as the original).
    let info = v.validate(&tokens[JWT_WARMUP]).await.unwrap();
    let (claims_heap, claims) = heap_of(|| info.claims.clone());
    let (info_heap, copy) = heap_of(|| (*info).clone());
    drop((claims, copy));
    let struct_bytes = std::mem::size_of::<bearerguard::TokenInfo>();
    json!({
        "heap_bytes_per_entry": (after.2 - before.2) / added as i64,
        "claims_map_heap_bytes": claims_heap,
        "token_info_inline_bytes": struct_bytes,
        "typed_fields_heap_bytes": info_heap - claims_heap,
        "claims": info.claims.len(),
        "alg": "EdDSA",
        "entries": after.0,
        "added": added,
        "rss_before_kib": before.1,
        "rss_after_kib": after.1,
        "bytes_per_entry": (after.1.saturating_sub(before.1) * 1024) / added,
        "method": "RSS",
    })
}

/// The DPoP replay store at its default bound: a million distinct proofs inside one window
/// (keys as the validator makes them: 16 bytes of a SHA-256 of thumbprint and `jti`), every
/// one recorded, then every one refused as a replay. RSS, so malloc overhead is included.
fn replay_memory() -> serde_json::Value {
    use bearerguard::replay::{MemoryReplayStore, Recorded, ReplayStore};
    let capacity = bearerguard::DpopConfig::default().replay_max_entries;
    let key = |i: u64| -> [u8; 16] {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &i.to_le_bytes());
        digest.as_ref()[..16].try_into().unwrap()
    };
    let before = status_kib("VmRSS:");
    let store = MemoryReplayStore::new(capacity);
    let start = Instant::now();
    let fresh = (0..capacity).filter(|&i| store.record(key(i), 1_000, 0) == Recorded::Fresh).count();
    let record_ns = start.elapsed().as_nanos() as f64 / capacity as f64;
    let after = status_kib("VmRSS:");
    let replays = (0..capacity).filter(|&i| store.record(key(i), 1_000, 500) == Recorded::Replay).count();
    let over = store.record(key(capacity), 1_000, 500);
    json!({
        "capacity": capacity,
        "recorded": fresh,
        "replays_refused": replays,
        "one_more_refused": over == Recorded::Unavailable,
        "rss_before_kib": before,
        "rss_after_kib": after,
        "bytes_per_entry": (after.saturating_sub(before) * 1024) / capacity.max(1),
        "record_ns": record_ns,
    })
}

fn scaling() -> serde_json::Value {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    let fake = rt.block_on(support::FakeAs::start());
    let rsa = support::TestKey::rsa();
    fake.set_keys(&[&rsa]);
    // Remembering off: every call verifies the signature (a repeated token would be a
    // cache lookup, which is not what this figure is about).
    let mut config = fake.config("api");
    config.cache.jwt_max_entries = 0;
    let v = Validator::new(config).unwrap();
    let token = rsa.sign(&fake.good_claims(json!({"exp": support::now() + 86_400})));
    rt.block_on(v.validate(&token)).unwrap();
    let ops = |threads: usize| {
        let window = Duration::from_secs(2);
        let counts: Vec<u64> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        let start = Instant::now();
                        let mut n = 0u64;
                        while start.elapsed() < window {
                            for _ in 0..50 {
                                std::hint::black_box(v.validate_now::<&str>(&token, &[]).unwrap().unwrap());
                            }
                            n += 50;
                        }
                        n
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        counts.iter().sum::<u64>() as f64 / window.as_secs_f64()
    };
    let (one, two) = (ops(1), ops(2));
    json!({"alg": "RS256", "ops_1_thread": one, "ops_2_threads": two, "scaling": two / one})
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    match std::env::args().nth(1).as_deref() {
        Some("--jwt-memory") => return println!("{}", rt.block_on(jwt_memory())),
        Some("--replay-memory") => return println!("{}", replay_memory()),
        _ => {}
    }
    // Each memory figure from a heap of its own: the JWT one in a child process.
    let child =
        std::process::Command::new(std::env::current_exe().unwrap()).arg("--jwt-memory").output().unwrap();
    let jwt_memory: serde_json::Value = serde_json::from_slice(&child.stdout).unwrap();
    let child =
        std::process::Command::new(std::env::current_exe().unwrap()).arg("--replay-memory").output().unwrap();
    let replay_memory: serde_json::Value = serde_json::from_slice(&child.stdout).unwrap();
    let scaling = scaling();
    let memory = rt.block_on(memory());
    println!(
        "{}",
        json!({"memory": memory, "jwt_memory": jwt_memory, "replay_memory": replay_memory, "scaling": scaling})
    );
}
