import { defineApp, type App } from '@ratchet/app';
import { Turnstile } from '@ratchet/turnstile';
import { defineTurnstileProjection } from '@ratchet/turnstile-projections';
import type { TurnstileProjectionVersion } from './turnstile-projection-versions.js';

/** Options of {@link defineTurnstileApp}. */
export interface TurnstileAppOptions {
  /** Versions of the turnstile projection the projector runs. Default `[1]`. */
  readonly projectionVersions?: readonly TurnstileProjectionVersion[];
}

/** The turnstile app's type: one aggregate, the turnstile. */
export type TurnstileApp = App<readonly [typeof Turnstile]>;

/**
 * The turnstile demo as an app: the turnstile aggregate and its read models (one row per
 * turnstile, totals, events per second) at the versions asked for.
 * @example
 * const app = defineTurnstileApp({ projectionVersions: [1, 2] });
 */
export function defineTurnstileApp(options: TurnstileAppOptions = {}): TurnstileApp {
  return defineApp({
    name: 'turnstile',
    aggregates: [Turnstile],
    projections: (options.projectionVersions ?? [1]).map((version) => defineTurnstileProjection({ version })),
  });
}
