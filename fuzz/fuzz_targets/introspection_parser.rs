#![no_main]
//! Introspection responses and discovery documents: never panic; only `"active": true` (a
//! boolean) is ever active.
use bearerguard::introspection::{Answer, parse_json_response};
use bearerguard::token_type_accepted;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(Answer::Active(doc)) = parse_json_response(data) {
        assert_eq!(doc.get("active"), Some(&serde_json::Value::Bool(true)));
        let _ = token_type_accepted(doc.get("token_type"));
    }
    let _ = bearerguard::discovery::parse_metadata(data, "https://as.example", false);
});
