//! `bearerguard._native`: the Python face of the `bearerguard` core.
//!
//! Thin by rule: it converts arguments, holds handles to core objects, bridges async calls to
//! asyncio and maps errors to the classes of `bearerguard.errors`. Every decision about a token
//! is the core's.

mod claims;
mod config;
mod convert;
mod errors;
mod runtime;
mod testing;
mod validator;

use pyo3::prelude::*;

/// Whether this build has the test-only entry points (cargo feature `test-hooks`, never in a
/// release wheel).
#[pyfunction]
fn test_hooks_enabled() -> bool {
    cfg!(feature = "test-hooks")
}

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("RESOURCE_METADATA_CACHE_CONTROL", bearerguard::resource::METADATA_CACHE_CONTROL)?;
    m.add_class::<validator::PyValidator>()?;
    m.add_class::<claims::PyTokenInfo>()?;
    m.add_class::<validator::Ready>()?;
    m.add_function(wrap_pyfunction!(config::config_fields, m)?)?;
    m.add_function(wrap_pyfunction!(errors::error_codes, m)?)?;
    m.add_function(wrap_pyfunction!(errors::error_class, m)?)?;
    m.add_function(wrap_pyfunction!(test_hooks_enabled, m)?)?;
    // The test kit for users' tests (`bearerguard.testing`).
    m.add_class::<testing::PyTestAuthorizationServer>()?;
    runtime::count_forks(m)
}
