import { DefinitionError, ErrorCode } from '@ratchet/core';
import { Turnstile } from '@ratchet/turnstile';
import { describe, expect, it } from 'vitest';
import { pushWatch } from '../test/fixtures/alarm.js';
import { defineProcess, isProcess, type ProcessConfig } from './define-process.js';
import { toProcessEvent } from './process-event.js';
import { eventsOf } from './subscription.js';

function refusal(config: unknown): DefinitionError {
  try {
    defineProcess(config as ProcessConfig<[], unknown>);
  } catch (error) {
    if (error instanceof DefinitionError) return error;
    throw error;
  }
  throw new Error('defineProcess accepted the config');
}

const event = (streamId: string, type: string, version = 1) =>
  toProcessEvent({
    streamId,
    version,
    type,
    data: {},
    schemaVersion: 1,
    metadata: {},
    globalPosition: version,
    transactionId: '1',
    recordedAt: new Date(0),
    epoch: null,
  });

describe('defineProcess', () => {
  it('returns a branded, frozen process with its consumer, types and the default correlation by stream', () => {
    expect(isProcess(pushWatch)).toBe(true);
    expect(isProcess({ ...pushWatch })).toBe(false);
    expect(Object.isFrozen(pushWatch)).toBe(true);
    expect(pushWatch.consumerName).toBe('proc_push-watch');
    expect(pushWatch.aggregateTypes).toEqual(['turnstile']);
    expect(pushWatch.keyedByStream).toBe(true);
    expect(pushWatch.correlate(event('turnstile/a-1', 'armTurned'))).toBe('turnstile/a-1');
    expect(pushWatch.handles('turnstile/a-1', 'armPushedIneffectively')).toBe(true);
    expect(pushWatch.handles('turnstile/a-1', 'installed')).toBe(false);
    expect(pushWatch.handles('alarm/a', 'raised')).toBe(false);
  });

  it('hands out a fresh initial state each time, so a handler that mutates it changes nothing else', () => {
    const s = pushWatch.initialState as { pushes: number };
    s.pushes = 99;
    expect(pushWatch.initialState).toEqual({ pushes: 0, raised: 0, refused: 0 });
  });

  it('lists every problem at once, with a path into the definition', () => {
    const error = refusal({
      name: 'Bad Name',
      subscribe: [
        { aggregateType: 'turnstile', events: [] },
        { aggregateType: 'turnstile', events: ['x'] },
      ],
      handle: 1,
      initialState: 1n,
      extra: true,
    });
    expect(error.code).toBe(ErrorCode.DEFINITION_ERROR);
    expect(error.retryable).toBe(false);
    expect((error.details.issues as Array<{ path: unknown[] }>).map((i) => i.path.join('.'))).toEqual([
      'name',
      'extra',
      'subscribe.0.events',
      'subscribe.1',
      'handle',
      'initialState',
    ]);
    expect(error.message).toMatch(/^process "Bad Name" is invalid: name: must match/);
  });

  it('refuses a process without subscriptions and a subscription to no aggregate type', () => {
    expect(refusal({ name: 'p', subscribe: [], initialState: 0, handle: () => ({}) }).message).toMatch(
      /subscribe: list at least one subscription/,
    );
    expect(refusal({ name: 'p', subscribe: [{ events: ['a'] }], initialState: 0, handle: () => ({}) }).message).toMatch(
      /subscribe\.0\.aggregateType/,
    );
  });

  it('eventsOf refuses an event the aggregate does not define (for plain JavaScript)', () => {
    expect(() => eventsOf(Turnstile, 'jumped' as never)).toThrow(/"jumped" is not one of its events/);
  });

  it('uses a custom correlation and says so', () => {
    const bySite = defineProcess({
      name: 'by-site',
      subscribe: [eventsOf(Turnstile, 'armTurned')],
      correlate: (e) => e.aggregateId.split('-')[0]!,
      initialState: 0,
      handle: () => ({}),
    });
    expect(bySite.keyedByStream).toBe(false);
    expect(bySite.correlate(event('turnstile/north-3', 'armTurned'))).toBe('north');
    expect(bySite.onRejected({} as never, 0)).toEqual({});
  });
});
