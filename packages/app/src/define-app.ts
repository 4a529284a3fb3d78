import type { AnyAggregate } from '@ratchet/core';
import { brandApp, type App, type AppConfig } from './app.js';
import { AppDefinitionError } from './app-definition-error.js';
import { appIssues } from './app-issues.js';

/**
 * Describe a deployment's domain once: the aggregates workers serve, the projections and process
 * managers projectors run. Validates at once and throws an {@link AppDefinitionError} listing every problem, so a bad
 * app fails where it is defined (on import), not when the first command arrives. Make it the
 * default export of the app module that services load (`RATCHET_APP=./src/app.ts`).
 * @example
 * // src/app.ts
 * import { defineApp } from '@ratchet/app';
 * export default defineApp({ name: 'shop', aggregates: [Order, Cart], projections: [orderTotals], processes: [shipping] });
 */
export function defineApp<const TAggregates extends readonly AnyAggregate[]>(config: AppConfig<TAggregates>): App<TAggregates> {
  const issues = appIssues(config);
  if (issues.length > 0) {
    const name = typeof (config as { name?: unknown } | null)?.name === 'string' ? config.name : '(unnamed)';
    throw new AppDefinitionError(name, issues);
  }
  return brandApp({
    name: config.name,
    aggregates: Object.freeze([...config.aggregates]) as unknown as TAggregates,
    projections: Object.freeze([...(config.projections ?? [])]),
    processes: Object.freeze([...(config.processes ?? [])]),
  }) as App<TAggregates>;
}
