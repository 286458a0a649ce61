import type { Validator } from './index';

/** The part of a prom-client `Registry` this module uses. */
export interface RegistryLike {
  registerMetric(metric: unknown): void;
  removeSingleMetric(name: string): void;
}

/**
 * Registers one prom-client metric per core family (`bearerguard_decisions_total`, …) over
 * `validators`, read at each scrape, with `registry` (prom-client's default one unless given).
 */
export function register(
  validators: Validator[],
  options?: { registry?: RegistryLike },
): { names: string[]; unregister(): void };
