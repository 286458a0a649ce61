'use strict';
// An API protected by bearerguard's Express middleware: GET /orders requires the scope "write";
// GET /metrics is the validator's Prometheus scrape (bearerguard/prometheus, over a prom-client
// registry of the app's own).
// `createApp(config)` builds the app for validator options (node/test/testkit-express.test.mjs
// passes the test kit's). Run as a script, as the demo (tests/demo/run.mjs) runs it: the config
// (core JSON keys) comes from BEARERGUARD_CONFIG; the app listens on 127.0.0.1 (PORT, default
// any free port), prints {"ready":true,"port":N} and exits when its stdin (a pipe) closes.
//
//   BEARERGUARD_CONFIG='{"issuer":"...","audience":"..."}' node node/examples/express_app.js

const express = require('express');
const { Registry } = require('prom-client');
const { Validator } = require('bearerguard');
const { requireToken } = require('bearerguard/express');
const prometheus = require('bearerguard/prometheus');

function createApp(config) {
  const validator = new Validator(config);
  const app = express();
  app.get('/orders', requireToken({ validator, scopes: ['write'] }), (req, res) => {
    res.json({ subject: req.auth.subject, source: req.auth.source, orders: [] });
  });
  const registry = new Registry();
  prometheus.register([validator], { registry });
  app.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  return app;
}

module.exports = { createApp };

if (require.main === module) {
  const app = createApp(JSON.parse(process.env.BEARERGUARD_CONFIG ?? '{}'));
  const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ ready: true, port: server.address().port })}\n`);
  });
  // The demo holds our stdin open while it needs us; a terminal or /dev/null is not watched.
  const stdin = require('node:fs').fstatSync(0);
  if (stdin.isFIFO() || stdin.isSocket()) {
    process.stdin.on('end', () => process.exit(0)).resume();
  }
}
