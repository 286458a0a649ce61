//! The `Authorization: Bearer` header (RFC 6750 §2.1).

use crate::error::{Error, ErrorKind, Result};

/// Longest header value looked at; beyond it the request is malformed.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Whether `token` uses only RFC 6750 `b64token` characters.
pub fn is_b64token(token: &str) -> bool {
    let body = token.as_bytes();
    let end = body.iter().rposition(|&b| b != b'=').map_or(0, |i| i + 1);
    end > 0 && body[..end].iter().all(|&b| B64TOKEN[usize::from(b)])
}

/// The b64token alphabet (RFC 6750 §2.1, without the trailing `=`), as a table: this check
/// runs over every byte of every token.
const B64TOKEN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
        b += 1;
    }
    table
};

/// Extracts the bearer token from an `Authorization` header value.
///
/// No header, an empty one, or another scheme (`Basic …`) is `missing_token` (RFC 6750
/// §3.1: answer without an error code); a `Bearer` header that is malformed is
/// `invalid_request`.
///
/// ```
/// use bearerguard::bearer_token;
/// assert_eq!(bearer_token(Some("Bearer abc.def")).unwrap(), "abc.def");
/// assert_eq!(bearer_token(Some("bearer  abc")).unwrap(), "abc");
/// assert_eq!(bearer_token(None).unwrap_err().code(), "missing_token");
/// assert_eq!(bearer_token(Some("Basic dXNlcjpwdw==")).unwrap_err().code(), "missing_token");
/// assert_eq!(bearer_token(Some("Bearer a b")).unwrap_err().code(), "invalid_request");
/// ```
pub fn bearer_token(authorization: Option<&str>) -> Result<&str> {
    match credentials(authorization, false)? {
        (Scheme::Bearer, token) => Ok(token),
        (Scheme::Dpop, _) => Err(Error::new(ErrorKind::MissingToken, "no bearer token in the request")),
    }
}

/// The authorization scheme a token came with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Scheme {
    /// `Bearer` (RFC 6750).
    #[default]
    Bearer,
    /// `DPoP` (RFC 9449 §7.1).
    Dpop,
}

/// The token of an `Authorization` value with the `Bearer` scheme, or also the `DPoP` scheme
/// when `dpop` is true (same `token68` syntax). Other schemes are `missing_token`.
pub(crate) fn credentials(authorization: Option<&str>, dpop: bool) -> Result<(Scheme, &str)> {
    let missing = || Error::new(ErrorKind::MissingToken, "no bearer token in the request");
    let malformed = |why: &'static str| Error::new(ErrorKind::InvalidRequest, why);
    let Some(value) = authorization else { return Err(missing()) };
    if value.len() > MAX_HEADER_BYTES {
        return Err(malformed("the Authorization header is too large"));
    }
    let value = value.trim_matches(|c| c == ' ' || c == '\t');
    if value.is_empty() {
        return Err(missing());
    }
    let (scheme, rest) = match value.find([' ', '\t']) {
        Some(i) => (&value[..i], &value[i..]),
        None => (value, ""),
    };
    let scheme = if scheme.eq_ignore_ascii_case("bearer") {
        Scheme::Bearer
    } else if dpop && scheme.eq_ignore_ascii_case("dpop") {
        Scheme::Dpop
    } else {
        return Err(missing());
    };
    let token = rest.trim_start_matches([' ', '\t']);
    if token.is_empty() {
        return Err(malformed("the credentials are empty"));
    }
    if !is_b64token(token) || token.trim_end_matches('=').contains('=') {
        return Err(malformed("the credentials are malformed"));
    }
    Ok((scheme, token))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        assert_eq!(bearer_token(Some("Bearer abc")).unwrap(), "abc");
        assert_eq!(bearer_token(Some("BEARER a-b_c.d~e+f/g==")).unwrap(), "a-b_c.d~e+f/g==");
        assert_eq!(bearer_token(Some("Bearer\tabc ")).unwrap(), "abc");
        for missing in [None, Some(""), Some("   "), Some("Basic abc"), Some("Bearerabc"), Some("DPoP abc")] {
            assert_eq!(bearer_token(missing).unwrap_err().code(), "missing_token", "{missing:?}");
        }
        assert_eq!(credentials(Some("DPoP abc"), true).unwrap(), (Scheme::Dpop, "abc"));
        assert_eq!(credentials(Some("dpop abc"), true).unwrap(), (Scheme::Dpop, "abc"));
        assert_eq!(credentials(Some("DPoP abc"), false).unwrap_err().code(), "missing_token");
        assert_eq!(credentials(Some("DPoP a b"), true).unwrap_err().code(), "invalid_request");
        let huge = format!("Bearer {}", "a".repeat(MAX_HEADER_BYTES));
        for bad in [
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "Bearer a,b",
            "Bearer a\"b",
            "Bearer ==",
            "Bearer a=b",
            "Bearer ü",
            "Bearer a\u{0}b",
            huge.as_str(),
        ] {
            let code = bearer_token(Some(bad)).map(|_| "ok").unwrap_or_else(|e| e.code());
            assert!(code == "invalid_request", "{bad:?} -> {code}");
        }
    }
}
