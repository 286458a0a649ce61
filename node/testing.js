'use strict';
// bearerguard/testing: a test kit for the tests of an API protected by bearerguard. The
// authorization server is the core's own (Rust, bearerguard::testing), started in this process
// on 127.0.0.1 and a free port, on a thread of its own: discovery, JWKS, RFC 7662 introspection,
// RFC 7009 revocation. This file only translates option names and errors.
//
// For tests only: it signs any token it is asked for. Never point a production validator at it.

const { fromNative } = require('./errors.js');
const { NativeDpopKey, NativeTestAuthorizationServer } = require('./native.js');

/** The `expiresIn` of `expiredToken()`: an hour ago, past the validator's default 60 s leeway. */
const EXPIRED = -3600;

// camelCase option names become the core's snake_case names (`x5tS256` → `x5t_s256`).
const snakeCase = (key) => key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

function tokenOptions(options = {}) {
  const core = Object.create(null);
  for (const [key, value] of Object.entries(options)) {
    if (value === undefined) continue;
    // `claims` are claim names, passed as they are.
    core[snakeCase(key)] = value;
  }
  return core;
}

function call(fn) {
  try {
    return fn();
  } catch (e) {
    throw fromNative(e);
  }
}

/** An in-process authorization server for tests. `startAuthorizationServer()` makes one. */
class AuthorizationServer {
  #native;

  /** @param {{audience?: string, clientId?: string}} [options] */
  constructor(options = {}) {
    this.#native = call(() => new NativeTestAuthorizationServer(tokenOptions(options)));
  }

  /** The issuer identifier, `http://127.0.0.1:<port>`; the base of every endpoint. */
  get issuer() {
    return this.#native.issuer;
  }

  /** The audience its tokens carry by default and its config accepts. */
  get audience() {
    return this.#native.audience;
  }

  /** The client id allowed to introspect and revoke. */
  get clientId() {
    return this.#native.clientId;
  }

  /** That client's secret: random, new for every server. */
  get clientSecret() {
    return this.#native.clientSecret;
  }

  /** Whether `close()` has run. */
  get closed() {
    return this.#native.closed;
  }

  /**
   * Validator options pointing at this server: its issuer (endpoints by discovery), audience
   * and client credentials; a fresh object each time (`{ ...as.config, strategy: ... }`).
   */
  get config() {
    const core = this.#native.config();
    const auth = core.client_auth;
    return {
      issuer: core.issuer,
      audience: core.audience,
      clientAuth: { method: auth.method, clientId: auth.client_id, clientSecret: auth.client_secret },
    };
  }

  /** The discovery document it serves. */
  metadata() {
    return this.#native.metadata();
  }

  /** The public JWKS it serves. */
  jwks() {
    return this.#native.jwks();
  }

  /** A signed JWT access token with the claims `options` ask for. */
  token(options) {
    return call(() => this.#native.jwt(tokenOptions(options)));
  }

  /** A JWT that expired an hour ago (`token`'s other options apply). */
  expiredToken(options) {
    return this.token({ ...options, expiresIn: EXPIRED });
  }

  /** An opaque token that introspection answers with these claims until expired or revoked. */
  opaqueToken(options) {
    return call(() => this.#native.opaque(tokenOptions(options)));
  }

  /** Revokes a token it minted; whether it knew the token. */
  revoke(token) {
    return call(() => this.#native.revoke(token));
  }

  /** Requests answered so far, per endpoint. */
  counts() {
    return this.#native.counts();
  }

  /** Stops the server (idempotent). */
  async close() {
    this.#native.close();
  }

  async [Symbol.asyncDispose]() {
    await this.close();
  }

  toString() {
    return `AuthorizationServer(${this.issuer})`;
  }

  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `AuthorizationServer { issuer: '${this.issuer}', audience: '${this.audience}' }`;
  }
}

const optional = (value, name, type) => {
  if (value == null) return undefined;
  if (typeof value !== type || (type === 'number' && !Number.isSafeInteger(value))) {
    throw new TypeError(`bearerguard/testing: \`${name}\` must be ${type === 'number' ? 'an integer' : `a ${type}`}`);
  }
  return value;
};

/**
 * A client's DPoP key (P-256, ES256): the thumbprint a bound token names
 * (`as.token({ dpopJkt: key.thumbprint() })`) and the proofs a request sends in its `DPoP`
 * header. The private key stays in the core; inspection and `toString` show the thumbprint.
 */
class DpopKey {
  #native;

  /** A fresh key (as `DpopKey.generate()`). */
  constructor() {
    this.#native = call(() => new NativeDpopKey());
  }

  /** A fresh key. */
  static generate() {
    return new DpopKey();
  }

  /** The RFC 7638 thumbprint: what a bound token's `cnf.jkt` says. */
  thumbprint() {
    return this.#native.thumbprint;
  }

  /** The public JWK the proofs carry (`{ kty: 'EC', crv: 'P-256', x, y }`). */
  publicJwk() {
    return this.#native.publicJwk();
  }

  /** A good proof for `method` and `url`, issued now, for `accessToken` (`ath`; none leaves it out). */
  proof(method, url, accessToken) {
    return this.proofWith({ method, url, accessToken });
  }

  /** A proof as `{ method, url, accessToken, nonce, iat, jti }` say (`iat` defaults to now, `jti` to a random one). */
  proofWith({ method, url, accessToken, nonce, iat, jti } = {}) {
    if (typeof method !== 'string' || typeof url !== 'string') {
      throw new TypeError('bearerguard/testing: a proof needs `method` and `url` strings');
    }
    const options = {
      method,
      url,
      accessToken: optional(accessToken, 'accessToken', 'string'),
      nonce: optional(nonce, 'nonce', 'string'),
      iat: optional(iat, 'iat', 'number'),
      jti: optional(jti, 'jti', 'string'),
    };
    return call(() => this.#native.proof(options));
  }

  toString() {
    return `DpopKey(${this.thumbprint()})`;
  }

  toJSON() {
    return { thumbprint: this.thumbprint() };
  }

  [Symbol.for('nodejs.util.inspect.custom')]() {
    return `DpopKey { thumbprint: '${this.thumbprint()}' }`;
  }
}

/** Starts an in-process authorization server (see `AuthorizationServer`). */
async function startAuthorizationServer(options) {
  return new AuthorizationServer(options);
}

module.exports = { AuthorizationServer, DpopKey, startAuthorizationServer, EXPIRED };
