//! `TestAuthorizationServer`: the core's test kit (`bearerguard::testing`) held by a Python
//! object. Converts arguments and results only; `bearerguard.testing` wraps it.

use std::sync::{Mutex, PoisonError};

use bearerguard::testing::{ServerOptions, TestAuthorizationServer, TokenOptions};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::convert::{to_json, to_py};
use crate::errors::guard;

/// An in-process authorization server on 127.0.0.1 for tests (see `bearerguard.testing`).
#[pyclass(frozen, module = "bearerguard.testing", name = "_TestAuthorizationServer")]
pub struct PyTestAuthorizationServer {
    server: Mutex<TestAuthorizationServer>,
    issuer: String,
    audience: String,
    client_id: String,
}

impl PyTestAuthorizationServer {
    fn with<T>(&self, f: impl FnOnce(&mut TestAuthorizationServer) -> T) -> T {
        f(&mut self.server.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

fn options(obj: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<serde_json::Value> {
    Ok(match obj {
        Some(obj) => guard(|| to_json(obj, what))?,
        None => serde_json::Value::Null,
    })
}

#[pymethods]
impl PyTestAuthorizationServer {
    /// Starts a server; `options` is a mapping of `audience` and `client_id` (both optional).
    #[new]
    #[pyo3(signature = (options=None))]
    fn new(py: Python<'_>, options: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let value = self::options(options, "options")?;
        let server =
            py.detach(|| guard(|| TestAuthorizationServer::start_with(ServerOptions::from_value(value)?)))?;
        Ok(PyTestAuthorizationServer {
            issuer: server.issuer().to_owned(),
            audience: server.audience().to_owned(),
            client_id: server.client_id().to_owned(),
            server: Mutex::new(server),
        })
    }

    /// The issuer identifier, `http://127.0.0.1:<port>`.
    #[getter]
    fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The audience its tokens carry by default and its config accepts.
    #[getter]
    fn audience(&self) -> &str {
        &self.audience
    }

    /// The client id of its config.
    #[getter]
    fn client_id(&self) -> &str {
        &self.client_id
    }

    /// The client secret of its config (a random test secret).
    #[getter]
    fn client_secret(&self) -> String {
        self.with(|s| s.client_secret().to_owned())
    }

    /// A validator config (core keys) pointing at this server, its client secret included.
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.with(|s| s.config_value()))
    }

    /// The discovery document it serves.
    fn metadata<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.with(|s| s.metadata()))
    }

    /// The public JWKS it serves.
    fn jwks<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.with(|s| s.jwks()))
    }

    /// Mints a JWT with the claims `options` (the core's token option names) ask for.
    #[pyo3(signature = (options=None))]
    fn jwt(&self, py: Python<'_>, options: Option<&Bound<'_, PyAny>>) -> PyResult<String> {
        let value = self::options(options, "options")?;
        Ok(py.detach(|| guard(|| self.with(|s| s.jwt(&TokenOptions::from_value(value)?))))?)
    }

    /// Mints an opaque token that introspection answers with the claims `options` ask for.
    #[pyo3(signature = (options=None))]
    fn opaque(&self, py: Python<'_>, options: Option<&Bound<'_, PyAny>>) -> PyResult<String> {
        let value = self::options(options, "options")?;
        Ok(py.detach(|| guard(|| self.with(|s| s.opaque(&TokenOptions::from_value(value)?))))?)
    }

    /// Revokes a token it minted; whether it knew the token.
    fn revoke(&self, token: &str) -> bool {
        self.with(|s| s.revoke(token))
    }

    /// Requests answered so far, per endpoint.
    fn counts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let c = self.with(|s| s.counts());
        let dict = PyDict::new(py);
        dict.set_item("discovery", c.discovery)?;
        dict.set_item("jwks", c.jwks)?;
        dict.set_item("introspection", c.introspection)?;
        dict.set_item("revocation", c.revocation)?;
        Ok(dict)
    }

    /// Stops the server (idempotent).
    fn close(&self, py: Python<'_>) {
        py.detach(|| self.with(|s| s.close()));
    }

    /// Whether `close` has run.
    #[getter]
    fn closed(&self) -> bool {
        self.with(|s| s.is_closed())
    }

    fn __repr__(&self) -> String {
        format!("<TestAuthorizationServer issuer={:?} audience={:?}>", self.issuer, self.audience)
    }
}
