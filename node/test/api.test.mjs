// The JavaScript API: construction and config names, TokenInfo, error classes and fields,
// secrets and tokens kept out of messages, panics. Against a fake AS on 127.0.0.1 (no network).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { inspect } from 'node:util';
import { after, before, describe, test } from 'node:test';

import * as bearerguard from 'bearerguard';
import {
  BearerGuardError,
  ConfigurationError,
  InsufficientScopeError,
  InvalidRequestError,
  InvalidTokenError,
  MissingTokenError,
  TokenExpiredError,
  UnavailableError,
  Validator,
  errorCodes,
} from 'bearerguard';
import { fakeAuthorizationServer, listen, makeSigner, nodeDir, rejection } from '../support/helpers.mjs';

const require = createRequire(import.meta.url);
const { CLASSES, fromNative } = require('../errors.js');

const CANARY_SECRET = 'canary-secret-3f9a';
const CANARY_CLAIM = 'canary-claim-7c1d';
const now = () => Math.floor(Date.now() / 1000);

let as;
let state;
let signer;
before(async () => {
  signer = makeSigner();
  state = { jwks: signer.jwks };
  as = await fakeAuthorizationServer(state);
});
after(() => as?.close());

function options(extra = {}) {
  return {
    issuer: as.url,
    audience: 'https://api.example.test',
    discovery: false,
    jwksUri: `${as.url}/jwks`,
    introspectionEndpoint: `${as.url}/introspect`,
    clientId: 'rs',
    clientSecret: CANARY_SECRET,
    ...extra,
  };
}

function claims(extra = {}) {
  return {
    iss: as.url,
    aud: 'https://api.example.test',
    sub: 'alice',
    exp: now() + 300,
    iat: now(),
    scope: 'read',
    ...extra,
  };
}

describe('construction', () => {
  test('camelCase and snake_case names build the same validator, nested objects included', async () => {
    const camel = new Validator(options({ leewaySecs: 0, cache: { maxTtlSecs: 10 }, http: { timeoutMs: 1000 } }));
    const snake = new Validator({
      issuer: as.url,
      audience: 'https://api.example.test',
      discovery: false,
      jwks_uri: `${as.url}/jwks`,
      leeway_secs: 0,
      cache: { max_ttl_secs: 10 },
      http: { timeout_ms: 1000 },
    });
    const token = signer.sign(claims());
    assert.deepEqual(await camel.validate(token), await snake.validate(token));
  });

  test('bad config throws a ConfigurationError naming the field', () => {
    const cases = [
      [{ leewaySecs: 601 }, '`leeway_secs`'],
      [{ lewaySecs: 1 }, 'leway_secs'],
      [{ jwks: { refreshCooldownSecs: 1 } }, '`jwks.refresh_cooldown_secs`'],
      [{ http: { timeoutMs: 0 } }, '`http.timeout_ms`'],
      [{ cache: { negativeTtlSecs: 301 } }, '`cache.negative_ttl_secs`'],
      [{ cache: { maxTTL: 1 } }, 'max_t_t_l'],
      [{ issuer: 'http://as.example.com' }, '`issuer`'],
      [{ audience: [] }, '`audience`'],
      [{ strategy: 'magic' }, '`strategy`'],
      [{ algorithms: ['HS256'] }, '`algorithms`'],
      [{ keyFile: '/nonexistent/key.json' }, 'key'],
      [{ ['__proto__']: { leewaySecs: 1 } }, '__proto__'],
    ];
    for (const [extra, field] of cases) {
      assert.throws(
        () => new Validator(options(extra)),
        (e) =>
          e instanceof ConfigurationError &&
          e.code === 'configuration' &&
          e.status === 500 &&
          e.message.includes(field),
        `${JSON.stringify(extra)} should name ${field}`,
      );
    }
    assert.throws(() => new Validator({ audience: 'a' }), { code: 'configuration', message: /`issuer`/ });
  });

  test('a name given in both spellings is refused; undefined values are ignored', () => {
    assert.throws(() => new Validator(options({ leewaySecs: 1, leeway_secs: 2 })), {
      name: 'ConfigurationError',
      message: 'invalid config: `leeway_secs` is given twice',
    });
    assert.throws(() => new Validator(options({ cache: { maxTtlSecs: 1, max_ttl_secs: 1 } })), /`cache.max_ttl_secs`/);
    assert.ok(new Validator(options({ realm: undefined, clientSecret: undefined })));
  });

  test('arguments of the wrong type are TypeErrors', async () => {
    assert.throws(() => new Validator(), TypeError);
    assert.throws(() => new Validator('https://as.example'), TypeError);
    const v = new Validator(options());
    await assert.rejects(v.validate(42), TypeError);
    await assert.rejects(v.validate('t', { scopes: 'read' }), TypeError);
    await assert.rejects(v.validate('t', { scopes: [1] }), TypeError);
    await assert.rejects(v.validateHeader(['Bearer x']), TypeError);
  });

  test('CommonJS and ESM see the same classes', () => {
    assert.equal(require('bearerguard').Validator, Validator);
    assert.equal(require('bearerguard/express').requireToken.name, 'requireToken');
    const cjs = spawnSync(
      process.execPath,
      ['-e', "const b = require('bearerguard'); process.stdout.write(typeof b.Validator)"],
      {
        cwd: nodeDir,
        encoding: 'utf8',
      },
    );
    assert.equal(cjs.stdout, 'function', cjs.stderr);
    const esmNames = Object.keys(bearerguard).filter((name) => name !== 'default');
    assert.deepEqual(esmNames.sort(), Object.keys(require('bearerguard')).sort());
  });
});

describe('TokenInfo', () => {
  test('is a plain object with typed camelCase fields and every claim', async () => {
    const v = new Validator(options());
    const payload = claims({
      client_id: 'svc',
      jti: 'j1',
      nbf: now() - 5,
      preferred_username: 'al',
      custom: { roles: ['a'] },
    });
    const info = await v.validate(signer.sign(payload));
    assert.equal(Object.getPrototypeOf(info), Object.prototype);
    assert.deepEqual(info, {
      subject: 'alice',
      clientId: 'svc',
      username: 'al',
      scopes: ['read'],
      audiences: ['https://api.example.test'],
      issuer: as.url,
      expiresAt: payload.exp,
      issuedAt: payload.iat,
      notBefore: payload.nbf,
      jti: 'j1',
      tokenType: 'at+jwt',
      source: 'jwt',
      claims: payload,
    });
  });

  test('absent claims are null; introspection answers are used as claims', async () => {
    state.introspection = { body: { active: true, scope: 'read write', client_id: 'svc', token_type: 'Bearer' } };
    const v = new Validator(options());
    const info = await v.validate('opaque-token-1', { scopes: ['write'] });
    assert.equal(info.source, 'introspection');
    assert.equal(info.subject, null);
    assert.equal(info.expiresAt, null);
    assert.deepEqual(info.scopes, ['read', 'write']);
    assert.deepEqual(info.claims, state.introspection.body);
    assert.deepEqual(v.stats(), { introspectionRequests: 1, jwksFetches: 0 });
  });

  test('a claim named __proto__ stays an own property and sets no prototype', async () => {
    const v = new Validator(options());
    const info = await v.validate(signer.sign(claims({ ['__proto__']: { admin: true } })));
    assert.equal(Object.getPrototypeOf(info.claims), Object.prototype);
    assert.equal(info.claims.admin, undefined);
    assert.ok(Object.hasOwn(info.claims, '__proto__'));
  });
});

describe('answers without I/O', () => {
  test('come from the JavaScript thread and equal the answers of the runtime', async () => {
    const native = require('../native.js');
    state.introspection = { body: { active: true, scope: 'read', client_id: 'svc' } };
    const v = new native.NativeValidator({
      issuer: as.url,
      audience: 'https://api.example.test',
      jwks_uri: `${as.url}/jwks`,
      introspection_endpoint: `${as.url}/introspect`,
      client_id: 'rs',
      client_secret: 's',
    });
    const jwt = signer.sign(claims());
    assert.equal(v.validateNow(jwt, []), null, 'the key set is not fetched yet');
    assert.equal(v.validateNow('opaque-2', []), null, 'no cached verdict yet');
    const viaRuntime = [await v.validate(jwt, []), await v.validate('opaque-2', [])];
    assert.deepEqual([v.validateNow(jwt, []), v.validateNow('opaque-2', [])], viaRuntime);
    assert.deepEqual(v.validateHeaderNow(`Bearer ${jwt}`, []), viaRuntime[0]);
    const refusal = (f) => {
      try {
        f();
      } catch (e) {
        return fromNative(e);
      }
      assert.fail('no refusal');
    };
    assert.equal(refusal(() => v.validateNow(jwt, ['admin'])).code, 'insufficient_scope');
    assert.equal(refusal(() => v.validateNow(`${jwt.slice(0, -4)}AAAA`, [])).code, 'invalid_token');
    assert.equal(refusal(() => v.validateNow(signer.sign(claims({ exp: now() - 100 })), [])).code, 'token_expired');
    assert.equal(refusal(() => v.validateHeaderNow(null, [])).code, 'missing_token');
    assert.deepEqual(v.stats(), { introspectionRequests: 1, jwksFetches: 1 });
  });
});

describe('errors', () => {
  test('one class per core code, all BearerGuardError', () => {
    const codes = errorCodes();
    assert.deepEqual(codes, Object.keys(CLASSES));
    const classes = codes.map((c) => CLASSES[c]);
    assert.equal(new Set(classes).size, codes.length, 'each code has its own class');
    for (const Class of classes) assert.ok(Class === BearerGuardError || Class.prototype instanceof BearerGuardError);
    assert.ok(TokenExpiredError.prototype instanceof InvalidTokenError);
  });

  test('every refusal carries code, status, wwwAuthenticate and its class', async () => {
    const v = new Validator(options({ realm: 'api', leewaySecs: 0 }));
    const dead = await listen(() => {});
    await dead.close();
    const down = new Validator(options({ introspectionEndpoint: `${dead.url}/introspect`, http: { retry: false } }));
    const bare = 'error_description=';
    const cases = [
      [() => v.validateHeader(undefined), MissingTokenError, 'missing_token', 401, 'Bearer realm="api"'],
      [
        () => v.validateHeader('Bearer a b'),
        InvalidRequestError,
        'invalid_request',
        400,
        `Bearer realm="api", error="invalid_request", ${bare}"The request is malformed"`,
      ],
      [
        () => v.validate(signer.sign(claims({ iss: 'https://other' }))),
        InvalidTokenError,
        'invalid_token',
        401,
        `Bearer realm="api", error="invalid_token", ${bare}"The access token is invalid"`,
      ],
      [
        () => v.validate(signer.sign(claims({ exp: now() - 10 }))),
        TokenExpiredError,
        'token_expired',
        401,
        `Bearer realm="api", error="invalid_token", ${bare}"The access token expired"`,
      ],
      [
        () => v.validate(signer.sign(claims()), { scopes: ['write'] }),
        InsufficientScopeError,
        'insufficient_scope',
        403,
        `Bearer realm="api", error="insufficient_scope", ${bare}"The request requires higher privileges than provided by the access token", scope="write"`,
      ],
      [() => down.validate('opaque-token'), UnavailableError, 'unavailable', 503, null],
    ];
    for (const [call, Class, code, status, www] of cases) {
      const e = await rejection(call());
      assert.ok(e instanceof Class, `${code}: ${e}`);
      assert.ok(e instanceof BearerGuardError);
      assert.ok(e instanceof Error);
      assert.equal(e.name, Class.name);
      assert.equal(e.code, code);
      assert.equal(e.status, status);
      assert.equal(e.wwwAuthenticate, www);
      assert.ok(e.message.length > 0);
      assert.ok(e.stack.includes(e.message));
    }
    const scope = await rejection(v.validate(signer.sign(claims()), { scopes: ['read', 'write'] }));
    assert.deepEqual(scope.requiredScopes, ['read', 'write']);
  });

  test('a panic in Rust becomes an internal BearerGuardError and the process goes on', async () => {
    const native = require('../native.js');
    const v = new native.NativeValidator({ issuer: as.url, audience: 'a', jwks_uri: `${as.url}/jwks` });
    let thrown;
    try {
      v.__panicNowForTests();
    } catch (e) {
      thrown = e;
    }
    for (const e of [fromNative(await rejection(v.__panicForTests())), fromNative(thrown)]) {
      assert.equal(e.constructor, BearerGuardError);
      assert.equal(e.code, 'internal');
      assert.equal(e.status, 500);
      assert.ok(!e.message.includes('deliberate'), 'the panic message is not passed on');
    }
    const again = await new Validator(options()).validate(signer.sign(claims()));
    assert.equal(again.subject, 'alice');
  });

  test('errors that are not bearerguard payloads pass through unchanged', () => {
    const plain = new TypeError('x');
    assert.equal(fromNative(plain), plain);
    const json = new Error('{"not":"ours"}');
    assert.equal(fromNative(json), json);
  });
});

describe('secrets and tokens stay out of messages', () => {
  test('no token, claim value or client secret in errors or inspect output', async () => {
    const v = new Validator(options({ leewaySecs: 0 }));
    const expired = signer.sign(claims({ exp: now() - 10, sub: CANARY_CLAIM }));
    const forged = `${signer.sign(claims({ sub: CANARY_CLAIM })).slice(0, -6)}AAAAAA`;
    const opaque = 'canary-opaque-token-0b5e';
    state.introspection = { status: 401, body: { error: 'invalid_client' } };
    const errors = [
      await rejection(v.validate(expired)),
      await rejection(v.validate(forged)),
      await rejection(v.validate(opaque)),
      await rejection(v.validateHeader(`Bearer ${opaque}`, { scopes: [] })),
      await rejection(v.validateHeader(`Bearer ${opaque} ${CANARY_CLAIM}`)),
    ];
    const collect = (e) => {
      errors.push(e);
      return true;
    };
    assert.throws(() => new Validator(options({ leewaySecs: 9999 })), collect);
    assert.throws(() => new Validator(options({ privateKey: `-----BEGIN PRIVATE KEY-----${CANARY_SECRET}` })), collect);
    assert.deepEqual(
      errors.map((e) => e.code),
      [
        'token_expired',
        'invalid_token',
        'configuration',
        'configuration',
        'invalid_request',
        'configuration',
        'configuration',
      ],
    );
    for (const e of errors) {
      const shown = [e.message, e.stack, JSON.stringify(e), inspect(e), String(e.wwwAuthenticate)].join('\n');
      for (const canary of [CANARY_SECRET, CANARY_CLAIM, opaque, expired, forged]) {
        assert.ok(!shown.includes(canary), `${e.code} shows ${canary}:\n${shown}`);
      }
    }
    assert.ok(!inspect(v, { showHidden: true, depth: 5 }).includes(CANARY_SECRET));
    assert.ok(!JSON.stringify(v).includes(CANARY_SECRET));
  });

  test('a refusal caused by a claim never echoes that claim', async () => {
    const v = new Validator(options({ requiredScopes: ['read'] }));
    const errors = [
      await rejection(v.validate(signer.sign(claims({ iss: CANARY_CLAIM })))),
      await rejection(v.validate(signer.sign(claims({ aud: CANARY_CLAIM })))),
      await rejection(v.validate(signer.sign(claims({ client_id: 7, sub: CANARY_CLAIM })))),
      await rejection(v.validate(signer.sign(claims({ scope: CANARY_CLAIM })))),
    ];
    for (const [field, value] of [
      ['iss', CANARY_CLAIM],
      ['aud', CANARY_CLAIM],
      ['token_type', CANARY_CLAIM],
      ['active', CANARY_CLAIM],
    ]) {
      state.introspection = { body: { active: true, scope: 'read', [field]: value } };
      errors.push(await rejection(v.validate(`opaque-${field}-${Date.now()}`)));
    }
    assert.deepEqual(
      errors.map((e) => e.code),
      [
        'invalid_token',
        'invalid_token',
        'invalid_token',
        'insufficient_scope',
        'invalid_token',
        'invalid_token',
        'invalid_token',
        'unavailable',
      ],
    );
    for (const e of errors) {
      const shown = [e.message, e.stack, JSON.stringify(e), inspect(e), String(e.wwwAuthenticate)].join('\n');
      assert.ok(!shown.includes(CANARY_CLAIM), `${e.code} shows the claim:\n${shown}`);
    }
  });
});
