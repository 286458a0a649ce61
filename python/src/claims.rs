//! `TokenInfo`: the core's claims, frozen; `claims` becomes a dict on first use, once.

use std::sync::Arc;

use bearerguard::TokenInfo;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyString, PyTuple};

/// What a validated token says. Holds no token.
#[pyclass(frozen, module = "bearerguard", name = "TokenInfo")]
pub struct PyTokenInfo {
    info: Arc<TokenInfo>,
    claims: PyOnceLock<Py<PyDict>>,
}

impl PyTokenInfo {
    /// Wraps the core's answer; its claims are converted when first read, so a route that
    /// reads only `subject` or `scopes` pays for no dict.
    pub fn new(info: Arc<TokenInfo>) -> Self {
        PyTokenInfo { info, claims: PyOnceLock::new() }
    }
}

#[pymethods]
impl PyTokenInfo {
    #[getter]
    fn subject(&self) -> Option<&str> {
        self.info.subject.as_deref()
    }
    #[getter]
    fn client_id(&self) -> Option<&str> {
        self.info.client_id.as_deref()
    }
    #[getter]
    fn username(&self) -> Option<&str> {
        self.info.username.as_deref()
    }
    #[getter]
    fn scopes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.info.scopes)
    }
    /// Roles, from the configured `roles_claim` (a provider preset sets it); empty without one.
    #[getter]
    fn roles<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.info.roles)
    }
    #[getter]
    fn audiences<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        PyTuple::new(py, &self.info.audiences)
    }
    #[getter]
    fn issuer(&self) -> Option<&str> {
        self.info.issuer.as_deref()
    }
    #[getter]
    fn expires_at(&self) -> Option<i64> {
        self.info.expires_at
    }
    #[getter]
    fn issued_at(&self) -> Option<i64> {
        self.info.issued_at
    }
    #[getter]
    fn not_before(&self) -> Option<i64> {
        self.info.not_before
    }
    #[getter]
    fn jti(&self) -> Option<&str> {
        self.info.jti.as_deref()
    }
    #[getter]
    fn token_type(&self) -> Option<&str> {
        self.info.token_type.as_deref()
    }
    /// When DPoP nonces are on: the nonce to send as the `DPoP-Nonce` response header.
    #[getter]
    fn dpop_nonce(&self) -> Option<&str> {
        self.info.dpop_nonce.as_deref()
    }
    #[getter]
    fn source(&self) -> &'static str {
        self.info.source.as_str()
    }
    #[getter]
    fn claims(&self, py: Python<'_>) -> PyResult<Py<PyDict>> {
        let claims = self
            .claims
            .get_or_try_init(py, || crate::convert::to_dict(py, &self.info.claims).map(Bound::unbind))?;
        Ok(claims.clone_ref(py))
    }

    /// Whether every scope in `scopes` was granted.
    fn has_scopes(&self, scopes: Vec<String>) -> bool {
        self.info.has_scopes(&scopes)
    }

    fn __repr__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let i = &self.info;
        PyString::new(
            py,
            "TokenInfo(subject={!r}, client_id={!r}, scopes={!r}, source={!r}, expires_at={!r})",
        )
        .call_method1("format", (&i.subject, &i.client_id, self.scopes(py)?, i.source.as_str(), i.expires_at))
    }
}
