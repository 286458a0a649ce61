//! The Tokio runtime behind every call: built lazily, rebuilt after `fork`.
//!
//! A child of `fork` (gunicorn workers, `multiprocessing`) inherits the parent's runtime
//! object but none of its threads, so anything spawned on it would never run. We keep the pid
//! that built the runtime; on a new pid we build another and leak the old one (dropping it
//! would wait for threads that do not exist in this process).

use std::cell::OnceCell;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, PoisonError};

use pyo3::PyResult;
use pyo3_async_runtimes::TaskLocals;
use pyo3_async_runtimes::generic::{ContextExt, Runtime};
use tokio::runtime::Handle;

/// (pid, runtime). Locked only by threads attached to Python, so a `fork` (which runs attached)
/// never happens while another thread holds it.
static RUNTIME: Mutex<Option<(u32, Handle)>> = Mutex::new(None);

/// This process's runtime, built on first use and again after a `fork`.
pub fn handle() -> PyResult<Handle> {
    let pid = std::process::id();
    let mut slot = RUNTIME.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((owner, handle)) = &*slot
        && *owner == pid
    {
        return Ok(handle.clone());
    }
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().thread_name("bearerguard").build()?;
    let handle = Box::leak(Box::new(runtime)).handle().clone();
    *slot = Some((pid, handle.clone()));
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
