// Types of bearerguard/koa. Structural, so they need no @types/koa (whose 3.0 types do not
// compile beside Express 5's content-disposition); a Koa app's `ctx` fits `BearerContext`.
import type { IncomingMessage } from 'node:http';
import type { TokenInfo, Validator, ValidatorOptions } from './index';

export interface RequireTokenOptions {
  /** A shared validator (one per issuer per process). Give this or `options`. */
  validator?: Validator;
  /** Options to build a validator for this middleware. Give this or `validator`. */
  options?: ValidatorOptions;
  /** Scopes every request must carry (all of them). */
  scopes?: string[];
}

/** What the middleware uses of Koa's `ctx`; after it, `ctx.state.auth` is the token's info. */
export interface BearerContext {
  req: IncomingMessage;
  href: string;
  state: { auth?: TokenInfo; [key: string]: unknown };
  status: number;
  body: unknown;
  set(headers: Record<string, string>): void;
}

/** Requires a valid bearer token; sets `ctx.state.auth` or answers the refusal. */
export function requireToken(
  options: RequireTokenOptions,
): (ctx: BearerContext, next: () => Promise<unknown>) => Promise<void>;
