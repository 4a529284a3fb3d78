// Durable timers under faults, with real worker processes and private servers: visits are called
// (each starts a timeout), then before they are due a worker is SIGKILLed, a worker is stopped past
// its lease, Postgres is restarted, nats-server is restarted. Every timeout fires exactly once,
// never before it is due, within a bound after it (measured), and the checker's C11 agrees.
import { connectClient, type RatchetClient } from '@ratchet/client';
import { checkHistory } from '@ratchet/checker';
import { startNatsServer, startPostgresServer, waitFor, type NatsServerHandle, type PostgresServerHandle } from '@ratchet/launchers';
import pg from 'pg';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TestCluster, waitSettled } from '../support/cluster-probes.js';
import { defineVisit, VISIT_TIMEOUT_EVENT } from '../support/visit-aggregate.js';

const TIMEOUT_MS = 4_000;
const Visit = defineVisit({ visitTimeoutMs: TIMEOUT_MS });
const APP = resolve(import.meta.dirname, '../support/visit-app.ts');
const IDS = ['t1', 't2'] as const;

let nats: NatsServerHandle;
let postgres: PostgresServerHandle;
let dbUrl: string;
let cluster: TestCluster;
let client: RatchetClient;
let db: pg.Pool;

beforeAll(async () => {
  nats = await startNatsServer();
  postgres = await startPostgresServer();
  dbUrl = postgres.url;
  db = new pg.Pool({ connectionString: dbUrl, max: 2 });
  db.on('error', () => undefined);
  cluster = new TestCluster(nats.url, dbUrl, { RATCHET_APP: APP, VISIT_TIMEOUT_MS: String(TIMEOUT_MS) });
  client = await connectClient({ servers: nats.url, timeoutMs: 30_000 });
  await Promise.all(IDS.map((id) => cluster.start(id)));
  await waitSettled(cluster, IDS, 45_000);
});

afterAll(async () => {
  await client?.close();
  await cluster?.stopAll();
  await db?.end();
  await postgres?.stop();
  await nats?.stop();
});

/** Call `n` visits named `<prefix>-<i>`; resolves when every call was acknowledged. */
async function callVisits(prefix: string, n: number): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `${prefix}-${i}`);
  const results = await Promise.all(ids.map((id) => client.send(Visit, id, { type: 'call', payload: {} })));
  expect(results.filter((r) => r.status !== 'ok')).toEqual([]);
  return ids;
}

/** Each visit's fires: due time and commit time (Postgres clock), once every visit has fired. */
async function fired(ids: readonly string[]) {
  const rows = await waitFor(
    async () => {
      const res = await db.query<{ stream_id: string; n: string; fired: string; called: string }>(
        `SELECT f.stream_id, count(*) OVER (PARTITION BY f.stream_id) AS n,
                extract(epoch FROM f.recorded_at) * 1000 AS fired, extract(epoch FROM c.recorded_at) * 1000 AS called
         FROM ratchet.events f JOIN ratchet.events c ON c.stream_id = f.stream_id AND c.version = 1
         WHERE f.type = $1 AND f.stream_id = ANY($2::text[])`,
        [VISIT_TIMEOUT_EVENT, ids.map((id) => `visit/${id}`)],
      );
      return new Set(res.rows.map((r) => r.stream_id)).size === ids.length ? res.rows : false;
    },
    { what: `all ${ids.length} visit timeouts to fire`, timeoutMs: 90_000, intervalMs: 200 },
  );
  return rows.map((r) => ({ streamId: r.stream_id, fires: Number(r.n), lateMs: Number(r.fired) - Number(r.called) - TIMEOUT_MS }));
}

function report(fault: string, fires: Array<{ fires: number; lateMs: number }>, boundMs: number): void {
  const late = fires.map((f) => f.lateMs).sort((a, b) => a - b);
  const p = (q: number) => late[Math.min(late.length - 1, Math.floor(q * late.length))]!;
  console.log(
    `${fault}: ${fires.length} timeouts fired, lateness after due p50 ${p(0.5).toFixed(0)} ms, p99 ${p(0.99).toFixed(0)} ms, max ${late.at(-1)!.toFixed(0)} ms`,
  );
  expect(fires.filter((f) => f.fires !== 1)).toEqual([]); // exactly once
  expect(late[0]).toBeGreaterThanOrEqual(0); // never early
  expect(late.at(-1)!).toBeLessThan(boundMs);
}

describe('durable timers under faults', () => {
  it('a worker SIGKILLed before its timers are due: the survivor fires them once', async () => {
    const ids = await callVisits('kill', 40);
    cluster.process('t2').kill('SIGKILL');
    // Lease (member TTL 1.5 s) + claims + one poll: well inside 10 s on a loaded machine.
    report('worker SIGKILL', await fired(ids), 15_000);
    cluster.workers.delete('t2');
    await cluster.start('t2');
    await waitSettled(cluster, IDS, 45_000);
  }, 120_000);

  it('a worker stopped past its lease: the others fire its timers, it fires nothing when it resumes', async () => {
    const ids = await callVisits('pause', 40);
    const paused = cluster.process('t1');
    paused.kill('SIGSTOP');
    try {
      report('worker SIGSTOP past the lease', await fired(ids), 15_000);
    } finally {
      paused.kill('SIGCONT');
    }
    await waitSettled(cluster, IDS, 45_000);
  }, 120_000);

  it('Postgres down until the timers are overdue: they fire once it is back, late but once', async () => {
    const ids = await callVisits('pg', 40);
    const calledAt = Date.now();
    postgres.kill('SIGKILL');
    // The outage outlasts the timeout: every timer is overdue when Postgres returns.
    await waitFor(async () => Date.now() > calledAt + TIMEOUT_MS + 1_500, {
      what: 'the timers to be overdue',
      timeoutMs: 30_000,
      intervalMs: 100,
    });
    await postgres.restart();
    const fires = await fired(ids);
    expect(Math.min(...fires.map((f) => f.lateMs))).toBeGreaterThan(1_000); // they really were late
    report('Postgres down past due', fires, 30_000);
  }, 120_000);

  it('nats-server restarted before the timers are due: they fire (timers do not need NATS)', async () => {
    const ids = await callVisits('nats', 40);
    await nats.restart();
    report('nats-server restart', await fired(ids), 20_000);
    await waitSettled(cluster, IDS, 45_000);
  }, 120_000);

  it('the checker finds every timer fired once when due, none after its state was left (C11)', async () => {
    const check = await checkHistory({ history: [], databaseUrl: dbUrl, aggregates: [Visit] });
    expect(check.violations).toEqual([]);
    expect(check.counts.C11.checked).toBeGreaterThanOrEqual(320);
  });
});
