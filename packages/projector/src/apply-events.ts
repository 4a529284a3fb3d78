import { setTimeout as delay } from 'node:timers/promises';
import { requireEntry, requireItem, type RecordedEvent } from '@ratchet/core';
import type pg from 'pg';
import type { Projection } from './define-projection.js';
import { PROJECTIONS_SCHEMA } from './define-projection.js';
import { readMissing, type GapReader } from './read-gap.js';

const S = `"${PROJECTIONS_SCHEMA}"`;

export type { GapReader } from './read-gap.js';

/** How {@link applyEvents} treats failing handlers. */
export interface ApplyOptions {
  /** Read missing events from the store. */
  readonly readGap: GapReader;
  /** Handler attempts before an event is parked. */
  readonly maxAttempts: number;
  /** Pause before the first retry (ms), doubled each time. */
  readonly retryBackoffMs: number;
  /**
   * false: no savepoints, the first handler error aborts the batch ({@link HandlerFailedSignal});
   * true: a savepoint per event, retries, parking. The caller runs the fast way first.
   */
  readonly careful: boolean;
  /** Feed mode and rebuilds: the feed position reached by this batch, saved with it. */
  readonly feed?: FeedProgress;
}

/** A feed checkpoint to commit with a batch, and how many feed events the batch read. */
export interface FeedProgress {
  readonly transactionId: string;
  readonly globalPosition: number;
  readonly events: number;
}

/** One event parked by a batch. */
export interface ParkedEvent {
  readonly streamId: string;
  readonly version: number;
  readonly type: string;
  readonly error: string;
  readonly attempts: number;
}

/** What a batch did. */
export interface ApplyReport {
  applied: number;
  /** At or below the stream's high-water mark: already applied. */
  duplicates: number;
  /** Behind a parked event of their stream. */
  waiting: number;
  /** Read from the store to fill a gap in the stream. */
  gapFilled: number;
  parked: ParkedEvent[];
  lastRecordedAt: Date | null;
}

/** Thrown on the fast path when a handler fails, so the caller redoes the batch carefully. */
export class HandlerFailedSignal extends Error {
  override readonly name = 'HandlerFailedSignal';
}

function accepts(projection: Projection, streamId: string): boolean {
  const types = projection.aggregateTypes;
  if (types === undefined) return true;
  const slash = streamId.indexOf('/');
  return slash > 0 && types.includes(streamId.slice(0, slash));
}

/**
 * Apply events to a projection version inside the caller's open transaction, exactly once per
 * (stream, version): each stream's high-water mark is locked, events at or below it are dropped,
 * a gap above it is filled from the event store first, and the mark moves in the same transaction.
 * Three statements on the fast path with a batch handler: lock the marks, the handler's, save progress.
 */
export async function applyEvents(
  client: pg.ClientBase,
  projection: Projection,
  events: readonly RecordedEvent[],
  options: ApplyOptions,
): Promise<ApplyReport> {
  const report: ApplyReport = { applied: 0, duplicates: 0, waiting: 0, gapFilled: 0, parked: [], lastRecordedAt: null };
  const byStream = new Map<string, RecordedEvent[]>();
  for (const e of events) {
    if (!accepts(projection, e.streamId)) continue;
    const list = byStream.get(e.streamId);
    if (list === undefined) byStream.set(e.streamId, [e]);
    else list.push(e);
  }
  // Sorted, so concurrent batches lock streams in one order and cannot deadlock.
  const streams = [...byStream.keys()].sort();
  const positions = streams.length === 0 ? new Map<string, Position>() : await lockPositions(client, projection, streams);
  const moved: Array<[string, number]> = [];
  // Fast path with a batch handler: collect what to apply, then apply it in one call.
  const batched: RecordedEvent[] | undefined = !options.careful && projection.applyBatch !== undefined ? [] : undefined;

  for (const streamId of streams) {
    const position = requireEntry(positions, streamId, 'position of stream');
    const list = requireEntry(byStream, streamId, 'events of stream').sort((a, b) => a.version - b.version);
    if (position.parked_version !== null) {
      report.waiting += list.length;
      continue;
    }
    let cursor = position.last_version;
    let parked = false;
    for (const event of list) {
      if (parked) {
        report.waiting += 1;
        continue;
      }
      if (event.version <= cursor) {
        report.duplicates += 1;
        continue;
      }
      const run: RecordedEvent[] = [];
      if (event.version > cursor + 1) {
        // An earlier event of this stream was never seen (purged stream, redelivery order, another
        // instance): the store has it, and reading it keeps the stream in order.
        const missing = await readMissing(options.readGap, streamId, cursor + 1, event.version - 1);
        run.push(...missing);
        report.gapFilled += missing.length;
      }
      run.push(event);
      for (let i = 0; i < run.length; i += 1) {
        const e = requireItem(run, i, 'event of the run');
        if (batched !== undefined) {
          batched.push(e);
        } else {
          const failure = await applyOne(client, projection, e, options);
          if (failure !== null) {
            await park(client, projection, failure);
            report.parked.push(failure);
            report.waiting += run.length - i - 1;
            parked = true;
            break;
          }
        }
        cursor = e.version;
        report.applied += 1;
        if (report.lastRecordedAt === null || e.recordedAt > report.lastRecordedAt) report.lastRecordedAt = e.recordedAt;
      }
    }
    if (cursor !== position.last_version) moved.push([streamId, cursor]);
  }
  // batched is only made when the projection has a batch handler.
  if (batched !== undefined && batched.length > 0 && projection.applyBatch !== undefined) {
    try {
      await projection.applyBatch(batched, client, projection.tableNames);
    } catch (error) {
      throw new HandlerFailedSignal(`batch handler of ${projection.key} failed on ${batched.length} events`, { cause: error });
    }
  }
  await saveProgress(client, projection, moved, report, options.feed);
  return report;
}

interface Position {
  stream_id: string;
  last_version: number;
  parked_version: number | null;
}

/**
 * Create the missing high-water marks of `streams` and lock and read all of them, in one statement.
 * The no-op update locks each row in the order given and returns its latest committed values,
 * also when another transaction created it after this statement's snapshot was taken.
 */
async function lockPositions(client: pg.ClientBase, projection: Projection, streams: readonly string[]): Promise<Map<string, Position>> {
  const res = await client.query<Position>({
    name: 'ratchet_projection_lock_positions',
    text: `INSERT INTO ${S}.positions AS p (name, version, stream_id) SELECT $1, $2, unnest($3::text[])
           ON CONFLICT (name, version, stream_id) DO UPDATE SET last_version = p.last_version
           RETURNING stream_id, last_version, parked_version`,
    values: [projection.name, projection.version, streams],
  });
  return new Map(res.rows.map((r) => [r.stream_id, r]));
}

/** The feed checkpoint moves forward only: two processes building one version may commit out of order. */
const FEED_AHEAD = `($7::xid8, $8::bigint) > (feed_transaction_id, feed_global_position)`;

/** Move the marks, the version's counters and (feed mode) its feed checkpoint, in one statement. */
async function saveProgress(
  client: pg.ClientBase,
  projection: Projection,
  moved: ReadonlyArray<readonly [string, number]>,
  report: ApplyReport,
  feed: FeedProgress | undefined,
): Promise<void> {
  if (moved.length === 0 && report.applied === 0 && feed === undefined) return;
  await client.query({
    name: 'ratchet_projection_save_progress',
    text: `WITH marks AS (
             UPDATE ${S}.positions p SET last_version = m.v
             FROM unnest($3::text[], $4::int[]) AS m(s, v)
             WHERE p.name = $1 AND p.version = $2 AND p.stream_id = m.s)
           UPDATE ${S}.versions SET
             events_applied = events_applied + $5,
             last_recorded_at = GREATEST(last_recorded_at, $6::timestamptz),
             feed_transaction_id = CASE WHEN ${FEED_AHEAD} THEN $7::xid8 ELSE feed_transaction_id END,
             feed_global_position = CASE WHEN ${FEED_AHEAD} THEN $8::bigint ELSE feed_global_position END,
             feed_events = feed_events + CASE WHEN ${FEED_AHEAD} THEN $9::bigint ELSE 0 END
           WHERE name = $1 AND version = $2`,
    values: [
      projection.name,
      projection.version,
      moved.map((m) => m[0]),
      moved.map((m) => m[1]),
      report.applied,
      report.lastRecordedAt,
      feed?.transactionId ?? null,
      feed?.globalPosition ?? null,
      feed?.events ?? null,
    ],
  });
}

/** Run one event's handler; null when it succeeded, the parked record when every attempt failed. */
async function applyOne(
  client: pg.ClientBase,
  projection: Projection,
  event: RecordedEvent,
  options: ApplyOptions,
): Promise<ParkedEvent | null> {
  const handler = projection.handlers[event.type];
  if (handler === undefined) return null;
  if (!options.careful) {
    try {
      await handler(event, client, projection.tableNames);
      return null;
    } catch (error) {
      throw new HandlerFailedSignal(`handler of ${event.type} failed at ${event.streamId}@${event.version}`, { cause: error });
    }
  }
  let lastError: unknown;
  for (let attempt = 1; attempt <= options.maxAttempts; attempt += 1) {
    await client.query('SAVEPOINT ratchet_event');
    try {
      await handler(event, client, projection.tableNames);
      await client.query('RELEASE SAVEPOINT ratchet_event');
      return null;
    } catch (error) {
      // A broken connection fails here too and aborts the whole batch, which is what it should do.
      await client.query('ROLLBACK TO SAVEPOINT ratchet_event');
      lastError = error;
      if (attempt < options.maxAttempts) await delay(options.retryBackoffMs * 2 ** (attempt - 1));
    }
  }
  const message = lastError instanceof Error ? `${lastError.name}: ${lastError.message}` : String(lastError);
  return {
    streamId: event.streamId,
    version: event.version,
    type: event.type,
    error: message.slice(0, 4000),
    attempts: options.maxAttempts,
  };
}

async function park(client: pg.ClientBase, projection: Projection, p: ParkedEvent): Promise<void> {
  await client.query(
    `INSERT INTO ${S}.parked AS t (name, version, stream_id, event_version, type, error, attempts)
     VALUES ($1, $2, $3, $4, $5, $6, $7)
     ON CONFLICT (name, version, stream_id) DO UPDATE
       SET event_version = excluded.event_version, type = excluded.type, error = excluded.error,
           attempts = t.attempts + excluded.attempts, parked_at = now()`,
    [projection.name, projection.version, p.streamId, p.version, p.type, p.error, p.attempts],
  );
  await client.query(`UPDATE ${S}.positions SET parked_version = $4 WHERE name = $1 AND version = $2 AND stream_id = $3`, [
    projection.name,
    projection.version,
    p.streamId,
    p.version,
  ]);
}
