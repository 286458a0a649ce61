//! The Tokio runtime behind every call: built lazily, rebuilt after `fork`.
//!
//! A child of `fork` (gunicorn workers, `multiprocessing`) inherits the parent's runtime
//! object but none of its threads, so anything spawned on it would never run. Each `fork`
//! Python makes bumps [`forks`] in the child (`os.register_at_fork`, registered when the module
//! loads: no system call per decision); on a new count we build another runtime and leak the
//! old one (dropping it would wait for threads that do not exist in this process).

use std::cell::OnceCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use pyo3::prelude::*;
use pyo3::types::PyDict;
use pyo3_async_runtimes::TaskLocals;
use pyo3_async_runtimes::generic::{ContextExt, Runtime};
use tokio::runtime::Handle;

static FORKS: AtomicU64 = AtomicU64::new(0);

/// How many `fork`s led to this process: what runtimes and validators compare to tell they
/// were built in this process.
pub fn forks() -> u64 {
    FORKS.load(Ordering::Acquire)
}

#[pyfunction]
fn after_fork_in_child() {
    FORKS.fetch_add(1, Ordering::AcqRel);
}

/// Registers the `fork` counter with `os.register_at_fork`.
pub fn count_forks(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let hook = wrap_pyfunction!(after_fork_in_child, m)?;
    let kwargs = PyDict::new(m.py());
    kwargs.set_item("after_in_child", hook)?;
    m.py().import("os")?.getattr("register_at_fork")?.call((), Some(&kwargs))?;
    Ok(())
}

/// (forks, runtime). Locked only by threads attached to Python, so a `fork` (which runs
/// attached) never happens while another thread holds it.
static RUNTIME: Mutex<Option<(u64, Handle)>> = Mutex::new(None);

/// This process's runtime, built on first use and again after a `fork`.
pub fn handle() -> PyResult<Handle> {
    let forks = forks();
    let mut slot = RUNTIME.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((owner, handle)) = &*slot
        && *owner == forks
    {
        return Ok(handle.clone());
    }
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("bearerguard").build()?;
    let handle = Box::leak(Box::new(runtime)).handle().clone();
    *slot = Some((forks, handle.clone()));
    Ok(handle)
}

tokio::task_local! {
    static TASK_LOCALS: OnceCell<TaskLocals>;
}

/// pyo3-async-runtimes' asyncio bridge, spawning on [`handle`]'s runtime instead of its own
/// process-wide one (which is not rebuilt after `fork`). Spawns happen either inside one of
/// our tasks or under the `Handle::enter` guard taken by the caller of `future_into_py`.
pub struct Tokio;

impl Runtime for Tokio {
    type JoinError = tokio::task::JoinError;
    type JoinHandle = tokio::task::JoinHandle<()>;

    fn spawn<F: Future<Output = ()> + Send + 'static>(fut: F) -> Self::JoinHandle {
        Handle::current().spawn(fut)
    }

    fn spawn_blocking<F: FnOnce() + Send + 'static>(f: F) -> Self::JoinHandle {
        Handle::current().spawn_blocking(f)
    }
}

impl ContextExt for Tokio {
    fn scope<F, R>(locals: TaskLocals, fut: F) -> Pin<Box<dyn Future<Output = R> + Send>>
    where
        F: Future<Output = R> + Send + 'static,
    {
        let cell = OnceCell::from(locals);
        Box::pin(TASK_LOCALS.scope(cell, fut))
    }

    fn get_task_locals() -> Option<TaskLocals> {
        TASK_LOCALS.try_with(|cell| cell.get().cloned()).unwrap_or_default()
    }
}
