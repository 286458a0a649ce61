// Metrics and health: the Express example's /metrics (prom-client) after the demo's requests
// (tests/demo/requests.json) against the real authorization server, `metrics()` and `health()`,
// and the collector over two validators, over real HTTP on 127.0.0.1.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
  getToken,
  nodeDir,
  rejection,
  repoRoot,
  rsBasicOptions,
  sleep,
  startAuthorizationServer,
} from '../support/helpers.mjs';

const require = createRequire(import.meta.url);
const { Registry } = require('prom-client');
const { Validator, errorCodes } = require('bearerguard');
const { collect } = require('bearerguard/prometheus');
const { createApp } = require('../examples/express_app.js');
const { requests } = JSON.parse(readFileSync(join(repoRoot, 'tests/demo/requests.json'), 'utf8'));

// An issuer nothing listens on (the demo's "authorization server down").
const DOWN = { issuer: 'http://127.0.0.1:9', audience: 'api', http: { connectTimeoutMs: 200, retry: false } };

/** Every value a label may take besides the configured issuers: the core's fixed names. */
const FIXED = {
  outcome: ['accepted', ...errorCodes().filter((c) => c !== 'internal')],
  source: ['none', 'jwt', 'introspection'],
  tier: ['none', 'hit', 'miss', 'negative'],
  endpoint: ['discovery', 'jwks', 'introspection'],
  result: ['ok', 'http_error', 'timeout', 'connect', 'transport', 'too_large'],
  fetch: ['introspection', 'jwks'],
  cache: ['introspection', 'jwt'],
};

/** The samples of a Prometheus text exposition: [{ name, labels, value }]. */
function parseExposition(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/);
    assert.ok(m, `not a sample line: ${line}`);
    const labels = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    samples.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return samples;
}

/** Fails unless every label is the issuer, one of the fixed names, or a histogram's `le`. */
function assertLabelsFromConfig(samples, issuers) {
  for (const { name, labels } of samples) {
    for (const [label, value] of Object.entries(labels)) {
      if (label === 'issuer') assert.ok(issuers.includes(value), `${name}: issuer ${value}`);
      else if (label === 'le') assert.ok(value === '+Inf' || Number.isFinite(Number(value)), `${name}: le ${value}`);
      else assert.ok(FIXED[label]?.includes(value), `${name}: ${label}="${value}"`);
    }
  }
}

const sumOf = (samples, name, where = {}) =>
  samples
    .filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v))
    .reduce((n, s) => n + s.value, 0);

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

let as;
before(async () => {
  as = await startAuthorizationServer({ shortTtl: 1 });
});
after(() => as?.stop());

test("the Express example's /metrics counts the demo's requests per outcome, labels from config only", async () => {
  const expired = await getToken(as, 'short_jwt', 'read');
  const authorization = {
    none: async () => undefined,
    garbage: async () => 'Bearer not-a-real-token',
    expired: async () => `Bearer ${expired}`,
    down: async () => 'Bearer some-opaque-token',
    jwt: async (r) => `Bearer ${await getToken(as, 'jwt', r.scope)}`,
    opaque: async (r) => `Bearer ${await getToken(as, 'opaque', r.scope)}`,
  };
  const sent = [];
  for (const r of requests) sent.push([r, await authorization[r.token](r)]);
  await sleep((as.short_ttl + 1) * 1000);

  const good = await serve(createApp(rsBasicOptions(as)));
  const down = await serve(createApp(DOWN));
  const scrapes = {};
  try {
    for (const [r, value] of sent) {
      const app = r.token === 'down' ? down : good;
      const res = await fetch(`${app.url}/orders`, { headers: value ? { authorization: value } : {} });
      assert.equal(res.status, r.status, r.label);
      await res.arrayBuffer();
    }
    for (const [name, app] of [
      ['good', good],
      ['down', down],
    ]) {
      const res = await fetch(`${app.url}/metrics`);
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
      scrapes[name] = await res.text();
    }
  } finally {
    await good.close();
    await down.close();
  }

  const expected = {};
  for (const [r] of sent) {
    const outcome = r.code ?? 'accepted';
    expected[outcome] = (expected[outcome] ?? 0) + 1;
  }
  const goodSamples = parseExposition(scrapes.good);
  const downSamples = parseExposition(scrapes.down);
  for (const outcome of FIXED.outcome) {
    const counted = [goodSamples, downSamples].reduce(
      (n, s) => n + sumOf(s, 'bearerguard_decisions_total', { outcome }),
      0,
    );
    assert.equal(counted, expected[outcome] ?? 0, outcome);
  }
  assert.equal(sumOf(downSamples, 'bearerguard_decisions_total'), 1);
  assert.equal(sumOf(downSamples, 'bearerguard_decisions_total', { outcome: 'unavailable' }), 1);
  assertLabelsFromConfig(goodSamples, [as.issuer]);
  assertLabelsFromConfig(downSamples, [DOWN.issuer]);

  // The histogram as prom-client prints one: cumulative _bucket lines ending in +Inf, _sum, _count.
  const h = 'bearerguard_as_request_duration_seconds';
  const jwksOk = { endpoint: 'jwks', result: 'ok' };
  assert.ok(sumOf(goodSamples, `${h}_count`, jwksOk) >= 1, scrapes.good);
  assert.equal(sumOf(goodSamples, `${h}_bucket`, { ...jwksOk, le: '+Inf' }), sumOf(goodSamples, `${h}_count`, jwksOk));
  assert.ok(sumOf(goodSamples, `${h}_count`, { endpoint: 'introspection', result: 'ok' }) >= 2);
  assert.ok(sumOf(downSamples, `${h}_count`, { endpoint: 'discovery', result: 'connect' }) >= 1, scrapes.down);
  assert.equal(sumOf(goodSamples, 'bearerguard_jwks_fresh'), 1);
  assert.match(scrapes.good, /^# TYPE bearerguard_decisions_total counter$/m);
  assert.match(scrapes.good, /^# TYPE bearerguard_as_request_duration_seconds histogram$/m);

  for (const [, value] of sent) {
    if (value) assert.ok(!`${scrapes.good}${scrapes.down}`.includes(value.slice('Bearer '.length)), 'a token');
  }
  assert.ok(!scrapes.good.includes(as.clients.rs_basic.client_secret), 'the client secret');
});

describe('metrics() and health()', () => {
  test('the authorization server unreachable: not ok, with the last failure', async () => {
    const v = new Validator(DOWN);
    assert.deepEqual(v.health().issuers[0].lastFailure, null);
    const e = await rejection(v.validate('an-opaque-token'));
    assert.equal(e.code, 'unavailable');
    const health = v.health();
    assert.equal(health.ok, false);
    const [issuer] = health.issuers;
    assert.deepEqual(Object.keys(issuer).sort(), [
      'endpointsKnown',
      'issuer',
      'jwks',
      'lastAnswerAgeSeconds',
      'lastAnswerAt',
      'lastFailure',
      'ok',
    ]);
    assert.equal(issuer.issuer, DOWN.issuer);
    assert.equal(issuer.endpointsKnown, false);
    assert.equal(issuer.lastAnswerAt, null);
    assert.equal(issuer.lastFailure.endpoint, 'discovery');
    assert.equal(issuer.lastFailure.result, 'connect');
    assert.ok(Math.abs(issuer.lastFailure.at - Date.now() / 1000) < 30, `${issuer.lastFailure.at}`);
    const m = v.metrics();
    assert.deepEqual(m.decisions, [{ outcome: 'unavailable', source: 'introspection', tier: 'miss', count: 1 }]);
    const [call] = m.requests;
    assert.deepEqual([call.endpoint, call.result, call.count], ['discovery', 'connect', 1]);
    assert.equal(call.buckets.length, m.latencyBuckets.length);
  });

  test('after a JWT is validated, the JWKS is loaded and fresh and the server answered', async () => {
    const v = new Validator(rsBasicOptions(as));
    const before = v.metrics();
    assert.deepEqual(Object.keys(before).sort(), [
      'cachedVerdicts',
      'decisions',
      'issuer',
      'joins',
      'jwks',
      'latencyBuckets',
      'rememberedJwts',
      'requests',
    ]);
    assert.deepEqual([before.decisions, before.requests, before.jwks], [[], [], null]);
    const jwt = await getToken(as, 'jwt', 'read write');
    await v.validate(jwt);
    await v.validate(jwt);
    const health = v.health();
    assert.equal(health.ok, true);
    const [issuer] = health.issuers;
    assert.equal(issuer.endpointsKnown, true);
    assert.deepEqual([issuer.jwks.loaded, issuer.jwks.fresh, issuer.lastFailure], [true, true, null]);
    assert.ok(issuer.jwks.keys >= 1);
    assert.ok(Math.abs(issuer.lastAnswerAt - Date.now() / 1000) < 30);
    assert.ok(issuer.lastAnswerAgeSeconds >= 0 && issuer.lastAnswerAgeSeconds < 30);
    const m = v.metrics();
    assert.equal(m.issuer, as.issuer);
    assert.deepEqual(m.decisions, [
      { outcome: 'accepted', source: 'jwt', tier: 'hit', count: 1 },
      { outcome: 'accepted', source: 'jwt', tier: 'miss', count: 1 },
    ]);
    assert.deepEqual(Object.keys(m.jwks).sort(), ['ageSeconds', 'failures', 'fresh', 'keys', 'loaded', 'refreshes']);
    assert.deepEqual(Object.keys(m.joins).sort(), ['introspection', 'jwks']);
    assert.deepEqual(
      m.requests.map((r) => [r.endpoint, r.result, r.count]),
      [
        ['discovery', 'ok', 1],
        ['jwks', 'ok', 1],
      ],
    );
    assert.deepEqual(v.stats(), { introspectionRequests: 0, jwksFetches: 1, accepted: 2, refused: 0 });
  });
});

describe('bearerguard/prometheus', () => {
  test('one collector over two validators: each family once, the samples of both issuers', async () => {
    const a = new Validator(rsBasicOptions(as));
    const b = new Validator(DOWN);
    await a.validate(await getToken(as, 'opaque', 'read'));
    await rejection(b.validate('an-opaque-token'));
    const registry = new Registry();
    const collector = collect([a, b], { registry });
    const text = await registry.metrics();
    const names = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => m[1]);
    assert.deepEqual(
      names,
      Validator._metricFamilies([a]).map((f) => f.name),
    );
    assert.equal(new Set(names).size, 9);
    const samples = parseExposition(text);
    assertLabelsFromConfig(samples, [as.issuer, DOWN.issuer]);
    assert.equal(sumOf(samples, 'bearerguard_decisions_total', { issuer: as.issuer, outcome: 'accepted' }), 1);
    assert.equal(sumOf(samples, 'bearerguard_decisions_total', { issuer: DOWN.issuer, outcome: 'unavailable' }), 1);
    assert.equal(sumOf(samples, 'bearerguard_cache_entries', { issuer: as.issuer, cache: 'introspection' }), 1);
    // The same numbers as the core's snapshot of each validator.
    assert.equal(
      sumOf(samples, 'bearerguard_decisions_total', { issuer: DOWN.issuer }),
      b.metrics().decisions.reduce((n, d) => n + d.count, 0),
    );
    // JSON too (getMetricsAsJSON reads the same objects).
    const json = await registry.getMetricsAsJSON();
    assert.equal(json.find((m) => m.name === 'bearerguard_decisions_total').type, 'counter');
    assert.throws(() => collect(a, { registry }), /already been registered/);
    collector.unregister();
    assert.equal(await registry.metrics(), '\n');
    collect(a, { registry });
    assert.match(await registry.metrics(), /bearerguard_decisions_total\{/);
  });

  test('an OpenMetrics registry names counters once with _total', async () => {
    const v = new Validator(DOWN);
    await rejection(v.validate('an-opaque-token'));
    const registry = new Registry(Registry.OPENMETRICS_CONTENT_TYPE);
    collect(v, { registry });
    const text = await registry.metrics();
    assert.match(text, /^# TYPE bearerguard_decisions counter$/m);
    assert.match(text, /^bearerguard_decisions_total\{.*outcome="unavailable".*\} 1$/m);
    assert.ok(!text.includes('_total_total'), text);
    assert.match(text, /# EOF\n$/);
  });

  test('without prom-client, a clear error', () => {
    // A preload that makes `prom-client` unresolvable, as in an app that never installed it.
    const hide = `const M = require('node:module'); const r = M._resolveFilename;
      M._resolveFilename = function (request, ...rest) {
        if (request === 'prom-client') throw Object.assign(new Error('not found'), { code: 'MODULE_NOT_FOUND' });
        return r.call(this, request, ...rest);
      };`;
    const script = `${hide}
      const { Validator } = require('./index.js');
      const { collect } = require('./prometheus.js');
      try { collect(new Validator({ issuer: 'https://a.example', audience: 'api' })); }
      catch (e) { console.log(e.message); }`;
    const run = spawnSync(process.execPath, ['-e', script], { cwd: nodeDir, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'bearerguard/prometheus needs the package prom-client: `npm install prom-client`');
  });

  test('collect refuses what is not a validator or a registry', () => {
    assert.throws(() => collect([], { registry: new Registry() }), TypeError);
    assert.throws(() => collect([{}], { registry: new Registry() }), TypeError);
    const v = new Validator(DOWN);
    assert.throws(() => collect(v, { registry: {} }), TypeError);
  });
});
