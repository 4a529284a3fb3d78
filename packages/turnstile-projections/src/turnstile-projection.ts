import type { RecordedEvent } from '@ratchet/core';
import { defineProjection, type Projection, type ProjectionHandler, type ProjectionSql, type ProjectionTables } from '@ratchet/projector';
import { parseStreamId } from '@ratchet/transport-nats';

/** Table base names (and stable view names) of the turnstile read models. */
export const TURNSTILE_TABLES = {
  /** One row per turnstile: id, state, coins, turns, pushes, version, updated_at (v2: last_event_type). */
  turnstiles: 'turnstiles',
  /** One row: turnstiles, coins, turns, pushes. */
  totals: 'turnstile_totals',
  /** Events per second of `recorded_at`, for the dashboard. */
  perSecond: 'turnstile_commands_per_second',
} as const;

/** Options of {@link defineTurnstileProjection}. */
export interface TurnstileProjectionOptions {
  /** 1: the base read model; 2: adds `last_event_type` to each turnstile row. Default 1. */
  readonly version?: 1 | 2;
  /** Wrap every handler (tests inject faults with it). Default: none. */
  readonly wrap?: (type: string, handler: ProjectionHandler) => ProjectionHandler;
}

type Delta = { readonly state?: 'locked' | 'unlocked'; readonly coins?: number; readonly turns?: number; readonly pushes?: number };

// Mirrors the turnstile machine: the read model must equal Turnstile.replay of the stream.
const DELTAS: Readonly<Record<string, Delta>> = {
  coinInserted: { state: 'unlocked', coins: 1 },
  armTurned: { state: 'locked', turns: 1, pushes: 1 },
  armPushedIneffectively: { pushes: 1 },
};

async function setup(version: number, sql: ProjectionSql, t: ProjectionTables): Promise<void> {
  const extra = version >= 2 ? ', last_event_type text NOT NULL' : '';
  await sql.query(`
    CREATE TABLE IF NOT EXISTS ${t.name(TURNSTILE_TABLES.turnstiles)} (
      id text PRIMARY KEY,
      state text NOT NULL,
      coins int NOT NULL,
      turns int NOT NULL,
      pushes int NOT NULL,
      version int NOT NULL,
      updated_at timestamptz NOT NULL${extra}
    );
    CREATE TABLE IF NOT EXISTS ${t.name(TURNSTILE_TABLES.totals)} (
      id boolean PRIMARY KEY DEFAULT true CHECK (id),
      turnstiles bigint NOT NULL DEFAULT 0,
      coins bigint NOT NULL DEFAULT 0,
      turns bigint NOT NULL DEFAULT 0,
      pushes bigint NOT NULL DEFAULT 0
    );
    INSERT INTO ${t.name(TURNSTILE_TABLES.totals)} (id) VALUES (true) ON CONFLICT DO NOTHING;
    CREATE TABLE IF NOT EXISTS ${t.name(TURNSTILE_TABLES.perSecond)} (
      second timestamptz PRIMARY KEY,
      events int NOT NULL
    );
  `);
}

async function countSecond(e: RecordedEvent, sql: ProjectionSql, t: ProjectionTables): Promise<void> {
  const table = t.name(TURNSTILE_TABLES.perSecond);
  await sql.query(
    `INSERT INTO ${table} (second, events) VALUES (date_trunc('second', $1::timestamptz), 1)
     ON CONFLICT (second) DO UPDATE SET events = ${table}.events + 1`,
    [e.recordedAt],
  );
}

function handlers(version: number): Record<string, ProjectionHandler> {
  const v2 = version >= 2;
  const installed: ProjectionHandler = async (e, sql, t) => {
    const { aggregateId } = parseStreamId(e.streamId);
    await sql.query(
      `INSERT INTO ${t.name(TURNSTILE_TABLES.turnstiles)} (id, state, coins, turns, pushes, version, updated_at${v2 ? ', last_event_type' : ''})
       VALUES ($1, 'locked', 0, 0, 0, $2, $3${v2 ? ', $4' : ''})`,
      v2 ? [aggregateId, e.version, e.recordedAt, e.type] : [aggregateId, e.version, e.recordedAt],
    );
    await sql.query(`UPDATE ${t.name(TURNSTILE_TABLES.totals)} SET turnstiles = turnstiles + 1`);
    await countSecond(e, sql, t);
  };
  const result: Record<string, ProjectionHandler> = { installed };
  for (const [type, d] of Object.entries(DELTAS)) {
    result[type] = async (e, sql, t) => {
      const { aggregateId } = parseStreamId(e.streamId);
      const res = await sql.query(
        `UPDATE ${t.name(TURNSTILE_TABLES.turnstiles)}
         SET state = COALESCE($2, state), coins = coins + $3, turns = turns + $4, pushes = pushes + $5,
             version = $6, updated_at = $7${v2 ? ', last_event_type = $8' : ''}
         WHERE id = $1`,
        [aggregateId, d.state ?? null, d.coins ?? 0, d.turns ?? 0, d.pushes ?? 0, e.version, e.recordedAt, ...(v2 ? [e.type] : [])],
      );
      if (res.rowCount !== 1) throw new Error(`turnstile ${aggregateId} has no row (not installed?)`);
      await sql.query(
        `UPDATE ${t.name(TURNSTILE_TABLES.totals)} SET coins = coins + $1, turns = turns + $2, pushes = pushes + $3`,
        [d.coins ?? 0, d.turns ?? 0, d.pushes ?? 0],
      );
      await countSecond(e, sql, t);
    };
  }
  return result;
}

/**
 * The turnstile read models (projection name 'turnstile'): stable views `turnstiles`,
 * `turnstile_totals` and `turnstile_commands_per_second`.
 * @example
 * const projector = createProjector({ nats, store, pool, projections: [defineTurnstileProjection()] });
 */
export function defineTurnstileProjection(options: TurnstileProjectionOptions = {}): Projection {
  const version = options.version ?? 1;
  const base = handlers(version);
  const wrap = options.wrap;
  return defineProjection({
    name: 'turnstile',
    version,
    tables: Object.values(TURNSTILE_TABLES),
    aggregateTypes: ['turnstile'],
    setup: (sql, t) => setup(version, sql, t),
    handlers: wrap === undefined ? base : Object.fromEntries(Object.entries(base).map(([type, h]) => [type, wrap(type, h)])),
  });
}
