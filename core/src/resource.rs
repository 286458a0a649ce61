//! This API as a protected resource: its canonical URI (RFC 8707 §2, MCP authorization), the
//! audience comparison that URI calls for, and its RFC 9728 protected resource metadata
//! (the document and its well-known URL).
//!
//! Canonical comparison (`docs/security.md` RES-1): scheme and host compare case-insensitively,
//! a default port written out equals it omitted, the path compares exactly (`/mcp/` is not
//! `/mcp`) except that an empty path equals `/`; a value with a fragment, a query or userinfo
//! never matches. Parsing is the `url` crate's (WHATWG); the refusals of fragments, queries,
//! userinfo, backslashes and whitespace are checked on the raw text first, because the parser
//! would otherwise normalize some of them away.

use serde_json::{Map, Value, json};
use url::{Position, Url};

use crate::config::Config;
use crate::error::{Error, Result};

/// The path every RFC 9728 metadata URL starts with.
pub const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// The `Cache-Control` the adapters serve the metadata document with: it changes only when
/// the configuration does.
pub const METADATA_CACHE_CONTROL: &str = "public, max-age=3600";

/// A URI reduced to what canonical comparison looks at.
#[derive(Debug, PartialEq, Eq)]
struct Canonical {
    scheme: String,
    host: String,
    port: Option<u16>,
    path: String,
}

/// The canonical form of `uri`, or `None` when it can never match (not an absolute
/// hierarchical URI, or it carries a fragment, a query or userinfo).
fn canonical(uri: &str) -> Option<Canonical> {
    if uri.is_empty()
        || uri.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control() || b == b'\\')
        || uri.contains(['?', '#'])
    {
        return None;
    }
    let (_, rest) = uri.split_once("://")?;
    let authority_end = rest.find('/').unwrap_or(rest.len());
    if rest[..authority_end].contains('@') {
        return None;
    }
    let url = Url::parse(uri).ok()?;
    if url.cannot_be_a_base() || !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    let host = url.host_str()?.to_ascii_lowercase();
    if host.is_empty() {
        return None;
    }
    let path = match url.path() {
        "" => "/".to_owned(),
        p => p.to_owned(),
    };
    Some(Canonical {
        scheme: url.scheme().to_ascii_lowercase(),
        host,
        port: url.port_or_known_default(),
        path,
    })
}

/// Whether `a` and `b` name the same resource under canonical comparison (RES-1). Either
/// side with a fragment, a query or userinfo never matches, not even itself.
pub fn canonical_uri_eq(a: &str, b: &str) -> bool {
    match (canonical(a), canonical(b)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// Whether `configured` (an accepted audience) names the same thing as a token's `aud`
/// value: canonically when `configured` is an absolute URI and canonical comparison is on,
/// else byte for byte.
pub(crate) fn audience_matches(configured: &str, aud: &str, canonical_on: bool) -> bool {
    if canonical_on && configured.contains("://") {
        canonical_uri_eq(configured, aud)
    } else {
        configured == aud
    }
}

/// Checks a configured `resource`: an absolute http(s) URI (https, or http on loopback)
/// without fragment, query or userinfo.
pub(crate) fn check_resource(resource: &str, allow_insecure: bool) -> Result<()> {
    crate::http::check_url("resource", resource, allow_insecure)?;
    if canonical(resource).is_none() {
        return Err(Error::config(
            "`resource` must be an absolute URI without fragment, query or userinfo (RFC 8707 §2)",
        ));
    }
    Ok(())
}

/// The RFC 9728 §3.1 metadata URL of `resource`: the well-known path inserted between the
/// host and the path (`https://h/mcp` → `https://h/.well-known/oauth-protected-resource/mcp`;
/// a root resource → `https://h/.well-known/oauth-protected-resource`).
pub fn metadata_url(resource: &str) -> Result<String> {
    let url = Url::parse(resource).map_err(|_| Error::config("`resource` is not an absolute URL"))?;
    if canonical(resource).is_none() {
        return Err(Error::config("`resource` must be an absolute URI without fragment, query or userinfo"));
    }
    let origin = &url[..Position::BeforePath];
    Ok(format!("{origin}{}", metadata_path_of(&url)))
}

/// The path part of [`metadata_url`]: what an adapter mounts the document at.
fn metadata_path_of(url: &Url) -> String {
    match url.path() {
        "" | "/" => WELL_KNOWN.to_owned(),
        path => format!("{WELL_KNOWN}{path}"),
    }
}

/// What a validator built from its `resource` settings: the document, served as is, and
/// where it lives.
#[derive(Debug, Clone)]
pub(crate) struct ResourceMetadata {
    pub url: String,
    pub path: String,
    pub document: Value,
    pub json: String,
}

impl ResourceMetadata {
    /// The metadata of `config`, or `None` when no `resource` is configured.
    pub fn from_config(config: &Config) -> Result<Option<Self>> {
        ResourceMetadata::for_issuers(config, vec![config.issuer.clone()])
    }

    /// The metadata of `config`'s resource, naming `issuers` as its authorization servers.
    pub fn for_issuers(config: &Config, issuers: Vec<String>) -> Result<Option<Self>> {
        let Some(resource) = &config.resource else { return Ok(None) };
        let url = metadata_url(resource)?;
        let parsed = Url::parse(resource).map_err(|_| Error::config("`resource` is not an absolute URL"))?;
        let mut doc = Map::new();
        doc.insert("resource".into(), json!(resource));
        doc.insert("authorization_servers".into(), json!(issuers));
        // `offline_access` is refused in `scopes_supported` by the config check; it is never
        // listed (MCP: it is a client's affair with the authorization server).
        let scopes: Vec<&String> =
            config.scopes_supported.iter().filter(|s| *s != "offline_access").collect();
        if !scopes.is_empty() {
            doc.insert("scopes_supported".into(), json!(scopes));
        }
        doc.insert("bearer_methods_supported".into(), json!(["header"]));
        if config.sender_constraint != crate::config::SenderConstraint::None {
            // RFC 9728 §2: what proofs we take, and whether a bound token is required.
            doc.insert("dpop_signing_alg_values_supported".into(), json!(config.dpop.algorithms));
            doc.insert(
                "dpop_bound_access_tokens_required".into(),
                json!(config.sender_constraint == crate::config::SenderConstraint::Require),
            );
            doc.insert("tls_client_certificate_bound_access_tokens".into(), json!(true));
        }
        if let Some(name) = &config.resource_name {
            doc.insert("resource_name".into(), json!(name));
        }
        if let Some(docs) = &config.resource_documentation {
            doc.insert("resource_documentation".into(), json!(docs));
        }
        let document = Value::Object(doc);
        let json = serde_json::to_string(&document).unwrap_or_default();
        Ok(Some(ResourceMetadata { url, path: metadata_path_of(&parsed), document, json }))
    }
}

/// The metadata as the public API hands it out.
impl crate::Validator {
    /// The `WWW-Authenticate` value for `error` with this validator's realm and, when
    /// `resource` is set, its RFC 9728 `resource_metadata` URL.
    pub fn www_authenticate(&self, error: &Error) -> Option<String> {
        error.challenge(self.api_config().realm.as_deref(), self.resource_metadata_url())
    }

    /// The RFC 9728 protected resource metadata document, when `resource` is set.
    pub fn resource_metadata(&self) -> Option<&serde_json::Value> {
        self.metadata().map(|m| &m.document)
    }

    /// [`resource_metadata`](Self::resource_metadata) serialized, as adapters serve it.
    pub fn resource_metadata_json(&self) -> Option<&str> {
        self.metadata().map(|m| m.json.as_str())
    }

    /// Where the metadata document lives (RFC 9728 §3.1, the well-known path inserted).
    pub fn resource_metadata_url(&self) -> Option<&str> {
        self.metadata().map(|m| m.url.as_str())
    }

    /// The path part of [`resource_metadata_url`](Self::resource_metadata_url): where an
    /// adapter mounts the document.
    pub fn resource_metadata_path(&self) -> Option<&str> {
        self.metadata().map(|m| m.path.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scheme_and_host_compare_case_insensitively() {
        assert!(canonical_uri_eq("https://api.example/mcp", "HTTPS://API.EXAMPLE/mcp"));
        assert!(canonical_uri_eq("https://Api.Example/mcp", "https://api.example/mcp"));
        assert!(!canonical_uri_eq("https://api.example/mcp", "http://api.example/mcp"));
        assert!(!canonical_uri_eq("https://api.example/mcp", "https://api.example.org/mcp"));
    }

    #[test]
    fn a_default_port_written_out_equals_it_omitted() {
        assert!(canonical_uri_eq("https://api.example:443/mcp", "https://api.example/mcp"));
        assert!(canonical_uri_eq("http://api.example:80/mcp", "http://api.example/mcp"));
        assert!(!canonical_uri_eq("https://api.example:8443/mcp", "https://api.example/mcp"));
        assert!(!canonical_uri_eq("http://api.example:443/mcp", "http://api.example/mcp"));
        assert!(canonical_uri_eq("http://127.0.0.1:8080/mcp", "http://127.0.0.1:8080/mcp"));
    }

    #[test]
    fn the_path_compares_exactly_but_empty_is_slash() {
        assert!(!canonical_uri_eq("https://api.example/mcp/", "https://api.example/mcp"));
        assert!(!canonical_uri_eq("https://api.example/MCP", "https://api.example/mcp"));
        assert!(!canonical_uri_eq("https://api.example/mcp/x", "https://api.example/mcp"));
        assert!(canonical_uri_eq("https://api.example", "https://api.example/"));
        assert!(canonical_uri_eq("https://api.example:443", "https://api.example/"));
        assert!(!canonical_uri_eq("https://api.example", "https://api.example/mcp"));
    }

    #[test]
    fn fragments_queries_and_userinfo_never_match() {
        for bad in [
            "https://api.example/mcp#frag",
            "https://api.example/mcp#",
            "https://api.example/mcp?x=1",
            "https://api.example/mcp?",
            "https://user@api.example/mcp",
            "https://user:pw@api.example/mcp",
            "https://@api.example/mcp",
        ] {
            assert!(!canonical_uri_eq(bad, bad), "{bad} must not even match itself");
            assert!(!canonical_uri_eq(bad, "https://api.example/mcp"), "{bad}");
            assert!(!canonical_uri_eq("https://api.example/mcp", bad), "{bad}");
        }
    }

    #[test]
    fn what_is_not_an_absolute_uri_never_matches() {
        for bad in [
            "",
            "api",
            "/mcp",
            "https:api.example/mcp",
            " https://api.example/mcp",
            "https://api.example\\mcp",
            "urn:x:y",
            "mailto:a@b",
        ] {
            assert!(!canonical_uri_eq(bad, bad), "{bad:?}");
        }
    }

    #[test]
    fn audiences_that_are_not_uris_compare_exactly() {
        assert!(audience_matches("api", "api", true));
        assert!(!audience_matches("api", "API", true));
        assert!(audience_matches("https://a.example/x", "HTTPS://a.example:443/x", true));
        assert!(!audience_matches("https://a.example/x", "HTTPS://a.example:443/x", false));
    }

    #[test]
    fn metadata_url_inserts_the_well_known_path() {
        assert_eq!(
            metadata_url("https://h.example/mcp").unwrap(),
            "https://h.example/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            metadata_url("https://h.example/a/b/").unwrap(),
            "https://h.example/.well-known/oauth-protected-resource/a/b/"
        );
        for root in ["https://h.example", "https://h.example/"] {
            assert_eq!(metadata_url(root).unwrap(), "https://h.example/.well-known/oauth-protected-resource");
        }
        assert_eq!(
            metadata_url("http://127.0.0.1:8080/mcp").unwrap(),
            "http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp"
        );
        assert!(metadata_url("https://h.example/mcp?x").is_err());
        assert!(metadata_url("https://h.example/mcp#x").is_err());
    }

    #[test]
    fn the_document_names_the_issuer_and_never_offline_access() {
        let mut c = Config::new("https://as.example", "");
        c.resource = Some("https://h.example/mcp".into());
        c.scopes_supported = vec!["read".into(), "offline_access".into(), "write".into()];
        c.resource_name = Some("Files".into());
        let m = ResourceMetadata::from_config(&c).unwrap().unwrap();
        assert_eq!(
            m.document,
            json!({
                "resource": "https://h.example/mcp",
                "authorization_servers": ["https://as.example"],
                "scopes_supported": ["read", "write"],
                "bearer_methods_supported": ["header"],
                "resource_name": "Files",
            })
        );
        assert_eq!(m.path, "/.well-known/oauth-protected-resource/mcp");
        assert_eq!(serde_json::from_str::<Value>(&m.json).unwrap(), m.document);
        c.resource = None;
        assert!(ResourceMetadata::from_config(&c).unwrap().is_none());
    }
}
