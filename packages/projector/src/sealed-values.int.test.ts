// Sealed sensitive values through a projector (feed mode, a fresh database): handlers get them
// opened; with the wrong master key the projector neither crashes nor applies anything — the
// version says it is retrying, with SENSITIVE_DATA_UNREADABLE in its log — and with the right key
// it catches up; after a forget, a rebuilt version holds the placeholder.
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { FORGOTTEN, sensitive } from '@ratchet/core';
import { createPostgresEventStore, parseMasterKey, type PostgresEventStore } from '@ratchet/event-store-postgres';
import { createTestDatabase, type TestDatabase } from '@ratchet/testing';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineProjection } from './define-projection.js';
import { createProjector } from './projector.js';

const KEY = randomBytes(32).toString('base64');
const Member = {
  type: 'member',
  events: { joined: z.object({ name: sensitive(z.string(), { subject: (_d, where) => where.aggregateId }) }) },
};

let db: TestDatabase;
let pool: pg.Pool;
let store: PostgresEventStore;

const members = (version: number) =>
  defineProjection({
    name: 'members',
    version,
    tables: ['members'],
    aggregateTypes: ['member'],
    setup: async (sql, t) => {
      await sql.query(`CREATE TABLE IF NOT EXISTS ${t.name('members')} (id text PRIMARY KEY, name text NOT NULL)`);
    },
    handlers: {
      joined: async (e, sql, t) => {
        await sql.query(`INSERT INTO ${t.name('members')} VALUES ($1, $2)`, [e.streamId, (e.data as { name: string }).name]);
      },
    },
  });

beforeAll(async () => {
  db = await createTestDatabase('sealed_projection');
  pool = new pg.Pool({ connectionString: db.url, max: 8 });
  pool.on('error', () => undefined);
  store = createPostgresEventStore({ pool, masterKey: parseMasterKey(KEY) });
  await store.migrate();
  for (const [id, name] of [
    ['m-1', 'Ann'],
    ['m-2', 'Bo'],
  ]) {
    await store.append(`member/${id}`, 0, await store.cipher.sealEvents(Member, `member/${id}`, [{ type: 'joined', data: { name } }]));
  }
});

afterAll(async () => {
  await store?.close();
  await pool?.end();
  await db?.drop();
});

const names = async (version: number): Promise<Record<string, string>> =>
  Object.fromEntries(
    (
      await pool.query<{ id: string; name: string }>(`SELECT id, name FROM ratchet_projections.proj_members_v${version} ORDER BY id`)
    ).rows.map((r) => [r.id, r.name]),
  );

describe('a projector over sealed values', () => {
  it('does not crash or apply with the wrong master key, and catches up with the right one', async () => {
    const logged: string[] = [];
    const logger = pino(
      { level: 'error' },
      new Writable({
        write: (chunk, _enc, done) => {
          logged.push(String(chunk));
          done();
        },
      }),
    );
    const wrongStore = createPostgresEventStore({ pool, masterKey: parseMasterKey(randomBytes(32).toString('base64')) });
    const wrong = createProjector({ source: 'feed', store: wrongStore, pool, projections: [members(1)], logger });
    try {
      await wrong.start();
      await expect.poll(() => wrong.status()[0]?.phase, { timeout: 10_000 }).toBe('retrying');
      expect(logged.join('\n')).toContain('SENSITIVE_DATA_UNREADABLE');
      expect(logged.join('\n')).not.toContain(KEY);
      expect(await names(1)).toEqual({});
    } finally {
      await wrong.stop();
    }
    const right = createProjector({ source: 'feed', store, pool, projections: [members(1)] });
    try {
      await right.start();
      await expect.poll(() => names(1), { timeout: 10_000 }).toEqual({ 'member/m-1': 'Ann', 'member/m-2': 'Bo' });
    } finally {
      await right.stop();
    }
  });

  it('rebuilds with the placeholder after a forget', async () => {
    await store.cipher.forget('m-1');
    const rebuild = createProjector({ source: 'feed', store, pool, projections: [members(2)] });
    try {
      await rebuild.start();
      await rebuild.whenFollowing('members', 2);
      expect(await names(2)).toEqual({ 'member/m-1': FORGOTTEN, 'member/m-2': 'Bo' });
    } finally {
      await rebuild.stop();
    }
  });
});
