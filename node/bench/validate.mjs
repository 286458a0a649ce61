// Figures for the Node binding (prints, asserts nothing): the cost of one awaited `validate`,
// `validateHeader` and `validateRequest` for the answers the core gives without I/O (on the
// JavaScript thread) next to the bare native call (`decide`, the binding's floor), a miss, and
// a 500-call burst.
//
//   node bench/validate.mjs        (after `npm run build`; a debug addon gives debug figures)
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

import { fakeAuthorizationServer, makeSigner } from '../support/helpers.mjs';

const require = createRequire(import.meta.url);
// Not `import 'bearerguard'`: bench/ is a package of its own (its peers), not bearerguard.
const { Validator } = require('../index.js');
const { NativeValidator } = require('../native.js');

const signer = makeSigner();
const exp = Math.floor(Date.now() / 1000) + 3600;
const state = { jwks: signer.jwks, introspection: { body: { active: true, scope: 'read', client_id: 'svc', exp } } };
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
await native.decide(jwt, []);
await native.decide(opaque, []);

async function perCall(label, call, n = 5000) {
  for (let i = 0; i < 500; i++) await call();
  const start = performance.now();
  for (let i = 0; i < n; i++) await call();
  console.log(`${label.padEnd(58)} ${(((performance.now() - start) / n) * 1000).toFixed(1).padStart(7)} µs/call`);
}

await perCall('JWT, cached key: validate()', () => validator.validate(jwt));
await perCall('JWT, cached key: native decide() (no Promise, no JSON.parse)', () => native.decide(jwt, []));
await perCall('opaque, cached verdict: validate()', () => validator.validate(opaque));
await perCall('opaque, cached verdict: validateHeader()', () => validator.validateHeader(`Bearer ${opaque}`));
const request = { authorization: [`Bearer ${opaque}`], method: 'GET', url: '/orders' };
await perCall('opaque, cached verdict: validateRequest()', () => validator.validateRequest(request));
await perCall('opaque, cached verdict: native decide()', () => native.decide(opaque, []));
const foreign = signer.sign({ iss: 'https://elsewhere.example', aud: 'api', exp: now + 3600 });
await perCall('refusal (JWT of another issuer): validate()', () => validator.validate(foreign).catch(() => {}));
const uncached = new Validator({ ...config, cache: { enabled: false } });
await perCall('opaque, cache off: validate() (one introspection)', () => uncached.validate(opaque), 1000);

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
