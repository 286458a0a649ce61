//! How bearerguard authenticates itself to the introspection endpoint.
//!
//! `client_secret_basic` form-urlencodes id and secret before base64 (RFC 6749 §2.3.1;
//! servers reject raw `@`, `:` or `%`). `private_key_jwt` and `client_secret_jwt` mint a fresh
//! RFC 7523 assertion for every request — `iss` = `sub` = client id, `aud` = the issuer by
//! default, `iat` slightly backdated, short `exp`, random `jti`, `kid` header — because some
//! servers (oidc-provider) refuse a reused `jti` and others (ZITADEL) allow only 1 s of
//! clock skew on `iat`. Keys are parsed once, at build time, with aws-lc-rs.

use std::fmt;
use std::time::Duration;

use aws_lc_rs::signature::{self as sig, EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::EncodingKey;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::algorithms::{self, Alg, KeyFamily};
use crate::config::{ClientAuthMethod, Config, Secret};
use crate::error::{Error, Result};

/// The assertion type URN of RFC 7523 §2.2.
pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Seconds an assertion's `iat` is backdated, so a server whose clock is slightly behind
/// ours (ZITADEL tolerates 1 s) does not see it as issued in the future.
const IAT_BACKDATE: u64 = 5;

/// A key ready to sign client assertions: checked and classified by aws-lc-rs at build time,
/// then handed to `jsonwebtoken`, which mints the assertions (off the hot path: once per
/// introspection request).
pub(crate) struct SigningKey {
    family: KeyFamily,
    key: EncodingKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({:?}, [redacted])", self.family)
    }
}

impl SigningKey {
    fn new(family: KeyFamily, key: EncodingKey) -> Self {
        SigningKey { family, key }
    }

    /// The algorithm used when `assertion_alg` is not set.
    fn default_alg(&self) -> Alg {
        algorithms::default_for(self.family)
    }

    fn check_alg(&self, alg: Alg) -> Result<()> {
        if alg.family == self.family {
            Ok(())
        } else {
            Err(Error::config("`assertion_alg` does not fit the configured key"))
        }
    }

    fn sign(&self, alg: Alg, kid: Option<&str>, claims: &Value) -> Result<String> {
        let mut header = jsonwebtoken::Header::new(alg.alg);
        header.typ = Some("JWT".to_owned());
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, &self.key)
            .map_err(|_| Error::config("signing the client assertion failed"))
    }
}

/// Parses a private key from PEM (PKCS#1 RSA, SEC1 EC, PKCS#8 RSA/EC/Ed25519) or from a
/// private JWK given as JSON text. Errors never include key material.
pub(crate) fn parse_private_key(text: &str) -> Result<(SigningKey, Option<String>)> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') {
        return parse_private_jwk(trimmed);
    }
    let block = pem::parse(trimmed.as_bytes())
        .map_err(|_| Error::config("`private_key` is neither PEM nor a JWK"))?;
    let der = block.contents();
    let bad = || Error::config("`private_key` could not be parsed as a supported private key");
    let ec = |family, key: EcdsaKeyPair| -> Result<SigningKey> {
        let pkcs8 = key.to_pkcs8v1().map_err(|_| bad())?;
        Ok(SigningKey::new(family, EncodingKey::from_ec_der(pkcs8.as_ref())))
    };
    let key = match block.tag() {
        "RSA PRIVATE KEY" => {
            RsaKeyPair::from_der(der).map_err(|_| bad())?;
            SigningKey::new(KeyFamily::Rsa, EncodingKey::from_rsa_der(der))
        }
        "EC PRIVATE KEY" => {
            if let Ok(k) = EcdsaKeyPair::from_private_key_der(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, der) {
                ec(KeyFamily::P256, k)?
            } else {
                let k = EcdsaKeyPair::from_private_key_der(&sig::ECDSA_P384_SHA384_FIXED_SIGNING, der)
                    .map_err(|_| bad())?;
                ec(KeyFamily::P384, k)?
            }
        }
        "PRIVATE KEY" => {
            if RsaKeyPair::from_pkcs8(der).is_ok() {
                SigningKey::new(
                    KeyFamily::Rsa,
                    EncodingKey::from_rsa_pem(trimmed.as_bytes()).map_err(|_| bad())?,
                )
            } else if EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, der).is_ok() {
                SigningKey::new(KeyFamily::P256, EncodingKey::from_ec_der(der))
            } else if EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P384_SHA384_FIXED_SIGNING, der).is_ok() {
                SigningKey::new(KeyFamily::P384, EncodingKey::from_ec_der(der))
            } else {
                let k = Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|_| bad())?;
                let pkcs8 = k.to_pkcs8v1().map_err(|_| bad())?;
                SigningKey::new(KeyFamily::Ed25519, EncodingKey::from_ed_der(pkcs8.as_ref()))
            }
        }
        _ => return Err(Error::config("`private_key` PEM block is not a private key")),
    };
    Ok((key, None))
}

fn parse_private_jwk(text: &str) -> Result<(SigningKey, Option<String>)> {
    let jwk = crate::json::parse_object(text.as_bytes())
        .map_err(|_| Error::config("`private_key` JWK is not a JSON object"))?;
    let field = |name: &str| -> Result<Vec<u8>> {
        jwk.get(name)
            .and_then(Value::as_str)
            .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
            .ok_or_else(|| Error::config(format!("`private_key` JWK lacks a valid `{name}`")))
    };
    let kid = jwk.get("kid").and_then(Value::as_str).map(str::to_owned);
    let bad = |_| Error::config("`private_key` JWK is not a valid key");
    let key = match jwk.get("kty").and_then(Value::as_str) {
        Some("RSA") => {
            let parts = ["n", "e", "d", "p", "q", "dp", "dq", "qi"]
                .iter()
                .map(|n| field(n))
                .collect::<Result<Vec<_>>>()?;
            let der = pkcs1_der(&parts);
            RsaKeyPair::from_der(&der).map_err(bad)?;
            SigningKey::new(KeyFamily::Rsa, EncodingKey::from_rsa_der(&der))
        }
        Some("EC") => {
            let (alg, family) = match jwk.get("crv").and_then(Value::as_str) {
                Some("P-256") => (&sig::ECDSA_P256_SHA256_FIXED_SIGNING, KeyFamily::P256),
                Some("P-384") => (&sig::ECDSA_P384_SHA384_FIXED_SIGNING, KeyFamily::P384),
                _ => return Err(Error::config("`private_key` JWK curve is not supported")),
            };
            let mut public = vec![4];
            public.extend(field("x")?);
            public.extend(field("y")?);
            let k = EcdsaKeyPair::from_private_key_and_public_key(alg, &field("d")?, &public).map_err(bad)?;
            let pkcs8 = k.to_pkcs8v1().map_err(|_| Error::config("`private_key` JWK is not a valid key"))?;
            SigningKey::new(family, EncodingKey::from_ec_der(pkcs8.as_ref()))
        }
        Some("OKP") if jwk.get("crv").and_then(Value::as_str) == Some("Ed25519") => {
            let k = Ed25519KeyPair::from_seed_and_public_key(&field("d")?, &field("x")?).map_err(bad)?;
            let pkcs8 = k.to_pkcs8v1().map_err(|_| Error::config("`private_key` JWK is not a valid key"))?;
            SigningKey::new(KeyFamily::Ed25519, EncodingKey::from_ed_der(pkcs8.as_ref()))
        }
        _ => return Err(Error::config("`private_key` JWK key type is not supported")),
    };
    Ok((key, kid))
}

/// DER for a PKCS#1 `RSAPrivateKey` (RFC 8017 A.1.2) from its big-endian integers.
fn pkcs1_der(parts: &[Vec<u8>]) -> Vec<u8> {
    fn len(out: &mut Vec<u8>, n: usize) {
        if n < 0x80 {
            out.push(n as u8);
        } else {
            let bytes = n.to_be_bytes();
            let skip = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len() - 1);
            out.push(0x80 | (bytes.len() - skip) as u8);
            out.extend_from_slice(&bytes[skip..]);
        }
    }
    fn integer(out: &mut Vec<u8>, value: &[u8]) {
        let start = value.iter().position(|b| *b != 0).unwrap_or(value.len());
        let v = &value[start..];
        let pad = v.first().is_none_or(|b| b & 0x80 != 0);
        out.push(0x02);
        len(out, v.len() + usize::from(pad));
        if pad {
            out.push(0);
        }
        out.extend_from_slice(v);
    }
    let mut body = Vec::new();
    integer(&mut body, &[0]);
    for p in parts {
        integer(&mut body, p);
    }
    let mut out = vec![0x30];
    len(&mut out, body.len());
    out.extend(body);
    out
}

/// A ZITADEL application key file (`internal/domain/application_key.go`).
#[derive(Deserialize)]
struct ZitadelKeyFile {
    #[serde(rename = "type")]
    kind: String,
    #[serde(rename = "keyId")]
    key_id: String,
    key: Secret,
    #[serde(rename = "clientId")]
    client_id: Option<String>,
}

/// Loads a ZITADEL key file: the signing key, its `kid`, and the client id.
pub(crate) fn load_zitadel_key(text: &str) -> Result<(SigningKey, String, Option<String>)> {
    let file: ZitadelKeyFile = serde_json::from_str(text)
        .map_err(|_| Error::config("`key_file` is not a ZITADEL key file (type, keyId, key, clientId)"))?;
    match file.kind.as_str() {
        "application" => {}
        "serviceaccount" => {
            return Err(Error::config(
                "`key_file` is a ZITADEL service-account key (for the JWT profile grant); \
                 introspection needs an API application key (type \"application\")",
            ));
        }
        _ => return Err(Error::config("`key_file` has an unknown ZITADEL key type")),
    }
    let (key, _) = parse_private_key(file.key.expose())
        .map_err(|_| Error::config("`key_file` key is not a valid private key"))?;
    Ok((key, file.key_id, file.client_id))
}

/// Whom the assertion is addressed to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AssertionAudience {
    Issuer,
    TokenEndpoint,
    IntrospectionEndpoint,
    Custom(String),
}

/// The endpoints an assertion audience may name.
pub(crate) struct AudienceTargets<'a> {
    pub issuer: &'a str,
    pub token_endpoint: Option<&'a str>,
    pub introspection_endpoint: &'a str,
}

/// A configured client authentication method, ready to apply to requests.
pub(crate) struct ClientAuth {
    /// The client id we introspect as, under every method that has one (RFC 9701: the `aud`
    /// a signed answer must name).
    client_id: Option<String>,
    /// The method actually used (configured or inferred).
    method: ClientAuthMethod,
    credential: Credential,
}

enum Credential {
    /// `Authorization: Basic` or `Authorization: Bearer`, ready to send.
    Header(HeaderValue),
    Post {
        client_secret: Secret,
    },
    Jwt {
        key: SigningKey,
        alg: Alg,
        kid: Option<String>,
        audience: AssertionAudience,
        lifetime: u64,
    },
    None,
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("ClientAuth");
        d.field("method", &self.method).field("client_id", &self.client_id);
        if let Credential::Jwt { alg, kid, .. } = &self.credential {
            d.field("alg", alg).field("kid", kid);
        }
        d.finish_non_exhaustive()
    }
}

fn form_encode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn sensitive(value: String) -> Result<HeaderValue> {
    let mut v = HeaderValue::try_from(value)
        .map_err(|_| Error::config("a client credential contains characters not allowed in a header"))?;
    v.set_sensitive(true);
    Ok(v)
}

impl ClientAuth {
    /// Builds the method the config asks for (or implies), loading keys now.
    pub fn from_config(config: &Config) -> Result<ClientAuth> {
        // A key file supplies the key, its kid and (unless given) the client id.
        let key_file_text = match (&config.client_auth.key_file, &config.client_auth.key_json) {
            (Some(_), Some(_)) => return Err(Error::config("set `key_file` or `key_json`, not both")),
            (Some(path), None) => Some(Secret::new(
                std::fs::read_to_string(path)
                    .map_err(|e| Error::config("cannot read `key_file`").with_source(e))?,
            )),
            (None, Some(json)) => Some(json.clone()),
            (None, None) => None,
        };
        let mut client_id = config.client_auth.client_id.clone();
        let mut key: Option<(SigningKey, Option<String>)> = None;
        if let Some(text) = key_file_text {
            if config.client_auth.private_key.is_some() {
                return Err(Error::config("set `key_file`/`key_json` or `private_key`, not both"));
            }
            let (k, kid, file_client) = load_zitadel_key(text.expose())?;
            if client_id.is_none() {
                client_id = file_client;
            }
            key = Some((k, Some(kid)));
        } else if let Some(pk) = &config.client_auth.private_key {
            key = Some(parse_private_key(pk.expose())?);
        }

        let method = config.client_auth.method.unwrap_or(if key.is_some() {
            ClientAuthMethod::PrivateKeyJwt
        } else if config.client_auth.client_secret.is_some() {
            ClientAuthMethod::ClientSecretBasic
        } else if config.client_auth.bearer_token.is_some() {
            ClientAuthMethod::Bearer
        } else {
            ClientAuthMethod::None
        });
        let need_id = || {
            client_id.clone().ok_or_else(|| Error::config("`client_id` is required for this `client_auth`"))
        };
        let need_secret = || {
            config
                .client_auth
                .client_secret
                .clone()
                .ok_or_else(|| Error::config("`client_secret` is required for this `client_auth`"))
        };
        let credential = match method {
            ClientAuthMethod::ClientSecretBasic => {
                let id = need_id()?;
                let secret = need_secret()?;
                let pair = format!("{}:{}", form_encode(&id), form_encode(secret.expose()));
                Credential::Header(sensitive(format!("Basic {}", STANDARD.encode(pair)))?)
            }
            ClientAuthMethod::ClientSecretPost => {
                need_id()?;
                Credential::Post { client_secret: need_secret()? }
            }
            ClientAuthMethod::PrivateKeyJwt | ClientAuthMethod::ClientSecretJwt => {
                let (key, jwk_kid) = if method == ClientAuthMethod::PrivateKeyJwt {
                    key.ok_or_else(|| {
                        Error::config("`private_key_jwt` needs `key_file`, `key_json` or `private_key`")
                    })?
                } else {
                    let secret = need_secret()?;
                    (
                        SigningKey::new(
                            KeyFamily::Hmac,
                            EncodingKey::from_secret(secret.expose().as_bytes()),
                        ),
                        None,
                    )
                };
                let alg = match &config.client_auth.assertion_alg {
                    Some(a) => algorithms::by_name(a)
                        .ok_or_else(|| Error::config("`assertion_alg` is not a supported algorithm"))?,
                    None => key.default_alg(),
                };
                key.check_alg(alg).map_err(|e| {
                    if method == ClientAuthMethod::ClientSecretJwt {
                        Error::config("`assertion_alg` must be HS256, HS384 or HS512 for `client_secret_jwt`")
                    } else {
                        e
                    }
                })?;
                if method == ClientAuthMethod::ClientSecretJwt
                    && need_secret()?.expose().len() < alg.min_secret_bytes
                {
                    // RFC 7518 §3.2: an HMAC key must be at least as long as the hash output.
                    return Err(Error::config(format!(
                        "`client_secret` is too short for `client_secret_jwt` with {}: at least {} bytes",
                        alg.name, alg.min_secret_bytes
                    )));
                }
                let audience = match config.client_auth.assertion_audience.as_deref() {
                    None | Some("issuer") => AssertionAudience::Issuer,
                    Some("token_endpoint") => AssertionAudience::TokenEndpoint,
                    Some("introspection_endpoint") => AssertionAudience::IntrospectionEndpoint,
                    Some("") => return Err(Error::config("`assertion_audience` must not be empty")),
                    Some(other) => AssertionAudience::Custom(other.to_owned()),
                };
                need_id()?;
                Credential::Jwt {
                    key,
                    alg,
                    kid: config.client_auth.private_key_id.clone().or(jwk_kid),
                    audience,
                    lifetime: config.client_auth.assertion_lifetime_secs,
                }
            }
            ClientAuthMethod::Bearer => {
                let token = config.client_auth.bearer_token.as_ref().ok_or_else(|| {
                    Error::config("`introspection_bearer_token` is required for `client_auth` bearer")
                })?;
                Credential::Header(sensitive(format!("Bearer {}", token.expose()))?)
            }
            ClientAuthMethod::None => Credential::None,
        };
        Ok(ClientAuth { client_id, method, credential })
    }

    /// The client id we introspect as, if known (the RFC 9701 response's `aud`), under every
    /// method.
    pub fn client_id(&self) -> Option<&str> {
        self.client_id.as_deref()
    }

    /// The method actually used: configured, or inferred from the credentials given.
    pub fn method(&self) -> ClientAuthMethod {
        self.method
    }

    /// Adds our credentials to a request: headers and form fields. Assertions are minted
    /// fresh at `now` for every call.
    pub fn apply(
        &self,
        now: Duration,
        targets: &AudienceTargets<'_>,
        headers: &mut HeaderMap,
        form: &mut form_urlencoded::Serializer<'_, String>,
    ) -> Result<()> {
        match &self.credential {
            Credential::Header(value) => {
                headers.insert(AUTHORIZATION, value.clone());
            }
            Credential::Post { client_secret } => {
                form.append_pair("client_id", self.client_id.as_deref().unwrap_or_default());
                form.append_pair("client_secret", client_secret.expose());
            }
            Credential::Jwt { key, alg, kid, audience, lifetime } => {
                let client_id = self.client_id.as_deref().unwrap_or_default();
                let aud = match audience {
                    AssertionAudience::Issuer => targets.issuer,
                    AssertionAudience::TokenEndpoint => targets.token_endpoint.ok_or_else(|| {
                        Error::config("`assertion_audience` token_endpoint needs a known token endpoint")
                    })?,
                    AssertionAudience::IntrospectionEndpoint => targets.introspection_endpoint,
                    AssertionAudience::Custom(aud) => aud,
                };
                let now = now.as_secs();
                let claims = json!({
                    "iss": client_id,
                    "sub": client_id,
                    "aud": aud,
                    "iat": now.saturating_sub(IAT_BACKDATE),
                    "exp": now.saturating_add(*lifetime),
                    "jti": uuid::Uuid::new_v4().to_string(),
                });
                let assertion = key.sign(alg, kid.as_deref(), &claims)?;
                form.append_pair("client_assertion_type", JWT_BEARER_ASSERTION);
                form.append_pair("client_assertion", &assertion);
            }
            Credential::None => {
                if let Some(id) = &self.client_id {
                    form.append_pair("client_id", id);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_credentials_are_form_encoded_before_base64() {
        let mut c = Config::new("https://as.example", "api");
        c.client_auth.client_id = Some("rs special@client:%+/".into());
        c.client_auth.client_secret = Some(Secret::new("s3cr@t:%+/ x!"));
        let auth = ClientAuth::from_config(&c).unwrap();
        let Credential::Header(value) = &auth.credential else { panic!("expected Basic") };
        assert_eq!(auth.client_id(), Some("rs special@client:%+/"), "kept for RFC 9701");
        let b64 = value.to_str().unwrap().strip_prefix("Basic ").unwrap();
        let decoded = String::from_utf8(STANDARD.decode(b64).unwrap()).unwrap();
        assert_eq!(decoded, "rs+special%40client%3A%25%2B%2F:s3cr%40t%3A%25%2B%2F+x%21");
        assert!(value.is_sensitive());
        assert!(!format!("{auth:?}").contains("s3cr"));
    }

    #[test]
    fn pkcs1_der_encodes_integers_minimally() {
        let der = pkcs1_der(&[vec![0x80], vec![0, 0, 1]]);
        assert_eq!(der, [0x30, 0x0a, 0x02, 0x01, 0x00, 0x02, 0x02, 0x00, 0x80, 0x02, 0x01, 0x01]);
    }

    #[test]
    fn key_files_of_the_wrong_type_are_refused_by_name() {
        let e = load_zitadel_key(r#"{"type":"serviceaccount","keyId":"1","key":"x","userId":"2"}"#)
            .err()
            .unwrap();
        assert!(e.detail().contains("service-account"));
        let e = load_zitadel_key(r#"{"type":"application","keyId":"1","key":"-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n","clientId":"c"}"#)
            .err()
            .unwrap();
        assert!(!e.detail().contains("AAAA"));
        assert!(load_zitadel_key("not json").is_err());
    }

    #[test]
    fn secret_jwt_needs_a_secret_and_an_hmac_alg() {
        let mut c = Config::new("https://as.example", "api");
        c.client_auth.client_id = Some("c".into());
        c.client_auth.method = Some(ClientAuthMethod::ClientSecretJwt);
        assert!(ClientAuth::from_config(&c).is_err());
        c.client_auth.client_secret = Some(Secret::new("0123456789abcdef0123456789abcdef"));
        assert!(ClientAuth::from_config(&c).is_ok());
        c.client_auth.assertion_alg = Some("RS256".into());
        assert!(ClientAuth::from_config(&c).is_err());
        // RFC 7518 §3.2: the secret is at least the hash size.
        for (alg, ok, short) in [("HS256", 32, 31), ("HS384", 48, 47), ("HS512", 64, 63)] {
            c.client_auth.assertion_alg = Some(alg.into());
            c.client_auth.client_secret = Some(Secret::new("k".repeat(ok)));
            assert!(ClientAuth::from_config(&c).is_ok(), "{alg} {ok}");
            c.client_auth.client_secret = Some(Secret::new("k".repeat(short)));
            let e = ClientAuth::from_config(&c).unwrap_err();
            assert!(e.detail().contains("too short") && !e.detail().contains("kkk"), "{e}");
        }
        c.client_auth.assertion_alg = None;
        c.client_auth.client_secret = Some(Secret::new("short"));
        assert!(ClientAuth::from_config(&c).is_err(), "a 5-byte secret");
    }
}
