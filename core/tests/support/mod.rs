//! An in-process fake authorization server over real HTTP on 127.0.0.1, with request
//! counters, client-authentication checks and injectable faults, plus test keys and a
//! token signer.
#![allow(dead_code, reason = "each test binary uses a different part of the support module")]

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub mod real_as;
pub mod redis;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde_json::{Value, json};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn fixture(path: &str) -> String {
    std::fs::read_to_string(repo_root().join("tests/fixtures").join(path)).expect("fixture")
}

pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// A signing key with its public JWK.
pub struct TestKey {
    pub alg: Algorithm,
    pub kid: String,
    pub encoding: EncodingKey,
    pub public_jwk: Value,
}

impl TestKey {
    /// The RSA key of the ZITADEL key-file fixture (also registered as the pkjwt client key).
    pub fn rsa() -> TestKey {
        let mut jwk: Value = serde_json::from_str(&fixture("clients/rs-pkjwt-rsa.jwk.json")).unwrap();
        let obj = jwk.as_object_mut().unwrap();
        for m in ["d", "p", "q", "dp", "dq", "qi"] {
            obj.remove(m);
        }
        let file: Value = serde_json::from_str(&fixture("clients/zitadel-rs-pkjwt.json")).unwrap();
        let pem = file["key"].as_str().unwrap();
        TestKey {
            alg: Algorithm::RS256,
            kid: jwk["kid"].as_str().unwrap().to_owned(),
            encoding: EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
            public_jwk: jwk,
        }
    }

    pub fn ec() -> TestKey {
        let pem = fixture("clients/rs-pkjwt-ec.pem");
        let der = ::pem::parse(pem.as_bytes()).unwrap().into_contents();
        let pair = aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(
            &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            &der,
        )
        .unwrap();
        use aws_lc_rs::signature::KeyPair;
        let point = pair.public_key().as_ref().to_vec();
        TestKey {
            alg: Algorithm::ES256,
            kid: "ec-1".into(),
            encoding: EncodingKey::from_ec_der(&der),
            public_jwk: json!({"kty":"EC","crv":"P-256","kid":"ec-1","use":"sig","alg":"ES256",
                "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..])}),
        }
    }

    pub fn ed() -> TestKey {
        let pem = fixture("clients/rs-pkjwt-ed.pem");
        let der = ::pem::parse(pem.as_bytes()).unwrap().into_contents();
        let pair = aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der).unwrap();
        use aws_lc_rs::signature::KeyPair;
        TestKey {
            alg: Algorithm::EdDSA,
            kid: "ed-1".into(),
            encoding: EncodingKey::from_ed_der(&der),
            public_jwk: json!({"kty":"OKP","crv":"Ed25519","kid":"ed-1","use":"sig","alg":"EdDSA",
                "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref())}),
        }
    }

    /// Signs `claims` with this key; header `typ: at+jwt` and this key's `kid`.
    pub fn sign(&self, claims: &Value) -> String {
        self.sign_with(claims, Some(&self.kid), Some("at+jwt"))
    }

    /// Signs `claims` under exactly this `header` (members a `jsonwebtoken::Header` cannot
    /// hold, or none of the usual ones).
    pub fn sign_raw(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = jsonwebtoken::crypto::sign(input.as_bytes(), &self.encoding, self.alg).unwrap();
        format!("{input}.{signature}")
    }

    pub fn sign_with(&self, claims: &Value, kid: Option<&str>, typ: Option<&str>) -> String {
        let mut h = Header::new(self.alg);
        h.kid = kid.map(str::to_owned);
        h.typ = typ.map(str::to_owned);
        jsonwebtoken::encode(&h, claims, &self.encoding).unwrap()
    }
}

/// What an endpoint (introspection, JWKS or discovery) does besides answering normally.
#[derive(Debug, Clone)]
pub enum Fault {
    None,
    /// Answer this status and body to every request.
    Status(u16, String, &'static str),
    /// Answer this status to the next `n` requests, then normally.
    StatusTimes(u16, usize),
    /// 307 to /elsewhere.
    Redirect,
    /// Never answer.
    Hang,
    /// Send headers, then the body one byte a second.
    Dribble,
    /// A body of this many bytes.
    Huge(usize),
}

#[derive(Default)]
pub struct Counters {
    pub introspect: AtomicUsize,
    pub jwks: AtomicUsize,
    pub discovery: AtomicUsize,
    pub elsewhere: AtomicUsize,
    /// Introspection requests being answered right now, and the most there ever were.
    pub introspect_in_flight: AtomicUsize,
    pub introspect_peak: AtomicUsize,
}

pub struct AsState {
    pub issuer: Mutex<String>,
    pub counters: Counters,
    pub jwks: Mutex<Value>,
    pub jwks_status: AtomicU64,
    pub jwks_cache_control: Mutex<Option<String>>,
    pub tokens: Mutex<HashMap<String, Value>>,
    pub fault: Mutex<Fault>,
    pub jwks_fault: Mutex<Fault>,
    pub discovery_fault: Mutex<Fault>,
    pub delay_ms: AtomicU64,
    /// Delays for the next JWKS requests, one per request in arrival order.
    pub jwks_delays: Mutex<VecDeque<u64>>,
    /// The JWKS document served to each request, in arrival order (taken before any delay).
    pub jwks_served: Mutex<Vec<Value>>,
    /// Expected Basic / post credentials (decoded).
    pub secret_client: Mutex<Option<(String, String)>>,
    /// Client id and public key for private_key_jwt.
    pub jwt_client: Mutex<Option<(String, DecodingKey, Algorithm)>>,
    pub assertions: Mutex<Vec<(Value, Value)>>,
    pub seen_jti: Mutex<HashSet<String>>,
    pub last_form: Mutex<HashMap<String, String>>,
    pub discovery_doc: Mutex<Option<Value>>,
    pub bearer: Mutex<Option<String>>,
}

pub struct FakeAs {
    pub base: String,
    pub state: Arc<AsState>,
}

impl FakeAs {
    pub async fn start() -> FakeAs {
        FakeAs::start_on("127.0.0.1:0").await
    }

    /// Starts on a given address (e.g. a port a test saw refused a moment ago).
    pub async fn start_on(addr: &str) -> FakeAs {
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(AsState {
            issuer: Mutex::new(base.clone()),
            counters: Counters::default(),
            jwks: Mutex::new(json!({"keys":[]})),
            jwks_status: AtomicU64::new(200),
            jwks_cache_control: Mutex::new(None),
            tokens: Mutex::new(HashMap::new()),
            fault: Mutex::new(Fault::None),
            jwks_fault: Mutex::new(Fault::None),
            discovery_fault: Mutex::new(Fault::None),
            delay_ms: AtomicU64::new(0),
            jwks_delays: Mutex::new(VecDeque::new()),
            jwks_served: Mutex::new(Vec::new()),
            secret_client: Mutex::new(None),
            jwt_client: Mutex::new(None),
            assertions: Mutex::new(Vec::new()),
            seen_jti: Mutex::new(HashSet::new()),
            last_form: Mutex::new(HashMap::new()),
            discovery_doc: Mutex::new(None),
            bearer: Mutex::new(None),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/introspect", post(introspect))
            .route("/elsewhere", post(elsewhere).get(elsewhere))
            .with_state(Arc::clone(&state));
        tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        FakeAs { base, state }
    }

    pub fn issuer(&self) -> String {
        self.state.issuer.lock().unwrap().clone()
    }

    pub fn set_keys(&self, keys: &[&TestKey]) {
        *self.state.jwks.lock().unwrap() =
            json!({"keys": keys.iter().map(|k| k.public_jwk.clone()).collect::<Vec<_>>()});
    }

    pub fn add_token(&self, token: &str, response: Value) {
        self.state.tokens.lock().unwrap().insert(token.to_owned(), response);
    }

    pub fn set_fault(&self, fault: Fault) {
        *self.state.fault.lock().unwrap() = fault;
    }

    pub fn set_jwks_fault(&self, fault: Fault) {
        *self.state.jwks_fault.lock().unwrap() = fault;
    }

    pub fn set_discovery_fault(&self, fault: Fault) {
        *self.state.discovery_fault.lock().unwrap() = fault;
    }

    pub fn expect_secret(&self, id: &str, secret: &str) {
        *self.state.secret_client.lock().unwrap() = Some((id.to_owned(), secret.to_owned()));
    }

    pub fn expect_jwt_client(&self, id: &str, key: DecodingKey, alg: Algorithm) {
        *self.state.jwt_client.lock().unwrap() = Some((id.to_owned(), key, alg));
    }

    pub fn introspections(&self) -> usize {
        self.state.counters.introspect.load(Ordering::SeqCst)
    }

    pub fn jwks_fetches(&self) -> usize {
        self.state.counters.jwks.load(Ordering::SeqCst)
    }

    pub fn discoveries(&self) -> usize {
        self.state.counters.discovery.load(Ordering::SeqCst)
    }

    /// Requests to `/elsewhere` (any method): where hostile headers and redirects point.
    pub fn elsewhere(&self) -> usize {
        self.state.counters.elsewhere.load(Ordering::SeqCst)
    }

    /// Waits (up to 5 s) until `counter` reaches `n`: a request has reached the server.
    pub async fn wait_for(&self, counter: impl Fn(&Counters) -> &AtomicUsize, n: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
        while counter(&self.state.counters).load(Ordering::SeqCst) < n {
            assert!(tokio::time::Instant::now() < deadline, "no request reached the fake server");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// A config for this server: discovery on, the given audience.
    pub fn config(&self, audience: &str) -> bearerguard::Config {
        bearerguard::Config::new(self.issuer(), audience)
    }

    /// An active introspection answer for a token with these extra members.
    pub fn active(&self, extra: Value) -> Value {
        let mut v = json!({"active": true, "iss": self.issuer(), "aud": "api", "exp": now() + 600,
            "iat": now(), "client_id": "svc", "scope": "read write", "token_type": "Bearer", "sub": "user-1"});
        for (k, val) in extra.as_object().unwrap() {
            v[k] = val.clone();
        }
        v
    }

    pub fn good_claims(&self, extra: Value) -> Value {
        let mut v = json!({"iss": self.issuer(), "aud": "api", "exp": now() + 600, "iat": now(),
            "sub": "user-1", "client_id": "svc", "jti": "j1", "scope": "read write"});
        for (k, val) in extra.as_object().unwrap() {
            v[k] = val.clone();
        }
        v
    }
}

async fn discovery(State(s): State<Arc<AsState>>) -> Response {
    s.counters.discovery.fetch_add(1, Ordering::SeqCst);
    if let Some(response) = fault_response(&s.discovery_fault).await {
        return response;
    }
    if let Some(doc) = s.discovery_doc.lock().unwrap().clone() {
        return axum::Json(doc).into_response();
    }
    let issuer = s.issuer.lock().unwrap().clone();
    axum::Json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/jwks"),
        "introspection_endpoint": format!("{issuer}/introspect"),
        "token_endpoint": format!("{issuer}/token"),
    }))
    .into_response()
}

async fn jwks(State(s): State<Arc<AsState>>) -> Response {
    // The set as it is when the request arrives, even if the answer is delayed; taken before
    // the counter moves, so a test that saw the count knows which set this request got.
    let doc = s.jwks.lock().unwrap().clone();
    s.jwks_served.lock().unwrap().push(doc.clone());
    s.counters.jwks.fetch_add(1, Ordering::SeqCst);
    let status = StatusCode::from_u16(s.jwks_status.load(Ordering::SeqCst) as u16).unwrap();
    let delay = s.jwks_delays.lock().unwrap().pop_front();
    if let Some(ms) = delay {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    if let Some(response) = fault_response(&s.jwks_fault).await {
        return response;
    }
    let body = doc.to_string();
    let mut resp = (status, [(header::CONTENT_TYPE, "application/jwk-set+json")], body).into_response();
    if let Some(cc) = s.jwks_cache_control.lock().unwrap().clone() {
        resp.headers_mut().insert(header::CACHE_CONTROL, cc.parse().unwrap());
    }
    resp
}

async fn elsewhere(State(s): State<Arc<AsState>>) -> Response {
    s.counters.elsewhere.fetch_add(1, Ordering::SeqCst);
    axum::Json(json!({"active": true, "sub": "attacker"})).into_response()
}

fn form_decode(s: &str) -> Option<String> {
    form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned())
}

fn oauth_error(status: u16, error: &str) -> Response {
    (StatusCode::from_u16(status).unwrap(), axum::Json(json!({"error": error}))).into_response()
}

/// Counts an introspection request as in flight until it is dropped (answered or abandoned).
struct InFlight(Arc<AsState>);

impl InFlight {
    fn enter(s: &Arc<AsState>) -> InFlight {
        let now = s.counters.introspect_in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        s.counters.introspect_peak.fetch_max(now, Ordering::SeqCst);
        InFlight(Arc::clone(s))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.counters.introspect_in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// What `slot`'s fault answers instead of the normal response, if anything.
async fn fault_response(slot: &Mutex<Fault>) -> Option<Response> {
    let fault = slot.lock().unwrap().clone();
    match fault {
        Fault::None => None,
        Fault::Status(status, body, content_type) => Some(
            (StatusCode::from_u16(status).unwrap(), [(header::CONTENT_TYPE, content_type)], body)
                .into_response(),
        ),
        Fault::StatusTimes(status, n) => {
            if n == 0 {
                return None;
            }
            *slot.lock().unwrap() = Fault::StatusTimes(status, n - 1);
            Some(StatusCode::from_u16(status).unwrap().into_response())
        }
        Fault::Redirect => {
            Some((StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, "/elsewhere")]).into_response())
        }
        Fault::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            None
        }
        Fault::Dribble => {
            let stream = async_stream(b"{\"active\":true,\"sub\":\"slow\"}".to_vec());
            Some(
                Response::builder()
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(axum::body::Body::from_stream(stream))
                    .unwrap(),
            )
        }
        Fault::Huge(n) => {
            let body = format!("{{\"active\":true,\"pad\":\"{}\"}}", "x".repeat(n));
            Some(([(header::CONTENT_TYPE, "application/json")], body).into_response())
        }
    }
}

async fn introspect(State(s): State<Arc<AsState>>, headers: HeaderMap, body: Bytes) -> Response {
    s.counters.introspect.fetch_add(1, Ordering::SeqCst);
    let _in_flight = InFlight::enter(&s);
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    *s.last_form.lock().unwrap() = form.clone();
    let delay = s.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }

    // Client authentication, as strict as real servers are.
    let expected_secret = s.secret_client.lock().unwrap().clone();
    let jwt_client = s.jwt_client.lock().unwrap().as_ref().map(|(id, k, a)| (id.clone(), k.clone(), *a));
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "));
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let expected_bearer = s.bearer.lock().unwrap().clone();
    if let Some(credential) = bearer {
        if expected_bearer.as_deref() != Some(credential) {
            return oauth_error(401, "invalid_client");
        }
    } else if expected_bearer.is_some() {
        return oauth_error(401, "invalid_client");
    } else if let Some(b64) = basic {
        let Some(raw) = STANDARD.decode(b64).ok().and_then(|b| String::from_utf8(b).ok()) else {
            return oauth_error(400, "invalid_request");
        };
        let Some((id, secret)) = raw.split_once(':') else { return oauth_error(400, "invalid_request") };
        // oidc-provider refuses credentials that are not form-urlencoded.
        if id.contains(['@', ':', ' ']) || secret.contains(['@', ':', ' ']) {
            return oauth_error(400, "invalid_request");
        }
        let (Some(id), Some(secret)) = (form_decode(id), form_decode(secret)) else {
            return oauth_error(400, "invalid_request");
        };
        if expected_secret != Some((id, secret)) {
            return oauth_error(401, "invalid_client");
        }
    } else if let Some(assertion) = form.get("client_assertion") {
        if form.get("client_assertion_type").map(String::as_str)
            != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer")
        {
            return oauth_error(400, "invalid_request");
        }
        let Some((client_id, key, alg)) = jwt_client else { return oauth_error(401, "invalid_client") };
        let issuer = s.issuer.lock().unwrap().clone();
        let mut v = Validation::new(alg);
        v.set_audience(&[issuer]);
        v.set_issuer(std::slice::from_ref(&client_id));
        v.set_required_spec_claims(&["exp", "iss", "sub", "aud"]);
        let Ok(data) = jsonwebtoken::decode::<Value>(assertion, &key, &v) else {
            return oauth_error(401, "invalid_client");
        };
        let header = jsonwebtoken::decode_header(assertion).unwrap();
        let jti = data.claims["jti"].as_str().unwrap_or("").to_owned();
        if data.claims["sub"] != json!(client_id) || jti.is_empty() || !s.seen_jti.lock().unwrap().insert(jti)
        {
            return oauth_error(401, "invalid_client");
        }
        s.assertions.lock().unwrap().push((serde_json::to_value(&header).unwrap(), data.claims));
    } else if let (Some(id), Some(secret)) = (form.get("client_id"), form.get("client_secret")) {
        if expected_secret != Some((id.clone(), secret.clone())) {
            return oauth_error(401, "invalid_client");
        }
    } else if expected_secret.is_some() || jwt_client.is_some() {
        return oauth_error(400, "invalid_request");
    }

    if let Some(response) = fault_response(&s.fault).await {
        return response;
    }
    let token = form.get("token").cloned().unwrap_or_default();
    let answer = s.tokens.lock().unwrap().get(&token).cloned().unwrap_or(json!({"active": false}));
    ([(header::CONTENT_TYPE, "application/json"), (header::CACHE_CONTROL, "no-store")], answer.to_string())
        .into_response()
}

fn async_stream(bytes: Vec<u8>) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    futures_util::stream::unfold(bytes.into_iter(), |mut it| async move {
        tokio::time::sleep(Duration::from_millis(1000)).await;
        it.next().map(|b| (Ok(vec![b]), it))
    })
}

/// Counts tokens minted in a test so each test uses new ones.
pub static SEQ: AtomicU64 = AtomicU64::new(0);

pub fn opaque() -> String {
    format!("opaque-{}-{}", SEQ.fetch_add(1, Ordering::SeqCst), uuid::Uuid::new_v4())
}
