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

function handlers(version: number): Record<string, ProjectionHandler> {
  const v2 = version >= 2;
  // One statement (one round trip) per event: the row, the totals and the per-second bucket.
  const installed: ProjectionHandler = async (e, sql, t) => {
    const { aggregateId } = parseStreamId(e.streamId);
    await sql.query(
      `WITH hit AS (
         INSERT INTO ${t.name(TURNSTILE_TABLES.turnstiles)} (id, state, coins, turns, pushes, version, updated_at${v2 ? ', last_event_type' : ''})
         VALUES ($1, 'locked', 0, 0, 0, $2, $3${v2 ? ', $4' : ''}) RETURNING 1),
       totals AS (UPDATE ${t.name(TURNSTILE_TABLES.totals)} SET turnstiles = turnstiles + 1 FROM hit)
       ${countSecond(t)}`,
      v2 ? [aggregateId, e.version, e.recordedAt, e.type] : [aggregateId, e.version, e.recordedAt],
    );
  };
  const result: Record<string, ProjectionHandler> = { installed };
  for (const [type, d] of Object.entries(DELTAS)) {
    result[type] = async (e, sql, t) => {
      const { aggregateId } = parseStreamId(e.streamId);
      const res = await sql.query<{ updated: number }>(
        `WITH hit AS (
           UPDATE ${t.name(TURNSTILE_TABLES.turnstiles)}
           SET state = COALESCE($4::text, state), coins = coins + $5, turns = turns + $6, pushes = pushes + $7,
               version = $2, updated_at = $3${v2 ? ', last_event_type = $8' : ''}
           WHERE id = $1 RETURNING 1),
         totals AS (UPDATE ${t.name(TURNSTILE_TABLES.totals)} SET coins = coins + $5, turns = turns + $6, pushes = pushes + $7 FROM hit)
         ${countSecond(t)}`,
        [aggregateId, e.version, e.recordedAt, d.state ?? null, d.coins ?? 0, d.turns ?? 0, d.pushes ?? 0, ...(v2 ? [e.type] : [])],
      );
      if (res.rows[0]?.updated !== 1) throw new Error(`turnstile ${aggregateId} has no row (not installed?)`);
    };
  }
  return result;
}

/** The tail of each handler's statement: count the event in its second ($3 is recorded_at), report the row count. */
function countSecond(t: ProjectionTables): string {
  const table = t.name(TURNSTILE_TABLES.perSecond);
  return `, bucket AS (
      INSERT INTO ${table} (second, events) SELECT date_trunc('second', $3::timestamptz), 1 FROM hit
      ON CONFLICT (second) DO UPDATE SET events = ${table}.events + 1)
    SELECT count(*)::int AS updated FROM hit`;
}

interface RowChange {
  id: string;
  ins: boolean;
  state: string | null;
  coins: number;
  turns: number;
  pushes: number;
  version: number;
  updated_at: Date;
  last_type: string;
}

const INSTALLED: Delta = { state: 'locked' };

/**
 * A whole batch in one statement: per turnstile, the net change of its events (folded in order,
 * as the per-event handlers would apply them), the totals and the per-second buckets.
 */
function applyBatch(version: number) {
  const v2 = version >= 2;
  return async (events: readonly RecordedEvent[], sql: ProjectionSql, t: ProjectionTables): Promise<void> => {
    const rows = new Map<string, RowChange>();
    const seconds = new Map<number, number>();
    let installed = 0;
    let coins = 0;
    let turns = 0;
    let pushes = 0;
    for (const e of events) {
      const delta = e.type === 'installed' ? INSTALLED : DELTAS[e.type];
      if (delta === undefined) continue;
      const { aggregateId } = parseStreamId(e.streamId);
      let row = rows.get(aggregateId);
      if (row === undefined) {
        row = {
          id: aggregateId,
          ins: false,
          state: null,
          coins: 0,
          turns: 0,
          pushes: 0,
          version: 0,
          updated_at: e.recordedAt,
          last_type: '',
        };
        rows.set(aggregateId, row);
      }
      if (delta === INSTALLED) {
        row.ins = true;
        installed += 1;
      }
      row.state = delta.state ?? row.state;
      row.coins += delta.coins ?? 0;
      row.turns += delta.turns ?? 0;
      row.pushes += delta.pushes ?? 0;
      row.version = e.version;
      row.updated_at = e.recordedAt;
      row.last_type = e.type;
      coins += delta.coins ?? 0;
      turns += delta.turns ?? 0;
      pushes += delta.pushes ?? 0;
      const second = Math.floor(e.recordedAt.getTime() / 1000);
      seconds.set(second, (seconds.get(second) ?? 0) + 1);
    }
    if (rows.size === 0) return;
    const table = t.name(TURNSTILE_TABLES.turnstiles);
    const perSecond = t.name(TURNSTILE_TABLES.perSecond);
    const res = await sql.query<{ updated: number; expected: number }>({
      // Prepared once per connection: the text only depends on the version.
      name: `ratchet_turnstile_batch_v${version}`,
      text: `WITH input AS (
         SELECT * FROM jsonb_to_recordset($1::jsonb)
           AS x(id text, ins boolean, state text, coins int, turns int, pushes int, version int, updated_at timestamptz, last_type text)),
       inserted AS (
         INSERT INTO ${table} (id, state, coins, turns, pushes, version, updated_at${v2 ? ', last_event_type' : ''})
         SELECT id, state, coins, turns, pushes, version, updated_at${v2 ? ', last_type' : ''} FROM input WHERE ins RETURNING 1),
       updated AS (
         UPDATE ${table} r SET state = COALESCE(i.state, r.state), coins = r.coins + i.coins, turns = r.turns + i.turns,
           pushes = r.pushes + i.pushes, version = i.version, updated_at = i.updated_at${v2 ? ', last_event_type = i.last_type' : ''}
         FROM input i WHERE NOT i.ins AND r.id = i.id RETURNING 1),
       totals AS (
         UPDATE ${t.name(TURNSTILE_TABLES.totals)}
         SET turnstiles = turnstiles + $2, coins = coins + $3, turns = turns + $4, pushes = pushes + $5),
       buckets AS (
         INSERT INTO ${perSecond} (second, events)
         SELECT to_timestamp(s), n FROM unnest($6::bigint[], $7::int[]) AS b(s, n)
         ON CONFLICT (second) DO UPDATE SET events = ${perSecond}.events + excluded.events)
       SELECT (SELECT count(*) FROM updated)::int AS updated, (SELECT count(*) FROM input WHERE NOT ins)::int AS expected`,
      values: [JSON.stringify([...rows.values()]), installed, coins, turns, pushes, [...seconds.keys()], [...seconds.values()]],
    });
    const r = res.rows[0];
    // A turnstile event without its row (not installed?) is a poison event: let the per-event path park it.
    if (r === undefined || r.updated !== r.expected) throw new Error('a turnstile in the batch has no row');
  };
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
    // Tests that wrap handlers to inject faults need every event to go through them.
    ...(wrap === undefined ? { applyBatch: applyBatch(version) } : {}),
  });
}
