// Public types of bearerguard (hand-written; the generated native.d.ts is internal).

/** How bearerguard authenticates itself to the introspection endpoint. */
export type ClientAuthMethod =
  | 'client_secret_basic'
  | 'client_secret_post'
  | 'private_key_jwt'
  | 'client_secret_jwt'
  | 'bearer'
  | 'none';

/** Introspection result cache. */
export interface CacheOptions {
  /** Cache introspection results at all. Default `true`. */
  enabled?: boolean;
  /** Most introspection verdicts kept. Default 10 000. */
  maxEntries?: number;
  /**
   * Most verified JWTs remembered, so a repeated token skips its signature check (`exp`, `nbf`
   * and scopes are still checked on every call; a replaced JWKS forgets them); 0 turns it off.
   * Never used under `introspect_all` or `introspection`. Default 10 000.
   */
  jwtMaxEntries?: number;
  /** Longest reuse of an active result, in seconds (never past `exp`). Default 300. */
  maxTtlSecs?: number;
  /** Reuse of an `active: false` answer, in seconds; 0 disables. Default 5, at most 300. */
  negativeTtlSecs?: number;
  /**
   * A second tier every instance of the API shares (Redis or Valkey): introspection verdicts
   * and DPoP proofs, so a fleet asks the authorization server about a token about once and
   * `forget` reaches every instance. Off by default. docs/security.md SCACHE.
   */
  shared?: SharedCacheOptions | null;
}

/** One key of the shared tier. */
export interface SharedSecret {
  /** 1 to 32 characters of `[A-Za-z0-9_-]`, named in every entry it makes. */
  id: string;
  /** At least 32 bytes. */
  secret: string;
}

/** The shared tier (`cache.shared`). */
export interface SharedCacheOptions {
  /**
   * `redis://[user:password@]host:port/db`, `rediss://` (TLS), `redis+unix:///path`, or
   * `redis+sentinel://[user:password@]host:port[,host:port…]/service[/db]` (the master the
   * sentinels name; found again after a failover).
   */
  url: string;
  /** Prefix of every key and of the pub/sub channel. Default `"bearerguard"`. */
  keyPrefix?: string;
  /** Keys, newest first: entries are written under the first and read under any. */
  secrets: SharedSecret[];
  /** Longest wait for one command, in milliseconds. Default 50. */
  timeoutMs?: number;
  /** Longest wait to connect, in milliseconds. Default 1 000. */
  connectTimeoutMs?: number;
  /** Values authenticated but not encrypted (claims readable in the server). Default `false`. */
  plaintext?: boolean;
  /** How long the instance introspecting a new token holds the fleet-wide lock, in ms. Default 3 000. */
  lockMs?: number;
  /** How often a waiting instance looks for the answer, in milliseconds. Default 5. */
  pollMs?: number;
  /** Failed commands in a row that open the circuit breaker. Default 3. */
  breakerFailures?: number;
  /** How long the breaker stays open, in milliseconds. Default 2 000. */
  breakerOpenMs?: number;
  /** Record DPoP proofs in the shared tier too (a replay on another instance is refused). Default `true`. */
  replay?: boolean;
  /** With `rediss://`: a PEM file of the CA certificates that sign the server's certificate (a private CA). */
  tlsCaFile?: string | null;
}

/** HTTP behaviour towards the authorization server. */
export interface HttpOptions {
  /** Connect timeout in milliseconds. Default 2 000. */
  connectTimeoutMs?: number;
  /** Total deadline for one request, body included, in milliseconds. Default 5 000. */
  timeoutMs?: number;
  /** Allow `http://` on non-loopback hosts. Default `false`. */
  allowInsecureHttp?: boolean;
  /** Largest introspection response accepted, in bytes. Default 65 536. */
  maxResponseBytes?: number;
  /** Most introspection requests in flight at once. Default 64. */
  maxConcurrentRequests?: number;
  /** Retry once on connection errors and 502/503/504. Default `true`. */
  retry?: boolean;
}

/** JWKS fetching and caching. */
export interface JwksOptions {
  /** Key-set lifetime without a usable `Cache-Control: max-age`, in seconds. Default 300. */
  defaultTtlSecs?: number;
  /** Lower clamp for `max-age`, in seconds. Default 30. */
  minTtlSecs?: number;
  /** Upper clamp for `max-age`, in seconds. Default 86 400. */
  maxTtlSecs?: number;
  /** Least time between refetches caused by an unknown `kid`, in seconds (≥ 10). Default 30. */
  refreshCooldownSecs?: number;
  /** How long the last good key set outlives its lifetime while refreshes fail. Default 3 600. */
  staleSecs?: number;
  /** Largest JWKS document accepted, in bytes. Default 262 144. */
  maxBytes?: number;
}

/** How bearerguard authenticates itself to the introspection endpoint. */
export interface ClientAuthOptions {
  /** Default: `private_key_jwt` when a key is configured, else `client_secret_basic` when a secret is, else `bearer` when `bearerToken` is, else `none`. */
  method?: ClientAuthMethod;
  /** Our client id at the authorization server, for introspection. */
  clientId?: string;
  /** Our client secret (never shown in errors or `util.inspect`). */
  clientSecret?: string;
  /** Path to a ZITADEL application key file (`private_key_jwt`); also sets the key's `kid` and, when not given, `clientId`. */
  keyFile?: string;
  /** The contents of a ZITADEL application key file, instead of `keyFile`. */
  keyJson?: string;
  /** A PEM private key (PKCS#1 or PKCS#8: RSA, EC P-256/P-384, Ed25519) or a private JWK (JSON) for `private_key_jwt`. */
  privateKey?: string;
  /** The `kid` header of client assertions (default: the key file's `keyId` or the JWK's `kid`). */
  privateKeyId?: string;
  /** Client-assertion algorithm. Default: from the key (RS256, ES256/ES384, EdDSA), HS256 for `client_secret_jwt`. */
  assertionAlg?: string;
  /** Client-assertion `aud`: `'issuer'` (default), `'token_endpoint'`, `'introspection_endpoint'` or a literal value. */
  assertionAudience?: string;
  /** Client-assertion lifetime in seconds (1 to 3 600). Default 60. */
  assertionLifetimeSecs?: number;
  /** A static credential sent as `Authorization: Bearer` to the introspection endpoint. */
  bearerToken?: string;
}

/** How introspection answers are judged. */
export interface IntrospectionOptions {
  /** Refuse an active answer without `exp`. Default `true`. */
  requireExp?: boolean;
  /**
   * Refuse an active answer without `aud`. Default `true` when `resource` is set, else
   * `false`; `false` is for servers that never send `aud` in introspection answers.
   */
  requireAud?: boolean | null;
  /** Oldest RFC 9701 signed answer accepted, by its `iat`, in seconds (1 to 3 600). Default 300. */
  signedResponseMaxAgeSecs?: number;
  /** Most introspections per second of tokens not seen before; past it, `unavailable`. 0 (default): no limit. */
  maxNewTokensPerSec?: number;
}

/**
 * The core configuration with camelCase names (the core's snake_case names are accepted as
 * well). Only `issuer` and `audience` are required; see the core's `Config` for defaults.
 * `index.d.ts` is checked against the core's list of fields (`configFields()`) by the tests.
 */
/** An authorization server with a preset (`provider`, docs/providers.md). */
export type Provider = 'zitadel' | 'asgardeo' | 'wso2' | 'keycloak' | 'auth0' | 'okta' | 'entra' | 'cognito' | 'google';

export interface ValidatorOptions {
  /**
   * The issuer identifier, compared byte for byte with `iss`. With `provider: 'entra'` only, the
   * multi-tenant template `https://login.microsoftonline.com/{tenantid}/v2.0` (or
   * `https://sts.windows.net/{tenantid}/`), which needs `allowedTenants`.
   */
  issuer: string;
  /**
   * The authorization server's preset: its documented facts fill the options left at their
   * defaults, and its config checks apply (docs/providers.md). Default none.
   */
  provider?: Provider;
  /** Accepted audiences: a token must name at least one. Defaults to `resource` when that is set. */
  audience?: string | string[];
  /** Which path tokens take. Default `'auto'`. */
  strategy?: 'auto' | 'jwt' | 'introspection' | 'introspect_all';
  /** Discover endpoints from the issuer. Default `true`. */
  discovery?: boolean;
  introspectionEndpoint?: string;
  jwksUri?: string;
  tokenEndpoint?: string;
  /** Client authentication towards the introspection endpoint; a bare string is the `method`. */
  clientAuth?: ClientAuthMethod | ClientAuthOptions;
  /** Alias of `clientAuth.clientId`. */
  clientId?: string;
  /** Alias of `clientAuth.clientSecret`. */
  clientSecret?: string;
  /** Alias of `clientAuth.keyFile`. */
  keyFile?: string;
  /** Alias of `clientAuth.keyJson`. */
  keyJson?: string;
  /** Alias of `clientAuth.privateKey`. */
  privateKey?: string;
  /** Alias of `clientAuth.privateKeyId`. */
  privateKeyId?: string;
  /** Alias of `clientAuth.assertionAlg`. */
  assertionAlg?: string;
  /** Alias of `clientAuth.assertionAudience`. */
  assertionAudience?: string;
  /** Alias of `clientAuth.assertionLifetimeSecs`. */
  assertionLifetimeSecs?: number;
  /** Alias of `clientAuth.bearerToken`. */
  introspectionBearerToken?: string;
  /** Ask for plain JSON or an RFC 9701 signed introspection response. Default `'json'`. */
  introspectionResponse?: 'json' | 'jwt';
  /** How introspection answers are judged. */
  introspection?: IntrospectionOptions;
  /** Accepted JWS algorithms (asymmetric only). */
  algorithms?: string[];
  /** Clock skew allowed on `exp`, `nbf` and `iat`, in seconds. Default 60, at most 600. */
  leewaySecs?: number;
  /** Longest accepted token lifetime (`exp` − `iat`), in seconds. Default: no limit. */
  maxTokenLifetimeSecs?: number;
  /** Refuse longer tokens before decoding. Default 16 384. */
  maxTokenBytes?: number;
  /** Strict RFC 9068 (`typ: at+jwt`, `sub`, `client_id`, `iat`, `jti` required). Default `false`. */
  rfc9068Strict?: boolean;
  /** Where JWT scopes come from. Default `'auto'`; `'entra'`: `scp` as a space-separated string, else the `roles` array. */
  scopeClaim?: 'auto' | 'scope' | 'scp' | 'entra';
  /**
   * Where `TokenInfo.roles` come from: a claim name, or an RFC 6901 JSON pointer when it starts
   * with `/` (`/realm_access/roles`). An array of strings gives its items, an object its keys.
   */
  rolesClaim?: string;
  /** Claims a token must carry with exactly these JSON values (`{ token_use: 'access' }`); names are kept as written. */
  requiredClaims?: Record<string, unknown>;
  /** Which claim names the audience: `'aud'` (default) or `'client_id'` (Cognito access tokens have no `aud`). */
  audienceClaim?: 'aud' | 'client_id';
  /** The claim `clientId` is read from when the token has no `client_id` (`azp`, `cid`). */
  clientIdClaim?: string;
  /** Other spellings of `issuer` a token's `iss` may have (Google: `accounts.google.com`). */
  issuerAliases?: string[];
  /** With an Entra `{tenantid}` issuer template: the tenant ids accepted, or exactly `['any']`. */
  allowedTenants?: string[];
  /** Scopes every token must carry, on top of per-call scopes. */
  requiredScopes?: string[];
  /** Scope hierarchy: each scope implies these, transitively, exact names only. */
  impliedScopes?: Record<string, string[]>;
  /** Realm for `WWW-Authenticate`. */
  realm?: string;
  /**
   * This API's canonical URI as a protected resource (RFC 8707, RFC 9728, MCP). The audience
   * defaults to it, audiences compare as canonical URIs, introspection answers need `aud`,
   * challenges carry `resource_metadata` and `scope`.
   */
  resource?: string;
  /** `resource_name` of the metadata document. */
  resourceName?: string;
  /** `resource_documentation` of the metadata document. */
  resourceDocumentation?: string;
  /** `scopes_supported` of the metadata document (never `offline_access`). */
  scopesSupported?: string[];
  cache?: CacheOptions;
  http?: HttpOptions;
  jwks?: JwksOptions;
  /**
   * Tokens bound to a key or certificate (`cnf`): `'none'` (default: refused), `'allow'`
   * (accepted when the request proves the binding), `'require'` (every token must be bound).
   */
  senderConstraint?: 'none' | 'allow' | 'require';
  /** DPoP proofs (RFC 9449). */
  dpop?: DpopOptions;
  /**
   * The header a trusted proxy puts the client certificate in (RFC 9440 `Client-Cert`:
   * `:base64(DER):`). Set it only when your proxy sets it and strips it from client requests.
   */
  clientCertificateHeader?: string;
  /**
   * Keys that select this issuer when a request carries one (`validateRequest({ tenant })`):
   * a host name, a path prefix, whatever the app routes tenants by. Only in an entry of `issuers`.
   */
  tenant?: string | string[];
  /**
   * Many issuers behind one validator (docs/security.md ISS), each entry a whole config of its
   * own (nothing inherited). The top level then holds only what they share (`cache`, `http`,
   * `opaqueRouting`, `tenantFrom`, `resolver`): see `ManyIssuersOptions`. A JWT goes to the entry its
   * unverified `iss` names exactly; an opaque token to the entry its request's tenant selects.
   */
  issuers?: IssuerOptions[];
  /**
   * With `issuers`: what an opaque token without a tenant gets. `'tenant'` (default): refused
   * with no request; `'in_order'`: introspected by each introspecting issuer in turn.
   */
  opaqueRouting?: 'tenant' | 'in_order';
  /**
   * With `issuers`: where a request's tenant comes from when the app passes none, so every
   * framework adapter routes by it: `'host'` (the request URL's host, lower-cased, no port; a
   * request without a plain host is refused). Default: only the tenant the app passes.
   */
  tenantFrom?: 'host';
  /** With an `issuerResolver`: how many answers it keeps. */
  resolver?: ResolverOptions;
}

/** One entry of `issuers`: a whole config of its own. */
export type IssuerOptions = ValidatorOptions;

/** The top level of a config serving many issuers: its entries and what they share. */
export type ManyIssuersOptions = Pick<
  ValidatorOptions,
  'cache' | 'http' | 'opaqueRouting' | 'tenantFrom' | 'resolver'
> & {
  issuers: IssuerOptions[];
};

/** The bounds of an issuer resolver's answers (docs/security.md ISS-3). */
export interface ResolverOptions {
  /** Most resolved issuers kept (least recently used dropped first), 1 to 100 000. Default 100. */
  maxIssuers?: number;
  /** Most declined issuers remembered (as digests), 1 to 10 000 000. Default 10 000. */
  maxDeclined?: number;
  /** How long a declined issuer is remembered, in seconds (1 to 86 400). Default 300. */
  declinedTtlSecs?: number;
  /** Longest `iss` handed to the resolver, in bytes (1 to 8 192); longer ones are refused unasked. Default 512. */
  maxIssuerBytes?: number;
  /** How long an approved issuer is kept before the resolver is asked again, in seconds (1 to 86 400). Default 600. */
  ttlSecs?: number;
  /** Longest wait for the resolver, in milliseconds (1 to 60 000); past it the request is unavailable (503). Default 2 000. */
  timeoutMs?: number;
}

/**
 * Issuers added at run time: called with a token's **unverified, attacker-chosen** `iss` for
 * an issuer no entry lists. Look it up among the tenants you approved; never fetch it or build
 * a URL from it. Answer its options (they must name that `issuer`) to accept it, `null` or
 * `undefined` to decline; a throw or a rejection refuses the request as `configuration`.
 * Answers are kept (`resolver` bounds).
 */
export type IssuerResolver = (
  issuer: string,
) => IssuerOptions | null | undefined | Promise<IssuerOptions | null | undefined>;

/** What `new Validator` takes besides the config. */
export interface ValidatorExtras {
  /** Issuers added at run time (see `IssuerResolver`). */
  issuerResolver?: IssuerResolver;
}

/** DPoP proofs (RFC 9449), checked when `senderConstraint` is `'allow'` or `'require'`. */
export interface DpopOptions {
  /** Accepted proof algorithms, asymmetric only. Default ES256, ES384, EdDSA, PS256–512, RS256–512. */
  algorithms?: string[];
  /** Oldest proof accepted, by `iat`, in seconds (1 to 3 600). Default 300. */
  maxAgeSecs?: number;
  /** Accept an unbound token sent with the `DPoP` scheme and a good proof. Default `false`. */
  allowUnboundTokens?: boolean;
  /** Most proofs remembered for replay detection; full, new proofs are refused. Default 1 000 000. */
  replayMaxEntries?: number;
  /** Server nonces on: the HMAC key (at least 32 bytes). Default none. */
  nonceKey?: string;
  /** The key before the last rotation: its nonces are still accepted. */
  noncePreviousKey?: string;
  /** Length of a nonce time slot, in seconds. Default 60. */
  nonceSlotSecs?: number;
  /** How many slots a nonce stays valid. Default 2. */
  nonceLifetimeSlots?: number;
  /**
   * The API's URL as clients see it (`https://api.example.com`, `https://example.com/api`) when a
   * proxy changes the scheme, host or path prefix: `htu` is compared with it plus the request's path.
   */
  externalBaseUrl?: string;
}

/** What a valid token says. Absent claims are `null`. Frozen, deeply: every repeat of one answer (a cached verdict, a remembered JWT) is the same object. */
export interface TokenInfo {
  /** `sub`. */
  readonly subject: string | null;
  /** `client_id`. */
  readonly clientId: string | null;
  /** `username`, else `preferred_username`. */
  readonly username: string | null;
  /** Granted scopes, from `scope` (space-separated) or `scp` (array). */
  readonly scopes: readonly string[];
  /** Roles, from the configured `rolesClaim` (a preset sets it); empty without one. */
  readonly roles: readonly string[];
  /** `aud`, always as a list. */
  readonly audiences: readonly string[];
  /** `iss`. */
  readonly issuer: string | null;
  /** `exp`, seconds since the epoch. */
  readonly expiresAt: number | null;
  /** `iat`, seconds since the epoch. */
  readonly issuedAt: number | null;
  /** `nbf`, seconds since the epoch. */
  readonly notBefore: number | null;
  /** `jti`. */
  readonly jti: string | null;
  /** `token_type` from introspection, or the JWT `typ` header. */
  readonly tokenType: string | null;
  /** Which path decided: local JWT validation or introspection. */
  readonly source: 'jwt' | 'introspection';
  /** Every claim as received, standard and custom. */
  readonly claims: Readonly<Record<string, unknown>>;
  /** With DPoP nonces on: the nonce to send as the `DPoP-Nonce` response header. */
  readonly dpopNonce: string | null;
}

export interface ValidateOptions {
  /** Scopes the token must carry (all of them), on top of the configured `requiredScopes`. */
  scopes?: string[];
}

/** What a resource server sees of a request, for `validateRequest`. */
export interface RequestLike {
  /** Every `Authorization` field line (`req.headersDistinct.authorization`); two are an `InvalidRequestError`. */
  authorization?: string | string[] | null;
  /** The HTTP method, e.g. `'GET'`. */
  method?: string | null;
  /** The target URL as the client used it (absolute: DPoP's `htu` is compared with it). */
  url?: string | null;
  /** Every `DPoP` field line (`req.headersDistinct.dpop`); two are an `InvalidDpopProofError`. */
  dpop?: string | string[] | null;
  /** The connection's client certificate, DER bytes (`req.socket.getPeerCertificate().raw`). */
  clientCertificate?: Uint8Array | null;
  /** Request headers (`req.headers`): only the configured `clientCertificateHeader` is read. */
  headers?: Record<string, string | string[] | undefined> | null;
  /** Many issuers: the tenant key this request is routed by (an entry's `tenant`). */
  tenant?: string | null;
}

/** Counters of one validator. */
export interface Stats {
  /** HTTP requests to the introspection endpoint, retries included. */
  introspectionRequests: number;
  /** HTTP fetches of the JWKS. */
  jwksFetches: number;
  /** Decisions that accepted a token. */
  accepted: number;
  /** Decisions that refused a request, for any reason. */
  refused: number;
  /**
   * Many issuers: requests refused before any issuer was chosen (an unlisted or declined
   * `iss`, an unknown tenant, an opaque token without one), each without a request to any
   * server. Counted in `refused` too.
   */
  unrouted: number;
  /** The shared tier's counters (`cache.shared`; zeros without it). */
  shared: SharedStats;
}

/** What an issuer resolver's answers keep. */
export interface ResolverEntries {
  /** Issuers it approved that are kept. */
  kept: number;
  /** Issuers it declined that are remembered. */
  declined: number;
}

/** Counters of the shared tier. */
export interface SharedStats {
  /** Verdicts found in the shared tier (served without a request). */
  hits: number;
  /** Lookups that found nothing. */
  misses: number;
  /** Commands that failed or timed out. */
  errors: number;
  /** Entries that failed to open (forged, altered, moved): treated as misses. */
  rejected: number;
  /** Calls that skipped the tier while its circuit breaker was open. */
  skipped: number;
  /** Lookups that waited for another instance's introspection. */
  waits: number;
  /** `forget` announcements received. */
  forgetsReceived: number;
}

/** Validates bearer tokens for one issuer (or many: `issuers`). Build once, share everywhere. */
export class Validator {
  /** @throws {ConfigurationError} naming the field when the config is wrong. */
  constructor(options: ValidatorOptions | ManyIssuersOptions, extras?: ValidatorExtras);
  /**
   * A validator from a `.json` or `.toml` config file (the core's snake_case names).
   * @throws {ConfigurationError} naming the field when the config is wrong.
   */
  static fromFile(path: string, extras?: ValidatorExtras): Validator;
  /**
   * Decides about a request (every `Authorization` line, method, URL): resolves with its
   * token's info, or rejects with a `BearerGuardError` subclass. The entry for adapters.
   */
  validateRequest(request: RequestLike, options?: ValidateOptions): Promise<TokenInfo>;
  /** Resolves with the token's info, or rejects with a `BearerGuardError` subclass. */
  validate(token: string, options?: ValidateOptions): Promise<TokenInfo>;
  /** Reads the token from one `Authorization` header value, then validates it. */
  validateHeader(authorization: string | null | undefined, options?: ValidateOptions): Promise<TokenInfo>;
  /** Counters; with many issuers, the sum over them. */
  stats(): Stats;
  /** Each issuer's counters, keyed by issuer: the configured ones in order, then those the resolver added. */
  statsByIssuer(): Record<string, Stats>;
  /** With an `issuerResolver`: how many issuers it approved are kept, how many it declined are remembered. */
  resolverEntries(): ResolverEntries;
  /**
   * Forgets what this validator remembers about `token` (a cached introspection verdict, a
   * remembered JWT): its next use is decided afresh, an opaque token by asking the server again.
   * With a shared tier every instance forgets it; rejects with an `UnavailableError` when the
   * shared tier could not be told (this instance has forgotten: call again).
   */
  forget(token: string): Promise<void>;
  /** What this validator counted (the core's snapshot, camelCase keys). */
  metrics(): MetricsSnapshot;
  /** Whether each issuer's endpoints are known, its JWKS loaded and fresh, its AS answering. */
  health(): Health;
  /** This API as a protected resource, or `null` when no `resource` is configured. */
  readonly resource: ResourceInfo | null;
}

/** A validator's protected-resource settings (RFC 8707, RFC 9728). */
export interface ResourceInfo {
  readonly resource: string;
  readonly issuer: string;
  /** The RFC 9728 metadata document. */
  readonly metadata: Record<string, unknown>;
  readonly metadataJson: string;
  /** Where the document lives (the well-known path inserted). */
  readonly metadataUrl: string;
  /** The path part of `metadataUrl`. */
  readonly metadataPath: string;
  readonly cacheControl: string;
  readonly requiredScopes: string[];
}

/** Stable error codes (`'internal'` is a caught panic: a bug). */
export type ErrorCode =
  | 'missing_token'
  | 'invalid_request'
  | 'invalid_token'
  | 'token_expired'
  | 'insufficient_scope'
  | 'unavailable'
  | 'configuration'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'internal';

/** What `BearerGuardError` instances carry besides the message. */
export interface ErrorFields {
  code?: ErrorCode;
  status?: number;
  wwwAuthenticate?: string | null;
  requiredScopes?: string[];
  dpopNonce?: string | null;
  /** What the error came from (the core error's source chain). */
  cause?: unknown;
}

/** Every refusal or failure; the message is fixed text that never holds a token or secret. */
export class BearerGuardError extends Error {
  constructor(message: string, fields?: ErrorFields);
  /** The stable code, e.g. `'invalid_token'`. */
  readonly code: ErrorCode;
  /** The HTTP status to answer with (400, 401, 403, 500 or 503). */
  readonly status: number;
  /** The RFC 6750 `WWW-Authenticate` value, or `null` for 500/503. */
  readonly wwwAuthenticate: string | null;
  /**
   * The response headers of this refusal, as express-oauth2-jwt-bearer's errors carry them:
   * `www-authenticate` when there is a challenge, `cache-control: no-store` always.
   */
  readonly headers: { 'www-authenticate'?: string; 'cache-control': 'no-store'; 'dpop-nonce'?: string };
  /** The nonce for the client's next DPoP proof (`DPoP-Nonce`, RFC 9449 §9), or `null`. */
  readonly dpopNonce: string | null;
}
export class MissingTokenError extends BearerGuardError {}
export class InvalidRequestError extends BearerGuardError {}
export class InvalidTokenError extends BearerGuardError {}
export class TokenExpiredError extends InvalidTokenError {}
export class InsufficientScopeError extends BearerGuardError {
  /** The scopes the call required (from configuration, never from the token). */
  readonly requiredScopes: string[];
}
export class UnavailableError extends BearerGuardError {}
export class ConfigurationError extends BearerGuardError {}
/** The DPoP proof is malformed, badly signed, for another request or token, too old or new, or replayed (401). */
export class InvalidDpopProofError extends BearerGuardError {}
/** The DPoP proof lacks a current server nonce (401); `dpopNonce` is the one to use. */
export class UseDpopNonceError extends BearerGuardError {}
/** A bug caught at the binding boundary, e.g. a panic in Rust (`internal`, 500). */
export class InternalError extends BearerGuardError {}

/** Every code the core can produce, plus `'internal'`. */
export function errorCodes(): ErrorCode[];
/**
 * The Prometheus metric families of every validator given, merged by the core (each name once,
 * with every issuer's samples). `bearerguard/prometheus` hands them to prom-client.
 */
export function metricFamilies(...validators: Validator[]): MetricFamily[];

/** A log record of the core: never a token or a secret. */
export interface LogRecord {
  level: 'error' | 'warn' | 'info' | 'debug' | 'trace';
  /** Where in the core it came from: `bearerguard.jwks`, `bearerguard.endpoints`, … */
  target: string;
  message: string;
}

/**
 * Sends the core's log records at `level` or above (default `'info'`) to `callback`, on the
 * event loop after the decision that made them; `null` stops them. One callback per process.
 */
export function setLogger(
  callback: ((record: LogRecord) => void) | null,
  options?: { level?: LogRecord['level'] },
): void;

// What `metrics()`, `health()` and `metricFamilies()` return: the core's `bearerguard::metrics`
// structs, key for key in camelCase (families keep the core's keys and Prometheus label names).
// Label values are a configured issuer or one of the core's fixed names, never token data.

/** Decisions with one combination of labels. */
export interface DecisionCount {
  /** `'accepted'` or an error code. */
  outcome: string;
  /** `'none'`, `'jwt'` or `'introspection'`. */
  source: string;
  /** `'none'`, `'hit'`, `'miss'` or `'negative'`. */
  tier: string;
  count: number;
}

/** Calls to one endpoint of the authorization server that ended one way. */
export interface CallStats {
  /** `'discovery'`, `'jwks'` or `'introspection'`. */
  endpoint: string;
  /** `'ok'`, `'http_error'`, `'timeout'`, `'connect'`, `'transport'` or `'too_large'`. */
  result: string;
  count: number;
  sumSeconds: number;
  /** Cumulative counts per bound of `latencyBuckets` (+Inf is `count`). */
  buckets: number[];
}

/** The JWKS of one issuer. */
export interface JwksStats {
  loaded: boolean;
  fresh: boolean;
  keys: number;
  ageSeconds: number | null;
  refreshes: number;
  failures: number;
}

/** Callers that joined a fetch another caller had started. */
export interface Joins {
  introspection: number;
  jwks: number;
}

/** What `Validator.metrics()` returns. */
export interface MetricsSnapshot {
  issuer: string;
  decisions: DecisionCount[];
  requests: CallStats[];
  latencyBuckets: number[];
  jwks: JwksStats | null;
  joins: Joins;
  cachedVerdicts: number;
  rememberedJwts: number;
}

/** The last failed call to the authorization server. */
export interface CallFailure {
  endpoint: string;
  result: string;
  /** Seconds since the Unix epoch. */
  at: number;
}

/** The health of one issuer. */
export interface IssuerHealth {
  issuer: string;
  ok: boolean;
  endpointsKnown: boolean;
  jwks: JwksStats | null;
  lastAnswerAt: number | null;
  lastAnswerAgeSeconds: number | null;
  lastFailure: CallFailure | null;
}

/** What `Validator.health()` returns: `ok` when every issuer is. */
export interface Health {
  ok: boolean;
  issuers: IssuerHealth[];
}

/** One sample of a metric family. */
export interface MetricSample {
  labels: Record<string, string>;
  /** The value; a histogram's count. */
  value: number;
  /** A histogram's buckets `[upperBound, cumulativeCount]` (without +Inf) and its sum. */
  histogram?: { buckets: [number, number][]; sum: number };
}

/** One Prometheus metric family, as the core names it. */
export interface MetricFamily {
  name: string;
  help: string;
  kind: 'counter' | 'gauge' | 'histogram';
  samples: MetricSample[];
}

/** Every config key path the core accepts: snake_case, nested ones dotted (`'cache.max_ttl_secs'`), aliases included. */
export function configFields(): string[];
