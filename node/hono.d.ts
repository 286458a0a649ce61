// Types of bearerguard/hono: `c.get('auth')` is a TokenInfo after the middleware.
import type { MiddlewareHandler } from 'hono';
import type { TokenInfo, Validator, ValidatorOptions } from './index';

export interface BearerAuthOptions {
  /** A shared validator (one per issuer per process). Give this or `options`. */
  validator?: Validator;
  /** Options to build a validator for this middleware. Give this or `validator`. */
  options?: ValidatorOptions;
  /** Scopes every request must carry (all of them). */
  scopes?: string[];
}

/** The variables the middleware sets. */
export interface BearerEnv {
  Variables: { auth: TokenInfo };
}

/** Requires a valid bearer token; sets `c.get('auth')` or answers the refusal. */
export function bearerAuth(options: BearerAuthOptions): MiddlewareHandler<BearerEnv>;
