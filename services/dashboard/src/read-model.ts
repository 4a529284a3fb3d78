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

/** A station cell: id, state (idle, visiting, escalated), calls, visits, escalations, turnstile of the last call. */
export type StationRow = readonly [
  id: string,
  state: string,
  calls: number,
  visits: number,
  escalations: number,
  turnstileId: string | null,
];

/** A process manager as the page shows it: its lag and its commands' answers, from its own tables. */
export interface ProcessView {
  readonly name: string;
  /** Events of its aggregate types not handled yet. */
  readonly lagEvents: number;
  readonly handled: number;
  readonly ok: number;
  readonly rejected: number;
  readonly failed: number;
  /** Streams held by a parked event. */
  readonly parked: number;
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
    return {
      turnstiles: Number(r?.turnstiles ?? 0),
      coins: Number(r?.coins ?? 0),
      turns: Number(r?.turns ?? 0),
      pushes: Number(r?.pushes ?? 0),
    };
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

  /** Every station of the stations read model, ordered by id; empty until the projector has made its view. */
  async stations(): Promise<StationRow[]> {
    const res = await this.#query<{
      id: string;
      state: string;
      calls: number;
      visits: number;
      escalations: number;
      turnstile_id: string | null;
    }>(`SELECT id, state, calls, visits, escalations, turnstile_id FROM ${this.#views}.stations ORDER BY id`);
    return res.map((r) => [r.id, r.state, r.calls, r.visits, r.escalations, r.turnstile_id] as const);
  }

  /**
   * The process managers' counters and lag, from their tables (ratchet_processes, written by the
   * runner in the projector): lag = the stream heads of their aggregate types minus their
   * positions, since a process handles every stream of its types from version 1. Empty before a
   * runner has run.
   */
  async processes(): Promise<ProcessView[]> {
    const res = await this.#query<{
      name: string;
      lag: string;
      handled: string;
      ok: string;
      rejected: string;
      failed: string;
      parked: string;
    }>(
      `SELECT p.name, p.events_handled AS handled, p.commands_ok AS ok, p.commands_rejected AS rejected, p.commands_failed AS failed,
              (SELECT coalesce(sum(s.version), 0) FROM ${this.#store}.streams s WHERE split_part(s.stream_id, '/', 1) = ANY(p.aggregate_types))
                - (SELECT coalesce(sum(x.last_version), 0) FROM ratchet_processes.positions x WHERE x.process = p.name) AS lag,
              (SELECT count(*) FROM ratchet_processes.parked k WHERE k.process = p.name) AS parked
         FROM ratchet_processes.processes p ORDER BY p.name`,
    );
    return res.map((r) => ({
      name: r.name,
      lagEvents: Math.max(0, Number(r.lag)),
      handled: Number(r.handled),
      ok: Number(r.ok),
      rejected: Number(r.rejected),
      failed: Number(r.failed),
      parked: Number(r.parked),
    }));
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
    return types.map((type) => ({
      type,
      instances: Number(found.get(type)?.instances ?? 0),
      events: Number(found.get(type)?.events ?? 0),
    }));
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
