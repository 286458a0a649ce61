'use strict';
// Error classes of bearerguard: one per stable core code, all `instanceof BearerGuardError`.
// The native module throws (or rejects with) an Error whose `.code` is the core's code (napi's
// own error code) and which carries `status`, `wwwAuthenticate` and, for insufficient_scope,
// `requiredScopes`, and its source chain as `cause` (see node/src/errors.rs); `fromNative`
// turns it into the class for its code.
// Messages are the core's fixed details: they never contain a token, a claim value or a secret.

/**
 * Base class: `.code` (stable string), `.status` (HTTP), `.wwwAuthenticate` (or null), and
 * `.headers`, the response headers of the refusal (`www-authenticate` when there is a
 * challenge, `cache-control: no-store` always), as express-oauth2-jwt-bearer's errors carry
 * them: an app's own error handler, or Express's default one, answers with the challenge.
 */
class BearerGuardError extends Error {
  constructor(message, { code = 'internal', status = 500, wwwAuthenticate = null, dpopNonce = null, cause } = {}) {
    // `cause`: what the core's error came from (its `source()` chain), when it has one.
    super(message, cause === undefined ? undefined : { cause });
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.wwwAuthenticate = wwwAuthenticate;
    // The nonce for the client's next DPoP proof (RFC 9449 §9), when the validator has nonces on.
    this.dpopNonce = dpopNonce;
    this.headers =
      wwwAuthenticate === null
        ? { 'cache-control': 'no-store' }
        : { 'www-authenticate': wwwAuthenticate, 'cache-control': 'no-store' };
    if (dpopNonce !== null) this.headers['dpop-nonce'] = dpopNonce;
  }
}

/** No bearer token in the request (401, `WWW-Authenticate: Bearer` without an error code). */
class MissingTokenError extends BearerGuardError {}
/** The request is malformed: a bad `Authorization` header, or two of them (400). */
class InvalidRequestError extends BearerGuardError {}
/** The token is malformed, forged, revoked, for someone else... (401, `invalid_token`). */
class InvalidTokenError extends BearerGuardError {}
/** The token has expired (401, `invalid_token`); also an `InvalidTokenError`. */
class TokenExpiredError extends InvalidTokenError {}
/** The token lacks a required scope (403); `.requiredScopes` lists what the call required. */
class InsufficientScopeError extends BearerGuardError {
  constructor(message, fields = {}) {
    super(message, fields);
    this.requiredScopes = fields.requiredScopes ?? [];
  }
}
/** The authorization server gave no usable answer (503); never cached. */
class UnavailableError extends BearerGuardError {}
/** The DPoP proof is malformed, badly signed, for another request or token, too old or new, or replayed (401). */
class InvalidDpopProofError extends BearerGuardError {}
/** The DPoP proof lacks a current server nonce (401); `.dpopNonce` is the one to use. */
class UseDpopNonceError extends BearerGuardError {}
/** The validator is misconfigured or the AS refused our own credentials (500). */
class ConfigurationError extends BearerGuardError {}
/** A bug caught at the binding boundary, e.g. a panic in Rust (500). */
class InternalError extends BearerGuardError {}

// One class per code of `errorCodes()` (a test keeps the two equal: a new core code fails it).
// No prototype, so no code can name an inherited property.
const CLASSES = Object.assign(Object.create(null), {
  missing_token: MissingTokenError,
  invalid_request: InvalidRequestError,
  invalid_token: InvalidTokenError,
  token_expired: TokenExpiredError,
  insufficient_scope: InsufficientScopeError,
  unavailable: UnavailableError,
  configuration: ConfigurationError,
  invalid_dpop_proof: InvalidDpopProofError,
  use_dpop_nonce: UseDpopNonceError,
  internal: InternalError,
});

/**
 * The bearerguard error for an error thrown by the native module. Errors that are not
 * bearerguard refusals (napi's own argument errors, with codes such as `InvalidArg`) are
 * returned unchanged.
 */
function fromNative(error) {
  if (!(error instanceof Error) || typeof error.status !== 'number' || typeof error.code !== 'string') return error;
  const Class = CLASSES[error.code] ?? BearerGuardError;
  return new Class(error.message, {
    code: error.code,
    status: error.status,
    wwwAuthenticate: error.wwwAuthenticate ?? null,
    requiredScopes: error.requiredScopes,
    dpopNonce: error.dpopNonce ?? null,
    cause: error.cause,
  });
}

module.exports = {
  BearerGuardError,
  MissingTokenError,
  InvalidRequestError,
  InvalidTokenError,
  TokenExpiredError,
  InsufficientScopeError,
  UnavailableError,
  ConfigurationError,
  InvalidDpopProofError,
  UseDpopNonceError,
  InternalError,
  CLASSES,
  fromNative,
};
