'use strict';
// Every Node framework bearerguard protects, for `make demo` and the table test
// (test/frameworks.test.mjs): Express, Fastify, Koa, Hono (@hono/node-server) and NestJS
// (Express platform), each serving GET /orders requiring scope "write" and answering
// {"client": clientId}.
//
// As a program: the validator config (core JSON keys) comes from BEARERGUARD_CONFIG; each
// framework listens on its own free port of 127.0.0.1; once all do, it prints
// {"ready":true,"apps":{"Express":{"port":N,"prefix":""},...}}. It exits when its stdin (a pipe)
// closes.
//
//   BEARERGUARD_CONFIG='{"issuer":"...","audience":"..."}' node node/examples/frameworks_app.js

const { Validator } = require('bearerguard');

const listening = (server) =>
  new Promise((resolve) => (server.listening ? resolve() : server.once('listening', resolve)));
const served = async (server) => {
  await listening(server);
  return { port: server.address().port, close: () => server.close() };
};

/** name -> start(validator): resolves with { port, close } once it listens on 127.0.0.1. */
const apps = {
  async Express(validator) {
    const express = require('express');
    const { requireToken } = require('bearerguard/express');
    const app = express();
    app.get('/orders', requireToken({ validator, scopes: ['write'] }), (req, res) => {
      res.json({ client: req.auth.clientId });
    });
    return served(app.listen(0, '127.0.0.1'));
  },
  async Fastify(validator) {
    const app = require('fastify')();
    app.register(require('bearerguard/fastify'), { validator });
    app.get('/orders', { config: { scopes: ['write'] } }, (request) => ({ client: request.auth.clientId }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    return { port: app.server.address().port, close: () => app.close() };
  },
  async Koa(validator) {
    const Koa = require('koa');
    const { requireToken } = require('bearerguard/koa');
    const app = new Koa();
    app.use(requireToken({ validator, scopes: ['write'] }));
    app.use((ctx) => {
      ctx.body = { client: ctx.state.auth.clientId };
    });
    return served(app.listen(0, '127.0.0.1'));
  },
  async Hono(validator) {
    const { Hono } = require('hono');
    const { serve } = require('@hono/node-server');
    const { bearerAuth } = require('bearerguard/hono');
    const app = new Hono();
    app.get('/orders', bearerAuth({ validator, scopes: ['write'] }), (c) => c.json({ client: c.get('auth').clientId }));
    return served(serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }));
  },
  async NestJS(validator) {
    require('reflect-metadata');
    const { Controller, Get, Module, Req, UseGuards } = require('@nestjs/common');
    const { NestFactory } = require('@nestjs/core');
    const { BearerGuard, Scopes } = require('bearerguard/nest');
    // Plain JavaScript has no decorator syntax: they are applied as TypeScript would apply them.
    class OrdersController {
      orders(req) {
        return { client: req.auth.clientId };
      }
    }
    const method = Object.getOwnPropertyDescriptor(OrdersController.prototype, 'orders');
    Req()(OrdersController.prototype, 'orders', 0);
    Reflect.decorate([Get('orders'), Scopes('write')], OrdersController.prototype, 'orders', method);
    Reflect.decorate([Controller(), UseGuards(new BearerGuard({ validator }))], OrdersController);
    class AppModule {}
    Reflect.decorate([Module({ controllers: [OrdersController] })], AppModule);
    const app = await NestFactory.create(AppModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    return { port: app.getHttpServer().address().port, close: () => app.close() };
  },
};

async function main() {
  const validator = new Validator(JSON.parse(process.env.BEARERGUARD_CONFIG ?? '{}'));
  const ready = {};
  for (const [name, start] of Object.entries(apps)) ready[name] = { port: (await start(validator)).port, prefix: '' };
  process.stdout.write(`${JSON.stringify({ ready: true, apps: ready })}\n`);
  // The demo holds our stdin open while it needs us; a terminal or /dev/null is not watched.
  const stdin = require('node:fs').fstatSync(0);
  if (stdin.isFIFO() || stdin.isSocket()) {
    process.stdin.on('end', () => process.exit(0)).resume();
  }
}

module.exports = { apps };
if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
