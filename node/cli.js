#!/usr/bin/env node
// `npx bearerguard`: the command line of the Rust core (crate bearerguard-cli): check,
// discover, metadata, config. `npx bearerguard --help` teaches them.
'use strict';

let native;
try {
  native = require('./native.js');
} catch (cause) {
  process.stderr.write(`bearerguard: the native addon could not be loaded (${cause.message})\n`);
  process.exit(5);
}
process.exitCode = native.cliMain(['bearerguard', ...process.argv.slice(2)]);
