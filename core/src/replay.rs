//! The DPoP replay store: every accepted proof's `jti` is remembered until its window has
//! passed, so the same proof is never accepted twice (RFC 9449 §11.1).
//!
//! [`ReplayStore`] is the interface (a fleet-wide store, say Redis, implements it later);
//! [`MemoryReplayStore`] is the default: sharded, bounded, and failing closed. It drops only
//! entries whose window has passed; when a shard is still full of live entries, a new proof is
//! refused as `unavailable` (and counted) rather than an old entry evicted, since evicting a
//! live entry would let its proof be replayed.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// What a proof's replay key is: a hash of the proof key's thumbprint and the `jti`
/// (128 bits; a collision only ever refuses a proof).
pub type ReplayKey = [u8; 16];

/// What a store says about a proof it is asked to record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// Not seen within its window: now recorded.
    Fresh,
    /// Seen before within its window: a replay.
    Replay,
    /// The store cannot record it (full of live entries, or unreachable): refuse the proof.
    Unavailable,
}

/// Where accepted proofs are remembered. Implementations must be atomic per key: of two
/// concurrent calls with one key, at most one answers [`Recorded::Fresh`].
pub trait ReplayStore: Send + Sync + std::fmt::Debug {
    /// Records `key` until `expires_at` (seconds since the epoch) unless it is already
    /// recorded and not expired at `now`.
    fn record(&self, key: ReplayKey, expires_at: u64, now: u64) -> Recorded;

    /// Whether `key` is recorded and not expired at `now` (a cheap early refusal; the
    /// authoritative answer is [`record`](Self::record)'s).
    fn seen(&self, key: &ReplayKey, now: u64) -> bool;

    /// Proofs refused because the store could not record them.
    fn refused_full(&self) -> u64;
}

const SHARDS: usize = 64;

#[derive(Default)]
struct Shard {
    /// Key → expiry.
    live: HashMap<ReplayKey, u64>,
    /// Keys in the order recorded with their expiry: expiries only grow with a clock that
    /// does not go back, so expired entries are at the front.
    order: VecDeque<(u64, ReplayKey)>,
}

impl Shard {
    /// Drops the entries at the front whose window has passed; returns how many.
    fn purge(&mut self, now: u64) -> usize {
        let mut dropped = 0;
        while let Some(&(expiry, key)) = self.order.front() {
            if expiry > now {
                break;
            }
            self.order.pop_front();
            // The key may have been recorded again later with a later expiry.
            if self.live.get(&key) == Some(&expiry) {
                self.live.remove(&key);
                dropped += 1;
            }
        }
        dropped
    }
}

/// The in-memory replay store: 64 shards behind their own locks, at most `capacity` live
/// entries in all (one count over every shard, so keys that hash unevenly still fit). Memory
/// grows with use: BENCHMARKS.md gives the figure for a full store of 1,000,000 entries.
pub struct MemoryReplayStore {
    shards: Box<[Mutex<Shard>]>,
    capacity: usize,
    /// Entries held in all shards, expired ones not yet dropped included.
    held: AtomicUsize,
    refused: AtomicU64,
}

impl std::fmt::Debug for MemoryReplayStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryReplayStore")
            .field("capacity", &self.capacity)
            .field("refused_full", &self.refused_full())
            .finish_non_exhaustive()
    }
}

impl MemoryReplayStore {
    /// A store holding at most `capacity` live entries.
    pub fn new(capacity: u64) -> Self {
        MemoryReplayStore {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            capacity: usize::try_from(capacity).unwrap_or(usize::MAX).max(1),
            held: AtomicUsize::new(0),
            refused: AtomicU64::new(0),
        }
    }

    fn lock(&self, index: usize) -> std::sync::MutexGuard<'_, Shard> {
        // A poisoned shard still holds consistent data: every mutation is a single insert or
        // remove that cannot panic half-way.
        self.shards[index].lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn shard_of(key: &ReplayKey) -> usize {
        usize::from(key[0]) % SHARDS
    }

    /// Drops expired entries from `shard`, keeping the count.
    fn purge(&self, shard: &mut Shard, now: u64) {
        let dropped = shard.purge(now);
        self.held.fetch_sub(dropped, Ordering::Relaxed);
    }

    /// Takes a place for one new entry, dropping expired entries of every shard when the
    /// store is full (never a live one). `false`: full of live entries.
    fn reserve(&self, now: u64) -> bool {
        if self.held.fetch_add(1, Ordering::Relaxed) < self.capacity {
            return true;
        }
        self.held.fetch_sub(1, Ordering::Relaxed);
        for index in 0..SHARDS {
            let mut shard = self.lock(index);
            self.purge(&mut shard, now);
        }
        if self.held.fetch_add(1, Ordering::Relaxed) < self.capacity {
            return true;
        }
        self.held.fetch_sub(1, Ordering::Relaxed);
        false
    }

    /// Entries held now, expired ones not yet dropped included.
    pub fn len(&self) -> usize {
        (0..SHARDS).map(|i| self.lock(i).live.len()).sum()
    }

    /// Whether the store holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ReplayStore for MemoryReplayStore {
    fn record(&self, key: ReplayKey, expires_at: u64, now: u64) -> Recorded {
        let index = Self::shard_of(&key);
        {
            let mut shard = self.lock(index);
            match shard.live.get(&key) {
                Some(&expiry) if expiry > now => return Recorded::Replay,
                // Recorded before and expired: the entry is reused, the count stays.
                Some(_) => {
                    shard.live.insert(key, expires_at);
                    shard.order.push_back((expires_at, key));
                    self.purge(&mut shard, now);
                    return Recorded::Fresh;
                }
                None => {}
            }
        }
        // The shard's lock is not held here: making room may purge every shard.
        if !self.reserve(now) {
            self.refused.fetch_add(1, Ordering::Relaxed);
            return Recorded::Unavailable;
        }
        let mut shard = self.lock(index);
        if shard.live.get(&key).is_some_and(|&expiry| expiry > now) {
            // Recorded by a concurrent call meanwhile: give the place back.
            drop(shard);
            self.held.fetch_sub(1, Ordering::Relaxed);
            return Recorded::Replay;
        }
        if shard.live.insert(key, expires_at).is_some() {
            // An expired entry of this key came back meanwhile: it already had a place.
            self.held.fetch_sub(1, Ordering::Relaxed);
        }
        shard.order.push_back((expires_at, key));
        // Drop what has expired as we go (the queue's front; usually nothing), so memory
        // follows the live entries rather than the capacity.
        self.purge(&mut shard, now);
        Recorded::Fresh
    }

    fn seen(&self, key: &ReplayKey, now: u64) -> bool {
        self.lock(Self::shard_of(key)).live.get(key).is_some_and(|&expiry| expiry > now)
    }

    fn refused_full(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(i: u32) -> ReplayKey {
        let mut k = [0u8; 16];
        k[..4].copy_from_slice(&i.to_le_bytes());
        k
    }

    #[test]
    fn a_replay_inside_its_window_is_refused_and_accepted_after() {
        let store = MemoryReplayStore::new(1000);
        assert_eq!(store.record(key(1), 100, 10), Recorded::Fresh);
        assert!(store.seen(&key(1), 99));
        assert_eq!(store.record(key(1), 200, 99), Recorded::Replay);
        assert!(!store.seen(&key(1), 100));
        assert_eq!(store.record(key(1), 200, 100), Recorded::Fresh, "its window has passed");
        assert_eq!(store.record(key(1), 300, 150), Recorded::Replay);
    }

    #[test]
    fn full_of_live_entries_it_refuses_and_never_forgets_a_live_one() {
        let store = MemoryReplayStore::new(2);
        assert_eq!(store.record(key(0), 100, 0), Recorded::Fresh);
        assert_eq!(store.record(key(1), 150, 0), Recorded::Fresh);
        assert_eq!(store.record(key(2), 100, 0), Recorded::Unavailable);
        assert_eq!(store.refused_full(), 1);
        assert_eq!(store.record(key(0), 100, 50), Recorded::Replay, "the live entry is kept");
        assert_eq!(store.record(key(1), 100, 99), Recorded::Replay, "the live entry is kept");
        // Once a window passed, the expired entry makes room, whichever shard it is in.
        assert_eq!(store.record(key(2), 200, 100), Recorded::Fresh);
        assert_eq!(store.len(), 2);
        assert_eq!(store.record(key(3), 200, 120), Recorded::Unavailable, "key 1 is live until 150");
        assert_eq!(store.record(key(1), 300, 150), Recorded::Fresh, "reused in place");
        assert_eq!(store.len(), 2);
    }

    /// Keys as the validator makes them (hashes): spread over the shards unevenly.
    fn hashed(i: u64) -> ReplayKey {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &i.to_le_bytes());
        digest.as_ref()[..16].try_into().unwrap()
    }

    #[test]
    fn holds_its_capacity_of_distinct_proofs_however_they_hash() {
        // The default bound: a million proofs inside one window.
        let capacity = crate::config::DpopConfig::default().replay_max_entries;
        let store = MemoryReplayStore::new(capacity);
        let fresh = (0..capacity).filter(|&i| store.record(hashed(i), 1000, 0) == Recorded::Fresh).count();
        assert_eq!(fresh as u64, capacity, "every distinct proof inside the window is recorded");
        assert_eq!(store.len() as u64, capacity);
        assert_eq!(store.record(hashed(capacity), 1000, 1), Recorded::Unavailable, "full: fail closed");
        assert!((0..capacity).step_by(97).all(|i| store.record(hashed(i), 1000, 999) == Recorded::Replay));
        // The window passes: everything expired makes room again, and memory follows.
        let more = capacity / 10;
        let later =
            (capacity..capacity + more).filter(|&i| store.record(hashed(i), 3000, 1000) == Recorded::Fresh);
        assert_eq!(later.count() as u64, more);
        assert_eq!(store.len() as u64, more, "the expired entries are gone");
    }

    #[test]
    fn concurrent_records_of_one_key_are_fresh_once() {
        let store = std::sync::Arc::new(MemoryReplayStore::new(10_000));
        let fresh: usize = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let store = store.clone();
                    scope.spawn(move || {
                        (0..2_000u64).filter(|&i| store.record(hashed(i), 100, 0) == Recorded::Fresh).count()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert_eq!(fresh, 2_000);
        assert_eq!(store.len(), 2_000);
    }
}
