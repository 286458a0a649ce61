// The test kit (bearerguard/testing) from Node, against its own contract over real HTTP on
// 127.0.0.1; and the README's "Test your protected routes" block is the test file run here.
import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';
import { test } from 'node:test';

import {
  ConfigurationError,
  InvalidDpopProofError,
  InvalidTokenError,
  TokenExpiredError,
  UseDpopNonceError,
  Validator,
} from 'bearerguard';
import { AuthorizationServer, DpopKey, startAuthorizationServer } from 'bearerguard/testing';

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

const part = (jws, i) => JSON.parse(Buffer.from(jws.split('.')[i], 'base64url').toString('utf8'));

test('DpopKey: its proofs say what was asked, verify under its public JWK, and its thumbprint is RFC 7638', () => {
  const key = DpopKey.generate();
  const jwk = key.publicJwk();
  assert.deepEqual(Object.keys(jwk).sort(), ['crv', 'kty', 'x', 'y']);
  assert.deepEqual([jwk.kty, jwk.crv], ['EC', 'P-256']);
  // RFC 7638 §3.2, computed here: the required members in lexicographic order, no spaces.
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  assert.equal(key.thumbprint(), createHash('sha256').update(canonical).digest('base64url'));
  assert.notEqual(new DpopKey().thumbprint(), key.thumbprint());

  const proof = key.proof('GET', 'https://api.example.test/orders?page=2#top', 'the-token');
  const [header, payload] = [part(proof, 0), part(proof, 1)];
  assert.deepEqual(header, { typ: 'dpop+jwt', alg: 'ES256', jwk });
  assert.equal(payload.htm, 'GET');
  assert.equal(payload.htu, 'https://api.example.test/orders');
  assert.equal(payload.ath, createHash('sha256').update('the-token').digest('base64url'));
  assert.ok(Number.isInteger(payload.iat) && typeof payload.jti === 'string' && payload.jti.length > 0);
  assert.ok(!('nonce' in payload));
  const [h, p, signature] = proof.split('.');
  const publicKey = createPublicKey({ key: jwk, format: 'jwk' });
  const good = verify(
    'sha256',
    Buffer.from(`${h}.${p}`),
    { key: publicKey, dsaEncoding: 'ieee-p1363' },
    Buffer.from(signature, 'base64url'),
  );
  assert.equal(good, true);
  assert.notEqual(part(key.proof('GET', 'https://api.example.test/orders', 'the-token'), 1).jti, payload.jti);

  const chosen = part(
    key.proofWith({ method: 'POST', url: 'https://as.example.test/token', nonce: 'n-1', iat: 1234, jti: 'j-1' }),
    1,
  );
  assert.deepEqual(chosen, { jti: 'j-1', htm: 'POST', htu: 'https://as.example.test/token', iat: 1234, nonce: 'n-1' });

  assert.throws(() => key.proofWith({ url: 'https://api.example.test/' }), TypeError);
  assert.throws(() => key.proofWith({ method: 'GET', url: 'https://api.example.test/', iat: 1.5 }), TypeError);
  assert.throws(() => key.proofWith({ method: 'GET', url: 'https://api.example.test/', nonce: 7 }), TypeError);
});

test('DpopKey: inspection, toString and JSON show the thumbprint only', () => {
  const key = new DpopKey();
  const thumbprint = key.thumbprint();
  assert.equal(inspect(key, { showHidden: true, depth: null }), `DpopKey { thumbprint: '${thumbprint}' }`);
  assert.equal(String(key), `DpopKey(${thumbprint})`);
  assert.equal(JSON.stringify(key), JSON.stringify({ thumbprint }));
  assert.deepEqual(Reflect.ownKeys(key), []);
});

test('DpopKey: a bound token from the test kit with its proofs, through a validator', async () => {
  const as = await startAuthorizationServer();
  try {
    const nonceKey = 'k'.repeat(32);
    const validator = new Validator({ ...as.config, senderConstraint: 'allow', dpop: { nonceKey } });
    const key = DpopKey.generate();
    const token = as.token({ subject: 'alice', dpopJkt: key.thumbprint() });
    const url = 'https://api.example.test/orders';
    const request = (dpop) => ({ authorization: `DPoP ${token}`, method: 'GET', url, dpop });
    const asked = await validator.validateRequest(request(key.proof('GET', url, token))).catch((e) => e);
    assert.ok(asked instanceof UseDpopNonceError, String(asked));
    const nonce = asked.dpopNonce;
    assert.equal(asked.headers['dpop-nonce'], nonce);
    const proof = key.proofWith({ method: 'GET', url, accessToken: token, nonce });
    const info = await validator.validateRequest(request(proof));
    assert.equal(info.subject, 'alice');
    assert.ok(info.dpopNonce);
    await assert.rejects(validator.validateRequest(request(proof)), InvalidDpopProofError);
    const other = new DpopKey().proofWith({ method: 'GET', url, accessToken: token, nonce });
    await assert.rejects(validator.validateRequest(request(other)), InvalidTokenError);
    const old = key.proofWith({ method: 'GET', url, accessToken: token, nonce, iat: 1 });
    await assert.rejects(validator.validateRequest(request(old)), InvalidDpopProofError);
  } finally {
    await as.close();
  }
});
