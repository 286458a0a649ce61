// The MCP example server (node/examples/mcp-server.mjs) driven by the TypeScript SDK's own
// Client with StreamableHTTPClientTransport, with real tokens from oidc-provider (JWT and
// opaque, resource indicators for this server and for another resource). docs/security.md
// RES-1..RES-5. Plus bearerguard/mcp from a CommonJS app: the SDK's CommonJS copy answers 401.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

import { DpopKey } from 'bearerguard/testing';
import { getDpopToken, getTokenFor, listen, nodeDir, startAuthorizationServer } from '../support/helpers.mjs';

const EXAMPLE = join(nodeDir, 'examples', 'mcp-server.mjs');

function rsConfig(as, extra = {}) {
  const rs = as.clients.rs_basic;
  return { issuer: as.issuer, client_id: rs.client_id, client_secret: rs.client_secret, ...extra };
}

async function startExample(config, mode = 'middleware') {
  const child = spawn(process.execPath, [EXAMPLE], {
    env: { ...process.env, BEARERGUARD_CONFIG: JSON.stringify(config), MCP_AUTH: mode },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const exited = once(child, 'exit');
  const line = await new Promise((resolve, reject) => {
    child.on('exit', (code) => reject(new Error(`the MCP example exited (${code})`)));
    createInterface({ input: child.stdout }).once('line', resolve);
  });
  return {
    ...JSON.parse(line),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
    },
  };
}

/** Calls `whoami` with the SDK's client; resolves with its structured result (null when the
 * client failed) and every HTTP response the client saw. */
async function callWhoami(url, bearer) {
  const seen = [];
  const recording = async (input, init) => {
    const res = await fetch(input, init);
    seen.push(res);
    return res;
  };
  const headers = bearer ? { Authorization: `Bearer ${bearer}` } : {};
  const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers }, fetch: recording });
  const client = new Client({ name: 'bearerguard-test', version: '1.0.0' });
  try {
    await client.connect(transport);
    const result = await client.callTool({ name: 'whoami', arguments: {} });
    assert.ok(!result.isError, JSON.stringify(result));
    return { result: result.structuredContent, seen };
  } catch (error) {
    if (error instanceof assert.AssertionError) throw error;
    return { result: null, seen };
  } finally {
    await client.close().catch(() => {});
  }
}

function challenge(seen) {
  const refused = seen.find((r) => r.status >= 400);
  assert.ok(refused, `no refusal among ${seen.map((r) => r.status)}`);
  return { status: refused.status, www: refused.headers.get('www-authenticate') ?? '' };
}

let as;
let server;
before(async () => {
  as = await startAuthorizationServer();
  server = await startExample(rsConfig(as));
});
after(async () => {
  await server?.stop();
  await as?.stop();
});

describe('MCP example (TypeScript SDK client, streamable HTTP)', () => {
  for (const opaque of [false, true]) {
    test(`a good ${opaque ? 'opaque' : 'JWT'} token calls the tool`, async () => {
      const { result } = await callWhoami(server.resource, await getTokenFor(as, server.resource, 'read', { opaque }));
      assert.ok(result, 'the tool call succeeded');
      assert.equal(result.resource, server.resource);
      assert.deepEqual(result.scopes, ['read']);
    });
  }

  test('write implies read (scope hierarchy), reported in AuthInfo', async () => {
    const { result } = await callWhoami(
      server.resource,
      await getTokenFor(as, server.resource, 'write', { opaque: true }),
    );
    assert.deepEqual(result?.scopes, ['write', 'read']);
  });

  test('no token: 401 without error, whose resource_metadata document names the issuer', async () => {
    const { result, seen } = await callWhoami(server.resource, null);
    assert.equal(result, null);
    const { status, www } = challenge(seen);
    assert.equal(status, 401);
    assert.doesNotMatch(www, /error=/);
    assert.match(www, /scope="read"/);
    const url = www.match(/resource_metadata="([^"]+)"/)?.[1];
    assert.equal(url, `http://127.0.0.1:${server.port}/.well-known/oauth-protected-resource/mcp`);
    const doc = await fetch(url);
    assert.equal(doc.status, 200);
    assert.equal(doc.headers.get('cache-control'), 'public, max-age=3600');
    const body = await doc.json();
    assert.deepEqual(body.authorization_servers, [as.issuer]);
    assert.equal(body.resource, server.resource);
    assert.ok(!(body.scopes_supported ?? []).includes('offline_access'));
  });

  for (const opaque of [false, true]) {
    test(`a ${opaque ? 'opaque' : 'JWT'} token for another resource is 401`, async () => {
      const other = as.resources[opaque ? 'opaque' : 'jwt'];
      const { result, seen } = await callWhoami(server.resource, await getTokenFor(as, other, 'read', { opaque }));
      assert.equal(result, null);
      const { status, www } = challenge(seen);
      assert.equal(status, 401);
      assert.match(www, /error="invalid_token"/);
      assert.match(www, /resource_metadata="/);
    });
  }

  test('an under-scoped token is 403 with scope', async () => {
    const { result, seen } = await callWhoami(server.resource, await getTokenFor(as, server.resource, 'admin'));
    assert.equal(result, null);
    const { status, www } = challenge(seen);
    assert.equal(status, 403);
    assert.match(www, /error="insufficient_scope"/);
    assert.match(www, /scope="read"/);
    assert.match(www, /error_description="The request requires higher privileges than provided by the access token"/);
  });

  test('an opaque token without aud is refused with resource set, accepted with the switch', async () => {
    const noAud = await getTokenFor(as, null, 'read', { opaque: true });
    const { result, seen } = await callWhoami(server.resource, noAud);
    assert.equal(result, null);
    assert.equal(challenge(seen).status, 401);
    const lenient = await startExample(rsConfig(as, { introspection: { require_aud: false } }));
    try {
      const { result: ok } = await callWhoami(lenient.resource, noAud);
      assert.deepEqual(ok?.scopes, ['read']);
    } finally {
      await lenient.stop();
    }
  });

  test('the SDK path (requireBearerAuth + mcpVerifier): accepts, refuses with 401/403', async () => {
    const sdk = await startExample(rsConfig(as), 'sdk');
    try {
      const { result } = await callWhoami(sdk.resource, await getTokenFor(as, sdk.resource, 'write'));
      assert.deepEqual(result?.scopes, ['write', 'read']);
      const other = await callWhoami(sdk.resource, await getTokenFor(as, as.resources.jwt, 'read'));
      assert.equal(challenge(other.seen).status, 401);
      const under = await callWhoami(sdk.resource, await getTokenFor(as, sdk.resource, 'admin'));
      assert.equal(challenge(under.seen).status, 403);
    } finally {
      await sdk.stop();
    }
  });

  test('the authorization server stopped, an uncached opaque token: 503 (bearerguard), never 401 (SDK path)', async () => {
    const down = await startAuthorizationServer();
    const ours = await startExample(rsConfig(down));
    const sdk = await startExample(rsConfig(down), 'sdk');
    try {
      const forOurs = await getTokenFor(down, ours.resource, 'read', { opaque: true });
      const forSdk = await getTokenFor(down, sdk.resource, 'read', { opaque: true });
      await down.stop();
      const a = await callWhoami(ours.resource, forOurs);
      assert.equal(a.result, null);
      assert.deepEqual(challenge(a.seen), { status: 503, www: '' });
      const b = await callWhoami(sdk.resource, forSdk);
      assert.equal(b.result, null);
      const { status } = challenge(b.seen);
      assert.ok(status >= 500, `the SDK's answer to an outage is a server error, got ${status}`);
    } finally {
      await ours.stop();
      await sdk.stop();
    }
  });
});

describe('MCP example with DPoP (requireMcpToken)', () => {
  test('a DPoP-bound token from the authorization server calls the tool with its proofs; nonce, replay and Bearer answered', async () => {
    const nonceKey = randomBytes(32).toString('base64url');
    const dpop = await startExample(rsConfig(as, { sender_constraint: 'allow', dpop: { nonce_key: nonceKey } }));
    try {
      const key = DpopKey.generate();
      const issued = await getDpopToken(as, key.proof('POST', as.token_endpoint), dpop.resource, 'read');
      assert.equal(issued.token_type, 'DPoP');
      const token = issued.access_token;
      const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} });
      const post = (headers) =>
        fetch(dpop.resource, {
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
          body,
        });

      // No nonce yet: 401 use_dpop_nonce with the nonce to use.
      const first = await post({ authorization: `DPoP ${token}`, dpop: key.proof('POST', dpop.resource, token) });
      assert.equal(first.status, 401);
      assert.deepEqual(await first.json(), { error: 'use_dpop_nonce' });
      assert.match(first.headers.get('www-authenticate'), /DPoP error="use_dpop_nonce"/);
      let nonce = first.headers.get('dpop-nonce');
      assert.ok(nonce, 'a DPoP-Nonce header');

      // The SDK's own client, each of its requests with a fresh proof and the latest nonce.
      const proofs = [];
      const withDpop = async (input, init = {}) => {
        const method = init.method ?? 'GET';
        const proof = key.proofWith({ method, url: String(input), accessToken: token, nonce });
        proofs.push(proof);
        const headers = new Headers(init.headers);
        headers.set('authorization', `DPoP ${token}`);
        headers.set('dpop', proof);
        const res = await fetch(input, { ...init, headers });
        if (res.ok) assert.ok(res.headers.get('dpop-nonce'), `a DPoP-Nonce header on the ${method} answer`);
        nonce = res.headers.get('dpop-nonce') ?? nonce;
        return res;
      };
      const transport = new StreamableHTTPClientTransport(new URL(dpop.resource), { fetch: withDpop });
      const client = new Client({ name: 'bearerguard-dpop-test', version: '1.0.0' });
      try {
        await client.connect(transport);
        const result = await client.callTool({ name: 'whoami', arguments: {} });
        assert.ok(!result.isError, JSON.stringify(result));
        assert.deepEqual(result.structuredContent, {
          clientId: 'svc-client',
          scopes: ['read'],
          resource: dpop.resource,
        });
      } finally {
        await client.close().catch(() => {});
      }

      // A proof the client used, again: a replay.
      const replay = await post({ authorization: `DPoP ${token}`, dpop: proofs[0] });
      assert.equal(replay.status, 401);
      assert.deepEqual(await replay.json(), { error: 'invalid_dpop_proof' });
      // The bound token as a bearer token: a downgrade.
      const bearer = await post({ authorization: `Bearer ${token}` });
      assert.equal(bearer.status, 401);
      assert.deepEqual(await bearer.json(), { error: 'invalid_token' });
    } finally {
      await dpop.stop();
    }
  });
});

describe('bearerguard/mcp from a CommonJS app', () => {
  test("the SDK's CommonJS requireBearerAuth answers 401 and 403 for bearerguard's verifier", async () => {
    const require = createRequire(join(nodeDir, 'examples', 'app.cjs'));
    const { Validator } = require('bearerguard');
    const { mcpVerifier } = require('bearerguard/mcp');
    const { requireBearerAuth } = require('@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js');
    const express = require('express');
    const resource = 'https://api.example.test/jwt';
    const validator = new Validator(rsConfig(as, { resource }));
    const app = express();
    app.use(requireBearerAuth({ verifier: mcpVerifier({ validator }), requiredScopes: ['write'] }));
    app.get('/', (req, res) => res.json({ scopes: req.auth.scopes }));
    const { url, close } = await listen(app);
    try {
      const call = async (scope, target = resource) => {
        const token = await getTokenFor(as, target, scope);
        return fetch(url, { headers: { authorization: `Bearer ${token}` } });
      };
      assert.equal((await call('write')).status, 200);
      assert.equal((await call('read')).status, 403);
      assert.equal((await call('write', as.resources.opaque)).status, 401);
    } finally {
      await close();
    }
  });
});
