import type { LiveFunction } from './live-function.js';

/**
 * `refuse_event_change()`: the trigger function that keeps `events` append-only (its triggers refuse
 * UPDATE, DELETE and TRUNCATE, even for the table's owner). Unchanged since migration 1.
 */
export const refuseEventChangeSql: LiveFunction = {
  signature: 'refuse_event_change()',
  sql: (s) => `
CREATE OR REPLACE FUNCTION ${s}.refuse_event_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION 'ratchet events are append-only: % on %.% is refused', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = 'restrict_violation',
          HINT = 'Events are the source of truth; correct state by appending new events.';
END
$fn$;
`,
};
