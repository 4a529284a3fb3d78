import { ErrorCode, RatchetError } from '@ratchet/core';
import { defineProcess, eventsOf } from '@ratchet/process';
import { defineProjection, type Projection } from '@ratchet/projector';
import { describe, expect, it } from 'vitest';
import { Counter, counterMachine } from '../test/fixtures/counter.js';
import { AppDefinitionError } from './app-definition-error.js';
import { isApp } from './app.js';
import { defineApp } from './define-app.js';

function projection(name: string, version: number, tables: string[]): Projection {
  return defineProjection({ name, version, tables, setup: async () => undefined, handlers: {} });
}

/** A process that counts the counter's additions. */
function watcher(name: string) {
  return defineProcess({
    name,
    subscribe: [eventsOf(Counter, 'added')],
    initialState: { adds: 0 },
    handle: (_e, s) => ({ state: { adds: s.adds + 1 } }),
  });
}

/** The error defineApp throws for `config`, which the test expects it to throw. */
function refusal(config: unknown): AppDefinitionError {
  try {
    defineApp(config as Parameters<typeof defineApp>[0]);
  } catch (error) {
    if (error instanceof AppDefinitionError) return error;
    throw error;
  }
  throw new Error('defineApp accepted the app');
}

describe('defineApp', () => {
  it('returns a frozen, branded app with empty projections and processes by default', () => {
    const app = defineApp({ name: 'counter', aggregates: [Counter] });
    expect(isApp(app)).toBe(true);
    expect(app.name).toBe('counter');
    expect(app.aggregates).toEqual([Counter]);
    expect(app.aggregates[0].type).toBe('counter'); // the tuple type is kept
    expect(app.projections).toEqual([]);
    expect(app.processes).toEqual([]);
    expect(Object.isFrozen(app)).toBe(true);
    expect(Object.isFrozen(app.aggregates)).toBe(true);
  });

  it('does not take a look-alike for an app: the brand decides, not the shape', () => {
    const app = defineApp({ name: 'counter', aggregates: [Counter] });
    expect(isApp({ ...app })).toBe(false); // a copy could change what defineApp checked
    expect(isApp({ name: 'counter', aggregates: [Counter], projections: [], processes: [] })).toBe(false);
    expect(isApp(JSON.parse(JSON.stringify(app)))).toBe(false);
    expect(isApp(undefined)).toBe(false);
  });

  it('accepts several versions of one projection (a rebuild) and an empty process list', () => {
    const app = defineApp({
      name: 'counter',
      aggregates: [Counter],
      projections: [projection('totals', 1, ['totals']), projection('totals', 2, ['totals'])],
      processes: [],
    });
    expect(app.projections.map((p) => p.key)).toEqual(['totals@v1', 'totals@v2']);
  });

  it('refuses two aggregates of the same type, saying where each is', () => {
    const error = refusal({ name: 'twice', aggregates: [Counter, Counter] });
    expect(error).toBeInstanceOf(RatchetError);
    expect(error.code).toBe(ErrorCode.DEFINITION_ERROR);
    expect(error.retryable).toBe(false);
    expect(error.app).toBe('twice');
    expect(error.issues).toEqual([
      { path: ['aggregates', 1, 'type'], message: 'aggregate type "counter" is listed twice (also at aggregates.0)' },
    ]);
    expect(error.message).toMatch(/^app "twice" is invalid, 1 problem: aggregates\.1\.type: aggregate type "counter" is listed twice/);
  });

  it('refuses what is not an aggregate: a machine, undefined from a circular import', () => {
    const error = refusal({ name: 'slip', aggregates: [counterMachine, undefined] });
    expect(error.issues.map((i) => i.path)).toEqual([
      ['aggregates', 0],
      ['aggregates', 1],
    ]);
    expect(error.issues[0]!.message).toMatch(/not an aggregate made by defineAggregate/);
    expect(error.issues[1]!.message).toMatch(/undefined \(a circular import/);
  });

  it('refuses an app without aggregates', () => {
    expect(refusal({ name: 'empty', aggregates: [] }).issues).toEqual([{ path: ['aggregates'], message: 'list at least one aggregate' }]);
    expect(refusal({ name: 'none' }).issues[0]!.path).toEqual(['aggregates']);
  });

  it('refuses a projection given twice and a value that is not a projection', () => {
    const totals = projection('totals', 1, ['totals']);
    const error = refusal({ name: 'counter', aggregates: [Counter], projections: [totals, totals, { name: 'totals', version: 3 }] });
    expect(error.issues).toEqual([
      { path: ['projections', 1], message: 'projection totals@v1 is listed twice (also at projections.0)' },
      { path: ['projections', 2], message: 'not a projection made by defineProjection (got an object with keys name, version)' },
    ]);
  });

  it('refuses two projections that claim one table (their stable views would clash)', () => {
    const error = refusal({
      name: 'counter',
      aggregates: [Counter],
      projections: [projection('totals', 1, ['totals']), projection('summary', 1, ['summary', 'totals'])],
    });
    expect(error.issues).toEqual([
      {
        path: ['projections', 1, 'tables'],
        message: 'table "totals" is also declared by projection "totals" (projections.0); their views would clash',
      },
    ]);
  });

  it('takes process managers subscribed to its aggregates', () => {
    const app = defineApp({ name: 'counter', aggregates: [Counter], processes: [watcher('big-adds'), watcher('small-adds')] });
    expect(app.processes.map((p) => p.name)).toEqual(['big-adds', 'small-adds']);
    expect(Object.isFrozen(app.processes)).toBe(true);
  });

  it('refuses a process listed twice by name, a value that is not a process, and subscriptions to what the app does not have', () => {
    const error = refusal({
      name: 'counter',
      aggregates: [Counter],
      processes: [
        watcher('adds'),
        watcher('adds'),
        { name: 'shipping' },
        defineProcess({
          name: 'typo',
          subscribe: [
            { aggregateType: 'counter', events: ['addded'] },
            { aggregateType: 'order', events: ['placed'] },
          ],
          initialState: 0,
          handle: () => ({}),
        }),
      ],
    });
    expect(error.issues).toEqual([
      { path: ['processes', 1, 'name'], message: 'process "adds" is listed twice (also at processes.0)' },
      { path: ['processes', 2], message: 'not a process made by defineProcess (got an object with keys name)' },
      { path: ['processes', 3, 'subscribe', 0, 'events'], message: '"addded" is not an event of counter' },
      { path: ['processes', 3, 'subscribe', 1], message: 'aggregate type "order" is not one of the app\'s aggregates' },
    ]);
  });

  it('lists every problem at once: a bad name, an unknown key, a duplicate', () => {
    const error = refusal({ name: 'Counter App', aggregates: [Counter, Counter], projection: [] });
    expect(error.app).toBe('Counter App');
    expect(error.issues.map((i) => i.path.join('.'))).toEqual(['name', 'projection', 'aggregates.1.type']);
    expect(error.message).toMatch(/3 problems: name: must match/);
  });

  it('refuses something that is not a config at all', () => {
    expect(refusal(undefined).issues).toEqual([
      { path: [], message: 'give defineApp an object (got undefined (a circular import, or a name that is not exported?))' },
    ]);
    expect(refusal(undefined).app).toBe('(unnamed)');
  });
});
