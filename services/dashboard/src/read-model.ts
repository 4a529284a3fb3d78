import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';

/** A turnstile cell: id, state, version, coins, turns, pushes. */
export type TurnstileRow = readonly [id: string, state: string, version: number, coins: number, turns: number, pushes: number];

/** Totals of the read model. */
export interface Totals {
  readonly turnstiles: number;
  readonly coins: number;
  readonly turns: number;
  readonly pushes: number;
}

/** One aggregate type's counters from the store: instances (streams) and events. */
export interface AggregateCount {
  readonly type: string;
  readonly instances: number;
  readonly events: number;
}

const UNDEFINED_TABLE = '42P01';

/** Reads the turnstile read model (the projector's stable views) and the store's stream heads (for any app). */
export class ReadModel {
  readonly #pool: pg.Pool;
  readonly #views: string;
  readonly #store: string;

  constructor(pool: pg.Pool, viewSchema: string, storeSchema: string) {
    this.#pool = pool;
    this.#views = `"${viewSchema}"`;
    this.#store = `"${storeSchema}"`;
  }

  /** Every turnstile row, ordered by id; empty until the projector has made its views. */
  async rows(): Promise<TurnstileRow[]> {
    const res = await this.#query<{ id: string; state: string; version: number; coins: number; turns: number; pushes: number }>(
      `SELECT id, state, version, coins, turns, pushes FROM ${this.#views}.turnstiles ORDER BY id`,
    );
    return res.map((r) => [r.id, r.state, r.version, r.coins, r.turns, r.pushes] as const);
  }

  /** One turnstile's row, or undefined. */
  async row(id: string): Promise<TurnstileRow | undefined> {
    const res = await this.#query<{ id: string; state: string; version: number; coins: number; turns: number; pushes: number }>(
      `SELECT id, state, version, coins, turns, pushes FROM ${this.#views}.turnstiles WHERE id = $1`,
      [id],
    );
    const r = res[0];
    return r === undefined ? undefined : [r.id, r.state, r.version, r.coins, r.turns, r.pushes];
  }

  async totals(): Promise<Totals> {
    const res = await this.#query<{ turnstiles: string; coins: string; turns: string; pushes: string }>(
      `SELECT turnstiles, coins, turns, pushes FROM ${this.#views}.turnstile_totals`,
    );
    const r = res[0];
    return { turnstiles: Number(r?.turnstiles ?? 0), coins: Number(r?.coins ?? 0), turns: Number(r?.turns ?? 0), pushes: Number(r?.pushes ?? 0) };
  }

  /** Projected events per second of commit time, the last `seconds` seconds: [epoch ms, events]. */
  async eventsPerSecond(seconds = 60): Promise<Array<[number, number]>> {
    const res = await this.#query<{ at: string; events: number }>(
      `SELECT (extract(epoch FROM second) * 1000)::bigint AS at, events FROM ${this.#views}.turnstile_commands_per_second
        WHERE second > now() - make_interval(secs => $1) ORDER BY second`,
      [seconds],
    );
    return res.map((r) => [Number(r.at), r.events]);
  }

  /** Projection lag: events committed to turnstile streams that the read model has not applied yet. */
  async lagEvents(): Promise<number | null> {
    const res = await this.#query<{ lag: string | null }>(
      `SELECT (SELECT coalesce(sum(version), 0) FROM ${this.#store}.streams WHERE stream_id LIKE 'turnstile/%')
            - (SELECT coalesce(sum(version), 0) FROM ${this.#views}.turnstiles) AS lag`,
    );
    return res[0]?.lag === undefined || res[0].lag === null ? null : Number(res[0].lag);
  }

  /**
   * Instances and events per aggregate type, from the store's stream heads (any app: no read model
   * needed). Every type asked for is listed, with zeros before its first event.
   */
  async aggregateCounts(types: readonly string[]): Promise<AggregateCount[]> {
    const res = await this.#query<{ type: string; instances: string; events: string }>(
      `SELECT split_part(stream_id, '/', 1) AS type, count(*) AS instances, coalesce(sum(version), 0) AS events
         FROM ${this.#store}.streams WHERE split_part(stream_id, '/', 1) = ANY($1::text[]) GROUP BY 1`,
      [types],
    );
    const found = new Map(res.map((r) => [r.type, r]));
    return types.map((type) => ({ type, instances: Number(found.get(type)?.instances ?? 0), events: Number(found.get(type)?.events ?? 0) }));
  }

  /**
   * Read-your-writes: resolve with the row once the read model shows `id` at `version` or later;
   * undefined after `timeoutMs`.
   */
  async waitForVersion(id: string, version: number, timeoutMs = 5_000): Promise<TurnstileRow | undefined> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const row = await this.row(id);
      if (row !== undefined && row[2] >= version) return row;
      if (Date.now() >= deadline) return undefined;
      await sleep(20);
    }
  }

  async #query<R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
    try {
      return (await this.#pool.query<R>(sql, params)).rows;
    } catch (error) {
      // The views appear when the projector activates its first version.
      if ((error as { code?: string }).code === UNDEFINED_TABLE) return [];
      throw error;
    }
  }
}
