import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { createPostgresEventStore } from '@ratchet/event-store-postgres';
import { PROJECTIONS_SCHEMA, readParkedEvents, type ParkedRecord } from '@ratchet/projector';
import { EVENTS_STREAM } from '@ratchet/transport-nats';
import type pg from 'pg';

const S = `"${PROJECTIONS_SCHEMA}"`;

/** One projection version as the projector's tables (and its JetStream consumer) describe it. */
export interface ProjectionVersionState {
  readonly name: string;
  readonly version: number;
  readonly status: 'building' | 'following';
  /** Whether readers see this version through the stable views. */
  readonly active: boolean;
  /** Events applied to the read model so far. */
  readonly eventsApplied: number;
  /** Events the rebuild read from the store feed so far. */
  readonly feedEvents: number;
  /**
   * Events not yet applied: for a following version, the consumer's pending and unacked messages;
   * for a building one, an upper bound from global positions. Null when unknown (no NATS, no consumer).
   */
  readonly lagEvents: number | null;
  readonly parked: number;
  readonly createdAt: string;
  readonly followingAt: string | null;
}

/** A parked event, as `projections parked` lists it. */
export type ParkedRow = Omit<ParkedRecord, 'parkedAt'> & { readonly parkedAt: string };

/** Whether the projector has created its schema in this database. */
export async function hasProjectionSchema(pool: pg.Pool): Promise<boolean> {
  const res = await pool.query<{ t: string | null }>(`SELECT to_regclass('${PROJECTIONS_SCHEMA}.versions')::text AS t`);
  return res.rows[0]?.t != null;
}

/** Every projection version with its phase, lag and parked count; [] before any projector ran. */
export async function readProjectionStates(pool: pg.Pool, nc: NatsConnection | undefined): Promise<ProjectionVersionState[]> {
  if (!(await hasProjectionSchema(pool))) return [];
  const res = await pool.query<{
    name: string;
    version: number;
    status: 'building' | 'following';
    active: boolean;
    events_applied: string;
    feed_events: string;
    feed_global_position: string;
    parked: string;
    created_at: Date;
    following_at: Date | null;
  }>(
    `SELECT v.name, v.version, v.status, (a.version IS NOT DISTINCT FROM v.version) AS active,
            v.events_applied, v.feed_events, v.feed_global_position, v.created_at, v.following_at,
            (SELECT count(*) FROM ${S}.parked p WHERE p.name = v.name AND p.version = v.version) AS parked
     FROM ${S}.versions v LEFT JOIN ${S}.active a ON a.name = v.name
     ORDER BY v.name, v.version`,
  );
  const maxPosition = res.rows.some((r) => r.status === 'building') ? await createPostgresEventStore({ pool }).feedMaxPosition() : 0;
  const jsm = nc === undefined ? undefined : await jetstreamManager(nc).catch(() => undefined);
  const states: ProjectionVersionState[] = [];
  for (const r of res.rows) {
    let lagEvents: number | null = null;
    if (r.status === 'building') lagEvents = Math.max(0, maxPosition - Number(r.feed_global_position));
    else if (jsm !== undefined) {
      const info = await jsm.consumers.info(EVENTS_STREAM, `proj_${r.name}_v${r.version}`).catch(() => undefined);
      if (info !== undefined) lagEvents = info.num_pending + info.num_ack_pending;
    }
    states.push({
      name: r.name,
      version: r.version,
      status: r.status,
      active: r.active,
      eventsApplied: Number(r.events_applied),
      feedEvents: Number(r.feed_events),
      lagEvents,
      parked: Number(r.parked),
      createdAt: r.created_at.toISOString(),
      followingAt: r.following_at?.toISOString() ?? null,
    });
  }
  return states;
}

/** Parked events, oldest first, of one projection or all. */
export async function readParked(pool: pg.Pool, name?: string): Promise<ParkedRow[]> {
  if (!(await hasProjectionSchema(pool))) return [];
  return (await readParkedEvents(pool, name)).map((r) => ({ ...r, parkedAt: r.parkedAt.toISOString() }));
}
