// Test hooks are not product (docs: CONVENTIONS 21): the fixed clock and the panic triggers
// exist only in an addon built with the cargo feature `test-hooks`, which `make test-node`
// enables and nothing users run does.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { test } from 'node:test';

import { Validator } from 'bearerguard';
import { nodeDir } from '../support/helpers.mjs';

const require = createRequire(import.meta.url);
const native = require('../native.js');
const enabled = native.testHooksEnabled();

test('the addon has the test hooks exactly when it says it was built with them', (t) => {
  t.diagnostic(`this addon was built ${enabled ? 'with' : 'without'} --features test-hooks`);
  assert.equal(typeof enabled, 'boolean');
  const hooks = {
    withFixedClockForTests: typeof native.NativeValidator.withFixedClockForTests === 'function',
    __panicForTests: typeof native.NativeValidator.prototype.__panicForTests === 'function',
  };
  assert.deepEqual(hooks, { withFixedClockForTests: enabled, __panicForTests: enabled });
  const types = readFileSync(join(nodeDir, 'native.d.ts'), 'utf8');
  // The committed native.d.ts is the same for both builds: hooks are not part of the typed API.
  assert.ok(!types.includes('withFixedClockForTests') && !types.includes('__panicForTests'), 'no hook in native.d.ts');
});

test('without the hooks a fixed clock is refused, loudly', { skip: enabled && 'this addon has the hooks' }, () => {
  assert.throws(() => new Validator({ issuer: 'https://as.example', audience: 'a' }, 1_700_000_000), {
    message: /test hook.*without `test-hooks`/,
  });
});

test('the feature is off by default and no build for users turns it on', () => {
  const manifest = readFileSync(join(nodeDir, 'Cargo.toml'), 'utf8');
  assert.match(manifest, /^\[features\]\ndefault = \[\]\n/m, 'node/Cargo.toml: no default features');
  assert.match(manifest, /^test-hooks = \[\]$/m);
  const { scripts } = JSON.parse(readFileSync(join(nodeDir, 'package.json'), 'utf8'));
  for (const [name, command] of Object.entries(scripts)) {
    assert.ok(!command.includes('test-hooks'), `npm script ${name} enables the test hooks`);
  }
  const install = readFileSync(join(nodeDir, 'scripts', 'install.js'), 'utf8');
  assert.ok(!install.includes('test-hooks'), 'scripts/install.js enables the test hooks');
});
