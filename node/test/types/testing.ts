// Type usage of bearerguard/testing (checked by `tsc --noEmit`, never run).
import { Validator } from 'bearerguard';
import {
  type AuthorizationServer,
  DpopKey,
  EXPIRED,
  type PublicJwk,
  type RequestCounts,
  startAuthorizationServer,
} from 'bearerguard/testing';

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
  const key: DpopKey = DpopKey.generate();
  const bound: string = as.token({ dpopJkt: key.thumbprint() });
  const proof: string = key.proof('GET', 'https://api.example.test/orders', bound);
  const again: string = key.proofWith({
    method: 'GET',
    url: 'https://api.example.test/orders',
    accessToken: bound,
    nonce: 'n',
    iat: 1,
    jti: 'j',
  });
  const jwk: PublicJwk = new DpopKey().publicJwk();
  await validator.validateRequest({
    authorization: `DPoP ${bound}`,
    dpop: proof,
    method: 'GET',
    url: 'https://api.example.test/orders',
  });
  void [again, jwk.x];
  // @ts-expect-error: a proof needs a method and a URL
  key.proofWith({ accessToken: bound });
  await as.close();
}
