//! A loopback RFC 7662 introspection endpoint for benchmarks: every client under test (our
//! bindings, `httpx`, `requests`, `fetch`) talks to this one server, so the figures differ
//! only by the client. It checks HTTP Basic credentials `bench:bench-secret`, answers any
//! token with `{"active":true,...}` (and `{"active":false}` for tokens starting `revoked`),
//! serves a discovery document and prints `listening on http://127.0.0.1:PORT` once ready.
//!
//! ```text
//! cargo run --release -p bearerguard --example introspection_server [-- PORT]
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used, reason = "benchmark helper")]

mod bench_as;

fn main() {
    let port: u16 = std::env::args().nth(1).map_or(0, |p| p.parse().expect("a port number"));
    // One worker: the server must not take the core the client under test runs on twice.
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().unwrap();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        println!("listening on {issuer}");
        axum::serve(listener, bench_as::router(&issuer)).await.unwrap();
    });
}
