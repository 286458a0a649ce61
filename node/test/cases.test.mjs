// The shared conformance cases (tests/cases/*.json, format in tests/cases/README.md), also run
// by `cargo test` and pytest. One node:test test per case; cases that need a fixed clock
// (`now`) run with the addon's fixed-clock test hook, and are skipped, saying why, when the
// addon was built without it.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { inspect } from 'node:util';

import { Validator } from 'bearerguard';
import { listen, repoRoot } from '../support/helpers.mjs';

const require = createRequire(import.meta.url);
const NO_CLOCK = require('../native.js').testHooksEnabled()
  ? false
  : 'needs the fixed-clock test hook: this addon was built without --features test-hooks (make test-node builds with it)';

const casesDir = process.env.BEARERGUARD_CASES_DIR ?? join(repoRoot, 'tests', 'cases');
const only = process.env.BEARERGUARD_CASE;
const files = existsSync(casesDir)
  ? readdirSync(casesDir)
      .filter((f) => f.endsWith('.json'))
      .sort()
  : [];

// Every member a case may have; anything else fails the case (a misspelt expectation must
// not pass silently).
const KNOWN = {
  case: [
    'name',
    'description',
    'now',
    'config',
    'server',
    'token',
    'token_file',
    'scopes',
    'request',
    'expected',
    'again',
    'expected_requests',
  ],
  request: ['method', 'url', 'authorization', 'dpop', 'client_certificate', 'headers'],
  server: ['jwks', 'jwks_status', 'jwks_headers', 'introspection'],
  introspection: ['status', 'content_type', 'headers', 'body', 'body_text'],
  expected: [
    'ok',
    'code',
    'at',
    'source',
    'subject',
    'client_id',
    'username',
    'issuer',
    'token_type',
    'scopes',
    'roles',
    'audiences',
    'expires_at',
    'claims',
    'dpop_nonce',
    'www_authenticate',
  ],
  expected_requests: ['jwks', 'introspect', 'other'],
};

function refuseUnknown(what, object) {
  const unknown = Object.keys(object ?? {}).filter((k) => !KNOWN[what].includes(k));
  assert.deepEqual(unknown, [], `unknown member(s) in ${what}`);
}

const camelCase = (key) => key.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());

/** `{server}` replaced in every string value (not keys) of `value`. */
function substitute(value, base) {
  if (typeof value === 'string') return value.replaceAll('{server}', base);
  if (Array.isArray(value)) return value.map((v) => substitute(v, base));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, base)]));
  }
  return value;
}

/** The canned authorization server of one case, with fresh request counters. */
async function cannedServer(server = {}) {
  const requests = { jwks: 0, introspect: 0, other: 0 };
  let base;
  const http = await listen((req, res) => {
    req.resume();
    const path = new URL(req.url, 'http://x').pathname;
    const send = (status, type, headers, body) => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', ...substitute(headers ?? {}, base) });
      res.end(body);
    };
    if (req.method === 'GET' && path === '/jwks' && server.jwks !== undefined) {
      requests.jwks += 1;
      const body = typeof server.jwks === 'string' ? server.jwks : JSON.stringify(server.jwks);
      send(server.jwks_status ?? 200, 'application/json', server.jwks_headers, body);
    } else if (req.method === 'POST' && path === '/introspect' && server.introspection !== undefined) {
      requests.introspect += 1;
      const answer = server.introspection;
      const body = answer.body_text ?? JSON.stringify(answer.body);
      send(answer.status ?? 200, answer.content_type ?? 'application/json', answer.headers, body);
    } else {
      if (path === '/jwks') requests.jwks += 1;
      else if (path === '/introspect') requests.introspect += 1;
      else requests.other += 1;
      send(404, 'text/plain', {}, 'not found');
    }
  });
  base = http.url;
  return { ...http, requests };
}

function tokenOf(kase) {
  if (kase.token !== undefined) return kase.token;
  return readFileSync(join(repoRoot, 'tests', kase.token_file), 'utf8').trimEnd();
}

/** The error's text must not show the token, its long parts, or the client secret. */
function checkSecrecy(error, token, config) {
  const shown = [error.message, String(error), inspect(error), error.stack, String(error.wwwAuthenticate ?? '')].join(
    '\n',
  );
  const secrets = token.split('.').filter((part) => part.length >= 12);
  if (token.length > 0) secrets.push(token);
  if (typeof config.client_secret === 'string' && config.client_secret.length > 0) secrets.push(config.client_secret);
  for (const secret of secrets) assert.ok(!shown.includes(secret), `the error shows a secret:\n${shown.slice(0, 500)}`);
}

function checkInfo(expected, info) {
  assert.equal(info.source, expected.source, 'source');
  for (const [key, want] of Object.entries(expected)) {
    if (key === 'ok' || key === 'source') continue;
    if (key === 'claims') {
      for (const [claim, value] of Object.entries(want)) {
        assert.ok(Object.hasOwn(info.claims, claim), `claim ${claim} is missing`);
        assert.deepEqual(info.claims[claim], value, `claim ${claim}`);
      }
    } else {
      assert.deepEqual(info[camelCase(key)], want, key);
    }
  }
}

async function run(kase) {
  refuseUnknown('case', kase);
  refuseUnknown('server', kase.server);
  refuseUnknown('introspection', kase.server?.introspection);
  refuseUnknown('expected', kase.expected);
  refuseUnknown('request', kase.request);
  refuseUnknown('expected', kase.again);
  refuseUnknown('expected_requests', kase.expected_requests);
  const { expected } = kase;
  const server = await cannedServer(kase.server);
  try {
    const config = substitute(kase.config, server.url);
    const token = tokenOf(kase);
    let validator;
    try {
      validator = kase.now === undefined ? new Validator(config) : new Validator(config, kase.now);
    } catch (e) {
      assert.equal(expected.at, 'build', `construction failed: ${e.code} ${e.message}`);
      assert.equal(e.code, expected.code, e.message);
      checkSecrecy(e, token, config);
      return;
    }
    assert.notEqual(expected.at, 'build', `construction should fail with ${expected.code}`);
    const decide = () => {
      const scopes = kase.scopes ?? [];
      const r = kase.request;
      if (r === undefined) return validator.validate(token, { scopes });
      return validator.validateRequest(
        {
          authorization: r.authorization,
          method: r.method,
          url: r.url,
          dpop: r.dpop ?? [],
          clientCertificate:
            r.client_certificate === undefined ? undefined : Buffer.from(r.client_certificate, 'base64'),
          headers: Object.fromEntries(Object.entries(r.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
        },
        { scopes },
      );
    };
    const check = (want, info, error) => {
      if (want.ok) {
        if (error) assert.fail(`expected a TokenInfo, got ${error.code}: ${error.message}`);
        checkInfo(want, info);
      } else {
        assert.ok(error, `expected ${want.code}, got a TokenInfo`);
        assert.equal(error.code, want.code, error.message);
        if ('www_authenticate' in want) assert.equal(error.wwwAuthenticate, want.www_authenticate);
        if ('dpop_nonce' in want) assert.equal(error.dpopNonce, want.dpop_nonce);
      }
    };
    let info;
    let error;
    try {
      info = await decide();
    } catch (e) {
      error = e;
    }
    check(expected, info, error);
    for (const [kind, count] of Object.entries(kase.expected_requests ?? {})) {
      assert.equal(server.requests[kind], count, `${kind} requests`);
    }
    if (error) checkSecrecy(error, token, config);
    // The same call once more: a remembered answer (docs/security.md KEY-9) agrees with the
    // first, unless the case says what the second answer is (`again`: a DPoP proof replayed).
    if (kase.again !== undefined) {
      let second;
      let secondError;
      try {
        second = await decide();
      } catch (e) {
        secondError = e;
      }
      check(kase.again, second, secondError);
      return;
    }
    try {
      const second = await decide();
      assert.ok(expected.ok, 'a second call accepted');
      assert.deepEqual(second, info);
    } catch (e) {
      if (e instanceof assert.AssertionError) throw e;
      assert.equal(e.code, error?.code, `a second call answered ${e.code}`);
    }
  } finally {
    await server.close();
  }
}

if (files.length === 0) {
  test('shared cases (tests/cases/*.json)', { skip: 'tests/cases has no case files yet' }, () => {});
}

const tally = { ran: 0, passed: 0, skipped: 0 };
after(() => {
  if (files.length > 0) {
    const skipped = NO_CLOCK ? `, ${tally.skipped} skipped (no fixed-clock test hook)` : '';
    console.log(`conformance: ${tally.ran} cases ran, ${tally.passed} passed${skipped}`);
  }
});

for (const name of files) {
  const { cases } = JSON.parse(readFileSync(join(casesDir, name), 'utf8'));
  describe(`tests/cases/${name}`, () => {
    for (const kase of cases) {
      if (only && !kase.name.includes(only)) continue;
      if (kase.now !== undefined && NO_CLOCK) tally.skipped += 1;
      test(kase.name, { skip: kase.now === undefined ? false : NO_CLOCK }, async () => {
        tally.ran += 1;
        await run(kase);
        tally.passed += 1;
      });
    }
  });
}
