// Subject keys through their SQL functions, on a fresh database: made once per subject whoever
// races for it, forgotten for good (a forget is recorded and no key is ever made again), heard by
// other processes through LISTEN, and the subjects a stream's sealed values name.
import { randomBytes } from 'node:crypto';
import { FORGOTTEN } from '@ratchet/core';
import { createTestDatabase, type TestDatabase } from '@ratchet/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresEventStore, type PostgresEventStore } from './index.js';
import { sealValue } from './sealed-value.js';

let db: TestDatabase;
let store: PostgresEventStore;
let other: PostgresEventStore;

beforeAll(async () => {
  db = await createTestDatabase('subject_keys');
  store = createPostgresEventStore({ connectionString: db.url, poolSize: 4 });
  await store.migrate();
  other = createPostgresEventStore({ connectionString: db.url, poolSize: 4 });
});

afterAll(async () => {
  await store?.close();
  await other?.close();
  await db?.drop();
});

const key = (): Buffer => randomBytes(32);

describe('ensure_subject_keys', () => {
  it('stores the first key offered for a subject; later and concurrent offers get that one', async () => {
    const offers = Array.from({ length: 8 }, key);
    const rows = await Promise.all(offers.map((k) => store.ensureSubjectKeys(['race-1'], [k], 'none')));
    const stored = rows.map((r) => r[0]!.key!.toString('hex'));
    expect(new Set(stored).size).toBe(1);
    expect(offers.map((k) => k.toString('hex'))).toContain(stored[0]);
    expect(await store.readSubjectKeys(['race-1', 'nobody'])).toEqual([
      { subject: 'race-1', key: rows[0]![0]!.key, wrappedBy: 'none', forgottenAt: null },
    ]);
  });

  it('never makes a key for a forgotten subject again', async () => {
    await store.ensureSubjectKeys(['gone-1'], [key()], 'none');
    const at = await store.forgetSubject('gone-1');
    const [row] = await store.ensureSubjectKeys(['gone-1'], [key()], 'none');
    expect(row).toEqual({ subject: 'gone-1', key: null, wrappedBy: 'none', forgottenAt: at });
    expect(await store.forgetSubject('gone-1')).toEqual(at); // idempotent: the first forget's time
  });

  it('records the forget of a subject it never saw', async () => {
    await store.forgetSubject('never-seen');
    expect(await store.readSubjectKeys(['never-seen'])).toMatchObject([{ key: null, forgottenAt: expect.any(Date) }]);
  });
});

describe('the cipher over the store', () => {
  it('opens a sealed value with its key, and gives the placeholder once the subject is forgotten — in another process too', async () => {
    const [row] = await store.ensureSubjectKeys(['reader-1'], [key()], 'none');
    const sealed = { streamId: 'x/1', data: { email: sealValue('reader-1', row!.key!, 'ben@sequent.io', FORGOTTEN), n: 1 } };
    expect((await other.cipher.openEvents([sealed]))[0]!.data).toEqual({ email: 'ben@sequent.io', n: 1 });

    const heard: Array<string | undefined> = [];
    const unsubscribe = other.cipher.onForget((subject) => heard.push(subject));
    await other.cipher.openEvents([sealed]); // a key needed: the LISTEN starts
    await expect.poll(() => heard.length, { timeout: 5_000 }).toBeGreaterThan(0); // it took effect: a reset
    await store.cipher.forget('reader-1');
    await expect.poll(() => heard.includes('reader-1'), { timeout: 5_000 }).toBe(true);
    // The other process's cached key was dropped when it heard the forget, well within its time to live.
    expect((await other.cipher.openEvents([sealed]))[0]!.data).toEqual({ email: FORGOTTEN, n: 1 });
    await unsubscribe();
  });

  it('refuses a sealed value whose subject has no key and no forget with a typed error', async () => {
    const sealed = { data: { email: sealValue('lost-1', key(), 'ben@sequent.io', FORGOTTEN) } };
    await expect(store.cipher.openEvents([sealed])).rejects.toMatchObject({
      code: 'SENSITIVE_DATA_UNREADABLE',
      reason: 'missing-key',
      subject: 'lost-1',
    });
  });

  it('leaves events without sealed values as they are', async () => {
    const events = [{ data: {} }, { data: { a: [1, { b: 'c' }] } }, { data: null }];
    const opened = await store.cipher.openEvents(events);
    for (const [i, e] of opened.entries()) expect(e).toBe(events[i]);
  });
});

describe('subjectsOfStream', () => {
  it('names the distinct subjects of the sealed values in a stream up to a version', async () => {
    const [a, b] = await store.ensureSubjectKeys(['s-a', 's-b'], [key(), key()], 'none');
    const seal = (subject: string, k: Buffer) => sealValue(subject, k, 'v', FORGOTTEN);
    await store.append('thing/1', 0, [
      { type: 'plain', data: {} },
      { type: 'one', data: { x: seal('s-b', b!.key!) } },
      { type: 'two', data: { list: [seal('s-a', a!.key!), seal('s-b', b!.key!)] } },
    ]);
    expect(await store.subjectsOfStream('thing/1', 1)).toEqual([]);
    expect(await store.subjectsOfStream('thing/1', 2)).toEqual(['s-b']);
    expect(await store.subjectsOfStream('thing/1', 3)).toEqual(['s-a', 's-b']);
  });
});
