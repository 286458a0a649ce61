//! What a validated token says ([`TokenInfo`]) and the claim rules both paths share.
//!
//! A JWT's payload and an introspection response are checked by the same code here:
//! issuer byte for byte, audience by membership, `exp`/`nbf`/`iat` with leeway and sane
//! ranges, typed identifiers, scopes from `scope` or `scp`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::config::{AudienceClaim, ScopeClaim};
use crate::error::{Error, Result};

/// Which path decided a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TokenSource {
    /// Validated locally as a signed JWT against the issuer's JWKS.
    Jwt,
    /// Answered by the authorization server's introspection endpoint.
    Introspection,
}

impl TokenSource {
    /// `"jwt"` or `"introspection"`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenSource::Jwt => "jwt",
            TokenSource::Introspection => "introspection",
        }
    }
}

/// A token that passed every check: its typed claims plus every claim as received.
///
/// `Debug` shows the typed fields only; the token itself is never kept.
#[derive(Clone, PartialEq, Serialize)]
pub struct TokenInfo {
    /// `sub`.
    pub subject: Option<String>,
    /// `client_id`.
    pub client_id: Option<String>,
    /// `username`, else `preferred_username`.
    pub username: Option<String>,
    /// Granted scopes, from `scope` (space-separated) or `scp` (array).
    pub scopes: Vec<String>,
    /// Roles, from the configured `roles_claim` (a provider preset sets it: Keycloak's
    /// `realm_access.roles`, ZITADEL's role claim keys, Entra's `roles`, Auth0's
    /// `permissions`, Cognito's `cognito:groups`); empty without one.
    pub roles: Vec<String>,
    /// `aud`, always as a list.
    pub audiences: Vec<String>,
    /// `iss`.
    pub issuer: Option<String>,
    /// `exp`, seconds since the epoch.
    pub expires_at: Option<i64>,
    /// `iat`, seconds since the epoch.
    pub issued_at: Option<i64>,
    /// `nbf`, seconds since the epoch.
    pub not_before: Option<i64>,
    /// `jti`.
    pub jti: Option<String>,
    /// `token_type` from introspection, or the JWT `typ` header.
    pub token_type: Option<String>,
    /// Which path decided.
    pub source: TokenSource,
    /// Every claim as received (standard and custom, e.g.
    /// `urn:zitadel:iam:org:project:roles` or WSO2's `aut`).
    pub claims: Map<String, Value>,
    /// When DPoP server nonces are on: the nonce the client should use next, to send as the
    /// `DPoP-Nonce` response header (RFC 9449 §8.2).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dpop_nonce: Option<String>,
}

impl std::fmt::Debug for TokenInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenInfo")
            .field("subject", &self.subject)
            .field("client_id", &self.client_id)
            .field("scopes", &self.scopes)
            .field("roles", &self.roles)
            .field("audiences", &self.audiences)
            .field("issuer", &self.issuer)
            .field("expires_at", &self.expires_at)
            .field("source", &self.source)
            .field("claims", &format_args!("[{} claims]", self.claims.len()))
            .finish()
    }
}

impl TokenInfo {
    /// Whether the token carries `role` (from `roles_claim`).
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// Whether every scope in `required` was granted.
    pub fn has_scopes<S: AsRef<str>>(&self, required: &[S]) -> bool {
        required.iter().all(|r| self.scopes.iter().any(|s| s == r.as_ref()))
    }

    /// A claim by name.
    pub fn claim(&self, name: &str) -> Option<&Value> {
        self.claims.get(name)
    }
}

/// The latest timestamp accepted: 9999-12-31T23:59:59Z.
const MAX_TIMESTAMP: f64 = 253_402_300_799.0;

/// The placeholder of a multi-tenant Microsoft Entra issuer template.
pub(crate) const TENANT_PLACEHOLDER: &str = "{tenantid}";

/// The rules a validator applies to a claim set.
#[derive(Debug, Clone, Default)]
pub(crate) struct ClaimRules {
    pub issuer: String,
    /// Other spellings of the issuer (`issuer_aliases`), each compared byte for byte.
    pub issuer_aliases: Vec<String>,
    /// A multi-tenant Entra issuer template (`issuer` holds `{tenantid}`); `issuer` and
    /// `issuer_aliases` are then never compared as they are.
    pub tenants: Option<TenantTemplate>,
    /// Which claim the audiences are matched against.
    pub audience_claim: AudienceClaim,
    /// Where roles come from: a claim name, or a JSON pointer when it starts with `/`.
    pub roles_claim: Option<String>,
    /// Where `client_id` comes from when the token has none.
    pub client_id_claim: Option<String>,
    /// Claims that must be present with exactly these values.
    pub required_claims: Vec<(String, Value)>,
    pub audiences: Vec<String>,
    pub leeway: u64,
    pub max_lifetime: Option<u64>,
    pub scope_claim: ScopeClaim,
    /// Audiences compare as canonical URIs (RES-1): on when `resource` is set.
    pub canonical_audience: bool,
    /// The scope hierarchy, closed transitively: each scope and every scope it implies.
    pub implied: Arc<ScopeImplications>,
}

/// A multi-tenant issuer template split around `{tenantid}`, and the tenants it accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TenantTemplate {
    prefix: String,
    suffix: String,
    /// `None`: any tenant (`allowed_tenants: ["any"]`).
    allowed: Option<Vec<String>>,
}

impl TenantTemplate {
    /// The template in `issuer`, if it holds exactly one `{tenantid}`.
    pub fn parse(issuer: &str, allowed_tenants: &[String]) -> Option<Self> {
        let (prefix, suffix) = issuer.split_once(TENANT_PLACEHOLDER)?;
        if suffix.contains(TENANT_PLACEHOLDER) {
            return None;
        }
        let allowed = match allowed_tenants {
            [any] if any == "any" => None,
            list => Some(list.iter().map(|t| t.to_ascii_lowercase()).collect()),
        };
        Some(TenantTemplate { prefix: prefix.to_owned(), suffix: suffix.to_owned(), allowed })
    }

    /// The tenant id `iss` names in place of `{tenantid}`, if it has the template's shape
    /// (a GUID there). Allocates nothing.
    fn tenant_of<'a>(&self, iss: &'a str) -> Option<&'a str> {
        iss.strip_prefix(self.prefix.as_str())
            .and_then(|rest| rest.strip_suffix(self.suffix.as_str()))
            .filter(|tid| is_guid(tid))
    }

    /// Whether `iss` is the template filled with the token's own `tid`, and that tenant is
    /// allowed.
    fn check(&self, iss: &str, tid: Option<&Value>) -> Result<()> {
        let Some(Value::String(tid)) = tid else {
            return Err(Error::invalid_token("the tid claim is missing or not a string"));
        };
        if self.tenant_of(iss) != Some(tid.as_str()) {
            return Err(Error::invalid_token("the issuer does not name the token's tenant (tid)"));
        }
        match &self.allowed {
            None => Ok(()),
            Some(list) if list.iter().any(|t| t.eq_ignore_ascii_case(tid)) => Ok(()),
            Some(_) => Err(Error::invalid_token("the token's tenant is not allowed")),
        }
    }
}

/// Whether `s` has a GUID's shape: 8-4-4-4-12 hexadecimal digits.
pub(crate) fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A configured scope hierarchy (`implied_scopes`), closed transitively at build time so a
/// call only looks up each granted scope once (`docs/security.md` RES-4). Names compare
/// exactly: no prefix or wildcard matching.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeImplications(BTreeMap<String, Vec<String>>);

impl ScopeImplications {
    /// The transitive closure of `direct` (cycles allowed: `a → b → a` means each implies
    /// the other).
    pub fn new(direct: &BTreeMap<String, Vec<String>>) -> Self {
        let mut closed = BTreeMap::new();
        for start in direct.keys() {
            let mut seen: Vec<String> = Vec::new();
            let mut stack: Vec<&String> = direct[start].iter().rev().collect();
            while let Some(next) = stack.pop() {
                if next == start || seen.contains(next) {
                    continue;
                }
                seen.push(next.clone());
                if let Some(more) = direct.get(next) {
                    stack.extend(more.iter().rev());
                }
            }
            closed.insert(start.clone(), seen);
        }
        ScopeImplications(closed)
    }

    /// `granted` followed by every scope it implies that it does not already hold, in a
    /// fixed order (granted order, then depth-first order of the configuration).
    pub fn expand(&self, mut granted: Vec<String>) -> Vec<String> {
        if self.0.is_empty() {
            return granted;
        }
        let held = granted.len();
        for i in 0..held {
            if let Some(implied) = self.0.get(&granted[i]) {
                for s in implied {
                    if !granted.contains(s) {
                        granted.push(s.clone());
                    }
                }
            }
        }
        granted
    }
}

/// What a path demands beyond the shared rules.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Demands {
    /// `exp`, `iss` and `aud` must be present (JWTs); otherwise checked when present.
    pub registered_claims_required: bool,
    /// RFC 9068 §2.2: `sub`, `client_id`, `iat`, `jti` required.
    pub rfc9068_strict: bool,
    /// A time claim of the wrong type or out of range means the *sender* is broken:
    /// `unavailable` rather than `invalid_token`, never cached (an introspection answer's
    /// times are the authorization server's own word; a JWT's are the token's).
    pub malformed_is_unavailable: bool,
}

impl ClaimRules {
    /// The rules `config` sets (checked by `check.rs` first).
    pub fn from_config(config: &crate::config::Config) -> Self {
        let tenants = TenantTemplate::parse(&config.issuer, &config.allowed_tenants);
        ClaimRules {
            issuer: config.issuer.clone(),
            issuer_aliases: config.issuer_aliases.clone(),
            tenants,
            audience_claim: config.audience_claim,
            roles_claim: config.roles_claim.clone(),
            client_id_claim: config.client_id_claim.clone(),
            required_claims: config.required_claims.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
            audiences: config.effective_audiences(),
            leeway: config.leeway_secs,
            max_lifetime: config.max_token_lifetime_secs,
            scope_claim: config.scope_claim,
            canonical_audience: config.resource.is_some(),
            implied: Arc::new(ScopeImplications::new(&config.implied_scopes)),
        }
    }

    /// Whether an unverified `iss` belongs to this validator: the issuer itself, one of its
    /// aliases, or, for a multi-tenant Entra template, the template with a GUID in place of
    /// `{tenantid}` (the allow-list and `tid` are checked after the signature). Allocates
    /// nothing; the multi-issuer router calls it to pick a validator.
    pub(crate) fn routes_issuer(&self, iss: &str) -> bool {
        match &self.tenants {
            Some(template) => template.tenant_of(iss).is_some(),
            None => iss == self.issuer || self.issuer_aliases.iter().any(|a| a == iss),
        }
    }

    /// Whether `iss` is accepted for a token whose claims are `claims`.
    fn issuer_accepted(&self, iss: &str, claims: &Map<String, Value>) -> Result<()> {
        match &self.tenants {
            Some(template) => template.check(iss, claims.get("tid")),
            None if iss == self.issuer || self.issuer_aliases.iter().any(|a| a == iss) => Ok(()),
            None => Err(Error::invalid_token("the issuer is not accepted")),
        }
    }

    /// Checks `claims` at time `now` and builds the [`TokenInfo`]. Scopes are not checked
    /// here (see [`check_scopes`]).
    pub fn check(
        &self,
        claims: Map<String, Value>,
        now: Duration,
        demands: Demands,
        source: TokenSource,
        token_type: Option<String>,
    ) -> Result<TokenInfo> {
        let now = now.as_secs_f64();
        let required = demands.registered_claims_required;
        let leeway = self.leeway as f64;

        let malformed = |e: Error| {
            if demands.malformed_is_unavailable {
                Error::unavailable(format!("introspection: the answer is malformed ({})", e.detail()))
            } else {
                e
            }
        };
        let exp = timestamp(&claims, "exp").map_err(malformed)?;
        let nbf = timestamp(&claims, "nbf").map_err(malformed)?;
        let iat = timestamp(&claims, "iat").map_err(malformed)?;
        match exp {
            None if required => return Err(Error::invalid_token("the exp claim is missing")),
            Some(exp) if now >= exp + leeway => return Err(Error::expired()),
            _ => {}
        }
        if nbf.is_some_and(|nbf| nbf > now + leeway) {
            return Err(Error::invalid_token("the token is not valid yet (nbf)"));
        }
        if iat.is_some_and(|iat| iat > now + leeway) {
            return Err(Error::invalid_token("the token was issued in the future (iat)"));
        }
        if let (Some(max), Some(exp)) = (self.max_lifetime, exp) {
            let start = iat.or(nbf).unwrap_or(now);
            if exp - start > max as f64 {
                return Err(Error::invalid_token("the token lifetime exceeds the allowed maximum"));
            }
        }

        let issuer = match claims.get("iss") {
            Some(Value::String(iss)) => {
                self.issuer_accepted(iss, &claims)?;
                Some(iss.clone())
            }
            Some(_) => return Err(Error::invalid_token("the iss claim is not a string")),
            None if required => return Err(Error::invalid_token("the iss claim is missing")),
            None => None,
        };

        let by_aud = self.audience_claim == AudienceClaim::Aud;
        let accepted = |a: &str| {
            self.audiences.iter().any(|c| crate::resource::audience_matches(c, a, self.canonical_audience))
        };
        let audiences = match claims.get("aud") {
            None if required && by_aud => return Err(Error::invalid_token("the aud claim is missing")),
            None => Vec::new(),
            Some(value) => {
                let auds = string_list(value)
                    .ok_or(Error::invalid_token("the aud claim is not a string or array of strings"))?;
                if auds.is_empty() {
                    return Err(Error::invalid_token("the aud claim is empty"));
                }
                if by_aud && !auds.iter().any(|a| accepted(a)) {
                    return Err(Error::invalid_token("the audience is not accepted"));
                }
                auds
            }
        };

        let subject = optional_string(&claims, "sub")?;
        let mut client_id = optional_string(&claims, "client_id")?;
        if !by_aud {
            // `audience_claim: client_id` (Cognito): the token's own `client_id` names us.
            match &client_id {
                None => return Err(Error::invalid_token("the client_id claim is missing")),
                Some(id) if !accepted(id) => {
                    return Err(Error::invalid_token("the audience is not accepted"));
                }
                _ => {}
            }
        }
        // RFC 9068's own `client_id` claim, before any provider's fallback fills the field.
        let own_client_id = client_id.is_some();
        if client_id.is_none()
            && let Some(name) = &self.client_id_claim
            && let Some(Value::String(id)) = claims.get(name)
        {
            client_id = Some(id.clone());
        }
        for (name, value) in &self.required_claims {
            if claims.get(name) != Some(value) {
                return Err(Error::invalid_token("a required claim is missing or has another value"));
            }
        }
        let jti = optional_string(&claims, "jti")?;
        if demands.rfc9068_strict && (subject.is_none() || !own_client_id || jti.is_none() || iat.is_none()) {
            return Err(Error::invalid_token("an RFC 9068 required claim is missing"));
        }
        // A key-bound token (`cnf`, RFC 9449 / RFC 8705) is judged per request, on every call,
        // by `binding.rs`: what proves the binding is in the request, not the token.
        let username = match claims.get("username").or_else(|| claims.get("preferred_username")) {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        };
        let scopes = self.scopes(&claims);
        let roles = self.roles(&claims);

        Ok(TokenInfo {
            subject,
            client_id,
            username,
            scopes,
            roles,
            audiences,
            issuer,
            expires_at: exp.map(|t| t as i64),
            issued_at: iat.map(|t| t as i64),
            not_before: nbf.map(|t| t as i64),
            jti,
            token_type,
            source,
            claims,
            dpop_nonce: None,
        })
    }

    fn scopes(&self, claims: &Map<String, Value>) -> Vec<String> {
        let from_scope = || match claims.get("scope") {
            Some(Value::String(s)) => Some(split_scopes(s)),
            _ => None,
        };
        let from_scp = || {
            claims.get("scp").and_then(|v| match v {
                Value::Array(_) => string_list(v),
                _ => None,
            })
        };
        let found = match self.scope_claim {
            ScopeClaim::Scope => from_scope(),
            ScopeClaim::Scp => from_scp(),
            ScopeClaim::Auto => from_scope().or_else(from_scp),
            // Entra: `scp` is a space-separated string; app-only tokens have `roles` instead.
            ScopeClaim::Entra => match claims.get("scp") {
                Some(Value::String(s)) => Some(split_scopes(s)),
                Some(_) => None,
                None => claims.get("roles").and_then(|v| match v {
                    Value::Array(_) => string_list(v),
                    _ => None,
                }),
            },
        };
        self.implied.expand(found.unwrap_or_default())
    }

    /// The roles `roles_claim` names: an array of strings gives its items, an object its
    /// keys; anything else, none.
    fn roles(&self, claims: &Map<String, Value>) -> Vec<String> {
        let Some(name) = &self.roles_claim else { return Vec::new() };
        let found = match name.strip_prefix('/') {
            Some(pointer) => json_pointer(claims, pointer),
            None => claims.get(name),
        };
        match found {
            Some(v @ Value::Array(_)) => string_list(v).unwrap_or_default(),
            Some(Value::Object(map)) => map.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }
}

fn split_scopes(s: &str) -> Vec<String> {
    s.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// Resolves an RFC 6901 pointer (without its leading `/`) in `claims`.
fn json_pointer<'a>(claims: &'a Map<String, Value>, pointer: &str) -> Option<&'a Value> {
    let unescape = |token: &str| token.replace("~1", "/").replace("~0", "~");
    let mut tokens = pointer.split('/');
    let mut current = claims.get(&unescape(tokens.next()?))?;
    for token in tokens {
        current = match current {
            Value::Object(map) => map.get(&unescape(token))?,
            Value::Array(items) => items.get(token.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    Some(current)
}

/// Whether `scope` is one RFC 6749 §3.3 `scope-token`: `1*( %x21 / %x23-5B / %x5D-7E )`.
pub(crate) fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty() && scope.bytes().all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

fn timestamp(claims: &Map<String, Value>, name: &'static str) -> Result<Option<f64>> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(t) if t.is_finite() && (0.0..=MAX_TIMESTAMP).contains(&t) => Ok(Some(t)),
            _ => Err(Error::invalid_token("a time claim is out of range")),
        },
        Some(_) => Err(Error::invalid_token("a time claim is not a number")),
    }
}

fn optional_string(claims: &Map<String, Value>, name: &'static str) -> Result<Option<String>> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(Error::invalid_token("an identifier claim is not a string")),
    }
}

fn string_list(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) => {
            items.iter().map(|v| v.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules() -> ClaimRules {
        ClaimRules {
            issuer: "https://as.example".into(),
            audiences: vec!["api".into()],
            leeway: 10,
            max_lifetime: Some(3600),
            scope_claim: ScopeClaim::Auto,
            canonical_audience: false,
            implied: Arc::default(),
            ..ClaimRules::default()
        }
    }

    #[test]
    fn implied_scopes_are_transitive_exact_and_ordered() {
        let direct: BTreeMap<String, Vec<String>> = [
            ("files:admin", vec!["files:write", "users:read"]),
            ("files:write", vec!["files:read"]),
            ("loop:a", vec!["loop:b"]),
            ("loop:b", vec!["loop:a"]),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
        .collect();
        let imp = ScopeImplications::new(&direct);
        let v = |s: &[&str]| s.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            imp.expand(v(&["files:admin"])),
            ["files:admin", "files:write", "files:read", "users:read"]
        );
        assert_eq!(imp.expand(v(&["files:write"])), ["files:write", "files:read"]);
        assert_eq!(imp.expand(v(&["files:read", "files:write"])), ["files:read", "files:write"]);
        assert_eq!(imp.expand(v(&["loop:a"])), ["loop:a", "loop:b"]);
        // No prefix matching: `files` is not `files:write`, `files:write:x` implies nothing.
        assert_eq!(imp.expand(v(&["files", "files:write:x"])), ["files", "files:write:x"]);
        let rules = ClaimRules { implied: Arc::new(imp), ..rules() };
        let Value::Object(m) =
            json!({"iss":"https://as.example","aud":"api","exp":1_800_000_100,"scope":"files:write"})
        else {
            unreachable!()
        };
        let info = rules.check(m, NOW, JWT, TokenSource::Jwt, None).unwrap();
        assert_eq!(info.scopes, ["files:write", "files:read"]);
        assert!(info.has_scopes(&["files:read"]));
    }

    #[test]
    fn canonical_audiences_apply_only_when_on() {
        let claims = |aud: &str| {
            let Value::Object(m) = json!({"iss":"https://as.example","aud":aud,"exp":1_800_000_100}) else {
                unreachable!()
            };
            m
        };
        let on = ClaimRules {
            audiences: vec!["https://h.example/mcp".into()],
            canonical_audience: true,
            ..rules()
        };
        let off = ClaimRules { canonical_audience: false, ..on.clone() };
        let ok = |r: &ClaimRules, aud: &str| r.check(claims(aud), NOW, JWT, TokenSource::Jwt, None).is_ok();
        assert!(ok(&on, "HTTPS://h.example:443/mcp"));
        assert!(!ok(&off, "HTTPS://h.example:443/mcp"));
        assert!(!ok(&on, "https://h.example/mcp/"));
        assert!(!ok(&on, "https://h.example/mcp#x"));
        assert!(ok(&on, "https://h.example/mcp"));
    }

    const JWT: Demands =
        Demands { registered_claims_required: true, rfc9068_strict: false, malformed_is_unavailable: false };
    const NOW: Duration = Duration::from_secs(1_800_000_000);

    fn check(v: Value) -> Result<TokenInfo> {
        let Value::Object(m) = v else { unreachable!() };
        rules().check(m, NOW, JWT, TokenSource::Jwt, None)
    }

    fn code(v: Value) -> &'static str {
        check(v).map(|_| "ok").unwrap_or_else(|e| e.code())
    }

    #[test]
    fn accepts_a_good_claim_set() {
        let info = check(json!({"iss":"https://as.example","aud":["x","api"],"exp":1_800_000_100,
            "iat":1_800_000_000,"sub":"u","scope":"read  write","custom":{"a":1}}))
        .unwrap();
        assert_eq!(info.scopes, ["read", "write"]);
        assert_eq!(info.audiences, ["x", "api"]);
        assert_eq!(info.claims["custom"], json!({"a":1}));
    }

    #[test]
    fn refuses_bad_claims() {
        let base = json!({"iss":"https://as.example","aud":"api","exp":1_800_000_100});
        let with = |k: &str, v: Value| {
            let mut b = base.clone();
            b[k] = v;
            b
        };
        let without = |k: &str| {
            let mut b = base.clone();
            b.as_object_mut().unwrap().remove(k);
            b
        };
        assert_eq!(code(base.clone()), "ok");
        assert_eq!(code(with("iss", json!("https://as.example/"))), "invalid_token");
        assert_eq!(code(with("iss", json!("HTTPS://AS.EXAMPLE"))), "invalid_token");
        assert_eq!(code(with("iss", json!(["https://as.example"]))), "invalid_token");
        assert_eq!(code(without("iss")), "invalid_token");
        assert_eq!(code(with("aud", json!("other"))), "invalid_token");
        assert_eq!(code(with("aud", json!([]))), "invalid_token");
        assert_eq!(code(with("aud", json!(["api", 1]))), "invalid_token");
        assert_eq!(code(with("aud", json!({"api":true}))), "invalid_token");
        assert_eq!(code(without("aud")), "invalid_token");
        assert_eq!(code(without("exp")), "invalid_token");
        assert_eq!(code(with("exp", json!("1800000100"))), "invalid_token");
        assert_eq!(code(with("exp", json!(-1))), "invalid_token");
        assert_eq!(code(with("exp", json!(1e300))), "invalid_token");
        assert_eq!(code(with("exp", json!(1_799_999_990))), "token_expired");
        assert_eq!(code(with("exp", json!(1_799_999_991))), "ok", "leeway");
        assert_eq!(code(with("nbf", json!(1_800_000_011))), "invalid_token");
        assert_eq!(code(with("iat", json!(1_800_000_011))), "invalid_token");
        assert_eq!(code(with("iat", json!(1_800_000_100 - 3601))), "invalid_token", "lifetime");
        assert_eq!(code(with("sub", json!(5))), "invalid_token");
        assert_eq!(code(with("client_id", json!(null))), "invalid_token");
        assert_eq!(code(with("jti", json!(["a"]))), "invalid_token");
        // `cnf` is judged per request by binding.rs (the validator's test covers it).
        assert_eq!(code(with("cnf", json!({"jkt":"x"}))), "ok");
    }

    #[test]
    fn absurd_times_are_refused_even_where_the_clock_would_allow_them() {
        // A leeway no config allows, so only the range check can refuse a far-future
        // nbf or iat (the shared cases refuse them as "not yet valid" anyway).
        let lenient = ClaimRules { leeway: 1_000_000_000_000, max_lifetime: None, ..rules() };
        let check = |extra: Value| {
            let mut v = json!({"iss":"https://as.example","aud":"api","exp":1_800_000_100});
            for (k, val) in extra.as_object().unwrap() {
                v[k] = val.clone();
            }
            let Value::Object(m) = v else { unreachable!() };
            lenient.check(m, NOW, JWT, TokenSource::Jwt, None).map(|_| "ok").unwrap_or_else(|e| e.code())
        };
        for name in ["nbf", "iat"] {
            assert_eq!(check(json!({name: 253_402_300_799_u64})), "ok", "{name} at 9999-12-31");
            for absurd in [json!(253_402_300_800_u64), json!(1e20), json!(1e300), json!(-1), json!(-0.5)] {
                assert_eq!(check(json!({name: absurd})), "invalid_token", "{name} {absurd}");
            }
        }
        for absurd in [json!(253_402_300_800_u64), json!(1e300), json!(-1)] {
            assert_eq!(check(json!({"exp": absurd})), "invalid_token", "exp {absurd}");
        }
        // JSON cannot carry a non-finite number: an overflowing literal is not a claim set.
        assert!(crate::json::parse_object(br#"{"exp":1e400}"#).is_err());
    }

    #[test]
    fn scope_tokens_are_rfc6749_characters() {
        for ok in ["read", "urn:x:y", "a!#[]~", "x/y"] {
            assert!(is_scope_token(ok), "{ok}");
        }
        for bad in ["", "a b", "a\"b", "a\\b", "é", "a\u{7f}", "a\tb"] {
            assert!(!is_scope_token(bad), "{bad:?}");
        }
    }

    #[test]
    fn scopes_come_from_scope_or_scp_only_when_well_typed() {
        let base = json!({"iss":"https://as.example","aud":"api","exp":1_800_000_100});
        let scopes = |extra: Value| {
            let mut b = base.clone();
            for (k, v) in extra.as_object().unwrap() {
                b[k] = v.clone();
            }
            check(b).unwrap().scopes
        };
        assert_eq!(scopes(json!({"scp":["a","b"]})), ["a", "b"]);
        assert!(scopes(json!({"scp":"a b"})).is_empty());
        assert!(scopes(json!({"scope":["a"]})).is_empty());
        assert!(scopes(json!({"scp":["a",1]})).is_empty());
        assert_eq!(scopes(json!({"scope":"x","scp":["y"]})), ["x"]);
        let info = check(base).unwrap();
        assert!(!info.has_scopes(&["read"]));
        assert!(info.has_scopes::<&str>(&[]));
    }

    const TID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const OTHER_TID: &str = "9188040d-6c67-4c5b-b112-36a304b66dad";

    fn entra(allowed: &[&str]) -> ClaimRules {
        let allowed: Vec<String> = allowed.iter().map(|s| (*s).to_owned()).collect();
        let issuer = "https://login.microsoftonline.com/{tenantid}/v2.0";
        ClaimRules {
            issuer: issuer.into(),
            tenants: TenantTemplate::parse(issuer, &allowed),
            scope_claim: ScopeClaim::Entra,
            roles_claim: Some("roles".into()),
            ..rules()
        }
    }

    fn run(rules: &ClaimRules, v: Value) -> Result<TokenInfo> {
        let Value::Object(m) = v else { unreachable!() };
        rules.check(m, NOW, JWT, TokenSource::Jwt, None)
    }

    #[test]
    fn routes_issuer_knows_the_issuer_its_aliases_and_the_tenant_template() {
        let google = ClaimRules {
            issuer: "https://accounts.google.com".into(),
            issuer_aliases: vec!["accounts.google.com".into()],
            ..rules()
        };
        assert!(google.routes_issuer("https://accounts.google.com"));
        assert!(google.routes_issuer("accounts.google.com"));
        assert!(!google.routes_issuer("https://accounts.google.com/"));
        let e = entra(&["any"]);
        assert!(e.routes_issuer(&format!("https://login.microsoftonline.com/{TID}/v2.0")));
        assert!(!e.routes_issuer("https://login.microsoftonline.com/{tenantid}/v2.0"));
        assert!(!e.routes_issuer("https://login.microsoftonline.com/common/v2.0"));
        assert!(!e.routes_issuer(&format!("https://login.microsoftonline.com/{TID}/v2.0/x")));
        assert!(!e.routes_issuer(&format!("https://sts.windows.net/{TID}/")));
        assert!(rules().routes_issuer("https://as.example") && !rules().routes_issuer("https://as.example/"));
    }

    #[test]
    fn entra_tenants_must_match_iss_and_the_allow_list() {
        let iss = |tid: &str| format!("https://login.microsoftonline.com/{tid}/v2.0");
        let token =
            |iss: String, tid: &str| json!({"iss": iss, "tid": tid, "aud": "api", "exp": 1_800_000_100});
        let code = |r: &ClaimRules, v: Value| run(r, v).map(|_| "ok").unwrap_or_else(|e| e.code());
        let listed = entra(&[TID]);
        assert_eq!(code(&listed, token(iss(TID), TID)), "ok");
        assert_eq!(code(&listed, token(iss(TID).to_uppercase(), TID)), "invalid_token");
        assert_eq!(code(&listed, token(iss(OTHER_TID), OTHER_TID)), "invalid_token", "not allowed");
        assert_eq!(code(&listed, token(iss(TID), OTHER_TID)), "invalid_token", "iss names another tenant");
        assert_eq!(
            code(&listed, json!({"iss": iss(TID), "aud": "api", "exp": 1_800_000_100})),
            "invalid_token"
        );
        assert_eq!(
            code(&listed, token("https://login.microsoftonline.com/{tenantid}/v2.0".into(), TID)),
            "invalid_token",
            "the template itself is no issuer"
        );
        let any = entra(&["any"]);
        assert_eq!(code(&any, token(iss(OTHER_TID), OTHER_TID)), "ok");
        assert_eq!(code(&any, token(iss(TID), OTHER_TID)), "invalid_token");
    }

    #[test]
    fn entra_scopes_are_a_string_and_app_tokens_have_roles() {
        let e = entra(&["any"]);
        let base = |extra: Value| {
            let mut v = json!({"iss": format!("https://login.microsoftonline.com/{TID}/v2.0"), "tid": TID,
                "aud": "api", "exp": 1_800_000_100});
            for (k, x) in extra.as_object().unwrap() {
                v[k] = x.clone();
            }
            run(&e, v).unwrap()
        };
        let info = base(json!({"scp": "Files.Read User.Read"}));
        assert_eq!(info.scopes, ["Files.Read", "User.Read"]);
        let info = base(json!({"roles": ["Orders.Write"]}));
        assert_eq!(
            (info.scopes.as_slice(), info.roles.as_slice()),
            (&["Orders.Write".to_owned()][..], &["Orders.Write".to_owned()][..])
        );
        assert!(
            base(json!({"scp": ["a"], "roles": ["b"]})).scopes.is_empty(),
            "a wrongly typed scp grants nothing"
        );
        // Everyone else keeps `scp` as an array: a string grants nothing.
        let Value::Object(m) =
            json!({"iss":"https://as.example","aud":"api","exp":1_800_000_100,"scp":"a b"})
        else {
            unreachable!()
        };
        assert!(rules().check(m, NOW, JWT, TokenSource::Jwt, None).unwrap().scopes.is_empty());
    }

    #[test]
    fn roles_come_from_a_name_or_a_pointer_and_only_when_well_typed() {
        let roles = |claim: &str, extra: Value| {
            let r = ClaimRules { roles_claim: Some(claim.into()), ..rules() };
            let mut v = json!({"iss":"https://as.example","aud":"api","exp":1_800_000_100});
            for (k, x) in extra.as_object().unwrap() {
                v[k] = x.clone();
            }
            run(&r, v).unwrap().roles
        };
        assert_eq!(
            roles("/realm_access/roles", json!({"realm_access": {"roles": ["admin", "user"]}})),
            ["admin", "user"]
        );
        let z = "urn:zitadel:iam:org:project:roles";
        assert_eq!(
            roles(z, json!({z: {"admin": {"1": "acme"}, "viewer": {"1": "acme"}}})),
            ["admin", "viewer"]
        );
        assert_eq!(roles("/a~1b/0", json!({"a/b": [["x"]]})), ["x"]);
        assert!(roles("permissions", json!({"permissions": "read"})).is_empty());
        assert!(roles("permissions", json!({"permissions": ["read", 1]})).is_empty());
        assert!(roles("/realm_access/roles", json!({"realm_access": ["admin"]})).is_empty());
        assert!(roles("missing", json!({})).is_empty());
        assert!(
            rules()
                .check(
                    Map::new(),
                    NOW,
                    Demands { registered_claims_required: false, ..JWT },
                    TokenSource::Jwt,
                    None
                )
                .unwrap()
                .roles
                .is_empty()
        );
    }

    #[test]
    fn audience_by_client_id_client_id_fallback_and_required_claims() {
        let cognito = ClaimRules {
            audience_claim: AudienceClaim::ClientId,
            required_claims: vec![("token_use".into(), json!("access"))],
            ..rules()
        };
        let code = |r: &ClaimRules, v: Value| run(r, v).map(|_| "ok").unwrap_or_else(|e| e.code());
        let base =
            json!({"iss":"https://as.example","exp":1_800_000_100,"client_id":"api","token_use":"access"});
        assert_eq!(code(&cognito, base.clone()), "ok", "no aud needed");
        let mut other = base.clone();
        other["client_id"] = json!("other");
        assert_eq!(code(&cognito, other), "invalid_token");
        let mut id_token = base.clone();
        id_token["token_use"] = json!("id");
        assert_eq!(code(&cognito, id_token), "invalid_token");
        let id_shape = json!({"iss":"https://as.example","exp":1_800_000_100,"aud":"api","token_use":"id"});
        assert_eq!(code(&cognito, id_shape), "invalid_token");
        let mut no_use = base.clone();
        no_use.as_object_mut().unwrap().remove("token_use");
        assert_eq!(code(&cognito, no_use), "invalid_token");
        let azp = ClaimRules { client_id_claim: Some("azp".into()), ..rules() };
        let info = run(&azp, json!({"iss":"https://as.example","aud":"api","exp":1_800_000_100,"azp":"web"}))
            .unwrap();
        assert_eq!(info.client_id.as_deref(), Some("web"));
        let info = run(
            &azp,
            json!({"iss":"https://as.example","aud":"api","exp":1_800_000_100,"azp":"web","client_id":"cli"}),
        )
        .unwrap();
        assert_eq!(info.client_id.as_deref(), Some("cli"), "client_id wins");
        let info =
            run(&azp, json!({"iss":"https://as.example","aud":"api","exp":1_800_000_100,"azp":5})).unwrap();
        assert_eq!(info.client_id, None);
    }

    #[test]
    fn guids_are_8_4_4_4_12_hex() {
        assert!(is_guid(TID) && is_guid(&TID.to_uppercase()));
        for bad in [
            "",
            "common",
            "72f988bf86f141af91ab2d7cd011db47",
            "72f988bf-86f1-41af-91ab-2d7cd011db4g",
            "72f988bf-86f1-41af-91ab-2d7cd011db47a",
        ] {
            assert!(!is_guid(bad), "{bad}");
        }
    }
}
