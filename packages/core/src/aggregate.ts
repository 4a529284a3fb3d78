import type { AnyStateMachine, SnapshotFrom, StateValue } from 'xstate';
import type { z } from 'zod';
import type { DomainEvent } from './events.js';
import type { Rejection } from './rejection.js';
import type { TimerEffects } from './timers.js';

/** The union of domain events described by a record of zod schemas: `{ type, data }`. */
export type EventUnion<TEvents extends Record<string, z.ZodType>> = {
  [K in keyof TEvents & string]: DomainEvent<K, z.output<TEvents[K]>>;
}[keyof TEvents & string];

/** The union of commands described by a record of zod schemas: `{ type, payload }`. */
export type CommandUnion<TCommands extends Record<string, z.ZodType>> = {
  [K in keyof TCommands & string]: { readonly type: K; readonly payload: z.input<TCommands[K]> };
}[keyof TCommands & string];

/** An aggregate instance's state as the runtime holds it: the machine snapshot and the stream version. */
export interface AggregateState<TMachine extends AnyStateMachine = AnyStateMachine> {
  readonly snapshot: SnapshotFrom<TMachine>;
  readonly version: number;
}

/** The serialisable part of a state, for the snapshot store. */
export interface PersistedState {
  readonly value: StateValue;
  readonly context: unknown;
}

/** A stored event as replay reads it (older schema versions are upcast). */
export interface StoredEventInput {
  readonly type: string;
  readonly data: unknown;
  readonly schemaVersion?: number;
}

/** What `decide` learns besides the payload and the state. */
export interface DecideContext {
  /** The aggregate instance id. */
  readonly id: string;
  /** The stream version the decision is made against (0 before the first event). */
  readonly version: number;
}

/**
 * The outcome of `decide`: events with the state they lead to and the durable timers they start
 * and cancel (statechart delays entered or left, commands scheduled), or a rejection.
 */
export type Decision<TMachine extends AnyStateMachine = AnyStateMachine, TEvent extends DomainEvent = DomainEvent> =
  | {
      readonly status: 'accepted';
      readonly events: readonly TEvent[];
      readonly state: AggregateState<TMachine>;
      readonly timers: TimerEffects;
    }
  | Rejection;

/** A command whose type exists and whose payload passed its schema (made only by `AggregateRuntime.parseCommand`). */
export interface ParsedCommand {
  readonly type: string;
  /** The payload as the schema output it (defaults applied, unknown keys stripped as the schema says). */
  readonly payload: unknown;
  readonly parsed: true;
}

/**
 * What runtimes (worker, projector, test kit) need of an aggregate besides its public surface:
 * validation apart from decision, stored-event upcasting, snapshot persistence. App code does not
 * need it.
 */
export interface AggregateRuntime<TMachine extends AnyStateMachine = AnyStateMachine, TEvent extends DomainEvent = DomainEvent> {
  /** Check that the command exists and its payload passes its schema. Throws RatchetError(UNKNOWN_COMMAND) or ValidationError. */
  parseCommand(command: { readonly type: string; readonly payload: unknown }): ParsedCommand;
  /** Decide a parsed command (the check of each event against the machine included). */
  decideParsed(command: ParsedCommand, state: AggregateState<TMachine>, id: string): Decision<TMachine, TEvent>;
  /**
   * A statechart delay fell due: its event if the machine still takes it in `state` (with the
   * timers that transition starts and cancels), else a rejection (the state was left: a no-op).
   */
  fireDelay(state: AggregateState<TMachine>, timer: { readonly id: string; readonly event: DomainEvent }): Decision<TMachine, TEvent>;
  /** Whether the aggregate has a command of this type. */
  hasCommand(type: string): boolean;
  /** Apply one current-schema domain event. */
  evolve(state: AggregateState<TMachine>, event: DomainEvent): AggregateState<TMachine>;
  /** Current schema version of an event type. */
  schemaVersionOf(type: string): number;
  /** Bring a stored event's data to its current schema version. */
  upcast(event: StoredEventInput): DomainEvent;
  /** The part of a state worth saving as a snapshot. */
  persist(state: AggregateState<TMachine>): PersistedState;
  /** Rebuild a state from a saved snapshot at `version`. */
  restore(persisted: PersistedState, version: number): AggregateState<TMachine>;
}

/** A defined aggregate type: its schemas, its statechart, pure replay and decide. */
export interface Aggregate<
  TMachine extends AnyStateMachine = AnyStateMachine,
  TCommands extends Record<string, z.ZodType> = Record<string, z.ZodType>,
  TEvents extends Record<string, z.ZodType> = Record<string, z.ZodType>,
> {
  readonly type: string;
  readonly machine: TMachine;
  readonly commands: TCommands;
  readonly events: TEvents;
  /** Snapshots taken under another machine version are ignored. */
  readonly machineVersion: string;
  /** The state before any event (version 0). */
  initialState(): AggregateState<TMachine>;
  /** Fold stored events (upcast first) onto `from` (default the initial state). */
  replay(events: Iterable<StoredEventInput>, from?: AggregateState<TMachine>): AggregateState<TMachine>;
  /**
   * Validate and decide a command against a state, in the order of the user's decide functions
   * (command, then state). Throws ValidationError, or RatchetError(UNKNOWN_COMMAND).
   */
  decide(
    command: CommandUnion<TCommands>,
    state: AggregateState<TMachine>,
    context?: { readonly id?: string },
  ): Decision<TMachine, EventUnion<TEvents>>;
  /** Plumbing for runtimes (validation apart from decision, upcasting, snapshots). */
  readonly runtime: AggregateRuntime<TMachine, EventUnion<TEvents>>;
}

/**
 * Any defined aggregate, whatever its schemas: what runtimes (worker, test kit) accept. The
 * precise `Aggregate<M, C, E>` is not assignable to `Aggregate` with its defaults because the
 * schema records appear under `keyof` (invariant), hence this alias.
 */
// biome-ignore lint/suspicious/noExplicitAny: the schema records are invariant (under keyof), so neither unknown nor never accepts every aggregate (tsc: Decision<…, never> and events: never fail); any is the only wildcard
export type AnyAggregate = Aggregate<AnyStateMachine, any, any>;
