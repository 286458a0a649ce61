//! A small axum API protected by bearerguard (feature `axum`) — the Rust section of the README.
//!
//! `BEARERGUARD_CONFIG` holds the validator config as JSON (the same keys as a Python dict
//! or a JSON file). The app prints `{"ready":true,"port":N}` once it listens on 127.0.0.1.
//!
//! ```sh
//! BEARERGUARD_CONFIG='{"issuer":"https://auth.example.com","audience":"https://api.example.com",
//!   "client_auth":{"client_id":"my-api","client_secret":"s3cret"}}' cargo run -p bearerguard --features axum --example protected_api
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "example program")]

use axum::routing::get;
use axum::{Json, Router};
use bearerguard::axum::{Bearer, RequireToken};
use bearerguard::{Config, Validator};

/// Behind the layer: the token was good and carried `write`.
async fn orders(Bearer(info): Bearer) -> Json<serde_json::Value> {
    Json(serde_json::json!({"orders": [], "client_id": info.client_id, "via": info.source.as_str()}))
}

#[tokio::main]
async fn main() {
    let config = Config::from_json(&std::env::var("BEARERGUARD_CONFIG").expect("set BEARERGUARD_CONFIG"))
        .expect("valid config");
    let validator = Validator::new(config).expect("valid validator");
    // The layer hands each request (every Authorization and DPoP line, method, URI) to the
    // core and answers refusals; it parses nothing and decides nothing.
    let app =
        Router::new().route("/orders", get(orders)).layer(RequireToken::new(validator).scopes(["write"]));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("{}", serde_json::json!({"ready": true, "port": listener.local_addr().unwrap().port()}));
    axum::serve(listener, app).await.unwrap();
}
