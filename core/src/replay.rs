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
use std::sync::atomic::{AtomicU64, Ordering};

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
    /// Drops the entries at the front whose window has passed.
    fn purge(&mut self, now: u64) {
        while let Some(&(expiry, key)) = self.order.front() {
            if expiry > now {
                break;
            }
            self.order.pop_front();
            // The key may have been recorded again later with a later expiry.
            if self.live.get(&key) == Some(&expiry) {
                self.live.remove(&key);
            }
        }
    }
}

/// The in-memory replay store: 64 shards behind their own locks, at most `capacity` entries
/// in all (each shard holds its share). Memory grows with use, up to about 80 bytes an entry.
pub struct MemoryReplayStore {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
    refused: AtomicU64,
}

impl std::fmt::Debug for MemoryReplayStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryReplayStore")
            .field("capacity", &(self.per_shard * SHARDS))
            .field("refused_full", &self.refused_full())
            .finish_non_exhaustive()
    }
}

impl MemoryReplayStore {
    /// A store holding at most `capacity` live entries (rounded up to a multiple of 64).
    pub fn new(capacity: u64) -> Self {
        let per_shard = usize::try_from(capacity.div_ceil(SHARDS as u64)).unwrap_or(usize::MAX).max(1);
        MemoryReplayStore {
            shards: (0..SHARDS).map(|_| Mutex::new(Shard::default())).collect(),
            per_shard,
            refused: AtomicU64::new(0),
        }
    }

    fn shard(&self, key: &ReplayKey) -> std::sync::MutexGuard<'_, Shard> {
        let index = usize::from(key[0]) % SHARDS;
        // A poisoned shard still holds consistent data: every mutation is a single insert or
        // remove that cannot panic half-way.
        self.shards[index].lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Entries held now, expired ones not yet dropped included.
    pub fn len(&self) -> usize {
        (0..SHARDS)
            .map(|i| self.shards[i].lock().unwrap_or_else(std::sync::PoisonError::into_inner).live.len())
            .sum()
    }

    /// Whether the store holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl ReplayStore for MemoryReplayStore {
    fn record(&self, key: ReplayKey, expires_at: u64, now: u64) -> Recorded {
        let mut shard = self.shard(&key);
        if shard.live.get(&key).is_some_and(|&expiry| expiry > now) {
            return Recorded::Replay;
        }
        if shard.live.len() >= self.per_shard {
            shard.purge(now);
            if shard.live.len() >= self.per_shard {
                drop(shard);
                self.refused.fetch_add(1, Ordering::Relaxed);
                return Recorded::Unavailable;
            }
        }
        shard.live.insert(key, expires_at);
        shard.order.push_back((expires_at, key));
        // Keep the queue from growing with keys recorded again: purge as we go.
        if shard.order.len() > 2 * self.per_shard {
            shard.purge(now);
        }
        Recorded::Fresh
    }

    fn seen(&self, key: &ReplayKey, now: u64) -> bool {
        self.shard(key).live.get(key).is_some_and(|&expiry| expiry > now)
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
        let store = MemoryReplayStore::new(64);
        // Every key in one shard (key[0] = 0): the shard holds one entry.
        assert_eq!(store.record(key(0), 100, 0), Recorded::Fresh);
        assert_eq!(store.record(key(256), 100, 0), Recorded::Unavailable);
        assert_eq!(store.refused_full(), 1);
        assert_eq!(store.record(key(0), 100, 50), Recorded::Replay, "the live entry is kept");
        // Once the window passed, the expired entry makes room.
        assert_eq!(store.record(key(256), 200, 100), Recorded::Fresh);
        assert_eq!(store.len(), 1);
    }

    #[test]
    fn holds_its_capacity_of_distinct_proofs() {
        let store = MemoryReplayStore::new(64 * 100);
        let mut fresh = 0;
        for i in 0..64 * 100 {
            let mut k = [0u8; 16];
            k[0] = (i % 64) as u8;
            k[1..5].copy_from_slice(&(i as u32).to_le_bytes());
            if store.record(k, 1000, 0) == Recorded::Fresh {
                fresh += 1;
            }
        }
        assert_eq!(fresh, 64 * 100);
        assert_eq!(store.len(), 64 * 100);
    }
}
