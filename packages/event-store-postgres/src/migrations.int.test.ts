import { ErrorCode, ValidationError } from '@ratchet/core';
import { createTestDatabase } from '@ratchet/testing';
import type { TestDatabase } from '@ratchet/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresEventStore } from './index.js';
import { MIGRATIONS } from './migrations/all-migrations.js';

let db: TestDatabase;
let admin: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase();
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
});

afterAll(async () => {
  await admin?.end();
  await db?.drop();
});

describe('migrate', () => {
  it('is idempotent, sequentially and when four processes migrate at once', async () => {
    const stores = Array.from({ length: 4 }, () => createPostgresEventStore({ connectionString: db.url, schema: 'mig', poolSize: 1 }));
    try {
      const reports = await Promise.all(stores.map((s) => s.migrate()));
      const latest = MIGRATIONS[MIGRATIONS.length - 1]!.version;
      // Exactly one of them applied every migration; the others found nothing to do.
      expect(reports.map((r) => r.applied.length).sort()).toEqual([0, 0, 0, MIGRATIONS.length]);
      expect(reports.every((r) => r.version === latest)).toBe(true);
      const again = await stores[0]!.migrate();
      expect(again).toEqual({ applied: [], version: latest });
      const rows = await admin.query(`SELECT version, name FROM mig.schema_migrations ORDER BY version`);
      expect(rows.rows).toEqual(MIGRATIONS.map((m) => ({ version: m.version, name: m.name })));
      await stores[0]!.append('m-1', 0, [{ type: 'ok', data: {} }]);
      expect(await stores[1]!.streamVersion('m-1')).toBe(1);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });

  it('refuses a schema name that is not a plain identifier', () => {
    for (const schema of ['Ratchet', 'a-b', 'x"; drop table y; --', '', '1abc']) {
      expect(() => createPostgresEventStore({ connectionString: db.url, schema })).toThrow(ValidationError);
    }
  });
});

describe('append-only events and snapshots', () => {
  const store = (): ReturnType<typeof createPostgresEventStore> => createPostgresEventStore({ connectionString: db.url, poolSize: 2 });

  it('refuses UPDATE, DELETE and TRUNCATE on events, even for the owner', async () => {
    const s = store();
    try {
      await s.migrate();
      await s.append('ao-1', 0, [
        { type: 'a', data: { v: 1 } },
        { type: 'b', data: {} },
      ]);
      for (const sql of [
        `UPDATE ratchet.events SET data = '{"v":2}' WHERE stream_id = 'ao-1'`,
        `DELETE FROM ratchet.events WHERE stream_id = 'ao-1'`,
        `TRUNCATE ratchet.events`,
      ]) {
        await expect(admin.query(sql)).rejects.toThrow(/append-only/);
      }
      const events = await s.readStream('ao-1');
      expect(events.map((e) => e.data)).toEqual([{ v: 1 }, {}]);
    } finally {
      await s.close();
    }
  });

  it('keeps the newest snapshot and ignores one from another machine version', async () => {
    const s = store();
    try {
      await s.migrate();
      expect(await s.loadSnapshot('snap-1', 'm1')).toBeNull();
      expect(await s.saveSnapshot({ streamId: 'snap-1', version: 5, machineVersion: 'm1', state: { n: 5 } })).toBe(true);
      // An older snapshot does not replace a newer one.
      expect(await s.saveSnapshot({ streamId: 'snap-1', version: 3, machineVersion: 'm1', state: { n: 3 } })).toBe(false);
      expect(await s.loadSnapshot('snap-1', 'm1')).toEqual({ version: 5, state: { n: 5 } });
      // A stale machine version is ignored on load.
      expect(await s.loadSnapshot('snap-1', 'm2')).toBeNull();
      // A new machine's snapshot replaces the old machine's, whatever the version.
      expect(await s.saveSnapshot({ streamId: 'snap-1', version: 2, machineVersion: 'm2', state: { n: 2 } })).toBe(true);
      expect(await s.loadSnapshot('snap-1', 'm2')).toEqual({ version: 2, state: { n: 2 } });
      expect(await s.loadSnapshot('snap-1', 'm1')).toBeNull();
      await expect(s.saveSnapshot({ streamId: 'snap-1', version: 0, machineVersion: 'm2', state: {} })).rejects.toMatchObject({
        code: ErrorCode.VALIDATION_FAILED,
      });
    } finally {
      await s.close();
    }
  });
});
