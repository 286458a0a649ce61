//! The shared tier's format (docs/security.md SCACHE): entry names and sealed values, the one
//! definition every instance uses, whatever its language.
//!
//! Each configured key (`cache.shared.secrets[]`) yields three 256-bit keys by HKDF-SHA256:
//! one for HMAC-SHA256 names, one for AES-256-GCM-SIV values, one for the HMAC tag of a plaintext
//! value. A name is `<prefix>:<kind>:<key id>:<base64url(HMAC(name key, domain ‖ input))>`, so
//! without the secret nobody can compute the name of a guessed token. A value is
//!
//! ```text
//! 0x01 'E' nonce[12] AES-256-GCM-SIV(payload)‖tag[16]     (AAD: the entry's name)
//! 0x01 'P' payload tag[32]                            (tag: HMAC(auth key, name ‖ payload))
//! ```
//!
//! where `payload` is JSON `{"exp_ms": N, "answer": null | {claims}}`: the introspection
//! answer (`null` for `active: false`) and when its verdict stops being reusable. A value
//! copied onto another name, altered, truncated or written without the key fails to open.

use aws_lc_rs::aead::{AES_256_GCM_SIV, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use aws_lc_rs::{hkdf, hmac};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::SharedCacheConfig;
use crate::introspection::Answer;

const FORMAT: u8 = 1;
const SEALED: u8 = b'E';
const PLAIN: u8 = b'P';
const TAG_LEN: usize = 32;
/// Largest value accepted from the server (a bigger one is garbage: the introspection
/// answers cached are capped well below).
pub(crate) const MAX_VALUE_BYTES: usize = 256 * 1024;

/// The three keys derived from one configured secret.
pub(crate) struct TierKey {
    pub id: String,
    names: hmac::Key,
    seal: RandomizedNonceKey,
    auth: hmac::Key,
}

impl std::fmt::Debug for TierKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TierKey").field("id", &self.id).finish_non_exhaustive()
    }
}

fn derive(secret: &[u8], label: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"bearerguard shared tier v1").extract(secret);
    // `fill` fails only for a length HKDF cannot produce; 32 bytes always fits.
    if let Ok(okm) = prk.expand(&[label], hkdf::HKDF_SHA256) {
        let _ = okm.fill(&mut out);
    }
    out
}

impl TierKey {
    fn new(id: &str, secret: &[u8]) -> Option<TierKey> {
        Some(TierKey {
            id: id.to_owned(),
            names: hmac::Key::new(hmac::HMAC_SHA256, &derive(secret, b"names")),
            seal: RandomizedNonceKey::new(&AES_256_GCM_SIV, &derive(secret, b"seal")).ok()?,
            auth: hmac::Key::new(hmac::HMAC_SHA256, &derive(secret, b"auth")),
        })
    }

    /// HMAC of `domain ‖ parts` under the names key.
    pub fn digest(&self, domain: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        let mut ctx = hmac::Context::with_key(&self.names);
        ctx.update(domain);
        for part in parts {
            ctx.update(part);
        }
        let mut out = [0u8; 32];
        out.copy_from_slice(ctx.sign().as_ref());
        out
    }
}

/// Every key of the tier, the current (writing) one first, and the naming rules.
#[derive(Debug)]
pub(crate) struct Keys {
    pub keys: Vec<TierKey>,
    pub prefix: String,
    plaintext: bool,
}

/// What an entry holds once opened. (`Debug` shows no claim.)
#[derive(Clone, PartialEq)]
pub(crate) struct Stored {
    /// When the verdict stops being reusable, in milliseconds since the epoch.
    pub exp_ms: u64,
    pub answer: Answer,
}

impl std::fmt::Debug for Stored {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let active = matches!(self.answer, Answer::Active(_));
        f.debug_struct("Stored").field("exp_ms", &self.exp_ms).field("active", &active).finish()
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload {
    exp_ms: u64,
    answer: Option<Map<String, Value>>,
}

/// Domain of verdict names (introspection answers).
pub(crate) const VERDICT: &[u8] = b"verdict\0";
/// Domain of DPoP replay names.
pub(crate) const PROOF: &[u8] = b"dpop-jti\0";

impl Keys {
    pub fn from_config(config: &SharedCacheConfig) -> Option<Keys> {
        let keys = config
            .secrets
            .iter()
            .map(|s| TierKey::new(&s.id, s.secret.expose().as_bytes()))
            .collect::<Option<Vec<_>>>()?;
        Some(Keys { keys, prefix: config.key_prefix.clone(), plaintext: config.plaintext })
    }

    /// The current key: entries are written under it.
    pub fn current(&self) -> &TierKey {
        &self.keys[0]
    }

    /// The name of an entry of `kind` for `digest` under `key`.
    pub fn name(&self, kind: char, key: &TierKey, digest: &[u8; 32]) -> String {
        format!("{}:{kind}:{}:{}", self.prefix, key.id, URL_SAFE_NO_PAD.encode(digest))
    }

    /// The pub/sub channel `forget` announces on.
    pub fn channel(&self) -> String {
        format!("{}:forget", self.prefix)
    }

    /// `stored` sealed (or tagged, in plaintext mode) for the entry `name`.
    pub fn seal(&self, name: &str, stored: &Stored) -> Option<Vec<u8>> {
        let answer = match &stored.answer {
            Answer::Active(claims) => Some(claims.clone()),
            Answer::Inactive => None,
        };
        let payload = serde_json::to_vec(&Payload { exp_ms: stored.exp_ms, answer }).ok()?;
        let key = self.current();
        if self.plaintext {
            let mut out = Vec::with_capacity(2 + payload.len() + TAG_LEN);
            out.extend_from_slice(&[FORMAT, PLAIN]);
            out.extend_from_slice(&payload);
            out.extend_from_slice(plain_tag(key, name, &payload).as_ref());
            return Some(out);
        }
        let mut in_out = payload;
        let nonce = key.seal.seal_in_place_append_tag(Aad::from(name.as_bytes()), &mut in_out).ok()?;
        let mut out = Vec::with_capacity(2 + NONCE_LEN + in_out.len());
        out.extend_from_slice(&[FORMAT, SEALED]);
        out.extend_from_slice(nonce.as_ref());
        out.extend_from_slice(&in_out);
        Some(out)
    }

    /// The value of entry `name`, made under `key`, opened; `None` when it fails to open
    /// (forged, altered, moved, truncated, another format).
    pub fn open(&self, key: &TierKey, name: &str, value: &[u8]) -> Option<Stored> {
        if value.len() > MAX_VALUE_BYTES {
            return None;
        }
        let payload = match value {
            [FORMAT, SEALED, rest @ ..] if rest.len() >= NONCE_LEN => {
                let (nonce, sealed) = rest.split_at(NONCE_LEN);
                let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
                let mut in_out = sealed.to_vec();
                let plain = key.seal.open_in_place(nonce, Aad::from(name.as_bytes()), &mut in_out).ok()?;
                plain.to_vec()
            }
            [FORMAT, PLAIN, rest @ ..] if rest.len() >= TAG_LEN => {
                let (payload, tag) = rest.split_at(rest.len() - TAG_LEN);
                hmac::verify(&key.auth, &tagged(name, payload), tag).ok()?;
                payload.to_vec()
            }
            _ => return None,
        };
        let payload: Payload = serde_json::from_slice(&payload).ok()?;
        let answer = match payload.answer {
            Some(claims) => Answer::Active(claims),
            None => Answer::Inactive,
        };
        Some(Stored { exp_ms: payload.exp_ms, answer })
    }
}

/// The bytes a plaintext value's tag covers: the name's length, the name, the payload.
fn tagged(name: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + name.len() + payload.len());
    out.extend_from_slice(&(name.len() as u64).to_be_bytes());
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(payload);
    out
}

fn plain_tag(key: &TierKey, name: &str, payload: &[u8]) -> hmac::Tag {
    hmac::sign(&key.auth, &tagged(name, payload))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Secret, SharedSecret};

    fn keys(plaintext: bool, ids: &[(&str, &str)]) -> Keys {
        let config = SharedCacheConfig {
            url: Secret::new("redis://127.0.0.1:1"),
            secrets: ids
                .iter()
                .map(|(id, s)| SharedSecret { id: (*id).into(), secret: Secret::new(*s) })
                .collect(),
            plaintext,
            ..SharedCacheConfig::default()
        };
        Keys::from_config(&config).unwrap()
    }

    const A: &str = "0123456789abcdef0123456789abcdef-a";
    const B: &str = "0123456789abcdef0123456789abcdef-b";

    fn stored() -> Stored {
        let mut claims = Map::new();
        claims.insert("active".into(), Value::Bool(true));
        claims.insert("sub".into(), Value::String("alice-secret-subject".into()));
        Stored { exp_ms: 1_900_000_000_000, answer: Answer::Active(claims) }
    }

    #[test]
    fn a_sealed_value_opens_under_its_name_and_key_only() {
        let k = keys(false, &[("k1", A)]);
        let name = k.name('v', k.current(), &k.current().digest(VERDICT, &[b"id", b"tok"]));
        let value = k.seal(&name, &stored()).unwrap();
        assert_eq!(k.open(k.current(), &name, &value), Some(stored()));
        // The claims are not readable in the server.
        assert!(!value.windows(5).any(|w| w == b"alice"));
        // Copied onto another name, it fails (the name is the AAD).
        let other = k.name('v', k.current(), &k.current().digest(VERDICT, &[b"id", b"tok2"]));
        assert_eq!(k.open(k.current(), &other, &value), None);
        // Any flipped byte, truncation or another key fails.
        for i in 0..value.len() {
            let mut bad = value.clone();
            bad[i] ^= 1;
            assert_eq!(k.open(k.current(), &name, &bad), None, "byte {i}");
        }
        assert_eq!(k.open(k.current(), &name, &value[..value.len() - 1]), None);
        let b = keys(false, &[("k1", B)]);
        assert_eq!(b.open(b.current(), &name, &value), None);
        assert_eq!(k.open(k.current(), &name, b""), None);
        assert_eq!(k.open(k.current(), &name, b"\x01E"), None);
    }

    #[test]
    fn a_plaintext_value_is_authenticated_too() {
        let k = keys(true, &[("k1", A)]);
        let name = k.name('v', k.current(), &[7u8; 32]);
        let value = k.seal(&name, &stored()).unwrap();
        assert!(value.windows(5).any(|w| w == b"alice"), "plaintext mode: readable");
        assert_eq!(k.open(k.current(), &name, &value), Some(stored()));
        let forged = value.iter().map(|&b| if b == b'a' { b'b' } else { b }).collect::<Vec<_>>();
        assert_eq!(k.open(k.current(), &name, &forged), None);
        assert_eq!(k.open(k.current(), "bearerguard:v:k1:other", &value), None);
        // A sealed reader opens a plaintext value made with the same key: both are authenticated.
        let sealed = keys(false, &[("k1", A)]);
        assert_eq!(sealed.open(sealed.current(), &name, &value), Some(stored()));
    }

    #[test]
    fn names_are_keyed_and_differ_per_key_and_input() {
        let k = keys(false, &[("new", B), ("old", A)]);
        let d_new = k.keys[0].digest(VERDICT, &[b"id", b"tok"]);
        let d_old = k.keys[1].digest(VERDICT, &[b"id", b"tok"]);
        assert_ne!(d_new, d_old);
        assert_ne!(d_new, k.keys[0].digest(PROOF, &[b"id", b"tok"]), "domains separate");
        assert_ne!(d_new, k.keys[0].digest(VERDICT, &[b"id", b"tok2"]));
        let name = k.name('v', &k.keys[1], &d_old);
        assert!(name.starts_with("bearerguard:v:old:"), "{name}");
        assert!(!name.contains("tok"));
        // An entry made under the old key still opens after a rotation.
        let old_only = keys(false, &[("old", A)]);
        let value = old_only.seal(&name, &stored()).unwrap();
        assert_eq!(k.open(&k.keys[1], &name, &value), Some(stored()));
        assert_eq!(k.open(&k.keys[0], &name, &value), None);
        assert_eq!(format!("{:?}", k.keys[0]), "TierKey { id: \"new\", .. }");
    }

    #[test]
    fn an_inactive_answer_round_trips() {
        let k = keys(false, &[("k1", A)]);
        let s = Stored { exp_ms: 5, answer: Answer::Inactive };
        let value = k.seal("n", &s).unwrap();
        assert_eq!(k.open(k.current(), "n", &value), Some(s));
    }
}
