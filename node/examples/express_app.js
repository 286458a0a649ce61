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
//
// With a revocation hook secret (`createApp(config, { revocationHookSecret })`, or env
// BEARERGUARD_REVOCATION_HOOK_SECRET when run as a script) it also serves POST /revocations: a
// form body `token=<token>` as RFC 7009 sends it, from whoever learnt of a revocation or logout,
// with the header `X-Hook-Secret: <secret>`. Wrong or missing secret: 403; no single `token`:
// 400; otherwise the validator forgets the token (its cached verdict) and answers 204. Without
// the secret the route does not exist (404). The token is never logged.

const { createHash, timingSafeEqual } = require('node:crypto');
const express = require('express');
const { Registry } = require('prom-client');
const { UnavailableError, Validator } = require('bearerguard');
const { requireToken } = require('bearerguard/express');
const prometheus = require('bearerguard/prometheus');

function createApp(config, { revocationHookSecret } = {}) {
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
  if (revocationHookSecret !== undefined) addRevocationHook(app, validator, revocationHookSecret);
  return app;
}

// Digests of equal length, so timingSafeEqual compares in constant time whatever was sent and
// no length of the secret shows either.
const sha256 = (value) => createHash('sha256').update(value, 'utf8').digest();

function addRevocationHook(app, validator, secret) {
  if (typeof secret !== 'string' || secret === '') throw new TypeError('the revocation hook secret is empty');
  const expected = sha256(secret);
  const checkSecret = (req, res, next) => {
    const presented = req.get('x-hook-secret') ?? '';
    if (!timingSafeEqual(sha256(presented), expected)) return res.status(403).json({ error: 'forbidden' });
    next();
  };
  app.post(
    '/revocations',
    checkSecret,
    express.urlencoded({ extended: false, limit: '16kb' }),
    async (req, res, next) => {
      const token = req.body?.token;
      // One `token` (a repeated one parses to an array), not empty.
      if (typeof token !== 'string' || token === '') return res.status(400).json({ error: 'invalid_request' });
      try {
        await validator.forget(token);
        res.status(204).end();
      } catch (err) {
        // The shared tier could not be told: 503, so the sender retries.
        if (err instanceof UnavailableError) return res.status(503).json({ error: 'unavailable' });
        next(err);
      }
    },
  );
}

module.exports = { createApp };

if (require.main === module) {
  const app = createApp(JSON.parse(process.env.BEARERGUARD_CONFIG ?? '{}'), {
    revocationHookSecret: process.env.BEARERGUARD_REVOCATION_HOOK_SECRET,
  });
  const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ ready: true, port: server.address().port })}\n`);
  });
  // The demo holds our stdin open while it needs us; a terminal or /dev/null is not watched.
  const stdin = require('node:fs').fstatSync(0);
  if (stdin.isFIFO() || stdin.isSocket()) {
    process.stdin.on('end', () => process.exit(0)).resume();
  }
}
