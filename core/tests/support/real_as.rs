//! Runs the real authorization server (panva oidc-provider, `tests/authorization-server`) as
//! a child process and talks to it like a client would. Several may run at once: each is its
//! own issuer with its own signing keys, and one started with a tenant has its own clients too.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use base64::Engine as _;
use serde_json::Value;

pub struct RealAs {
    child: Child,
    pub info: Value,
    http: reqwest::Client,
}

impl RealAs {
    /// Starts the server; panics with a clear message when it is not installed.
    pub fn start() -> RealAs {
        RealAs::spawn(&[])
    }

    /// Starts a second (third...) authorization server for tests of many issuers:
    /// `server.mjs --tenant <tenant>` (`[a-z0-9-]{1,20}`). Besides its own issuer and signing
    /// keys (same kids, other keys), its secret-based clients are its own: `<tenant>-<id>` with
    /// secret `<tenant>-<secret>`; `rs_pkjwt` and `rs_pkjwt_ed` keep their ids. Read them with
    /// [`RealAs::client`], never hard-code them.
    pub fn start_tenant(tenant: &str) -> RealAs {
        RealAs::spawn(&["--tenant", tenant])
    }

    fn spawn(args: &[&str]) -> RealAs {
        let dir = super::repo_root().join("tests/authorization-server");
        assert!(
            dir.join("node_modules").exists(),
            "the test authorization server is not installed: run `make setup` (npm ci in {})",
            dir.display()
        );
        let mut child = Command::new("node")
            .arg(dir.join("server.mjs"))
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node must be on PATH to run the real authorization server");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("ready line");
        assert!(!line.is_empty(), "the authorization server {args:?} exited before its ready line");
        let info: Value = serde_json::from_str(&line).expect("ready line is JSON");
        assert_eq!(info["ready"], true);
        RealAs { child, info, http: reqwest::Client::new() }
    }

    pub fn issuer(&self) -> String {
        self.info["issuer"].as_str().unwrap().to_owned()
    }

    /// The `tenant` this server was started with (`None`: the default clients).
    pub fn tenant(&self) -> Option<&str> {
        self.info["tenant"].as_str()
    }

    /// A client of the ready line (`svc`, `rs_basic`...): `client_id`, `client_secret`...
    pub fn client(&self, name: &str) -> &Value {
        &self.info["clients"][name]
    }

    pub fn resource(&self, name: &str) -> String {
        self.info["resources"][name].as_str().unwrap().to_owned()
    }

    async fn post(&self, endpoint: &str, client: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.post_with(endpoint, client, form, &[]).await
    }

    async fn post_with(
        &self,
        endpoint: &str,
        client: &str,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        self.post_as(endpoint, self.client(client), form, headers).await
    }

    /// POSTs `form` to `endpoint` with client_secret_basic credentials from `c` (a ready-line
    /// client, of this server or of another one).
    async fn post_as(
        &self,
        endpoint: &str,
        c: &Value,
        form: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> reqwest::Response {
        let id: String =
            form_urlencoded::byte_serialize(c["client_id"].as_str().unwrap().as_bytes()).collect();
        let secret: String =
            form_urlencoded::byte_serialize(c["client_secret"].as_str().unwrap().as_bytes()).collect();
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        let body = form_urlencoded::Serializer::new(String::new()).extend_pairs(form).finish();
        let request = self
            .http
            .post(self.info[endpoint].as_str().unwrap())
            .header("authorization", format!("Basic {basic}"))
            .header("content-type", "application/x-www-form-urlencoded");
        let request = headers.iter().fold(request, |r, (name, value)| r.header(*name, *value));
        request.body(body).send().await.unwrap()
    }

    /// A client_credentials access token for `resource` (a name in the ready line).
    pub async fn token(&self, resource: &str, scope: &str) -> String {
        let resource = self.resource(resource);
        let response = self
            .post(
                "token_endpoint",
                "svc",
                &[("grant_type", "client_credentials"), ("scope", scope), ("resource", &resource)],
            )
            .await;
        assert_eq!(response.status(), 200);
        let body: Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// The token endpoint's answer to a client_credentials request of `client` for `resource`
    /// with extra request headers (a `DPoP` proof, a client certificate header).
    pub async fn token_with(
        &self,
        client: &str,
        resource: &str,
        scope: &str,
        headers: &[(&str, &str)],
    ) -> Value {
        let resource = self.resource(resource);
        let form = [("grant_type", "client_credentials"), ("scope", scope), ("resource", resource.as_str())];
        let response = self.post_with("token_endpoint", client, &form, headers).await;
        assert_eq!(response.status(), 200);
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
    }

    /// The token endpoint's answer, whatever its status, to a client_credentials request for
    /// `resource` authenticated (client_secret_basic) with `credentials`: a client of the ready
    /// line, possibly another server's (`other.client("svc")`, which this one should refuse).
    pub async fn token_request_as(
        &self,
        credentials: &Value,
        resource: &str,
        scope: &str,
    ) -> reqwest::Response {
        let resource = self.resource(resource);
        let form = [("grant_type", "client_credentials"), ("scope", scope), ("resource", resource.as_str())];
        self.post_as("token_endpoint", credentials, &form, &[]).await
    }

    /// Revokes `token` (only the client it was issued to may).
    pub async fn revoke(&self, token: &str) {
        let response = self
            .post("revocation_endpoint", "svc", &[("token", token), ("token_type_hint", "access_token")])
            .await;
        assert_eq!(response.status(), 200);
    }
}

impl Drop for RealAs {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
