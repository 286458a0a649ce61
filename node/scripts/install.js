#!/usr/bin/env node
'use strict';
// `npm install` step of bearerguard: use the native addon if one that loads is already here
// (a prebuilt binary, or an earlier build), else build it from the Rust sources with
// @napi-rs/cli, else say in one line what is missing and fail.
//
//   BEARERGUARD_BUILD=release (default) | debug   the cargo profile of a source build

const { spawnSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const { homedir } = require('node:os');
const { delimiter, dirname, join } = require('node:path');

const packageDir = dirname(__dirname);
const platform = `${process.platform}-${process.arch}`;

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

function resolveCli() {
  try {
    return require.resolve('@napi-rs/cli/package.json', { paths: [packageDir] });
  } catch {
    return null;
  }
}

/**
 * The build tool's package.json. npm does not install the dependencies of a package linked
 * from outside the app (`npm install <path to node/>`), so install them here when missing.
 */
function napiCli() {
  const found = resolveCli();
  if (found !== null) return found;
  console.error(`bearerguard: installing the build tool (@napi-rs/cli) into ${packageDir}`);
  const npmCli = process.env.npm_execpath;
  const [command, ...prefix] = npmCli && /\.[cm]?js$/.test(npmCli) ? [process.execPath, npmCli] : ['npm'];
  const args = [...prefix, 'install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund'];
  const run = spawnSync(command, args, {
    cwd: packageDir,
    stdio: 'inherit',
    shell: command === 'npm' && process.platform === 'win32',
  });
  const installed = run.status === 0 ? resolveCli() : null;
  if (installed === null) console.error('bearerguard: could not install @napi-rs/cli (see the npm output above)');
  return installed;
}

function main() {
  if (addonLoads()) return 0;
  const path = pathWithCargo(process.env);
  if (path === null) {
    console.error(
      `bearerguard: no prebuilt binary for ${platform} and cargo was not found; install Rust from https://rustup.rs`,
    );
    return 1;
  }
  const profile = process.env.BEARERGUARD_BUILD === 'debug' ? 'debug' : 'release';
  const sources = join(packageDir, 'Cargo.toml');
  if (!existsSync(sources)) {
    console.error(`bearerguard: no prebuilt binary for ${platform} and this copy has no Rust sources to build`);
    return 1;
  }
  console.error(`bearerguard: no prebuilt binary for ${platform}; building it from source with cargo (${profile})`);
  const cliPackage = napiCli();
  if (cliPackage === null) return 1;
  const cli = join(dirname(cliPackage), require(cliPackage).bin.napi);
  const args = [cli, 'build', '--platform', '--js', 'native.js', '--dts', 'native.d.ts'];
  if (profile === 'release') args.push('--release');
  const build = spawnSync(process.execPath, args, {
    cwd: packageDir,
    env: { ...process.env, PATH: path },
    stdio: 'inherit',
  });
  if (build.status !== 0) {
    console.error('bearerguard: building the native addon failed (see the cargo output above)');
    return 1;
  }
  return 0;
}

process.exitCode = main();
