// Types of bearerguard/nest.
import type { CanActivate, CustomDecorator, ExecutionContext, HttpException } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import type { BearerGuardError, TokenInfo, Validator, ValidatorOptions } from './index';

export interface BearerGuardOptions {
  /** A shared validator (one per issuer per process). Give this or `options`. */
  validator?: Validator;
  /** Options to build a validator for this guard. Give this or `validator`. */
  options?: ValidatorOptions;
  /** Scopes every guarded handler requires, on top of its `@Scopes(...)`. */
  scopes?: string[];
  /** The reflector reading `@Scopes` (a new one by default). */
  reflector?: Reflector;
}

/** The metadata key `@Scopes` sets. */
export declare const SCOPES: 'bearerguard:scopes';

/** The handler (or every handler of the controller) requires these scopes. */
export declare function Scopes(...scopes: string[]): CustomDecorator<string>;

/** The exception a refusal throws: its status, body `{"error": code}`. */
export declare class BearerAuthException extends HttpException {
  constructor(error: BearerGuardError);
  readonly error: BearerGuardError;
}

/** Requires a valid bearer token; sets `request.auth`, or throws `BearerAuthException`. */
export declare class BearerGuard implements CanActivate {
  constructor(options: BearerGuardOptions);
  canActivate(context: ExecutionContext): Promise<boolean>;
}

/** A request after the guard. */
export interface AuthenticatedRequest {
  auth: TokenInfo;
}
