'use strict';
// Error classes of bearerguard: one per stable core code, all `instanceof BearerGuardError`.
// The native module rejects with an error whose message is a JSON payload (see
// node/src/errors.rs); `fromNative` turns it into the class for its code. Messages are the
// core's fixed details: they never contain a token, a claim value or a secret.

/** Base class: `.code` (stable string), `.status` (HTTP), `.wwwAuthenticate` (or null). */
class BearerGuardError extends Error {
  constructor(message, { code = 'internal', status = 500, wwwAuthenticate = null } = {}) {
    super(message);
    this.name = new.target.name;
    this.code = code;
    this.status = status;
    this.wwwAuthenticate = wwwAuthenticate;
  }
}

/** No bearer token in the request (401, `WWW-Authenticate: Bearer` without an error code). */
class MissingTokenError extends BearerGuardError {}
/** The `Authorization` header is malformed (400, `invalid_request`). */
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
/** The validator is misconfigured or the AS refused our own credentials (500). */
class ConfigurationError extends BearerGuardError {}

const CLASSES = {
  missing_token: MissingTokenError,
  invalid_request: InvalidRequestError,
  invalid_token: InvalidTokenError,
  token_expired: TokenExpiredError,
  insufficient_scope: InsufficientScopeError,
  unavailable: UnavailableError,
  configuration: ConfigurationError,
  internal: BearerGuardError,
};

/**
 * The bearerguard error for an error thrown by the native module. Errors that carry no
 * bearerguard payload (a bug in argument conversion, say) are returned unchanged.
 */
function fromNative(error) {
  let payload;
  try {
    payload = error instanceof Error && error.message.startsWith('{') ? JSON.parse(error.message) : null;
  } catch {
    payload = null;
  }
  if (payload === null || typeof payload.code !== 'string') return error;
  const Class = Object.hasOwn(CLASSES, payload.code) ? CLASSES[payload.code] : BearerGuardError;
  return new Class(payload.message, {
    code: payload.code,
    status: payload.status,
    wwwAuthenticate: payload.www_authenticate ?? null,
    requiredScopes: payload.required_scopes ?? undefined,
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
  CLASSES,
  fromNative,
};
