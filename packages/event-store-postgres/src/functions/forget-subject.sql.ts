import type { LiveFunction } from './live-function.js';

/**
 * `forget_subject(subject)`: crypto-shredding. The subject's key is deleted and the forget recorded
 * (`forgotten_at`, kept: it is what tells a forgotten subject from a missing key, and it stops a key
 * from ever being made for it again); a subject never seen is recorded forgotten all the same.
 * Notifies channel `ratchet_forget` on commit (`{"schema", "subject"}`) so processes that cache keys
 * or hold decrypted state drop them at once. Returns when it was first forgotten. SECURITY DEFINER;
 * no deploy role gets it by default (docs/sensitive-data.md). Since migration 11.
 */
export const forgetSubjectSql: LiveFunction = {
  signature: 'forget_subject(text)',
  sql: (s) => `
CREATE OR REPLACE FUNCTION ${s}.forget_subject(forgotten text)
RETURNS timestamptz
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$
#variable_conflict use_column
DECLARE
  at timestamptz;
BEGIN
  IF forgotten IS NULL OR length(forgotten) NOT BETWEEN 1 AND 200 THEN
    RAISE EXCEPTION 'a subject is 1 to 200 characters' USING ERRCODE = '22023';
  END IF;
  INSERT INTO ${s}.subject_keys AS k (subject, key, wrapped_by, forgotten_at) VALUES (forgotten, NULL, 'none', now())
  ON CONFLICT ON CONSTRAINT subject_keys_pkey DO UPDATE SET key = NULL, forgotten_at = coalesce(k.forgotten_at, excluded.forgotten_at)
  RETURNING k.forgotten_at INTO at;
  PERFORM pg_notify('ratchet_forget', json_build_object('schema', '${s}', 'subject', forgotten)::text);
  RETURN at;
END
$fn$;
`,
};
