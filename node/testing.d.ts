// bearerguard/testing: an in-process authorization server for the tests of a protected API, and
// a client's DPoP key that makes proofs.
// For tests only: it signs any token it is asked for.

import type { ValidatorOptions } from './index';

/** The `expiresIn` of `expiredToken()`: -3600 (an hour ago, past the default 60 s leeway). */
export declare const EXPIRED: number;

export interface AuthorizationServerOptions {
  /** The audience its tokens carry and its config accepts. Default `https://api.example.test`. */
  audience?: string;
  /** The client id its config introspects with. Default `test-api`. */
  clientId?: string;
}

/** What a minted token says; every field optional. */
export interface TokenOptions {
  /** `sub`. Default `test-user`. */
  subject?: string;
  /** The scopes: a space-separated string or a list. */
  scope?: string | string[];
  /** `aud`. Default: the server's audience. */
  audience?: string | string[];
  /** Seconds from now to `exp` (negative: expired; -120 or less is past the default leeway). Default 3600. */
  expiresIn?: number;
  /** `iss`. Default: the server's issuer. */
  issuer?: string;
  /** `client_id`. Default `test-client`. */
  clientId?: string;
  /** JWS algorithm of a JWT. Default `RS256`. */
  algorithm?: 'RS256' | 'ES256' | 'EdDSA';
  /** The JWT header's `typ`. Default `at+jwt`. */
  typ?: string;
  /** DPoP binding (RFC 9449): `cnf.jkt`. */
  dpopJkt?: string;
  /** Certificate binding (RFC 8705): `cnf["x5t#S256"]`. */
  x5tS256?: string;
  /** Further claims, set last (`null` removes a claim). */
  claims?: Record<string, unknown>;
}

/** Requests the server answered, per endpoint. */
export interface RequestCounts {
  discovery: number;
  jwks: number;
  introspection: number;
  revocation: number;
}

export declare class AuthorizationServer {
  constructor(options?: AuthorizationServerOptions);
  readonly issuer: string;
  readonly audience: string;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly closed: boolean;
  /** Validator options pointing at this server. */
  readonly config: ValidatorOptions;
  metadata(): Record<string, unknown>;
  jwks(): { keys: Record<string, unknown>[] };
  /** A signed JWT access token. */
  token(options?: TokenOptions): string;
  /** A JWT that expired an hour ago. */
  expiredToken(options?: Omit<TokenOptions, 'expiresIn'>): string;
  /** An opaque token, answered by introspection until expired or revoked. */
  opaqueToken(options?: Omit<TokenOptions, 'algorithm' | 'typ'>): string;
  /** Revokes a token it minted; whether it knew the token. */
  revoke(token: string): boolean;
  counts(): RequestCounts;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Starts an in-process authorization server on 127.0.0.1. */
export declare function startAuthorizationServer(options?: AuthorizationServerOptions): Promise<AuthorizationServer>;

/** What one DPoP proof says. */
export interface ProofOptions {
  /** `htm`, e.g. `'GET'`. */
  method: string;
  /** `htu`: the request URL (query and fragment are dropped). */
  url: string;
  /** The access token the proof goes with (`ath`); none leaves `ath` out. */
  accessToken?: string;
  /** The server's nonce (`DPoP-Nonce`), when it asked for one. */
  nonce?: string;
  /** `iat`, seconds since the epoch. Default: now. */
  iat?: number;
  /** `jti`. Default: a random one. */
  jti?: string;
}

/** A public P-256 JWK. */
export interface PublicJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
}

/**
 * A client's DPoP key (P-256, ES256). The private key stays in the core: inspection and
 * `toString` show the thumbprint only.
 */
export declare class DpopKey {
  /** A fresh key. */
  constructor();
  /** A fresh key. */
  static generate(): DpopKey;
  /** The RFC 7638 thumbprint: what a bound token's `cnf.jkt` says (`TokenOptions.dpopJkt`). */
  thumbprint(): string;
  /** The public JWK the proofs carry. */
  publicJwk(): PublicJwk;
  /** A good proof for `method` and `url`, issued now, for `accessToken` (`ath`). */
  proof(method: string, url: string, accessToken?: string): string;
  /** A proof as `options` say. */
  proofWith(options: ProofOptions): string;
  toJSON(): { thumbprint: string };
}
