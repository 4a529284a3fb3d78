import { ErrorCode, RatchetError, requireItem } from '@ratchet/core';
import type pg from 'pg';
import { PROCESSES_SCHEMA } from './process-schema.js';
import type { AnsweredCommand, ParkReason } from './run-trigger.js';

const S = `"${PROCESSES_SCHEMA}"`;

/** A source stream's new checkpoint, with what was read before (for the compare-and-set). */
export interface PositionWrite {
  readonly streamId: string;
  readonly existed: boolean;
  readonly oldVersion: number;
  readonly lastVersion: number;
  readonly parkedVersion: number | null;
}

/** An instance's new state, with the version read before (for the compare-and-set). */
export interface InstanceWrite {
  readonly instance: string;
  readonly existed: boolean;
  readonly oldVersion: number;
  readonly state: string;
}

/** A command of a handled event, for the command log. */
export interface CommandRow extends AnsweredCommand {
  readonly triggerStream: string;
  readonly triggerVersion: number;
  readonly instance: string;
}

/** An event parked by the batch. */
export interface ParkedWrite {
  readonly streamId: string;
  readonly version: number;
  readonly type: string;
  readonly reason: ParkReason;
  readonly error: string;
}

/** Everything a batch commits. */
export interface BatchWrites {
  readonly positions: readonly PositionWrite[];
  readonly instances: readonly InstanceWrite[];
  readonly commands: readonly CommandRow[];
  readonly parked: readonly ParkedWrite[];
  /** Streams a retry released: their parked rows go. */
  readonly released: readonly string[];
  /** Handled events whose journaled answers are now in the command log. */
  readonly triggers: ReadonlyArray<{ readonly streamId: string; readonly version: number }>;
  readonly handled: number;
  readonly lastRecordedAt: Date | null;
  /** Feed mode: the checkpoint after the page. */
  readonly feed?: { readonly transactionId: string; readonly globalPosition: number };
}

/** Another runner moved a position or a state this batch read: roll back, the event runs again. */
export class ProcessConflictError extends RatchetError {
  override readonly name = 'ProcessConflictError';
  constructor(process: string, what: string) {
    super(ErrorCode.VERSION_CONFLICT, `process ${process}: ${what} moved under the batch; it runs again`, {
      retryable: true,
      details: { process },
    });
  }
}

/**
 * Write a batch's outcome inside its transaction: positions and states by compare-and-set (with the
 * locks nothing moves them, so a mismatch means a lock was lost: the batch rolls back), the command
 * log, parked events, the journal rows now in the log, the counters and (feed mode) the checkpoint.
 */
export async function saveBatch(client: pg.ClientBase, process: string, w: BatchWrites): Promise<void> {
  if (w.positions.length > 0) {
    const res = await client.query<{ n: string }>({
      name: 'ratchet_process_save_positions',
      text: `WITH m AS (SELECT * FROM unnest($2::text[], $3::bool[], $4::int[], $5::int[], $6::int[]) AS m(s, existed, old, v, pv)),
             upd AS (UPDATE ${S}.positions p SET last_version = m.v, parked_version = m.pv FROM m
                     WHERE m.existed AND p.process = $1 AND p.stream_id = m.s AND p.last_version = m.old RETURNING 1),
             ins AS (INSERT INTO ${S}.positions (process, stream_id, last_version, parked_version)
                     SELECT $1, s, v, pv FROM m WHERE NOT existed ON CONFLICT DO NOTHING RETURNING 1)
             SELECT (SELECT count(*) FROM upd) + (SELECT count(*) FROM ins) AS n`,
      values: [
        process,
        w.positions.map((p) => p.streamId),
        w.positions.map((p) => p.existed),
        w.positions.map((p) => p.oldVersion),
        w.positions.map((p) => p.lastVersion),
        w.positions.map((p) => p.parkedVersion),
      ],
    });
    if (Number(requireItem(res.rows, 0, 'row of the position update').n) !== w.positions.length)
      throw new ProcessConflictError(process, 'a stream position');
  }
  if (w.instances.length > 0) {
    const res = await client.query<{ n: string }>({
      name: 'ratchet_process_save_instances',
      text: `WITH m AS (SELECT * FROM unnest($2::text[], $3::bool[], $4::bigint[], $5::jsonb[]) AS m(i, existed, old, state)),
             upd AS (UPDATE ${S}.instances x SET state = m.state, version = x.version + 1, updated_at = now() FROM m
                     WHERE m.existed AND x.process = $1 AND x.instance = m.i AND x.version = m.old RETURNING 1),
             ins AS (INSERT INTO ${S}.instances (process, instance, state, version)
                     SELECT $1, i, state, 1 FROM m WHERE NOT existed ON CONFLICT DO NOTHING RETURNING 1)
             SELECT (SELECT count(*) FROM upd) + (SELECT count(*) FROM ins) AS n`,
      values: [
        process,
        w.instances.map((i) => i.instance),
        w.instances.map((i) => i.existed),
        w.instances.map((i) => i.oldVersion),
        w.instances.map((i) => i.state),
      ],
    });
    if (Number(requireItem(res.rows, 0, 'row of the instance update').n) !== w.instances.length)
      throw new ProcessConflictError(process, 'an instance state');
  }
  if (w.commands.length > 0) {
    const c = w.commands;
    await client.query({
      name: 'ratchet_process_log_commands',
      text: `INSERT INTO ${S}.commands (process, command_id, trigger_stream, trigger_version, instance, step, round, target_stream, command, outcome, target_version, reason, code)
             SELECT $1, * FROM unnest($2::text[], $3::text[], $4::int[], $5::text[], $6::text[], $7::int[], $8::text[], $9::jsonb[], $10::text[], $11::int[], $12::text[], $13::text[])`,
      values: [
        process,
        c.map((x) => x.commandId),
        c.map((x) => x.triggerStream),
        c.map((x) => x.triggerVersion),
        c.map((x) => x.instance),
        c.map((x) => x.command.step),
        c.map((x) => x.round),
        c.map((x) => `${x.command.aggregateType}/${x.command.aggregateId}`),
        c.map((x) => JSON.stringify({ type: x.command.command.type, payload: x.command.command.payload ?? {} })),
        c.map((x) => x.answer.outcome),
        c.map((x) => (x.answer.outcome === 'failed' ? null : x.answer.version)),
        c.map((x) => (x.answer.outcome === 'ok' ? null : x.answer.reason.slice(0, 4_000))),
        c.map((x) => (x.answer.outcome === 'failed' ? x.answer.code : null)),
      ],
    });
  }
  for (const p of w.parked) {
    await client.query(
      `INSERT INTO ${S}.parked AS t (process, stream_id, event_version, type, reason, error, attempts) VALUES ($1, $2, $3, $4, $5, $6, 1)
       ON CONFLICT (process, stream_id) DO UPDATE SET event_version = excluded.event_version, type = excluded.type, reason = excluded.reason,
         error = excluded.error, attempts = t.attempts + 1, parked_at = now()`,
      [process, p.streamId, p.version, p.type, p.reason, p.error.slice(0, 4_000)],
    );
  }
  if (w.released.length > 0) {
    await client.query(`DELETE FROM ${S}.parked WHERE process = $1 AND stream_id = ANY($2::text[])`, [process, w.released]);
  }
  if (w.triggers.length > 0 && w.commands.some((c) => c.answer.outcome !== 'ok')) {
    await client.query({
      name: 'ratchet_process_clear_journal',
      text: `DELETE FROM ${S}.answers a USING unnest($2::text[], $3::int[]) AS t(s, v) WHERE a.process = $1 AND a.trigger_stream = t.s AND a.trigger_version = t.v`,
      values: [process, w.triggers.map((t) => t.streamId), w.triggers.map((t) => t.version)],
    });
  }
  const count = (o: string): number => w.commands.filter((c) => c.answer.outcome === o).length;
  await client.query({
    name: 'ratchet_process_save_counters',
    text: `UPDATE ${S}.processes SET events_handled = events_handled + $2, commands_ok = commands_ok + $3,
             commands_rejected = commands_rejected + $4, commands_failed = commands_failed + $5,
             last_recorded_at = GREATEST(last_recorded_at, $6::timestamptz), updated_at = now(),
             feed_transaction_id = COALESCE($7::xid8, feed_transaction_id), feed_global_position = COALESCE($8::bigint, feed_global_position)
           WHERE name = $1`,
    values: [
      process,
      w.handled,
      count('ok'),
      count('rejected'),
      count('failed'),
      w.lastRecordedAt,
      w.feed?.transactionId ?? null,
      w.feed?.globalPosition ?? null,
    ],
  });
}
