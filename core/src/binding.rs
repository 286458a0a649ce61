//! Sender-constrained tokens: what a request presents besides its token (the scheme, a DPoP
//! proof, a client certificate) and whether that proves the token's `cnf` binding
//! (RFC 9449 §7, RFC 8705 §3), under the validator's `sender_constraint` policy.
//!
//! The proof is checked before the token (no I/O, a cheap refusal); the binding after the
//! token is known, on every call (cache and memo hits included), before scopes; the proof's
//! `jti` is recorded last, so a refused request uses up nothing and of two identical requests
//! at most one is accepted.

use std::sync::Arc;

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::Value;

use crate::claims::TokenInfo;
use crate::config::{Config, SenderConstraint};
use crate::dpop::{CheckedProof, Proofs};
use crate::error::{DpopChallenge, Error, ErrorKind, Result};
use crate::header::Scheme;
use crate::replay::ReplayStore;
use crate::request::{ClientCertificate, Request};

/// What a request presents besides its token.
#[derive(Debug, Clone, Default)]
pub(crate) struct Presented {
    pub scheme: Scheme,
    pub proof: Option<CheckedProof>,
    /// SHA-256 of the client certificate's DER; `Err` when the trusted header was malformed.
    pub certificate: Option<std::result::Result<[u8; 32], ()>>,
}

/// The sender-constraint rules of one validator.
#[derive(Debug)]
pub(crate) struct Binding {
    policy: SenderConstraint,
    allow_unbound_dpop: bool,
    certificate_header: Option<String>,
    /// Proof rules, when bound tokens may be accepted at all.
    pub proofs: Option<Proofs>,
}

fn invalid(detail: &'static str) -> Error {
    Error::invalid_token(detail)
}

impl Binding {
    /// The rules of `config` (checked by `check.rs` first).
    pub fn from_config(config: &Config, store: Option<Arc<dyn ReplayStore>>) -> Result<Self> {
        let proofs = match (config.sender_constraint, store) {
            (SenderConstraint::None, _) => None,
            (_, None) => Some(Proofs::from_config(config)?),
            (_, Some(store)) => Some(Proofs::from_config(config)?.with_store(store)),
        };
        Ok(Binding {
            policy: config.sender_constraint,
            allow_unbound_dpop: config.dpop.allow_unbound_tokens,
            certificate_header: config.client_certificate_header.as_ref().map(|h| h.to_ascii_lowercase()),
            proofs,
        })
    }

    /// Whether bound tokens may be accepted (`allow` or `require`).
    pub fn active(&self) -> bool {
        self.proofs.is_some()
    }

    /// The token of `request` and what it presents: its one `Authorization` line (the `DPoP`
    /// scheme only when DPoP is on), its proof checked, its certificate's thumbprint.
    pub fn presented<'r>(&self, request: &'r Request, now: u64) -> Result<(&'r str, Presented)> {
        let Some(proofs) = &self.proofs else {
            return Ok((request.bearer_token()?, Presented::default()));
        };
        let authorization = match request.authorization.as_slice() {
            [] => None,
            [one] => Some(one.as_str()),
            _ => {
                return Err(Error::new(
                    ErrorKind::InvalidRequest,
                    "the request has more than one Authorization header",
                ));
            }
        };
        let (scheme, token) = crate::header::credentials(authorization, true)?;
        let proof = match scheme {
            Scheme::Dpop => {
                Some(proofs.check(&request.dpop, token, &request.method, request.url.as_deref(), now)?)
            }
            Scheme::Bearer => None,
        };
        let certificate = match &request.client_certificate {
            Some(ClientCertificate::Der(der)) => Some(Ok(sha256(der))),
            Some(ClientCertificate::Sha256(hash)) => Some(Ok(*hash)),
            None => self.header_certificate(request),
        };
        Ok((token, Presented { scheme, proof, certificate }))
    }

    /// The certificate in the trusted proxy's header (RFC 9440: `:base64(DER):`), if one is
    /// configured and present; two such headers count as malformed.
    fn header_certificate(&self, request: &Request) -> Option<std::result::Result<[u8; 32], ()>> {
        let name = self.certificate_header.as_deref()?;
        let mut values = request.headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name));
        let value = values.next()?.1.trim_matches([' ', '\t']);
        if values.next().is_some() {
            return Some(Err(()));
        }
        let der = value
            .strip_prefix(':')
            .and_then(|v| v.strip_suffix(':'))
            .and_then(|b64| STANDARD.decode(b64).ok())
            .filter(|der| !der.is_empty());
        Some(der.map(|der| sha256(&der)).ok_or(()))
    }

    /// Whether the token `info` is bound as `presented` proves; records the proof. Scopes are
    /// checked after this.
    pub fn check(
        &self,
        answer: Result<Arc<TokenInfo>>,
        presented: &Presented,
        now: u64,
    ) -> Result<Arc<TokenInfo>> {
        let info = answer?;
        let cnf = match info.claims.get("cnf") {
            None => None,
            Some(Value::Object(cnf)) => Some(cnf),
            Some(_) => return Err(invalid("the cnf claim is not an object")),
        };
        // An introspection answer saying `token_type: DPoP` is bound, whatever its `cnf` says.
        let dpop_type = info.token_type.as_deref().is_some_and(|t| t.eq_ignore_ascii_case("dpop"));
        if dpop_type && !cnf.is_some_and(|c| c.contains_key("jkt")) {
            return Err(invalid("the token is DPoP-bound (token_type) but names no key (cnf.jkt)"));
        }
        let Some(proofs) = &self.proofs else {
            // RFC 9449 / RFC 8705 off: accepting a bound token as Bearer would drop its binding.
            return match cnf {
                Some(_) => Err(invalid("the token is bound to a key (cnf)")),
                None => Ok(info),
            };
        };
        let member = |name: &str| match cnf.and_then(|c| c.get(name)) {
            None => Ok(None),
            Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.as_str())),
            Some(_) => Err(invalid("the cnf claim is malformed")),
        };
        let (jkt, x5t) = (member("jkt")?, member("x5t#S256")?);
        if cnf.is_some() && jkt.is_none() && x5t.is_none() {
            return Err(invalid("the token is bound by a confirmation method bearerguard cannot check"));
        }
        match (jkt, presented.scheme) {
            (Some(_), Scheme::Bearer) => return Err(invalid("a DPoP-bound token was sent as Bearer")),
            (Some(jkt), Scheme::Dpop) => {
                if presented.proof.as_ref().is_none_or(|p| p.jkt != jkt) {
                    return Err(invalid("the DPoP proof is signed by a key the token is not bound to"));
                }
            }
            (None, Scheme::Dpop) if !self.allow_unbound_dpop => {
                return Err(invalid("an unbound token was sent with the DPoP scheme"));
            }
            (None, _) => {}
        }
        if let Some(x5t) = x5t {
            let want = URL_SAFE_NO_PAD.decode(x5t).map_err(|_| invalid("the cnf claim is malformed"))?;
            match &presented.certificate {
                Some(Ok(hash)) if hash.as_slice() == want.as_slice() => {}
                Some(Ok(_)) => return Err(invalid("the token is bound to another client certificate")),
                Some(Err(())) => return Err(invalid("the client certificate header is malformed")),
                None => {
                    return Err(invalid("the token is bound to a client certificate and none was presented"));
                }
            }
        }
        if self.policy == SenderConstraint::Require && cnf.is_none() {
            return Err(invalid("this API accepts only sender-constrained tokens"));
        }
        if let Some(proof) = &presented.proof {
            proofs.commit(proof, now)?;
        }
        match proofs.nonce(now) {
            Some(nonce) => Ok(Arc::new(TokenInfo { dpop_nonce: Some(nonce), ..(*info).clone() })),
            None => Ok(info),
        }
    }

    /// `e` with this validator's `DPoP` challenge (and nonce), when DPoP is on.
    pub fn challenge(&self, e: Error, used_dpop: bool, now: u64) -> Error {
        match &self.proofs {
            None => e,
            Some(proofs) => e.with_dpop(DpopChallenge {
                algs: proofs.algs.clone(),
                bearer: self.policy != SenderConstraint::Require,
                used_dpop,
                nonce: proofs.nonce(now),
            }),
        }
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, bytes).as_ref());
    out
}
