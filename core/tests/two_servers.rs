//! The harness for tests of many issuers (issue 13): two real authorization servers at once,
//! the default one and one started with a tenant (its own issuer, signing keys and clients).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests")]

mod support;

use bearerguard::{Config, Secret, TokenSource, Validator};
use support::real_as::RealAs;

/// A single-issuer validator for `server`'s opaque resource, authenticating as its `rs_basic`.
fn validator(server: &RealAs) -> Validator {
    let mut c = Config::new(server.issuer(), server.resource("opaque"));
    let rs = server.client("rs_basic");
    c.client_auth.client_id = rs["client_id"].as_str().map(str::to_owned);
    c.client_auth.client_secret = rs["client_secret"].as_str().map(Secret::new);
    Validator::new(c).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tenant_server_has_its_own_issuer_and_clients() {
    let a = RealAs::start();
    let b = RealAs::start_tenant("b");
    assert_eq!(a.tenant(), None);
    assert_eq!(b.tenant(), Some("b"));
    assert_ne!(a.issuer(), b.issuer());
    assert_eq!(a.resource("opaque"), b.resource("opaque"), "one audience for both");

    // Tenant b's clients, as its ready line reports them.
    let (svc_a, svc_b) = (a.client("svc"), b.client("svc"));
    assert_eq!(svc_b["client_id"].as_str().unwrap(), format!("b-{}", svc_a["client_id"].as_str().unwrap()));
    assert_ne!(svc_b["client_secret"], svc_a["client_secret"]);
    assert_eq!(b.client("rs_pkjwt")["client_id"], a.client("rs_pkjwt")["client_id"]);

    // A client_credentials token from b with b's svc client, introspected at b with b's rs_basic.
    let token = b.token("opaque", "read").await;
    let info = validator(&b).validate(&token).await.unwrap();
    assert_eq!(info.source, TokenSource::Introspection);
    assert_eq!(info.issuer.as_deref(), Some(b.issuer().as_str()));
    assert_eq!(info.client_id.as_deref(), svc_b["client_id"].as_str());

    // Separate registrations: each server refuses the other's svc credentials.
    assert_eq!(a.token_request_as(svc_b, "opaque", "read").await.status(), 401);
    assert_eq!(b.token_request_as(svc_a, "opaque", "read").await.status(), 401);
    assert_eq!(b.token_request_as(svc_b, "opaque", "read").await.status(), 200);
}
