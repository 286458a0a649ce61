//! Verdicts about tokens (docs/security.md KEY-9, INTRO), cached by a hash of the token and the validator's identity: the
//! introspection verdicts (with one request for many concurrent callers) and the JWTs already
//! verified, in two instances of the one [`VerdictCache`].
//!
//! Keys are SHA-256 of (validator identity digest, token): never the raw token, and never
//! shared between two validators with a different issuer, endpoint, client or audience.
//!
//! The store is `quick_cache` (bounded in entries; new entries admitted to a cold section and
//! promoted on reuse, so a flood of one-shot tokens does not push out reused ones:
//! docs/security.md INTRO-11). A lookup costs tens of nanoseconds and an insert a few hundred,
//! where moka's bookkeeping took ~0.3 µs and ~3 µs: a repeated token's whole budget is about
//! a microsecond. Expiry is each entry's `expires_at`, checked on every read (an expired entry
//! is dropped when read, else when evicted).
//!
//! One fetch for many callers is this file's own [`Flights`] (no cache crate shares an error
//! with every waiter): errors are never cached but reach every caller that waited for them,
//! and a cancelled caller hands the fetch to a waiter, which runs its own, instead of failing
//! it.
//! A verified JWT's entry remembers the key set that verified it ([`Entry::key_set`]); it is
//! reused only while that set is the current one.

use std::borrow::Cow;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Duration;

use aws_lc_rs::digest;

use crate::claims::TokenInfo;
use crate::clock::SharedClock;
use crate::error::{Error, ErrorKind, Result};
use crate::jwks::KeySet;

/// A definitive answer about a token: safe to reuse until it expires.
#[derive(Debug)]
pub(crate) enum Verdict {
    Active(Arc<TokenInfo>),
    Refused(ErrorKind, Cow<'static, str>),
}

impl Verdict {
    pub fn to_result(&self) -> Result<Arc<TokenInfo>> {
        match self {
            Verdict::Active(info) => Ok(Arc::clone(info)),
            Verdict::Refused(kind, detail) => Err(Error::new(*kind, detail.clone())),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub verdict: Arc<Verdict>,
    /// When the verdict stops being reusable, on the validator's clock.
    pub expires_at: Duration,
    /// How long it may be worth keeping (zero: not stored); `expires_at` decides correctness.
    pub ttl: Duration,
    /// For a verified JWT, the key set whose key verified it. A `Weak` keeps the set's
    /// allocation, so its address is never reused while the entry lives: comparing addresses
    /// is exact.
    pub key_set: Option<Weak<KeySet>>,
}

impl Entry {
    /// Whether this entry was made under `current` (always true for an introspection verdict).
    pub fn made_under(&self, current: Option<&Arc<KeySet>>) -> bool {
        match (&self.key_set, current) {
            (None, _) => true,
            (Some(made), Some(current)) => std::ptr::eq(made.as_ptr(), Arc::as_ptr(current)),
            (Some(_), None) => false,
        }
    }
}

/// Digest of a validator's identity, the prefix of every cache key it makes.
pub(crate) fn identity_digest(parts: &[&str]) -> [u8; 32] {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for part in parts {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part.as_bytes());
    }
    to_array(ctx.finish())
}

/// Tokens up to this length are hashed in one shot from a per-thread buffer.
const ONE_SHOT_BYTES: usize = 8 * 1024;

thread_local! {
    /// identity ‖ token, reused: its capacity stays at most `32 + ONE_SHOT_BYTES`.
    static KEY_INPUT: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The cache key for `token` under a validator identity: SHA-256(identity ‖ token).
pub(crate) fn token_key(identity: &[u8; 32], token: &str) -> [u8; 32] {
    // aws-lc's one-shot SHA-256 keeps its state on the stack, where a `digest::Context`
    // allocates and frees it: this runs on every decision.
    if token.len() <= ONE_SHOT_BYTES {
        return KEY_INPUT.with_borrow_mut(|input| {
            input.clear();
            input.extend_from_slice(identity);
            input.extend_from_slice(token.as_bytes());
            to_array(digest::digest(&digest::SHA256, input))
        });
    }
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(identity);
    ctx.update(token.as_bytes());
    to_array(ctx.finish())
}

/// A short, non-reversible tag for logs: the first 8 hex digits of SHA-256(token).
pub(crate) fn log_tag(token: &str) -> String {
    let d = digest::digest(&digest::SHA256, token.as_bytes());
    d.as_ref()[..4].iter().map(|b| format!("{b:02x}")).collect()
}

fn to_array(d: digest::Digest) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

type Store = quick_cache::sync::Cache<[u8; 32], Entry>;

/// A store that never holds more than `max_entries` (at least one): quick_cache splits its
/// capacity over shards, rounding each share up, so the shards are chosen to divide it (each
/// holding at least 32, as quick_cache prefers) and the remainder is left unused.
fn store(max_entries: u64) -> Store {
    let max = usize::try_from(max_entries.max(1)).unwrap_or(usize::MAX);
    let parallel = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let mut shards = (parallel * 4).next_power_of_two();
    while shards > 1 && max / shards < 32 {
        shards /= 2;
    }
    let capacity = max / shards * shards;
    let options = quick_cache::OptionsBuilder::new()
        .shards(shards)
        .estimated_items_capacity(capacity)
        .weight_capacity(capacity as u64)
        .build();
    match options {
        Ok(options) => Store::with_options(
            options,
            quick_cache::UnitWeighter,
            quick_cache::DefaultHashBuilder::default(),
            quick_cache::sync::DefaultLifecycle::default(),
        ),
        // Unreachable (the options above are valid); a one-shard store is as bounded.
        Err(_) => Store::new(capacity),
    }
}

/// Drops entries of a [`VerdictCache`] from another task.
pub(crate) struct CacheHandle {
    inner: Arc<Store>,
}

impl CacheHandle {
    pub async fn invalidate(&self, key: &[u8; 32]) {
        self.inner.remove(key);
    }

    pub fn clear(&self) {
        self.inner.clear();
    }
}

pub(crate) struct VerdictCache {
    inner: Arc<Store>,
    flights: Arc<Flights>,
    clock: SharedClock,
    /// Callers of [`get_or_fetch`](Self::get_or_fetch) that joined another's fetch.
    joins: AtomicU64,
}

impl VerdictCache {
    pub fn new(max_entries: u64, clock: SharedClock) -> Self {
        VerdictCache {
            inner: Arc::new(store(max_entries)),
            flights: Arc::default(),
            clock,
            joins: AtomicU64::new(0),
        }
    }

    /// A cache holding its entries in this one's (one budget for many issuers; keys carry
    /// each issuer's identity), with its own join counter.
    pub fn sharing(&self) -> Self {
        VerdictCache {
            inner: Arc::clone(&self.inner),
            flights: Arc::clone(&self.flights),
            clock: Arc::clone(&self.clock),
            joins: AtomicU64::new(0),
        }
    }

    /// A live cached verdict, without I/O.
    pub fn get(&self, key: &[u8; 32]) -> Option<Arc<Verdict>> {
        self.get_now(key, self.clock.now())
    }

    /// A verdict live at `now` (the decision's instant).
    pub fn get_now(&self, key: &[u8; 32], now: Duration) -> Option<Arc<Verdict>> {
        self.entry_now(key, now).map(|entry| entry.verdict)
    }

    /// An entry live at `now` (the decision's instant); an expired one is dropped.
    pub fn entry_now(&self, key: &[u8; 32], now: Duration) -> Option<Entry> {
        let entry = self.inner.get(key)?;
        if now < entry.expires_at {
            return Some(entry);
        }
        // Only the entry that was read: a fresh one stored meanwhile stays.
        self.inner.remove_if(key, |e| e.expires_at <= now);
        None
    }

    /// Stores `entry` (unless its TTL is zero).
    pub fn insert_now(&self, key: [u8; 32], entry: Entry) {
        if !entry.ttl.is_zero() {
            self.inner.insert(key, entry);
        }
    }

    /// The cached verdict, or the one `fetch` produces, computed once for all concurrent
    /// callers of the same key. `fetch` errors reach every waiter and are not cached.
    pub async fn get_or_fetch(
        &self,
        key: [u8; 32],
        fetch: impl Future<Output = Result<Entry>>,
    ) -> Result<Arc<Verdict>> {
        let mut fetch = Some(fetch);
        loop {
            if let Some(verdict) = self.get(&key) {
                return Ok(verdict);
            }
            match self.flights.join(key) {
                Role::Waiter(mut outcome) => {
                    // `None`: the fetching caller was cancelled; try again (maybe as the one
                    // who fetches, with this caller's own `fetch`).
                    let answered = outcome.wait_for(Option::is_some).await.ok().and_then(|o| o.clone());
                    if let Some(result) = answered {
                        self.joins.fetch_add(1, Ordering::Relaxed);
                        return result;
                    }
                }
                Role::Leader(flight) => {
                    // A verdict stored between the lookup and the flight's start is used.
                    if let Some(verdict) = self.get(&key) {
                        flight.finish(Ok(Arc::clone(&verdict)));
                        return Ok(verdict);
                    }
                    let Some(fetch) = fetch.take() else {
                        // Unreachable: a caller leads at most once, and returns when it does.
                        return Err(Error::new(ErrorKind::Configuration, "the cache's fetch ran twice"));
                    };
                    let result = fetch.await.map(|entry| {
                        let verdict = Arc::clone(&entry.verdict);
                        self.insert_now(key, entry);
                        verdict
                    });
                    flight.finish(result.clone());
                    return result;
                }
            }
        }
    }

    /// A handle that drops entries (for the shared tier's subscriber); it does not keep the
    /// cache's counters.
    pub fn handle(&self) -> CacheHandle {
        CacheHandle { inner: Arc::clone(&self.inner) }
    }

    /// Drops the entry under `key`, if any.
    pub async fn invalidate(&self, key: &[u8; 32]) {
        self.inner.remove(key);
    }

    /// Callers that joined a fetch another caller had started.
    pub fn join_count(&self) -> u64 {
        self.joins.load(Ordering::Relaxed)
    }

    /// Entries held (expired ones not yet read or evicted included).
    pub fn approximate_len(&self) -> u64 {
        self.inner.len() as u64
    }

    /// Entries currently held.
    pub async fn entry_count(&self) -> u64 {
        self.approximate_len()
    }
}

type Answer = Option<Result<Arc<Verdict>>>;

/// The fetches in flight, one per key: the first caller fetches, the others wait for its
/// answer (written by hand: a cache crate's single flight either caches errors or lets every
/// waiter fetch again in turn when one fails).
#[derive(Default)]
struct Flights {
    running: Mutex<HashMap<[u8; 32], tokio::sync::watch::Receiver<Answer>>>,
}

enum Role<'a> {
    /// This caller fetches; the flight ends when [`Flight::finish`] runs or it is dropped.
    Leader(Flight<'a>),
    /// Another caller fetches: its answer, or `None` left in place if it was cancelled.
    Waiter(tokio::sync::watch::Receiver<Answer>),
}

impl Flights {
    fn join(&self, key: [u8; 32]) -> Role<'_> {
        let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(outcome) = running.get(&key) {
            return Role::Waiter(outcome.clone());
        }
        let (sender, outcome) = tokio::sync::watch::channel(None);
        running.insert(key, outcome);
        Role::Leader(Flight { flights: self, key, sender })
    }
}

/// A fetch in flight. Ends by [`finish`](Self::finish) (every waiter gets the answer) or by
/// being dropped (a cancelled caller: the waiters try again, one of them fetching).
struct Flight<'a> {
    flights: &'a Flights,
    key: [u8; 32],
    sender: tokio::sync::watch::Sender<Answer>,
}

impl Flight<'_> {
    fn finish(self, answer: Result<Arc<Verdict>>) {
        self.sender.send_replace(Some(answer));
    }
}

impl Drop for Flight<'_> {
    fn drop(&mut self) {
        // Out of the map before the waiters wake, so the one that fetches next starts anew.
        let mut running = self.flights.running.lock().unwrap_or_else(PoisonError::into_inner);
        if running.get(&self.key).is_some_and(|outcome| outcome.same_channel(&self.sender.subscribe())) {
            running.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PARTS: [&str; 5] =
        ["https://as.example", "https://as.example/introspect", "rs", "Some(ClientSecretBasic)", "api"];

    #[test]
    fn the_key_changes_with_every_part_of_the_identity_and_the_token() {
        let base = token_key(&identity_digest(&PARTS), "tok");
        for i in 0..PARTS.len() {
            let mut parts = PARTS;
            let changed = format!("{}x", parts[i]);
            parts[i] = &changed;
            assert_ne!(token_key(&identity_digest(&parts), "tok"), base, "part {i}");
            parts[i] = "";
            assert_ne!(token_key(&identity_digest(&parts), "tok"), base, "part {i} empty");
        }
        assert_ne!(token_key(&identity_digest(&PARTS), "tok2"), base);
        assert_eq!(token_key(&identity_digest(&PARTS), "tok"), base, "deterministic");
        // Parts are delimited: moving a boundary is another identity.
        assert_ne!(identity_digest(&["ab", "c"]), identity_digest(&["a", "bc"]));
        assert_ne!(identity_digest(&["a", ""]), identity_digest(&["a"]));
    }

    #[test]
    fn the_key_is_sha256_of_identity_and_token_at_every_length() {
        let identity = identity_digest(&PARTS);
        for len in [0, 1, 700, ONE_SHOT_BYTES, ONE_SHOT_BYTES + 1, 3 * ONE_SHOT_BYTES] {
            let token = "a.b-".repeat(len / 4 + 1)[..len].to_owned();
            let mut ctx = digest::Context::new(&digest::SHA256);
            ctx.update(&identity);
            ctx.update(token.as_bytes());
            assert_eq!(token_key(&identity, &token), to_array(ctx.finish()), "length {len}");
        }
    }

    fn cache() -> VerdictCache {
        VerdictCache::new(100, Arc::new(crate::clock::SystemClock))
    }

    fn entry(detail: &'static str) -> Entry {
        Entry {
            verdict: Arc::new(Verdict::Refused(ErrorKind::InvalidToken, detail.into())),
            expires_at: Duration::MAX,
            ttl: Duration::from_secs(60),
            key_set: None,
        }
    }

    fn in_flight(cache: &VerdictCache) -> usize {
        cache.flights.running.lock().unwrap().len()
    }

    #[tokio::test]
    async fn concurrent_misses_fetch_once_and_an_error_reaches_every_waiter_uncached() {
        let cache = Arc::new(cache());
        let fetches = Arc::new(AtomicU64::new(0));
        let calls = (0..20).map(|_| {
            let (cache, fetches) = (Arc::clone(&cache), Arc::clone(&fetches));
            tokio::spawn(async move {
                cache
                    .get_or_fetch([7; 32], async {
                        fetches.fetch_add(1, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        Err::<Entry, _>(Error::new(ErrorKind::Unavailable, "server down"))
                    })
                    .await
            })
        });
        for call in futures_util::future::join_all(calls).await {
            let err = call.unwrap().unwrap_err();
            assert_eq!((err.kind(), err.detail()), (ErrorKind::Unavailable, "server down"));
        }
        assert_eq!(fetches.load(Ordering::SeqCst), 1);
        assert_eq!(cache.join_count(), 19);
        assert_eq!((cache.approximate_len(), in_flight(&cache)), (0, 0), "errors are not kept");
        // The next call fetches again, and its answer is kept.
        let verdict = cache.get_or_fetch([7; 32], async { Ok(entry("ok")) }).await.unwrap();
        assert!(matches!(&*verdict, Verdict::Refused(_, d) if d == "ok"));
        assert!(cache.get(&[7; 32]).is_some());
        assert_eq!(in_flight(&cache), 0);
    }

    #[tokio::test]
    async fn a_cancelled_fetch_is_taken_over_by_a_waiter_with_its_own() {
        let cache = Arc::new(cache());
        let leader = {
            let cache = Arc::clone(&cache);
            tokio::spawn(async move {
                cache
                    .get_or_fetch([9; 32], async {
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        Ok(entry("never"))
                    })
                    .await
            })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        let waiter = {
            let cache = Arc::clone(&cache);
            tokio::spawn(async move { cache.get_or_fetch([9; 32], async { Ok(entry("waiter's")) }).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(in_flight(&cache), 1);
        leader.abort();
        let verdict = tokio::time::timeout(Duration::from_secs(5), waiter).await.unwrap().unwrap().unwrap();
        assert!(matches!(&*verdict, Verdict::Refused(_, d) if d == "waiter's"));
        assert_eq!((cache.join_count(), in_flight(&cache)), (0, 0));
    }

    #[test]
    fn an_expired_entry_is_not_answered_and_is_dropped_when_read() {
        let cache = cache();
        let now = Duration::from_secs(1_000);
        cache.insert_now([1; 32], Entry { expires_at: now, ..entry("old") });
        cache.insert_now([2; 32], Entry { ttl: Duration::ZERO, ..entry("zero ttl") });
        assert_eq!(cache.approximate_len(), 1, "a zero TTL is not stored");
        assert!(cache.entry_now(&[1; 32], now - Duration::from_secs(1)).is_some());
        assert!(cache.entry_now(&[1; 32], now).is_none(), "expires at its instant");
        assert_eq!(cache.approximate_len(), 0);
    }

    #[test]
    fn the_store_never_holds_more_than_its_bound() {
        for max in [1u64, 2, 31, 32, 33, 100, 500, 1_000, 4_097, 10_000] {
            let cache = store(max);
            let entry = Entry {
                verdict: Arc::new(Verdict::Refused(ErrorKind::InvalidToken, "x".into())),
                expires_at: Duration::MAX,
                ttl: Duration::from_secs(60),
                key_set: None,
            };
            for i in 0..max * 3 + 100 {
                let mut key = [0u8; 32];
                key[..8].copy_from_slice(&i.to_le_bytes());
                cache.insert(to_array(digest::digest(&digest::SHA256, &key)), entry.clone());
            }
            let held = cache.len() as u64;
            assert!(held <= max, "bound {max}: {held}");
            assert!(held * 10 >= max * 9 || max < 64, "bound {max}: only {held} held");
        }
    }

    #[test]
    fn the_key_is_a_hash_never_the_token() {
        let token = "opaque-token-0123456789abcdef0123";
        let identity = identity_digest(&PARTS);
        let key = token_key(&identity, token);
        assert!(!key.windows(8).any(|w| token.as_bytes().windows(8).any(|t| t == w)));
        let bare = digest::digest(&digest::SHA256, token.as_bytes());
        assert_ne!(&key[..], bare.as_ref(), "the identity is part of the key");
        assert_ne!(key, identity);
        assert_eq!(log_tag(token).len(), 8);
        assert!(!token.contains(&log_tag(token)));
    }
}
