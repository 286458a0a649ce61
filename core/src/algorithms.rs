//! Everything bearerguard needs to know about one JWS algorithm, in one place.
//!
//! Modelled on panva/jose's `jws_algorithms`: the key type and curve an algorithm needs, the
//! aws-lc-rs parameters that verify it, the shortest HMAC secret it may use (RFC 7518 §3.2),
//! and whether it may verify keys fetched from a remote JWKS. Nothing below this module
//! enumerates algorithms: consumers resolve a name once (config, JWK `alg`, token header) and
//! carry the entry.

use aws_lc_rs::signature as sig;
use jsonwebtoken::Algorithm;

use crate::error::{Error, Result};

/// The key type and curve a key has, or an algorithm needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyFamily {
    /// RSA (RS*, PS*).
    Rsa,
    /// EC on P-256 (ES256).
    P256,
    /// EC on P-384 (ES384).
    P384,
    /// OKP Ed25519 (EdDSA).
    Ed25519,
    /// A shared secret (HS*): client assertions only, never a key from a JWKS.
    Hmac,
}

/// How aws-lc-rs verifies an algorithm: RSA keys are built from their components, the others
/// parsed from raw point bytes (ECDSA in the fixed `r||s` form JWS uses).
#[derive(Clone, Copy)]
pub(crate) enum Verifier {
    Rsa(&'static sig::RsaParameters),
    Raw(&'static dyn sig::VerificationAlgorithm),
    /// HMAC: never verified with remote keys.
    Unused,
}

/// One JWS algorithm and what it means.
pub struct JwsAlgorithm {
    /// The JOSE name, e.g. `"RS256"`.
    pub name: &'static str,
    /// The same algorithm as `jsonwebtoken` names it (used to mint client assertions).
    pub alg: Algorithm,
    /// The key type and curve it needs.
    pub family: KeyFamily,
    /// Shortest secret an HMAC algorithm may use, in bytes (the hash size); 0 otherwise.
    pub min_secret_bytes: usize,
    pub(crate) verifier: Verifier,
}

impl std::fmt::Debug for JwsAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

impl PartialEq for JwsAlgorithm {
    fn eq(&self, other: &Self) -> bool {
        self.alg == other.alg
    }
}

impl Eq for JwsAlgorithm {}

/// A resolved algorithm: a reference into [`ALGORITHMS`].
pub type Alg = &'static JwsAlgorithm;

const fn rsa(name: &'static str, alg: Algorithm, p: &'static sig::RsaParameters) -> JwsAlgorithm {
    JwsAlgorithm { name, alg, family: KeyFamily::Rsa, min_secret_bytes: 0, verifier: Verifier::Rsa(p) }
}

const fn hmac(name: &'static str, alg: Algorithm, min: usize) -> JwsAlgorithm {
    JwsAlgorithm { name, alg, family: KeyFamily::Hmac, min_secret_bytes: min, verifier: Verifier::Unused }
}

/// Every algorithm bearerguard knows. RSA keys verify from 2048 bits (aws-lc's `2048_8192`
/// parameters); `none` is not an algorithm here.
pub static ALGORITHMS: [JwsAlgorithm; 12] = [
    rsa("RS256", Algorithm::RS256, &sig::RSA_PKCS1_2048_8192_SHA256),
    rsa("RS384", Algorithm::RS384, &sig::RSA_PKCS1_2048_8192_SHA384),
    rsa("RS512", Algorithm::RS512, &sig::RSA_PKCS1_2048_8192_SHA512),
    rsa("PS256", Algorithm::PS256, &sig::RSA_PSS_2048_8192_SHA256),
    rsa("PS384", Algorithm::PS384, &sig::RSA_PSS_2048_8192_SHA384),
    rsa("PS512", Algorithm::PS512, &sig::RSA_PSS_2048_8192_SHA512),
    JwsAlgorithm {
        name: "ES256",
        alg: Algorithm::ES256,
        family: KeyFamily::P256,
        min_secret_bytes: 0,
        verifier: Verifier::Raw(&sig::ECDSA_P256_SHA256_FIXED),
    },
    JwsAlgorithm {
        name: "ES384",
        alg: Algorithm::ES384,
        family: KeyFamily::P384,
        min_secret_bytes: 0,
        verifier: Verifier::Raw(&sig::ECDSA_P384_SHA384_FIXED),
    },
    JwsAlgorithm {
        name: "EdDSA",
        alg: Algorithm::EdDSA,
        family: KeyFamily::Ed25519,
        min_secret_bytes: 0,
        verifier: Verifier::Raw(&sig::ED25519),
    },
    hmac("HS256", Algorithm::HS256, 32),
    hmac("HS384", Algorithm::HS384, 48),
    hmac("HS512", Algorithm::HS512, 64),
];

/// The algorithm named `name` (exact, case-sensitive as RFC 7515 requires), if known.
pub fn by_name(name: &str) -> Option<Alg> {
    ALGORITHMS.iter().find(|a| a.name == name)
}

/// The algorithms keys of `family` can serve, in table order.
pub fn of_family(family: KeyFamily) -> impl Iterator<Item = Alg> {
    ALGORITHMS.iter().filter(move |a| a.family == family)
}

/// The algorithm named `name` if it may verify a key from a remote JWKS (asymmetric only).
pub fn for_remote_keys(name: &str) -> Option<Alg> {
    by_name(name).filter(|a| a.verifies_remote_keys())
}

/// The algorithm a key of `family` signs with when none is configured: the first of its
/// family in the table (RS256, ES256, ES384, EdDSA, HS256).
pub fn default_for(family: KeyFamily) -> Alg {
    of_family(family).next().unwrap_or(&ALGORITHMS[0])
}

impl JwsAlgorithm {
    /// Whether tokens signed with it may be verified against keys from a JWKS: every
    /// asymmetric algorithm, never HMAC (RFC 8725 §3.1: key confusion).
    pub fn verifies_remote_keys(&self) -> bool {
        self.family != KeyFamily::Hmac
    }
}

/// The configured allow-list, resolved: asymmetric algorithms only.
pub(crate) fn allow_list(names: &[String]) -> Result<Vec<Alg>> {
    let mut accepted: Vec<Alg> = Vec::with_capacity(names.len());
    for name in names {
        let alg =
            by_name(name).ok_or_else(|| Error::config("`algorithms` holds an unsupported algorithm"))?;
        if !alg.verifies_remote_keys() || name.eq_ignore_ascii_case("none") {
            return Err(Error::config(
                "`algorithms` may hold only asymmetric algorithms: `none` and HMAC are refused for keys \
                 from a remote JWKS",
            ));
        }
        if !accepted.contains(&alg) {
            accepted.push(alg);
        }
    }
    if accepted.is_empty() {
        return Err(Error::config("`algorithms` must not be empty"));
    }
    Ok(accepted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_and_families_agree_with_jsonwebtoken() {
        for a in &ALGORITHMS {
            assert_eq!(by_name(a.name), Some(a));
            assert_eq!(format!("{:?}", a.alg), a.name, "jsonwebtoken's name for {}", a.name);
            assert_eq!(a.min_secret_bytes > 0, a.family == KeyFamily::Hmac);
        }
        for bad in ["none", "None", "rs256", "HS256 ", "", "ES512", "RSA-OAEP"] {
            assert!(by_name(bad).is_none(), "{bad}");
        }
        assert!(for_remote_keys("HS256").is_none());
        assert_eq!(for_remote_keys("EdDSA").map(|a| a.family), Some(KeyFamily::Ed25519));
        assert_eq!(of_family(KeyFamily::Rsa).count(), 6);
        let defaults: Vec<&str> =
            [KeyFamily::Rsa, KeyFamily::P256, KeyFamily::P384, KeyFamily::Ed25519, KeyFamily::Hmac]
                .map(|f| default_for(f).name)
                .to_vec();
        assert_eq!(defaults, ["RS256", "ES256", "ES384", "EdDSA", "HS256"]);
    }
}
