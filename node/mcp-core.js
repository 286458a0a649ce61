'use strict';
// The logic-free half of bearerguard/mcp, shared by its CommonJS (mcp.js) and ESM (mcp.mjs)
// faces. Each face hands in the MCP SDK's error classes of its own module system, so an error
// thrown here is `instanceof` the classes the app's copy of the SDK checks (the SDK is
// dual-package: its ESM and CommonJS builds are two sets of classes). It decides nothing: the
// core does, and this file maps its answers to the SDK's types.

const { Validator, BearerGuardError } = require('./index.js');
const { requireToken, resourceMetadata } = require('./express.js');

// Codes the SDK answers 401 for. insufficient_scope is 403; every other code (unavailable,
// configuration, internal) is the SDK's ServerError (500): never a 401, never an acceptance.
const UNAUTHORIZED = new Set([
  'missing_token',
  'invalid_request',
  'invalid_token',
  'token_expired',
  'invalid_dpop_proof',
  'use_dpop_nonce',
]);

/** The bearer token of the one `Authorization` line the core accepted. */
function bearerToken(req) {
  const line = req.headersDistinct?.authorization?.[0] ?? req.headers?.authorization ?? '';
  const space = line.indexOf(' ');
  return space === -1 ? '' : line.slice(space + 1).trim();
}

function checkValidator(validator, who) {
  if (!(validator instanceof Validator)) throw new TypeError(`bearerguard/mcp: ${who} needs a \`validator\``);
  if (validator.resource === null) {
    throw new TypeError(`bearerguard/mcp: ${who} needs a validator built with a \`resource\``);
  }
  return validator.resource;
}

function makeMcp(sdkErrors) {
  const { InvalidTokenError, InsufficientScopeError, ServerError } = sdkErrors;

  /** The SDK's `AuthInfo` for a token the core accepted. */
  function toAuthInfo(token, info, resource) {
    return {
      token,
      clientId: info.clientId ?? info.subject ?? '',
      scopes: [...info.scopes],
      expiresAt: info.expiresAt ?? undefined,
      // The core compared `aud` with the configured resource canonically.
      resource: new URL(resource.resource),
      extra: { subject: info.subject, issuer: info.issuer, source: info.source, claims: info.claims },
    };
  }

  /** The SDK error for a bearerguard refusal (messages are fixed per kind). */
  function toSdkError(error) {
    if (!(error instanceof BearerGuardError)) return new ServerError('Internal Server Error');
    if (UNAUTHORIZED.has(error.code)) return new InvalidTokenError('The access token is invalid');
    if (error.code === 'insufficient_scope') {
      return new InsufficientScopeError('The request requires higher privileges than provided by the access token');
    }
    return new ServerError(error.code === 'unavailable' ? 'The authorization server is unavailable' : 'Server error');
  }

  /**
   * A verifier for the SDK's `requireBearerAuth({ verifier })`: `verifyAccessToken(token)`
   * resolves with the SDK's `AuthInfo` or throws the SDK's own `InvalidTokenError` (401),
   * `InsufficientScopeError` (403) or `ServerError` (500; the authorization server down).
   */
  function mcpVerifier({ validator, scopes = [] } = {}) {
    const resource = checkValidator(validator, 'mcpVerifier');
    const wanted = { scopes: [...scopes] };
    return {
      async verifyAccessToken(token) {
        let info;
        try {
          info = await validator.validate(token, wanted);
        } catch (error) {
          throw toSdkError(error);
        }
        return toAuthInfo(token, info, resource);
      },
    };
  }

  /**
   * bearerguard's own middleware for MCP routes: spec-exact challenges (`scope`,
   * `resource_metadata`, no `error` without credentials), 503 when the authorization server is
   * unreachable, and `req.auth` as the SDK's `AuthInfo` (the transport hands it to tools).
   */
  function requireMcpToken({ validator, scopes = [] } = {}) {
    const resource = checkValidator(validator, 'requireMcpToken');
    const guard = requireToken({ validator, scopes });
    return function bearerguardMcp(req, res, next) {
      guard(req, res, (error) => {
        if (error !== undefined) {
          next(error);
          return;
        }
        req.auth = toAuthInfo(bearerToken(req), req.auth, resource);
        next();
      });
    };
  }

  /** Serves the RFC 9728 metadata document at its well-known path (see express.resourceMetadata). */
  function metadataRouter({ validator } = {}) {
    checkValidator(validator, 'metadataRouter');
    return resourceMetadata({ validator });
  }

  return { mcpVerifier, requireMcpToken, metadataRouter, toSdkError };
}

module.exports = { makeMcp };
