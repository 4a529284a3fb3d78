import { initialTransition, transition, type AnyMachineSnapshot, type AnyStateMachine, type SnapshotFrom, type StateValue } from 'xstate';
import type { z } from 'zod';
import { DefinitionError, ErrorCode, RatchetError } from './errors.js';
import type { DomainEvent } from './events.js';
import { deriveMachineVersion } from './machine-version.js';
import { isRejection, type Rejection } from './rejection.js';
import { parseOrThrow } from './validation.js';
import { isScheduledCommand, isUnschedule, TimerLedger, type ScheduledCommand, type TimerStart, type Unschedule } from './timers.js';
import type {
  Aggregate,
  AggregateRuntime,
  AggregateState,
  DecideContext,
  Decision,
  EventUnion,
  ParsedCommand,
  StoredEventInput,
} from './aggregate.js';
import type { AggregateConfig, Upcaster } from './aggregate-config.js';

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
    (
      payload: unknown,
      state: SnapshotFrom<TMachine>,
      ctx: DecideContext,
    ) => ReadonlyArray<DomainEvent | ScheduledCommand | Unschedule> | Rejection
  >;
  const schemaVersions = (config.schemaVersions ?? {}) as Record<string, number | undefined>;
  const upcasters = (config.upcasters ?? {}) as Record<string, Readonly<Record<number, Upcaster>> | undefined>;
  const has = (record: object, key: string): boolean => Object.hasOwn(record, key);

  const machineVersion =
    config.machineVersion ?? deriveMachineVersion([config.type, machine.config, machine.implementations, schemaVersions]);
  const [initialSnapshot, initialActions] = (initialTransition as (m: AnyStateMachine) => [SnapshotFrom<TMachine>, unknown[]])(machine);
  const initialTimers = new TimerLedger();
  initialTimers.noteActions(initialActions);
  if (initialTimers.effects().start.length > 0) {
    // A timer needs a committed event to start from: the initial state has none.
    throw new DefinitionError(
      `aggregate "${config.type}": the initial state has a delayed transition; move it to a state entered by an event`,
    );
  }
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

  /** One transition; its delayed raises and cancels go to `timers` when given. */
  const step = (snapshot: SnapshotFrom<TMachine>, event: DomainEvent, timers?: TimerLedger): SnapshotFrom<TMachine> => {
    const [next, actions] = transition(machine, snapshot, event as never) as [SnapshotFrom<TMachine>, unknown[]];
    timers?.noteActions(actions);
    return next;
  };

  const hasCommand = (type: string): boolean => has(commandSchemas, type);

  const parseCommand = (command: { readonly type: string; readonly payload: unknown }): ParsedCommand => {
    if (typeof command.type !== 'string' || !hasCommand(command.type)) {
      throw new RatchetError(ErrorCode.UNKNOWN_COMMAND, `aggregate "${config.type}" has no command "${String(command.type)}"`, {
        details: { aggregateType: config.type, commandType: String(command.type) },
      });
    }
    const payload = parseOrThrow(commandSchemas[command.type] as z.ZodType, command.payload, `command "${command.type}"`);
    return { type: command.type, payload, parsed: true };
  };

  const decideParsed = (command: ParsedCommand, state: AggregateState<TMachine>, id: string): Decision<TMachine, EventUnion<TEvents>> => {
    const decideFn = decideFns[command.type] as (typeof decideFns)[string];
    const result = decideFn(command.payload, state.snapshot, { id, version: state.version });
    if (isRejection(result)) return { status: 'rejected', reason: result.reason };
    if (!Array.isArray(result)) {
      throw new DefinitionError(`decide for "${command.type}" returned neither an event list nor a rejection`);
    }
    const timers = new TimerLedger();
    let snapshot = state.snapshot;
    const events: DomainEvent[] = [];
    const later: Array<ScheduledCommand | Unschedule> = [];
    for (const item of result as ReadonlyArray<DomainEvent | ScheduledCommand | Unschedule>) {
      if (isScheduledCommand(item) || isUnschedule(item)) {
        later.push(item);
        continue;
      }
      const event = checkedEvent(command.type, item);
      const current = snapshot as unknown as AnyMachineSnapshot;
      if (!current.can(event)) {
        return { status: 'rejected', reason: `event "${event.type}" is not accepted in state "${describeState(current.value)}"` };
      }
      snapshot = step(snapshot, event, timers);
      events.push(event);
    }
    const version = state.version + events.length;
    if (events.length === 0 && later.length > 0) {
      // A timer is written with the events of its decision; the stream should say why it was scheduled.
      throw new DefinitionError(
        `decide for "${command.type}" scheduled or unscheduled a command without an event: return an event that records it`,
      );
    }
    later.forEach((item, i) => {
      if (isUnschedule(item)) timers.cancel(`schedule:${item.unscheduled}`);
      else timers.start(scheduledTimer(command.type, item, `schedule:${item.id ?? `${version}.${i}`}`));
    });
    return { status: 'accepted', events: events as EventUnion<TEvents>[], state: { snapshot, version }, timers: timers.effects() };
  };

  /** A candidate event from `decide`, checked against its own schema (a failure is the definition's bug). */
  const checkedEvent = (commandType: string, candidate: DomainEvent): DomainEvent => {
    const eventSchema = has(eventSchemas, candidate.type) ? eventSchemas[candidate.type] : undefined;
    if (eventSchema === undefined) {
      throw new DefinitionError(`decide for "${commandType}" produced unknown event "${String(candidate.type)}"`);
    }
    const parsed = eventSchema.safeParse(candidate.data);
    if (!parsed.success) {
      throw new DefinitionError(
        `decide for "${commandType}" produced event "${candidate.type}" that fails its own schema: ${parsed.error.message}`,
        {
          cause: parsed.error,
        },
      );
    }
    return { type: candidate.type, data: parsed.data };
  };

  /** A `schedule(...)` from decide as a timer; its command must exist and its payload pass its schema. */
  const scheduledTimer = (commandType: string, item: ScheduledCommand, timerId: string): TimerStart => {
    let parsed: ParsedCommand;
    try {
      parsed = parseCommand({ type: item.command.type, payload: item.command.payload ?? {} });
    } catch (cause) {
      throw new DefinitionError(`decide for "${commandType}" scheduled an invalid command "${String(item.command.type)}"`, { cause });
    }
    const when = item.at instanceof Date ? { at: item.at.toISOString() } : { delayMs: Math.max(0, Math.round(item.afterMs ?? 0)) };
    return { kind: 'command', id: timerId, command: { type: parsed.type, payload: parsed.payload }, ...when };
  };

  /** A due statechart delay: its event if the machine still takes it, else a rejection (the state was left). */
  const fireDelay = (
    state: AggregateState<TMachine>,
    timer: { readonly id: string; readonly event: DomainEvent },
  ): Decision<TMachine, EventUnion<TEvents>> => {
    const { event } = timer;
    const current = state.snapshot as unknown as AnyMachineSnapshot;
    if (!current.can(event))
      return { status: 'rejected', reason: `delay "${event.type}" is not taken in state "${describeState(current.value)}"` };
    const timers = new TimerLedger();
    // The delay is spent (a targetless delayed transition neither exits nor cancels it); a re-entry restarts it.
    timers.cancel(timer.id);
    const snapshot = step(state.snapshot, event, timers);
    return {
      status: 'accepted',
      events: [event] as EventUnion<TEvents>[],
      state: { snapshot, version: state.version + 1 },
      timers: timers.effects(),
    };
  };

  const runtime: AggregateRuntime<TMachine, EventUnion<TEvents>> = {
    parseCommand,
    decideParsed,
    fireDelay,
    hasCommand,
    evolve: (state, event) => ({ snapshot: step(state.snapshot, event), version: state.version + 1 }),
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

  return {
    type: config.type,
    machine,
    commands: config.commands,
    events: config.events,
    machineVersion,
    initialState: () => initial,
    replay(events, from = initial) {
      let snapshot = from.snapshot;
      let version = from.version;
      for (const event of events) {
        snapshot = step(snapshot, upcast(event));
        version += 1;
      }
      return { snapshot, version };
    },
    decide: (command, state, context = {}) => decideParsed(parseCommand(command), state, context.id ?? ''),
    runtime,
  };
}
