// The README's examples run as written, from an app outside the package that depends on it
// (node_modules/bearerguard links to node/, as `npm install <path to node/>` makes it), with
// the environment pointing at the real authorization server. node/README.md always; the
// repository README's Node section too, when it has one. BEARERGUARD_TEST_APP names an app
// directory that already has bearerguard and express installed (the packed tarballs, by
// tests/dist/smoke.py) to run them there instead.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import {
  getToken,
  getTokenFor,
  listen,
  nodeDir,
  repoRoot,
  sleep,
  startAuthorizationServer,
} from '../support/helpers.mjs';

/** The ```js / ```mjs blocks of `markdown` (```js server: an example that serves HTTP). */
function codeBlocks(markdown) {
  return [...markdown.matchAll(/^```(js|mjs|javascript)( server| mcp-server)?\n([\s\S]*?)^```$/gm)].map((m) => ({
    module: m[1] === 'mjs' || /^import /m.test(m[3]),
    server: Boolean(m[2]),
    mcp: m[2] === ' mcp-server',
    code: m[3],
  }));
}

/** The part of the repository README about Node (a heading naming Node, to the next one). */
function nodeSection(markdown) {
  const match = markdown.match(/^(#+) [^\n]*\bNode\b[^\n]*\n([\s\S]*?)(?=^#{1,2} |(?![\s\S]))/m);
  return match ? match[2] : '';
}

const sources = [['node/README.md', codeBlocks(readFileSync(join(nodeDir, 'README.md'), 'utf8'))]];
const rootReadme = join(repoRoot, 'README.md');
// The repository README's Node section may only point here; its examples run when it has some.
const rootBlocks = existsSync(rootReadme) ? codeBlocks(nodeSection(readFileSync(rootReadme, 'utf8'))) : [];
if (rootBlocks.length > 0) sources.push(['README.md (Node section)', rootBlocks]);

let as;
let app;
let env;
before(async () => {
  as = await startAuthorizationServer();
  app = mkdtempSync(join(process.env.BEARERGUARD_TEST_APP ?? tmpdir(), 'bearerguard-readme-'));
  if (!process.env.BEARERGUARD_TEST_APP) {
    mkdirSync(join(app, 'node_modules'));
    symlinkSync(nodeDir, join(app, 'node_modules', 'bearerguard'));
    symlinkSync(join(nodeDir, 'node_modules', 'express'), join(app, 'node_modules', 'express'));
    symlinkSync(join(nodeDir, 'node_modules', 'prom-client'), join(app, 'node_modules', 'prom-client'));
    mkdirSync(join(app, 'node_modules', '@modelcontextprotocol'));
    symlinkSync(
      join(nodeDir, 'node_modules', '@modelcontextprotocol', 'sdk'),
      join(app, 'node_modules', '@modelcontextprotocol', 'sdk'),
    );
  }
  env = {
    ...process.env,
    OAUTH_ISSUER: as.issuer,
    OAUTH_AUDIENCE: as.resources.opaque,
    OAUTH_CLIENT_ID: as.clients.rs_basic.client_id,
    OAUTH_CLIENT_SECRET: as.clients.rs_basic.client_secret,
    ACCESS_TOKEN: await getToken(as, 'opaque', 'read write'),
  };
});
after(async () => {
  await as?.stop();
  if (app) rmSync(app, { recursive: true, force: true });
});

async function freePort() {
  const probe = await listen(() => {});
  const port = Number(new URL(probe.url).port);
  await probe.close();
  return port;
}

/** The README's MCP server, called with the SDK's own client: a good token, then none. */
async function checkMcpServer(port) {
  const resource = `http://127.0.0.1:${port}/mcp`;
  const token = await getTokenFor(as, resource, 'write', { opaque: true });
  let out;
  for (let attempt = 0; attempt < 100 && !out; attempt++) {
    out = await callWhoami(resource, token);
    if (!out.seen.length) {
      out = undefined;
      await sleep(100);
    }
  }
  assert.ok(out, 'the MCP server never answered');
  assert.equal(out.text, 'svc-opaque-client');
  const refused = await callWhoami(resource, null);
  assert.equal(refused.text, null);
  const first = refused.seen.find((r) => r.status >= 400);
  assert.equal(first?.status, 401);
  assert.match(
    first.headers.get('www-authenticate'),
    /resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource\/mcp"/,
  );
}

async function callWhoami(url, bearer) {
  const seen = [];
  const recording = async (input, init) => {
    const res = await fetch(input, init);
    seen.push(res);
    return res;
  };
  const headers = bearer ? { Authorization: `Bearer ${bearer}` } : {};
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers }, fetch: recording });
  const client = new Client({ name: 'readme-test', version: '1.0.0' });
  try {
    await client.connect(transport);
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    return { text: result.content?.[0]?.text ?? null, seen };
  } catch {
    return { text: null, seen };
  } finally {
    await client.close().catch(() => {});
  }
}

for (const [source, blocks] of sources) {
  describe(source, () => {
    test('has examples', () => assert.ok(blocks.length > 0, `no code blocks in ${source}`));
    blocks.forEach((block, i) => {
      test(`example ${i + 1}${block.server ? ' (a server)' : ''} runs`, async () => {
        const file = join(app, `example-${source.replace(/\W+/g, '-')}-${i + 1}.${block.module ? 'mjs' : 'cjs'}`);
        writeFileSync(file, block.code);
        if (!block.server) {
          const run = spawnSync(process.execPath, [file], { cwd: app, env, encoding: 'utf8', timeout: 30_000 });
          assert.equal(run.status, 0, run.stderr);
          assert.ok(!/refused|undefined/.test(run.stdout) || block.module, run.stdout);
          return;
        }
        const port = await freePort();
        const child = spawn(process.execPath, [file], {
          cwd: app,
          env: { ...env, PORT: String(port) },
          stdio: 'inherit',
        });
        try {
          if (block.mcp) {
            await checkMcpServer(port);
            return;
          }
          const url = `http://127.0.0.1:${port}/orders`;
          let res;
          for (let attempt = 0; attempt < 100 && !res; attempt++) {
            res = await fetch(url, { headers: { authorization: `Bearer ${env.ACCESS_TOKEN}` } }).catch(() =>
              sleep(100),
            );
          }
          assert.ok(res, 'the example server never answered');
          assert.equal(res.status, 200, await res.clone().text());
          assert.deepEqual(await res.json(), { client: 'svc-client', scopes: ['read', 'write'] });
          const missing = await fetch(url);
          assert.equal(missing.status, 401);
          assert.equal(missing.headers.get('www-authenticate'), 'Bearer realm="orders"');
        } finally {
          child.kill();
        }
      });
    });
  });
}

test('the first example prints the token info', () => {
  const [, blocks] = sources[0];
  const file = join(app, 'first.cjs');
  writeFileSync(file, blocks[0].code);
  const run = spawnSync(process.execPath, [file], { cwd: app, env, encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.stdout, 'hello svc-client (introspection), scopes: read write\n', run.stderr);
});

test('the request example answers the token and refuses the request without one', () => {
  const [, blocks] = sources[0];
  const block = blocks.find((b) => b.code.includes('validateRequest'));
  assert.ok(block, 'no validateRequest example');
  const file = join(app, 'request.cjs');
  writeFileSync(file, block.code);
  const run = spawnSync(process.execPath, [file], { cwd: app, env, encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.stdout, '200 hello svc-client\n 401 Bearer\n', run.stderr);
});

test('the DPoP example accepts a proof once: 200, then 401 invalid_dpop_proof on the DPoP challenge', () => {
  const [, blocks] = sources[0];
  const block = blocks.find((b) => b.code.includes('DpopKey'));
  assert.ok(block, 'no DPoP example');
  const file = join(app, 'dpop.cjs');
  writeFileSync(file, block.code);
  const run = spawnSync(process.execPath, [file], { cwd: app, env, encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /^200 401 Bearer, DPoP error="invalid_dpop_proof", .*algs="ES256 [^"]*"\n$/, run.stderr);
});
