import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AggregateState } from '@ratchet/core';
import { Turnstile } from './turnstile.js';

/** A plain reference model of the turnstile, written without XState. */
interface Model {
  installed: boolean;
  locked: boolean;
  coins: number;
  turns: number;
  pushes: number;
}

interface Real {
  state: AggregateState<typeof Turnstile.machine>;
  events: Array<{ type: string; data: unknown }>;
}

function check(model: Model, real: Real): void {
  const { value, context } = real.state.snapshot;
  expect(value).toBe(!model.installed ? 'not-installed' : model.locked ? 'locked' : 'unlocked');
  expect(context).toEqual({ coins: model.coins, turns: model.turns, pushes: model.pushes });
  // Replaying everything written so far gives the same state: decide and replay agree.
  const replayed = Turnstile.replay(real.events);
  expect(replayed.snapshot.value).toEqual(value);
  expect(replayed.snapshot.context).toEqual(context);
  expect(replayed.version).toBe(real.events.length);
}

function apply(real: Real, type: string): { accepted: boolean; eventTypes: string[] } {
  const decision = Turnstile.decide({ type, payload: {} } as never, real.state);
  if (decision.status === 'rejected') return { accepted: false, eventTypes: [] };
  real.state = decision.state;
  real.events.push(...decision.events);
  return { accepted: true, eventTypes: decision.events.map((e) => e.type) };
}

class Install implements fc.Command<Model, Real> {
  check = () => true;
  run(m: Model, r: Real): void {
    const out = apply(r, 'install');
    if (m.installed) expect(out.accepted).toBe(false);
    else {
      expect(out.eventTypes).toEqual(['installed']);
      Object.assign(m, { installed: true, locked: true, coins: 0, turns: 0, pushes: 0 });
    }
    check(m, r);
  }
  toString = () => 'install';
}

class InsertCoin implements fc.Command<Model, Real> {
  check = () => true;
  run(m: Model, r: Real): void {
    const out = apply(r, 'insertCoin');
    if (!m.installed) expect(out.accepted).toBe(false);
    else {
      expect(out.eventTypes).toEqual(['coinInserted']);
      m.coins += 1;
      m.locked = false;
    }
    check(m, r);
  }
  toString = () => 'insertCoin';
}

class PushArm implements fc.Command<Model, Real> {
  check = () => true;
  run(m: Model, r: Real): void {
    const out = apply(r, 'pushArm');
    if (!m.installed) expect(out.accepted).toBe(false);
    else if (m.locked) {
      expect(out.eventTypes).toEqual(['armPushedIneffectively']);
      m.pushes += 1;
    } else {
      expect(out.eventTypes).toEqual(['armTurned']);
      m.turns += 1;
      m.pushes += 1;
      m.locked = true;
    }
    check(m, r);
  }
  toString = () => 'pushArm';
}

describe('turnstile against a reference model', () => {
  it('agrees on 1,000 random command sequences', () => {
    let runs = 0;
    fc.assert(
      fc.property(
        fc.commands([fc.constant(new Install()), fc.constant(new InsertCoin()), fc.constant(new PushArm())], {
          maxCommands: 40,
        }),
        (commands) => {
          runs += 1;
          const model: Model = { installed: false, locked: true, coins: 0, turns: 0, pushes: 0 };
          const real: Real = { state: Turnstile.initialState(), events: [] };
          fc.modelRun(() => ({ model, real }), commands);
        },
      ),
      { numRuns: 1000 },
    );
    expect(runs).toBe(1000);
    // A thousand sequences take ~1 s alone and much longer on a loaded CI machine.
  }, 120_000);
});
