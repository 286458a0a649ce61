//! Where a token goes, decided before any I/O: the cheap refusals, routing by shape, and for
//! JWTs the keyless parse and the claim checks.
//!
//! | strategy | JWS shape | JWE shape | opaque |
//! | --- | --- | --- | --- |
//! | `auto` | local (introspected only when no JWKS is known) | refused | introspected |
//! | `jwt` | local | refused | refused |
//! | `introspect_all` | local, then introspected | refused | introspected |
//! | `introspection` | introspected | introspected | introspected |
//!
//! A JOSE object is recognised by its shape (a first segment that opens a JSON object), so a
//! malformed one is refused here instead of being sent, with our credentials, to the
//! authorization server. Under `introspection` the operator chose to let the server decide
//! about every token, JWE included.

use std::time::Duration;

use crate::algorithms::Alg;
use crate::claims::{ClaimRules, Demands, TokenInfo, TokenSource};
use crate::config::{Config, Strategy};
use crate::error::{Error, ErrorKind, Result};
use crate::jwt::{ParsedJws, Shape, TypPolicy, parse_compact, shape};

/// The path a token takes.
#[derive(Debug)]
pub(crate) enum Route<'t> {
    /// A JWS that passed every keyless check; `info` is returned only once its signature
    /// verifies. With `then_introspect`, the server is asked as well (revocation).
    Jwt { jws: Box<ParsedJws<'t>>, info: Box<TokenInfo>, then_introspect: bool },
    /// Ask the authorization server.
    Introspect,
}

impl Route<'_> {
    /// The same route, owning everything (for a decision that must wait for I/O).
    pub fn into_owned(self) -> Route<'static> {
        match self {
            Route::Jwt { jws, info, then_introspect } => {
                Route::Jwt { jws: Box::new(jws.into_owned()), info, then_introspect }
            }
            Route::Introspect => Route::Introspect,
        }
    }
}

/// The keyless rules of one validator.
#[derive(Debug)]
pub(crate) struct Router {
    strategy: Strategy,
    algorithms: Vec<Alg>,
    max_token_bytes: usize,
    rfc9068_strict: bool,
}

impl Router {
    pub fn new(config: &Config, algorithms: Vec<Alg>) -> Self {
        Router {
            strategy: config.strategy,
            algorithms,
            max_token_bytes: config.max_token_bytes,
            rfc9068_strict: config.rfc9068_strict,
        }
    }

    /// Routes `token` at `now`, refusing whatever needs no key and no network to refuse.
    pub fn route<'t>(&self, token: &'t str, rules: &ClaimRules, now: Duration) -> Result<Route<'t>> {
        if token.is_empty() {
            return Err(Error::new(ErrorKind::MissingToken, "no bearer token in the request"));
        }
        if token.len() > self.max_token_bytes {
            return Err(Error::invalid_token("the token is over the size limit"));
        }
        if !crate::header::is_b64token(token) {
            return Err(Error::invalid_token("the token has characters a bearer token cannot have"));
        }
        let then_introspect = match (self.strategy, shape(token)) {
            (Strategy::Introspection, _) => return Ok(Route::Introspect),
            (Strategy::Jwt, Shape::Opaque) => {
                // The parser's refusal says what is wrong (JSON serialization, parts, ...).
                parse_compact(token, &self.algorithms, self.max_token_bytes, self.typ_policy())?;
                return Err(Error::invalid_token("the token is not a compact JWS"));
            }
            (Strategy::Auto | Strategy::IntrospectAll, Shape::Opaque) => return Ok(Route::Introspect),
            (_, Shape::Jwe) => return Err(Error::invalid_token("encrypted tokens (JWE) are not accepted")),
            (strategy, Shape::Jws) => strategy == Strategy::IntrospectAll,
        };
        let mut jws = parse_compact(token, &self.algorithms, self.max_token_bytes, self.typ_policy())?;
        let demands = Demands {
            registered_claims_required: true,
            rfc9068_strict: self.rfc9068_strict,
            malformed_is_unavailable: false,
        };
        // Claims are read before the signature only to reject early; the info built here is
        // returned only after the signature verifies.
        let info =
            rules.check(std::mem::take(&mut jws.payload), now, demands, TokenSource::Jwt, jws.typ.clone())?;
        Ok(Route::Jwt { jws: Box::new(jws), info: Box::new(info), then_introspect })
    }

    fn typ_policy(&self) -> TypPolicy {
        TypPolicy::AccessToken { strict: self.rfc9068_strict }
    }
}
