'use strict';
// Express middleware (Express 4 and 5; it needs only `(req, res, next)`, so plain `node:http`
// servers can use it too). It reads `Authorization`, lets the core decide, and either sets
// `req.auth` to the TokenInfo or answers the refusal with its RFC 6750 `WWW-Authenticate`.

const { Validator, BearerGuardError } = require('./index.js');

/**
 * A middleware that requires a valid bearer token carrying every scope in `scopes`.
 *
 * - `validator`: a shared `Validator` (preferred: one per issuer per process), or
 * - `options`: the options to build one.
 * - `passErrors`: hand every refusal to `next(err)` instead of answering it, for apps with
 *   their own error handler. 500-class failures (configuration, internal) always go to `next`.
 */
function requireToken({ validator, options, scopes = [], passErrors = false } = {}) {
  if (validator !== undefined && options !== undefined) {
    throw new TypeError('bearerguard/express: give `validator` or `options`, not both');
  }
  const guard = validator ?? (options !== undefined ? new Validator(options) : undefined);
  if (!(guard instanceof Validator)) {
    throw new TypeError('bearerguard/express: requireToken needs a `validator` or `options`');
  }
  if (!Array.isArray(scopes) || !scopes.every((s) => typeof s === 'string')) {
    throw new TypeError('bearerguard/express: `scopes` must be an array of strings');
  }
  const wanted = [...scopes];

  return function bearerguard(req, res, next) {
    guard.validateHeader(req.headers.authorization, { scopes: wanted }).then(
      (info) => {
        req.auth = info;
        next();
      },
      (error) => {
        if (passErrors || !(error instanceof BearerGuardError) || error.status === 500) {
          next(error);
        } else {
          refuse(res, error);
        }
      },
    );
  };
}

/** Answers a refusal: its status, its `WWW-Authenticate` when it has one, `{"error": code}`. */
function refuse(res, error) {
  if (error.wwwAuthenticate) res.setHeader('WWW-Authenticate', error.wwwAuthenticate);
  res.statusCode = error.status;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Cache-Control', 'no-store');
  res.end(JSON.stringify({ error: error.code }));
}

module.exports = { requireToken };
