//! The core's `tracing` events, handed to Python's `logging`.
//!
//! tracing's `log` feature (enabled by this crate, not the core) turns every event into a
//! `log` record while no tracing subscriber is set, which in a Python process none is;
//! pyo3-log sends the records to the logger named after the Rust target with `::` replaced
//! by `.` (`bearerguard.jwks`, `bearerguard.endpoints`, `bearerguard.validator`). Only the
//! core's own targets pass: the HTTP stack's debug chatter stays in Rust, and a record takes
//! the GIL only when the Python logger would handle it.
//!
//! pyo3-log caches each logger and its effective level on first use, so a record that a
//! logger's level drops costs no GIL at all. The price: a level changed after a target first
//! logged is not seen until [`reset_log_cache`] runs (`bearerguard.reset_log_cache()`).
//!
//! What the core logs holds no token (a refusal names it by a short hash tag) and no secret.

use std::sync::OnceLock;

use log::LevelFilter;
use pyo3::prelude::*;
use pyo3_log::{Caching, Logger, ResetHandle};

static RESET: OnceLock<ResetHandle> = OnceLock::new();

/// Installs the bridge, once per process (a second import of the module keeps the first).
pub fn init(py: Python<'_>) -> PyResult<()> {
    if RESET.get().is_some() {
        return Ok(());
    }
    let logger = Logger::new(py, Caching::LoggersAndLevels)?
        .filter(LevelFilter::Off)
        .filter_target("bearerguard".to_owned(), LevelFilter::Debug);
    // Another logger installed in this extension's own `log` globals can only be an earlier
    // init of this one: keep it.
    if let Ok(handle) = logger.install() {
        let _ = RESET.set(handle);
    }
    Ok(())
}

/// Forgets the cached Python loggers and levels, so that records follow the `logging`
/// configuration as it is now; call it after changing the level of a `bearerguard` logger.
#[pyfunction]
pub fn reset_log_cache() {
    if let Some(handle) = RESET.get() {
        handle.reset();
    }
}
