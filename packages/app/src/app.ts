import type { AnyAggregate } from '@ratchet/core';
import type { AnyProcess } from '@ratchet/process';
import type { Projection } from '@ratchet/projector';

/**
 * Marks a value made by `defineApp`. `Symbol.for`, not `Symbol()`: an app module may resolve its
 * own copy of @ratchet/app (its own node_modules), and its apps must still be recognised.
 */
const APP_BRAND: unique symbol = Symbol.for('ratchet.app');

/** The shape version an App carries under its brand; a loader refuses shapes it does not know. */
export const APP_FORMAT = 1;

/** A process manager (`defineProcess` from `@ratchet/process`): reacts to events by sending commands. */
export type AppProcess = AnyProcess;

/** What {@link defineApp} takes. */
export interface AppConfig<TAggregates extends readonly AnyAggregate[] = readonly AnyAggregate[]> {
  /** Lower-case identifier, `^[a-z][a-z0-9-]{0,63}$`; shown in logs and on the dashboard. */
  readonly name: string;
  /** The aggregate types workers serve; at least one, each type once. */
  readonly aggregates: TAggregates;
  /**
   * The projection versions projectors run. Several versions of one name may be listed (a rebuild:
   * the newer one is built beside the older, then readers switch); each name and version once.
   * Default none.
   */
  readonly projections?: readonly Projection[];
  /**
   * The process managers projectors run (beside the projections): each name once, subscribed to
   * event types of the app's aggregates. Default none.
   */
  readonly processes?: readonly AppProcess[];
}

/** A validated app: what an app module's default export is, and what services load. */
export interface App<TAggregates extends readonly AnyAggregate[] = readonly AnyAggregate[]> {
  readonly [APP_BRAND]: typeof APP_FORMAT;
  readonly name: string;
  readonly aggregates: TAggregates;
  readonly projections: readonly Projection[];
  readonly processes: readonly AppProcess[];
}

/**
 * Stamp a validated app with the brand (only `defineApp` calls this). Not enumerable, so a copy
 * (`{ ...app, aggregates: [...] }`) is not an app: the brand vouches that defineApp checked it.
 */
export function brandApp<T extends Omit<App, typeof APP_BRAND>>(app: T): T & App {
  return Object.freeze(Object.defineProperty({ ...app }, APP_BRAND, { value: APP_FORMAT, enumerable: false })) as T & App;
}

/** The brand's value on `value`: a number for anything `defineApp` made (any version), else undefined. */
export function appFormatOf(value: unknown): number | undefined {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return undefined;
  const format = (value as { [APP_BRAND]?: unknown })[APP_BRAND];
  return typeof format === 'number' ? format : undefined;
}

/**
 * Whether `value` is an app made by `defineApp` of this format: checked by its brand, never by
 * its shape, so a plain object that merely looks like an app is refused.
 */
export function isApp(value: unknown): value is App {
  return appFormatOf(value) === APP_FORMAT;
}
