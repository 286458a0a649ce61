import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';

import { startAuthorizationServer } from 'bearerguard/testing';
import { createApp } from '../examples/express_app.js';

let as;
let server;
let base;

before(async () => {
  as = await startAuthorizationServer();
  server = createApp(as.config).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(async () => {
  server.closeAllConnections();
  server.close();
  await as.close();
});

async function getOrders(token) {
  const response = await fetch(`${base}/orders`, { headers: { authorization: `Bearer ${token}` } });
  return [response.status, await response.json()];
}

test('accepts a JWT with the scope', async () => {
  const token = as.token({ subject: 'alice', scope: 'read write' });
  assert.deepEqual(await getOrders(token), [200, { subject: 'alice', source: 'jwt', orders: [] }]);
});

test('accepts an opaque token with the scope', async () => {
  const token = as.opaqueToken({ subject: 'bob', scope: 'write' });
  assert.deepEqual(await getOrders(token), [200, { subject: 'bob', source: 'introspection', orders: [] }]);
});

test('refuses an expired token', async () => {
  assert.deepEqual(await getOrders(as.expiredToken({ scope: 'write' })), [401, { error: 'token_expired' }]);
});

test('refuses a token without the scope', async () => {
  assert.deepEqual(await getOrders(as.token({ scope: 'read' })), [403, { error: 'insufficient_scope' }]);
});

test('refuses a revoked token', async () => {
  const token = as.opaqueToken({ scope: 'write' });
  as.revoke(token);
  assert.deepEqual(await getOrders(token), [401, { error: 'invalid_token' }]);
});
