//! Which admission policy keeps the tokens clients are using? Measures the verdict cache's
//! store (moka, built as `cache.rs` builds it) under TinyLFU (moka's default) and LRU, in one
//! run, on a workload where clients reuse their token for its lifetime and a stream of
//! one-shot tokens (garbage, or clients that come once) passes through.
//!
//! `cargo run --release -p bearerguard --example cache_admission` prints, per policy: the hit
//! rate of reused tokens, and how many tokens were refused admission on their first use and
//! therefore introspected again on their second (the load-test finding of issue 20).

use std::collections::HashMap;

use moka::future::Cache;
use moka::policy::EvictionPolicy;

const CAPACITY: u64 = 10_000;
const CLIENTS: u64 = 8_000;
const REQUESTS: u64 = 400_000;
/// A client's token is replaced after this many of its requests (a new access token).
const USES_PER_TOKEN: u64 = 20;
/// Of every 10 requests, this many carry a token never seen before and never seen again.
const ONE_SHOT_PER_10: u64 = 3;

/// A small deterministic generator (xorshift): the same workload for both policies.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

struct Figures {
    misses: u64,
    reused_hits: u64,
    reused_requests: u64,
    second_use_misses: u64,
    second_uses: u64,
}

/// The two stores compared: moka under a policy, and quick_cache (CLOCK-Pro-like: new entries
/// admitted into a cold section, promoted to hot on reuse, with ghost entries for evicted keys).
enum Store {
    Moka(Cache<u64, ()>),
    Quick(quick_cache::sync::Cache<u64, ()>),
}

impl Store {
    async fn get(&self, key: &u64) -> Option<()> {
        match self {
            Store::Moka(c) => c.get(key).await,
            Store::Quick(c) => c.get(key),
        }
    }

    async fn insert(&self, key: u64, value: ()) {
        match self {
            Store::Moka(c) => c.insert(key, value).await,
            Store::Quick(c) => c.insert(key, value),
        }
    }
}

async fn run(policy: Option<EvictionPolicy>, skewed: bool) -> Figures {
    let cache = match policy {
        Some(policy) => Store::Moka(Cache::builder().max_capacity(CAPACITY).eviction_policy(policy).build()),
        None => Store::Quick(quick_cache::sync::Cache::new(CAPACITY as usize)),
    };
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    // Per client: its current token id and how often it was used.
    let mut clients: HashMap<u64, (u64, u64)> = HashMap::new();
    let mut next_token = 1u64 << 40;
    let mut f =
        Figures { misses: 0, reused_hits: 0, reused_requests: 0, second_use_misses: 0, second_uses: 0 };
    for _ in 0..REQUESTS {
        let r = rng.next();
        if r % 10 < ONE_SHOT_PER_10 {
            next_token += 1;
            if cache.get(&next_token).await.is_none() {
                f.misses += 1;
                cache.insert(next_token, ()).await;
            }
            continue;
        }
        // Skewed client choice: a few clients are busy, most are occasional.
        let first = rng.next() % CLIENTS;
        let client = if skewed { first.min(rng.next() % CLIENTS) } else { first };
        let slot = clients.entry(client).or_insert_with(|| {
            next_token += 1;
            (next_token, 0)
        });
        if slot.1 == USES_PER_TOKEN {
            next_token += 1;
            *slot = (next_token, 0);
        }
        slot.1 += 1;
        let hit = cache.get(&slot.0).await.is_some();
        if !hit {
            f.misses += 1;
            cache.insert(slot.0, ()).await;
        }
        if slot.1 > 1 {
            f.reused_requests += 1;
            f.reused_hits += u64::from(hit);
        }
        if slot.1 == 2 {
            f.second_uses += 1;
            f.second_use_misses += u64::from(!hit);
        }
    }
    f
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    println!(
        "capacity {CAPACITY}, {CLIENTS} clients, {REQUESTS} requests, a token used {USES_PER_TOKEN} times, \
         {ONE_SHOT_PER_10}0% one-shot tokens"
    );
    for (workload, skewed) in [("skewed clients", true), ("uniform clients", false)] {
        println!("{workload}:");
        for (name, policy) in [
            ("TinyLFU (moka default)", Some(EvictionPolicy::tiny_lfu())),
            ("LRU (moka)", Some(EvictionPolicy::lru())),
            ("quick_cache", None),
        ] {
            let f = run(policy, skewed).await;
            println!(
                "  {name:24} requests to the AS {:6}   reused-token hit rate {:5.1}%   second use introspected again: {} of {} ({:.1}%)",
                f.misses,
                100.0 * f.reused_hits as f64 / f.reused_requests as f64,
                f.second_use_misses,
                f.second_uses,
                100.0 * f.second_use_misses as f64 / f.second_uses as f64,
            );
        }
    }
}
