//! A small axum API protected by bearerguard (feature `axum`) — the Rust section of the README.
//!
//! `BEARERGUARD_CONFIG` holds the validator config as JSON (the same keys as a Python dict
//! or a JSON file). The app prints `{"ready":true,"port":N}` once it listens on 127.0.0.1.
//!
//! With `BEARERGUARD_REVOCATION_HOOK_SECRET` set it also serves `POST /revocations`: a form body
//! `token=<token>` as RFC 7009 sends it, from whoever learnt of a revocation or logout, with the
//! header `X-Hook-Secret: <secret>`. Wrong or missing secret: 403; no single `token`: 400;
//! otherwise the validator forgets the token (its cached verdict) and answers 204. Without the
//! variable the route does not exist (404). The token is never logged.
//!
//! ```sh
//! BEARERGUARD_CONFIG='{"issuer":"https://auth.example.com","audience":"https://api.example.com",
//!   "client_auth":{"client_id":"my-api","client_secret":"s3cret"}}' cargo run -p bearerguard --features axum --example protected_api
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "example program")]

use std::sync::Arc;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest::{SHA256, digest};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use bearerguard::axum::{Bearer, RequireToken};
use bearerguard::{Config, Validator};

/// Behind the layer: the token was good and carried `write`.
async fn orders(Bearer(info): Bearer) -> Json<serde_json::Value> {
    Json(serde_json::json!({"orders": [], "client_id": info.client_id, "via": info.source.as_str()}))
}

/// What `POST /revocations` needs: the validator to tell, and the secret's digest.
struct RevocationHook {
    validator: Validator,
    secret_digest: Vec<u8>,
}

/// `POST /revocations`: `token=<token>` with `X-Hook-Secret`; 403, 400, 503 or 204.
async fn revocations(State(hook): State<Arc<RevocationHook>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let presented = headers.get("x-hook-secret").map(|v| v.as_bytes()).unwrap_or_default();
    // Digests of equal length compared in constant time: neither how much of the secret a guess
    // got right nor the secret's length shows in the timing.
    if verify_slices_are_equal(digest(&SHA256, presented).as_ref(), &hook.secret_digest).is_err() {
        return StatusCode::FORBIDDEN;
    }
    let mut tokens =
        form_urlencoded::parse(&body).filter(|(name, _)| name == "token").map(|(_, value)| value);
    match (tokens.next(), tokens.next()) {
        (Some(token), None) if !token.is_empty() => match hook.validator.forget(&token).await {
            Ok(()) => StatusCode::NO_CONTENT,
            // The shared tier could not be told: 503, so the sender retries.
            Err(_) => StatusCode::SERVICE_UNAVAILABLE,
        },
        _ => StatusCode::BAD_REQUEST,
    }
}

/// The app: `/orders` behind the layer, and `/revocations` when a hook secret is given.
fn app(validator: Validator, revocation_hook_secret: Option<&str>) -> Router {
    // The layer hands each request (every Authorization and DPoP line, method, URI) to the
    // core and answers refusals; it parses nothing and decides nothing. `route_layer`: on the
    // routes only, so a path the app does not serve (`/revocations` without a secret) is a 404,
    // not a 401.
    let protected = Router::new()
        .route("/orders", get(orders))
        .route_layer(RequireToken::new(validator.clone()).scopes(["write"]));
    let Some(secret) = revocation_hook_secret else { return protected };
    assert!(!secret.is_empty(), "the revocation hook secret is empty");
    let hook = Arc::new(RevocationHook {
        validator,
        secret_digest: digest(&SHA256, secret.as_bytes()).as_ref().to_vec(),
    });
    protected.merge(Router::new().route("/revocations", post(revocations)).with_state(hook))
}

#[tokio::main]
async fn main() {
    let config = Config::from_json(&std::env::var("BEARERGUARD_CONFIG").expect("set BEARERGUARD_CONFIG"))
        .expect("valid config");
    let validator = Validator::new(config).expect("valid validator");
    let secret = std::env::var("BEARERGUARD_REVOCATION_HOOK_SECRET").ok();
    let app = app(validator, secret.as_deref());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    println!("{}", serde_json::json!({"ready": true, "port": listener.local_addr().unwrap().port()}));
    axum::serve(listener, app).await.unwrap();
}

/// The hook against the test kit (`cargo test --example protected_api --features axum,testing`).
#[cfg(all(test, feature = "testing"))]
mod tests {
    use bearerguard::testing::{TestAuthorizationServer, TokenOptions};

    use super::*;

    const SECRET: &str = "hook-secret-for-the-tests-0123456789";

    async fn serve(router: Router) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        base
    }

    async fn orders(base: &str, token: &str) -> u16 {
        let response = reqwest::Client::new().get(format!("{base}/orders")).bearer_auth(token).send().await;
        response.unwrap().status().as_u16()
    }

    async fn hook(base: &str, body: String, secret: Option<&str>) -> u16 {
        let request = reqwest::Client::new()
            .post(format!("{base}/revocations"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        let request = match secret {
            Some(secret) => request.header("x-hook-secret", secret),
            None => request,
        };
        request.send().await.unwrap().status().as_u16()
    }

    fn form(pairs: &[(&str, &str)]) -> String {
        form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_revocation_hook_forgets_a_cached_verdict_and_refuses_strangers() {
        let server = TestAuthorizationServer::start().unwrap();
        let base = serve(app(Validator::new(server.config()).unwrap(), Some(SECRET))).await;
        let token = server.opaque(&TokenOptions::new().scope("write")).unwrap();
        assert_eq!(orders(&base, &token).await, 200);
        assert!(server.revoke(&token));
        assert_eq!(orders(&base, &token).await, 200, "the cached verdict");
        assert_eq!(server.counts().introspection, 1);

        let upper = SECRET.to_uppercase();
        let longer = format!("{SECRET}x");
        for secret in [None, Some(""), Some("wrong"), Some(&SECRET[1..]), Some(&longer), Some(&upper)] {
            assert_eq!(hook(&base, form(&[("token", &token)]), secret).await, 403, "{secret:?}");
        }
        assert_eq!(hook(&base, String::new(), Some(SECRET)).await, 400);
        assert_eq!(hook(&base, form(&[("token", "")]), Some(SECRET)).await, 400);
        assert_eq!(hook(&base, form(&[("token_type_hint", "access_token")]), Some(SECRET)).await, 400);
        assert_eq!(hook(&base, form(&[("token", &token), ("token", &token)]), Some(SECRET)).await, 400);
        assert_eq!(orders(&base, &token).await, 200, "nothing forgotten yet");
        assert_eq!(server.counts().introspection, 1);

        let body = form(&[("token", &token), ("token_type_hint", "access_token")]);
        assert_eq!(hook(&base, body, Some(SECRET)).await, 204);
        assert_eq!(orders(&base, &token).await, 401);
        assert_eq!(server.counts().introspection, 2);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn without_a_secret_there_is_no_revocation_hook() {
        let server = TestAuthorizationServer::start().unwrap();
        let base = serve(app(Validator::new(server.config()).unwrap(), None)).await;
        assert_eq!(hook(&base, form(&[("token", "x")]), Some(SECRET)).await, 404);
        let token = server.opaque(&TokenOptions::new().scope("write")).unwrap();
        assert_eq!(orders(&base, &token).await, 200);
        assert_eq!(orders(&base, "not-a-token").await, 401);
    }
}
