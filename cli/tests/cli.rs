//! The `bearerguard` binary run as a user runs it (a child process with arguments, stdin and
//! environment), against the real authorization server (panva oidc-provider,
//! `tests/authorization-server`): exit statuses, JSON output, and never a token or a secret in
//! stdout or stderr.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests")]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};

#[path = "../../core/tests/support/real_as.rs"]
#[allow(dead_code, reason = "the CLI tests use part of the shared support")]
mod real_as;

use real_as::RealAs;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// What one run printed, and its exit status.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }
}

/// Everything secret in this test: tokens and client secrets. No run may print any of it.
#[derive(Default)]
struct Secrets(Vec<String>);

impl Secrets {
    fn add(&mut self, s: &str) -> String {
        self.0.push(s.to_owned());
        s.to_owned()
    }

    /// Runs `bearerguard args…` with `stdin` and extra environment, and checks that nothing
    /// secret was printed.
    fn run(&self, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Run {
        let mut child = Command::new(env!("CARGO_BIN_EXE_bearerguard"))
            .args(args)
            .env_remove("BEARERGUARD_CLIENT_SECRET")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A command that fails before it reads (a bad config) closes its stdin: a broken pipe
        // here is its choice, not a failure of the test.
        if let Err(e) = child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "writing stdin of {args:?}: {e}");
        }
        let output = child.wait_with_output().unwrap();
        let run = Run {
            code: output.status.code().expect("exited, not killed by a signal"),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        };
        for secret in &self.0 {
            assert!(!run.stdout.contains(secret.as_str()), "stdout of {args:?} has a secret: {}", run.stdout);
            assert!(!run.stderr.contains(secret.as_str()), "stderr of {args:?} has a secret: {}", run.stderr);
        }
        assert!(!run.stderr.contains("panicked"), "{args:?} panicked: {}", run.stderr);
        run
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("bearerguard-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn check_discover_and_metadata_against_the_real_authorization_server() {
    let server = RealAs::start();
    let dir = temp_dir("real-as");
    let mut secrets = Secrets::default();
    let client_secret = secrets.add(server.client("rs_basic")["client_secret"].as_str().unwrap());
    secrets.add(server.client("svc")["client_secret"].as_str().unwrap());

    let audiences = json!([server.resource("jwt"), server.resource("opaque"), server.resource("short_jwt")]);
    let config = json!({
        "issuer": server.issuer(),
        "audience": audiences,
        "client_id": "rs-basic",
        "client_secret": client_secret,
        "leeway_secs": 0,
    });
    let json_config = write(&dir, "api.json", &config.to_string());
    // The same config as TOML, with the secret only in the environment.
    let toml_config = write(
        &dir,
        "api.toml",
        &format!(
            "issuer = \"{}\"\naudience = {}\nleeway_secs = 0\n[client_auth]\nclient_id = \"rs-basic\"\n",
            server.issuer(),
            audiences
        ),
    );

    let jwt = secrets.add(&server.token("jwt", "read write").await);
    let opaque = secrets.add(&server.token("opaque", "read").await);
    let short = secrets.add(&server.token("short_jwt", "read").await);
    let revoked = secrets.add(&server.token("opaque", "read").await);
    server.revoke(&revoked).await;

    // A good JWT as an argument: exit 0, its claims as JSON.
    let run = secrets.run(&["check", "--config", &json_config, "--scope", "read", &jwt], "", &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let jwt_answer = run.json();
    let answer = &jwt_answer;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["source"], "jwt");
    assert_eq!(answer["client_id"], "svc-client");
    assert_eq!(answer["scopes"], json!(["read", "write"]));
    assert_eq!(answer["claims"]["iss"], server.issuer());
    assert_eq!(answer["claims"]["aud"], server.resource("jwt"));

    // The same JWT from stdin (`-` and no argument), with a trailing newline as `echo` leaves.
    for args in [&["check", "--config", &json_config, "-"][..], &["check", "--config", &json_config]] {
        let run = secrets.run(args, &format!("{jwt}\n"), &[]);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        assert_eq!(run.json()["source"], "jwt");
    }

    // A good opaque token, introspected with the secret from the environment and a TOML config.
    let env = [("BEARERGUARD_CLIENT_SECRET", client_secret.as_str())];
    let run = secrets.run(&["check", "-c", &toml_config, "--compact", "--", &opaque], "", &env);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stdout.trim().lines().count(), 1, "--compact prints one line");
    let answer = run.json();
    assert_eq!((answer["active"].clone(), answer["source"].clone()), (json!(true), json!("introspection")));
    assert_eq!(answer["claims"]["client_id"], "svc-client");
    // Without the secret the authorization server refuses our credentials: configuration.
    let run = secrets.run(&["check", "-c", &toml_config, "--", &opaque], "", &[]);
    assert_eq!(run.code, 5, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.json()["error"], "configuration");

    // `--header`: the whole Authorization value, as an argument and from stdin.
    let bearer = format!("Bearer {jwt}");
    let run = secrets.run(&["check", "--config", &json_config, "--header", &bearer], "", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["subject"], jwt_answer["subject"]);
    assert_eq!(run.json()["claims"], jwt_answer["claims"]);
    let run = secrets.run(&["check", "--config", &json_config, "-H", "-"], &format!("{bearer}\r\n"), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = secrets.run(&["check", "--config", &json_config, "-H", &format!("Basic {jwt}")], "", &[]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let refusal = run.json();
    assert_eq!(refusal["active"], false);
    assert!(refusal["www_authenticate"].as_str().unwrap().starts_with("Bearer"), "{refusal}");

    // Under-scoped: exit 3, the challenge names the scope.
    let run = secrets.run(&["check", "--config", &json_config, "-s", "read", "-s", "admin", &jwt], "", &[]);
    assert_eq!(run.code, 3, "{}", run.stdout);
    let refusal = run.json();
    assert_eq!(refusal["error"], "insufficient_scope");
    assert_eq!(refusal["status"], 403);
    assert!(refusal["www_authenticate"].as_str().unwrap().contains("insufficient_scope"), "{refusal}");
    // Quiet: the same status, nothing on stdout.
    let run = secrets.run(&["check", "--config", &json_config, "-q", "-s", "admin", &jwt], "", &[]);
    assert_eq!((run.code, run.stdout.as_str()), (3, ""));

    // Bad tokens: forged signature, garbage, revoked: exit 1, invalid_token.
    let (head, _) = jwt.rsplit_once('.').unwrap();
    let forged = secrets.add(&format!("{head}.{}", "A".repeat(342)));
    for (token, code) in [(&forged, "invalid_token"), (&revoked, "invalid_token")] {
        // `--`: an opaque token may begin with `-`.
        let run = secrets.run(&["check", "--config", &json_config, "--", token], "", &[]);
        assert_eq!(run.code, 1, "{}", run.stdout);
        let refusal = run.json();
        assert_eq!((refusal["error"].as_str(), refusal["status"].as_u64()), (Some(code), Some(401)));
    }
    // A token may begin with `-` (base64url can): after `--` it is a token, not an option.
    let hyphen = secrets.add(&format!("-{opaque}"));
    let run = secrets.run(&["check", "--config", &json_config, "-q", "-s", "read", "--", &hyphen], "", &[]);
    assert_eq!((run.code, run.stdout.as_str()), (1, ""), "{}", run.stderr);
    let run = secrets.run(&["check", "--config", &json_config, "--", &hyphen], "", &[]);
    assert_eq!(run.json()["error"], "invalid_token", "{}", run.stdout);
    let run = secrets.run(&["check", "--config", &json_config, "-"], "", &[]);
    assert_eq!(run.code, 1, "an empty stdin is no token: {}", run.stdout);

    // Expired: the short-lived JWT after its lifetime.
    let run = secrets.run(&["check", "--config", &json_config, &short], "", &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let ttl = server.info["short_ttl"].as_u64().unwrap();
    tokio::time::sleep(Duration::from_secs(ttl + 1)).await;
    let run = secrets.run(&["check", "--config", &json_config, &short], "", &[]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert_eq!(run.json()["error"], "token_expired");

    // discover: endpoints, algorithms, and the three signing keys by kid/alg/use.
    let run = secrets.run(&["discover", &server.issuer()], "", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["issuer"], server.issuer());
    assert_eq!(report["metadata_url"], server.info["openid_configuration"]);
    assert_eq!(report["endpoints"]["introspection_endpoint"], server.info["introspection_endpoint"]);
    assert_eq!(report["endpoints"]["jwks_uri"], server.info["jwks_uri"]);
    assert!(report["algorithms"]["id_token_signing_alg_values_supported"].is_array(), "{report}");
    let keys = report["jwks"]["keys"].as_array().unwrap();
    for (alg, kid) in server.info["signing_keys"].as_object().unwrap() {
        let key = keys.iter().find(|k| k["kid"] == *kid).unwrap_or_else(|| panic!("{kid} listed: {report}"));
        assert_eq!((key["alg"].as_str(), key["use"].as_str()), (Some(alg.as_str()), Some("sig")), "{key}");
        assert_eq!(key["usable"], true, "{key}");
    }
    assert_eq!(report["jwks"]["usable"].as_u64(), Some(keys.len() as u64));
    for material in ["\"n\"", "\"x\"", "\"d\"", "\"e\""] {
        assert!(!run.stdout.contains(material), "no key material: {material} in {}", run.stdout);
    }
    // From a config: its issuer.
    let run = secrets.run(&["discover", "--config", &json_config, "--compact"], "", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["issuer"], server.issuer());
    // A wrong issuer (a trailing slash the metadata does not have): configuration.
    let run = secrets.run(&["discover", &format!("{}/", server.issuer())], "", &[]);
    assert_eq!((run.code, run.stdout.as_str()), (5, ""), "{}", run.stderr);
    assert!(run.stderr.contains("does not equal the configured issuer"), "{}", run.stderr);

    // metadata: the RFC 9728 document of a config with `resource`, and its URL.
    let mcp = write(
        &dir,
        "mcp.toml",
        &format!(
            "issuer = \"{}\"\nresource = \"https://api.example.test/mcp\"\nscopes_supported = [\"read\", \"write\"]\nclient_secret = \"{client_secret}\"\nclient_id = \"rs-basic\"\n",
            server.issuer()
        ),
    );
    let run = secrets.run(&["metadata", "--config", &mcp], "", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let meta = run.json();
    assert_eq!(meta["url"], "https://api.example.test/.well-known/oauth-protected-resource/mcp");
    assert_eq!(meta["path"], "/.well-known/oauth-protected-resource/mcp");
    assert_eq!(meta["document"]["resource"], "https://api.example.test/mcp");
    assert_eq!(meta["document"]["authorization_servers"], json!([server.issuer()]));
    assert_eq!(meta["document"]["scopes_supported"], json!(["read", "write"]));
    // Without `resource` there is no document: configuration.
    let run = secrets.run(&["metadata", "--config", &json_config], "", &[]);
    assert_eq!((run.code, run.stdout.as_str()), (5, ""));
    assert!(run.stderr.contains("resource"), "{}", run.stderr);
    // config: the effective config, the secret redacted.
    let run = secrets.run(&["config", "--config", &json_config], "", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["client_auth"]["client_secret"], "[redacted]");
    assert_eq!(run.json()["cache"]["max_ttl_secs"], 300);

    // The authorization server goes away: an opaque token is `unavailable` (exit 4), never a
    // verdict on the token; a JWT needs the key set, which this fresh process has not got.
    drop(server);
    for token in [&opaque, &jwt] {
        let run = secrets.run(&["check", "--config", &json_config, "--", token], "", &[]);
        assert_eq!(run.code, 4, "{}{}", run.stdout, run.stderr);
        let refusal = run.json();
        assert_eq!((refusal["error"].as_str(), refusal["status"].as_u64()), (Some("unavailable"), Some(503)));
    }
    let run = secrets.run(&["discover", "--config", &json_config], "", &[]);
    assert_eq!((run.code, run.stdout.as_str()), (4, ""), "{}", run.stderr);
    assert!(run.stderr.starts_with("bearerguard: unavailable"), "{}", run.stderr);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_configs_and_command_lines_fail_with_their_status_and_no_secret() {
    let dir = temp_dir("offline");
    let mut secrets = Secrets::default();
    let token = secrets.add("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJtZSJ9.c2lnbmF0dXJl");
    secrets.add("987654321");
    secrets.add("hunter2-secret");

    // Malformed JSON, a mistyped secret, an unknown field, a missing file, bad TOML: exit 5,
    // a message on stderr naming the problem, nothing on stdout, no panic.
    let cases = [
        ("broken.json", r#"{"issuer": "https://as.example", "audience": "#.to_owned()),
        ("typed.json", r#"{"issuer": "https://as.example", "audience": "x", "client_secret": 987654321}"#.to_owned()),
        ("unknown.json", r#"{"issuer": "https://as.example", "audience": "x", "leway_secs": 1, "client_secret": "hunter2-secret"}"#.to_owned()),
        ("broken.toml", "issuer = \"https://as.example\"\naudience = [\n".to_owned()),
        ("insecure.toml", "issuer = \"http://as.example\"\naudience = \"x\"\nclient_secret = \"hunter2-secret\"\n".to_owned()),
    ];
    for (name, text) in &cases {
        let path = write(&dir, name, text);
        for command in ["check", "metadata", "config"] {
            let run = secrets.run(
                &[command, "--config", &path, &token][..if command == "check" { 4 } else { 3 }],
                "",
                &[],
            );
            assert_eq!(run.code, 5, "{command} {name}: {}{}", run.stdout, run.stderr);
            assert_eq!(run.stdout, "", "{command} {name}");
            assert!(
                run.stderr.starts_with("bearerguard: configuration: "),
                "{command} {name}: {}",
                run.stderr
            );
        }
    }
    let typed =
        secrets.run(&["check", "--config", &dir.join("typed.json").to_string_lossy(), "-"], &token, &[]);
    assert!(typed.stderr.contains("client_secret"), "the field is named: {}", typed.stderr);
    let missing = secrets.run(&["check", "--config", "/nonexistent/api.toml", &token], "", &[]);
    assert_eq!(missing.code, 5, "{}", missing.stderr);

    // Usage errors: exit 2, and the token on the command line is not echoed.
    let good = write(
        &dir,
        "good.json",
        r#"{"issuer": "https://as.example", "audience": "x", "jwks_uri": "https://as.example/jwks", "discovery": false}"#,
    );
    let usage: [&[&str]; 5] = [
        &["check", "--config", &good, &token, "extra-token-value"],
        &["check", &token],
        &["check", "--config", &good, "--header", &format!("Bearer {token}"), &token],
        &["check", "--config", &good, "--scpoe", "read", &token],
        &["frobnicate", &token],
    ];
    secrets.add("extra-token-value");
    for args in usage {
        let run = secrets.run(args, "", &[]);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("Usage"), "{args:?}: {}", run.stderr);
    }
    let typo = secrets.run(&["check", "--config", &good, "--scpoe", "read"], "", &[]);
    assert!(typo.stderr.contains("--scope"), "suggests the option: {}", typo.stderr);

    // A token refused without I/O (not a JWS for this config's rules): exit 1, JSON refusal.
    let run = secrets.run(&["check", "--config", &good, "-"], "not a token", &[]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.json()["active"], false);

    // --help teaches: subcommands, examples, the exit-status table.
    let help = secrets.run(&["--help"], "", &[]);
    assert_eq!(help.code, 0);
    assert!(help.stdout.ends_with("credentials\n"), "ends with the exit-status table: {}", help.stdout);
    for needle in [
        "check",
        "discover",
        "metadata",
        "Examples",
        "Exit status",
        "insufficient_scope",
        "BEARERGUARD_CLIENT_SECRET",
    ] {
        assert!(help.stdout.contains(needle), "--help mentions {needle}: {}", help.stdout);
    }
    let check_help = secrets.run(&["check", "--help"], "", &[]);
    for needle in ["--header", "--scope", "stdin", "Exit status", "www_authenticate"] {
        assert!(check_help.stdout.contains(needle), "check --help mentions {needle}: {}", check_help.stdout);
    }
    let version = secrets.run(&["--version"], "", &[]);
    assert_eq!(
        (version.code, version.stdout.trim()),
        (0, concat!("bearerguard ", env!("CARGO_PKG_VERSION")))
    );
    let _ = std::fs::remove_dir_all(&dir);
}
