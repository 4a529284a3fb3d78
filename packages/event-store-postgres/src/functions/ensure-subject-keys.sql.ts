import type { LiveFunction } from './live-function.js';

/**
 * `ensure_subject_keys(subjects, keys, wrapped_by)`: store the keys offered for the subjects that
 * have none (the caller generated and wrapped them), then return every named subject's row: the
 * key just stored, the one another writer stored first, or a forget — a forgotten subject never
 * gets a key again. Inserts in subject order, so concurrent calls cannot deadlock; a later
 * statement of the function sees a concurrent writer's committed row (read committed).
 * SECURITY DEFINER, for the worker role. Since migration 11.
 */
export const ensureSubjectKeysSql: LiveFunction = {
  signature: 'ensure_subject_keys(text[],bytea[],text)',
  sql: (s) => `
CREATE OR REPLACE FUNCTION ${s}.ensure_subject_keys(wanted text[], offered bytea[], offered_wrapped_by text)
RETURNS TABLE (subject text, key bytea, wrapped_by text, forgotten_at timestamptz)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_column
BEGIN
  INSERT INTO ${s}.subject_keys (subject, key, wrapped_by)
  SELECT w.subject, w.key, offered_wrapped_by FROM unnest(wanted, offered) AS w(subject, key) ORDER BY w.subject
  ON CONFLICT ON CONSTRAINT subject_keys_pkey DO NOTHING;
  RETURN QUERY SELECT k.subject, k.key, k.wrapped_by, k.forgotten_at FROM ${s}.subject_keys AS k WHERE k.subject = ANY (wanted);
END
$fn$;
`,
};
