// Type-checked by `tsc --noEmit -p .` (never run): bearerguard/prometheus with prom-client's own types.
import { Registry } from 'prom-client';
import { Validator, type Health, type LogRecord, type MetricsSnapshot, setLogger } from 'bearerguard';
import { collect } from 'bearerguard/prometheus';

const a = new Validator({ issuer: 'https://a.example', audience: 'api' });
const b = new Validator({ issuer: 'https://b.example', audience: 'api' });
const registry = new Registry();
const collector = collect([a, b], { registry });
collect(a);
collector.unregister();
export const scrape: Promise<string> = registry.metrics();

const snapshot: MetricsSnapshot = a.metrics();
const accepted: number = snapshot.decisions.filter((d) => d.outcome === 'accepted').reduce((n, d) => n + d.count, 0);
const fresh: boolean | undefined = snapshot.jwks?.fresh;
const health: Health = a.health();
const lastFailure: string | undefined = health.issuers[0]?.lastFailure?.result;
void [accepted, fresh, lastFailure];

setLogger((record: LogRecord) => console.log(record.level, record.target, record.message), { level: 'debug' });
setLogger(null);
// @ts-expect-error: no such level
setLogger(() => {}, { level: 'verbose' });
