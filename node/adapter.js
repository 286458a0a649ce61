'use strict';
// What every Node adapter (Express, Fastify, Koa, Hono, NestJS) hands the core and answers for a
// refusal, in one place so they agree. An adapter reads its framework's request with
// `requestOf`, calls `validator.validateRequest(request, { scopes })`, sets `acceptedHeaders`
// (the next DPoP nonce) on an acceptance, and answers a `BearerGuardError` with `refusalOf`: its
// status, `WWW-Authenticate` when it has a challenge, `DPoP-Nonce` when the client must retry
// with one, `Cache-Control: no-store`, and `{"error": code}`. It parses nothing and decides
// nothing.

const { Validator, BearerGuardError } = require('./index.js');

/**
 * Every field line named `name` (lower case) of a Node request. `req.headers[name]` holds only
 * the first `Authorization` (Node's parser drops repeats of this header); `headersDistinct`
 * (Node >= 18.3) keeps them all, and `rawHeaders` is the fallback for request objects without it.
 */
function headerLines(req, name) {
  const distinct = req.headersDistinct?.[name];
  if (distinct !== undefined) return distinct;
  const raw = req.rawHeaders;
  if (Array.isArray(raw)) {
    const lines = [];
    for (let i = 0; i + 1 < raw.length; i += 2) {
      if (raw[i].toLowerCase() === name) lines.push(raw[i + 1]);
    }
    return lines;
  }
  const value = req.headers?.[name];
  return value === undefined ? [] : [value].flat();
}

/**
 * The absolute URL a Node request (`http.IncomingMessage`, or Express's request on it) was sent
 * to, as the framework sees it: `req.protocol` (Express; else the socket's TLS), the `Host`
 * header and `req.originalUrl` (else `req.url`). DPoP's `htu` is compared with it. Without a
 * host it is the path alone (the core then needs `dpop.externalBaseUrl` for DPoP).
 */
function urlOf(req) {
  const path = req.originalUrl ?? req.url ?? '/';
  const protocol = typeof req.protocol === 'string' ? req.protocol : req.socket?.encrypted ? 'https' : 'http';
  const host = (typeof req.get === 'function' ? req.get('host') : undefined) ?? req.headers?.host;
  return host ? `${protocol}://${host}${path}` : path;
}

/**
 * The client certificate of a TLS connection (the DER bytes of the peer's leaf certificate,
 * `socket.getPeerCertificate().raw`), or `undefined` on plain HTTP or when none was presented.
 * The TLS handshake proved the client holds its key; whether it matches the token is the core's.
 */
function peerCertificateOf(req) {
  const socket = req.socket;
  if (!socket?.encrypted || typeof socket.getPeerCertificate !== 'function') return undefined;
  const raw = socket.getPeerCertificate(false)?.raw;
  return raw instanceof Uint8Array && raw.length > 0 ? raw : undefined;
}

/**
 * The request as the core sees it: every `Authorization` and `DPoP` line of the Node request
 * `req` (an `http.IncomingMessage`), its method, `url` (the absolute URL the client asked for;
 * `urlOf(req)` unless the framework knows better), its headers (every line of each: the core
 * reads only the configured `clientCertificateHeader`) and the TLS client certificate.
 */
function requestOf(req, url = urlOf(req)) {
  return {
    authorization: headerLines(req, 'authorization'),
    dpop: headerLines(req, 'dpop'),
    method: req.method,
    url,
    headers: req.headersDistinct ?? req.headers,
    clientCertificate: peerCertificateOf(req),
  };
}

/**
 * The response headers of an accepted request: `dpop-nonce` (RFC 9449 §8.2) when the validator
 * hands out DPoP nonces, else none.
 */
function acceptedHeaders(info) {
  return info.dpopNonce == null ? NO_HEADERS : { 'dpop-nonce': info.dpopNonce };
}
const NO_HEADERS = Object.freeze({});

/** The validator of an adapter's options: `validator`, or one built from `options`. */
function validatorOf(adapter, { validator, options } = {}) {
  if (validator !== undefined && options !== undefined) {
    throw new TypeError(`bearerguard/${adapter}: give \`validator\` or \`options\`, not both`);
  }
  const guard = validator ?? (options !== undefined ? new Validator(options) : undefined);
  if (!(guard instanceof Validator)) {
    throw new TypeError(`bearerguard/${adapter}: needs a \`validator\` or \`options\``);
  }
  return guard;
}

/** A copy of `scopes`, checked to be an array of strings. */
function scopesOf(adapter, scopes = []) {
  if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string')) {
    throw new TypeError(`bearerguard/${adapter}: \`scopes\` must be an array of strings`);
  }
  return [...scopes];
}

/** The scopes of every group, in order, each once. */
function mergeScopes(...groups) {
  return [...new Set(groups.flat())];
}

/**
 * The answer to a refusal: `{ status, headers, body }` (headers: the challenge when there is
 * one, `dpop-nonce` when there is one, `cache-control: no-store`, `content-type:
 * application/json`; body: the JSON text).
 */
function refusalOf(error) {
  return {
    status: error.status,
    headers: { ...error.headers, 'content-type': 'application/json' },
    body: JSON.stringify({ error: error.code }),
  };
}

/** Whether `error` is a refusal to answer (anything else is a bug elsewhere, for the app). */
function isRefusal(error) {
  return error instanceof BearerGuardError;
}

module.exports = {
  headerLines,
  urlOf,
  peerCertificateOf,
  requestOf,
  acceptedHeaders,
  validatorOf,
  scopesOf,
  mergeScopes,
  refusalOf,
  isRefusal,
};
