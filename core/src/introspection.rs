//! RFC 7662 token introspection (and RFC 9701 signed responses).
//!
//! A token is active only if the server answered `200` with a strict JSON object whose
//! `active` is the boolean `true`. Anything else the server does — refusing our
//! credentials, 5xx, timeouts, HTML, `"active":"true"` — is `unavailable` or
//! `configuration`, never "invalid token", so an outage never looks like a logout and a
//! broken server never lets a token through.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use jsonwebtoken::Algorithm;
use reqwest::header::{ACCEPT, HeaderMap, HeaderValue};
use serde_json::{Map, Value};
use tokio::sync::Semaphore;
use url::Url;

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

/// Whether an introspected `token_type` is an access token we accept as a bearer token.
/// Refresh tokens (WSO2 answers `"token_type":"Refresh"`) and key-bound (DPoP) tokens are
/// refused.
pub fn token_type_accepted(token_type: Option<&Value>) -> Result<Option<String>> {
    match token_type {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(t)) => {
            let lower = t.to_ascii_lowercase();
            match lower.as_str() {
                "bearer" | "jwt" | "access_token" | "urn:ietf:params:oauth:token-type:access_token" => {
                    Ok(Some(t.clone()))
                }
                _ => Err(Error::invalid_token("the token is not a bearer access token (token_type)")),
            }
        }
        Some(_) => Err(Error::invalid_token("the token_type member is not a string")),
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
    pub signed: Option<(Arc<Jwks>, Vec<Algorithm>)>,
    pub clock: SharedClock,
    pub requests: AtomicU64,
}

impl Introspector {
    /// Asks the server about `token`. Returns the answer and the response size.
    pub async fn introspect(&self, token: &str) -> Result<(Answer, usize)> {
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
            Some((jwks, algorithms)) => {
                if !content_type.starts_with(JWT_RESPONSE_TYPE) {
                    return Err(Error::unavailable("introspection: expected a signed (RFC 9701) response"));
                }
                self.verify_signed(&response.body, jwks, algorithms).await
            }
        }
    }

    async fn verify_signed(&self, body: &[u8], jwks: &Jwks, algorithms: &[Algorithm]) -> Result<Answer> {
        let broken = |_| Error::unavailable("introspection: the signed response is not acceptable");
        let text = std::str::from_utf8(body).map_err(|_| Error::unavailable("introspection: not UTF-8"))?;
        let jws = parse_compact(text.trim(), algorithms, self.max_bytes, TypPolicy::IntrospectionResponse)
            .map_err(broken)?;
        jwks.with_key(jws.alg, jws.kid.as_deref(), |key| jws.verify(key))
            .await
            .map_err(|e| if e.code() == "unavailable" { e } else { broken(e) })?;
        let payload = &jws.payload;
        if payload.get("iss").and_then(Value::as_str) != Some(self.issuer.as_str()) {
            return Err(Error::unavailable("introspection: the signed response has the wrong issuer"));
        }
        if let Some(client_id) = self.auth.client_id() {
            let aud_ok = match payload.get("aud") {
                Some(Value::String(a)) => a == client_id,
                Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(client_id)),
                _ => false,
            };
            if !aud_ok {
                return Err(Error::unavailable("introspection: the signed response is not for us (aud)"));
            }
        }
        match payload.get("token_introspection") {
            Some(Value::Object(inner)) => answer_from_object(inner.clone()),
            _ => Err(Error::unavailable("introspection: the signed response has no token_introspection")),
        }
    }

    pub fn request_count(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    #[test]
    fn refresh_and_bound_token_types_are_refused() {
        for ok in [None, Some(json!("Bearer")), Some(json!("bearer")), Some(json!("JWT"))] {
            assert!(token_type_accepted(ok.as_ref()).is_ok());
        }
        for bad in [json!("Refresh"), json!("refresh_token"), json!("DPoP"), json!("id_token"), json!(1)] {
            assert_eq!(token_type_accepted(Some(&bad)).unwrap_err().code(), "invalid_token");
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
