// setLogger: the core's tracing events reach a JavaScript callback, never with a token or a
// secret; accepting a remembered token logs nothing; the logger never keeps the process alive.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { after, afterEach, before, test } from 'node:test';

import {
  getToken,
  makeSigner,
  nodeDir,
  rejection,
  rsBasicOptions,
  sleep,
  startAuthorizationServer,
} from '../support/helpers.mjs';

const require = createRequire(import.meta.url);
const { Validator, setLogger } = require('bearerguard');

let as;
before(async () => {
  as = await startAuthorizationServer();
});
after(() => as?.stop());
afterEach(() => setLogger(null));

/** A logger collecting records, and a way to wait (bounded) for one that matches. */
function recorder() {
  const records = [];
  return {
    records,
    log: (record) => records.push(record),
    async waitFor(match) {
      for (let i = 0; i < 200; i++) {
        const found = records.find(match);
        if (found) return found;
        await sleep(10);
      }
      assert.fail(`no such record among ${JSON.stringify(records)}`);
    },
  };
}

test('the JWKS endpoint unreachable: the "JWKS fetch failed" warning, then the debug record of the refusal', async () => {
  const r = recorder();
  setLogger(r.log, { level: 'debug' });
  const signer = makeSigner();
  const now = Math.floor(Date.now() / 1000);
  const issuer = 'https://as.example';
  const token = signer.sign({ iss: issuer, aud: 'api', sub: 'alice', exp: now + 600, iat: now, scope: 'read' });
  const secret = 'canary-client-secret-4f1d';
  const v = new Validator({
    issuer,
    audience: 'api',
    discovery: false,
    jwksUri: 'http://127.0.0.1:9/jwks',
    clientId: 'rs',
    clientSecret: secret,
    http: { connectTimeoutMs: 200, retry: false },
  });
  assert.equal((await rejection(v.validate(token))).code, 'unavailable');
  const warning = await r.waitFor((x) => x.message.includes('JWKS fetch failed'));
  assert.deepEqual(Object.keys(warning).sort(), ['level', 'message', 'target']);
  assert.equal(warning.level, 'warn');
  assert.equal(warning.target, 'bearerguard::jwks');
  assert.match(warning.message, /jwks_uri=http:\/\/127\.0\.0\.1:9\/jwks/);
  const refused = await r.waitFor((x) => x.message.includes('request refused'));
  assert.equal(refused.level, 'debug');
  assert.match(refused.message, /code="?unavailable/);
  for (const record of r.records) {
    assert.ok(record.target.startsWith('bearerguard'), record.target);
    const text = JSON.stringify(record);
    assert.ok(!text.includes(token) && !text.includes(token.split('.')[2]), text);
    assert.ok(!text.includes(secret), text);
  }
});

test('a refused request against the real AS: a debug record without the token or our client secret', async () => {
  const r = recorder();
  setLogger(r.log, { level: 'trace' });
  const options = rsBasicOptions(as);
  const v = new Validator(options);
  const token = 'canary-opaque-token-9b2e71';
  assert.equal((await rejection(v.validate(token))).code, 'invalid_token');
  const refused = await r.waitFor((x) => x.message.includes('request refused'));
  assert.match(refused.message, /code="?invalid_token/);
  for (const record of r.records) {
    const text = JSON.stringify(record);
    assert.ok(!text.includes(token), text);
    assert.ok(!text.includes(options.clientSecret), text);
  }
});

test('the level filters: warn drops debug records; null stops', async () => {
  const r = recorder();
  setLogger(r.log, { level: 'warn' });
  const v = new Validator({
    issuer: 'https://as.example',
    audience: 'api',
    discovery: false,
    jwksUri: 'http://127.0.0.1:9/jwks',
    http: { connectTimeoutMs: 200, retry: false },
  });
  await rejection(v.validate('not-a-jwt'));
  await rejection(v.validate(''));
  await sleep(100);
  assert.deepEqual(
    r.records.filter((x) => x.level === 'debug'),
    [],
  );
  const s = recorder();
  setLogger(s.log, { level: 'trace' });
  setLogger(null);
  await rejection(v.validate('not-a-jwt'));
  await sleep(100);
  assert.deepEqual(s.records, []);
  assert.throws(() => setLogger(r.log, { level: 'verbose' }), TypeError);
  assert.throws(() => setLogger('console'), TypeError);
});

test('accepting a remembered JWT or a cached verdict logs nothing, even at trace', async () => {
  const v = new Validator(rsBasicOptions(as));
  const jwt = await getToken(as, 'jwt', 'read write');
  const opaque = await getToken(as, 'opaque', 'read write');
  await v.validate(jwt);
  await v.validate(opaque);
  const r = recorder();
  setLogger(r.log, { level: 'trace' });
  for (let i = 0; i < 50; i++) {
    await v.validate(jwt);
    await v.validate(opaque);
  }
  await sleep(100);
  assert.deepEqual(r.records, []);
  // The logger works: a refusal is recorded.
  await rejection(v.validate('garbage'));
  await r.waitFor((x) => x.message.includes('request refused'));
});

test('a logger never keeps the process alive', () => {
  const script = `require('./index.js').setLogger(() => {}, { level: 'trace' });`;
  const run = spawnSync(process.execPath, ['-e', script], { cwd: nodeDir, encoding: 'utf8', timeout: 20_000 });
  assert.equal(run.signal, null, 'still running after 20 s');
  assert.equal(run.status, 0, run.stderr);
});
