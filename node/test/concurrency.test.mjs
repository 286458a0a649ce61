// 500 concurrent validations of one new opaque token: one introspection request, and the
// event loop keeps running meanwhile (a 1 ms setInterval keeps firing on time).
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { after, before, test } from 'node:test';

import { Validator } from 'bearerguard';
import { fakeAuthorizationServer, getToken, rsBasicOptions, startAuthorizationServer } from '../support/helpers.mjs';

const CALLERS = 500;
// The fake AS below answers after AS_DELAY_MS: an event loop that waited for it would show a
// gap at least that long (or hang: that AS runs on this very loop). Issuing 500 calls and
// settling them costs the loop about 20-30 ms in one go on 2 cores (napi's per-call promise
// machinery), up to 90 ms when the machine is busy with other work. The bound sits between.
const AS_DELAY_MS = 400;
const MAX_TIMER_GAP_MS = 150;

/** Runs `work` while a 1 ms interval ticks; resolves with its result and the largest gap. */
async function withTicker(work) {
  const ticks = [performance.now()];
  const ticker = setInterval(() => ticks.push(performance.now()), 1);
  try {
    const result = await work();
    ticks.push(performance.now());
    const gaps = ticks.slice(1).map((t, i) => t - ticks[i]);
    return { result, maxGap: Math.max(...gaps), ticks: ticks.length - 2, elapsed: ticks.at(-1) - ticks[0] };
  } finally {
    clearInterval(ticker);
  }
}

let as;
before(async () => {
  as = await startAuthorizationServer();
});
after(() => as?.stop());

test(`${CALLERS} concurrent calls, real AS: one introspection request`, async (t) => {
  const validator = new Validator(rsBasicOptions(as));
  const token = await getToken(as, 'opaque');
  const { result, maxGap } = await withTicker(() =>
    Promise.all(Array.from({ length: CALLERS }, () => validator.validate(token, { scopes: ['read'] }))),
  );
  t.diagnostic(`largest gap between 1 ms timer ticks: ${maxGap.toFixed(1)} ms`);
  assert.equal(result.length, CALLERS);
  assert.ok(result.every((info) => info.clientId === 'svc-client' && info.source === 'introspection'));
  assert.equal(validator.stats().introspectionRequests, 1);
  assert.ok(maxGap < MAX_TIMER_GAP_MS, `the 1 ms timer waited ${maxGap.toFixed(1)} ms`);
});

test(`${CALLERS} concurrent calls, an AS in this very process that answers after ${AS_DELAY_MS} ms`, async (t) => {
  // The fake AS runs on this event loop: if validating ever blocked the loop while waiting for
  // the AS, the AS could not answer and this test would hang instead of passing.
  const state = {
    delayMs: AS_DELAY_MS,
    introspection: { body: { active: true, scope: 'read', client_id: 'svc', exp: Math.floor(Date.now() / 1000) + 60 } },
  };
  const fake = await fakeAuthorizationServer(state);
  try {
    const validator = new Validator({
      issuer: fake.url,
      audience: 'api',
      discovery: false,
      introspectionEndpoint: `${fake.url}/introspect`,
      clientId: 'rs',
      clientSecret: 'secret',
    });
    const { result, maxGap, ticks, elapsed } = await withTicker(() =>
      Promise.all(Array.from({ length: CALLERS }, () => validator.validate('one-new-opaque-token'))),
    );
    t.diagnostic(
      `largest gap between 1 ms timer ticks: ${maxGap.toFixed(1)} ms (${ticks} ticks in ${elapsed.toFixed(0)} ms)`,
    );
    assert.equal(result.length, CALLERS);
    assert.equal(state.requests.introspection, 1);
    assert.equal(validator.stats().introspectionRequests, 1);
    assert.ok(elapsed >= AS_DELAY_MS, `answered after ${elapsed} ms`);
    assert.ok(maxGap < MAX_TIMER_GAP_MS, `the 1 ms timer waited ${maxGap.toFixed(1)} ms`);
    assert.ok(ticks >= elapsed / 10, `only ${ticks} ticks in ${elapsed.toFixed(0)} ms`);
  } finally {
    await fake.close();
  }
});
