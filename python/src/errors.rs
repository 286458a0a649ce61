//! Core errors become instances of the classes in `bearerguard.errors`: one `match` on the
//! core's kind, nothing else decided here. A panic in the core becomes a `BearerGuardError`
//! with code `"internal"`, never pyo3's `PanicException`.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};

use bearerguard::{Error, ErrorKind};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyModule, PyTuple};

/// Why a call failed, held without the GIL until it is raised.
#[derive(Debug)]
pub enum Failure {
    /// A refusal or failure from the core, with the `WWW-Authenticate` value for it.
    Core(Error, Option<String>),
    /// The core panicked.
    Panic,
}

impl From<Error> for Failure {
    fn from(error: Error) -> Self {
        let www = error.www_authenticate(None);
        Failure::Core(error, www)
    }
}

/// Runs `f`, turning a panic into [`Failure::Panic`].
pub fn guard<T>(f: impl FnOnce() -> Result<T, Error>) -> Result<T, Failure> {
    flatten(catch_unwind(AssertUnwindSafe(f)))
}

/// Folds a caught panic and a core result into one.
pub fn flatten<T>(result: Result<Result<T, Error>, Box<dyn Any + Send>>) -> Result<T, Failure> {
    match result {
        Ok(inner) => inner.map_err(Failure::from),
        Err(_) => Err(Failure::Panic),
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
        let (class, detail, code, status, www, scopes) = match self {
            Failure::Panic => {
                ("BearerGuardError", "internal error in bearerguard".into(), "internal", 500, None, vec![])
            }
            Failure::Core(e, www) => {
                let class = match e.kind() {
                    ErrorKind::MissingToken => "MissingTokenError",
                    ErrorKind::InvalidRequest => "InvalidRequestError",
                    ErrorKind::InvalidToken => "InvalidTokenError",
                    ErrorKind::TokenExpired => "TokenExpiredError",
                    ErrorKind::InsufficientScope => "InsufficientScopeError",
                    ErrorKind::Unavailable => "UnavailableError",
                    ErrorKind::Configuration => "ConfigurationError",
                    _ => "BearerGuardError",
                };
                let scopes = e.required_scopes().map(<[String]>::to_vec).unwrap_or_default();
                (class, e.detail().to_owned(), e.code(), e.http_status(), www, scopes)
            }
        };
        let args = (detail, code, status, www, PyTuple::new(py, scopes)?);
        Ok(PyErr::from_value(module.bind(py).getattr(class)?.call1(args)?))
    }
}
