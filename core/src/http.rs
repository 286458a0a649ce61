//! The one HTTP client every call to the authorization server goes through.
//!
//! Redirects are never followed (a 307 would resend the token and our credentials to
//! another host), every request has a connect timeout and a total deadline that covers the
//! body, and bodies are read against a size cap before anything parses them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderValue};
use url::{Host, Url};

use crate::config::HttpConfig;
use crate::error::{Error, Result};
use crate::metrics::{CallResult, Endpoint, Metrics};

/// Checks that `value` is an absolute `https` URL, or `http` on a loopback host, or any
/// `http` URL when `allow_insecure` is set. `field` names the config field in errors.
pub(crate) fn check_url(field: &str, value: &str, allow_insecure: bool) -> Result<Url> {
    let url = Url::parse(value).map_err(|_| Error::config(format!("`{field}` is not an absolute URL")))?;
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err(Error::config(format!("`{field}` is not an absolute URL")));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::config(format!("`{field}` must not carry credentials")));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if allow_insecure || is_loopback(&url) => Ok(url),
        "http" => Err(Error::config(format!(
            "`{field}` must use https (http is allowed only for loopback hosts or with \
             `http.allow_insecure_http`)"
        ))),
        _ => Err(Error::config(format!("`{field}` must be an http(s) URL"))),
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// A finished response whose body was read within its cap.
#[derive(Debug)]
pub(crate) struct HttpResponse {
    pub status: u16,
    pub content_type: Option<String>,
    pub cache_control: Option<String>,
    pub body: Bytes,
}

/// Why a request produced no usable response.
#[derive(Debug)]
pub(crate) enum HttpFailure {
    /// Could not connect (refused, DNS, TLS): safe to retry.
    Connect(reqwest::Error),
    /// The deadline passed.
    Timeout,
    /// The body was larger than the cap.
    TooLarge,
    /// Any other transport error mid-request.
    Transport(reqwest::Error),
}

impl HttpFailure {
    /// A connection failure, the only transport error worth one retry.
    pub fn is_retryable(&self) -> bool {
        matches!(self, HttpFailure::Connect(_))
    }

    /// Turns the failure into an `unavailable` error about `what` (e.g. "introspection").
    pub fn into_error(self, what: &str) -> Error {
        match self {
            HttpFailure::Connect(e) => {
                Error::unavailable(format!("{what}: cannot connect to the authorization server"))
                    .with_source(e.without_url())
            }
            HttpFailure::Timeout => Error::unavailable(format!("{what}: the authorization server timed out")),
            HttpFailure::TooLarge => Error::unavailable(format!("{what}: response body over the size limit")),
            HttpFailure::Transport(e) => {
                Error::unavailable(format!("{what}: transport error")).with_source(e.without_url())
            }
        }
    }
}

/// Pooled client with our timeouts and no redirects.
#[derive(Clone, Debug)]
pub(crate) struct HttpClient {
    client: reqwest::Client,
    deadline: Duration,
    /// Where calls are counted (`metrics.rs`), and as calls to which endpoint.
    metrics: Option<Arc<Metrics>>,
    endpoint: Option<Endpoint>,
}

impl HttpClient {
    pub fn new(config: &HttpConfig) -> Result<Self> {
        let deadline = Duration::from_millis(config.timeout_ms);
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_millis(config.connect_timeout_ms))
            .timeout(deadline)
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("bearerguard/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::config("cannot build the HTTP client").with_source(e))?;
        Ok(HttpClient { client, deadline, metrics: None, endpoint: None })
    }

    /// This client, counting its calls in `metrics` (once it knows their endpoint).
    pub fn with_metrics(self, metrics: Arc<Metrics>) -> Self {
        HttpClient { metrics: Some(metrics), ..self }
    }

    /// The same client, its calls counted as calls to `endpoint`.
    pub fn for_endpoint(&self, endpoint: Endpoint) -> Self {
        HttpClient { endpoint: Some(endpoint), ..self.clone() }
    }

    /// `GET url`, reading at most `cap` bytes of body.
    pub async fn get(
        &self,
        url: &Url,
        accept: &'static str,
        cap: usize,
    ) -> Result<HttpResponse, HttpFailure> {
        let request = self.client.get(url.clone()).header("accept", accept);
        self.send(request, cap).await
    }

    /// `POST url` with a form body and extra headers, reading at most `cap` bytes of body.
    pub async fn post_form(
        &self,
        url: &Url,
        headers: HeaderMap,
        form: String,
        cap: usize,
    ) -> Result<HttpResponse, HttpFailure> {
        let request = self
            .client
            .post(url.clone())
            .headers(headers)
            .header("content-type", HeaderValue::from_static("application/x-www-form-urlencoded"))
            .body(form);
        self.send(request, cap).await
    }

    async fn send(&self, request: reqwest::RequestBuilder, cap: usize) -> Result<HttpResponse, HttpFailure> {
        let started = Instant::now();
        let result = self.send_unobserved(request, cap).await;
        if let (Some(metrics), Some(endpoint)) = (&self.metrics, self.endpoint) {
            let class = match &result {
                Ok(r) if (200..300).contains(&r.status) => CallResult::Ok,
                Ok(_) => CallResult::HttpError,
                Err(HttpFailure::Timeout) => CallResult::Timeout,
                Err(HttpFailure::Connect(_)) => CallResult::Connect,
                Err(HttpFailure::Transport(_)) => CallResult::Transport,
                Err(HttpFailure::TooLarge) => CallResult::TooLarge,
            };
            metrics.call(endpoint, class, started.elapsed());
        }
        result
    }

    async fn send_unobserved(
        &self,
        request: reqwest::RequestBuilder,
        cap: usize,
    ) -> Result<HttpResponse, HttpFailure> {
        // reqwest's own timeout covers the body too; this outer one also bounds our own
        // reading loop, so a server dribbling bytes cannot hold a caller past the deadline.
        match tokio::time::timeout(self.deadline + Duration::from_millis(50), async {
            let mut response = request.send().await.map_err(classify)?;
            let status = response.status().as_u16();
            let header =
                |name: &str| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let content_type = header("content-type");
            let cache_control = header("cache-control");
            if response.content_length().is_some_and(|len| len > cap as u64) {
                return Err(HttpFailure::TooLarge);
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(classify)? {
                if body.len() + chunk.len() > cap {
                    return Err(HttpFailure::TooLarge);
                }
                body.extend_from_slice(&chunk);
            }
            Ok(HttpResponse { status, content_type, cache_control, body: Bytes::from(body) })
        })
        .await
        {
            Ok(result) => result,
            Err(_) => Err(HttpFailure::Timeout),
        }
    }
}

fn classify(e: reqwest::Error) -> HttpFailure {
    if e.is_timeout() {
        HttpFailure::Timeout
    } else if e.is_connect() {
        HttpFailure::Connect(e)
    } else {
        HttpFailure::Transport(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_http() {
        assert!(check_url("f", "https://as.example/x", false).is_ok());
        assert!(check_url("f", "http://127.0.0.1:9/x", false).is_ok());
        assert!(check_url("f", "http://127.8.9.10/x", false).is_ok());
        assert!(check_url("f", "http://[::1]:9/x", false).is_ok());
        assert!(check_url("f", "http://localhost:9/x", false).is_ok());
        assert!(check_url("f", "http://as.example/x", false).is_err());
        assert!(check_url("f", "http://as.example/x", true).is_ok());
        assert!(check_url("f", "ftp://as.example/x", true).is_err());
        assert!(check_url("f", "/relative", false).is_err());
        assert!(check_url("f", "https://user:pw@as.example/", false).is_err());
        let e = check_url("jwks_uri", "http://10.0.0.1/", false).unwrap_err();
        assert!(e.detail().contains("`jwks_uri`"));
    }
}
