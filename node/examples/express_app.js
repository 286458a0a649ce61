'use strict';
// An API protected by bearerguard's Express middleware, as the demo (tests/demo/run.mjs) runs
// it: the validator config (core JSON keys) comes from BEARERGUARD_CONFIG; the app listens on
// 127.0.0.1 (PORT, default any free port), prints {"ready":true,"port":N} and serves
// GET /orders, which requires the scope "write". It exits when its stdin (a pipe) closes.
//
//   BEARERGUARD_CONFIG='{"issuer":"...","audience":"..."}' node node/examples/express_app.js

const express = require('express');
const { Validator } = require('bearerguard');
const { requireToken } = require('bearerguard/express');

const validator = new Validator(JSON.parse(process.env.BEARERGUARD_CONFIG ?? '{}'));
const app = express();

app.get('/orders', requireToken({ validator, scopes: ['write'] }), (req, res) => {
  res.json({ subject: req.auth.subject, source: req.auth.source, orders: [] });
});

const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ ready: true, port: server.address().port })}\n`);
});
// The demo holds our stdin open while it needs us; a terminal or /dev/null is not watched.
const stdin = require('node:fs').fstatSync(0);
if (stdin.isFIFO() || stdin.isSocket()) {
  process.stdin.on('end', () => process.exit(0)).resume();
}
