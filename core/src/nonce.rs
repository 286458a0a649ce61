//! Stateless DPoP server nonces (RFC 9449 §8–9): a nonce is a time slot and a MAC of it.
//!
//! `nonce = base64url(slot as 8 big-endian bytes || HMAC-SHA256(key, LABEL || slot)[..16])`.
//! Nothing is stored: any validator with the same key makes and accepts the same nonces, and a
//! nonce made with the key before a rotation (`dpop.nonce_previous_key`) is still accepted. A
//! nonce is valid in its own slot and the `lifetime - 1` slots after it.

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::config::DpopConfig;

const LABEL: &[u8] = b"bearerguard dpop nonce v1\0";
const MAC_BYTES: usize = 16;

/// Makes and checks nonces. `Debug` never shows the keys.
pub(crate) struct Nonces {
    current: hmac::Key,
    previous: Option<hmac::Key>,
    slot_secs: u64,
    lifetime_slots: u64,
}

impl std::fmt::Debug for Nonces {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nonces")
            .field("slot_secs", &self.slot_secs)
            .field("lifetime_slots", &self.lifetime_slots)
            .finish_non_exhaustive()
    }
}

impl Nonces {
    /// The nonces `config` turns on, if any (bounds checked by `check.rs`).
    pub fn from_config(config: &DpopConfig) -> Option<Self> {
        let key = |s: &crate::config::Secret| hmac::Key::new(hmac::HMAC_SHA256, s.expose().as_bytes());
        Some(Nonces {
            current: key(config.nonce_key.as_ref()?),
            previous: config.nonce_previous_key.as_ref().map(key),
            slot_secs: config.nonce_slot_secs.max(1),
            lifetime_slots: config.nonce_lifetime_slots.max(1),
        })
    }

    fn mac(key: &hmac::Key, slot: u64) -> [u8; MAC_BYTES] {
        let mut ctx = hmac::Context::with_key(key);
        ctx.update(LABEL);
        ctx.update(&slot.to_be_bytes());
        let tag = ctx.sign();
        let mut out = [0u8; MAC_BYTES];
        out.copy_from_slice(&tag.as_ref()[..MAC_BYTES]);
        out
    }

    /// The nonce to hand out at `now` (seconds since the epoch).
    pub fn current(&self, now: u64) -> String {
        let slot = now / self.slot_secs;
        let mut bytes = Vec::with_capacity(8 + MAC_BYTES);
        bytes.extend_from_slice(&slot.to_be_bytes());
        bytes.extend_from_slice(&Self::mac(&self.current, slot));
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Whether `nonce` was made by this key (or the previous one) in a slot still valid at `now`.
    pub fn accepts(&self, nonce: &str, now: u64) -> bool {
        if nonce.len() != 32 {
            return false;
        }
        let Ok(bytes) = URL_SAFE_NO_PAD.decode(nonce) else { return false };
        let Some((slot, mac)) = bytes.split_first_chunk::<8>() else { return false };
        let slot = u64::from_be_bytes(*slot);
        let current = now / self.slot_secs;
        if slot > current || current - slot >= self.lifetime_slots {
            return false;
        }
        let equal = |key: &hmac::Key| {
            let want = Self::mac(key, slot);
            // Constant time: the comparison must not tell how many bytes matched.
            want.iter().zip(mac).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0 && mac.len() == MAC_BYTES
        };
        equal(&self.current) || self.previous.as_ref().is_some_and(equal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Secret;

    fn nonces(key: &str, previous: Option<&str>) -> Nonces {
        let config = DpopConfig {
            nonce_key: Some(Secret::new(key)),
            nonce_previous_key: previous.map(Secret::new),
            ..DpopConfig::default()
        };
        Nonces::from_config(&config).unwrap()
    }

    const K1: &str = "k1-0123456789abcdef0123456789abcdef";
    const K2: &str = "k2-0123456789abcdef0123456789abcdef";

    #[test]
    fn a_nonce_lives_two_slots_and_survives_a_rotation() {
        let a = nonces(K1, None);
        let n = a.current(6000);
        assert!(a.accepts(&n, 6000));
        assert!(a.accepts(&n, 6119), "the next slot");
        assert!(!a.accepts(&n, 6120), "two slots later");
        assert!(!a.accepts(&n, 5999), "a slot not yet begun");
        // Another validator with the same key accepts it; one with another key does not.
        assert!(nonces(K1, None).accepts(&n, 6010));
        assert!(!nonces(K2, None).accepts(&n, 6010));
        // After a rotation, the previous key still verifies.
        assert!(nonces(K2, Some(K1)).accepts(&n, 6010));
        let mut forged = n.clone().into_bytes();
        forged[20] = if forged[20] == b'A' { b'B' } else { b'A' };
        assert!(!a.accepts(std::str::from_utf8(&forged).unwrap(), 6010));
        assert!(!a.accepts("", 6000));
        assert!(!a.accepts(&"A".repeat(32), 6000));
        assert!(!format!("{a:?}").contains("k1-"));
    }
}
