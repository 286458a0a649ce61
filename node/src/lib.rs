//! Node.js binding of [`bearerguard`], built with napi-rs v3.
//!
//! This crate only translates: it takes a config object and tokens from JavaScript, answers
//! on the JavaScript thread only what the core answers without I/O (`Validator::validate_now`),
//! runs everything else on napi's Tokio runtime, and hands back the core's answers. Every
//! rule lives in `core/`.
//!
//! Results and errors cross the boundary as JSON text: a validation returns the core's
//! serialized [`bearerguard::TokenInfo`] or fails with an error whose message is the payload
//! built in [`errors`]. `index.js` and `errors.js` turn those into plain objects and error
//! classes.
//! JSON text is parsed by `JSON.parse`, which defines keys as own data properties, so a claim
//! named `__proto__` stays a claim instead of becoming the object's prototype (as a property
//! set through N-API would), and serializing happens on a runtime thread, not on the event loop.

mod errors;
mod validator;

use napi_derive::napi;

/// Every stable error code the core can produce, in the core's order (`errors.js` has one
/// class per code; its tests check it against this list).
#[napi]
pub fn error_codes() -> Vec<&'static str> {
    let mut codes: Vec<&'static str> = bearerguard::ErrorKind::ALL.iter().map(|k| k.code()).collect();
    codes.push(errors::INTERNAL);
    codes
}
