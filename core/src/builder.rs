//! [`ValidatorBuilder`]: a [`Validator`] step by step, for Rust users; every setter maps to
//! one [`Config`] field, so the builder and a config file can never disagree.

use crate::clock::SharedClock;
use crate::config::{Config, Secret, Strategy};
use crate::error::Result;
use crate::validator::Validator;

/// Builds a [`Validator`] step by step; every setter maps to one [`Config`] field.
#[derive(Debug, Clone)]
#[must_use]
pub struct ValidatorBuilder {
    pub(crate) config: Config,
    pub(crate) clock: Option<SharedClock>,
    pub(crate) replay_store: Option<std::sync::Arc<dyn crate::replay::ReplayStore>>,
    pub(crate) resolver: Option<Resolver>,
}

/// An [`IssuerResolver`](crate::IssuerResolver) held by a builder (its `Debug` names it only).
#[derive(Clone)]
pub(crate) struct Resolver(pub std::sync::Arc<dyn crate::issuers::IssuerResolver>);

impl std::fmt::Debug for Resolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("IssuerResolver")
    }
}

impl ValidatorBuilder {
    /// Adds an accepted audience.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.config.audience.0.push(audience.into());
        self
    }
    /// Sets the strategy.
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.config.strategy = strategy;
        self
    }
    /// Turns discovery on or off.
    pub fn discovery(mut self, on: bool) -> Self {
        self.config.discovery = on;
        self
    }
    /// Sets the introspection endpoint.
    pub fn introspection_endpoint(mut self, url: impl Into<String>) -> Self {
        self.config.introspection_endpoint = Some(url.into());
        self
    }
    /// Sets the JWKS location.
    pub fn jwks_uri(mut self, url: impl Into<String>) -> Self {
        self.config.jwks_uri = Some(url.into());
        self
    }
    /// Authenticates with HTTP Basic.
    pub fn client_secret_basic(mut self, client_id: impl Into<String>, secret: impl Into<String>) -> Self {
        self.config.client_auth.client_id = Some(client_id.into());
        self.config.client_auth.client_secret = Some(Secret::new(secret));
        self.config.client_auth.method = Some(crate::ClientAuthMethod::ClientSecretBasic);
        self
    }
    /// Authenticates with `client_id`/`client_secret` in the form body.
    pub fn client_secret_post(mut self, client_id: impl Into<String>, secret: impl Into<String>) -> Self {
        self.config.client_auth.client_id = Some(client_id.into());
        self.config.client_auth.client_secret = Some(Secret::new(secret));
        self.config.client_auth.method = Some(crate::ClientAuthMethod::ClientSecretPost);
        self
    }
    /// Authenticates with a private key (PEM or private JWK).
    pub fn private_key_jwt(mut self, client_id: impl Into<String>, private_key: impl Into<String>) -> Self {
        self.config.client_auth.client_id = Some(client_id.into());
        self.config.client_auth.private_key = Some(Secret::new(private_key));
        self.config.client_auth.method = Some(crate::ClientAuthMethod::PrivateKeyJwt);
        self
    }
    /// Authenticates with a ZITADEL application key file.
    pub fn key_file(mut self, path: impl Into<String>) -> Self {
        self.config.client_auth.key_file = Some(path.into());
        self.config.client_auth.method = Some(crate::ClientAuthMethod::PrivateKeyJwt);
        self
    }
    /// Sets the clock skew allowed, in seconds.
    pub fn leeway_secs(mut self, secs: u64) -> Self {
        self.config.leeway_secs = secs;
        self
    }
    /// This API's canonical URI as a protected resource (RFC 8707, RFC 9728); the audience
    /// defaults to it. See [`Config::resource`](crate::Config::resource).
    pub fn resource(mut self, uri: impl Into<String>) -> Self {
        self.config.resource = Some(uri.into());
        self
    }

    /// One entry of the scope hierarchy: `scope` implies each of `implied` (transitively).
    pub fn implies<S: Into<String>>(
        mut self,
        scope: impl Into<String>,
        implied: impl IntoIterator<Item = S>,
    ) -> Self {
        self.config.implied_scopes.insert(scope.into(), implied.into_iter().map(Into::into).collect());
        self
    }

    /// Requires these scopes on every call.
    pub fn required_scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.config.required_scopes = scopes.into_iter().map(Into::into).collect();
        self
    }
    /// Uses `clock` instead of the system clock.
    pub fn clock(mut self, clock: SharedClock) -> Self {
        self.clock = Some(clock);
        self
    }
    /// Sets `sender_constraint`: whether tokens bound to a key or certificate are accepted.
    pub fn sender_constraint(mut self, policy: crate::config::SenderConstraint) -> Self {
        self.config.sender_constraint = policy;
        self
    }
    /// Remembers DPoP proofs in `store` instead of the in-memory store (e.g. one shared by
    /// every instance of the API).
    pub fn replay_store(mut self, store: std::sync::Arc<dyn crate::replay::ReplayStore>) -> Self {
        self.replay_store = Some(store);
        self
    }
    /// Adds an entry to `issuers` (one issuer's whole config): the validator then serves
    /// every issuer listed, routing each JWT by its `iss` (docs/security.md ISS).
    pub fn issuer(mut self, entry: Config) -> Self {
        self.config.issuers.push(entry);
        self
    }

    /// What an opaque token without a tenant key gets when many issuers are served.
    pub fn opaque_routing(mut self, routing: crate::config::OpaqueRouting) -> Self {
        self.config.opaque_routing = routing;
        self
    }

    /// Asks `resolver` about issuers no entry names (see [`IssuerResolver`](crate::IssuerResolver)).
    pub fn resolver(mut self, resolver: std::sync::Arc<dyn crate::issuers::IssuerResolver>) -> Self {
        self.resolver = Some(Resolver(resolver));
        self
    }

    /// Changes any other field.
    pub fn configure(mut self, f: impl FnOnce(&mut Config)) -> Self {
        f(&mut self.config);
        self
    }
    /// Checks the config and builds the validator.
    pub fn build(self) -> Result<Validator> {
        let clock = self.clock.unwrap_or_else(|| std::sync::Arc::new(crate::clock::SystemClock));
        Validator::with_resolver(self.config, clock, self.replay_store, self.resolver.map(|r| r.0))
    }
}
