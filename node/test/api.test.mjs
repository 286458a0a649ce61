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
  InternalError,
  InvalidRequestError,
  InvalidTokenError,
  MissingTokenError,
  TokenExpiredError,
  UnavailableError,
  Validator,
  errorCodes,
} from 'bearerguard';
import { NO_SHARED, fakeAuthorizationServer, listen, makeSigner, nodeDir, rejection } from '../support/helpers.mjs';

const require = createRequire(import.meta.url);
const { CLASSES, fromNative } = require('../errors.js');
const native = require('../native.js');
const HOOKS = native.testHooksEnabled()
  ? false
  : 'this addon was built without the test hooks (make test-node builds with --features test-hooks)';

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

  test('client authentication nested under clientAuth, or with the flat aliases, is one config', async () => {
    state.introspection = { body: { active: true, scope: 'read', client_id: 'svc' } };
    const base = { issuer: as.url, audience: 'https://api.example.test', discovery: false };
    const endpoint = { introspectionEndpoint: `${as.url}/introspect` };
    const nested = new Validator({
      ...base,
      ...endpoint,
      clientAuth: { method: 'client_secret_post', clientId: 'rs', clientSecret: CANARY_SECRET },
      introspection: { requireExp: false, maxNewTokensPerSec: 100 },
    });
    const flat = new Validator({
      ...base,
      ...endpoint,
      clientAuth: 'client_secret_post',
      clientId: 'rs',
      clientSecret: CANARY_SECRET,
      introspection: { require_exp: false },
    });
    assert.deepEqual(await nested.validate('opaque-nested'), await flat.validate('opaque-nested'));
    assert.throws(
      () => new Validator({ ...base, clientId: 'rs', clientAuth: { clientId: 'rs' } }),
      (e) => e instanceof ConfigurationError && /`client_id`/.test(e.message) && /client_auth/.test(e.message),
    );
    assert.throws(() => new Validator({ ...base, clientAuth: { clientSecrt: 'x' } }), /client_secrt/);
    assert.throws(() => new Validator({ ...base, ...endpoint, introspection: { signedResponseMaxAgeSecs: 0 } }), {
      code: 'configuration',
      message: /signed_response_max_age_secs/,
    });
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

  test("a core error's source chain crosses as `cause`", async () => {
    const e = (() => {
      try {
        return new Validator(options({ keyFile: '/nonexistent/key.json' }));
      } catch (thrown) {
        return thrown;
      }
    })();
    assert.ok(e instanceof ConfigurationError);
    assert.ok(e.cause instanceof Error, inspect(e));
    assert.match(e.cause.message, /No such file/);
    assert.equal(e.cause.code, undefined, 'a source is not a bearerguard refusal');
    // Through the runtime (a Promise): a JWKS that cannot be fetched. (Not introspection: the
    // core's single-flight join rebuilds a shared introspection error without its source.)
    const dead = await listen(() => {});
    await dead.close();
    const v = new Validator(options({ jwksUri: `${dead.url}/jwks`, http: { retry: false } }));
    const unavailable = await rejection(v.validate(signer.sign(claims())));
    assert.ok(unavailable instanceof UnavailableError);
    const chain = [];
    for (let c = unavailable.cause; c instanceof Error; c = c.cause) chain.push(c.message);
    assert.ok(chain.length > 1, inspect(unavailable));
    assert.match(chain.at(-1), /refused/i);
    assert.ok(!chain.join('\n').includes(dead.url), `the chain names the endpoint: ${chain}`);
    const plain = await rejection(v.validate('a.b.c'));
    assert.equal(plain.cause, undefined);
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
    await assert.rejects(v.validateRequest(), TypeError);
    await assert.rejects(v.validateRequest('Bearer x'), TypeError);
    await assert.rejects(v.validateRequest({ authorization: 7 }), TypeError);
    await assert.rejects(v.validateRequest({ authorization: ['Bearer x', 7] }), TypeError);
    await assert.rejects(v.validateRequest({ method: 1 }), TypeError);
    await assert.rejects(v.validateRequest({}, { scopes: [1] }), TypeError);
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
  test('is frozen, deeply, and a repeated token gets the very same object', async () => {
    const v = new Validator(options());
    const token = signer.sign(claims({ custom: { roles: ['a'] } }));
    const first = await v.validate(token);
    const again = await v.validate(token);
    assert.equal(again, first, 'the remembered answer, not a copy');
    for (const part of [
      first,
      first.scopes,
      first.audiences,
      first.claims,
      first.claims.custom,
      first.claims.custom.roles,
    ]) {
      assert.ok(Object.isFrozen(part));
    }
    assert.throws(() => {
      first.scopes.push('admin');
    }, TypeError);
    // Scopes are still checked on the repeat.
    await assert.rejects(v.validate(token, { scopes: ['admin'] }), { code: 'insufficient_scope' });
    // Another token is another object.
    assert.notEqual(await v.validate(signer.sign(claims())), first);
  });

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
      roles: [],
      audiences: ['https://api.example.test'],
      issuer: as.url,
      expiresAt: payload.exp,
      issuedAt: payload.iat,
      notBefore: payload.nbf,
      jti: 'j1',
      tokenType: 'at+jwt',
      source: 'jwt',
      claims: payload,
      dpopNonce: null,
    });
  });

  test('absent claims are null; introspection answers are used as claims', async () => {
    state.introspection = { body: { active: true, scope: 'read write', client_id: 'svc', token_type: 'Bearer' } };
    // Without `exp` only when the operator says so (the default refuses such answers).
    const v = new Validator(options({ introspection: { requireExp: false } }));
    const info = await v.validate('opaque-token-1', { scopes: ['write'] });
    assert.equal(info.source, 'introspection');
    assert.equal(info.subject, null);
    assert.equal(info.expiresAt, null);
    assert.deepEqual(info.scopes, ['read', 'write']);
    assert.deepEqual(info.claims, state.introspection.body);
    assert.deepEqual(v.stats(), {
      introspectionRequests: 1,
      jwksFetches: 0,
      accepted: 1,
      refused: 0,
      unrouted: 0,
      shared: NO_SHARED,
    });
  });

  test('a claim named __proto__ stays an own property and sets no prototype', async () => {
    const v = new Validator(options());
    const info = await v.validate(signer.sign(claims({ ['__proto__']: { admin: true } })));
    assert.equal(Object.getPrototypeOf(info.claims), Object.prototype);
    assert.equal(info.claims.admin, undefined);
    assert.ok(Object.hasOwn(info.claims, '__proto__'));
  });
});

describe('one native call per decision', () => {
  test('what needs no I/O is answered synchronously; the rest is a Promise of the same answer', async () => {
    state.introspection = { body: { active: true, scope: 'read', client_id: 'svc', exp: now() + 300 } };
    let made = 0;
    const materialize = (json) => {
      made += 1;
      return Object.freeze(JSON.parse(json));
    };
    const v = new native.NativeValidator(
      {
        issuer: as.url,
        audience: 'https://api.example.test',
        jwks_uri: `${as.url}/jwks`,
        introspection_endpoint: `${as.url}/introspect`,
        client_id: 'rs',
        client_secret: 's',
      },
      materialize,
    );
    const jwt = signer.sign(claims());
    const first = [v.decide(jwt, []), v.decide('opaque-2', [])];
    assert.ok(first[0] instanceof Promise, 'the key set is not fetched yet');
    assert.ok(first[1] instanceof Promise, 'no cached verdict yet');
    const viaRuntime = await Promise.all(first);
    assert.equal(made, 2);
    const ready = [v.decide(jwt, []), v.decide('opaque-2', [])];
    assert.equal(typeof ready[0], 'object');
    // A repeat of an answer is the very object made for it: no JSON, no parse.
    assert.equal(ready[0], viaRuntime[0]);
    assert.equal(ready[1], viaRuntime[1]);
    assert.equal(made, 2, 'made once per answer');
    // `null` scopes (what `validate` passes when none are asked) are no scopes.
    assert.equal(v.decide(jwt, null), viaRuntime[0]);
    assert.equal(ready[0].source, 'jwt');
    assert.equal(ready[1].source, 'introspection');
    assert.deepEqual(v.decideRequest([`Bearer ${jwt}`], 'GET', 'https://api.example.test/x', []), viaRuntime[0]);
    assert.deepEqual(v.decideRequest(`Bearer ${jwt}`, null, null, []), viaRuntime[0]);
    assert.deepEqual(v.decideRequest([`Bearer ${jwt}`], null, null, []), viaRuntime[0]);
    const thrown = (f) => {
      try {
        f();
      } catch (e) {
        return e;
      }
      assert.fail('no refusal');
    };
    assert.equal(thrown(() => v.decide(jwt, ['admin'])).code, 'insufficient_scope');
    assert.equal(thrown(() => v.decide(jwt, 'admin')).code, 'ArrayExpected', 'scopes: an array or null');
    assert.equal(thrown(() => v.decide(`${jwt.slice(0, -4)}AAAA`, [])).code, 'invalid_token');
    assert.equal(thrown(() => v.decide(signer.sign(claims({ exp: now() - 100 })), [])).code, 'token_expired');
    assert.equal(thrown(() => v.decideRequest([], null, null, [])).code, 'missing_token');
    assert.equal(thrown(() => v.decideRequest(null, null, null, [])).code, 'missing_token');
    assert.equal(thrown(() => v.decideRequest(['Bearer a', 'Bearer b'], null, null, [])).code, 'invalid_request');
    // Every decision counted once: the JWT accepted six times and the opaque token twice
    // (one each through the runtime); six refusals (scopes of the wrong type are no decision).
    assert.deepEqual(v.stats(), {
      introspectionRequests: 1,
      jwksFetches: 1,
      accepted: 8,
      refused: 6,
      unrouted: 0,
      shared: NO_SHARED,
    });
  });
});

describe('validateRequest', () => {
  test('takes every Authorization line; two are an InvalidRequestError, whatever they hold', async () => {
    const v = new Validator(options({ realm: 'api' }));
    const jwt = signer.sign(claims());
    const info = await v.validateRequest({ authorization: `Bearer ${jwt}`, method: 'GET', url: '/orders' });
    assert.equal(info.subject, 'alice');
    assert.deepEqual(await v.validateRequest({ authorization: [`Bearer ${jwt}`] }), info);
    assert.deepEqual(await v.validateHeader(`Bearer ${jwt}`), info);
    for (const authorization of [
      [`Bearer ${jwt}`, `Bearer ${jwt}`],
      [`Bearer ${jwt}`, 'Basic dXNlcjpwdw=='],
      ['Basic dXNlcjpwdw==', `Bearer ${jwt}`],
    ]) {
      const e = await rejection(v.validateRequest({ authorization }));
      assert.ok(e instanceof InvalidRequestError, `${e}`);
      assert.equal(e.status, 400);
      assert.match(e.wwwAuthenticate, /error="invalid_request"/);
    }
    for (const authorization of [undefined, null, []]) {
      const e = await rejection(v.validateRequest({ authorization }));
      assert.ok(e instanceof MissingTokenError, `${authorization}: ${e}`);
    }
    const scope = await rejection(v.validateRequest({ authorization: `Bearer ${jwt}` }, { scopes: ['write'] }));
    assert.ok(scope instanceof InsufficientScopeError);
  });
});

describe('errors', () => {
  test('one class per core code, all BearerGuardError', () => {
    const codes = errorCodes();
    assert.deepEqual(codes, Object.keys(CLASSES));
    const classes = codes.map((c) => CLASSES[c]);
    assert.equal(new Set(classes).size, codes.length, 'each code has its own class');
    for (const [i, Class] of classes.entries()) {
      assert.ok(
        Class.prototype instanceof BearerGuardError,
        `${codes[i]} needs a class of its own, not the base class`,
      );
      assert.ok(Object.hasOwn(bearerguard, Class.name), `${Class.name} is exported`);
    }
    assert.ok(TokenExpiredError.prototype instanceof InvalidTokenError);
  });

  test('a native refusal is an Error with the core code as its napi code, not JSON', () => {
    const v = new native.NativeValidator(
      { issuer: as.url, audience: 'a', jwks_uri: `${as.url}/jwks`, realm: 'api' },
      JSON.parse,
    );
    let e;
    try {
      v.decideRequest(['Bearer a b'], null, null, []);
    } catch (thrown) {
      e = thrown;
    }
    assert.ok(e instanceof Error);
    assert.equal(e.code, 'invalid_request');
    assert.equal(e.status, 400);
    assert.equal(
      e.wwwAuthenticate,
      'Bearer realm="api", error="invalid_request", error_description="The request is malformed"',
    );
    assert.ok(!e.message.startsWith('{'), e.message);
    const converted = fromNative(e);
    assert.ok(converted instanceof InvalidRequestError);
    assert.equal(converted.message, e.message);
    assert.throws(() => new native.NativeValidator({ issuer: as.url }, JSON.parse), {
      code: 'configuration',
      status: 500,
    });
  });

  test('errors carry the response headers of the refusal', async () => {
    const v = new Validator(options({ realm: 'api' }));
    const missing = await rejection(v.validateRequest({}));
    assert.deepEqual(missing.headers, { 'www-authenticate': 'Bearer realm="api"', 'cache-control': 'no-store' });
    const scope = await rejection(v.validate(signer.sign(claims()), { scopes: ['write'] }));
    assert.equal(scope.headers['www-authenticate'], scope.wwwAuthenticate);
    assert.equal(scope.headers['cache-control'], 'no-store');
    const config = (() => {
      try {
        return new Validator(options({ leewaySecs: 601 }));
      } catch (e) {
        return e;
      }
    })();
    assert.deepEqual(config.headers, { 'cache-control': 'no-store' });
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

  test('a panic in Rust becomes an InternalError and the process goes on', { skip: HOOKS }, async () => {
    const v = new native.NativeValidator({ issuer: as.url, audience: 'a', jwks_uri: `${as.url}/jwks` }, JSON.parse);
    let thrown;
    try {
      v.__panicForTests(false);
    } catch (e) {
      thrown = e;
    }
    const pending = v.__panicForTests(true);
    assert.ok(pending instanceof Promise);
    for (const e of [fromNative(await rejection(pending)), fromNative(thrown)]) {
      assert.equal(e.constructor, InternalError);
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
    const v = new native.NativeValidator({ issuer: as.url, audience: 'a', jwks_uri: `${as.url}/jwks` }, JSON.parse);
    let napiError;
    try {
      v.decide(42, []);
    } catch (e) {
      napiError = e;
    }
    assert.ok(napiError instanceof Error);
    assert.equal(fromNative(napiError), napiError, `${napiError.code}: ${napiError.message}`);
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
