// The harness for tests of many issuers (issue 13): two real authorization servers at once, the
// default one and one started with `tenant: 'b'` (its own issuer, signing keys and clients).
// Needs no addon: only the harness is under test here.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { getToken, startAuthorizationServer } from '../support/helpers.mjs';

let a;
let b;
before(async () => {
  [a, b] = await Promise.all([startAuthorizationServer(), startAuthorizationServer({ tenant: 'b' })]);
});
after(async () => {
  await Promise.all([a?.stop(), b?.stop()]);
});

const basic = ({ client_id: id, client_secret: secret }) =>
  `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
async function post(url, form, client) {
  const res = await fetch(url, {
    method: 'POST',
    headers: { authorization: basic(client), 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: res.status, json: await res.json() };
}
const tokenRequest = (as, client) =>
  post(as.token_endpoint, { grant_type: 'client_credentials', scope: 'read', resource: as.resources.opaque }, client);

test("a tenant server has its own issuer and clients; each refuses the other one's credentials", async () => {
  assert.equal(a.tenant, null);
  assert.equal(b.tenant, 'b');
  assert.notEqual(a.issuer, b.issuer);
  assert.deepEqual(b.resources, a.resources);
  assert.equal(b.clients.svc.client_id, `b-${a.clients.svc.client_id}`);
  assert.notEqual(b.clients.svc.client_secret, a.clients.svc.client_secret);
  assert.equal(b.clients.rs_pkjwt.client_id, a.clients.rs_pkjwt.client_id);

  // A client_credentials token from b with b's svc client, introspected at b with b's rs_basic.
  const token = await getToken(b, 'opaque', 'read');
  const info = await post(b.introspection_endpoint, { token }, b.clients.rs_basic);
  assert.equal(info.status, 200);
  assert.equal(info.json.active, true);
  assert.equal(info.json.iss, b.issuer);
  assert.equal(info.json.client_id, b.clients.svc.client_id);

  // Separate registrations.
  assert.equal((await tokenRequest(a, b.clients.svc)).status, 401);
  assert.equal((await tokenRequest(b, a.clients.svc)).status, 401);
  assert.equal((await tokenRequest(b, b.clients.svc)).status, 200);
});
