// The test kit (bearerguard/testing) from Node, against its own contract over real HTTP on
// 127.0.0.1; and the README's "Test your protected routes" block is the test file run here.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { test } from 'node:test';

import { ConfigurationError, InvalidTokenError, TokenExpiredError, Validator } from 'bearerguard';
import { AuthorizationServer, startAuthorizationServer } from 'bearerguard/testing';

const nodeDir = new URL('..', import.meta.url);

test('serves discovery and JWKS, and introspection only to its client', async () => {
  const as = await startAuthorizationServer({ audience: 'https://orders.example.test' });
  try {
    assert.match(as.issuer, /^http:\/\/127\.0\.0\.1:\d+$/);
    const doc = await (await fetch(`${as.issuer}/.well-known/oauth-authorization-server`)).json();
    assert.deepEqual(doc, as.metadata());
    assert.equal(doc.issuer, as.issuer);
    assert.deepEqual(await (await fetch(doc.jwks_uri)).json(), as.jwks());
    const token = as.opaqueToken({ scope: 'read' });
    const introspect = (headers, extra = {}) =>
      fetch(doc.introspection_endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams({ token, ...extra }),
      });
    assert.equal((await introspect({})).status, 401);
    assert.equal((await introspect({}, { client_id: as.clientId, client_secret: 'wrong' })).status, 401);
    const answer = await (await introspect({}, { client_id: as.clientId, client_secret: as.clientSecret })).json();
    assert.deepEqual([answer.active, answer.scope, answer.aud], [true, 'read', 'https://orders.example.test']);
    assert.deepEqual(as.counts(), { discovery: 1, jwks: 1, introspection: 3, revocation: 0 });
  } finally {
    await as.close();
  }
});

test('a validator from its config decides as a user expects', async () => {
  const as = await startAuthorizationServer();
  try {
    const validator = new Validator(as.config);
    assert.equal((await validator.validate(as.token({ subject: 'alice', algorithm: 'EdDSA' }))).subject, 'alice');
    await assert.rejects(validator.validate(as.expiredToken()), TokenExpiredError);
    const revoked = as.opaqueToken();
    assert.equal(as.revoke(revoked), true);
    assert.equal(as.revoke('never-minted'), false);
    await assert.rejects(validator.validate(revoked), InvalidTokenError);
    const jwt = as.token({ claims: { tenant: 't1' } });
    as.revoke(jwt);
    const info = await validator.validate(jwt);
    assert.deepEqual([info.source, info.claims.tenant], ['jwt', 't1']);
    await assert.rejects(new Validator({ ...as.config, strategy: 'introspect_all' }).validate(jwt), InvalidTokenError);
    assert.throws(() => as.token({ algorithm: 'HS256' }), ConfigurationError);
    assert.throws(() => as.token({ scopes: 'read' }), ConfigurationError);
    assert.throws(() => new AuthorizationServer({ audiences: 'x' }), ConfigurationError);
  } finally {
    await as.close();
  }
});

test('forget makes a revoked opaque token ask the server again', async () => {
  const as = await startAuthorizationServer();
  try {
    const validator = new Validator(as.config);
    const token = as.opaqueToken({ subject: 'carol' });
    assert.equal((await validator.validate(token)).subject, 'carol');
    as.revoke(token);
    assert.equal((await validator.validate(token)).subject, 'carol', 'the cached verdict');
    assert.equal(as.counts().introspection, 1);
    await validator.forget(token);
    await assert.rejects(validator.validate(token), InvalidTokenError);
    assert.equal(as.counts().introspection, 2);
    await validator.forget('never-seen');
    await assert.rejects(validator.forget(null), TypeError);
  } finally {
    await as.close();
  }
});

test('no secret in inspect or toString, and close stops it', async () => {
  const as = await startAuthorizationServer();
  const secret = as.clientSecret;
  assert.ok(secret.length >= 20);
  assert.equal(as.config.clientAuth.clientSecret, secret);
  assert.ok(!`${inspect(as)} ${as} ${JSON.stringify(as)}`.includes(secret));
  const url = `${as.issuer}/jwks`;
  assert.equal((await fetch(url)).status, 200);
  await as.close();
  await as.close();
  assert.equal(as.closed, true);
  await assert.rejects(fetch(url, { headers: { connection: 'close' } }));
});

test("the README's test of the Express example is the file that runs", () => {
  const readme = readFileSync(new URL('README.md', nodeDir), 'utf8');
  const shown = [...readme.matchAll(/^```js (test\/testkit-\S+)\n([\s\S]*?)^```$/gm)];
  assert.deepEqual(
    shown.map((m) => m[1]),
    ['test/testkit-express.test.mjs'],
  );
  for (const [, path, code] of shown) {
    assert.equal(code, readFileSync(new URL(path, nodeDir), 'utf8'), `node/README.md's ${path} differs from the file`);
  }
});
