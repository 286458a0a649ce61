//! A small axum API protected by bearerguard — the Rust section of the README.
//!
//! `BEARERGUARD_CONFIG` holds the validator config as JSON (the same keys as a Python dict
//! or a JSON file). The app prints `{"ready":true,"port":N}` once it listens on 127.0.0.1.
//!
//! ```sh
//! BEARERGUARD_CONFIG='{"issuer":"https://auth.example.com","audience":"https://api.example.com",
//!   "client_auth":{"client_id":"my-api","client_secret":"s3cret"}}' cargo run -p bearerguard --example protected_api
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "example program")]

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use bearerguard::{Config, TokenInfo, Validator};
use std::sync::Arc;

/// Middleware: hand the request (every `Authorization` line, method, URI) to the core, require
/// `write`, put the TokenInfo on the request. It parses nothing and decides nothing.
async fn require_write(State(validator): State<Validator>, mut request: Request, next: Next) -> Response {
    let mut seen =
        bearerguard::Request::new().method(request.method().as_str()).url(request.uri().to_string());
    for value in request.headers().get_all(header::AUTHORIZATION) {
        // Bytes outside visible ASCII cannot form a bearer token; the core refuses them.
        seen = seen.authorization(String::from_utf8_lossy(value.as_bytes()));
    }
    match validator.decide(&seen.scopes(["write"])).await {
        Ok(info) => {
            request.extensions_mut().insert(info);
            next.run(request).await
        }
        Err(error) => {
            let status = StatusCode::from_u16(error.http_status()).unwrap();
            let mut response = (status, Json(serde_json::json!({"error": error.code()}))).into_response();
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            if let Some(challenge) = validator.www_authenticate(&error) {
                response
                    .headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_str(&challenge).unwrap());
            }
            response
        }
    }
}

async fn orders(Extension(info): Extension<Arc<TokenInfo>>) -> Json<serde_json::Value> {
    Json(serde_json::json!({"orders": [], "client_id": info.client_id, "via": info.source.as_str()}))
}

#[tokio::main]
async fn main() {
    let config = Config::from_json(&std::env::var("BEARERGUARD_CONFIG").expect("set BEARERGUARD_CONFIG"))
        .expect("valid config");
    let validator = Validator::new(config).expect("valid validator");
    let app = Router::new()
        .route("/orders", get(orders))
        .layer(middleware::from_fn_with_state(validator, require_write));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("{}", serde_json::json!({"ready": true, "port": listener.local_addr().unwrap().port()}));
    axum::serve(listener, app).await.unwrap();
}
