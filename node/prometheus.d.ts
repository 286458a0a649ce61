// Types of bearerguard/prometheus. Structural, so they need no prom-client types: a prom-client
// `Registry` is a `RegistryLike`.
import type { Validator } from './index';

/** What `collect` uses of a prom-client `Registry`. */
export interface RegistryLike {
  registerMetric(metric: never): void;
  removeSingleMetric(name: string): void;
  getSingleMetric(name: string): unknown;
}

export interface CollectOptions {
  /** Where to register. Default: prom-client's global `register`. */
  registry?: RegistryLike;
}

/** Undoes a `collect`. */
export interface Collector {
  unregister(): void;
}

/**
 * Registers bearerguard's metric families (`bearerguard_decisions_total`, …) over every
 * validator in `validators` (one per issuer) with the registry. Throws when prom-client is not
 * installed or a name is already registered there.
 */
export function collect(validators: Validator | readonly Validator[], options?: CollectOptions): Collector;
