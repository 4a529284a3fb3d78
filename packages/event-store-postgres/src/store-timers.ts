import type { TimerStart } from '@ratchet/core';
import { assertStreamId } from './encode-append-request.js';
import { checkInt, checkText, invalid } from './store-input.js';
import type { StoreQuery } from './store-query.js';

/** A durable timer as stored: started by the append that made `startedVersion`, due at `dueAt`. */
export interface StoredTimer {
  readonly streamId: string;
  readonly timerId: string;
  readonly partition: number;
  readonly kind: TimerStart['kind'];
  readonly dueAt: Date;
  readonly startedVersion: number;
  /** `{ event }` for a statechart delay, `{ command }` for a scheduled command. */
  readonly body: {
    readonly event?: { readonly type: string; readonly data: unknown };
    readonly command?: { readonly type: string; readonly payload: unknown };
  };
}

/** Durable timers in Postgres: written with appends (`AppendRequest.timers`), read and removed here. */
export interface TimerStore {
  /** Timers of these partitions due now (Postgres's clock), earliest first, at most `limit`. */
  dueTimers(partitions: readonly number[], limit: number): Promise<StoredTimer[]>;
  /** Milliseconds until the next timer of these partitions is due (0 if one is due), or null when none is pending. */
  nextTimerDueInMs(partitions: readonly number[]): Promise<number | null>;
  /** The timer as stored now, or null. */
  readTimer(streamId: string, timerId: string): Promise<StoredTimer | null>;
  /** Remove the timer if it is still the one started at `startedVersion` (a fired no-op); true when removed. */
  deleteTimer(streamId: string, timerId: string, startedVersion: number): Promise<boolean>;
  /** Timers pending in these partitions (all partitions when absent). */
  pendingTimers(partitions?: readonly number[]): Promise<number>;
}

interface TimerRow {
  stream_id: string;
  timer_id: string;
  partition: number;
  kind: TimerStart['kind'];
  due_at: Date;
  started_version: number;
  body: StoredTimer['body'];
}

const COLUMNS = 'stream_id, timer_id, partition, kind, due_at, started_version, body';

function timerOf(row: TimerRow): StoredTimer {
  return {
    streamId: row.stream_id,
    timerId: row.timer_id,
    partition: row.partition,
    kind: row.kind,
    dueAt: row.due_at,
    startedVersion: row.started_version,
    body: row.body,
  };
}

function checkPartitions(partitions: readonly number[]): number[] {
  if (!Array.isArray(partitions)) invalid('invalid partitions', [{ path: ['partitions'], message: 'must be an array' }]);
  return partitions.map((p, i) => checkInt(p, `partitions.${i}`, 0));
}

/** The timer methods of a store in schema `s` (quoted). */
export function timerStore(query: StoreQuery, s: string): TimerStore {
  return {
    async dueTimers(partitions, limit) {
      const ps = checkPartitions(partitions);
      checkInt(limit, 'limit', 1, 100_000);
      if (ps.length === 0) return [];
      const res = await query<TimerRow>(
        'dueTimers',
        `SELECT ${COLUMNS} FROM ${s}.timers WHERE partition = ANY($1::int[]) AND due_at <= now() ORDER BY due_at LIMIT $2`,
        [ps, limit],
      );
      return res.rows.map(timerOf);
    },

    async nextTimerDueInMs(partitions) {
      const ps = checkPartitions(partitions);
      if (ps.length === 0) return null;
      const res = await query<{ ms: string | null }>(
        'nextTimerDueInMs',
        `SELECT CASE WHEN min(due_at) IS NULL THEN NULL ELSE greatest(0, extract(epoch FROM min(due_at) - now()) * 1000) END AS ms
         FROM ${s}.timers WHERE partition = ANY($1::int[])`,
        [ps],
      );
      const ms = res.rows[0]?.ms;
      return ms === null || ms === undefined ? null : Math.ceil(Number(ms));
    },

    async readTimer(streamId, timerId) {
      assertStreamId(streamId);
      checkText(timerId, 'timerId', 300);
      const res = await query<TimerRow>('readTimer', `SELECT ${COLUMNS} FROM ${s}.timers WHERE stream_id = $1 AND timer_id = $2`, [
        streamId,
        timerId,
      ]);
      const row = res.rows[0];
      return row === undefined ? null : timerOf(row);
    },

    async deleteTimer(streamId, timerId, startedVersion) {
      assertStreamId(streamId);
      checkText(timerId, 'timerId', 300);
      checkInt(startedVersion, 'startedVersion', 0);
      const res = await query('deleteTimer', `DELETE FROM ${s}.timers WHERE stream_id = $1 AND timer_id = $2 AND started_version = $3`, [
        streamId,
        timerId,
        startedVersion,
      ]);
      return res.rowCount === 1;
    },

    async pendingTimers(partitions) {
      const ps = partitions === undefined ? null : checkPartitions(partitions);
      const res = await query<{ n: string }>(
        'pendingTimers',
        `SELECT count(*) AS n FROM ${s}.timers WHERE $1::int[] IS NULL OR partition = ANY($1::int[])`,
        [ps],
      );
      return Number(res.rows[0]?.n ?? 0);
    },
  };
}
