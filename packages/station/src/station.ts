import { defineAggregate, reject, type EventUnion } from '@ratchet/core';
import { assign, setup } from 'xstate';
import { z } from 'zod';

/** Zod schemas of the station's events. */
export const stationEvents = {
  /** A technician is on the way, for this turnstile. */
  technicianCalled: z.object({ turnstileId: z.string().min(1) }).strict(),
  /** The technician came and reported. */
  visitCompleted: z.object({}).strict(),
};

/** Zod schemas of the station's commands. */
export const stationCommands = {
  callTechnician: z.object({ turnstileId: z.string().min(1) }).strict(),
  completeVisit: z.object({}).strict(),
};

/** A station domain event (the fired delay `xstate.after.visitTimeout.station.visiting` besides). */
export type StationEvent = EventUnion<typeof stationEvents>;

/** What a station remembers. */
export interface StationContext {
  readonly calls: number;
  readonly visits: number;
  readonly escalations: number;
  /** The turnstile of the current (or last) call. */
  readonly turnstileId: string | null;
}

/** The stored type of a visit that timed out: XState's name for the delay `visitTimeout` elapsing in `visiting`. */
export const VISIT_TIMED_OUT = 'xstate.after.visitTimeout.station.visiting';

/** Options of {@link defineStation}. */
export interface StationOptions {
  /** How long a technician has to complete a visit before it escalates (ms). Default 30,000. */
  readonly visitTimeoutMs?: number;
}

/**
 * The station statechart: idle → visiting (a technician called) → idle when the visit is completed,
 * or → escalated when `visitTimeout` passes first (a durable timer: the worker fires it, and the
 * fired delay is an event of the stream). An escalated visit can still be completed.
 */
export function stationMachine(options: StationOptions = {}) {
  return setup({
    types: { context: {} as StationContext, events: {} as StationEvent },
    delays: { visitTimeout: options.visitTimeoutMs ?? 30_000 },
  }).createMachine({
    id: 'station',
    initial: 'idle',
    context: { calls: 0, visits: 0, escalations: 0, turnstileId: null },
    states: {
      idle: {
        on: {
          technicianCalled: {
            target: 'visiting',
            actions: assign({ calls: ({ context }) => context.calls + 1, turnstileId: ({ event }) => event.data.turnstileId }),
          },
        },
      },
      visiting: {
        after: { visitTimeout: { target: 'escalated', actions: assign({ escalations: ({ context }) => context.escalations + 1 }) } },
        on: { visitCompleted: { target: 'idle', actions: assign({ visits: ({ context }) => context.visits + 1 }) } },
      },
      escalated: {
        on: { visitCompleted: { target: 'idle', actions: assign({ visits: ({ context }) => context.visits + 1 }) } },
      },
    },
  });
}

/**
 * A station of the demo's turnstiles: a technician is called for a turnstile that keeps refusing
 * riders, and a visit that is not completed in time escalates.
 * @example
 * const Station = defineStation({ visitTimeoutMs: 20_000 });
 * Station.decide({ type: 'callTechnician', payload: { turnstileId: 't-0007' } }, Station.initialState());
 */
export function defineStation(options: StationOptions = {}) {
  return defineAggregate({
    type: 'station',
    machine: stationMachine(options),
    commands: stationCommands,
    events: stationEvents,
    decide: {
      callTechnician: ({ turnstileId }, state) =>
        state.matches('idle')
          ? [{ type: 'technicianCalled', data: { turnstileId } }]
          : reject(`a technician is already called (for ${state.context.turnstileId ?? '?'})`),
      completeVisit: (_payload, state) => (state.matches('idle') ? reject('no visit to complete') : [{ type: 'visitCompleted', data: {} }]),
    },
  });
}

/** The station aggregate with the default visit timeout (30 s); the turnstile app sets its own. */
export const Station = defineStation();

/** The station aggregate's type. */
export type StationAggregate = typeof Station;
