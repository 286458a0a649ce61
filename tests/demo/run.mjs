// The main job: start the real authorization server and every API protected by bearerguard
// (Rust/axum; Python: FastAPI, Flask, Starlette, Litestar, Django, Django REST framework; Node:
// Express, Fastify, Koa, Hono, NestJS — each where it is built), obtain real tokens, send every
// framework the same requests (tests/demo/requests.json, the list the adapters' table tests
// use), and print one table per framework plus whether they all decided alike. The last
// request is sent after the authorization server is stopped: a token never seen before cannot
// be checked, and every framework must answer 503. Then the MCP example servers of Python and
// Node (the official SDKs), six requests each, the last one also after the stop.
//
// `--frameworks=django,fastify,axum` (or FRAMEWORKS=… for `make demo`) selects frameworks by a
// case-insensitive prefix of their names; only the processes serving them start.
//
// App contract: the app reads the validator config (core JSON keys) from BEARERGUARD_CONFIG,
// listens on 127.0.0.1, prints {"ready":true,"port":N} (one app) or
// {"ready":true,"apps":{"<name>":{"port":N,"prefix":"/p"}}} (several) on stdout, and serves
// GET <prefix>/orders requiring scope "write".
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const children = [];
process.on('exit', () => {
  for (const c of children) c.kill();
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(1));

const selected = (process.argv.find((a) => a.startsWith('--frameworks=')) ?? '')
  .slice('--frameworks='.length)
  .split(',')
  .map((s) => s.trim().toLowerCase())
  .filter(Boolean);
const wanted = (name) => selected.length === 0 || selected.some((s) => name.toLowerCase().startsWith(s));

function start(cmd, args, env = {}) {
  const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${cmd} ${args.join(' ')}: no ready line in 600 s`)), 600_000);
    child.on('exit', (code) => reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}`)));
    createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer);
      resolve({
        ...JSON.parse(line),
        stop: () => {
          child.kill();
          return exited;
        },
      });
    });
  });
}

const processes = [
  {
    language: 'Rust',
    frameworks: ['axum'],
    cmd: 'cargo',
    args: ['run', '-q', '-p', 'bearerguard', '--features', 'axum', '--example', 'protected_api'],
    ready: () => true,
  },
  {
    language: 'Python',
    frameworks: ['FastAPI', 'Flask', 'Starlette', 'Litestar', 'Django', 'Django async', 'Django REST framework'],
    cmd: join(root, '.venv/bin/python'),
    args: [join(root, 'python/examples/frameworks_app.py')],
    ready: () => existsSync(join(root, '.venv/bin/python')),
  },
  {
    language: 'Node',
    frameworks: ['Express', 'Fastify', 'Koa', 'Hono', 'NestJS'],
    cmd: process.execPath,
    args: [join(root, 'node/examples/frameworks_app.js')],
    ready: () => existsSync(join(root, 'node/native.js')) && existsSync(join(root, 'node/node_modules/fastify')),
  },
];

const as = await start(process.execPath, [join(root, 'tests/authorization-server/server.mjs')]);
// A token for the resource URL `resourceUrl` (JWTs from svc-client; opaque ones for loopback
// resources from svc-opaque-client).
async function tokenFor(resourceUrl, scope, client = as.clients.svc, server = as) {
  const basic = Buffer.from(
    `${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`,
  ).toString('base64');
  const res = await fetch(server.token_endpoint, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope, resource: resourceUrl }),
  });
  if (!res.ok) throw new Error(`token endpoint: ${res.status} ${await res.text()}`);
  return (await res.json()).access_token;
}
const token = (resource, scope) => tokenFor(as.resources[resource], scope);

const config = {
  issuer: as.issuer,
  audience: [as.resources.jwt, as.resources.opaque, as.resources.short_jwt],
  client_id: as.clients.rs_basic.client_id,
  client_secret: as.clients.rs_basic.client_secret,
  leeway_secs: 0,
  realm: 'orders',
};
const running = []; // { name, base }
for (const p of processes) {
  const names = p.frameworks.filter(wanted);
  if (names.length === 0) continue;
  if (!p.ready()) {
    console.log(`(skipping ${p.language}: not built yet)`);
    continue;
  }
  const ready = await start(p.cmd, p.args, { BEARERGUARD_CONFIG: JSON.stringify(config) });
  const apps = ready.apps ?? { [p.frameworks[0]]: { port: ready.port, prefix: '' } };
  for (const name of names) {
    running.push({ name: `${p.language} (${name})`, base: `http://127.0.0.1:${apps[name].port}${apps[name].prefix}` });
  }
}

const { requests } = JSON.parse(readFileSync(join(root, 'tests/demo/requests.json'), 'utf8'));
const expiring = await token('short_jwt', 'read write');
const values = {
  none: async () => undefined,
  garbage: async () => 'Bearer not-a-real-token',
  expired: async () => `Bearer ${expiring}`,
  // A token no app has seen: once the authorization server is stopped, nobody can check it.
  down: async () => `Bearer ${await token('opaque', 'read write')}`,
  jwt: async (r) => `Bearer ${await token('jwt', r.scope)}`,
  opaque: async (r) => `Bearer ${await token('opaque', r.scope)}`,
};
const sent = [];
for (const r of requests) sent.push([r, await values[r.token](r)]);
await new Promise((r) => setTimeout(r, (as.short_ttl + 1) * 1000));

// MCP servers (python/examples/mcp_server.py on the mcp SDK, node/examples/mcp-server.mjs on
// the TypeScript SDK), each its own resource `http://127.0.0.1:<port>/mcp`: an MCP initialize
// request per row. The config names no audience: `resource` is it.
const mcpApps = [
  {
    name: 'MCP (Python, mcp SDK)',
    cmd: join(root, '.venv/bin/python'),
    args: [join(root, 'python/examples/mcp_server.py')],
    ready: () => existsSync(join(root, '.venv/bin/python')),
  },
  {
    name: 'MCP (Node, TypeScript SDK)',
    cmd: process.execPath,
    args: [join(root, 'node/examples/mcp-server.mjs')],
    ready: () => existsSync(join(root, 'node/node_modules/@modelcontextprotocol/sdk')),
  },
].filter((app) => wanted(app.name));
const { audience: _audience, realm: _realm, ...mcpConfig } = config;
const initialize = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'demo', version: '1' } },
});
async function mcpSend(server, label, authorization) {
  const res = await fetch(server.resource, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(authorization ? { authorization } : {}),
    },
    body: initialize,
  });
  await res.arrayBuffer();
  server.rows.push([label, String(res.status), res.headers.get('www-authenticate') ?? '-']);
}
const mcpServers = [];
for (const app of mcpApps) {
  if (!app.ready()) {
    console.log(`(skipping ${app.name}: not built yet)`);
    continue;
  }
  const ready = await start(app.cmd, app.args, { BEARERGUARD_CONFIG: JSON.stringify(mcpConfig) });
  const server = { name: app.name, resource: ready.resource, rows: [] };
  const mcpRequests = [
    ['JWT for this resource', `Bearer ${await tokenFor(ready.resource, 'read')}`],
    ['opaque, "write" implies "read"', `Bearer ${await tokenFor(ready.resource, 'write', as.clients.svc_opaque)}`],
    ['no token', undefined],
    ['JWT for another resource', `Bearer ${await token('jwt', 'read')}`],
    ['token lacking scope "read"', `Bearer ${await tokenFor(ready.resource, 'admin')}`],
  ];
  for (const [label, authorization] of mcpRequests) await mcpSend(server, label, authorization);
  // Sent after the authorization server is stopped: an opaque token never seen.
  server.down = `Bearer ${await tokenFor(ready.resource, 'read', as.clients.svc_opaque)}`;
  mcpServers.push(server);
}
if (running.length === 0 && mcpServers.length === 0) {
  console.log(`no framework matches --frameworks=${selected.join(',')}`);
  process.exit(1);
}

const decisions = Object.fromEntries(running.map((app) => [app.name, []]));
async function send(r, authorization) {
  for (const app of running) {
    const res = await fetch(`${app.base}/orders`, { headers: authorization ? { authorization } : {} });
    await res.arrayBuffer();
    decisions[app.name].push([r.label, String(res.status), res.headers.get('www-authenticate') ?? '-']);
  }
}
for (const [r, authorization] of sent) if (r.token !== 'down') await send(r, authorization);

// One API, two tenants: the Rust app with one validator for two authorization servers (two
// issuers, each with its own signing keys and clients). JWTs are routed by their `iss`, opaque
// tokens tried at each tenant's introspection endpoint in order; an issuer the API does not list
// is refused without a request to it.
const tenantRows = [];
let tenantsOk = true;
if (wanted('axum') && processes[0].ready()) {
  const asB = await start(process.execPath, [join(root, 'tests/authorization-server/server.mjs'), '--tenant', 'b']);
  const asC = await start(process.execPath, [join(root, 'tests/authorization-server/server.mjs'), '--tenant', 'c']);
  const entryOf = (server) => ({
    issuer: server.issuer,
    audience: [server.resources.jwt, server.resources.opaque],
    client_id: server.clients.rs_basic.client_id,
    client_secret: server.clients.rs_basic.client_secret,
    realm: 'orders',
  });
  const tenants = { opaque_routing: 'in_order', issuers: [entryOf(as), entryOf(asB)] };
  const app = await start(processes[0].cmd, processes[0].args, { BEARERGUARD_CONFIG: JSON.stringify(tenants) });
  const countersOf = async (server) => (await fetch(server.counters_url)).json();
  const cBefore = await countersOf(asC);
  const cases = [
    ['tenant A: JWT', as, 'jwt', '200'],
    ['tenant B: JWT', asB, 'jwt', '200'],
    ['tenant A: opaque token', as, 'opaque', '200'],
    ['tenant B: opaque token', asB, 'opaque', '200'],
    ['unlisted issuer: JWT', asC, 'jwt', '401'],
  ];
  for (const [label, server, resource, expected] of cases) {
    const t = await tokenFor(server.resources[resource], 'read write', server.clients.svc, server);
    const res = await fetch(`http://127.0.0.1:${app.port}/orders`, { headers: { authorization: `Bearer ${t}` } });
    await res.arrayBuffer();
    tenantRows.push([label, String(res.status), res.headers.get('www-authenticate') ?? '-']);
    tenantsOk &&= String(res.status) === expected;
  }
  const cAfter = await countersOf(asC);
  const askedC = ['discovery', 'jwks', 'introspection'].some((k) => cAfter[k] !== cBefore[k]);
  tenantsOk &&= !askedC;
  tenantRows.push(['requests to the unlisted issuer', askedC ? 'some' : '0', '-']);
  await Promise.all([app.stop(), asB.stop(), asC.stop()]);
}
await as.stop();
for (const [r, authorization] of sent) if (r.token === 'down') await send(r, authorization);
for (const server of mcpServers) await mcpSend(server, 'AS stopped, opaque never seen', server.down);

const widths = [30, 6];
for (const [name, rows] of Object.entries(decisions)) {
  console.log(`\n${name}  GET /orders (requires scope "write")`);
  console.log(`${'request'.padEnd(widths[0])} ${'status'.padEnd(widths[1])} WWW-Authenticate`);
  for (const [a, b, c] of rows) console.log(`${a.padEnd(widths[0])} ${b.padEnd(widths[1])} ${c}`);
}
for (const { name, resource, rows } of mcpServers) {
  console.log(`\n${name}  POST /mcp initialize (requires scope "read"), resource ${resource}`);
  console.log(`${'request'.padEnd(32)} ${'status'.padEnd(6)} WWW-Authenticate (port elided)`);
  for (const [a, b, c] of rows) console.log(`${a.padEnd(32)} ${b.padEnd(6)} ${c.replace(/:\d+\//g, ':…/')}`);
}
if (tenantRows.length > 0) {
  console.log('\nRust (axum), one API for two tenants  GET /orders (requires scope "write")');
  console.log(`${'request'.padEnd(32)} ${'status'.padEnd(6)} WWW-Authenticate`);
  for (const [a, b, c] of tenantRows) console.log(`${a.padEnd(32)} ${b.padEnd(6)} ${c}`);
  console.log(
    tenantsOk
      ? '\ntwo tenants: decisions are as expected (200 200 200 200 401, the unlisted issuer never asked)'
      : '\nUNEXPECTED two-tenant decisions',
  );
}
const mcpDecisions = Object.fromEntries(mcpServers.map((m) => [m.name, m.rows.map((r) => r[1]).join(' ')]));
const mcpExpected = '200 200 401 401 403 503';
const mcpOk = Object.values(mcpDecisions).every((d) => d === mcpExpected);
console.log(
  mcpOk
    ? `\nMCP decisions are as expected (${mcpExpected}) in ${mcpServers.length} server(s)`
    : `\nUNEXPECTED MCP decisions: ${JSON.stringify(mcpDecisions)}`,
);

const names = Object.keys(decisions);
const same = names.every((n) => JSON.stringify(decisions[n]) === JSON.stringify(decisions[names[0]]));
console.log(
  `\n${names.length} framework(s): ${same ? 'every framework made the same decisions' : 'THE FRAMEWORKS DISAGREE'}`,
);
const order = [...sent.filter(([r]) => r.token !== 'down'), ...sent.filter(([r]) => r.token === 'down')];
const expected = order.map(([r]) => String(r.status));
const ok = names.every((n) => decisions[n].map((r) => r[1]).join() === expected.join());
console.log(ok ? `decisions are as expected (${expected.join(' ')})` : 'UNEXPECTED decisions');
process.exit(same && ok && mcpOk && tenantsOk ? 0 : 1);
