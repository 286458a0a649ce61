#![no_main]
//! Compact JWS parsing and routing: never panics, and anything accepted has a signature
//! part and an allowed algorithm.
use bearerguard::jwt::{TypPolicy, looks_like_jws, parse_compact};
use jsonwebtoken::Algorithm;
use libfuzzer_sys::fuzz_target;

const ALGS: &[Algorithm] = &[Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA, Algorithm::PS256];

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else { return };
    let _ = looks_like_jws(token);
    for policy in [TypPolicy::AccessToken { strict: false }, TypPolicy::AccessToken { strict: true }, TypPolicy::IntrospectionResponse] {
        if let Ok(jws) = parse_compact(token, ALGS, 16 * 1024, policy) {
            assert!(ALGS.contains(&jws.alg));
            assert_eq!(token.matches('.').count(), 2);
            assert!(!token.ends_with('.'));
            assert!(!jws.header.contains_key("crit"));
        }
    }
});
