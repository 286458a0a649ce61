#!/usr/bin/env node
// Self-check of the test authorization server: starts server.mjs as a child process, reads its
// ready line and exercises it with plain fetch + jose. One line per check, then
// "N passed, N failed". Exits non-zero on any failure; always stops the server child.
//
//   node tests/authorization-server/smoke.mjs
import { spawn } from 'node:child_process';
import { createPrivateKey, createSecretKey, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT, createRemoteJWKSet, decodeProtectedHeader, importJWK, jwtVerify } from 'jose';

const here = dirname(fileURLToPath(import.meta.url));
const READY_TIMEOUT_MS = 10_000;
const FETCH_TIMEOUT_MS = 5_000;
const OVERALL_TIMEOUT_MS = 30_000;
const SHORT_TTL = 2;

// ---------------------------------------------------------------------------------------------
// Server child process.
const child = spawn(process.execPath, [join(here, 'server.mjs'), '--short-ttl', String(SHORT_TTL)], {
  stdio: ['pipe', 'pipe', 'pipe'],
  env: { ...process.env, AS_DEBUG: '1' },
});
let serverLog = '';
child.stderr.setEncoding('utf8');
child.stderr.on('data', (d) => {
  serverLog += d;
});
let childExited = false;
const childExit = new Promise((ok) =>
  child.on('exit', (code, signal) => {
    childExited = true;
    ok({ code, signal });
  }),
);
process.on('exit', () => {
  if (!childExited) child.kill('SIGKILL');
});

async function stopServer() {
  if (childExited) return;
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await childExit;
  clearTimeout(t);
}

const watchdog = setTimeout(async () => {
  console.log(`FAIL smoke did not finish within ${OVERALL_TIMEOUT_MS} ms`);
  await stopServer();
  process.exit(1);
}, OVERALL_TIMEOUT_MS);

function readReadyLine() {
  return new Promise((ok, ko) => {
    let buf = '';
    const timer = setTimeout(() => ko(new Error(`no ready line within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl !== -1) {
        clearTimeout(timer);
        try {
          ok(JSON.parse(buf.slice(0, nl)));
        } catch {
          ko(new Error(`ready line is not JSON: ${buf.slice(0, nl)}`));
        }
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      ko(new Error(`server exited (code ${code}) before the ready line`));
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Helpers.
function assert(cond, message) {
  if (!cond) throw new Error(message);
}
function eq(actual, expected, what) {
  assert(actual === expected, `${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(actual)}`);
}
const sleep = (ms) => new Promise((ok) => setTimeout(ok, ms));

// application/x-www-form-urlencoded, as RFC 6749 2.3.1 wants for Basic credentials.
const formEncode = (s) => new URLSearchParams([['', s]]).toString().slice(1);
const basic = (id, secret) => `Basic ${Buffer.from(`${formEncode(id)}:${formEncode(secret)}`).toString('base64')}`;
const rawBasic = (id, secret) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

async function post(url, form, headers = {}) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...headers },
    body: new URLSearchParams(form),
    signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

const results = [];
async function check(n, name, fn) {
  try {
    const detail = await fn();
    results.push(true);
    console.log(`ok ${n} - ${name}${detail ? ` (${detail})` : ''}`);
  } catch (err) {
    results.push(false);
    console.log(`FAIL ${n} - ${name}: ${err.message}`);
  }
}

// ---------------------------------------------------------------------------------------------
let ready;
try {
  ready = await readReadyLine();
  eq(ready.ready, true, 'ready');
} catch (err) {
  console.log(`FAIL 0 - server start: ${err.message}`);
  process.stderr.write(serverLog);
  await stopServer();
  console.log('0 passed, 1 failed');
  process.exit(1);
}

const { issuer, clients, resources } = ready;
const C = clients;
const jwks = createRemoteJWKSet(new URL(ready.jwks_uri), { timeoutDuration: FETCH_TIMEOUT_MS });

async function getToken(resource, scope = 'read write') {
  const r = await post(
    ready.token_endpoint,
    { grant_type: 'client_credentials', scope, resource },
    {
      authorization: basic(C.svc.client_id, C.svc.client_secret),
    },
  );
  eq(r.status, 200, `token for ${resource}: status (${r.text})`);
  eq(r.json.token_type, 'Bearer', 'token_type');
  return r.json;
}
function introspectBasic(token, client = C.rs_basic, headers = {}) {
  return post(
    ready.introspection_endpoint,
    { token },
    {
      authorization: basic(client.client_id, client.client_secret),
      ...headers,
    },
  );
}
function expectActive(r, { aud, scope = 'read write', clientId = C.svc.client_id }, who) {
  eq(r.status, 200, `${who}: status (${r.text})`);
  eq(r.json.active, true, `${who}: active`);
  eq(r.json.aud, aud, `${who}: aud`);
  eq(r.json.scope, scope, `${who}: scope`);
  eq(r.json.client_id, clientId, `${who}: client_id`);
  eq(r.json.iss, issuer, `${who}: iss`);
}
async function assertion(clientId, key, alg, kid, extra = {}) {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg, ...(kid ? { kid } : {}) };
  return new SignJWT({ jti: randomUUID(), ...extra })
    .setProtectedHeader(header)
    .setIssuer(clientId)
    .setSubject(clientId)
    .setAudience(issuer)
    .setIssuedAt(now)
    .setExpirationTime(now + 60)
    .sign(key);
}
function introspectWithAssertion(token, clientAssertion) {
  return post(ready.introspection_endpoint, {
    token,
    client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
    client_assertion: clientAssertion,
  });
}

// Short-lived tokens first, so the wait in check 8 overlaps the other checks.
const shortIssuedAt = Date.now();
let shortOpaque;
let shortJwt;
let shortError;
try {
  shortOpaque = await getToken(resources.short_opaque);
  shortJwt = await getToken(resources.short_jwt);
} catch (err) {
  shortError = err;
}

let opaque;
const jwtTokens = {};

await check(
  1,
  'client_credentials tokens for every resource (discovery, JWKS, opaque, RS256/ES256/EdDSA at+jwt)',
  async () => {
    const disc = await fetch(ready.openid_configuration, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    eq(disc.status, 200, 'discovery status');
    const meta = await disc.json();
    eq(meta.issuer, issuer, 'discovery issuer');
    eq(meta.jwks_uri, ready.jwks_uri, 'discovery jwks_uri');
    eq(meta.introspection_endpoint, ready.introspection_endpoint, 'discovery introspection_endpoint');
    eq(meta.revocation_endpoint, ready.revocation_endpoint, 'discovery revocation_endpoint');
    eq(meta.token_endpoint, ready.token_endpoint, 'discovery token_endpoint');

    const jwksRes = await fetch(ready.jwks_uri, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    const { keys } = await jwksRes.json();
    const byKid = Object.fromEntries(keys.map((k) => [k.kid, k]));
    for (const [kid, kty, alg] of [
      ['as-rsa-1', 'RSA', 'RS256'],
      ['as-ec-1', 'EC', 'ES256'],
      ['as-ed-1', 'OKP', 'EdDSA'],
    ]) {
      assert(byKid[kid], `JWKS lacks ${kid}`);
      eq(byKid[kid].kty, kty, `${kid} kty`);
      eq(byKid[kid].alg, alg, `${kid} alg`);
      eq(byKid[kid].use, 'sig', `${kid} use`);
      assert(byKid[kid].d === undefined, `${kid} leaks private part`);
    }

    opaque = await getToken(resources.opaque);
    assert(!opaque.access_token.includes('.'), 'opaque token looks like a JWT');
    eq(opaque.expires_in, 600, 'opaque expires_in');

    for (const [name, alg, kid] of [
      ['jwt', 'RS256', 'as-rsa-1'],
      ['jwt_es256', 'ES256', 'as-ec-1'],
      ['jwt_eddsa', 'EdDSA', 'as-ed-1'],
    ]) {
      const t = await getToken(resources[name]);
      const header = decodeProtectedHeader(t.access_token);
      eq(header.typ, 'at+jwt', `${name} typ`);
      eq(header.alg, alg, `${name} alg`);
      eq(header.kid, kid, `${name} kid`);
      const { payload } = await jwtVerify(t.access_token, jwks, {
        issuer,
        audience: resources[name],
        typ: 'at+jwt',
        algorithms: [alg],
      });
      eq(payload.aud, resources[name], `${name} aud`);
      eq(payload.client_id, C.svc.client_id, `${name} client_id`);
      eq(payload.sub, C.svc.client_id, `${name} sub`);
      eq(payload.scope, 'read write', `${name} scope`);
      eq(payload.exp - payload.iat, 600, `${name} lifetime`);
      jwtTokens[name] = t.access_token;
    }

    const unknown = await post(
      ready.token_endpoint,
      {
        grant_type: 'client_credentials',
        scope: 'read',
        resource: 'https://api.example.test/unknown',
      },
      { authorization: basic(C.svc.client_id, C.svc.client_secret) },
    );
    eq(unknown.status, 400, 'unknown resource status');
    eq(unknown.json.error, 'invalid_target', 'unknown resource error');
    return 'opaque + 3 verified JWTs; unknown resource -> 400 invalid_target';
  },
);

await check(2, 'introspection of an opaque token with rs-basic (client_secret_basic)', async () => {
  assert(opaque, 'no opaque token from check 1');
  const r = await introspectBasic(opaque.access_token);
  expectActive(r, { aud: resources.opaque }, 'rs-basic');
  eq(r.json.token_type, 'Bearer', 'token_type');
  assert(r.headers.get('content-type').startsWith('application/json'), 'content-type');
  eq(r.headers.get('cache-control'), 'no-store', 'cache-control');
  return `aud=${r.json.aud} scope="${r.json.scope}" client_id=${r.json.client_id}`;
});

await check(3, 'introspection with rs-post (client_secret_post)', async () => {
  const r = await post(ready.introspection_endpoint, {
    token: opaque.access_token,
    client_id: C.rs_post.client_id,
    client_secret: C.rs_post.client_secret,
  });
  expectActive(r, { aud: resources.opaque }, 'rs-post');
  // Informational: oidc-provider treats client_secret_basic and client_secret_post as
  // interchangeable for a secret client (9.13.3 accepts rs-post's secret via Basic too).
  const viaBasic = await introspectBasic(opaque.access_token, C.rs_post);
  return `active; same client via Basic -> ${viaBasic.status}`;
});

await check(
  4,
  'introspection with JWT client auth: rs-pkjwt RS256 (ZITADEL key file) + ES256, rs-pkjwt-ed EdDSA, rs-secretjwt HS256',
  async () => {
    const keyFile = JSON.parse(readFileSync(C.rs_pkjwt.key_file, 'utf8'));
    eq(keyFile.type, 'application', 'key file type');
    eq(keyFile.clientId, C.rs_pkjwt.client_id, 'key file clientId');
    assert(keyFile.key.startsWith('-----BEGIN RSA PRIVATE KEY-----\n'), 'key file key is not PKCS#1');
    const rsaKey = createPrivateKey(keyFile.key);
    const rsaPkcs8 = createPrivateKey(readFileSync(C.rs_pkjwt.rsa_pkcs8_pem, 'utf8'));
    const rsaJwk = JSON.parse(readFileSync(C.rs_pkjwt.rsa_jwk_file, 'utf8'));
    eq(rsaJwk.kid, keyFile.keyId, 'JWK kid');
    eq(rsaJwk.n, rsaKey.export({ format: 'jwk' }).n, 'JWK modulus == key file modulus');
    eq(rsaPkcs8.export({ format: 'jwk' }).n, rsaJwk.n, 'PKCS#8 modulus == key file modulus');
    const ecKey = createPrivateKey(readFileSync(C.rs_pkjwt.ec_key_pem, 'utf8'));
    const edKey = createPrivateKey(readFileSync(C.rs_pkjwt_ed.key_pem, 'utf8'));

    const id = C.rs_pkjwt.client_id;
    const cases = [
      ['RS256 key file', id, rsaKey, 'RS256', keyFile.keyId],
      ['RS256 PKCS#8', id, rsaPkcs8, 'RS256', keyFile.keyId],
      ['RS256 JWK', id, await importJWK(rsaJwk, 'RS256'), 'RS256', rsaJwk.kid],
      ['ES256', id, ecKey, 'ES256', C.rs_pkjwt.ec_kid],
      ['EdDSA', C.rs_pkjwt_ed.client_id, edKey, 'EdDSA', C.rs_pkjwt_ed.kid],
      [
        'HS256',
        C.rs_secretjwt.client_id,
        createSecretKey(Buffer.from(C.rs_secretjwt.client_secret)),
        'HS256',
        undefined,
      ],
    ];
    for (const [label, clientId, key, alg, kid] of cases) {
      const r = await introspectWithAssertion(opaque.access_token, await assertion(clientId, key, alg, kid));
      expectActive(r, { aud: resources.opaque }, `${label} assertion`);
    }

    // Rules the library must follow: a fresh jti per request (replay -> 401), jti required.
    const once = await assertion(id, rsaKey, 'RS256', keyFile.keyId);
    eq((await introspectWithAssertion(opaque.access_token, once)).status, 200, 'first use');
    const replay = await introspectWithAssertion(opaque.access_token, once);
    eq(replay.status, 401, 'replayed assertion status');
    eq(replay.json.error, 'invalid_client', 'replayed assertion error');
    const now = Math.floor(Date.now() / 1000);
    const noJti = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: keyFile.keyId })
      .setIssuer(id)
      .setSubject(id)
      .setAudience(issuer)
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(rsaKey);
    eq((await introspectWithAssertion(opaque.access_token, noJti)).status, 401, 'assertion without jti');
    const wrongKid = await assertion(id, rsaKey, 'RS256', 'no-such-kid');
    eq((await introspectWithAssertion(opaque.access_token, wrongKid)).status, 401, 'assertion with unknown kid');
    return `${cases.length} assertions accepted; replay, missing jti, unknown kid -> 401`;
  },
);

await check(5, 'special-character client: form-urlencoded Basic -> 200, raw Basic -> 400', async () => {
  const { client_id: id, client_secret: secret } = C.rs_special;
  const good = await post(
    ready.introspection_endpoint,
    { token: opaque.access_token },
    { authorization: basic(id, secret) },
  );
  expectActive(good, { aud: resources.opaque }, 'encoded');
  const raw = await post(
    ready.introspection_endpoint,
    { token: opaque.access_token },
    { authorization: rawBasic(id, secret) },
  );
  eq(raw.status, 400, `raw status (${raw.text})`);
  eq(raw.json.error, 'invalid_request', 'raw error');
  return `raw -> 400 "${raw.json.error_description}"`;
});

await check(6, 'wrong secret -> 401 invalid_client', async () => {
  const r = await introspectBasic(opaque.access_token, { client_id: C.rs_basic.client_id, client_secret: 'wrong' });
  eq(r.status, 401, 'status');
  eq(r.json.error, 'invalid_client', 'error');
  assert((r.headers.get('www-authenticate') || '').startsWith('Basic '), 'WWW-Authenticate Basic');
  const unknown = await introspectBasic(opaque.access_token, { client_id: 'nobody', client_secret: 'x' });
  eq(unknown.status, 401, 'unknown client status');
  eq(unknown.json.error, 'invalid_client', 'unknown client error');
  const none = await post(ready.introspection_endpoint, { token: opaque.access_token });
  eq(none.status, 400, 'no client auth status');
  return 'also unknown client -> 401, no auth -> 400';
});

await check(7, 'revocation then introspection -> active:false', async () => {
  const t = await getToken(resources.opaque, 'read');
  expectActive(await introspectBasic(t.access_token), { aud: resources.opaque, scope: 'read' }, 'before');
  const rev = await post(
    ready.revocation_endpoint,
    { token: t.access_token, token_type_hint: 'access_token' },
    {
      authorization: basic(C.svc.client_id, C.svc.client_secret),
    },
  );
  eq(rev.status, 200, `revocation status (${rev.text})`);
  const after = await introspectBasic(t.access_token);
  eq(after.status, 200, 'after status');
  eq(JSON.stringify(after.json), '{"active":false}', 'after body');
  return 'revoked by its client svc-client';
});

await check(8, `short-lived tokens expire after short_ttl (${SHORT_TTL} s)`, async () => {
  if (shortError) throw shortError;
  eq(ready.short_ttl, SHORT_TTL, 'ready short_ttl');
  eq(shortOpaque.expires_in, SHORT_TTL, 'short-opaque expires_in');
  eq(shortJwt.expires_in, SHORT_TTL, 'short-jwt expires_in');
  const { payload } = await jwtVerify(shortJwt.access_token, jwks, {
    issuer,
    audience: resources.short_jwt,
    typ: 'at+jwt',
    currentDate: new Date(shortIssuedAt),
  });
  eq(payload.exp - payload.iat, SHORT_TTL, 'short-jwt lifetime');
  const wait = shortIssuedAt + (SHORT_TTL + 1) * 1000 - Date.now();
  if (wait > 0) await sleep(wait);
  const r = await introspectBasic(shortOpaque.access_token);
  eq(JSON.stringify(r.json), '{"active":false}', 'short-opaque after ttl');
  let expired = false;
  try {
    await jwtVerify(shortJwt.access_token, jwks, { issuer, audience: resources.short_jwt });
  } catch (err) {
    expired = err.code === 'ERR_JWT_EXPIRED';
  }
  assert(expired, 'short-jwt should fail local validation as expired');
  return 'opaque -> active:false, JWT -> exp passed';
});

await check(9, 'RFC 9701 JWT introspection response (Accept: application/token-introspection+jwt)', async () => {
  const r = await introspectBasic(opaque.access_token, C.rs_basic, { accept: 'application/token-introspection+jwt' });
  eq(r.status, 200, 'status');
  const ct = r.headers.get('content-type');
  assert(ct.split(';')[0].trim() === 'application/token-introspection+jwt', `content-type ${ct}`);
  const { payload, protectedHeader } = await jwtVerify(r.text, jwks, {
    issuer,
    audience: C.rs_basic.client_id,
    typ: 'token-introspection+jwt',
    algorithms: ['RS256'],
  });
  eq(protectedHeader.kid, 'as-rsa-1', 'kid');
  eq(payload.token_introspection.active, true, 'token_introspection.active');
  eq(payload.token_introspection.aud, resources.opaque, 'token_introspection.aud');
  return `${ct}; outer aud=${payload.aud}`;
});

await check(10, 'introspecting a JWT access token -> 400 unsupported_token_type', async () => {
  assert(jwtTokens.jwt, 'no JWT from check 1');
  const r = await introspectBasic(jwtTokens.jwt);
  eq(r.status, 400, 'status');
  eq(r.json.error, 'unsupported_token_type', 'error');
  return r.json.error_description;
});

await check(11, 'GET /_test/counters counts every request per endpoint, failed ones too; POST reset', async () => {
  const counters = async () => {
    const r = await fetch(ready.counters_url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
    eq(r.status, 200, 'counters status');
    return r.json();
  };
  const zero = { introspection: 0, token: 0, jwks: 0, revocation: 0, discovery: 0 };
  const reset = await post(`${ready.counters_url}/reset`, {});
  eq(reset.status, 200, 'reset status');
  eq(JSON.stringify(reset.json), JSON.stringify(zero), 'reset answer');
  eq(JSON.stringify(await counters()), JSON.stringify(zero), 'after reset (reading is not counted)');

  const get = (url) => fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) }).then((r) => r.text());
  await get(ready.openid_configuration);
  await get(`${issuer}/.well-known/oauth-authorization-server`); // 404 at oidc-provider, counted
  await get(ready.jwks_uri);
  await get(`${ready.jwks_uri}?cache-buster=1`);
  const t = await getToken(resources.opaque, 'read');
  eq((await introspectBasic(t.access_token)).status, 200, 'introspection');
  const wrong = await introspectBasic(t.access_token, { client_id: C.rs_basic.client_id, client_secret: 'wrong' });
  eq(wrong.status, 401, 'introspection with a wrong secret');
  eq((await post(ready.introspection_endpoint, { token: t.access_token })).status, 400, 'no client auth');
  const rev = await post(
    ready.revocation_endpoint,
    { token: t.access_token },
    { authorization: basic(C.svc.client_id, C.svc.client_secret) },
  );
  eq(rev.status, 200, 'revocation');
  await get(`${issuer}/no-such-endpoint`); // counted nowhere
  const expected = { introspection: 3, token: 1, jwks: 2, revocation: 1, discovery: 2 };
  eq(JSON.stringify(await counters()), JSON.stringify(expected), 'counters');

  eq((await fetch(ready.counters_url, { method: 'DELETE' })).status, 405, 'DELETE /_test/counters');
  eq((await post(`${ready.counters_url}/reset`, {})).status, 200, 'second reset');
  eq(JSON.stringify(await counters()), JSON.stringify(zero), 'after the second reset');
  return JSON.stringify(expected);
});

// A server restarted on the port of one just stopped (the fleet tests' "AS restart"): same
// issuer, fresh keys and counters. Node's listen sets SO_REUSEADDR, so the connections the
// first one leaves in TIME_WAIT do not block the bind.
function startServer(extraArgs) {
  const proc = spawn(process.execPath, [join(here, 'server.mjs'), ...extraArgs], { stdio: ['pipe', 'pipe', 'pipe'] });
  let log = '';
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (d) => {
    log += d;
  });
  const exited = new Promise((ok) => proc.on('exit', (code, signal) => ok({ code, signal })));
  const kill = () => proc.kill('SIGKILL');
  process.on('exit', kill);
  const readyLine = new Promise((ok, ko) => {
    let buf = '';
    const timer = setTimeout(() => ko(new Error(`no ready line within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (d) => {
      buf += d;
      if (buf.includes('\n')) {
        clearTimeout(timer);
        ok(JSON.parse(buf.slice(0, buf.indexOf('\n'))));
      }
    });
    exited.then(({ code }) => {
      clearTimeout(timer);
      ko(new Error(`server exited (code ${code}) before the ready line: ${log.trim()}`));
    });
  });
  const stop = async () => {
    proc.kill('SIGTERM');
    const status = await exited;
    process.off('exit', kill);
    return status;
  };
  return { readyLine, stop, exited };
}

await check(
  12,
  'a restart with --port N right after a stop binds the same port (same issuer, fresh state)',
  async () => {
    const first = startServer([]);
    const one = await first.readyLine;
    let second;
    try {
      // A kept-alive connection and a token, so the stop leaves connections behind.
      const t = await getTokenFrom(one, resources.opaque);
      eq((await fetch(one.jwks_uri)).status, 200, 'first JWKS');
      const { code } = await first.stop();
      eq(code, 0, 'first exit code');
      second = startServer(['--port', String(one.port)]);
      const two = await second.readyLine;
      eq(two.port, one.port, 'port');
      eq(two.issuer, one.issuer, 'issuer');
      const counters = await (await fetch(two.counters_url)).json();
      eq(counters.token, 0, 'fresh counters');
      const r = await post(
        two.introspection_endpoint,
        { token: t },
        { authorization: basic(C.rs_basic.client_id, C.rs_basic.client_secret) },
      );
      eq(JSON.stringify(r.json), '{"active":false}', "the first server's token after the restart");
      const { code: code2 } = await second.stop();
      eq(code2, 0, 'second exit code');
      return `port ${one.port}`;
    } finally {
      await first.stop();
      if (second) await second.stop();
    }
  },
);

async function getTokenFrom(server, resource) {
  const r = await post(
    server.token_endpoint,
    { grant_type: 'client_credentials', scope: 'read', resource },
    { authorization: basic(C.svc.client_id, C.svc.client_secret) },
  );
  eq(r.status, 200, `token status (${r.text})`);
  return r.json.access_token;
}

// Two instances at once, the second with `--tenant b` (tests of many issuers): separate
// issuers, separate signing keys (same kids, other key material), separate client
// registrations; each instance refuses the other's secret-based credentials.
await check(
  13,
  "two instances, one with --tenant b: own issuer, keys and clients; each refuses the other's credentials",
  async () => {
    const first = startServer([]);
    const second = startServer(['--tenant', 'b']);
    try {
      const [a, b] = await Promise.all([first.readyLine, second.readyLine]);
      eq(a.tenant, null, 'default tenant');
      eq(b.tenant, 'b', 'tenant');
      assert(a.issuer !== b.issuer, `issuers differ (${a.issuer})`);
      eq(JSON.stringify(b.resources), JSON.stringify(a.resources), 'resources');
      eq(JSON.stringify(b.signing_keys), JSON.stringify(a.signing_keys), 'signing key ids');
      for (const [name, c] of Object.entries(a.clients)) {
        const t = b.clients[name];
        if (c.client_secret === undefined) {
          eq(t.client_id, c.client_id, `${name} (private_key_jwt) keeps its id`);
          eq(t.client_secret, undefined, `${name} has no secret`);
        } else {
          eq(t.client_id, `b-${c.client_id}`, `${name} client_id`);
          eq(t.client_secret, `b-${c.client_secret}`, `${name} client_secret`);
        }
        eq(t.token_endpoint_auth_method, c.token_endpoint_auth_method, `${name} auth method`);
      }

      // Key material: every kid is in both sets, no public key is.
      const jwksOf = async (s) => (await (await fetch(s.jwks_uri)).json()).keys;
      const [keysA, keysB] = await Promise.all([jwksOf(a), jwksOf(b)]);
      const material = (k) => k.n ?? k.x;
      eq(keysA.map((k) => k.kid).join(), keysB.map((k) => k.kid).join(), 'kids');
      for (const k of keysB) {
        assert(!keysA.some((o) => material(o) === material(k)), `${k.kid}: same key material at both issuers`);
      }

      const tokenAt = (s, client, resource, scope = 'read') =>
        post(
          s.token_endpoint,
          { grant_type: 'client_credentials', scope, resource },
          { authorization: basic(client.client_id, client.client_secret) },
        );
      const introspectAt = (s, client, token) =>
        post(s.introspection_endpoint, { token }, { authorization: basic(client.client_id, client.client_secret) });
      for (const [s, label] of [
        [a, 'default'],
        [b, 'tenant b'],
      ]) {
        const opaqueRes = await tokenAt(s, s.clients.svc, s.resources.opaque);
        eq(opaqueRes.status, 200, `${label} opaque token (${opaqueRes.text})`);
        const r = await introspectAt(s, s.clients.rs_basic, opaqueRes.json.access_token);
        eq(r.status, 200, `${label} introspection status (${r.text})`);
        eq(r.json.active, true, `${label} active`);
        eq(r.json.iss, s.issuer, `${label} iss`);
        eq(r.json.client_id, s.clients.svc.client_id, `${label} client_id`);
        eq(r.json.aud, s.resources.opaque, `${label} aud`);
        const jwtRes = await tokenAt(s, s.clients.svc, s.resources.jwt);
        eq(jwtRes.status, 200, `${label} JWT (${jwtRes.text})`);
        const other = s === a ? b : a;
        const { payload } = await jwtVerify(jwtRes.json.access_token, createRemoteJWKSet(new URL(s.jwks_uri)), {
          issuer: s.issuer,
          audience: s.resources.jwt,
        });
        eq(payload.client_id, s.clients.svc.client_id, `${label} JWT client_id`);
        let otherVerified = true;
        try {
          await jwtVerify(jwtRes.json.access_token, createRemoteJWKSet(new URL(other.jwks_uri)));
        } catch (err) {
          otherVerified = err.code !== 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED';
        }
        assert(!otherVerified, `${label} JWT: the other issuer's key of the same kid must not verify it`);
        // The other instance's credentials: unknown client here.
        const foreign = await tokenAt(s, other.clients.svc, s.resources.opaque);
        eq(foreign.status, 401, `${label}: the other instance's svc credentials (${foreign.text})`);
        eq(foreign.json.error, 'invalid_client', `${label}: foreign credentials error`);
        const foreignRs = await introspectAt(s, other.clients.rs_basic, opaqueRes.json.access_token);
        eq(foreignRs.status, 401, `${label}: the other instance's rs-basic credentials`);
      }

      // Tenant b's special-character client and its HS256 client_secret_jwt secret (>= 32 bytes).
      const bToken = (await tokenAt(b, b.clients.svc, b.resources.opaque)).json.access_token;
      const special = await introspectAt(b, b.clients.rs_special, bToken);
      eq(special.status, 200, `tenant b rs_special (${special.text})`);
      eq(special.json.active, true, 'tenant b rs_special active');
      const now = Math.floor(Date.now() / 1000);
      const signed = (clientId, key, alg, kid) =>
        new SignJWT({ jti: randomUUID() })
          .setProtectedHeader({ alg, ...(kid ? { kid } : {}) })
          .setIssuer(clientId)
          .setSubject(clientId)
          .setAudience(b.issuer)
          .setIssuedAt(now)
          .setExpirationTime(now + 60)
          .sign(key);
      const viaAssertion = async (clientAssertion) =>
        post(b.introspection_endpoint, {
          token: bToken,
          client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
          client_assertion: clientAssertion,
        });
      const hs = b.clients.rs_secretjwt;
      assert(Buffer.byteLength(hs.client_secret) >= 32, 'tenant b rs_secretjwt secret >= 32 bytes');
      const hsRes = await viaAssertion(
        await signed(hs.client_id, createSecretKey(Buffer.from(hs.client_secret)), 'HS256'),
      );
      eq(hsRes.status, 200, `tenant b rs_secretjwt (${hsRes.text})`);
      eq(hsRes.json.active, true, 'tenant b rs_secretjwt active');
      // rs-pkjwt: the same id and key file, registered at tenant b's issuer too.
      const keyFile = JSON.parse(readFileSync(b.clients.rs_pkjwt.key_file, 'utf8'));
      const pk = await viaAssertion(
        await signed(b.clients.rs_pkjwt.client_id, createPrivateKey(keyFile.key), 'RS256', keyFile.keyId),
      );
      eq(pk.status, 200, `tenant b rs-pkjwt (${pk.text})`);
      eq(pk.json.active, true, 'tenant b rs-pkjwt active');
      return `${a.issuer} and ${b.issuer} (tenant b)`;
    } finally {
      await first.stop();
      await second.stop();
    }
  },
);

// ---------------------------------------------------------------------------------------------
clearTimeout(watchdog);
await stopServer();
const passed = results.filter(Boolean).length;
const failed = results.length - passed;
if (failed) {
  process.stderr.write(`--- server stderr ---\n${serverLog}`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
