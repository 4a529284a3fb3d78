import type { LiveFunction } from './live-function.js';

/**
 * `duplicate_outcome(cmd, hash)`: the reply to a command id that already committed, its first
 * result with its events, or COMMAND_ID_REUSED when the request hash differs. Used by `append_one`.
 * Unchanged since migration 5: Postgres cannot rename a function's parameters in place, so they
 * keep their short names.
 */
export const duplicateOutcomeSql: LiveFunction = {
  signature: 'duplicate_outcome(text,text)',
  sql: (s) => `
CREATE OR REPLACE FUNCTION ${s}.duplicate_outcome(cmd text, hash text) RETURNS jsonb LANGUAGE sql STABLE AS $fn$
  SELECT CASE
    WHEN hash IS NOT NULL AND c.request_hash IS NOT NULL AND c.request_hash <> hash THEN
      jsonb_build_object('ok', false, 'code', 'COMMAND_ID_REUSED', 'commandId', cmd, 'streamId', c.stream_id)
    ELSE jsonb_build_object('ok', true, 'duplicate', true, 'streamId', c.stream_id,
      'fromVersion', c.result->'fromVersion', 'version', c.result->'version',
      'events', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'version', e.version, 'type', e.type, 'schemaVersion', e.schema_version,
                   'data', e.data, 'metadata', e.metadata, 'globalPosition', e.global_position,
                   'transactionId', e.transaction_id::text, 'recordedAt', e.recorded_at, 'epoch', e.epoch)
                 ORDER BY e.version), '[]'::jsonb)
                 FROM ${s}.events e
                 WHERE e.stream_id = c.stream_id
                   AND e.version BETWEEN (c.result->>'fromVersion')::int AND (c.result->>'version')::int))
  END
  FROM ${s}.processed_commands c WHERE c.command_id = cmd
$fn$;
`,
};
