// deploy/postgres/roles.sql and grants.sql on a real database: the migrator owns the schema and
// migrates, the worker appends (and can run the services' start-up migrate()) but can never
// UPDATE, DELETE or TRUNCATE events, the projector reads events and cannot write them.
import { readFileSync } from 'node:fs';
import { createPostgresEventStore } from '@ratchet/event-store-postgres';
import { createTestDatabase, type TestDatabase } from '@ratchet/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let db: TestDatabase | undefined;
let admin: pg.Pool;

/** A pool connected as the test's superuser that acts as `role` (SET ROLE on every connection). */
function poolAs(role: string): pg.Pool {
  const url = new URL(db!.url);
  url.searchParams.set('options', `-c role=${role}`);
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
  pool.on('error', () => undefined);
  return pool;
}

beforeAll(async () => {
  db = await createTestDatabase('roles');
  admin = new pg.Pool({ connectionString: db.url, max: 1 });
  await admin.query(readFileSync('deploy/postgres/roles.sql', 'utf8'));
  const migrator = poolAs('ratchet_migrator');
  try {
    await createPostgresEventStore({ pool: migrator }).migrate();
    await migrator.query(readFileSync('deploy/postgres/grants.sql', 'utf8'));
  } finally {
    await migrator.end();
  }
});

afterAll(async () => {
  await admin?.end();
  await db?.drop();
});

describe('Postgres roles', () => {
  it('the migrator owns the schema and the events table', async () => {
    const res = await admin.query<{ schema_owner: string; table_owner: string }>(
      `SELECT (SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname = 'ratchet') AS schema_owner,
              (SELECT tableowner FROM pg_tables WHERE schemaname = 'ratchet' AND tablename = 'events') AS table_owner`,
    );
    expect(res.rows[0]).toEqual({ schema_owner: 'ratchet_migrator', table_owner: 'ratchet_migrator' });
  });

  it('the worker migrates (a no-op), appends and reads, and may not UPDATE, DELETE or TRUNCATE events', async () => {
    const pool = poolAs('ratchet_worker');
    try {
      const store = createPostgresEventStore({ pool });
      await store.migrate();
      await store.append('turnstile/roles-1', 0, [{ type: 'installed', data: {} }], { commandId: 'roles-c1' });
      expect((await store.readStream('turnstile/roles-1')).map((e) => e.type)).toEqual(['installed']);
      for (const sql of ['UPDATE ratchet.events SET type = type', 'DELETE FROM ratchet.events', 'TRUNCATE ratchet.events']) {
        await expect(pool.query(sql), sql).rejects.toMatchObject({ code: '42501' });
      }
    } finally {
      await pool.end();
    }
  });

  it('the projector reads events and may not write them', async () => {
    const pool = poolAs('ratchet_projector');
    try {
      const res = await pool.query<{ n: string }>('SELECT count(*) AS n FROM ratchet.events');
      expect(Number(res.rows[0]!.n)).toBeGreaterThanOrEqual(0);
      await expect(pool.query(`INSERT INTO ratchet.events (stream_id) VALUES ('x')`)).rejects.toMatchObject({ code: '42501' });
      await createPostgresEventStore({ pool }).migrate();
    } finally {
      await pool.end();
    }
  });
});
