//! The endpoints a validator talks to: configured ones checked at build time, the rest found
//! by discovery on first use, with a short back-off after a failed discovery so an outage
//! does not turn every call into two metadata fetches.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OnceCell, Semaphore};
use url::Url;

use crate::algorithms::Alg;
use crate::claims::ClaimRules;
use crate::client_auth::ClientAuth;
use crate::clock::SharedClock;
use crate::config::{Config, IntrospectionResponseFormat, Strategy};
use crate::error::{Error, Result};
use crate::http::{HttpClient, check_url};
use crate::introspection::{Introspector, NewTokenLimit, Signed};
use crate::jwks::Jwks;
use crate::metrics::Endpoint;
use crate::verdict::VerdictPolicy;

/// After discovery fails, calls within this window fail fast instead of retrying it.
const DISCOVERY_BACKOFF: Duration = Duration::from_secs(2);

/// The JWKS cache and introspector of a validator, once their endpoints are known.
pub(crate) struct Resolved {
    pub jwks: Option<Arc<Jwks>>,
    pub introspector: Option<Arc<Introspector>>,
    /// Digest of everything that shapes an introspection verdict (see `verdict`).
    pub identity: [u8; 32],
}

/// What assembling needs, kept from the build.
pub(crate) struct Endpoints {
    config: Config,
    http: HttpClient,
    auth: Arc<ClientAuth>,
    clock: SharedClock,
    algorithms: Vec<Alg>,
    rules: ClaimRules,
    policy: VerdictPolicy,
    resolved: OnceCell<Arc<Resolved>>,
    discovery_failure: Mutex<Option<(Duration, Error)>>,
}

impl Endpoints {
    /// Checks what the config fixes now; without discovery, this assembles everything.
    pub fn new(
        config: &Config,
        http: HttpClient,
        auth: Arc<ClientAuth>,
        clock: SharedClock,
        algorithms: Vec<Alg>,
        rules: ClaimRules,
        policy: VerdictPolicy,
    ) -> Result<Self> {
        let endpoints = Endpoints {
            config: config.clone(),
            http,
            auth,
            clock,
            algorithms,
            rules,
            policy,
            resolved: OnceCell::new(),
            discovery_failure: Mutex::new(None),
        };
        if !endpoints.needs_discovery() {
            let resolved = endpoints.assemble(None)?;
            let _ = endpoints.resolved.set(resolved);
        }
        Ok(endpoints)
    }

    fn wants_jwks(&self) -> bool {
        !matches!(self.config.strategy, Strategy::Introspection)
            || self.config.introspection_response == IntrospectionResponseFormat::Jwt
    }

    fn wants_introspection(&self) -> bool {
        !matches!(self.config.strategy, Strategy::Jwt)
    }

    fn needs_discovery(&self) -> bool {
        self.config.discovery
            && ((self.wants_jwks() && self.config.jwks_uri.is_none())
                || (self.wants_introspection() && self.config.introspection_endpoint.is_none()))
    }

    /// The endpoints if already known, without waiting.
    pub fn get(&self) -> Option<&Arc<Resolved>> {
        self.resolved.get()
    }

    /// The endpoints, discovering them on first use.
    pub async fn resolve(&self) -> Result<Arc<Resolved>> {
        if let Some(r) = self.resolved.get() {
            return Ok(Arc::clone(r));
        }
        if let Some((at, e)) = &*self.discovery_failure.lock().unwrap_or_else(|p| p.into_inner())
            && self.clock.now() < at.saturating_add(DISCOVERY_BACKOFF)
        {
            return Err(e.clone());
        }
        let result = self
            .resolved
            .get_or_try_init(|| async {
                let metadata = crate::discovery::discover(
                    &self.http.for_endpoint(Endpoint::Discovery),
                    &self.config.issuer,
                    self.config.http.allow_insecure_http,
                )
                .await?;
                self.assemble(Some(metadata))
            })
            .await;
        match result {
            Ok(r) => Ok(Arc::clone(r)),
            Err(e) => {
                tracing::warn!(issuer = %self.config.issuer, error = %e, "discovery failed");
                *self.discovery_failure.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some((self.clock.now(), e.clone()));
                Err(e)
            }
        }
    }

    /// Builds the JWKS cache and introspector from configured and discovered endpoints.
    fn assemble(&self, discovered: Option<crate::discovery::Metadata>) -> Result<Arc<Resolved>> {
        let c = &self.config;
        let insecure = c.http.allow_insecure_http;
        let discovered = discovered.unwrap_or_default();
        let pick = |field: &str, configured: &Option<String>, found: Option<Url>| -> Result<Option<Url>> {
            match configured {
                Some(u) => check_url(field, u, insecure).map(Some),
                None => Ok(found),
            }
        };
        let jwks_uri = pick("jwks_uri", &c.jwks_uri, discovered.jwks_uri)?;
        // Asgardeo and WSO2 name theirs in discovery; without it, derived from the issuer.
        let introspection =
            pick("introspection_endpoint", &c.introspection_endpoint, discovered.introspection_endpoint)?
                .or_else(|| crate::presets::introspection_endpoint(c));
        let token_endpoint = pick("token_endpoint", &c.token_endpoint, discovered.token_endpoint)?;

        if self.wants_jwks() && !self.wants_introspection() && jwks_uri.is_none() {
            return Err(Error::config("strategy `jwt` needs a `jwks_uri` (configured or discovered)"));
        }
        if matches!(c.strategy, Strategy::Introspection | Strategy::IntrospectAll) && introspection.is_none()
        {
            return Err(Error::config(
                "this strategy needs an `introspection_endpoint` (configured or discovered)",
            ));
        }
        if jwks_uri.is_none() && introspection.is_none() {
            return Err(Error::config("neither a `jwks_uri` nor an `introspection_endpoint` is known"));
        }
        let jwks = jwks_uri.filter(|_| self.wants_jwks()).map(|url| {
            Arc::new(Jwks::new(
                url,
                self.http.for_endpoint(Endpoint::Jwks),
                Arc::clone(&self.clock),
                c.jwks.clone(),
            ))
        });
        let signed = match c.introspection_response {
            IntrospectionResponseFormat::Json => None,
            IntrospectionResponseFormat::Jwt => Some(Signed {
                jwks: jwks
                    .clone()
                    .ok_or_else(|| Error::config("signed introspection responses need a `jwks_uri`"))?,
                algorithms: self.algorithms.clone(),
                leeway: c.leeway_secs,
                max_age: c.introspection.signed_response_max_age_secs,
            }),
        };
        let introspector = introspection.filter(|_| self.wants_introspection()).map(|endpoint| {
            Arc::new(Introspector {
                endpoint,
                http: self.http.for_endpoint(Endpoint::Introspection),
                auth: Arc::clone(&self.auth),
                issuer: c.issuer.clone(),
                token_endpoint,
                semaphore: Semaphore::new(c.http.max_concurrent_requests),
                retry: c.http.retry,
                max_bytes: c.http.max_response_bytes,
                signed,
                clock: Arc::clone(&self.clock),
                deadline: Duration::from_millis(c.http.timeout_ms),
                new_tokens: NewTokenLimit::new(c.introspection.max_new_tokens_per_sec),
                requests: Default::default(),
            })
        });
        let identity = match &introspector {
            Some(i) => self.policy.identity(c, &self.rules, &i.endpoint, &self.auth),
            None => [0; 32],
        };
        Ok(Arc::new(Resolved { jwks, introspector, identity }))
    }
}
