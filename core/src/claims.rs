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

use crate::config::ScopeClaim;
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
            .field("audiences", &self.audiences)
            .field("issuer", &self.issuer)
            .field("expires_at", &self.expires_at)
            .field("source", &self.source)
            .field("claims", &format_args!("[{} claims]", self.claims.len()))
            .finish()
    }
}

impl TokenInfo {
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

/// The rules a validator applies to a claim set.
#[derive(Debug, Clone)]
pub(crate) struct ClaimRules {
    pub issuer: String,
    pub audiences: Vec<String>,
    pub leeway: u64,
    pub max_lifetime: Option<u64>,
    pub scope_claim: ScopeClaim,
    /// Audiences compare as canonical URIs (RES-1): on when `resource` is set.
    pub canonical_audience: bool,
    /// The scope hierarchy, closed transitively: each scope and every scope it implies.
    pub implied: Arc<ScopeImplications>,
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
    /// Whether a token's unverified `iss` belongs to this validator (routing among many
    /// issuers, before any check): the configured issuer, byte for byte.
    pub(crate) fn routes_issuer(&self, iss: &str) -> bool {
        iss == self.issuer
    }

    /// The rules `config` sets (checked by `check.rs` first).
    pub fn from_config(config: &crate::config::Config) -> Self {
        ClaimRules {
            issuer: config.issuer.clone(),
            audiences: config.effective_audiences(),
            leeway: config.leeway_secs,
            max_lifetime: config.max_token_lifetime_secs,
            scope_claim: config.scope_claim,
            canonical_audience: config.resource.is_some(),
            implied: Arc::new(ScopeImplications::new(&config.implied_scopes)),
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
            Some(Value::String(iss)) if *iss == self.issuer => Some(iss.clone()),
            Some(Value::String(_)) => return Err(Error::invalid_token("the issuer is not accepted")),
            Some(_) => return Err(Error::invalid_token("the iss claim is not a string")),
            None if required => return Err(Error::invalid_token("the iss claim is missing")),
            None => None,
        };

        let audiences = match claims.get("aud") {
            None if required => return Err(Error::invalid_token("the aud claim is missing")),
            None => Vec::new(),
            Some(value) => {
                let auds = string_list(value)
                    .ok_or(Error::invalid_token("the aud claim is not a string or array of strings"))?;
                if auds.is_empty() {
                    return Err(Error::invalid_token("the aud claim is empty"));
                }
                let canonical = self.canonical_audience;
                if !auds.iter().any(|a| {
                    self.audiences.iter().any(|c| crate::resource::audience_matches(c, a, canonical))
                }) {
                    return Err(Error::invalid_token("the audience is not accepted"));
                }
                auds
            }
        };

        let subject = optional_string(&claims, "sub")?;
        let client_id = optional_string(&claims, "client_id")?;
        let jti = optional_string(&claims, "jti")?;
        if demands.rfc9068_strict
            && (subject.is_none() || client_id.is_none() || jti.is_none() || iat.is_none())
        {
            return Err(Error::invalid_token("an RFC 9068 required claim is missing"));
        }
        // A key-bound token (`cnf`, RFC 9449 / RFC 8705) is judged per request, on every call,
        // by `binding.rs`: what proves the binding is in the request, not the token.
        let username = match claims.get("username").or_else(|| claims.get("preferred_username")) {
            Some(Value::String(s)) => Some(s.clone()),
            _ => None,
        };
        let scopes = self.scopes(&claims);

        Ok(TokenInfo {
            subject,
            client_id,
            username,
            scopes,
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
            Some(Value::String(s)) => {
                Some(s.split(' ').filter(|s| !s.is_empty()).map(str::to_owned).collect())
            }
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
        };
        self.implied.expand(found.unwrap_or_default())
    }
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
}
