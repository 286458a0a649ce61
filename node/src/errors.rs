//! The one place where core errors (and panics) become JavaScript errors.
//!
//! A core [`Error`] becomes a napi error whose message is a JSON payload: the stable `code`,
//! the HTTP `status`, the fixed `message` (the core's detail, which never holds a token or a
//! secret), the `www_authenticate` value and, for `insufficient_scope`, `required_scopes`.
//! `errors.js` parses it into the class for `code`. Nothing here looks at tokens.

use bearerguard::Error;
use serde_json::json;

/// The code of a panic caught in the binding or the core: a bug, answered with HTTP 500.
pub const INTERNAL: &str = "internal";

/// The napi error for a core `error`; `www_authenticate` is the header value computed by the
/// validator (with its realm), or `None` when there is no validator yet.
pub fn to_napi(error: &Error, www_authenticate: Option<String>) -> napi::Error {
    payload(json!({
        "code": error.code(),
        "status": error.http_status(),
        "message": error.detail(),
        "www_authenticate": www_authenticate,
        "required_scopes": error.required_scopes(),
    }))
}

/// The napi error for a caught panic. The panic's own message is not passed on: it is not
/// written for API clients and nothing guarantees what it contains.
pub fn internal() -> napi::Error {
    payload(json!({
        "code": INTERNAL,
        "status": 500,
        "message": "internal error in bearerguard (a bug: please report it)",
        "www_authenticate": null,
        "required_scopes": null,
    }))
}

fn payload(value: serde_json::Value) -> napi::Error {
    napi::Error::new(napi::Status::GenericFailure, value.to_string())
}
