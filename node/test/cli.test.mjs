// `npx bearerguard` (cli.js): the Rust command line through the npm package, against the real
// authorization server (the command's own tests are cli/tests/cli.rs).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { getToken, nodeDir, startAuthorizationServer } from '../support/helpers.mjs';

let as;
let dir;
before(async () => {
  as = await startAuthorizationServer();
  dir = mkdtempSync(join(tmpdir(), 'bearerguard-cli-'));
});
after(() => {
  as?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const bearerguard = (args, input = '') =>
  spawnSync(process.execPath, [join(nodeDir, 'cli.js'), ...args], { input, encoding: 'utf8', timeout: 60_000 });

test('npx bearerguard checks tokens and discovers the issuer, printing no token or secret', async () => {
  const secret = as.clients.rs_basic.client_secret;
  const config = join(dir, 'api.json');
  writeFileSync(
    config,
    JSON.stringify({
      issuer: as.issuer,
      audience: Object.values(as.resources),
      client_id: as.clients.rs_basic.client_id,
      client_secret: secret,
    }),
  );
  const jwt = await getToken(as, 'jwt', 'read');
  const opaque = await getToken(as, 'opaque', 'read');

  const accepted = bearerguard(['check', '--config', config, '--scope', 'read', '-'], jwt);
  assert.equal(accepted.status, 0, accepted.stderr);
  const answer = JSON.parse(accepted.stdout);
  assert.equal(answer.active, true);
  assert.equal(answer.source, 'jwt');
  assert.equal(answer.claims.client_id, 'svc-client');

  const introspected = bearerguard(['check', '--config', config, '--header', `Bearer ${opaque}`]);
  assert.equal(introspected.status, 0, introspected.stderr);
  assert.equal(JSON.parse(introspected.stdout).source, 'introspection');

  const under = bearerguard(['check', '--config', config, '--scope', 'admin', jwt]);
  assert.equal(under.status, 3, under.stdout);
  assert.equal(JSON.parse(under.stdout).error, 'insufficient_scope');

  const discovered = bearerguard(['discover', as.issuer]);
  assert.equal(discovered.status, 0, discovered.stderr);
  const kids = JSON.parse(discovered.stdout).jwks.keys.map((k) => k.kid);
  assert.equal(Object.keys(as.signing_keys).length, 3);
  for (const kid of Object.values(as.signing_keys)) assert.ok(kids.includes(kid), kid);

  const usage = bearerguard(['check', jwt]);
  assert.equal(usage.status, 2);

  for (const run of [accepted, introspected, under, discovered, usage]) {
    for (const s of [secret, jwt, opaque]) {
      assert.ok(!run.stdout.includes(s) && !run.stderr.includes(s), 'no token or secret printed');
    }
  }
});

test('npx bearerguard --help teaches', () => {
  const help = bearerguard(['--help']);
  assert.equal(help.status, 0);
  for (const needle of ['check', 'discover', 'metadata', 'Examples', 'Exit status']) {
    assert.ok(help.stdout.includes(needle), needle);
  }
});
