// Helpers for the tests and the bench: the real authorization server (tests/authorization-server),
// tokens from it, a fake AS and signing keys of our own. (Outside test/: `node --test` would run it.)
import { spawn } from 'node:child_process';
import { generateKeyPairSync, sign as cryptoSign } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const nodeDir = join(repoRoot, 'node');

const READY_TIMEOUT_MS = 20_000;

/**
 * Starts `tests/authorization-server/server.mjs` and resolves with its ready line plus
 * `stop()`. The server also exits on its own when this process dies (its stdin closes).
 * With `tenant` (`[a-z0-9-]{1,20}`), a second server for tests of many issuers: besides its own
 * issuer and signing keys (same kids), its secret-based clients are its own (`<tenant>-<id>`,
 * secret `<tenant>-<secret>`; rs_pkjwt and rs_pkjwt_ed keep their ids): take them from
 * `clients`, as the helpers below do. The ready line's `tenant` says which (`null`: none).
 */
export async function startAuthorizationServer({ shortTtl = 2, tenant } = {}) {
  const args = ['--short-ttl', String(shortTtl), ...(tenant === undefined ? [] : ['--tenant', tenant])];
  const child = spawn(process.execPath, [join(repoRoot, 'tests', 'authorization-server', 'server.mjs'), ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let log = '';
  child.stderr.setEncoding('utf8').on('data', (d) => {
    log += d;
  });
  const exited = once(child, 'exit');
  const line = await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no ready line in ${READY_TIMEOUT_MS} ms:\n${log}`)),
      READY_TIMEOUT_MS,
    );
    child.on('exit', (code) => reject(new Error(`authorization server exited (${code}):\n${log}`)));
    createInterface({ input: child.stdout }).once('line', (l) => {
      clearTimeout(timer);
      resolve(l);
    });
  });
  const ready = JSON.parse(line);
  if (ready.ready !== true) throw new Error(`unexpected ready line: ${line}`);
  return {
    ...ready,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}

function basic(id, secret) {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

async function post(url, form, authorization, headers = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${url}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : {};
}

/** A fresh access token for `resource` (a name from the ready line) from client svc-client. */
export async function getToken(as, resource, scope = 'read write') {
  const { client_id: id, client_secret: secret } = as.clients.svc;
  const form = { grant_type: 'client_credentials', scope, resource: as.resources[resource] };
  return (await post(as.token_endpoint, form, basic(id, secret))).access_token;
}

/**
 * A fresh access token for the resource URL `resourceUrl` (any URL the AS knows, loopback ones
 * included; `null` for none) from svc-client (JWTs for loopback resources) or, with `opaque`,
 * svc-opaque-client (opaque ones).
 */
export async function getTokenFor(as, resourceUrl, scope = 'read', { opaque = false } = {}) {
  const { client_id: id, client_secret: secret } = as.clients[opaque ? 'svc_opaque' : 'svc'];
  const form = { grant_type: 'client_credentials', scope };
  if (resourceUrl !== null) form.resource = resourceUrl;
  return (await post(as.token_endpoint, form, basic(id, secret))).access_token;
}

/**
 * A DPoP-bound access token (RFC 9449 §5) for the resource URL `resourceUrl` (a loopback one, or
 * one of the ready line's `resources`): the token request carries `proof`, a DPoP proof for
 * `POST` to the token endpoint made by the client's key, so the token's `cnf.jkt` names that key.
 * From svc-client (JWTs), or svc-opaque-client with `opaque` (opaque tokens for loopback
 * resources). Resolves with the token response (`access_token`, `token_type: 'DPoP'`).
 */
export async function getDpopToken(as, proof, resourceUrl, scope = 'read write', { opaque = false } = {}) {
  const { client_id: id, client_secret: secret } = as.clients[opaque ? 'svc_opaque' : 'svc'];
  const form = { grant_type: 'client_credentials', scope, resource: resourceUrl };
  return post(as.token_endpoint, form, basic(id, secret), { dpop: proof });
}

/** Revokes `token` as svc-client, the client it was issued to. */
export async function revoke(as, token) {
  const { client_id: id, client_secret: secret } = as.clients.svc;
  await post(as.revocation_endpoint, { token, token_type_hint: 'access_token' }, basic(id, secret));
}

/** A validator config (camelCase) for the real AS: rs-basic, every resource as an audience. */
export function rsBasicOptions(as, extra = {}) {
  return {
    issuer: as.issuer,
    audience: Object.values(as.resources),
    clientId: as.clients.rs_basic.client_id,
    clientSecret: as.clients.rs_basic.client_secret,
    ...extra,
  };
}

/** Starts a node:http server on 127.0.0.1:0; resolves with its base URL and `close()`. */
export async function listen(handler) {
  const server = createServer(handler);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

/** The error a promise rejects with (fails when it resolves). */
export async function rejection(promise) {
  try {
    await promise;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection, got a result');
}

/** A validator's shared-tier counters when it has no shared tier (`stats().shared`). */
export const NO_SHARED = Object.freeze({
  hits: 0,
  misses: 0,
  errors: 0,
  rejected: 0,
  skipped: 0,
  waits: 0,
  forgetsReceived: 0,
});

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** An RSA signing key with its public JWKS, for tokens made by the tests themselves. */
export function makeSigner(kid = 'test-key-1') {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwks = { keys: [{ ...publicKey.export({ format: 'jwk' }), kid, alg: 'RS256', use: 'sig' }] };
  const b64 = (value) => Buffer.from(JSON.stringify(value)).toString('base64url');
  return {
    jwks,
    sign(payload, header = {}) {
      const input = `${b64({ alg: 'RS256', typ: 'at+jwt', kid, ...header })}.${b64(payload)}`;
      return `${input}.${cryptoSign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
    },
  };
}

/**
 * A fake authorization server on 127.0.0.1:0: GET anything serves `state.jwks`, POST anything
 * answers `state.introspection` ({ status, contentType, body }) after `state.delayMs`.
 * Counts requests in `state.requests`.
 */
export async function fakeAuthorizationServer(state) {
  state.requests = { jwks: 0, introspection: 0 };
  const server = await listen((req, res) => {
    req.resume();
    if (req.method === 'GET') {
      state.requests.jwks += 1;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(state.jwks ?? { keys: [] }));
      return;
    }
    state.requests.introspection += 1;
    const { status = 200, contentType = 'application/json', body = { active: false } } = state.introspection ?? {};
    setTimeout(() => {
      res.statusCode = status;
      res.setHeader('content-type', contentType);
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    }, state.delayMs ?? 0);
  });
  return server;
}

/** The demo's request list (tests/demo/requests.json: `make demo`, the every-framework and metrics tests). */
export const demoRequests = JSON.parse(readFileSync(join(repoRoot, 'tests', 'demo', 'requests.json'), 'utf8')).requests;

/** Validator options whose authorization server is unreachable, as the demo's "down" row uses. */
export const DOWN_OPTIONS = Object.freeze({
  issuer: 'http://127.0.0.1:9',
  audience: 'api',
  realm: 'orders',
  http: Object.freeze({ connectTimeoutMs: 200, retry: false }),
});

/**
 * Each of the demo's requests with the `Authorization` value it names (`undefined`: none):
 * tokens from the real authorization server `as`, a garbage value, a JWT that has expired by
 * the time this resolves (it waits out the server's short TTL), any token for the "down" row.
 */
export async function demoAuthorizations(as) {
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
  for (const r of demoRequests) sent.push([r, await authorization[r.token](r)]);
  await sleep((as.short_ttl + 1) * 1000);
  return sent;
}
