//! The shared tier (`cache.shared`) against a real `redis-server` on 127.0.0.1 and the test
//! kit's authorization server, which counts the introspection requests it answers. Several
//! validators built from one config stand for several instances of one API.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests")]

mod support;

use std::time::{Duration, Instant};

use bearerguard::testing::{DpopKey, TestAuthorizationServer, TokenOptions};
use bearerguard::{Config, Request, Validator};
use serde_json::{Value, json};
use support::redis::{RedisServer, Reply, SentinelServer};

const SECRET_1: &str = "shared-tier-test-secret-number-one-0123456789";
const SECRET_2: &str = "shared-tier-test-secret-number-two-0123456789";

/// The test kit's config with a shared tier on `redis` (extra keys merged into `cache.shared`).
fn config(server: &TestAuthorizationServer, redis: &RedisServer, shared: Value) -> Config {
    let mut value = server.config_value();
    let mut tier = json!({
        "url": redis.url(),
        "key_prefix": "bgtest",
        "secrets": [{"id": "k1", "secret": SECRET_1}],
        "timeout_ms": 100,
    });
    for (k, v) in shared.as_object().unwrap() {
        tier[k] = v.clone();
    }
    value["cache"] = json!({"shared": tier});
    Config::from_json(&value.to_string()).unwrap()
}

fn instances(n: usize, config: &Config) -> Vec<Validator> {
    (0..n).map(|_| Validator::new(config.clone()).unwrap()).collect()
}

fn opaque(server: &TestAuthorizationServer) -> String {
    server.opaque(&TokenOptions::new().scope("read write")).unwrap()
}

fn verdict_keys(redis: &RedisServer) -> Vec<String> {
    redis.keys("bgtest:v:*")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_calls_over_three_instances_make_one_introspection() {
    let server = TestAuthorizationServer::start().unwrap();
    let redis = RedisServer::start();
    let fleet = instances(3, &config(&server, &redis, json!({})));
    let token = opaque(&server);
    let calls = (0..100).map(|i| {
        let (v, t) = (fleet[i % 3].clone(), token.clone());
        tokio::spawn(async move { v.validate(&t).await })
    });
    for call in futures_util::future::join_all(calls).await {
        assert_eq!(call.unwrap().unwrap().subject.as_deref(), Some("test-user"));
    }
    let asked = server.counts().introspection;
    println!("100 concurrent calls, 3 instances: {asked} introspection request(s)");
    assert!((1..=2).contains(&asked), "{asked}");
    // A fourth instance is served by the shared tier without a request.
    let fourth = Validator::new(config(&server, &redis, json!({}))).unwrap();
    assert_eq!(fourth.validate(&token).await.unwrap().subject.as_deref(), Some("test-user"));
    assert_eq!(server.counts().introspection, asked);
    assert_eq!(fourth.stats().shared.hits, 1);
    // What Redis holds: one verdict under a keyed name, sealed (no claim readable), no lock left.
    let keys = verdict_keys(&redis);
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert!(keys[0].starts_with("bgtest:v:k1:") && !keys[0].contains(&token));
    let value = redis.command(&["GET", &keys[0]]);
    let Reply::Bulk(Some(bytes)) = value else { panic!("{value:?}") };
    let text = String::from_utf8_lossy(&bytes);
    assert!(!text.contains("test-user") && !text.contains("read write"), "claims in the clear");
    println!("bytes per entry in Redis: value {} + name {}", bytes.len(), keys[0].len());
    assert!(redis.keys("bgtest:l:*").is_empty(), "the lock is freed");
    let ttl = redis.command(&["PTTL", &keys[0]]);
    assert!(matches!(ttl, Reply::Integer(ms) if ms > 0 && ms <= 300_000), "{ttl:?}");
}

#[tokio::test]
async fn a_refusal_is_shared_too_and_forget_reaches_every_instance_within_a_second() {
    let server = TestAuthorizationServer::start().unwrap();
    let redis = RedisServer::start();
    let fleet = instances(3, &config(&server, &redis, json!({})));
    let token = opaque(&server);
    for v in &fleet {
        v.validate(&token).await.unwrap();
    }
    assert_eq!(server.counts().introspection, 1);
    // Revoked at the server: every instance still holds its verdict ...
    assert!(server.revoke(&token));
    for v in &fleet {
        assert!(v.validate(&token).await.is_ok());
    }
    // ... until one forgets it: the others drop their copy on the announcement.
    let started = Instant::now();
    fleet[0].forget(&token).await.unwrap();
    assert!(verdict_keys(&redis).is_empty());
    for v in &fleet[1..] {
        loop {
            match v.validate(&token).await {
                Err(e) => {
                    assert_eq!(e.code(), "invalid_token");
                    break;
                }
                Ok(_) if started.elapsed() < Duration::from_secs(1) => {
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Ok(_) => panic!("an instance still accepts a forgotten, revoked token after 1 s"),
            }
        }
    }
    println!("forget seen by every instance after {:?}", started.elapsed());
    assert!(fleet[0].validate(&token).await.is_err());
    // The refusal was asked for once and shared: 1 + 1 requests in all.
    assert_eq!(server.counts().introspection, 2);
    assert!(fleet.iter().map(|v| v.stats().shared.forgets_received).sum::<u64>() >= 2);
}

#[tokio::test]
async fn forged_altered_and_moved_entries_are_refused_and_counted() {
    let server = TestAuthorizationServer::start().unwrap();
    let redis = RedisServer::start();
    let config = config(&server, &redis, json!({}));
    let good = opaque(&server);
    let revoked = opaque(&server);
    let writer = Validator::new(config.clone()).unwrap();
    writer.validate(&good).await.unwrap();
    let good_key = verdict_keys(&redis).pop().unwrap();
    server.revoke(&revoked);
    assert!(writer.validate(&revoked).await.is_err());
    let revoked_key = verdict_keys(&redis).into_iter().find(|k| *k != good_key).unwrap();
    // The accepted verdict copied onto the revoked token's name: it does not open there.
    assert_eq!(redis.command(&["COPY", &good_key, &revoked_key, "REPLACE"]), Reply::Integer(1));
    let reader = Validator::new(config.clone()).unwrap();
    let asked = server.counts().introspection;
    assert_eq!(reader.validate(&revoked).await.unwrap_err().code(), "invalid_token");
    assert_eq!(reader.stats().shared.rejected, 1);
    assert_eq!(server.counts().introspection, asked + 1, "asked the server instead");
    // A forged value (anyone can write Redis) is refused too; so is an altered one.
    for forged in
        [r#"{"exp_ms":99999999999999,"answer":{"active":true,"sub":"mallory"}}"#, "\u{1}E0123456789ab"]
    {
        assert_eq!(redis.command(&["SET", &revoked_key, forged]), Reply::Simple("OK".into()));
        let fresh = Validator::new(config.clone()).unwrap();
        assert_eq!(fresh.validate(&revoked).await.unwrap_err().code(), "invalid_token");
        assert_eq!(fresh.stats().shared.rejected, 1);
    }
    // The good token's entry is still served.
    let again = Validator::new(config).unwrap();
    let asked = server.counts().introspection;
    assert!(again.validate(&good).await.is_ok());
    assert_eq!(server.counts().introspection, asked);
}

#[tokio::test]
async fn a_stopped_paused_or_flushed_server_never_changes_an_answer() {
    let server = TestAuthorizationServer::start().unwrap();
    let mut redis = RedisServer::start();
    let timeout_ms = 100;
    let config = config(&server, &redis, json!({"timeout_ms": timeout_ms, "breaker_open_ms": 300}));
    let a = Validator::new(config.clone()).unwrap();
    let b = Validator::new(config.clone()).unwrap();
    let shared = opaque(&server);
    a.validate(&shared).await.unwrap();

    // Stopped: new tokens are introspected directly, revoked ones refused; nothing is 503.
    redis.stop();
    let mut slowest = Duration::ZERO;
    for i in 0..8 {
        let token = opaque(&server);
        let dead = opaque(&server);
        server.revoke(&dead);
        let started = Instant::now();
        assert!(b.validate(&token).await.is_ok(), "call {i}");
        slowest = slowest.max(started.elapsed());
        assert_eq!(b.validate(&dead).await.unwrap_err().code(), "invalid_token");
    }
    println!("Redis stopped: slowest good-token call {slowest:?} (timeout {timeout_ms} ms)");
    assert!(slowest < Duration::from_millis(timeout_ms + 400), "{slowest:?}");
    assert!(b.stats().shared.errors >= 1);
    assert!(b.stats().shared.skipped >= 1, "the breaker opened: {:?}", b.stats().shared);

    // Back: sharing resumes once the breakers close and the connections are made again: a
    // token one instance asked about is served to the other without a request.
    redis.restart();
    let mut resumed = None;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(5) {
        let token = opaque(&server);
        a.validate(&token).await.unwrap();
        let asked = server.counts().introspection;
        b.validate(&token).await.unwrap();
        if server.counts().introspection == asked {
            resumed = Some(started.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let resumed = resumed.unwrap_or_else(|| panic!("sharing did not resume: {:?}", b.stats().shared));
    println!("Redis restarted: sharing resumed after {resumed:?}");

    // Paused (SIGSTOP): a call waits at most about the command timeout, then goes on without it.
    redis.pause();
    let token = opaque(&server);
    let started = Instant::now();
    assert!(b.validate(&token).await.is_ok());
    let paused = started.elapsed();
    redis.resume();
    println!("Redis paused: the call took {paused:?} (timeout {timeout_ms} ms)");
    assert!(paused < Duration::from_millis(timeout_ms + 400), "{paused:?}");

    // Flushed: a miss, asked again, right answer.
    tokio::time::sleep(Duration::from_millis(400)).await;
    redis.flushall();
    let fresh = Validator::new(config).unwrap();
    let asked = server.counts().introspection;
    assert!(fresh.validate(&shared).await.is_ok());
    assert_eq!(server.counts().introspection, asked + 1);
}

#[tokio::test]
async fn a_rotated_key_still_reads_old_entries_and_an_unknown_key_reads_none() {
    let server = TestAuthorizationServer::start().unwrap();
    let redis = RedisServer::start();
    let old = config(&server, &redis, json!({}));
    let rotated = config(
        &server,
        &redis,
        json!({"secrets": [{"id": "k2", "secret": SECRET_2}, {"id": "k1", "secret": SECRET_1}]}),
    );
    let only_new = config(&server, &redis, json!({"secrets": [{"id": "k2", "secret": SECRET_2}]}));
    let token = opaque(&server);
    Validator::new(old).unwrap().validate(&token).await.unwrap();
    let reader = Validator::new(rotated).unwrap();
    assert!(reader.validate(&token).await.is_ok());
    assert_eq!((server.counts().introspection, reader.stats().shared.hits), (1, 1));
    let stranger = Validator::new(only_new).unwrap();
    assert!(stranger.validate(&token).await.is_ok());
    assert_eq!(server.counts().introspection, 2, "k1's entry is not readable without k1");
    assert!(redis.keys("bgtest:v:k2:*").len() == 1);
}

#[tokio::test]
async fn plaintext_mode_is_readable_in_redis_but_still_authenticated() {
    let server = TestAuthorizationServer::start().unwrap();
    let redis = RedisServer::start();
    let config = config(&server, &redis, json!({"plaintext": true}));
    let token = opaque(&server);
    Validator::new(config.clone()).unwrap().validate(&token).await.unwrap();
    let key = verdict_keys(&redis).pop().unwrap();
    let Reply::Bulk(Some(bytes)) = redis.command(&["GET", &key]) else { panic!() };
    let text = String::from_utf8_lossy(&bytes).into_owned();
    assert!(text.contains("test-user"), "plaintext on request");
    // An edit of the claims breaks the tag.
    let edited = text.replace("test-user", "test-usex");
    redis.command(&["SET", &key, &edited]);
    let reader = Validator::new(config).unwrap();
    let info = reader.validate(&token).await.unwrap();
    assert_eq!((info.subject.as_deref(), reader.stats().shared.rejected), (Some("test-user"), 1));
}

#[tokio::test]
async fn a_dpop_proof_replayed_against_another_instance_is_refused() {
    let server = TestAuthorizationServer::start().unwrap();
    let mut redis = RedisServer::start();
    let mut config = config(&server, &redis, json!({}));
    config.sender_constraint = bearerguard::SenderConstraint::Allow;
    let fleet = instances(2, &config);
    let key = DpopKey::generate().unwrap();
    let url = "https://api.example.test/orders";
    for token in [
        server.jwt(&TokenOptions::new().dpop_jkt(key.thumbprint())).unwrap(),
        server.opaque(&TokenOptions::new().dpop_jkt(key.thumbprint())).unwrap(),
    ] {
        let proof = key.proof("GET", url, &token).unwrap();
        let request =
            Request::new().method("GET").url(url).authorization(format!("DPoP {token}")).dpop(proof.clone());
        assert!(fleet[0].decide(&request).await.is_ok());
        let replayed = fleet[1].decide(&request).await.unwrap_err();
        assert_eq!(replayed.code(), "invalid_dpop_proof", "{replayed}");
        // A fresh proof is fine on either.
        let fresh = key.proof("GET", url, &token).unwrap();
        let request =
            Request::new().method("GET").url(url).authorization(format!("DPoP {token}")).dpop(fresh);
        assert!(fleet[1].decide(&request).await.is_ok());
    }
    assert_eq!(redis.keys("bgtest:r:*").len(), 4);
    // With Redis down each instance still refuses its own replays (its local store).
    redis.stop();
    let token = server.jwt(&TokenOptions::new().dpop_jkt(key.thumbprint())).unwrap();
    let proof = key.proof("GET", url, &token).unwrap();
    let request = Request::new().method("GET").url(url).authorization(format!("DPoP {token}")).dpop(proof);
    assert!(fleet[0].decide(&request).await.is_ok());
    assert_eq!(fleet[0].decide(&request).await.unwrap_err().code(), "invalid_dpop_proof");
}

#[test]
fn bad_shared_configs_are_configuration_errors_naming_the_field() {
    let server = TestAuthorizationServer::start().unwrap();
    let redis = RedisServer::start();
    for (shared, field) in [
        (json!({"url": "http://127.0.0.1:6379"}), "cache.shared.url"),
        (json!({"secrets": []}), "cache.shared.secrets"),
        (json!({"secrets": [{"id": "k1", "secret": "short"}]}), "cache.shared.secrets[].secret"),
        (json!({"secrets": [{"id": "bad id", "secret": SECRET_1}]}), "cache.shared.secrets[].id"),
        (
            json!({"secrets": [{"id": "k", "secret": SECRET_1}, {"id": "k", "secret": SECRET_2}]}),
            "cache.shared.secrets",
        ),
        (json!({"timeout_ms": 0}), "cache.shared.timeout_ms"),
        (json!({"key_prefix": "a b"}), "cache.shared.key_prefix"),
        (json!({"url": "rediss://127.0.0.1:6379/0#insecure"}), "cache.shared.url"),
    ] {
        let err = Validator::new(config(&server, &redis, shared.clone())).unwrap_err();
        assert_eq!(err.code(), "configuration", "{shared}");
        assert!(err.to_string().contains(field), "{err} should name {field}");
    }
    // Secrets and the URL's password never show.
    let c = config(&server, &redis, json!({"url": "redis://:hunter2-password@127.0.0.1:1/0"}));
    let shown = format!("{c:?} {}", serde_json::to_string(&c).unwrap());
    assert!(!shown.contains("hunter2") && !shown.contains(SECRET_1), "{shown}");
    let v = Validator::new(c).unwrap();
    assert!(!format!("{v:?}").contains("hunter2"));
}

#[tokio::test]
async fn rediss_with_a_private_ca_shares_and_an_untrusted_server_is_only_skipped() {
    let server = TestAuthorizationServer::start().unwrap();
    let redis = RedisServer::start_tls();
    let tls_url = format!("rediss://127.0.0.1:{}/0", redis.tls_port.unwrap());
    let ca = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/fixtures/tls/redis-ca.crt.pem");
    // A debug build's first TLS handshake on a loaded machine can outlast the 100 ms the other
    // tests allow; this test is about trust, not speed.
    let trusted = config(&server, &redis, json!({"url": tls_url, "tls_ca_file": ca, "timeout_ms": 2000}));
    let token = opaque(&server);
    let writer = Validator::new(trusted.clone()).unwrap();
    writer.validate(&token).await.unwrap();
    assert_eq!(verdict_keys(&redis).len(), 1, "stored over TLS: {:?}", writer.stats().shared);
    let reader = Validator::new(trusted).unwrap();
    assert!(reader.validate(&token).await.is_ok());
    assert_eq!((server.counts().introspection, reader.stats().shared.hits), (1, 1));
    // The system's roots do not know the test CA: the handshake fails, the tier is skipped,
    // the answer is the same.
    let untrusted = Validator::new(config(&server, &redis, json!({"url": tls_url}))).unwrap();
    assert!(untrusted.validate(&token).await.is_ok());
    assert_eq!(server.counts().introspection, 2);
    assert!(untrusted.stats().shared.errors >= 1);
    // A CA file without a rediss:// URL, or one that cannot be read, is a configuration error.
    for shared in [json!({"tls_ca_file": ca}), json!({"url": tls_url, "tls_ca_file": "/nonexistent.pem"})] {
        let err = Validator::new(config(&server, &redis, shared)).unwrap_err();
        assert!(err.to_string().contains("cache.shared.tls_ca_file"), "{err}");
    }
}

#[tokio::test]
async fn through_sentinel_the_fleet_follows_the_master_it_names() {
    let server = TestAuthorizationServer::start().unwrap();
    let mut first = RedisServer::start();
    let sentinel = SentinelServer::start(first.port);
    let url = format!("redis+sentinel://127.0.0.1:{}/mymaster/0", sentinel.port);
    let config = config(&server, &first, json!({"url": url, "breaker_open_ms": 200}));
    let (a, b) = (Validator::new(config.clone()).unwrap(), Validator::new(config).unwrap());
    let token = opaque(&server);
    a.validate(&token).await.unwrap();
    assert!(b.validate(&token).await.is_ok());
    assert_eq!((server.counts().introspection, b.stats().shared.hits), (1, 1));
    assert_eq!(verdict_keys(&first).len(), 1, "stored on the master the sentinel named");

    // A failover: the sentinel names another master and the old one goes away. Each instance
    // finds the new master once its breaker has opened and closed again.
    let second = RedisServer::start();
    sentinel.point_at(second.port);
    first.stop();
    let started = Instant::now();
    loop {
        let token = opaque(&server);
        assert!(a.validate(&token).await.is_ok());
        let asked = server.counts().introspection;
        assert!(b.validate(&token).await.is_ok());
        if server.counts().introspection == asked {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "no sharing after the failover");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("after the failover, sharing resumed in {:?}", started.elapsed());
    assert!(!second.keys("bgtest:v:*").is_empty());
}

#[test]
fn malformed_sentinel_urls_are_configuration_errors() {
    let server = TestAuthorizationServer::start().unwrap();
    let redis = RedisServer::start();
    for url in [
        "redis+sentinel://127.0.0.1:26379",
        "redis+sentinel://127.0.0.1:26379/",
        "redis+sentinel://127.0.0.1/mymaster",
        "redis+sentinel://127.0.0.1:26379,/mymaster",
        "redis+sentinel://127.0.0.1:26379/mymaster/x",
        "redis+sentinel://127.0.0.1:26379/mymaster/0/extra",
    ] {
        let err = Validator::new(config(&server, &redis, json!({"url": url}))).unwrap_err();
        assert!(err.to_string().contains("cache.shared.url"), "{url}: {err}");
    }
    for url in [
        "redis+sentinel://127.0.0.1:26379,127.0.0.2:26380/mymaster/2",
        "redis+sentinel://user:p%40ss@127.0.0.1:26379/mymaster",
    ] {
        assert!(Validator::new(config(&server, &redis, json!({"url": url}))).is_ok(), "{url}");
    }
}

/// `cache.shared` on `redis` added to `config`.
fn with_tier(mut config: Config, redis: &RedisServer, shared: Value) -> Config {
    let mut tier =
        json!({"url": redis.url(), "key_prefix": "bgtest", "secrets": [{"id": "k1", "secret": SECRET_1}]});
    for (k, v) in shared.as_object().unwrap() {
        tier[k] = v.clone();
    }
    config.cache.shared = Some(serde_json::from_value(tier).unwrap());
    config
}

/// A fake server that answers `token` active after 300 ms, a config with a shared tier on
/// `redis`, and an instance introspecting `token` in a task of its own (returned once it holds
/// the fleet-wide lock).
async fn slow_owner(
    redis: &RedisServer,
    token: &'static str,
    shared: Value,
) -> (
    support::FakeAs,
    Config,
    tokio::task::JoinHandle<bearerguard::Result<std::sync::Arc<bearerguard::TokenInfo>>>,
) {
    let fake = support::FakeAs::start().await;
    fake.add_token(token, fake.active(json!({})));
    fake.state.delay_ms.store(300, std::sync::atomic::Ordering::SeqCst);
    let config = with_tier(fake.config("api"), redis, shared);
    let owner = Validator::new(config.clone()).unwrap();
    let task = tokio::spawn(async move { owner.validate(token).await });
    let started = Instant::now();
    while redis.keys("bgtest:l:*").is_empty() {
        assert!(started.elapsed() < Duration::from_secs(2), "the owner never took the lock");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    (fake, config, task)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_owner_gives_its_lock_up_so_no_instance_waits_it_out() {
    let redis = RedisServer::start();
    let (_fake, config, owner) = slow_owner(&redis, "slow-token-0123456789", json!({"lock_ms": 5000})).await;
    let b = Validator::new(config).unwrap();
    // The owner holds the lock and waits for the slow server; its caller goes away.
    owner.abort();
    assert!(owner.await.unwrap_err().is_cancelled());
    // Given up ('!'), not left for lock_ms: the other instance asks at once.
    let started = Instant::now();
    assert_eq!(b.validate("slow-token-0123456789").await.unwrap().subject.as_deref(), Some("user-1"));
    let waited = started.elapsed();
    println!("after the owner was cancelled, the next instance answered in {waited:?} (server delay 300 ms)");
    assert!(waited < Duration::from_millis(2_000), "{waited:?}: the lock was waited out");
    assert_eq!(b.stats().shared.waits, 0, "{:?}", b.stats().shared);
}

#[tokio::test]
async fn a_dpop_request_waits_for_a_paused_redis_at_most_once() {
    let server = TestAuthorizationServer::start().unwrap();
    let redis = RedisServer::start();
    let timeout_ms = 300;
    let mut config = config(&server, &redis, json!({"timeout_ms": timeout_ms}));
    config.sender_constraint = bearerguard::SenderConstraint::Allow;
    let v = Validator::new(config).unwrap();
    let key = DpopKey::generate().unwrap();
    let url = "https://api.example.test/orders";
    let request = |token: &str| {
        let proof = key.proof("GET", url, token).unwrap();
        Request::new().method("GET").url(url).authorization(format!("DPoP {token}")).dpop(proof)
    };
    // Connected first.
    let warm = server.opaque(&TokenOptions::new().dpop_jkt(key.thumbprint())).unwrap();
    assert!(v.decide(&request(&warm)).await.is_ok());
    redis.pause();
    let mut slowest = Duration::ZERO;
    for token in [
        server.opaque(&TokenOptions::new().dpop_jkt(key.thumbprint())).unwrap(),
        server.jwt(&TokenOptions::new().dpop_jkt(key.thumbprint())).unwrap(),
    ] {
        let started = Instant::now();
        assert!(v.decide(&request(&token)).await.is_ok());
        slowest = slowest.max(started.elapsed());
    }
    redis.resume();
    println!("DPoP with Redis paused: slowest call {slowest:?} (timeout {timeout_ms} ms)");
    assert!(slowest < Duration::from_millis(timeout_ms * 2 - 50), "{slowest:?}: waited for Redis twice");
}

#[test]
fn a_subscriber_whose_runtime_shut_down_is_started_again() {
    let server = TestAuthorizationServer::start().unwrap();
    let redis = RedisServer::start();
    let config = config(&server, &redis, json!({}));
    let v = Validator::new(config.clone()).unwrap();
    // First used on a runtime that then shuts down (a per-request runtime, a test's own).
    let first = tokio::runtime::Runtime::new().unwrap();
    first.block_on(async { v.validate(&opaque(&server)).await.unwrap() });
    drop(first);
    let main = tokio::runtime::Runtime::new().unwrap();
    main.block_on(async {
        let w = Validator::new(config).unwrap();
        let token = opaque(&server);
        v.validate(&token).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        v.validate(&token).await.unwrap();
        server.revoke(&token);
        assert!(v.validate(&token).await.is_ok(), "cached by v");
        w.forget(&token).await.unwrap();
        let started = Instant::now();
        while v.validate(&token).await.is_ok() {
            assert!(started.elapsed() < Duration::from_secs(1), "v still accepts: its subscriber is gone");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(v.stats().shared.forgets_received >= 1);
    });
}

#[tokio::test]
async fn during_a_two_phase_key_rotation_forget_reaches_every_instance() {
    let server = TestAuthorizationServer::start().unwrap();
    let redis = RedisServer::start();
    let k1 = json!({"id": "k1", "secret": SECRET_1});
    let k2 = json!({"id": "k2", "secret": SECRET_2});
    // Phase 2 under way: some instances write with k1 (k2 second), some with k2 (k1 second).
    let old = Validator::new(config(&server, &redis, json!({"secrets": [k1, k2]}))).unwrap();
    let new = Validator::new(config(&server, &redis, json!({"secrets": [k2, k1]}))).unwrap();
    for (first, second) in [(&old, &new), (&new, &old)] {
        let token = opaque(&server);
        first.validate(&token).await.unwrap();
        let asked = server.counts().introspection;
        second.validate(&token).await.unwrap();
        assert_eq!(server.counts().introspection, asked, "read under the other instance's key");
        server.revoke(&token);
        tokio::time::sleep(Duration::from_millis(100)).await;
        first.forget(&token).await.unwrap();
        let started = Instant::now();
        while second.validate(&token).await.is_ok() {
            assert!(started.elapsed() < Duration::from_secs(1), "the announcement was not applied");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    // Each side applied the other's announcement (under the key it writes with).
    assert!(old.stats().shared.forgets_received >= 1 && new.stats().shared.forgets_received >= 1);
}

#[tokio::test]
async fn forget_says_so_when_the_shared_tier_cannot_be_told() {
    let server = TestAuthorizationServer::start().unwrap();
    let mut redis = RedisServer::start();
    let v = Validator::new(config(&server, &redis, json!({}))).unwrap();
    let token = opaque(&server);
    v.validate(&token).await.unwrap();
    redis.stop();
    let err = v.forget(&token).await.unwrap_err();
    assert_eq!(err.code(), "unavailable", "{err}");
    // This instance forgot all the same: the revoked token is asked about again.
    server.revoke(&token);
    assert_eq!(v.validate(&token).await.unwrap_err().code(), "invalid_token");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_looked_up_before_a_forget_is_not_shared_after_it() {
    let redis = RedisServer::start();
    let (fake, config, in_flight) = slow_owner(&redis, "racing-token-0123456789", json!({})).await;
    let b = Validator::new(config.clone()).unwrap();
    // Revoked while the owner's introspection is under way: its answer is not stored.
    b.forget("racing-token-0123456789").await.unwrap();
    assert!(in_flight.await.unwrap().is_ok(), "the owner's own answer stands (it started first)");
    assert!(verdict_keys(&redis).is_empty(), "the stale answer was shared");
    assert!(redis.keys("bgtest:g:*").len() == 1);
    // A later answer is shared again.
    fake.state.delay_ms.store(0, std::sync::atomic::Ordering::SeqCst);
    let c = Validator::new(config).unwrap();
    assert!(c.validate("racing-token-0123456789").await.is_ok());
    assert_eq!(verdict_keys(&redis).len(), 1);
}
