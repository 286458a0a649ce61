//! The introspection verdict, in one place: what an answer means, how long it may be reused,
//! and under which identity it is cached.
//!
//! - **Meaning.** `active: false` refuses. An active answer passes the shared claim rules
//!   (issuer, audience, times); a wrongly typed or out-of-range member means the server is
//!   broken (`unavailable`, never cached). Refresh, ID and logout tokens are refused whether
//!   the server says so in `token_type` (WSO2) or `typ` (Keycloak), and an answer without
//!   `exp` is refused unless `introspection.require_exp` is off (Doorkeeper answers refresh
//!   tokens with neither): such a token cannot be bounded.
//! - **Lifetime.** Positive verdicts live `cache.max_ttl_secs`, never past `exp`; negative
//!   ones `cache.negative_ttl_secs`; oversized answers are used but not cached; errors are
//!   never cached (that is the cache's rule).
//! - **Identity.** Two validators share a verdict only if everything that shapes it agrees:
//!   issuer, endpoint, the client id under every method, the method actually used, the
//!   response format, the audiences and the claim rules.

use std::time::Duration;

use serde_json::Value;
use url::Url;

use crate::cache::{Entry, Verdict, identity_digest};
use crate::claims::{ClaimRules, Demands, TokenSource};
use crate::client_auth::ClientAuth;
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::introspection::Answer;

/// Introspection responses larger than this are used but not cached.
pub(crate) const MAX_CACHED_RESPONSE_BYTES: usize = 16 * 1024;

/// How answers become cacheable verdicts for one validator.
#[derive(Debug, Clone)]
pub(crate) struct VerdictPolicy {
    caching: bool,
    max_ttl: Duration,
    negative_ttl: Duration,
    require_exp: bool,
    require_aud: bool,
}

/// Token types an introspection answer may name for an access token. `DPoP` (RFC 9449 §6.2)
/// is an access token bound to a key: `binding.rs` refuses it unless its `cnf.jkt` is proven.
const ACCESS_TOKEN_TYPES: &[&str] =
    &["bearer", "jwt", "access_token", "urn:ietf:params:oauth:token-type:access_token", "dpop"];

/// Keycloak's `typ` values for tokens that are not access tokens (keycloak#53012).
const NOT_ACCESS_TYPS: &[&str] = &["refresh", "offline", "id", "logout"];

/// Whether an introspected `token_type` names an access token. Refresh tokens (WSO2 answers
/// `"token_type":"Refresh"`) are refused; a `DPoP` token is judged by its binding
/// (`binding.rs`), per request.
pub fn token_type_accepted(token_type: Option<&Value>) -> Result<Option<String>> {
    match token_type {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(t)) if ACCESS_TOKEN_TYPES.iter().any(|a| t.eq_ignore_ascii_case(a)) => {
            Ok(Some(t.clone()))
        }
        Some(Value::String(_)) => {
            Err(Error::invalid_token("the token is not a bearer access token (token_type)"))
        }
        Some(_) => Err(Error::unavailable("introspection: the answer is malformed (token_type)")),
    }
}

/// Refuses Keycloak-style `typ` members naming a refresh, offline, ID or logout token.
fn typ_accepted(typ: Option<&Value>) -> Result<()> {
    match typ {
        Some(Value::String(t)) if NOT_ACCESS_TYPS.iter().any(|n| t.eq_ignore_ascii_case(n)) => {
            Err(Error::invalid_token("the token is not an access token (typ)"))
        }
        _ => Ok(()),
    }
}

impl VerdictPolicy {
    pub fn from_config(config: &Config) -> Self {
        VerdictPolicy {
            caching: config.cache.enabled,
            max_ttl: Duration::from_secs(config.cache.max_ttl_secs),
            negative_ttl: Duration::from_secs(config.cache.negative_ttl_secs),
            require_exp: config.introspection.require_exp,
            require_aud: config.introspection_requires_aud(),
        }
    }

    /// The digest every cache key of this validator starts with.
    pub fn identity(
        &self,
        config: &Config,
        rules: &ClaimRules,
        endpoint: &Url,
        auth: &ClientAuth,
    ) -> [u8; 32] {
        let audiences = rules.audiences.join("\n");
        let method = format!("{:?}", auth.method());
        let format = format!("{:?}", config.introspection_response);
        let claim_rules =
            format!("{rules:?} require_exp={} require_aud={}", self.require_exp, self.require_aud);
        identity_digest(&[
            &config.issuer,
            endpoint.as_str(),
            auth.client_id().unwrap_or(""),
            &method,
            &format,
            &audiences,
            &claim_rules,
        ])
    }

    /// What `answer` means at `now`, and for how long: an entry to cache, or an error that
    /// must not be cached (a broken server).
    pub fn entry(&self, rules: &ClaimRules, answer: Answer, size: usize, now: Duration) -> Result<Entry> {
        let refused = |e: Error| Verdict::Refused(e.kind(), e.detail().to_owned().into());
        let (verdict, ttl) = match answer {
            Answer::Inactive => (
                Verdict::Refused(ErrorKind::InvalidToken, "the token is not active".into()),
                self.negative_ttl,
            ),
            Answer::Active(claims) => match self.judge(rules, claims, now) {
                Ok(info) => {
                    let until_exp = info
                        .expires_at
                        .map(|exp| Duration::from_secs(u64::try_from(exp).unwrap_or(0)).saturating_sub(now))
                        .unwrap_or(Duration::MAX);
                    (Verdict::Active(std::sync::Arc::new(info)), self.max_ttl.min(until_exp))
                }
                Err(e) if matches!(e.kind(), ErrorKind::InvalidToken | ErrorKind::TokenExpired) => {
                    (refused(e), self.negative_ttl)
                }
                Err(e) => return Err(e),
            },
        };
        let ttl = if self.caching && size <= MAX_CACHED_RESPONSE_BYTES { ttl } else { Duration::ZERO };
        Ok(Entry {
            verdict: std::sync::Arc::new(verdict),
            expires_at: now.saturating_add(ttl),
            ttl,
            key_set: None,
        })
    }

    /// The entry for a verdict read from the shared tier: judged again at `now` like a fresh
    /// answer, and reused no longer than the instance that stored it allowed (`exp_ms`).
    pub fn rebuild(&self, rules: &ClaimRules, stored: crate::seal::Stored, now: Duration) -> Option<Entry> {
        let until = Duration::from_millis(stored.exp_ms);
        let mut entry = self.entry(rules, stored.answer, 0, now).ok()?;
        entry.expires_at = entry.expires_at.min(until);
        entry.ttl = entry.ttl.min(until.saturating_sub(now));
        (entry.expires_at > now).then_some(entry)
    }

    fn judge(
        &self,
        rules: &ClaimRules,
        claims: serde_json::Map<String, Value>,
        now: Duration,
    ) -> Result<crate::claims::TokenInfo> {
        let token_type = token_type_accepted(claims.get("token_type"))?;
        typ_accepted(claims.get("typ"))?;
        let demands = Demands {
            registered_claims_required: false,
            rfc9068_strict: false,
            malformed_is_unavailable: true,
        };
        let mut info = rules.check(claims, now, demands, TokenSource::Introspection, token_type)?;
        if self.require_aud && info.audiences.is_empty() {
            return Err(Error::invalid_token(
                "the introspection answer has no aud naming this resource (introspection.require_aud)",
            ));
        }
        if self.require_exp && info.expires_at.is_none() {
            return Err(Error::invalid_token(
                "the introspection answer has no exp (introspection.require_exp)",
            ));
        }
        // The parsed map has room to grow; a cached verdict never will.
        info.claims = std::mem::take(&mut info.claims).into_iter().collect();
        Ok(info)
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
            leeway: 60,
            max_lifetime: None,
            scope_claim: crate::config::ScopeClaim::Auto,
            canonical_audience: false,
            implied: std::sync::Arc::default(),
            ..ClaimRules::default()
        }
    }

    #[test]
    fn an_answer_without_aud_is_refused_when_resource_is_set_unless_switched_off() {
        let answer = || {
            let Value::Object(m) = json!({"active":true,"exp":1_800_000_100,"iss":"https://as.example"})
            else {
                unreachable!()
            };
            m
        };
        let run = |c: &Config| {
            let entry =
                VerdictPolicy::from_config(c).entry(&rules(), Answer::Active(answer()), 100, NOW).unwrap();
            matches!(&*entry.verdict, Verdict::Active(_))
        };
        let mut c = Config::new("https://as.example", "api");
        assert!(run(&c), "no resource: RFC 7662 makes aud optional");
        c.resource = Some("https://h.example/mcp".into());
        assert!(!run(&c), "resource set: aud required");
        c.introspection.require_aud = Some(false);
        assert!(run(&c), "the documented switch");
        c.resource = None;
        c.introspection.require_aud = Some(true);
        assert!(!run(&c));
    }

    const NOW: Duration = Duration::from_secs(1_800_000_000);

    fn judge(require_exp: bool, answer: Value) -> std::result::Result<Duration, &'static str> {
        let mut config = Config::new("https://as.example", "api");
        config.introspection.require_exp = require_exp;
        let policy = VerdictPolicy::from_config(&config);
        let Value::Object(m) = answer else { unreachable!() };
        let entry = policy.entry(&rules(), Answer::Active(m), 100, NOW).map_err(|e| e.code())?;
        match &*entry.verdict {
            Verdict::Active(_) => Ok(entry.ttl),
            Verdict::Refused(kind, _) => Err(kind.code()),
        }
    }

    #[test]
    fn refresh_and_bound_token_types_are_refused() {
        for ok in [None, Some(json!("Bearer")), Some(json!("bearer")), Some(json!("JWT"))] {
            assert!(token_type_accepted(ok.as_ref()).is_ok());
        }
        assert!(token_type_accepted(Some(&json!("DPoP"))).is_ok(), "judged by its binding");
        for bad in [json!("Refresh"), json!("refresh_token"), json!("id_token")] {
            assert_eq!(token_type_accepted(Some(&bad)).unwrap_err().code(), "invalid_token");
        }
        assert_eq!(token_type_accepted(Some(&json!(1))).unwrap_err().code(), "unavailable");
        let exp = 1_800_000_100_u64;
        for typ in ["Refresh", "refresh", "OFFLINE", "Offline", "ID", "Logout"] {
            assert_eq!(
                judge(true, json!({"active": true, "exp": exp, "typ": typ})),
                Err("invalid_token"),
                "{typ}"
            );
        }
        assert!(judge(true, json!({"active": true, "exp": exp, "typ": "Bearer"})).is_ok());
    }

    #[test]
    fn answers_without_exp_are_refused_unless_allowed() {
        let doorkeeper = json!({"active": true, "scope": "read", "client_id": "c"});
        assert_eq!(judge(true, doorkeeper.clone()), Err("invalid_token"));
        assert_eq!(judge(false, doorkeeper), Ok(Duration::from_secs(300)), "capped by max_ttl");
        assert_eq!(
            judge(true, json!({"active": true, "exp": 1_800_000_100_u64})),
            Ok(Duration::from_secs(100))
        );
    }

    #[test]
    fn a_broken_server_is_unavailable_never_a_verdict() {
        for broken in [
            json!({"active": true, "exp": "1800000100"}),
            json!({"active": true, "exp": 1e308}),
            json!({"active": true, "exp": 1_800_000_100_u64, "iat": "x"}),
            json!({"active": true, "exp": 1_800_000_100_u64, "nbf": -5}),
            json!({"active": true, "exp": 253_402_300_800_u64}),
            json!({"active": true, "exp": 1_800_000_100_u64, "token_type": 1}),
        ] {
            assert_eq!(judge(true, broken.clone()), Err("unavailable"), "{broken}");
        }
        // A token for someone else is still the token's fault.
        assert_eq!(
            judge(true, json!({"active": true, "exp": 1_800_000_100_u64, "aud": "other"})),
            Err("invalid_token")
        );
    }

    #[test]
    fn the_identity_names_the_client_and_method_under_every_method() {
        let endpoint = Url::parse("https://as.example/introspect").unwrap();
        let identity = |f: &dyn Fn(&mut Config)| {
            let mut c = Config::new("https://as.example", "api");
            c.client_auth.client_id = Some("rs".into());
            c.client_auth.client_secret = Some(crate::Secret::new("0123456789abcdef0123456789abcdef"));
            f(&mut c);
            let auth = ClientAuth::from_config(&c).unwrap();
            VerdictPolicy::from_config(&c).identity(&c, &rules(), &endpoint, &auth)
        };
        let base = identity(&|_| {});
        assert_ne!(
            identity(&|c| c.client_auth.client_id = Some("other".into())),
            base,
            "client id under basic"
        );
        assert_ne!(
            identity(&|c| c.client_auth.method = Some(crate::ClientAuthMethod::ClientSecretPost)),
            base,
            "the method used"
        );
        assert_eq!(
            identity(&|c| c.client_auth.method = Some(crate::ClientAuthMethod::ClientSecretBasic)),
            base,
            "the method used, not the option: basic is what an unset option infers here"
        );
        assert_ne!(identity(&|c| c.introspection.require_exp = false), base, "claim rules");
        assert_ne!(identity(&|c| c.introspection_response = crate::IntrospectionResponseFormat::Jwt), base);
    }
}
