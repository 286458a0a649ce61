//! A loop over one decision path, for a profiler (`make profile`): no timing of its own.
//!
//! ```text
//! cargo build --release -p bearerguard --example profile_paths
//! perf record --call-graph dwarf target/release/examples/profile_paths first-seen RS256
//! ```
//!
//! Paths: `first-seen` (every call a token the validator has not seen, all signed before the
//! loop; remembered as they pass), `first-seen-unremembered` (the same, JWT remembering off),
//! `repeated` (one token every call). Arguments: path, algorithm, calls, distinct tokens
//! (cycled through; default: as many as calls). Algorithms: RS256, ES256, EdDSA.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, reason = "profiling helper")]

#[path = "../tests/support/mod.rs"]
mod support;

use bearerguard::Validator;
use serde_json::json;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).map_or("repeated", String::as_str);
    let alg = args.get(2).map_or("RS256", String::as_str);
    let calls: usize = args.get(3).and_then(|n| n.parse().ok()).unwrap_or(200_000);
    // Distinct tokens signed (the loop cycles through them): for `first-seen-unremembered`
    // fewer than `calls` keeps signing out of the profile.
    let distinct: usize = args.get(4).and_then(|n| n.parse().ok()).unwrap_or(calls);
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let fake = rt.block_on(support::FakeAs::start());
    let key = match alg {
        "ES256" => support::TestKey::ec(),
        "EdDSA" => support::TestKey::ed(),
        _ => support::TestKey::rsa(),
    };
    fake.set_keys(&[&key]);
    let mut config = fake.config("api");
    config.cache.jwt_max_entries = if path == "first-seen-unremembered" { 0 } else { calls as u64 * 2 };
    let v = Validator::new(config).unwrap();
    let claims = |jti: String| fake.good_claims(json!({"exp": support::now() + 86_400, "jti": jti}));
    let tokens: Vec<String> = match path {
        "repeated" => vec![key.sign(&claims("repeated".into()))],
        _ => (0..distinct).map(|i| key.sign(&claims(format!("first-seen-{i:08}")))).collect(),
    };
    rt.block_on(v.validate(&key.sign(&claims("warm".into())))).unwrap();
    eprintln!("signed {}", tokens.len());
    let mut accepted = 0usize;
    for i in 0..calls {
        let token = &tokens[i % tokens.len()];
        accepted += usize::from(v.validate_now::<&str>(token, &[]).expect("no I/O").is_ok());
    }
    assert_eq!(accepted, calls);
    eprintln!("{path} {alg}: {calls} accepted");
}
