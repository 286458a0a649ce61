//! The shared-cache tests' Redis fixture (`support::redis`) does what they rely on: a server of
//! its own on a free port, commands, pause and resume, stop and restart on the same port.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code")]

mod support;

use std::time::Duration;

use support::redis::{RedisServer, Reply};

#[test]
fn redis_fixture_starts_answers_pauses_resumes_and_restarts() {
    let mut redis = RedisServer::start();
    assert_eq!(redis.url(), format!("redis://127.0.0.1:{}/0", redis.port));
    assert_eq!(redis.command(&["SET", "bearerguard:k", "v\r\n1"]), Reply::Simple("OK".into()));
    assert_eq!(redis.command(&["GET", "bearerguard:k"]).text().as_deref(), Some("v\r\n1"));
    assert_eq!(redis.command(&["GET", "missing"]), Reply::Bulk(None));
    assert_eq!(redis.command(&["INCR", "n"]), Reply::Integer(1));
    assert!(matches!(redis.command(&["INCR", "bearerguard:k"]), Reply::Error(e) if e.starts_with("ERR")));
    assert_eq!(redis.keys("bearerguard:*"), ["bearerguard:k"]);

    // Paused: connections are accepted by the kernel, nothing answers.
    redis.pause();
    assert!(redis.try_command_within(&["PING"], Duration::from_millis(300)).is_err());
    redis.resume();
    assert_eq!(redis.command(&["GET", "bearerguard:k"]).text().as_deref(), Some("v\r\n1"));

    redis.flushall();
    assert_eq!(redis.keys("*"), Vec::<String>::new());

    // Stopped: refused; restarted on the same port, empty (no persistence).
    let port = redis.port;
    redis.command(&["SET", "bearerguard:k", "v"]);
    redis.stop();
    assert!(redis.try_command(&["PING"]).is_err());
    redis.restart();
    assert_eq!(redis.port, port);
    assert_eq!(redis.command(&["GET", "bearerguard:k"]), Reply::Bulk(None));

    // Dropped while paused: still killed.
    redis.pause();
    drop(redis);
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
}
