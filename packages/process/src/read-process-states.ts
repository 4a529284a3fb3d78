import type pg from 'pg';
import { PROCESSES_SCHEMA } from './process-schema.js';

const S = `"${PROCESSES_SCHEMA}"`;

/** One process as its tables describe it, for `ratchet status`, the dashboard and the checker. */
export interface ProcessState {
  readonly name: string;
  readonly aggregateTypes: readonly string[];
  readonly eventsHandled: number;
  readonly commands: { readonly ok: number; readonly rejected: number; readonly failed: number };
  /**
   * Events of its aggregate types in the store that it has not handled yet (stream heads minus its
   * positions: a process handles every stream of its types from version 1).
   */
  readonly lagEvents: number;
  /** Streams held by a parked event. */
  readonly parked: number;
  /** Commit time of the newest event it handled. */
  readonly lastRecordedAt: string | null;
}

/** A parked event of a process. */
export interface ParkedTrigger {
  readonly process: string;
  readonly streamId: string;
  readonly version: number;
  readonly type: string;
  /** `handler-failed`, `invalid-command` or `unanswered`. */
  readonly reason: string;
  readonly error: string;
  readonly attempts: number;
  readonly parkedAt: Date;
}

/** Whether a process runner has created its tables in this database. */
export async function hasProcessSchema(pool: pg.Pool): Promise<boolean> {
  const res = await pool.query<{ t: string | null }>(`SELECT to_regclass('${PROCESSES_SCHEMA}.processes')::text AS t`);
  return res.rows[0]?.t != null;
}

/**
 * Every registered process with its counters, lag and parked streams; [] before any runner ran.
 * `storeSchema` is the event store's schema (default `ratchet`), in the same database.
 */
export async function readProcessStates(pool: pg.Pool, storeSchema = 'ratchet'): Promise<ProcessState[]> {
  if (!(await hasProcessSchema(pool))) return [];
  const res = await pool.query<{
    name: string;
    aggregate_types: string[];
    events_handled: string;
    commands_ok: string;
    commands_rejected: string;
    commands_failed: string;
    last_recorded_at: Date | null;
    heads: string;
    handled: string;
    parked: string;
  }>(
    `SELECT p.name, p.aggregate_types, p.events_handled, p.commands_ok, p.commands_rejected, p.commands_failed, p.last_recorded_at,
            (SELECT coalesce(sum(s.version), 0) FROM "${storeSchema}".streams s WHERE split_part(s.stream_id, '/', 1) = ANY(p.aggregate_types)) AS heads,
            (SELECT coalesce(sum(x.last_version), 0) FROM ${S}.positions x WHERE x.process = p.name) AS handled,
            (SELECT count(*) FROM ${S}.parked k WHERE k.process = p.name) AS parked
     FROM ${S}.processes p ORDER BY p.name`,
  );
  return res.rows.map((r) => ({
    name: r.name,
    aggregateTypes: r.aggregate_types,
    eventsHandled: Number(r.events_handled),
    commands: { ok: Number(r.commands_ok), rejected: Number(r.commands_rejected), failed: Number(r.commands_failed) },
    lagEvents: Math.max(0, Number(r.heads) - Number(r.handled)),
    parked: Number(r.parked),
    lastRecordedAt: r.last_recorded_at?.toISOString() ?? null,
  }));
}

/** Parked events, oldest first, of one process or all. */
export async function readParkedTriggers(pool: pg.Pool, name?: string): Promise<ParkedTrigger[]> {
  if (!(await hasProcessSchema(pool))) return [];
  const res = await pool.query<{
    process: string;
    stream_id: string;
    event_version: number;
    type: string;
    reason: string;
    error: string;
    attempts: number;
    parked_at: Date;
  }>(`SELECT * FROM ${S}.parked WHERE $1::text IS NULL OR process = $1 ORDER BY parked_at, stream_id`, [name ?? null]);
  return res.rows.map((r) => ({
    process: r.process,
    streamId: r.stream_id,
    version: r.event_version,
    type: r.type,
    reason: r.reason,
    error: r.error,
    attempts: r.attempts,
    parkedAt: r.parked_at,
  }));
}
