#![no_main]
//! `Authorization` header parsing: never panics; an accepted token is a non-empty b64token
//! found inside the header.
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(header) = std::str::from_utf8(data) else { return };
    if let Ok(token) = bearerguard::bearer_token(Some(header)) {
        assert!(bearerguard::is_b64token(token));
        assert!(header.contains(token));
        assert!(header.trim_start().to_ascii_lowercase().starts_with("bearer"));
    }
});
