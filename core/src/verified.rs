//! JWTs already verified, remembered so a repeated token skips its parse and signature check
//! (docs/security.md KEY-9).
//!
//! Real APIs see one access token many times (a client reuses it for its whole lifetime), so
//! the repeat is the cost that matters. A JWT that passed every keyless check and its
//! signature is remembered in a [`VerdictCache`] (the machinery of the introspection verdicts)
//! under SHA-256 of (this validator's identity, token), with:
//!
//! - **Lifetime**: until `exp` plus the leeway, the instant the claim rules would call it
//!   expired; `nbf` is checked again on every hit. Required scopes are checked by the caller
//!   on every call, as for every answer.
//! - **Keys**: the entry remembers the key set that verified it and is reused only while that
//!   set is the issuer's current, fresh one. A refreshed JWKS (a key removed, rotated, or just
//!   refetched) makes each remembered token verify once more under the new set.
//! - **Bounds**: `cache.jwt_max_entries` entries (0 turns it off; so does `cache.enabled:
//!   false`); tokens over [`MAX_REMEMBERED_JWT_BYTES`] are verified every time, so an entry
//!   stays small. Never used when the server must be asked too (`introspect_all`) or decides
//!   alone (`introspection`).

use std::sync::Arc;
use std::time::Duration;

use crate::cache::{Entry, Verdict, VerdictCache, identity_digest, token_key};
use crate::claims::TokenInfo;
use crate::clock::SharedClock;
use crate::config::{Config, Strategy};
use crate::jwks::KeySet;

/// Tokens longer than this are not remembered.
pub(crate) const MAX_REMEMBERED_JWT_BYTES: usize = 8 * 1024;

/// The verified JWTs of one validator.
pub(crate) struct VerifiedJwts {
    /// `None` when JWTs are not remembered.
    cache: Option<VerdictCache>,
    identity: [u8; 32],
    leeway: u64,
    clock: SharedClock,
}

impl VerifiedJwts {
    /// The cache for `config` (off when it says so, or when the server must decide).
    /// The cache for `config` (off when it says so, or when the server must decide); with
    /// `shared`, the entries live in that cache (one budget for many issuers).
    pub fn new(config: &Config, clock: SharedClock, shared: Option<Option<&VerdictCache>>) -> Self {
        let used = matches!(config.strategy, Strategy::Auto | Strategy::Jwt);
        let on = used && config.cache.enabled && config.cache.jwt_max_entries > 0;
        // Everything that shapes a local verdict. The cache is per validator today; a shared
        // tier must never mix two validators' verdicts.
        let audiences = config.audience.0.join(" ");
        let algorithms = config.algorithms.join(" ");
        let leeway = config.leeway_secs.to_string();
        let lifetime = format!("{:?}", config.max_token_lifetime_secs);
        let shape = format!(
            "{:?} {:?} {} {:?} {:?} {:?} {:?} {:?} {:?} {:?}",
            config.scope_claim,
            config.strategy,
            config.rfc9068_strict,
            config.roles_claim,
            config.required_claims,
            config.audience_claim,
            config.client_id_claim,
            config.issuer_aliases,
            config.allowed_tenants,
            config.provider,
        );
        let identity = identity_digest(&[
            "jwt",
            &config.issuer,
            config.jwks_uri.as_deref().unwrap_or(""),
            &audiences,
            &algorithms,
            &leeway,
            &lifetime,
            &shape,
        ]);
        let cache = match shared {
            Some(shared) => shared.filter(|_| on).map(VerdictCache::sharing),
            None => on.then(|| VerdictCache::new(config.cache.jwt_max_entries, Arc::clone(&clock))),
        };
        VerifiedJwts { cache, identity, leeway: config.leeway_secs, clock }
    }

    /// The key `token` is remembered under, computed once per decision; `None` for a token
    /// that cannot be remembered (too long, or not three dot-separated parts).
    pub fn key(&self, token: &str) -> Option<[u8; 32]> {
        let fits = self.cache.is_some() && token.len() <= MAX_REMEMBERED_JWT_BYTES && three_parts(token);
        fits.then(|| token_key(&self.identity, token))
    }

    /// The answer remembered under `key`, if it was verified under `current` (the issuer's
    /// fresh key set) and its time claims still hold at `now` (the decision's instant). Needs
    /// no I/O.
    pub fn get(
        &self,
        key: &[u8; 32],
        current: Option<&Arc<KeySet>>,
        now: Duration,
    ) -> Option<Arc<TokenInfo>> {
        current?;
        let entry = self.cache.as_ref()?.entry_now(key, now)?;
        if !entry.made_under(current) {
            return None;
        }
        let Verdict::Active(info) = &*entry.verdict else { return None };
        let now = now.as_secs_f64();
        let not_yet = info.not_before.is_some_and(|nbf| nbf as f64 > now + self.leeway as f64);
        (!not_yet).then(|| Arc::clone(info))
    }

    /// Remembers `info` under `key`: a token whose signature a key of `set` verified.
    pub fn remember(&self, key: [u8; 32], info: &Arc<TokenInfo>, set: &Arc<KeySet>) {
        let Some(cache) = &self.cache else { return };
        // The instant the claim rules call it expired: `exp` (truncated, so never later)
        // plus the leeway. A JWT without `exp` is not remembered.
        let Some(exp) = info.expires_at.and_then(|exp| u64::try_from(exp).ok()) else { return };
        let expires_at = Duration::from_secs(exp.saturating_add(self.leeway));
        let ttl = expires_at.saturating_sub(self.clock.now());
        let entry = Entry {
            verdict: Arc::new(Verdict::Active(Arc::clone(info))),
            expires_at,
            ttl,
            key_set: Some(Arc::downgrade(set)),
        };
        cache.insert_now(key, entry);
    }

    /// Forgets `token`: its next use is verified again.
    pub async fn forget(&self, token: &str) {
        if let (Some(cache), Some(key)) = (&self.cache, self.key(token)) {
            cache.invalidate(&key).await;
        }
    }

    /// Tokens remembered, without running pending maintenance (approximate; for metrics).
    pub fn approximate_len(&self) -> u64 {
        self.cache.as_ref().map_or(0, VerdictCache::approximate_len)
    }

    /// Tokens remembered (runs pending cache maintenance first).
    pub async fn entry_count(&self) -> u64 {
        match &self.cache {
            Some(cache) => cache.entry_count().await,
            None => 0,
        }
    }
}

/// Whether `token` has exactly two dots (a JWS shape), found by SIMD search: this runs on every
/// call, and a byte-by-byte count was a fifth of a repeated JWT's cost.
fn three_parts(token: &str) -> bool {
    let mut dots = memchr::memchr_iter(b'.', token.as_bytes());
    dots.next().is_some() && dots.next().is_some() && dots.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::three_parts;

    #[test]
    fn only_a_token_with_exactly_two_dots_has_three_parts() {
        for (token, three) in
            [("a.b.c", true), ("..", true), ("a.b", false), ("a.b.c.d", false), ("", false), ("abc", false)]
        {
            assert_eq!(three_parts(token), three, "{token:?}");
        }
        assert!(three_parts(&format!("{}.{}.{}", "x".repeat(700), "y".repeat(300), "z")));
        assert!(!three_parts(&format!("{}.{}.{}.", "x".repeat(700), "y".repeat(300), "z")));
    }
}
