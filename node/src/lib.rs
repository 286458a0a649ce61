//! Node.js binding of [`bearerguard`], built with napi-rs v3.
//!
//! This crate only translates: it takes a config object and tokens (or a request's
//! `Authorization` lines) from JavaScript, asks the core for one [`bearerguard::Decision`] per
//! call, and hands back the core's answer: at once when the core needed no I/O, else as a
//! Promise settled by napi's Tokio runtime. Every rule lives in `core/`.
//!
//! Results cross the boundary as JSON text (the core's [`bearerguard::TokenInfo`] with the
//! API's camelCase names), refusals as JavaScript errors whose napi error code is the core's
//! stable code ([`errors`]). `index.js` and `errors.js` turn those into plain objects and
//! error classes. JSON text is parsed by `JSON.parse`, which defines keys as own data
//! properties, so a claim named `__proto__` stays a claim instead of becoming the object's
//! prototype (as a property set through N-API would), and serializing a runtime answer happens
//! on a runtime thread, not on the event loop.
//!
//! Test hooks (a fixed clock, panics inside the guards) exist only with the cargo feature
//! `test-hooks`, which `make test-node` enables and the build for users does not.

mod errors;
mod validator;
// `metricsJson`, `healthJson` and `metricFamiliesJson` (after `validator`, whose struct they
// extend), and the core's log records to a JavaScript callback (`setLogger`). `pub`: napi
// registers free functions only outside `cfg(test)`, so clippy's test build of the crate would
// take private ones for dead code.
pub mod logging;
pub mod metrics;
// The test kit for users' tests (`bearerguard/testing`).
mod testing;
// After `validator`: napi's macros must see the struct before an `impl` of it.
#[cfg(feature = "test-hooks")]
mod test_hooks;

use napi_derive::napi;

/// Every stable error code the core can produce, in the core's order, and `internal`
/// (`errors.js` has one class per code; its tests check it against this list).
#[napi]
pub fn error_codes() -> Vec<&'static str> {
    let mut codes: Vec<&'static str> = bearerguard::ErrorKind::ALL.iter().map(|k| k.code()).collect();
    codes.push(errors::INTERNAL);
    codes
}

/// Every config key path the core accepts (snake_case, nested ones dotted, aliases
/// included); the tests check `index.d.ts` against it.
#[napi]
pub fn config_fields() -> Vec<String> {
    bearerguard::Config::field_paths()
}

/// Whether this addon was built with the test hooks (`--features test-hooks`).
#[napi]
pub fn test_hooks_enabled() -> bool {
    cfg!(feature = "test-hooks")
}

/// `npx bearerguard` (`cli.js`): runs the `bearerguard` command line (`argv` with the program
/// name first) on the process's stdin, stdout and stderr, and returns its exit status. It blocks
/// the calling thread, as a command's `main` does.
#[napi]
pub fn cli_main(argv: Vec<String>) -> i32 {
    bearerguard_cli::main_with_args(argv)
}
