import type { LiveFunction } from './live-function.js';

/**
 * `read_subject_keys(subjects)`: the stored (wrapped) keys of the subjects named, and which of
 * them were forgotten — the only way the worker and projector roles read `subject_keys`
 * (SECURITY DEFINER; the table itself grants them nothing). Subjects without a row are left out.
 * Since migration 11.
 */
export const readSubjectKeysSql: LiveFunction = {
  signature: 'read_subject_keys(text[])',
  sql: (s) => `
CREATE OR REPLACE FUNCTION ${s}.read_subject_keys(wanted text[])
RETURNS TABLE (subject text, key bytea, wrapped_by text, forgotten_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
  SELECT k.subject, k.key, k.wrapped_by, k.forgotten_at FROM ${s}.subject_keys AS k WHERE k.subject = ANY (wanted);
$fn$;
`,
};
