// Durable timers in one worker: a statechart delay fires once, never before it is due, and its
// event replays to the same state; a delay whose state was left never fires; a scheduled command
// runs once; a timer outlives the worker that started it (a restarted worker fires it).
import { checkHistory } from '@ratchet/checker';
import { createWorker } from '@ratchet/worker';
import { waitFor } from '@ratchet/launchers';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineVisit, VISIT_TIMEOUT_EVENT } from '../support/visit-aggregate.js';
import { startInProcessWorker, type InProcessWorker } from './in-process-worker.js';

const Visit = defineVisit({ visitTimeoutMs: 800, remindMs: 600 });
let w: InProcessWorker;
let db: pg.Client;

beforeAll(async () => {
  w = await startInProcessWorker({
    database: 'timers',
    worker: { aggregates: [Visit], partitionLeaseMs: 1_500, timers: { pollIntervalMs: 200 } },
  });
  db = new pg.Client({ connectionString: w.db.url });
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await w?.stop();
});

/** The stream's events with their commit times (Postgres clock, ms) and command ids. */
async function history(id: string) {
  const res = await db.query<{ version: number; type: string; t: string; command_id: string }>(
    `SELECT version, type, extract(epoch FROM recorded_at) * 1000 AS t, metadata->>'commandId' AS command_id FROM ratchet.events WHERE stream_id = $1 ORDER BY version`,
    [`visit/${id}`],
  );
  return res.rows.map((r) => ({ version: r.version, type: r.type, at: Number(r.t), commandId: r.command_id }));
}

async function timers(id: string): Promise<string[]> {
  const res = await db.query<{ timer_id: string }>(`SELECT timer_id FROM ratchet.timers WHERE stream_id = $1 ORDER BY timer_id`, [
    `visit/${id}`,
  ]);
  return res.rows.map((r) => r.timer_id);
}

describe('a statechart delay', () => {
  it('fires once, not before it is due, and replays to the state the worker holds', async () => {
    const r = await w.client.send(Visit, 'v-1', { type: 'call', payload: {} });
    expect(r.status).toBe('ok');
    expect(await timers('v-1')).toEqual([VISIT_TIMEOUT_EVENT]);
    const events = await waitFor(async () => ((await history('v-1')).length >= 2 ? history('v-1') : false), {
      what: 'the visit timeout to fire',
      timeoutMs: 15_000,
    });
    const [called, fired] = [events[0]!, events[1]!];
    expect(fired.type).toBe(VISIT_TIMEOUT_EVENT);
    expect(fired.commandId).toBe(`timer:visit/v-1:${VISIT_TIMEOUT_EVENT}:1`);
    const lateMs = fired.at - called.at - 800;
    console.log(`visit timeout fired ${lateMs.toFixed(1)} ms after it was due (Postgres clock)`);
    expect(lateMs).toBeGreaterThanOrEqual(0); // never early
    // The escalated state started its own (long) delay; the spent one is gone.
    expect(await timers('v-1')).toEqual(['xstate.after.reopen.visit.escalated']);
    // A command now sees the escalated state: report is accepted from there.
    const report = await w.client.send(Visit, 'v-1', { type: 'report', payload: {} });
    expect(report.status === 'ok' && report.version).toBe(3);
    expect(await timers('v-1')).toEqual([]);
    expect(
      Visit.replay(events.concat([{ version: 3, type: 'reported', at: 0, commandId: '' }]).map((e) => ({ type: e.type, data: {} })))
        .snapshot.context,
    ).toEqual({
      escalations: 1,
      reports: 1,
      reminders: 0,
    });
  });

  it('never fires when its state was left first', async () => {
    await w.client.send(Visit, 'v-2', { type: 'call', payload: {} });
    // A witness due no earlier than v-2's timeout would have been: once it has fired, v-2's was due too.
    await w.client.send(Visit, 'v-2-witness', { type: 'call', payload: {} });
    expect((await w.client.send(Visit, 'v-2', { type: 'report', payload: {} })).status).toBe('ok');
    expect(await timers('v-2')).toEqual([]);
    await waitFor(async () => (await history('v-2-witness')).length >= 2, { what: 'the witness timeout to fire', timeoutMs: 15_000 });
    expect((await history('v-2')).map((e) => e.type)).toEqual(['called', 'reported']);
  });
});

describe('a scheduled command', () => {
  it('runs once on the aggregate when due, as a command with an id derived from its start', async () => {
    await w.client.send(Visit, 'v-3', { type: 'call', payload: {} });
    await w.client.send(Visit, 'v-3', { type: 'remind', payload: {} });
    expect(await timers('v-3')).toEqual(['schedule:reminder', VISIT_TIMEOUT_EVENT]);
    const events = await waitFor(async () => ((await history('v-3')).some((e) => e.type === 'reported') ? history('v-3') : false), {
      what: 'the scheduled report',
      timeoutMs: 15_000,
    });
    const reported = events.find((e) => e.type === 'reported')!;
    expect(reported.commandId).toBe('schedule:visit/v-3:schedule:reminder:2');
    expect(events.filter((e) => e.type === 'reported')).toHaveLength(1);
    // The report left "visiting": the visit timeout was cancelled with it.
    expect(await timers('v-3')).toEqual([]);
  });
});

describe('a timer whose worker stopped', () => {
  it('is fired by the next worker of its partition', async () => {
    await w.client.send(Visit, 'v-4', { type: 'call', payload: {} });
    // The worker drains (releasing its partitions) before the timeout is due; a new one takes over.
    await w.worker.drain(5_000);
    const next = createWorker({
      nats: w.nc,
      jetstream: w.nc,
      store: w.store,
      aggregates: [Visit],
      partitionLeaseMs: 1_500,
      timers: { pollIntervalMs: 200 },
    });
    await next.start();
    try {
      const events = await waitFor(async () => ((await history('v-4')).length >= 2 ? history('v-4') : false), {
        what: 'the new worker to fire the timeout',
        timeoutMs: 15_000,
      });
      expect(events.map((e) => e.type)).toEqual(['called', VISIT_TIMEOUT_EVENT]);
      expect(next.stats().timersFired).toBeGreaterThanOrEqual(1);
    } finally {
      await next.drain(5_000);
    }
  });
});

describe('the history checker on what these tests wrote', () => {
  it('finds every timer fired once when due and none after its state was left (C11)', async () => {
    const report = await checkHistory({ history: [], databaseUrl: w.db.url, aggregates: [Visit] });
    expect(report.violations).toEqual([]);
    expect(report.counts.C11.checked).toBeGreaterThanOrEqual(8);
  });
});
