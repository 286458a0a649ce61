//! `bearerguard` on the command line: check a token against a validator config, discover an
//! issuer, print the RFC 9728 metadata a config produces.
//!
//! The commands are a library function, [`run`], so the binary, `python -m bearerguard` and
//! `npx bearerguard` are one line each over it. Every decision is the core's: this crate reads
//! arguments, files and stdin, calls `bearerguard`, and prints JSON. It never prints a token or a
//! secret: what it prints is the core's claims, its secret-free errors, and configs serialized
//! with secrets redacted.

use std::io::{Read, Write};
use std::path::PathBuf;

use bearerguard::{Config, Error, ErrorKind, Request, Secret, Validator};
use clap::{Args, Parser, Subcommand};
use serde_json::{Map, Value, json};

/// Exit status: the token was accepted, or the command did what it was asked.
pub const EXIT_OK: i32 = 0;
/// Exit status: the token was refused (`invalid_token`, `token_expired`, `invalid_request`,
/// `missing_token`).
pub const EXIT_REFUSED: i32 = 1;
/// Exit status: the command line was wrong (clap's own code for usage errors).
pub const EXIT_USAGE: i32 = 2;
/// Exit status: the token is good but lacks a required scope (`insufficient_scope`).
pub const EXIT_INSUFFICIENT_SCOPE: i32 = 3;
/// Exit status: the authorization server could not answer (`unavailable`): down, slow, broken.
pub const EXIT_UNAVAILABLE: i32 = 4;
/// Exit status: the config is wrong, or the authorization server refused our own credentials
/// (`configuration`).
pub const EXIT_CONFIGURATION: i32 = 5;

/// Environment variables that override the config file's secrets (so the file need not hold
/// them), with the `client_auth` field each sets.
pub const SECRET_ENV: [(&str, &str); 4] = [
    ("BEARERGUARD_CLIENT_SECRET", "client_secret"),
    ("BEARERGUARD_PRIVATE_KEY", "private_key"),
    ("BEARERGUARD_KEY_JSON", "key_json"),
    ("BEARERGUARD_INTROSPECTION_BEARER_TOKEN", "bearer_token"),
];

/// The exit-status table, one literal for every help text that shows it.
macro_rules! exit_codes {
    () => {
        "\
Exit status:
  0  accepted (check), or done (discover, metadata, config)
  1  token refused: invalid_token, token_expired, invalid_request, missing_token,
     invalid_dpop_proof, use_dpop_nonce
  2  usage: the command line is wrong
  3  insufficient_scope: the token is good but lacks a required scope
  4  unavailable: the authorization server is down, slow or broken (never a verdict on the token)
  5  configuration: the config is wrong, or the authorization server refused our credentials"
    };
}

const EXIT_CODES: &str = exit_codes!();

const MAIN_AFTER_HELP: &str = concat!(
    "\
Examples:
  bearerguard check --config api.toml \"$TOKEN\"
  printf '%s' \"$TOKEN\" | bearerguard check --config api.toml --scope read
  bearerguard check --config api.json --header \"Bearer $TOKEN\"
  bearerguard discover https://auth.example.com
  bearerguard metadata --config api.toml

The config file is the same `Config` the Python and Node bindings take, as JSON or TOML (by
extension). Secrets may stay out of it: BEARERGUARD_CLIENT_SECRET, BEARERGUARD_PRIVATE_KEY,
BEARERGUARD_KEY_JSON and BEARERGUARD_INTROSPECTION_BEARER_TOKEN override the file.

Nothing bearerguard prints contains a token or a secret.

",
    exit_codes!()
);

const CHECK_AFTER_HELP: &str = "\
Examples:
  # From stdin (keeps the token out of `ps` and your shell history):
  printf '%s' \"$TOKEN\" | bearerguard check --config api.toml
  # As an argument, requiring two scopes:
  bearerguard check --config api.toml --scope read --scope write \"$TOKEN\"
  # A whole Authorization header value, parsed as a server would (RFC 6750):
  bearerguard check --config api.toml --header \"Bearer $TOKEN\"
  # Exit status only:
  bearerguard check --config api.toml --quiet - < token.txt && echo accepted

Output (stdout, JSON), accepted:
  {\"active\": true, \"source\": \"jwt\", \"subject\": \"...\", \"scopes\": [...], \"claims\": {...}, ...}
refused:
  {\"active\": false, \"error\": \"token_expired\", \"description\": \"...\", \"status\": 401,
   \"www_authenticate\": \"Bearer error=\\\"invalid_token\\\", ...\"}

A minimal config (TOML):
  issuer = \"https://auth.example.com\"
  audience = \"https://api.example.com\"
  client_id = \"my-api\"      # for introspection of opaque tokens
  # client_secret: better from BEARERGUARD_CLIENT_SECRET

Exit status: 0 accepted, 1 refused, 2 usage, 3 insufficient_scope, 4 unavailable,
5 configuration.";

const DISCOVER_AFTER_HELP: &str = "\
Examples:
  bearerguard discover https://auth.example.com
  bearerguard discover --config api.toml      # the config's issuer and HTTP settings

Prints (JSON) where the metadata was found (OpenID Connect, then RFC 8414), every endpoint,
the algorithms and methods announced, and every JWKS key by kid/kty/alg/use/crv, with whether
bearerguard would verify tokens with it. Key material is never printed.

Exit status: 0 found, 4 the authorization server did not answer (or its key set is broken),
5 the issuer is wrong (not a URL, or the metadata names another issuer).";

const METADATA_AFTER_HELP: &str = "\
Example:
  bearerguard metadata --config api.toml

Prints the RFC 9728 protected-resource metadata document the config produces (it needs
`resource`), with the well-known URL and path an API serves it at:
  {\"url\": \"https://api.example.com/.well-known/oauth-protected-resource/mcp\",
   \"path\": \"/.well-known/oauth-protected-resource/mcp\", \"document\": {...}}

Exit status: 0 printed, 5 the config is wrong or sets no `resource`.";

/// `bearerguard`: decide about OAuth 2.0 bearer tokens from the command line.
#[derive(Debug, Parser)]
#[command(
    name = "bearerguard",
    version,
    about = "Check OAuth 2.0 bearer tokens (JWT or opaque) the way your API does",
    long_about = "Check OAuth 2.0 bearer tokens (JWT or opaque) the way your API does: the same \
                  config, the same rules and the same answers as the bearerguard libraries for \
                  Rust, Python and Node.",
    after_long_help = MAIN_AFTER_HELP,
    after_help = EXIT_CODES,
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decide about one token: print the claims or the refusal, exit with its class.
    #[command(after_long_help = CHECK_AFTER_HELP, after_help = EXIT_CODES)]
    Check(CheckArgs),
    /// Show an issuer: metadata location, endpoints, algorithms, JWKS keys (kid/alg/use).
    #[command(after_long_help = DISCOVER_AFTER_HELP)]
    Discover(DiscoverArgs),
    /// Print the RFC 9728 protected-resource metadata a config produces, and its URL.
    #[command(after_long_help = METADATA_AFTER_HELP)]
    Metadata(ConfigArgs),
    /// Print the effective config: every default filled in, secrets redacted.
    Config(ConfigArgs),
}

#[derive(Debug, Args)]
struct OutputArgs {
    /// Print JSON on one line instead of indented.
    #[arg(long)]
    compact: bool,
}

#[derive(Debug, Args)]
struct ConfigArgs {
    /// The validator config, JSON or TOML (chosen by the extension `.toml`).
    #[arg(long, short = 'c', value_name = "FILE")]
    config: PathBuf,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Args)]
struct CheckArgs {
    /// The validator config, JSON or TOML (chosen by the extension `.toml`).
    #[arg(long, short = 'c', value_name = "FILE")]
    config: PathBuf,
    /// The token; `-` or nothing reads it from stdin (safer: an argument shows in `ps`). A
    /// token that begins with `-` (base64url can) goes after `--`, so no option is mistaken
    /// for a token.
    #[arg(value_name = "TOKEN", conflicts_with = "header")]
    token: Option<String>,
    /// A whole `Authorization` header value (`Bearer …`), parsed as a server parses it; `-`
    /// reads it from stdin.
    #[arg(long, short = 'H', value_name = "VALUE")]
    header: Option<String>,
    /// A scope the token must carry (repeatable), on top of the config's `required_scopes`.
    #[arg(long = "scope", short = 's', value_name = "SCOPE")]
    scopes: Vec<String>,
    /// Print nothing on stdout: the exit status is the answer.
    #[arg(long, short = 'q')]
    quiet: bool,
    #[command(flatten)]
    output: OutputArgs,
}

#[derive(Debug, Args)]
struct DiscoverArgs {
    /// The issuer URL, e.g. `https://auth.example.com` (or `--config`).
    #[arg(value_name = "ISSUER", required_unless_present = "config")]
    issuer: Option<String>,
    /// Take the issuer and the HTTP and JWKS settings from this config instead.
    #[arg(long, short = 'c', value_name = "FILE", conflicts_with = "issuer")]
    config: Option<PathBuf>,
    /// Allow `http://` on hosts other than loopback (never do this in production).
    #[arg(long)]
    allow_insecure_http: bool,
    #[command(flatten)]
    output: OutputArgs,
}

/// The exit status of a refusal or failure of the core, by its class.
pub fn exit_code(kind: ErrorKind) -> i32 {
    match kind {
        ErrorKind::InsufficientScope => EXIT_INSUFFICIENT_SCOPE,
        ErrorKind::Unavailable => EXIT_UNAVAILABLE,
        ErrorKind::Configuration => EXIT_CONFIGURATION,
        // MissingToken, InvalidRequest, InvalidToken, TokenExpired, InvalidDpopProof,
        // UseDpopNonce, and any kind added later:
        // the token is not accepted.
        _ => EXIT_REFUSED,
    }
}

/// Runs the command line `args` (the program name first) with the process's stdin, stdout and
/// stderr, and returns the exit status. What `main`, `python -m bearerguard` and
/// `npx bearerguard` call.
pub fn main_with_args<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let code = run(args, &mut std::io::stdin().lock(), &mut std::io::stdout().lock(), &mut std::io::stderr());
    let _ = std::io::stdout().flush();
    code
}

/// Runs the command line `args` (the program name first) and returns the exit status.
pub fn run<I, T>(args: I, stdin: &mut dyn Read, out: &mut dyn Write, err: &mut dyn Write) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e, out, err),
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(_) => {
            let _ = writeln!(err, "bearerguard: cannot start the async runtime");
            return EXIT_CONFIGURATION;
        }
    };
    runtime.block_on(async {
        match cli.command {
            Command::Check(args) => check(args, stdin, out, err).await,
            Command::Discover(args) => discover(args, out, err).await,
            Command::Metadata(args) => metadata(&args, out, err),
            Command::Config(args) => show_config(&args, out, err),
        }
    })
}

/// Help and version go to stdout as clap prints them; a usage error is printed without the
/// values of the command line (one of them may be a token): its kind, the argument name when
/// it is an option's, and the usage line.
fn usage_error(e: &clap::Error, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    use clap::error::{ContextKind, ContextValue, ErrorKind as Kind};
    match e.kind() {
        Kind::DisplayHelp | Kind::DisplayVersion | Kind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let text = e.render().to_string();
            let _ = write!(out, "{text}{}", if text.ends_with('\n') { "" } else { "\n" });
            return e.exit_code();
        }
        _ => {}
    }
    let mut message = format!("bearerguard: {}", e.kind().as_str().unwrap_or("invalid command line"));
    let looks_like_option = |s: &str| {
        s.starts_with('-') && s.len() <= 40 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) {
        // `--header <VALUE>` or `--scpoe`: an option's name; never a positional value.
        let name = arg.split(' ').next().unwrap_or_default();
        if looks_like_option(name) {
            message.push_str(&format!(": {name}"));
        }
    }
    // Suggestions are clap's, made from our own option and subcommand names.
    let suggested = match e.get(ContextKind::SuggestedArg).or_else(|| e.get(ContextKind::SuggestedSubcommand))
    {
        Some(ContextValue::String(s)) => Some(s.clone()),
        Some(ContextValue::StyledStr(s)) => Some(s.to_string()),
        Some(ContextValue::Strings(s)) => Some(s.join(", ")),
        _ => None,
    };
    if let Some(suggested) = suggested.filter(|s| looks_like_option(s.split(' ').next().unwrap_or_default()))
    {
        message.push_str(&format!(" (did you mean {suggested}?)"));
    }
    if let Some(ContextValue::StyledStr(usage)) = e.get(ContextKind::Usage) {
        message.push_str(&format!("\n\n{usage}"));
    }
    let _ = writeln!(err, "{message}\n\nFor more information, try '--help'.");
    EXIT_USAGE
}

/// Reads the config file, then the secrets the environment overrides.
fn load_config(path: &PathBuf) -> Result<Config, Error> {
    let mut config = Config::from_file(path)?;
    for (var, field) in SECRET_ENV {
        let Some(value) = std::env::var_os(var) else { continue };
        let Some(value) = value.to_str().filter(|v| !v.is_empty()).map(Secret::new) else {
            return Err(config_error(format!("{var} is empty or not UTF-8")));
        };
        let auth = &mut config.client_auth;
        match field {
            "client_secret" => auth.client_secret = Some(value),
            "private_key" => auth.private_key = Some(value),
            "key_json" => auth.key_json = Some(value),
            _ => auth.bearer_token = Some(value),
        }
    }
    Ok(config)
}

fn config_error(detail: impl Into<String>) -> Error {
    Error::new(ErrorKind::Configuration, detail.into())
}

fn emit(out: &mut dyn Write, value: &Value, output: &OutputArgs) {
    let text =
        if output.compact { serde_json::to_string(value) } else { serde_json::to_string_pretty(value) };
    if let Ok(text) = text {
        let _ = writeln!(out, "{text}");
    }
}

fn fail(err: &mut dyn Write, e: &Error) -> i32 {
    // The core's Display: `code: detail`, fixed by the core, never token or secret data.
    let _ = writeln!(err, "bearerguard: {e}");
    exit_code(e.kind())
}

/// Largest stdin read for a token or header: far above any token the core accepts, so the
/// core's own size rule decides.
const MAX_STDIN_BYTES: u64 = 1024 * 1024;

fn read_stdin(stdin: &mut dyn Read) -> Result<String, Error> {
    let mut text = String::new();
    stdin
        .take(MAX_STDIN_BYTES)
        .read_to_string(&mut text)
        .map_err(|_| Error::new(ErrorKind::InvalidRequest, "cannot read stdin as UTF-8 text"))?;
    Ok(text)
}

async fn check(args: CheckArgs, stdin: &mut dyn Read, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let validator = match load_config(&args.config).and_then(Validator::new) {
        Ok(v) => v,
        Err(e) => return fail(err, &e),
    };
    let result = match (&args.header, &args.token) {
        (Some(header), _) => {
            let header = if header == "-" {
                match read_stdin(stdin) {
                    // One header value: the line without its line ending.
                    Ok(text) => text.trim_end_matches(['\r', '\n']).to_owned(),
                    Err(e) => return fail(err, &e),
                }
            } else {
                header.clone()
            };
            validator.decide(&Request::new().authorization(header).scopes(args.scopes.iter().cloned())).await
        }
        (None, token) => {
            let token = match token.as_deref() {
                Some(t) if t != "-" => t.to_owned(),
                _ => match read_stdin(stdin) {
                    // A token has no whitespace: what surrounds it is the file's or the shell's.
                    Ok(text) => text.trim().to_owned(),
                    Err(e) => return fail(err, &e),
                },
            };
            validator.decide_token(&token, &args.scopes).await
        }
    };
    let (answer, code) = match result {
        Ok(info) => {
            let mut answer = Map::new();
            answer.insert("active".into(), Value::Bool(true));
            if let Ok(Value::Object(fields)) = serde_json::to_value(&*info) {
                answer.extend(fields);
            }
            (Value::Object(answer), EXIT_OK)
        }
        Err(e) => {
            let mut answer = json!({
                "active": false,
                "error": e.code(),
                "description": e.detail(),
                "status": e.http_status(),
                "www_authenticate": validator.www_authenticate(&e),
            });
            if let Some(required) = e.required_scopes() {
                answer["required_scopes"] = json!(required);
            }
            (answer, exit_code(e.kind()))
        }
    };
    if !args.quiet {
        emit(out, &answer, &args.output);
    }
    code
}

async fn discover(args: DiscoverArgs, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let (issuer, mut http, jwks) = match (&args.config, args.issuer) {
        (Some(path), _) => match load_config(path) {
            Ok(c) => (c.issuer, c.http, c.jwks),
            Err(e) => return fail(err, &e),
        },
        (None, Some(issuer)) => (issuer, Default::default(), Default::default()),
        (None, None) => return fail(err, &config_error("give an issuer or --config")),
    };
    http.allow_insecure_http |= args.allow_insecure_http;
    match bearerguard::discovery::inspect(&issuer, &http, &jwks).await {
        Ok(report) => {
            let code = match report.jwks.as_ref().and_then(|j| j.error.as_deref()) {
                Some(why) => {
                    let _ = writeln!(err, "bearerguard: {why}");
                    EXIT_UNAVAILABLE
                }
                None => EXIT_OK,
            };
            match serde_json::to_value(&report) {
                Ok(value) => emit(out, &value, &args.output),
                Err(_) => return fail(err, &config_error("cannot serialize the report")),
            }
            code
        }
        Err(e) => fail(err, &e),
    }
}

fn metadata(args: &ConfigArgs, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    let validator = match load_config(&args.config).and_then(Validator::new) {
        Ok(v) => v,
        Err(e) => return fail(err, &e),
    };
    match (
        validator.resource_metadata(),
        validator.resource_metadata_url(),
        validator.resource_metadata_path(),
    ) {
        (Some(document), Some(url), Some(path)) => {
            emit(out, &json!({"url": url, "path": path, "document": document}), &args.output);
            EXIT_OK
        }
        _ => fail(
            err,
            &config_error("the config sets no `resource`, so there is no RFC 9728 metadata to serve"),
        ),
    }
}

fn show_config(args: &ConfigArgs, out: &mut dyn Write, err: &mut dyn Write) -> i32 {
    // Validator::new runs every check, so a config printed here is one that builds.
    let config = match load_config(&args.config).and_then(|c| Validator::new(c.clone()).map(|_| c)) {
        Ok(c) => c,
        Err(e) => return fail(err, &e),
    };
    match serde_json::to_value(&config) {
        Ok(value) => {
            emit(out, &value, &args.output);
            EXIT_OK
        }
        Err(_) => fail(err, &config_error("cannot serialize the config")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn help_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn every_kind_has_its_exit_status() {
        let codes: Vec<i32> = ErrorKind::ALL.iter().map(|k| exit_code(*k)).collect();
        // missing_token, invalid_request, invalid_token, token_expired, insufficient_scope,
        // unavailable, configuration, invalid_dpop_proof, use_dpop_nonce.
        assert_eq!(codes, [1, 1, 1, 1, 3, 4, 5, 1, 1]);
    }
}
