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
  InvalidDpopProofError,
  UseDpopNonceError,
  InternalError,
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

// Options whose keys are data (scope and claim names), passed as written: at the top level of a
// config and of each entry of `issuers` (each a whole config).
const DATA_MAPS = new Set(['implied_scopes', 'required_claims']);

/**
 * The core config for `options`: keys in snake_case at every level, objects inside arrays
 * included (the entries of `issuers`, themselves whole configs), `undefined` dropped.
 */
function toCoreConfig(options, prefix = '', isConfig = true) {
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
    const asData = isConfig && DATA_MAPS.has(name) && isPlainObject(value);
    config[name] = asData ? value : toCoreValue(value, `${prefix}${name}`, isConfig && name === 'issuers');
  }
  return config;
}

/** A nested value: objects (and objects in arrays) converted; `entries`: an array of configs. */
function toCoreValue(value, path, entries = false) {
  if (isPlainObject(value)) return toCoreConfig(value, `${path}.`, false);
  if (Array.isArray(value)) {
    return value.map((item, i) =>
      entries && isPlainObject(item) ? toCoreConfig(item, `${path}[${i}].`) : toCoreValue(item, `${path}[${i}]`),
    );
  }
  return value;
}

/**
 * The resolver as the addon calls it: always a Promise (a throw becomes a rejection) of the
 * core config of its answer, or of `null` to decline.
 */
function nativeResolver(issuerResolver) {
  if (issuerResolver === undefined || issuerResolver === null) return null;
  if (typeof issuerResolver !== 'function') {
    throw new TypeError('bearerguard: `issuerResolver` must be a function (issuer) => options | null');
  }
  return (issuer) => {
    try {
      return Promise.resolve(issuerResolver(issuer)).then((answer) => {
        if (answer == null) return null;
        if (!isPlainObject(answer)) throw new TypeError('bearerguard: an issuer resolver answers options or null');
        return toCoreConfig(answer);
      });
    } catch (e) {
      return Promise.reject(e);
    }
  };
}

/** Freezes `value` and everything in it. */
function deepFreeze(value) {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}

/**
 * The `TokenInfo` for the binding's JSON (typed fields already camelCase, `claims` as
 * received), frozen: the addon makes it once per answer and hands the same object to every
 * repeat of that answer (a cached verdict, a remembered JWT).
 */
const materialize = (json) => deepFreeze(JSON.parse(json));

const rethrow = (e) => {
  throw fromNative(e);
};

/**
 * The Promise of one native answer: the `TokenInfo` at once (the core needed no I/O) or a
 * Promise of it. A refusal the core gave at once was thrown by the native call itself.
 */
const settle = (decided) => (decided instanceof Promise ? decided.catch(rethrow) : Promise.resolve(decided));

// Shared defaults (no scopes, no options), so a call allocates none.
const NO_SCOPES = Object.freeze([]);
const NO_OPTIONS = Object.freeze({});

/** A TypeError for arguments of the wrong type (a programming error, not a refusal). */
function scopesError(scopes) {
  if (Array.isArray(scopes) && scopes.every((s) => typeof s === 'string')) return null;
  return new TypeError('bearerguard: `scopes` must be an array of strings');
}

/** Every `Authorization` line of a request, as the native call takes it: null, a string or an array of strings. */
function authorizationLines(authorization) {
  if (authorization == null) return null;
  if (typeof authorization === 'string') return authorization;
  if (Array.isArray(authorization) && authorization.every((line) => typeof line === 'string')) return authorization;
  throw new TypeError('bearerguard: `authorization` must be a string, an array of strings or undefined');
}

function headerLines(value, name) {
  if (value == null) return null;
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.every((line) => typeof line === 'string')) return value;
  throw new TypeError(`bearerguard: \`${name}\` must be a string, an array of strings or undefined`);
}

function certificateBytes(value) {
  if (value == null) return null;
  if (value instanceof Uint8Array)
    return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  throw new TypeError('bearerguard: `clientCertificate` must be the DER bytes (a Buffer or Uint8Array)');
}

const optionalString = (value, name) => {
  if (value == null) return null;
  if (typeof value !== 'string') throw new TypeError(`bearerguard: \`${name}\` must be a string`);
  return value;
};

/** One validator's counters as plain objects. */
function plainStats({ introspectionRequests, jwksFetches, accepted, refused, unrouted, shared }) {
  return { introspectionRequests, jwksFetches, accepted, refused, unrouted, shared: { ...shared } };
}

/** What `fromFile` hands the constructor instead of options: the native validator it built. */
const FROM_NATIVE = Symbol('bearerguard.fromNative');

/** The native validator of a `Validator` (for `metricFamilies`; set by the class's static block). */
let nativeOf;

/**
 * Validates bearer tokens for one issuer. Build it once and share it: it holds the JWKS and
 * introspection caches and the HTTP connection pool.
 */
class Validator {
  #native;
  #resource;
  #certificateHeader;

  /**
   * @param {object} options the core config, with camelCase (or snake_case) names:
   *   `{ issuer, audience, clientAuth: { clientId, clientSecret }, ... }`, or `{ issuers: [...] }`
   *   for many issuers. Throws a `ConfigurationError` naming the field when the config is wrong.
   * @param {object} [extras] what is not config: `{ issuerResolver }`, a function called with
   *   an unlisted (unverified) `iss` that answers its options, `null` to decline, or a Promise
   *   of either.
   */
  constructor(options, extras) {
    if (options === FROM_NATIVE) {
      this.#native = extras;
      return;
    }
    if (options === null || typeof options !== 'object' || Array.isArray(options)) {
      throw new TypeError('bearerguard: Validator options must be an object');
    }
    const config = toCoreConfig(options);
    // A number instead of `extras` is a test hook (seconds since the epoch for a frozen clock),
    // kept out of the typed API and compiled only into addons built with `--features test-hooks`.
    const fixedClockForTests = typeof extras === 'number' ? extras : undefined;
    if (fixedClockForTests !== undefined && typeof native.NativeValidator.withFixedClockForTests !== 'function') {
      throw new Error('bearerguard: a fixed clock is a test hook; this addon was built without `test-hooks`');
    }
    if (extras !== undefined && fixedClockForTests === undefined && (extras === null || typeof extras !== 'object')) {
      throw new TypeError('bearerguard: the second argument of Validator is `{ issuerResolver }`');
    }
    const resolver = fixedClockForTests === undefined ? nativeResolver(extras?.issuerResolver) : null;
    try {
      this.#native =
        fixedClockForTests === undefined
          ? new native.NativeValidator(config, materialize, resolver)
          : native.NativeValidator.withFixedClockForTests(config, materialize, fixedClockForTests);
    } catch (e) {
      throw fromNative(e);
    }
  }

  /**
   * A validator from a `.json` or `.toml` config file (the core's snake_case names), with the
   * same `extras` as the constructor. Throws a `ConfigurationError` naming the field.
   */
  static fromFile(path, extras) {
    if (typeof path !== 'string') throw new TypeError('bearerguard: fromFile takes the path as a string');
    if (extras !== undefined && (extras === null || typeof extras !== 'object')) {
      throw new TypeError('bearerguard: the second argument of fromFile is `{ issuerResolver }`');
    }
    const resolver = nativeResolver(extras?.issuerResolver);
    let built;
    try {
      built = native.NativeValidator.fromFile(path, materialize, resolver);
    } catch (e) {
      throw fromNative(e);
    }
    return new Validator(FROM_NATIVE, built);
  }

  /**
   * Decides about a request and resolves with its token's `TokenInfo`, or rejects with a
   * `BearerGuardError` subclass. `authorization` is every `Authorization` field line of the
   * request (a string, an array of strings, or `undefined` when it has none; two lines are an
   * `InvalidRequestError`), `method` and `url` what the request says. Every scope in `scopes`
   * is required. The entry point for framework adapters.
   *
   * What the core can answer without I/O (a cheap refusal, a JWT whose key is cached, a cached
   * introspection verdict) is answered on this thread; anything that needs the network runs
   * on the core's threads while the event loop goes on.
   */
  validateRequest(request, { scopes = NO_SCOPES } = NO_OPTIONS) {
    let decided;
    try {
      if (request === null || typeof request !== 'object') {
        throw new TypeError('bearerguard: the request must be an object `{ authorization, method, url }`');
      }
      const lines = authorizationLines(request.authorization);
      const method = optionalString(request.method, 'method');
      const url = optionalString(request.url, 'url');
      const wrong = scopesError(scopes);
      if (wrong) throw wrong;
      if (
        request.dpop === undefined &&
        request.clientCertificate === undefined &&
        request.headers === undefined &&
        request.tenant === undefined
      ) {
        decided = this.#native.decideRequest(lines, method, url, scopes);
      } else {
        const dpop = headerLines(request.dpop, 'dpop');
        const certificate = certificateBytes(request.clientCertificate);
        // Only the trusted proxy's certificate header crosses to the core, when one is configured.
        this.#certificateHeader ??= this.#native.clientCertificateHeader() ?? '';
        const named = this.#certificateHeader && request.headers ? request.headers[this.#certificateHeader] : null;
        decided = this.#native.decideRequest(
          lines,
          method,
          url,
          scopes,
          dpop,
          certificate,
          headerLines(named, 'headers'),
          optionalString(request.tenant, 'tenant'),
        );
      }
    } catch (e) {
      return Promise.reject(fromNative(e));
    }
    return settle(decided);
  }

  /**
   * Validates `token` (a JWT or an opaque token) and resolves with its `TokenInfo`, or rejects
   * with a `BearerGuardError` subclass. Every scope in `scopes` is required.
   */
  validate(token, { scopes = NO_SCOPES } = NO_OPTIONS) {
    if (typeof token !== 'string') return Promise.reject(new TypeError('bearerguard: the token must be a string'));
    const none = scopes === NO_SCOPES;
    const wrong = none ? null : scopesError(scopes);
    if (wrong) return Promise.reject(wrong);
    let decided;
    try {
      decided = this.#native.decide(token, none ? null : scopes);
    } catch (e) {
      return Promise.reject(fromNative(e));
    }
    return settle(decided);
  }

  /**
   * Reads the token from one `Authorization` header value (`undefined` or `null` when the
   * request has none) and validates it, like `validate`. Adapters that can see every header
   * line should call `validateRequest`.
   */
  validateHeader(authorization, { scopes = NO_SCOPES } = NO_OPTIONS) {
    if (authorization != null && typeof authorization !== 'string') {
      return Promise.reject(new TypeError('bearerguard: the Authorization header value must be a string'));
    }
    const wrong = scopesError(scopes);
    if (wrong) return Promise.reject(wrong);
    let decided;
    try {
      decided = this.#native.decideRequest(authorization ?? null, null, null, scopes);
    } catch (e) {
      return Promise.reject(fromNative(e));
    }
    return settle(decided);
  }

  /**
   * This API as a protected resource, or `null` when no `resource` is configured:
   * `{ resource, issuer, metadata, metadataJson, metadataUrl, metadataPath, cacheControl,
   * requiredScopes }` (`metadata` is the RFC 9728 document).
   */
  get resource() {
    if (this.#resource === undefined) {
      const r = this.#native.resource();
      this.#resource = r == null ? null : Object.freeze({ ...r, metadata: JSON.parse(r.metadataJson) });
    }
    return this.#resource;
  }

  /**
   * Forgets what this validator remembers about `token` (a cached introspection verdict, a
   * remembered JWT), so that its next use is decided afresh: an opaque token by asking the
   * authorization server again. For apps told of a revocation or logout; a JWT verified again
   * stays valid until `exp` unless it is introspected (`strategy: 'introspect_all'`). With a
   * shared tier (`cache.shared`) every instance forgets it; rejects with an `UnavailableError`
   * when the shared tier could not be told (this instance has forgotten: call again).
   */
  async forget(token) {
    if (typeof token !== 'string') throw new TypeError('forget(token): token must be a string');
    await this.#native.forget(token).catch(rethrow);
  }

  /**
   * Counters: requests made to the authorization server and decisions taken so far,
   * `{ introspectionRequests, jwksFetches, accepted, refused, unrouted, shared }` (with many
   * issuers, the sum over them; `unrouted`: refused before any issuer was chosen).
   */
  stats() {
    return plainStats(this.#native.stats());
  }

  /**
   * Each issuer's counters, `{ [issuer]: stats }` like `stats()`: the configured issuers in
   * order, then those the resolver added (still kept).
   */
  statsByIssuer() {
    return Object.fromEntries(this.#native.statsByIssuer().map(({ issuer, stats }) => [issuer, plainStats(stats)]));
  }

  /**
   * With an `issuerResolver`: `{ kept, declined }`, how many issuers it approved are kept and
   * how many it declined are remembered (zeros without one).
   */
  resolverEntries() {
    const { kept, declined } = this.#native.resolverEntries();
    return { kept, declined };
  }

  /**
   * What this validator counted, the core's snapshot with camelCase keys: `{ issuer,
   * decisions: [{ outcome, source, tier, count }], requests: [{ endpoint, result, count,
   * sumSeconds, buckets }], latencyBuckets, jwks, joins, cachedVerdicts, rememberedJwts }`.
   * `bearerguard/prometheus` serves it to prom-client.
   */
  metrics() {
    return JSON.parse(this.#native.metricsJson());
  }

  /**
   * Whether each issuer's endpoints are known, its JWKS loaded and fresh, and when its
   * authorization server last answered: `{ ok, issuers: [{ issuer, ok, endpointsKnown, jwks,
   * lastAnswerAt, lastAnswerAgeSeconds, lastFailure }] }`.
   */
  health() {
    return JSON.parse(this.#native.healthJson());
  }

  static {
    nativeOf = (validator) => {
      if (validator === null || typeof validator !== 'object' || !(#native in validator)) {
        throw new TypeError('bearerguard: metricFamilies takes Validator objects');
      }
      return validator.#native;
    };
  }
}

/**
 * The Prometheus metric families of every validator given, merged by the core (each name
 * once, with every issuer's samples): `[{ name, help, kind, samples: [{ labels, value,
 * histogram? }] }]`, the core's names and label names unchanged.
 */
function metricFamilies(...validators) {
  return JSON.parse(native.metricFamiliesJson(validators.map(nativeOf)));
}

const LOG_LEVELS = new Set(['error', 'warn', 'info', 'debug', 'trace']);

/**
 * Sends the core's log records (`{ level, target, message }`, never a token or a secret) at
 * `level` or above (default `info`) to `callback`, on the event loop after the decision that
 * made them; `setLogger(null)` stops them. One callback serves the process; the last call
 * wins. A callback that throws loses that record, nothing else.
 */
function setLogger(callback, { level = 'info' } = NO_OPTIONS) {
  if (callback !== null && typeof callback !== 'function') {
    throw new TypeError('bearerguard: setLogger takes a function or null');
  }
  if (!LOG_LEVELS.has(level)) {
    throw new TypeError('bearerguard: `level` must be one of error, warn, info, debug, trace');
  }
  const deliver =
    callback === null
      ? null
      : (record) => {
          try {
            callback(record);
          } catch {
            // A logger's failure is not the API's: the record is lost, the process goes on.
          }
        };
  native.setLogger(deliver, level);
}

/** Every error code the core can produce, plus `internal` (for tests and exhaustive maps). */
const errorCodes = () => native.errorCodes();

/** Every config key path the core accepts, snake_case, nested ones dotted (`cache.max_ttl_secs`), aliases included. */
const configFields = () => native.configFields();

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
  InvalidDpopProofError,
  UseDpopNonceError,
  InternalError,
  errorCodes,
  configFields,
  metricFamilies,
  setLogger,
};
