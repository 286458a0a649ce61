//! The axum/tower adapter (feature `axum`) as one table: the demo's request list
//! (`tests/demo/requests.json`: JWT, opaque, none, garbage, expired, under-scoped, authorization
//! server down) sent over real HTTP on 127.0.0.1 to GET /orders (scope "write") of two axum apps,
//! one reading the token with the `Bearer` extractor, one with `Extension<Arc<TokenInfo>>` under
//! a route layer, against the real authorization server. Both answer every request alike, with
//! the statuses, codes and challenges the list names (the ones every Python and Node framework
//! answers in their table tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests")]

mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::routing::get;
use axum::{Extension, Json, Router};
use bearerguard::axum::{Bearer, RequireToken};
use bearerguard::{Config, TokenInfo, Validator};
use serde_json::{Value, json};
use support::real_as::RealAs;

/// The README's axum example ("## Frameworks"), as written.
fn readme_app(validator: Validator) -> Router {
    async fn orders(Bearer(info): Bearer) -> Json<Value> {
        Json(json!({ "client": info.client_id }))
    }
    Router::new().route("/orders", get(orders)).layer(RequireToken::new(validator).scopes(["write"]))
}

fn route_layer_app(validator: Validator) -> Router {
    async fn orders(Extension(info): Extension<Arc<TokenInfo>>) -> Json<Value> {
        Json(json!({ "client": info.client_id }))
    }
    Router::new().route("/orders", get(orders)).route_layer(RequireToken::new(validator).scopes(["write"]))
}

async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_axum_app_answers_the_demo_requests_alike() {
    let list: Value = serde_json::from_str(
        &std::fs::read_to_string(support::repo_root().join("tests/demo/requests.json")).unwrap(),
    )
    .unwrap();
    let requests = list["requests"].as_array().unwrap();
    let server = RealAs::start();
    let rs = server.client("rs_basic");
    let good = Validator::new(
        Config::from_json(
            &json!({
                "issuer": server.issuer(),
                "audience": [server.resource("jwt"), server.resource("opaque"), server.resource("short_jwt")],
                "client_id": rs["client_id"], "client_secret": rs["client_secret"],
                "leeway_secs": 0, "realm": "orders",
            })
            .to_string(),
        )
        .unwrap(),
    )
    .unwrap();
    let down = Validator::new(
        Config::from_json(
            r#"{"issuer": "http://127.0.0.1:9", "audience": "api", "realm": "orders",
                "http": {"connect_timeout_ms": 200, "retry": false}}"#,
        )
        .unwrap(),
    )
    .unwrap();

    let expired = server.token("short_jwt", "read").await;
    let mut sent = Vec::new();
    for r in requests {
        let scope = r["scope"].as_str().unwrap_or("");
        let value = match r["token"].as_str().unwrap() {
            "none" => None,
            "garbage" => Some("Bearer not-a-real-token".to_owned()),
            "expired" => Some(format!("Bearer {expired}")),
            "down" => Some("Bearer some-opaque-token".to_owned()),
            kind => Some(format!("Bearer {}", server.token(kind, scope).await)),
        };
        sent.push((r, value));
    }
    tokio::time::sleep(Duration::from_secs(server.info["short_ttl"].as_u64().unwrap() + 1)).await;

    let http = reqwest::Client::new();
    let mut table: Vec<(&str, Vec<Value>)> = Vec::new();
    type App = fn(Validator) -> Router;
    let apps: [(&str, App); 2] =
        [("axum (Bearer extractor)", readme_app), ("axum (route_layer, Extension)", route_layer_app)];
    for (name, app) in apps {
        let mut answers = Vec::new();
        for (r, value) in &sent {
            let validator = if r["token"] == "down" { down.clone() } else { good.clone() };
            let base = serve(app(validator)).await;
            let mut call = http.get(format!("{base}/orders"));
            if let Some(v) = value {
                call = call.header("authorization", v);
            }
            let res = call.send().await.unwrap();
            let h = res.headers().clone();
            let header = |n: &str| h.get(n).map(|v| v.to_str().unwrap().to_owned());
            let status = res.status().as_u16();
            let body: Value = serde_json::from_slice(&res.bytes().await.unwrap()).unwrap();
            answers.push(json!([
                status,
                header("www-authenticate"),
                header("cache-control"),
                header("content-type"),
                body
            ]));
        }
        table.push((name, answers));
    }
    assert_eq!(table[0].1, table[1].1, "the two apps disagree");
    for ((r, _), answer) in sent.iter().zip(&table[0].1) {
        let label = r["label"].as_str().unwrap();
        assert_eq!(answer[0], r["status"], "{label}: {answer}");
        assert_eq!(answer[3], "application/json", "{label}");
        if r["status"] == 200 {
            assert_eq!(answer[4], json!({"client": "svc-client"}), "{label}");
            continue;
        }
        assert_eq!(answer[4], json!({"error": r["code"]}), "{label}");
        assert_eq!(answer[2], "no-store", "{label}");
        if r["status"].as_u64().unwrap() >= 500 {
            assert!(answer[1].is_null(), "{label}: {answer}");
        } else {
            let challenge = answer[1].as_str().unwrap();
            assert!(challenge.starts_with("Bearer realm=\"orders\""), "{label}: {challenge}");
            match r["error"].as_str() {
                Some(error) => {
                    assert!(challenge.contains(&format!("error=\"{error}\"")), "{label}: {challenge}")
                }
                None => assert!(!challenge.contains("error="), "{label}: {challenge}"),
            }
        }
    }
}

#[tokio::test]
async fn the_extractor_without_the_layer_is_a_500_never_a_pass() {
    async fn orders(Bearer(info): Bearer) -> String {
        format!("{:?}", info.client_id)
    }
    let base = serve(Router::new().route("/orders", get(orders))).await;
    let res = reqwest::get(format!("{base}/orders")).await.unwrap();
    assert_eq!(res.status(), 500);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: Value = serde_json::from_slice(&res.bytes().await.unwrap()).unwrap();
    assert_eq!(body, json!({"error": "internal"}));
}
