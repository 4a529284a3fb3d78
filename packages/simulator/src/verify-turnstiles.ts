import { setTimeout as sleep } from 'node:timers/promises';
import type { PostgresEventStore } from '@ratchet/event-store-postgres';
import { Turnstile } from '@ratchet/turnstile';
import type pg from 'pg';

/** Options of {@link verifyTurnstiles}. */
export interface VerifyTurnstilesOptions {
  /** Pool on the database holding both the event store and the read model. */
  readonly pool: pg.Pool;
  /** The event store (Postgres, the truth). */
  readonly store: Pick<PostgresEventStore, 'readStream' | 'schema'>;
  /** How long to wait for the projector to catch up, in ms. Default 30,000. */
  readonly timeoutMs?: number;
  /** Schema of the read model's stable views. Default 'public'. */
  readonly viewSchema?: string;
  /** Streams read at once while folding. Default 16. */
  readonly concurrency?: number;
}

/** Counters summed over every turnstile. */
export interface TurnstileTotals {
  readonly turnstiles: number;
  readonly coins: number;
  readonly turns: number;
  readonly pushes: number;
}

/** One turnstile where the read model and the fold of its stream differ. */
export interface TurnstileMismatch {
  readonly id: string;
  readonly projected: unknown;
  readonly folded: unknown;
}

/** What {@link verifyTurnstiles} found. */
export interface TurnstileVerification {
  /** Every row equals the fold of its stream, every stream has its row, and the totals equal the sums. */
  readonly consistent: boolean;
  /** Whether the read model caught up with the store before the deadline. */
  readonly caughtUp: boolean;
  /** How long catching up took, in ms. */
  readonly waitedMs: number;
  /** The projection's totals row. */
  readonly projection: TurnstileTotals;
  /** The same sums over `Turnstile.replay` of every stream. */
  readonly store: TurnstileTotals;
  /** Up to ten differing turnstiles. */
  readonly mismatches: readonly TurnstileMismatch[];
  /** Turnstiles differing in all. */
  readonly mismatchCount: number;
}

interface Row {
  id: string;
  state: string;
  coins: number;
  turns: number;
  pushes: number;
  version: number;
}

const PREFIX = `${Turnstile.type}/`;

/**
 * Wait until the turnstile read model has applied every committed event (polling with a deadline),
 * then compare each row with `Turnstile.replay` of its stream in the event store and the totals
 * row with the sums of the folds.
 * @example
 * const report = await verifyTurnstiles({ pool, store });
 * if (!report.consistent) console.error(report.mismatches);
 */
export async function verifyTurnstiles(options: VerifyTurnstilesOptions): Promise<TurnstileVerification> {
  const { pool, store } = options;
  const views = `"${options.viewSchema ?? 'public'}"`;
  const events = `"${store.schema}"`;
  const started = Date.now();
  const deadline = started + (options.timeoutMs ?? 30_000);
  let caughtUp = false;
  for (;;) {
    try {
      // Streams whose row is missing or behind, and rows with no stream.
      const res = await pool.query<{ behind: string }>(
        `SELECT count(*) AS behind FROM ${events}.streams s
           FULL JOIN ${views}.turnstiles t ON t.id = substr(s.stream_id, $2)
          WHERE (s.stream_id IS NULL OR (s.stream_id LIKE $1 AND s.version > 0))
            AND (s.version IS DISTINCT FROM t.version)`,
        [`${PREFIX}%`, PREFIX.length + 1],
      );
      if (Number(res.rows[0]?.behind ?? 1) === 0) {
        caughtUp = true;
        break;
      }
    } catch (error) {
      // The stable views appear when the projector activates its first version.
      if ((error as { code?: string }).code !== '42P01') throw error;
    }
    if (Date.now() >= deadline) break;
    await sleep(100);
  }
  const waitedMs = Date.now() - started;

  const rows = await readRows(pool, views);
  const totalsRow = await pool
    .query<{ turnstiles: string; coins: string; turns: string; pushes: string }>(
      `SELECT turnstiles, coins, turns, pushes FROM ${views}.turnstile_totals`,
    )
    .then((r) => r.rows[0])
    .catch(() => undefined);
  const projection: TurnstileTotals = {
    turnstiles: Number(totalsRow?.turnstiles ?? 0),
    coins: Number(totalsRow?.coins ?? 0),
    turns: Number(totalsRow?.turns ?? 0),
    pushes: Number(totalsRow?.pushes ?? 0),
  };
  const streams = await pool.query<{ stream_id: string }>(
    `SELECT stream_id FROM ${events}.streams WHERE stream_id LIKE $1 AND version > 0 ORDER BY stream_id`,
    [`${PREFIX}%`],
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  const sums = { turnstiles: 0, coins: 0, turns: 0, pushes: 0 };
  const mismatches: TurnstileMismatch[] = [];
  let mismatchCount = 0;
  const ids = streams.rows.map((r) => r.stream_id.slice(PREFIX.length));
  const seen = new Set(ids);
  for (const row of rows) {
    if (!seen.has(row.id)) {
      mismatchCount++;
      if (mismatches.length < 10) mismatches.push({ id: row.id, projected: row, folded: null });
    }
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    for (;;) {
      const id = ids[next++];
      if (id === undefined) return; // all taken
      const state = Turnstile.replay(await store.readStream(`${PREFIX}${id}`));
      const value = String(state.snapshot.value);
      const ctx = state.snapshot.context;
      if (value !== 'not-installed') sums.turnstiles++;
      sums.coins += ctx.coins;
      sums.turns += ctx.turns;
      sums.pushes += ctx.pushes;
      const folded = { id, state: value, coins: ctx.coins, turns: ctx.turns, pushes: ctx.pushes, version: state.version };
      const projected = byId.get(id);
      const same =
        projected !== undefined &&
        projected.state === folded.state &&
        projected.coins === folded.coins &&
        projected.turns === folded.turns &&
        projected.pushes === folded.pushes &&
        projected.version === folded.version;
      if (!same) {
        mismatchCount++;
        if (mismatches.length < 10) mismatches.push({ id, projected: projected ?? null, folded });
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 16 }, worker));
  const totalsEqual =
    projection.turnstiles === sums.turnstiles &&
    projection.coins === sums.coins &&
    projection.turns === sums.turns &&
    projection.pushes === sums.pushes;
  return {
    consistent: caughtUp && mismatchCount === 0 && totalsEqual,
    caughtUp,
    waitedMs,
    projection,
    store: sums,
    mismatches,
    mismatchCount,
  };
}

async function readRows(pool: pg.Pool, views: string): Promise<Row[]> {
  try {
    const res = await pool.query<Row>(`SELECT id, state, coins, turns, pushes, version FROM ${views}.turnstiles`);
    return res.rows;
  } catch (error) {
    if ((error as { code?: string }).code === '42P01') return [];
    throw error;
  }
}
