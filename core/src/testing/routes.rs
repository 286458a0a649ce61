//! The HTTP face of the test authorization server (axum): discovery, JWKS, RFC 7662
//! introspection and RFC 7009 revocation, each counted.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use ::axum::Router;
use ::axum::body::Bytes;
use ::axum::extract::State;
use ::axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use ::axum::response::{IntoResponse, Response};
use ::axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::Shared;

/// The paths it serves.
pub(super) const JWKS_PATH: &str = "/jwks";
pub(super) const INTROSPECTION_PATH: &str = "/introspect";
pub(super) const REVOCATION_PATH: &str = "/revoke";
pub(super) const TOKEN_PATH: &str = "/token";

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/.well-known/oauth-authorization-server", get(discovery))
        .route(JWKS_PATH, get(jwks))
        .route(INTROSPECTION_PATH, post(introspect))
        .route(REVOCATION_PATH, post(revoke))
        .with_state(shared)
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    let mut response = (status, body.to_string()).into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The discovery document (OpenID Connect and RFC 8414 alike).
pub(super) fn metadata(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}{JWKS_PATH}"),
        "token_endpoint": format!("{issuer}{TOKEN_PATH}"),
        "introspection_endpoint": format!("{issuer}{INTROSPECTION_PATH}"),
        "revocation_endpoint": format!("{issuer}{REVOCATION_PATH}"),
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "id_token_signing_alg_values_supported": super::keys::SIGNING_ALGORITHMS,
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "grant_types_supported": ["client_credentials"],
    })
}

async fn discovery(State(shared): State<Arc<Shared>>) -> Response {
    shared.counts.discovery.fetch_add(1, Ordering::Relaxed);
    json_response(StatusCode::OK, &metadata(&shared.issuer))
}

async fn jwks(State(shared): State<Arc<Shared>>) -> Response {
    shared.counts.jwks.fetch_add(1, Ordering::Relaxed);
    json_response(StatusCode::OK, &shared.keys.jwks())
}

fn form(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Equal in constant time (the secret is compared, not searched).
fn same(a: &str, b: &str) -> bool {
    aws_lc_rs::constant_time::verify_slices_are_equal(a.as_bytes(), b.as_bytes()).is_ok()
}

/// Whether the request authenticates as the server's client: `client_secret_basic` (RFC 6749
/// §2.3.1: form-urlencoded id and secret in HTTP Basic) or `client_secret_post`.
fn authenticated(shared: &Shared, headers: &HeaderMap, form: &[(String, String)]) -> bool {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic ").or_else(|| v.strip_prefix("basic ")))
        .and_then(|v| STANDARD.decode(v.trim()).ok())
        .and_then(|raw| String::from_utf8(raw).ok());
    let (id, secret) = match basic {
        Some(pair) => {
            let Some((id, secret)) = pair.split_once(':') else { return false };
            let decode = |s: &str| {
                form_urlencoded::parse(format!("v={s}").as_bytes()).next().map(|(_, v)| v.into_owned())
            };
            match (decode(id), decode(secret)) {
                (Some(id), Some(secret)) => (id, secret),
                _ => return false,
            }
        }
        None => match (field(form, "client_id"), field(form, "client_secret")) {
            (Some(id), Some(secret)) => (id.to_owned(), secret.to_owned()),
            _ => return false,
        },
    };
    same(&id, &shared.client_id) && same(&secret, &shared.client_secret)
}

fn invalid_client() -> Response {
    let mut response = json_response(StatusCode::UNAUTHORIZED, &json!({"error": "invalid_client"}));
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"test authorization server\""),
    );
    response
}

async fn introspect(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    shared.counts.introspection.fetch_add(1, Ordering::Relaxed);
    let form = form(&body);
    if !authenticated(&shared, &headers, &form) {
        return invalid_client();
    }
    let Some(token) = field(&form, "token") else {
        return json_response(StatusCode::BAD_REQUEST, &json!({"error": "invalid_request"}));
    };
    json_response(StatusCode::OK, &shared.introspection_answer(token))
}

async fn revoke(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    shared.counts.revocation.fetch_add(1, Ordering::Relaxed);
    let form = form(&body);
    if !authenticated(&shared, &headers, &form) {
        return invalid_client();
    }
    match field(&form, "token") {
        // RFC 7009 §2.2: 200 whether or not the token was known.
        Some(token) => {
            shared.revoke(token);
            StatusCode::OK.into_response()
        }
        None => json_response(StatusCode::BAD_REQUEST, &json!({"error": "invalid_request"})),
    }
}
