'use strict';
// Koa middleware (Koa 3). It hands the request's every `Authorization` and `DPoP` line,
// its method, absolute URL (`ctx.href`), headers and TLS client certificate to the core, and
// either sets `ctx.state.auth` to the TokenInfo (and `DPoP-Nonce` when the core hands one out)
// and calls `next()`, or answers the refusal as every bearerguard adapter does
// (adapter.js). Errors that are not bearerguard's are thrown to Koa.

const { requestOf, acceptedHeaders, validatorOf, scopesOf, refusalOf, isRefusal } = require('./adapter.js');

/** A middleware requiring a valid bearer token carrying every scope in `scopes`. */
function requireToken({ validator, options, scopes = [] } = {}) {
  const guard = validatorOf('koa', { validator, options });
  const wanted = { scopes: scopesOf('koa', scopes) };

  return async function bearerguard(ctx, next) {
    let info;
    try {
      info = await guard.validateRequest(requestOf(ctx.req, ctx.href), wanted);
    } catch (error) {
      if (!isRefusal(error)) throw error;
      const { status, headers, body } = refusalOf(error);
      ctx.status = status;
      ctx.set(headers);
      ctx.body = body;
      return;
    }
    ctx.set(acceptedHeaders(info));
    ctx.state.auth = info;
    await next();
  };
}

module.exports = { requireToken };
