// node/examples/express_app.js, run from an app that installed bearerguard and express
// (BEARERGUARD_TEST_APP, set by tests/dist/smoke.py), against the real authorization server:
// 200 with a token that has the scope "write", 403 without the scope, 401 without a token.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, test } from 'node:test';

import { getToken, nodeDir, startAuthorizationServer } from '../../node/support/helpers.mjs';

const appDir = process.env.BEARERGUARD_TEST_APP;
let as;
let dir;
let example;
let base;

before(async () => {
  assert.ok(appDir, 'BEARERGUARD_TEST_APP names the app directory to run the example in');
  as = await startAuthorizationServer();
  dir = mkdtempSync(join(appDir, 'express-example-'));
  copyFileSync(join(nodeDir, 'examples', 'express_app.js'), join(dir, 'express_app.js'));
  const config = {
    issuer: as.issuer,
    audience: Object.values(as.resources),
    client_id: as.clients.rs_basic.client_id,
    client_secret: as.clients.rs_basic.client_secret,
  };
  example = spawn(process.execPath, [join(dir, 'express_app.js')], {
    cwd: dir,
    env: { ...process.env, BEARERGUARD_CONFIG: JSON.stringify(config), PORT: '0' },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const line = await new Promise((resolve, reject) => {
    example.on('exit', (code) => reject(new Error(`the example exited (${code})`)));
    createInterface({ input: example.stdout }).once('line', resolve);
  });
  const ready = JSON.parse(line);
  assert.equal(ready.ready, true);
  base = `http://127.0.0.1:${ready.port}`;
});

after(async () => {
  example?.stdin.end();
  example?.kill();
  await as?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const get = (token) => fetch(`${base}/orders`, token ? { headers: { authorization: `Bearer ${token}` } } : {});

test('a token with the scope "write" gets the orders', async () => {
  for (const resource of ['opaque', 'jwt']) {
    const res = await get(await getToken(as, resource, 'read write'));
    assert.equal(res.status, 200, await res.clone().text());
    const body = await res.json();
    assert.deepEqual(body.orders, []);
    assert.equal(body.source, resource === 'jwt' ? 'jwt' : 'introspection');
  }
});

test('a token without the scope is refused with 403 and the RFC 6750 challenge', async () => {
  const res = await get(await getToken(as, 'opaque', 'read'));
  assert.equal(res.status, 403);
  assert.match(res.headers.get('www-authenticate'), /^Bearer .*error="insufficient_scope"/);
});

test('no token: 401', async () => {
  const res = await get(null);
  assert.equal(res.status, 401);
  assert.match(res.headers.get('www-authenticate'), /^Bearer/);
});
