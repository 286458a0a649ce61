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
use futures_util::StreamExt as _;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Script, Value};

use crate::cache::VerdictCache;
use crate::config::SharedCacheConfig;
use crate::error::{Error, Result};
use crate::seal::{Keys, PROOF, Stored, TierKey, VERDICT};

/// Reads the entry under each key but the last (newest key first); when none is there, takes
/// the lock (the last key) for ARGV[2] ms with owner ARGV[1]. {1, value, i} | {2} (the lock is
/// ours) | {3} (another instance holds it).
const LOOKUP: &str = r"
for i = 1, #KEYS - 1 do
  local v = redis.call('GET', KEYS[i])
  if v then return {1, v, i} end
end
if redis.call('SET', KEYS[#KEYS], ARGV[1], 'NX', 'PX', ARGV[2]) then return {2} end
return {3}
";

/// Writes ARGV[1] under KEYS[1] for ARGV[2] ms (when ARGV[2] > 0), then frees the lock
/// KEYS[2] if ARGV[3] still owns it.
const STORE: &str = r"
if tonumber(ARGV[2]) > 0 then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
if redis.call('GET', KEYS[2]) == ARGV[3] then redis.call('DEL', KEYS[2]) end
return 1
";

/// Records a proof under KEYS[1] for ARGV[1] ms unless it, or its name under an older key
/// (KEYS[2..]), is there: 1 fresh, 0 replay.
const RECORD: &str = r"
for i = 2, #KEYS do
  if redis.call('EXISTS', KEYS[i]) == 1 then return 0 end
end
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return 1 end
return 0
";

/// What the tier knows about a token.
#[derive(Debug)]
pub(crate) enum Lookup {
    /// A verdict another instance (or this one) stored.
    Hit(Stored),
    /// No verdict; this instance holds the lock and should introspect, then [`store`].
    Owner(Lock),
    /// The tier cannot help (an entry that failed to open, or the wait ran out): introspect
    /// without the lock, then store.
    Skip,
    /// The tier is failing (a command failed or timed out, or the breaker is open):
    /// introspect and do not try to store, so a call waits for it at most once.
    Down,
}

/// The fleet-wide lock of one token, held while this instance introspects it.
#[derive(Debug)]
pub(crate) struct Lock {
    owner: String,
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

/// One validator's view of the shared tier.
pub(crate) struct SharedTier {
    target: Target,
    /// The connection, and the client (the master's, with Sentinel) it was made from.
    connection: Mutex<Option<(ConnectionManager, redis::Client)>>,
    keys: Keys,
    timeout: Duration,
    connect_timeout: Duration,
    lock_ms: u64,
    poll: Duration,
    pub replay: bool,
    breaker: Breaker,
    pub counters: Counters,
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
        Names { entries, lock, digests }
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

    /// The connection, made (lazily: it connects at its first command) inside the runtime of
    /// the first caller; with Sentinel, to the master the sentinels name now.
    async fn connection(&self) -> Option<ConnectionManager> {
        if let Some((c, _)) = self.connection.lock().ok()?.as_ref() {
            return Some(c.clone());
        }
        let client = self.target.client().await?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(self.connect_timeout))
            .set_response_timeout(Some(self.timeout))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(200));
        let manager = ConnectionManager::new_lazy_with_config(client.clone(), config).ok()?;
        let mut slot = self.connection.lock().ok()?;
        Some(slot.get_or_insert((manager, client)).0.clone())
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
        &self,
        command: impl AsyncFnOnce(&mut ConnectionManager) -> redis::RedisResult<T>,
    ) -> Option<T> {
        if !self.breaker.closed() {
            self.counters.skipped.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let attempt = async {
            let Some(mut connection) = self.connection().await else {
                return Err(redis::RedisError::from((redis::ErrorKind::Io, "no connection")));
            };
            command(&mut connection).await
        };
        match tokio::time::timeout(self.timeout, attempt).await {
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
        tracing::warn!(prefix = %self.keys.prefix, "shared cache command {what}; going on without it");
    }

    /// The verdict for `names`, or this instance's turn to ask (see the module docs).
    pub async fn lookup(self: &Arc<Self>, names: &Names, cache: &VerdictCache) -> Lookup {
        self.subscribe(cache);
        let owner = lock_owner();
        let deadline = Instant::now() + Duration::from_millis(self.lock_ms);
        let mut waited = false;
        loop {
            let reply = self
                .run(async |c| {
                    let mut call = self.lookup.prepare_invoke();
                    for name in &names.entries {
                        call.key(name);
                    }
                    call.key(&names.lock).arg(&owner).arg(self.lock_ms);
                    call.invoke_async::<Value>(c).await
                })
                .await;
            let Some(reply) = reply else { return Lookup::Down };
            match parse_lookup(reply) {
                Some(Reply::Value(value, index)) => {
                    let (Some(key), Some(name)) = (self.keys.keys.get(index), names.entries.get(index))
                    else {
                        self.fail("answered garbage");
                        return Lookup::Down;
                    };
                    return match self.open(key, name, &value) {
                        Some(stored) => {
                            self.counters.hits.fetch_add(1, Ordering::Relaxed);
                            Lookup::Hit(stored)
                        }
                        None => Lookup::Skip,
                    };
                }
                Some(Reply::Locked) => {
                    self.counters.misses.fetch_add(1, Ordering::Relaxed);
                    return Lookup::Owner(Lock { owner });
                }
                Some(Reply::Busy) => {
                    if !waited {
                        waited = true;
                        self.counters.waits.fetch_add(1, Ordering::Relaxed);
                    }
                    if Instant::now() + self.poll >= deadline {
                        self.counters.misses.fetch_add(1, Ordering::Relaxed);
                        return Lookup::Skip;
                    }
                    tokio::time::sleep(self.poll).await;
                }
                None => {
                    self.fail("answered garbage");
                    return Lookup::Down;
                }
            }
        }
    }

    fn open(&self, key: &TierKey, name: &str, value: &[u8]) -> Option<Stored> {
        let opened = self.keys.open(key, name, value);
        if opened.is_none() {
            self.counters.rejected.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(prefix = %self.keys.prefix, "a shared cache entry failed authentication; ignored");
        }
        opened
    }

    /// Stores `stored` for `ttl` (nothing when zero) and frees `lock` if this instance holds it.
    pub async fn store(&self, names: &Names, lock: Option<Lock>, stored: Option<(&Stored, Duration)>) {
        let value = stored.and_then(|(s, ttl)| Some((self.keys.seal(&names.entries[0], s)?, ms(ttl))));
        if value.is_none() && lock.is_none() {
            return;
        }
        let (value, ttl) = value.unwrap_or_default();
        let owner = lock.map(|l| l.owner).unwrap_or_default();
        self.run(async |c| {
            self.store
                .key(&names.entries[0])
                .key(&names.lock)
                .arg(value.as_slice())
                .arg(ttl)
                .arg(owner.as_str())
                .invoke_async::<Value>(c)
                .await
        })
        .await;
    }

    /// Records a DPoP proof (its replay key) until `expires_at`; see [`ProofRecord`].
    pub async fn record_proof(&self, identity: &[u8], replay: &[u8; 16], ttl: Duration) -> ProofRecord {
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

    /// Deletes `names`' entries and announces their first-tier key to every instance.
    pub async fn forget(&self, names: &Names) {
        let message: Vec<String> = self
            .keys
            .keys
            .iter()
            .zip(&names.digests)
            .map(|(k, d)| format!("{}:{}", k.id, URL_SAFE_NO_PAD.encode(d)))
            .collect();
        let message = message.join(" ");
        let channel = self.keys.channel();
        self.run(async |c| {
            redis::pipe()
                .del(&names.entries)
                .ignore()
                .publish(&channel, &message)
                .ignore()
                .query_async::<()>(c)
                .await
        })
        .await;
    }

    /// Starts, once, the task that applies other instances' `forget` announcements to the
    /// first tier. It ends when the validator is dropped; after a lost subscription it clears
    /// the first tier (announcements may have been missed) and subscribes again.
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
        runtime.spawn(subscriber(tier, cache));
    }
}

/// The subscriber loop (see [`SharedTier::subscribe`]).
async fn subscriber(tier: Weak<SharedTier>, cache: crate::cache::CacheHandle) {
    let mut lost = false;
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
            lost = true;
            tokio::time::sleep(Duration::from_millis(250)).await;
            continue;
        };
        if lost {
            // Announcements may have been missed while the subscription was down.
            cache.clear();
        }
        let mut messages = pubsub.into_on_message();
        loop {
            let next = tokio::time::timeout(Duration::from_secs(1), messages.next()).await;
            let Some(t) = tier.upgrade() else { return };
            match next {
                Err(_) => continue,
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
        lost = true;
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
}

fn parse_lookup(reply: Value) -> Option<Reply> {
    let Value::Array(items) = reply else { return None };
    match items.as_slice() {
        [Value::Int(1), Value::BulkString(v), Value::Int(i)] => {
            Some(Reply::Value(v.clone(), usize::try_from(*i).ok()?.checked_sub(1)?))
        }
        [Value::Int(2)] => Some(Reply::Locked),
        [Value::Int(3)] => Some(Reply::Busy),
        _ => None,
    }
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
