//! The core against a real authorization server: panva's oidc-provider (OpenID certified),
//! run by `tests/authorization-server` on 127.0.0.1. Every capability, end to end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests")]

mod support;

use std::time::Duration;

use bearerguard::{ClientAuthMethod, Config, IntrospectionResponseFormat, Secret, TokenSource, Validator};
use support::real_as::RealAs;

fn config(server: &RealAs, client: &str, resource: &str) -> Config {
    let mut c = Config::new(server.issuer(), server.resource(resource));
    let data = server.client(client);
    c.client_auth.client_id = data["client_id"].as_str().map(str::to_owned);
    c.client_auth.client_secret = data["client_secret"].as_str().map(Secret::new);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_oidc_provider() {
    let server = RealAs::start();

    // Opaque token + client_secret_basic -> claims.
    let v = Validator::new(config(&server, "rs_basic", "opaque")).unwrap();
    let opaque = server.token("opaque", "read write").await;
    let info = v.validate_with_scopes(&opaque, &["read"]).await.unwrap();
    assert_eq!(info.source, TokenSource::Introspection);
    assert_eq!(info.client_id.as_deref(), Some("svc-client"));
    assert_eq!(info.scopes, ["read", "write"]);
    assert_eq!(info.issuer.as_deref(), Some(server.issuer().as_str()));
    assert_eq!(info.token_type.as_deref(), Some("Bearer"));

    // Missing scope -> insufficient_scope, answered from the cache.
    let e = v.validate_with_scopes(&opaque, &["admin"]).await.unwrap_err();
    assert_eq!(e.code(), "insufficient_scope");
    assert!(v.www_authenticate(&e).unwrap().contains("scope=\"admin\""));
    assert_eq!(v.stats().introspection_requests, 1);

    // client_secret_post.
    let mut post = config(&server, "rs_post", "opaque");
    post.client_auth.method = Some(ClientAuthMethod::ClientSecretPost);
    Validator::new(post).unwrap().validate(&opaque).await.unwrap();

    // The client whose id and secret contain @ : % + / and a space.
    Validator::new(config(&server, "rs_special", "opaque")).unwrap().validate(&opaque).await.unwrap();

    // private_key_jwt with the ZITADEL key file (RS256), then the EC key (ES256).
    let pkjwt = server.client("rs_pkjwt");
    let mut zitadel = Config::new(server.issuer(), server.resource("opaque"));
    zitadel.client_auth.key_file = Some(pkjwt["key_file"].as_str().unwrap().to_owned());
    let zv = Validator::new(zitadel).unwrap();
    for _ in 0..2 {
        // A fresh assertion each time: oidc-provider rejects a reused jti.
        let t = server.token("opaque", "read").await;
        assert_eq!(zv.validate(&t).await.unwrap().client_id.as_deref(), Some("svc-client"));
    }
    let mut ec = Config::new(server.issuer(), server.resource("opaque"));
    ec.client_auth.client_id = Some("rs-pkjwt".into());
    ec.client_auth.private_key =
        Some(Secret::new(std::fs::read_to_string(pkjwt["ec_key_pem"].as_str().unwrap()).unwrap()));
    ec.client_auth.private_key_id = pkjwt["ec_kid"].as_str().map(str::to_owned);
    Validator::new(ec).unwrap().validate(&opaque).await.unwrap();
    let ed = server.client("rs_pkjwt_ed");
    let mut edc = Config::new(server.issuer(), server.resource("opaque"));
    edc.client_auth.client_id = ed["client_id"].as_str().map(str::to_owned);
    edc.client_auth.private_key =
        Some(Secret::new(std::fs::read_to_string(ed["key_pem"].as_str().unwrap()).unwrap()));
    edc.client_auth.private_key_id = ed["kid"].as_str().map(str::to_owned);
    Validator::new(edc).unwrap().validate(&opaque).await.unwrap();
    let mut sj = config(&server, "rs_secretjwt", "opaque");
    sj.client_auth.method = Some(ClientAuthMethod::ClientSecretJwt);
    Validator::new(sj).unwrap().validate(&opaque).await.unwrap();

    // JWT access tokens (RS256, ES256, EdDSA) validated locally via discovery + JWKS.
    for resource in ["jwt", "jwt_es256", "jwt_eddsa"] {
        let v = Validator::new(config(&server, "rs_basic", resource)).unwrap();
        let jwt = server.token(resource, "read").await;
        let info = v.validate(&jwt).await.unwrap();
        assert_eq!(info.source, TokenSource::Jwt, "{resource}");
        assert_eq!(info.token_type.as_deref(), Some("at+jwt"));
        assert_eq!(info.audiences, [server.resource(resource)]);
        assert_eq!(v.stats().introspection_requests, 0);
        assert_eq!(v.stats().jwks_fetches, 1);
    }

    // A JWT sent to introspection anyway: oidc-provider refuses (unsupported_token_type) and
    // that is an invalid token for an introspection-only validator, not an outage.
    let mut only = config(&server, "rs_basic", "jwt");
    only.strategy = bearerguard::Strategy::Introspection;
    let jwt = server.token("jwt", "read").await;
    assert_eq!(Validator::new(only).unwrap().validate(&jwt).await.unwrap_err().code(), "invalid_token");

    // Revoked -> invalid_token.
    let revoked = server.token("opaque", "read").await;
    server.revoke(&revoked).await;
    assert_eq!(v.validate(&revoked).await.unwrap_err().code(), "invalid_token");

    // Wrong client secret -> configuration, never invalid_token; not cached.
    let mut wrong = config(&server, "rs_basic", "opaque");
    wrong.client_auth.client_secret = Some(Secret::new("not-the-secret"));
    let wv = Validator::new(wrong).unwrap();
    assert_eq!(wv.validate(&opaque).await.unwrap_err().code(), "configuration");
    assert_eq!(wv.validate(&opaque).await.unwrap_err().code(), "configuration");
    assert_eq!(wv.stats().introspection_requests, 2);

    // RFC 9701 signed introspection response, verified with the issuer's JWKS.
    let mut signed = config(&server, "rs_basic", "opaque");
    signed.introspection_response = IntrospectionResponseFormat::Jwt;
    let sv = Validator::new(signed).unwrap();
    let info = sv.validate(&opaque).await.unwrap();
    assert_eq!(info.client_id.as_deref(), Some("svc-client"));
    assert_eq!(sv.stats().jwks_fetches, 1);
    assert_eq!(sv.validate(&revoked).await.unwrap_err().code(), "invalid_token");

    // Expired (short lifetime): the JWT says token_expired, the opaque token is inactive.
    let short_jwt = server.token("short_jwt", "read").await;
    let short_opaque = server.token("short_opaque", "read").await;
    let mut sc = config(&server, "rs_basic", "short_jwt");
    sc.leeway_secs = 0;
    sc.audience = bearerguard::OneOrMany(vec![server.resource("short_jwt"), server.resource("short_opaque")]);
    sc.cache.enabled = false;
    let shortv = Validator::new(sc).unwrap();
    shortv.validate(&short_jwt).await.unwrap();
    shortv.validate(&short_opaque).await.unwrap();
    let ttl = server.info["short_ttl"].as_u64().unwrap();
    tokio::time::sleep(Duration::from_secs(ttl + 1)).await;
    assert_eq!(shortv.validate(&short_jwt).await.unwrap_err().code(), "token_expired");
    assert_eq!(shortv.validate(&short_opaque).await.unwrap_err().code(), "invalid_token");
}
