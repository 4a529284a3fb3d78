import type { App } from '@ratchet/app';

/** What the page shows of the app: its name, its aggregate types, and whether the turnstile panels apply. */
export interface AppView {
  readonly name: string;
  readonly aggregateTypes: readonly string[];
  /**
   * The app has the turnstile aggregate and the turnstile read model (projection "turnstile"): the
   * grid, the command buttons, the totals and the charts read those. Any other app gets what is
   * generic: workers, partitions and per-aggregate counters from the store.
   */
  readonly turnstile: boolean;
}

/**
 * How the dashboard shows an app.
 * @example
 * appView(turnstileApp); // { name: 'turnstile', aggregateTypes: ['turnstile'], turnstile: true }
 */
export function appView(app: App): AppView {
  const aggregateTypes = app.aggregates.map((a) => a.type);
  return {
    name: app.name,
    aggregateTypes,
    turnstile: aggregateTypes.includes('turnstile') && app.projections.some((p) => p.name === 'turnstile'),
  };
}
