// Metrics, health and logs: `Validator#metrics()` / `health()`, the core's families merged over
// validators, `bearerguard/prometheus` over prom-client, the /metrics endpoint of the Express
// example (node/examples/express_app.js) scraped after the demo's requests
// (tests/demo/requests.json) against the real authorization server, and `setLogger`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';

import {
  errorCodes,
  InvalidTokenError,
  metricFamilies,
  setLogger,
  TokenExpiredError,
  UnavailableError,
  Validator,
} from 'bearerguard';
import { register } from 'bearerguard/prometheus';
import { Registry } from 'prom-client';
import { createApp } from '../examples/express_app.js';
import {
  DOWN_OPTIONS,
  demoAuthorizations,
  getToken,
  nodeDir,
  rejection,
  rsBasicOptions,
  sleep,
  startAuthorizationServer,
} from '../support/helpers.mjs';

const DOWN = DOWN_OPTIONS;

// The core's fixed label values (bearerguard::metrics); `issuer` comes from the config.
const FIXED = {
  outcome: new Set(['accepted', ...errorCodes()]),
  source: new Set(['none', 'jwt', 'introspection']),
  tier: new Set(['none', 'hit', 'miss', 'negative']),
  endpoint: new Set(['discovery', 'jwks', 'introspection']),
  result: new Set(['ok', 'http_error', 'timeout', 'connect', 'transport', 'too_large']),
  fetch: new Set(['introspection', 'jwks']),
  cache: new Set(['introspection', 'jwt']),
};

/**
 * The samples of a Prometheus text exposition: `{ name, labels, value }` (label values are
 * ours, so they hold no escaped quotes), and each family's `# HELP` and `# TYPE`.
 */
function parseExposition(text) {
  const samples = [];
  const help = {};
  const type = {};
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (meta) {
      (meta[1] === 'HELP' ? help : type)[meta[2]] = meta[3];
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const labels = {};
    for (const [, k, v] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)) labels[k] = v;
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return { samples, help, type };
}

function decisionsByOutcome(text) {
  const totals = {};
  for (const s of parseExposition(text).samples) {
    if (s.name === 'bearerguard_decisions_total') totals[s.labels.outcome] = (totals[s.labels.outcome] ?? 0) + s.value;
  }
  return totals;
}

/** Every label value of every sample is `issuer` or a fixed name; returns how many samples were checked. */
function assertLabelsFromConfigOnly(text, issuer) {
  const { samples } = parseExposition(text);
  for (const s of samples) {
    assert.ok(s.name.startsWith('bearerguard_'), s.name);
    for (const [name, value] of Object.entries(s.labels)) {
      if (name === 'issuer') assert.equal(value, issuer, JSON.stringify(s));
      else if (name === 'le') assert.ok(value === '+Inf' || Number(value) > 0, JSON.stringify(s));
      else assert.ok(FIXED[name]?.has(value), JSON.stringify(s));
    }
  }
  return samples.length;
}

async function serve(app) {
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

let as;
before(async () => {
  as = await startAuthorizationServer({ shortTtl: 1 });
});
after(async () => {
  setLogger(null);
  await as?.stop();
});

test("the Express example's /metrics counts the demo requests per outcome", async () => {
  const config = rsBasicOptions(as, { leewaySecs: 0, realm: 'orders' });
  const sent = await demoAuthorizations(as);
  assert.ok(sent.some(([r]) => r.token === 'down') && sent.some(([r]) => r.token !== 'down'));

  const scrapes = {};
  for (const [appConfig, down] of [
    [config, false],
    [DOWN, true],
  ]) {
    const app = await serve(createApp(appConfig));
    try {
      const rows = sent.filter(([r]) => (r.token === 'down') === down);
      for (const [r, value] of rows) {
        const res = await fetch(`${app.url}/orders`, { headers: value ? { authorization: value } : {} });
        assert.equal(res.status, r.status, `${r.label}: ${await res.text()}`);
      }
      const scrape = await fetch(`${app.url}/metrics`);
      assert.equal(scrape.status, 200);
      assert.match(scrape.headers.get('content-type'), /^text\/plain/);
      const text = await scrape.text();
      const expected = {};
      for (const [r] of rows) expected[r.code ?? 'accepted'] = (expected[r.code ?? 'accepted'] ?? 0) + 1;
      assert.deepEqual(decisionsByOutcome(text), expected);
      assert.ok(assertLabelsFromConfigOnly(text, appConfig.issuer) > Object.keys(expected).length);
      scrapes[down] = text;
    } finally {
      await app.close();
    }
  }

  const secrets = [...sent.filter(([, v]) => v).map(([, v]) => v.slice('Bearer '.length)), config.clientSecret];
  for (const text of Object.values(scrapes)) {
    for (const secret of secrets) assert.ok(!text.includes(secret), 'a token or secret in the scrape');
  }
  // The calls to the authorization server: discovery, JWKS and introspection answered; the
  // unreachable one refused the connection.
  const calls = new Set(
    parseExposition(scrapes.false)
      .samples.filter((s) => s.name === 'bearerguard_as_request_duration_seconds_count')
      .map((s) => `${s.labels.endpoint}:${s.labels.result}`),
  );
  for (const call of ['discovery:ok', 'jwks:ok', 'introspection:ok']) assert.ok(calls.has(call), call);
  assert.ok(scrapes.true.includes('endpoint="discovery",issuer="http://127.0.0.1:9",result="connect"'), scrapes.true);
});

test('metrics() and health() after a JWT, in camelCase', async () => {
  const validator = new Validator(rsBasicOptions(as));
  const token = await getToken(as, 'jwt', 'read write');
  await validator.validate(token);
  await validator.validate(token);
  const snapshot = validator.metrics();
  assert.equal(snapshot.issuer, as.issuer);
  const accepted = Object.fromEntries(
    snapshot.decisions.filter((d) => d.outcome === 'accepted').map((d) => [`${d.source}:${d.tier}`, d.count]),
  );
  assert.deepEqual(accepted, { 'jwt:miss': 1, 'jwt:hit': 1 });
  const { jwks } = snapshot;
  assert.ok(jwks.loaded && jwks.fresh && jwks.keys >= 1 && typeof jwks.ageSeconds === 'number');
  assert.deepEqual([jwks.refreshes, jwks.failures], [1, 0]);
  assert.equal(snapshot.latencyBuckets[0], 0.001);
  assert.equal(typeof snapshot.cachedVerdicts, 'number');
  assert.equal(typeof snapshot.rememberedJwts, 'number');
  for (const call of snapshot.requests) {
    assert.equal(call.buckets.length, snapshot.latencyBuckets.length);
    assert.ok(call.buckets.at(-1) <= call.count && typeof call.sumSeconds === 'number');
  }

  const health = validator.health();
  assert.equal(health.ok, true);
  const [issuer, ...more] = health.issuers;
  assert.equal(more.length, 0);
  assert.equal(issuer.issuer, as.issuer);
  assert.equal(issuer.endpointsKnown, true);
  assert.ok(issuer.jwks.loaded && issuer.jwks.fresh);
  assert.ok(issuer.lastAnswerAt > 1.7e9 && issuer.lastAnswerAgeSeconds >= 0);
  assert.equal(issuer.lastFailure, null);
});

test('health() reports an unreachable authorization server', async () => {
  const validator = new Validator(DOWN);
  assert.equal(validator.health().issuers[0].lastFailure, null);
  assert.ok((await rejection(validator.validate('some-opaque-token'))) instanceof UnavailableError);
  const health = validator.health();
  assert.equal(health.ok, false);
  const [issuer] = health.issuers;
  assert.equal(issuer.endpointsKnown, false);
  assert.equal(issuer.lastAnswerAt, null);
  assert.deepEqual([issuer.lastFailure.endpoint, issuer.lastFailure.result], ['discovery', 'connect']);
  assert.ok(issuer.lastFailure.at > 1.7e9);
  assert.deepEqual(
    validator.metrics().decisions.map((d) => [d.outcome, d.count]),
    [['unavailable', 1]],
  );
});

describe('two validators', () => {
  let good;
  let down;
  before(async () => {
    good = new Validator(rsBasicOptions(as));
    down = new Validator(DOWN);
    await good.validate(await getToken(as, 'jwt', 'read'));
    assert.ok((await rejection(down.validate('some-opaque-token'))) instanceof UnavailableError);
  });

  test('their families are merged by the core', () => {
    const families = metricFamilies(good, down);
    const names = families.map((f) => f.name);
    assert.equal(new Set(names).size, names.length);
    assert.ok(names.includes('bearerguard_decisions_total'));
    assert.deepEqual(
      metricFamilies(good).map((f) => f.name),
      names,
      'every family is listed, even empty',
    );
    const decisions = families.find((f) => f.name === 'bearerguard_decisions_total');
    assert.equal(decisions.kind, 'counter');
    assert.deepEqual(new Set(decisions.samples.map((s) => s.labels.issuer)), new Set([as.issuer, DOWN.issuer]));
    assert.throws(() => metricFamilies(good, { issuer: 'not a validator' }), TypeError);
    assert.throws(() => metricFamilies(good, null), TypeError);
  });

  test('bearerguard/prometheus hands every family to prom-client', async () => {
    const registry = new Registry();
    const registered = register([good, down], { registry });
    const text = await registry.metrics();
    const core = metricFamilies(good, down);
    const { samples, help, type } = parseExposition(text);
    assert.deepEqual(
      registered.names,
      core.map((f) => f.name),
    );
    assert.deepEqual(Object.keys(type).sort(), core.map((f) => f.name).sort());
    assert.equal(text.split('# TYPE bearerguard_decisions_total counter').length, 2);
    for (const family of core) {
      assert.equal(type[family.name], family.kind);
      assert.equal(help[family.name], family.help);
      for (const s of family.samples) {
        const mine = samples.filter((p) => Object.entries(s.labels).every(([k, v]) => p.labels[k] === v));
        if (family.kind !== 'histogram') {
          const one = mine.filter((p) => p.name === family.name);
          assert.equal(one.length, 1, `${family.name} ${JSON.stringify(s.labels)}`);
          // The JWKS's age grows between the two reads.
          if (family.name !== 'bearerguard_jwks_age_seconds') assert.equal(one[0].value, s.value, family.name);
          continue;
        }
        const value = (suffix, le) => mine.find((p) => p.name === family.name + suffix && p.labels.le === le)?.value;
        assert.equal(value('_count', undefined), s.value);
        assert.equal(value('_bucket', '+Inf'), s.value);
        assert.ok(Math.abs(value('_sum', undefined) - s.histogram.sum) < 1e-9);
        for (const [bound, count] of s.histogram.buckets) assert.equal(value('_bucket', String(bound)), count);
      }
    }
    assertLabelsFromConfigOnly(text.replaceAll(DOWN.issuer, as.issuer), as.issuer);
    // prom-client's JSON form and OpenMetrics both read the same metrics.
    const json = await registry.getMetricsAsJSON();
    assert.deepEqual(
      json.map((m) => m.name),
      core.map((f) => f.name),
    );
    registered.unregister();
    assert.equal((await registry.metrics()).trim(), '');
    assert.throws(() => register([], { registry }), TypeError);
    assert.throws(() => register([good, 'x'], { registry }), TypeError);
  });
});

test('without prom-client and no registry given, register says what to install', () => {
  const hide =
    "const M = require('node:module'); const r = M._resolveFilename; M._resolveFilename = function (n, ...a) {" +
    " if (n === 'prom-client') throw Object.assign(new Error('not found'), { code: 'MODULE_NOT_FOUND' });" +
    ' return r.call(this, n, ...a); };';
  const code = `${hide} const { Validator } = require('bearerguard'); require('bearerguard/prometheus').register([new Validator({ issuer: 'http://127.0.0.1:9', audience: 'a' })]);`;
  const run = spawnSync(process.execPath, ['-e', code], { cwd: nodeDir, encoding: 'utf8' });
  assert.notEqual(run.status, 0);
  assert.match(run.stderr, /bearerguard\/prometheus needs prom-client/);
  assert.match(run.stderr, /npm install prom-client/);
});

describe('setLogger', () => {
  const records = [];
  // Records reach the callback on the event loop, soon after the decision that made them.
  const delivered = () => sleep(100);
  before(() => setLogger((r) => records.push(r), { level: 'debug' }));
  after(() => setLogger(null));

  test('a JWKS fetch failure and refusals reach the callback, without the token', async () => {
    records.length = 0;
    const options = rsBasicOptions(as, {
      jwksUri: 'http://127.0.0.1:9/jwks',
      http: { connectTimeoutMs: 200, retry: false },
    });
    const validator = new Validator(options);
    const jwt = await getToken(as, 'jwt', 'read write');
    const expired = await getToken(as, 'short_jwt', 'read');
    assert.ok((await rejection(validator.validate(jwt))) instanceof UnavailableError);
    assert.ok((await rejection(validator.validate('not-a-real-token'))) instanceof InvalidTokenError);
    await sleep((as.short_ttl + 1) * 1000);
    const strict = new Validator(rsBasicOptions(as, { leewaySecs: 0 }));
    assert.ok((await rejection(strict.validate(expired))) instanceof TokenExpiredError);
    await delivered();

    const warning = records.filter((r) => r.target === 'bearerguard.jwks' && r.level === 'warn');
    assert.equal(warning.length, 1, JSON.stringify(records));
    assert.match(warning[0].message, /JWKS fetch failed/);
    assert.ok(warning[0].message.includes('http://127.0.0.1:9/jwks'));
    const refused = records.filter(
      (r) => r.target === 'bearerguard.validator' && r.level === 'debug' && r.message.includes('request refused'),
    );
    assert.equal(refused.length, 3, JSON.stringify(records));
    for (const code of ['unavailable', 'invalid_token', 'token_expired']) {
      assert.ok(
        refused.some((r) => r.message.includes(`code="${code}"`) || r.message.includes(`code=${code}`)),
        code,
      );
    }
    const secrets = [jwt, expired, 'not-a-real-token', options.clientSecret, ...jwt.split('.'), ...expired.split('.')];
    for (const r of records) {
      assert.deepEqual(Object.keys(r).sort(), ['level', 'message', 'target']);
      for (const secret of secrets) assert.ok(!JSON.stringify(r).includes(secret), JSON.stringify(r));
    }
  });

  test('the level filters, null stops, and a throwing callback loses only its record', async () => {
    const down = new Validator(DOWN);
    const refusedNow = async () => {
      records.length = 0;
      await rejection(down.validate('not-a-real-token'));
      await delivered();
      return records.filter((r) => r.message.includes('request refused')).length;
    };
    setLogger((r) => records.push(r), { level: 'warn' });
    assert.equal(await refusedNow(), 0, 'a debug record below the level');
    setLogger((r) => records.push(r), { level: 'debug' });
    assert.equal(await refusedNow(), 1);
    setLogger(null);
    assert.equal(await refusedNow(), 0, 'stopped');
    let calls = 0;
    setLogger(
      () => {
        calls += 1;
        throw new Error('a broken logger');
      },
      { level: 'debug' },
    );
    await rejection(down.validate('not-a-real-token'));
    await delivered();
    assert.ok(calls >= 1, 'the throwing callback was called');
    assert.throws(() => setLogger(() => {}, { level: 'loud' }), TypeError);
    assert.throws(() => setLogger('console.log'), TypeError);
    setLogger((r) => records.push(r), { level: 'debug' });
  });
});
