'use strict';
// bearerguard for Node.js: a Promise API over the Rust core (node/src, generated native.js).
// This file only translates: option names to the core's, JSON answers to plain objects,
// native errors to the classes of errors.js. Every rule lives in the core.

const {
  BearerGuardError,
  MissingTokenError,
  InvalidRequestError,
  InvalidTokenError,
  TokenExpiredError,
  InsufficientScopeError,
  UnavailableError,
  ConfigurationError,
  fromNative,
} = require('./errors.js');

function loadNative() {
  try {
    return require('./native.js');
  } catch (cause) {
    const platform = require('./scripts/platform.js')();
    throw new Error(
      `bearerguard: no native addon for ${platform} could be loaded: npm installs it as the ` +
        `optional dependency bearerguard-${platform}; in a checkout, \`npm run build\` in ` +
        `${__dirname} builds it (needs Rust, https://rustup.rs)`,
      { cause },
    );
  }
}
const native = loadNative();

// camelCase option names become the core's snake_case names; snake_case names pass unchanged.
const snakeCase = (key) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function isPlainObject(value) {
  if (value === null || typeof value !== 'object') return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The core config for `options`: keys in snake_case at every level, `undefined` dropped. */
function toCoreConfig(options, prefix = '') {
  // No prototype: a `__proto__` option stays an (unknown, refused) field instead of vanishing.
  const config = Object.create(null);
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    const name = snakeCase(key);
    if (Object.hasOwn(config, name)) {
      throw new ConfigurationError(`invalid config: \`${prefix}${name}\` is given twice`, {
        code: 'configuration',
        status: 500,
      });
    }
    config[name] = isPlainObject(value) ? toCoreConfig(value, `${prefix}${name}.`) : value;
  }
  return config;
}

/** The `TokenInfo` for the binding's JSON (typed fields already camelCase, `claims` as received). */
const toTokenInfo = JSON.parse;

function checkScopes(scopes) {
  if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string')) {
    throw new TypeError('bearerguard: `scopes` must be an array of strings');
  }
}

/**
 * Validates bearer tokens for one issuer. Build it once and share it: it holds the JWKS and
 * introspection caches and the HTTP connection pool.
 */
class Validator {
  #native;

  /**
   * @param {object} options the core config, with camelCase (or snake_case) names:
   *   `{ issuer, audience, clientId, clientSecret, keyFile, ... }`. Throws a
   *   `ConfigurationError` naming the field when the config is wrong.
   */
  constructor(options, fixedClockForTests) {
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw new TypeError('bearerguard: Validator options must be an object');
    }
    const config = toCoreConfig(options);
    try {
      // The second argument is a test hook (seconds since the epoch for a frozen clock), kept
      // out of the typed API; the shared conformance cases that set `now` use it.
      this.#native =
        fixedClockForTests === undefined
          ? new native.NativeValidator(config)
          : native.NativeValidator.withFixedClockForTests(config, fixedClockForTests);
    } catch (e) {
      throw fromNative(e);
    }
  }

  /**
   * Validates `token` (a JWT or an opaque token) and resolves with its `TokenInfo`, or rejects
   * with a `BearerGuardError` subclass. Every scope in `scopes` is required.
   *
   * What the core can answer without I/O (a cheap refusal, a JWT whose key is cached, a cached
   * introspection verdict) is answered on this thread; anything that needs the network runs
   * on the core's threads while the event loop goes on.
   */
  async validate(token, { scopes = [] } = {}) {
    if (typeof token !== 'string') throw new TypeError('bearerguard: the token must be a string');
    checkScopes(scopes);
    try {
      return toTokenInfo(this.#native.validateNow(token, scopes) ?? (await this.#native.validate(token, scopes)));
    } catch (e) {
      throw fromNative(e);
    }
  }

  /**
   * Reads the token from an `Authorization` header value (`undefined` or `null` when the
   * request has none) and validates it, like `validate`.
   */
  async validateHeader(authorization, { scopes = [] } = {}) {
    if (authorization != null && typeof authorization !== 'string') {
      throw new TypeError('bearerguard: the Authorization header value must be a string');
    }
    checkScopes(scopes);
    try {
      const header = authorization ?? null;
      return toTokenInfo(
        this.#native.validateHeaderNow(header, scopes) ?? (await this.#native.validateHeader(header, scopes)),
      );
    } catch (e) {
      throw fromNative(e);
    }
  }

  /** Requests made to the authorization server so far: `{ introspectionRequests, jwksFetches }`. */
  stats() {
    const { introspectionRequests, jwksFetches } = this.#native.stats();
    return { introspectionRequests, jwksFetches };
  }
}

/** Every error code the core can produce, plus `internal` (for tests and exhaustive maps). */
const errorCodes = () => native.errorCodes();

// Shorthand properties only: Node's ESM loader can then see every name (`import { Validator }`).
module.exports = {
  Validator,
  BearerGuardError,
  MissingTokenError,
  InvalidRequestError,
  InvalidTokenError,
  TokenExpiredError,
  InsufficientScopeError,
  UnavailableError,
  ConfigurationError,
  errorCodes,
};
