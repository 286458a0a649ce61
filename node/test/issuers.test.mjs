// Many issuers behind one validator (docs/security.md ISS), through the Node binding: two real
// authorization servers (the default one and one started with `tenant: 'b'`) and the test kit's
// servers, over HTTP on 127.0.0.1. Routing by `iss` and by tenant key, refusals with zero
// requests, one issuer's outage, the resolver (`issuerResolver`), `statsByIssuer`, and one config
// from a JS object, a JSON file and a TOML file. The Rust side of the same is core/tests/issuers.rs.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { ConfigurationError, InvalidTokenError, UnavailableError, Validator } from 'bearerguard';
import { AuthorizationServer as Kit } from 'bearerguard/testing';
import { getToken, rejection, rsBasicOptions, startAuthorizationServer } from '../support/helpers.mjs';

let a;
let b;
const kits = [];
let dir;
before(async () => {
  [a, b] = await Promise.all([startAuthorizationServer(), startAuthorizationServer({ tenant: 'b' })]);
  dir = mkdtempSync(join(tmpdir(), 'bg-issuers-'));
});
after(async () => {
  await Promise.all([a?.stop(), b?.stop(), ...kits.map((k) => k.close())]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const kit = () => {
  const k = new Kit();
  kits.push(k);
  return k;
};
const kitRequests = (k) => {
  const c = k.counts();
  return c.discovery + c.jwks + c.introspection;
};

/** The real server's requests per endpoint so far (`/_test/counters`). */
async function counters(as) {
  const res = await fetch(as.counters_url, { signal: AbortSignal.timeout(5_000) });
  return res.json();
}
const delta = (before, after) =>
  Object.fromEntries(Object.keys(after).flatMap((k) => (after[k] === before[k] ? [] : [[k, after[k] - before[k]]])));

/** Both real servers, each with its own introspection client and tenant key. */
const twoReal = (x, y, top = {}) => ({
  issuers: [rsBasicOptions(x, { tenant: 'a.example' }), rsBasicOptions(y, { tenant: 'b.example' })],
  ...top,
});
const bearer = (token, tenant) => ({ authorization: `Bearer ${token}`, method: 'GET', tenant });

/** What a decision comes to: `accepted <issuer> <client>` or the error code. */
async function outcome(promise) {
  try {
    const info = await promise;
    return `accepted ${info.issuer} ${info.clientId}`;
  } catch (e) {
    return e.code;
  }
}

test('JWTs of each real issuer are accepted by one validator, each with its own keys', async () => {
  const v = new Validator(twoReal(a, b));
  const [ja, jb] = await Promise.all([getToken(a, 'jwt', 'read'), getToken(b, 'jwt', 'read')]);
  const before = [await counters(a), await counters(b)];
  const [ia, ib] = [await v.validate(ja, { scopes: ['read'] }), await v.validate(jb, { scopes: ['read'] })];
  assert.deepEqual([ia.issuer, ia.source, ib.issuer, ib.source], [a.issuer, 'jwt', b.issuer, 'jwt']);
  assert.equal(ib.clientId, b.clients.svc.client_id);
  assert.deepEqual(delta(before[0], await counters(a)), { discovery: 1, jwks: 1 });
  assert.deepEqual(delta(before[1], await counters(b)), { discovery: 1, jwks: 1 });
});

test('opaque tokens are introspected at their own server, with its own client, by tenant key', async () => {
  const v = new Validator(twoReal(a, b));
  const [oa, ob] = await Promise.all([getToken(a, 'opaque', 'read'), getToken(b, 'opaque', 'read')]);
  let before = [await counters(a), await counters(b)];
  const ia = await v.validateRequest(bearer(oa, 'a.example'), { scopes: ['read'] });
  const ib = await v.validateRequest(bearer(ob, 'b.example'), { scopes: ['read'] });
  assert.deepEqual(
    [ia.issuer, ia.source, ib.issuer, ib.source],
    [a.issuer, 'introspection', b.issuer, 'introspection'],
  );
  // Accepted: each server took its own resource server's credentials (b's are `b-<id>`).
  assert.deepEqual(delta(before[0], await counters(a)), { discovery: 1, introspection: 1 });
  assert.deepEqual(delta(before[1], await counters(b)), { discovery: 1, introspection: 1 });
  // a's token on b's tenant: only b is asked, and b does not know it.
  const other = await getToken(a, 'opaque', 'read');
  before = [await counters(a), await counters(b)];
  assert.ok((await rejection(v.validateRequest(bearer(other, 'b.example')))) instanceof InvalidTokenError);
  assert.deepEqual(delta(before[0], await counters(a)), {});
  assert.deepEqual(delta(before[1], await counters(b)), { introspection: 1 });
  // An unknown tenant, and an opaque token without one: refused, nothing asked.
  before = [await counters(a), await counters(b)];
  const unknown = await rejection(v.validateRequest(bearer(oa, 'evil.example')));
  assert.ok(unknown instanceof InvalidTokenError);
  assert.equal(unknown.message.includes("no issuer serves this request's tenant"), true, unknown.message);
  assert.ok((await rejection(v.validate(ob))) instanceof InvalidTokenError);
  assert.deepEqual([await counters(a), await counters(b)], before);
  const s = v.stats();
  assert.deepEqual([s.accepted, s.refused, s.unrouted], [2, 3, 2]);
});

test('unlisted and forged issuers cost zero requests and count as unrouted', async () => {
  const [listed, attacker] = [kit(), kit()];
  const options = twoReal(a, b);
  options.issuers.push(listed.config);
  const v = new Validator(options);
  const tokens = [
    attacker.token(),
    // A listed issuer's key, an `iss` naming the attacker's server.
    listed.token({ issuer: attacker.issuer }),
    // A listed real issuer's `iss` with a twist.
    listed.token({ issuer: `${a.issuer}/` }),
  ];
  const before = [await counters(a), await counters(b)];
  for (const token of tokens) {
    const e = await rejection(v.validate(token));
    assert.ok(e instanceof InvalidTokenError, String(e));
    assert.equal(e.status, 401);
    assert.ok(e.message.includes("the token's issuer is not one this API accepts"), e.message);
  }
  assert.deepEqual([await counters(a), await counters(b)], before);
  assert.deepEqual([kitRequests(listed), kitRequests(attacker)], [0, 0]);
  const s = v.stats();
  assert.deepEqual([s.unrouted, s.refused, s.accepted], [3, 3, 0]);
  // A missing header is refused precisely (by the first issuer), not as unrouted.
  assert.equal((await rejection(v.validateRequest({ authorization: undefined }))).code, 'missing_token');
  assert.equal(v.stats().unrouted, 3);
});

test('in-order routing: an opaque token without a tenant reaches the server that knows it', async () => {
  const v = new Validator(twoReal(a, b, { opaqueRouting: 'in_order' }));
  const ob = await getToken(b, 'opaque', 'read');
  const before = [await counters(a), await counters(b)];
  const info = await v.validate(ob, { scopes: ['read'] });
  assert.equal(info.issuer, b.issuer);
  // a first (it does not know the token), then b; each with its own credentials.
  assert.deepEqual(delta(before[0], await counters(a)), { discovery: 1, introspection: 1 });
  assert.deepEqual(delta(before[1], await counters(b)), { discovery: 1, introspection: 1 });
  assert.ok((await rejection(v.validate('not-a-token-anyone-issued'))) instanceof InvalidTokenError);
  assert.equal(v.stats().unrouted, 0);
});

test('one issuer stopped leaves the other unaffected', async () => {
  const down = await startAuthorizationServer();
  try {
    const v = new Validator(twoReal(down, b, { http: { connectTimeoutMs: 500, retry: false } }));
    const n = 40;
    const downTokens = await Promise.all(Array.from({ length: n }, () => getToken(down, 'opaque', 'read')));
    const bOpaque = await Promise.all(Array.from({ length: n }, () => getToken(b, 'opaque', 'read')));
    const bJwts = await Promise.all(Array.from({ length: n }, () => getToken(b, 'jwt', 'read')));
    await down.stop();
    const started = performance.now();
    const downCalls = downTokens.map((t) => rejection(v.validateRequest(bearer(t, 'a.example'))));
    const latencies = [];
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await v.validateRequest(bearer(bOpaque[i], 'b.example'), { scopes: ['read'] });
      await v.validate(bJwts[i], { scopes: ['read'] });
      latencies.push(performance.now() - t0);
    }
    const downErrors = await Promise.all(downCalls);
    assert.ok(
      downErrors.every((e) => e instanceof UnavailableError),
      String(downErrors.find((e) => !(e instanceof UnavailableError))),
    );
    latencies.sort((x, y) => x - y);
    console.log(
      `issuer A stopped: ${n} of its requests unavailable; issuer B: ${n} opaque + ${n} JWT decisions, ` +
        `p50 ${latencies[n >> 1].toFixed(1)} ms, max ${latencies[n - 1].toFixed(1)} ms per pair, all accepted, ` +
        `in ${(performance.now() - started).toFixed(0)} ms`,
    );
    const by = v.statsByIssuer();
    assert.deepEqual([by[down.issuer].accepted, by[down.issuer].refused], [0, n]);
    assert.deepEqual([by[b.issuer].accepted, by[b.issuer].refused], [2 * n, 0]);
  } finally {
    await down.stop();
  }
});

test('the resolver adds approved issuers once and remembers declines', async () => {
  const [k, c, stranger] = [kit(), kit(), kit()];
  const approved = new Map([
    [c.issuer, c.config],
    [b.issuer, rsBasicOptions(b)],
  ]);
  const calls = [];
  const issuerResolver = async (issuer) => {
    calls.push(issuer);
    await new Promise((resolve) => setTimeout(resolve, 30));
    return approved.get(issuer) ?? null;
  };
  const v = new Validator({ issuers: [k.config], resolver: { maxDeclined: 100 } }, { issuerResolver });
  assert.deepEqual(v.resolverEntries(), { kept: 0, declined: 0 });
  const jc = c.token({ subject: 'carl' });
  // 30 concurrent first calls for a new issuer: the resolver is asked once.
  const infos = await Promise.all(Array.from({ length: 30 }, () => v.validate(jc)));
  assert.deepEqual([...new Set(infos.map((i) => i.subject))], ['carl']);
  assert.deepEqual(calls, [c.issuer]);
  assert.equal(c.counts().jwks, 1);
  // A real server's issuer, approved the same way (a sync answer also works).
  const before = await counters(b);
  const jb = await getToken(b, 'jwt', 'read');
  assert.equal((await v.validate(jb)).issuer, b.issuer);
  assert.deepEqual(delta(before, await counters(b)), { token: 1, discovery: 1, jwks: 1 });
  assert.deepEqual(v.resolverEntries(), { kept: 2, declined: 0 });
  const by = v.statsByIssuer();
  assert.equal(Object.keys(by)[0], k.issuer);
  assert.deepEqual(new Set(Object.keys(by)), new Set([k.issuer, b.issuer, c.issuer]));
  assert.deepEqual([by[c.issuer].accepted, by[b.issuer].accepted, by[k.issuer].accepted], [30, 1, 0]);
  // A declined issuer: asked once, then remembered; its server never asked.
  const js = stranger.token();
  for (let i = 0; i < 3; i++) assert.ok((await rejection(v.validate(js))) instanceof InvalidTokenError);
  assert.deepEqual(calls, [c.issuer, b.issuer, stranger.issuer]);
  assert.equal(kitRequests(stranger), 0);
  assert.deepEqual(v.resolverEntries(), { kept: 2, declined: 1 });
  assert.equal(v.stats().unrouted, 3);
  // A resolver answering synchronously, in camelCase, with nested options.
  const sync = new Validator(
    { issuers: [k.config] },
    { issuerResolver: (iss) => (iss === c.issuer ? c.config : undefined) },
  );
  assert.equal((await sync.validate(jc)).subject, 'carl');
});

test('a throwing, rejecting or lying resolver is a configuration error, never an acceptance', async () => {
  const [k, c] = [kit(), kit()];
  const jc = c.token();
  let calls = 0;
  for (const issuerResolver of [
    () => {
      calls++;
      throw new Error('tenant db at postgres://admin:hunter2@db down');
    },
    async () => {
      calls++;
      throw new Error('tenant db at postgres://admin:hunter2@db down');
    },
  ]) {
    const v = new Validator({ issuers: [k.config] }, { issuerResolver });
    for (let i = 0; i < 2; i++) {
      const e = await rejection(v.validate(jc));
      assert.ok(e instanceof ConfigurationError, String(e));
      assert.deepEqual([e.code, e.status], ['configuration', 500]);
      assert.ok(e.message.includes('the issuer resolver failed'), e.message);
      assert.ok(!JSON.stringify({ m: e.message, c: String(e.cause) }).includes('hunter2'));
    }
  }
  assert.equal(calls, 4, 'a failure is not remembered as a decline');
  const cases = [
    [{ ...c.config, issuer: `${k.issuer}/x` }, 'another issuer'],
    [{ ...c.config, cache: { maxTtlSecs: 1 } }, "`the resolver's config.cache`"],
    [{ ...c.config, leewaySec: 1 }, 'the issuer resolver failed'],
    ['https://not-options.example', 'the issuer resolver failed'],
  ];
  for (const [answer, expected] of cases) {
    const v = new Validator({ issuers: [k.config] }, { issuerResolver: () => answer });
    const e = await rejection(v.validate(jc));
    assert.ok(e instanceof ConfigurationError, String(e));
    assert.ok(e.message.includes(expected), `${expected}: ${e.message}`);
  }
  assert.equal(kitRequests(c), 0);
  assert.throws(() => new Validator({ issuers: [k.config] }, { issuerResolver: 'https://x' }), TypeError);
  assert.throws(() => new Validator({ issuers: [k.config] }, 'x'), TypeError);
});

test('statsByIssuer and resolverEntries of one issuer', async () => {
  const v = new Validator(twoReal(a, b));
  await v.validate(await getToken(a, 'jwt', 'read'));
  await v.validateRequest(bearer(await getToken(a, 'opaque', 'read'), 'a.example'));
  await v.validate(await getToken(b, 'jwt', 'read'));
  const by = v.statsByIssuer();
  assert.deepEqual(Object.keys(by), [a.issuer, b.issuer]);
  const ofA = by[a.issuer];
  assert.deepEqual([ofA.accepted, ofA.introspectionRequests, ofA.jwksFetches], [2, 1, 1]);
  assert.deepEqual([by[b.issuer].accepted, by[b.issuer].introspectionRequests], [1, 0]);
  assert.deepEqual(Object.keys(ofA).sort(), Object.keys(v.stats()).sort());
  const total = v.stats();
  assert.deepEqual([total.accepted, total.introspectionRequests, total.jwksFetches], [3, 1, 2]);
  const single = new Validator(rsBasicOptions(a));
  assert.deepEqual(Object.keys(single.statsByIssuer()), [a.issuer]);
  assert.deepEqual(single.resolverEntries(), { kept: 0, declined: 0 });
});

test("a many-issuer validator's API-wide settings are the first entry's", async () => {
  const [k, c] = [kit(), kit()];
  const api = 'https://api.example.com/orders';
  const v = new Validator({
    issuers: [
      { ...k.config, resource: api },
      { ...c.config, resource: api },
    ],
  });
  assert.equal(v.resource.resource, api);
  assert.deepEqual(v.resource.metadata.authorization_servers, [k.issuer, c.issuer]);
});

// ---- one config, three sources ------------------------------------------------------------

/** Enough TOML for these configs: scalars and lists of scalars, tables, arrays of tables. */
function toToml(table, prefix = '') {
  const isTable = (x) => x !== null && typeof x === 'object' && !Array.isArray(x);
  let text = '';
  const nested = [];
  for (const [key, value] of Object.entries(table)) {
    if (isTable(value) || (Array.isArray(value) && value.length > 0 && value.every(isTable))) nested.push([key, value]);
    else text += `${key} = ${JSON.stringify(value)}\n`;
  }
  for (const [key, value] of nested) {
    const name = `${prefix}${key}`;
    for (const item of isTable(value) ? [value] : value) {
      text += `${isTable(value) ? `[${name}]` : `[[${name}]]`}\n${toToml(item, `${name}.`)}`;
    }
  }
  return text;
}

/** Snake_case keys at every level, for the files (the core's names). */
const snake = (value) =>
  Array.isArray(value)
    ? value.map(snake)
    : value !== null && typeof value === 'object'
      ? Object.fromEntries(
          Object.entries(value).map(([k, v]) => [k.replace(/[A-Z]/g, (ch) => `_${ch.toLowerCase()}`), snake(v)]),
        )
      : value;

let files = 0;
/** Validators (or the errors) from `options` as a JS object, a JSON file and a TOML file. */
function threeSources(options) {
  const name = join(dir, `c${files++}`);
  writeFileSync(`${name}.json`, JSON.stringify(snake(options)));
  writeFileSync(`${name}.toml`, toToml(snake(options)));
  return [
    () => new Validator(options),
    () => Validator.fromFile(`${name}.json`),
    () => Validator.fromFile(`${name}.toml`),
  ].map((build) => {
    try {
      return build();
    } catch (e) {
      return e;
    }
  });
}

test('one multi-issuer config from a JS object, a JSON file and a TOML file decides the same', async () => {
  const [k, stranger] = [kit(), kit()];
  const options = {
    cache: { maxEntries: 500 },
    resolver: { maxIssuers: 7 },
    opaqueRouting: 'tenant',
    issuers: [
      rsBasicOptions(a, { tenant: 'a.example' }),
      rsBasicOptions(b, { tenant: ['b', 'b.example'], requiredScopes: ['read'] }),
      { ...k.config, strategy: 'jwt' },
    ],
  };
  const validators = threeSources(options);
  assert.ok(
    validators.every((v) => v instanceof Validator),
    String(validators.find((v) => !(v instanceof Validator))),
  );
  const tokens = {
    'a jwt': await getToken(a, 'jwt', 'read'),
    'b jwt': await getToken(b, 'jwt', 'read'),
    'b jwt without read': await getToken(b, 'jwt', 'write'),
    'a opaque': await getToken(a, 'opaque', 'read'),
    'b opaque': await getToken(b, 'opaque', 'read'),
    'kit jwt': k.token(),
    'stranger jwt': stranger.token(),
  };
  const tenantOf = { 'a opaque': 'a.example', 'b opaque': 'b' };
  const decisions = [];
  for (const v of validators) {
    const d = {};
    for (const [name, token] of Object.entries(tokens))
      d[name] = await outcome(v.validateRequest(bearer(token, tenantOf[name])));
    decisions.push(d);
  }
  assert.deepEqual(decisions[1], decisions[0]);
  assert.deepEqual(decisions[2], decisions[0]);
  assert.deepEqual(decisions[0], {
    'a jwt': `accepted ${a.issuer} ${a.clients.svc.client_id}`,
    'b jwt': `accepted ${b.issuer} ${b.clients.svc.client_id}`,
    'b jwt without read': 'insufficient_scope',
    'a opaque': `accepted ${a.issuer} ${a.clients.svc.client_id}`,
    'b opaque': `accepted ${b.issuer} ${b.clients.svc.client_id}`,
    'kit jwt': `accepted ${k.issuer} test-client`,
    'stranger jwt': 'invalid_token',
  });
  for (const v of validators) assert.deepEqual(Object.keys(v.statsByIssuer()), [a.issuer, b.issuer, k.issuer]);
  assert.equal(kitRequests(stranger), 0);
});

const entry = (issuer) => ({ issuer, audience: 'x' });
// core/tests/issuers.rs `many_issuer_config_errors_name_the_field`, case for case (camelCase
// here: index.js gives the core its names).
const CONFIG_ERRORS = [
  [{ audience: 'x', issuers: [entry('https://a')] }, '`audience` belongs in each entry'],
  [{ clientId: 'rs', issuers: [entry('https://a')] }, '`client_auth` belongs in each entry'],
  [
    { issuers: [{ issuer: 'https://a', audience: 'x', cache: { maxEntries: 1 } }] },
    '`issuers[0].cache`: set `cache` once',
  ],
  [{ issuers: [entry('https://a'), entry('https://a')] }, '`issuers[1].issuer` is listed twice'],
  [
    {
      issuers: [
        { issuer: 'https://a', audience: 'x', tenant: 't' },
        { issuer: 'https://b', audience: 'x', tenant: 't' },
      ],
    },
    '`issuers[1].tenant`',
  ],
  [{ issuers: [{ issuer: 'https://a' }] }, '`issuers[0]`: `audience` is required'],
  [{ issuers: [{ issuer: 'http://a.example', audience: 'x' }] }, '`issuers[0]`: `issuer`'],
  [{ issuer: 'https://a', audience: 'x', tenant: 't' }, '`tenant` selects an entry'],
  [{ resolver: { maxIssuers: 0 }, issuers: [entry('https://a')] }, '`resolver.max_issuers`'],
  [{ issuers: [entry('https://a'), { issuer: 'https://b', leway: 1 }] }, 'leway'],
];

test('many-issuer config errors name the field, from every source', () => {
  for (const [options, expected] of CONFIG_ERRORS) {
    const built = threeSources(options);
    assert.equal(built.length, 3);
    for (const e of built) {
      assert.ok(e instanceof ConfigurationError, `${expected}: ${e}`);
      assert.equal(e.message, built[0].message);
    }
    assert.ok(built[0].message.includes(expected), `${expected}: ${built[0].message}`);
    if (expected === 'leway') assert.ok(built[0].message.includes('issuers[1]'), built[0].message);
  }
  // The camelCase entries inside `issuers` reach the core as its names: a field given twice
  // (camelCase and snake_case) in an entry is named with its path.
  assert.throws(
    () => new Validator({ issuers: [{ ...entry('https://a'), clientId: 'x', client_id: 'y' }] }),
    (e) => e instanceof ConfigurationError && e.message.includes('`issuers[0].client_id` is given twice'),
  );
});

test('tenantFrom host: the Express adapter routes opaque tokens by the request host', async () => {
  const { default: express } = await import('express');
  const { request } = await import('node:http');
  const { once } = await import('node:events');
  const { requireToken } = await import('bearerguard/express');
  const [ka, kb] = [kit(), kit()];
  const validator = new Validator({
    tenantFrom: 'host',
    issuers: [
      { ...ka.config, tenant: 'a.example' },
      { ...kb.config, tenant: 'b.example' },
    ],
  });
  const app = express();
  app.get('/orders', requireToken({ validator }), (req, res) => res.json({ iss: req.auth.issuer }));
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const get = (host, token) =>
    new Promise((resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port: server.address().port,
          path: '/orders',
          headers: { host, authorization: `Bearer ${token}` },
        },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode));
        },
      );
      req.on('error', reject);
      req.end();
    });
  try {
    const [oa, ob] = [ka.opaqueToken(), kb.opaqueToken()];
    assert.equal(await get('a.example', oa), 200);
    assert.equal(await get('B.example:8080', ob), 200);
    assert.equal(await get('a.example', ob), 401, "B's token on A's host is only asked of A");
    const before = [kitRequests(ka), kitRequests(kb)];
    assert.equal(await get('evil.example', oa), 401);
    assert.deepEqual([kitRequests(ka), kitRequests(kb)], before, 'an unknown host asks nobody');
    assert.equal(ka.counts().introspection, 2);
    assert.equal(kb.counts().introspection, 1);
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});
