import type { RecordedEvent } from '@ratchet/core';
import { defineProjection, type Projection, type ProjectionSql, type ProjectionTables } from '@ratchet/projector';
import { VISIT_TIMED_OUT } from '@ratchet/station';

/** The stations read model's table: one row per station, as the dashboard shows it. */
export const STATION_TABLES = ['stations'] as const;

/** Upsert a station's row: the state it is in after `event`, counters moved by `delta`. */
async function apply(
  sql: ProjectionSql,
  t: ProjectionTables,
  event: RecordedEvent,
  state: 'visiting' | 'idle' | 'escalated',
  delta: { calls?: number; visits?: number; escalations?: number },
  turnstileId: string | null,
): Promise<void> {
  const id = event.streamId.slice(event.streamId.indexOf('/') + 1);
  await sql.query(
    `INSERT INTO ${t.name('stations')} AS s (id, state, calls, visits, escalations, turnstile_id, version, updated_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (id) DO UPDATE SET state = excluded.state, calls = s.calls + excluded.calls, visits = s.visits + excluded.visits,
       escalations = s.escalations + excluded.escalations, turnstile_id = COALESCE(excluded.turnstile_id, s.turnstile_id),
       version = excluded.version, updated_at = excluded.updated_at`,
    [id, state, delta.calls ?? 0, delta.visits ?? 0, delta.escalations ?? 0, turnstileId, event.version, event.recordedAt],
  );
}

/**
 * The demo's stations: state (idle, visiting, escalated), technician calls, completed visits,
 * escalations (visits that timed out: the station's durable timer fired) and the turnstile of the
 * last call. Few events, so per-event handlers.
 * @example
 * defineApp({ name: 'turnstile', aggregates: [Turnstile, Station], projections: [defineStationProjection()] });
 */
export function defineStationProjection(): Projection {
  return defineProjection({
    name: 'stations',
    version: 1,
    tables: [...STATION_TABLES],
    aggregateTypes: ['station'],
    async setup(sql, t) {
      await sql.query(`CREATE TABLE IF NOT EXISTS ${t.name('stations')} (
        id text PRIMARY KEY, state text NOT NULL, calls int NOT NULL, visits int NOT NULL, escalations int NOT NULL,
        turnstile_id text, version int NOT NULL, updated_at timestamptz NOT NULL)`);
    },
    handlers: {
      technicianCalled: (e, sql, t) => apply(sql, t, e, 'visiting', { calls: 1 }, (e.data as { turnstileId: string }).turnstileId),
      visitCompleted: (e, sql, t) => apply(sql, t, e, 'idle', { visits: 1 }, null),
      [VISIT_TIMED_OUT]: (e, sql, t) => apply(sql, t, e, 'escalated', { escalations: 1 }, null),
    },
  });
}
