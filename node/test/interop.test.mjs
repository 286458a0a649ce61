// Interop with the real authorization server (panva oidc-provider, tests/authorization-server).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import {
  ConfigurationError,
  InsufficientScopeError,
  InvalidTokenError,
  TokenExpiredError,
  Validator,
} from 'bearerguard';
import {
  NO_SHARED,
  getToken,
  rejection,
  revoke,
  rsBasicOptions,
  sleep,
  startAuthorizationServer,
} from '../support/helpers.mjs';

let as;
before(async () => {
  as = await startAuthorizationServer({ shortTtl: 2 });
});
after(() => as?.stop());

describe('introspection of opaque tokens', () => {
  test('client_secret_basic (rs-basic) returns the claims', async () => {
    const validator = new Validator(rsBasicOptions(as));
    const info = await validator.validate(await getToken(as, 'opaque'), { scopes: ['read'] });
    assert.equal(info.source, 'introspection');
    assert.equal(info.clientId, 'svc-client');
    assert.deepEqual(info.scopes, ['read', 'write']);
    assert.deepEqual(info.audiences, [as.resources.opaque]);
    assert.equal(info.issuer, as.issuer);
    assert.equal(typeof info.expiresAt, 'number');
    assert.equal(info.claims.active, true);
    assert.equal(info.claims.client_id, 'svc-client');
    assert.equal(info.tokenType, 'Bearer');
    assert.deepEqual(validator.stats(), {
      introspectionRequests: 1,
      jwksFetches: 0,
      accepted: 1,
      refused: 0,
      unrouted: 0,
      shared: NO_SHARED,
    });
  });

  test('private_key_jwt from the ZITADEL key file (keyFile)', async () => {
    const { key_file: keyFile, client_id: clientId } = as.clients.rs_pkjwt;
    assert.equal(JSON.parse(readFileSync(keyFile, 'utf8')).clientId, clientId);
    const validator = new Validator({ issuer: as.issuer, audience: as.resources.opaque, keyFile });
    const token = await getToken(as, 'opaque');
    const info = await validator.validate(token);
    assert.equal(info.source, 'introspection');
    assert.deepEqual(info.scopes, ['read', 'write']);
    // A second token needs a second assertion: the AS accepts each `jti` once only.
    const again = await validator.validate(await getToken(as, 'opaque', 'read'));
    assert.deepEqual(again.scopes, ['read']);
    assert.equal(validator.stats().introspectionRequests, 2);
  });

  const otherClients = [
    [
      'client_secret_post (rs-post)',
      (c) => ({
        clientId: c.rs_post.client_id,
        clientSecret: c.rs_post.client_secret,
        clientAuth: 'client_secret_post',
      }),
    ],
    [
      'private_key_jwt with an EC PEM key',
      (c) => ({
        clientId: c.rs_pkjwt.client_id,
        privateKey: readFileSync(c.rs_pkjwt.ec_key_pem, 'utf8'),
        privateKeyId: c.rs_pkjwt.ec_kid,
      }),
    ],
    [
      'private_key_jwt with an Ed25519 PEM key',
      (c) => ({
        clientId: c.rs_pkjwt_ed.client_id,
        privateKey: readFileSync(c.rs_pkjwt_ed.key_pem, 'utf8'),
        privateKeyId: c.rs_pkjwt_ed.kid,
      }),
    ],
    [
      'client_secret_jwt (HS256)',
      (c) => ({
        clientId: c.rs_secretjwt.client_id,
        clientSecret: c.rs_secretjwt.client_secret,
        clientAuth: 'client_secret_jwt',
      }),
    ],
    [
      'the client with special characters in its id and secret',
      (c) => ({ clientId: c.rs_special.client_id, clientSecret: c.rs_special.client_secret }),
    ],
  ];
  for (const [name, auth] of otherClients) {
    test(name, async () => {
      const validator = new Validator({ issuer: as.issuer, audience: as.resources.opaque, ...auth(as.clients) });
      const info = await validator.validate(await getToken(as, 'opaque'));
      assert.equal(info.source, 'introspection');
      assert.equal(info.clientId, 'svc-client');
    });
  }

  test('a signed RFC 9701 response (introspectionResponse: "jwt") is verified and used', async () => {
    const validator = new Validator(rsBasicOptions(as, { introspectionResponse: 'jwt' }));
    const info = await validator.validate(await getToken(as, 'opaque', 'read'));
    assert.equal(info.source, 'introspection');
    assert.deepEqual(info.scopes, ['read']);
    assert.deepEqual(info.audiences, [as.resources.opaque]);
    const stats = validator.stats();
    assert.equal(stats.introspectionRequests, 1);
    assert.equal(stats.jwksFetches, 1, 'the response signature was checked against the JWKS');
  });

  test('a revoked token is invalid_token', async () => {
    const validator = new Validator(rsBasicOptions(as, { cache: { enabled: false } }));
    const token = await getToken(as, 'opaque');
    await validator.validate(token);
    await revoke(as, token);
    const e = await rejection(validator.validate(token));
    assert.ok(e instanceof InvalidTokenError, e);
    assert.equal(e.code, 'invalid_token');
    assert.equal(e.status, 401);
  });

  test('a wrong client secret is a configuration error, never invalid_token', async () => {
    const validator = new Validator(rsBasicOptions(as, { clientSecret: 'wrong-secret' }));
    const e = await rejection(validator.validate(await getToken(as, 'opaque')));
    assert.ok(e instanceof ConfigurationError, e);
    assert.equal(e.code, 'configuration');
    assert.equal(e.status, 500);
    assert.equal(e.wwwAuthenticate, null);
    assert.ok(!e.message.includes('wrong-secret'));
  });

  test('a missing scope is insufficient_scope', async () => {
    const validator = new Validator(rsBasicOptions(as, { realm: 'api' }));
    const e = await rejection(validator.validate(await getToken(as, 'opaque', 'read'), { scopes: ['read', 'admin'] }));
    assert.ok(e instanceof InsufficientScopeError, e);
    assert.equal(e.status, 403);
    assert.deepEqual(e.requiredScopes, ['read', 'admin']);
    assert.equal(
      e.wwwAuthenticate,
      'Bearer realm="api", error="insufficient_scope", error_description="The request requires higher privileges than provided by the access token", scope="read admin"',
    );
  });
});

describe('JWT access tokens, validated locally through discovery and the JWKS', () => {
  for (const [resource, alg] of [
    ['jwt', 'RS256'],
    ['jwt_es256', 'ES256'],
    ['jwt_eddsa', 'EdDSA'],
  ]) {
    test(`${alg} (${resource})`, async () => {
      const validator = new Validator(rsBasicOptions(as));
      const token = await getToken(as, resource, 'read');
      const info = await validator.validate(token, { scopes: ['read'] });
      assert.equal(info.source, 'jwt');
      assert.equal(info.tokenType, 'at+jwt');
      assert.equal(info.subject, 'svc-client');
      assert.deepEqual(info.audiences, [as.resources[resource]]);
      assert.deepEqual(info.scopes, ['read']);
      assert.equal(info.claims.client_id, 'svc-client');
      assert.equal(info.expiresAt - info.issuedAt, 600);
      await validator.validate(token);
      assert.deepEqual(validator.stats(), {
        introspectionRequests: 0,
        jwksFetches: 1,
        accepted: 2,
        refused: 0,
        unrouted: 0,
        shared: NO_SHARED,
      });
    });
  }

  test('an expired JWT is token_expired; an expired opaque token is invalid_token', async () => {
    const validator = new Validator(rsBasicOptions(as, { leewaySecs: 0 }));
    const jwt = await getToken(as, 'short_jwt');
    const opaque = await getToken(as, 'short_opaque');
    const issued = Date.now();
    assert.equal((await validator.validate(jwt)).source, 'jwt');
    await sleep(issued + (as.short_ttl + 1) * 1000 - Date.now());
    const e = await rejection(validator.validate(jwt));
    assert.ok(e instanceof TokenExpiredError, e);
    assert.ok(e instanceof InvalidTokenError);
    assert.equal(e.code, 'token_expired');
    assert.match(e.wwwAuthenticate, /error="invalid_token"/);
    const o = await rejection(validator.validate(opaque));
    assert.ok(o instanceof InvalidTokenError, o);
    assert.equal(o.code, 'invalid_token', 'the AS answers active:false for an expired opaque token');
  });
});
