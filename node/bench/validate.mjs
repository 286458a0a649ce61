// Figures for the Node binding (prints, asserts nothing): the cost of one awaited `validate`
// for the answers the core gives without I/O (on the JavaScript thread) next to the same
// answers through an async round trip on napi's Tokio runtime, and a 500-call burst.
//
//   node bench/validate.mjs        (after `npm run build`; a debug addon gives debug figures)
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

import { Validator } from 'bearerguard';
import { fakeAuthorizationServer, makeSigner } from '../support/helpers.mjs';

const require = createRequire(import.meta.url);
const { NativeValidator } = require('../native.js');

const signer = makeSigner();
const state = { jwks: signer.jwks, introspection: { body: { active: true, scope: 'read', client_id: 'svc' } } };
const as = await fakeAuthorizationServer(state);
const config = {
  issuer: as.url,
  audience: 'api',
  discovery: false,
  jwks_uri: `${as.url}/jwks`,
  introspection_endpoint: `${as.url}/introspect`,
  client_id: 'rs',
  client_secret: 'secret',
};
const validator = new Validator(config);
const native = new NativeValidator(config);
const now = Math.floor(Date.now() / 1000);
const jwt = signer.sign({ iss: as.url, aud: 'api', sub: 'alice', exp: now + 3600, iat: now, scope: 'read' });
const opaque = 'an-opaque-token';
await validator.validate(jwt);
await validator.validate(opaque);

async function perCall(label, call, n = 5000) {
  for (let i = 0; i < 500; i++) await call();
  const start = performance.now();
  for (let i = 0; i < n; i++) await call();
  console.log(`${label.padEnd(58)} ${(((performance.now() - start) / n) * 1000).toFixed(1).padStart(7)} µs/call`);
}

await perCall('JWT, cached key: validate() (answered on the JS thread)', () => validator.validate(jwt));
await perCall('JWT, cached key: async round trip through the runtime', () => native.validate(jwt, []));
await perCall('opaque, cached verdict: validate() (on the JS thread)', () => validator.validate(opaque));
await perCall('opaque, cached verdict: async round trip', () => native.validate(opaque, []));
const foreign = signer.sign({ iss: 'https://elsewhere.example', aud: 'api', exp: now + 3600 });
await perCall('refusal (JWT of another issuer): validate()', () => validator.validate(foreign).catch(() => {}));
await perCall('refusal (JWT of another issuer): async round trip', () => native.validate(foreign, []).catch(() => {}));

for (const [label, token] of [
  ['JWT', jwt],
  ['new opaque token (one introspection)', null],
]) {
  const t = token ?? `fresh-${Date.now()}`;
  const start = performance.now();
  await Promise.all(Array.from({ length: 500 }, () => validator.validate(t)));
  console.log(
    `${`500 concurrent validate(), ${label}`.padEnd(58)} ${(performance.now() - start).toFixed(1).padStart(7)} ms`,
  );
}
await as.close();
