'use strict';
// bearerguard/prometheus: the validators' metric families registered with a prom-client
// Registry. Names, help texts, kinds and labels are the core's (core/src/metrics/families.rs),
// merged over every validator by the core; this file only shapes them as the metric objects a
// Registry reads (`name`, `help`, `type`, `get()`, `reset()`, as prom-client's own metrics).

const { Validator } = require('./index.js');

function promClient() {
  try {
    return require('prom-client');
  } catch (cause) {
    if (cause?.code !== 'MODULE_NOT_FOUND') throw cause;
    throw new Error('bearerguard/prometheus needs the package prom-client: `npm install prom-client`', { cause });
  }
}

/**
 * The values of one family as prom-client's `get()` gives them: a histogram sample becomes its
 * cumulative `_bucket` lines (label `le`, `+Inf` last), `_sum` and `_count`, as prom-client's
 * Histogram prints them. Counter values carry no `metricName`: the Registry appends `_total`
 * to a counter's name itself in OpenMetrics.
 */
function values(family) {
  if (family.kind !== 'histogram') return family.samples.map((s) => ({ labels: s.labels, value: s.value }));
  const out = [];
  for (const { labels, value, histogram } of family.samples) {
    for (const [le, count] of histogram.buckets) {
      out.push({ metricName: `${family.name}_bucket`, labels: { ...labels, le }, value: count });
    }
    out.push(
      { metricName: `${family.name}_bucket`, labels: { ...labels, le: '+Inf' }, value },
      { metricName: `${family.name}_sum`, labels, value: histogram.sum },
      { metricName: `${family.name}_count`, labels, value },
    );
  }
  return out;
}

/**
 * Registers bearerguard's metric families, over every validator in `validators` (one or an
 * array; one issuer each), with `registry` (default: prom-client's global `register`). Each
 * scrape reads the counters once. Returns `{ unregister() }`.
 */
function collect(validators, { registry } = {}) {
  const client = promClient();
  const list = Array.isArray(validators) ? [...validators] : [validators];
  if (list.length === 0) throw new TypeError('bearerguard/prometheus: `collect` needs at least one Validator');
  const target = registry ?? client.register;
  if (typeof target?.registerMetric !== 'function') {
    throw new TypeError('bearerguard/prometheus: `registry` must be a prom-client Registry');
  }
  // A Registry calls every metric's get() in one synchronous pass: one native read serves it.
  let current = null;
  const families = () => {
    if (current === null) {
      current = new Map(Validator._metricFamilies(list).map((f) => [f.name, f]));
      queueMicrotask(() => {
        current = null;
      });
    }
    return current;
  };
  const metrics = [...families().values()].map(({ name, help, kind }) => ({
    name,
    help,
    type: kind,
    aggregator: 'sum',
    get() {
      // `this.name`: an OpenMetrics Registry renames counters (drops `_total`) in place.
      return { name: this.name, help, type: kind, values: values(families().get(name)), aggregator: 'sum' };
    },
    reset() {},
  }));
  const registered = [];
  try {
    for (const metric of metrics) {
      target.registerMetric(metric);
      registered.push(metric);
    }
  } catch (e) {
    for (const metric of registered) target.removeSingleMetric(metric.name);
    throw e;
  }
  return {
    unregister() {
      for (const metric of registered) {
        if (target.getSingleMetric(metric.name) === metric) target.removeSingleMetric(metric.name);
      }
    },
  };
}

module.exports = { collect };
