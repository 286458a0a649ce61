//! Provider presets (`provider`): what each authorization server documents about its tokens
//! and metadata, applied to a config before it is checked.
//!
//! A preset sets **only documented facts**, each cited below with the provider's page, and
//! only in fields the config left at their defaults; it never loosens a check the config sets
//! (a field the user set is kept, or refused with a config error naming it when it cannot
//! work with that server). The general rules the presets select (`roles_claim`,
//! `required_claims`, `audience_claim`, `client_id_claim`, `issuer_aliases`,
//! `allowed_tenants`, `scope_claim: entra`) live in `claims.rs` and `check.rs` and work in
//! any config. The table of facts, with sources, is `docs/providers.md`.

use url::Url;

use crate::claims::{TENANT_PLACEHOLDER, is_guid};
use crate::config::{AudienceClaim, Config, Provider, ScopeClaim, Strategy};
use crate::error::{Error, Result};

/// The effective config: `config` with its preset's facts filled in, or a config error when
/// the config cannot work with the named server. Without `provider`, `config` unchanged.
pub(crate) fn apply(mut config: Config) -> Result<Config> {
    let Some(provider) = config.provider else { return Ok(config) };
    match provider {
        Provider::Zitadel => zitadel(&mut config)?,
        Provider::Asgardeo | Provider::Wso2 => wso2(&mut config, provider)?,
        Provider::Keycloak => keycloak(&mut config)?,
        Provider::Auth0 => auth0(&mut config)?,
        Provider::Okta => okta(&mut config)?,
        Provider::Entra => entra(&mut config)?,
        Provider::Cognito => cognito(&mut config)?,
        Provider::Google => google(&mut config)?,
    }
    Ok(config)
}

/// Sets `field` to `value` when it is still unset.
fn default_to(field: &mut Option<String>, value: &str) {
    if field.is_none() {
        *field = Some(value.to_owned());
    }
}

/// The issuer's URL, or a config error naming `issuer` with what `provider` expects.
fn issuer_url(config: &Config, expected: &str) -> Result<Url> {
    Url::parse(&config.issuer).map_err(|_| issuer_error(config, expected))
}

fn issuer_error(config: &Config, expected: &str) -> Error {
    let name = config.provider.map_or("", Provider::as_str);
    Error::config(format!("`issuer` is not a {name} issuer: expected {expected}"))
}

/// ZITADEL.
///
/// - Access tokens are JWTs with header `typ: JWT`, not `at+jwt`
///   (<https://zitadel.com/docs/concepts/structure/tokens>; zitadel/oidc `pkg/op/signer.go`):
///   accepted by default, so `rfc9068_strict`, which requires `at+jwt`, would refuse every one.
/// - `aud` is an array holding the project id and the client ids
///   (<https://zitadel.com/docs/apis/openidoauth/claims>): matched by membership, as always.
/// - Roles are the **keys** of `urn:zitadel:iam:org:project:roles`
///   (`{"<role>": {"<orgId>": "<domain>"}}`, <https://zitadel.com/docs/apis/openidoauth/claims#reserved-claims>).
/// - An API application's JWT Profile key file authenticates introspection with
///   `private_key_jwt` (<https://zitadel.com/docs/apis/openidoauth/authn-methods#jwt-with-private-key>):
///   `client_auth.key_file`, already supported.
fn zitadel(config: &mut Config) -> Result<()> {
    if config.rfc9068_strict {
        return Err(Error::config(
            "`rfc9068_strict` refuses every ZITADEL access token: they say `typ: JWT`, not `at+jwt`",
        ));
    }
    default_to(&mut config.roles_claim, "urn:zitadel:iam:org:project:roles");
    Ok(())
}

/// Asgardeo and WSO2 Identity Server.
///
/// - The issuer is the token endpoint: `https://api.asgardeo.io/t/<org>/oauth2/token`
///   (<https://wso2.com/asgardeo/docs/guides/authentication/oidc/discover-oidc-configs/>);
///   WSO2 IS `https://<host>/oauth2/token`, or `https://<host>/t/<tenant>/oauth2/token` for a
///   tenant (<https://is.docs.wso2.com/en/latest/guides/authentication/oidc/discover-oidc-configs/>).
/// - Introspection is `/t/<org>/oauth2/introspect` (WSO2 IS: `/oauth2/introspect`), with
///   HTTP Basic client authentication
///   (<https://wso2.com/asgardeo/docs/guides/authentication/oidc/token-validation-resource-server/>).
///   Discovery names it; when discovery is off (or its document lacks it) it is derived from
///   the issuer ([`introspection_endpoint`]). Basic is what a `client_secret` already implies.
/// - Answers carry `aut` (`APPLICATION_USER` or `APPLICATION`), kept in `claims`; refresh
///   tokens introspect as active with `token_type: Refresh` and are refused by the core
///   (`verdict::token_type_accepted`, docs/security.md INTRO-3) with or without a preset.
fn wso2(config: &mut Config, provider: Provider) -> Result<()> {
    let expected = match provider {
        Provider::Asgardeo => "https://api.asgardeo.io/t/<org>/oauth2/token",
        _ => "https://<host>/oauth2/token or https://<host>/t/<tenant>/oauth2/token",
    };
    let url = issuer_url(config, expected)?;
    let segments: Vec<&str> = url.path().split('/').skip(1).collect();
    let shaped = match (provider, segments.as_slice()) {
        (Provider::Asgardeo, ["t", org, "oauth2", "token"]) => !org.is_empty(),
        (Provider::Wso2, ["oauth2", "token"]) => true,
        (Provider::Wso2, ["t", tenant, "oauth2", "token"]) => !tenant.is_empty(),
        _ => false,
    };
    if !shaped || url.query().is_some() {
        return Err(issuer_error(config, expected));
    }
    if !config.discovery && config.introspection_endpoint.is_none() {
        config.introspection_endpoint = introspection_endpoint(config).map(String::from);
    }
    Ok(())
}

/// Asgardeo's and WSO2's introspection endpoint, derived from the issuer (its token
/// endpoint): `…/oauth2/token` → `…/oauth2/introspect`. `None` for any other provider or
/// issuer shape. Used when the endpoint is neither configured nor discovered.
pub(crate) fn introspection_endpoint(config: &Config) -> Option<Url> {
    if !matches!(config.provider, Some(Provider::Asgardeo | Provider::Wso2)) {
        return None;
    }
    let base = config.issuer.strip_suffix("/oauth2/token")?;
    Url::parse(&format!("{base}/oauth2/introspect")).ok()
}

/// Keycloak.
///
/// - A realm's issuer is `https://<host>/realms/<realm>` (a relative path such as the
///   pre-17 `/auth` may precede it;
///   <https://www.keycloak.org/docs/latest/server_admin/#_oidc-endpoints>).
/// - `azp` names the client the token was issued to
///   (<https://www.keycloak.org/docs/latest/securing_apps/#_client_credentials>): `client_id`
///   is read from it when the token has none.
/// - `aud` is often only `account`: nothing is loosened; an audience mapper puts the API in
///   `aud` (<https://www.keycloak.org/docs/latest/server_admin/#audience-support>).
/// - Realm roles are `realm_access.roles`
///   (<https://www.keycloak.org/docs/latest/server_admin/#realm-roles>).
fn keycloak(config: &mut Config) -> Result<()> {
    const EXPECTED: &str = "https://<host>/realms/<realm>";
    let url = issuer_url(config, EXPECTED)?;
    let segments: Vec<&str> = url.path().split('/').skip(1).collect();
    let shaped = matches!(segments.as_slice(), [.., "realms", realm] if !realm.is_empty());
    if !shaped || url.query().is_some() {
        return Err(issuer_error(config, EXPECTED));
    }
    default_to(&mut config.client_id_claim, "azp");
    default_to(&mut config.roles_claim, "/realm_access/roles");
    Ok(())
}

/// Auth0.
///
/// - The issuer is `https://<tenant>.<region>.auth0.com/` **with** its trailing slash, or the
///   custom domain with one (<https://auth0.com/docs/secure/tokens/access-tokens/validate-access-tokens>,
///   <https://auth0.com/docs/customize/custom-domains>); `iss` is compared byte for byte, so
///   a config without it would refuse every token.
/// - With RBAC and "Add Permissions in the Access Token", the granted permissions are the
///   `permissions` array (<https://auth0.com/docs/get-started/apis/enable-role-based-access-control-for-apis>).
fn auth0(config: &mut Config) -> Result<()> {
    if !config.issuer.ends_with('/') {
        return Err(Error::config(
            "`issuer`: Auth0's issuer ends with a slash; write it as the tokens' `iss` does, \
             e.g. `https://<tenant>.auth0.com/`",
        ));
    }
    default_to(&mut config.roles_claim, "permissions");
    Ok(())
}

/// Okta.
///
/// - Access tokens of a custom authorization server (`https://<domain>/oauth2/<id>`, the
///   pre-built one being `default`) are for your APIs; those of the org authorization server
///   (`https://<domain>`) are only for Okta and cannot be validated locally
///   (<https://developer.okta.com/docs/guides/validate-access-tokens/dotnet/main/>,
///   <https://developer.okta.com/docs/concepts/auth-servers/>): a config error under a
///   strategy that validates JWTs locally; introspection works with either.
/// - Scopes are the `scp` array, the client id is `cid`
///   (<https://developer.okta.com/docs/reference/api/oidc/#access-token-payload>). The default
///   `scope_claim: auto` reads `scp` when there is no `scope`, and keeps reading the `scope`
///   string of introspection answers, so the preset leaves it.
fn okta(config: &mut Config) -> Result<()> {
    const EXPECTED: &str = "https://<domain>/oauth2/<authorization server id> (e.g. /oauth2/default)";
    let url = issuer_url(config, EXPECTED)?;
    let segments: Vec<&str> = url.path().split('/').skip(1).collect();
    let custom = matches!(segments.as_slice(), ["oauth2", id] if !id.is_empty());
    if !custom && config.strategy != Strategy::Introspection {
        return Err(Error::config(
            "`issuer`: tokens of Okta's org authorization server cannot be validated locally; use \
             a custom authorization server (`https://<domain>/oauth2/default`) or `strategy: \
             introspection`",
        ));
    }
    default_to(&mut config.client_id_claim, "cid");
    Ok(())
}

/// Microsoft Entra ID.
///
/// - Issuers: v2.0 `https://login.microsoftonline.com/<tid>/v2.0`, v1.0
///   `https://sts.windows.net/<tid>/` (<https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference>).
/// - `scp` is a space-separated **string**; app-only tokens carry no `scp` but the `roles`
///   array (same page): `scope_claim: entra`, and `roles` are the roles.
/// - Multi-tenant apps validate the issuer as the template with the token's `tid`
///   (<https://learn.microsoft.com/entra/identity-platform/access-tokens#validate-the-issuer>):
///   `issuer` may be the template `…/{tenantid}/v2.0` (or `https://sts.windows.net/{tenantid}/`),
///   with `allowed_tenants`; its keys are the common ones (`jwks_uri`
///   `https://login.microsoftonline.com/common/discovery/v2.0/keys`, v1.0
///   `…/common/discovery/keys`), and a template cannot be discovered.
/// - Entra offers no RFC 7662 introspection endpoint: `introspection` strategies are refused.
fn entra(config: &mut Config) -> Result<()> {
    const EXPECTED: &str = "https://login.microsoftonline.com/<tenant id>/v2.0 or \
                            https://sts.windows.net/<tenant id>/ (or `{tenantid}` for many tenants)";
    let issuer = config.issuer.as_str();
    let (tenant, v2) = if let Some(rest) = issuer.strip_prefix("https://login.microsoftonline.com/") {
        (rest.strip_suffix("/v2.0"), true)
    } else {
        (issuer.strip_prefix("https://sts.windows.net/").and_then(|r| r.strip_suffix('/')), false)
    };
    let template = match tenant {
        Some(TENANT_PLACEHOLDER) => true,
        Some(tid) if is_guid(tid) => false,
        _ => return Err(issuer_error(config, EXPECTED)),
    };
    if matches!(config.strategy, Strategy::Introspection | Strategy::IntrospectAll) {
        return Err(Error::config(
            "`strategy`: Microsoft Entra ID has no introspection endpoint; use `jwt` or `auto`",
        ));
    }
    if config.scope_claim == ScopeClaim::Auto {
        config.scope_claim = ScopeClaim::Entra;
    }
    default_to(&mut config.roles_claim, "roles");
    if template {
        let keys = if v2 {
            "https://login.microsoftonline.com/common/discovery/v2.0/keys"
        } else {
            "https://login.microsoftonline.com/common/discovery/keys"
        };
        default_to(&mut config.jwks_uri, keys);
        config.discovery = false;
    }
    Ok(())
}

/// Amazon Cognito user pools.
///
/// - The issuer is `https://cognito-idp.<region>.amazonaws.com/<userPoolId>`
///   (<https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-tokens-verifying-a-jwt.html>).
/// - Access tokens carry no `aud`; their `client_id` names the app client, so the configured
///   audience is matched against it (same page; `audience_claim: client_id`).
/// - `token_use` must be `access` for an API (an ID token says `id`): `required_claims`.
/// - Group membership is `cognito:groups`
///   (<https://docs.aws.amazon.com/cognito/latest/developerguide/amazon-cognito-user-pools-using-the-access-token.html>).
fn cognito(config: &mut Config) -> Result<()> {
    const EXPECTED: &str = "https://cognito-idp.<region>.amazonaws.com/<user pool id>";
    let url = issuer_url(config, EXPECTED)?;
    let host = url.host_str().unwrap_or_default();
    let region = host.strip_prefix("cognito-idp.").and_then(|h| h.strip_suffix(".amazonaws.com"));
    let segments: Vec<&str> = url.path().split('/').skip(1).collect();
    let pool = matches!((region, segments.as_slice()), (Some(r), [pool]) if !r.is_empty()
        && pool.split_once('_').is_some_and(|(pr, id)| pr == r && !id.is_empty()));
    if url.scheme() != "https" || !pool || url.query().is_some() {
        return Err(issuer_error(config, EXPECTED));
    }
    if config.audience_claim == AudienceClaim::Aud {
        config.audience_claim = AudienceClaim::ClientId;
    }
    let access = serde_json::Value::String("access".into());
    match config.required_claims.get("token_use") {
        None => {
            config.required_claims.insert("token_use".into(), access);
        }
        Some(v) if *v == access => {}
        Some(_) => {
            return Err(Error::config(
                "`required_claims.token_use`: an API accepts Cognito access tokens only (`access`)",
            ));
        }
    }
    default_to(&mut config.roles_claim, "cognito:groups");
    Ok(())
}

/// Google.
///
/// - The issuer is `https://accounts.google.com`, and tokens' `iss` is either
///   `https://accounts.google.com` or `accounts.google.com`
///   (<https://developers.google.com/identity/gsi/web/guides/verify-google-id-token>,
///   <https://developers.google.com/identity/openid-connect/openid-connect#validatinganidtoken>):
///   both accepted (`issuer_aliases`), nothing else.
fn google(config: &mut Config) -> Result<()> {
    if config.issuer != "https://accounts.google.com" {
        return Err(issuer_error(config, "https://accounts.google.com"));
    }
    if config.issuer_aliases.is_empty() {
        config.issuer_aliases = vec!["accounts.google.com".into()];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn preset(provider: &str, issuer: &str) -> Result<Config> {
        let value = serde_json::json!({"issuer": issuer, "audience": "api", "provider": provider});
        apply(Config::from_value(value)?)
    }

    fn refused(provider: &str, issuer: &str, field: &str) {
        let e = preset(provider, issuer).unwrap_err();
        assert_eq!(e.code(), "configuration", "{provider} {issuer}");
        assert!(e.detail().contains(field), "{provider} {issuer}: {e}");
    }

    #[test]
    fn without_a_provider_nothing_changes() {
        let c = Config::new("https://as.example", "api");
        assert_eq!(apply(c.clone()).unwrap(), c);
    }

    #[test]
    fn presets_fill_only_defaults() {
        let c = preset("keycloak", "https://kc.example/realms/acme").unwrap();
        assert_eq!(c.client_id_claim.as_deref(), Some("azp"));
        assert_eq!(c.roles_claim.as_deref(), Some("/realm_access/roles"));
        let mut user = Config::new("https://kc.example/realms/acme", "api");
        user.provider = Some(Provider::Keycloak);
        user.roles_claim = Some("/resource_access/api/roles".into());
        assert_eq!(apply(user).unwrap().roles_claim.as_deref(), Some("/resource_access/api/roles"));
        let c = preset("okta", "https://acme.okta.com/oauth2/default").unwrap();
        assert_eq!((c.scope_claim, c.client_id_claim.as_deref()), (ScopeClaim::Auto, Some("cid")));
        let c = preset("zitadel", "https://acme.zitadel.cloud").unwrap();
        assert_eq!(c.roles_claim.as_deref(), Some("urn:zitadel:iam:org:project:roles"));
        let c = preset("google", "https://accounts.google.com").unwrap();
        assert_eq!(c.issuer_aliases, ["accounts.google.com"]);
        let c = preset("auth0", "https://acme.eu.auth0.com/").unwrap();
        assert_eq!(c.roles_claim.as_deref(), Some("permissions"));
    }

    #[test]
    fn issuer_shapes_are_checked_per_provider() {
        refused("keycloak", "https://kc.example/", "`issuer`");
        refused("keycloak", "https://kc.example/realms/acme/", "`issuer`");
        assert!(preset("keycloak", "https://kc.example/auth/realms/acme").is_ok(), "pre-17 path");
        refused("auth0", "https://acme.eu.auth0.com", "`issuer`");
        refused("okta", "https://acme.okta.com", "`issuer`");
        refused("okta", "https://acme.okta.com/oauth2/", "`issuer`");
        let mut org = Config::new("https://acme.okta.com", "api");
        org.provider = Some(Provider::Okta);
        org.strategy = Strategy::Introspection;
        assert!(apply(org.clone()).is_ok(), "the org server's tokens can be introspected");
        org.strategy = Strategy::IntrospectAll;
        assert!(apply(org).is_err(), "introspect_all validates JWTs locally first");
        refused("google", "https://accounts.google.com/", "`issuer`");
        refused("asgardeo", "https://api.asgardeo.io/t/acme", "`issuer`");
        refused("wso2", "https://is.example/oauth2/token/", "`issuer`");
        assert!(preset("wso2", "https://is.example/t/acme.com/oauth2/token").is_ok());
        refused("cognito", "https://cognito-idp.eu-west-1.amazonaws.com/us-east-1_abc", "`issuer`");
        refused("cognito", "https://cognito-idp.eu-west-1.amazonaws.com/", "`issuer`");
        let c = preset("cognito", "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123").unwrap();
        assert_eq!(c.audience_claim, AudienceClaim::ClientId);
        assert_eq!(c.required_claims["token_use"], "access");
        refused("entra", "https://login.microsoftonline.com/common/v2.0", "`issuer`");
        refused("entra", "https://login.microsoftonline.com/organizations/v2.0", "`issuer`");
        refused("entra", "https://sts.windows.net/72f988bf-86f1-41af-91ab-2d7cd011db47", "`issuer`");
    }

    #[test]
    fn wso2_introspection_is_derived_from_the_issuer_when_not_discovered() {
        let mut c = Config::new("https://api.asgardeo.io/t/acme/oauth2/token", "api");
        c.provider = Some(Provider::Asgardeo);
        c.discovery = false;
        let c = apply(c).unwrap();
        assert_eq!(
            c.introspection_endpoint.as_deref(),
            Some("https://api.asgardeo.io/t/acme/oauth2/introspect")
        );
        let c = preset("wso2", "https://is.example/oauth2/token").unwrap();
        assert_eq!(c.introspection_endpoint, None, "discovery names it");
        assert_eq!(introspection_endpoint(&c).unwrap().as_str(), "https://is.example/oauth2/introspect");
    }

    #[test]
    fn entra_templates_use_the_common_keys_and_no_discovery() {
        let c = preset("entra", "https://login.microsoftonline.com/{tenantid}/v2.0").unwrap();
        assert_eq!(
            c.jwks_uri.as_deref(),
            Some("https://login.microsoftonline.com/common/discovery/v2.0/keys")
        );
        assert!(!c.discovery);
        assert_eq!((c.scope_claim, c.roles_claim.as_deref()), (ScopeClaim::Entra, Some("roles")));
        let c = preset("entra", "https://sts.windows.net/{tenantid}/").unwrap();
        assert_eq!(c.jwks_uri.as_deref(), Some("https://login.microsoftonline.com/common/discovery/keys"));
        let c =
            preset("entra", "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0")
                .unwrap();
        assert!(c.discovery && c.jwks_uri.is_none(), "one tenant is discovered");
        let mut c =
            Config::new("https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0", "api");
        c.provider = Some(Provider::Entra);
        c.strategy = Strategy::Introspection;
        assert!(apply(c).unwrap_err().detail().contains("`strategy`"));
    }

    #[test]
    fn user_settings_that_cannot_work_are_refused_never_overridden() {
        let mut c = Config::new("https://acme.zitadel.cloud", "api");
        c.provider = Some(Provider::Zitadel);
        c.rfc9068_strict = true;
        assert!(apply(c).unwrap_err().detail().contains("`rfc9068_strict`"));
        let mut c = Config::new("https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123", "api");
        c.provider = Some(Provider::Cognito);
        c.required_claims.insert("token_use".into(), "id".into());
        assert!(apply(c).unwrap_err().detail().contains("`required_claims.token_use`"));
    }
}
