// Types of bearerguard/fastify: the plugin, `request.auth`, and the route config it reads.
import type { FastifyPluginCallback } from 'fastify';
import type { TokenInfo, Validator, ValidatorOptions } from './index';

export interface BearerguardFastifyOptions {
  /** A shared validator (one per issuer per process). Give this or `options`. */
  validator?: Validator;
  /** Options to build a validator for this plugin. Give this or `validator`. */
  options?: ValidatorOptions;
  /** Scopes every guarded route requires, on top of its `config.scopes`. */
  scopes?: string[];
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The validated token's info (set by bearerguard; `null` on a public route). */
    auth: TokenInfo | null;
  }
  interface FastifyContextConfig {
    /** Scopes this route requires (all of them), on top of the plugin's. */
    scopes?: string[];
    /** `false`: this route is public, the plugin does not guard it. */
    bearerguard?: false;
  }
}

/** Guards every route of the instance it is registered on (see bearerguard/fastify.js). */
declare const bearerguard: FastifyPluginCallback<BearerguardFastifyOptions>;
export default bearerguard;
export { bearerguard };
