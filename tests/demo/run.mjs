// The main job: start the real authorization server and every API protected by bearerguard
// (Rust/axum, Python/FastAPI, Node/Express — each where it is built), obtain real tokens,
// call each API with the same six requests, and print one table per app plus whether they
// all decided alike; then the MCP example servers of Python and Node, five requests each.
//
// App contract: the app reads the validator config (core JSON keys) from BEARERGUARD_CONFIG,
// listens on 127.0.0.1, prints {"ready":true,"port":N} on stdout, and serves GET /orders
// requiring scope "write".
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const children = [];
process.on('exit', () => {
  for (const c of children) c.kill();
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(1));

function start(cmd, args, env = {}) {
  const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${cmd} ${args.join(' ')}: no ready line in 600 s`)), 600_000);
    child.on('exit', (code) => reject(new Error(`${cmd} ${args.join(' ')} exited with ${code}`)));
    createInterface({ input: child.stdout }).once('line', (line) => {
      clearTimeout(timer);
      resolve(JSON.parse(line));
    });
  });
}

const apps = [
  {
    name: 'Rust (axum)',
    cmd: 'cargo',
    args: ['run', '-q', '-p', 'bearerguard', '--example', 'protected_api'],
    ready: () => true,
  },
  {
    name: 'Python (FastAPI)',
    cmd: join(root, '.venv/bin/python'),
    args: [join(root, 'python/examples/fastapi_app.py')],
    ready: () => existsSync(join(root, '.venv/bin/python')) && existsSync(join(root, 'python/examples/fastapi_app.py')),
  },
  {
    name: 'Node (Express)',
    cmd: process.execPath,
    args: [join(root, 'node/examples/express_app.js')],
    ready: () => existsSync(join(root, 'node/examples/express_app.js')) && existsSync(join(root, 'node/native.js')),
  },
];

const as = await start(process.execPath, [join(root, 'tests/authorization-server/server.mjs')]);
// A token for the resource URL `resourceUrl` (JWTs from svc-client; opaque ones for loopback
// resources from svc-opaque-client).
async function tokenFor(resourceUrl, scope, client = as.clients.svc) {
  const basic = Buffer.from(
    `${encodeURIComponent(client.client_id)}:${encodeURIComponent(client.client_secret)}`,
  ).toString('base64');
  const res = await fetch(as.token_endpoint, {
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
const running = [];
for (const app of apps) {
  if (!app.ready()) {
    console.log(`(skipping ${app.name}: not built yet)`);
    continue;
  }
  const ready = await start(app.cmd, app.args, { BEARERGUARD_CONFIG: JSON.stringify(config) });
  running.push({ ...app, base: `http://127.0.0.1:${ready.port}` });
}

const expiring = await token('short_jwt', 'read write');
const requests = [
  ['JWT access token (RS256)', `Bearer ${await token('jwt', 'read write')}`],
  ['opaque token (introspection)', `Bearer ${await token('opaque', 'read write')}`],
  ['no token', undefined],
  ['garbage token', 'Bearer not-a-real-token'],
  ['expired JWT', `Bearer ${expiring}`],
  ['token lacking scope "write"', `Bearer ${await token('opaque', 'read')}`],
];
await new Promise((r) => setTimeout(r, (as.short_ttl + 1) * 1000));

const decisions = {};
for (const app of running) {
  const rows = [];
  for (const [label, authorization] of requests) {
    const res = await fetch(`${app.base}/orders`, { headers: authorization ? { authorization } : {} });
    await res.arrayBuffer();
    rows.push([label, String(res.status), res.headers.get('www-authenticate') ?? '-']);
  }
  decisions[app.name] = rows;
  const widths = [30, 6];
  console.log(`\n${app.name}  GET /orders (requires scope "write")`);
  console.log(`${'request'.padEnd(widths[0])} ${'status'.padEnd(widths[1])} WWW-Authenticate`);
  for (const [a, b, c] of rows) console.log(`${a.padEnd(widths[0])} ${b.padEnd(widths[1])} ${c}`);
}
// MCP servers (python/examples/mcp_server.py on the mcp SDK, node/examples/mcp-server.mjs on
// the TypeScript SDK), each its own resource `http://127.0.0.1:<port>/mcp`: an MCP initialize
// request per row. The config names no audience: `resource` is it.
const mcpApps = [
  {
    name: 'Python MCP (mcp SDK)',
    cmd: join(root, '.venv/bin/python'),
    args: [join(root, 'python/examples/mcp_server.py')],
    ready: () => existsSync(join(root, '.venv/bin/python')),
  },
  {
    name: 'Node MCP (TypeScript SDK)',
    cmd: process.execPath,
    args: [join(root, 'node/examples/mcp-server.mjs')],
    ready: () => existsSync(join(root, 'node/node_modules/@modelcontextprotocol/sdk')),
  },
];
const { audience: _audience, realm: _realm, ...mcpConfig } = config;
const initialize = JSON.stringify({
  jsonrpc: '2.0',
  id: 1,
  method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'demo', version: '1' } },
});
const mcpDecisions = {};
for (const app of mcpApps) {
  if (!app.ready()) {
    console.log(`(skipping ${app.name}: not built yet)`);
    continue;
  }
  const ready = await start(app.cmd, app.args, { BEARERGUARD_CONFIG: JSON.stringify(mcpConfig) });
  const mcpRequests = [
    ['JWT for this resource', `Bearer ${await tokenFor(ready.resource, 'read')}`],
    ['opaque, "write" implies "read"', `Bearer ${await tokenFor(ready.resource, 'write', as.clients.svc_opaque)}`],
    ['no token', undefined],
    ['JWT for another resource', `Bearer ${await token('jwt', 'read')}`],
    ['token lacking scope "read"', `Bearer ${await tokenFor(ready.resource, 'admin')}`],
  ];
  const rows = [];
  for (const [label, authorization] of mcpRequests) {
    const res = await fetch(ready.resource, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...(authorization ? { authorization } : {}),
      },
      body: initialize,
    });
    await res.arrayBuffer();
    rows.push([label, String(res.status), res.headers.get('www-authenticate') ?? '-']);
  }
  mcpDecisions[app.name] = rows.map((r) => r[1]).join(' ');
  console.log(`\n${app.name}  POST /mcp initialize (requires scope "read"), resource ${ready.resource}`);
  console.log(`${'request'.padEnd(32)} ${'status'.padEnd(6)} WWW-Authenticate (port elided)`);
  for (const [a, b, c] of rows) console.log(`${a.padEnd(32)} ${b.padEnd(6)} ${c.replace(/:\d+\//g, ':…/')}`);
}
const mcpExpected = '200 200 401 401 403';
const mcpOk = Object.values(mcpDecisions).every((d) => d === mcpExpected);
console.log(
  mcpOk
    ? `\nMCP decisions are as expected (${mcpExpected}) in ${Object.keys(mcpDecisions).length} server(s)`
    : `\nUNEXPECTED MCP decisions: ${JSON.stringify(mcpDecisions)}`,
);

const names = Object.keys(decisions);
const same = names.every((n) => JSON.stringify(decisions[n]) === JSON.stringify(decisions[names[0]]));
console.log(`\n${names.length} app(s): ${same ? 'every app made the same decisions' : 'THE APPS DISAGREE'}`);
const expected = ['200', '200', '401', '401', '401', '403'];
const ok = names.every((n) => decisions[n].map((r) => r[1]).join() === expected.join());
console.log(ok ? 'decisions are as expected (200 200 401 401 401 403)' : 'UNEXPECTED decisions');
process.exit(same && ok && mcpOk ? 0 : 1);
