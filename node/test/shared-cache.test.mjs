// The shared tier (`cache.shared`) from Node: the same config as every language, a real
// redis-server of its own on 127.0.0.1 and the test kit's authorization server, which counts
// introspections. Two validators stand for two instances of one API.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { after, before, test } from 'node:test';
import { inspect } from 'node:util';

import { ConfigurationError, InvalidTokenError, UnavailableError, Validator } from 'bearerguard';
import { startAuthorizationServer } from 'bearerguard/testing';
import { sleep } from '../support/helpers.mjs';

const SECRET = 'node-shared-tier-test-secret-0123456789';

async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A redis-server of this test's own (no persistence); `stop()` kills it. */
async function startRedis() {
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  child.on('error', (e) => {
    throw new Error(`cannot start redis-server (run make setup): ${e.message}`);
  });
  await new Promise((resolve, reject) => {
    let seen = '';
    child.stdout.on('data', (chunk) => {
      seen += chunk;
      if (seen.includes('Ready to accept connections')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`redis-server exited (${code})`)));
  });
  child.stdout.resume();
  return {
    url: `redis://127.0.0.1:${port}/0`,
    stop: () => new Promise((resolve) => (child.exitCode === null ? child.once('exit', resolve).kill() : resolve())),
  };
}

let as;
let redis;
before(async () => {
  as = await startAuthorizationServer();
  redis = await startRedis();
});
after(async () => {
  await as.close();
  await redis.stop();
});

const options = (shared = {}) => ({
  ...as.config,
  cache: { shared: { url: redis.url, keyPrefix: 'node', secrets: [{ id: 'k1', secret: SECRET }], ...shared } },
});

test('two instances share a verdict, and forget on one reaches the other', async () => {
  const [a, b] = [new Validator(options()), new Validator(options())];
  const token = as.opaqueToken({ scope: 'read' });
  const before = as.counts().introspection;
  assert.equal((await a.validate(token)).subject, (await b.validate(token)).subject);
  assert.equal(as.counts().introspection, before + 1);
  assert.equal(b.stats().shared.hits, 1);
  assert.equal(a.stats().shared.misses, 1);
  as.revoke(token);
  await a.forget(token);
  const started = Date.now();
  for (;;) {
    try {
      await b.validate(token);
    } catch (e) {
      assert.ok(e instanceof InvalidTokenError, String(e));
      break;
    }
    assert.ok(Date.now() - started < 1000, 'b still accepts the token 1 s after a forgot it');
    await sleep(10);
  }
  assert.ok(b.stats().shared.forgetsReceived >= 1);
});

test('a bad shared config names its field; the URL password and secrets never show', () => {
  assert.throws(
    () => new Validator(options({ secrets: [{ id: 'k1', secret: 'short' }] })),
    (e) => e instanceof ConfigurationError && e.message.includes('cache.shared.secrets[].secret'),
  );
  const v = new Validator(options({ url: 'redis://:hunter2-pass@127.0.0.1:1/0' }));
  const shown = inspect(v, { depth: 5 });
  assert.ok(!shown.includes('hunter2') && !shown.includes(SECRET), shown);
});

test('Redis down is a miss, never a refusal; forget says it could not tell the others', async () => {
  const v = new Validator(options({ timeoutMs: 100 }));
  const token = as.opaqueToken();
  await v.validate(token);
  await redis.stop();
  for (let i = 0; i < 5; i++) assert.equal((await v.validate(as.opaqueToken())).subject, 'test-user');
  assert.ok(v.stats().shared.errors >= 1);
  assert.equal(v.stats().shared.hits, 0);
  await assert.rejects(v.forget(token), UnavailableError);
  as.revoke(token);
  await assert.rejects(v.validate(token), InvalidTokenError);
});
