import { ErrorCode, FencedError, RatchetError, VersionConflictError } from '@ratchet/core';
import type { EventMetadata, RecordedEvent } from '@ratchet/core';
import type pg from 'pg';
import type { AppendOutcome } from './append-request.js';
import type { EncodedAppend } from './encode-append-request.js';
import { statementName } from './statement-name.js';
import { isTransientConflict, toStoreError } from './store-error.js';

interface DuplicateEvent {
  readonly version: number;
  readonly type: string;
  readonly schemaVersion: number;
  readonly data: unknown;
  readonly metadata: EventMetadata;
  readonly globalPosition: number;
  readonly transactionId: string;
  readonly recordedAt: string;
  readonly epoch: number | null;
}

/** One item of the reply of `append_batch` and `append_one` (functions/append-batch.sql.ts, functions/append-one.sql.ts). */
type ItemReply =
  | { ok: true; duplicate: false; fromVersion: number; version: number; positions: number[] }
  | { ok: true; duplicate: true; streamId: string; fromVersion: number; version: number; events: DuplicateEvent[] }
  | { ok: false; code: 'FENCED'; partition: number; heldEpoch: number; currentEpoch: number }
  | { ok: false; code: 'VERSION_CONFLICT'; streamId: string; expectedVersion: number; actualVersion: number }
  | { ok: false; code: 'COMMAND_ID_REUSED'; commandId: string; streamId: string };

interface BatchReply {
  readonly transactionId: string | null;
  readonly recordedAt: string;
  readonly outcomes: ItemReply[];
}

/** Retry policy for deadlocks and serialization failures of the whole batch. */
export interface BatchRetry {
  /** Attempts in total, at least 1. */
  readonly maxAttempts: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function outcomeOf(item: ItemReply, request: EncodedAppend, fence: { epoch: number } | undefined, batch: BatchReply): AppendOutcome {
  if (!item.ok) {
    switch (item.code) {
      case 'FENCED':
        return { ok: false, error: new FencedError(item.partition, item.heldEpoch, item.currentEpoch) };
      case 'VERSION_CONFLICT':
        return { ok: false, error: new VersionConflictError(item.streamId, item.expectedVersion, item.actualVersion) };
      case 'COMMAND_ID_REUSED':
        return {
          ok: false,
          error: new RatchetError(ErrorCode.COMMAND_ID_REUSED, `command id ${item.commandId} was already used with a different request`, {
            details: { commandId: item.commandId, streamId: item.streamId },
          }),
        };
    }
  }
  if (item.duplicate) {
    const events: RecordedEvent[] = item.events.map((e) => ({
      streamId: item.streamId,
      version: e.version,
      type: e.type,
      schemaVersion: e.schemaVersion,
      data: e.data,
      metadata: e.metadata,
      globalPosition: e.globalPosition,
      transactionId: e.transactionId,
      recordedAt: new Date(e.recordedAt),
      epoch: e.epoch,
    }));
    return { ok: true, result: { streamId: item.streamId, fromVersion: item.fromVersion, version: item.version, events, duplicate: true } };
  }
  const recordedAt = new Date(batch.recordedAt);
  const transactionId = batch.transactionId ?? '0';
  const events: RecordedEvent[] = request.events.map((e, i) => ({
    streamId: request.streamId,
    version: item.fromVersion + i,
    type: e.type,
    schemaVersion: e.schemaVersion,
    data: JSON.parse(e.dataJson) as unknown,
    metadata: e.metadata,
    globalPosition: item.positions[i] ?? 0,
    transactionId,
    recordedAt,
    epoch: fence === undefined ? null : fence.epoch,
  }));
  return {
    ok: true,
    result: { streamId: request.streamId, fromVersion: item.fromVersion, version: item.version, events, duplicate: false },
  };
}

/**
 * Run validated appends as one transaction and one round trip (`append_batch`), retrying the whole
 * batch on deadlock or serialization failure. Throws STORE_UNAVAILABLE / INTERNAL for batch-wide failures.
 */
export async function executeAppendBatch(
  pool: pg.Pool,
  quotedSchema: string,
  requests: ReadonlyArray<{ encoded: EncodedAppend; fence: { epoch: number } | undefined }>,
  retry: BatchRetry,
): Promise<AppendOutcome[]> {
  // A batch of one (every commit at low load) takes the lean single-request function.
  const only = requests.length === 1 ? requests[0] : undefined;
  const single = only !== undefined;
  const payload = single ? only.encoded.json : `[${requests.map((r) => r.encoded.json).join(',')}]`;
  const fn = `${quotedSchema}.${single ? 'append_one' : 'append_batch'}`;
  const timerOps = requests.flatMap((r, i) => r.encoded.timerOps.map((op) => `{"i":${i},${op.slice(1)}`));
  const sql = timerOps.length === 0 ? `SELECT ${fn}($1::jsonb) AS reply` : appendWithTimersSql(fn, quotedSchema);
  const values = timerOps.length === 0 ? [payload] : [payload, `[${timerOps.join(',')}]`];
  for (let attempt = 1; ; attempt++) {
    let reply: BatchReply;
    try {
      const res = await pool.query<{ reply: BatchReply }>({ name: statementName(sql), text: sql, values });
      const row = res.rows[0];
      if (row === undefined) throw new Error('append_batch returned no row');
      reply = row.reply;
    } catch (err) {
      if (isTransientConflict(err) && attempt < retry.maxAttempts) {
        // Jittered backoff so the two sides of a deadlock do not collide again.
        await sleep(Math.random() * 10 * attempt);
        continue;
      }
      throw toStoreError(err, 'appendBatch');
    }
    if (reply.outcomes.length !== requests.length) {
      throw new RatchetError(ErrorCode.INTERNAL, `append_batch returned ${reply.outcomes.length} outcomes for ${requests.length} requests`);
    }
    return reply.outcomes.map((item, i) => {
      const request = requests[i];
      if (request === undefined) throw new RatchetError(ErrorCode.INTERNAL, 'append_batch outcome without request');
      return outcomeOf(item, request.encoded, request.fence, reply);
    });
  }
}

/**
 * The append and its timers in one statement, so one transaction: the timers of each request that
 * committed new events (not a failure, not a duplicate) are started (upserted: re-entering a
 * state restarts its delay) or cancelled. A start is due `delayMs` after the transaction's start,
 * or at `at`; `started_version` is the stream version after the append.
 */
function appendWithTimersSql(fn: string, s: string): string {
  return `WITH reply AS (SELECT ${fn}($1::jsonb) AS reply),
    applied AS (
      SELECT o.n::int - 1 AS i, (o.item->>'version')::int AS version
      FROM reply, jsonb_array_elements(reply.reply->'outcomes') WITH ORDINALITY AS o(item, n)
      WHERE (o.item->>'ok')::boolean AND NOT coalesce((o.item->>'duplicate')::boolean, false)),
    ops AS (SELECT (t->>'i')::int AS i, t FROM jsonb_array_elements($2::jsonb) AS t),
    started AS (
      INSERT INTO ${s}.timers AS x (stream_id, timer_id, partition, kind, due_at, started_version, body)
      SELECT t->>'streamId', t->>'id', (t->>'partition')::int, t->>'kind',
             coalesce((t->>'at')::timestamptz, now() + (t->>'delayMs')::bigint * interval '1 millisecond'),
             applied.version, t->'body'
      FROM ops JOIN applied USING (i) WHERE t->>'op' = 'start'
      ON CONFLICT (stream_id, timer_id) DO UPDATE
        SET partition = excluded.partition, kind = excluded.kind, due_at = excluded.due_at,
            started_version = excluded.started_version, body = excluded.body, started_at = now()),
    cancelled AS (
      DELETE FROM ${s}.timers AS x USING ops JOIN applied USING (i)
      WHERE ops.t->>'op' = 'cancel' AND x.stream_id = ops.t->>'streamId' AND x.timer_id = ops.t->>'id')
    SELECT reply FROM reply`;
}
