// Sender-constrained tokens issued by the real authorization server (oidc-provider): DPoP-bound
// (RFC 9449) and certificate-bound (RFC 8705) tokens, JWT and opaque, through validateRequest.
// Proofs are made here with node:crypto, as a client would make them.
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, randomUUID, sign, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';

import { InvalidDpopProofError, InvalidTokenError, MissingTokenError, Validator } from 'bearerguard';
import { rejection, rsBasicOptions, startAuthorizationServer } from '../support/helpers.mjs';

const URL_ = 'https://api.example.test/orders';
const b64 = (value) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

/** A client's DPoP key: `proof(htm, htu, extra)` signs a proof with it (ES256). */
function dpopKey() {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const { kty, crv, x, y } = publicKey.export({ format: 'jwk' });
  return {
    proof(htm, htu, extra = {}) {
      const header = b64({ typ: 'dpop+jwt', alg: 'ES256', jwk: { kty, crv, x, y } });
      const payload = b64({ htm, htu, iat: Math.floor(Date.now() / 1000), jti: randomUUID(), ...extra });
      const signature = sign('sha256', Buffer.from(`${header}.${payload}`), {
        key: privateKey,
        dsaEncoding: 'ieee-p1363',
      });
      return `${header}.${payload}.${signature.toString('base64url')}`;
    },
  };
}

const ath = (token) => createHash('sha256').update(token).digest('base64url');

async function tokenRequest(as, client, resource, headers) {
  const basic = Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64');
  const res = await fetch(as.token_endpoint, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'read', resource: as.resources[resource] }),
  });
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return body;
}

let as;
let certificatePem;
before(async () => {
  as = await startAuthorizationServer();
  certificatePem = readFileSync(as.clients.svc_mtls.certificate_pem, 'utf8');
});
after(() => as?.stop());

describe('DPoP-bound tokens from oidc-provider', () => {
  for (const resource of ['jwt', 'opaque']) {
    test(`a ${resource} token with a good proof is accepted; replay, Bearer and another key are refused`, async () => {
      const key = dpopKey();
      const issued = await tokenRequest(as, as.clients.svc, resource, { dpop: key.proof('POST', as.token_endpoint) });
      assert.equal(issued.token_type, 'DPoP');
      const token = issued.access_token;
      const validator = new Validator(rsBasicOptions(as, { senderConstraint: 'allow' }));
      const proof = key.proof('GET', URL_, { ath: ath(token) });
      const request = { authorization: `DPoP ${token}`, method: 'GET', url: URL_, dpop: proof };
      const info = await validator.validateRequest(request);
      assert.equal(info.clientId, 'svc-client');
      assert.equal(info.source, resource === 'jwt' ? 'jwt' : 'introspection');

      // The same proof again: a replay.
      assert.ok((await rejection(validator.validateRequest(request))) instanceof InvalidDpopProofError);
      // A bound token sent as a bearer token: a downgrade.
      const bearer = { authorization: `Bearer ${token}`, method: 'GET', url: URL_ };
      assert.ok((await rejection(validator.validateRequest(bearer))) instanceof InvalidTokenError);
      // A good proof by another key: not the token's key.
      const other = dpopKey().proof('GET', URL_, { ath: ath(token) });
      const stolen = { ...request, dpop: other };
      assert.ok((await rejection(validator.validateRequest(stolen))) instanceof InvalidTokenError);
      // The default policy (`none`) knows no DPoP scheme and refuses every bound token.
      const strict = new Validator(rsBasicOptions(as));
      const fresh = { ...request, dpop: key.proof('GET', URL_, { ath: ath(token) }) };
      assert.ok((await rejection(strict.validateRequest(fresh))) instanceof MissingTokenError);
      assert.ok((await rejection(strict.validateRequest(bearer))) instanceof InvalidTokenError);
    });
  }
});

describe('certificate-bound tokens from oidc-provider', () => {
  for (const resource of ['jwt', 'opaque']) {
    test(`a ${resource} token with its certificate is accepted; another certificate is refused`, async () => {
      const { certificate_header: header } = as.clients.svc_mtls;
      const issued = await tokenRequest(as, as.clients.svc_mtls, resource, {
        [header]: encodeURIComponent(certificatePem),
      });
      const token = issued.access_token;
      const der = new X509Certificate(certificatePem).raw;
      const validator = new Validator(rsBasicOptions(as, { senderConstraint: 'allow' }));
      const request = { authorization: `Bearer ${token}`, method: 'GET', url: URL_ };
      const info = await validator.validateRequest({ ...request, clientCertificate: der });
      assert.equal(info.clientId, 'svc-mtls-client');
      // Without the certificate, or with another one: refused.
      assert.ok((await rejection(validator.validateRequest(request))) instanceof InvalidTokenError);
      const otherDer = Buffer.from(der);
      otherDer[otherDer.length - 1] ^= 1;
      assert.ok(
        (await rejection(validator.validateRequest({ ...request, clientCertificate: otherDer }))) instanceof
          InvalidTokenError,
      );
      // From a trusted proxy's RFC 9440 header, named by the config.
      const proxied = new Validator(
        rsBasicOptions(as, { senderConstraint: 'allow', clientCertificateHeader: 'client-cert' }),
      );
      const headers = { 'client-cert': `:${der.toString('base64')}:` };
      assert.equal((await proxied.validateRequest({ ...request, headers })).clientId, 'svc-mtls-client');
      // The same header to a validator that trusts no proxy: ignored, so the token is refused.
      assert.ok((await rejection(validator.validateRequest({ ...request, headers }))) instanceof InvalidTokenError);
    });
  }
});
