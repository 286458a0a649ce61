//! DPoP proofs at the resource server (RFC 9449 §4.3, §7): everything about one proof that
//! needs no I/O. [`normalize_htu`] and [`jwk_thumbprint`] are public for adapters and tests.
//!
//! A proof is a compact JWS parsed by the same strict parser as access tokens (`jwt.rs`: size,
//! base64url, strict JSON, `crit`, `b64`, JWE members), with `typ: dpop+jwt`, an algorithm from
//! `dpop.algorithms` (asymmetric only), and a public `jwk` header that verifies the signature;
//! its claims bind it to the request (`htm`, `htu`), to a time (`iat`), to the access token
//! (`ath`) and, through the token's `cnf.jkt`, to the token's key. `jti` makes it single use
//! (`replay.rs`); a server nonce may be required (`nonce.rs`).

use std::sync::Arc;

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::algorithms::Alg;
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::jwt::TypPolicy;
use crate::nonce::Nonces;
use crate::replay::{MemoryReplayStore, Recorded, ReplayKey, ReplayStore};

/// Largest proof looked at, in bytes (an RSA-4096 `jwk` makes a proof of about 2 KiB).
pub const MAX_PROOF_BYTES: usize = 8 * 1024;
/// Longest `jti` accepted.
pub const MAX_JTI_BYTES: usize = 256;

fn proof_error(detail: &'static str) -> Error {
    Error::new(ErrorKind::InvalidDpopProof, detail)
}

/// The refusal of a proof whose `jti` was seen before (here or, with a shared tier, on
/// another instance).
pub(crate) fn replayed() -> Error {
    proof_error("the DPoP proof was used before (jti)")
}

/// `base64url(SHA-256(access_token))`: the proof's `ath` (RFC 9449 §4.2).
pub fn access_token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, token.as_bytes()))
}

/// The RFC 7638 JWK SHA-256 thumbprint (base64url) of a public JWK: its required members, in
/// lexicographic order, without whitespace. `None` for a key type bearerguard does not take.
pub fn jwk_thumbprint(jwk: &Map<String, Value>) -> Option<String> {
    let text = |name: &str| jwk.get(name).and_then(Value::as_str);
    let members: &[&str] = match text("kty")? {
        "RSA" => &["e", "kty", "n"],
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        _ => return None,
    };
    let mut canonical = String::from("{");
    for (i, name) in members.iter().enumerate() {
        if i > 0 {
            canonical.push(',');
        }
        // serde_json escapes the strings exactly as a JSON serializer must.
        canonical.push_str(&serde_json::to_string(name).ok()?);
        canonical.push(':');
        canonical.push_str(&serde_json::to_string(text(name)?).ok()?);
    }
    canonical.push('}');
    Some(URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, canonical.as_bytes())))
}

/// The form of a URI that `htu` is compared in (RFC 9449 §4.3 item 9, RFC 3986 §6.2.2–6.2.3):
/// query and fragment dropped; scheme and host lower-cased and the default port dropped (by
/// the `url` crate, which also normalises IDNA and IPv6 hosts); the path's percent-encodings
/// of unreserved characters decoded and the others upper-cased, an empty path made `/`. That
/// path work is done by hand: the `url` crate would also resolve dot segments (WHATWG), which
/// the comparison must not do. `None` for anything but an absolute `http`/`https` URI without
/// userinfo.
pub fn normalize_htu(uri: &str) -> Option<String> {
    let uri = uri.split_once('#').map_or(uri, |(u, _)| u);
    let uri = uri.split_once('?').map_or(uri, |(u, _)| u);
    let (scheme, rest) = uri.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
    if authority.is_empty() || authority.contains(['@', '\\']) {
        return None;
    }
    let origin = url::Url::parse(&format!("{scheme}://{authority}/")).ok()?;
    let host = origin.host_str()?;
    let port = origin.port().map(|p| format!(":{p}")).unwrap_or_default();
    let mut out = format!("{scheme}://{host}{port}");
    if path.is_empty() {
        out.push('/');
    }
    let bytes = path.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = |c: u8| (c as char).to_digit(16);
            let hi = bytes.get(i + 1).copied().and_then(hex)?;
            let lo = bytes.get(i + 2).copied().and_then(hex)?;
            let decoded = (hi * 16 + lo) as u8;
            if decoded.is_ascii_alphanumeric() || matches!(decoded, b'-' | b'.' | b'_' | b'~') {
                out.push(decoded as char);
            } else {
                out.push_str(&format!("%{decoded:02X}"));
            }
            i += 3;
        } else if b.is_ascii_graphic() {
            out.push(b as char);
            i += 1;
        } else {
            // Spaces, controls, raw non-ASCII bytes: no URI a client signs holds them.
            return None;
        }
    }
    Some(out)
}

/// A proof that passed every check that needs no I/O: what the binding check and the replay
/// store need of it.
#[derive(Clone)]
pub(crate) struct CheckedProof {
    /// RFC 7638 thumbprint of the proof's key: the token's `cnf.jkt` must equal it.
    pub jkt: String,
    pub replay: ReplayKey,
    /// Seconds since the epoch until which its `jti` is remembered.
    pub expires_at: u64,
}

impl std::fmt::Debug for CheckedProof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CheckedProof").field("jkt", &self.jkt).finish_non_exhaustive()
    }
}

/// The proof rules of one validator.
pub(crate) struct Proofs {
    algorithms: Vec<Alg>,
    max_age: u64,
    leeway: u64,
    nonces: Option<Nonces>,
    store: Arc<dyn ReplayStore>,
    /// `dpop.external_base_url`, normalised, without a trailing `/`.
    external_base: Option<String>,
    /// `dpop.algorithms`, space-separated: the challenge's `algs`.
    pub algs: String,
}

impl std::fmt::Debug for Proofs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proofs")
            .field("algs", &self.algs)
            .field("max_age", &self.max_age)
            .field("nonces", &self.nonces)
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl Proofs {
    /// The proof rules of `config` (checked by `check.rs` first).
    pub fn from_config(config: &Config) -> Result<Self> {
        let algorithms = crate::algorithms::allow_list(&config.dpop.algorithms)
            .map_err(|_| Error::config("`dpop.algorithms` may hold only supported asymmetric algorithms"))?;
        Ok(Proofs {
            algs: algorithms.iter().map(|a| a.name).collect::<Vec<_>>().join(" "),
            algorithms,
            max_age: config.dpop.max_age_secs,
            leeway: config.leeway_secs,
            nonces: Nonces::from_config(&config.dpop),
            store: Arc::new(MemoryReplayStore::new(config.dpop.replay_max_entries)),
            external_base: config
                .dpop
                .external_base_url
                .as_deref()
                .and_then(normalize_htu)
                .map(|base| base.trim_end_matches('/').to_owned()),
        })
    }

    /// Uses `store` for replay detection instead of the in-memory one.
    pub fn with_store(mut self, store: Arc<dyn ReplayStore>) -> Self {
        self.store = store;
        self
    }

    /// The replay store.
    pub fn store(&self) -> &Arc<dyn ReplayStore> {
        &self.store
    }

    /// The nonce to hand out at `now`, when nonces are on.
    pub fn nonce(&self, now: u64) -> Option<String> {
        self.nonces.as_ref().map(|n| n.current(now))
    }

    /// The URL the client used, normalised: the request URL, or with `dpop.external_base_url`
    /// that base followed by the request URL's path (the URL may then be a path alone).
    fn target(&self, url: Option<&str>) -> Option<String> {
        let url = url?;
        let Some(base) = &self.external_base else { return normalize_htu(url) };
        let path = if url.starts_with('/') {
            url
        } else {
            let (_, rest) = url.split_once("://")?;
            rest.find(['/', '?', '#']).map_or("/", |i| &rest[i..])
        };
        let path = if path.starts_with('/') { path } else { "/" };
        normalize_htu(&format!("{base}{path}"))
    }

    /// Every check of RFC 9449 §4.3 that needs no I/O, for the `DPoP` field values `proofs` of
    /// a request with `method` and `url` carrying `token`.
    pub fn check(
        &self,
        proofs: &[String],
        token: &str,
        method: &str,
        url: Option<&str>,
        now: u64,
    ) -> Result<CheckedProof> {
        let proof = match proofs {
            [] => return Err(proof_error("the request has no DPoP proof")),
            [one] => one.trim_matches([' ', '\t']),
            _ => return Err(proof_error("the request has more than one DPoP proof")),
        };
        if proof.len() > MAX_PROOF_BYTES {
            return Err(proof_error("the DPoP proof is over the size limit"));
        }
        let jws = crate::jwt::parse_compact(proof, &self.algorithms, MAX_PROOF_BYTES, TypPolicy::DpopProof)
            .map_err(|e| {
            Error::new(ErrorKind::InvalidDpopProof, format!("DPoP proof: {}", e.detail()))
        })?;
        let Some(Value::Object(jwk)) = jws.header.get("jwk") else {
            return Err(proof_error("the DPoP proof has no jwk header"));
        };
        // `parse_jwk` refuses private members (`d`, `k`, …), symmetric keys, weak RSA keys and
        // a `jwk.alg` that disagrees with the key.
        let key = crate::jwks::parse_jwk(&Value::Object(jwk.clone()))
            .ok_or(proof_error("the DPoP proof's jwk is not a usable public key"))?;
        jws.verify(&key).map_err(|_| proof_error("the DPoP proof signature is invalid"))?;
        let claims = &jws.payload;
        let text = |name: &str| match claims.get(name) {
            Some(Value::String(s)) => Ok(s.as_str()),
            _ => Err(proof_error("the DPoP proof lacks a required claim (jti, htm, htu, iat, ath)")),
        };
        let jti = text("jti")?;
        if jti.is_empty() || jti.len() > MAX_JTI_BYTES {
            return Err(proof_error("the DPoP proof's jti is not acceptable"));
        }
        if text("htm")? != method {
            return Err(proof_error("the DPoP proof is for another method (htm)"));
        }
        let target = self.target(url).ok_or(proof_error("the request URL is not known or not absolute"))?;
        if normalize_htu(text("htu")?).as_deref() != Some(target.as_str()) {
            return Err(proof_error("the DPoP proof is for another URL (htu)"));
        }
        let iat = match claims.get("iat").and_then(Value::as_f64) {
            Some(iat) if iat.is_finite() && iat >= 0.0 => iat,
            _ => return Err(proof_error("the DPoP proof's iat is not a number")),
        };
        let now_f = now as f64;
        if iat > now_f + self.leeway as f64 {
            return Err(proof_error("the DPoP proof was issued in the future (iat)"));
        }
        if now_f - iat > self.max_age as f64 {
            return Err(proof_error("the DPoP proof is too old (iat)"));
        }
        if text("ath")? != access_token_hash(token) {
            return Err(proof_error("the DPoP proof is for another access token (ath)"));
        }
        if let Some(nonces) = &self.nonces {
            let good = matches!(claims.get("nonce"), Some(Value::String(n)) if nonces.accepts(n, now));
            if !good {
                return Err(Error::new(
                    ErrorKind::UseDpopNonce,
                    "the DPoP proof lacks a current server nonce",
                ));
            }
        }
        let jkt =
            jwk_thumbprint(jwk).ok_or(proof_error("the DPoP proof's jwk is not a usable public key"))?;
        let mut ctx = digest::Context::new(&digest::SHA256);
        ctx.update(jkt.as_bytes());
        ctx.update(&[0]);
        ctx.update(jti.as_bytes());
        let mut replay = [0u8; 16];
        replay.copy_from_slice(&ctx.finish().as_ref()[..16]);
        if self.store.seen(&replay, now) {
            return Err(replayed());
        }
        // Remembered until no proof with this iat can be accepted: iat ≤ now + leeway, so
        // now + leeway + max_age covers iat + max_age.
        let expires_at = now.saturating_add(self.leeway).saturating_add(self.max_age).saturating_add(1);
        Ok(CheckedProof { jkt, replay, expires_at })
    }

    /// Records an accepted proof: a replay (another request won the race) is refused, and so
    /// is a proof the store cannot record (`unavailable`: fail closed).
    pub fn commit(&self, proof: &CheckedProof, now: u64) -> Result<()> {
        match self.store.record(proof.replay, proof.expires_at, now) {
            Recorded::Fresh => Ok(()),
            Recorded::Replay => Err(replayed()),
            Recorded::Unavailable => Err(Error::unavailable("the DPoP replay store cannot record the proof")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htu_normalisation() {
        let n = |u: &str| normalize_htu(u);
        let base = n("https://api.example/orders").unwrap();
        assert_eq!(base, "https://api.example/orders");
        for same in [
            "HTTPS://API.Example/orders",
            "https://api.example:443/orders",
            "https://api.example/orders?page=2",
            "https://api.example/orders#frag",
            "https://api.example/%6Frders",
            "https://api.example/%6frders",
        ] {
            assert_eq!(n(same).as_deref(), Some(base.as_str()), "{same}");
        }
        for other in [
            "http://api.example/orders",
            "https://api.example:8443/orders",
            "https://other.example/orders",
            "https://api.example/Orders",
            "https://api.example/orders/",
            "https://api.example/x/../orders",
            "https://api.example/./orders",
        ] {
            assert_ne!(n(other).as_deref(), Some(base.as_str()), "{other}");
        }
        assert_eq!(n("https://api.example").as_deref(), Some("https://api.example/"));
        assert_eq!(n("https://api.example/a%2fb").as_deref(), Some("https://api.example/a%2Fb"));
        assert_eq!(n("http://api.example:80/").as_deref(), Some("http://api.example/"));
        for bad in ["/orders", "ftp://api.example/", "https://u@api.example/", "https://api.example/%zz", ""]
        {
            assert!(n(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn thumbprint_is_rfc7638() {
        // RFC 7638 §3.1's example key and thumbprint.
        let jwk: Map<String, Value> = serde_json::from_str(
            r#"{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}"#,
        )
        .unwrap();
        assert_eq!(jwk_thumbprint(&jwk).unwrap(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
        let oct: Map<String, Value> = serde_json::from_str(r#"{"kty":"oct","k":"abc"}"#).unwrap();
        assert!(jwk_thumbprint(&oct).is_none());
    }

    #[test]
    fn ath_is_the_token_hash() {
        // RFC 9449 §7.1's example token and its ath.
        assert_eq!(
            access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }
}
