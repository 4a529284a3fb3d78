import type { AggregateState, AnyAggregate } from '@ratchet/core';
import type pg from 'pg';
import type { Tally } from './check-category.js';
import { asStored, type OpenEvents } from './open-events.js';

/** Options of {@link verifyTimers}. */
export interface VerifyTimersOptions {
  /** Aggregates to decide whether a timer removed without an event was rightly a no-op. */
  readonly aggregates?: readonly AnyAggregate[];
  /** A timer due less than this long before the check may not have fired yet (ms). */
  readonly graceMs: number;
  /** Opens sealed values before the aggregate folds a stream. Default: events as stored. */
  readonly open?: OpenEvents;
}

interface TimerEventRow {
  stream_id: string;
  version: number;
  type: string;
  data: unknown;
  schema_version: number;
  t: string;
  timers: { start?: Array<{ id: string; kind: string; delayMs?: number; at?: string }>; cancel?: string[] } | null;
  timer: { id: string; kind: string; startedVersion: number; dueAt: string } | null;
}

interface Pending {
  readonly startedVersion: number;
  readonly dueAt: number;
  readonly kind: string;
}

/**
 * C11, durable timers: read from the streams which timers were started (`metadata.timers` of the
 * event that started them), cancelled, and fired (`metadata.timer` of a fire's event), and check
 * that every fire matches a start still pending (never twice, never after its state was left), is
 * not early, and that every timer due before the check has fired, was cancelled, or was removed as
 * a no-op its aggregate confirms (the state no longer takes the delay). Timer rows left in
 * `ratchet.timers` must be started in their stream and not overdue.
 */
export async function verifyTimers(client: pg.ClientBase, schema: string, options: VerifyTimersOptions, tally: Tally): Promise<void> {
  const s = `"${schema}"`;
  const now = Date.now();
  const rows = await client.query<TimerEventRow>(
    `SELECT stream_id, version, type, data, schema_version, extract(epoch FROM recorded_at) * 1000 AS t,
            metadata->'timers' AS timers, metadata->'timer' AS timer
     FROM ${s}.events WHERE metadata ? 'timers' OR metadata ? 'timer' ORDER BY stream_id, version`,
  );
  const tableRows = await client.query<{ stream_id: string; timer_id: string; started_version: number; due: string }>(
    `SELECT stream_id, timer_id, started_version, extract(epoch FROM due_at) * 1000 AS due FROM ${s}.timers`,
  );
  const inTable = new Map(tableRows.rows.map((r) => [`${r.stream_id}\u0000${r.timer_id}`, r]));

  const pendingByStream = new Map<string, Map<string, Pending>>();
  for (const row of rows.rows) {
    let pending = pendingByStream.get(row.stream_id);
    if (pending === undefined) pendingByStream.set(row.stream_id, (pending = new Map()));
    const at = Number(row.t);
    if (row.timer !== null) {
      tally.checked('C11');
      const started = pending.get(row.timer.id);
      if (started === undefined || started.startedVersion !== row.timer.startedVersion) {
        tally.violation(
          'C11',
          `${row.stream_id}@${row.version}: fired timer ${row.timer.id} (started at ${row.timer.startedVersion}), which was not pending: cancelled, never started, or fired before`,
        );
      } else if (at + 1 < started.dueAt) {
        tally.violation(
          'C11',
          `${row.stream_id}@${row.version}: fired timer ${row.timer.id} ${Math.round(started.dueAt - at)} ms before it was due`,
        );
      }
      pending.delete(row.timer.id);
    }
    for (const id of row.timers?.cancel ?? []) pending.delete(id);
    for (const start of row.timers?.start ?? []) {
      tally.checked('C11');
      const dueAt = start.at !== undefined ? Date.parse(start.at) : at + (start.delayMs ?? 0);
      pending.set(start.id, { startedVersion: row.version, dueAt, kind: start.kind });
    }
  }

  const byType = new Map((options.aggregates ?? []).map((a) => [a.type, a]));
  for (const [streamId, pending] of pendingByStream) {
    for (const [id, timer] of pending) {
      const key = `${streamId}\u0000${id}`;
      const row = inTable.get(key);
      inTable.delete(key);
      if (row !== undefined && row.started_version === timer.startedVersion) {
        if (timer.dueAt < now - options.graceMs) {
          tally.violation(
            'C11',
            `${streamId}: timer ${id} (started at ${timer.startedVersion}) is ${Math.round((now - timer.dueAt) / 1000)} s overdue and has not fired`,
          );
        }
        continue;
      }
      if (timer.dueAt >= now - options.graceMs) continue; // may be firing right now
      // Removed without an event: a no-op fire. A delay is rightly one only if the state no longer takes it.
      const aggregate = byType.get(streamId.slice(0, streamId.indexOf('/')));
      if (aggregate === undefined || timer.kind !== 'delay' || !id.startsWith('xstate.after.')) continue;
      const state = await finalState(client, s, streamId, aggregate, options.open ?? asStored);
      if (aggregate.runtime.fireDelay(state, { id, event: { type: id, data: {} } }).status === 'accepted') {
        tally.violation(
          'C11',
          `${streamId}: timer ${id} (started at ${timer.startedVersion}) was removed without firing, yet the stream's state still takes it`,
        );
      }
    }
  }
  for (const row of inTable.values()) {
    tally.violation('C11', `${row.stream_id}: timer row ${row.timer_id} (started at ${row.started_version}) has no start in its stream`);
  }
}

async function finalState(
  client: pg.ClientBase,
  s: string,
  streamId: string,
  aggregate: AnyAggregate,
  open: OpenEvents,
): Promise<AggregateState> {
  const res = await client.query<{ type: string; data: unknown; schema_version: number }>(
    `SELECT type, data, schema_version FROM ${s}.events WHERE stream_id = $1 ORDER BY version`,
    [streamId],
  );
  return aggregate.replay((await open(res.rows)).map((r) => ({ type: r.type, data: r.data, schemaVersion: r.schema_version })));
}
