import type { Migration } from './migration.js';

/**
 * Migration 3: where each feed follower (the outbox relay, a rebuild) has got to, and leases that
 * give a named job (the outbox relay) one holder at a time.
 */
export const migration003: Migration = {
  version: 3,
  name: 'feed checkpoints and leases',
  sql: (s) => `
-- Where a feed follower (the outbox relay, a rebuild) has got to, in commit order.
CREATE TABLE ${s}.checkpoints (
  name            text        PRIMARY KEY,
  transaction_id  xid8        NOT NULL,
  global_position bigint      NOT NULL,
  updated_at      timestamptz NOT NULL DEFAULT now()
);

-- Leases: one holder at a time for a named job (the outbox relay), renewed before it expires.
CREATE TABLE ${s}.leases (
  name       text        PRIMARY KEY,
  holder     text        NOT NULL,
  expires_at timestamptz NOT NULL
);
`,
};
