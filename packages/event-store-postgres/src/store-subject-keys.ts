import { ErrorCode, RatchetError } from '@ratchet/core';
import { assertStreamId } from './encode-append-request.js';
import { checkInt, checkText, invalid } from './store-input.js';
import type { StoreQuery } from './store-query.js';

/** One row of `subject_keys` as its functions return it: the stored key (wrapped, or raw), or the time of the forget. */
export interface SubjectKeyRow {
  readonly subject: string;
  /** The stored key; null once forgotten. */
  readonly key: Buffer | null;
  /** The master key id that wrapped it, or `none`. */
  readonly wrappedBy: string;
  readonly forgottenAt: Date | null;
}

/**
 * The store's side of sensitive data: subject keys through their SECURITY DEFINER functions, and
 * which subjects a stream's sealed values name. `EventCipher` builds on it; apps call
 * `store.cipher.forget(subject)` rather than `forgetSubject` (it also drops the key it cached).
 */
export interface SubjectKeyStore {
  /** The rows of the subjects named that have one (a key, or a forget). */
  readSubjectKeys(subjects: readonly string[]): Promise<SubjectKeyRow[]>;
  /** Store `keys[i]` for `subjects[i]` where the subject has no row yet, then every named subject's row. */
  ensureSubjectKeys(subjects: readonly string[], keys: readonly Buffer[], wrappedBy: string): Promise<SubjectKeyRow[]>;
  /** Delete the subject's key and record the forget (idempotent); resolves with when it was first forgotten. */
  forgetSubject(subject: string): Promise<Date>;
  /** The distinct subjects of the sealed values in a stream's events up to `toVersion`, sorted. */
  subjectsOfStream(streamId: string, toVersion: number): Promise<string[]>;
}

interface KeyRow {
  subject: string;
  key: Buffer | null;
  wrapped_by: string;
  forgotten_at: Date | null;
}

const rowOf = (r: KeyRow): SubjectKeyRow => ({ subject: r.subject, key: r.key, wrappedBy: r.wrapped_by, forgottenAt: r.forgotten_at });

/** A subject id: 1 to 200 characters without NUL. */
export function checkSubject(subject: unknown): string {
  return checkText(subject, 'subject', 200);
}

/** The subject-key methods of a store in schema `s` (quoted). */
export function subjectKeyStore(query: StoreQuery, s: string): SubjectKeyStore {
  return {
    async readSubjectKeys(subjects) {
      subjects.forEach(checkSubject);
      if (subjects.length === 0) return [];
      const res = await query<KeyRow>(
        'readSubjectKeys',
        `SELECT subject, key, wrapped_by, forgotten_at FROM ${s}.read_subject_keys($1::text[])`,
        [subjects],
      );
      return res.rows.map(rowOf);
    },

    async ensureSubjectKeys(subjects, keys, wrappedBy) {
      subjects.forEach(checkSubject);
      checkText(wrappedBy, 'wrappedBy');
      if (keys.length !== subjects.length) invalid('one key per subject', [{ path: ['keys'], message: 'must be as many as the subjects' }]);
      if (subjects.length === 0) return [];
      const res = await query<KeyRow>(
        'ensureSubjectKeys',
        `SELECT subject, key, wrapped_by, forgotten_at FROM ${s}.ensure_subject_keys($1::text[], $2::bytea[], $3)`,
        [subjects, keys, wrappedBy],
      );
      return res.rows.map(rowOf);
    },

    async forgetSubject(subject) {
      checkSubject(subject);
      const res = await query<{ at: Date }>('forgetSubject', `SELECT ${s}.forget_subject($1) AS at`, [subject]);
      const at = res.rows[0]?.at;
      if (at === undefined) throw new RatchetError(ErrorCode.INTERNAL, 'forget_subject returned no row');
      return at;
    },

    async subjectsOfStream(streamId, toVersion) {
      assertStreamId(streamId);
      checkInt(toVersion, 'toVersion', 0);
      const res = await query<{ subject: string }>(
        'subjectsOfStream',
        `SELECT DISTINCT x.subject #>> '{}' AS subject
         FROM ${s}.events AS e, jsonb_path_query(e.data, 'strict $.**."$sealed".subject') AS x(subject)
         WHERE e.stream_id = $1 AND e.version <= $2 ORDER BY 1`,
        [streamId, toVersion],
      );
      // Code-unit order, whatever the database's collation: snapshot keys are derived in this order.
      return res.rows.map((r) => r.subject).sort();
    },
  };
}
