// A server ending connections (what a Postgres shutdown or a failover does: 57P01 "terminating
// connection due to administrator command") must not crash a process: pg emits a checked-out
// client's error on the client, where Node throws it when nobody listens. Here the backends are
// ended with pg_terminate_backend, which sends the same 57P01 as a fast shutdown.
import { createTestDatabase, type TestDatabase } from '@ratchet/testing';
import { waitFor } from '@ratchet/launchers';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { handlePoolErrors } from './handle-pool-errors.js';

let db: TestDatabase;
let admin: pg.Client;

beforeAll(async () => {
  db = await createTestDatabase('pool_errors');
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
});

afterAll(async () => {
  await admin?.end();
  await db?.drop();
});

const terminate = (pid: number) => admin.query('SELECT pg_terminate_backend($1)', [pid]);
const backendPid = async (q: pg.PoolClient | pg.Pool): Promise<number> =>
  (await q.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;

describe('handlePoolErrors', () => {
  it('a plain pool leaves a checked-out client with no error listener (what crashed the projector)', async () => {
    const pool = new pg.Pool({ connectionString: db.url, max: 1 });
    try {
      const client = await pool.connect();
      expect(client.listenerCount('error')).toBe(0);
      client.release();
    } finally {
      await pool.end();
    }
  });

  it('reports a checked-out client whose backend is terminated (idle in a transaction), and the pool goes on', async () => {
    const errors: Error[] = [];
    const pool = handlePoolErrors(new pg.Pool({ connectionString: db.url, max: 2 }), (err) => errors.push(err));
    try {
      const client = await pool.connect();
      await client.query('BEGIN');
      await terminate(await backendPid(client));
      await waitFor(async () => errors.length > 0, { what: 'the error of the terminated client', timeoutMs: 10_000 });
      expect(errors.map((e) => (e as Error & { code?: string }).code ?? e.message)).toContainEqual(expect.stringMatching(/57P01|terminat/));
      await expect(client.query('SELECT 1')).rejects.toThrow();
      client.release(true);
      expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows[0]?.one).toBe(1);
    } finally {
      await pool.end();
    }
  });

  it('reports an idle client whose backend is terminated, and the pool replaces it', async () => {
    const errors: Error[] = [];
    const pool = handlePoolErrors(new pg.Pool({ connectionString: db.url, max: 1 }), (err) => errors.push(err));
    try {
      const pid = await backendPid(pool);
      await terminate(pid);
      await waitFor(async () => errors.length > 0, { what: 'the error of the idle client', timeoutMs: 10_000 });
      expect(await backendPid(pool)).not.toBe(pid);
    } finally {
      await pool.end();
    }
  });
});
