import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import {
  dockerAvailable,
  isProcessAlive,
  readNatsInfo,
  startNatsServer,
  startPostgresServer,
  waitFor,
  type NatsServerHandle,
  type PostgresServerHandle,
} from '@ratchet/launchers';

async function query<T>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(sql, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/** Resolves once the pid is gone; the launchers' stop() should already have waited for that. */
function gone(pid: number): Promise<boolean> {
  return waitFor(async () => !isProcessAlive(pid), { what: `pid ${pid} to exit`, timeoutMs: 5_000 });
}

describe('startNatsServer', () => {
  let nats: NatsServerHandle | undefined;
  const pids: number[] = [];

  beforeAll(async () => {
    nats = await startNatsServer();
    pids.push(nats.pid);
  });

  afterAll(async () => {
    await nats?.stop();
    for (const pid of pids) expect(isProcessAlive(pid)).toBe(false);
  });

  it('answers with INFO on its own free port, with JetStream', async () => {
    const info = await readNatsInfo(nats!.url);
    expect(info.port).toBe(nats!.port);
    expect(nats!.port).not.toBe(4222);
    expect(info.jetstream).toBe(true);
    expect(nats!.url).toBe(`nats://127.0.0.1:${nats!.port}`);
  });

  it('restarts after kill -9 on the same port and store', async () => {
    const before = nats!.pid;
    const storeDir = nats!.storeDir;
    nats!.kill('SIGKILL');
    expect(await gone(before)).toBe(true);
    await expect(readNatsInfo(nats!.url, 500)).rejects.toThrow();

    await nats!.restart();
    pids.push(nats!.pid);
    expect(nats!.pid).not.toBe(before);
    expect(nats!.storeDir).toBe(storeDir);
    const info = await readNatsInfo(nats!.url);
    expect(info.port).toBe(nats!.port);
  });

  it('restarts a running server gracefully', async () => {
    const before = nats!.pid;
    await nats!.restart();
    pids.push(nats!.pid);
    expect(isProcessAlive(before)).toBe(false);
    expect((await readNatsInfo(nats!.url)).jetstream).toBe(true);
  });

  it('starts without JetStream when asked', async () => {
    const plain = await startNatsServer({ jetstream: false });
    try {
      expect((await readNatsInfo(plain.url)).jetstream).toBeFalsy();
    } finally {
      await plain.stop();
    }
    expect(isProcessAlive(plain.pid)).toBe(false);
  });
});

describe('startPostgresServer', () => {
  let postgres: PostgresServerHandle | undefined;
  const pids: number[] = [];

  beforeAll(async () => {
    postgres = await startPostgresServer();
    pids.push(postgres.pid);
  });

  afterAll(async () => {
    await postgres?.stop();
    for (const pid of pids) expect(isProcessAlive(pid)).toBe(false);
  });

  it('accepts queries on its own free port with fsync off', async () => {
    expect(postgres!.port).not.toBe(5432);
    const [row] = await query<{ port: string; fsync: string }>(
      postgres!.url,
      "SELECT current_setting('port') AS port, current_setting('fsync') AS fsync",
    );
    expect(row).toEqual({ port: String(postgres!.port), fsync: 'off' });
  });

  it('keeps committed data across kill -9 and restart', async () => {
    await query(postgres!.url, 'CREATE TABLE kept (v int)');
    await query(postgres!.url, 'INSERT INTO kept VALUES (42)');
    const before = postgres!.pid;
    postgres!.kill('SIGKILL');
    expect(await gone(before)).toBe(true);

    await postgres!.restart();
    pids.push(postgres!.pid);
    expect(postgres!.pid).not.toBe(before);
    expect(await query(postgres!.url, 'SELECT v FROM kept')).toEqual([{ v: 42 }]);
  });

  it('restarts a running server with a fast shutdown', async () => {
    const before = postgres!.pid;
    await postgres!.restart();
    pids.push(postgres!.pid);
    expect(isProcessAlive(before)).toBe(false);
    expect(await query(postgres!.url, 'SELECT v FROM kept')).toEqual([{ v: 42 }]);
  });
});

/** The process group of a pid (field 5 of /proc/<pid>/stat, after the command in parentheses). */
function processGroup(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(text.slice(text.lastIndexOf(')') + 2).split(' ')[2]);
}

describe('servers in a process group of their own (detached)', () => {
  it("nats-server and Postgres share our group by default and leave it when detached, so a terminal's Ctrl-C reaches only us", async () => {
    const ours = processGroup(process.pid);
    const [shared, ownNats, ownPostgres] = await Promise.all([
      startNatsServer(),
      startNatsServer({ detached: true }),
      startPostgresServer({ detached: true }),
    ]);
    try {
      expect(processGroup(shared.pid)).toBe(ours);
      expect(processGroup(ownNats.pid)).toBe(ownNats.pid);
      expect(processGroup(ownPostgres.pid)).toBe(ownPostgres.pid);
    } finally {
      await Promise.all([shared.stop(), ownNats.stop(), ownPostgres.stop()]);
    }
    for (const pid of [shared.pid, ownNats.pid, ownPostgres.pid]) expect(await gone(pid)).toBe(true);
  }, 90_000);
});

describe('ensureServers (via the global setup)', () => {
  it('handed the run a Postgres and a NATS that answer', async () => {
    const databaseUrl = process.env.DATABASE_URL;
    const natsUrl = process.env.NATS_URL;
    expect(databaseUrl).toBeTruthy();
    expect(natsUrl).toBeTruthy();
    expect(await query(databaseUrl!, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    expect((await readNatsInfo(natsUrl!)).server_id).toMatch(/\w+/);
  });
});

describe('dockerAvailable', () => {
  it('answers false for a socket nobody listens on', async () => {
    expect(await dockerAvailable(500, '/nonexistent/docker.sock')).toBe(false);
  });
});
