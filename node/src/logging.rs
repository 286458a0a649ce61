//! `setLogger`: the core's `tracing` events handed to a JavaScript callback.
//!
//! This crate turns on tracing's `log` feature (the core does not): with no `tracing`
//! subscriber installed, as in Node, every event is also a `log` record. [`JsLogger`] is the
//! process's `log` logger; it keeps the targets of bearerguard's crates and queues each record
//! on a napi threadsafe function. The adapter is hand-written: no crate bridges `log` or
//! `tracing` to a napi callback.
//!
//! The threadsafe function is weak (it never keeps the process alive) and bounded; a record is
//! queued without blocking (dropped when the queue is full or the logger is being replaced), so
//! the thread that logs, a runtime thread or the JavaScript thread, never waits for JavaScript.
//! The callback runs on the event loop, after the call that logged. The core never logs a
//! token (a refusal carries a hash tag) nor a secret, and decisions that accept log nothing.

use std::sync::{Once, RwLock};

use log::{LevelFilter, Log, Metadata, Record};
use napi::Result;
use napi::bindgen_prelude::{Function, Unknown};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;

/// Records waiting for the event loop; past this many, new ones are dropped.
const QUEUE: usize = 1024;

/// One log event, as the callback receives it.
#[napi(object)]
pub struct LogRecord {
    /// `error`, `warn`, `info`, `debug` or `trace`.
    pub level: String,
    /// The Rust module that logged, e.g. `bearerguard::jwks`.
    pub target: String,
    /// The message, then the event's fields as `name=value`.
    pub message: String,
}

type Callback = ThreadsafeFunction<LogRecord, Unknown<'static>, LogRecord, napi::Status, false, true, QUEUE>;

struct JsLogger {
    callback: RwLock<Option<Callback>>,
}

static LOGGER: JsLogger = JsLogger { callback: RwLock::new(None) };
static INSTALL: Once = Once::new();

impl Log for JsLogger {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        // bearerguard's own events only: the HTTP and TLS crates below log too, about
        // connections and headers, which are not this API's to pass on.
        let target = metadata.target();
        target.starts_with("bearerguard") && metadata.level() <= log::max_level()
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        // try_read: a logger being replaced drops the record instead of waiting.
        let Ok(guard) = self.callback.try_read() else { return };
        if let Some(callback) = guard.as_ref() {
            let record = LogRecord {
                level: record.level().as_str().to_ascii_lowercase(),
                target: record.target().to_owned(),
                message: record.args().to_string(),
            };
            // A full queue or a closing environment drops the record.
            let _ = callback.call(record, ThreadsafeFunctionCallMode::NonBlocking);
        }
    }

    fn flush(&self) {}
}

/// Sends the core's log records at `level` or above to `callback`; `None` stops.
#[napi(ts_args_type = "callback: ((record: LogRecord) => void) | null, level: string")]
pub fn set_logger(callback: Option<Function<'_, LogRecord, Unknown<'static>>>, level: String) -> Result<()> {
    let level: LevelFilter =
        level.parse().map_err(|_| napi::Error::from_reason(format!("unknown log level `{level}`")))?;
    let callback = match callback {
        Some(f) => Some(
            f.build_threadsafe_function::<LogRecord>()
                .weak::<true>()
                .callee_handled::<false>()
                .max_queue_size::<QUEUE>()
                .build()?,
        ),
        None => None,
    };
    INSTALL.call_once(|| {
        // Fails only when another `log` logger was installed first; then records go there.
        let _ = log::set_logger(&LOGGER);
    });
    let on = callback.is_some();
    let old = {
        let mut slot = LOGGER.callback.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        std::mem::replace(&mut *slot, callback)
    };
    // Dropped outside the lock: releasing a threadsafe function is napi work.
    drop(old);
    log::set_max_level(if on { level } else { LevelFilter::Off });
    Ok(())
}
