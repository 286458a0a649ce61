//! A throwaway `redis-server` for the shared-cache tests: its own process on a free
//! 127.0.0.1 port, no config file, no persistence, its own temporary `--dir`; killed on drop.
//! Commands go over a plain blocking `TcpStream` in RESP, so no Redis client crate is needed.
#![allow(
    clippy::panic,
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test support: a broken fixture should stop the test"
)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a start waits for the first `PONG`.
const START_TIMEOUT: Duration = Duration::from_secs(10);
/// Read and write timeout of one command: a paused server answers nothing.
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// A RESP reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Integer(i64),
    /// `None` is the nil bulk string (`$-1`).
    Bulk(Option<Vec<u8>>),
    /// `None` is the nil array (`*-1`).
    Array(Option<Vec<Reply>>),
}

impl Reply {
    /// The bulk string as UTF-8, `None` for nil; panics on another kind of reply.
    pub fn text(&self) -> Option<String> {
        match self {
            Reply::Bulk(bytes) => bytes.as_ref().map(|b| String::from_utf8(b.clone()).expect("UTF-8 bulk")),
            other => panic!("expected a bulk string, got {other:?}"),
        }
    }
}

pub struct RedisServer {
    pub port: u16,
    child: Option<Child>,
    dir: PathBuf,
}

impl RedisServer {
    /// Starts a server on a free port; panics with a clear message when redis-server is missing.
    pub fn start() -> RedisServer {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("bearerguard-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut server = RedisServer { port, child: None, dir };
        server.restart();
        server
    }

    /// `redis://127.0.0.1:<port>/0`, the shape of `cache.shared.url`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Starts the server again on the same port after `stop` (a no-op while it runs).
    pub fn restart(&mut self) {
        if self.child.is_some() {
            return;
        }
        let port = self.port.to_string();
        let child = Command::new("redis-server")
            .args(["--port", &port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--protected-mode", "yes", "--dir"])
            .arg(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match child {
            Ok(child) => child,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                panic!("redis-server is not installed: run `make setup` (Debian package redis-server)")
            }
            Err(e) => panic!("cannot start redis-server: {e}"),
        };
        self.child = Some(child);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                self.child = None;
                panic!("redis-server exited at start ({status}); is port {} free?", self.port);
            }
            if let Ok(Reply::Simple(pong)) = self.try_command(&["PING"]) {
                assert_eq!(pong, "PONG");
                return;
            }
            assert!(Instant::now() < deadline, "redis-server did not answer PING within {START_TIMEOUT:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kills the server (a paused one too) and waits for its exit; `restart` binds the same
    /// port again.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGSTOP: the server keeps its connections but answers nothing until `resume`.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// SIGCONT after `pause`.
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("redis-server is not running").id().to_string();
        let status = Command::new("kill").args([signal, &pid]).status().expect("kill");
        assert!(status.success(), "kill {signal} {pid} failed");
    }

    /// One command on a fresh connection; panics on an I/O error or a timeout.
    pub fn command(&self, args: &[&str]) -> Reply {
        self.try_command(args).unwrap_or_else(|e| panic!("redis {:?}: {e}", args.first()))
    }

    /// One command on a fresh connection, with the default timeout.
    pub fn try_command(&self, args: &[&str]) -> std::io::Result<Reply> {
        self.try_command_within(args, IO_TIMEOUT)
    }

    /// One command on a fresh connection; a reply later than `timeout` is an error.
    pub fn try_command_within(&self, args: &[&str], timeout: Duration) -> std::io::Result<Reply> {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port))?;
        stream.set_read_timeout(Some(timeout))?;
        stream.set_write_timeout(Some(timeout))?;
        let mut request = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            request.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            request.extend_from_slice(arg.as_bytes());
            request.extend_from_slice(b"\r\n");
        }
        stream.write_all(&request)?;
        read_reply(&mut BufReader::new(stream))
    }

    pub fn flushall(&self) {
        assert_eq!(self.command(&["FLUSHALL"]), Reply::Simple("OK".into()));
    }

    /// The keys matching `pattern` (KEYS: fine for a test's handful of keys), sorted.
    pub fn keys(&self, pattern: &str) -> Vec<String> {
        let Reply::Array(Some(items)) = self.command(&["KEYS", pattern]) else { panic!("KEYS answer") };
        let mut keys: Vec<String> = items.iter().map(|k| k.text().expect("a key")).collect();
        keys.sort();
        keys
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        // SIGKILL ends a paused server too.
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn read_line(reader: &mut impl BufRead) -> std::io::Result<String> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "connection closed"));
    }
    Ok(line.trim_end_matches("\r\n").to_owned())
}

fn read_reply(reader: &mut impl BufRead) -> std::io::Result<Reply> {
    let line = read_line(reader)?;
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, format!("bad RESP line {line:?}"));
    let (kind, rest) = line.split_at_checked(1).ok_or_else(bad)?;
    let number = || rest.parse::<i64>().map_err(|_| bad());
    Ok(match kind {
        "+" => Reply::Simple(rest.to_owned()),
        "-" => Reply::Error(rest.to_owned()),
        ":" => Reply::Integer(number()?),
        "$" if number()? < 0 => Reply::Bulk(None),
        "$" => {
            let mut data = vec![0; usize::try_from(number()?).map_err(|_| bad())? + 2];
            reader.read_exact(&mut data)?;
            data.truncate(data.len() - 2);
            Reply::Bulk(Some(data))
        }
        "*" if number()? < 0 => Reply::Array(None),
        "*" => Reply::Array(Some((0..number()?).map(|_| read_reply(reader)).collect::<Result<_, _>>()?)),
        _ => return Err(bad()),
    })
}
