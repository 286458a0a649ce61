//! Test hooks, compiled only with the cargo feature `test-hooks` (off by default, so the
//! addon users build has none): a validator with a fixed clock, for the shared cases that set
//! `now`, and panics inside the guards every decision passes, to prove a panic reaches
//! JavaScript as an `internal` error and never aborts the process.

use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::{Function, ObjectRef};
use napi::{Env, Result};
use napi_derive::napi;

use crate::validator::{self, Answer, NativeValidator};

#[napi]
impl NativeValidator {
    /// A validator whose clock is fixed at `now` seconds since the epoch.
    #[napi(factory, skip_typescript)]
    pub fn with_fixed_clock_for_tests(
        env: &Env,
        config: serde_json::Value,
        materialize: Function<String, ObjectRef<false>>,
        now: f64,
    ) -> Result<Self> {
        let start = Duration::try_from_secs_f64(now).map_err(|_| {
            napi::Error::from_reason("the fixed clock needs a finite, non-negative number of seconds")
        })?;
        let clock = Arc::new(bearerguard::ManualClock::new(start));
        validator::build(env, validator::Source::Value(config), materialize, Some(clock), None)
    }

    /// Panics inside the guard of a decision: on this thread (`pending` false) or on the
    /// runtime (`pending` true), where the answer of a `Pending` decision is awaited.
    #[napi(js_name = "__panicForTests", skip_typescript)]
    pub fn panic_for_tests<'env>(&self, env: &'env Env, pending: bool) -> Result<Answer<'env>> {
        #[expect(clippy::panic, reason = "the point of this function")]
        if pending {
            validator::spawn(env, self, async { panic!("deliberate panic (bearerguard test)") })
                .map(napi::bindgen_prelude::Either::B)
        } else {
            validator::respond(env, self, || panic!("deliberate panic (bearerguard test)"))
        }
    }
}
