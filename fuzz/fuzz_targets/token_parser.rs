#![no_main]
//! Compact JWS parsing and routing: never panics; anything accepted has a signature part and
//! an allowed algorithm, and is a JWS by shape (so it is never sent to introspection).
use bearerguard::algorithms::{Alg, by_name};
use bearerguard::jwt::{Shape, TypPolicy, parse_compact, shape};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else { return };
    let algs: Vec<Alg> = ["RS256", "ES256", "EdDSA", "PS256"].iter().filter_map(|n| by_name(n)).collect();
    let routed = shape(token);
    for policy in [TypPolicy::AccessToken { strict: false }, TypPolicy::AccessToken { strict: true }, TypPolicy::IntrospectionResponse] {
        if let Ok(jws) = parse_compact(token, &algs, 16 * 1024, policy) {
            assert!(algs.contains(&jws.alg));
            assert_eq!(token.matches('.').count(), 2);
            assert!(!token.ends_with('.'));
            assert!(!jws.header.contains_key("crit"));
            assert_eq!(routed, Shape::Jws, "a parsable JWS is routed as one");
        }
    }
});
