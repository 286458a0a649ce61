//! axum and tower protection (cargo feature `axum`): a tower [`Layer`] that hands each request
//! to [`Validator::decide`](crate::Validator::decide), and an axum extractor of what it decided.
//!
//! ```no_run
//! # async fn f(validator: bearerguard::Validator) {
//! use axum::{Json, Router, routing::get};
//! use bearerguard::axum::{Bearer, RequireToken};
//!
//! async fn orders(Bearer(info): Bearer) -> Json<serde_json::Value> {
//!     Json(serde_json::json!({ "client": info.client_id }))
//! }
//! let app: Router = Router::new().route("/orders", get(orders)).layer(RequireToken::new(validator).scopes(["write"]));
//! # }
//! ```
//!
//! The layer gives the core the whole request: every `Authorization` and `DPoP` line, the
//! method, the URI, and the layer's scopes. A good token's [`TokenInfo`] goes into the
//! request's extensions as `Arc<TokenInfo>` (so `Extension<Arc<TokenInfo>>` works as well as
//! [`Bearer`]); a refusal is answered as every bearerguard adapter answers it: the error's
//! status, the RFC 6750 `WWW-Authenticate` challenge when it has one, `Cache-Control:
//! no-store`, and `{"error": code}`. The layer parses nothing and decides nothing. It works
//! with any tower service over `http` types whose response body can be made from `Bytes`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use ::http::header::{self, HeaderMap, HeaderValue};
use ::http::request::Parts;
use ::http::{Response, StatusCode};
use bytes::Bytes;
use tower_layer::Layer;
use tower_service::Service;

use crate::{Error, Request, TokenInfo, Validator};

/// The request as the core sees it: every `Authorization` and `DPoP` line, the method and URI.
pub fn request_of(method: &::http::Method, uri: &::http::Uri, headers: &HeaderMap) -> Request {
    let mut seen = Request::new().method(method.as_str()).url(uri.to_string());
    // Bytes outside visible ASCII cannot form a bearer token; the core refuses them.
    for value in headers.get_all(header::AUTHORIZATION) {
        seen = seen.authorization(String::from_utf8_lossy(value.as_bytes()));
    }
    for value in headers.get_all("dpop") {
        seen = seen.dpop(String::from_utf8_lossy(value.as_bytes()));
    }
    seen
}

/// The answer to a refusal: status, challenge, `Cache-Control: no-store`, `{"error": code}`.
pub fn refusal<B: From<Bytes>>(validator: &Validator, error: &Error) -> Response<B> {
    let body = serde_json::json!({ "error": error.code() }).to_string();
    let mut response = Response::new(B::from(Bytes::from(body)));
    *response.status_mut() =
        StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if let Some(challenge) = validator.www_authenticate(error).and_then(|c| HeaderValue::from_str(&c).ok()) {
        headers.insert(header::WWW_AUTHENTICATE, challenge);
    }
    response
}

/// A tower [`Layer`] requiring a good bearer token (and every scope of [`scopes`](Self::scopes)).
#[derive(Clone, Debug)]
pub struct RequireToken {
    validator: Validator,
    scopes: Arc<[String]>,
}

impl RequireToken {
    /// A layer deciding with `validator` (share one per issuer: it is cheap to clone).
    pub fn new(validator: Validator) -> Self {
        RequireToken { validator, scopes: Arc::from([]) }
    }

    /// Requires these scopes on every request through the layer.
    #[must_use]
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }
}

impl<S> Layer<S> for RequireToken {
    type Service = RequireTokenService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireTokenService { inner, guard: self.clone() }
    }
}

/// The service of [`RequireToken`].
#[derive(Clone, Debug)]
pub struct RequireTokenService<S> {
    inner: S,
    guard: RequireToken,
}

impl<S, B, ResBody> Service<::http::Request<B>> for RequireTokenService<S>
where
    S: Service<::http::Request<B>, Response = Response<ResBody>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    B: Send + 'static,
    ResBody: From<Bytes> + Send + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: ::http::Request<B>) -> Self::Future {
        // The clone is the one that was not made ready; the ready one serves this request.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let validator = self.guard.validator.clone();
        let seen = request_of(request.method(), request.uri(), request.headers())
            .scopes(self.guard.scopes.iter().cloned());
        Box::pin(async move {
            match validator.decide(&seen).await {
                Ok(info) => {
                    request.extensions_mut().insert(info);
                    inner.call(request).await
                }
                Err(error) => Ok(refusal(&validator, &error)),
            }
        })
    }
}

/// The extractor of the [`TokenInfo`] that [`RequireToken`] put on the request. On a route the
/// layer does not cover it refuses with 500 (`internal`, the answer to a bug), never a pass.
#[derive(Clone, Debug)]
pub struct Bearer(pub Arc<TokenInfo>);

impl<S: Send + Sync> axum_core::extract::FromRequestParts<S> for Bearer {
    type Rejection = Response<axum_core::body::Body>;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Arc<TokenInfo>>() {
            Some(info) => Ok(Bearer(Arc::clone(info))),
            None => {
                tracing::error!(
                    "bearerguard: the Bearer extractor is used on a route without the RequireToken layer"
                );
                let body = serde_json::json!({ "error": "internal" }).to_string();
                let mut response = Response::new(axum_core::body::Body::from(body));
                *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
                let headers = response.headers_mut();
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                Err(response)
            }
        }
    }
}
