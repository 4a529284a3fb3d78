import {
  initialTransition,
  transition,
  type AnyMachineSnapshot,
  type AnyStateMachine,
  type SnapshotFrom,
  type StateValue,
} from 'xstate';
import type { z } from 'zod';
import { DefinitionError, ErrorCode, RatchetError } from './errors.js';
import type { DomainEvent } from './events.js';
import { deriveMachineVersion } from './machine-version.js';
import { isRejection, type Rejection } from './rejection.js';
import { parseOrThrow } from './validation.js';

/** The union of domain events described by a record of zod schemas: `{ type, data }`. */
export type EventUnion<TEvents extends Record<string, z.ZodType>> = {
  [K in keyof TEvents & string]: DomainEvent<K, z.output<TEvents[K]>>;
}[keyof TEvents & string];

/** The union of commands described by a record of zod schemas: `{ type, payload }`. */
export type CommandUnion<TCommands extends Record<string, z.ZodType>> = {
  [K in keyof TCommands & string]: { readonly type: K; readonly payload: z.input<TCommands[K]> };
}[keyof TCommands & string];

/** What `decide` learns besides the payload and the state. */
export interface DecideContext {
  /** The aggregate instance id. */
  readonly id: string;
  /** The stream version the decision is made against (0 before the first event). */
  readonly version: number;
}

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
  /** One decision function per command: events to append, or `reject(reason)`. */
  readonly decide: {
    readonly [K in keyof TCommands]: (
      payload: z.output<TCommands[K]>,
      state: SnapshotFrom<TMachine>,
      context: DecideContext,
    ) => ReadonlyArray<EventUnion<TEvents>> | Rejection;
  };
  /** Current schema version per event type; default 1 for every type. */
  readonly schemaVersions?: { readonly [K in keyof TEvents]?: number };
  /** Upcasters per event type, keyed by the version they read (`{ 1: v1 => v2 }`). */
  readonly upcasters?: { readonly [K in keyof TEvents]?: Readonly<Record<number, Upcaster>> };
  /** Machine version for snapshots; default derived from the definition (see `deriveMachineVersion`). */
  readonly version?: string;
}

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

/** The outcome of `decide`: events with the state they lead to, or a rejection. */
export type Decision<TMachine extends AnyStateMachine = AnyStateMachine, TEvent extends DomainEvent = DomainEvent> =
  | { readonly accepted: true; readonly events: readonly TEvent[]; readonly state: AggregateState<TMachine> }
  | { readonly accepted: false; readonly reason: string };

/** A defined aggregate type: pure replay and decide over its machine. */
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
  /** Apply one current-schema domain event. */
  evolve(state: AggregateState<TMachine>, event: DomainEvent): AggregateState<TMachine>;
  /** Validate and decide a command against a state. Throws ValidationError, or RatchetError(UNKNOWN_COMMAND). */
  decide(
    state: AggregateState<TMachine>,
    command: { readonly type: string; readonly payload: unknown },
    id?: string,
  ): Decision<TMachine, EventUnion<TEvents>>;
  /** Whether the aggregate has a command of this type. */
  hasCommand(type: string): boolean;
  /** Current schema version of an event type. */
  schemaVersionOf(type: string): number;
  /** Bring a stored event's data to its current schema version. */
  upcast(event: StoredEventInput): DomainEvent;
  /** The part of a state worth saving as a snapshot. */
  persist(state: AggregateState<TMachine>): PersistedState;
  /** Rebuild a state from a saved snapshot at `version`. */
  restore(persisted: PersistedState, version: number): AggregateState<TMachine>;
}

/**
 * Any defined aggregate, whatever its schemas: what runtimes (worker, test kit) accept. The
 * precise `Aggregate<M, C, E>` is not assignable to `Aggregate` with its defaults because the
 * schema records appear under `keyof` (invariant), hence this alias.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyAggregate = Aggregate<AnyStateMachine, any, any>;

const TYPE_NAME = /^[a-z][a-z0-9-]{0,63}$/;

function describeState(value: StateValue): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * Define an aggregate type once: statechart, schemas and decisions.
 * @example
 * const Counter = defineAggregate({
 *   type: 'counter',
 *   machine: counterMachine,
 *   commands: { add: z.object({ n: z.number() }) },
 *   events: { added: z.object({ n: z.number() }) },
 *   decide: { add: ({ n }) => [{ type: 'added', data: { n } }] },
 * });
 */
export function defineAggregate<
  TMachine extends AnyStateMachine,
  TCommands extends Record<string, z.ZodType>,
  TEvents extends Record<string, z.ZodType>,
>(config: AggregateConfig<TMachine, TCommands, TEvents>): Aggregate<TMachine, TCommands, TEvents> {
  if (!TYPE_NAME.test(config.type)) {
    throw new DefinitionError(`aggregate type "${config.type}" must match ${TYPE_NAME.source}`);
  }
  for (const name of Object.keys(config.commands)) {
    if (typeof (config.decide as Record<string, unknown>)[name] !== 'function') {
      throw new DefinitionError(`aggregate "${config.type}": command "${name}" has no decide function`);
    }
  }
  const machine = config.machine;
  const commandSchemas = config.commands as Record<string, z.ZodType>;
  const eventSchemas = config.events as Record<string, z.ZodType>;
  const decideFns = config.decide as Record<
    string,
    (payload: unknown, state: SnapshotFrom<TMachine>, ctx: DecideContext) => readonly DomainEvent[] | Rejection
  >;
  const schemaVersions = (config.schemaVersions ?? {}) as Record<string, number | undefined>;
  const upcasters = (config.upcasters ?? {}) as Record<string, Readonly<Record<number, Upcaster>> | undefined>;
  const has = (record: object, key: string): boolean => Object.prototype.hasOwnProperty.call(record, key);

  const machineVersion =
    config.version ?? deriveMachineVersion([config.type, machine.config, machine.implementations, schemaVersions]);
  const initialSnapshot = (initialTransition as (m: AnyStateMachine) => [unknown, unknown])(machine)[0] as SnapshotFrom<TMachine>;
  const initial: AggregateState<TMachine> = { snapshot: initialSnapshot, version: 0 };

  const schemaVersionOf = (type: string): number => schemaVersions[type] ?? 1;

  const upcast = (event: StoredEventInput): DomainEvent => {
    const target = schemaVersionOf(event.type);
    let v = event.schemaVersion ?? 1;
    if (v === target) return { type: event.type, data: event.data };
    if (!has(eventSchemas, event.type)) {
      throw new RatchetError(ErrorCode.UNKNOWN_EVENT, `aggregate "${config.type}" has no event "${event.type}"`);
    }
    let data = event.data;
    while (v < target) {
      const step = upcasters[event.type]?.[v];
      if (step === undefined) {
        throw new DefinitionError(`aggregate "${config.type}": no upcaster for "${event.type}" from schema version ${v}`);
      }
      data = step(data);
      v += 1;
    }
    if (v !== target) {
      throw new DefinitionError(
        `aggregate "${config.type}": stored "${event.type}" has schema version ${event.schemaVersion}, newer than ${target}`,
      );
    }
    return { type: event.type, data };
  };

  const step = (snapshot: SnapshotFrom<TMachine>, event: DomainEvent): SnapshotFrom<TMachine> =>
    transition(machine, snapshot, event as never)[0] as SnapshotFrom<TMachine>;

  return {
    type: config.type,
    machine,
    commands: config.commands,
    events: config.events,
    machineVersion,
    initialState: () => initial,
    evolve: (state, event) => ({ snapshot: step(state.snapshot, event), version: state.version + 1 }),
    replay(events, from = initial) {
      let snapshot = from.snapshot;
      let version = from.version;
      for (const event of events) {
        snapshot = step(snapshot, upcast(event));
        version += 1;
      }
      return { snapshot, version };
    },
    decide(state, command, id = '') {
      if (typeof command.type !== 'string' || !has(commandSchemas, command.type)) {
        throw new RatchetError(
          ErrorCode.UNKNOWN_COMMAND,
          `aggregate "${config.type}" has no command "${String(command.type)}"`,
          { details: { aggregateType: config.type, commandType: String(command.type) } },
        );
      }
      const schema = commandSchemas[command.type] as z.ZodType;
      const payload = parseOrThrow(schema, command.payload, `command "${command.type}"`);
      const decideFn = decideFns[command.type] as (typeof decideFns)[string];
      const result = decideFn(payload, state.snapshot, { id, version: state.version });
      if (isRejection(result)) return { accepted: false, reason: result.reason };
      if (!Array.isArray(result)) {
        throw new DefinitionError(`decide for "${command.type}" returned neither an event list nor a rejection`);
      }
      let snapshot = state.snapshot;
      const events: DomainEvent[] = [];
      for (const candidate of result as readonly DomainEvent[]) {
        const eventSchema = has(eventSchemas, candidate.type) ? eventSchemas[candidate.type] : undefined;
        if (eventSchema === undefined) {
          throw new DefinitionError(`decide for "${command.type}" produced unknown event "${String(candidate.type)}"`);
        }
        const parsed = eventSchema.safeParse(candidate.data);
        if (!parsed.success) {
          throw new DefinitionError(
            `decide for "${command.type}" produced event "${candidate.type}" that fails its own schema: ${parsed.error.message}`,
            { cause: parsed.error },
          );
        }
        const event: DomainEvent = { type: candidate.type, data: parsed.data };
        const current = snapshot as unknown as AnyMachineSnapshot;
        if (!current.can(event)) {
          return {
            accepted: false,
            reason: `event "${event.type}" is not accepted in state "${describeState(current.value)}"`,
          };
        }
        snapshot = step(snapshot, event);
        events.push(event);
      }
      return {
        accepted: true,
        events: events as EventUnion<TEvents>[],
        state: { snapshot, version: state.version + events.length },
      };
    },
    hasCommand: (type) => has(commandSchemas, type),
    schemaVersionOf,
    upcast,
    persist: (state) => {
      const s = state.snapshot as unknown as AnyMachineSnapshot;
      return { value: s.value, context: s.context as unknown };
    },
    restore: (persisted, version) => ({
      snapshot: machine.resolveState({ value: persisted.value, context: persisted.context as never }) as SnapshotFrom<TMachine>,
      version,
    }),
  };
}
