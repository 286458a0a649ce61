//! `bearerguard._native`: the Python face of the `bearerguard` core.
//!
//! Thin by rule: it converts arguments, holds handles to core objects, bridges async calls to
//! asyncio and maps errors to the classes of `bearerguard.errors`. Every decision about a token
//! is the core's.

mod claims;
mod config;
mod convert;
mod errors;
mod logging;
mod metrics;
mod resolver;
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

/// `python -m bearerguard`: runs the `bearerguard` command line (`argv` with the program
/// name first) on the process's stdin, stdout and stderr, detached from the interpreter, and
/// returns its exit status.
#[pyfunction]
fn cli_main(py: Python<'_>, argv: Vec<String>) -> i32 {
    py.detach(|| bearerguard_cli::main_with_args(argv))
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
    m.add_class::<testing::PyDpopKey>()?;
    m.add_function(wrap_pyfunction!(cli_main, m)?)?;
    m.add_function(wrap_pyfunction!(metrics::metric_families, m)?)?;
    m.add_function(wrap_pyfunction!(logging::reset_log_cache, m)?)?;
    logging::init(m.py())?;
    runtime::count_forks(m)
}
