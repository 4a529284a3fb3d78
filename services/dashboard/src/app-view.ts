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
  /** The app has the station aggregate and its read model (projection "stations"): the stations panel. */
  readonly stations: boolean;
  /** The app's process managers, each shown with its lag and its commands' answers. */
  readonly processes: readonly string[];
}

/**
 * How the dashboard shows an app.
 * @example
 * appView(turnstileApp); // { name: 'turnstile', aggregateTypes: ['turnstile', 'station'], turnstile: true, stations: true, processes: ['technician-dispatch'] }
 */
export function appView(app: App): AppView {
  const aggregateTypes = app.aggregates.map((a) => a.type);
  return {
    name: app.name,
    aggregateTypes,
    turnstile: aggregateTypes.includes('turnstile') && app.projections.some((p) => p.name === 'turnstile'),
    stations: aggregateTypes.includes('station') && app.projections.some((p) => p.name === 'stations'),
    processes: app.processes.map((p) => p.name),
  };
}
