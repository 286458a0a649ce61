//! The test kit (`bearerguard::testing`, feature `testing`) against its own contract, over real
//! HTTP on 127.0.0.1: what it serves, what it mints, and a validator configured by it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests")]

use bearerguard::testing::{TestAuthorizationServer, TokenOptions};
use bearerguard::{Config, Strategy, Validator};
use jsonwebtoken::{DecodingKey, Validation, jwk::Jwk};
use serde_json::{Value, json};

fn client() -> reqwest::Client {
    reqwest::Client::new()
}

async fn get_json(url: &str) -> (u16, Value) {
    let response = client().get(url).send().await.unwrap();
    let status = response.status().as_u16();
    (status, serde_json::from_slice(&response.bytes().await.unwrap()).unwrap())
}

/// A form body (reqwest here has no `form` feature).
trait Form {
    fn form_body(self, pairs: &[(&str, &str)]) -> Self;
}

impl Form for reqwest::RequestBuilder {
    fn form_body(self, pairs: &[(&str, &str)]) -> Self {
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
        self.header("content-type", "application/x-www-form-urlencoded").body(body)
    }
}

#[tokio::test]
async fn serves_discovery_at_both_well_known_paths() {
    let server = TestAuthorizationServer::start().unwrap();
    let base = server.issuer().to_owned();
    assert!(base.starts_with("http://127.0.0.1:"));
    for path in ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"] {
        let (status, doc) = get_json(&format!("{base}{path}")).await;
        assert_eq!(status, 200);
        assert_eq!(doc["issuer"], json!(base));
        assert_eq!(doc["jwks_uri"], json!(format!("{base}/jwks")));
        assert_eq!(doc["introspection_endpoint"], json!(format!("{base}/introspect")));
        assert_eq!(doc["revocation_endpoint"], json!(format!("{base}/revoke")));
        assert_eq!(doc, server.metadata());
    }
    assert_eq!(server.counts().discovery, 2);
}

#[tokio::test]
async fn its_jwks_verifies_the_tokens_it_mints_in_every_algorithm() {
    let server = TestAuthorizationServer::start().unwrap();
    let (status, jwks) = get_json(&format!("{}/jwks", server.issuer())).await;
    assert_eq!(status, 200);
    assert_eq!(jwks["keys"].as_array().unwrap().len(), 3);
    for alg in ["RS256", "ES256", "EdDSA"] {
        let token =
            server.jwt(&TokenOptions::new().algorithm(alg).subject("alice").scope("read write")).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.typ.as_deref(), Some("at+jwt"));
        let jwk_value =
            jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == json!(header.kid)).unwrap();
        let jwk: Jwk = serde_json::from_value(jwk_value.clone()).unwrap();
        let mut validation = Validation::new(header.alg);
        validation.set_audience(&[server.audience()]);
        validation.set_issuer(&[server.issuer()]);
        let data = jsonwebtoken::decode::<Value>(&token, &DecodingKey::from_jwk(&jwk).unwrap(), &validation)
            .unwrap();
        assert_eq!(data.claims["sub"], "alice");
        assert_eq!(data.claims["scope"], "read write");
        assert_eq!(data.claims["client_id"], "test-client");
        assert!(data.claims["jti"].is_string());
    }
    // Another server's keys are its own: its JWKS does not verify this one's tokens.
    let other = TestAuthorizationServer::start().unwrap();
    let token = server.jwt(&TokenOptions::new()).unwrap();
    let other_keys = Config {
        discovery: false,
        jwks_uri: Some(format!("{}/jwks", other.issuer())),
        strategy: Strategy::Jwt,
        ..server.config()
    };
    let validator = Validator::new(other_keys).unwrap();
    assert!(validator.validate(&token).await.is_err());
}

async fn introspect(server: &TestAuthorizationServer, token: &str, auth: &str) -> (u16, Value) {
    let url = format!("{}/introspect", server.issuer());
    let mut form = vec![("token", token.to_owned())];
    let mut request = client().post(&url);
    match auth {
        "basic" => request = request.basic_auth(server.client_id(), Some(server.client_secret())),
        "post" => {
            form.push(("client_id", server.client_id().to_owned()));
            form.push(("client_secret", server.client_secret().to_owned()));
        }
        "wrong-basic" => request = request.basic_auth(server.client_id(), Some("not-the-secret")),
        "wrong-post" => {
            form.push(("client_id", server.client_id().to_owned()));
            form.push(("client_secret", "not-the-secret".to_owned()));
        }
        "wrong-client" => request = request.basic_auth("someone-else", Some(server.client_secret())),
        _ => {}
    }
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let response = request.form_body(&pairs).send().await.unwrap();
    let status = response.status().as_u16();
    (status, serde_json::from_slice(&response.bytes().await.unwrap()).unwrap_or(Value::Null))
}

#[tokio::test]
async fn introspection_takes_only_the_client_credentials_it_handed_out() {
    let server = TestAuthorizationServer::start().unwrap();
    let token = server.opaque(&TokenOptions::new().scope("read")).unwrap();
    for auth in ["none", "wrong-basic", "wrong-post", "wrong-client"] {
        let (status, body) = introspect(&server, &token, auth).await;
        assert_eq!((status, &body["error"]), (401, &json!("invalid_client")), "{auth}");
    }
    for auth in ["basic", "post"] {
        let (status, body) = introspect(&server, &token, auth).await;
        assert_eq!(status, 200, "{auth}");
        assert_eq!(body["active"], true);
        assert_eq!(body["scope"], "read");
        assert_eq!(body["aud"], json!(server.audience()));
    }
    let (_, unknown) = introspect(&server, "never-minted", "basic").await;
    assert_eq!(unknown, json!({"active": false}));
    assert_eq!(server.counts().introspection, 7);
}

#[tokio::test]
async fn revoked_and_expired_tokens_are_inactive() {
    let server = TestAuthorizationServer::start().unwrap();
    let opaque = server.opaque(&TokenOptions::new()).unwrap();
    let jwt = server.jwt(&TokenOptions::new()).unwrap();
    let expired = server.opaque(&TokenOptions::new().expired()).unwrap();
    assert_eq!(introspect(&server, &jwt, "basic").await.1["active"], true);
    assert!(server.revoke(&opaque));
    assert!(!server.revoke("never-minted"));
    assert_eq!(introspect(&server, &opaque, "basic").await.1, json!({"active": false}));
    assert_eq!(introspect(&server, &expired, "basic").await.1, json!({"active": false}));

    // RFC 7009 over HTTP: the same client only.
    let url = format!("{}/revoke", server.issuer());
    let refused = client().post(&url).form_body(&[("token", jwt.as_str())]).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    assert_eq!(introspect(&server, &jwt, "basic").await.1["active"], true);
    let revoked = client()
        .post(&url)
        .basic_auth(server.client_id(), Some(server.client_secret()))
        .form_body(&[("token", jwt.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status().as_u16(), 200);
    assert_eq!(introspect(&server, &jwt, "basic").await.1, json!({"active": false}));
    assert_eq!(server.counts().revocation, 2);
}

#[tokio::test]
async fn a_validator_built_from_its_config_decides_as_a_user_expects() {
    let server = TestAuthorizationServer::start().unwrap();
    let validator = Validator::new(server.config()).unwrap();
    let code = |r: Result<_, bearerguard::Error>| r.map(|_| "ok").unwrap_or_else(|e| e.code());

    let good = server.jwt(&TokenOptions::new().subject("alice").scope("read")).unwrap();
    let info = validator.validate_with_scopes(&good, &["read"]).await.unwrap();
    assert_eq!(info.subject.as_deref(), Some("alice"));
    for alg in ["ES256", "EdDSA"] {
        let token = server.jwt(&TokenOptions::new().algorithm(alg)).unwrap();
        assert_eq!(code(validator.validate(&token).await), "ok", "{alg}");
    }
    assert_eq!(code(validator.validate_with_scopes(&good, &["write"]).await), "insufficient_scope");
    let expired = server.jwt(&TokenOptions::new().expired()).unwrap();
    assert_eq!(code(validator.validate(&expired).await), "token_expired");
    let elsewhere = server.jwt(&TokenOptions::new().audience("https://other.example.test")).unwrap();
    assert_eq!(code(validator.validate(&elsewhere).await), "invalid_token");
    let forged_iss = server.jwt(&TokenOptions::new().issuer("https://evil.example.test")).unwrap();
    assert_eq!(code(validator.validate(&forged_iss).await), "invalid_token");
    // A JWT is validated locally: no introspection happened, and revoking it changes nothing.
    assert_eq!(server.counts().introspection, 0);
    assert!(server.revoke(&good));
    assert_eq!(code(validator.validate(&good).await), "ok");

    let opaque = server.opaque(&TokenOptions::new().subject("bob").scope("read")).unwrap();
    assert_eq!(
        validator.validate_with_scopes(&opaque, &["read"]).await.unwrap().subject.as_deref(),
        Some("bob")
    );
    let revoked = server.opaque(&TokenOptions::new().scope("read")).unwrap();
    server.revoke(&revoked);
    assert_eq!(code(validator.validate(&revoked).await), "invalid_token");
    let expired_opaque = server.opaque(&TokenOptions::new().expired()).unwrap();
    assert_eq!(code(validator.validate(&expired_opaque).await), "invalid_token");
    assert_eq!(server.counts().introspection, 3);
    assert_eq!(server.counts().discovery, 1);
}

#[tokio::test]
async fn under_introspect_all_a_revoked_jwt_is_refused() {
    let server = TestAuthorizationServer::start().unwrap();
    let validator = Validator::new(Config { strategy: Strategy::IntrospectAll, ..server.config() }).unwrap();
    let token = server.jwt(&TokenOptions::new().scope("read")).unwrap();
    server.revoke(&token);
    assert_eq!(validator.validate(&token).await.unwrap_err().code(), "invalid_token");
    assert_eq!(server.counts().introspection, 1);
}

#[tokio::test]
async fn bound_tokens_carry_cnf_and_need_their_proof() {
    let server = TestAuthorizationServer::start().unwrap();
    let validator = Validator::new(server.config()).unwrap();
    let dpop =
        server.jwt(&TokenOptions::new().dpop_jkt("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I")).unwrap();
    let mtls =
        server.opaque(&TokenOptions::new().x5t_s256("bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2")).unwrap();
    let (_, answer) = introspect(&server, &mtls, "basic").await;
    assert_eq!(answer["cnf"], json!({"x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2"}));
    // Presented as plain bearer tokens, without the DPoP proof or the certificate: refused.
    assert!(validator.validate(&dpop).await.is_err());
    assert!(validator.validate(&mtls).await.is_err());
}

#[tokio::test]
async fn options_are_checked_and_claims_can_be_replaced_or_removed() {
    let server = TestAuthorizationServer::start().unwrap();
    let err = server.jwt(&TokenOptions::new().algorithm("HS256")).unwrap_err();
    assert_eq!(err.code(), "configuration");
    let err = TokenOptions::from_value(json!({"scopes": "read"})).unwrap_err();
    assert_eq!(err.code(), "configuration");
    let options = TokenOptions::from_value(
        json!({"scope": ["read", "write"], "claims": {"exp": null, "tenant": "t1"}}),
    );
    let token = server.opaque(&options.unwrap()).unwrap();
    let (_, answer) = introspect(&server, &token, "basic").await;
    assert_eq!(
        (answer["scope"].as_str(), answer.get("exp"), answer["tenant"].as_str()),
        (Some("read write"), None, Some("t1"))
    );
}

#[tokio::test]
async fn no_secret_in_debug_output_and_closed_means_gone() {
    let mut server = TestAuthorizationServer::start().unwrap();
    let secret = server.client_secret().to_owned();
    assert!(secret.len() >= 20);
    let shown =
        format!("{server:?} {:?} {}", server.config(), serde_json::to_string(&server.config()).unwrap());
    assert!(!shown.contains(&secret), "{shown}");
    assert!(shown.contains(server.issuer()));
    assert_eq!(server.config_value()["client_auth"]["client_secret"], json!(secret));
    let url = format!("{}/jwks", server.issuer());
    assert!(client().get(&url).send().await.is_ok());
    server.close();
    server.close();
    assert!(server.is_closed());
    let fresh = reqwest::Client::new();
    assert!(fresh.get(&url).send().await.is_err());
}

// Moved from fake_as.rs: tests that need only discovery, JWKS, minted tokens and plain
// introspection run on the kit, as users' tests do. fake_as.rs keeps what needs FakeAs's
// faults, counters of the request form and assertion checks.

#[tokio::test]
async fn jwts_of_each_algorithm_validate_through_discovery_and_jwks() {
    let server = TestAuthorizationServer::start().unwrap();
    let v = Validator::new(server.config()).unwrap();
    let roles = json!({"admin": {"1": "x"}});
    for alg in ["RS256", "ES256", "EdDSA"] {
        let options = TokenOptions::new()
            .algorithm(alg)
            .subject("user-1")
            .scope("read write")
            .claim("urn:zitadel:iam:org:project:roles", roles.clone());
        let info = v.validate(&server.jwt(&options).unwrap()).await.unwrap();
        assert_eq!(info.source, bearerguard::TokenSource::Jwt);
        assert_eq!(info.subject.as_deref(), Some("user-1"));
        assert_eq!(info.scopes, ["read", "write"]);
        assert_eq!(info.claims["urn:zitadel:iam:org:project:roles"]["admin"]["1"], "x");
    }
    let counts = server.counts();
    assert_eq!(counts.discovery, 1, "discovery is cached");
    assert_eq!(counts.jwks, 1, "one JWKS fetch serves every token");
    assert_eq!(counts.introspection, 0);
    // ZITADEL's access tokens say typ JWT; strict mode refuses them.
    let mut zitadel = TokenOptions::new();
    zitadel.typ = Some("JWT".into());
    let zitadel_style = server.jwt(&zitadel).unwrap();
    assert!(v.validate(&zitadel_style).await.is_ok());
    let strict = Validator::new(Config { rfc9068_strict: true, ..server.config() }).unwrap();
    assert_eq!(strict.validate(&zitadel_style).await.unwrap_err().code(), "invalid_token");
}

#[tokio::test]
async fn client_secret_post_sends_credentials_in_the_body() {
    let server = TestAuthorizationServer::start().unwrap();
    let mut c = server.config();
    c.client_auth.method = Some(bearerguard::ClientAuthMethod::ClientSecretPost);
    let v = Validator::new(c).unwrap();
    let token = server.opaque(&TokenOptions::new().subject("alice")).unwrap();
    assert_eq!(v.validate(&token).await.unwrap().subject.as_deref(), Some("alice"));
    assert_eq!(server.counts().introspection, 1);
}

#[tokio::test]
async fn wrong_credentials_are_a_configuration_error() {
    let server = TestAuthorizationServer::start().unwrap();
    let mut c = server.config();
    c.client_auth.client_secret = Some(bearerguard::Secret::new("wrong"));
    let v = Validator::new(c).unwrap();
    let e = v.validate(&server.opaque(&TokenOptions::new()).unwrap()).await.unwrap_err();
    assert_eq!(e.code(), "configuration");
    assert_eq!(e.http_status(), 500);
    assert!(v.www_authenticate(&e).is_none());
}

#[tokio::test]
async fn strategies_route_tokens() {
    let server = TestAuthorizationServer::start().unwrap();
    let jwt = server.jwt(&TokenOptions::new()).unwrap();
    let opaque = server.opaque(&TokenOptions::new()).unwrap();
    let v = Validator::new(Config { strategy: Strategy::Jwt, ..server.config() }).unwrap();
    assert!(v.validate(&jwt).await.is_ok());
    assert_eq!(v.validate(&opaque).await.unwrap_err().code(), "invalid_token");
    assert_eq!(server.counts().introspection, 0);

    let v = Validator::new(Config { strategy: Strategy::Introspection, ..server.config() }).unwrap();
    assert_eq!(v.validate(&jwt).await.unwrap().source, bearerguard::TokenSource::Introspection);
    assert_eq!(server.counts().jwks, 1, "introspection-only never fetches keys");

    let v = Validator::new(Config { strategy: Strategy::IntrospectAll, ..server.config() }).unwrap();
    // Revoked at the server: local validation alone would accept it.
    server.revoke(&jwt);
    assert_eq!(v.validate(&jwt).await.unwrap_err().code(), "invalid_token");
}

#[tokio::test]
async fn forget_makes_the_next_use_of_a_revoked_token_ask_the_server_again() {
    let server = TestAuthorizationServer::start().unwrap();
    let validator = Validator::new(server.config()).unwrap();
    let opaque = server.opaque(&TokenOptions::new().subject("carol")).unwrap();
    let other = server.opaque(&TokenOptions::new()).unwrap();
    assert!(validator.validate(&opaque).await.is_ok());
    assert!(validator.validate(&other).await.is_ok());
    assert_eq!(server.counts().introspection, 2);
    // Revoked at the server: the cached verdict still accepts, until it is forgotten.
    assert!(server.revoke(&opaque));
    assert!(validator.validate(&opaque).await.is_ok(), "served from the cache");
    assert_eq!(server.counts().introspection, 2);
    validator.forget(&opaque).await.unwrap();
    assert_eq!(validator.validate(&opaque).await.unwrap_err().code(), "invalid_token");
    assert_eq!(server.counts().introspection, 3, "asked again");
    // Only that token was forgotten; a token never seen, and forgetting twice, are no-ops.
    assert!(validator.validate(&other).await.is_ok());
    assert_eq!(server.counts().introspection, 3);
    validator.forget("never-seen").await.unwrap();
    validator.forget(&opaque).await.unwrap();
    // A negative verdict is forgotten too: the next use asks again (and is refused again).
    assert_eq!(validator.validate(&opaque).await.unwrap_err().code(), "invalid_token");
    assert_eq!(server.counts().introspection, 4);

    // A remembered JWT is verified again after forget (still valid: its signature holds).
    let jwt = server.jwt(&TokenOptions::new()).unwrap();
    assert!(validator.validate(&jwt).await.is_ok());
    assert_eq!(validator.remembered_jwts().await, 1);
    validator.forget(&jwt).await.unwrap();
    assert_eq!(validator.remembered_jwts().await, 0);
    assert!(validator.validate(&jwt).await.is_ok());
}
