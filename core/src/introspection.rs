//! RFC 7662 token introspection (and RFC 9701 signed responses).
//!
//! A token is active only if the server answered `200` with a strict JSON object whose
//! `active` is the boolean `true`. Anything else the server does — refusing our
//! credentials, 5xx, timeouts, HTML, `"active":"true"` — is `unavailable` or
//! `configuration`, never "invalid token", so an outage never looks like a logout and a
//! broken server never lets a token through.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use reqwest::header::{ACCEPT, HeaderMap, HeaderValue};
use serde_json::{Map, Value};
use tokio::sync::Semaphore;
use url::Url;

use crate::algorithms::Alg;
use crate::client_auth::{AudienceTargets, ClientAuth};
use crate::clock::SharedClock;
use crate::error::{Error, Result};
use crate::http::{HttpClient, HttpResponse};
use crate::jwks::Jwks;
use crate::jwt::{TypPolicy, parse_compact};

/// What the server said about a token.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    /// `active: true`, with every member of the response.
    Active(Map<String, Value>),
    /// `active: false`.
    Inactive,
}

/// Media type of RFC 9701 responses.
pub const JWT_RESPONSE_TYPE: &str = "application/token-introspection+jwt";

/// Reads a plain RFC 7662 JSON body. Only a strict object with boolean `active` counts.
pub fn parse_json_response(body: &[u8]) -> Result<Answer> {
    let doc = crate::json::parse_object(body)
        .map_err(|_| Error::unavailable("introspection: the response is not a strict JSON object"))?;
    answer_from_object(doc)
}

fn answer_from_object(doc: Map<String, Value>) -> Result<Answer> {
    match doc.get("active") {
        Some(Value::Bool(true)) => Ok(Answer::Active(doc)),
        Some(Value::Bool(false)) => Ok(Answer::Inactive),
        _ => Err(Error::unavailable("introspection: the response has no boolean `active`")),
    }
}

/// Classifies a non-200 answer.
fn status_error(response: &HttpResponse) -> Error {
    let oauth_error = crate::json::parse_object(&response.body)
        .ok()
        .and_then(|doc| doc.get("error").and_then(Value::as_str).map(str::to_owned));
    match response.status {
        400 if oauth_error.as_deref() == Some("unsupported_token_type") => {
            Error::invalid_token("the authorization server does not introspect this kind of token")
        }
        400 | 401 | 403 => Error::config(format!(
            "introspection: the authorization server refused our client credentials or request \
             (HTTP {}{})",
            response.status,
            match oauth_error.as_deref() {
                Some(
                    e @ ("invalid_client" | "unauthorized_client" | "invalid_request" | "access_denied"),
                ) => {
                    format!(", {e}")
                }
                _ => String::new(),
            }
        )),
        300..=399 => {
            Error::unavailable(format!("introspection: HTTP {} redirect not followed", response.status))
        }
        status => Error::unavailable(format!("introspection: HTTP status {status}")),
    }
}

/// One introspection endpoint with our credentials.
pub(crate) struct Introspector {
    pub endpoint: Url,
    pub http: HttpClient,
    pub auth: Arc<ClientAuth>,
    pub issuer: String,
    pub token_endpoint: Option<Url>,
    pub semaphore: Semaphore,
    pub retry: bool,
    pub max_bytes: usize,
    /// `Some` when RFC 9701 signed responses are required.
    pub signed: Option<Signed>,
    pub clock: SharedClock,
    /// The total deadline of one call: permit waits, attempts and bodies together.
    pub deadline: Duration,
    /// The bound on introspections of tokens not seen before, if configured.
    pub new_tokens: Option<NewTokenLimit>,
    pub requests: AtomicU64,
}

/// A bound on introspections of tokens never seen before (`introspection.max_new_tokens_per_sec`):
/// a token bucket holding one second's worth, refilled continuously. Written by hand (a dozen
/// lines) because it must run on the validator's injectable clock; `governor` keeps its own.
pub(crate) struct NewTokenLimit {
    per_sec: f64,
    /// Tokens left, and when they were counted.
    bucket: std::sync::Mutex<(f64, Duration)>,
}

impl NewTokenLimit {
    /// `None` for 0, which means no limit.
    pub fn new(per_sec: u64) -> Option<Self> {
        (per_sec > 0).then(|| NewTokenLimit {
            per_sec: per_sec as f64,
            bucket: std::sync::Mutex::new((per_sec as f64, Duration::ZERO)),
        })
    }

    /// Takes one token from the bucket at `now`, if one is left.
    pub fn admit(&self, now: Duration) -> bool {
        let mut bucket = self.bucket.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (tokens, at) = *bucket;
        let refilled = (tokens + now.saturating_sub(at).as_secs_f64() * self.per_sec).min(self.per_sec);
        let admitted = refilled >= 1.0;
        *bucket = (if admitted { refilled - 1.0 } else { refilled }, now.max(at));
        admitted
    }
}

/// What an RFC 9701 signed answer is checked against.
pub(crate) struct Signed {
    pub jwks: Arc<Jwks>,
    pub algorithms: Vec<Alg>,
    /// Clock skew allowed on the outer JWT's `exp`, `nbf` and `iat`, in seconds.
    pub leeway: u64,
    /// Oldest outer `iat` accepted, in seconds: a captured answer is not replayable forever.
    pub max_age: u64,
}

impl Introspector {
    /// Asks the server about `token`. Returns the answer and the response size.
    ///
    /// One deadline covers the whole call — waiting for a concurrency permit, every attempt
    /// and its body — so a hung server cannot hold callers past `http.timeout_ms` however
    /// many are queued behind the permits.
    pub async fn introspect(&self, token: &str) -> Result<(Answer, usize)> {
        if let Some(limit) = &self.new_tokens
            && !limit.admit(self.clock.now())
        {
            return Err(Error::unavailable(
                "introspection: too many new tokens per second (introspection.max_new_tokens_per_sec)",
            ));
        }
        let timed_out = || Error::unavailable("introspection: the authorization server timed out");
        tokio::time::timeout(self.deadline, self.attempts(token)).await.unwrap_or_else(|_| Err(timed_out()))
    }

    async fn attempts(&self, token: &str) -> Result<(Answer, usize)> {
        let attempts = if self.retry { 2 } else { 1 };
        let mut last = Error::unavailable("introspection: no attempt made");
        for attempt in 1..=attempts {
            let _permit = self
                .semaphore
                .acquire()
                .await
                .map_err(|_| Error::unavailable("introspection: shutting down"))?;
            // Built anew for every attempt: a client assertion is never reused.
            let (headers, form) = self.request(token)?;
            self.requests.fetch_add(1, Ordering::Relaxed);
            match self.http.post_form(&self.endpoint, headers, form, self.max_bytes).await {
                Err(failure) => {
                    let retry = failure.is_retryable();
                    last = failure.into_error("introspection");
                    if retry && attempt < attempts {
                        continue;
                    }
                    return Err(last);
                }
                Ok(response) if matches!(response.status, 502..=504) && attempt < attempts => {
                    last = status_error(&response);
                }
                Ok(response) => return self.evaluate(&response).await.map(|a| (a, response.body.len())),
            }
        }
        Err(last)
    }

    fn request(&self, token: &str) -> Result<(HeaderMap, String)> {
        let mut headers = HeaderMap::new();
        headers.insert(
            ACCEPT,
            HeaderValue::from_static(if self.signed.is_some() {
                JWT_RESPONSE_TYPE
            } else {
                "application/json"
            }),
        );
        let mut form = form_urlencoded::Serializer::new(String::new());
        form.append_pair("token", token);
        form.append_pair("token_type_hint", "access_token");
        let targets = AudienceTargets {
            issuer: &self.issuer,
            token_endpoint: self.token_endpoint.as_ref().map(Url::as_str),
            introspection_endpoint: self.endpoint.as_str(),
        };
        self.auth.apply(self.clock.now(), &targets, &mut headers, &mut form)?;
        Ok((headers, form.finish()))
    }

    async fn evaluate(&self, response: &HttpResponse) -> Result<Answer> {
        if response.status != 200 {
            return Err(status_error(response));
        }
        let content_type = response.content_type.as_deref().unwrap_or("").to_ascii_lowercase();
        if content_type.contains("html") {
            return Err(Error::unavailable("introspection: the response is HTML, not JSON"));
        }
        match &self.signed {
            None => parse_json_response(&response.body),
            Some(signed) => {
                if !content_type.starts_with(JWT_RESPONSE_TYPE) {
                    return Err(Error::unavailable("introspection: expected a signed (RFC 9701) response"));
                }
                self.verify_signed(&response.body, signed).await
            }
        }
    }

    async fn verify_signed(&self, body: &[u8], signed: &Signed) -> Result<Answer> {
        let broken = |_| Error::unavailable("introspection: the signed response is not acceptable");
        let text = std::str::from_utf8(body).map_err(|_| Error::unavailable("introspection: not UTF-8"))?;
        let jws =
            parse_compact(text.trim(), &signed.algorithms, self.max_bytes, TypPolicy::IntrospectionResponse)
                .map_err(broken)?;
        signed
            .jwks
            .with_key(jws.alg, jws.kid.as_deref(), |key| jws.verify(key))
            .await
            .map_err(|e| if e.code() == "unavailable" { e } else { broken(e) })?;
        let payload = &jws.payload;
        if payload.get("iss").and_then(Value::as_str) != Some(self.issuer.as_str()) {
            return Err(Error::unavailable("introspection: the signed response has the wrong issuer"));
        }
        // RFC 9701 §5: the answer is addressed to the client that asked. Under every client
        // authentication method: a config without a client id cannot ask for signed answers.
        let Some(client_id) = self.auth.client_id() else {
            return Err(Error::config("signed introspection responses need a `client_id`"));
        };
        let aud_ok = match payload.get("aud") {
            Some(Value::String(a)) => a == client_id,
            Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(client_id)),
            _ => false,
        };
        if !aud_ok {
            return Err(Error::unavailable("introspection: the signed response is not for us (aud)"));
        }
        check_freshness(payload, self.clock.now(), signed)?;
        match payload.get("token_introspection") {
            Some(Value::Object(inner)) => answer_from_object(inner.clone()),
            _ => Err(Error::unavailable("introspection: the signed response has no token_introspection")),
        }
    }

    pub fn request_count(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

/// The outer JWT of a signed answer is itself short-lived: `exp` and `nbf` (when present,
/// oidc-provider sends no `exp`) with leeway, and a numeric `iat` neither in the future nor
/// older than the configured maximum age. A captured "active" answer is not replayable
/// forever.
fn check_freshness(payload: &Map<String, Value>, now: Duration, signed: &Signed) -> Result<()> {
    let stale = |what: &'static str| Error::unavailable(what);
    let now = now.as_secs_f64();
    let leeway = signed.leeway as f64;
    let time = |name: &str| -> Result<Option<f64>> {
        match payload.get(name) {
            None => Ok(None),
            Some(Value::Number(n)) => n
                .as_f64()
                .filter(|t| t.is_finite() && *t >= 0.0)
                .map(Some)
                .ok_or_else(|| stale("introspection: the signed response has a time out of range")),
            Some(_) => Err(stale("introspection: the signed response has a time that is not a number")),
        }
    };
    let iat = time("iat")?.ok_or_else(|| stale("introspection: the signed response has no iat"))?;
    if iat > now + leeway {
        return Err(stale("introspection: the signed response was issued in the future"));
    }
    if now - iat > signed.max_age as f64 {
        return Err(stale("introspection: the signed response is too old"));
    }
    if time("exp")?.is_some_and(|exp| now >= exp + leeway) {
        return Err(stale("introspection: the signed response has expired"));
    }
    if time("nbf")?.is_some_and(|nbf| nbf > now + leeway) {
        return Err(stale("introspection: the signed response is not valid yet"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_new_token_limit_is_a_refilling_bucket() {
        assert!(NewTokenLimit::new(0).is_none(), "0 means no limit");
        let limit = NewTokenLimit::new(2).unwrap();
        let t = Duration::from_secs(1_000);
        assert!(limit.admit(t) && limit.admit(t), "a second's worth at once");
        assert!(!limit.admit(t), "then refused");
        assert!(!limit.admit(t + Duration::from_millis(400)));
        assert!(limit.admit(t + Duration::from_millis(600)), "refilled at 2 per second");
        assert!(limit.admit(t + Duration::from_secs(60)) && limit.admit(t + Duration::from_secs(60)));
        assert!(!limit.admit(t + Duration::from_secs(60)), "never more than a second's worth");
    }

    #[test]
    fn signed_answers_must_be_fresh() {
        let signed = |max_age| Signed {
            jwks: Arc::new(Jwks::new(
                Url::parse("https://as.example/jwks").unwrap(),
                HttpClient::new(&Default::default()).unwrap(),
                Arc::new(crate::clock::SystemClock),
                Default::default(),
            )),
            algorithms: vec![],
            leeway: 60,
            max_age,
        };
        let now = Duration::from_secs(1_800_000_000);
        let t = 1_800_000_000_i64;
        let check = |payload: Value, max_age| {
            let Value::Object(m) = payload else { unreachable!() };
            check_freshness(&m, now, &signed(max_age)).map(|()| "ok").unwrap_or_else(|e| e.code())
        };
        assert_eq!(check(json!({"iat": t - 10}), 300), "ok");
        assert_eq!(check(json!({"iat": t - 10, "exp": t + 10, "nbf": t - 5}), 300), "ok");
        assert_eq!(check(json!({}), 300), "unavailable", "iat required");
        assert_eq!(check(json!({"iat": "1800000000"}), 300), "unavailable");
        assert_eq!(check(json!({"iat": t - 301}), 300), "unavailable", "too old");
        assert_eq!(check(json!({"iat": t - 500}), 1000), "ok", "configurable age");
        assert_eq!(check(json!({"iat": t + 61}), 300), "unavailable", "future");
        assert_eq!(check(json!({"iat": t + 59}), 300), "ok", "leeway");
        assert_eq!(check(json!({"iat": t - 10, "exp": t - 61}), 300), "unavailable", "expired");
        assert_eq!(check(json!({"iat": t - 10, "nbf": t + 61}), 300), "unavailable", "not yet");
        assert_eq!(check(json!({"iat": t - 10, "exp": "x"}), 300), "unavailable");
    }

    #[test]
    fn only_boolean_true_is_active() {
        assert!(matches!(parse_json_response(br#"{"active":true,"sub":"x"}"#), Ok(Answer::Active(_))));
        assert_eq!(parse_json_response(br#"{"active":false}"#).unwrap(), Answer::Inactive);
        for body in [
            &br#"{"active":"true"}"#[..],
            br#"{"active":1}"#,
            br#"{"sub":"x"}"#,
            br#"{"active":true,"active":false}"#,
            br#"[{"active":true}]"#,
            b"<html>active</html>",
            b"",
            br#"{"active":true} trailing"#,
        ] {
            assert_eq!(parse_json_response(body).unwrap_err().code(), "unavailable", "{body:?}");
        }
    }

    fn response(status: u16, body: &str) -> HttpResponse {
        HttpResponse { status, content_type: None, cache_control: None, body: body.to_owned().into() }
    }

    #[test]
    fn server_errors_are_never_invalid_token_except_unsupported_type() {
        assert_eq!(status_error(&response(401, r#"{"error":"invalid_client"}"#)).code(), "configuration");
        assert_eq!(
            status_error(&response(400, r#"{"error":"unauthorized_client"}"#)).code(),
            "configuration"
        );
        assert_eq!(status_error(&response(403, "")).code(), "configuration");
        assert_eq!(status_error(&response(500, "")).code(), "unavailable");
        assert_eq!(status_error(&response(503, "")).code(), "unavailable");
        assert_eq!(status_error(&response(307, "")).code(), "unavailable");
        assert_eq!(status_error(&response(429, "")).code(), "unavailable");
        assert_eq!(
            status_error(&response(400, r#"{"error":"unsupported_token_type"}"#)).code(),
            "invalid_token"
        );
    }
}
