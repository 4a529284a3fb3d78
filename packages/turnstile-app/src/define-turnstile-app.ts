import { defineApp, type App } from '@ratchet/app';
import { defineStation } from '@ratchet/station';
import { Turnstile } from '@ratchet/turnstile';
import { defineStationProjection, defineTurnstileProjection } from '@ratchet/turnstile-projections';
import { technicianDispatch } from './technician-dispatch.js';
import type { TurnstileProjectionVersion } from './turnstile-projection-versions.js';

/** Options of {@link defineTurnstileApp}. */
export interface TurnstileAppOptions {
  /** Versions of the turnstile projection the projector runs. Default `[1]`. */
  readonly projectionVersions?: readonly TurnstileProjectionVersion[];
  /** How long a station's technician visit may take before it escalates (ms). Default 20,000. */
  readonly stationVisitTimeoutMs?: number;
}

/** The station aggregate's type in the turnstile app. */
type StationAggregate = ReturnType<typeof defineStation>;

/** The turnstile app's type: the turnstile and the station. */
export type TurnstileApp = App<readonly [typeof Turnstile, StationAggregate]>;

/**
 * The turnstile demo as an app: the turnstile (rill.wheel's rules, unchanged) and the stations its
 * turnstiles belong to; the turnstile read models at the versions asked for and the stations' read
 * model; and the technician dispatch, a process manager that calls a station's technician after
 * three ineffective pushes in a row on one of its turnstiles. A visit that is not completed within
 * the visit timeout escalates (a statechart delay, made durable by the worker).
 * @example
 * const app = defineTurnstileApp({ projectionVersions: [1, 2] });
 */
export function defineTurnstileApp(options: TurnstileAppOptions = {}): TurnstileApp {
  return defineApp({
    name: 'turnstile',
    aggregates: [Turnstile, defineStation({ visitTimeoutMs: options.stationVisitTimeoutMs ?? 20_000 })],
    projections: [
      ...(options.projectionVersions ?? [1]).map((version) => defineTurnstileProjection({ version })),
      defineStationProjection(),
    ],
    processes: [technicianDispatch],
  });
}
