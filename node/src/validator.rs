//! `NativeValidator`: one core [`Validator`] held by a JavaScript object.
//!
//! One native call per decision. `decide` (a bare token) and `decideRequest` (a request: every
//! `Authorization` line, method, URL) hand the core's [`Decision`] back as it is: a `Ready`
//! answer synchronously on the JavaScript thread (the `TokenInfo` object, or a thrown
//! refusal), a `Pending` one as a Promise that napi's Tokio runtime settles. Nothing is asked
//! of the core twice.
//!
//! The core hands every hit of a cached verdict the same `Arc<TokenInfo>`; [`Memo`] hands
//! JavaScript the same frozen object for it, made once (by `index.js`'s `materialize`, from
//! the JSON text), so a repeated token costs no serialisation and no `JSON.parse`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::hash::BuildHasherDefault;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::rc::Rc;
use std::sync::{Arc, Weak};

use bearerguard::{
    BoxError, ClientCertificate, Config, Decision, IssuerResolver, Request, ResolverFuture, SharedClock,
    Stats, SystemClock, TokenInfo, Validator,
};
use futures_util::FutureExt;
use napi::bindgen_prelude::{
    Buffer, Either, Function, FunctionRef, Object, ObjectFinalize, ObjectRef, Promise, PromiseRaw,
};
use napi::threadsafe_function::ThreadsafeFunction;
use napi::{Env, Result};
use napi_derive::napi;
use rustc_hash::FxHasher;

use crate::errors::Refusal;

/// A core validator. `index.js` wraps it; JavaScript code uses `Validator` from there.
#[napi(custom_finalize)]
pub struct NativeValidator {
    pub(crate) inner: Validator,
    memo: Rc<RefCell<Memo>>,
}

impl ObjectFinalize for NativeValidator {
    fn finalize(self, env: Env) -> Result<()> {
        self.memo.borrow_mut().clear(&env)
    }
}

/// Objects kept per generation; two generations are kept (a cheap approximation of LRU).
const MEMO_GENERATION: usize = 4096;

type Materialize = FunctionRef<String, ObjectRef<false>>;

/// The frozen JavaScript object made for each recent `TokenInfo`, keyed by its address. An
/// entry holds a `Weak` of it, which keeps the allocation alive: an address in the table is
/// never reused by another `TokenInfo`, so a key that matches is the same answer. Used only on
/// the JavaScript thread.
pub(crate) struct Memo {
    materialize: Materialize,
    young: Objects,
    old: Objects,
}

/// Keyed by an address (not chosen by any caller), so hashed with `FxHasher`: SipHash's
/// flood resistance buys nothing here and costs a lookup on every answer.
type Objects = HashMap<usize, (Weak<TokenInfo>, ObjectRef<false>), BuildHasherDefault<FxHasher>>;

impl Memo {
    /// The object for `info`: the one made before, or a new one from its JSON text.
    fn object<'env>(&mut self, env: &'env Env, info: &Arc<TokenInfo>) -> Result<Object<'env>> {
        let key = Arc::as_ptr(info) as usize;
        if let Some((_, object)) = self.young.get(&key) {
            return object.get_value(env);
        }
        let entry = match self.old.remove(&key) {
            Some(entry) => entry,
            None => {
                let json = serde_json::to_string(&JsTokenInfo::from(&**info))
                    .map_err(|e| napi::Error::from_reason(e.to_string()))?;
                (Arc::downgrade(info), self.materialize.borrow_back(env)?.call(json)?)
            }
        };
        let value = entry.1.get_value(env);
        if self.young.len() >= MEMO_GENERATION {
            for (_, (_, object)) in self.old.drain() {
                object.unref(env)?;
            }
            self.old = std::mem::take(&mut self.young);
        }
        self.young.insert(key, entry);
        value
    }

    fn clear(&mut self, env: &Env) -> Result<()> {
        for (_, (_, object)) in self.young.drain().chain(self.old.drain()) {
            object.unref(env)?;
        }
        Ok(())
    }
}

/// Counters of one validator (numbers, exact up to 2^53).
#[napi(object)]
pub struct NativeStats {
    /// HTTP requests to the introspection endpoint, retries included.
    pub introspection_requests: f64,
    /// HTTP fetches of the JWKS.
    pub jwks_fetches: f64,
    /// Decisions that accepted a token.
    pub accepted: f64,
    /// Decisions that refused a request, for any reason.
    pub refused: f64,
    /// With many issuers: requests refused before any issuer was chosen, each without a
    /// request to any server (counted in `refused` too).
    pub unrouted: f64,
    /// The shared tier's counters (`cache.shared`; zeros without it).
    pub shared: NativeSharedStats,
}

impl From<Stats> for NativeStats {
    fn from(stats: Stats) -> Self {
        NativeStats {
            introspection_requests: stats.introspection_requests as f64,
            jwks_fetches: stats.jwks_fetches as f64,
            accepted: stats.accepted as f64,
            refused: stats.refused as f64,
            unrouted: stats.unrouted as f64,
            shared: NativeSharedStats {
                hits: stats.shared.hits as f64,
                misses: stats.shared.misses as f64,
                errors: stats.shared.errors as f64,
                rejected: stats.shared.rejected as f64,
                skipped: stats.shared.skipped as f64,
                waits: stats.shared.waits as f64,
                forgets_received: stats.shared.forgets_received as f64,
            },
        }
    }
}

/// One issuer's counters (`statsByIssuer`).
#[napi(object)]
pub struct NativeIssuerStats {
    /// The issuer.
    pub issuer: String,
    /// Its counters.
    pub stats: NativeStats,
}

/// What an issuer resolver's answers keep (`resolverEntries`).
#[napi(object)]
pub struct NativeResolverEntries {
    /// Issuers the resolver approved that are kept.
    pub kept: f64,
    /// Issuers it declined that are remembered.
    pub declined: f64,
}

/// The JavaScript resolver as index.js hands it over: it always returns a Promise of a
/// snake_case config object or `null`, and never throws (index.js turns a throw into a
/// rejection). Weak: it does not keep the process alive.
pub(crate) type JsResolver =
    ThreadsafeFunction<String, Promise<Option<serde_json::Value>>, String, napi::Status, false, true>;

/// A JavaScript function as the core's [`IssuerResolver`]: called on the JavaScript thread,
/// its Promise awaited on the runtime. A rejection is an error (the core refuses the request
/// as `configuration`); its reason is not carried, it may hold anything.
struct JsIssuerResolver(Arc<JsResolver>);

impl IssuerResolver for JsIssuerResolver {
    fn resolve(&self, issuer: &str) -> ResolverFuture {
        let function = Arc::clone(&self.0);
        let issuer = issuer.to_owned();
        Box::pin(async move {
            let promise = function
                .call_async_catch(issuer)
                .await
                .map_err(|_| BoxError::from("the JavaScript issuer resolver could not be called"))?;
            let answer = promise
                .await
                .map_err(|_| BoxError::from("the JavaScript issuer resolver threw or rejected"))?;
            match answer {
                None | Some(serde_json::Value::Null) => Ok(None),
                // The core's config errors name the field and never echo a value.
                Some(value) => Config::from_value(value).map(Some).map_err(|e| {
                    BoxError::from(format!(
                        "the JavaScript issuer resolver returned an invalid config: {}",
                        e.detail()
                    ))
                }),
            }
        })
    }
}

/// Counters of the shared tier (`cache.shared`).
#[napi(object)]
pub struct NativeSharedStats {
    /// Verdicts found in the shared tier.
    pub hits: f64,
    /// Lookups that found nothing.
    pub misses: f64,
    /// Commands that failed or timed out.
    pub errors: f64,
    /// Entries that failed to open (forged, altered, moved), treated as misses.
    pub rejected: f64,
    /// Calls that skipped the tier while its circuit breaker was open.
    pub skipped: f64,
    /// Lookups that waited for another instance's introspection.
    pub waits: f64,
    /// `forget` announcements received.
    pub forgets_received: f64,
}

/// This API as a protected resource (RFC 8707, RFC 9728), when `resource` is configured.
#[napi(object)]
pub struct NativeResource {
    /// The configured canonical URI.
    pub resource: String,
    /// The issuer (the metadata's one authorization server).
    pub issuer: String,
    /// The metadata document, serialized.
    pub metadata_json: String,
    /// Where the document lives (the well-known path inserted).
    pub metadata_url: String,
    /// The path part of `metadata_url`.
    pub metadata_path: String,
    /// The `Cache-Control` the document is served with.
    pub cache_control: String,
    /// The configured `required_scopes`.
    pub required_scopes: Vec<String>,
}

/// What a decision gives JavaScript: the `TokenInfo` object now, or a Promise of it.
pub type Answer<'env> = Either<Object<'env>, PromiseRaw<'env, Object<'env>>>;

#[napi]
impl NativeValidator {
    /// Builds a validator from a config object with the core's (snake_case) field names.
    /// Loads keys now; no network I/O happens before the first decision. `materialize` turns
    /// a `TokenInfo`'s JSON text into the (frozen) object every answer about it shares.
    /// `resolver` (many issuers) answers for an issuer no entry lists: a Promise of its
    /// snake_case config, or of `null` to decline.
    #[napi(constructor)]
    pub fn new(
        env: &Env,
        config: serde_json::Value,
        #[napi(ts_arg_type = "(json: string) => object")] materialize: Function<String, ObjectRef<false>>,
        #[napi(ts_arg_type = "((issuer: string) => Promise<object | null>) | null")] resolver: Option<
            JsResolver,
        >,
    ) -> Result<Self> {
        build(env, Source::Value(config), materialize, None, resolver)
    }

    /// Builds a validator from a `.json` or `.toml` config file (the core reads it), like the
    /// constructor otherwise.
    #[napi(factory)]
    pub fn from_file(
        env: &Env,
        path: String,
        #[napi(ts_arg_type = "(json: string) => object")] materialize: Function<String, ObjectRef<false>>,
        #[napi(ts_arg_type = "((issuer: string) => Promise<object | null>) | null")] resolver: Option<
            JsResolver,
        >,
    ) -> Result<Self> {
        build(env, Source::File(path), materialize, None, resolver)
    }

    /// Decides about `token`, requiring `scopes` (`null`: none, so the common call converts no
    /// array): the `TokenInfo` object when the core answers without I/O, a Promise of it
    /// otherwise; a refusal is thrown or rejected.
    #[napi(ts_return_type = "object | Promise<object>")]
    pub fn decide<'env>(
        &self,
        env: &'env Env,
        token: String,
        scopes: Option<Vec<String>>,
    ) -> Result<Answer<'env>> {
        respond(env, self, || self.inner.decide_token(&token, scopes.as_deref().unwrap_or_default()))
    }

    /// Decides about a request: every `Authorization` field line (none, one, or a list; the
    /// core refuses two), its method and URL, and the scopes it requires; for sender-constrained
    /// tokens, every `DPoP` line, the connection's client certificate (DER) and the value(s) of
    /// the trusted proxy's certificate header (`clientCertificateHeader()`). Answers like
    /// `decide`. One line may come as a bare string, so the common case builds no array.
    #[napi(ts_return_type = "object | Promise<object>")]
    #[allow(
        clippy::too_many_arguments,
        reason = "one argument per request input; napi's expansion makes `expect` unreliable here"
    )]
    pub fn decide_request<'env>(
        &self,
        env: &'env Env,
        authorization: Option<Either<String, Vec<String>>>,
        method: Option<String>,
        url: Option<String>,
        scopes: Vec<String>,
        dpop: Option<Either<String, Vec<String>>>,
        client_certificate: Option<Buffer>,
        certificate_header: Option<Either<String, Vec<String>>>,
        tenant: Option<String>,
    ) -> Result<Answer<'env>> {
        let lines = |v: Option<Either<String, Vec<String>>>| match v {
            None => Vec::new(),
            Some(Either::A(line)) => vec![line],
            Some(Either::B(lines)) => lines,
        };
        let mut request = Request::new().scopes(scopes);
        request.authorization = lines(authorization);
        request.method = method.unwrap_or_default();
        request.url = url;
        request.dpop = lines(dpop);
        request.tenant = tenant;
        request.client_certificate = client_certificate.map(|der| ClientCertificate::Der(der.to_vec()));
        if let Some(name) = &self.inner.api_config().client_certificate_header {
            request.headers = lines(certificate_header).into_iter().map(|v| (name.clone(), v)).collect();
        }
        respond(env, self, || self.inner.decide(&request))
    }

    /// Forgets what this validator remembers about `token` (its cached introspection verdict,
    /// a remembered JWT verdict), so that its next use is decided afresh. Rejects with an
    /// `UnavailableError` when a shared tier is configured but could not be told.
    #[napi(ts_return_type = "Promise<void>")]
    pub fn forget<'env>(&self, env: &'env Env, token: String) -> Result<PromiseRaw<'env, ()>> {
        let validator = self.inner.clone();
        env.spawn_future_with_callback(
            async move {
                Ok(match AssertUnwindSafe(validator.forget(&token)).catch_unwind().await {
                    Ok(Ok(())) => Ok(()),
                    Ok(Err(e)) => Err(refusal(&validator, &e)),
                    Err(_) => Err(Refusal::internal()),
                })
            },
            |env, settled: std::result::Result<(), Refusal>| settled.map_err(|r| r.into_js(env)),
        )
    }

    /// The request header a trusted proxy puts the client certificate in
    /// (`client_certificate_header`), lower-cased, or `null`.
    #[napi]
    pub fn client_certificate_header(&self) -> Option<String> {
        self.inner.api_config().client_certificate_header.as_ref().map(|h| h.to_ascii_lowercase())
    }

    /// The protected-resource settings, or `null` when no `resource` is configured.
    #[napi]
    pub fn resource(&self) -> Option<NativeResource> {
        let v = &self.inner;
        let config = v.api_config();
        Some(NativeResource {
            resource: config.resource.clone()?,
            issuer: config.issuer.clone(),
            metadata_json: v.resource_metadata_json()?.to_owned(),
            metadata_url: v.resource_metadata_url()?.to_owned(),
            metadata_path: v.resource_metadata_path()?.to_owned(),
            cache_control: bearerguard::resource::METADATA_CACHE_CONTROL.to_owned(),
            required_scopes: config.required_scopes.clone(),
        })
    }

    /// Counters of the requests this validator made and the decisions it took (with many
    /// issuers, the sum over them).
    #[napi]
    pub fn stats(&self) -> NativeStats {
        self.inner.stats().into()
    }

    /// Each issuer's counters: the configured ones in order, then those the resolver added.
    #[napi]
    pub fn stats_by_issuer(&self) -> Vec<NativeIssuerStats> {
        let by = self.inner.stats_by_issuer();
        by.into_iter().map(|(issuer, stats)| NativeIssuerStats { issuer, stats: stats.into() }).collect()
    }

    /// With a resolver: how many issuers it approved are kept and how many it declined are
    /// remembered (zeros without one).
    #[napi]
    pub fn resolver_entries(&self) -> NativeResolverEntries {
        let (kept, declined) = self.inner.resolver_entries();
        NativeResolverEntries { kept: kept as f64, declined: declined as f64 }
    }
}

/// Where a config comes from: a value (snake_case), or a file the core reads.
pub(crate) enum Source {
    Value(serde_json::Value),
    File(String),
}

/// A validator from `config` (with `clock`, for the test hooks; `resolver`, many issuers),
/// panics caught.
pub(crate) fn build(
    env: &Env,
    config: Source,
    materialize: Function<String, ObjectRef<false>>,
    clock: Option<SharedClock>,
    resolver: Option<JsResolver>,
) -> Result<NativeValidator> {
    let materialize = materialize.create_ref()?;
    let resolver = resolver.map(|f| Arc::new(JsIssuerResolver(Arc::new(f))) as Arc<dyn IssuerResolver>);
    let built = catch_unwind(AssertUnwindSafe(|| {
        let config = match config {
            Source::Value(value) => Config::from_value(value),
            Source::File(path) => Config::from_file(path),
        };
        config.and_then(|c| {
            let clock = clock.unwrap_or_else(|| Arc::new(SystemClock));
            Validator::with_resolver(c, clock, None, resolver)
        })
    }));
    match built {
        Ok(Ok(inner)) => {
            let memo = Memo { materialize, young: Objects::default(), old: Objects::default() };
            Ok(NativeValidator { inner, memo: Rc::new(RefCell::new(memo)) })
        }
        Ok(Err(e)) => Err(Refusal::from_core(&e, None).throw(env)),
        Err(_) => Err(Refusal::internal().throw(env)),
    }
}

type Outcome = bearerguard::Result<Arc<TokenInfo>>;

/// Runs `decide` here, panics caught, and answers: ready now, or a Promise of the runtime.
pub(crate) fn respond<'env>(
    env: &'env Env,
    native: &NativeValidator,
    decide: impl FnOnce() -> Decision,
) -> Result<Answer<'env>> {
    match catch_unwind(AssertUnwindSafe(decide)) {
        Ok(Decision::Ready(Ok(info))) => native.memo.borrow_mut().object(env, &info).map(Either::A),
        Ok(Decision::Ready(Err(e))) => Err(refusal(&native.inner, &e).throw(env)),
        Ok(Decision::Pending(pending)) => spawn(env, native, pending).map(Either::B),
        Err(_) => Err(Refusal::internal().throw(env)),
    }
}

/// A Promise of the answer of `pending`, polled on the runtime with panics caught. The
/// refusal's data is made there; the object (or the JavaScript error) on the JavaScript thread.
pub(crate) fn spawn<'env>(
    env: &'env Env,
    native: &NativeValidator,
    pending: impl Future<Output = Outcome> + Send + 'static,
) -> Result<PromiseRaw<'env, Object<'env>>> {
    let (validator, memo) = (native.inner.clone(), Rc::clone(&native.memo));
    env.spawn_future_with_callback(
        async move {
            Ok(match AssertUnwindSafe(pending).catch_unwind().await {
                Ok(Ok(info)) => Ok(info),
                Ok(Err(e)) => Err(refusal(&validator, &e)),
                Err(_) => Err(Refusal::internal()),
            })
        },
        move |env, settled: std::result::Result<Arc<TokenInfo>, Refusal>| match settled {
            Ok(info) => memo.borrow_mut().object(env, &info),
            Err(r) => Err(r.into_js(env)),
        },
    )
}

/// The refusal `errors.js` expects, with this validator's challenge.
fn refusal(validator: &Validator, e: &bearerguard::Error) -> Refusal {
    Refusal::from_core(e, validator.www_authenticate(e))
}

/// `TokenInfo` as the JavaScript API names it (camelCase), so index.js only has to
/// `JSON.parse` it; `claims` stays exactly as received.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct JsTokenInfo<'a> {
    subject: &'a Option<String>,
    client_id: &'a Option<String>,
    username: &'a Option<String>,
    scopes: &'a [String],
    roles: &'a [String],
    audiences: &'a [String],
    issuer: &'a Option<String>,
    expires_at: Option<i64>,
    issued_at: Option<i64>,
    not_before: Option<i64>,
    jti: &'a Option<String>,
    token_type: &'a Option<String>,
    source: &'static str,
    claims: &'a serde_json::Map<String, serde_json::Value>,
    dpop_nonce: &'a Option<String>,
}

impl<'a> From<&'a TokenInfo> for JsTokenInfo<'a> {
    fn from(info: &'a TokenInfo) -> Self {
        // Exhaustive on purpose: a field added to the core's TokenInfo stops this build until
        // the JavaScript view carries it too.
        let TokenInfo {
            subject,
            client_id,
            username,
            scopes,
            roles,
            audiences,
            issuer,
            expires_at,
            issued_at,
            not_before,
            jti,
            token_type,
            source,
            claims,
            dpop_nonce,
        } = info;
        JsTokenInfo {
            subject,
            client_id,
            username,
            scopes,
            roles,
            audiences,
            issuer,
            expires_at: *expires_at,
            issued_at: *issued_at,
            not_before: *not_before,
            jti,
            token_type,
            source: source.as_str(),
            claims,
            dpop_nonce,
        }
    }
}
