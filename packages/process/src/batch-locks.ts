import { requireItem } from '@ratchet/core';
import type pg from 'pg';
import { PROCESSES_SCHEMA } from './process-schema.js';
import type { CommandAnswer } from './run-trigger.js';

const S = `"${PROCESSES_SCHEMA}"`;

/** Where the batch reads: a client in its transaction, or (a runner alone on its process) the pool. */
export type Queryable = Pick<pg.ClientBase, 'query'>;

/** A source stream's checkpoint: handled through `lastVersion`; held at `parkedVersion` when parked. */
export interface StreamPosition {
  readonly existed: boolean;
  readonly lastVersion: number;
  readonly parkedVersion: number | null;
}

/** An instance's stored state (JSON text) and its version (0: not stored yet). */
export interface InstanceState {
  readonly existed: boolean;
  readonly state: string;
  readonly version: number;
}

/**
 * Take transaction-level advisory locks on `keys` of one class, in hash order, in one statement.
 * Advisory locks assign no transaction id, so holding them while the batch's commands are sent
 * does not hold back `pg_snapshot_xmin` (the outbox relay's horizon) the way a row lock would.
 * Every batch takes stream locks before instance locks, each set in hash order: no deadlock.
 */
async function lockAll(client: Queryable, lockClass: string, process: string, keys: readonly string[] | null): Promise<void> {
  if (keys === null || keys.length === 0) return;
  await client.query({
    name: `ratchet_process_lock_${lockClass}`,
    text: `SELECT count(pg_advisory_xact_lock(hashtext('${PROCESSES_SCHEMA}.${lockClass}'), k))
           FROM (SELECT DISTINCT hashtext($1 || ':' || key) AS k FROM unnest($2::text[]) AS key ORDER BY k) AS locks`,
    values: [process, keys],
  });
}

/**
 * Lock the batch's source streams and read their positions (current: read after the locks). With
 * `lock` false (a runner that is alone on its process) the positions are only read.
 */
export async function lockStreams(
  client: Queryable,
  process: string,
  streams: readonly string[],
  lock = true,
): Promise<Map<string, StreamPosition>> {
  await lockAll(client, 'streams', process, lock ? streams : null);
  const res = await client.query<{ stream_id: string; last_version: number; parked_version: number | null }>({
    name: 'ratchet_process_read_positions',
    text: `SELECT stream_id, last_version, parked_version FROM ${S}.positions WHERE process = $1 AND stream_id = ANY($2::text[])`,
    values: [process, streams],
  });
  const found = new Map(res.rows.map((r) => [r.stream_id, r]));
  return new Map(
    streams.map((s) => {
      const r = found.get(s);
      return [
        s,
        r === undefined
          ? { existed: false, lastVersion: 0, parkedVersion: null }
          : { existed: true, lastVersion: r.last_version, parkedVersion: r.parked_version },
      ];
    }),
  );
}

/** Lock the batch's instances (unless `lock` is false) and read their states; a missing one starts from `initialState` (JSON text). */
export async function lockInstances(
  client: Queryable,
  process: string,
  instances: readonly string[],
  initialState: string,
  lock = true,
): Promise<Map<string, InstanceState>> {
  await lockAll(client, 'instances', process, lock ? instances : null);
  if (instances.length === 0) return new Map();
  const res = await client.query<{ instance: string; state: string; version: string }>({
    name: 'ratchet_process_read_instances',
    text: `SELECT instance, state::text AS state, version FROM ${S}.instances WHERE process = $1 AND instance = ANY($2::text[])`,
    values: [process, instances],
  });
  const found = new Map(res.rows.map((r) => [r.instance, r]));
  return new Map(
    instances.map((i) => {
      const r = found.get(i);
      return [
        i,
        r === undefined
          ? { existed: false, state: initialState, version: 0 }
          : { existed: true, state: r.state, version: Number(r.version) },
      ];
    }),
  );
}

/** The journaled answers of commands the batch's events sent on an earlier run, by command id. */
export async function readJournal(
  client: Queryable,
  process: string,
  triggers: ReadonlyArray<{ readonly streamId: string; readonly version: number }>,
): Promise<Map<string, CommandAnswer>> {
  if (triggers.length === 0) return new Map();
  const res = await client.query<{
    command_id: string;
    outcome: 'rejected' | 'failed';
    reason: string;
    code: string | null;
    target_version: number | null;
  }>({
    name: 'ratchet_process_read_journal',
    text: `SELECT a.command_id, a.outcome, a.reason, a.code, a.target_version FROM ${S}.answers a
           JOIN unnest($2::text[], $3::int[]) AS t(s, v) ON a.trigger_stream = t.s AND a.trigger_version = t.v
           WHERE a.process = $1`,
    values: [process, triggers.map((t) => t.streamId), triggers.map((t) => t.version)],
  });
  return new Map(res.rows.map((r) => [r.command_id, journaled(r)]));
}

function journaled(r: {
  outcome: 'rejected' | 'failed';
  reason: string;
  code: string | null;
  target_version: number | null;
}): CommandAnswer {
  return r.outcome === 'rejected'
    ? { outcome: 'rejected', reason: r.reason, version: r.target_version ?? 0 }
    : { outcome: 'failed', reason: r.reason, code: r.code ?? 'INTERNAL' };
}

/**
 * Journal a rejection or failure the moment it arrives (its own short transaction, outside the
 * batch's): the store keeps no trace of it, and a re-run of the event must get the same answer, or
 * commands sent on the strength of it (onRejected's, the instance's next events') could differ.
 * The first answer journaled wins: the row already there is returned.
 */
export async function journalAnswer(
  pool: pg.Pool,
  process: string,
  commandId: string,
  trigger: { readonly streamId: string; readonly version: number },
  answer: Exclude<CommandAnswer, { outcome: 'ok' }>,
): Promise<CommandAnswer> {
  const res = await pool.query<{ outcome: 'rejected' | 'failed'; reason: string; code: string | null; target_version: number | null }>({
    name: 'ratchet_process_journal_answer',
    text: `INSERT INTO ${S}.answers AS a (process, command_id, trigger_stream, trigger_version, outcome, reason, code, target_version)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
           ON CONFLICT (process, command_id) DO UPDATE SET outcome = a.outcome
           RETURNING outcome, reason, code, target_version`,
    values: [
      process,
      commandId,
      trigger.streamId,
      trigger.version,
      answer.outcome,
      answer.reason.slice(0, 4_000),
      answer.outcome === 'failed' ? answer.code : null,
      answer.outcome === 'rejected' ? answer.version : null,
    ],
  });
  return journaled(requireItem(res.rows, 0, 'row of the journal insert'));
}
