import type pg from 'pg';
import { PROJECTIONS_SCHEMA } from './define-projection.js';
import { inTransaction } from './in-transaction.js';

const S = `"${PROJECTIONS_SCHEMA}"`;

/**
 * The projector's own tables. Positions are the dedupe high-water marks (one row per projection
 * version and stream) and move in the same transaction as the read model, which makes them the
 * projector's checkpoint: JetStream's consumer position is only a hint.
 */
const DDL = `
CREATE SCHEMA IF NOT EXISTS ${S};
CREATE TABLE IF NOT EXISTS ${S}.active (
  name text PRIMARY KEY,
  version int NOT NULL,
  switched_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS ${S}.versions (
  name text NOT NULL,
  version int NOT NULL,
  status text NOT NULL CHECK (status IN ('building', 'following')),
  tables text[] NOT NULL,
  feed_transaction_id xid8 NOT NULL DEFAULT '0',
  feed_global_position bigint NOT NULL DEFAULT 0,
  feed_fence xid8,
  feed_events bigint NOT NULL DEFAULT 0,
  events_applied bigint NOT NULL DEFAULT 0,
  last_recorded_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  following_at timestamptz,
  PRIMARY KEY (name, version)
);
CREATE TABLE IF NOT EXISTS ${S}.positions (
  name text NOT NULL,
  version int NOT NULL,
  stream_id text NOT NULL,
  last_version int NOT NULL DEFAULT 0,
  parked_version int,
  PRIMARY KEY (name, version, stream_id)
);
CREATE TABLE IF NOT EXISTS ${S}.parked (
  name text NOT NULL,
  version int NOT NULL,
  stream_id text NOT NULL,
  event_version int NOT NULL,
  type text NOT NULL,
  error text NOT NULL,
  attempts int NOT NULL,
  parked_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (name, version, stream_id)
);
`;

/** Create the projector's schema and tables; idempotent, serialised across processes by an advisory lock. */
export async function migrateProjectionSchema(pool: pg.Pool): Promise<void> {
  await inTransaction(pool, async (client) => {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('ratchet_projections:migrate'))`);
    await client.query(DDL);
  });
}
