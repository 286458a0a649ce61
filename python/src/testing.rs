//! The core's test kit (`bearerguard::testing`) held by Python objects: the
//! `TestAuthorizationServer` (wrapped by `bearerguard.testing.AuthorizationServer`) and a
//! client's `DpopKey` (re-exported as `bearerguard.testing.DpopKey`). Converts arguments and
//! results only.

use std::sync::{Mutex, PoisonError};

use bearerguard::testing::{DpopKey, ProofOptions, ServerOptions, TestAuthorizationServer, TokenOptions};
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

/// A client's DPoP key for tests (ES256, P-256): it signs good proofs (RFC 9449 §4.2), and its
/// `thumbprint` is what a bound token's `cnf.jkt` names (`AuthorizationServer.token(dpop_jkt=...)`).
/// Its repr shows the thumbprint only, never the private key.
#[pyclass(frozen, module = "bearerguard.testing", name = "DpopKey")]
pub struct PyDpopKey {
    key: DpopKey,
}

#[pymethods]
impl PyDpopKey {
    /// A fresh key.
    #[new]
    fn new() -> PyResult<Self> {
        Ok(PyDpopKey { key: guard(DpopKey::generate)? })
    }

    /// A fresh key (the same as `DpopKey()`).
    #[staticmethod]
    fn generate() -> PyResult<Self> {
        PyDpopKey::new()
    }

    /// The RFC 7638 thumbprint of the public key: what a bound token's `cnf.jkt` says.
    #[getter]
    fn thumbprint(&self) -> &str {
        self.key.thumbprint()
    }

    /// The public JWK the proofs carry in their header.
    fn public_jwk<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.key.public_jwk())
    }

    /// A proof for `method` and `url` (query and fragment dropped), bound to `access_token`
    /// (`ath`) when given, carrying the server's `nonce` when given; `iat` (seconds since the
    /// epoch) defaults to now, `jti` to a random one.
    #[pyo3(signature = (method, url, access_token = None, *, nonce = None, iat = None, jti = None))]
    fn proof(
        &self,
        method: &str,
        url: &str,
        access_token: Option<&str>,
        nonce: Option<&str>,
        iat: Option<i64>,
        jti: Option<&str>,
    ) -> PyResult<String> {
        let mut options = ProofOptions::new(method, url);
        if let Some(token) = access_token {
            options = options.access_token(token);
        }
        if let Some(nonce) = nonce {
            options = options.nonce(nonce);
        }
        if let Some(iat) = iat {
            options = options.iat(iat);
        }
        if let Some(jti) = jti {
            options = options.jti(jti);
        }
        Ok(guard(|| self.key.proof_with(&options))?)
    }

    fn __repr__(&self) -> String {
        // The thumbprint is base64url: no quote to escape.
        format!("DpopKey(thumbprint='{}')", self.key.thumbprint())
    }
}
