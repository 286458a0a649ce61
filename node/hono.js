'use strict';
// Hono middleware (Hono 4). On @hono/node-server the core gets the Node request's every
// `Authorization` and `DPoP` line, its headers and TLS client certificate (`c.env.incoming`); on
// other runtimes the Fetch API joins repeated lines with commas, and the core refuses a joined
// `Bearer` value as `invalid_request` (and a joined `DPoP` one as `invalid_dpop_proof`). The
// method and absolute URL (`c.req.url`) go along. `c.get('auth')` is the TokenInfo, and the
// response carries `DPoP-Nonce` when the core hands one out; a refusal answers as every
// bearerguard adapter does (adapter.js). Errors that are not bearerguard's are thrown.

const { requestOf, acceptedHeaders, validatorOf, scopesOf, refusalOf, isRefusal } = require('./adapter.js');

/** The core's view of a Hono request. */
function honoRequest(c) {
  const incoming = c.env?.incoming;
  if (incoming && typeof incoming === 'object' && 'rawHeaders' in incoming) return requestOf(incoming, c.req.url);
  const line = (name) => {
    const value = c.req.raw.headers.get(name);
    return value === null ? [] : [value];
  };
  return {
    authorization: line('authorization'),
    dpop: line('dpop'),
    method: c.req.method,
    url: c.req.url,
    headers: Object.fromEntries(c.req.raw.headers),
  };
}

/** A middleware requiring a valid bearer token carrying every scope in `scopes`. */
function bearerAuth({ validator, options, scopes = [] } = {}) {
  const guard = validatorOf('hono', { validator, options });
  const wanted = { scopes: scopesOf('hono', scopes) };

  return async function bearerguard(c, next) {
    let info;
    try {
      info = await guard.validateRequest(honoRequest(c), wanted);
    } catch (error) {
      if (!isRefusal(error)) throw error;
      const { status, headers, body } = refusalOf(error);
      return c.body(body, status, headers);
    }
    for (const [name, value] of Object.entries(acceptedHeaders(info))) c.header(name, value);
    c.set('auth', info);
    await next();
  };
}

module.exports = { bearerAuth };
