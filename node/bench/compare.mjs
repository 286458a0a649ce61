// bearerguard from Node next to the libraries a Node API would use instead, in one run.
// Figures only, no assertions on speed. Every library first proves it accepts the good token
// and refuses a tampered one, so no one is timed doing less than the others.
//
// JWT (key already cached, full checks: signature, alg allow-list, iss, aud, exp required):
//   bearerguard `validate` (JWKS from a loopback server) against `jose` jwtVerify with a local
//   JWK set, `jsonwebtoken` verify with the KeyObject imported once (it has no EdDSA), and
//   `fast-jwt` createVerifier with the PEM key, without and with its `cache` (10,000 entries,
//   as ours); every call awaited, the synchronous verifiers too; RS256, ES256, EdDSA; timed
//   two ways:
//   - first seen: one list of tokens, a new `jti` each, all signed before any timing, enough
//     for the warm-up and every round; each library validates each token once, in order;
//   - repeated: one token every call (bearerguard and fast-jwt's cache remember it).
// Introspection (RFC 7662, cache off so every call is a request) against one loopback server
//   (core/examples/introspection_server.rs, compiled release): bearerguard against `fetch`,
//   sequential and with 16 in flight; and a cache hit. During the miss cases the server runs
//   pinned to CPU 0 and this process (every thread) to CPU 1 with `taskset` (skipped, with a
//   note, when there is no taskset or fewer than two CPUs).
//
//   node bench/compare.mjs --server target/release/examples/introspection_server --out x.json
// (after `npm run build` in node/ and `npm install` in node/bench/)
import { execFileSync, spawn } from 'node:child_process';
import { generateKeyPairSync, createPublicKey } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';

import * as jose from 'jose';
import { createVerifier } from 'fast-jwt';
import jsonwebtoken from 'jsonwebtoken';

const require = createRequire(import.meta.url);
const { Validator } = require('../index.js');

const { values: args } = parseArgs({
  options: {
    server: { type: 'string' },
    out: { type: 'string' },
    n: { type: 'string', default: '2000' },
    'first-n': { type: 'string', default: '500' },
  },
});
if (!args.server || !args.out) throw new Error('usage: compare.mjs --server PATH --out FILE [--n N]');
const N = Number(args.n);
const FIRST_N = Number(args['first-n']);
const RUNS = Number(process.env.BENCH_RUNS ?? 7);
const TASKSET = ['/usr/bin/taskset', '/bin/taskset', '/usr/local/bin/taskset'].find((p) => {
  try {
    execFileSync(p, ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});
const PIN = TASKSET !== undefined && availableParallelism() >= 2;
/**
 * Every thread of this process onto `cpus` (taskset -a), when pinning is on; tried again when
 * it fails (it does when a thread ends while it goes through them).
 */
const pinSelf = (cpus) => {
  if (!PIN) return;
  for (let attempt = 1; ; attempt++) {
    try {
      execFileSync(TASKSET, ['-a', '-p', '-c', cpus, String(process.pid)], { stdio: 'ignore' });
      return;
    } catch (e) {
      if (attempt === 3) throw e;
    }
  }
};
const AUD = 'bench-api';

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

// A round of `medianUs` lasts at least this long and its warm-up at least WARM_MS, so a call of
// a microsecond is timed over ~100,000 calls after V8 has optimised the loop (a fixed 2,000 calls
// timed the first library of a run before tier-up: twice its steady cost).
const ROUND_MS = 100;
const WARM_MS = 50;

/**
 * Median over RUNS of the mean µs per awaited call over at least `n` calls, and enough calls
 * for a round of ROUND_MS (the count estimated from a warm-up of WARM_MS).
 */
async function medianUs(call, n = N) {
  let warm = 0;
  const warmStart = performance.now();
  while (warm < Math.max(50, n / 10) || performance.now() - warmStart < WARM_MS) {
    await call();
    warm++;
  }
  const perCallMs = (performance.now() - warmStart) / warm;
  const count = Math.max(n, Math.ceil(ROUND_MS / perCallMs));
  const samples = [];
  for (let r = 0; r < RUNS; r++) {
    const start = performance.now();
    for (let i = 0; i < count; i++) await call();
    samples.push(((performance.now() - start) * 1000) / count);
  }
  return median(samples);
}

/** Like `medianUs`, each call on the next token of `tokens` (each used once). */
async function medianFirstSeenUs(call, tokens, n = FIRST_N) {
  const warm = tokens.length - n * RUNS;
  if (warm < 0) throw new Error('not enough first-seen tokens');
  for (let i = 0; i < warm; i++) await call(tokens[i]);
  const samples = [];
  for (let r = 0; r < RUNS; r++) {
    const batch = tokens.slice(warm + r * n, warm + (r + 1) * n);
    const start = performance.now();
    for (const t of batch) await call(t);
    samples.push(((performance.now() - start) * 1000) / n);
  }
  return median(samples);
}

/** Calls per second with `inFlight` callers each awaiting `call` in a loop. */
async function inFlightOps(call, inFlight, total) {
  const worker = async (count) => {
    for (let i = 0; i < count; i++) await call();
  };
  await Promise.all(Array.from({ length: inFlight }, () => worker(20)));
  const samples = [];
  for (let r = 0; r < RUNS; r++) {
    const start = performance.now();
    await Promise.all(Array.from({ length: inFlight }, () => worker(Math.floor(total / inFlight))));
    samples.push(total / ((performance.now() - start) / 1000));
  }
  return median(samples);
}

async function refuses(call) {
  try {
    await call();
  } catch {
    return true;
  }
  return false;
}

async function jwtBenchmarks() {
  const pairs = {
    RS256: generateKeyPairSync('rsa', { modulusLength: 2048 }),
    ES256: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
    EdDSA: generateKeyPairSync('ed25519'),
  };
  const jwks = {
    keys: Object.entries(pairs).map(([alg, { publicKey }]) => ({
      ...publicKey.export({ format: 'jwk' }),
      kid: `${alg.toLowerCase()}-1`,
      alg,
      use: 'sig',
    })),
  };
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(jwks));
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const validator = new Validator({
    issuer,
    audience: AUD,
    discovery: false,
    jwksUri: `${issuer}/jwks`,
    strategy: 'jwt',
    algorithms: Object.keys(pairs),
  });
  const joseKeys = jose.createLocalJWKSet(jwks);
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    sub: 'alice',
    client_id: 'bench-client',
    scope: 'read write',
    jti: 'bench-jti-0001',
  };
  const results = {};
  for (const [alg, { privateKey }] of Object.entries(pairs)) {
    const kid = `${alg.toLowerCase()}-1`;
    const sign = (extra) =>
      new jose.SignJWT({ ...claims, ...extra })
        .setProtectedHeader({ alg, kid, typ: 'at+jwt' })
        .setIssuer(issuer)
        .setAudience(AUD)
        .setIssuedAt(now)
        .setExpirationTime(now + 3600)
        .sign(privateKey);
    const token = await sign({});
    // One shared list: warm-up plus every round, each token new to every library.
    const firstSeen = [];
    for (let i = 0; i < Math.max(50, FIRST_N / 5) + FIRST_N * RUNS; i++) {
      firstSeen.push(await sign({ jti: `first-seen-${alg}-${String(i).padStart(6, '0')}` }));
    }
    const [h, p, s] = token.split('.');
    const tampered = `${h}.${p}.${s.slice(0, -4)}${s.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    const keyObject = createPublicKey({ key: jwks.keys.find((k) => k.kid === kid), format: 'jwk' });
    const verifyOptions = { issuer, audience: AUD, requiredClaims: ['exp', 'iss', 'aud'], algorithms: [alg] };
    const pem = keyObject.export({ type: 'spki', format: 'pem' });
    const fastOptions = {
      key: pem,
      algorithms: [alg],
      allowedIss: issuer,
      allowedAud: AUD,
      requiredClaims: ['exp', 'iss', 'aud'],
    };
    const fastVerify = createVerifier(fastOptions);
    const fastCached = createVerifier({ ...fastOptions, cache: 10_000 });
    const libs = {
      bearerguard: async (t = token) => (await validator.validate(t)).subject,
      jose: async (t = token) => (await jose.jwtVerify(t, joseKeys, verifyOptions)).payload.sub,
    };
    // jsonwebtoken 9 has no EdDSA.
    if (alg !== 'EdDSA') {
      libs.jsonwebtoken = async (t = token) => {
        const payload = jsonwebtoken.verify(t, keyObject, { algorithms: [alg], issuer, audience: AUD });
        if (typeof payload.exp !== 'number') throw new Error('exp is required');
        return payload.sub;
      };
    }
    libs['fast-jwt'] = async (t = token) => fastVerify(t).sub;
    libs['fast-jwt (cache)'] = async (t = token) => fastCached(t).sub;
    for (const [name, call] of Object.entries(libs)) {
      if ((await call()) !== 'alice' || !(await refuses(() => call(tampered)))) {
        throw new Error(`${name} did not accept the good ${alg} token and refuse the tampered one`);
      }
    }
    const perAlg = {};
    for (const [name, call] of Object.entries(libs)) {
      perAlg[name] = { first_seen_us: await medianFirstSeenUs(call, firstSeen) };
    }
    for (const [name, call] of Object.entries(libs)) perAlg[name].repeated_us = await medianUs(() => call());
    results[alg] = perAlg;
    console.log(
      `JWT ${alg} first seen: ${Object.entries(perAlg)
        .map(([k, v]) => `${k} ${v.first_seen_us.toFixed(1)} µs`)
        .join(', ')} | repeated: ${Object.entries(perAlg)
        .map(([k, v]) => `${k} ${v.repeated_us.toFixed(2)} µs`)
        .join(', ')}`,
    );
  }
  server.close();
  return results;
}

async function startServer(path) {
  if (!PIN) console.log('note: no taskset (or one CPU): the introspection server and client are not pinned');
  const child = PIN
    ? spawn(TASKSET, ['-c', '0', path], { stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn(path, [], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    child.stdout.once('data', (chunk) => resolve(String(chunk).trim()));
    child.once('error', reject);
  });
  if (!line.startsWith('listening on ')) throw new Error(`the introspection server did not start: ${line}`);
  return { child, url: line.slice('listening on '.length) };
}

async function introspectionBenchmarks() {
  const { child, url } = await startServer(args.server);
  try {
    const endpoint = `${url}/introspect`;
    const common = {
      issuer: url,
      audience: AUD,
      discovery: false,
      introspectionEndpoint: endpoint,
      clientId: 'bench',
      clientSecret: 'bench-secret',
    };
    const uncached = new Validator({ ...common, cache: { enabled: false } });
    const cached = new Validator(common);
    const authorization = `Basic ${Buffer.from('bench:bench-secret').toString('base64')}`;
    const libs = {
      bearerguard: async () => (await uncached.validate('opaque-bench-token')).subject,
      fetch: async () => {
        const r = await fetch(endpoint, {
          method: 'POST',
          headers: { authorization, 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ token: 'opaque-bench-token', token_type_hint: 'access_token' }),
        });
        if (!r.ok) throw new Error(`status ${r.status}`);
        const body = await r.json();
        return body.active === true ? body.sub : undefined;
      },
    };
    for (const [name, call] of Object.entries(libs)) {
      if ((await call()) !== 'alice') throw new Error(`${name} did not introspect the token`);
    }
    if (!(await refuses(() => uncached.validate('revoked-token')))) throw new Error('accepted an inactive token');
    const out = { pinned: PIN, sequential: {}, in_flight_16: {} };
    const original = execFileSync(TASKSET ?? 'true', TASKSET ? ['-p', '-c', String(process.pid)] : [])
      .toString()
      .split(':')
      .pop()
      .trim();
    pinSelf('1');
    for (const [name, call] of Object.entries(libs)) {
      const us = await medianUs(call);
      out.sequential[name] = { us, ops: 1e6 / us };
    }
    for (const [name, call] of Object.entries(libs)) {
      out.in_flight_16[name] = { ops: await inFlightOps(call, 16, N * 4) };
    }
    pinSelf(original);
    await cached.validate('opaque-bench-token');
    out.cache_hit = { promise: { us: await medianUs(() => cached.validate('opaque-bench-token')) } };
    console.log(
      `introspection: ${Object.entries(out.sequential)
        .map(([k, v]) => `${k} ${v.ops.toFixed(0)}/s`)
        .join(', ')} | 16 in flight: ${Object.entries(out.in_flight_16)
        .map(([k, v]) => `${k} ${v.ops.toFixed(0)}/s`)
        .join(', ')} | cache hit ${out.cache_hit.promise.us.toFixed(2)} µs`,
    );
    return out;
  } finally {
    child.kill();
  }
}

const version = (name) => JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')).version;
const figures = {
  node: process.versions.node,
  versions: {
    bearerguard: JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version,
    jose: version('jose'),
    jsonwebtoken: version('jsonwebtoken'),
    'fast-jwt': version('fast-jwt'),
  },
  runs: RUNS,
  first_seen_per_run: FIRST_N,
  jwt: await jwtBenchmarks(),
  introspection: await introspectionBenchmarks(),
};
mkdirSync(dirname(args.out), { recursive: true });
writeFileSync(args.out, JSON.stringify(figures, null, 2));
