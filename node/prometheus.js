'use strict';
// prom-client metrics over one or more validators (`npm install prom-client`).
//
//   const client = require('prom-client');
//   const { register } = require('bearerguard/prometheus');
//   register([validator]);                        // into prom-client's default registry
//   app.get('/metrics', async (req, res) => res.type(client.register.contentType).send(await client.register.metrics()));
//
// Each scrape reads the validators' counters once (`metricFamilies`: names, help texts, kinds
// and labels are the core's, merged over the validators by the core) and hands every family to
// prom-client as a metric of that name; nothing is counted twice and nothing is named here.

const { metricFamilies, Validator } = require('./index.js');

function defaultRegistry() {
  try {
    return require('prom-client').register;
  } catch (cause) {
    throw new Error(
      'bearerguard/prometheus needs prom-client for its default registry: npm install prom-client ' +
        '(or pass `{ registry }`)',
      { cause },
    );
  }
}

/** prom-client's values for one core family: histograms as `_bucket` (with `le`), `_sum` and `_count`. */
function values(family) {
  if (family.kind !== 'histogram') {
    return family.samples.map((s) => ({ labels: s.labels, value: s.value }));
  }
  const out = [];
  for (const { labels, value, histogram } of family.samples) {
    for (const [bound, count] of histogram.buckets) {
      out.push({ metricName: `${family.name}_bucket`, labels: { ...labels, le: bound }, value: count });
    }
    out.push({ metricName: `${family.name}_bucket`, labels: { ...labels, le: '+Inf' }, value });
    out.push({ metricName: `${family.name}_sum`, labels, value: histogram.sum });
    out.push({ metricName: `${family.name}_count`, labels, value });
  }
  return out;
}

/**
 * Registers one prom-client metric per core family over `validators` with `registry`
 * (prom-client's default one unless given). Returns `{ names, unregister() }`.
 */
function register(validators, { registry } = {}) {
  if (!Array.isArray(validators) || validators.length === 0 || !validators.every((v) => v instanceof Validator)) {
    throw new TypeError('bearerguard/prometheus: register takes a non-empty array of Validator objects');
  }
  const target = registry ?? defaultRegistry();
  // A scrape asks every metric in one synchronous pass: they share one read of the counters.
  let scrape = null;
  const families = () => {
    if (scrape === null) {
      scrape = new Map(metricFamilies(...validators).map((f) => [f.name, f]));
      queueMicrotask(() => {
        scrape = null;
      });
    }
    return scrape;
  };
  const names = [...families().keys()];
  for (const name of names) {
    const { help, kind } = families().get(name);
    target.registerMetric({
      name,
      help,
      type: kind,
      aggregator: 'sum',
      get: async () => ({ name, help, type: kind, aggregator: 'sum', values: values(families().get(name)) }),
      reset() {},
    });
  }
  return {
    names,
    unregister: () => {
      for (const name of names) target.removeSingleMetric(name);
    },
  };
}

module.exports = { register };
