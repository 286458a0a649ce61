// Type-checked by `tsc --noEmit -p .` (never run): the public API as a TypeScript app uses it.
import express from 'express';
import {
  BearerGuardError,
  InsufficientScopeError,
  TokenExpiredError,
  InvalidTokenError,
  InternalError,
  Validator,
  configFields,
  errorCodes,
  type RequestLike,
  type ErrorCode,
  type Stats,
  type TokenInfo,
  type ValidatorOptions,
  type ManyIssuersOptions,
  type IssuerResolver,
  type ResolverEntries,
} from 'bearerguard';
import { requireToken, type RequireTokenOptions } from 'bearerguard/express';

const options: ValidatorOptions = {
  issuer: 'https://auth.example.com',
  audience: ['https://api.example.com'],
  clientId: 'my-api',
  clientSecret: 's3cret',
  leewaySecs: 30,
  cache: { maxTtlSecs: 60 },
  http: { timeoutMs: 2_000 },
  jwks: { refreshCooldownSecs: 30 },
};
const validator = new Validator(options);
const nested: ValidatorOptions = {
  issuer: 'https://auth.example.com',
  audience: 'https://api.example.com',
  clientAuth: { method: 'private_key_jwt', keyFile: '/etc/app/key.json', assertionLifetimeSecs: 30 },
  introspection: { requireExp: true, maxNewTokensPerSec: 50 },
};
const bare: ValidatorOptions = { ...nested, clientAuth: 'client_secret_post', clientId: 'a', clientSecret: 'b' };
void bare;

export async function fromRequest(headers: Record<string, string | string[] | undefined>): Promise<string> {
  const request: RequestLike = { authorization: headers.authorization, method: 'GET', url: '/orders' };
  try {
    return (await validator.validateRequest(request, { scopes: ['read'] })).source;
  } catch (e) {
    if (e instanceof InternalError) throw e;
    if (e instanceof BearerGuardError) {
      const challenge: string | undefined = e.headers['www-authenticate'];
      const noStore: 'no-store' = e.headers['cache-control'];
      return `${challenge ?? ''} ${noStore}`;
    }
    throw e;
  }
}
const fields: string[] = configFields();
void fields;

export async function check(token: string): Promise<string | null> {
  try {
    const info: TokenInfo = await validator.validate(token, { scopes: ['read'] });
    const expires: number | null = info.expiresAt;
    const source: 'jwt' | 'introspection' = info.source;
    const roles: unknown = info.claims['urn:zitadel:iam:org:project:roles'];
    void expires;
    void roles;
    return `${info.subject ?? 'nobody'} via ${source}`;
  } catch (e) {
    if (e instanceof InsufficientScopeError) return e.requiredScopes.join(' ');
    if (e instanceof TokenExpiredError) return e.wwwAuthenticate;
    if (e instanceof InvalidTokenError || e instanceof BearerGuardError) {
      const code: ErrorCode = e.code;
      const status: number = e.status;
      return `${code} ${status}`;
    }
    throw e;
  }
}

const stats: Stats = validator.stats();
const unrouted: number = stats.unrouted;

// Many issuers: entries of whole options, a tenant per request, a resolver.
const many: ManyIssuersOptions = {
  cache: { maxEntries: 10_000 },
  opaqueRouting: 'tenant',
  resolver: { maxIssuers: 50, declinedTtlSecs: 60 },
  issuers: [
    { issuer: 'https://a.example.com', audience: 'https://api.example.com', tenant: 'a.example.com' },
    { issuer: 'https://b.example.com', audience: 'https://api.example.com', tenant: ['b', 'b.example.com'] },
  ],
};
const approved: IssuerResolver = async (issuer) =>
  issuer === 'https://c.example.com' ? { issuer, audience: 'https://api.example.com' } : null;
const tenants = new Validator(many, { issuerResolver: approved });
const fromFile: Validator = Validator.fromFile('bearerguard.toml', { issuerResolver: () => undefined });
const routed: Promise<TokenInfo> = tenants.validateRequest({ authorization: 'Bearer x', tenant: 'b' });
const byIssuer: Record<string, Stats> = tenants.statsByIssuer();
const entries: ResolverEntries = fromFile.resolverEntries();
void [unrouted, routed, byIssuer, entries];
const codes: ErrorCode[] = errorCodes();
void stats;
void codes;
void validator.validateHeader(undefined);

const guard: RequireTokenOptions = { validator, scopes: ['write'] };
const app = express();
app.get('/orders', requireToken(guard), (req, res) => {
  const info: TokenInfo | undefined = req.auth;
  res.json({ subject: info?.subject ?? null });
});
app.use(requireToken({ options, passErrors: true }));

// @ts-expect-error: scopes are a list
void validator.validate('t', { scopes: 'read' });
// @ts-expect-error: an unknown client-authentication field
void new Validator({ ...options, clientAuth: { clientSecrt: 'x' } });
// @ts-expect-error: authorization lines are strings
void validator.validateRequest({ authorization: [1] });
// @ts-expect-error: issuer is required
new Validator({ audience: 'x' });
