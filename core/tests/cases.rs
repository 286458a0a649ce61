//! Runs the shared conformance cases in `tests/cases/*.json` against the Rust core.
//!
//! The same files are run by the Python and Node suites; the format is described in
//! `tests/cases/README.md`. Every case gets its own canned authorization server on
//! 127.0.0.1:0 and its own `Validator`. All failures are collected and reported together.
//!
//! `BEARERGUARD_CASE=<substring>` runs only the cases whose name contains it;
//! `BEARERGUARD_CASES_DIR=<dir>` reads the case files from another folder;
//! `BEARERGUARD_CASES_VERBOSE=1` prints every case's outcome and detail.

// A test harness: a panic here is a test failure, which is what unwrap/expect should do.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::http::{Method, StatusCode, Uri, header};
use axum::response::Response;
use bearerguard::{ClientCertificate, Config, ErrorKind, ManualClock, Request, TokenInfo, Validator};
use serde_json::{Map, Value};

// ------------------------------------------------------------------------------------------
// Case files

fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("tests")
}

struct Case {
    file: String,
    name: String,
    config: Value,
    server: Canned,
    token: String,
    scopes: Vec<String>,
    now: Option<u64>,
    /// The whole request to decide, instead of the bare token.
    request: Option<Request>,
    expected: Map<String, Value>,
    /// What the same request answers the second time (default: what it answered first).
    again: Option<Map<String, Value>>,
    expected_requests: Option<Map<String, Value>>,
}

const CASE_KEYS: &[&str] = &[
    "name",
    "description",
    "now",
    "config",
    "server",
    "token",
    "token_file",
    "scopes",
    "request",
    "expected",
    "again",
    "expected_requests",
];
const REQUEST_MEMBERS: &[&str] = &["method", "url", "authorization", "dpop", "client_certificate", "headers"];
const SERVER_KEYS: &[&str] = &["jwks", "jwks_status", "jwks_headers", "introspection"];
const INTROSPECTION_KEYS: &[&str] = &["status", "content_type", "headers", "body", "body_text"];
const REQUEST_KEYS: &[&str] = &["jwks", "introspect", "other"];
/// Keys of `expected` when `ok` is true: each one present is compared.
const OK_KEYS: &[&str] = &[
    "ok",
    "source",
    "subject",
    "client_id",
    "username",
    "issuer",
    "scopes",
    "roles",
    "audiences",
    "expires_at",
    "token_type",
    "claims",
    "dpop_nonce",
];
const ERR_KEYS: &[&str] = &["ok", "code", "at", "www_authenticate", "dpop_nonce"];

fn check_keys(what: &str, obj: &Map<String, Value>, allowed: &[&str]) -> Result<(), String> {
    match obj.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!("{what}: unknown member `{k}` (allowed: {allowed:?})")),
        None => Ok(()),
    }
}

fn as_object<'a>(what: &str, v: &'a Value) -> Result<&'a Map<String, Value>, String> {
    v.as_object().ok_or_else(|| format!("{what} is not an object"))
}

/// Parses one case strictly: a typo in a member name must not silently drop a check.
fn parse_case(file: &str, raw: &Value) -> Result<Case, String> {
    let obj = as_object("case", raw)?;
    let name = obj.get("name").and_then(Value::as_str).ok_or("case without a string `name`")?.to_owned();
    let ctx = |e: String| format!("{file}: {name}: {e}");
    check_keys("case", obj, CASE_KEYS).map_err(ctx)?;
    obj.get("description").and_then(Value::as_str).ok_or_else(|| ctx("no `description`".into()))?;

    let config = obj.get("config").cloned().ok_or_else(|| ctx("no `config`".into()))?;
    let server = match obj.get("server") {
        None => Canned::default(),
        Some(s) => Canned::parse(s).map_err(ctx)?,
    };
    let token = match (obj.get("token"), obj.get("token_file")) {
        (Some(Value::String(t)), None) => t.clone(),
        (None, Some(Value::String(f))) => {
            let text = std::fs::read_to_string(tests_dir().join(f))
                .map_err(|e| ctx(format!("token_file {f}: {e}")))?;
            text.trim_end_matches([' ', '\t', '\r', '\n']).to_owned()
        }
        _ => return Err(ctx("exactly one of `token` (string) or `token_file` (string) is required".into())),
    };
    let scopes = match obj.get("scopes") {
        None => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|s| s.as_str().map(str::to_owned).ok_or_else(|| ctx("`scopes` holds a non-string".into())))
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(ctx("`scopes` is not an array".into())),
    };
    let now = match obj.get("now") {
        None => None,
        Some(v) => Some(v.as_u64().ok_or_else(|| ctx("`now` is not a non-negative integer".into()))?),
    };

    let expected =
        parse_expected(obj.get("expected").ok_or_else(|| ctx("no `expected`".into()))?).map_err(ctx)?;
    let again = obj.get("again").map(parse_expected).transpose().map_err(ctx)?;
    let request = obj.get("request").map(parse_request).transpose().map_err(ctx)?;
    if again.is_some() && request.is_none() {
        return Err(ctx("`again` needs `request`".into()));
    }
    let expected_requests = match obj.get("expected_requests") {
        None => None,
        Some(v) => {
            let m = as_object("expected_requests", v).map_err(ctx)?;
            check_keys("expected_requests", m, REQUEST_KEYS).map_err(ctx)?;
            if m.values().any(|v| v.as_u64().is_none()) {
                return Err(ctx("`expected_requests` values must be non-negative integers".into()));
            }
            Some(m.clone())
        }
    };
    Ok(Case {
        file: file.to_owned(),
        name,
        config,
        server,
        token,
        scopes,
        now,
        request,
        expected,
        again,
        expected_requests,
    })
}

/// A case's `request`: the core's [`Request`] (the scopes are the case's own).
fn parse_request(v: &Value) -> Result<Request, String> {
    let obj = as_object("request", v)?;
    check_keys("request", obj, REQUEST_MEMBERS)?;
    let lines = |name: &str| -> Result<Vec<String>, String> {
        match obj.get(name) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|s| {
                    s.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| format!("`request.{name}` holds a non-string"))
                })
                .collect(),
            Some(_) => Err(format!("`request.{name}` is not an array")),
        }
    };
    let text = |name: &str| -> Result<Option<String>, String> {
        match obj.get(name) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("`request.{name}` is not a string")),
        }
    };
    let mut request = Request::new();
    request.method = text("method")?.ok_or("`request.method` is required")?;
    request.url = text("url")?;
    request.authorization = lines("authorization")?;
    request.dpop = lines("dpop")?;
    if let Some(der) = text("client_certificate")? {
        use base64::Engine as _;
        let der = base64::engine::general_purpose::STANDARD
            .decode(der)
            .map_err(|_| "`request.client_certificate` is not base64")?;
        request.client_certificate = Some(ClientCertificate::Der(der));
    }
    request.headers = parse_headers("request.headers", obj.get("headers"))?;
    Ok(request)
}

/// An `expected` (or `again`) object, checked for unknown members.
fn parse_expected(v: &Value) -> Result<Map<String, Value>, String> {
    let expected = as_object("expected", v)?.clone();
    let ctx = |e: String| e;
    match expected.get("ok") {
        Some(Value::Bool(true)) => {
            check_keys("expected", &expected, OK_KEYS).map_err(ctx)?;
            match expected.get("source").and_then(Value::as_str) {
                Some("jwt" | "introspection") => {}
                _ => {
                    return Err(ctx("an ok expectation needs `source`: \"jwt\" or \"introspection\"".into()));
                }
            }
        }
        Some(Value::Bool(false)) => {
            check_keys("expected", &expected, ERR_KEYS).map_err(ctx)?;
            let code = expected.get("code").and_then(Value::as_str).unwrap_or("");
            if ErrorKind::from_code(code).is_none() {
                return Err(ctx(format!("`expected.code` {code:?} is not a bearerguard error code")));
            }
            match expected.get("at") {
                None => {}
                Some(Value::String(at)) if at == "build" => {}
                Some(_) => return Err(ctx("`expected.at` may only be \"build\"".into())),
            }
        }
        _ => return Err(ctx("`expected.ok` must be a boolean".into())),
    }
    Ok(expected)
}

fn load_cases() -> (Vec<Case>, Vec<String>) {
    // BEARERGUARD_CASES_DIR points the runner at another case folder (e.g. mutated copies
    // to prove that every expectation is checked); `token_file` stays relative to tests/.
    let dir =
        std::env::var_os("BEARERGUARD_CASES_DIR").map_or_else(|| tests_dir().join("cases"), PathBuf::from);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no case files in {}", dir.display());
    let mut cases = Vec::new();
    let mut problems = Vec::new();
    let mut names = BTreeSet::new();
    for path in files {
        let file = path.file_name().unwrap().to_string_lossy().into_owned();
        let doc: Value = match std::fs::read_to_string(&path)
            .map_err(|e| e.to_string())
            .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
        {
            Ok(doc) => doc,
            Err(e) => {
                problems.push(format!("{file}: cannot parse: {e}"));
                continue;
            }
        };
        let Some(Value::Array(list)) = doc.get("cases") else {
            problems.push(format!("{file}: no `cases` array"));
            continue;
        };
        if doc.as_object().is_some_and(|o| o.len() != 1) {
            problems.push(format!("{file}: members other than `cases`"));
        }
        for raw in list {
            match parse_case(&file, raw) {
                Ok(case) => {
                    if !names.insert(case.name.clone()) {
                        problems.push(format!("{file}: {}: duplicate case name", case.name));
                    }
                    cases.push(case);
                }
                Err(e) => problems.push(e),
            }
        }
    }
    (cases, problems)
}

// ------------------------------------------------------------------------------------------
// Canned authorization server

/// One canned answer.
#[derive(Clone)]
struct Reply {
    status: u16,
    content_type: String,
    /// Extra headers; values may hold `{server}`.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

#[derive(Default, Clone)]
struct Canned {
    /// The answer to `GET /jwks`; `None` answers 404.
    jwks: Option<Reply>,
    /// The answer to `POST /introspect`; `None` answers 404.
    introspection: Option<Reply>,
}

fn parse_headers(what: &str, v: Option<&Value>) -> Result<Vec<(String, String)>, String> {
    match v {
        None => Ok(Vec::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(format!("{what}: header {k} is not a string")),
            })
            .collect(),
        Some(_) => Err(format!("{what} is not an object")),
    }
}

impl Canned {
    fn parse(v: &Value) -> Result<Canned, String> {
        let obj = as_object("server", v)?;
        check_keys("server", obj, SERVER_KEYS)?;
        let status = |v: Option<&Value>, what: &str| -> Result<u16, String> {
            match v {
                None => Ok(200),
                Some(s) => s
                    .as_u64()
                    .and_then(|s| u16::try_from(s).ok())
                    .filter(|s| (100..=599).contains(s))
                    .ok_or_else(|| format!("{what} is not an HTTP status")),
            }
        };
        let jwks = match obj.get("jwks") {
            None => {
                if obj.contains_key("jwks_status") || obj.contains_key("jwks_headers") {
                    return Err("`jwks_status` or `jwks_headers` without `jwks`".into());
                }
                None
            }
            Some(body) => {
                let body = match body {
                    Value::String(raw) => raw.clone().into_bytes(),
                    other => serde_json::to_vec(other).unwrap(),
                };
                Some(Reply {
                    status: status(obj.get("jwks_status"), "jwks_status")?,
                    content_type: "application/json".into(),
                    headers: parse_headers("jwks_headers", obj.get("jwks_headers"))?,
                    body,
                })
            }
        };
        let introspection = match obj.get("introspection") {
            None => None,
            Some(i) => {
                let i = as_object("server.introspection", i)?;
                check_keys("server.introspection", i, INTROSPECTION_KEYS)?;
                let content_type = match i.get("content_type") {
                    None => "application/json".to_owned(),
                    Some(Value::String(c)) => c.clone(),
                    Some(_) => return Err("`content_type` is not a string".into()),
                };
                let body = match (i.get("body"), i.get("body_text")) {
                    (Some(b), None) => serde_json::to_vec(b).unwrap(),
                    (None, Some(Value::String(t))) => t.clone().into_bytes(),
                    _ => {
                        return Err(
                            "introspection needs exactly one of `body` or `body_text` (string)".into()
                        );
                    }
                };
                Some(Reply {
                    status: status(i.get("status"), "introspection.status")?,
                    content_type,
                    headers: parse_headers("introspection.headers", i.get("headers"))?,
                    body,
                })
            }
        };
        Ok(Canned { jwks, introspection })
    }
}

#[derive(Default)]
struct Counters {
    jwks: AtomicU64,
    introspect: AtomicU64,
    other: AtomicU64,
}

struct ServerState {
    canned: Canned,
    counters: Counters,
}

fn respond(reply: &Reply) -> Response {
    let mut response = Response::builder()
        .status(StatusCode::from_u16(reply.status).unwrap())
        .header(header::CONTENT_TYPE, reply.content_type.as_str())
        .header(header::CACHE_CONTROL, "no-store");
    for (name, value) in &reply.headers {
        response = response.header(name.as_str(), value.as_str());
    }
    response.body(Body::from(reply.body.clone())).unwrap()
}

async fn serve(State(state): State<Arc<ServerState>>, method: Method, uri: Uri) -> Response {
    let not_found = || {
        respond(&Reply {
            status: 404,
            content_type: "text/plain".into(),
            headers: Vec::new(),
            body: b"not found".to_vec(),
        })
    };
    match (method, uri.path()) {
        (Method::GET, "/jwks") => {
            state.counters.jwks.fetch_add(1, Ordering::SeqCst);
            state.canned.jwks.as_ref().map_or_else(not_found, respond)
        }
        (Method::POST, "/introspect") => {
            state.counters.introspect.fetch_add(1, Ordering::SeqCst);
            state.canned.introspection.as_ref().map_or_else(not_found, respond)
        }
        _ => {
            state.counters.other.fetch_add(1, Ordering::SeqCst);
            not_found()
        }
    }
}

/// Starts the canned server; returns its base URL, its state and the task serving it.
async fn start_server(mut canned: Canned) -> (String, Arc<ServerState>, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let base = format!("http://{addr}");
    for reply in [&mut canned.jwks, &mut canned.introspection].into_iter().flatten() {
        for (_, value) in &mut reply.headers {
            *value = value.replace("{server}", &base);
        }
    }
    let state = Arc::new(ServerState { canned, counters: Counters::default() });
    let app = Router::new().fallback(serve).with_state(Arc::clone(&state));
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (base, state, task)
}

// ------------------------------------------------------------------------------------------
// Running and comparing

fn substitute(v: &Value, server: &str) -> Value {
    match v {
        Value::String(s) => Value::String(s.replace("{server}", server)),
        Value::Array(a) => Value::Array(a.iter().map(|x| substitute(x, server)).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, x)| (k.clone(), substitute(x, server))).collect())
        }
        other => other.clone(),
    }
}

fn opt_str(v: &Option<String>) -> Value {
    v.as_ref().map_or(Value::Null, |s| Value::String(s.clone()))
}

fn strings(v: &[String]) -> Value {
    Value::Array(v.iter().cloned().map(Value::String).collect())
}

/// The `expected`-shaped view of a successful validation, for comparison and messages.
fn info_field(info: &TokenInfo, key: &str) -> Value {
    match key {
        "ok" => Value::Bool(true),
        "source" => Value::String(info.source.as_str().to_owned()),
        "subject" => opt_str(&info.subject),
        "client_id" => opt_str(&info.client_id),
        "username" => opt_str(&info.username),
        "issuer" => opt_str(&info.issuer),
        "scopes" => strings(&info.scopes),
        "roles" => strings(&info.roles),
        "audiences" => strings(&info.audiences),
        "expires_at" => info.expires_at.map_or(Value::Null, Value::from),
        "token_type" => opt_str(&info.token_type),
        "dpop_nonce" => opt_str(&info.dpop_nonce),
        other => panic!("no field {other}"),
    }
}

/// Compares one outcome with the case's expectation; returns a description of every
/// mismatch.
fn compare(expected: &Map<String, Value>, outcome: &Outcome) -> Vec<String> {
    let mut problems = Vec::new();
    let expect_ok = expected.get("ok") == Some(&Value::Bool(true));
    match outcome {
        Outcome::BuildFailed(kind, detail) => {
            let wanted_build = expected.get("at").is_some_and(|a| a == "build");
            let code_ok = expected.get("code").and_then(Value::as_str) == Some(kind.code());
            if !(wanted_build && code_ok) {
                problems.push(format!(
                    "expected {}, got build failure {} ({detail})",
                    Value::Object(expected.clone()),
                    kind.code()
                ));
            }
        }
        Outcome::Refused(kind, detail, www, nonce, _) => {
            for (key, got) in [("www_authenticate", www), ("dpop_nonce", nonce)] {
                if let Some(want) = expected.get(key)
                    && want.as_str() != got.as_deref()
                {
                    problems.push(format!("{key}: expected {want}, got {got:?}"));
                }
            }
            if expect_ok || expected.contains_key("at") {
                problems.push(format!(
                    "expected {}, got {} ({detail})",
                    Value::Object(expected.clone()),
                    kind.code()
                ));
            } else if expected.get("code").and_then(Value::as_str) != Some(kind.code()) {
                problems.push(format!("expected code {}, got {} ({detail})", expected["code"], kind.code()));
            }
        }
        Outcome::Accepted(info) => {
            if !expect_ok {
                problems.push(format!(
                    "expected {}, got ok (source {}, subject {:?}, scopes {:?})",
                    Value::Object(expected.clone()),
                    info.source.as_str(),
                    info.subject,
                    info.scopes
                ));
                return problems;
            }
            for (key, want) in expected {
                if key == "claims" {
                    let Some(want) = want.as_object() else {
                        problems.push("expected.claims is not an object".into());
                        continue;
                    };
                    for (claim, value) in want {
                        let got = info.claim(claim);
                        if got != Some(value) {
                            problems.push(format!(
                                "claim {claim}: expected {value}, got {}",
                                got.map_or("(absent)".to_owned(), Value::to_string)
                            ));
                        }
                    }
                    continue;
                }
                let got = info_field(info, key);
                if &got != want {
                    problems.push(format!("{key}: expected {want}, got {got}"));
                }
            }
        }
    }
    problems
}

/// docs/security.md SECRET-2: an error's text (Display, Debug, WWW-Authenticate) never contains
/// the token, a part of it, or the configured client secret.
fn echoes(case: &Case, text: &str) -> Vec<String> {
    let mut secrets: Vec<&str> = Vec::new();
    if case.token.len() >= 12 {
        secrets.push(&case.token);
    }
    secrets.extend(case.token.split('.').filter(|part| part.len() >= 12));
    if let Some(secret) = case.config.get("client_secret").and_then(Value::as_str) {
        secrets.push(secret);
    }
    secrets
        .into_iter()
        .filter(|secret| text.contains(secret))
        .map(|_| "the error text echoes the token or the client secret".to_owned())
        .take(1)
        .collect()
}

enum Outcome {
    BuildFailed(ErrorKind, String),
    /// Kind, detail, the validator's `WWW-Authenticate`, the error's DPoP nonce, and every
    /// text the error shows (for the secrecy canary).
    Refused(ErrorKind, String, Option<String>, Option<String>, String),
    Accepted(Arc<TokenInfo>),
}

/// One decision: the case's request when it has one, else its bare token.
async fn decide(case: &Case, validator: &Validator) -> Option<Outcome> {
    let call = async {
        match &case.request {
            Some(request) => {
                validator.decide(&Request { scopes: case.scopes.clone(), ..request.clone() }).await
            }
            None => validator.validate_with_scopes(&case.token, &case.scopes).await,
        }
    };
    // A generous bound: every case talks only to the local canned server.
    match tokio::time::timeout(Duration::from_secs(30), call).await {
        Err(_) => None,
        Ok(Ok(info)) => Some(Outcome::Accepted(info)),
        Ok(Err(e)) => Some(Outcome::Refused(
            e.kind(),
            e.detail().to_owned(),
            validator.www_authenticate(&e),
            e.dpop_nonce().map(str::to_owned),
            format!(
                "{e}\n{e:?}\n{:?}\n{:?}",
                e.www_authenticate(Some("realm")),
                validator.www_authenticate(&e)
            ),
        )),
    }
}

/// Runs one case; returns its problems and a one-line summary of what happened.
async fn run_case(case: &Case) -> (Vec<String>, String) {
    let (base, state, task) = start_server(case.server.clone()).await;
    let config = substitute(&case.config, &base);
    let built = Config::from_value(config).and_then(|config| match case.now {
        Some(now) => Validator::with_clock(config, Arc::new(ManualClock::new(Duration::from_secs(now)))),
        None => Validator::new(config),
    });
    let mut leaks = Vec::new();
    let outcome = match &built {
        Err(e) => {
            leaks.extend(echoes(case, &format!("{e}\n{e:?}\n{:?}", e.www_authenticate(Some("realm")))));
            Outcome::BuildFailed(e.kind(), e.detail().to_owned())
        }
        Ok(validator) => match decide(case, validator).await {
            None => {
                task.abort();
                return (vec!["validation did not finish within 30 s".into()], "timeout".into());
            }
            Some(outcome) => outcome,
        },
    };
    if let Outcome::Refused(_, _, _, _, text) = &outcome {
        leaks.extend(echoes(case, text));
    }
    let mut problems = compare(&case.expected, &outcome);
    problems.extend(leaks);
    let counters = &state.counters;
    let seen = [&counters.jwks, &counters.introspect, &counters.other].map(|c| c.load(Ordering::SeqCst));
    // The same token once more: a remembered answer (docs/security.md KEY-9) must agree with
    // the first one. Request counts are those of the first call.
    if let (Ok(validator), Outcome::Accepted(_) | Outcome::Refused(..)) = (&built, &outcome) {
        let again = decide(case, validator).await;
        let first = match &outcome {
            Outcome::Accepted(_) => "ok",
            Outcome::Refused(kind, ..) | Outcome::BuildFailed(kind, _) => kind.code(),
        };
        match (&case.again, again) {
            (_, None) => problems.push("a second call did not finish within 30 s".into()),
            (Some(expected), Some(again)) => {
                problems.extend(compare(expected, &again).into_iter().map(|p| format!("second call: {p}")));
            }
            (None, Some(again)) => {
                let again = match &again {
                    Outcome::Accepted(_) => "ok",
                    Outcome::Refused(kind, ..) | Outcome::BuildFailed(kind, _) => kind.code(),
                };
                if again != first {
                    problems.push(format!("a second call answered {again}, the first {first}"));
                }
            }
        }
    }
    let summary = format!(
        "{} [jwks {}, introspect {}, other {}]",
        match &outcome {
            Outcome::BuildFailed(kind, detail) => format!("build {}: {detail}", kind.code()),
            Outcome::Refused(kind, detail, ..) => format!("{}: {detail}", kind.code()),
            Outcome::Accepted(info) => format!("ok {}", info.source.as_str()),
        },
        seen[0],
        seen[1],
        seen[2],
    );
    if let Some(expected) = &case.expected_requests {
        for (key, want) in expected {
            let got = match key.as_str() {
                "jwks" => seen[0],
                "introspect" => seen[1],
                "other" => seen[2],
                _ => unreachable!("checked when parsing"),
            };
            if Some(got) != want.as_u64() {
                problems.push(format!("requests to {key}: expected {want}, got {got}"));
            }
        }
    }
    task.abort();
    (problems, summary)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conformance_cases() {
    let (cases, mut failures) = load_cases();
    let filter = std::env::var("BEARERGUARD_CASE").ok().filter(|f| !f.is_empty());
    let verbose = std::env::var_os("BEARERGUARD_CASES_VERBOSE").is_some();
    let mut ran = 0usize;
    let mut passed = 0usize;
    for case in &cases {
        if filter.as_ref().is_some_and(|f| !case.name.contains(f.as_str())) {
            continue;
        }
        ran += 1;
        let (problems, summary) = run_case(case).await;
        if verbose {
            println!("{:<48} {summary}", case.name);
        }
        if problems.is_empty() {
            passed += 1;
        } else {
            failures.push(format!("{} ({}): {}", case.name, case.file, problems.join("; ")));
        }
    }
    println!("conformance: {ran} cases ran, {passed} passed");
    if filter.is_none() {
        assert!(ran >= 70, "only {ran} cases found");
    }
    if !failures.is_empty() {
        panic!("{} conformance failures:\n  {}", failures.len(), failures.join("\n  "));
    }
}
