//! `issuer_resolver=`: a Python callable as the core's [`IssuerResolver`]. It is called with
//! the issuer (a `str`) on one of the runtime's blocking threads with the GIL attached, and
//! its answer crosses as the core expects it: a mapping is converted like a config given to
//! `Validator.from_config`, `None` declines, an exception is an error (the core refuses the
//! request as `configuration`). What to approve is the app's decision and the core's rules;
//! nothing here looks at the issuer.

use std::sync::Arc;

use bearerguard::{BoxError, Config, IssuerResolver, ResolverFuture};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::Failure;

/// The Python callable (`(issuer: str) -> Mapping | None`).
pub struct PyResolver {
    callable: Arc<Py<PyAny>>,
}

impl PyResolver {
    /// A resolver calling `callable`; `TypeError` when it is not callable.
    pub fn new(callable: &Bound<'_, PyAny>) -> PyResult<Self> {
        if !callable.is_callable() {
            return Err(pyo3::exceptions::PyTypeError::new_err(
                "`issuer_resolver` must be a callable taking the issuer and returning a config mapping or None",
            ));
        }
        Ok(PyResolver { callable: Arc::new(callable.clone().unbind()) })
    }
}

impl IssuerResolver for PyResolver {
    fn resolve(&self, issuer: &str) -> ResolverFuture {
        let callable = Arc::clone(&self.callable);
        let issuer = issuer.to_owned();
        Box::pin(async move {
            let called =
                tokio::task::spawn_blocking(move || Python::attach(|py| answer(py, &callable, issuer)));
            match called.await {
                Ok(answer) => answer,
                Err(_) => Err("the Python issuer resolver panicked".into()),
            }
        })
    }
}

/// Calls the resolver and converts its answer. The text of an exception it raised is not
/// carried (it may hold anything, a database URL with its password among them): only its
/// type's name, which the core logs.
fn answer(py: Python<'_>, callable: &Py<PyAny>, issuer: String) -> Result<Option<Config>, BoxError> {
    let returned = match callable.bind(py).call1((issuer,)) {
        Ok(value) => value,
        Err(e) => {
            let kind = e.get_type(py).name().map(|n| n.to_string()).unwrap_or_else(|_| "an exception".into());
            return Err(format!("the Python issuer resolver raised {kind}").into());
        }
    };
    if returned.is_none() {
        return Ok(None);
    }
    // A mapping that is not a dict (a `MappingProxyType`, a custom `Mapping`) as a dict.
    let mapping = match returned.cast::<PyDict>() {
        Ok(dict) => dict.clone().into_any(),
        Err(_) if returned.hasattr("keys").unwrap_or(false) => {
            py.import("builtins").and_then(|b| b.getattr("dict")?.call1((returned,))).map_err(|_| {
                BoxError::from("the Python issuer resolver returned a mapping that could not be read")
            })?
        }
        Err(_) => return Err("the Python issuer resolver returned neither a mapping nor None".into()),
    };
    match crate::config::from_py(Some(&mapping)) {
        Ok(config) => Ok(Some(config)),
        // The core's config errors name the field and never echo a value.
        Err(Failure::Core(e, _)) => {
            Err(format!("the Python issuer resolver returned an invalid config: {}", e.detail()).into())
        }
        Err(Failure::Panic) => Err("the Python issuer resolver's config could not be read".into()),
    }
}
