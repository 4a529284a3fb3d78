import type { Migration } from './migration.js';

/**
 * Migration 1: the event store's tables. `events` is append-only (triggers refuse UPDATE, DELETE
 * and TRUNCATE); `streams` holds each stream's current version, whose row lock serialises its
 * writers; `processed_commands` is the durable command dedupe; `snapshots`; `partitions` holds
 * the fencing epochs. The stream id limit is STREAM_ID_MAX_LENGTH as it was when this shipped (200).
 */
export const migration001: Migration = {
  version: 1,
  name: 'event store tables',
  sql: (s) => `
CREATE TABLE ${s}.events (
  stream_id       text        NOT NULL CHECK (char_length(stream_id) BETWEEN 1 AND 200),
  version         int         NOT NULL CHECK (version >= 1),
  type            text        NOT NULL CHECK (type <> ''),
  schema_version  int         NOT NULL DEFAULT 1,
  data            jsonb       NOT NULL,
  metadata        jsonb       NOT NULL DEFAULT '{}'::jsonb,
  global_position bigint      GENERATED ALWAYS AS IDENTITY,
  transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
  recorded_at     timestamptz NOT NULL DEFAULT now(),
  epoch           bigint      NULL,
  partition       int         NULL,
  PRIMARY KEY (stream_id, version)
);
-- The feed reads in commit order: (transaction_id, global_position) below the snapshot's xmin.
CREATE INDEX events_feed_idx ON ${s}.events (transaction_id, global_position);

-- Current version per stream; its row lock serialises the writers of one stream.
CREATE TABLE ${s}.streams (
  stream_id text PRIMARY KEY CHECK (char_length(stream_id) BETWEEN 1 AND 200),
  version   int  NOT NULL CHECK (version >= 0)
);

-- Durable command dedupe, written in the same transaction as the command's events.
CREATE TABLE ${s}.processed_commands (
  command_id   text        PRIMARY KEY,
  stream_id    text        NOT NULL,
  request_hash text        NULL,
  result       jsonb       NULL,
  recorded_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE ${s}.snapshots (
  stream_id       text        PRIMARY KEY,
  version         int         NOT NULL CHECK (version >= 1),
  machine_version text        NOT NULL,
  state           jsonb       NOT NULL,
  taken_at        timestamptz NOT NULL DEFAULT now()
);

-- Fencing epochs: an append holding an older epoch commits nothing for the partition.
CREATE TABLE ${s}.partitions (
  partition  int         PRIMARY KEY CHECK (partition >= 0),
  epoch      bigint      NOT NULL DEFAULT 0,
  owner      text        NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE FUNCTION ${s}.refuse_event_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION 'ratchet events are append-only: % on %.% is refused', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = 'restrict_violation',
          HINT = 'Events are the source of truth; correct state by appending new events.';
END
$fn$;
CREATE TRIGGER events_refuse_update_delete BEFORE UPDATE OR DELETE ON ${s}.events
  FOR EACH ROW EXECUTE FUNCTION ${s}.refuse_event_change();
CREATE TRIGGER events_refuse_truncate BEFORE TRUNCATE ON ${s}.events
  FOR EACH STATEMENT EXECUTE FUNCTION ${s}.refuse_event_change();
`,
};
