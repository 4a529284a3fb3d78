import type { Migration } from './migration.js';

/**
 * Migration 9: durable timers. A timer is written in the same transaction as the events whose
 * decision started it (a statechart delay entered, a command scheduled) and deleted in the same
 * transaction as the events that cancel or fire it, so a timer exists exactly when its state was
 * committed. The partition's owner reads the due ones in due order (`timers_due_idx`).
 */
export const migration009: Migration = {
  version: 9,
  name: 'durable timers',
  sql: (s) => `
CREATE TABLE ${s}.timers (
  stream_id       text        NOT NULL,
  timer_id        text        NOT NULL CHECK (timer_id <> ''),
  partition       int         NOT NULL CHECK (partition >= 0),
  kind            text        NOT NULL CHECK (kind IN ('delay', 'command')),
  due_at          timestamptz NOT NULL,
  started_version int         NOT NULL CHECK (started_version >= 0),
  body            jsonb       NOT NULL,
  started_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (stream_id, timer_id)
);
CREATE INDEX timers_due_idx ON ${s}.timers (partition, due_at);

COMMENT ON TABLE ${s}.timers IS
  'Durable timers: statechart delays and scheduled commands, written with the events that started them.';
COMMENT ON COLUMN ${s}.timers.started_version IS
  'The stream version after the decision that started the timer; with stream_id and timer_id it names one start.';
`,
};
