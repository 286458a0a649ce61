//! `Validator`: the core validator behind a sync call (GIL released) and an awaitable one.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bearerguard::{Config, Error, ManualClock, SharedClock, TokenInfo, Validator};
use futures_util::FutureExt;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::claims::PyTokenInfo;
use crate::errors::{Failure, flatten, guard};
use crate::runtime::{self, Tokio};

/// Validates bearer tokens for one issuer; share one per application.
#[pyclass(frozen, module = "bearerguard", name = "Validator")]
pub struct PyValidator {
    config: Config,
    clock: Option<SharedClock>,
    /// The pid the core validator was built in, and the validator. Locked only while attached
    /// to Python, so never held by another thread when the process forks.
    core: Mutex<(u32, Validator)>,
}

fn build(config: &Config, clock: &Option<SharedClock>) -> Result<Validator, Failure> {
    guard(|| match clock {
        Some(clock) => Validator::with_clock(config.clone(), Arc::clone(clock)),
        None => Validator::new(config.clone()),
    })
}

fn config_from(obj: Option<&Bound<'_, PyAny>>) -> Result<Config, Failure> {
    let value = match obj {
        Some(obj) => crate::convert::to_json(obj, "")?,
        None => serde_json::Value::Object(Default::default()),
    };
    guard(|| Config::from_value(value))
}

/// A validation result, turned into a `TokenInfo` or raised once the GIL is held.
struct Outcome(Result<Arc<TokenInfo>, Failure>);

impl Outcome {
    fn new(result: std::thread::Result<Result<Arc<TokenInfo>, Error>>, core: &Validator) -> Self {
        Outcome(flatten(result).map_err(|f| match f {
            Failure::Core(e, _) => {
                let www = core.www_authenticate(&e);
                Failure::Core(e, www)
            }
            panic => panic,
        }))
    }
}

impl<'py> IntoPyObject<'py> for Outcome {
    type Target = PyTokenInfo;
    type Output = Bound<'py, PyTokenInfo>;
    type Error = PyErr;

    fn into_pyobject(self, py: Python<'py>) -> PyResult<Self::Output> {
        let info = self.0?;
        Bound::new(py, PyTokenInfo::new(py, info)?)
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

impl PyValidator {
    fn from_config(config: Config, clock: Option<SharedClock>) -> Result<Self, Failure> {
        let core = build(&config, &clock)?;
        Ok(PyValidator { config, clock, core: Mutex::new((std::process::id(), core)) })
    }

    /// The core validator for this process. In a forked child the inherited one is leaked,
    /// not used: its connection pool and tasks belong to the parent's runtime.
    fn current(&self) -> PyResult<Validator> {
        let mut slot = self.core.lock().unwrap_or_else(PoisonError::into_inner);
        let pid = std::process::id();
        if slot.0 != pid {
            let fresh = build(&self.config, &self.clock)?;
            std::mem::forget(std::mem::replace(&mut slot.1, fresh));
            slot.0 = pid;
        }
        Ok(slot.1.clone())
    }
}

/// The token of an `Authorization` header value, parsed by the core.
fn header_token(authorization: Option<String>) -> Result<String, Error> {
    bearerguard::bearer_token(authorization.as_deref()).map(str::to_owned)
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

impl PyValidator {
    /// Validates with the GIL released: at once when the core already knows the answer
    /// (`validate_now`), else blocking on the runtime.
    fn check(&self, py: Python<'_>, token: Result<String, Error>, scopes: Vec<String>) -> PyResult<Outcome> {
        let core = self.current()?;
        let handle = runtime::handle()?;
        let result = py.detach(|| {
            catch_unwind(AssertUnwindSafe(|| {
                let token = token?;
                core.validate_now(&token, &scopes)
                    .unwrap_or_else(|| handle.block_on(core.validate_with_scopes(&token, &scopes)))
            }))
        });
        Ok(Outcome::new(result, &core))
    }

    /// The awaitable form: a finished future when the core already knows the answer (no
    /// thread hop), else one completed by the runtime.
    fn check_async<'py>(
        &self,
        py: Python<'py>,
        token: Result<String, Error>,
        scopes: Vec<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let core = self.current()?;
        let token = match token {
            Ok(token) => token,
            Err(e) => return done(py, Outcome::new(Ok(Err(e)), &core)),
        };
        if let Some(now) = catch_unwind(AssertUnwindSafe(|| core.validate_now(&token, &scopes))).transpose() {
            return done(py, Outcome::new(now, &core));
        }
        let task = core.clone();
        awaitable(py, core, async move { task.validate_with_scopes(&token, &scopes).await })
    }
}

#[pymethods]
impl PyValidator {
    /// Builds a validator from keyword arguments named like the core's config fields.
    #[new]
    #[pyo3(signature = (**config))]
    fn new(config: Option<&Bound<'_, PyDict>>) -> PyResult<Self> {
        let config = config_from(config.map(|c| c.as_any()))?;
        Ok(PyValidator::from_config(config, None)?)
    }

    /// Builds a validator from a config mapping.
    #[staticmethod]
    #[pyo3(name = "from_config")]
    fn py_from_config(config: &Bound<'_, PyAny>) -> PyResult<Self> {
        let config = config_from(Some(config))?;
        Ok(PyValidator::from_config(config, None)?)
    }

    /// Builds a validator from a `.json` or `.toml` config file.
    #[staticmethod]
    fn from_file(path: PathBuf) -> PyResult<Self> {
        let built = guard(|| Config::from_file(&path)).and_then(|c| PyValidator::from_config(c, None));
        Ok(built?)
    }

    /// Test hook: a validator whose clock stands still at `now` (seconds since the epoch).
    #[staticmethod]
    fn _with_fixed_clock(config: &Bound<'_, PyAny>, now: f64) -> PyResult<Self> {
        let clock: SharedClock = Arc::new(ManualClock::new(Duration::from_secs_f64(now.max(0.0))));
        let built = config_from(Some(config)).and_then(|c| PyValidator::from_config(c, Some(clock)));
        Ok(built?)
    }

    /// Validates `token`, requiring `scopes`; blocks this thread with the GIL released.
    #[pyo3(signature = (token, scopes = None))]
    fn validate<'py>(
        &self,
        py: Python<'py>,
        token: String,
        scopes: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Outcome> {
        self.check(py, Ok(token), crate::convert::scopes(scopes)?)
    }

    /// Validates the bearer token of an `Authorization` header value (None if absent).
    #[pyo3(signature = (authorization, scopes = None))]
    fn validate_header<'py>(
        &self,
        py: Python<'py>,
        authorization: Option<String>,
        scopes: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Outcome> {
        self.check(py, header_token(authorization), crate::convert::scopes(scopes)?)
    }

    /// Awaitable form of `validate`, for asyncio.
    #[pyo3(signature = (token, scopes = None))]
    fn validate_async<'py>(
        &self,
        py: Python<'py>,
        token: String,
        scopes: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.check_async(py, Ok(token), crate::convert::scopes(scopes)?)
    }

    /// Awaitable form of `validate_header`, for asyncio.
    #[pyo3(signature = (authorization, scopes = None))]
    fn validate_header_async<'py>(
        &self,
        py: Python<'py>,
        authorization: Option<String>,
        scopes: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.check_async(py, header_token(authorization), crate::convert::scopes(scopes)?)
    }

    /// Requests this validator made: `introspection_requests`, `jwks_fetches`.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let stats = self.current()?.stats();
        let dict = PyDict::new(py);
        dict.set_item("introspection_requests", stats.introspection_requests)?;
        dict.set_item("jwks_fetches", stats.jwks_fetches)?;
        Ok(dict)
    }

    /// Test hook: panics inside the sync or async path, to prove what Python sees.
    fn _panic_for_tests<'py>(&self, py: Python<'py>, asynchronous: bool) -> PyResult<Bound<'py, PyAny>> {
        let core = self.current()?;
        if asynchronous {
            return awaitable(py, core, async { panic_for_tests() });
        }
        Outcome::new(catch_unwind(panic_for_tests), &core).into_pyobject(py).map(Bound::into_any)
    }

    fn __repr__<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        PyString::new(py, "Validator(issuer={!r})").call_method1("format", (&self.config.issuer,))
    }
}

#[expect(clippy::panic, reason = "the test hook proves a panic reaches Python as BearerGuardError")]
fn panic_for_tests() -> Result<Arc<TokenInfo>, Error> {
    panic!("test panic")
}
