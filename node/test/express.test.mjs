// The Express middleware in real Express 4 and 5 apps, over HTTP on 127.0.0.1, against the
// real authorization server.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { after, before, describe, test } from 'node:test';

import express5 from 'express';
import express4 from 'express4';
import { UnavailableError, Validator } from 'bearerguard';
import { requireToken } from 'bearerguard/express';
import { getToken, listen, rsBasicOptions, sleep, startAuthorizationServer } from '../support/helpers.mjs';

let as;
let tokens;
let expiresBy;
before(async () => {
  as = await startAuthorizationServer({ shortTtl: 2 });
  tokens = {
    jwt: await getToken(as, 'jwt', 'read write'),
    opaque: await getToken(as, 'opaque', 'read write'),
    readOnly: await getToken(as, 'opaque', 'read'),
    expiring: await getToken(as, 'short_jwt', 'read write'),
  };
  expiresBy = Date.now() + (as.short_ttl + 1) * 1000;
});
after(() => as?.stop());

async function serve(app) {
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

async function call(base, path, authorization) {
  const res = await fetch(`${base}${path}`, { headers: authorization ? { authorization } : {} });
  const body = await res.text();
  return { status: res.status, www: res.headers.get('www-authenticate'), body: body ? JSON.parse(body) : null };
}

for (const [name, express] of [
  ['Express 5', express5],
  ['Express 4', express4],
]) {
  describe(name, () => {
    let app;
    let validator;
    before(async () => {
      validator = new Validator(rsBasicOptions(as, { leewaySecs: 0, realm: 'orders' }));
      const api = express();
      api.get('/orders', requireToken({ validator, scopes: ['write'] }), (req, res) => {
        res.json({ subject: req.auth.subject, source: req.auth.source, scopes: req.auth.scopes });
      });
      api.get('/passed', requireToken({ validator, scopes: ['write'], passErrors: true }), (_req, res) => {
        res.json({ ok: true });
      });
      const misconfigured = new Validator(rsBasicOptions(as, { clientSecret: 'wrong-secret' }));
      api.get('/misconfigured', requireToken({ validator: misconfigured }), (_req, res) => res.json({}));
      api.use((err, _req, res, _next) => {
        res.status(599).json({ handled: err.code ?? 'other' });
      });
      app = await serve(api);
    });
    after(() => app?.close());

    test('a JWT access token gets through, with req.auth set', async () => {
      const r = await call(app.url, '/orders', `Bearer ${tokens.jwt}`);
      assert.deepEqual(r, {
        status: 200,
        www: null,
        body: { subject: 'svc-client', source: 'jwt', scopes: ['read', 'write'] },
      });
    });

    test('an opaque token gets through after introspection', async () => {
      const r = await call(app.url, '/orders', `Bearer ${tokens.opaque}`);
      assert.equal(r.status, 200);
      assert.equal(r.body.source, 'introspection');
    });

    test('no token: 401 with a bare Bearer challenge', async () => {
      assert.deepEqual(await call(app.url, '/orders'), {
        status: 401,
        www: 'Bearer realm="orders"',
        body: { error: 'missing_token' },
      });
      const basicAuth = await call(app.url, '/orders', 'Basic dXNlcjpwdw==');
      assert.equal(basicAuth.status, 401);
    });

    test('a malformed Authorization header: 400 invalid_request', async () => {
      const r = await call(app.url, '/orders', 'Bearer a b');
      assert.equal(r.status, 400);
      assert.match(r.www, /error="invalid_request"/);
    });

    test('a garbage token: 401 invalid_token', async () => {
      const r = await call(app.url, '/orders', 'Bearer not-a-real-token');
      assert.equal(r.status, 401);
      assert.equal(
        r.www,
        'Bearer realm="orders", error="invalid_token", error_description="The access token is invalid"',
      );
      assert.deepEqual(r.body, { error: 'invalid_token' });
    });

    test('a token without the required scope: 403 insufficient_scope', async () => {
      const r = await call(app.url, '/orders', `Bearer ${tokens.readOnly}`);
      assert.equal(r.status, 403);
      assert.equal(
        r.www,
        'Bearer realm="orders", error="insufficient_scope", error_description="The request requires higher privileges than provided by the access token", scope="write"',
      );
    });

    test('passErrors hands the refusal to the app error handler', async () => {
      assert.deepEqual((await call(app.url, '/passed')).body, { handled: 'missing_token' });
      assert.deepEqual((await call(app.url, '/passed', `Bearer ${tokens.jwt}`)).body, { ok: true });
    });

    test('a 500-class failure (our credentials refused) goes to the app error handler', async () => {
      assert.deepEqual(await call(app.url, '/misconfigured', `Bearer ${tokens.opaque}`), {
        status: 599,
        www: null,
        body: { handled: 'configuration' },
      });
    });

    test('an expired JWT: 401 with error="invalid_token" and the expiry description', async () => {
      await sleep(expiresBy - Date.now());
      const r = await call(app.url, '/orders', `Bearer ${tokens.expiring}`);
      assert.equal(r.status, 401);
      assert.equal(r.www, 'Bearer realm="orders", error="invalid_token", error_description="The access token expired"');
      assert.deepEqual(r.body, { error: 'token_expired' });
    });
  });
}

describe('failures of the authorization server and of the setup', () => {
  test('an unreachable AS: 503 without a challenge', async () => {
    // A port that was just free: connection refused, quickly.
    const dead = await listen(() => {});
    await dead.close();
    const options = {
      issuer: dead.url,
      audience: 'api',
      discovery: false,
      introspectionEndpoint: `${dead.url}/introspect`,
      clientId: 'rs',
      clientSecret: 'x',
      http: { retry: false },
    };
    const api = express5();
    api.get('/x', requireToken({ options }), (_req, res) => res.json({}));
    const app = await serve(api);
    try {
      const r = await call(app.url, '/x', 'Bearer opaque-token');
      assert.equal(r.status, 503);
      assert.equal(r.www, null);
      assert.deepEqual(r.body, { error: 'unavailable' });
    } finally {
      await app.close();
    }
    const v = new Validator(options);
    await assert.rejects(v.validate('opaque-token'), UnavailableError);
  });

  test('requireToken checks its arguments when the app starts', () => {
    assert.throws(() => requireToken({}), TypeError);
    assert.throws(() => requireToken({ validator: {} }), TypeError);
    const validator = new Validator({ issuer: as.issuer, audience: 'api' });
    assert.throws(() => requireToken({ validator, options: { issuer: as.issuer, audience: 'api' } }), TypeError);
    assert.throws(() => requireToken({ validator, scopes: 'write' }), TypeError);
    assert.throws(() => requireToken({ options: { issuer: 'http://not-loopback.example', audience: 'a' } }), {
      code: 'configuration',
    });
  });

  test('the middleware works on a plain node:http server', async () => {
    const validator = new Validator(rsBasicOptions(as));
    const guard = requireToken({ validator });
    const app = await listen((req, res) => guard(req, res, () => res.end(req.auth.source)));
    try {
      const ok = await fetch(app.url, { headers: { authorization: `Bearer ${tokens.jwt}` } });
      assert.equal(await ok.text(), 'jwt');
      assert.equal((await fetch(app.url)).status, 401);
    } finally {
      await app.close();
    }
  });
});
