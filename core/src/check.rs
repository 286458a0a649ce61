//! Every rule a configuration must meet, checked once when a validator is built: the field
//! rules (each error names its field), the allow-list, the client credentials, and the rules
//! that tie fields together. What depends on discovery (a strategy's endpoints) is checked
//! when the endpoints are assembled, the only check that must wait for I/O.

use crate::algorithms::{self, Alg};
use crate::client_auth::ClientAuth;
use crate::config::{Config, IntrospectionResponseFormat, SenderConstraint, Strategy};
use crate::error::{Error, Result};
use crate::issuers::SHARED_FIELDS;

/// What checking a config yields: the parts built from it.
pub(crate) struct Checked {
    pub algorithms: Vec<Alg>,
    pub auth: ClientAuth,
}

/// Checks `config` and builds what it names (keys are loaded now, never later).
pub(crate) fn check(config: &Config) -> Result<Checked> {
    fields(config)?;
    let algorithms = algorithms::allow_list(&config.algorithms)?;
    let auth = ClientAuth::from_config(config)?;
    if config.introspection_response == IntrospectionResponseFormat::Jwt && auth.client_id().is_none() {
        return Err(Error::config(
            "signed introspection responses need a `client_id`: their `aud` must name us",
        ));
    }
    Ok(Checked { algorithms, auth })
}

/// The top-level fields of `c` that differ from their defaults.
fn set_fields(c: &Config) -> Vec<&'static str> {
    let (given, default) = (serde_json::to_value(c), serde_json::to_value(Config::default()));
    let (Ok(given), Ok(default)) = (given, default) else { return Vec::new() };
    Config::FIELDS.iter().copied().filter(|f| given.get(f) != default.get(f)).collect()
}

/// A config with `issuers` (docs/security.md ISS): its top level holds only what the issuers
/// share, each entry is one issuer's, no issuer twice, no tenant key twice.
pub(crate) fn many(c: &Config) -> Result<()> {
    if let Some(field) = set_fields(c).into_iter().find(|f| !SHARED_FIELDS.contains(f)) {
        return Err(Error::config(format!(
            "with `issuers`, `{field}` belongs in each entry: the top level holds only `cache`, \
             `http`, `opaque_routing`, `tenant_from` and `resolver`"
        )));
    }
    // The shared sections' own rules, as a one-issuer config would have them checked.
    let probe = Config {
        cache: c.cache.clone(),
        http: c.http.clone(),
        ..Config::new("https://issuers.invalid", "-")
    };
    fields(&probe)?;
    fields(&Config { resolver: c.resolver.clone(), ..probe })?;
    let mut seen: Vec<&str> = Vec::new();
    let mut keys: Vec<&str> = Vec::new();
    for (i, entry_config) in c.issuers.iter().enumerate() {
        entry(entry_config, &format!("issuers[{i}]"))?;
        if seen.contains(&entry_config.issuer.as_str()) {
            return Err(Error::config(format!("`issuers[{i}].issuer` is listed twice")));
        }
        seen.push(&entry_config.issuer);
        for key in &entry_config.tenant.0 {
            if key.is_empty() || keys.contains(&key.as_str()) {
                return Err(Error::config(format!(
                    "`issuers[{i}].tenant`: each tenant key is non-empty and selects one issuer"
                )));
            }
            keys.push(key);
        }
    }
    Ok(())
}

/// One issuer's config among many (an entry of `issuers`, or a resolver's answer, named by
/// `at`): it sets none of the fields the issuers share.
pub(crate) fn entry(c: &Config, at: &str) -> Result<()> {
    match set_fields(c).into_iter().find(|f| SHARED_FIELDS.contains(f)) {
        Some(field) => Err(Error::config(format!(
            "`{at}.{field}`: set `{field}` once, at the top level (the issuers share it)"
        ))),
        None => Ok(()),
    }
}

/// The field rules: what can be checked of each field, and of fields together, without I/O.
pub(crate) fn fields(c: &Config) -> Result<()> {
    if c.issuer.is_empty() {
        return Err(Error::config("`issuer` is required"));
    }
    crate::http::check_url("issuer", &c.issuer, c.http.allow_insecure_http)?;
    claim_choices(c)?;
    if let Some(resource) = &c.resource {
        crate::resource::check_resource(resource, c.http.allow_insecure_http)?;
    }
    if (c.audience.0.is_empty() && c.resource.is_none()) || c.audience.0.iter().any(String::is_empty) {
        return Err(Error::config("`audience` is required (unless `resource` is set) and must not be empty"));
    }
    if c.resource.is_none()
        && (c.resource_name.is_some() || c.resource_documentation.is_some() || !c.scopes_supported.is_empty())
    {
        return Err(Error::config(
            "`resource_name`, `resource_documentation` and `scopes_supported` describe a `resource`: set it",
        ));
    }
    if let Some(docs) = &c.resource_documentation {
        crate::http::check_url("resource_documentation", docs, true)?;
    }
    if c.scopes_supported.iter().any(|s| !crate::claims::is_scope_token(s)) {
        return Err(Error::config("`scopes_supported` entries must be single RFC 6749 scope tokens"));
    }
    if c.scopes_supported.iter().any(|s| s == "offline_access") {
        return Err(Error::config(
            "`scopes_supported` must not list `offline_access` (MCP: it is never a resource's scope)",
        ));
    }
    if c.implied_scopes.iter().any(|(k, v)| {
        !crate::claims::is_scope_token(k) || v.iter().any(|s| !crate::claims::is_scope_token(s))
    }) {
        return Err(Error::config("`implied_scopes` keys and values must be single RFC 6749 scope tokens"));
    }
    for (field, url) in [
        ("introspection_endpoint", &c.introspection_endpoint),
        ("jwks_uri", &c.jwks_uri),
        ("token_endpoint", &c.token_endpoint),
    ] {
        if let Some(url) = url {
            crate::http::check_url(field, url, c.http.allow_insecure_http)?;
        }
    }
    if !c.discovery {
        let needs_jwks = matches!(c.strategy, Strategy::Jwt)
            || c.introspection_response == IntrospectionResponseFormat::Jwt;
        let needs_introspection = matches!(c.strategy, Strategy::Introspection | Strategy::IntrospectAll);
        if needs_jwks && c.jwks_uri.is_none() {
            return Err(Error::config("`jwks_uri` is required when `discovery` is false"));
        }
        if needs_introspection && c.introspection_endpoint.is_none() {
            return Err(Error::config("`introspection_endpoint` is required when `discovery` is false"));
        }
        if c.strategy == Strategy::Auto && c.jwks_uri.is_none() && c.introspection_endpoint.is_none() {
            return Err(Error::config(
                "`jwks_uri` or `introspection_endpoint` is required when `discovery` is false",
            ));
        }
    }
    // Every duration and size has a bound, so no arithmetic on it can overflow.
    let bounds: [(&str, u64, u64, u64); 17] = [
        ("max_token_bytes", c.max_token_bytes as u64, 16, 1024 * 1024),
        ("leeway_secs", c.leeway_secs, 0, 600),
        ("client_auth.assertion_lifetime_secs", c.client_auth.assertion_lifetime_secs, 1, 3_600),
        // The latest timestamp a claim may hold (9999-12-31) bounds any lifetime.
        ("max_token_lifetime_secs", c.max_token_lifetime_secs.unwrap_or(1), 1, 253_402_300_799),
        ("cache.max_ttl_secs", c.cache.max_ttl_secs, 0, 86_400),
        ("cache.negative_ttl_secs", c.cache.negative_ttl_secs, 0, 300),
        ("cache.max_entries", c.cache.max_entries, u64::from(c.cache.enabled), 100_000_000),
        ("cache.jwt_max_entries", c.cache.jwt_max_entries, 0, 100_000_000),
        ("http.timeout_ms", c.http.timeout_ms, 1, 300_000),
        ("http.connect_timeout_ms", c.http.connect_timeout_ms, 1, 300_000),
        ("http.max_concurrent_requests", c.http.max_concurrent_requests as u64, 1, 65_536),
        ("http.max_response_bytes", c.http.max_response_bytes as u64, 64, 16 * 1024 * 1024),
        ("jwks.default_ttl_secs", c.jwks.default_ttl_secs, 0, 7 * 86_400),
        ("jwks.min_ttl_secs", c.jwks.min_ttl_secs, 0, 7 * 86_400),
        ("jwks.max_ttl_secs", c.jwks.max_ttl_secs, 0, 7 * 86_400),
        ("jwks.refresh_cooldown_secs", c.jwks.refresh_cooldown_secs, 10, 86_400),
        ("jwks.stale_secs", c.jwks.stale_secs, 0, 7 * 86_400),
    ];
    for (field, value, min, max) in bounds {
        if value < min || value > max {
            return Err(Error::config(format!("`{field}` must be between {min} and {max}")));
        }
    }
    for (field, value, min, max) in [
        ("jwks.max_bytes", c.jwks.max_bytes as u64, 64, 16 * 1024 * 1024),
        (
            "introspection.signed_response_max_age_secs",
            c.introspection.signed_response_max_age_secs,
            1,
            3_600,
        ),
        ("introspection.max_new_tokens_per_sec", c.introspection.max_new_tokens_per_sec, 0, 1_000_000),
        ("resolver.max_issuers", c.resolver.max_issuers, 1, 100_000),
        ("resolver.max_declined", c.resolver.max_declined, 1, 10_000_000),
        ("resolver.declined_ttl_secs", c.resolver.declined_ttl_secs, 1, 86_400),
        ("resolver.max_issuer_bytes", c.resolver.max_issuer_bytes as u64, 1, 8_192),
        ("resolver.ttl_secs", c.resolver.ttl_secs, 1, 86_400),
        ("resolver.timeout_ms", c.resolver.timeout_ms, 1, 60_000),
    ] {
        if value < min || value > max {
            return Err(Error::config(format!("`{field}` must be between {min} and {max}")));
        }
    }
    dpop(c)?;
    shared(c)?;
    if c.jwks.min_ttl_secs > c.jwks.max_ttl_secs {
        return Err(Error::config("`jwks.min_ttl_secs` must not exceed `jwks.max_ttl_secs`"));
    }
    if c.required_scopes.iter().any(|s| !crate::claims::is_scope_token(s)) {
        return Err(Error::config(
            "`required_scopes` entries must be single RFC 6749 scope tokens (printable ASCII, no \
             space, quote or backslash)",
        ));
    }
    Ok(())
}

/// The claim choices a preset may make, which any config may make too: the roles and
/// client-id claims, required claims, issuer aliases, and the Entra multi-tenant template
/// with its `allowed_tenants`.
fn claim_choices(c: &Config) -> Result<()> {
    if c.roles_claim.as_deref().is_some_and(|r| r.is_empty() || r == "/") {
        return Err(Error::config("`roles_claim` must be a claim name or a JSON pointer (`/a/b`)"));
    }
    if c.client_id_claim.as_deref().is_some_and(str::is_empty) {
        return Err(Error::config("`client_id_claim` must be a claim name"));
    }
    if c.required_claims.keys().any(String::is_empty) {
        return Err(Error::config("`required_claims` names must not be empty"));
    }
    if c.issuer_aliases.iter().any(|a| a.is_empty() || *a == c.issuer) {
        return Err(Error::config("`issuer_aliases` entries must be other, non-empty spellings of `issuer`"));
    }
    let template = crate::claims::TenantTemplate::parse(&c.issuer, &c.allowed_tenants);
    if c.issuer.contains(crate::claims::TENANT_PLACEHOLDER) {
        if c.provider != Some(crate::config::Provider::Entra) || template.is_none() {
            return Err(Error::config(
                "`issuer`: a `{tenantid}` template is only for `provider: \"entra\"`, with one `{tenantid}`",
            ));
        }
        if c.allowed_tenants.is_empty() {
            return Err(Error::config(
                "`allowed_tenants` is required with a multi-tenant `issuer` template: list the tenant \
                 ids, or write `[\"any\"]` to accept every tenant",
            ));
        }
        if !c.issuer_aliases.is_empty() {
            return Err(Error::config(
                "`issuer_aliases` cannot be used with a multi-tenant `issuer` template",
            ));
        }
    } else if !c.allowed_tenants.is_empty() {
        return Err(Error::config("`allowed_tenants` needs a multi-tenant `issuer` template (`{tenantid}`)"));
    }
    let any = c.allowed_tenants.as_slice() == ["any"];
    if !any && c.allowed_tenants.iter().any(|t| !crate::claims::is_guid(t)) {
        return Err(Error::config(
            "`allowed_tenants` entries must be tenant ids (GUIDs), or the list must be exactly `[\"any\"]`",
        ));
    }
    Ok(())
}

/// The shared tier's fields (`cache.shared`): its URL's scheme, its keys, its bounds.
fn shared(c: &Config) -> Result<()> {
    let Some(s) = &c.cache.shared else { return Ok(()) };
    if !c.cache.enabled {
        return Err(Error::config("`cache.shared` needs `cache.enabled`"));
    }
    let url = url::Url::parse(s.url.expose()).ok();
    // No fragment: redis-rs reads `#insecure` as "skip the certificate checks".
    let plain = url.as_ref().is_some_and(|u| {
        matches!(u.scheme(), "redis" | "rediss" | "redis+unix" | "unix") && u.fragment().is_none()
    });
    if !(plain || matches!(crate::shared::parse_sentinel(s.url.expose()), Some(Some(_)))) {
        return Err(Error::config(
            "`cache.shared.url` must be a redis://, rediss://, redis+unix:// or \
             redis+sentinel://host:port[,host:port]/service[/db] URL",
        ));
    }
    if s.tls_ca_file.is_some() && url.as_ref().is_none_or(|u| u.scheme() != "rediss") {
        return Err(Error::config("`cache.shared.tls_ca_file` needs a rediss:// `cache.shared.url`"));
    }
    if s.key_prefix.is_empty()
        || s.key_prefix.len() > 64
        || !s.key_prefix.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.:{}".contains(&b))
    {
        return Err(Error::config(
            "`cache.shared.key_prefix` must be 1 to 64 characters of letters, digits and _-.:{}",
        ));
    }
    if s.secrets.is_empty() || s.secrets.len() > 8 {
        return Err(Error::config("`cache.shared.secrets` must hold 1 to 8 keys, the newest first"));
    }
    for (i, key) in s.secrets.iter().enumerate() {
        let id_ok = !key.id.is_empty()
            && key.id.len() <= 32
            && key.id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        if !id_ok {
            return Err(Error::config(
                "`cache.shared.secrets[].id` must be 1 to 32 characters of [A-Za-z0-9_-]",
            ));
        }
        if key.secret.expose().len() < 32 {
            return Err(Error::config("`cache.shared.secrets[].secret` must be at least 32 bytes"));
        }
        if s.secrets[..i].iter().any(|k| k.id == key.id) {
            return Err(Error::config("`cache.shared.secrets` ids must be distinct"));
        }
    }
    for (field, value, min, max) in [
        ("cache.shared.timeout_ms", s.timeout_ms, 1, 10_000),
        ("cache.shared.connect_timeout_ms", s.connect_timeout_ms, 1, 30_000),
        ("cache.shared.lock_ms", s.lock_ms, 10, 60_000),
        ("cache.shared.poll_ms", s.poll_ms, 1, 1_000),
        ("cache.shared.breaker_failures", u64::from(s.breaker_failures), 1, 1_000),
        ("cache.shared.breaker_open_ms", s.breaker_open_ms, 10, 600_000),
    ] {
        if value < min || value > max {
            return Err(Error::config(format!("`{field}` must be between {min} and {max}")));
        }
    }
    Ok(())
}

/// The sender-constraint fields: DPoP bounds, nonce keys, the trusted certificate header.
fn dpop(c: &Config) -> Result<()> {
    let d = &c.dpop;
    for (field, value, min, max) in [
        ("dpop.max_age_secs", d.max_age_secs, 1, 3_600),
        ("dpop.replay_max_entries", d.replay_max_entries, 1_000, 100_000_000),
        ("dpop.nonce_slot_secs", d.nonce_slot_secs, 1, 3_600),
        ("dpop.nonce_lifetime_slots", d.nonce_lifetime_slots, 1, 10),
    ] {
        if value < min || value > max {
            return Err(Error::config(format!("`{field}` must be between {min} and {max}")));
        }
    }
    if algorithms::allow_list(&d.algorithms).is_err() {
        return Err(Error::config(
            "`dpop.algorithms` must be a non-empty list of supported asymmetric algorithms (no `none`, no HMAC)",
        ));
    }
    for (field, key) in [("dpop.nonce_key", &d.nonce_key), ("dpop.nonce_previous_key", &d.nonce_previous_key)]
    {
        if key.as_ref().is_some_and(|k| k.expose().len() < 32) {
            return Err(Error::config(format!("`{field}` must be at least 32 bytes")));
        }
    }
    if let Some(base) = &d.external_base_url {
        let plain = !base.contains(['?', '#']);
        if !plain || crate::dpop::normalize_htu(base).is_none() {
            return Err(Error::config(
                "`dpop.external_base_url` must be an absolute http(s) URL without query or fragment",
            ));
        }
    }
    if d.nonce_previous_key.is_some() && d.nonce_key.is_none() {
        return Err(Error::config("`dpop.nonce_previous_key` needs `dpop.nonce_key`"));
    }
    if c.sender_constraint == SenderConstraint::None && d.nonce_key.is_some() {
        return Err(Error::config("`dpop.nonce_key` needs `sender_constraint` `allow` or `require`"));
    }
    if let Some(name) = &c.client_certificate_header {
        // RFC 9110 §5.1: a field name is a token.
        let token = !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
        if !token || name.eq_ignore_ascii_case("authorization") || name.eq_ignore_ascii_case("dpop") {
            return Err(Error::config(
                "`client_certificate_header` must be a header field name other than Authorization and DPoP",
            ));
        }
    }
    Ok(())
}
