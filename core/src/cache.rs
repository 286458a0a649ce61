//! Verdicts about tokens (docs/security.md KEY-9, INTRO), cached by a hash of the token and the validator's identity: the
//! introspection verdicts (with one request for many concurrent callers) and the JWTs already
//! verified, in two instances of the one [`VerdictCache`].
//!
//! Keys are SHA-256 of (validator identity digest, token): never the raw token, and never
//! shared between two validators with a different issuer, endpoint, client or audience.
//! Errors are never cached; `moka`'s `try_get_with` coalesces concurrent misses into one
//! fetch, and a cancelled caller hands the fetch to another waiter instead of failing it.
//! A verified JWT's entry remembers the key set that verified it ([`Entry::key_set`]); it is
//! reused only while that set is the current one.

use std::borrow::Cow;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use aws_lc_rs::digest;
use moka::Expiry;

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
    /// How long moka keeps it (memory only; `expires_at` decides correctness).
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

struct EntryExpiry;

impl Expiry<[u8; 32], Entry> for EntryExpiry {
    fn expire_after_create(&self, _key: &[u8; 32], value: &Entry, _created_at: Instant) -> Option<Duration> {
        Some(value.ttl)
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

/// Drops entries of a [`VerdictCache`] from another task.
pub(crate) struct CacheHandle {
    inner: moka::future::Cache<[u8; 32], Entry>,
}

impl CacheHandle {
    pub async fn invalidate(&self, key: &[u8; 32]) {
        self.inner.invalidate(key).await;
    }

    pub fn clear(&self) {
        self.inner.invalidate_all();
    }
}

pub(crate) struct VerdictCache {
    inner: moka::future::Cache<[u8; 32], Entry>,
    clock: SharedClock,
    /// Callers of [`get_or_fetch`](Self::get_or_fetch) that joined another's fetch.
    joins: AtomicU64,
}

impl VerdictCache {
    pub fn new(max_entries: u64, clock: SharedClock) -> Self {
        let inner =
            moka::future::Cache::builder().max_capacity(max_entries.max(1)).expire_after(EntryExpiry).build();
        VerdictCache { inner, clock, joins: AtomicU64::new(0) }
    }

    /// A cache holding its entries in this one's (one budget for many issuers; keys carry
    /// each issuer's identity), with its own join counter.
    pub fn sharing(&self) -> Self {
        VerdictCache { inner: self.inner.clone(), clock: Arc::clone(&self.clock), joins: AtomicU64::new(0) }
    }

    /// A live cached verdict, without I/O.
    pub async fn get(&self, key: &[u8; 32]) -> Option<Arc<Verdict>> {
        let entry = self.inner.get(key).await?;
        if self.clock.now() < entry.expires_at {
            Some(entry.verdict)
        } else {
            self.inner.invalidate(key).await;
            None
        }
    }

    /// A verdict live at `now` (the decision's instant), if it can be read without waiting.
    pub fn get_now(&self, key: &[u8; 32], now: Duration) -> Option<Arc<Verdict>> {
        self.entry_now(key, now).map(|entry| entry.verdict)
    }

    /// An entry live at `now` (the decision's instant), if it can be read without waiting.
    pub fn entry_now(&self, key: &[u8; 32], now: Duration) -> Option<Entry> {
        use futures_util::FutureExt as _;
        let entry = self.inner.get(key).now_or_never()??;
        (now < entry.expires_at).then_some(entry)
    }

    /// Stores `entry` unless that would wait (moka completes an interrupted insert itself).
    pub fn insert_now(&self, key: [u8; 32], entry: Entry) {
        use futures_util::FutureExt as _;
        if !entry.ttl.is_zero() {
            let _ = self.inner.insert(key, entry).now_or_never();
        }
    }

    /// The cached verdict, or the one `fetch` produces, computed once for all concurrent
    /// callers of the same key. `fetch` errors reach every waiter and are not cached.
    pub async fn get_or_fetch(
        &self,
        key: [u8; 32],
        fetch: impl Future<Output = Result<Entry>>,
    ) -> Result<Arc<Verdict>> {
        if let Some(verdict) = self.get(&key).await {
            return Ok(verdict);
        }
        // Only the caller whose `fetch` moka runs sets `ran`; the others joined its flight.
        let ran = std::sync::atomic::AtomicBool::new(false);
        let fetch = async {
            ran.store(true, Ordering::Relaxed);
            fetch.await
        };
        let result = self.inner.try_get_with(key, fetch).await;
        if !ran.load(Ordering::Relaxed) {
            self.joins.fetch_add(1, Ordering::Relaxed);
        }
        match result {
            Ok(entry) => Ok(entry.verdict),
            // Every waiter gets the same error, cause included.
            Err(shared) => Err((*shared).clone()),
        }
    }

    /// A handle that drops entries (for the shared tier's subscriber); it does not keep the
    /// cache's counters.
    pub fn handle(&self) -> CacheHandle {
        CacheHandle { inner: self.inner.clone() }
    }

    /// Drops the entry under `key`, if any.
    pub async fn invalidate(&self, key: &[u8; 32]) {
        self.inner.invalidate(key).await;
    }

    /// Callers that joined a fetch another caller had started.
    pub fn join_count(&self) -> u64 {
        self.joins.load(Ordering::Relaxed)
    }

    /// Entries held, without running pending maintenance (approximate; for metrics).
    pub fn approximate_len(&self) -> u64 {
        self.inner.entry_count()
    }

    /// Entries currently held (approximate; for tests and metrics).
    pub async fn entry_count(&self) -> u64 {
        self.inner.run_pending_tasks().await;
        self.inner.entry_count()
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
