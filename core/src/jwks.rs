//! The issuer's JSON Web Key Set: parsed into usable verification keys, cached, and
//! refreshed safely.
//!
//! Parsing keeps only keys that can verify a signature for an algorithm we accept: RSA of at
//! least 2048 bits, EC P-256/P-384 with a valid point, Ed25519. Symmetric keys, keys with
//! private members, keys for encryption and malformed entries are skipped without spoiling
//! the rest of the set. Keys are parsed once per fetch, never per token.
//!
//! Refresh rules (RFC 8725 and common sense): one fetch in flight; an unknown `kid` refetches
//! at most once per cooldown; the last good set outlives a failed refresh for a bounded stale
//! window; a burst at expiry makes one fetch.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use aws_lc_rs::signature::{ParsedPublicKey, RsaPublicKeyComponents};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;
use url::Url;

use crate::algorithms::{self, Alg, Verifier};
use crate::clock::SharedClock;
use crate::config::JwksConfig;
use crate::error::{Error, Result};
use crate::http::HttpClient;

/// Longest `kid` looked up; a longer one cannot match any key we keep.
pub const MAX_KID_LEN: usize = 256;

pub use crate::algorithms::KeyFamily;

/// One usable verification key.
pub struct VerifyKey {
    /// `kid`, if the JWK had one.
    pub kid: Option<String>,
    /// Key type and curve.
    pub family: KeyFamily,
    /// The JWK's own `alg`, if it named one we support.
    pub alg: Option<Alg>,
    /// The key parsed once, at fetch, for each algorithm it may verify.
    parsed: Vec<(Alg, ParsedPublicKey)>,
}

impl VerifyKey {
    /// Checks `signature` over `message` with this key under `alg`; false when the key does not
    /// serve `alg` or the signature does not verify.
    pub(crate) fn verify(&self, alg: Alg, message: &[u8], signature: &[u8]) -> bool {
        self.parsed
            .iter()
            .find(|(a, _)| *a == alg)
            .is_some_and(|(_, key)| key.verify_sig(message, signature).is_ok())
    }
}

impl std::fmt::Debug for VerifyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyKey")
            .field("kid", &self.kid)
            .field("family", &self.family)
            .field("alg", &self.alg)
            .finish()
    }
}

/// A parsed key set: only the usable keys.
#[derive(Debug, Default)]
pub struct KeySet {
    /// The usable keys, in document order.
    pub keys: Vec<VerifyKey>,
    /// How many entries were skipped as unusable.
    pub skipped: usize,
}

/// The outcome of choosing a key for a token.
#[derive(Debug)]
pub enum Selection<'a> {
    /// Exactly one key fits.
    Found(&'a VerifyKey),
    /// No key fits.
    NotFound,
    /// More than one key fits: refuse rather than guess.
    Ambiguous,
}

impl KeySet {
    /// Chooses the key for a token signed with `alg` and carrying `kid`.
    pub fn select(&self, alg: Alg, kid: Option<&str>) -> Selection<'_> {
        let mut fits = self.keys.iter().filter(|k| {
            k.family == alg.family
                && k.alg.is_none_or(|a| a == alg)
                && match kid {
                    Some(kid) => k.kid.as_deref() == Some(kid),
                    None => true,
                }
        });
        match (fits.next(), fits.next()) {
            (Some(k), None) => Selection::Found(k),
            (None, _) => Selection::NotFound,
            (Some(_), Some(_)) => Selection::Ambiguous,
        }
    }
}

/// Parses a JWKS document. Fails only when the document itself is not a JWKS (not a strict
/// JSON object with a `keys` array); bad entries are skipped.
pub fn parse_jwks(bytes: &[u8]) -> std::result::Result<KeySet, &'static str> {
    let doc = crate::json::parse_object(bytes).map_err(|_| "the JWKS is not a strict JSON object")?;
    let Some(Value::Array(entries)) = doc.get("keys") else {
        return Err("the JWKS has no keys array");
    };
    let mut set = KeySet::default();
    for entry in entries {
        match parse_jwk(entry) {
            Some(key) => set.keys.push(key),
            None => set.skipped += 1,
        }
    }
    Ok(set)
}

/// What a JWKS entry says about itself, for display (`bearerguard discover`): its public
/// identifiers only, never key material.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct KeyDescription {
    /// `kid`.
    pub kid: Option<String>,
    /// `kty`.
    pub kty: Option<String>,
    /// `alg`.
    pub alg: Option<String>,
    /// `use`.
    #[serde(rename = "use")]
    pub use_: Option<String>,
    /// `crv`.
    pub crv: Option<String>,
    /// Whether bearerguard would verify tokens with this key (see [`parse_jwks`]).
    pub usable: bool,
    /// The entry carries private-key members (`d`, `p`, `k`, …): a key set must never publish
    /// them, and such an entry is never used.
    pub has_private_members: bool,
}

/// Describes every entry of a JWKS document, usable or not, by its public identifiers. Fails
/// like [`parse_jwks`] when the document is not a key set.
pub fn describe_jwks(bytes: &[u8]) -> std::result::Result<Vec<KeyDescription>, &'static str> {
    let doc = crate::json::parse_object(bytes).map_err(|_| "the JWKS is not a strict JSON object")?;
    let Some(Value::Array(entries)) = doc.get("keys") else {
        return Err("the JWKS has no keys array");
    };
    Ok(entries
        .iter()
        .map(|entry| {
            let jwk = entry.as_object();
            let text = |name: &str| -> Option<String> {
                match jwk?.get(name)? {
                    Value::String(s) if s.len() <= MAX_KID_LEN => Some(s.clone()),
                    _ => None,
                }
            };
            KeyDescription {
                kid: text("kid"),
                kty: text("kty"),
                alg: text("alg"),
                use_: text("use"),
                crv: text("crv"),
                usable: parse_jwk(entry).is_some(),
                has_private_members: jwk.is_some_and(|j| PRIVATE_MEMBERS.iter().any(|m| j.contains_key(*m))),
            }
        })
        .collect())
}

const PRIVATE_MEMBERS: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// One JWK as a verification key, or `None` when it is unusable: private members, a symmetric
/// key, a weak RSA key, a point off the curve, an `alg` that disagrees with the key.
pub(crate) fn parse_jwk(entry: &Value) -> Option<VerifyKey> {
    let jwk = entry.as_object()?;
    if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
        return None;
    }
    let text = |name: &str| -> Option<Option<&str>> {
        match jwk.get(name) {
            None => Some(None),
            Some(Value::String(s)) => Some(Some(s.as_str())),
            Some(_) => None,
        }
    };
    match text("use")? {
        None | Some("sig") => {}
        Some(_) => return None,
    }
    if let Some(ops) = jwk.get("key_ops") {
        let ops = ops.as_array()?;
        if !ops.iter().any(|op| op.as_str() == Some("verify")) {
            return None;
        }
    }
    let kid = match text("kid")? {
        Some(k) if k.len() <= MAX_KID_LEN => Some(k.to_owned()),
        Some(_) => return None,
        None => None,
    };
    let alg = match text("alg")? {
        None => None,
        Some(a) => Some(algorithms::for_remote_keys(a)?),
    };
    let (family, key) = match text("kty")?? {
        "RSA" => {
            let n = b64(text("n")??)?;
            let e = b64(text("e")??)?;
            let n_trimmed = trim_zeros(&n);
            let e_trimmed = trim_zeros(&e);
            // RFC 8725 §3.5 / NIST: RSA under 2048 bits is too weak to trust. Count bits,
            // not bytes: a 2041-bit modulus still takes 256 bytes.
            let bits = n_trimmed
                .first()
                .map_or(0, |top| (n_trimmed.len() - 1) * 8 + (8 - top.leading_zeros() as usize));
            // An exponent must be odd and at least 3: e = 1 makes every padded digest its own
            // signature.
            let exponent_ok = e_trimmed.len() <= 8
                && e_trimmed.last().is_some_and(|low| low & 1 == 1)
                && (e_trimmed.len() > 1 || e_trimmed[0] >= 3);
            if bits < 2048 || !exponent_ok {
                return None;
            }
            (KeyFamily::Rsa, KeyBytes::Rsa { n: n_trimmed.to_vec(), e: e_trimmed.to_vec() })
        }
        "EC" => {
            let (family, size) = match text("crv")?? {
                "P-256" => (KeyFamily::P256, 32),
                "P-384" => (KeyFamily::P384, 48),
                _ => return None,
            };
            let x = b64(text("x")??)?;
            let y = b64(text("y")??)?;
            if x.len() != size || y.len() != size {
                return None;
            }
            let mut point = Vec::with_capacity(1 + 2 * size);
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            // A point not on the curve fails to parse below, so the key is skipped.
            (family, KeyBytes::Raw(point))
        }
        "OKP" => {
            if text("crv")?? != "Ed25519" {
                return None;
            }
            let x = b64(text("x")??)?;
            if x.len() != 32 {
                return None;
            }
            if !ed25519_key_is_sound(&x) {
                return None;
            }
            (KeyFamily::Ed25519, KeyBytes::Raw(x))
        }
        _ => return None,
    };
    if alg.is_some_and(|a| a.family != family) {
        return None;
    }
    // Parse once per algorithm the key may serve; verification then never re-parses it.
    let mut parsed = Vec::new();
    for a in algorithms::of_family(family) {
        if alg.is_some_and(|named| named != a) {
            continue;
        }
        let one = match (&key, a.verifier) {
            (KeyBytes::Rsa { n, e }, Verifier::Rsa(rsa)) => {
                RsaPublicKeyComponents { n: n.as_slice(), e: e.as_slice() }.to_parsed_public_key(rsa)
            }
            (KeyBytes::Raw(bytes), Verifier::Raw(v)) => ParsedPublicKey::new(v, bytes),
            _ => return None,
        };
        parsed.push((a, one.ok()?));
    }
    Some(VerifyKey { kid, family, alg, parsed })
}

/// Whether 32 bytes are a sound Ed25519 public key: a point on the curve (RFC 8032 §5.1.3),
/// in its canonical encoding (re-compressing gives back the same bytes), and not one of the
/// eight points of small order. aws-lc accepts any 32 bytes as a key and its verification
/// takes the cofactorless equation `[S]B = R + [k]A`; with `A` of small order, `R` the
/// identity and `S = 0` that holds whenever the order of `A` divides `k`, so such a key
/// would let anyone forge a token for it (docs/security.md, KEY rules).
pub(crate) fn ed25519_key_is_sound(x: &[u8]) -> bool {
    let Ok(compressed) = curve25519_dalek::edwards::CompressedEdwardsY::from_slice(x) else { return false };
    let Some(point) = compressed.decompress() else { return false };
    !point.is_small_order() && point.compress().as_bytes()[..] == *x
}

/// Public key material as the JWK gave it, before parsing.
enum KeyBytes {
    Rsa { n: Vec<u8>, e: Vec<u8> },
    Raw(Vec<u8>),
}

fn b64(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

fn trim_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    &bytes[start..]
}

/// Parses `Cache-Control: max-age=N`; `None` when absent or when caching is forbidden.
fn max_age(cache_control: Option<&str>) -> Option<u64> {
    let value = cache_control?;
    let mut age = None;
    for directive in value.split(',').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if lower == "no-store" || lower == "no-cache" {
            return None;
        }
        if let Some(n) = lower.strip_prefix("max-age=") {
            age = n.trim_matches('"').parse::<u64>().ok();
        }
    }
    age
}

struct Loaded {
    set: Arc<KeySet>,
    fetched_at: Duration,
    ttl: Duration,
    generation: u64,
}

impl Loaded {
    fn expires_at(&self) -> Duration {
        self.fetched_at.saturating_add(self.ttl)
    }
}

#[derive(Default)]
struct FetchState {
    attempts: u64,
    last_attempt: Option<Duration>,
    last_failure: Option<Duration>,
}

/// A cached, self-refreshing JWKS for one `jwks_uri`.
pub(crate) struct Jwks {
    url: Url,
    http: HttpClient,
    clock: SharedClock,
    config: JwksConfig,
    state: RwLock<Option<Arc<Loaded>>>,
    fetch: tokio::sync::Mutex<FetchState>,
    attempts_seen: AtomicU64,
    fetches: AtomicU64,
    /// Fetches that failed, and callers that took a set a concurrent refresh fetched.
    failures: AtomicU64,
    joins: AtomicU64,
}

/// Why a refresh is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Reason {
    Missing,
    UnknownKid,
}

/// After a failed fetch, wait this long before the next attempt caused by expiry.
const FAILURE_BACKOFF: Duration = Duration::from_secs(1);

impl Jwks {
    pub fn new(url: Url, http: HttpClient, clock: SharedClock, config: JwksConfig) -> Self {
        Jwks {
            url,
            http,
            clock,
            config,
            state: RwLock::new(None),
            fetch: tokio::sync::Mutex::new(FetchState::default()),
            attempts_seen: AtomicU64::new(0),
            fetches: AtomicU64::new(0),
            failures: AtomicU64::new(0),
            joins: AtomicU64::new(0),
        }
    }

    /// The state of the set and its refreshes, for metrics and health.
    pub fn stats(&self) -> crate::metrics::JwksStats {
        let loaded = self.snapshot();
        let now = self.clock.now();
        crate::metrics::JwksStats {
            loaded: loaded.is_some(),
            fresh: loaded.as_ref().is_some_and(|l| now < l.expires_at()),
            keys: loaded.as_ref().map_or(0, |l| l.set.keys.len() as u64),
            age_seconds: loaded.as_ref().map(|l| now.saturating_sub(l.fetched_at).as_secs_f64()),
            refreshes: self.fetches.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
        }
    }

    /// Callers that took the set a concurrent refresh had just fetched.
    pub fn join_count(&self) -> u64 {
        self.joins.load(Ordering::Relaxed)
    }

    /// How many HTTP fetches this cache has made.
    pub fn fetch_count(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }

    fn snapshot(&self) -> Option<Arc<Loaded>> {
        self.state.read().map(|s| s.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    /// The current key set if it is fresh, without any I/O, and whether a signature failure
    /// under it may be a key replaced under the same `kid` (the set is older than the
    /// refresh cooldown, so [`with_key`](Self::with_key) would refetch once). `now` is the
    /// decision's instant on this set's clock.
    pub fn fresh_set(&self, now: Duration) -> Option<(Arc<KeySet>, bool)> {
        let loaded = self.snapshot()?;
        (now < loaded.expires_at()).then(|| (Arc::clone(&loaded.set), self.rotation_possible(&loaded, now)))
    }

    fn rotation_possible(&self, loaded: &Loaded, now: Duration) -> bool {
        now >= loaded.fetched_at.saturating_add(Duration::from_secs(self.config.refresh_cooldown_secs))
    }

    /// Runs `verify` with the key that fits `alg` and `kid`, fetching or refreshing the set
    /// as the rules allow.
    ///
    /// An unknown `kid` refetches at most once per cooldown. So does a signature that fails
    /// under a cached key older than the cooldown: servers that replace a key but keep its
    /// `kid` (oidc-provider on restart, hand-managed sets) would otherwise have every new
    /// token refused until the set expires. Forged tokens share that cooldown, so they
    /// cannot cause a refetch flood.
    /// Answers the value of `verify` with the key set whose key it ran with, so a caller
    /// can tell later whether that set is still the current one.
    pub async fn with_key<T>(
        &self,
        alg: Alg,
        kid: Option<&str>,
        verify: impl Fn(&VerifyKey) -> Result<T>,
    ) -> Result<(T, Arc<KeySet>)> {
        let now = self.clock.now();
        let snapshot = self.snapshot();
        let (set, generation) = match &snapshot {
            Some(l) if now < l.expires_at() => (Arc::clone(&l.set), Some(l.generation)),
            _ => {
                let set = self.refresh(Reason::Missing, snapshot.as_ref().map(|l| l.generation)).await?;
                (set, self.snapshot().map(|l| l.generation))
            }
        };
        let first = match set.select(alg, kid) {
            Selection::Found(key) => {
                let first = verify(key);
                let rotated = self.snapshot().is_some_and(|l| self.rotation_possible(&l, self.clock.now()));
                if first.is_ok() || !rotated {
                    return first.map(|value| (value, set));
                }
                Some(first)
            }
            Selection::Ambiguous => return Err(Error::invalid_token("more than one key fits the token")),
            Selection::NotFound => None,
        };
        // Unknown kid, or a key replaced under its kid: refetch within the cooldown.
        let fresh = match self.refresh(Reason::UnknownKid, generation).await {
            Ok(fresh) => fresh,
            // The key we have refused the signature; a failed refetch does not change that.
            Err(e) => return first.unwrap_or(Err(e)).map(|value| (value, set)),
        };
        if let Some(first) = first
            && Arc::ptr_eq(&fresh, &set)
        {
            return first.map(|value| (value, set));
        }
        match fresh.select(alg, kid) {
            Selection::Found(key) => verify(key).map(|value| (value, Arc::clone(&fresh))),
            Selection::Ambiguous => Err(Error::invalid_token("more than one key fits the token")),
            Selection::NotFound => Err(Error::invalid_token("no key in the issuer's JWKS fits the token")),
        }
    }

    async fn refresh(&self, reason: Reason, seen_generation: Option<u64>) -> Result<Arc<KeySet>> {
        let attempts_before = self.attempts_seen.load(Ordering::SeqCst);
        let mut fetch = self.fetch.lock().await;
        let now = self.clock.now();
        let current = self.snapshot();
        let stale = Duration::from_secs(self.config.stale_secs);
        let usable = |l: &Arc<Loaded>| now < l.expires_at().saturating_add(stale);

        // Someone else refreshed while we waited for the lock: use their result.
        if let Some(l) = &current
            && Some(l.generation) != seen_generation
            && now < l.expires_at()
        {
            self.joins.fetch_add(1, Ordering::Relaxed);
            return Ok(Arc::clone(&l.set));
        }
        // Someone else tried (and failed) while we waited: don't pile on.
        let others_tried = fetch.attempts != attempts_before;
        let in_cooldown = match reason {
            Reason::UnknownKid => fetch.last_attempt.is_some_and(|t| {
                now < t.saturating_add(Duration::from_secs(self.config.refresh_cooldown_secs))
            }),
            Reason::Missing => fetch.last_failure.is_some_and(|t| now < t.saturating_add(FAILURE_BACKOFF)),
        };
        if others_tried || in_cooldown {
            return match &current {
                Some(l) if usable(l) => Ok(Arc::clone(&l.set)),
                _ => Err(Error::unavailable("the issuer's JWKS could not be fetched")),
            };
        }

        fetch.attempts += 1;
        self.attempts_seen.store(fetch.attempts, Ordering::SeqCst);
        fetch.last_attempt = Some(now);
        match self.fetch_once().await {
            Ok((set, ttl)) => {
                let set = Arc::new(set);
                let generation = current.as_ref().map_or(1, |l| l.generation + 1);
                let loaded = Arc::new(Loaded { set: Arc::clone(&set), fetched_at: now, ttl, generation });
                match self.state.write() {
                    Ok(mut s) => *s = Some(loaded),
                    Err(p) => *p.into_inner() = Some(loaded),
                }
                fetch.last_failure = None;
                Ok(set)
            }
            Err(e) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
                fetch.last_failure = Some(now);
                tracing::warn!(jwks_uri = %self.url, error = %e, "JWKS fetch failed");
                match &current {
                    Some(l) if usable(l) => Ok(Arc::clone(&l.set)),
                    _ => Err(e),
                }
            }
        }
    }

    async fn fetch_once(&self) -> Result<(KeySet, Duration)> {
        self.fetches.fetch_add(1, Ordering::Relaxed);
        let response = self
            .http
            .get(&self.url, "application/jwk-set+json, application/json", self.config.max_bytes)
            .await
            .map_err(|f| f.into_error("JWKS"))?;
        if response.status != 200 {
            return Err(Error::unavailable(format!("JWKS: HTTP status {}", response.status)));
        }
        let set = parse_jwks(&response.body).map_err(|why| Error::unavailable(format!("JWKS: {why}")))?;
        if set.skipped > 0 {
            tracing::debug!(jwks_uri = %self.url, skipped = set.skipped, "skipped unusable JWKS entries");
        }
        let secs = max_age(response.cache_control.as_deref())
            .unwrap_or(self.config.default_ttl_secs)
            .clamp(self.config.min_ttl_secs, self.config.max_ttl_secs);
        Ok((set, Duration::from_secs(secs)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_max_age() {
        assert_eq!(max_age(Some("public, max-age=120")), Some(120));
        assert_eq!(max_age(Some("max-age=\"60\"")), Some(60));
        assert_eq!(max_age(Some("no-store")), None);
        assert_eq!(max_age(Some("max-age=5, no-cache")), None);
        assert_eq!(max_age(Some("max-age=abc")), None);
        assert_eq!(max_age(None), None);
    }

    #[test]
    fn described_keys_name_identifiers_only() {
        let doc = br#"{"keys":[{"kty":"oct","kid":"hmac","k":"c2VjcmV0LXZhbHVl"},{"kty":"EC","crv":"P-256","kid":"bad","x":"AA","y":"AA","use":"sig"}, 7]}"#;
        let keys = describe_jwks(doc).unwrap();
        assert_eq!(keys.len(), 3);
        assert_eq!(keys[0].kid.as_deref(), Some("hmac"));
        assert!(keys[0].has_private_members && !keys[0].usable);
        assert_eq!((keys[1].crv.as_deref(), keys[1].use_.as_deref()), (Some("P-256"), Some("sig")));
        assert!(!keys[1].usable, "a point off the curve is not usable");
        assert_eq!(keys[2].kid, None);
        let shown = serde_json::to_string(&keys).unwrap();
        assert!(!shown.contains("c2VjcmV0LXZhbHVl"), "{shown}");
        assert!(shown.contains(r#""use":"sig""#), "{shown}");
        assert!(describe_jwks(b"[]").is_err());
    }

    #[test]
    fn jwks_documents_that_are_not_key_sets_fail() {
        assert!(parse_jwks(b"[]").is_err());
        assert!(parse_jwks(br#"{"keys":{}}"#).is_err());
        assert!(parse_jwks(br#"{"keys":[],"keys":[]}"#).is_err());
        assert!(parse_jwks(b"<html>").is_err());
        assert_eq!(parse_jwks(br#"{"keys":[1,"x",null,{}]}"#).unwrap().skipped, 4);
    }

    /// The eight points of small order on edwards25519, canonically encoded.
    pub(crate) const SMALL_ORDER: [&str; 8] = [
        "0100000000000000000000000000000000000000000000000000000000000000", // identity
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", // order 2
        "0000000000000000000000000000000000000000000000000000000000000000", // order 4
        "0000000000000000000000000000000000000000000000000000000000000080", // order 4
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05", // order 8
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85", // order 8
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", // order 8
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa", // order 8
    ];

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn okp(x: &[u8]) -> String {
        serde_json::json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "kid": "k", "x": URL_SAFE_NO_PAD.encode(x)}]})
            .to_string()
    }

    #[test]
    fn small_order_and_non_canonical_ed25519_keys_are_skipped() {
        for (i, point) in SMALL_ORDER.iter().enumerate() {
            let x = hex(point);
            let decoded = curve25519_dalek::edwards::CompressedEdwardsY::from_slice(&x).unwrap().decompress();
            assert!(decoded.is_some_and(|p| p.is_small_order()), "point {i} is a small-order point");
            let set = parse_jwks(okp(&x).as_bytes()).unwrap();
            assert!(set.keys.is_empty(), "small-order point {i} kept");
            // The forgery such a key allows: R = identity, S = 0 over any message.
            let mut forged = hex(SMALL_ORDER[0]);
            forged.extend([0u8; 32]);
            let raw = aws_lc_rs::signature::UnparsedPublicKey::new(&aws_lc_rs::signature::ED25519, &x);
            if i == 0 {
                assert!(raw.verify(b"any payload", &forged).is_ok(), "aws-lc alone accepts the forgery");
            }
        }
        // Non-canonical encodings: y >= p (p + 1 reduces to y = 1, the identity), and the
        // identity with the sign bit of x set (x = 0 has no negative).
        let mut y_over_p = hex(SMALL_ORDER[1]);
        y_over_p[0] = 0xee;
        for x in [y_over_p, hex("0100000000000000000000000000000000000000000000000000000000000080")] {
            assert!(parse_jwks(okp(&x).as_bytes()).unwrap().keys.is_empty(), "{x:02x?}");
        }
        // A real key still parses.
        let good = URL_SAFE_NO_PAD.decode("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo").unwrap();
        assert_eq!(parse_jwks(okp(&good).as_bytes()).unwrap().keys.len(), 1);
    }

    #[test]
    fn symmetric_keys_are_never_taken_from_a_jwks() {
        let k = URL_SAFE_NO_PAD.encode([7u8; 32]);
        for jwk in [
            serde_json::json!({"kty": "oct", "k": k}),
            serde_json::json!({"kty": "oct", "k": k, "alg": "HS256", "use": "sig", "kid": "h"}),
            serde_json::json!({"kty": "oct", "k": k, "alg": "RS256", "kid": "h"}),
            serde_json::json!({"kty": "oct", "alg": "HS256", "kid": "h"}),
            serde_json::json!({"kty": "oct", "kid": "h", "key_ops": ["verify"]}),
        ] {
            let doc = serde_json::json!({"keys": [jwk]}).to_string();
            let set = parse_jwks(doc.as_bytes()).unwrap();
            assert!(set.keys.is_empty(), "{jwk}");
            assert_eq!(set.skipped, 1, "{jwk}");
            let hs256 = crate::algorithms::by_name("HS256").unwrap();
            assert!(matches!(set.select(hs256, Some("h")), Selection::NotFound));
        }
    }
}
