// Type usage of bearerguard/testing (checked by `tsc --noEmit`, never run).
import { Validator } from 'bearerguard';
import { type AuthorizationServer, EXPIRED, type RequestCounts, startAuthorizationServer } from 'bearerguard/testing';

export async function usage(): Promise<void> {
  const as: AuthorizationServer = await startAuthorizationServer({ audience: 'https://api.example.test' });
  const validator = new Validator({ ...as.config, strategy: 'introspect_all' });
  const jwt: string = as.token({ subject: 'alice', scope: ['read'], algorithm: 'ES256', claims: { tenant: 't1' } });
  const opaque: string = as.opaqueToken({ scope: 'read', expiresIn: EXPIRED, dpopJkt: 'x', x5tS256: 'y' });
  const expired: string = as.expiredToken({ scope: 'read' });
  const known: boolean = as.revoke(opaque);
  const counts: RequestCounts = as.counts();
  await validator.validate(jwt);
  void [expired, known, counts.introspection, as.issuer, as.clientSecret, as.closed, as.jwks().keys];
  // @ts-expect-error: HS256 is not an algorithm it signs with
  as.token({ algorithm: 'HS256' });
  await as.close();
}
