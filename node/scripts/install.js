#!/usr/bin/env node
'use strict';
// `npm install` step of bearerguard. Installed from the registry or from packed tarballs, the
// addon comes prebuilt in the platform package npm picked from `optionalDependencies`
// (bearerguard-linux-x64-gnu, ...), and this script only checks that it loads. Installed from
// a checkout (`npm install <checkout>/node`) with no binary that fits, it builds the addon with
// cargo and puts it where the committed loader (native.js) looks first:
// bearerguard.<platform>.node beside it, a git-ignored file. It writes nothing else: no npm
// install of its own, no lock, no generated JS (native.js and native.d.ts are committed).
//
//   BEARERGUARD_BUILD=release (default) | debug   the cargo profile of a source build

const { spawnSync } = require('node:child_process');
const { copyFileSync, existsSync } = require('node:fs');
const { homedir } = require('node:os');
const { delimiter, dirname, join } = require('node:path');

const platformName = require('./platform.js');

const packageDir = dirname(__dirname);
const { name: packageName, napi } = require(join(packageDir, 'package.json'));

function addonLoads() {
  try {
    require(join(packageDir, 'native.js'));
    return true;
  } catch {
    return false;
  }
}

/** The PATH to build with: PATH itself when it has cargo, else PATH plus ~/.cargo/bin (rustup). */
function pathWithCargo(env) {
  const cargoHome = env.CARGO_HOME || join(homedir(), '.cargo');
  for (const path of [env.PATH || '', `${env.PATH || ''}${delimiter}${join(cargoHome, 'bin')}`]) {
    const probe = spawnSync('cargo', ['--version'], { env: { ...env, PATH: path }, stdio: 'ignore' });
    if (probe.status === 0) return path;
  }
  return null;
}

/** Runs cargo; resolves with its stdout, or null after cargo has said what went wrong. */
function cargo(args, env, stdio = ['ignore', 'pipe', 'inherit']) {
  const run = spawnSync('cargo', args, { cwd: packageDir, env, stdio, encoding: 'utf8', maxBuffer: 256 << 20 });
  return run.status === 0 ? run.stdout : null;
}

/**
 * Builds the cdylib and returns the path cargo wrote it to. `--target <host>` is what
 * `napi build` passes too, so a checkout that `npm run build` already built rebuilds nothing.
 */
function buildAddon(profile, env) {
  const host = (cargo(['-vV'], env) ?? '').match(/^host: (\S+)$/m)?.[1];
  if (!host) return null;
  const args = ['build', '--lib', '--message-format=json-render-diagnostics', '--target', host];
  args.push(...(profile === 'release' ? ['--release'] : []));
  const out = cargo(args, env);
  if (out === null) return null;
  for (const line of out.split('\n')) {
    if (!line.startsWith('{')) continue;
    const message = JSON.parse(line);
    if (message.reason !== 'compiler-artifact' || !message.target.kind.includes('cdylib')) continue;
    const library = message.filenames.find((f) => /\.(so|dylib|dll)$/.test(f));
    if (library) return library;
  }
  return null;
}

function main() {
  if (addonLoads()) return 0;
  const platform = platformName();
  const prebuilt = `no prebuilt binary for ${platform} (package ${packageName}-${platform})`;
  const path = pathWithCargo(process.env);
  if (path === null) {
    console.error(`bearerguard: ${prebuilt} and cargo was not found; install Rust from https://rustup.rs`);
    return 1;
  }
  if (!existsSync(join(packageDir, 'Cargo.toml'))) {
    console.error(`bearerguard: ${prebuilt} and this copy has no Rust sources to build`);
    return 1;
  }
  const profile = process.env.BEARERGUARD_BUILD === 'debug' ? 'debug' : 'release';
  console.error(`bearerguard: ${prebuilt}; building it from source with cargo (${profile})`);
  const library = buildAddon(profile, { ...process.env, PATH: path });
  if (library === null) {
    console.error('bearerguard: building the native addon failed (see the cargo output above)');
    return 1;
  }
  copyFileSync(library, join(packageDir, `${napi.binaryName}.${platform}.node`));
  if (!addonLoads()) {
    console.error(`bearerguard: the addon built from source does not load on ${platform}`);
    return 1;
  }
  return 0;
}

process.exitCode = main();
