//! Runs the real authorization server (panva oidc-provider, `tests/authorization-server`) as
//! a child process and talks to it like a client would.

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
        let dir = super::repo_root().join("tests/authorization-server");
        assert!(
            dir.join("node_modules").exists(),
            "the test authorization server is not installed: run `make setup` (npm ci in {})",
            dir.display()
        );
        let mut child = Command::new("node")
            .arg(dir.join("server.mjs"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("node must be on PATH to run the real authorization server");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("ready line");
        let info: Value = serde_json::from_str(&line).expect("ready line is JSON");
        assert_eq!(info["ready"], true);
        RealAs { child, info, http: reqwest::Client::new() }
    }

    pub fn issuer(&self) -> String {
        self.info["issuer"].as_str().unwrap().to_owned()
    }

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
        let c = self.client(client);
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
