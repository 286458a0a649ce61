// The `npm install` step (scripts/install.js): nothing to do when the addon loads; one clear
// line and a non-zero exit when it cannot build one; a source build that writes the addon and
// nothing else. (tests/dist runs the real source build from an app.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

import { nodeDir } from '../support/helpers.mjs';

const platform = createRequire(import.meta.url)('../scripts/platform.js')();
const addon = `bearerguard.${platform}.node`;

const temp = mkdtempSync(join(tmpdir(), 'bearerguard-install-'));
after(() => rmSync(temp, { recursive: true, force: true }));

/** A copy of the package without any addon or Rust sources, and a PATH holding only `tools`. */
function bareCopy(name, tools = {}) {
  const dir = join(temp, name);
  mkdirSync(join(dir, 'scripts'), { recursive: true });
  mkdirSync(join(dir, 'bin'));
  for (const file of ['package.json', 'index.js', 'errors.js', 'scripts/install.js', 'scripts/platform.js']) {
    copyFileSync(join(nodeDir, file), join(dir, file));
  }
  symlinkSync(process.execPath, join(dir, 'bin', 'node'));
  for (const [tool, script] of Object.entries(tools)) {
    writeFileSync(join(dir, 'bin', tool), `#!/bin/sh\n${script}\n`);
    chmodSync(join(dir, 'bin', tool), 0o755);
  }
  return dir;
}

function install(cwd) {
  const home = join(cwd, 'home');
  return spawnSync(process.execPath, ['scripts/install.js'], {
    cwd,
    encoding: 'utf8',
    env: { PATH: join(cwd, 'bin'), HOME: home },
  });
}

test('without a binary and without cargo: one line naming the platform package and rustup, exit 1', () => {
  const run = install(bareCopy('no-cargo'));
  assert.equal(run.status, 1);
  assert.equal(run.stdout, '');
  assert.equal(
    run.stderr,
    `bearerguard: no prebuilt binary for ${platform} (package bearerguard-${platform}) and cargo was not found; ` +
      'install Rust from https://rustup.rs\n',
  );
});

test('without a binary, with cargo but without Rust sources (a packed main package): one line, exit 1', () => {
  const run = install(bareCopy('no-sources', { cargo: 'exit 0' }));
  assert.equal(run.status, 1);
  assert.equal(
    run.stderr,
    `bearerguard: no prebuilt binary for ${platform} (package bearerguard-${platform}) and this copy has no Rust sources to build\n`,
  );
});

test('a source build puts the addon where native.js looks and writes nothing else', () => {
  // A cargo that answers `-vV` and `build` as cargo does, its "build" being the real addon.
  const built = join(temp, 'libbearerguard_node.so');
  copyFileSync(join(nodeDir, addon), built);
  const artifact = JSON.stringify({ reason: 'compiler-artifact', target: { kind: ['cdylib'] }, filenames: [built] });
  const dir = bareCopy('source-build', {
    cargo: `case "$1" in -vV) echo "host: test-host";; build) echo "$*" > "\${0%/*}/args"; echo '${artifact}';; esac`,
  });
  copyFileSync(join(nodeDir, 'native.js'), join(dir, 'native.js'));
  writeFileSync(join(dir, 'Cargo.toml'), '');
  const before = readdirSync(dir, { recursive: true }).sort();
  const run = install(dir);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(
    run.stderr,
    `bearerguard: no prebuilt binary for ${platform} (package bearerguard-${platform}); building it from source with cargo (release)\n`,
  );
  assert.deepEqual(readdirSync(dir, { recursive: true }).sort(), [...before, addon, join('bin', 'args')].sort());
  assert.equal(
    readFileSync(join(dir, 'bin', 'args'), 'utf8'),
    'build --lib --message-format=json-render-diagnostics --target test-host --release\n',
  );
});

test("a failed source build: one line after cargo's own output, exit 1", () => {
  const dir = bareCopy('failed-build', {
    cargo: 'case "$1" in -vV) echo "host: test-host";; build) echo "error: boom" >&2; exit 101;; esac',
  });
  writeFileSync(join(dir, 'Cargo.toml'), '');
  const run = install(dir);
  assert.equal(run.status, 1);
  assert.match(
    run.stderr,
    /error: boom\nbearerguard: building the native addon failed \(see the cargo output above\)\n$/,
  );
});

test('with an addon that loads: does nothing', () => {
  const run = spawnSync(process.execPath, ['scripts/install.js'], { cwd: nodeDir, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stdout + run.stderr, '');
});

test('the package loads from a fresh process, from CommonJS and from an ES module', () => {
  for (const args of [
    ['-e', "require('bearerguard'); require('bearerguard/express')"],
    ['--input-type=module', '-e', "import 'bearerguard'; import 'bearerguard/express'"],
  ]) {
    const run = spawnSync(process.execPath, args, { cwd: nodeDir, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
  }
});
