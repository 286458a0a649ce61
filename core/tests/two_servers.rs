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

/// Requests each endpoint of `server` answered so far (its `/_test/counters`).
async fn counters(server: &RealAs) -> serde_json::Value {
    let url = server.info["counters_url"].as_str().unwrap();
    serde_json::from_slice(&reqwest::get(url).await.unwrap().bytes().await.unwrap()).unwrap()
}

fn calls(c: &serde_json::Value) -> u64 {
    ["discovery", "jwks", "introspection", "token"].iter().map(|k| c[k].as_u64().unwrap()).sum()
}

/// One issuer's entry: both of its resources as audiences, its own `rs_basic` credentials.
fn entry(server: &RealAs, tenant: &str) -> Config {
    let mut c = Config::new(server.issuer(), server.resource("opaque"));
    c.audience.0.push(server.resource("jwt"));
    let rs = server.client("rs_basic");
    c.client_auth.client_id = rs["client_id"].as_str().map(str::to_owned);
    c.client_auth.client_secret = rs["client_secret"].as_str().map(Secret::new);
    c.tenant.0 = vec![tenant.to_owned()];
    c
}

fn bearer(token: &str) -> bearerguard::Request {
    bearerguard::Request::new().method("GET").authorization(format!("Bearer {token}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_validator_serves_two_real_issuers_and_the_fake_one() {
    use bearerguard::ErrorKind;
    use bearerguard::testing::{TestAuthorizationServer, TokenOptions};
    let (a, b) = (RealAs::start(), RealAs::start_tenant("b"));
    let kit = TestAuthorizationServer::start().unwrap();
    let mut kit_entry = kit.config();
    kit_entry.tenant.0 = vec!["kit".into()];
    let v = Validator::builder_for_issuers()
        .issuer(entry(&a, "a"))
        .issuer(entry(&b, "b"))
        .issuer(kit_entry)
        .build()
        .unwrap();
    // JWTs of each, by their `iss`.
    let (ja, jb) = (a.token("jwt", "read").await, b.token("jwt", "read").await);
    let jk = kit.jwt(&TokenOptions::new().subject("kit-user")).unwrap();
    let info = v.validate(&ja).await.unwrap();
    assert_eq!((info.source, info.issuer.clone()), (TokenSource::Jwt, Some(a.issuer())));
    let info = v.validate(&jb).await.unwrap();
    assert_eq!((info.source, info.issuer.clone()), (TokenSource::Jwt, Some(b.issuer())));
    assert_eq!(v.validate(&jk).await.unwrap().subject.as_deref(), Some("kit-user"));
    // Opaque tokens of each, by tenant key, at its own endpoint with its own credentials.
    let (oa, ob) = (a.token("opaque", "read").await, b.token("opaque", "read").await);
    let (before_a, before_b) = (counters(&a).await, counters(&b).await);
    let info = v.decide(&bearer(&oa).tenant("a")).await.unwrap();
    assert_eq!(info.client_id.as_deref(), a.client("svc")["client_id"].as_str());
    let info = v.decide(&bearer(&ob).tenant("b")).await.unwrap();
    assert_eq!(info.client_id.as_deref(), b.client("svc")["client_id"].as_str());
    let (after_a, after_b) = (counters(&a).await, counters(&b).await);
    assert_eq!(after_a["introspection"].as_u64().unwrap() - before_a["introspection"].as_u64().unwrap(), 1);
    assert_eq!(after_b["introspection"].as_u64().unwrap() - before_b["introspection"].as_u64().unwrap(), 1);
    // A's opaque token under B's tenant: only B is asked, and B does not know it.
    assert_eq!(v.decide(&bearer(&oa).tenant("b")).await.unwrap_err().kind(), ErrorKind::InvalidToken);
    assert_eq!(counters(&a).await["introspection"], after_a["introspection"]);

    // An unlisted real issuer, and a forged `iss` naming it: zero requests anywhere.
    let c = RealAs::start_tenant("c");
    let jc = c.token("jwt", "read").await;
    let forged = kit.jwt(&TokenOptions::new().issuer(c.issuer())).unwrap();
    let (before_a, before_b, before_c) = (counters(&a).await, counters(&b).await, counters(&c).await);
    let kit_before = kit.counts();
    for token in [&jc, &forged] {
        let e = v.validate(token).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidToken, "{e}");
    }
    assert_eq!(calls(&counters(&c).await), calls(&before_c), "the attacker's server is never asked");
    assert_eq!(
        (calls(&counters(&a).await), calls(&counters(&b).await)),
        (calls(&before_a), calls(&before_b))
    );
    assert_eq!(kit.counts(), kit_before);
    assert_eq!(v.stats().unrouted, 2);
    let by = v.stats_by_issuer();
    assert_eq!(by.iter().map(|(_, s)| s.accepted).collect::<Vec<_>>(), [2, 2, 1]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_real_issuer_stopped_leaves_the_other_unaffected() {
    use bearerguard::ErrorKind;
    let (a, b) = (RealAs::start(), RealAs::start_tenant("b"));
    let v = Validator::builder_for_issuers().issuer(entry(&a, "a")).issuer(entry(&b, "b")).build().unwrap();
    let n = 40;
    let mut b_opaque = Vec::new();
    let mut b_jwts = Vec::new();
    for _ in 0..n {
        b_opaque.push(b.token("opaque", "read").await);
        b_jwts.push(b.token("jwt", "read").await);
    }
    let a_opaque = a.token("opaque", "read").await;
    // Both issuers' endpoints are known before A goes away.
    v.decide(&bearer(&a_opaque).tenant("a")).await.unwrap();
    v.validate(&b_jwts[0]).await.unwrap();
    let baseline = {
        let t0 = std::time::Instant::now();
        v.decide(&bearer(&b_opaque[0]).tenant("b")).await.unwrap();
        t0.elapsed()
    };
    drop(a);
    // A's new tokens now fail at A, concurrently with B's decisions.
    let failing: Vec<_> = (0..n)
        .map(|i| {
            let v = v.clone();
            tokio::spawn(async move { v.decide(&bearer(&format!("a-new-token-{i}")).tenant("a")).await })
        })
        .collect();
    let mut latencies = Vec::new();
    for (opaque, jwt) in b_opaque.iter().skip(1).zip(&b_jwts) {
        let t0 = std::time::Instant::now();
        v.decide(&bearer(opaque).tenant("b")).await.unwrap();
        v.validate(jwt).await.unwrap();
        latencies.push(t0.elapsed());
    }
    for call in failing {
        assert_eq!(call.await.unwrap().unwrap_err().kind(), ErrorKind::Unavailable);
    }
    latencies.sort();
    let (p50, max) = (latencies[latencies.len() / 2], latencies[latencies.len() - 1]);
    println!(
        "real issuer A stopped: {n} of its decisions unavailable; issuer B: {} introspections + JWTs, \
         p50 {p50:?}, max {max:?} per pair (one introspection with A up: {baseline:?})",
        latencies.len()
    );
    assert_eq!(v.stats_by_issuer()[1].1.refused, 0);
}
