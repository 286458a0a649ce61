// Types of bearerguard/express. Structural, so they need neither express nor @types/express;
// with @types/express installed, `req.auth` is typed on every Express request.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TokenInfo, Validator, ValidatorOptions } from './index';

export interface RequireTokenOptions {
  /** A shared validator (one per issuer per process). Give this or `options`. */
  validator?: Validator;
  /** Options to build a validator for this middleware. Give this or `validator`. */
  options?: ValidatorOptions;
  /** Scopes every request must carry (all of them). */
  scopes?: string[];
  /**
   * Pass refusals to `next(err)` instead of answering them; the error's `status` and
   * `headers` keep the challenge.
   */
  passErrors?: boolean;
}

/** A request after the middleware: `auth` is the validated token's info. */
export type AuthenticatedRequest = IncomingMessage & { auth?: TokenInfo };

export type BearerMiddleware = (
  req: AuthenticatedRequest,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void;

/**
 * Requires a valid bearer token: hands every `Authorization` line of the request to the core,
 * then sets `req.auth`, or answers 400/401/403/503 (`WWW-Authenticate`, `Cache-Control:
 * no-store`, `{"error": code}`), 500-class failures included.
 */
export function requireToken(options: RequireTokenOptions): BearerMiddleware;

export interface ResourceMetadataOptions {
  /** A validator built with a `resource`. */
  validator: Validator;
}

/**
 * Serves the validator's RFC 9728 metadata document at its well-known path (GET, HEAD) with
 * `Cache-Control`; other requests go to `next()`.
 */
export function resourceMetadata(options: ResourceMetadataOptions): BearerMiddleware;

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      /** Set by bearerguard's `requireToken`: the validated token's info. */
      auth?: TokenInfo;
    }
  }
}
