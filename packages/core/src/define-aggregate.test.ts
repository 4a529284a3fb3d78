import { assign, setup } from 'xstate';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineAggregate } from './define-aggregate.js';
import { DefinitionError, ErrorCode, RatchetError, ValidationError } from './errors.js';
import { reject } from './rejection.js';

type DoorEvent =
  | { type: 'opened'; data: { by: string } }
  | { type: 'closed'; data: Record<string, never> }
  | { type: 'painted'; data: { colour: string } };

const doorMachine = setup({ types: { context: {} as { colour: string; openings: number }, events: {} as DoorEvent } }).createMachine({
  initial: 'closed',
  context: { colour: 'white', openings: 0 },
  on: { painted: { actions: assign({ colour: ({ event }) => event.data.colour }) } },
  states: {
    closed: { on: { opened: { target: 'open', actions: assign({ openings: ({ context }) => context.openings + 1 }) } } },
    open: { on: { closed: { target: 'closed' } } },
  },
});

function defineDoor(overrides: Partial<Parameters<typeof defineAggregate>[0]> = {}) {
  return defineAggregate({
    type: 'door',
    machine: doorMachine,
    commands: {
      open: z.object({ by: z.string().min(1), force: z.boolean().optional() }),
      close: z.object({}),
      paint: z.object({ colour: z.string(), coats: z.number().int().positive() }),
      sabotage: z.object({}),
    },
    events: {
      opened: z.object({ by: z.string() }),
      closed: z.object({}),
      painted: z.object({ colour: z.string() }),
    },
    decide: {
      // Deliberately naive: always emits `opened`, leaving the machine to refuse it when open.
      open: ({ by }) => [{ type: 'opened', data: { by } }],
      close: (_p, state) => (state.matches('open') ? [{ type: 'closed', data: {} }] : reject('already closed')),
      paint: ({ colour }) => [{ type: 'painted', data: { colour } }],
      sabotage: () => [{ type: 'painted', data: { colour: 42 as unknown as string } }],
    },
    ...overrides,
  } as Parameters<typeof defineAggregate>[0]);
}

describe('defineAggregate', () => {
  const Door = defineDoor();

  it('folds events with the machine and counts versions', () => {
    const s = Door.replay([
      { type: 'opened', data: { by: 'ann' } },
      { type: 'closed', data: {} },
      { type: 'opened', data: { by: 'bob' } },
    ]);
    expect(s.version).toBe(3);
    expect(s.snapshot.value).toBe('open');
    expect(s.snapshot.context.openings).toBe(2);
  });

  it('decides: returns events and the state they lead to', () => {
    const d = Door.decide({ type: 'open', payload: { by: 'ann' } }, Door.initialState());
    expect(d.status).toBe('accepted');
    if (d.status !== 'accepted') return;
    expect(d.events).toEqual([{ type: 'opened', data: { by: 'ann' } }]);
    expect(d.state.version).toBe(1);
    expect(d.state.snapshot.value).toBe('open');
  });

  it('rejects an event the machine does not accept, naming state and event', () => {
    const open = Door.replay([{ type: 'opened', data: { by: 'ann' } }]);
    const d = Door.decide({ type: 'open', payload: { by: 'bob' } }, open);
    expect(d).toEqual({ status: 'rejected', reason: 'event "opened" is not accepted in state "open"' });
  });

  it('passes through a rejection from decide', () => {
    expect(Door.decide({ type: 'close', payload: {} }, Door.initialState())).toEqual({
      status: 'rejected',
      reason: 'already closed',
    });
  });

  it('throws a ValidationError listing every issue of an invalid command', () => {
    let caught: unknown;
    try {
      Door.decide({ type: 'paint', payload: { colour: 3, coats: -1 } } as never, Door.initialState());
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    const err = caught as ValidationError;
    expect(err.code).toBe(ErrorCode.VALIDATION_FAILED);
    expect(err.retryable).toBe(false);
    expect(err.issues.map((i) => i.path.join('.')).sort()).toEqual(['coats', 'colour']);
  });

  it('throws UNKNOWN_COMMAND for a command it does not define, including prototype keys', () => {
    for (const type of ['kick', '__proto__', 'constructor', 'toString']) {
      try {
        Door.decide({ type, payload: {} } as never, Door.initialState());
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(RatchetError);
        expect((error as RatchetError).code).toBe(ErrorCode.UNKNOWN_COMMAND);
      }
    }
  });

  it('reports an event that fails its own schema as a DefinitionError, not a rejection', () => {
    expect(() => Door.decide({ type: 'sabotage', payload: {} }, Door.initialState())).toThrow(DefinitionError);
  });

  it('persists and restores a state', () => {
    const s = Door.replay([
      { type: 'opened', data: { by: 'ann' } },
      { type: 'painted', data: { colour: 'red' } },
    ]);
    const restored = Door.runtime.restore(JSON.parse(JSON.stringify(Door.runtime.persist(s))), s.version);
    expect(restored.version).toBe(2);
    expect(restored.snapshot.value).toBe('open');
    expect(restored.snapshot.context).toEqual({ colour: 'red', openings: 1 });
    const d = Door.decide({ type: 'close', payload: {} }, restored);
    expect(d.status === 'accepted' && d.state.snapshot.value).toBe('closed');
  });

  it('derives a machine version that changes with the definition and accepts an explicit one', () => {
    expect(defineDoor().machineVersion).toBe(Door.machineVersion);
    const changed = defineDoor({ schemaVersions: { painted: 2 }, upcasters: { painted: { 1: (d: unknown) => d } } });
    expect(changed.machineVersion).not.toBe(Door.machineVersion);
    expect(defineDoor({ machineVersion: 'v7' }).machineVersion).toBe('v7');
  });

  it('upcasts stored events from older schema versions on read', () => {
    const V2 = defineDoor({
      schemaVersions: { painted: 3 },
      upcasters: {
        painted: {
          1: (d: unknown) => ({ color: (d as { c: string }).c }),
          2: (d: unknown) => ({ colour: (d as { color: string }).color }),
        },
      },
    });
    const s = V2.replay([
      { type: 'painted', schemaVersion: 1, data: { c: 'blue' } },
      { type: 'painted', schemaVersion: 2, data: { color: 'green' } },
      { type: 'painted', schemaVersion: 3, data: { colour: 'teal' } },
    ]);
    expect(s.snapshot.context.colour).toBe('teal');
    expect(V2.runtime.upcast({ type: 'painted', schemaVersion: 1, data: { c: 'blue' } })).toEqual({
      type: 'painted',
      data: { colour: 'blue' },
    });
    expect(() => V2.runtime.upcast({ type: 'painted', schemaVersion: 4, data: {} })).toThrow(DefinitionError);
    expect(() => Door.runtime.upcast({ type: 'nope', schemaVersion: 2, data: {} })).toThrow(RatchetError);
  });

  it('refuses a bad definition', () => {
    expect(() => defineDoor({ type: 'Bad.Type' })).toThrow(DefinitionError);
    expect(() => defineDoor({ decide: {} as never })).toThrow(DefinitionError);
  });
});
