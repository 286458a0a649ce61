//! Local validation of JWT access tokens (RFC 9068) under the rules of RFC 8725.
//!
//! [`parse_compact`] does everything that needs no key: size cap, exactly three strict
//! base64url parts, strict JSON objects, the header rules (`alg` allow-list, `crit`, `b64`,
//! `cty`, JWE-only members, `typ`). The signature is then checked by aws-lc-rs (the backend
//! `jsonwebtoken` and rustls use here) with a key chosen from the JWKS and parsed when the set
//! was fetched, never per token; claims are only believed after that.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

use crate::algorithms::{self, Alg};
use crate::error::{Error, Result};
use crate::jwks::{MAX_KID_LEN, VerifyKey};

/// Which `typ` header values are acceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypPolicy {
    /// Access tokens: `at+jwt` / `application/at+jwt`, and `JWT` or absent unless strict.
    AccessToken {
        /// RFC 9068 strict mode: only `at+jwt`.
        strict: bool,
    },
    /// RFC 9701 introspection responses: `token-introspection+jwt`.
    IntrospectionResponse,
    /// RFC 9449 DPoP proofs: `dpop+jwt`.
    DpopProof,
}

/// A compact JWS whose structure and header passed every keyless check. Its `Debug` shows the
/// header's algorithm, `kid` and `typ` only: payload and signature together would rebuild the
/// token.
pub struct ParsedJws<'a> {
    /// The header as a strict JSON object.
    pub header: Map<String, Value>,
    /// The payload as a strict JSON object (not yet trusted).
    pub payload: Map<String, Value>,
    /// The signing algorithm, from the allow-list.
    pub alg: Alg,
    /// The `kid` header, if any.
    pub kid: Option<String>,
    /// The `typ` header, if any.
    pub typ: Option<String>,
    signing_input: Cow<'a, str>,
    signature: Vec<u8>,
}

impl ParsedJws<'_> {
    /// The same JWS, owning its signing input (for a decision that must wait for I/O).
    pub fn into_owned(self) -> ParsedJws<'static> {
        ParsedJws {
            header: self.header,
            payload: self.payload,
            alg: self.alg,
            kid: self.kid,
            typ: self.typ,
            signing_input: Cow::Owned(self.signing_input.into_owned()),
            signature: self.signature,
        }
    }
}

impl std::fmt::Debug for ParsedJws<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedJws")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("typ", &self.typ)
            .finish_non_exhaustive()
    }
}

/// Header members that only make sense for JWE; their presence on a JWS is refused.
const JWE_ONLY: &[&str] = &["enc", "zip", "epk", "apu", "apv", "iv", "tag", "p2s", "p2c"];

/// What a token looks like from the outside, before any strict parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// A dotted token whose first segment decodes to a JSON object's `{`, without the JWE
    /// number of dots: a compact JWS, well formed or not (a JWS JSON serialization, or a
    /// 2- or 4-part form, is refused by [`parse_compact`]).
    Jws,
    /// Four dots and such a first segment: a compact JWE.
    Jwe,
    /// Anything else: an opaque token.
    Opaque,
}

/// Routes a token by its shape alone. A JOSE object is judged locally even when its header is
/// malformed (duplicate members, too deep, trailing bytes, bad UTF-8, no `alg`): sending it to
/// introspection would let the authorization server's answer decide about a token we can
/// already refuse, with our credentials attached (docs/security.md, routing by shape).
pub fn shape(token: &str) -> Shape {
    let dots = token.bytes().filter(|b| *b == b'.').count();
    if dots == 0 {
        return Shape::Opaque;
    }
    let first = token.split('.').next().unwrap_or_default();
    if !opens_an_object(first) {
        return Shape::Opaque;
    }
    if dots == 4 { Shape::Jwe } else { Shape::Jws }
}

/// Whether a base64url segment decodes to bytes whose first non-whitespace byte is `{`. The
/// segment is decoded leniently up to its first character outside the alphabet: a segment
/// that is broken later still counts.
fn opens_an_object(segment: &str) -> bool {
    let valid = segment.bytes().take_while(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_').count();
    let whole = valid - valid % 4;
    let prefix = &segment[..if valid % 4 >= 2 { valid } else { whole }];
    decode_lenient(prefix).iter().find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r')) == Some(&b'{')
}

fn decode_lenient(chunk: &str) -> Vec<u8> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const LENIENT: GeneralPurpose = GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        GeneralPurposeConfig::new()
            .with_decode_allow_trailing_bits(true)
            .with_decode_padding_mode(DecodePaddingMode::RequireNone),
    );
    LENIENT.decode(chunk).unwrap_or_default()
}

/// Parses and checks a compact JWS without any key.
///
/// `algorithms` is the allow-list; `max_bytes` the size cap, applied before any decoding.
pub fn parse_compact<'a>(
    token: &'a str,
    algorithms: &[Alg],
    max_bytes: usize,
    typ_policy: TypPolicy,
) -> Result<ParsedJws<'a>> {
    if token.len() > max_bytes {
        return Err(Error::invalid_token("the token is over the size limit"));
    }
    if token.starts_with('{') {
        return Err(Error::invalid_token("JWS JSON serialization is not accepted"));
    }
    let dots = token.bytes().filter(|b| *b == b'.').count();
    if dots == 4 {
        return Err(Error::invalid_token("encrypted tokens (JWE) are not accepted"));
    }
    if dots != 2 {
        return Err(Error::invalid_token("the token is not a compact JWS"));
    }
    let Some((signing_input, signature)) = token.rsplit_once('.') else {
        return Err(Error::invalid_token("the token is not a compact JWS"));
    };
    let Some((header_b64, payload_b64)) = signing_input.split_once('.') else {
        return Err(Error::invalid_token("the token is not a compact JWS"));
    };
    if header_b64.is_empty() || payload_b64.is_empty() {
        return Err(Error::invalid_token("the token has an empty part"));
    }
    if signature.is_empty() {
        return Err(Error::invalid_token("the token has no signature"));
    }
    let decode = |part: &str| {
        URL_SAFE_NO_PAD.decode(part).map_err(|_| Error::invalid_token("a token part is not strict base64url"))
    };
    let header_bytes = decode(header_b64)?;
    let payload_bytes = decode(payload_b64)?;
    let signature = decode(signature)?;
    let header = crate::json::parse_object(&header_bytes)
        .map_err(|_| Error::invalid_token("the token header is not a strict JSON object"))?;
    let payload = crate::json::parse_object(&payload_bytes)
        .map_err(|_| Error::invalid_token("the token payload is not a strict JSON object"))?;

    let alg = match header.get("alg") {
        Some(Value::String(name)) => algorithms::for_remote_keys(name)
            .filter(|a| algorithms.contains(a))
            .ok_or(Error::invalid_token("the token algorithm is not accepted"))?,
        _ => return Err(Error::invalid_token("the token header has no alg")),
    };
    check_crit(&header)?;
    // One pass over the (few) header members rather than a lookup per forbidden name.
    let (mut b64, mut cty, mut jwe) = (false, false, false);
    for name in header.keys() {
        match name.as_str() {
            "b64" => b64 = true,
            "cty" => cty = true,
            other => jwe |= JWE_ONLY.contains(&other),
        }
    }
    if b64 {
        return Err(Error::invalid_token("unencoded payloads (b64) are not accepted"));
    }
    if cty {
        return Err(Error::invalid_token("nested tokens (cty) are not accepted"));
    }
    if jwe {
        return Err(Error::invalid_token("the token header has encryption members"));
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(k)) if !k.is_empty() && k.len() <= MAX_KID_LEN => Some(k.clone()),
        Some(_) => return Err(Error::invalid_token("the token kid is not acceptable")),
    };
    let typ = match header.get("typ") {
        None => None,
        Some(Value::String(t)) => Some(t.clone()),
        Some(_) => return Err(Error::invalid_token("the token typ is not a string")),
    };
    check_typ(typ.as_deref(), typ_policy)?;
    // `jwk`, `jku`, `x5u`, `x5c` are deliberately ignored: keys come only from the
    // configured issuer's JWKS, and nothing in a header causes a request.
    Ok(ParsedJws { header, payload, alg, kid, typ, signing_input: Cow::Borrowed(signing_input), signature })
}

fn check_crit(header: &Map<String, Value>) -> Result<()> {
    match header.get("crit") {
        None => Ok(()),
        // We understand no extension, so any well-formed `crit` names something we must
        // refuse (RFC 7515 §4.1.11); malformed ones are refused too.
        Some(_) => Err(Error::invalid_token("the token has critical extensions (crit)")),
    }
}

fn check_typ(typ: Option<&str>, policy: TypPolicy) -> Result<()> {
    let t = typ.map(str::to_ascii_lowercase);
    let ok = match policy {
        TypPolicy::AccessToken { strict } => match t.as_deref() {
            Some("at+jwt" | "application/at+jwt") => true,
            None | Some("jwt" | "application/jwt") => !strict,
            Some(_) => false,
        },
        TypPolicy::IntrospectionResponse => {
            matches!(t.as_deref(), Some("token-introspection+jwt" | "application/token-introspection+jwt"))
        }
        TypPolicy::DpopProof => matches!(t.as_deref(), Some("dpop+jwt" | "application/dpop+jwt")),
    };
    if ok { Ok(()) } else { Err(Error::invalid_token("the token type (typ) is not accepted")) }
}

impl ParsedJws<'_> {
    /// Checks the signature with `key`, which must fit `self.alg`.
    pub fn verify(&self, key: &VerifyKey) -> Result<()> {
        if key.verify(self.alg, self.signing_input.as_bytes(), &self.signature) {
            Ok(())
        } else {
            Err(Error::invalid_token("the token signature is invalid"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn token(header: &str, payload: &str) -> String {
        format!("{}.{}.{}", b64(header), b64(payload), b64("sig"))
    }

    const ALGS: &[Alg] = &[&algorithms::ALGORITHMS[0], &algorithms::ALGORITHMS[6]];
    const AT: TypPolicy = TypPolicy::AccessToken { strict: false };

    fn check(t: &str) -> std::result::Result<(), String> {
        parse_compact(t, ALGS, 16 * 1024, AT).map(|_| ()).map_err(|e| e.detail().to_owned())
    }

    #[test]
    fn accepts_a_well_formed_header() {
        check(&token(r#"{"alg":"RS256","kid":"k","typ":"at+jwt"}"#, "{}")).unwrap();
        check(&token(r#"{"alg":"RS256","typ":"JWT"}"#, "{}")).unwrap();
        check(&token(r#"{"alg":"ES256","typ":"Application/AT+JWT","jku":"https://evil"}"#, "{}")).unwrap();
    }

    #[test]
    fn refuses_hostile_headers() {
        let bad = [
            r#"{"alg":"none"}"#,
            r#"{"alg":"None"}"#,
            r#"{"alg":"HS256"}"#,
            r#"{"alg":"RS384"}"#,
            r#"{"alg":["RS256"]}"#,
            r#"{"typ":"JWT"}"#,
            r#"{"alg":"RS256","crit":["exp"]}"#,
            r#"{"alg":"RS256","crit":[]}"#,
            r#"{"alg":"RS256","crit":"b64"}"#,
            r#"{"alg":"RS256","b64":false,"crit":["b64"]}"#,
            r#"{"alg":"RS256","b64":true}"#,
            r#"{"alg":"RS256","cty":"JWT"}"#,
            r#"{"alg":"RS256","enc":"A256GCM"}"#,
            r#"{"alg":"RS256","zip":"DEF"}"#,
            r#"{"alg":"RS256","typ":"dpop+jwt"}"#,
            r#"{"alg":"RS256","typ":"token-introspection+jwt"}"#,
            r#"{"alg":"RS256","typ":"logout+jwt"}"#,
            r#"{"alg":"RS256","typ":5}"#,
            r#"{"alg":"RS256","kid":7}"#,
            r#"{"alg":"RS256","kid":""}"#,
            r#"{"alg":"RS256","alg":"RS256"}"#,
            r#"["RS256"]"#,
        ];
        for h in bad {
            assert!(check(&token(h, "{}")).is_err(), "accepted header {h}");
        }
        let long_kid = format!(r#"{{"alg":"RS256","kid":"{}"}}"#, "k".repeat(300));
        assert!(check(&token(&long_kid, "{}")).is_err());
    }

    #[test]
    fn refuses_malformed_structure() {
        let good = token(r#"{"alg":"RS256"}"#, "{}");
        let (hp, _) = good.rsplit_once('.').unwrap();
        for t in [
            String::new(),
            "abc".into(),
            "a.b".into(),
            format!("{hp}."),
            format!("{hp}.c.d"),
            format!("{good}.x.y"),
            format!("{hp}.c2ln="),
            format!("{}.{}", b64(r#"{"alg":"RS256"}"#).replace('e', "+"), "e30.c2ln"),
            format!("{}.e30=.c2ln", b64(r#"{"alg":"RS256"}"#)),
            format!("{}.{}.c2ln", b64(r#"{"alg":"RS256"}"#), b64("[]")),
            format!("{}.{}.c2ln", b64(r#"{"alg":"RS256"}"#), b64(r#"{"a":1,"a":2}"#)),
            format!("{}.{}.c2ln", b64(r#"{"alg":"RS256"}"#), b64(r#"{"a":1} "#) + "x"),
            r#"{"payload":"e30","signatures":[]}"#.into(),
        ] {
            assert!(check(&t).is_err(), "accepted {t}");
        }
        let huge = token(r#"{"alg":"RS256"}"#, &format!(r#"{{"a":"{}"}}"#, "x".repeat(20_000)));
        assert!(check(&huge).unwrap_err().contains("size limit"));
    }

    #[test]
    fn strict_mode_and_introspection_typ() {
        let plain = token(r#"{"alg":"RS256","typ":"JWT"}"#, "{}");
        assert!(parse_compact(&plain, ALGS, 16384, TypPolicy::AccessToken { strict: true }).is_err());
        let at = token(r#"{"alg":"RS256","typ":"at+jwt"}"#, "{}");
        assert!(parse_compact(&at, ALGS, 16384, TypPolicy::AccessToken { strict: true }).is_ok());
        assert!(parse_compact(&at, ALGS, 16384, TypPolicy::IntrospectionResponse).is_err());
        let ti = token(r#"{"alg":"RS256","typ":"token-introspection+jwt"}"#, "{}");
        assert!(parse_compact(&ti, ALGS, 16384, TypPolicy::IntrospectionResponse).is_ok());
    }

    #[test]
    fn routing_goes_by_shape() {
        assert_eq!(shape(&token(r#"{"alg":"RS256"}"#, "{}")), Shape::Jws);
        assert_eq!(shape("3ZMBE9YiA2qtWTMS7apNLotBwNAdsait54qhIsvqS_e"), Shape::Opaque);
        assert_eq!(shape("a.b.c"), Shape::Opaque);
        // Malformed headers are still JOSE objects: judged locally, never introspected.
        for header in [
            r#"{"typ":"JWT"}"#,
            r#"{"alg":"RS256","alg":"RS256"}"#,
            r#"{"alg":"RS256"} trailing"#,
            r#" {"alg":"RS256"}"#,
            "{",
        ] {
            assert_eq!(shape(&token(header, "{}")), Shape::Jws, "{header}");
        }
        let jwe = format!("{}.a.b.c.d", b64(r#"{"alg":"dir","enc":"A256GCM"}"#));
        assert_eq!(shape(&jwe), Shape::Jwe);
        assert_eq!(shape(&format!("{}.a.b.c", b64(r#"{"alg":"none"}"#))), Shape::Jws, "4 parts");
        assert_eq!(shape(&format!("{}.a", b64(r#"{"alg":"none"}"#))), Shape::Jws, "2 parts");
        assert_eq!(shape(&format!("{}x.e30.sig", &b64(r#"{"alg":"RS256"}"#))), Shape::Jws, "bad tail");
        assert_eq!(shape("e.b.c"), Shape::Opaque, "too short to decode");
        assert_eq!(shape("ey.b.c"), Shape::Jws);
    }
}
