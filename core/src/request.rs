//! What a resource server sees of a request, and the shape of a decision about it.
//!
//! A framework adapter fills a [`Request`] from its own request type (every `Authorization`
//! field line, the method and URL, the required scopes) and hands it to
//! [`Validator::decide`](crate::Validator::decide). It parses nothing and decides nothing.

use std::fmt;
use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::claims::TokenInfo;
use crate::error::{Error, ErrorKind, Result};

/// A client certificate presented on the connection (RFC 8705), as the adapter has it.
#[derive(Clone, PartialEq, Eq)]
pub enum ClientCertificate {
    /// The certificate's DER bytes.
    Der(Vec<u8>),
    /// SHA-256 of the DER bytes (what `cnf.x5t#S256` names).
    Sha256([u8; 32]),
}

impl fmt::Debug for ClientCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ClientCertificate::Der(_) => "ClientCertificate::Der(..)",
            ClientCertificate::Sha256(_) => "ClientCertificate::Sha256(..)",
        })
    }
}

/// What a resource server sees of one request.
///
/// `Debug` never shows header values (they carry tokens), only how many there are.
///
/// ```
/// let request = bearerguard::Request::new()
///     .method("GET")
///     .url("https://api.example.com/orders?page=2")
///     .authorization("Bearer abc")
///     .scopes(["read"]);
/// assert_eq!(request.authorization.len(), 1);
/// assert!(!format!("{request:?}").contains("abc"));
/// ```
#[derive(Clone, Default)]
pub struct Request {
    /// The HTTP method, e.g. `GET`.
    pub method: String,
    /// The target URL as the client used it (behind a proxy, as the configured external base
    /// URL makes it); used by sender-constrained checks (DPoP `htu`).
    pub url: Option<String>,
    /// Every `Authorization` field value, in order. More than one is `invalid_request`.
    pub authorization: Vec<String>,
    /// Every `DPoP` field value, in order.
    pub dpop: Vec<String>,
    /// The client certificate of the connection, if any.
    pub client_certificate: Option<ClientCertificate>,
    /// Scopes this request requires, on top of the configured `required_scopes`.
    pub scopes: Vec<String>,
    /// Other header fields the core may read, as `(name, value)`: today only the trusted
    /// proxy's client-certificate header (`client_certificate_header`); others are ignored.
    pub headers: Vec<(String, String)>,
    /// With many issuers: the tenant key the app routes this request by (its host, a path
    /// prefix, a header it names), selecting the entry of `issuers` whose `tenant` lists it.
    /// A token of any other issuer is then refused. `None`: a JWT is routed by its `iss`.
    pub tenant: Option<String>,
}

impl fmt::Debug for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("authorization", &format_args!("[{} value(s)]", self.authorization.len()))
            .field("dpop", &format_args!("[{} value(s)]", self.dpop.len()))
            .field("client_certificate", &self.client_certificate)
            .field("scopes", &self.scopes)
            .field("headers", &format_args!("[{} header(s)]", self.headers.len()))
            .field("tenant", &self.tenant)
            .finish_non_exhaustive()
    }
}

impl Request {
    /// An empty request: no method, no headers, no scopes.
    pub fn new() -> Self {
        Request::default()
    }

    /// Sets the method.
    #[must_use]
    pub fn method(mut self, method: impl Into<String>) -> Self {
        self.method = method.into();
        self
    }

    /// Sets the target URL.
    #[must_use]
    pub fn url(mut self, url: impl Into<String>) -> Self {
        self.url = Some(url.into());
        self
    }

    /// Adds one `Authorization` field value.
    #[must_use]
    pub fn authorization(mut self, value: impl Into<String>) -> Self {
        self.authorization.push(value.into());
        self
    }

    /// Adds one `DPoP` field value.
    #[must_use]
    pub fn dpop(mut self, value: impl Into<String>) -> Self {
        self.dpop.push(value.into());
        self
    }

    /// Sets the tenant key (many issuers).
    #[must_use]
    pub fn tenant(mut self, key: impl Into<String>) -> Self {
        self.tenant = Some(key.into());
        self
    }

    /// Sets the client certificate.
    #[must_use]
    pub fn client_certificate(mut self, certificate: ClientCertificate) -> Self {
        self.client_certificate = Some(certificate);
        self
    }

    /// Adds one other header field (see [`Request::headers`]).
    #[must_use]
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Requires these scopes.
    #[must_use]
    pub fn scopes<S: Into<String>>(mut self, scopes: impl IntoIterator<Item = S>) -> Self {
        self.scopes = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The bearer token this request carries: exactly one `Authorization` line with the
    /// `Bearer` scheme (RFC 6750 §2.1). Two lines are `invalid_request`: two credentials in one
    /// request must not be resolved by whichever the framework happened to keep.
    pub fn bearer_token(&self) -> Result<&str> {
        match self.authorization.as_slice() {
            [] => crate::header::bearer_token(None),
            [one] => crate::header::bearer_token(Some(one)),
            _ => Err(Error::new(
                ErrorKind::InvalidRequest,
                "the request has more than one Authorization header",
            )),
        }
    }
}

/// A decision about a request: known at once, or waiting for I/O.
///
/// `Ready` needs no runtime and no thread hop (a cheap refusal, a JWT under a cached key, a
/// cached introspection verdict); `Pending` is a `Send + 'static` future that owns everything
/// it needs. Awaiting a `Decision` gives the answer either way.
#[must_use = "a decision does nothing until it is read or awaited"]
pub enum Decision {
    /// The answer, known without I/O.
    Ready(Result<Arc<TokenInfo>>),
    /// The answer needs the network (discovery, JWKS, introspection).
    Pending(Pending),
}

impl fmt::Debug for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Decision::Ready(r) => f.debug_tuple("Ready").field(r).finish(),
            Decision::Pending(_) => f.write_str("Pending"),
        }
    }
}

/// The future of a decision: one that waits for I/O, or an awaited [`Decision::Ready`].
pub struct Pending(State);

enum State {
    /// Answered without I/O: awaiting it allocates nothing (`None` once polled to completion).
    Ready(Option<Result<Arc<TokenInfo>>>),
    Waiting(Pin<Box<dyn Future<Output = Result<Arc<TokenInfo>>> + Send + 'static>>),
}

impl Pending {
    pub(crate) fn new(future: impl Future<Output = Result<Arc<TokenInfo>>> + Send + 'static) -> Self {
        Pending(State::Waiting(Box::pin(future)))
    }
}

impl Future for Pending {
    type Output = Result<Arc<TokenInfo>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.0 {
            State::Ready(answer) => Poll::Ready(answer.take().expect("a ready decision is polled once")),
            State::Waiting(future) => future.as_mut().poll(cx),
        }
    }
}

impl IntoFuture for Decision {
    type Output = Result<Arc<TokenInfo>>;
    type IntoFuture = Pending;

    fn into_future(self) -> Pending {
        match self {
            Decision::Ready(result) => Pending(State::Ready(Some(result))),
            Decision::Pending(pending) => pending,
        }
    }
}

impl Decision {
    /// The answer if it is already known.
    pub fn ready(self) -> Option<Result<Arc<TokenInfo>>> {
        match self {
            Decision::Ready(result) => Some(result),
            Decision::Pending(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exactly_one_authorization_line() {
        let one = Request::new().authorization("Bearer abc");
        assert_eq!(one.bearer_token().unwrap(), "abc");
        assert_eq!(Request::new().bearer_token().unwrap_err().code(), "missing_token");
        let two = Request::new().authorization("Bearer abc").authorization("Bearer def");
        assert_eq!(two.bearer_token().unwrap_err().code(), "invalid_request");
        let other = Request::new().authorization("Basic x").authorization("Bearer abc");
        assert_eq!(other.bearer_token().unwrap_err().code(), "invalid_request", "whatever the schemes");
        let dbg = format!("{two:?}");
        assert!(!dbg.contains("abc") && !dbg.contains("def"), "{dbg}");
    }
}
