'use strict';
// bearerguard/testing: a test kit for the tests of an API protected by bearerguard. The
// authorization server is the core's own (Rust, bearerguard::testing), started in this process
// on 127.0.0.1 and a free port, on a thread of its own: discovery, JWKS, RFC 7662 introspection,
// RFC 7009 revocation. This file only translates option names and errors.
//
// For tests only: it signs any token it is asked for. Never point a production validator at it.

const { fromNative } = require('./errors.js');
const { NativeTestAuthorizationServer } = require('./native.js');

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

/** Starts an in-process authorization server (see `AuthorizationServer`). */
async function startAuthorizationServer(options) {
  return new AuthorizationServer(options);
}

module.exports = { AuthorizationServer, startAuthorizationServer, EXPIRED };
