import { given } from '@ratchet/testing';
import { describe, expect, it } from 'vitest';
import { defineStation, Station, VISIT_TIMED_OUT } from './station.js';
import { STATION_IDS, stationOf } from './station-of.js';

const spec = given(Station);
const called = { type: 'technicianCalled', data: { turnstileId: 't-1' } } as const;
const timedOut = { type: VISIT_TIMED_OUT, data: {} } as unknown as typeof called;

describe('Station', () => {
  it('calls a technician when idle, refuses a second call while one is on the way', () => {
    spec([])
      .when({ type: 'callTechnician', payload: { turnstileId: 't-1' } })
      .then([called]);
    spec([called])
      .when({ type: 'callTechnician', payload: { turnstileId: 't-2' } })
      .then({ status: 'rejected', reason: 'a technician is already called (for t-1)' });
    spec([called, timedOut])
      .when({ type: 'callTechnician', payload: { turnstileId: 't-2' } })
      .then({ status: 'rejected' });
  });

  it('completes a visit, in time or escalated, and refuses one that was never called', () => {
    spec([called])
      .when({ type: 'completeVisit' })
      .then([{ type: 'visitCompleted', data: {} }]);
    spec([called, timedOut])
      .when({ type: 'completeVisit' })
      .then([{ type: 'visitCompleted', data: {} }]);
    spec([]).when({ type: 'completeVisit' }).then({ status: 'rejected', reason: 'no visit to complete' });
    spec([called, { type: 'visitCompleted', data: {} }])
      .when({ type: 'callTechnician', payload: { turnstileId: 't-3' } })
      .then([{ type: 'technicianCalled', data: { turnstileId: 't-3' } }]);
  });

  it('starts the visit timeout when called and cancels it when the visit is completed (durable timers)', () => {
    const short = defineStation({ visitTimeoutMs: 1_500 });
    const call = short.decide({ type: 'callTechnician', payload: { turnstileId: 't-1' } }, short.initialState());
    expect(call.status === 'accepted' && call.timers.start).toEqual([
      { id: VISIT_TIMED_OUT, kind: 'delay', delayMs: 1_500, event: { type: VISIT_TIMED_OUT, data: {} } },
    ]);
    if (call.status !== 'accepted') return;
    const done = short.decide({ type: 'completeVisit', payload: {} }, call.state);
    expect(done.status === 'accepted' && done.timers.cancel).toEqual([VISIT_TIMED_OUT]);
    // Fired while visiting: escalated, counted, and replay takes the stored event the same way.
    const fired = short.runtime.fireDelay(call.state, { id: VISIT_TIMED_OUT, event: { type: VISIT_TIMED_OUT, data: {} } });
    expect(fired.status === 'accepted' && fired.state.snapshot.value).toBe('escalated');
    const replayed = short.replay([called, { type: VISIT_TIMED_OUT, data: {} }]);
    expect(replayed.snapshot.value).toBe('escalated');
    expect(replayed.snapshot.context).toEqual({ calls: 1, visits: 0, escalations: 1, turnstileId: 't-1' });
  });
});

describe('stationOf', () => {
  it('maps every turnstile id to one of the stations, the same one each time, and uses them all', () => {
    const ids = Array.from({ length: 1_000 }, (_, i) => `t-${String(i).padStart(4, '0')}`);
    const used = new Set(ids.map(stationOf));
    expect([...used].every((s) => STATION_IDS.includes(s))).toBe(true);
    expect(used.size).toBe(STATION_IDS.length);
    expect(stationOf('t-0007')).toBe(stationOf('t-0007'));
  });
});
