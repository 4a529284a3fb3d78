// deploy/postgres's roles on a private Postgres (roles are server-wide, so never on the shared
// one): logged in as ratchet_worker, UPDATE, DELETE and TRUNCATE of ratchet.events are refused by
// privileges (SQLSTATE 42501, insufficient_privilege) — not merely by the store's trigger — while
// the worker's own work (append, read, bookkeeping) goes through; the projector reads only.
// Subject keys (sensitive data): no deploy role reads ratchet.subject_keys itself; the worker
// seals and opens through read_subject_keys/ensure_subject_keys, the projector opens through
// read_subject_keys, and neither may forget (only a role granted forget_subject, here the owner).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { defineAggregate, FORGOTTEN, sensitive } from '@ratchet/core';
import { createPostgresEventStore, parseMasterKey } from '@ratchet/event-store-postgres';
import { startPostgresServer, type PostgresServerHandle } from '@ratchet/launchers';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import { z } from 'zod';

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
    const rows = await worker.query<{ type: string }>(
      `SELECT type FROM ratchet.events WHERE stream_id = 'turnstile/sec-1' ORDER BY version`,
    );
    expect(rows.rows.map((r) => r.type)).toEqual(['installed', 'coinInserted']);
  });

  it('keeps its mutable bookkeeping: it may UPDATE ratchet.streams and ratchet.partitions', async () => {
    const worker = loginAs('ratchet_worker');
    await expect(worker.query(`UPDATE ratchet.streams SET version = version WHERE stream_id = 'turnstile/sec-1'`)).resolves.toMatchObject({
      rowCount: 1,
    });
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

describe('subject keys (sensitive data) under the deploy roles', () => {
  const masterKey = parseMasterKey(randomBytes(32).toString('base64'));
  const Member = defineAggregate({
    type: 'member',
    machine: createMachine({ id: 'member', initial: 'joined', states: { joined: { on: { joined: {} } } } }),
    commands: {},
    events: { joined: z.object({ email: sensitive(z.string(), { subject: (_data, where) => where.aggregateId }) }) },
    decide: {},
  });

  it('the worker seals through the functions, and may neither read the table nor forget', async () => {
    const pool = loginAs('ratchet_worker');
    const store = createPostgresEventStore({ pool, masterKey });
    const events = await store.cipher.sealEvents(Member, 'member/m-1', [{ type: 'joined', data: { email: 'ann@example.com' } }]);
    await store.append('member/m-1', 0, events, { commandId: 'sec-m1' });
    const raw = await pool.query<{ data: unknown }>(`SELECT data FROM ratchet.events WHERE stream_id = 'member/m-1'`);
    expect(JSON.stringify(raw.rows[0]!.data)).not.toContain('ann@example.com');
    expect((await store.cipher.openEvents(await store.readStream('member/m-1')))[0]!.data).toEqual({ email: 'ann@example.com' });
    for (const sql of [
      'SELECT * FROM ratchet.subject_keys',
      `UPDATE ratchet.subject_keys SET key = NULL`,
      'DELETE FROM ratchet.subject_keys',
      `SELECT ratchet.forget_subject('m-1')`,
    ]) {
      await expect(pool.query(sql), sql).rejects.toMatchObject({ code: '42501' });
    }
    await expect(store.cipher.forget('m-1')).rejects.toMatchObject({ details: { pgCode: '42501' } });
  });

  it('the projector opens through read_subject_keys, and may neither read the table, make keys nor forget', async () => {
    const pool = loginAs('ratchet_projector');
    const store = createPostgresEventStore({ pool, masterKey });
    expect((await store.cipher.openEvents(await store.readStream('member/m-1')))[0]!.data).toEqual({ email: 'ann@example.com' });
    for (const sql of [
      'SELECT * FROM ratchet.subject_keys',
      `SELECT * FROM ratchet.ensure_subject_keys(ARRAY['x'], ARRAY['\\x00'::bytea], 'none')`,
      `SELECT ratchet.forget_subject('m-1')`,
    ]) {
      await expect(pool.query(sql), sql).rejects.toMatchObject({ code: '42501' });
    }
  });

  it('a role granted forget_subject forgets; the worker and projector then read the placeholder', async () => {
    await createPostgresEventStore({ pool: loginAs('ratchet_migrator'), masterKey }).cipher.forget('m-1');
    for (const role of ['ratchet_worker', 'ratchet_projector']) {
      const store = createPostgresEventStore({ pool: loginAs(role), masterKey });
      expect((await store.cipher.openEvents(await store.readStream('member/m-1')))[0]!.data, role).toEqual({ email: FORGOTTEN });
    }
  });
});
