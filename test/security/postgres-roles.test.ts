// deploy/postgres's roles on a private Postgres (roles are server-wide, so never on the shared
// one): logged in as ratchet_worker, UPDATE, DELETE and TRUNCATE of ratchet.events are refused by
// privileges (SQLSTATE 42501, insufficient_privilege) — not merely by the store's trigger — while
// the worker's own work (append, read, bookkeeping) goes through; the projector reads only.
import { readFileSync } from 'node:fs';
import { createPostgresEventStore } from '@ratchet/event-store-postgres';
import { startPostgresServer, type PostgresServerHandle } from '@ratchet/launchers';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

let server: PostgresServerHandle | undefined;
const pools: pg.Pool[] = [];

/** A pool that logs in as `role` (trust auth on the private server: the login itself is the role). */
function loginAs(role: string): pg.Pool {
  const url = new URL(server!.url);
  url.username = role;
  url.pathname = '/ratchet';
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
  pool.on('error', () => undefined);
  pools.push(pool);
  return pool;
}

beforeAll(async () => {
  server = await startPostgresServer();
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  try {
    await admin.query('CREATE DATABASE ratchet');
  } finally {
    await admin.end();
  }
  const url = new URL(server.url);
  url.pathname = '/ratchet';
  const superuser = new pg.Client({ connectionString: url.toString() });
  await superuser.connect();
  try {
    await superuser.query(readFileSync('deploy/postgres/roles.sql', 'utf8'));
  } finally {
    await superuser.end();
  }
  // As deploy/scripts/migrate.ts does: migrate as the migrator, then apply the grants.
  const migrator = loginAs('ratchet_migrator');
  await createPostgresEventStore({ pool: migrator }).migrate();
  await migrator.query(readFileSync('deploy/postgres/grants.sql', 'utf8'));
}, 120_000);

afterAll(async () => {
  await Promise.all(pools.map((p) => p.end().catch(() => undefined)));
  await server?.stop();
});

describe('ratchet_worker on ratchet.events', () => {
  it('is a login of its own, not a superuser and not the table owner', async () => {
    const worker = loginAs('ratchet_worker');
    const r = await worker.query<{ who: string; su: string; owner: string }>(
      `SELECT current_user AS who, current_setting('is_superuser') AS su,
              (SELECT tableowner FROM pg_tables WHERE schemaname = 'ratchet' AND tablename = 'events') AS owner`,
    );
    expect(r.rows[0]).toEqual({ who: 'ratchet_worker', su: 'off', owner: 'ratchet_migrator' });
  });

  it('appends and reads events (so the refusals below are about privileges, not a broken login)', async () => {
    const store = createPostgresEventStore({ pool: loginAs('ratchet_worker') });
    await store.migrate();
    await store.append('turnstile/sec-1', 0, [{ type: 'installed', data: {} }], { commandId: 'sec-c1' });
    await store.append('turnstile/sec-1', 1, [{ type: 'coinInserted', data: {} }], { commandId: 'sec-c2' });
    expect((await store.readStream('turnstile/sec-1')).map((e) => e.type)).toEqual(['installed', 'coinInserted']);
  });

  it.each([
    ['UPDATE', `UPDATE ratchet.events SET type = 'tampered' WHERE stream_id = 'turnstile/sec-1'`],
    ['DELETE', `DELETE FROM ratchet.events WHERE stream_id = 'turnstile/sec-1'`],
    ['TRUNCATE', 'TRUNCATE ratchet.events'],
  ])('%s is refused with SQLSTATE 42501 and changes nothing', async (_verb, sql) => {
    const worker = loginAs('ratchet_worker');
    const error = await worker.query(sql).then(
      () => undefined,
      (e: unknown) => e as { code?: string; message?: string },
    );
    expect(error, `${sql} was not refused`).toBeDefined();
    expect(error?.code, error?.message).toBe('42501');
    expect(error?.message).toMatch(/permission denied/);
    const rows = await worker.query<{ type: string }>(`SELECT type FROM ratchet.events WHERE stream_id = 'turnstile/sec-1' ORDER BY version`);
    expect(rows.rows.map((r) => r.type)).toEqual(['installed', 'coinInserted']);
  });

  it('keeps its mutable bookkeeping: it may UPDATE ratchet.streams and ratchet.partitions', async () => {
    const worker = loginAs('ratchet_worker');
    await expect(worker.query(`UPDATE ratchet.streams SET version = version WHERE stream_id = 'turnstile/sec-1'`)).resolves.toMatchObject({ rowCount: 1 });
    await expect(worker.query('UPDATE ratchet.partitions SET owner = owner')).resolves.toBeDefined();
  });
});

describe('ratchet_projector on ratchet.events', () => {
  it('reads events and may not INSERT, UPDATE, DELETE or TRUNCATE them (42501)', async () => {
    const projector = loginAs('ratchet_projector');
    const n = await projector.query<{ n: string }>('SELECT count(*) AS n FROM ratchet.events');
    expect(Number(n.rows[0]!.n)).toBe(2);
    for (const sql of [
      `INSERT INTO ratchet.events (stream_id, version, type, data) VALUES ('turnstile/x', 1, 'installed', '{}')`,
      `UPDATE ratchet.events SET type = type`,
      'DELETE FROM ratchet.events',
      'TRUNCATE ratchet.events',
    ]) {
      await expect(projector.query(sql), sql).rejects.toMatchObject({ code: '42501' });
    }
  });
});
