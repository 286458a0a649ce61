//! `NativeValidator`: one core [`Validator`] held by a JavaScript object.
//!
//! Two ways to validate, which `index.js` chains: `validateNow` runs on the JavaScript thread
//! and answers only what the core can answer without I/O (a cheap refusal, a JWT whose key is
//! cached, a cached introspection verdict); `validate` runs on napi's Tokio runtime and
//! answers everything. Measured on 2 cores, the inline answer for a cached-key JWT takes a
//! fraction of the ≈ 40-90 µs an async round trip through the runtime costs.

use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use bearerguard::{Config, TokenInfo, Validator};
use futures_util::FutureExt;
use napi::Result;
use napi_derive::napi;

use crate::errors;

/// A core validator. `index.js` wraps it; JavaScript code uses `Validator` from there.
#[napi]
pub struct NativeValidator {
    inner: Validator,
}

/// Requests the validator made to the authorization server (numbers, exact up to 2^53).
#[napi(object)]
pub struct NativeStats {
    /// HTTP requests to the introspection endpoint, retries included.
    pub introspection_requests: f64,
    /// HTTP fetches of the JWKS.
    pub jwks_fetches: f64,
}

#[napi]
impl NativeValidator {
    /// Builds a validator from a config object with the core's (snake_case) field names.
    /// Loads keys now; no network I/O happens before the first validation.
    #[napi(constructor)]
    pub fn new(config: serde_json::Value) -> Result<Self> {
        let built = catch_unwind(|| Config::from_value(config).and_then(Validator::new));
        match built {
            Ok(Ok(inner)) => Ok(NativeValidator { inner }),
            Ok(Err(e)) => Err(errors::to_napi(&e, None)),
            Err(_) => Err(errors::internal()),
        }
    }

    /// Test hook (not part of the typed API): a validator whose clock is fixed at `now`
    /// seconds since the epoch, so the shared cases that set `now` run in Node too.
    #[napi(factory)]
    pub fn with_fixed_clock_for_tests(config: serde_json::Value, now: f64) -> Result<Self> {
        let clock: bearerguard::SharedClock =
            Arc::new(bearerguard::ManualClock::new(std::time::Duration::from_secs_f64(now.max(0.0))));
        let built = catch_unwind(AssertUnwindSafe(|| {
            Config::from_value(config).and_then(|c| Validator::with_clock(c, clock))
        }));
        match built {
            Ok(Ok(inner)) => Ok(NativeValidator { inner }),
            Ok(Err(e)) => Err(errors::to_napi(&e, None)),
            Err(_) => Err(errors::internal()),
        }
    }

    /// The answer for `token` if the core has it without I/O: the `TokenInfo` as JSON text,
    /// a thrown refusal, or `null` when only `validate` can tell.
    #[napi]
    pub fn validate_now(&self, token: String, scopes: Vec<String>) -> Result<Option<String>> {
        answer_now(&self.inner, || self.inner.validate_now(&token, &scopes))
    }

    /// `validate_now` for an `Authorization` header value (`null` when absent).
    #[napi]
    pub fn validate_header_now(
        &self,
        authorization: Option<String>,
        scopes: Vec<String>,
    ) -> Result<Option<String>> {
        answer_now(&self.inner, || match bearerguard::bearer_token(authorization.as_deref()) {
            Ok(token) => self.inner.validate_now(token, &scopes),
            Err(e) => Some(Err(e)),
        })
    }

    /// Validates `token`, requiring `scopes`, on the runtime; resolves with the `TokenInfo`
    /// as JSON text.
    #[napi]
    pub async fn validate(&self, token: String, scopes: Vec<String>) -> Result<String> {
        answer(&self.inner, self.inner.validate_with_scopes(&token, &scopes)).await
    }

    /// Reads the bearer token from an `Authorization` header value (`null` when absent) and
    /// validates it on the runtime; resolves with the `TokenInfo` as JSON text.
    #[napi]
    pub async fn validate_header(
        &self,
        authorization: Option<String>,
        scopes: Vec<String>,
    ) -> Result<String> {
        answer(&self.inner, self.inner.validate_header(authorization.as_deref(), &scopes)).await
    }

    /// Panics inside the guard of `validate`: lets the tests prove that a panic reaches
    /// JavaScript as an `internal` error and never aborts the process. Not part of the API.
    #[napi(js_name = "__panicForTests")]
    pub async fn panic_for_tests(&self) -> Result<String> {
        #[expect(clippy::panic, reason = "the point of this function")]
        answer(&self.inner, async { panic!("deliberate panic (bearerguard test)") }).await
    }

    /// The same inside the guard of `validate_now`. Not part of the API.
    #[napi(js_name = "__panicNowForTests")]
    pub fn panic_now_for_tests(&self) -> Result<Option<String>> {
        #[expect(clippy::panic, reason = "the point of this function")]
        answer_now(&self.inner, || panic!("deliberate panic (bearerguard test)"))
    }

    /// Counters of the requests this validator made.
    #[napi]
    pub fn stats(&self) -> NativeStats {
        let stats = self.inner.stats();
        NativeStats {
            introspection_requests: stats.introspection_requests as f64,
            jwks_fetches: stats.jwks_fetches as f64,
        }
    }
}

type Outcome = bearerguard::Result<Arc<TokenInfo>>;

/// Runs a validation on the runtime thread that polls it, with panics caught.
async fn answer(validator: &Validator, validation: impl Future<Output = Outcome>) -> Result<String> {
    let outcome = AssertUnwindSafe(validation).catch_unwind().await;
    settle(validator, outcome.map_err(drop))
}

/// Runs an I/O-free validation here, with panics caught.
fn answer_now(validator: &Validator, validation: impl FnOnce() -> Option<Outcome>) -> Result<Option<String>> {
    match catch_unwind(AssertUnwindSafe(validation)) {
        Ok(None) => Ok(None),
        Ok(Some(outcome)) => settle(validator, Ok(outcome)).map(Some),
        Err(_) => settle(validator, Err(())).map(Some),
    }
}

/// The JSON text of a `TokenInfo`, or the error `errors.js` expects (`Err(())`: a panic).
fn settle(validator: &Validator, outcome: std::result::Result<Outcome, ()>) -> Result<String> {
    match outcome {
        Ok(Ok(info)) => serde_json::to_string(&JsTokenInfo::from(&*info)).map_err(|_| errors::internal()),
        Ok(Err(e)) => Err(errors::to_napi(&e, validator.www_authenticate(&e))),
        Err(()) => Err(errors::internal()),
    }
}

/// `TokenInfo` as the JavaScript API names it (camelCase), so index.js only has to
/// `JSON.parse` it; `claims` stays exactly as received.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct JsTokenInfo<'a> {
    subject: &'a Option<String>,
    client_id: &'a Option<String>,
    username: &'a Option<String>,
    scopes: &'a [String],
    audiences: &'a [String],
    issuer: &'a Option<String>,
    expires_at: Option<i64>,
    issued_at: Option<i64>,
    not_before: Option<i64>,
    jti: &'a Option<String>,
    token_type: &'a Option<String>,
    source: &'static str,
    claims: &'a serde_json::Map<String, serde_json::Value>,
}

impl<'a> From<&'a TokenInfo> for JsTokenInfo<'a> {
    fn from(info: &'a TokenInfo) -> Self {
        // Exhaustive on purpose: a field added to the core's TokenInfo stops this build until
        // the JavaScript view carries it too.
        let TokenInfo {
            subject,
            client_id,
            username,
            scopes,
            audiences,
            issuer,
            expires_at,
            issued_at,
            not_before,
            jti,
            token_type,
            source,
            claims,
        } = info;
        JsTokenInfo {
            subject,
            client_id,
            username,
            scopes,
            audiences,
            issuer,
            expires_at: *expires_at,
            issued_at: *issued_at,
            not_before: *not_before,
            jti,
            token_type,
            source: source.as_str(),
            claims,
        }
    }
}
