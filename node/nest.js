'use strict';
// NestJS guard (Nest 12; tested on the Express platform, written for the Fastify one too) and the `@Scopes(...)` decorator.
// The guard hands the request's every `Authorization` and `DPoP` line, its method, absolute URL,
// headers and TLS client certificate to the core with the guard's scopes plus those `@Scopes`
// sets on the handler and its controller; it sets `request.auth` to the TokenInfo (and
// `DPoP-Nonce` on the response when the core hands one out). A refusal sets the challenge and `Cache-Control:
// no-store` on the response and throws an `HttpException` whose body is `{"error": code}`, so
// Nest's exception layer answers it with the error's status, as every bearerguard adapter does.

const { HttpException, SetMetadata } = require('@nestjs/common');
const { Reflector } = require('@nestjs/core');
const { urlOf, requestOf, acceptedHeaders, validatorOf, scopesOf, mergeScopes, isRefusal } = require('./adapter.js');

const SCOPES = 'bearerguard:scopes';

/** A method or class decorator: the handler requires these scopes. */
function Scopes(...scopes) {
  return SetMetadata(SCOPES, scopesOf('nest', scopes));
}

/** The exception of a refusal; `.error` is the `BearerGuardError`. */
class BearerAuthException extends HttpException {
  constructor(error) {
    super({ error: error.code }, error.status);
    this.error = error;
  }
}

/** `app.useGlobalGuards(new BearerGuard({ validator }))` or `@UseGuards(new BearerGuard(...))`. */
class BearerGuard {
  constructor({ validator, options, scopes = [], reflector = new Reflector() } = {}) {
    this.validator = validatorOf('nest', { validator, options });
    this.scopes = scopesOf('nest', scopes);
    this.reflector = reflector;
  }

  async canActivate(context) {
    if (context.getType() !== 'http') return false; // RPC and WebSocket contexts carry no HTTP request
    const http = context.switchToHttp();
    const req = http.getRequest();
    const res = http.getResponse();
    const routeScopes = this.reflector.getAllAndMerge(SCOPES, [context.getHandler(), context.getClass()]) ?? [];
    const scopes = mergeScopes(this.scopes, routeScopes);
    const raw = req.raw ?? req; // the Fastify platform wraps the Node request
    let info;
    try {
      info = await this.validator.validateRequest(requestOf(raw, urlOf(req)), { scopes });
    } catch (error) {
      if (!isRefusal(error)) throw error;
      setHeaders(res, error.headers); // Nest writes the body and its type
      throw new BearerAuthException(error);
    }
    setHeaders(res, acceptedHeaders(info));
    req.auth = info;
    return true;
  }
}

/** Sets `headers` on the platform's response (Express: `setHeader`; Fastify: `header`). */
function setHeaders(res, headers) {
  for (const [name, value] of Object.entries(headers)) {
    if (typeof res.setHeader === 'function') res.setHeader(name, value);
    else res.header(name, value);
  }
}

module.exports = { BearerGuard, BearerAuthException, Scopes, SCOPES };
