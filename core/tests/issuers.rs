//! Many issuers behind one validator (docs/security.md ISS), against test-kit authorization
//! servers over real HTTP on 127.0.0.1: routing by `iss` and by tenant key, refusals with zero
//! requests, isolation, the resolver's bounds, and one config from JSON, TOML and the builder.
//! The same against two real oidc-provider instances is in `two_servers.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests")]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bearerguard::testing::{RequestCounts, TestAuthorizationServer, TokenOptions};
use bearerguard::{Config, ErrorKind, IssuerResolver, OpaqueRouting, Request, ResolverFuture, Validator};

fn bearer(token: &str) -> Request {
    Request::new().method("GET").authorization(format!("Bearer {token}"))
}

fn no_requests(counts: RequestCounts) -> bool {
    counts.discovery == 0 && counts.jwks == 0 && counts.introspection == 0
}

/// Two issuers, each with its tenant key, opaque tokens optionally tried in order.
fn two(a: &TestAuthorizationServer, b: &TestAuthorizationServer, routing: OpaqueRouting) -> Validator {
    let mut ca = a.config();
    ca.tenant.0 = vec!["a.example".into()];
    let mut cb = b.config();
    cb.tenant.0 = vec!["b.example".into()];
    Validator::builder_for_issuers().issuer(ca).issuer(cb).opaque_routing(routing).build().unwrap()
}

#[tokio::test]
async fn jwts_and_opaque_tokens_of_each_issuer_go_to_their_own_server() {
    let (a, b) = (TestAuthorizationServer::start().unwrap(), TestAuthorizationServer::start().unwrap());
    let v = two(&a, &b, OpaqueRouting::Tenant);
    let ja = a.jwt(&TokenOptions::new().subject("alice")).unwrap();
    let jb = b.jwt(&TokenOptions::new().subject("bob")).unwrap();
    assert_eq!(v.validate(&ja).await.unwrap().subject.as_deref(), Some("alice"));
    assert_eq!(v.validate(&jb).await.unwrap().subject.as_deref(), Some("bob"));
    assert_eq!((a.counts().jwks, b.counts().jwks), (1, 1), "each issuer's keys from its own server");
    // Opaque tokens by tenant key, each introspected at its own endpoint with its own client.
    let oa = a.opaque(&TokenOptions::new().subject("carol")).unwrap();
    let ob = b.opaque(&TokenOptions::new().subject("dave")).unwrap();
    let info = v.decide(&bearer(&oa).tenant("a.example")).await.unwrap();
    assert_eq!(info.subject.as_deref(), Some("carol"));
    let info = v.decide(&bearer(&ob).tenant("b.example")).await.unwrap();
    assert_eq!(info.subject.as_deref(), Some("dave"));
    assert_eq!((a.counts().introspection, b.counts().introspection), (1, 1));
    let by = v.stats_by_issuer();
    assert_eq!(by.len(), 2);
    assert_eq!((by[0].0.as_str(), by[0].1.accepted, by[0].1.introspection_requests), (a.issuer(), 2, 1));
    assert_eq!((by[1].0.as_str(), by[1].1.accepted, by[1].1.jwks_fetches), (b.issuer(), 2, 1));
    let total = v.stats();
    assert_eq!(
        (total.accepted, total.refused, total.introspection_requests, total.jwks_fetches),
        (4, 0, 2, 2)
    );
}

#[tokio::test]
async fn a_tenant_key_refuses_every_other_issuers_token() {
    let (a, b) = (TestAuthorizationServer::start().unwrap(), TestAuthorizationServer::start().unwrap());
    let v = two(&a, &b, OpaqueRouting::Tenant);
    let ja = a.jwt(&TokenOptions::new()).unwrap();
    // A's JWT on B's tenant: B's claim check refuses its `iss` before any key is fetched.
    let e = v.decide(&bearer(&ja).tenant("b.example")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidToken, "{e}");
    assert!(no_requests(a.counts()), "{:?}", a.counts());
    // A's opaque token on B's tenant: only B is asked, and B does not know it.
    let oa = a.opaque(&TokenOptions::new()).unwrap();
    let e = v.decide(&bearer(&oa).tenant("b.example")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidToken);
    assert_eq!((a.counts().introspection, b.counts().introspection), (0, 1));
    // An unknown tenant key: refused, nothing asked.
    let before = (a.counts(), b.counts());
    let e = v.decide(&bearer(&oa).tenant("evil.example")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidToken);
    assert_eq!((a.counts(), b.counts()), before);
    assert_eq!(v.stats().unrouted, 1);
}

#[tokio::test]
async fn unlisted_and_forged_issuers_cost_zero_requests() {
    let (a, b) = (TestAuthorizationServer::start().unwrap(), TestAuthorizationServer::start().unwrap());
    let attacker = TestAuthorizationServer::start().unwrap();
    let v = two(&a, &b, OpaqueRouting::Tenant);
    // A token from an issuer nobody listed.
    let unlisted = attacker.jwt(&TokenOptions::new()).unwrap();
    // A's key, but an `iss` pointing at the attacker's server.
    let forged = a.jwt(&TokenOptions::new().issuer(attacker.issuer())).unwrap();
    // An `iss` that is a listed one with a twist.
    let near = a.jwt(&TokenOptions::new().issuer(format!("{}/", a.issuer()))).unwrap();
    for token in [&unlisted, &forged, &near] {
        let e = v.validate(token).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidToken, "{e}");
        assert_eq!(e.detail(), "the token's issuer is not one this API accepts");
    }
    // An opaque token without a tenant key, under `opaque_routing: tenant`.
    let opaque = a.opaque(&TokenOptions::new()).unwrap();
    assert_eq!(v.validate(&opaque).await.unwrap_err().kind(), ErrorKind::InvalidToken);
    for server in [&a, &b, &attacker] {
        assert!(no_requests(server.counts()), "{:?}", server.counts());
    }
    let stats = v.stats();
    assert_eq!((stats.unrouted, stats.refused, stats.accepted), (4, 4, 0));
    // A missing header is still refused precisely (by the first issuer), not as unrouted.
    let e = v.decide(&Request::new().method("GET")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MissingToken);
}

#[tokio::test]
async fn one_issuers_keys_never_verify_anothers_tokens() {
    let (a, b) = (TestAuthorizationServer::start().unwrap(), TestAuthorizationServer::start().unwrap());
    let v = two(&a, &b, OpaqueRouting::Tenant);
    // Signed by B, naming A: routed to A, whose keys do not verify it.
    let crossed = b.jwt(&TokenOptions::new().issuer(a.issuer())).unwrap();
    assert_eq!(v.validate(&crossed).await.unwrap_err().kind(), ErrorKind::InvalidToken);
    assert_eq!(a.counts().jwks, 1, "A's keys judged it");
    assert!(no_requests(b.counts()), "B is never asked about a token naming A");
    // And the other way round.
    let crossed = a.jwt(&TokenOptions::new().issuer(b.issuer())).unwrap();
    assert_eq!(v.validate(&crossed).await.unwrap_err().kind(), ErrorKind::InvalidToken);
    assert_eq!((a.counts().jwks, b.counts().jwks), (1, 1), "B's keys judged it");
    // A token a header could not carry is refused as one issuer's validator refuses it: a
    // good token with a trailing space is not trimmed into an acceptance.
    let good = a.jwt(&TokenOptions::new()).unwrap();
    assert!(v.validate(&good).await.is_ok());
    assert_eq!(v.validate(&format!("{good} ")).await.unwrap_err().kind(), ErrorKind::InvalidToken);
    assert_eq!(v.validate("").await.unwrap_err().kind(), ErrorKind::MissingToken);
}

#[tokio::test]
async fn opaque_tokens_in_order_reach_the_issuer_that_knows_them() {
    let (a, b) = (TestAuthorizationServer::start().unwrap(), TestAuthorizationServer::start().unwrap());
    let v = two(&a, &b, OpaqueRouting::InOrder);
    let ob = b.opaque(&TokenOptions::new().subject("bob")).unwrap();
    assert_eq!(v.validate(&ob).await.unwrap().subject.as_deref(), Some("bob"));
    assert_eq!((a.counts().introspection, b.counts().introspection), (1, 1), "A first, then B");
    let unknown = "not-a-token-anyone-issued";
    assert_eq!(v.validate(unknown).await.unwrap_err().kind(), ErrorKind::InvalidToken);
    // An outage of the first is never reported as an invalid token.
    let mut a = a;
    a.close();
    let e = v.validate("another-unknown-token").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    // B's tokens still pass while A is down.
    let ob2 = b.opaque(&TokenOptions::new().subject("bob2")).unwrap();
    assert_eq!(v.validate(&ob2).await.unwrap().subject.as_deref(), Some("bob2"));
}

#[tokio::test]
async fn one_issuer_stopped_leaves_the_other_unaffected() {
    let (mut a, b) = (TestAuthorizationServer::start().unwrap(), TestAuthorizationServer::start().unwrap());
    let mut ca = a.config();
    ca.tenant.0 = vec!["a".into()];
    // A slow, failing A: a long deadline, so that waiting for it would show in B's figures.
    ca.discovery = true;
    let mut cb = b.config();
    cb.tenant.0 = vec!["b".into()];
    let v = Validator::builder_for_issuers().issuer(ca).issuer(cb).build().unwrap();
    a.close();
    let n = 200;
    let a_tokens: Vec<String> = (0..n).map(|i| format!("a-token-{i}")).collect();
    let b_tokens: Vec<String> = (0..n).map(|_| b.opaque(&TokenOptions::new()).unwrap()).collect();
    let b_jwts: Vec<String> =
        (0..n).map(|i| b.jwt(&TokenOptions::new().subject(format!("s{i}"))).unwrap()).collect();
    let started = Instant::now();
    let a_calls = a_tokens.iter().map(|t| {
        let v = v.clone();
        let t = t.clone();
        tokio::spawn(async move { v.decide(&bearer(&t).tenant("a")).await })
    });
    let a_calls: Vec<_> = a_calls.collect();
    let mut b_latencies = Vec::new();
    for (opaque, jwt) in b_tokens.iter().zip(&b_jwts) {
        let t0 = Instant::now();
        v.decide(&bearer(opaque).tenant("b")).await.unwrap();
        v.validate(jwt).await.unwrap();
        b_latencies.push(t0.elapsed());
    }
    for call in a_calls {
        assert_eq!(call.await.unwrap().unwrap_err().kind(), ErrorKind::Unavailable);
    }
    b_latencies.sort();
    let p50 = b_latencies[b_latencies.len() / 2];
    let max = *b_latencies.last().unwrap();
    println!(
        "issuer A stopped: {n} of its requests unavailable; issuer B: {n} opaque + {n} JWT decisions, \
         p50 {p50:?}, max {max:?} per pair, all accepted, in {:?}",
        started.elapsed()
    );
    let by = v.stats_by_issuer();
    assert_eq!(by[1].1.accepted, 2 * n as u64);
    assert_eq!(by[0].1.accepted, 0);
}

/// A resolver for tests: approves `approve`, declines the rest, counts its calls.
struct Tenants {
    approve: Option<Config>,
    calls: AtomicU64,
    fail: bool,
    wrong_issuer: bool,
    /// How long it takes to answer (so concurrent first calls overlap).
    delay_ms: u64,
}

impl IssuerResolver for Tenants {
    fn resolve(&self, issuer: &str) -> ResolverFuture {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let (fail, delay) = (self.fail, Duration::from_millis(self.delay_ms));
        let answer = self.approve.clone().filter(|c| c.issuer == issuer).map(|mut c| {
            if self.wrong_issuer {
                c.issuer = format!("{}/other", c.issuer);
            }
            c
        });
        Box::pin(async move {
            tokio::time::sleep(delay).await;
            if fail {
                return Err("the tenant database is down".into());
            }
            Ok(answer)
        })
    }
}

fn resolving(a: &TestAuthorizationServer, tenants: Arc<Tenants>, max_declined: u64) -> Validator {
    Validator::builder_for_issuers()
        .issuer(a.config())
        .configure(|c| c.resolver.max_declined = max_declined)
        .resolver(tenants)
        .build()
        .unwrap()
}

fn rss_kib() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()).unwrap_or(0) * 4
}

#[tokio::test]
async fn the_resolver_adds_approved_issuers_once_and_declines_are_remembered() {
    let (a, c) = (TestAuthorizationServer::start().unwrap(), TestAuthorizationServer::start().unwrap());
    let tenants = Arc::new(Tenants {
        approve: Some(c.config()),
        calls: AtomicU64::new(0),
        fail: false,
        wrong_issuer: false,
        delay_ms: 20,
    });
    let v = resolving(&a, Arc::clone(&tenants), 10_000);
    // 50 concurrent first calls for a new issuer: the resolver is asked once.
    let jc = c.jwt(&TokenOptions::new().subject("carl")).unwrap();
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let (v, t) = (v.clone(), jc.clone());
            tokio::spawn(async move { v.validate(&t).await })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.unwrap().unwrap().subject.as_deref(), Some("carl"));
    }
    assert_eq!(tenants.calls.load(Ordering::SeqCst), 1);
    assert_eq!(c.counts().jwks, 1);
    assert_eq!(v.resolver_entries(), (1, 0));
    assert_eq!(v.stats_by_issuer().len(), 2);
    // A declined issuer: asked once, then remembered.
    let stranger = TestAuthorizationServer::start().unwrap();
    let js = stranger.jwt(&TokenOptions::new()).unwrap();
    for _ in 0..3 {
        assert_eq!(v.validate(&js).await.unwrap_err().kind(), ErrorKind::InvalidToken);
    }
    assert_eq!(tenants.calls.load(Ordering::SeqCst), 2);
    assert!(no_requests(stranger.counts()));
    assert_eq!(v.resolver_entries(), (1, 1));
}

#[tokio::test]
async fn ten_thousand_unknown_issuers_stay_within_the_resolvers_bound() {
    let a = TestAuthorizationServer::start().unwrap();
    let tenants = Arc::new(Tenants {
        approve: None,
        calls: AtomicU64::new(0),
        fail: false,
        wrong_issuer: false,
        delay_ms: 0,
    });
    let bound = 1_000;
    let v = resolving(&a, Arc::clone(&tenants), bound);
    let n = 10_000u64;
    // Tokens signed outside the measurement.
    let tokens: Vec<String> = (0..n)
        .map(|i| {
            let iss = format!("https://tenant-{i}.attacker.example/{}", "x".repeat(200));
            // EdDSA: 10,000 RSA signatures take long in a debug build.
            a.jwt(&TokenOptions::new().issuer(iss).algorithm("EdDSA"))
        })
        .collect::<Result<_, _>>()
        .unwrap();
    let rss_before = rss_kib();
    let started = Instant::now();
    for token in &tokens {
        assert_eq!(v.validate(token).await.unwrap_err().kind(), ErrorKind::InvalidToken);
    }
    let elapsed = started.elapsed();
    let rss_after = rss_kib();
    let (kept, declined) = v.resolver_entries();
    println!(
        "resolver: {n} distinct unknown issuers (each ~250 bytes) in {elapsed:?}: {declined} declined kept \
         (bound {bound}), {kept} validators built, RSS {rss_before} KiB -> {rss_after} KiB (+{} KiB), \
         requests to any server: {}",
        rss_after.saturating_sub(rss_before),
        a.counts().discovery + a.counts().jwks + a.counts().introspection
    );
    assert_eq!(kept, 0);
    assert!(declined <= bound, "{declined} > {bound}");
    assert_eq!(tenants.calls.load(Ordering::SeqCst), n);
    assert!(no_requests(a.counts()), "{:?}", a.counts());
    assert_eq!(v.stats().unrouted, n);
    // An `iss` over `resolver.max_issuer_bytes` is refused without asking.
    let long = a.jwt(&TokenOptions::new().issuer(format!("https://{}.example", "y".repeat(600)))).unwrap();
    assert_eq!(v.validate(&long).await.unwrap_err().kind(), ErrorKind::InvalidToken);
    assert_eq!(tenants.calls.load(Ordering::SeqCst), n);
}

#[tokio::test]
async fn a_failing_or_lying_resolver_is_a_configuration_error_never_an_acceptance() {
    let (a, c) = (TestAuthorizationServer::start().unwrap(), TestAuthorizationServer::start().unwrap());
    let jc = c.jwt(&TokenOptions::new()).unwrap();
    let failing = Arc::new(Tenants {
        approve: Some(c.config()),
        calls: AtomicU64::new(0),
        fail: true,
        wrong_issuer: false,
        delay_ms: 0,
    });
    let v = resolving(&a, Arc::clone(&failing), 100);
    for _ in 0..2 {
        let e = v.validate(&jc).await.unwrap_err();
        assert_eq!((e.kind(), e.http_status()), (ErrorKind::Configuration, 500), "{e}");
        assert_eq!(e.detail(), "the issuer resolver failed");
    }
    assert_eq!(failing.calls.load(Ordering::SeqCst), 2, "a failure is not remembered as a decline");
    let lying = Arc::new(Tenants {
        approve: Some(c.config()),
        calls: AtomicU64::new(0),
        fail: false,
        wrong_issuer: true,
        delay_ms: 0,
    });
    let v = resolving(&a, lying, 100);
    let e = v.validate(&jc).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Configuration, "{e}");
    assert!(e.detail().contains("another issuer"), "{e}");
    assert!(no_requests(c.counts()));
    // A resolver's config may not set what the issuers share.
    let mut shared = c.config();
    shared.cache.max_ttl_secs = 1;
    let sharing = Arc::new(Tenants {
        approve: Some(shared),
        calls: AtomicU64::new(0),
        fail: false,
        wrong_issuer: false,
        delay_ms: 0,
    });
    let v = resolving(&a, sharing, 100);
    let e = v.validate(&jc).await.unwrap_err();
    assert!(e.detail().contains("`the resolver's config.cache`"), "{e}");
}

#[test]
fn one_config_from_json_toml_and_the_builder() {
    let json = r#"{
        "cache": {"max_entries": 500},
        "opaque_routing": "in_order",
        "resolver": {"max_issuers": 7},
        "issuers": [
            {"issuer": "https://a.example", "audience": "https://api.example", "tenant": "a",
             "client_id": "rs-a", "client_secret": "secret-a"},
            {"issuer": "https://b.example", "audience": ["https://api.example"], "strategy": "jwt",
             "tenant": ["b", "b.example"]}
        ]
    }"#;
    let toml = r#"
        opaque_routing = "in_order"
        [cache]
        max_entries = 500
        [resolver]
        max_issuers = 7
        [[issuers]]
        issuer = "https://a.example"
        audience = "https://api.example"
        tenant = "a"
        client_auth = { client_id = "rs-a", client_secret = "secret-a" }
        [[issuers]]
        issuer = "https://b.example"
        audience = "https://api.example"
        strategy = "jwt"
        tenant = ["b", "b.example"]
    "#;
    let dir = std::env::temp_dir().join(format!("bg-issuers-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("c.toml"), toml).unwrap();
    let from_toml = Config::from_file(dir.join("c.toml")).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    let from_json = Config::from_json(json).unwrap();
    let mut a = Config::new("https://a.example", "https://api.example");
    a.tenant.0 = vec!["a".into()];
    a.client_auth.client_id = Some("rs-a".into());
    a.client_auth.client_secret = Some("secret-a".into());
    let mut b = Config::new("https://b.example", "https://api.example");
    b.strategy = bearerguard::Strategy::Jwt;
    b.tenant.0 = vec!["b".into(), "b.example".into()];
    let built = Validator::builder_for_issuers()
        .issuer(a)
        .issuer(b)
        .opaque_routing(OpaqueRouting::InOrder)
        .configure(|c| {
            c.cache.max_entries = 500;
            c.resolver.max_issuers = 7;
        })
        .build()
        .unwrap();
    assert_eq!(&from_json, built.config());
    assert_eq!(from_toml, from_json);
    assert!(Validator::new(from_json).is_ok());
    assert_eq!(
        built.stats_by_issuer().iter().map(|(i, _)| i.as_str()).collect::<Vec<_>>(),
        ["https://a.example", "https://b.example"]
    );
    assert!(!format!("{built:?}").contains("secret-a"));
}

#[test]
fn many_issuer_config_errors_name_the_field() {
    let entry = |iss: &str| serde_json::json!({"issuer": iss, "audience": "x"});
    let cases = [
        (
            serde_json::json!({"audience": "x", "issuers": [entry("https://a")]}),
            "`audience` belongs in each entry",
        ),
        (
            serde_json::json!({"client_id": "rs", "issuers": [entry("https://a")]}),
            "`client_auth` belongs in each entry",
        ),
        (
            serde_json::json!({"issuers": [{"issuer": "https://a", "audience": "x", "cache": {"max_entries": 1}}]}),
            "`issuers[0].cache`: set `cache` once",
        ),
        (
            serde_json::json!({"issuers": [entry("https://a"), entry("https://a")]}),
            "`issuers[1].issuer` is listed twice",
        ),
        (
            serde_json::json!({"issuers": [
                {"issuer": "https://a", "audience": "x", "tenant": "t"},
                {"issuer": "https://b", "audience": "x", "tenant": "t"}]}),
            "`issuers[1].tenant`",
        ),
        (serde_json::json!({"issuers": [{"issuer": "https://a"}]}), "`issuers[0]`: `audience` is required"),
        (
            serde_json::json!({"issuers": [{"issuer": "http://a.example", "audience": "x"}]}),
            "`issuers[0]`: `issuer`",
        ),
        (
            serde_json::json!({"issuer": "https://a", "audience": "x", "tenant": "t"}),
            "`tenant` selects an entry",
        ),
        (
            serde_json::json!({"resolver": {"max_issuers": 0}, "issuers": [entry("https://a")]}),
            "`resolver.max_issuers`",
        ),
    ];
    for (value, expected) in cases {
        let e = Config::from_value(value.clone()).and_then(Validator::new).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Configuration);
        assert!(e.detail().contains(expected), "{value}: {e}");
    }
    // Errors inside an entry keep their path.
    let e = Config::from_value(
        serde_json::json!({"issuers": [entry("https://a"), {"issuer": "https://b", "leway": 1}]}),
    )
    .unwrap_err();
    assert!(e.detail().contains("issuers[1]") && e.detail().contains("leway"), "{e}");
}

#[tokio::test]
async fn an_entra_multi_tenant_entry_routes_by_the_template_and_checks_tid() {
    use bearerguard::Provider;
    let (a, entra) = (TestAuthorizationServer::start().unwrap(), TestAuthorizationServer::start().unwrap());
    let tid = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    let mut template = Config::new("https://login.microsoftonline.com/{tenantid}/v2.0", entra.audience());
    template.provider = Some(Provider::Entra);
    template.allowed_tenants = vec![tid.into()];
    // The test kit stands in for Entra's common keys.
    template.jwks_uri = Some(format!("{}/jwks", entra.issuer()));
    let v = Validator::builder_for_issuers().issuer(a.config()).issuer(template).build().unwrap();
    let iss = format!("https://login.microsoftonline.com/{tid}/v2.0");
    let good =
        entra.jwt(&TokenOptions::new().issuer(&iss).claim("tid", tid.into()).subject("ms-user")).unwrap();
    assert_eq!(v.validate(&good).await.unwrap().subject.as_deref(), Some("ms-user"));
    // Its `iss` names another tenant than its `tid`: routed by the template, refused by the check.
    let other = "0a0b0c0d-0000-4000-8000-000000000001";
    let crossed = entra
        .jwt(
            &TokenOptions::new()
                .issuer(format!("https://login.microsoftonline.com/{other}/v2.0"))
                .claim("tid", tid.into()),
        )
        .unwrap();
    assert_eq!(v.validate(&crossed).await.unwrap_err().kind(), ErrorKind::InvalidToken);
    // A tenant not allowed.
    let stranger = entra
        .jwt(
            &TokenOptions::new()
                .issuer(format!("https://login.microsoftonline.com/{other}/v2.0"))
                .claim("tid", other.into()),
        )
        .unwrap();
    assert_eq!(v.validate(&stranger).await.unwrap_err().kind(), ErrorKind::InvalidToken);
    // Not the template's shape: unrouted, nothing asked.
    let before = entra.counts();
    let odd =
        entra.jwt(&TokenOptions::new().issuer("https://login.microsoftonline.com/not-a-guid/v2.0")).unwrap();
    assert_eq!(
        v.validate(&odd).await.unwrap_err().detail(),
        "the token's issuer is not one this API accepts"
    );
    assert_eq!(entra.counts(), before);
    assert_eq!(v.stats().unrouted, 1);
}

#[tokio::test]
async fn tenant_from_host_routes_what_adapters_pass() {
    use bearerguard::TenantFrom;
    let (a, b) = (TestAuthorizationServer::start().unwrap(), TestAuthorizationServer::start().unwrap());
    let v = Validator::builder_for_issuers()
        .issuer(Config { tenant: bearerguard::OneOrMany(vec!["a.example".into()]), ..a.config() })
        .issuer(Config { tenant: bearerguard::OneOrMany(vec!["b.example".into()]), ..b.config() })
        .configure(|c| c.tenant_from = Some(TenantFrom::Host))
        .build()
        .unwrap();
    let (oa, ob) = (a.opaque(&TokenOptions::new()).unwrap(), b.opaque(&TokenOptions::new()).unwrap());
    let ja = a.jwt(&TokenOptions::new()).unwrap();
    let (url_a, url_b) = ("https://A.example:8443/orders", "http://b.example/orders?page=2");
    assert!(v.decide(&bearer(&oa).url(url_a)).await.is_ok());
    assert!(v.decide(&bearer(&ob).url(url_b)).await.is_ok());
    assert!(v.decide(&bearer(&ja).url(url_a)).await.is_ok());
    // B's token on A's host: only A is asked; A's JWT on B's host: refused by B's `iss` check.
    assert_eq!(v.decide(&bearer(&ob).url(url_a)).await.unwrap_err().kind(), ErrorKind::InvalidToken);
    assert_eq!(v.decide(&bearer(&ja).url(url_b)).await.unwrap_err().kind(), ErrorKind::InvalidToken);
    // An unknown host, a host that is not plain, or no URL: refused unrouted, even a JWT whose
    // `iss` is listed (never routed by its token once the tenant comes from the host).
    let before = (a.counts(), b.counts());
    for request in [
        bearer(&oa).url("https://evil.example/x"),
        bearer(&ja).url("http://a.example#/x"),
        bearer(&ja).url("/orders"),
        bearer(&ja),
    ] {
        assert_eq!(v.decide(&request).await.unwrap_err().kind(), ErrorKind::InvalidToken);
    }
    assert_eq!((a.counts(), b.counts()), before);
    assert_eq!(v.stats().unrouted, 4);
    // An app's own key wins over the URL.
    assert!(v.decide(&bearer(&oa).url(url_b).tenant("a.example")).await.is_ok());
}

#[test]
fn entries_whose_tokens_an_earlier_entry_would_take_are_refused() {
    let template = serde_json::json!({
        "issuer": "https://login.microsoftonline.com/{tenantid}/v2.0", "audience": "api",
        "provider": "entra", "allowed_tenants": ["any"]});
    let fixed = serde_json::json!({
        "issuer": "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0",
        "audience": "api", "provider": "entra"});
    let e = Config::from_value(serde_json::json!({"issuers": [template, fixed]}))
        .and_then(Validator::new)
        .unwrap_err();
    assert!(e.detail().contains("`issuers[1].issuer`: its tokens would go to `issuers[0]`"), "{e}");
    // The fixed tenant first, then the template: each gets its own.
    assert!(
        Config::from_value(serde_json::json!({"issuers": [fixed, template]}))
            .and_then(Validator::new)
            .is_ok()
    );
    let aliasing = serde_json::json!({"issuer": "https://b.example", "audience": "api",
        "issuer_aliases": ["https://a.example"]});
    let a = serde_json::json!({"issuer": "https://a.example", "audience": "api"});
    let e = Config::from_value(serde_json::json!({"issuers": [a, aliasing]}))
        .and_then(Validator::new)
        .unwrap_err();
    assert!(e.detail().contains("`issuers[1].issuer`"), "{e}");
}

#[tokio::test]
async fn a_slow_resolver_is_unavailable_and_approvals_expire() {
    let (a, c) = (TestAuthorizationServer::start().unwrap(), TestAuthorizationServer::start().unwrap());
    let jc = c.jwt(&TokenOptions::new()).unwrap();
    let slow = Arc::new(Tenants {
        approve: Some(c.config()),
        calls: AtomicU64::new(0),
        fail: false,
        wrong_issuer: false,
        delay_ms: 300,
    });
    let v = Validator::builder_for_issuers()
        .issuer(a.config())
        .configure(|c| c.resolver.timeout_ms = 50)
        .resolver(Arc::clone(&slow) as Arc<dyn IssuerResolver>)
        .build()
        .unwrap();
    let e = v.validate(&jc).await.unwrap_err();
    assert_eq!(
        (e.kind(), e.detail()),
        (ErrorKind::Unavailable, "the issuer resolver did not answer in time")
    );
    assert_eq!(v.resolver_entries(), (0, 0), "a timeout is remembered neither way");
    // Approvals are kept for `resolver.ttl_secs` only.
    let quick = Arc::new(Tenants {
        approve: Some(c.config()),
        calls: AtomicU64::new(0),
        fail: false,
        wrong_issuer: false,
        delay_ms: 0,
    });
    let v = Validator::builder_for_issuers()
        .issuer(a.config())
        .configure(|c| c.resolver.ttl_secs = 1)
        .resolver(Arc::clone(&quick) as Arc<dyn IssuerResolver>)
        .build()
        .unwrap();
    v.validate(&jc).await.unwrap();
    v.validate(&jc).await.unwrap();
    assert_eq!(quick.calls.load(Ordering::SeqCst), 1);
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    v.validate(&jc).await.unwrap();
    assert_eq!(quick.calls.load(Ordering::SeqCst), 2, "asked again once its approval expired");
}
