//! The core's `tracing` events, handed to a JavaScript callback (`setLogger` in `index.js`).
//!
//! tracing's `log` feature (enabled by this crate, not the core) turns every event into a
//! `log` record while no tracing subscriber is set, which in a Node process none is. The
//! [`Bridge`] installed as the process's `log` logger passes the core's own targets only
//! (`bearerguard::jwks` → `bearerguard.jwks`, as Python's logger names are), at or above the
//! level `setLogger` was given, to the callback through a weak thread-safe function: records
//! made on runtime threads, or on the JavaScript thread inside a decision, are queued and the
//! callback runs later on the event loop, never inside a decision, and never keeps the process
//! alive. A full queue drops the record rather than block a decision.
//!
//! What the core logs holds no token (a refusal names it by a short hash tag) and no secret.

use std::sync::{OnceLock, RwLock};

use log::{Level, LevelFilter, Log, Metadata, Record};
use napi::bindgen_prelude::Unknown;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Result, Status};
use napi_derive::napi;

/// One log record as the callback receives it.
#[napi(object)]
pub struct LogRecord {
    /// `error`, `warn`, `info`, `debug` or `trace`.
    pub level: String,
    /// Where in the core it came from: `bearerguard.jwks`, `bearerguard.endpoints`, …
    pub target: String,
    /// The event's message and fields.
    pub message: String,
}

/// Records queued for the event loop at most; beyond, a record is dropped.
const QUEUE: usize = 1024;

type Callback = ThreadsafeFunction<LogRecord, Unknown<'static>, LogRecord, Status, false, true, QUEUE>;

struct Bridge {
    callback: RwLock<Option<Callback>>,
}

static BRIDGE: OnceLock<&'static Bridge> = OnceLock::new();

impl Log for Bridge {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= log::max_level() && is_core(metadata.target())
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let Ok(callback) = self.callback.read() else { return };
        if let Some(callback) = callback.as_ref() {
            let record = LogRecord {
                level: record.level().as_str().to_ascii_lowercase(),
                target: record.target().replace("::", "."),
                message: record.args().to_string(),
            };
            // A closed or full queue drops the record: logging never blocks or fails a decision.
            let _ = callback.call(record, ThreadsafeFunctionCallMode::NonBlocking);
        }
    }

    fn flush(&self) {}
}

fn is_core(target: &str) -> bool {
    target == "bearerguard" || target.starts_with("bearerguard::")
}

fn level_filter(level: &str) -> Result<LevelFilter> {
    Ok(match level {
        "error" => Level::Error.to_level_filter(),
        "warn" => Level::Warn.to_level_filter(),
        "info" => Level::Info.to_level_filter(),
        "debug" => Level::Debug.to_level_filter(),
        "trace" => Level::Trace.to_level_filter(),
        "off" => LevelFilter::Off,
        other => {
            return Err(napi::Error::new(
                Status::InvalidArg,
                format!("bearerguard: unknown log level {other:?} (error, warn, info, debug, trace or off)"),
            ));
        }
    })
}

/// Sends the core's log records at `level` or above to `callback` (`null` stops them). The
/// last call wins; one callback serves the process.
#[napi]
pub fn set_logger(
    #[napi(ts_arg_type = "((record: LogRecord) => void) | null")] callback: Option<Callback>,
    level: String,
) -> Result<()> {
    let filter = level_filter(&level)?;
    let bridge = *BRIDGE.get_or_init(|| {
        let bridge: &'static Bridge = Box::leak(Box::new(Bridge { callback: RwLock::new(None) }));
        // Another `log` logger in this addon's own globals can only be this one: keep it.
        let _ = log::set_logger(bridge);
        bridge
    });
    let on = callback.is_some();
    if let Ok(mut slot) = bridge.callback.write() {
        *slot = callback;
    }
    log::set_max_level(if on { filter } else { LevelFilter::Off });
    Ok(())
}
