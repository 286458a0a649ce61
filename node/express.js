'use strict';
// Express middleware (Express 4 and 5; it needs only `(req, res, next)`, so plain `node:http`
// servers can use it too). It hands the request's every `Authorization` and `DPoP` line, its
// method, absolute URL, headers and TLS client certificate to the core (`validateRequest`), and
// either sets `req.auth` to the TokenInfo (and `DPoP-Nonce` when the core hands one out) or
// answers the refusal with the core's RFC 6750 `WWW-Authenticate`. It decides nothing itself;
// what it sends and answers is `adapter.js`, shared by every Node adapter.

const { requestOf, acceptedHeaders, validatorOf, scopesOf, refusalOf, isRefusal } = require('./adapter.js');
const { Validator } = require('./index.js');

/**
 * A middleware that requires a valid bearer token carrying every scope in `scopes`.
 *
 * - `validator`: a shared `Validator` (preferred: one per issuer per process), or
 * - `options`: the options to build one.
 * - `passErrors`: hand every refusal to `next(err)` instead of answering it, for apps with
 *   their own error handler; the error's `status` and `headers` keep the challenge.
 *
 * Every refusal (400, 401, 403, 500, 503) is answered here, the way the Python adapters answer
 * it: the status, `WWW-Authenticate` when the refusal has a challenge, `Cache-Control:
 * no-store`, and `{"error": code}`. Only an error that is not bearerguard's (a bug elsewhere)
 * goes to `next(err)` unasked.
 */
function requireToken({ validator, options, scopes = [], passErrors = false } = {}) {
  const guard = validatorOf('express', { validator, options });
  const wanted = { scopes: scopesOf('express', scopes) };

  return function bearerguard(req, res, next) {
    guard.validateRequest(requestOf(req), wanted).then(
      (info) => {
        for (const [name, value] of Object.entries(acceptedHeaders(info))) res.setHeader(name, value);
        req.auth = info;
        next();
      },
      (error) => {
        if (passErrors || !isRefusal(error)) {
          next(error);
        } else {
          refuse(res, error);
        }
      },
    );
  };
}

/** Answers a refusal: its status, its headers (challenge, no-store), `{"error": code}`. */
function refuse(res, error) {
  const { status, headers, body } = refusalOf(error);
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.end(body);
}

/**
 * A middleware serving the validator's RFC 9728 protected resource metadata document at its
 * well-known path (`/.well-known/oauth-protected-resource/<resource path>`), GET and HEAD, with
 * `Cache-Control` and CORS `Access-Control-Allow-Origin: *` (browser-based MCP clients fetch
 * it); every other request goes to `next()`. Mount it before any authentication middleware.
 * The validator must be built with a `resource`.
 */
function resourceMetadata({ validator } = {}) {
  if (!(validator instanceof Validator)) {
    throw new TypeError('bearerguard/express: resourceMetadata needs a `validator`');
  }
  const resource = validator.resource;
  if (resource === null) {
    throw new TypeError('bearerguard/express: resourceMetadata needs a validator built with a `resource`');
  }
  const body = Buffer.from(resource.metadataJson);
  return function bearerguardResourceMetadata(req, res, next) {
    const path = (req.originalUrl ?? req.url ?? '').split('?')[0];
    if (path !== resource.metadataPath || (req.method !== 'GET' && req.method !== 'HEAD')) {
      next();
      return;
    }
    res.statusCode = 200;
    res.setHeader('Content-Type', 'application/json');
    res.setHeader('Cache-Control', resource.cacheControl);
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('Content-Length', String(body.length));
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}

module.exports = { requireToken, resourceMetadata };
