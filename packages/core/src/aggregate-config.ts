import type { AnyStateMachine, SnapshotFrom } from 'xstate';
import type { z } from 'zod';
import type { CommandUnion, DecideContext, EventUnion } from './aggregate.js';
import type { ScheduledCommand, Unschedule } from './timers.js';
import type { Rejection } from './rejection.js';

/** Turns one stored schema version of an event's data into the next (n → n + 1). */
export type Upcaster = (data: unknown) => unknown;

/** Everything that defines an aggregate type. */
export interface AggregateConfig<
  TMachine extends AnyStateMachine,
  TCommands extends Record<string, z.ZodType>,
  TEvents extends Record<string, z.ZodType>,
> {
  /** Aggregate type name: lower-case letters, digits and `-` (it appears in NATS subjects). */
  readonly type: string;
  /** The statechart. Its events are the domain events `{ type, data }`; nothing else changes it. */
  readonly machine: TMachine;
  /** A zod schema per command type, for the payload. */
  readonly commands: TCommands;
  /** A zod schema per event type, for the data at its current schema version. */
  readonly events: TEvents;
  /**
   * One decision function per command: events to append (and, beside them, `schedule(...)` /
   * `unschedule(...)` for commands to run on this aggregate later), or `reject(reason)`.
   */
  readonly decide: {
    readonly [K in keyof TCommands]: (
      payload: z.output<TCommands[K]>,
      state: SnapshotFrom<TMachine>,
      context: DecideContext,
    ) => ReadonlyArray<EventUnion<TEvents> | ScheduledCommand<CommandUnion<TCommands>> | Unschedule> | Rejection;
  };
  /** Current schema version per event type; default 1 for every type. */
  readonly schemaVersions?: { readonly [K in keyof TEvents]?: number };
  /** Upcasters per event type, keyed by the version they read (`{ 1: v1 => v2 }`). */
  readonly upcasters?: { readonly [K in keyof TEvents]?: Readonly<Record<number, Upcaster>> };
  /**
   * Version of the statechart, for snapshots: a snapshot saved under another machine version is
   * ignored (the stream is replayed instead). Default derived from the definition (see `deriveMachineVersion`).
   */
  readonly machineVersion?: string;
}
