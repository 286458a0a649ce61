// The Express middleware in real Express 4 and 5 apps, over HTTP on 127.0.0.1, against the
// real authorization server.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';

import express5 from 'express';
import express4 from 'express4';
import { UnavailableError, Validator } from 'bearerguard';
import { requireToken, resourceMetadata } from 'bearerguard/express';
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
  if (res.status !== 200) assert.equal(res.headers.get('cache-control'), 'no-store', `${path}: ${res.status}`);
  return { status: res.status, www: res.headers.get('www-authenticate'), body: body ? JSON.parse(body) : null };
}

/**
 * One HTTP/1.1 request written byte for byte on a socket (fetch would merge or refuse repeated
 * header lines): resolves with the status, the headers (lower-case names) and the body text.
 */
async function rawCall(base, path, headerLines) {
  const { hostname, port } = new URL(base);
  const socket = connect(Number(port), hostname);
  await once(socket, 'connect');
  const head = [`GET ${path} HTTP/1.1`, `Host: ${hostname}:${port}`, ...headerLines, 'Connection: close'];
  // write, not end: a half-closed connection is aborted by Node's server before a slow answer.
  socket.write(`${head.join('\r\n')}\r\n\r\n`);
  let text = '';
  socket.setEncoding('latin1');
  for await (const chunk of socket) text += chunk;
  const [top, ...rest] = text.split('\r\n\r\n');
  const [statusLine, ...fields] = top.split('\r\n');
  const headers = {};
  for (const field of fields) {
    const colon = field.indexOf(':');
    headers[field.slice(0, colon).toLowerCase()] = field.slice(colon + 1).trim();
  }
  let body = rest.join('\r\n\r\n');
  if (headers['transfer-encoding'] === 'chunked') {
    let decoded = '';
    for (let at = 0; ; ) {
      const end = body.indexOf('\r\n', at);
      const size = Number.parseInt(body.slice(at, end), 16);
      if (!size) break;
      decoded += body.slice(end + 2, end + 2 + size);
      at = end + 2 + size + 2;
    }
    body = decoded;
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body };
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
        res.set(err.headers ?? {});
        res.status(599).json({ handled: err.code ?? 'other' });
      });
      app = await serve(api);
      // No error handler of its own: Express's default one answers what reaches `next(err)`.
      const plain = express();
      plain.set('env', 'test'); // the default handler logs every error to stderr otherwise
      plain.get('/passed', requireToken({ validator, scopes: ['write'], passErrors: true }), (_req, res) => {
        res.json({ ok: true });
      });
      bare = await serve(plain);
    });
    after(() => Promise.all([app?.close(), bare?.close()]));
    let bare;

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

    test('passErrors hands the refusal to the app error handler, its headers with it', async () => {
      assert.deepEqual(await call(app.url, '/passed'), {
        status: 599,
        www: 'Bearer realm="orders"',
        body: { handled: 'missing_token' },
      });
      assert.deepEqual((await call(app.url, '/passed', `Bearer ${tokens.jwt}`)).body, { ok: true });
    });

    test("passErrors and Express's default error handler: the refusal's status and challenge", async () => {
      const r = await rawCall(bare.url, '/passed', [`Authorization: Bearer ${tokens.readOnly}`]);
      assert.equal(r.status, 403);
      assert.match(r.headers['www-authenticate'], /^Bearer realm="orders", error="insufficient_scope"/);
      assert.equal(r.headers['cache-control'], 'no-store');
    });

    test('two Authorization header lines: 400 invalid_request, whichever comes first', async () => {
      for (const lines of [
        [`Authorization: Bearer ${tokens.jwt}`, `Authorization: Bearer ${tokens.opaque}`],
        [`Authorization: Bearer ${tokens.jwt}`, 'authorization: Basic dXNlcjpwdw=='],
        ['Authorization: Basic dXNlcjpwdw==', `Authorization: Bearer ${tokens.jwt}`],
      ]) {
        const r = await rawCall(app.url, '/orders', lines);
        assert.equal(r.status, 400, r.body);
        assert.equal(
          r.headers['www-authenticate'],
          'Bearer realm="orders", error="invalid_request", error_description="The request is malformed"',
        );
        assert.equal(r.headers['cache-control'], 'no-store');
        assert.deepEqual(JSON.parse(r.body), { error: 'invalid_request' });
      }
      const one = await rawCall(app.url, '/orders', [`Authorization: Bearer ${tokens.jwt}`]);
      assert.equal(one.status, 200, one.body);
    });

    test('a 500-class failure (our credentials refused) is answered like every refusal, as the Python adapters do', async () => {
      const r = await rawCall(app.url, '/misconfigured', [`Authorization: Bearer ${tokens.opaque}`]);
      assert.equal(r.status, 500);
      assert.equal(r.headers['www-authenticate'], undefined);
      assert.equal(r.headers['cache-control'], 'no-store');
      assert.deepEqual(JSON.parse(r.body), { error: 'configuration' });
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
      const twice = await rawCall(app.url, '/', [
        `Authorization: Bearer ${tokens.jwt}`,
        `Authorization: Bearer ${tokens.jwt}`,
      ]);
      assert.equal(twice.status, 400);
      assert.deepEqual(JSON.parse(twice.body), { error: 'invalid_request' });
    } finally {
      await app.close();
    }
  });
});

describe('a protected resource (RFC 9728, RFC 8707)', () => {
  test('resourceMetadata serves the document at its well-known path; challenges name it and the scopes', async () => {
    const resource = as.resources.opaque;
    const validator = new Validator({
      ...rsBasicOptions(as),
      audience: undefined,
      resource,
      scopesSupported: ['read'],
    });
    assert.throws(() => resourceMetadata({ validator: new Validator(rsBasicOptions(as)) }), TypeError);
    const app = express5();
    app.use(resourceMetadata({ validator }));
    app.get('/orders', requireToken({ validator, scopes: ['write'] }), (req, res) => res.json(req.auth.scopes));
    app.get('/.well-known/oauth-protected-resource/other', (_req, res) => res.send('next'));
    const { url, close } = await serve(app);
    try {
      const doc = await fetch(`${url}/.well-known/oauth-protected-resource/opaque`);
      assert.equal(doc.status, 200);
      assert.equal(doc.headers.get('cache-control'), 'public, max-age=3600');
      assert.deepEqual(await doc.json(), {
        resource,
        authorization_servers: [as.issuer],
        scopes_supported: ['read'],
        bearer_methods_supported: ['header'],
      });
      const head = await fetch(`${url}/.well-known/oauth-protected-resource/opaque`, { method: 'HEAD' });
      assert.equal(head.status, 200);
      assert.equal(await (await fetch(`${url}/.well-known/oauth-protected-resource/other`)).text(), 'next');
      const metadata = 'https://api.example.test/.well-known/oauth-protected-resource/opaque';
      const none = await fetch(`${url}/orders`);
      assert.equal(none.status, 401);
      assert.equal(none.headers.get('www-authenticate'), `Bearer scope="write", resource_metadata="${metadata}"`);
      const under = await fetch(`${url}/orders`, { headers: { authorization: `Bearer ${tokens.readOnly}` } });
      assert.equal(under.status, 403);
      assert.match(under.headers.get('www-authenticate'), /scope="write", resource_metadata="/);
      const other = await fetch(`${url}/orders`, { headers: { authorization: `Bearer ${tokens.jwt}` } });
      assert.equal(other.status, 401, 'a JWT for another resource');
      const good = await fetch(`${url}/orders`, { headers: { authorization: `Bearer ${tokens.opaque}` } });
      assert.deepEqual(await good.json(), ['read', 'write']);
    } finally {
      await close();
    }
  });
});
