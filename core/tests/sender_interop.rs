//! Sender-constrained tokens issued by the real authorization server (oidc-provider): DPoP-bound
//! tokens (a proof at its token endpoint, made by the test kit's `DpopKey`) and certificate-bound
//! tokens (svc-mtls-client's certificate), JWT and opaque, through `Validator::decide`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests")]

mod support;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use bearerguard::testing::DpopKey;
use bearerguard::{ClientCertificate, Config, Request, Secret, SenderConstraint, Validator};
use support::real_as::RealAs;

const URL: &str = "https://api.example.test/orders";

fn config(server: &RealAs, policy: SenderConstraint) -> Config {
    let audiences: Vec<String> = ["jwt", "opaque"].iter().map(|r| server.resource(r)).collect();
    let mut c = Config::new(server.issuer(), audiences[0].clone());
    c.audience = bearerguard::OneOrMany(audiences);
    let data = server.client("rs_basic");
    c.client_auth.client_id = data["client_id"].as_str().map(str::to_owned);
    c.client_auth.client_secret = data["client_secret"].as_str().map(Secret::new);
    c.sender_constraint = policy;
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dpop_bound_tokens_of_oidc_provider() {
    let server = RealAs::start();
    let validator = Validator::new(config(&server, SenderConstraint::Allow)).unwrap();
    let strict = Validator::new(config(&server, SenderConstraint::None)).unwrap();
    let token_endpoint = server.info["token_endpoint"].as_str().unwrap().to_owned();
    for resource in ["jwt", "opaque"] {
        let key = DpopKey::generate().unwrap();
        let proof =
            key.proof_with(&bearerguard::testing::ProofOptions::new("POST", &token_endpoint)).unwrap();
        let issued = server.token_with("svc", resource, "read", &[("dpop", &proof)]).await;
        assert_eq!(issued["token_type"], "DPoP", "{resource}");
        let token = issued["access_token"].as_str().unwrap();
        let request = |proof: String| {
            Request::new().method("GET").url(URL).authorization(format!("DPoP {token}")).dpop(proof)
        };
        let good = request(key.proof("GET", URL, token).unwrap());
        let info = validator.decide(&good).await.unwrap();
        assert_eq!(info.client_id.as_deref(), Some("svc-client"), "{resource}");
        assert_eq!(validator.decide(&good).await.unwrap_err().code(), "invalid_dpop_proof", "a replay");
        let bearer = Request::new().method("GET").url(URL).authorization(format!("Bearer {token}"));
        assert_eq!(validator.decide(&bearer).await.unwrap_err().code(), "invalid_token", "a downgrade");
        let other = DpopKey::generate().unwrap();
        let stolen = request(other.proof("GET", URL, token).unwrap());
        assert_eq!(validator.decide(&stolen).await.unwrap_err().code(), "invalid_token", "another key");
        assert_eq!(strict.decide(&bearer).await.unwrap_err().code(), "invalid_token", "policy none");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn certificate_bound_tokens_of_oidc_provider() {
    let server = RealAs::start();
    let client = server.client("svc_mtls").clone();
    let pem = std::fs::read_to_string(client["certificate_pem"].as_str().unwrap()).unwrap();
    let der = STANDARD.decode(pem.lines().filter(|l| !l.starts_with("-----")).collect::<String>()).unwrap();
    // URL-encoded as the proxy's `$ssl_client_escaped_cert` (the AS decodes it with
    // decodeURIComponent: a space is %20, not form encoding's `+`).
    let escaped = form_urlencoded::byte_serialize(pem.as_bytes()).collect::<String>().replace('+', "%20");
    let header = client["certificate_header"].as_str().unwrap();
    let validator = Validator::new(config(&server, SenderConstraint::Allow)).unwrap();
    let mut proxied_config = config(&server, SenderConstraint::Allow);
    proxied_config.client_certificate_header = Some("client-cert".into());
    let proxied = Validator::new(proxied_config).unwrap();
    for resource in ["jwt", "opaque"] {
        let issued = server.token_with("svc_mtls", resource, "read", &[(header, &escaped)]).await;
        let token = issued["access_token"].as_str().unwrap();
        let request = || Request::new().method("GET").url(URL).authorization(format!("Bearer {token}"));
        let info = validator.decide(&request().client_certificate(ClientCertificate::Der(der.clone()))).await;
        assert_eq!(info.unwrap().client_id.as_deref(), Some("svc-mtls-client"), "{resource}");
        assert_eq!(validator.decide(&request()).await.unwrap_err().code(), "invalid_token", "no certificate");
        let mut other = der.clone();
        *other.last_mut().unwrap() ^= 1;
        let wrong = request().client_certificate(ClientCertificate::Der(other));
        assert_eq!(
            validator.decide(&wrong).await.unwrap_err().code(),
            "invalid_token",
            "another certificate"
        );
        let via_proxy = request().header("client-cert", format!(":{}:", STANDARD.encode(&der)));
        assert_eq!(proxied.decide(&via_proxy).await.unwrap().client_id.as_deref(), Some("svc-mtls-client"));
        assert_eq!(
            validator.decide(&via_proxy).await.unwrap_err().code(),
            "invalid_token",
            "untrusted header"
        );
    }
}
