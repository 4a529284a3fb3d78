import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseMasterKey } from './master-key.js';
import type { SubjectKeyRow, SubjectKeyStore } from './store-subject-keys.js';
import { keyBytes } from './subject-key.js';
import { SubjectKeys } from './subject-keys.js';

/** The key table in memory, counting reads; `gate` holds a read until released. */
function memoryStore(): Pick<SubjectKeyStore, 'readSubjectKeys' | 'ensureSubjectKeys' | 'forgetSubject'> & {
  rows: Map<string, SubjectKeyRow>;
  reads: number;
  gate?: Promise<void>;
} {
  const rows = new Map<string, SubjectKeyRow>();
  const store = {
    rows,
    reads: 0,
    gate: undefined as Promise<void> | undefined,
    async readSubjectKeys(subjects: readonly string[]) {
      store.reads += 1;
      const result = subjects.flatMap((s) => (rows.has(s) ? [rows.get(s)!] : []));
      await store.gate;
      return result;
    },
    async ensureSubjectKeys(subjects: readonly string[], keys: readonly Buffer[], wrappedBy: string) {
      subjects.forEach((s, i) => {
        if (!rows.has(s)) rows.set(s, { subject: s, key: keys[i]!, wrappedBy, forgottenAt: null });
      });
      return subjects.map((s) => rows.get(s)!);
    },
    async forgetSubject(subject: string) {
      const at = rows.get(subject)?.forgottenAt ?? new Date();
      rows.set(subject, { subject, key: null, wrappedBy: 'none', forgottenAt: at });
      return at;
    },
  };
  return store;
}

describe('SubjectKeys', () => {
  it('makes a key once per subject, wrapped by the master key, and reads it from memory within its time to live', async () => {
    const store = memoryStore();
    const master = parseMasterKey(randomBytes(32).toString('base64'));
    const keys = new SubjectKeys({ store, masterKey: master, ttlMs: 60_000 });
    const first = (await keys.get(['a'], true)).get('a')!;
    expect(store.rows.get('a')!.wrappedBy).toBe(master.id);
    expect(first.kind).toBe('key');
    const again = (await keys.get(['a'], false)).get('a')!;
    expect(again.kind === 'key' && first.kind === 'key' && keyBytes(again.key).equals(keyBytes(first.key))).toBe(true);
    expect(store.reads).toBe(0);
  });

  it('leaves out a subject the store knows nothing of when not creating', async () => {
    const keys = new SubjectKeys({ store: memoryStore() });
    expect((await keys.get(['nobody'], false)).has('nobody')).toBe(false);
  });

  it('forgets: the key is gone from the store and from memory, and a forgotten subject never gets a key again', async () => {
    const store = memoryStore();
    const keys = new SubjectKeys({ store, ttlMs: 60_000 });
    await keys.get(['a'], true);
    await keys.forget('a');
    expect(store.rows.get('a')!.key).toBeNull();
    expect((await keys.get(['a'], true)).get('a')).toMatchObject({ kind: 'forgotten' });
  });

  it('does not cache a key read while a forget was heard (the read raced it)', async () => {
    const store = memoryStore();
    const keys = new SubjectKeys({ store, ttlMs: 60_000 });
    await keys.get(['a'], true);
    keys.evict();
    let release!: () => void;
    store.gate = new Promise((r) => (release = r));
    const reading = keys.get(['a'], false);
    keys.evict('a'); // the forget notice arrives while the read is in flight
    await store.forgetSubject('a');
    release();
    expect((await reading).get('a')!.kind).toBe('key'); // what the read saw
    store.gate = undefined;
    expect((await keys.get(['a'], false)).get('a')!.kind).toBe('forgotten'); // read again, not cached
  });

  it('refuses a key wrapped by another master key, or by one when none is configured, with a typed error', async () => {
    const store = memoryStore();
    await new SubjectKeys({ store, masterKey: parseMasterKey(randomBytes(32).toString('base64')) }).get(['a'], true);
    await expect(new SubjectKeys({ store }).get(['a'], false)).rejects.toMatchObject({
      code: 'SENSITIVE_DATA_UNREADABLE',
      reason: 'wrong-master-key',
    });
    await expect(
      new SubjectKeys({ store, masterKey: parseMasterKey(randomBytes(32).toString('base64')) }).get(['a'], false),
    ).rejects.toMatchObject({
      reason: 'wrong-master-key',
    });
  });

  it('keeps at most maxKeys subjects, dropping the least recently used', async () => {
    const store = memoryStore();
    const keys = new SubjectKeys({ store, maxKeys: 2, ttlMs: 60_000 });
    await keys.get(['a', 'b', 'c'], true);
    store.reads = 0;
    await keys.get(['b', 'c'], false);
    expect(store.reads).toBe(0);
    await keys.get(['a'], false);
    expect(store.reads).toBe(1);
  });
});
