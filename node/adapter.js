'use strict';
// What every Node adapter (Express, Fastify, Koa, Hono, NestJS) hands the core and answers for a
// refusal, in one place so they agree. An adapter reads its framework's request with
// `requestOf`, calls `validator.validateRequest(request, { scopes })`, and answers a
// `BearerGuardError` with `refusalOf`: its status, `WWW-Authenticate` when it has a challenge,
// `Cache-Control: no-store`, and `{"error": code}`. It parses nothing and decides nothing.

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
 * The request as the core sees it: every `Authorization` and `DPoP` line of the Node request
 * `req` (an `http.IncomingMessage`), its method, and `url` (the adapter knows best what the
 * client asked for: the path, or the absolute URL when the framework has it).
 */
function requestOf(req, url) {
  return {
    authorization: headerLines(req, 'authorization'),
    dpop: headerLines(req, 'dpop'),
    method: req.method,
    url,
  };
}

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
 * one, `cache-control: no-store`, `content-type: application/json`; body: the JSON text).
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

module.exports = { headerLines, requestOf, validatorOf, scopesOf, mergeScopes, refusalOf, isRefusal };
