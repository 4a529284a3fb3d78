import { randomBytes } from 'node:crypto';
import { ErrorCode, RatchetError } from '@ratchet/core';
import { UNWRAPPED, type MasterKey } from './master-key.js';
import { SensitiveDataError } from './sensitive-data-error.js';
import type { SubjectKeyRow, SubjectKeyStore } from './store-subject-keys.js';
import { SubjectKey } from './subject-key.js';

/** A subject as the cipher knows it: its key, or forgotten (and since when). */
export type SubjectKeyState = { readonly kind: 'key'; readonly key: SubjectKey } | { readonly kind: 'forgotten'; readonly at: Date };

/** Options of {@link SubjectKeys}. */
export interface SubjectKeysOptions {
  readonly store: Pick<SubjectKeyStore, 'readSubjectKeys' | 'ensureSubjectKeys' | 'forgetSubject'>;
  /** Wraps new keys and unwraps stored ones; without it keys are stored raw (`wrapped_by = 'none'`). Default none. */
  readonly masterKey?: MasterKey;
  /** How long a key is used from memory before it is read again (ms): the longest a forget elsewhere goes unnoticed without LISTEN. Default 10,000. */
  readonly ttlMs?: number;
  /** Most subjects kept in memory (least recently used dropped). Default 10,000. */
  readonly maxKeys?: number;
}

interface Cached {
  readonly state: SubjectKeyState;
  readonly expires: number;
}

/**
 * The subject keys a process uses, read through `read_subject_keys` / `ensure_subject_keys` and
 * kept in a small LRU with a time to live. A forget heard (or done here) evicts at once; a read
 * that was in flight across a forget is used once but not cached, so a forgotten key never
 * outlives the forget in the cache.
 */
export class SubjectKeys {
  readonly #store: SubjectKeysOptions['store'];
  readonly #masterKey: MasterKey | undefined;
  readonly #ttlMs: number;
  readonly #maxKeys: number;
  readonly #cache = new Map<string, Cached>();
  #generation = 0;

  constructor(options: SubjectKeysOptions) {
    this.#store = options.store;
    this.#masterKey = options.masterKey;
    this.#ttlMs = options.ttlMs ?? 10_000;
    this.#maxKeys = options.maxKeys ?? 10_000;
  }

  /** The id new keys are wrapped by (`none` without a master key). */
  get wrappedBy(): string {
    return this.#masterKey?.id ?? UNWRAPPED;
  }

  /**
   * The state of each subject named. With `create`, a subject without a key gets one (unless it was
   * forgotten); without it, a subject the store knows nothing of is left out of the map.
   */
  async get(subjects: Iterable<string>, create: boolean): Promise<Map<string, SubjectKeyState>> {
    const now = Date.now();
    const out = new Map<string, SubjectKeyState>();
    const missing: string[] = [];
    for (const subject of new Set(subjects)) {
      const hit = this.#cache.get(subject);
      if (hit !== undefined && hit.expires > now) {
        this.#cache.delete(subject);
        this.#cache.set(subject, hit);
        out.set(subject, hit.state);
      } else {
        missing.push(subject);
      }
    }
    if (missing.length === 0) return out;
    missing.sort();
    const generation = this.#generation;
    const rows = create ? await this.#ensure(missing) : await this.#store.readSubjectKeys(missing);
    const cacheable = generation === this.#generation;
    for (const row of rows) {
      const state = this.#stateOf(row);
      out.set(row.subject, state);
      if (cacheable) this.#remember(row.subject, state, now);
    }
    if (create && missing.some((s) => !out.has(s))) {
      throw new RatchetError(ErrorCode.INTERNAL, 'ensure_subject_keys returned no row for a subject it was given');
    }
    return out;
  }

  /** Forget a subject: delete its key in the store (recording when) and drop it here. */
  async forget(subject: string): Promise<Date> {
    const at = await this.#store.forgetSubject(subject);
    this.evict(subject);
    return at;
  }

  /** Drop a subject's cached key (a forget was heard), or every cached key (forgets may have been missed). */
  evict(subject?: string): void {
    this.#generation += 1;
    if (subject === undefined) this.#cache.clear();
    else this.#cache.delete(subject);
  }

  async #ensure(subjects: readonly string[]): Promise<SubjectKeyRow[]> {
    const offered = subjects.map((subject) => {
      const key = randomBytes(32);
      return this.#masterKey === undefined ? key : this.#masterKey.wrap(subject, key);
    });
    return this.#store.ensureSubjectKeys(subjects, offered, this.wrappedBy);
  }

  #stateOf(row: SubjectKeyRow): SubjectKeyState {
    if (row.key === null) return { kind: 'forgotten', at: row.forgottenAt ?? new Date(0) };
    if (row.wrappedBy === UNWRAPPED) return { kind: 'key', key: new SubjectKey(row.subject, row.key) };
    if (this.#masterKey === undefined) {
      throw new SensitiveDataError(
        'wrong-master-key',
        `the key of subject "${row.subject}" is wrapped by ${row.wrappedBy} and no master key is configured (RATCHET_MASTER_KEY)`,
        row.subject,
      );
    }
    if (row.wrappedBy !== this.#masterKey.id) {
      throw new SensitiveDataError(
        'wrong-master-key',
        `the key of subject "${row.subject}" is wrapped by ${row.wrappedBy}, not by the configured ${this.#masterKey.id}`,
        row.subject,
      );
    }
    return { kind: 'key', key: new SubjectKey(row.subject, this.#masterKey.unwrap(row.subject, row.key)) };
  }

  #remember(subject: string, state: SubjectKeyState, now: number): void {
    // A forget is final: it may stay as long as room allows. A key is read again after its time to live.
    this.#cache.delete(subject);
    this.#cache.set(subject, { state, expires: state.kind === 'forgotten' ? Number.POSITIVE_INFINITY : now + this.#ttlMs });
    while (this.#cache.size > this.#maxKeys) {
      const oldest = this.#cache.keys().next().value;
      if (oldest === undefined) break;
      this.#cache.delete(oldest);
    }
  }
}
