'use strict';
// Fastify plugin (Fastify 5). Registered on an instance, it guards every route of that instance
// (and of its children) with an `onRequest` hook: the request's every `Authorization` and `DPoP`
// line, its method, absolute URL, headers and TLS client certificate go to the core
// (`validateRequest`) with the plugin's scopes plus the route's `config.scopes`; `request.auth`
// is the TokenInfo, and the reply carries `DPoP-Nonce` when the core hands one out.
// `config: { bearerguard: false }` leaves a route public. A refusal answers as every bearerguard
// adapter does (adapter.js).
// Register it inside a child context (`app.register(async (api) => { ... })`) to guard only
// that context's routes.

const {
  requestOf,
  acceptedHeaders,
  validatorOf,
  scopesOf,
  mergeScopes,
  refusalOf,
  isRefusal,
} = require('./adapter.js');

/** The plugin: options `validator` or `options`, and `scopes` every guarded route requires. */
function bearerguard(fastify, opts, done) {
  let guard;
  let base;
  try {
    guard = validatorOf('fastify', opts);
    base = scopesOf('fastify', opts.scopes);
  } catch (error) {
    done(error);
    return;
  }
  fastify.decorateRequest('auth', null);
  fastify.addHook('onRequest', async (request, reply) => {
    const config = request.routeOptions?.config ?? {};
    if (config.bearerguard === false) return;
    const scopes = mergeScopes(base, scopesOf('fastify', config.scopes ?? []));
    const url = `${request.protocol}://${request.host}${request.url}`;
    let info;
    try {
      info = await guard.validateRequest(requestOf(request.raw, url), { scopes });
    } catch (error) {
      if (!isRefusal(error)) throw error;
      const { status, headers, body } = refusalOf(error);
      return reply.code(status).headers(headers).send(body);
    }
    reply.headers(acceptedHeaders(info));
    request.auth = info;
  });
  done();
}

// What `fastify-plugin` sets: the hook and the decorator apply to the instance it is
// registered on, not to a context of its own.
bearerguard[Symbol.for('skip-override')] = true;
bearerguard[Symbol.for('fastify.display-name')] = 'bearerguard';
bearerguard[Symbol.for('plugin-meta')] = { name: 'bearerguard', fastify: '5.x' };

module.exports = bearerguard;
module.exports.bearerguard = bearerguard;
module.exports.default = bearerguard;
