//! The one place where core errors (and panics) become JavaScript errors.
//!
//! A core [`Error`] becomes a [`Refusal`] (plain data, `Send`, so it can be built on a runtime
//! thread), and a `Refusal` becomes a JavaScript `Error` created by napi with the core's
//! stable code as its `.code` (napi's own error code: a custom status string), the core's fixed
//! detail as its message, and three own properties: `status` (HTTP), `wwwAuthenticate` (the
//! RFC 6750 challenge, or `null`) and, for `insufficient_scope`, `requiredScopes`. The core
//! error's `source()` chain crosses as `cause`: plain `Error`s with the sources' messages (the
//! core keeps URLs and secrets out of them, e.g. reqwest errors `without_url`).
//! `errors.js` turns it into the class for its code. Nothing here looks at tokens.

use bearerguard::Error;
use napi::bindgen_prelude::{JsObjectValue, JsValue, Object};
use napi::{Env, JsError, Status};

/// The code of a panic caught in the binding or the core: a bug, answered with HTTP 500.
pub const INTERNAL: &str = "internal";

/// A refusal on its way to JavaScript.
pub struct Refusal {
    code: &'static str,
    status: u16,
    message: String,
    www_authenticate: Option<String>,
    required_scopes: Option<Vec<String>>,
    /// The nonce to send as `DPoP-Nonce` (RFC 9449 §9), when the validator has nonces on.
    dpop_nonce: Option<String>,
    /// The messages of the `source()` chain, outermost first.
    causes: Vec<String>,
}

/// Links of a `source()` chain carried over; deeper ones are dropped.
const MAX_CAUSES: usize = 8;

impl Refusal {
    /// The refusal for a core `error`; `www_authenticate` is the header value computed by the
    /// validator (with its realm), or `None` when there is no validator yet.
    pub fn from_core(error: &Error, www_authenticate: Option<String>) -> Self {
        Refusal {
            code: error.code(),
            status: error.http_status(),
            message: error.detail().to_owned(),
            www_authenticate,
            required_scopes: error.required_scopes().map(<[String]>::to_vec),
            dpop_nonce: error.dpop_nonce().map(str::to_owned),
            causes: std::iter::successors(std::error::Error::source(error), |e| e.source())
                .take(MAX_CAUSES)
                .map(ToString::to_string)
                .collect(),
        }
    }

    /// The refusal for a caught panic. The panic's own message is not passed on: it is not
    /// written for API clients and nothing guarantees what it contains.
    pub fn internal() -> Self {
        Refusal {
            code: INTERNAL,
            status: 500,
            message: "internal error in bearerguard (a bug: please report it)".to_owned(),
            www_authenticate: None,
            required_scopes: None,
            dpop_nonce: None,
            causes: Vec::new(),
        }
    }

    /// The JavaScript error as a napi error that rejects a Promise with exactly that object
    /// (it holds a reference to it). Must run on the JavaScript thread.
    pub fn into_js(self, env: &Env) -> napi::Error {
        match self.create(env) {
            Ok(error) => napi::Error::from(error.to_unknown()),
            Err(e) => e,
        }
    }

    /// Throws the JavaScript error now, for a synchronous answer; the napi error returned only
    /// tells napi that an exception is pending. Cheaper than `into_js` (no reference to make,
    /// no message to read back), which matters for refusals answered on the JavaScript thread.
    pub fn throw(self, env: &Env) -> napi::Error {
        match self.create(env).and_then(|error| env.throw(error)) {
            Ok(()) => napi::Error::new(Status::PendingException, "bearerguard refusal"),
            Err(e) => e,
        }
    }

    fn create(self, env: &Env) -> napi::Result<Object<'_>> {
        // napi's own error code: `napi_create_error` with the core's code as the status string.
        let created = JsError::from(napi::Error::new(self.code, self.message)).into_unknown(*env);
        let mut error = Object::from_raw(env.raw(), created.raw());
        error.set_named_property("status", u32::from(self.status))?;
        error.set_named_property("wwwAuthenticate", self.www_authenticate)?;
        if let Some(scopes) = self.required_scopes {
            error.set_named_property("requiredScopes", scopes)?;
        }
        if let Some(nonce) = self.dpop_nonce {
            error.set_named_property("dpopNonce", nonce)?;
        }
        // Innermost first, each the `cause` of the one outside it.
        let mut cause: Option<Object<'_>> = None;
        for message in self.causes.into_iter().rev() {
            let created = JsError::from(napi::Error::from_reason(message)).into_unknown(*env);
            let mut link = Object::from_raw(env.raw(), created.raw());
            // A source is not a bearerguard refusal: no napi status code on it.
            link.delete_named_property("code")?;
            if let Some(inner) = cause.take() {
                link.set_named_property("cause", inner)?;
            }
            cause = Some(link);
        }
        if let Some(cause) = cause {
            error.set_named_property("cause", cause)?;
        }
        Ok(error)
    }
}
