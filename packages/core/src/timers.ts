import type { DomainEvent } from './events.js';

/**
 * A durable timer a decision starts, written in the same transaction as the decision's events and
 * fired later by the partition's owner:
 * - `delay`: a statechart delay (`after`, or a delayed `raise` to self) — when due, `event` is
 *   appended and folded like any event, so replay needs no clock;
 * - `command`: a command the aggregate's `decide` scheduled for itself with `schedule(...)` — when
 *   due, it is decided against the state of that moment, like a command from a client.
 */
export type TimerStart =
  | { readonly kind: 'delay'; readonly id: string; readonly delayMs: number; readonly event: DomainEvent }
  | {
      readonly kind: 'command';
      readonly id: string;
      readonly command: { readonly type: string; readonly payload: unknown };
      /** Due this long after the commit (ms), or at `at`. */
      readonly delayMs?: number;
      /** Due at this time (ISO 8601). */
      readonly at?: string;
    };

/** The timers a decision starts and cancels (net of each other, by id). */
export interface TimerEffects {
  readonly start: readonly TimerStart[];
  readonly cancel: readonly string[];
}

/** No timer started or cancelled. */
export const NO_TIMERS: TimerEffects = { start: [], cancel: [] };

/** A command `decide` asks to run on this aggregate later: put it in the returned list beside the events. */
export interface ScheduledCommand<
  TCommand extends { readonly type: string; readonly payload?: unknown } = { readonly type: string; readonly payload?: unknown },
> {
  readonly scheduled: true;
  /** Identifies the schedule within the aggregate: a later `schedule` with the same id replaces it, `unschedule(id)` cancels it. */
  readonly id?: string;
  readonly command: TCommand;
  readonly afterMs?: number;
  readonly at?: Date;
}

/** Cancels a command scheduled earlier under `id` (put it in the returned list beside the events). */
export interface Unschedule {
  readonly unscheduled: string;
}

/**
 * Schedule a command on this aggregate, from `decide`: it runs once, at or after the time given,
 * against the aggregate's state then (it may be rejected like any command).
 * @example
 * decide: { startVisit: (p) => [{ type: 'visitStarted', data: p }, schedule({ type: 'escalate', payload: {} }, { afterMs: 30_000 }, 'escalation')] }
 */
export function schedule<const TCommand extends { readonly type: string; readonly payload?: unknown }>(
  command: TCommand,
  when: { readonly afterMs: number } | { readonly at: Date },
  id?: string,
): ScheduledCommand<TCommand> {
  return { scheduled: true, command, ...when, ...(id === undefined ? {} : { id }) };
}

/** Cancel the command scheduled under `id`, from `decide`. */
export function unschedule(id: string): Unschedule {
  return { unscheduled: id };
}

/** Whether an item `decide` returned is a `schedule(...)`. */
export function isScheduledCommand(value: unknown): value is ScheduledCommand {
  return typeof value === 'object' && value !== null && (value as { scheduled?: unknown }).scheduled === true;
}

/** Whether an item `decide` returned is an `unschedule(...)`. */
export function isUnschedule(value: unknown): value is Unschedule {
  return typeof value === 'object' && value !== null && typeof (value as { unscheduled?: unknown }).unscheduled === 'string';
}

/** Accumulates timer starts and cancels in order; a later start or cancel of an id replaces an earlier one. */
export class TimerLedger {
  readonly #effects = new Map<string, TimerStart | null>();

  start(timer: TimerStart): void {
    this.#effects.delete(timer.id);
    this.#effects.set(timer.id, timer);
  }

  cancel(id: string): void {
    this.#effects.delete(id);
    this.#effects.set(id, null);
  }

  /** Read XState's actions of one transition: delayed raises start timers, cancels cancel them. */
  noteActions(actions: readonly unknown[]): void {
    for (const action of actions) {
      const a = action as { type?: unknown; params?: { event?: unknown; id?: unknown; delay?: unknown; sendId?: unknown } };
      if (a.type === 'xstate.raise' && typeof a.params?.delay === 'number') {
        const raised = a.params.event as { type: string; data?: unknown };
        const id = typeof a.params.id === 'string' ? a.params.id : raised.type;
        this.start({ kind: 'delay', id, delayMs: a.params.delay, event: { type: raised.type, data: raised.data ?? {} } });
      } else if (a.type === 'xstate.cancel' && typeof a.params?.sendId === 'string') {
        this.cancel(a.params.sendId);
      }
    }
  }

  effects(): TimerEffects {
    if (this.#effects.size === 0) return NO_TIMERS;
    const start: TimerStart[] = [];
    const cancel: string[] = [];
    for (const [id, effect] of this.#effects) {
      if (effect === null) cancel.push(id);
      else start.push(effect);
    }
    return { start, cancel };
  }
}
