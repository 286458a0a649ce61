//! The loopback RFC 7662 server the benchmarks share (see `introspection_server.rs`).

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use serde_json::json;

#[derive(Clone)]
struct Server {
    issuer: String,
    authorization: String,
}

/// The server's routes for `issuer` (its own base URL).
pub fn router(issuer: &str) -> Router {
    let authorization =
        format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("bench:bench-secret"));
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/introspect", post(introspect))
        .with_state(Server { issuer: issuer.to_owned(), authorization })
}

async fn discovery(State(s): State<Server>) -> Response {
    axum::Json(json!({
        "issuer": s.issuer,
        "introspection_endpoint": format!("{}/introspect", s.issuer),
    }))
    .into_response()
}

async fn introspect(State(s): State<Server>, headers: HeaderMap, body: String) -> Response {
    if headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) != Some(s.authorization.as_str()) {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "invalid_client"}))).into_response();
    }
    let token = body.split('&').find_map(|pair| pair.strip_prefix("token=")).unwrap_or("");
    if token.is_empty() || token.starts_with("revoked") {
        return axum::Json(json!({"active": false})).into_response();
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    axum::Json(json!({
        "active": true,
        "iss": s.issuer,
        "aud": "bench-api",
        "client_id": "bench-client",
        "sub": "alice",
        "scope": "read write",
        "token_type": "Bearer",
        "exp": now + 3600,
        "iat": now,
    }))
    .into_response()
}
