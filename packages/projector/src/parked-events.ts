import type pg from 'pg';
import { PROJECTIONS_SCHEMA } from './define-projection.js';

const S = `"${PROJECTIONS_SCHEMA}"`;

/** A parked (dead-lettered) event and the stream it holds up. */
export interface ParkedRecord {
  readonly projection: string;
  readonly projectionVersion: number;
  readonly streamId: string;
  readonly version: number;
  readonly type: string;
  readonly error: string;
  readonly attempts: number;
  readonly parkedAt: Date;
}

/** Parked events, oldest first, of one projection name or all (for the runtime and the CLI). */
export async function readParkedEvents(pool: pg.Pool, name?: string): Promise<ParkedRecord[]> {
  const res = await pool.query<{
    name: string;
    version: number;
    stream_id: string;
    event_version: number;
    type: string;
    error: string;
    attempts: number;
    parked_at: Date;
  }>(`SELECT * FROM ${S}.parked WHERE $1::text IS NULL OR name = $1 ORDER BY parked_at, stream_id`, [name ?? null]);
  return res.rows.map((r) => ({
    projection: r.name,
    projectionVersion: r.version,
    streamId: r.stream_id,
    version: r.event_version,
    type: r.type,
    error: r.error,
    attempts: r.attempts,
    parkedAt: r.parked_at,
  }));
}
