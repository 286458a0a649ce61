//! `Validator`: the core's one decision entry behind a sync call (GIL released) and an
//! awaitable one. Every method builds the core's input, asks `decide`/`decide_token`, and
//! translates the [`Decision`]: `Ready` is answered at once, `Pending` is waited for on the
//! runtime. Nothing here looks at a token.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

use bearerguard::{
    Config, Decision, Error, IssuerResolver, Request, SharedClock, Stats, SystemClock, TokenInfo, Validator,
};
use futures_util::FutureExt;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::claims::PyTokenInfo;
use crate::convert::strings;
use crate::errors::{Failure, flatten, guard};
use crate::runtime::{self, Tokio};

/// Validates bearer tokens for one issuer (or many: `issuers`); share one per application.
#[pyclass(frozen, module = "bearerguard", name = "Validator")]
pub struct PyValidator {
    config: Config,
    /// The config whose API-wide settings answer for the validator (`resource`,
    /// `required_scopes`, `client_certificate_header`): with many issuers the first entry's.
    api: Config,
    clock: Option<SharedClock>,
    /// `issuer_resolver=`, kept for the validator built again after a `fork`.
    resolver: Option<Arc<dyn IssuerResolver>>,
    /// The fork count ([`runtime::forks`]) the core validator was built at, and the validator.
    /// Locked only while attached to Python, so never held by another thread when the process
    /// forks.
    core: Mutex<(u64, Validator)>,
}

fn build(
    config: &Config,
    clock: &Option<SharedClock>,
    resolver: &Option<Arc<dyn IssuerResolver>>,
) -> Result<Validator, Failure> {
    guard(|| {
        let clock = clock.clone().unwrap_or_else(|| Arc::new(SystemClock));
        Validator::with_resolver(config.clone(), clock, None, resolver.clone())
    })
}

/// The `issuer_resolver=` argument: `None`, or a callable.
fn resolver(callable: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Arc<dyn IssuerResolver>>> {
    match callable.filter(|c| !c.is_none()) {
        None => Ok(None),
        Some(c) => Ok(Some(Arc::new(crate::resolver::PyResolver::new(c)?))),
    }
}

/// One `Stats` as the dict `stats()` returns.
fn stats_dict<'py>(py: Python<'py>, stats: &Stats) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("introspection_requests", stats.introspection_requests)?;
    dict.set_item("jwks_fetches", stats.jwks_fetches)?;
    dict.set_item("accepted", stats.accepted)?;
    dict.set_item("refused", stats.refused)?;
    dict.set_item("unrouted", stats.unrouted)?;
    let s = stats.shared;
    let shared = PyDict::new(py);
    for (name, value) in [
        ("hits", s.hits),
        ("misses", s.misses),
        ("errors", s.errors),
        ("rejected", s.rejected),
        ("skipped", s.skipped),
        ("waits", s.waits),
        ("forgets_received", s.forgets_received),
    ] {
        shared.set_item(name, value)?;
    }
    dict.set_item("shared", shared)?;
    Ok(dict)
}

/// A decision's answer, turned into a `TokenInfo` or raised once the GIL is held.
struct Outcome(Result<Arc<TokenInfo>, Failure>);

impl Outcome {
    /// The answer (or the caught panic), its challenge computed here, once, with `core`'s realm.
    fn new(result: std::thread::Result<Result<Arc<TokenInfo>, Error>>, core: &Validator) -> Self {
        Outcome(flatten(result, |e| core.www_authenticate(e)))
    }
}

impl<'py> IntoPyObject<'py> for Outcome {
    type Target = PyTokenInfo;
    type Output = Bound<'py, PyTokenInfo>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        let info = self.0?;
        Bound::new(py, PyTokenInfo::new(info))
    }
}

/// Runs `fut` on the runtime and hands asyncio an awaitable for its outcome; the event loop
/// never waits on it.
fn awaitable<'py, F>(py: Python<'py>, core: Validator, fut: F) -> PyResult<Bound<'py, PyAny>>
where
    F: Future<Output = Result<Arc<TokenInfo>, Error>> + Send + 'static,
{
    let handle = runtime::handle()?;
    let _context = handle.enter();
    pyo3_async_runtimes::generic::future_into_py::<Tokio, _, _>(py, async move {
        Ok(Outcome::new(AssertUnwindSafe(fut).catch_unwind().await, &core))
    })
}

/// An awaitable that is already finished: `await` on it returns (or raises) at once, with no
/// event-loop round trip. Cheaper than an asyncio future for answers that needed no waiting;
/// like a future, it can be awaited again and gives the same answer.
#[pyclass(frozen, module = "bearerguard", name = "_Ready")]
pub struct Ready {
    outcome: PyResult<Py<PyTokenInfo>>,
}

#[pymethods]
impl Ready {
    fn __await__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    /// Finishes the `await`: the result travels in `StopIteration`, an error is raised.
    fn __next__(&self, py: Python<'_>) -> PyResult<()> {
        Err(match &self.outcome {
            Ok(info) => pyo3::exceptions::PyStopIteration::new_err((info.clone_ref(py),)),
            Err(e) => e.clone_ref(py),
        })
    }
}

/// An awaitable already holding `outcome`, for answers that need no waiting.
fn done<'py>(py: Python<'py>, outcome: Outcome) -> PyResult<Bound<'py, PyAny>> {
    let outcome = outcome.into_pyobject(py).map(Bound::unbind);
    Ok(Bound::new(py, Ready { outcome })?.into_any())
}

/// The core's request: every `Authorization` line the adapter saw, in order, and the tenant key
/// the app routes it by (many issuers).
fn request(
    authorization: Vec<String>,
    scopes: Vec<String>,
    method: Option<String>,
    url: Option<String>,
    tenant: Option<String>,
) -> Request {
    Request { method: method.unwrap_or_default(), url, authorization, scopes, tenant, ..Request::default() }
}

/// What a request carries for sender-constrained tokens: every `DPoP` line, the connection's
/// client certificate (DER bytes), the trusted proxy's certificate header.
struct Extras {
    dpop: Vec<String>,
    certificate: Option<Vec<u8>>,
    headers: Vec<(String, String)>,
}

impl Extras {
    /// `headers` may be every header of the request (pairs, or a mapping): the core reads only
    /// the configured `client_certificate_header` among them.
    fn from_py(
        dpop: Option<&Bound<'_, PyAny>>,
        client_certificate: Option<&[u8]>,
        headers: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let headers = match headers.filter(|h| !h.is_none()) {
            None => Vec::new(),
            Some(h) => {
                let items = if h.hasattr("items")? { h.call_method0("items")? } else { h.clone() };
                items.try_iter()?.map(|pair| pair?.extract::<(String, String)>()).collect::<PyResult<_>>()?
            }
        };
        Ok(Extras {
            dpop: strings(dpop, "dpop")?,
            certificate: client_certificate.map(<[u8]>::to_vec),
            headers,
        })
    }

    /// The whole request: these inputs plus the `Authorization` lines, scopes, method, URL and
    /// tenant key.
    fn request(
        self,
        authorization: &Bound<'_, PyAny>,
        scopes: Option<&Bound<'_, PyAny>>,
        method: Option<String>,
        url: Option<String>,
        tenant: Option<String>,
    ) -> PyResult<Request> {
        let authorization = strings(Some(authorization), "authorization")?;
        let base = request(authorization, strings(scopes, "scopes")?, method, url, tenant);
        Ok(self.apply(base))
    }

    fn apply(self, mut request: Request) -> Request {
        request.dpop = self.dpop;
        request.client_certificate = self.certificate.map(bearerguard::ClientCertificate::Der);
        request.headers = self.headers;
        request
    }
}

impl PyValidator {
    fn from_config(
        config: Config,
        clock: Option<SharedClock>,
        resolver: Option<Arc<dyn IssuerResolver>>,
    ) -> Result<Self, Failure> {
        let core = build(&config, &clock, &resolver)?;
        let api = core.api_config().clone();
        Ok(PyValidator { config, api, clock, resolver, core: Mutex::new((runtime::forks(), core)) })
    }

    /// The core validator for this process. In a forked child the inherited one is leaked,
    /// not used: its connection pool and tasks belong to the parent's runtime.
    pub(crate) fn current(&self) -> PyResult<Validator> {
        let mut slot = self.core.lock().unwrap_or_else(PoisonError::into_inner);
        let forks = runtime::forks();
        if slot.0 != forks {
            let fresh = build(&self.config, &self.clock, &self.resolver)?;
            std::mem::forget(std::mem::replace(&mut slot.1, fresh));
            slot.0 = forks;
        }
        Ok(slot.1.clone())
    }

    /// The sync form: the core decides with the GIL released; a `Pending` decision is waited
    /// for on the runtime, still detached.
    fn decide(
        &self,
        py: Python<'_>,
        decide: impl FnOnce(&Validator) -> Decision + Send,
    ) -> PyResult<Outcome> {
        let core = self.current()?;
        let handle = runtime::handle()?;
        Ok(py.detach(|| {
            let result = catch_unwind(AssertUnwindSafe(|| match decide(&core) {
                Decision::Ready(result) => result,
                Decision::Pending(pending) => handle.block_on(pending),
            }));
            Outcome::new(result, &core)
        }))
    }

    /// The awaitable form: a `Ready` decision is a finished awaitable (no thread hop), a
    /// `Pending` one is completed by the runtime.
    fn decide_async<'py>(
        &self,
        py: Python<'py>,
        decide: impl FnOnce(&Validator) -> Decision,
    ) -> PyResult<Bound<'py, PyAny>> {
        let core = self.current()?;
        match catch_unwind(AssertUnwindSafe(|| decide(&core))) {
            Ok(Decision::Pending(pending)) => awaitable(py, core, pending),
            Ok(Decision::Ready(result)) => done(py, Outcome::new(Ok(result), &core)),
            Err(panic) => done(py, Outcome::new(Err(panic), &core)),
        }
    }
}

#[pymethods]
impl PyValidator {
    /// Builds a validator from keyword arguments named like the core's config fields;
    /// `issuer_resolver` (not a config field) adds issuers at run time.
    #[new]
    #[pyo3(signature = (*, issuer_resolver = None, **config))]
    fn new(issuer_resolver: Option<&Bound<'_, PyAny>>, config: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let resolver = resolver(issuer_resolver)?;
        let config = crate::config::from_py(config.map(|c| c.as_any()))?;
        Ok(PyValidator::from_config(config, None, resolver)?)
    }

    /// Builds a validator from a config mapping.
    #[staticmethod]
    #[pyo3(name = "from_config", signature = (config, issuer_resolver = None))]
    fn py_from_config(
        config: &Bound<'_, PyAny>,
        issuer_resolver: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let resolver = resolver(issuer_resolver)?;
        let config = crate::config::from_py(Some(config))?;
        Ok(PyValidator::from_config(config, None, resolver)?)
    }

    /// Builds a validator from a `.json` or `.toml` config file.
    #[staticmethod]
    #[pyo3(signature = (path, issuer_resolver = None))]
    fn from_file(path: PathBuf, issuer_resolver: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let resolver = resolver(issuer_resolver)?;
        let built =
            guard(|| Config::from_file(&path)).and_then(|c| PyValidator::from_config(c, None, resolver));
        Ok(built?)
    }

    /// Decides about a request from every `Authorization` line it carries (two or more are
    /// `invalid_request`) and the scopes it requires; with sender constraints on, also its
    /// `DPoP` lines, the connection's client certificate (DER bytes) and other header fields
    /// (the trusted proxy's certificate header). Blocks this thread with the GIL released.
    #[pyo3(signature = (
        authorization, scopes = None, *, method = None, url = None, dpop = None,
        client_certificate = None, headers = None, tenant = None
    ))]
    #[expect(clippy::too_many_arguments, reason = "one keyword argument per request input")]
    fn validate_request<'py>(
        &self,
        py: Python<'py>,
        authorization: &Bound<'py, PyAny>,
        scopes: Option<&Bound<'py, PyAny>>,
        method: Option<String>,
        url: Option<String>,
        dpop: Option<&Bound<'py, PyAny>>,
        client_certificate: Option<&[u8]>,
        headers: Option<&Bound<'py, PyAny>>,
        tenant: Option<String>,
    ) -> PyResult<Outcome> {
        let request = Extras::from_py(dpop, client_certificate, headers)?.request(
            authorization,
            scopes,
            method,
            url,
            tenant,
        )?;
        self.decide(py, move |core| core.decide(&request))
    }

    /// Awaitable form of `validate_request`, for asyncio.
    #[pyo3(signature = (
        authorization, scopes = None, *, method = None, url = None, dpop = None,
        client_certificate = None, headers = None, tenant = None
    ))]
    #[expect(clippy::too_many_arguments, reason = "one keyword argument per request input")]
    fn validate_request_async<'py>(
        &self,
        py: Python<'py>,
        authorization: &Bound<'py, PyAny>,
        scopes: Option<&Bound<'py, PyAny>>,
        method: Option<String>,
        url: Option<String>,
        dpop: Option<&Bound<'py, PyAny>>,
        client_certificate: Option<&[u8]>,
        headers: Option<&Bound<'py, PyAny>>,
        tenant: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let request = Extras::from_py(dpop, client_certificate, headers)?.request(
            authorization,
            scopes,
            method,
            url,
            tenant,
        )?;
        self.decide_async(py, move |core| core.decide(&request))
    }

    /// The request header a trusted proxy puts the client certificate in
    /// (`client_certificate_header`), lower-cased, or `None`: what an adapter passes in
    /// `headers`.
    #[getter]
    fn client_certificate_header(&self) -> Option<String> {
        self.api.client_certificate_header.as_ref().map(|h| h.to_ascii_lowercase())
    }

    /// Forgets what this validator remembers about `token` (its cached introspection verdict,
    /// a remembered JWT verdict), so that its next use is decided afresh; the GIL is released.
    /// Raises `UnavailableError` when a shared tier is configured but could not be told.
    fn forget(&self, py: Python<'_>, token: String) -> PyResult<()> {
        let core = self.current()?;
        let handle = runtime::handle()?;
        let forgotten = py.detach(|| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handle.block_on(core.forget(&token))))
        });
        Ok(flatten(forgotten, |_| None)?)
    }

    /// Validates `token`, requiring `scopes`. A JWT verified before is answered with the GIL
    /// held (a hash and a lookup: releasing the GIL would cost more); anything else blocks
    /// this thread with the GIL released.
    #[pyo3(signature = (token, scopes = None))]
    fn validate<'py>(
        &self,
        py: Python<'py>,
        token: &str,
        scopes: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Outcome> {
        let scopes = strings(scopes, "scopes")?;
        let core = self.current()?;
        match catch_unwind(AssertUnwindSafe(|| core.decide_token_remembered(token, &scopes))) {
            Ok(Ok(Decision::Ready(result))) => Ok(Outcome::new(Ok(result), &core)),
            Ok(Ok(pending)) => self.decide(py, move |_| pending),
            Ok(Err(rest)) => self.decide(py, move |_| rest.decide()),
            Err(panic) => Ok(Outcome::new(Err(panic), &core)),
        }
    }

    /// Validates the bearer token of one `Authorization` header value (None if absent).
    #[pyo3(signature = (authorization, scopes = None))]
    fn validate_header<'py>(
        &self,
        py: Python<'py>,
        authorization: Option<String>,
        scopes: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Outcome> {
        let request =
            request(authorization.into_iter().collect(), strings(scopes, "scopes")?, None, None, None);
        self.decide(py, move |core| core.decide(&request))
    }

    /// Awaitable form of `validate`, for asyncio.
    #[pyo3(signature = (token, scopes = None))]
    fn validate_async<'py>(
        &self,
        py: Python<'py>,
        token: String,
        scopes: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let scopes = strings(scopes, "scopes")?;
        self.decide_async(py, move |core| core.decide_token(&token, &scopes))
    }

    /// Awaitable form of `validate_header`, for asyncio.
    #[pyo3(signature = (authorization, scopes = None))]
    fn validate_header_async<'py>(
        &self,
        py: Python<'py>,
        authorization: Option<String>,
        scopes: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let request =
            request(authorization.into_iter().collect(), strings(scopes, "scopes")?, None, None, None);
        self.decide_async(py, move |core| core.decide(&request))
    }

    /// Requests this validator made and decisions it took: `introspection_requests`,
    /// `jwks_fetches`, `accepted`, `refused`, `unrouted` (many issuers: refused before any
    /// issuer was chosen, counted in `refused` too) and `shared` (the shared tier's counters).
    /// With many issuers, the sum over them.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        stats_dict(py, &self.current()?.stats())
    }

    /// Each issuer's counters, as `stats()` gives them, keyed by issuer: the configured ones
    /// in order, then those the resolver added (still kept). One issuer's validator has one.
    fn stats_by_issuer<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let dict = PyDict::new(py);
        for (issuer, stats) in self.current()?.stats_by_issuer() {
            dict.set_item(issuer, stats_dict(py, &stats)?)?;
        }
        Ok(dict)
    }

    /// With `issuer_resolver`: `(kept, declined)`, how many issuers it approved are kept and
    /// how many it declined are remembered; `(0, 0)` without one.
    fn resolver_entries(&self) -> PyResult<(u64, u64)> {
        Ok(self.current()?.resolver_entries())
    }

    /// What this validator counted: decisions by outcome, source and cache tier, calls to
    /// the authorization server by endpoint and result, the JWKS, single-flight joins
    /// (the core's `MetricsSnapshot`, as a dict).
    fn metrics<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        crate::metrics::to_py(py, &self.current()?.metrics())
    }

    /// Whether the issuer looks able to decide now: endpoints known, JWKS loaded and fresh,
    /// when the authorization server last answered and the last failed call (the core's
    /// `Health`, as a dict).
    fn health<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        crate::metrics::to_py(py, &self.current()?.health())
    }

    /// The configured issuer (with many issuers, the first entry's; `stats_by_issuer()` names
    /// them all).
    #[getter]
    fn issuer(&self) -> String {
        self.api.issuer.clone()
    }

    /// The configured canonical URI of this API (RFC 8707), or `None`.
    #[getter]
    fn resource(&self) -> Option<String> {
        self.api.resource.clone()
    }

    /// The RFC 9728 metadata document, serialized, when `resource` is set.
    #[getter]
    fn resource_metadata_json(&self) -> PyResult<Option<String>> {
        Ok(self.current()?.resource_metadata_json().map(str::to_owned))
    }

    /// Where the metadata document lives, when `resource` is set.
    #[getter]
    fn resource_metadata_url(&self) -> PyResult<Option<String>> {
        Ok(self.current()?.resource_metadata_url().map(str::to_owned))
    }

    /// The path part of `resource_metadata_url`.
    #[getter]
    fn resource_metadata_path(&self) -> PyResult<Option<String>> {
        Ok(self.current()?.resource_metadata_path().map(str::to_owned))
    }

    /// The configured `required_scopes`.
    #[getter]
    fn required_scopes(&self) -> Vec<String> {
        self.api.required_scopes.clone()
    }

    fn __repr__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        if self.config.issuers.is_empty() {
            return PyString::new(py, "Validator(issuer={!r})")
                .call_method1("format", (&self.config.issuer,));
        }
        let issuers: Vec<&str> = self.config.issuers.iter().map(|c| c.issuer.as_str()).collect();
        PyString::new(py, "Validator(issuers={!r})").call_method1("format", (issuers,))
    }

    /// Test hook (feature `test-hooks`): a validator whose clock stands still at `now`
    /// (seconds since the epoch, finite and not negative).
    #[cfg(feature = "test-hooks")]
    #[staticmethod]
    fn _with_fixed_clock(config: &Bound<'_, PyAny>, now: f64) -> PyResult<Self> {
        let now = std::time::Duration::try_from_secs_f64(now).map_err(|_| {
            pyo3::exceptions::PyValueError::new_err("`now` must be a finite, non-negative number of seconds")
        })?;
        let clock: SharedClock = Arc::new(bearerguard::ManualClock::new(now));
        let built =
            crate::config::from_py(Some(config)).and_then(|c| PyValidator::from_config(c, Some(clock), None));
        Ok(built?)
    }

    /// Test hook (feature `test-hooks`): panics inside the sync or async path, to prove what
    /// Python sees.
    #[cfg(feature = "test-hooks")]
    fn _panic_for_tests<'py>(&self, py: Python<'py>, asynchronous: bool) -> PyResult<Bound<'py, PyAny>> {
        let core = self.current()?;
        if asynchronous {
            return awaitable(py, core, async { panic_for_tests() });
        }
        Outcome::new(catch_unwind(panic_for_tests), &core).into_pyobject(py).map(Bound::into_any)
    }
}

#[cfg(feature = "test-hooks")]
#[expect(clippy::panic, reason = "the test hook proves a panic reaches Python as BearerGuardError")]
fn panic_for_tests() -> Result<Arc<TokenInfo>, Error> {
    panic!("test panic")
}
