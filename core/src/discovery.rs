//! Authorization-server metadata: OpenID Connect discovery, then RFC 8414.
//!
//! The document's `issuer` must equal the configured issuer byte for byte (RFC 8414 §3.3,
//! OIDC Discovery §4.3), and every endpoint it names must be `https` (or loopback), so a
//! tampered or misplaced document cannot redirect tokens or keys.

use serde::Serialize;
use serde_json::{Map, Value};
use url::Url;

use crate::config::{HttpConfig, JwksConfig};
use crate::error::{Error, Result};
use crate::http::{HttpClient, check_url};
use crate::jwks::KeyDescription;

/// The endpoints bearerguard uses from a metadata document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Metadata {
    /// `introspection_endpoint`.
    pub introspection_endpoint: Option<Url>,
    /// `jwks_uri`.
    pub jwks_uri: Option<Url>,
    /// `token_endpoint`.
    pub token_endpoint: Option<Url>,
}

/// Largest metadata document accepted.
const MAX_METADATA_BYTES: usize = 256 * 1024;

/// The well-known locations to try for `issuer`, in order.
pub fn well_known_urls(issuer: &Url) -> Vec<Url> {
    let mut out = Vec::new();
    let trimmed_path = issuer.path().trim_end_matches('/');
    // OpenID Connect Discovery §4: issuer + "/.well-known/openid-configuration".
    let mut oidc = issuer.clone();
    oidc.set_path(&format!("{trimmed_path}/.well-known/openid-configuration"));
    oidc.set_query(None);
    out.push(oidc);
    // RFC 8414 §3.1: the well-known segment goes between host and path.
    let mut oauth = issuer.clone();
    oauth.set_path(&format!("/.well-known/oauth-authorization-server{trimmed_path}"));
    oauth.set_query(None);
    out.push(oauth);
    out
}

/// Parses a metadata document for `issuer`.
pub fn parse_metadata(body: &[u8], issuer: &str, allow_insecure: bool) -> Result<Metadata> {
    parse_document(body, issuer, allow_insecure).map(|(_, metadata)| metadata)
}

/// Parses a metadata document for `issuer`: the whole document, and the endpoints we use.
fn parse_document(body: &[u8], issuer: &str, allow_insecure: bool) -> Result<(Map<String, Value>, Metadata)> {
    let doc = crate::json::parse_object(body)
        .map_err(|_| Error::unavailable("discovery: the metadata is not a strict JSON object"))?;
    match doc.get("issuer") {
        Some(Value::String(s)) if s == issuer => {}
        _ => {
            return Err(Error::config(
                "discovery: the metadata `issuer` does not equal the configured issuer",
            ));
        }
    }
    let endpoint = |name: &'static str| -> Result<Option<Url>> {
        match doc.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => check_url(name, s, allow_insecure)
                .map(Some)
                .map_err(|e| Error::config(format!("discovery: {}", e.detail()))),
            Some(_) => Err(Error::unavailable(format!("discovery: `{name}` is not a string"))),
        }
    };
    let metadata = Metadata {
        introspection_endpoint: endpoint("introspection_endpoint")?,
        jwks_uri: endpoint("jwks_uri")?,
        token_endpoint: endpoint("token_endpoint")?,
    };
    Ok((doc, metadata))
}

/// Fetches and checks the metadata of `issuer`.
///
/// Locations are tried in order; a missing document (404, 405, 410) moves on to the next. When
/// none answers, the error reported is the first that says more than "not here" (a 500, a
/// timeout on the OpenID location is not hidden behind a 404 from the RFC 8414 one).
pub(crate) async fn discover(http: &HttpClient, issuer: &str, allow_insecure: bool) -> Result<Metadata> {
    discover_document(http, issuer, allow_insecure).await.map(|found| found.metadata)
}

/// A metadata document found and checked: where, the whole document, the endpoints we use.
struct Found {
    url: Url,
    document: Map<String, Value>,
    metadata: Metadata,
}

async fn discover_document(http: &HttpClient, issuer: &str, allow_insecure: bool) -> Result<Found> {
    let issuer_url = Url::parse(issuer).map_err(|_| Error::config("`issuer` is not an absolute URL"))?;
    let mut telling: Option<Error> = None;
    for (url, name) in well_known_urls(&issuer_url).into_iter().zip(["OpenID Connect", "RFC 8414"]) {
        let failure = match http.get(&url, "application/json", MAX_METADATA_BYTES).await {
            Err(f) => f.into_error(&format!("discovery ({name})")),
            Ok(response) => match response.status {
                200 => {
                    let (document, metadata) = parse_document(&response.body, issuer, allow_insecure)?;
                    return Ok(Found { url, document, metadata });
                }
                404 | 405 | 410 => continue,
                status => Error::unavailable(format!("discovery ({name}): HTTP status {status}")),
            },
        };
        telling.get_or_insert(failure);
    }
    Err(telling.unwrap_or_else(|| Error::unavailable("discovery: no metadata document found")))
}

/// An issuer as `bearerguard discover` shows it: where its metadata was found, its endpoints,
/// the algorithms and methods it announces, and its keys by their public identifiers.
#[derive(Debug, Clone, Serialize)]
pub struct IssuerReport {
    /// The issuer, as the metadata states it (equal to the one asked about).
    pub issuer: String,
    /// Where the metadata was found (OpenID Connect or RFC 8414 location).
    pub metadata_url: String,
    /// Every `*_endpoint` and `jwks_uri` member of the document.
    pub endpoints: Map<String, Value>,
    /// Every `*_alg_values_supported` member: the JWS/JWE algorithms per use.
    pub algorithms: Map<String, Value>,
    /// Every other `*_supported` member (grant types, auth methods, scopes, …).
    pub supported: Map<String, Value>,
    /// The key set at `jwks_uri`, when the document names one.
    pub jwks: Option<JwksReport>,
}

/// The key set of an [`IssuerReport`].
#[derive(Debug, Clone, Serialize)]
pub struct JwksReport {
    /// `jwks_uri`.
    pub uri: String,
    /// Every entry, by its public identifiers (never key material).
    pub keys: Vec<KeyDescription>,
    /// How many entries bearerguard would verify tokens with.
    pub usable: usize,
    /// Why the key set could not be read (the authorization server's fault): then `keys` is
    /// empty.
    pub error: Option<String>,
}

/// Discovers `issuer` as a validator would (same locations, same checks, same HTTP rules), and
/// fetches its key set, for display. A missing or broken metadata document is an error; a key
/// set that cannot be read is reported in [`JwksReport::error`]. `http` and `jwks` are the
/// validator's settings (timeouts, `allow_insecure_http`, the JWKS size cap).
pub async fn inspect(issuer: &str, http: &HttpConfig, jwks: &JwksConfig) -> Result<IssuerReport> {
    let client = HttpClient::new(http)?;
    let found = discover_document(&client, issuer, http.allow_insecure_http).await?;
    let pick = |keep: &dyn Fn(&str) -> bool| -> Map<String, Value> {
        found.document.iter().filter(|(k, _)| keep(k)).map(|(k, v)| (k.clone(), v.clone())).collect()
    };
    let endpoints = pick(&|k| k.ends_with("_endpoint") || k == "jwks_uri");
    let algorithms = pick(&|k| k.ends_with("_alg_values_supported"));
    let supported = pick(&|k| k.ends_with("_supported") && !k.ends_with("_alg_values_supported"));
    let jwks = match &found.metadata.jwks_uri {
        None => None,
        Some(uri) => Some(match fetch_keys(&client, uri, jwks.max_bytes).await {
            Ok(keys) => JwksReport {
                uri: uri.to_string(),
                usable: keys.iter().filter(|k| k.usable).count(),
                keys,
                error: None,
            },
            Err(e) => {
                JwksReport { uri: uri.to_string(), keys: Vec::new(), usable: 0, error: Some(e.to_string()) }
            }
        }),
    };
    Ok(IssuerReport {
        issuer: issuer.to_owned(),
        metadata_url: found.url.to_string(),
        endpoints,
        algorithms,
        supported,
        jwks,
    })
}

async fn fetch_keys(client: &HttpClient, uri: &Url, max_bytes: usize) -> Result<Vec<KeyDescription>> {
    let response = client
        .get(uri, "application/jwk-set+json, application/json", max_bytes)
        .await
        .map_err(|f| f.into_error("JWKS"))?;
    if response.status != 200 {
        return Err(Error::unavailable(format!("JWKS: HTTP status {}", response.status)));
    }
    crate::jwks::describe_jwks(&response.body).map_err(|why| Error::unavailable(format!("JWKS: {why}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_known_locations() {
        let urls = well_known_urls(&Url::parse("https://as.example/t/org").unwrap());
        assert_eq!(urls[0].as_str(), "https://as.example/t/org/.well-known/openid-configuration");
        assert_eq!(urls[1].as_str(), "https://as.example/.well-known/oauth-authorization-server/t/org");
        let urls = well_known_urls(&Url::parse("https://as.example").unwrap());
        assert_eq!(urls[0].as_str(), "https://as.example/.well-known/openid-configuration");
        assert_eq!(urls[1].as_str(), "https://as.example/.well-known/oauth-authorization-server");
    }

    #[test]
    fn metadata_issuer_and_endpoints_are_checked() {
        let ok = br#"{"issuer":"https://as.example","jwks_uri":"https://as.example/jwks","introspection_endpoint":"https://as.example/i"}"#;
        let m = parse_metadata(ok, "https://as.example", false).unwrap();
        assert_eq!(m.jwks_uri.unwrap().as_str(), "https://as.example/jwks");
        assert!(parse_metadata(ok, "https://as.example/", false).is_err());
        let evil = br#"{"issuer":"https://as.example","jwks_uri":"http://evil.example/jwks"}"#;
        assert_eq!(parse_metadata(evil, "https://as.example", false).unwrap_err().code(), "configuration");
        let dup = br#"{"issuer":"https://as.example","issuer":"https://evil"}"#;
        assert!(parse_metadata(dup, "https://as.example", false).is_err());
        assert!(parse_metadata(b"<html>", "https://as.example", false).is_err());
        let typed = br#"{"issuer":"https://as.example","jwks_uri":7}"#;
        assert!(parse_metadata(typed, "https://as.example", false).is_err());
    }
}
