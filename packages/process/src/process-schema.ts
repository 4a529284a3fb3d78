import type pg from 'pg';

/** The schema holding every process's positions, instance states, command log and parked events. */
export const PROCESSES_SCHEMA = 'ratchet_processes';

const S = `"${PROCESSES_SCHEMA}"`;

/**
 * A process's own tables. `positions` (one row per process and source stream) is its checkpoint and
 * dedupe, moved in the same transaction as `instances` (the states) and `commands` (every command
 * of a handled event with its answer): that transaction commits only after the commands are
 * answered. `answers` journals, the moment they arrive, the definite answers the event store does
 * not keep (rejections and failures write nothing there), so a re-run of the event gets the same
 * answers; rows go once their event is checkpointed.
 */
const DDL = `
CREATE SCHEMA IF NOT EXISTS ${S};
CREATE TABLE IF NOT EXISTS ${S}.processes (
  name text PRIMARY KEY,
  aggregate_types text[] NOT NULL,
  events_handled bigint NOT NULL DEFAULT 0,
  commands_ok bigint NOT NULL DEFAULT 0,
  commands_rejected bigint NOT NULL DEFAULT 0,
  commands_failed bigint NOT NULL DEFAULT 0,
  last_recorded_at timestamptz,
  feed_transaction_id xid8 NOT NULL DEFAULT '0',
  feed_global_position bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz
);
CREATE TABLE IF NOT EXISTS ${S}.positions (
  process text NOT NULL,
  stream_id text NOT NULL,
  last_version int NOT NULL DEFAULT 0,
  parked_version int,
  PRIMARY KEY (process, stream_id)
);
CREATE TABLE IF NOT EXISTS ${S}.instances (
  process text NOT NULL,
  instance text NOT NULL,
  state jsonb NOT NULL,
  version bigint NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (process, instance)
);
CREATE TABLE IF NOT EXISTS ${S}.commands (
  process text NOT NULL,
  command_id text NOT NULL,
  trigger_stream text NOT NULL,
  trigger_version int NOT NULL,
  instance text NOT NULL,
  step text NOT NULL,
  round int NOT NULL,
  target_stream text NOT NULL,
  command jsonb NOT NULL,
  outcome text NOT NULL CHECK (outcome IN ('ok', 'rejected', 'failed')),
  target_version int,
  reason text,
  code text,
  answered_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (process, command_id)
);
CREATE INDEX IF NOT EXISTS commands_by_trigger ON ${S}.commands (process, trigger_stream, trigger_version);
CREATE TABLE IF NOT EXISTS ${S}.answers (
  process text NOT NULL,
  command_id text NOT NULL,
  trigger_stream text NOT NULL,
  trigger_version int NOT NULL,
  outcome text NOT NULL CHECK (outcome IN ('rejected', 'failed')),
  reason text NOT NULL,
  code text,
  target_version int,
  answered_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (process, command_id)
);
CREATE INDEX IF NOT EXISTS answers_by_trigger ON ${S}.answers (process, trigger_stream, trigger_version);
CREATE TABLE IF NOT EXISTS ${S}.parked (
  process text NOT NULL,
  stream_id text NOT NULL,
  event_version int NOT NULL,
  type text NOT NULL,
  reason text NOT NULL,
  error text NOT NULL,
  attempts int NOT NULL,
  parked_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (process, stream_id)
);
`;

/** Create the processes' schema and tables; idempotent, serialised across processes by an advisory lock. */
export async function migrateProcessSchema(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('ratchet_processes:migrate'))`);
    await client.query(DDL);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Register a process (its row of counters and feed checkpoint), keeping an existing row. */
export async function registerProcess(pool: pg.Pool, name: string, aggregateTypes: readonly string[]): Promise<void> {
  await pool.query(
    `INSERT INTO ${S}.processes (name, aggregate_types) VALUES ($1, $2)
     ON CONFLICT (name) DO UPDATE SET aggregate_types = excluded.aggregate_types`,
    [name, aggregateTypes],
  );
}
