//! What a call requires of a token's scopes: the configured `required_scopes` plus the
//! per-call ones, checked on every decision (cache hit or not), and the scopes a challenge
//! names (RFC 6750 §3, MCP authorization: with `resource` set, a 401 says what the operation
//! needs).

use std::sync::Arc;

use crate::claims::{TokenInfo, is_scope_token};
use crate::config::Config;
use crate::error::{Error, Result};

/// The scope rules of one validator.
pub(crate) struct ScopeRules {
    /// `required_scopes`: every call needs them.
    required: Vec<String>,
    /// A 401 names the needed scopes (set when `resource` is configured).
    name_in_challenge: bool,
}

impl ScopeRules {
    pub fn from_config(config: &Config) -> Self {
        ScopeRules { required: config.required_scopes.clone(), name_in_challenge: config.resource.is_some() }
    }

    /// Per-call scopes are the app's own strings: one outside the RFC 6749 character set is a
    /// programming error, refused before it can reach a response header.
    pub fn check_names<S: AsRef<str>>(scopes: &[S]) -> Result<()> {
        if scopes.iter().all(|s| is_scope_token(s.as_ref())) {
            Ok(())
        } else {
            Err(Error::config("a required scope is not an RFC 6749 scope token"))
        }
    }

    /// Every scope a call needs: the configured ones, then the per-call ones not among them.
    fn needed<S: AsRef<str>>(&self, scopes: &[S]) -> Vec<String> {
        let mut all = self.required.clone();
        for s in scopes {
            if !all.iter().any(|a| a == s.as_ref()) {
                all.push(s.as_ref().to_owned());
            }
        }
        all
    }

    /// A 401 names the scopes the operation needs, when this validator is a named resource.
    pub fn annotate<S: AsRef<str>>(&self, error: Error, scopes: &[S]) -> Error {
        if self.name_in_challenge && error.http_status() == 401 {
            error.with_challenge_scopes(self.needed(scopes))
        } else {
            error
        }
    }

    /// Refuses `answer` unless it grants the configured and the per-call scopes.
    pub fn require<S: AsRef<str>>(
        &self,
        answer: Result<Arc<TokenInfo>>,
        scopes: &[S],
    ) -> Result<Arc<TokenInfo>> {
        let info = answer.map_err(|e| self.annotate(e, scopes))?;
        let granted = |s: &str| info.scopes.iter().any(|g| g == s);
        if self.required.iter().all(|s| granted(s)) && scopes.iter().all(|s| granted(s.as_ref())) {
            return Ok(info);
        }
        Err(Error::insufficient_scope(&self.needed(scopes)))
    }
}
