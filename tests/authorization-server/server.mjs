#!/usr/bin/env node
// A real OAuth 2.0 authorization server for bearerguard's tests: panva/oidc-provider on
// 127.0.0.1 over plain http, in-memory storage, fresh signing keys at every start.
//
//   node tests/authorization-server/server.mjs [--port N] [--short-ttl SECONDS] [--tenant NAME]
//
// `--tenant NAME` registers the secret-based clients under other ids and secrets (`NAME-<id>`,
// `NAME-<secret>`), so a test can run two instances, two issuers, each with its own clients.
//
// `GET /_test/counters` answers the requests made to each endpoint so far; see README.md.
// When ready it prints exactly one line of JSON to stdout (see README.md); everything else
// goes to stderr. It exits when stdin closes (if stdin is a pipe), when its parent process
// goes away, or on SIGTERM/SIGINT.
import { generateKeyPairSync, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync, fstatSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

// stdout carries only the ready line: send every console.log/info (oidc-provider prints its
// NOTICEs with console.info) to stderr. Done before oidc-provider is imported (dynamically).
const toStderr = (...args) => console.error(...args);
console.log = toStderr;
console.info = toStderr;
console.debug = toStderr;

const HOST = '127.0.0.1';
const here = dirname(fileURLToPath(import.meta.url));
const fixtures = resolve(here, '..', 'fixtures', 'clients');

function fail(message) {
  process.stderr.write(`server.mjs: ${message}\n`);
  process.exit(2);
}

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      'short-ttl': { type: 'string', default: '2' },
      tenant: { type: 'string' },
    },
    strict: true,
  }));
} catch (err) {
  fail(`${err.message}\nusage: node server.mjs [--port N] [--short-ttl SECONDS] [--tenant NAME]`);
}
const port = Number(args.port);
const shortTtl = Number(args['short-ttl']);
if (!Number.isInteger(port) || port < 0 || port > 65535) fail(`invalid --port ${args.port}`);
if (!Number.isInteger(shortTtl) || shortTtl < 1) fail(`invalid --short-ttl ${args['short-ttl']}`);
// A tenant is part of client ids and secrets: a short, plain name keeps them valid everywhere.
const tenant = args.tenant ?? null;
if (tenant !== null && !/^[a-z0-9-]{1,20}$/.test(tenant))
  fail(`invalid --tenant ${args.tenant} (want [a-z0-9-]{1,20})`);

const DEFAULT_TTL = 600;
const SCOPE = 'read write admin';

// ---------------------------------------------------------------------------------------------
// Exit handling: never leave an orphan server behind.
let httpServer;
let exiting = false;
function shutdown(reason) {
  if (exiting) return;
  exiting = true;
  process.stderr.write(`server.mjs: shutting down (${reason})\n`);
  if (httpServer) {
    httpServer.closeAllConnections?.();
    httpServer.close();
  }
  process.exit(0);
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
process.on('SIGHUP', () => shutdown('SIGHUP'));
// Parent test process died -> stdin (a pipe) reaches EOF. Only watched when stdin is a pipe or
// socket, so `node server.mjs </dev/null &` keeps running.
try {
  const st = fstatSync(0);
  if (st.isFIFO() || st.isSocket()) {
    process.stdin.on('end', () => shutdown('stdin closed'));
    process.stdin.on('error', () => shutdown('stdin error'));
    process.stdin.on('data', () => {});
    process.stdin.resume();
  }
} catch {
  // no stdin at all
}
// Belt and braces: if the parent goes away (we get re-parented), exit too.
const originalPpid = process.ppid;
setInterval(() => {
  if (process.ppid !== originalPpid) shutdown('parent process exited');
}, 500).unref();
// stdout closed by the reader is not an error worth a stack trace.
process.stdout.on('error', () => {});

// ---------------------------------------------------------------------------------------------
// AS signing keys, fresh at every start.
function signingJwk(type, options, kid, alg) {
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
}
const asKeys = [
  signingJwk('rsa', { modulusLength: 2048 }, 'as-rsa-1', 'RS256'),
  signingJwk('ec', { namedCurve: 'P-256' }, 'as-ec-1', 'ES256'),
  signingJwk('ed25519', undefined, 'as-ed-1', 'EdDSA'),
];

// ---------------------------------------------------------------------------------------------
// Client keys from tests/fixtures/clients/ (see generate.mjs there).
const files = {
  zitadel: join(fixtures, 'zitadel-rs-pkjwt.json'),
  rsaPkcs8: join(fixtures, 'rs-pkjwt-rsa-pkcs8.pem'),
  rsaJwk: join(fixtures, 'rs-pkjwt-rsa.jwk.json'),
  ec: join(fixtures, 'rs-pkjwt-ec.pem'),
  ed: join(fixtures, 'rs-pkjwt-ed.pem'),
  // svc-mtls-client's certificate (RFC 8705 certificate-bound tokens); only its DER matters.
  mtlsCert: join(fixtures, 'mtls-client.crt.pem'),
};
function publicJwk(pem, kid) {
  const { kty, n, e, crv, x, y } = createPublicKey(createPrivateKey(pem)).export({ format: 'jwk' });
  return Object.fromEntries(
    Object.entries({ kty, kid, use: 'sig', n, e, crv, x, y }).filter(([, v]) => v !== undefined),
  );
}
let zitadelKeyFile;
try {
  zitadelKeyFile = JSON.parse(readFileSync(files.zitadel, 'utf8'));
} catch (err) {
  fail(`cannot read ${files.zitadel} (run node tests/fixtures/clients/generate.mjs): ${err.message}`);
}
if (zitadelKeyFile.type !== 'application' || zitadelKeyFile.clientId !== 'rs-pkjwt') {
  fail(`${files.zitadel} is not an application key file for client rs-pkjwt`);
}
const EC_KID = 'rs-pkjwt-ec';
const ED_KID = 'rs-pkjwt-ed';
const pkjwtJwks = {
  keys: [publicJwk(zitadelKeyFile.key, zitadelKeyFile.keyId), publicJwk(readFileSync(files.ec, 'utf8'), EC_KID)],
};
const pkjwtEdJwks = { keys: [publicJwk(readFileSync(files.ed, 'utf8'), ED_KID)] };

// ---------------------------------------------------------------------------------------------
// Resource servers (RFC 8707 resource indicators).
const RESOURCES = {
  opaque: 'https://api.example.test/opaque',
  jwt: 'https://api.example.test/jwt',
  jwt_es256: 'https://api.example.test/jwt-es256',
  jwt_eddsa: 'https://api.example.test/jwt-eddsa',
  short_jwt: 'https://api.example.test/short-jwt',
  short_opaque: 'https://api.example.test/short-opaque',
};
const resourceServers = new Map(
  [
    [RESOURCES.opaque, { accessTokenFormat: 'opaque', accessTokenTTL: DEFAULT_TTL }],
    [RESOURCES.jwt, { accessTokenFormat: 'jwt', accessTokenTTL: DEFAULT_TTL, jwt: { sign: { alg: 'RS256' } } }],
    [RESOURCES.jwt_es256, { accessTokenFormat: 'jwt', accessTokenTTL: DEFAULT_TTL, jwt: { sign: { alg: 'ES256' } } }],
    [RESOURCES.jwt_eddsa, { accessTokenFormat: 'jwt', accessTokenTTL: DEFAULT_TTL, jwt: { sign: { alg: 'EdDSA' } } }],
    [RESOURCES.short_jwt, { accessTokenFormat: 'jwt', accessTokenTTL: shortTtl, jwt: { sign: { alg: 'RS256' } } }],
    [RESOURCES.short_opaque, { accessTokenFormat: 'opaque', accessTokenTTL: shortTtl }],
  ].map(([url, info]) => [url, { ...info, scope: SCOPE, audience: url }]),
);

// Loopback resources (`http://127.0.0.1:<port>/<path>`, no query or fragment): the MCP example
// servers of the tests, which listen on a free port. svc-opaque-client gets opaque tokens for
// them, svc-client RS256 JWTs; `aud` is the resource URL as requested.
function loopbackResource(resourceIndicator, client) {
  if (!/^http:\/\/127\.0\.0\.1:\d{1,5}\/[A-Za-z0-9._~/-]*$/.test(resourceIndicator)) return undefined;
  const format =
    client?.clientId === CLIENTS.svc_opaque.client_id
      ? { accessTokenFormat: 'opaque' }
      : { accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } };
  return { ...format, accessTokenTTL: DEFAULT_TTL, scope: SCOPE, audience: resourceIndicator };
}

// ---------------------------------------------------------------------------------------------
// Clients. With a tenant, each secret-based client is registered as `<tenant>-<client_id>` with
// the secret `<tenant>-<client_secret>`: a prefix keeps every secret as long as it was (or
// longer, so rs-secretjwt's stays >= 32 bytes for HS256) and keeps rs_special's characters.
// The private_key_jwt clients keep their ids (their key files name them): at a tenant's issuer
// they are still separate registrations. Without a tenant the clients are exactly these.
const tenantClient = ({ client_id, client_secret }) =>
  tenant === null
    ? { client_id, client_secret }
    : { client_id: `${tenant}-${client_id}`, client_secret: `${tenant}-${client_secret}` };
const SECRET_CLIENTS = {
  svc: { client_id: 'svc-client', client_secret: 'svc-secret' },
  // Gets opaque tokens for loopback resources (svc-client gets JWTs for them).
  svc_opaque: { client_id: 'svc-opaque-client', client_secret: 'svc-opaque-secret' },
  rs_basic: { client_id: 'rs-basic', client_secret: 'rs-basic-secret' },
  rs_post: { client_id: 'rs-post', client_secret: 'rs-post-secret' },
  rs_secretjwt: {
    client_id: 'rs-secretjwt',
    client_secret: 'rs-secretjwt-secret-that-is-at-least-32-bytes-long',
  },
  rs_special: { client_id: 'rs special@client:%+/', client_secret: 's3cr@t:%+/ x!' },
  // Gets certificate-bound tokens (RFC 8705): it must present its certificate (MTLS_HEADER).
  svc_mtls: { client_id: 'svc-mtls-client', client_secret: 'svc-mtls-secret' },
};
const CLIENTS = Object.fromEntries(Object.entries(SECRET_CLIENTS).map(([name, c]) => [name, tenantClient(c)]));
// Plain http, so a client certificate comes as a TLS-terminating proxy would pass it: the PEM,
// URL-encoded (nginx's $ssl_client_escaped_cert), in this request header.
const MTLS_HEADER = 'x-client-cert';
const noGrants = { grant_types: [], response_types: [], redirect_uris: [] };
const clients = [
  {
    ...CLIENTS.svc,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: SCOPE,
  },
  {
    ...CLIENTS.svc_opaque,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    scope: SCOPE,
  },
  {
    ...CLIENTS.rs_basic,
    ...noGrants,
    token_endpoint_auth_method: 'client_secret_basic',
    introspection_signed_response_alg: 'RS256',
  },
  { ...CLIENTS.rs_post, ...noGrants, token_endpoint_auth_method: 'client_secret_post' },
  {
    client_id: 'rs-pkjwt',
    ...noGrants,
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: pkjwtJwks,
  },
  {
    client_id: 'rs-pkjwt-ed',
    ...noGrants,
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: pkjwtEdJwks,
  },
  {
    ...CLIENTS.rs_secretjwt,
    ...noGrants,
    token_endpoint_auth_method: 'client_secret_jwt',
    token_endpoint_auth_signing_alg: 'HS256',
  },
  { ...CLIENTS.rs_special, ...noGrants, token_endpoint_auth_method: 'client_secret_basic' },
  {
    ...CLIENTS.svc_mtls,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
    tls_client_certificate_bound_access_tokens: true,
    scope: SCOPE,
  },
];

// ---------------------------------------------------------------------------------------------
// Start: bind first (port 0 = free port), then build the provider with the real issuer.
const { default: Provider, errors } = await import('oidc-provider');

httpServer = createServer();
httpServer.on('error', (err) => fail(`listen on ${HOST}:${port} failed: ${err.message}`));
await new Promise((ok) => httpServer.listen({ port, host: HOST }, ok));
const actualPort = httpServer.address().port;
const issuer = `http://${HOST}:${actualPort}`;

const provider = new Provider(issuer, {
  clients,
  jwks: { keys: asKeys },
  scopes: ['openid', 'read', 'write', 'admin'],
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      // Any authenticated client (a resource server) may introspect any token.
      allowedPolicy: async () => true,
    },
    jwtIntrospection: { enabled: true },
    // DPoP (RFC 9449) is on by default: a token request with a `DPoP` proof gets a token bound
    // to its key (`cnf.jkt`, and `token_type: DPoP`). Certificate-bound tokens (RFC 8705) for
    // clients registered with tls_client_certificate_bound_access_tokens (svc-mtls-client).
    dPoP: { enabled: true },
    mTLS: {
      enabled: true,
      certificateBoundAccessTokens: true,
      getCertificate: (ctx) => {
        const value = ctx.get(MTLS_HEADER);
        return value ? decodeURIComponent(value) : undefined;
      },
    },
    revocation: {
      enabled: true,
      // RFC 7009: only the client the token was issued to may revoke it (oidc-provider's default
      // answers other clients with 400 invalid_request).
      allowedPolicy: async (_ctx, client, token) => {
        if (token.clientId !== client.clientId) {
          throw new errors.InvalidRequest('client is not authorized to revoke the presented token');
        }
        return true;
      },
    },
    resourceIndicators: {
      enabled: true,
      defaultResource: async () => undefined,
      useGrantedResource: async () => false,
      getResourceServerInfo: async (_ctx, resourceIndicator, client) => {
        const info = resourceServers.get(resourceIndicator) ?? loopbackResource(resourceIndicator, client);
        if (!info) throw new errors.InvalidTarget();
        return structuredClone(info);
      },
    },
  },
  ttl: {
    AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? DEFAULT_TTL,
    ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL ?? DEFAULT_TTL,
  },
  // No login UI: a test AS for client_credentials only.
  interactions: { url: async () => '/interaction-not-supported' },
  findAccount: async () => undefined,
  renderError: async (ctx, out) => {
    ctx.type = 'json';
    ctx.body = out;
  },
});
provider.on('server_error', (_ctx, err) => process.stderr.write(`server_error: ${err.stack}\n`));
if (process.env.AS_DEBUG) {
  for (const event of ['grant.error', 'introspection.error', 'revocation.error']) {
    provider.on(event, (_ctx, err) => {
      process.stderr.write(
        `${event}: ${err.message} ${err.error_description ?? ''} ${err.error_detail ?? ''} ${err.cause ? `(cause: ${err.cause.message})` : ''}\n`,
      );
    });
  }
}

// Requests per endpoint, counted at the HTTP layer before oidc-provider sees them: every
// request to the path whatever its method or outcome (a 401, a 400, a bad body all count), so
// tests can assert how often a validator (or a fleet of them) called the server.
// `GET /_test/counters` reads them (not counted itself), `POST /_test/counters/reset` zeroes them.
const ENDPOINT_OF_PATH = new Map([
  ['/.well-known/openid-configuration', 'discovery'],
  ['/.well-known/oauth-authorization-server', 'discovery'],
  ['/token', 'token'],
  ['/token/introspection', 'introspection'],
  ['/token/revocation', 'revocation'],
  ['/jwks', 'jwks'],
]);
const zeroCounters = () => ({ introspection: 0, token: 0, jwks: 0, revocation: 0, discovery: 0 });
let counters = zeroCounters();
function answerJson(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(body === undefined ? undefined : JSON.stringify(body));
}
function testRoute(req, res, path) {
  if (path === '/_test/counters' && req.method === 'GET') return answerJson(res, 200, counters);
  if (path === '/_test/counters/reset' && req.method === 'POST') {
    counters = zeroCounters();
    // The request body (if any) is drained so the connection can be reused.
    req.resume();
    return answerJson(res, 200, counters);
  }
  if (path === '/_test/counters' || path === '/_test/counters/reset') {
    return answerJson(res, 405, { error: 'method_not_allowed' });
  }
  return answerJson(res, 404, { error: 'not_found' });
}
const providerCallback = provider.callback();
httpServer.on('request', (req, res) => {
  const path = (req.url ?? '').split('?', 1)[0];
  if (path.startsWith('/_test/')) return testRoute(req, res, path);
  const endpoint = ENDPOINT_OF_PATH.get(path);
  if (endpoint) counters[endpoint] += 1;
  return providerCallback(req, res);
});

const url = (path) => `${issuer}${path}`;
const ready = {
  ready: true,
  pid: process.pid,
  issuer,
  tenant,
  port: actualPort,
  openid_configuration: url('/.well-known/openid-configuration'),
  token_endpoint: url('/token'),
  introspection_endpoint: url('/token/introspection'),
  revocation_endpoint: url('/token/revocation'),
  jwks_uri: url('/jwks'),
  counters_url: url('/_test/counters'),
  short_ttl: shortTtl,
  default_ttl: DEFAULT_TTL,
  scopes: SCOPE,
  signing_keys: { RS256: 'as-rsa-1', ES256: 'as-ec-1', EdDSA: 'as-ed-1' },
  resources: RESOURCES,
  clients: {
    svc: { ...CLIENTS.svc, token_endpoint_auth_method: 'client_secret_basic' },
    svc_opaque: { ...CLIENTS.svc_opaque, token_endpoint_auth_method: 'client_secret_basic' },
    rs_basic: { ...CLIENTS.rs_basic, token_endpoint_auth_method: 'client_secret_basic' },
    rs_post: { ...CLIENTS.rs_post, token_endpoint_auth_method: 'client_secret_post' },
    rs_pkjwt: {
      client_id: 'rs-pkjwt',
      token_endpoint_auth_method: 'private_key_jwt',
      key_file: files.zitadel,
      key_id: zitadelKeyFile.keyId,
      rsa_pkcs8_pem: files.rsaPkcs8,
      rsa_jwk_file: files.rsaJwk,
      ec_key_pem: files.ec,
      ec_kid: EC_KID,
    },
    rs_pkjwt_ed: {
      client_id: 'rs-pkjwt-ed',
      token_endpoint_auth_method: 'private_key_jwt',
      key_pem: files.ed,
      kid: ED_KID,
    },
    rs_secretjwt: {
      ...CLIENTS.rs_secretjwt,
      token_endpoint_auth_method: 'client_secret_jwt',
      alg: 'HS256',
    },
    rs_special: { ...CLIENTS.rs_special, token_endpoint_auth_method: 'client_secret_basic' },
    svc_mtls: {
      ...CLIENTS.svc_mtls,
      token_endpoint_auth_method: 'client_secret_basic',
      certificate_pem: files.mtlsCert,
      certificate_header: MTLS_HEADER,
    },
  },
};
process.stdout.write(`${JSON.stringify(ready)}\n`);
