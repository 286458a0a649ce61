// The Express example's revocation hook (POST /revocations, which calls `forget`), in-process and
// as the fleet tests run it; the README's own test of the example is testkit-express.test.mjs.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { startAuthorizationServer } from 'bearerguard/testing';
import { createApp } from '../examples/express_app.js';

const HOOK_SECRET = 'hook-secret-for-the-tests-0123456789';

let as;
let server;
let base;
let hooked;
let hookedBase;

async function listen(app) {
  const s = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => s.once('listening', resolve));
  return [s, `http://127.0.0.1:${s.address().port}`];
}

before(async () => {
  as = await startAuthorizationServer();
  [server, base] = await listen(createApp(as.config));
  [hooked, hookedBase] = await listen(createApp(as.config, { revocationHookSecret: HOOK_SECRET }));
});

after(async () => {
  for (const s of [server, hooked]) {
    s.closeAllConnections();
    s.close();
  }
  await as.close();
});

async function getOrders(token, at = base) {
  const response = await fetch(`${at}/orders`, { headers: { authorization: `Bearer ${token}` } });
  return [response.status, await response.json()];
}

async function revokeViaHook(body, secret = HOOK_SECRET, at = hookedBase) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  // null: no X-Hook-Secret header at all.
  if (secret !== null) headers['x-hook-secret'] = secret;
  const response = await fetch(`${at}/revocations`, { method: 'POST', headers, body });
  await response.arrayBuffer();
  return response.status;
}

test('the revocation hook forgets a cached verdict', async () => {
  const token = as.opaqueToken({ subject: 'carol', scope: 'write' });
  const before = as.counts().introspection;
  assert.equal((await getOrders(token, hookedBase))[0], 200);
  as.revoke(token);
  // The verdict is cached: the revocation is not seen yet.
  assert.equal((await getOrders(token, hookedBase))[0], 200);
  assert.equal(as.counts().introspection, before + 1);
  assert.equal(await revokeViaHook(new URLSearchParams({ token })), 204);
  assert.deepEqual(await getOrders(token, hookedBase), [401, { error: 'invalid_token' }]);
  assert.equal(as.counts().introspection, before + 2);
});

test('the revocation hook refuses without the secret or the token', async () => {
  const token = as.opaqueToken({ scope: 'write' });
  const before = as.counts().introspection;
  assert.equal((await getOrders(token, hookedBase))[0], 200);
  as.revoke(token);
  for (const secret of [null, '', 'wrong', HOOK_SECRET.slice(0, -1), `${HOOK_SECRET}x`, HOOK_SECRET.toUpperCase()]) {
    assert.equal(await revokeViaHook(new URLSearchParams({ token }), secret), 403, String(secret));
  }
  assert.equal(await revokeViaHook(''), 400);
  assert.equal(await revokeViaHook(new URLSearchParams({ token: '' })), 400);
  assert.equal(await revokeViaHook(new URLSearchParams({ token_type_hint: 'access_token' })), 400);
  assert.equal(await revokeViaHook(`token=${token}&token=${token}`), 400);
  // Nothing was forgotten: the cached verdict still answers.
  assert.equal((await getOrders(token, hookedBase))[0], 200);
  assert.equal(as.counts().introspection, before + 1);
});

test('without a secret there is no revocation hook', async () => {
  assert.equal(await revokeViaHook(new URLSearchParams({ token: 'x' }), HOOK_SECRET, base), 404);
  assert.throws(() => createApp(as.config, { revocationHookSecret: '' }), /empty/);
});

// As the fleet tests run it: a process, the secret from BEARERGUARD_REVOCATION_HOOK_SECRET.
async function spawnExample(env) {
  const script = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'examples', 'express_app.js');
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, BEARERGUARD_CONFIG: JSON.stringify(as.config), PORT: '0', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr.setEncoding('utf8').on('data', (d) => {
    output += d;
  });
  const line = await new Promise((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`the example exited (${code}): ${output}`)));
    createInterface({ input: child.stdout }).once('line', resolve);
  });
  const stop = async () => {
    child.stdin.end();
    if (child.exitCode === null) await new Promise((resolve) => child.once('exit', resolve));
    return output;
  };
  return { url: `http://127.0.0.1:${JSON.parse(line).port}`, stop };
}

test('the example run as a script serves the hook only with BEARERGUARD_REVOCATION_HOOK_SECRET', async () => {
  const token = as.opaqueToken({ scope: 'write' });
  const app = await spawnExample({ BEARERGUARD_REVOCATION_HOOK_SECRET: HOOK_SECRET });
  let output;
  try {
    assert.equal((await getOrders(token, app.url))[0], 200);
    as.revoke(token);
    assert.equal((await getOrders(token, app.url))[0], 200);
    assert.equal(await revokeViaHook(new URLSearchParams({ token }), 'wrong', app.url), 403);
    assert.equal(await revokeViaHook(new URLSearchParams({ token }), HOOK_SECRET, app.url), 204);
    assert.equal((await getOrders(token, app.url))[0], 401);
  } finally {
    output = await app.stop();
  }
  assert.ok(!output.includes(token), 'the token is not in the output');
  const plain = await spawnExample({ BEARERGUARD_REVOCATION_HOOK_SECRET: undefined });
  try {
    assert.equal(await revokeViaHook(new URLSearchParams({ token }), HOOK_SECRET, plain.url), 404);
  } finally {
    await plain.stop();
  }
});
