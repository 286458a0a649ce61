//! The shared second tier (`cache.shared`): introspection verdicts and DPoP proofs in a Redis
//! or Valkey server every instance of the API uses, through redis-rs's `ConnectionManager`
//! (one multiplexed, reconnecting connection per validator).
//!
//! It can only save work, never decide: every command has a deadline
//! (`cache.shared.timeout_ms`); a failure, a timeout or a value that does not open is a miss;
//! after `breaker_failures` failures in a row the tier is skipped for `breaker_open_ms` (no
//! added latency), then tried again. What a call does:
//!
//! - [`lookup`](SharedTier::lookup): one script reads the entry under every key (newest first)
//!   and, when there is none, takes the token's lock (`SET NX PX`): the fleet-wide single
//!   flight. An instance that finds the lock taken polls for the answer for at most
//!   `lock_ms`, then asks the authorization server itself.
//! - [`store`](SharedTier::store): writes the sealed verdict with its TTL and frees the lock.
//! - [`record_proof`](SharedTier::record_proof): `SET NX PX` of a DPoP proof's name.
//! - [`forget`](SharedTier::forget): deletes the entry under every key and announces the
//!   first-tier key on the pub/sub channel; every instance's subscriber drops it.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures_util::{FutureExt as _, StreamExt as _};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Script, Value};

use crate::cache::VerdictCache;
use crate::config::SharedCacheConfig;
use crate::error::{Error, Result};
use crate::seal::{Keys, PROOF, Stored, TierKey, VERDICT};

/// KEYS: the entry under every key (newest first), the lock, the token's generation (bumped by
/// `forget`). ARGV: owner, lock ms, the largest value accepted. Reads the first entry there is;
/// else takes the lock for this owner. Every reply is {code, generation, …}: 1 a value (then
/// the value and its key's index) | 2 the lock is ours | 3 another instance holds it (with a TTL
/// it may hold) | 4 ask without waiting (the owner gave up, or a lock with no or a longer TTL:
/// not one of ours) | 5 a value too large to be ours.
const LOOKUP: &str = r"
local lock = KEYS[#KEYS - 1]
local gen = redis.call('GET', KEYS[#KEYS]) or ''
for i = 1, #KEYS - 2 do
  if redis.call('STRLEN', KEYS[i]) > tonumber(ARGV[3]) then return {5, gen} end
  local v = redis.call('GET', KEYS[i])
  if v then return {1, gen, v, i} end
end
if redis.call('SET', lock, ARGV[1], 'NX', 'PX', ARGV[2]) then return {2, gen} end
if redis.call('GET', lock) == '!' then return {4, gen} end
local ttl = redis.call('PTTL', lock)
if ttl < 0 or ttl > tonumber(ARGV[2]) then return {4, gen} end
return {3, gen}
";

/// KEYS: the entry, the lock, the token's generation. ARGV: value, TTL ms (0: nothing to
/// store), owner, how long a given-up lock tells waiters to ask themselves (ms), the generation
/// the lookup saw. Writes the value unless a `forget` came since that lookup; frees the lock if
/// this owner still holds it: with a value, by deleting it, else by marking it given up so
/// waiters ask at once.
const STORE: &str = r"
local stored = 0
if tonumber(ARGV[2]) > 0 and (redis.call('GET', KEYS[3]) or '') == ARGV[5] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  stored = 1
end
if ARGV[3] ~= '' and redis.call('GET', KEYS[2]) == ARGV[3] then
  if stored == 1 then redis.call('DEL', KEYS[2]) else redis.call('SET', KEYS[2], '!', 'PX', ARGV[4]) end
end
return stored
";

/// KEYS: the proof's name under every key, the current first. ARGV: TTL ms. Records it unless
/// it is there under any key: 1 fresh, 0 replay.
const RECORD: &str = r"
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then return 0 end
end
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 1 end
return 0
";

/// What the tier knows about a token. (No `Debug`: a hit holds claims.)
pub(crate) enum Lookup {
    /// A verdict another instance (or this one) stored.
    Hit(Stored, Ticket),
    /// No verdict: introspect, then [`store`](SharedTier::store) with the ticket (which holds
    /// the lock when this instance took it).
    Ask(Ticket),
    /// The tier is failing (a command failed or timed out, or the breaker is open):
    /// introspect and do not try to store, so a call waits for it at most once.
    Down,
}

/// What a lookup that found no verdict hands to [`SharedTier::store`]: the lock, when this
/// instance holds it, and the token's generation then (an answer is stored only if no
/// `forget` came since).
pub(crate) struct Ticket {
    lock: Option<Lock>,
    generation: String,
}

/// The fleet-wide lock of one token, held while this instance introspects it. Released by
/// [`SharedTier::store`]; a lock dropped unreleased (its caller's future was cancelled) is
/// given up in a task of its own, so the other instances ask at once instead of waiting out
/// `lock_ms`.
pub(crate) struct Lock {
    tier: Weak<SharedTier>,
    owner: String,
    entry: String,
    name: String,
    generation: String,
    released: bool,
}

impl Drop for Lock {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        let (Some(tier), Ok(runtime)) = (self.tier.upgrade(), tokio::runtime::Handle::try_current()) else {
            return;
        };
        let names = [
            std::mem::take(&mut self.entry),
            std::mem::take(&mut self.name),
            std::mem::take(&mut self.generation),
        ];
        let owner = std::mem::take(&mut self.owner);
        runtime.spawn(async move { tier.release(&names, &owner, None).await });
    }
}

/// What a DPoP proof's record says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ProofRecord {
    Fresh,
    Replay,
    /// The tier could not answer: the local store's answer stands.
    Unknown,
}

/// The names of one token's entries.
pub(crate) struct Names {
    /// The entry under every key, newest first.
    entries: Vec<String>,
    lock: String,
    /// The token's generation, bumped by `forget`: an answer looked up before is not stored.
    generation: String,
    /// Every key's digest (for `forget`'s announcement).
    digests: Vec<[u8; 32]>,
}

/// Counters of the shared tier.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub hits: AtomicU64,
    pub misses: AtomicU64,
    pub errors: AtomicU64,
    pub rejected: AtomicU64,
    pub skipped: AtomicU64,
    pub waits: AtomicU64,
    pub forgets_received: AtomicU64,
}

/// A snapshot of the shared tier's counters (see [`crate::Stats`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SharedStats {
    /// Verdicts found in the shared tier (a first-tier miss served without a request).
    pub hits: u64,
    /// Lookups that found nothing.
    pub misses: u64,
    /// Commands that failed or timed out.
    pub errors: u64,
    /// Entries that failed to open (forged, altered, moved): treated as misses.
    pub rejected: u64,
    /// Calls that skipped the tier while its circuit breaker was open.
    pub skipped: u64,
    /// Lookups that waited for another instance's introspection.
    pub waits: u64,
    /// `forget` announcements received from other instances (and this one).
    pub forgets_received: u64,
}

/// Opens after `threshold` failures in a row; stays open `open_for`; then one failure opens
/// it again, one success closes it.
#[derive(Debug)]
struct Breaker {
    failures: AtomicU32,
    open_until_ms: AtomicU64,
    threshold: u32,
    open_for_ms: u64,
    epoch: Instant,
}

impl Breaker {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn closed(&self) -> bool {
        self.now_ms() >= self.open_until_ms.load(Ordering::Relaxed)
    }

    /// Whether the last command failed.
    fn failing(&self) -> bool {
        self.failures.load(Ordering::Relaxed) > 0 || !self.closed()
    }

    fn success(&self) {
        self.failures.store(0, Ordering::Relaxed);
    }

    /// Counts a failure; whether the breaker opened.
    fn failure(&self) -> bool {
        let n = self.failures.fetch_add(1, Ordering::Relaxed).saturating_add(1);
        if n < self.threshold {
            return false;
        }
        self.open_until_ms.store(self.now_ms().saturating_add(self.open_for_ms), Ordering::Relaxed);
        // Half-open afterwards: the next failure opens it again at once.
        self.failures.store(self.threshold.saturating_sub(1), Ordering::Relaxed);
        true
    }
}

/// At most one log record a second.
#[derive(Debug)]
struct LogLimit {
    epoch: Instant,
    next_ms: AtomicU64,
}

impl LogLimit {
    fn allow(&self) -> bool {
        let now = u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
        let next = self.next_ms.load(Ordering::Relaxed);
        now >= next
            && self
                .next_ms
                .compare_exchange(next, now.saturating_add(1_000), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

/// One validator's view of the shared tier.
pub(crate) struct SharedTier {
    target: Target,
    /// The connection, and the client (the master's, with Sentinel) it was made from.
    connection: Mutex<Option<(ConnectionManager, redis::Client)>>,
    /// The attempt to connect under way, if any.
    connecting: Mutex<Option<futures_util::future::Shared<futures_util::future::BoxFuture<'static, ()>>>>,
    keys: Keys,
    timeout: Duration,
    connect_timeout: Duration,
    lock_ms: u64,
    poll: Duration,
    pub replay: bool,
    breaker: Breaker,
    pub counters: Counters,
    log_limit: LogLimit,
    lookup: Script,
    store: Script,
    record: Script,
    /// Whether the subscriber task runs (started at the first command, inside a runtime).
    subscribed: std::sync::atomic::AtomicBool,
}

impl std::fmt::Debug for SharedTier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedTier").field("prefix", &self.keys.prefix).finish_non_exhaustive()
    }
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl SharedTier {
    /// The tier of `config` (checked by `check.rs`); connects at the first command.
    pub fn new(config: &SharedCacheConfig) -> Result<Arc<SharedTier>> {
        let target = Target::from_config(config)?;
        let keys =
            Keys::from_config(config).ok_or_else(|| Error::config("`cache.shared.secrets` is unusable"))?;
        Ok(Arc::new(SharedTier {
            target,
            connection: Mutex::new(None),
            connecting: Mutex::new(None),
            keys,
            timeout: Duration::from_millis(config.timeout_ms),
            connect_timeout: Duration::from_millis(config.connect_timeout_ms),
            lock_ms: config.lock_ms,
            poll: Duration::from_millis(config.poll_ms),
            replay: config.replay,
            breaker: Breaker {
                failures: AtomicU32::new(0),
                open_until_ms: AtomicU64::new(0),
                threshold: config.breaker_failures,
                open_for_ms: config.breaker_open_ms,
                epoch: Instant::now(),
            },
            counters: Counters::default(),
            log_limit: LogLimit { epoch: Instant::now(), next_ms: AtomicU64::new(0) },
            lookup: Script::new(LOOKUP),
            store: Script::new(STORE),
            record: Script::new(RECORD),
            subscribed: std::sync::atomic::AtomicBool::new(false),
        }))
    }

    /// The names of `token`'s entries for a validator of `identity`.
    pub fn names(&self, identity: &[u8; 32], token: &str) -> Names {
        let digests: Vec<[u8; 32]> =
            self.keys.keys.iter().map(|k| k.digest(VERDICT, &[identity, token.as_bytes()])).collect();
        let entries = self.keys.keys.iter().zip(&digests).map(|(k, d)| self.keys.name('v', k, d)).collect();
        let lock = self.keys.name('l', self.keys.current(), &digests[0]);
        let generation = self.keys.name('g', self.keys.current(), &digests[0]);
        Names { entries, lock, generation, digests }
    }

    /// The first-tier key of `token`: the digest under the current key (so a `forget`
    /// announcement names it without naming the token).
    pub fn first_tier_key(&self, identity: &[u8; 32], token: &str) -> [u8; 32] {
        self.keys.current().digest(VERDICT, &[identity, token.as_bytes()])
    }

    pub fn snapshot(&self) -> SharedStats {
        let c = &self.counters;
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        SharedStats {
            hits: get(&c.hits),
            misses: get(&c.misses),
            errors: get(&c.errors),
            rejected: get(&c.rejected),
            skipped: get(&c.skipped),
            waits: get(&c.waits),
            forgets_received: get(&c.forgets_received),
        }
    }

    /// The connection; without one, the attempt to make one (with Sentinel, to the master the
    /// sentinels name now) is started or joined and awaited until `deadline`. The attempt runs
    /// in its own task for up to `connect_timeout_ms`, so a call never waits for a connection
    /// longer than its own command deadline, and a slow handshake still completes for the
    /// calls after it.
    async fn connection(self: &Arc<Self>, deadline: tokio::time::Instant) -> Option<ConnectionManager> {
        let current = || self.connection.lock().ok().and_then(|s| s.as_ref().map(|(c, _)| c.clone()));
        if let Some(c) = current() {
            return Some(c);
        }
        let attempt = {
            let mut connecting = self.connecting.lock().ok()?;
            match connecting.as_ref() {
                Some(attempt) => attempt.clone(),
                None => {
                    let attempt = Self::connect(Arc::downgrade(self)).boxed().shared();
                    tokio::runtime::Handle::try_current().ok()?.spawn(attempt.clone());
                    *connecting = Some(attempt.clone());
                    attempt
                }
            }
        };
        tokio::time::timeout_at(deadline, attempt).await.ok()?;
        current()
    }

    /// One attempt to connect; stores the connection it made and clears itself.
    async fn connect(tier: Weak<SharedTier>) {
        let Some(t) = tier.upgrade() else { return };
        let made = tokio::time::timeout(t.connect_timeout, async {
            let client = t.target.client().await?;
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(t.connect_timeout))
                .set_response_timeout(Some(t.timeout))
                .set_number_of_retries(1)
                .set_max_delay(Duration::from_millis(200));
            let manager = ConnectionManager::new_with_config(client.clone(), config).await.ok()?;
            Some((manager, client))
        })
        .await
        .ok()
        .flatten();
        if let (Some(made), Ok(mut slot)) = (made, t.connection.lock()) {
            *slot = Some(made);
        }
        if let Ok(mut connecting) = t.connecting.lock() {
            *connecting = None;
        }
    }

    /// The client the subscriber connects with (the current connection's, else a new one).
    async fn client(&self) -> Option<redis::Client> {
        let made = self.connection.lock().ok()?.as_ref().map(|(_, client)| client.clone());
        match made {
            Some(client) => Some(client),
            None => self.target.client().await,
        }
    }

    /// Runs one command within the deadline; a failure counts toward the breaker.
    async fn run<T>(
        self: &Arc<Self>,
        command: impl AsyncFnOnce(&mut ConnectionManager) -> redis::RedisResult<T>,
    ) -> Option<T> {
        if !self.breaker.closed() {
            self.counters.skipped.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        // One deadline for the connection (when there is none yet) and the command.
        let deadline = tokio::time::Instant::now() + self.timeout;
        let Some(mut connection) = self.connection(deadline).await else {
            self.fail("could not connect in time");
            return None;
        };
        match tokio::time::timeout_at(deadline, command(&mut connection)).await {
            Ok(Ok(value)) => {
                self.breaker.success();
                Some(value)
            }
            Ok(Err(e)) => {
                self.fail(if e.is_timeout() { "timed out" } else { "failed" });
                None
            }
            Err(_) => {
                self.fail("timed out");
                None
            }
        }
    }

    fn fail(&self, what: &'static str) {
        self.counters.errors.fetch_add(1, Ordering::Relaxed);
        if self.breaker.failure() {
            // The breaker opened: make the connection again when it closes (with Sentinel,
            // to whichever master the sentinels name then).
            if let Ok(mut slot) = self.connection.lock() {
                *slot = None;
            }
        }
        if self.log_limit.allow() {
            tracing::warn!(prefix = %self.keys.prefix, "shared cache command {what}; going on without it");
        }
    }

    /// The verdict for `names`, or this instance's turn to ask (see the module docs).
    pub async fn lookup(self: &Arc<Self>, names: &Names, cache: &VerdictCache) -> Lookup {
        self.subscribe(cache);
        let owner = lock_owner();
        let deadline = Instant::now() + Duration::from_millis(self.lock_ms);
        let mut waited = false;
        let mut poll = self.poll;
        loop {
            let reply = self
                .run(async |c| {
                    let mut call = self.lookup.prepare_invoke();
                    for name in &names.entries {
                        call.key(name);
                    }
                    call.key(&names.lock).key(&names.generation);
                    call.arg(&owner).arg(self.lock_ms).arg(crate::seal::MAX_VALUE_BYTES);
                    call.invoke_async::<Value>(c).await
                })
                .await;
            let Some(reply) = reply else { return Lookup::Down };
            let Some((reply, generation)) = parse_lookup(reply) else {
                self.fail("answered garbage");
                return Lookup::Down;
            };
            let ask = |lock| Lookup::Ask(Ticket { lock, generation: generation.clone() });
            match reply {
                Reply::Value(value, index) => {
                    let (Some(key), Some(name)) = (self.keys.keys.get(index), names.entries.get(index))
                    else {
                        self.fail("answered garbage");
                        return Lookup::Down;
                    };
                    return match self.open(key, name, &value) {
                        Some(stored) => {
                            self.counters.hits.fetch_add(1, Ordering::Relaxed);
                            Lookup::Hit(stored, Ticket { lock: None, generation: generation.clone() })
                        }
                        None => ask(None),
                    };
                }
                Reply::TooLarge => {
                    self.reject();
                    return ask(None);
                }
                Reply::Locked => {
                    self.counters.misses.fetch_add(1, Ordering::Relaxed);
                    return ask(Some(Lock {
                        tier: Arc::downgrade(self),
                        owner,
                        entry: names.entries[0].clone(),
                        name: names.lock.clone(),
                        generation: names.generation.clone(),
                        released: false,
                    }));
                }
                Reply::AskNow => {
                    self.counters.misses.fetch_add(1, Ordering::Relaxed);
                    return ask(None);
                }
                Reply::Busy => {
                    if !waited {
                        waited = true;
                        self.counters.waits.fetch_add(1, Ordering::Relaxed);
                    }
                    if Instant::now() + poll >= deadline {
                        self.counters.misses.fetch_add(1, Ordering::Relaxed);
                        return ask(None);
                    }
                    tokio::time::sleep(poll).await;
                    // Backs off to 50 ms: an introspection that is slow is slow for a while.
                    poll = (poll * 2).min(Duration::from_millis(50)).max(self.poll);
                }
            }
        }
    }

    fn open(&self, key: &TierKey, name: &str, value: &[u8]) -> Option<Stored> {
        let opened = self.keys.open(key, name, value);
        if opened.is_none() {
            self.reject();
        }
        opened
    }

    /// Counts an entry that is not ours; logs it at most once a second (anyone who can write
    /// the server could otherwise flood the log).
    fn reject(&self) {
        self.counters.rejected.fetch_add(1, Ordering::Relaxed);
        if self.log_limit.allow() {
            tracing::warn!(prefix = %self.keys.prefix, "a shared cache entry failed authentication; ignored");
        }
    }

    /// Stores `stored` for `ttl` (nothing when zero, or when a `forget` came since the lookup
    /// that gave `ticket`) and releases the ticket's lock.
    pub async fn store(self: &Arc<Self>, names: &Names, ticket: Ticket, stored: Option<(&Stored, Duration)>) {
        let value = stored.and_then(|(s, ttl)| Some((self.keys.seal(&names.entries[0], s)?, ms(ttl))));
        let owner = match ticket.lock {
            Some(mut lock) => {
                lock.released = true;
                std::mem::take(&mut lock.owner)
            }
            None if value.is_none() => return,
            None => String::new(),
        };
        let names = [names.entries[0].clone(), names.lock.clone(), names.generation.clone()];
        self.release(&names, &owner, value.map(|(v, ttl)| (v, ttl, ticket.generation))).await;
    }

    /// The STORE script: `names` are the entry, the lock and the generation.
    async fn release(
        self: &Arc<Self>,
        names: &[String; 3],
        owner: &str,
        value: Option<(Vec<u8>, u64, String)>,
    ) {
        let (value, ttl, generation) = value.unwrap_or_default();
        let given_up = self.lock_ms.min(1_000);
        self.run(async |c| {
            self.store
                .key(&names[0])
                .key(&names[1])
                .key(&names[2])
                .arg(value.as_slice())
                .arg(ttl)
                .arg(owner)
                .arg(given_up)
                .arg(generation.as_str())
                .invoke_async::<Value>(c)
                .await
        })
        .await;
    }

    /// Records a DPoP proof (its replay key) until `expires_at`; see [`ProofRecord`].
    pub async fn record_proof(
        self: &Arc<Self>,
        identity: &[u8],
        replay: &[u8; 16],
        ttl: Duration,
    ) -> ProofRecord {
        // The last command failed (this call's lookup, say): do not wait for the tier twice.
        if self.breaker.failing() {
            self.counters.skipped.fetch_add(1, Ordering::Relaxed);
            return ProofRecord::Unknown;
        }
        let names: Vec<String> = self
            .keys
            .keys
            .iter()
            .map(|k| self.keys.name('r', k, &k.digest(PROOF, &[identity, replay])))
            .collect();
        let ttl = ms(ttl).max(1);
        let reply = self
            .run(async |c| {
                let mut call = self.record.prepare_invoke();
                for name in &names {
                    call.key(name);
                }
                call.arg(ttl).invoke_async::<i64>(c).await
            })
            .await;
        match reply {
            Some(1) => ProofRecord::Fresh,
            Some(_) => ProofRecord::Replay,
            None => ProofRecord::Unknown,
        }
    }

    /// Deletes `names`' entries, bumps the token's generation (so an answer being stored by an
    /// introspection that looked before is not; the generation lives longer than any
    /// introspection may take), and announces the digests under every key to every instance.
    /// `false`: the tier could not be told.
    pub async fn forget(self: &Arc<Self>, names: &Names) -> bool {
        let message: Vec<String> = self
            .keys
            .keys
            .iter()
            .zip(&names.digests)
            .map(|(k, d)| format!("{}:{}", k.id, URL_SAFE_NO_PAD.encode(d)))
            .collect();
        let message = message.join(" ");
        let channel = self.keys.channel();
        // Above the longest introspection (`http.timeout_ms` ≤ 300 s) plus the longest wait.
        let generation_ms: i64 = 600_000;
        self.run(async |c| {
            redis::pipe()
                .del(&names.entries)
                .ignore()
                .incr(&names.generation, 1)
                .ignore()
                .pexpire(&names.generation, generation_ms)
                .ignore()
                .publish(&channel, &message)
                .ignore()
                .query_async::<()>(c)
                .await
        })
        .await
        .is_some()
    }

    /// Starts the task that applies the `forget` announcements to the first tier, unless it
    /// runs. It ends when the validator is dropped, or with the runtime it was spawned on
    /// (then the next lookup starts it on its own runtime); after a lost subscription it
    /// subscribes again.
    fn subscribe(self: &Arc<Self>, cache: &VerdictCache) {
        if self.subscribed.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.subscribed.store(false, Ordering::Release);
            return;
        };
        let tier = Arc::downgrade(self);
        let cache = cache.handle();
        // The guard belongs to the future: dropped unpolled, it still clears the flag.
        runtime.spawn(subscriber(tier.clone(), cache, Running(tier)));
    }
}

/// Marks the subscriber stopped when its task ends for any reason (the validator dropped, or
/// the runtime it ran on shut down), so the next lookup starts it again.
struct Running(Weak<SharedTier>);

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(tier) = self.0.upgrade() {
            tier.subscribed.store(false, Ordering::Release);
        }
    }
}

/// How long the subscription may be silent before it is checked with a PING.
const KEEPALIVE: Duration = Duration::from_secs(5);

/// The subscriber loop (see [`SharedTier::subscribe`]). Whenever it subscribes (the first time
/// too: announcements made before were missed) it clears the first tier.
async fn subscriber(tier: Weak<SharedTier>, cache: crate::cache::CacheHandle, _running: Running) {
    loop {
        let Some(t) = tier.upgrade() else { return };
        let (channel, timeout, current) = (t.keys.channel(), t.connect_timeout, t.keys.current().id.clone());
        let client = tokio::time::timeout(timeout, t.client()).await.ok().flatten();
        drop(t);
        let connected = tokio::time::timeout(timeout, async {
            let Some(client) = client else {
                return Err(redis::RedisError::from((redis::ErrorKind::Io, "no client")));
            };
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            redis::RedisResult::Ok(pubsub)
        })
        .await;
        let Ok(Ok(pubsub)) = connected else {
            tokio::time::sleep(Duration::from_millis(250)).await;
            continue;
        };
        cache.clear();
        let (mut sink, mut messages) = pubsub.split();
        loop {
            let next = tokio::time::timeout(KEEPALIVE, messages.next()).await;
            let Some(t) = tier.upgrade() else { return };
            match next {
                // Silent for a while: a PING tells a quiet channel from a dead connection.
                Err(_) => {
                    let ping = tokio::time::timeout(timeout, sink.ping::<Value>()).await;
                    if !matches!(ping, Ok(Ok(_))) {
                        break;
                    }
                }
                Ok(None) => break,
                Ok(Some(message)) => {
                    let Ok(payload) = message.get_payload::<String>() else { continue };
                    t.counters.forgets_received.fetch_add(1, Ordering::Relaxed);
                    for part in payload.split(' ') {
                        let Some((id, digest)) = part.split_once(':') else { continue };
                        let digest =
                            URL_SAFE_NO_PAD.decode(digest).ok().and_then(|d| <[u8; 32]>::try_from(d).ok());
                        if let (true, Some(digest)) = (id == current, digest) {
                            cache.invalidate(&digest).await;
                        }
                    }
                }
            }
        }
    }
}

/// Where the server is: one URL, or the master a set of sentinels names.
enum Target {
    Direct(redis::Client),
    Sentinel(tokio::sync::Mutex<redis::sentinel::SentinelClient>),
}

impl Target {
    fn from_config(config: &SharedCacheConfig) -> Result<Target> {
        let unusable = || Error::config("`cache.shared.url` is not a Redis URL this client can use");
        let url = config.url.expose();
        let certificates = match &config.tls_ca_file {
            None => None,
            Some(path) => {
                let pem = std::fs::read(path)
                    .map_err(|_| Error::config("`cache.shared.tls_ca_file` cannot be read"))?;
                Some(redis::TlsCertificates { client_tls: None, root_cert: Some(pem) })
            }
        };
        if let Some(sentinel) = parse_sentinel(url) {
            let sentinel = sentinel.ok_or_else(unusable)?;
            let node = redis::sentinel::SentinelNodeConnectionInfo::default()
                .set_redis_connection_info(sentinel.master);
            let client = redis::sentinel::SentinelClient::build(
                sentinel.nodes,
                sentinel.service,
                Some(node),
                redis::sentinel::SentinelServerType::Master,
            )
            .map_err(|_| unusable())?;
            return Ok(Target::Sentinel(tokio::sync::Mutex::new(client)));
        }
        let client = match certificates {
            None => redis::Client::open(url).map_err(|_| unusable())?,
            Some(certificates) => redis::Client::build_with_tls(url, certificates)
                .map_err(|_| Error::config("`cache.shared.tls_ca_file` holds no usable PEM certificate"))?,
        };
        Ok(Target::Direct(client))
    }

    async fn client(&self) -> Option<redis::Client> {
        match self {
            Target::Direct(client) => Some(client.clone()),
            Target::Sentinel(sentinel) => sentinel.lock().await.async_get_client().await.ok(),
        }
    }
}

/// A `redis+sentinel://[user:password@]host:port[,host:port…]/service[/db]` URL, taken apart:
/// the sentinels' addresses, the service (master) name, and how to log in to the master.
pub(crate) struct SentinelUrl {
    nodes: Vec<String>,
    service: String,
    master: redis::RedisConnectionInfo,
}

/// `None`: not a Sentinel URL; `Some(None)`: a malformed one.
pub(crate) fn parse_sentinel(url: &str) -> Option<Option<SentinelUrl>> {
    let rest = url.strip_prefix("redis+sentinel://")?;
    Some((|| {
        let (authority, path) = rest.split_once('/')?;
        let (login, hosts) = match authority.rsplit_once('@') {
            Some((login, hosts)) => (Some(login), hosts),
            None => (None, authority),
        };
        let nodes: Vec<String> = hosts
            .split(',')
            .map(|host| {
                let (name, port) = host.rsplit_once(':')?;
                (!name.is_empty() && port.parse::<u16>().is_ok()).then(|| format!("redis://{host}"))
            })
            .collect::<Option<_>>()?;
        let mut parts = path.split('/');
        let service = parts.next().filter(|s| !s.is_empty())?.to_owned();
        let db = match parts.next() {
            None | Some("") => 0,
            Some(db) => db.parse::<i64>().ok()?,
        };
        if parts.next().is_some() || nodes.is_empty() {
            return None;
        }
        let decode = |s: &str| percent_decode(s);
        let mut master = redis::RedisConnectionInfo::default().set_db(db);
        if let Some(login) = login {
            let (user, password) = login.split_once(':').unwrap_or((login, ""));
            if !user.is_empty() {
                master = master.set_username(decode(user)?);
            }
            if !password.is_empty() {
                master = master.set_password(decode(password)?);
            }
        }
        Some(SentinelUrl { nodes, service, master })
    })())
}

fn percent_decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s).decode_utf8().ok().map(|s| s.into_owned())
}

enum Reply {
    Value(Vec<u8>, usize),
    Locked,
    Busy,
    AskNow,
    TooLarge,
}

/// The LOOKUP script's reply and the generation it read.
fn parse_lookup(reply: Value) -> Option<(Reply, String)> {
    let Value::Array(items) = reply else { return None };
    let (code, generation, rest) = match items.as_slice() {
        [Value::Int(code), Value::BulkString(generation), rest @ ..] => (*code, generation, rest),
        _ => return None,
    };
    let generation = String::from_utf8(generation.clone()).ok()?;
    let reply = match (code, rest) {
        (1, [Value::BulkString(v), Value::Int(i)]) => {
            Reply::Value(v.clone(), usize::try_from(*i).ok()?.checked_sub(1)?)
        }
        (2, []) => Reply::Locked,
        (3, []) => Reply::Busy,
        (4, []) => Reply::AskNow,
        (5, []) => Reply::TooLarge,
        _ => return None,
    };
    Some((reply, generation))
}

fn lock_owner() -> String {
    let mut bytes = [0u8; 16];
    // A random owner; should the RNG fail, a fixed owner still excludes other instances'.
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentinel_urls_are_taken_apart_or_refused() {
        assert!(parse_sentinel("redis://127.0.0.1:6379/0").is_none(), "not a Sentinel URL");
        let url = parse_sentinel("redis+sentinel://app:p%40ss@10.0.0.1:26379,10.0.0.2:26380/orders/3");
        let url = url.flatten().expect("valid");
        assert_eq!(url.nodes, ["redis://10.0.0.1:26379", "redis://10.0.0.2:26380"]);
        assert_eq!(url.service, "orders");
        assert_eq!(
            (url.master.db(), url.master.username(), url.master.password()),
            (3, Some("app"), Some("p@ss"))
        );
        let bare = parse_sentinel("redis+sentinel://h:1/s").flatten().expect("valid");
        assert_eq!((bare.master.db(), bare.master.password()), (0, None));
        for bad in [
            "redis+sentinel://h:1",
            "redis+sentinel://h/s",
            "redis+sentinel://h:x/s",
            "redis+sentinel://:1/s",
        ] {
            assert!(matches!(parse_sentinel(bad), Some(None)), "{bad}");
        }
    }
}
