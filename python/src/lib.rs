//! `bearerguard._native`: the Python face of the `bearerguard` core.
//!
//! Thin by rule: it converts arguments, holds handles to core objects, bridges async calls to
//! asyncio and maps errors to the classes of `bearerguard.errors`. Every decision about a token
//! is the core's.

mod claims;
mod convert;
mod errors;
mod runtime;
mod validator;

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<validator::PyValidator>()?;
    m.add_class::<claims::PyTokenInfo>()?;
    m.add_class::<validator::Ready>()?;
    Ok(())
}
