// Worker processes restarted and killed under load: no acknowledged command is lost, actors come
// back from snapshot + tail, and the outbox publishes what a crash left unpublished.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { connectClient, type RatchetClient } from '@ratchet/client';
import { startNatsServer, startServiceProcess, waitFor, type NatsServerHandle, type ServiceProcess } from '@ratchet/launchers';
import { createTestDatabase, type TestDatabase } from '@ratchet/testing';
import { Turnstile } from '@ratchet/turnstile';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { checkStore } from '../support/verify-store.js';
import { startTurnstileLoad } from '../support/turnstile-load.js';

const WORKER = 'services/worker/src/main.ts';
let natsServer: NatsServerHandle;
let nc: NatsConnection;
const processes: ServiceProcess[] = [];

beforeAll(async () => {
  natsServer = await startNatsServer();
  nc = await connect({ servers: natsServer.url });
});

afterEach(async () => {
  await Promise.all(processes.splice(0).map((p) => p.stop(5_000)));
});

afterAll(async () => {
  await nc?.close();
  await natsServer?.stop();
});

async function startWorker(db: TestDatabase, env: Record<string, string> = {}): Promise<ServiceProcess> {
  const p = await startServiceProcess({
    entry: WORKER,
    env: {
      NATS_URL: natsServer.url,
      DATABASE_URL: db.url,
      HTTP_PORT: '0',
      LOG_LEVEL: 'info',
      SNAPSHOT_EVERY: '5',
      RELAY_LEASE_TTL_MS: '1000',
      ...env,
    },
  });
  processes.push(p);
  return p;
}

async function stats(p: ServiceProcess): Promise<Record<string, number>> {
  const res = await fetch(`http://127.0.0.1:${String(p.ready.httpPort)}/stats`);
  return (await res.json()) as Record<string, number>;
}

async function purgeEvents(): Promise<void> {
  const jsm = await jetstreamManager(nc);
  await jsm.streams.purge('RATCHET_EVENTS').catch(() => undefined);
}

describe('worker restart under load', () => {
  let db: TestDatabase;
  let client: RatchetClient;
  beforeAll(async () => {
    db = await createTestDatabase('restart');
    client = await connectClient({ servers: natsServer.url, timeoutMs: 30_000 });
  });
  afterAll(async () => {
    await client?.close();
    await db?.drop();
  });

  it('loses no acknowledged command across a SIGTERM restart and a SIGKILL restart', async () => {
    await purgeEvents();
    const first = await startWorker(db);
    const load = startTurnstileLoad(client, { turnstiles: 40, concurrency: 16, prefix: 'rs' });
    const okCount = () => load.records.filter((r) => r.status === 'ok').length;
    await waitFor(async () => okCount() >= 300, { what: '300 acknowledged commands', timeoutMs: 60_000 });

    // Planned restart: drain, exit 0, a new worker takes over; the client retries through the gap.
    expect(await first.stop()).toBe(0);
    const second = await startWorker(db);
    await waitFor(async () => okCount() >= 700, { what: '700 acknowledged commands', timeoutMs: 60_000 });
    const base = `http://127.0.0.1:${String(second.ready.httpPort)}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    for (const name of [
      'ratchet_commands_total{aggregate="turnstile",result="ok"}',
      'ratchet_command_duration_seconds_bucket',
      'ratchet_group_commit_batch_size_bucket',
      'ratchet_resident_actors',
      'ratchet_outbox_lag_events',
    ]) {
      expect(metrics).toContain(name);
    }
    const s = await stats(second);
    expect(s.activations).toBeGreaterThan(0);
    expect(s.snapshotActivations).toBeGreaterThan(0);

    // Crash: SIGKILL mid-load, then a new worker.
    second.kill('SIGKILL');
    expect(await second.exited).toBe('SIGKILL');
    await startWorker(db);
    await waitFor(async () => okCount() >= 1000, { what: '1000 acknowledged commands', timeoutMs: 60_000 });
    const records = await load.stop();

    const check = await checkStore(db.url, records);
    expect(check.lost).toEqual([]);
    expect(check.gaps).toEqual([]);
    expect(check.duplicated).toEqual([]);
    expect(check.acknowledged).toBeGreaterThanOrEqual(1000);
    // Through both restarts, every command got an answer (the client retried through the gaps).
    expect(records.filter((r) => r.status === 'error')).toEqual([]);
  });
});

describe('crash between commit and publish', () => {
  let db: TestDatabase;
  let client: RatchetClient;
  beforeAll(async () => {
    db = await createTestDatabase('crashpub');
    client = await connectClient({ servers: natsServer.url, timeoutMs: 3_000 });
  });
  afterAll(async () => {
    await client?.close();
    await db?.drop();
  });

  it('publishes the committed events after restart, once per Nats-Msg-Id', async () => {
    await purgeEvents();
    const doomed = await startWorker(db, { RATCHET_CRASH_POINT: 'after-commit-before-publish', RATCHET_CRASH_AFTER: '10' });
    for (let i = 0; i < 30; i += 1) {
      const r = await client.send(Turnstile, `cp-${i}`, { type: 'install', payload: {} });
      if (r.status !== 'ok') break;
    }
    expect(await doomed.exited).toBe('SIGKILL');

    const sql = new pg.Client({ connectionString: db.url });
    await sql.connect();
    const committed = (await sql.query<{ id: string }>(`select stream_id || ':' || version as id from ratchet.events`)).rows.map(
      (r) => r.id,
    );
    await sql.end();
    // The 10th commit happened, and its events had not been published when the worker died.
    expect(committed.length).toBeGreaterThanOrEqual(10);

    const jsm = await jetstreamManager(nc);
    // The fault fired where it should: JetStream is missing what the dead worker committed last.
    expect((await jsm.streams.info('RATCHET_EVENTS')).state.messages).toBeLessThan(committed.length);
    await startWorker(db);
    await waitFor(async () => (await jsm.streams.info('RATCHET_EVENTS')).state.messages >= committed.length, {
      what: `${committed.length} events in JetStream`,
      timeoutMs: 30_000,
    });
    const ids: string[] = [];
    const info = await jsm.streams.info('RATCHET_EVENTS');
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq += 1) {
      const m = await jsm.streams.getMessage('RATCHET_EVENTS', { seq });
      ids.push(m?.header.get('Nats-Msg-Id') ?? '');
    }
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual([...committed].sort());
  });
});
