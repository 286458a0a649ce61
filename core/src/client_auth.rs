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

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self as sig, EcdsaKeyPair, Ed25519KeyPair, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::config::{ClientAuthMethod, Config, Secret};
use crate::error::{Error, Result};

/// The assertion type URN of RFC 7523 §2.2.
pub const JWT_BEARER_ASSERTION: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Seconds an assertion's `iat` is backdated, so a server whose clock is slightly behind
/// ours (ZITADEL tolerates 1 s) does not see it as issued in the future.
const IAT_BACKDATE: u64 = 5;

/// A private key ready to sign client assertions.
#[expect(clippy::large_enum_variant, reason = "built once per validator, never moved in a hot path")]
pub(crate) enum SigningKey {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair, Curve),
    Ed(Ed25519KeyPair),
    Hmac(aws_lc_rs::hmac::Key, &'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Curve {
    P256,
    P384,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SigningKey::Rsa(_) => "SigningKey::Rsa([redacted])",
            SigningKey::Ec(..) => "SigningKey::Ec([redacted])",
            SigningKey::Ed(_) => "SigningKey::Ed([redacted])",
            SigningKey::Hmac(..) => "SigningKey::Hmac([redacted])",
        })
    }
}

impl SigningKey {
    fn default_alg(&self) -> &'static str {
        match self {
            SigningKey::Rsa(_) => "RS256",
            SigningKey::Ec(_, Curve::P256) => "ES256",
            SigningKey::Ec(_, Curve::P384) => "ES384",
            SigningKey::Ed(_) => "EdDSA",
            SigningKey::Hmac(_, alg) => alg,
        }
    }

    fn check_alg(&self, alg: &str) -> Result<()> {
        let fits = match self {
            SigningKey::Rsa(_) => {
                matches!(alg, "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512")
            }
            SigningKey::Ec(_, Curve::P256) => alg == "ES256",
            SigningKey::Ec(_, Curve::P384) => alg == "ES384",
            SigningKey::Ed(_) => alg == "EdDSA",
            SigningKey::Hmac(..) => matches!(alg, "HS256" | "HS384" | "HS512"),
        };
        if fits { Ok(()) } else { Err(Error::config("`assertion_alg` does not fit the configured key")) }
    }

    fn sign(&self, alg: &str, message: &[u8]) -> Result<Vec<u8>> {
        let failed = |_| Error::config("signing the client assertion failed");
        match self {
            SigningKey::Rsa(key) => {
                let padding: &'static dyn sig::RsaEncoding = match alg {
                    "RS384" => &sig::RSA_PKCS1_SHA384,
                    "RS512" => &sig::RSA_PKCS1_SHA512,
                    "PS256" => &sig::RSA_PSS_SHA256,
                    "PS384" => &sig::RSA_PSS_SHA384,
                    "PS512" => &sig::RSA_PSS_SHA512,
                    _ => &sig::RSA_PKCS1_SHA256,
                };
                let mut out = vec![0; key.public_modulus_len()];
                key.sign(padding, &SystemRandom::new(), message, &mut out).map_err(failed)?;
                Ok(out)
            }
            SigningKey::Ec(key, _) => {
                Ok(key.sign(&SystemRandom::new(), message).map_err(failed)?.as_ref().to_vec())
            }
            SigningKey::Ed(key) => Ok(key.sign(message).as_ref().to_vec()),
            SigningKey::Hmac(key, _) => Ok(aws_lc_rs::hmac::sign(key, message).as_ref().to_vec()),
        }
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
    let key = match block.tag() {
        "RSA PRIVATE KEY" => SigningKey::Rsa(RsaKeyPair::from_der(der).map_err(|_| bad())?),
        "EC PRIVATE KEY" => {
            if let Ok(k) = EcdsaKeyPair::from_private_key_der(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, der) {
                SigningKey::Ec(k, Curve::P256)
            } else {
                let k = EcdsaKeyPair::from_private_key_der(&sig::ECDSA_P384_SHA384_FIXED_SIGNING, der)
                    .map_err(|_| bad())?;
                SigningKey::Ec(k, Curve::P384)
            }
        }
        "PRIVATE KEY" => {
            if let Ok(k) = RsaKeyPair::from_pkcs8(der) {
                SigningKey::Rsa(k)
            } else if let Ok(k) = EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, der) {
                SigningKey::Ec(k, Curve::P256)
            } else if let Ok(k) = EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P384_SHA384_FIXED_SIGNING, der) {
                SigningKey::Ec(k, Curve::P384)
            } else {
                SigningKey::Ed(Ed25519KeyPair::from_pkcs8_maybe_unchecked(der).map_err(|_| bad())?)
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
            SigningKey::Rsa(RsaKeyPair::from_der(&pkcs1_der(&parts)).map_err(bad)?)
        }
        Some("EC") => {
            let (alg, curve) = match jwk.get("crv").and_then(Value::as_str) {
                Some("P-256") => (&sig::ECDSA_P256_SHA256_FIXED_SIGNING, Curve::P256),
                Some("P-384") => (&sig::ECDSA_P384_SHA384_FIXED_SIGNING, Curve::P384),
                _ => return Err(Error::config("`private_key` JWK curve is not supported")),
            };
            let mut public = vec![4];
            public.extend(field("x")?);
            public.extend(field("y")?);
            let k = EcdsaKeyPair::from_private_key_and_public_key(alg, &field("d")?, &public).map_err(bad)?;
            SigningKey::Ec(k, curve)
        }
        Some("OKP") if jwk.get("crv").and_then(Value::as_str) == Some("Ed25519") => {
            SigningKey::Ed(Ed25519KeyPair::from_seed_and_public_key(&field("d")?, &field("x")?).map_err(bad)?)
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
#[expect(clippy::large_enum_variant, reason = "built once per validator, held in an Arc")]
pub(crate) enum ClientAuth {
    Basic(HeaderValue),
    Post {
        client_id: String,
        client_secret: Secret,
    },
    Jwt {
        client_id: String,
        key: SigningKey,
        alg: &'static str,
        kid: Option<String>,
        audience: AssertionAudience,
        lifetime: u64,
    },
    Bearer(HeaderValue),
    None {
        client_id: Option<String>,
    },
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientAuth::Basic(_) => f.write_str("ClientAuth::Basic([redacted])"),
            ClientAuth::Post { client_id, .. } => write!(f, "ClientAuth::Post({client_id:?}, [redacted])"),
            ClientAuth::Jwt { client_id, alg, kid, .. } => {
                write!(f, "ClientAuth::Jwt({client_id:?}, {alg}, kid={kid:?}, [redacted])")
            }
            ClientAuth::Bearer(_) => f.write_str("ClientAuth::Bearer([redacted])"),
            ClientAuth::None { client_id } => write!(f, "ClientAuth::None({client_id:?})"),
        }
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

const ALG_NAMES: &[&str] = &[
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA", "HS256", "HS384",
    "HS512",
];

impl ClientAuth {
    /// Builds the method the config asks for (or implies), loading keys now.
    pub fn from_config(config: &Config) -> Result<ClientAuth> {
        // A key file supplies the key, its kid and (unless given) the client id.
        let key_file_text = match (&config.key_file, &config.key_json) {
            (Some(_), Some(_)) => return Err(Error::config("set `key_file` or `key_json`, not both")),
            (Some(path), None) => Some(Secret::new(
                std::fs::read_to_string(path)
                    .map_err(|e| Error::config("cannot read `key_file`").with_source(e))?,
            )),
            (None, Some(json)) => Some(json.clone()),
            (None, None) => None,
        };
        let mut client_id = config.client_id.clone();
        let mut key: Option<(SigningKey, Option<String>)> = None;
        if let Some(text) = key_file_text {
            if config.private_key.is_some() {
                return Err(Error::config("set `key_file`/`key_json` or `private_key`, not both"));
            }
            let (k, kid, file_client) = load_zitadel_key(text.expose())?;
            if client_id.is_none() {
                client_id = file_client;
            }
            key = Some((k, Some(kid)));
        } else if let Some(pk) = &config.private_key {
            key = Some(parse_private_key(pk.expose())?);
        }

        let method = config.client_auth.unwrap_or(if key.is_some() {
            ClientAuthMethod::PrivateKeyJwt
        } else if config.client_secret.is_some() {
            ClientAuthMethod::ClientSecretBasic
        } else if config.introspection_bearer_token.is_some() {
            ClientAuthMethod::Bearer
        } else {
            ClientAuthMethod::None
        });
        let need_id = || {
            client_id.clone().ok_or_else(|| Error::config("`client_id` is required for this `client_auth`"))
        };
        let need_secret = || {
            config
                .client_secret
                .clone()
                .ok_or_else(|| Error::config("`client_secret` is required for this `client_auth`"))
        };
        Ok(match method {
            ClientAuthMethod::ClientSecretBasic => {
                let id = need_id()?;
                let secret = need_secret()?;
                let pair = format!("{}:{}", form_encode(&id), form_encode(secret.expose()));
                ClientAuth::Basic(sensitive(format!("Basic {}", STANDARD.encode(pair)))?)
            }
            ClientAuthMethod::ClientSecretPost => {
                ClientAuth::Post { client_id: need_id()?, client_secret: need_secret()? }
            }
            ClientAuthMethod::PrivateKeyJwt | ClientAuthMethod::ClientSecretJwt => {
                let (key, jwk_kid) = if method == ClientAuthMethod::PrivateKeyJwt {
                    key.ok_or_else(|| {
                        Error::config("`private_key_jwt` needs `key_file`, `key_json` or `private_key`")
                    })?
                } else {
                    let secret = need_secret()?;
                    let alg = config.assertion_alg.as_deref().unwrap_or("HS256");
                    let (hmac_alg, name) = match alg {
                        "HS256" => (aws_lc_rs::hmac::HMAC_SHA256, "HS256"),
                        "HS384" => (aws_lc_rs::hmac::HMAC_SHA384, "HS384"),
                        "HS512" => (aws_lc_rs::hmac::HMAC_SHA512, "HS512"),
                        _ => {
                            return Err(Error::config(
                                "`assertion_alg` must be HS256, HS384 or HS512 for `client_secret_jwt`",
                            ));
                        }
                    };
                    (
                        SigningKey::Hmac(
                            aws_lc_rs::hmac::Key::new(hmac_alg, secret.expose().as_bytes()),
                            name,
                        ),
                        None,
                    )
                };
                let alg = match &config.assertion_alg {
                    Some(a) => ALG_NAMES
                        .iter()
                        .find(|n| **n == a.as_str())
                        .copied()
                        .ok_or_else(|| Error::config("`assertion_alg` is not a supported algorithm"))?,
                    None => key.default_alg(),
                };
                key.check_alg(alg)?;
                let audience = match config.assertion_audience.as_deref() {
                    None | Some("issuer") => AssertionAudience::Issuer,
                    Some("token_endpoint") => AssertionAudience::TokenEndpoint,
                    Some("introspection_endpoint") => AssertionAudience::IntrospectionEndpoint,
                    Some("") => return Err(Error::config("`assertion_audience` must not be empty")),
                    Some(other) => AssertionAudience::Custom(other.to_owned()),
                };
                ClientAuth::Jwt {
                    client_id: need_id()?,
                    key,
                    alg,
                    kid: config.private_key_id.clone().or(jwk_kid),
                    audience,
                    lifetime: config.assertion_lifetime_secs,
                }
            }
            ClientAuthMethod::Bearer => {
                let token = config.introspection_bearer_token.as_ref().ok_or_else(|| {
                    Error::config("`introspection_bearer_token` is required for `client_auth` bearer")
                })?;
                ClientAuth::Bearer(sensitive(format!("Bearer {}", token.expose()))?)
            }
            ClientAuthMethod::None => ClientAuth::None { client_id },
        })
    }

    /// The client id we introspect as, if known (the RFC 9701 response's `aud`).
    pub fn client_id(&self) -> Option<&str> {
        match self {
            ClientAuth::Post { client_id, .. } | ClientAuth::Jwt { client_id, .. } => Some(client_id),
            ClientAuth::None { client_id } => client_id.as_deref(),
            ClientAuth::Basic(_) | ClientAuth::Bearer(_) => None,
        }
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
        match self {
            ClientAuth::Basic(value) | ClientAuth::Bearer(value) => {
                headers.insert(AUTHORIZATION, value.clone());
            }
            ClientAuth::Post { client_id, client_secret } => {
                form.append_pair("client_id", client_id);
                form.append_pair("client_secret", client_secret.expose());
            }
            ClientAuth::Jwt { client_id, key, alg, kid, audience, lifetime } => {
                let aud = match audience {
                    AssertionAudience::Issuer => targets.issuer,
                    AssertionAudience::TokenEndpoint => targets.token_endpoint.ok_or_else(|| {
                        Error::config("`assertion_audience` token_endpoint needs a known token endpoint")
                    })?,
                    AssertionAudience::IntrospectionEndpoint => targets.introspection_endpoint,
                    AssertionAudience::Custom(aud) => aud,
                };
                let now = now.as_secs();
                let mut header = json!({"alg": alg, "typ": "JWT"});
                if let Some(kid) = kid {
                    header["kid"] = json!(kid);
                }
                let claims = json!({
                    "iss": client_id,
                    "sub": client_id,
                    "aud": aud,
                    "iat": now.saturating_sub(IAT_BACKDATE),
                    "exp": now + lifetime,
                    "jti": uuid::Uuid::new_v4().to_string(),
                });
                let signing_input = format!(
                    "{}.{}",
                    URL_SAFE_NO_PAD.encode(header.to_string()),
                    URL_SAFE_NO_PAD.encode(claims.to_string())
                );
                let signature = key.sign(alg, signing_input.as_bytes())?;
                let assertion = format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature));
                form.append_pair("client_assertion_type", JWT_BEARER_ASSERTION);
                form.append_pair("client_assertion", &assertion);
            }
            ClientAuth::None { client_id } => {
                if let Some(id) = client_id {
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
        c.client_id = Some("rs special@client:%+/".into());
        c.client_secret = Some(Secret::new("s3cr@t:%+/ x!"));
        let auth = ClientAuth::from_config(&c).unwrap();
        let ClientAuth::Basic(value) = &auth else { panic!("expected Basic") };
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
        c.client_id = Some("c".into());
        c.client_auth = Some(ClientAuthMethod::ClientSecretJwt);
        assert!(ClientAuth::from_config(&c).is_err());
        c.client_secret = Some(Secret::new("0123456789abcdef0123456789abcdef"));
        assert!(ClientAuth::from_config(&c).is_ok());
        c.assertion_alg = Some("RS256".into());
        assert!(ClientAuth::from_config(&c).is_err());
    }
}
