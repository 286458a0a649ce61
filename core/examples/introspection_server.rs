//! A loopback RFC 7662 introspection endpoint for benchmarks: every client under test (our
//! bindings, `httpx`, `requests`, `fetch`) talks to this one server, so the figures differ
//! only by the client. It checks HTTP Basic credentials `bench:bench-secret`, answers any
//! token with `{"active":true,...}` (and `{"active":false}` for tokens starting `revoked`),
//! serves a discovery document and prints `listening on http://127.0.0.1:PORT` once ready.
//!
//! ```text
//! cargo run --release -p bearerguard --example introspection_server [-- PORT]
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmark helper")]

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

fn main() {
    let port: u16 = std::env::args().nth(1).map_or(0, |p| p.parse().expect("a port number"));
    // One worker: the server must not take the core the client under test runs on twice.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let authorization =
            format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("bench:bench-secret"));
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/introspect", post(introspect))
            .with_state(Server { issuer: issuer.clone(), authorization });
        println!("listening on {issuer}");
        axum::serve(listener, app).await.unwrap();
    });
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
