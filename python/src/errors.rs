//! Core errors become instances of the classes in `bearerguard.errors`: one `match` on the
//! core's kind, nothing else decided here. The `source()` chain crosses as `__cause__`. A panic
//! in the core becomes a `BearerGuardError` with code `"internal"`, never pyo3's
//! `PanicException`.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use bearerguard::{Error, ErrorKind};
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyModule, PyTuple};

/// Why a call failed, held without the GIL until it is raised.
#[derive(Debug)]
pub enum Failure {
    /// A refusal or failure from the core, with the `WWW-Authenticate` value for it (computed
    /// once, where the failure is made).
    Core(Error, Option<String>),
    /// The core panicked.
    Panic,
}

impl Failure {
    /// A failure with no validator behind it (building one failed): no realm to name.
    fn unbound(error: Error) -> Self {
        let www = error.www_authenticate(None);
        Failure::Core(error, www)
    }
}

/// Runs `f`, turning a panic into [`Failure::Panic`]; for calls made before a validator
/// exists (configs, construction).
pub fn guard<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<T, Failure> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(inner) => inner.map_err(Failure::unbound),
        Err(_) => Err(Failure::Panic),
    }
}

/// Folds a caught panic and a core result into one; `www` gives the challenge of a refusal
/// (the validator's, with its realm).
pub fn flatten<T>(
    result: Result<Result<T, Error>, Box<dyn Any + Send>>,
    www: impl FnOnce(&Error) -> Option<String>,
) -> Result<T, Failure> {
    match result {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => {
            let challenge = www(&e);
            Err(Failure::Core(e, challenge))
        }
        Err(_) => Err(Failure::Panic),
    }
}

/// The class of `bearerguard.errors` raised for `kind`.
pub fn class_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::MissingToken => "MissingTokenError",
        ErrorKind::InvalidRequest => "InvalidRequestError",
        ErrorKind::InvalidToken => "InvalidTokenError",
        ErrorKind::TokenExpired => "TokenExpiredError",
        ErrorKind::InsufficientScope => "InsufficientScopeError",
        ErrorKind::Unavailable => "UnavailableError",
        ErrorKind::Configuration => "ConfigurationError",
        ErrorKind::InvalidDpopProof => "InvalidDpopProofError",
        ErrorKind::UseDpopNonce => "UseDpopNonceError",
        // Only for kinds the core adds after this match was written (`ErrorKind` is
        // `#[non_exhaustive]`): `test_error_classes_cover_the_core_kinds` fails on them.
        _ => "BearerGuardError",
    }
}

static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

impl From<Failure> for PyErr {
    fn from(failure: Failure) -> PyErr {
        // Every caller is already attached to Python; this only borrows the token.
        Python::attach(|py| failure.into_pyerr(py))
    }
}

impl Failure {
    /// The Python exception for this failure.
    pub fn into_pyerr(self, py: Python<'_>) -> PyErr {
        self.instantiate(py).unwrap_or_else(|e| e)
    }

    fn instantiate(self, py: Python<'_>) -> PyResult<PyErr> {
        let module =
            MODULE.get_or_try_init(py, || Ok::<_, PyErr>(py.import("bearerguard.errors")?.unbind()))?;
        let Failure::Core(e, www) = self else {
            let args = ("internal error in bearerguard", "internal", 500, None::<String>, PyTuple::empty(py));
            return Ok(PyErr::from_value(module.bind(py).getattr("BearerGuardError")?.call1(args)?));
        };
        let scopes = PyTuple::new(py, e.required_scopes().unwrap_or_default())?;
        let args = (e.detail(), e.code(), e.http_status(), www, scopes, e.dpop_nonce());
        let value = module.bind(py).getattr(class_name(e.kind()))?.call1(args)?;
        if let Some(cause) = std::error::Error::source(&e) {
            value.setattr("__cause__", cause_chain(py, cause).value(py))?;
        }
        Ok(PyErr::from_value(value))
    }
}

/// The `source()` chain as Python exceptions linked by `__cause__`: I/O errors as the matching
/// `OSError` subclass, anything else as `RuntimeError`. The core's sources carry no token or
/// secret (HTTP errors are stripped of their URL).
fn cause_chain(py: Python<'_>, error: &(dyn std::error::Error + 'static)) -> PyErr {
    let cause = match error.downcast_ref::<std::io::Error>() {
        Some(io) => PyErr::from(std::io::Error::new(io.kind(), io.to_string())),
        None => PyRuntimeError::new_err(error.to_string()),
    };
    if let Some(next) = error.source() {
        cause.set_cause(py, Some(cause_chain(py, next)));
    }
    cause
}

/// The core's error codes (`ErrorKind::ALL`), in its order.
#[pyfunction]
pub fn error_codes() -> Vec<&'static str> {
    ErrorKind::ALL.iter().map(|kind| kind.code()).collect()
}

/// The name of the `bearerguard.errors` class raised for the core's error `code`.
#[pyfunction]
pub fn error_class(code: &str) -> PyResult<&'static str> {
    ErrorKind::from_code(code)
        .map(class_name)
        .ok_or_else(|| pyo3::exceptions::PyValueError::new_err("not an error code of the core"))
}
