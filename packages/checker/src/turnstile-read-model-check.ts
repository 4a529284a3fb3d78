import { Turnstile } from '@ratchet/turnstile';
import type { ReadModelCheck } from './read-model-check.js';

/** Options of {@link turnstileReadModelCheck}. */
export interface TurnstileReadModelCheckOptions {
  /** The relation holding one row per turnstile. Default `turnstiles` (the projector's stable view). */
  readonly relation?: string;
  /** Streams replayed at once. Default 8. */
  readonly concurrency?: number;
}

interface Row {
  readonly id: string;
  readonly state: string;
  readonly coins: number;
  readonly turns: number;
  readonly pushes: number;
  readonly version: number;
}

/**
 * C7 for the turnstile demo: every `turnstile/*` stream replayed with `Turnstile.replay` must equal
 * its row of the `turnstiles` view of @ratchet/turnstile-projections (state, coins, turns, pushes,
 * version), and no row may lack a stream. Run it once the projector has caught up.
 * @example
 * await checkHistory({ history, databaseUrl, readModel: turnstileReadModelCheck() });
 */
export function turnstileReadModelCheck(options: TurnstileReadModelCheckOptions = {}): ReadModelCheck {
  const relation = options.relation ?? 'turnstiles';
  return async (store, pool) => {
    const rows = await pool.query<Row>(`SELECT id, state, coins, turns, pushes, version FROM ${relation}`);
    const streams = await pool.query<{ stream_id: string }>(
      `SELECT stream_id FROM "${store.schema}".streams WHERE stream_id LIKE 'turnstile/%' AND version > 0 ORDER BY stream_id`,
    );
    const byId = new Map(rows.rows.map((r) => [r.id, r]));
    const mismatches: string[] = [];
    const queue = streams.rows.map((r) => r.stream_id);
    const lane = async (): Promise<void> => {
      for (let streamId = queue.pop(); streamId !== undefined; streamId = queue.pop()) {
        const events = await store.readStream(streamId);
        const { snapshot } = Turnstile.replay(events);
        const id = streamId.slice('turnstile/'.length);
        const want = { state: String(snapshot.value), ...snapshot.context, version: events.at(-1)?.version ?? 0 };
        const row = byId.get(id);
        byId.delete(id);
        const got =
          row === undefined
            ? undefined
            : { state: row.state, coins: row.coins, turns: row.turns, pushes: row.pushes, version: row.version };
        if (got === undefined) mismatches.push(`turnstile ${id}: no row in ${relation}, the store folds to ${JSON.stringify(want)}`);
        else if (
          JSON.stringify(got) !==
          JSON.stringify({ state: want.state, coins: want.coins, turns: want.turns, pushes: want.pushes, version: want.version })
        ) {
          mismatches.push(`turnstile ${id}: ${relation} has ${JSON.stringify(got)}, the store folds to ${JSON.stringify(want)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: options.concurrency ?? 8 }, lane));
    for (const id of byId.keys()) mismatches.push(`turnstile ${id}: row in ${relation} without a stream`);
    return { checked: streams.rows.length + byId.size, mismatches };
  };
}
