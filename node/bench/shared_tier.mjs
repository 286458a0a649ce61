// bearerguard's shared second tier (`cache.shared`) from Node: what an awaited call costs whose
// first tier misses and whose second tier (a local redis-server) hits, next to a first-tier hit.
//
// A redis-server of its own on a free 127.0.0.1 port (no persistence, killed at the end) and
// the test kit's authorization server, which counts the introspection requests it answers. A
// writer validator introspects TOKENS opaque tokens into Redis; a reader with
// `cache.maxEntries = 1` (the least allowed) cycles through them, so every call misses its first
// tier and finds the verdict in Redis. Sequential awaited calls, each timed, median over all of
// them. The run stops with a message, printing no figure, unless the reader's
// `stats().shared.hits` grew by exactly the number of calls and the authorization server
// answered no request meanwhile.
//
//   node bench/shared_tier.mjs --out ../target/bench/shared_node.json   (from node/, after a build)
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

const require = createRequire(import.meta.url);
const { Validator } = require('../index.js');
const { startAuthorizationServer } = require('../testing.js');

const { values: args } = parseArgs({ options: { out: { type: 'string' } } });
if (!args.out) throw new Error('usage: shared_tier.mjs --out FILE');
const TOKENS = 1000;
const ROUNDS = Number(process.env.BENCH_RUNS ?? 5);
const SECRET = 'bench-shared-tier-secret-0123456789abcdef';

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const p90 = (xs) => [...xs].sort((a, b) => a - b)[Math.round((xs.length - 1) * 0.9)];

const freePort = () =>
  new Promise((resolve, reject) => {
    const probe = createServer().once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });

const ping = (port) =>
  new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.setTimeout(500, () => socket.destroy());
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
    socket.once('data', (data) => {
      resolve(data.toString().startsWith('+PONG'));
      socket.destroy();
    });
    socket.once('connect', () => socket.write('PING\r\n'));
  });

/** Its own redis-server: a free loopback port, no persistence, its own directory. */
async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'bearerguard-redis-'));
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    { stdio: 'ignore' },
  );
  const stop = () => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stop);
  let exited = null;
  child.once('error', (e) => {
    exited = e.code === 'ENOENT' ? 'redis-server is not installed: run `make setup`' : String(e);
  });
  child.once('exit', (code) => {
    exited ??= `redis-server exited at start (${code})`;
  });
  const deadline = Date.now() + 10_000;
  while (!(await ping(port))) {
    if (exited) throw new Error(exited);
    if (Date.now() > deadline) throw new Error('redis-server did not answer PING within 10 s');
    await new Promise((r) => setTimeout(r, 20));
  }
  return { url: `redis://127.0.0.1:${port}/0`, stop };
}

const shared = (url) => ({
  url,
  keyPrefix: 'bench-node',
  secrets: [{ id: 'k1', secret: SECRET }],
  // Generous: a noisy machine must not turn a hit into a timeout (a miss).
  timeoutMs: 1000,
});

const redis = await startRedis();
const server = await startAuthorizationServer();
try {
  const writer = new Validator({ ...server.config, cache: { shared: shared(redis.url) } });
  const tokens = Array.from({ length: TOKENS }, () => server.opaqueToken({ scope: 'read write' }));
  for (const t of tokens) await writer.validate(t);
  const reader = new Validator({ ...server.config, cache: { maxEntries: 1, shared: shared(redis.url) } });
  for (const t of tokens) await reader.validate(t); // warm-up: the connection, one round
  const counts = () => [reader.stats().shared.hits, server.counts().introspection];
  const before = counts();
  const callsUs = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const t of tokens) {
      const start = performance.now();
      await reader.validate(t);
      callsUs.push((performance.now() - start) * 1000);
    }
  }
  const after = counts();
  const [hits, asked] = [after[0] - before[0], after[1] - before[1]];
  if (hits !== callsUs.length || asked !== 0) {
    console.error(
      `${callsUs.length} calls, shared hits grew by ${hits}, introspection requests by ${asked}: ` +
        'not a second-tier hit every call',
    );
    process.exit(1);
  }
  // A first-tier hit, timed like compare.mjs's cache hit: mean over a batch, median of rounds.
  const token = tokens[0];
  await writer.validate(token);
  const n = 20_000;
  for (let i = 0; i < n / 10; i++) await writer.validate(token);
  const rounds = [];
  for (let r = 0; r < ROUNDS; r++) {
    const start = performance.now();
    for (let i = 0; i < n; i++) await writer.validate(token);
    rounds.push(((performance.now() - start) * 1000) / n);
  }
  const figures = {
    tokens: TOKENS,
    rounds: ROUNDS,
    second_tier_hit: { promise: { us: median(callsUs), p90_us: p90(callsUs), calls: callsUs.length } },
    first_tier_hit: { promise: { us: median(rounds) } },
  };
  console.log(
    `shared tier, Node: second-tier hit ${figures.second_tier_hit.promise.us.toFixed(1)} µs | ` +
      `first-tier hit ${figures.first_tier_hit.promise.us.toFixed(2)} µs`,
  );
  mkdirSync(dirname(args.out), { recursive: true });
  writeFileSync(args.out, JSON.stringify(figures, null, 2));
} finally {
  await server.close();
  redis.stop();
}
