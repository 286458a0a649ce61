//! Figures of the shared second tier (`cache.shared`) that `make bench` adds to BENCHMARKS.md,
//! against a redis-server of its own (a free 127.0.0.1 port, no persistence, killed at the
//! end: the launcher of `core/tests/support/redis.rs`) and the test kit's authorization server,
//! which counts the introspection requests it answers:
//!
//! - latency: a call whose first tier misses and whose second tier hits, next to a first-tier
//!   hit. A writer validator introspects `TOKENS` opaque tokens into Redis; a reader with
//!   `cache.max_entries = 1` (the least `check.rs` allows) cycles through them, so each call
//!   misses its first tier and finds the verdict in Redis. The run fails unless the reader's
//!   `stats().shared.hits` grew by exactly the number of calls and the authorization server
//!   answered no request meanwhile. The floor beside it: a bare `GET` of one entry over
//!   redis-rs's `ConnectionManager`, the client the tier uses;
//! - introspection requests per token with 1, 2 and 3 instances (validators of one config)
//!   each validating the same new tokens at once, with the shared tier and without it;
//! - bytes per entry in Redis for a typical verdict (the test kit's 8 claims), sealed and
//!   plaintext: the name's and the value's length, `MEMORY USAGE` of the key, and the marginal
//!   growth of `used_memory` per entry between 4,500 and 8,000 of them.
//!
//! Prints one JSON object on stdout; figures only (the checks above stop it with a message on
//! stderr instead of printing a figure that is not what it says).
//!
//! ```text
//! cargo run --release -p bearerguard --features testing --example bench_shared_tier
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs, reason = "benchmark helper")]

#[allow(dead_code, reason = "parts of the test launcher (pause, resume) are unused here")]
#[path = "../tests/support/redis.rs"]
mod redis_server;

use std::time::Instant;

use bearerguard::testing::{TestAuthorizationServer, TokenOptions};
use bearerguard::{Config, Validator};
use redis_server::{RedisServer, Reply};
use serde_json::{Value, json};

/// Tokens the reader cycles through: many, so whatever its one-entry first tier keeps is gone
/// before that token comes round again (checked: every timed call must be a second-tier hit).
const TOKENS: usize = 1_000;
/// Timed rounds over every token.
const ROUNDS: usize = 5;
/// New tokens per fleet size in the requests-per-token figure, and how many are in flight.
const FLEET_TOKENS: usize = 300;
const FLEET_IN_FLIGHT: usize = 16;
/// Entries between which the growth of `used_memory` is taken: both between 4,097 and 8,192,
/// where Redis's hash tables keep 8,192 buckets (no resize in between).
const MARGIN: (usize, usize) = (4_500, 8_000);
const SECRET: &str = "bench-shared-tier-secret-0123456789abcdef";

fn config(
    server: &TestAuthorizationServer,
    redis: Option<&RedisServer>,
    prefix: &str,
    extra: Value,
) -> Config {
    let mut value = server.config_value();
    let mut cache = json!({});
    if let Some(redis) = redis {
        cache["shared"] = json!({
            "url": redis.url(),
            "key_prefix": prefix,
            "secrets": [{"id": "k1", "secret": SECRET}],
            // Generous: a noisy machine must not turn a hit into a timeout (a miss).
            "timeout_ms": 1_000,
        });
    }
    for (k, v) in extra.as_object().unwrap() {
        match k.as_str() {
            "plaintext" => cache["shared"][k] = v.clone(),
            _ => cache[k] = v.clone(),
        }
    }
    value["cache"] = cache;
    Config::from_json(&value.to_string()).unwrap()
}

fn opaque(server: &TestAuthorizationServer) -> String {
    server.opaque(&TokenOptions::new().scope("read write")).unwrap()
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn percentile(xs: &[f64], p: f64) -> f64 {
    let mut xs = xs.to_vec();
    xs.sort_by(f64::total_cmp);
    xs[((xs.len() - 1) as f64 * p).round() as usize]
}

fn fail(what: String) -> ! {
    eprintln!("bench_shared_tier: {what}");
    std::process::exit(1)
}

async fn latency(server: &TestAuthorizationServer, redis: &RedisServer) -> Value {
    let writer = Validator::new(config(server, Some(redis), "bench-lat", json!({}))).unwrap();
    let tokens: Vec<String> = (0..TOKENS).map(|_| opaque(server)).collect();
    for t in &tokens {
        writer.validate(t).await.unwrap();
    }
    let reader = Validator::new(config(server, Some(redis), "bench-lat", json!({"max_entries": 1}))).unwrap();
    // Warm-up: the reader's connection, and one round through every token.
    for t in &tokens {
        reader.validate(t).await.unwrap();
    }
    let (hits, asked) = (reader.stats().shared.hits, server.counts().introspection);
    // The server's own time per lookup (Redis's commandstats over the timed calls only).
    assert_eq!(redis.command(&["CONFIG", "RESETSTAT"]), Reply::Simple("OK".into()));
    let mut calls_us = Vec::with_capacity(TOKENS * ROUNDS);
    for _ in 0..ROUNDS {
        for t in &tokens {
            let start = Instant::now();
            let info = reader.validate(t).await.unwrap();
            calls_us.push(start.elapsed().as_nanos() as f64 / 1000.0);
            std::hint::black_box(info);
        }
    }
    let calls = calls_us.len() as u64;
    let stats = redis.command(&["INFO", "commandstats"]).text().unwrap();
    let script_us: Option<f64> = stats
        .lines()
        .find_map(|l| l.strip_prefix("cmdstat_evalsha:"))
        .and_then(|l| l.split(',').find_map(|f| f.strip_prefix("usec_per_call=")))
        .and_then(|v| v.parse().ok());
    let (hits_added, asked_added) =
        (reader.stats().shared.hits - hits, server.counts().introspection - asked);
    if hits_added != calls || asked_added != 0 {
        fail(format!(
            "{calls} reader calls: the shared tier's hits grew by {hits_added}, introspection requests by \
             {asked_added}; not a second-tier hit every call"
        ));
    }
    // The floor: one `GET` of an entry over redis-rs's `ConnectionManager` (the client the tier
    // uses), timed the same way: what the round trip alone costs on this machine.
    let name = redis.keys("bench-lat:v:*").swap_remove(0);
    let client = ::redis::Client::open(redis.url()).unwrap();
    let mut connection = ::redis::aio::ConnectionManager::new(client).await.unwrap();
    let mut get_us = Vec::with_capacity(TOKENS * ROUNDS);
    for i in 0..TOKENS * (ROUNDS + 1) {
        let start = Instant::now();
        let value: Vec<u8> = ::redis::cmd("GET").arg(&name).query_async(&mut connection).await.unwrap();
        if i >= TOKENS {
            get_us.push(start.elapsed().as_nanos() as f64 / 1000.0);
        }
        assert!(!value.is_empty());
    }
    // A first-tier hit, timed like the other cache-hit figures: mean over a batch of one
    // repeated token, median over the rounds.
    let token = &tokens[0];
    writer.validate(token).await.unwrap();
    let batch = 20_000;
    let mut rounds_us = Vec::new();
    for _ in 0..=ROUNDS {
        let start = Instant::now();
        for _ in 0..batch {
            std::hint::black_box(writer.validate(token).await.unwrap());
        }
        rounds_us.push(start.elapsed().as_nanos() as f64 / 1000.0 / f64::from(batch));
    }
    rounds_us.remove(0);
    json!({
        "tokens": TOKENS,
        "calls": calls,
        "shared_hits_added": hits_added,
        "introspections_added": asked_added,
        "second_tier_hit_us": median(calls_us.clone()),
        "second_tier_hit_p90_us": percentile(&calls_us, 0.9),
        "first_tier_hit_us": median(rounds_us),
        "server_lookup_us": script_us,
        "redis_get_us": median(get_us.clone()),
        "redis_get_p90_us": percentile(&get_us, 0.9),
    })
}

/// `instances` validators of one config validate the same `FLEET_TOKENS` new tokens: every
/// token is asked of every instance at once, `FLEET_IN_FLIGHT` tokens at a time.
async fn fleet(
    server: &TestAuthorizationServer,
    redis: &RedisServer,
    instances: usize,
    shared: bool,
) -> Value {
    use futures_util::StreamExt as _;
    let prefix = format!("bench-fleet-{instances}");
    let config = config(server, shared.then_some(redis), &prefix, json!({}));
    let fleet: Vec<Validator> = (0..instances).map(|_| Validator::new(config.clone()).unwrap()).collect();
    // Each instance connected (and its discovery done) before counting, with a token of its own.
    for v in &fleet {
        v.validate(&opaque(server)).await.unwrap();
    }
    let tokens: Vec<String> = (0..FLEET_TOKENS).map(|_| opaque(server)).collect();
    let before = server.counts().introspection;
    let calls = futures_util::stream::iter(tokens.iter().flat_map(|t| fleet.iter().map(move |v| (v, t))))
        .map(|(v, t)| {
            let (v, t) = (v.clone(), t.clone());
            async move { tokio::spawn(async move { v.validate(&t).await }).await.unwrap() }
        })
        .buffer_unordered(FLEET_IN_FLIGHT * instances);
    let results: Vec<_> = calls.collect().await;
    if let Some(Err(e)) = results.iter().find(|r| r.is_err()) {
        fail(format!("a fleet call failed: {e}"));
    }
    let asked = server.counts().introspection - before;
    let waits: u64 = fleet.iter().map(|v| v.stats().shared.waits).sum();
    let hits: u64 = fleet.iter().map(|v| v.stats().shared.hits).sum();
    json!({
        "instances": instances,
        "shared": shared,
        "tokens": FLEET_TOKENS,
        "calls": results.len(),
        "introspections": asked,
        "per_token": asked as f64 / FLEET_TOKENS as f64,
        "shared_hits": hits,
        "shared_waits": waits,
    })
}

fn integer(reply: Reply) -> i64 {
    match reply {
        Reply::Integer(n) => n,
        other => panic!("expected an integer, got {other:?}"),
    }
}

fn used_memory(redis: &RedisServer) -> i64 {
    let info = redis.command(&["INFO", "memory"]).text().unwrap();
    info.lines().find_map(|l| l.strip_prefix("used_memory:")).unwrap().trim().parse().unwrap()
}

/// One typical verdict's entry, then more: what Redis holds per verdict.
async fn entry_size(server: &TestAuthorizationServer, redis: &RedisServer, plaintext: bool) -> Value {
    redis.flushall();
    // One prefix for both, so the names are alike.
    let prefix = "bench-entry";
    let v = Validator::new(config(server, Some(redis), prefix, json!({"plaintext": plaintext}))).unwrap();
    v.validate(&opaque(server)).await.unwrap();
    let keys = redis.keys(&format!("{prefix}:v:*"));
    assert_eq!(keys.len(), 1, "one verdict stored: {keys:?}");
    let name = &keys[0];
    let value_bytes = integer(redis.command(&["STRLEN", name]));
    let memory_usage = integer(redis.command(&["MEMORY", "USAGE", name, "SAMPLES", "0"]));
    // The marginal growth of the server's allocation from MARGIN.0 to MARGIN.1 entries: the
    // key's and the value's allocations, the dict and expiry entries, the allocator's
    // rounding; not the bucket arrays (no resize in between) nor whatever connections that
    // closed meanwhile had held (the baseline is taken well after the start).
    let fill = |to: usize| {
        let v = &v;
        async move {
            loop {
                let missing = to as i64 - integer(redis.command(&["DBSIZE"]));
                if missing <= 0 {
                    break;
                }
                for _ in 0..missing {
                    v.validate(&opaque(server)).await.unwrap();
                }
            }
        }
    };
    fill(MARGIN.0).await;
    let before = used_memory(redis);
    fill(MARGIN.1).await;
    let after = used_memory(redis);
    json!({
        "plaintext": plaintext,
        "claims": 8,
        "name_bytes": name.len(),
        "value_bytes": value_bytes,
        "memory_usage_bytes": memory_usage,
        "entries_from": MARGIN.0,
        "entries_to": MARGIN.1,
        "used_memory_before": before,
        "used_memory_after": after,
        "used_memory_per_entry": (after - before) / (MARGIN.1 - MARGIN.0) as i64,
    })
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let server = TestAuthorizationServer::start().unwrap();
    let redis = RedisServer::start();
    let version = redis.command(&["INFO", "server"]).text().unwrap();
    let version =
        version.lines().find_map(|l| l.strip_prefix("redis_version:")).unwrap_or("?").trim().to_owned();
    let figures = rt.block_on(async {
        let latency = latency(&server, &redis).await;
        let mut fleets = Vec::new();
        for shared in [true, false] {
            for instances in 1..=3 {
                fleets.push(fleet(&server, &redis, instances, shared).await);
            }
        }
        let sealed = entry_size(&server, &redis, false).await;
        let plaintext = entry_size(&server, &redis, true).await;
        json!({
            "redis_version": version,
            "latency": latency,
            "fleet": fleets,
            "entry": {"sealed": sealed, "plaintext": plaintext},
        })
    });
    drop(redis);
    println!("{figures}");
}
