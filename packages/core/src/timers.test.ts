import fc from 'fast-check';
import { assign, createActor, setup } from 'xstate';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AggregateState } from './aggregate.js';
import { defineAggregate } from './define-aggregate.js';
import { DefinitionError } from './errors.js';
import type { DomainEvent } from './events.js';
import { reject } from './rejection.js';
import { schedule, unschedule, type TimerStart } from './timers.js';

const empty = z.object({}).strict();

/** A technician visit: called → visiting; a report ends it, 30 s without one escalates (an `after`). */
const visitMachine = setup({
  types: { context: {} as { escalations: number; reports: number }, events: {} as DomainEvent },
  delays: { visitTimeout: 30_000 },
}).createMachine({
  id: 'visit',
  initial: 'idle',
  context: { escalations: 0, reports: 0 },
  on: { reminded: { actions: () => undefined } },
  states: {
    idle: { on: { called: 'visiting' } },
    visiting: {
      after: { visitTimeout: { target: 'escalated', actions: assign({ escalations: ({ context }) => context.escalations + 1 }) } },
      on: { reported: { target: 'idle', actions: assign({ reports: ({ context }) => context.reports + 1 }) } },
    },
    escalated: { after: { 5000: 'visiting' }, on: { reported: 'idle' } },
  },
});

const Visit = defineAggregate({
  type: 'visit',
  machine: visitMachine,
  commands: { call: empty, report: empty, remind: empty, forget: empty, nag: empty },
  events: { called: empty, reported: empty, reminded: empty },
  decide: {
    call: (_p, s) => (s.matches('idle') ? [{ type: 'called', data: {} }] : reject('already called')),
    report: (_p, s) => (s.matches('idle') ? reject('nothing to report') : [{ type: 'reported', data: {} }]),
    remind: () => [{ type: 'reminded', data: {} }, schedule({ type: 'report', payload: {} }, { afterMs: 60_000 }, 'nag')],
    forget: () => [{ type: 'reminded', data: {} }, unschedule('nag')],
    nag: () => [schedule({ type: 'report', payload: {} }, { afterMs: 1 })],
  },
});

const AFTER_VISIT = 'xstate.after.visitTimeout.visit.visiting';

function accept(d: ReturnType<typeof Visit.decide>) {
  if (d.status !== 'accepted') throw new Error(`rejected: ${d.reason}`);
  return d;
}

describe('durable timers from statechart delays', () => {
  it('entering a state with `after` starts a timer named by XState, with the delay resolved', () => {
    const d = accept(Visit.decide({ type: 'call', payload: {} }, Visit.initialState()));
    expect(d.timers.cancel).toEqual([]);
    expect(d.timers.start).toEqual([{ kind: 'delay', id: AFTER_VISIT, delayMs: 30_000, event: { type: AFTER_VISIT, data: {} } }]);
  });

  it('leaving the state first cancels the timer', () => {
    const visiting = Visit.replay([{ type: 'called', data: {} }]);
    const d = accept(Visit.decide({ type: 'report', payload: {} }, visiting));
    expect(d.timers).toEqual({ start: [], cancel: [AFTER_VISIT] });
  });

  it('a due delay is taken as an event, which replay folds the same way; once left, it is a no-op', () => {
    const visiting = Visit.replay([{ type: 'called', data: {} }]);
    const fired = Visit.runtime.fireDelay(visiting, { id: AFTER_VISIT, event: { type: AFTER_VISIT, data: {} } });
    if (fired.status !== 'accepted') throw new Error('not fired');
    expect(fired.state.snapshot.value).toBe('escalated');
    expect(fired.state.snapshot.context.escalations).toBe(1);
    // Its own timer is done; the next state's delay starts.
    expect(fired.timers.cancel).toContain(AFTER_VISIT);
    expect(fired.timers.start.map((t) => t.id)).toEqual(['xstate.after.5000.visit.escalated']);
    expect(Visit.replay([{ type: 'called', data: {} }, ...fired.events])).toEqual(fired.state);
    const idle = Visit.replay([
      { type: 'called', data: {} },
      { type: 'reported', data: {} },
    ]);
    expect(Visit.runtime.fireDelay(idle, { id: AFTER_VISIT, event: { type: AFTER_VISIT, data: {} } }).status).toBe('rejected');
  });

  it('schedule(...) in decide starts a command timer; unschedule cancels it; the command is validated', () => {
    const d = accept(Visit.decide({ type: 'remind', payload: {} }, Visit.initialState()));
    expect(d.events).toEqual([{ type: 'reminded', data: {} }]);
    expect(d.timers.start).toEqual([{ kind: 'command', id: 'schedule:nag', command: { type: 'report', payload: {} }, delayMs: 60_000 }]);
    expect(accept(Visit.decide({ type: 'forget', payload: {} }, Visit.initialState())).timers).toEqual({
      start: [],
      cancel: ['schedule:nag'],
    });
    // A schedule with no event beside it: the stream would not say why.
    expect(() => Visit.decide({ type: 'nag', payload: {} }, Visit.initialState())).toThrow(/without an event/);
    const Bad = defineAggregate({
      type: 'bad',
      machine: visitMachine,
      commands: { go: empty },
      events: { called: empty },
      decide: { go: () => [schedule({ type: 'nope', payload: {} } as never, { afterMs: 1 })] },
    });
    expect(() => Bad.decide({ type: 'go', payload: {} }, Bad.initialState())).toThrow(DefinitionError);
  });

  it('refuses a machine whose initial state has a delay (no event to start it from)', () => {
    const eager = setup({}).createMachine({ id: 'eager', initial: 'a', states: { a: { after: { 10: 'b' } }, b: {} } });
    expect(() => defineAggregate({ type: 'eager', machine: eager, commands: {}, events: {}, decide: {} })).toThrow(
      /initial state has a delayed transition/,
    );
  });
});

/** A clock for a live XState actor: timeouts fire when `advanceTo` passes their due time, in due order, each at its due time. */
class ManualClock {
  now = 0;
  readonly #timeouts = new Map<number, { due: number; fn: () => void }>();
  #nextId = 0;

  setTimeout(fn: () => void, ms: number): number {
    const id = this.#nextId++;
    this.#timeouts.set(id, { due: this.now + ms, fn });
    return id;
  }

  clearTimeout(id: number): void {
    this.#timeouts.delete(id);
  }

  advanceTo(target: number): void {
    for (;;) {
      const next = [...this.#timeouts].filter(([, t]) => t.due <= target).sort(([a, x], [b, y]) => x.due - y.due || a - b)[0];
      if (next === undefined) break;
      this.#timeouts.delete(next[0]);
      this.now = next[1].due;
      next[1].fn();
    }
    this.now = target;
  }
}

/**
 * Lived vs replayed: the same commands and clock advances, once through a live XState actor (XState
 * runs its own delays on the clock), once through decide + durable timers fired when due (what the
 * worker does), and then replayed from the events alone. Same state, same context.
 */
describe('a random history lived and replayed', () => {
  type Step = { kind: 'command'; type: 'call' | 'report' } | { kind: 'advance'; ms: number };
  const steps = fc.array(
    fc.oneof(
      fc.constantFrom<Step>({ kind: 'command', type: 'call' }, { kind: 'command', type: 'report' }),
      fc.integer({ min: 0, max: 40_000 }).map((ms): Step => ({ kind: 'advance', ms })),
    ),
    { maxLength: 40 },
  );

  it('reaches the same state', () => {
    fc.assert(
      fc.property(steps, (history) => {
        const clock = new ManualClock();
        const actor = createActor(visitMachine, { clock }).start();
        let now = 0;
        let state: AggregateState = Visit.initialState();
        const events: DomainEvent[] = [];
        const pending = new Map<string, { due: number; timer: TimerStart }>();
        const apply = (d: {
          events: readonly DomainEvent[];
          state: AggregateState;
          timers: { start: readonly TimerStart[]; cancel: readonly string[] };
        }) => {
          events.push(...d.events);
          state = d.state;
          for (const id of d.timers.cancel) pending.delete(id);
          for (const t of d.timers.start) pending.set(t.id, { due: now + (t.kind === 'delay' ? t.delayMs : 0), timer: t });
        };
        for (const step of history) {
          if (step.kind === 'advance') {
            const target = now + step.ms;
            // The owner fires due timers in due order; a timer a firing starts is due from that moment.
            for (;;) {
              const next = [...pending.values()].filter((p) => p.due <= target).sort((a, b) => a.due - b.due)[0];
              if (next === undefined) break;
              pending.delete(next.timer.id);
              now = next.due;
              if (next.timer.kind !== 'delay') continue;
              const fired = Visit.runtime.fireDelay(state, next.timer);
              if (fired.status === 'accepted') apply(fired);
            }
            now = target;
            clock.advanceTo(target);
            continue;
          }
          const d = Visit.decide({ type: step.type, payload: {} }, state);
          if (d.status === 'accepted') {
            apply(d);
            actor.send({ type: d.events[0]!.type, data: {} });
          }
        }
        const lived = actor.getSnapshot();
        expect(state.snapshot.value).toEqual(lived.value);
        expect(state.snapshot.context).toEqual(lived.context);
        const replayed = Visit.replay(events);
        expect(replayed.snapshot.value).toEqual(lived.value);
        expect(replayed.snapshot.context).toEqual(lived.context);
        actor.stop();
      }),
      { numRuns: 500 },
    );
  });
});
