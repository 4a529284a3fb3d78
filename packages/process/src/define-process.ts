import { DefinitionError, type DomainEvent, type ValidationIssue } from '@ratchet/core';
import { AGGREGATE_TYPE_PATTERN } from '@ratchet/transport-nats';
import type { ProcessCommand } from './process-command.js';
import type { ProcessEvent } from './process-event.js';
import type { ProcessRejection } from './process-rejection.js';
import type { Subscription } from './subscription.js';

/** What `handle` and `onRejected` return: the next state (default: unchanged) and commands to send (default none). */
export interface ProcessStep<TState> {
  readonly state?: TState;
  readonly commands?: readonly ProcessCommand[];
}

/** The event `handle` gets: the union of what the subscriptions deliver. */
export type HandledEvent<TSubs extends readonly Subscription<DomainEvent>[]> = TSubs[number] extends infer S
  ? S extends Subscription<infer E>
    ? ProcessEvent<E>
    : never
  : never;

/** What {@link defineProcess} takes. Every function must be pure: no I/O, no clock, no randomness. */
export interface ProcessConfig<TSubs extends readonly Subscription<DomainEvent>[], TState> {
  /** `^[a-z][a-z0-9-]{0,39}$`; part of every command id it sends, so never rename a running process. */
  readonly name: string;
  /** Event types of one or more aggregate types (see `eventsOf`); at least one. */
  readonly subscribe: TSubs;
  /**
   * The instance an event belongs to: events of one instance are handled one at a time, in order,
   * against its state. Default the event's stream id (one instance per source aggregate).
   */
  readonly correlate?: (event: HandledEvent<TSubs>) => string;
  /** A new instance's state: a JSON value (it is stored as jsonb). Its type is the state's type. */
  readonly initialState: TState;
  /** React to an event: the next state and the commands to send. */
  readonly handle: (event: HandledEvent<TSubs>, state: TState) => ProcessStep<NoInfer<TState>>;
  /** A command was rejected or failed for good: the next state and commands to send instead (compensation). Default: ignore it. */
  readonly onRejected?: (rejection: ProcessRejection, state: TState) => ProcessStep<NoInfer<TState>>;
}

/** A validated process manager: what an app lists under `processes` and a runner runs. */
export interface Process<TState = unknown> {
  readonly name: string;
  readonly subscribe: readonly Subscription[];
  /** The aggregate types subscribed to, each once. */
  readonly aggregateTypes: readonly string[];
  /** Its durable JetStream consumer, `proc_<name>`. */
  readonly consumerName: string;
  readonly initialState: TState;
  /** Whether `handle` takes this event (its aggregate type and event type are subscribed). */
  handles(streamId: string, type: string): boolean;
  /** The instance key of an event (the stream id unless the config says otherwise). */
  correlate(event: ProcessEvent): string;
  handle(event: ProcessEvent, state: TState): ProcessStep<TState>;
  onRejected(rejection: ProcessRejection, state: TState): ProcessStep<TState>;
  /** Whether instances are keyed by stream id (the default `correlate`). */
  readonly keyedByStream: boolean;
}

/** Any process, whatever its state type: what apps, runners and the checker accept. */
export type AnyProcess = Process<unknown>;

/** Process names: they appear in command ids, consumer names and metrics labels. */
export const PROCESS_NAME_PATTERN = /^[a-z][a-z0-9-]{0,39}$/;

/** Step names: they end every command id a process sends. */
export const STEP_PATTERN = /^[A-Za-z][A-Za-z0-9_-]{0,39}$/;

const PROCESS_BRAND: unique symbol = Symbol.for('ratchet.process');
const KNOWN_KEYS = new Set(['name', 'subscribe', 'correlate', 'initialState', 'handle', 'onRejected']);

function configIssues(config: Record<string, unknown>): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const { name, subscribe } = config;
  if (typeof name !== 'string' || !PROCESS_NAME_PATTERN.test(name)) {
    issues.push({ path: ['name'], message: `must match ${PROCESS_NAME_PATTERN.source} (got ${JSON.stringify(name) ?? typeof name})` });
  }
  for (const key of Object.keys(config)) if (!KNOWN_KEYS.has(key)) issues.push({ path: [key], message: 'unknown key' });
  if (!Array.isArray(subscribe) || subscribe.length === 0) issues.push({ path: ['subscribe'], message: 'list at least one subscription' });
  else {
    const seen = new Set<string>();
    subscribe.forEach((s: unknown, i) => {
      const sub = s as Partial<Subscription> | null;
      if (typeof sub?.aggregateType !== 'string' || !AGGREGATE_TYPE_PATTERN.test(sub.aggregateType)) {
        issues.push({ path: ['subscribe', i, 'aggregateType'], message: `must be an aggregate type (${AGGREGATE_TYPE_PATTERN.source})` });
        return;
      }
      if (seen.has(sub.aggregateType))
        issues.push({ path: ['subscribe', i], message: `aggregate type "${sub.aggregateType}" is subscribed twice: list its events once` });
      seen.add(sub.aggregateType);
      if (!Array.isArray(sub.events) || sub.events.length === 0 || !sub.events.every((e) => typeof e === 'string' && e !== '')) {
        issues.push({ path: ['subscribe', i, 'events'], message: 'list at least one event type' });
      }
    });
  }
  for (const fn of ['handle', 'correlate', 'onRejected'] as const) {
    const value = config[fn];
    if (value === undefined && fn !== 'handle') continue;
    if (typeof value !== 'function') issues.push({ path: [fn], message: 'must be a function' });
  }
  let json: string | undefined;
  try {
    json = JSON.stringify(config.initialState);
  } catch {
    json = undefined;
  }
  if (json === undefined) issues.push({ path: ['initialState'], message: 'must be a JSON value (it is stored as jsonb)' });
  return issues;
}

/**
 * Define a process manager: it follows events of some aggregates and sends commands to any
 * aggregates, keeping a state per instance. Validated at once (a {@link DefinitionError} lists
 * every problem); list it in the app's `processes`, and the projector service runs it.
 * @example
 * export const dispatch = defineProcess({
 *   name: 'technician-dispatch',
 *   subscribe: [eventsOf(Turnstile, 'armPushedIneffectively', 'armTurned', 'coinInserted')],
 *   initialState: { pushes: 0 },
 *   handle: (event, state) =>
 *     event.type !== 'armPushedIneffectively' ? { state: { pushes: 0 } }
 *     : state.pushes < 2 ? { state: { pushes: state.pushes + 1 } }
 *     : { state: { pushes: 0 }, commands: [command(Station, stationOf(event.aggregateId), { type: 'callTechnician', payload: { turnstileId: event.aggregateId } }, 'call')] },
 * });
 */
export function defineProcess<const TSubs extends readonly Subscription<DomainEvent>[], TState>(
  config: ProcessConfig<TSubs, TState>,
): Process<TState> {
  const issues =
    typeof config === 'object' && config !== null
      ? configIssues(config as unknown as Record<string, unknown>)
      : [{ path: [], message: 'give defineProcess an object' }];
  if (issues.length > 0) {
    const name = typeof config?.name === 'string' ? config.name : '(unnamed)';
    const list = issues.map((i) => `${i.path.join('.') || '(process)'}: ${i.message}`).join('; ');
    throw new DefinitionError(`process "${name}" is invalid: ${list}`, { details: { process: name, issues } });
  }
  const subscribe = Object.freeze(
    config.subscribe.map((s) => Object.freeze({ aggregateType: s.aggregateType, events: Object.freeze([...s.events]) })),
  );
  const handled = new Map(subscribe.map((s) => [s.aggregateType, new Set<string>(s.events)]));
  const initial = JSON.stringify(config.initialState);
  const correlate = config.correlate as ((event: ProcessEvent) => string) | undefined;
  const handle = config.handle as unknown as (event: ProcessEvent, state: TState) => ProcessStep<TState>;
  const process: Process<TState> = {
    name: config.name,
    subscribe,
    aggregateTypes: Object.freeze(subscribe.map((s) => s.aggregateType)),
    consumerName: `proc_${config.name}`,
    // A fresh copy each time it is read, so a handler that mutates it cannot change the next instance's.
    get initialState(): TState {
      return JSON.parse(initial) as TState;
    },
    handles: (streamId, type) => handled.get(streamId.slice(0, streamId.indexOf('/')))?.has(type) ?? false,
    correlate: correlate === undefined ? (event) => event.streamId : (event) => correlate(event),
    handle: (event, state) => handle(event, state),
    onRejected: (rejection, state) => config.onRejected?.(rejection, state) ?? {},
    keyedByStream: correlate === undefined,
  };
  return Object.freeze(Object.defineProperty(process, PROCESS_BRAND, { value: 1, enumerable: false }));
}

/** Whether `value` was made by {@link defineProcess} (by its brand, not its shape). */
export function isProcess(value: unknown): value is AnyProcess {
  return typeof value === 'object' && value !== null && (value as { [PROCESS_BRAND]?: unknown })[PROCESS_BRAND] === 1;
}
