//! Time source, injectable so tests can drive expiry, TTLs, cooldowns and stale windows.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of wall-clock time (seconds since the Unix epoch, with sub-second precision).
pub trait Clock: Send + Sync + 'static {
    /// Now, as a duration since the Unix epoch.
    fn now(&self) -> Duration;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        // A clock before 1970 is a broken host; treating it as the epoch makes every
        // token look far in the future of `iat` checks, so they fail closed.
        SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
    }
}

/// A clock that only moves when told to, for tests.
///
/// ```
/// use bearerguard::{Clock, ManualClock};
/// use std::time::Duration;
/// let clock = ManualClock::new(Duration::from_secs(1_000));
/// clock.advance(Duration::from_secs(5));
/// assert_eq!(clock.now(), Duration::from_secs(1_005));
/// ```
#[derive(Debug, Default)]
pub struct ManualClock {
    micros: AtomicU64,
}

impl ManualClock {
    /// A clock set to `start` since the epoch.
    pub fn new(start: Duration) -> Self {
        ManualClock { micros: AtomicU64::new(duration_micros(start)) }
    }

    /// A clock set to the current system time.
    pub fn starting_now() -> Arc<Self> {
        Arc::new(ManualClock::new(SystemClock.now()))
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        self.micros.fetch_add(duration_micros(by), Ordering::SeqCst);
    }

    /// Sets the clock.
    pub fn set(&self, to: Duration) {
        self.micros.store(duration_micros(to), Ordering::SeqCst);
    }
}

fn duration_micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX)
}

impl Clock for ManualClock {
    fn now(&self) -> Duration {
        Duration::from_micros(self.micros.load(Ordering::SeqCst))
    }
}

impl std::fmt::Debug for dyn Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Clock({:?})", self.now())
    }
}

/// Shared handle to a clock.
pub type SharedClock = Arc<dyn Clock>;
