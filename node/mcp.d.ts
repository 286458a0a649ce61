// Types of bearerguard/mcp. Structural: they need the MCP SDK only at run time.
import type { BearerMiddleware } from './express';
import type { Validator } from './index';

/** The SDK's `AuthInfo` (`@modelcontextprotocol/sdk/server/auth/types.js`). */
export interface McpAuthInfo {
  token: string;
  clientId: string;
  scopes: string[];
  expiresAt?: number;
  resource?: URL;
  extra?: Record<string, unknown>;
}

export interface McpOptions {
  /** A validator built with a `resource`. */
  validator: Validator;
  /** Scopes every request must carry, on top of the validator's `requiredScopes`. */
  scopes?: string[];
}

/** A verifier for the SDK's `requireBearerAuth({ verifier })`. */
export function mcpVerifier(options: McpOptions): { verifyAccessToken(token: string): Promise<McpAuthInfo> };

/** bearerguard's own middleware for MCP routes (spec-exact challenges, 503 on an outage). */
export function requireMcpToken(options: McpOptions): BearerMiddleware;

/** Serves the RFC 9728 metadata document at its well-known path. */
export function metadataRouter(options: { validator: Validator }): BearerMiddleware;

/** The SDK's error for a bearerguard refusal. */
export function toSdkError(error: unknown): Error;
