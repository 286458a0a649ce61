#![no_main]
//! JWKS parsing: never panics; kept keys are public, signature keys of a supported family.
use bearerguard::jwks::{KeyFamily, Selection, parse_jwks};
use jsonwebtoken::Algorithm;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(set) = parse_jwks(data) {
        for key in &set.keys {
            if let Some(kid) = &key.kid {
                assert!(kid.len() <= bearerguard::jwks::MAX_KID_LEN);
            }
            if let Some(alg) = key.alg {
                assert_eq!(KeyFamily::for_alg(alg), Some(key.family));
            }
        }
        for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA, Algorithm::HS256] {
            if let Selection::Found(k) = set.select(alg, None) {
                assert_eq!(KeyFamily::for_alg(alg), Some(k.family));
            }
        }
    }
});
