// One table for every Node framework: Express, Fastify, Koa, Hono (on @hono/node-server) and
// NestJS (Express platform), each served over real HTTP on 127.0.0.1 against the real
// authorization server, get the demo's request list (tests/demo/requests.json: JWT, opaque,
// none, garbage, expired, under-scoped, authorization server down) on GET /orders requiring
// "write". Every framework must answer every request alike: status, challenge, Cache-Control,
// media type, body. The apps are the demo's (examples/frameworks_app.js) and the README's examples
// of Fastify, Koa, Hono and NestJS ("## Frameworks"), run as written with `validator` in scope.
import assert from 'node:assert/strict';
import { randomBytes, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import {
  DOWN_OPTIONS,
  demoAuthorizations,
  getDpopToken,
  getToken,
  repoRoot,
  rsBasicOptions,
  startAuthorizationServer,
} from '../support/helpers.mjs';

const require = createRequire(import.meta.url);
const { Validator } = require('bearerguard');
const { DpopKey } = require('bearerguard/testing');
const demo = require('../examples/frameworks_app.js');

/** The README's framework examples: ```js fastify, ```ts nest … */
const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
const examples = Object.fromEntries(
  [...readme.matchAll(/^```(js|ts) (\w+)\n([\s\S]*?)^```$/gm)].map((m) => [m[2], { ts: m[1] === 'ts', code: m[3] }]),
);

/** Runs a README example with `validator` in scope; returns its `app` (or exports, for TS). */
function runExample(name, validator) {
  const example = examples[name];
  assert.ok(example, `README.md has no ${name} example`);
  let code = example.code;
  if (example.ts) {
    const ts = require('typescript');
    code = ts.transpileModule(code, {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, experimentalDecorators: true },
    }).outputText;
    const exports = {};
    new Function('require', 'exports', 'validator', code)(require, exports, validator);
    return exports;
  }
  return new Function('require', 'validator', `${code}\nreturn app;`)(require, validator);
}

const listening = (server) =>
  new Promise((resolve) => (server.listening ? resolve() : server.once('listening', resolve)));

/** Each app: starts it for `validator`, resolves with { url, close }. The demo's apps
 * (examples/frameworks_app.js), then the README's. */
const frameworks = {
  ...Object.fromEntries(
    Object.entries(demo.apps).map(([name, start]) => [
      name,
      async (validator) => {
        const app = await start(validator);
        return { url: `http://127.0.0.1:${app.port}`, close: app.close };
      },
    ]),
  ),
  async 'Fastify (README)'(validator) {
    const app = runExample('fastify', validator);
    const url = await app.listen({ port: 0, host: '127.0.0.1' });
    return { url, close: () => app.close() };
  },
  async 'Koa (README)'(validator) {
    const server = runExample('koa', validator).listen(0, '127.0.0.1');
    await listening(server);
    return { url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
  },
  async 'Hono (README)'(validator) {
    const { serve } = require('@hono/node-server');
    const server = serve({ fetch: runExample('hono', validator).fetch, port: 0, hostname: '127.0.0.1' });
    await listening(server);
    return { url: `http://127.0.0.1:${server.address().port}`, close: () => server.close() };
  },
  async 'NestJS (README)'(validator) {
    require('reflect-metadata');
    const { NestFactory } = require('@nestjs/core');
    const { AppModule } = runExample('nest', validator);
    const app = await NestFactory.create(AppModule, { logger: false });
    await app.listen(0, '127.0.0.1');
    return { url: `http://127.0.0.1:${app.getHttpServer().address().port}`, close: () => app.close() };
  },
};

let as;
before(async () => {
  as = await startAuthorizationServer({ shortTtl: 1 });
});
after(async () => {
  await as?.stop();
});

test('every framework answers the demo requests alike', async () => {
  const good = new Validator(rsBasicOptions(as, { leewaySecs: 0, realm: 'orders' }));
  const down = new Validator(DOWN_OPTIONS);
  const sent = await demoAuthorizations(as);

  const table = {};
  for (const [validator, rows] of [
    [good, sent.filter(([r]) => r.token !== 'down')],
    [down, sent.filter(([r]) => r.token === 'down')],
  ]) {
    for (const [name, start] of Object.entries(frameworks)) {
      const app = await start(validator);
      try {
        for (const [, value] of rows) {
          const res = await fetch(`${app.url}/orders`, { headers: value ? { authorization: value } : {} });
          const h = res.headers;
          const media = (h.get('content-type') ?? '').split(';')[0];
          table[name] ??= [];
          table[name].push([res.status, h.get('www-authenticate'), h.get('cache-control'), media, await res.json()]);
        }
      } finally {
        await app.close();
      }
    }
  }
  assert.equal(Object.keys(table).length, 9);
  for (const [name, answers] of Object.entries(table)) assert.deepEqual(answers, table.Express, name);
  table.Express.forEach(([status, challenge, cache, media, body], i) => {
    const r = sent[i][0];
    assert.equal(status, r.status, r.label);
    assert.equal(media, 'application/json', r.label);
    if (status === 200) {
      assert.deepEqual(body, { client: 'svc-client' }, r.label);
      return;
    }
    assert.deepEqual(body, { error: r.code }, r.label);
    assert.equal(cache, 'no-store', r.label);
    if (status >= 500) {
      assert.equal(challenge, null, r.label);
    } else {
      assert.ok(challenge.startsWith('Bearer realm="orders"'), challenge);
      assert.equal(challenge.includes(`error="${r.error}"`), Boolean(r.error), challenge);
      if (!r.error) assert.ok(!challenge.includes('error='), challenge);
    }
  });
});

/** GET `url` with `lines` as separate Authorization field lines (fetch would join them). */
function getWithLines(url, lines) {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { headers: { authorization: lines } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: JSON.parse(body) }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('every framework hands the core every Authorization line: two are invalid_request', async () => {
  const validator = new Validator({ issuer: as.issuer, audience: Object.values(as.resources), realm: 'orders' });
  const jwt = await getToken(as, 'jwt', 'read write');
  for (const [name, start] of Object.entries(frameworks)) {
    const app = await start(validator);
    try {
      const one = await fetch(`${app.url}/orders`, { headers: { authorization: `Bearer ${jwt}` } });
      assert.equal(one.status, 200, name);
      for (const lines of [
        [`Bearer ${jwt}`, 'Bearer other'],
        [`Bearer ${jwt}`, `Bearer ${jwt}`],
      ]) {
        const res = await getWithLines(`${app.url}/orders`, lines);
        assert.equal(res.status, 400, name);
        assert.deepEqual(res.body, { error: 'invalid_request' }, name);
        assert.match(res.headers['www-authenticate'], /error="invalid_request"/, name);
      }
    } finally {
      await app.close();
    }
  }
});

test('every framework takes a DPoP-bound token from the authorization server with its proof and nonce', async () => {
  // DPoP on, nonces on (RFC 9449 §8, docs/security.md DPOP-1..6): each adapter must hand the
  // core the DPoP line and the absolute URL (htu), and pass `DPoP-Nonce` both ways.
  const validator = new Validator(
    rsBasicOptions(as, { senderConstraint: 'allow', dpop: { nonceKey: randomBytes(32).toString('base64url') } }),
  );
  const checked = [];
  for (const [name, start] of Object.entries(frameworks)) {
    const app = await start(validator);
    try {
      for (const resource of ['jwt', 'opaque']) {
        const label = `${name}, ${resource} token`;
        const key = DpopKey.generate();
        const issued = await getDpopToken(as, key.proof('POST', as.token_endpoint), as.resources[resource]);
        assert.equal(issued.token_type, 'DPoP', label);
        const token = issued.access_token;
        const url = `${app.url}/orders`;
        const get = async (headers) => {
          const res = await fetch(url, { headers });
          return { status: res.status, headers: res.headers, body: await res.json() };
        };

        // No nonce yet: the server asks for one, on the DPoP challenge.
        const first = await get({ authorization: `DPoP ${token}`, dpop: key.proof('GET', url, token) });
        assert.equal(first.status, 401, label);
        assert.deepEqual(first.body, { error: 'use_dpop_nonce' }, label);
        const nonce = first.headers.get('dpop-nonce');
        assert.ok(nonce, `${label}: a DPoP-Nonce header`);
        assert.match(first.headers.get('www-authenticate'), /DPoP error="use_dpop_nonce"/, label);
        assert.equal(first.headers.get('cache-control'), 'no-store', label);

        // With it: accepted, and the next nonce comes along.
        const proof = key.proofWith({ method: 'GET', url, accessToken: token, nonce });
        const ok = await get({ authorization: `DPoP ${token}`, dpop: proof });
        assert.equal(ok.status, 200, `${label}: ${JSON.stringify(ok.body)}`);
        assert.deepEqual(ok.body, { client: 'svc-client' }, label);
        assert.ok(ok.headers.get('dpop-nonce'), `${label}: a DPoP-Nonce header on the answer`);

        // The same proof again: a replay.
        const replay = await get({ authorization: `DPoP ${token}`, dpop: proof });
        assert.equal(replay.status, 401, label);
        assert.deepEqual(replay.body, { error: 'invalid_dpop_proof' }, label);
        assert.match(replay.headers.get('www-authenticate'), /DPoP error="invalid_dpop_proof"/, label);

        // The bound token as a bearer token: a downgrade.
        const bearer = await get({ authorization: `Bearer ${token}` });
        assert.equal(bearer.status, 401, label);
        assert.deepEqual(bearer.body, { error: 'invalid_token' }, label);

        // A proof for another URL (what a path-only or wrong htu would give): refused.
        const elsewhere = key.proofWith({ method: 'GET', url: `${app.url}/other`, accessToken: token, nonce });
        const wrongUrl = await get({ authorization: `DPoP ${token}`, dpop: elsewhere });
        assert.deepEqual([wrongUrl.status, wrongUrl.body], [401, { error: 'invalid_dpop_proof' }], label);

        checked.push(label);
      }
    } finally {
      await app.close();
    }
  }
  assert.equal(checked.length, 18);
});

test("every framework hands the core a trusted proxy's client-certificate header (RFC 8705 via RFC 9440)", async () => {
  const {
    client_id: id,
    client_secret: secret,
    certificate_pem: pemFile,
    certificate_header: asHeader,
  } = as.clients.svc_mtls;
  const pem = readFileSync(pemFile, 'utf8');
  const der = new X509Certificate(pem).raw;
  const res = await fetch(as.token_endpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
      [asHeader]: encodeURIComponent(pem),
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'read write', resource: as.resources.jwt }),
  });
  assert.equal(res.status, 200);
  const token = (await res.json()).access_token;
  const validator = new Validator(
    rsBasicOptions(as, { senderConstraint: 'allow', clientCertificateHeader: 'client-cert' }),
  );
  const other = Buffer.from(der);
  other[other.length - 1] ^= 1;
  for (const [name, start] of Object.entries(frameworks)) {
    const app = await start(validator);
    try {
      const get = async (headers) => {
        const answer = await fetch(`${app.url}/orders`, { headers: { authorization: `Bearer ${token}`, ...headers } });
        return [answer.status, await answer.json()];
      };
      assert.deepEqual(
        await get({ 'client-cert': `:${der.toString('base64')}:` }),
        [200, { client: 'svc-mtls-client' }],
        name,
      );
      assert.deepEqual(await get({}), [401, { error: 'invalid_token' }], name);
      assert.deepEqual(
        await get({ 'client-cert': `:${other.toString('base64')}:` }),
        [401, { error: 'invalid_token' }],
        name,
      );
    } finally {
      await app.close();
    }
  }
});

/** GET `url` over TLS with `tls` (client certificate, trusted CA) and `headers`. */
function getOverTls(url, tls, headers) {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ...tls, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d) => {
        body += d;
      });
      res.on('end', () => resolve([res.statusCode, JSON.parse(body)]));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the adapters hand the core the TLS client certificate of the connection (RFC 8705)', async () => {
  const fixture = (name) => readFileSync(join(repoRoot, 'tests', 'fixtures', 'tls', name), 'utf8');
  const serverTls = {
    key: fixture('server.key.pem'),
    cert: fixture('server.crt.pem'),
    requestCert: true,
    // Self-signed client certificates (RFC 8705 §2.2): the handshake proves the key; the core
    // compares the certificate with the token's cnf.
    rejectUnauthorized: false,
  };
  const clientPem = fixture('client.crt.pem');
  const { client_id: id, client_secret: secret, certificate_header: asHeader } = as.clients.svc_mtls;
  const res = await fetch(as.token_endpoint, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
      [asHeader]: encodeURIComponent(clientPem),
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'read write', resource: as.resources.jwt }),
  });
  assert.equal(res.status, 200);
  const token = (await res.json()).access_token;
  const validator = new Validator(rsBasicOptions(as, { senderConstraint: 'allow' }));
  const handler = (auth) => ({ client: auth.clientId });

  const servers = {
    Express() {
      const app = require('express')();
      app.get('/orders', require('bearerguard/express').requireToken({ validator }), (req, res) =>
        res.json(handler(req.auth)),
      );
      return createHttpsServer(serverTls, app).listen(0, '127.0.0.1');
    },
    Koa() {
      const app = new (require('koa'))();
      app.use(require('bearerguard/koa').requireToken({ validator }));
      app.use((ctx) => {
        ctx.body = handler(ctx.state.auth);
      });
      return createHttpsServer(serverTls, app.callback()).listen(0, '127.0.0.1');
    },
    Hono() {
      const { Hono } = require('hono');
      const app = new Hono();
      app.get('/orders', require('bearerguard/hono').bearerAuth({ validator }), (c) => c.json(handler(c.get('auth'))));
      const { serve } = require('@hono/node-server');
      return serve({
        fetch: app.fetch,
        port: 0,
        hostname: '127.0.0.1',
        createServer: createHttpsServer,
        serverOptions: serverTls,
      });
    },
  };
  const client = { ca: serverTls.cert, cert: clientPem, key: fixture('client.key.pem') };
  for (const [name, start] of Object.entries(servers)) {
    const server = start();
    await listening(server);
    const url = `https://127.0.0.1:${server.address().port}/orders`;
    try {
      const bearer = { authorization: `Bearer ${token}` };
      assert.deepEqual(await getOverTls(url, client, bearer), [200, { client: 'svc-mtls-client' }], name);
      // The same token on a connection without that certificate: refused.
      const anonymous = { ca: serverTls.cert };
      assert.deepEqual(await getOverTls(url, anonymous, bearer), [401, { error: 'invalid_token' }], name);
      const wrong = { ...anonymous, cert: serverTls.cert, key: serverTls.key };
      assert.deepEqual(await getOverTls(url, wrong, bearer), [401, { error: 'invalid_token' }], name);
    } finally {
      server.closeAllConnections?.();
      server.close();
    }
  }

  const Fastify = require('fastify');
  const app = Fastify({ https: serverTls });
  app.register(require('bearerguard/fastify'), { validator });
  app.get('/orders', (request) => handler(request.auth));
  const base = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    assert.deepEqual(await getOverTls(`${base}/orders`, client, { authorization: `Bearer ${token}` }), [
      200,
      { client: 'svc-mtls-client' },
    ]);
    assert.deepEqual(await getOverTls(`${base}/orders`, { ca: serverTls.cert }, { authorization: `Bearer ${token}` }), [
      401,
      { error: 'invalid_token' },
    ]);
  } finally {
    await app.close();
  }
});

test('a Fastify route with config.bearerguard false is public; the others stay guarded', async () => {
  const Fastify = require('fastify');
  const bearerguard = require('bearerguard/fastify');
  const app = Fastify();
  app.register(bearerguard, { validator: new Validator({ issuer: as.issuer, audience: 'api' }) });
  app.get('/health', { config: { bearerguard: false } }, (request) => ({ auth: request.auth }));
  app.get('/orders', () => ({ ok: true }));
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  try {
    const open = await fetch(`${url}/health`);
    assert.equal(open.status, 200);
    assert.deepEqual(await open.json(), { auth: null });
    const guarded = await fetch(`${url}/orders`);
    assert.equal(guarded.status, 401);
    assert.equal(guarded.headers.get('www-authenticate'), 'Bearer');
  } finally {
    await app.close();
  }
});
