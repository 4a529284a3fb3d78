// Shared by the process-manager fault tests: a private nats-server and database, an in-process
// worker serving the turnstile app's aggregates (its relay publishing to JetStream), turnstile load
// that makes riders push locked arms (so the technician dispatch calls stations, often refused
// while a visit is on), technicians completing visits, and projector services running only the
// app's processes, armed with crash points or not.
import { setTimeout as delay } from 'node:timers/promises';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { checkProcesses } from '@ratchet/checker';
import { connectClient, type RatchetClient } from '@ratchet/client';
import { createPostgresEventStore, type PostgresEventStore } from '@ratchet/event-store-postgres';
import { startNatsServer, startServiceProcess, waitFor, type NatsServerHandle, type ServiceProcess } from '@ratchet/launchers';
import { readProcessStates } from '@ratchet/process/runner';
import { STATION_IDS } from '@ratchet/station';
import { createTestDatabase, type TestDatabase } from '@ratchet/testing';
import { Turnstile } from '@ratchet/turnstile';
import { defineTurnstileApp, technicianDispatch } from '@ratchet/turnstile-app';
import { createWorker, type Worker } from '@ratchet/worker';
import pg from 'pg';
import { pino } from 'pino';

/** Visits time out quickly, so escalations (durable timers) happen during a test too. */
const VISIT_TIMEOUT_MS = 3_000;
const app = defineTurnstileApp({ stationVisitTimeoutMs: VISIT_TIMEOUT_MS });

export interface ProcessFaultEnv {
  readonly nats: NatsServerHandle;
  readonly nc: NatsConnection;
  readonly db: TestDatabase;
  readonly store: PostgresEventStore;
  readonly pool: pg.Pool;
  readonly worker: Worker;
  readonly client: RatchetClient;
  /** Start a projector service that runs only the app's processes. */
  startRunner(extra?: Record<string, string>): Promise<ServiceProcess>;
  /** Wait until the technician dispatch has handled every turnstile event in the store. */
  caughtUp(timeoutMs?: number): Promise<void>;
  /** C12 on the store: the violations (none expected) and how much was checked. */
  check(): ReturnType<typeof checkProcesses>;
  close(): Promise<void>;
}

export async function startProcessFaultEnv(prefix: string): Promise<ProcessFaultEnv> {
  const nats = await startNatsServer();
  const nc = await connect({ servers: nats.url });
  const db = await createTestDatabase(prefix);
  const store = createPostgresEventStore({ connectionString: db.url });
  await store.migrate();
  const pool = new pg.Pool({ connectionString: db.url, max: 4 });
  pool.on('error', () => undefined);
  const worker = createWorker({
    nats: nc,
    jetstream: nc,
    store,
    aggregates: app.aggregates,
    relayPollIntervalMs: 20,
    logger: pino({ level: 'silent' }),
  });
  await worker.start();
  const client = await connectClient({ servers: nats.url, timeoutMs: 5_000 });
  const runners: ServiceProcess[] = [];
  return {
    nats,
    nc,
    db,
    store,
    pool,
    worker,
    client,
    async startRunner(extra = {}) {
      const p = await startServiceProcess({
        entry: 'services/projector/src/main.ts',
        readyMessage: 'projector ready',
        env: {
          NATS_URL: nats.url,
          DATABASE_URL: db.url,
          HTTP_PORT: '0',
          LOG_LEVEL: 'info',
          PROJECTOR_PROJECTIONS: 'false',
          PROJECTOR_ACK_WAIT_MS: '2000',
          PROCESS_BATCH_SIZE: '20',
          STATION_VISIT_TIMEOUT_MS: String(VISIT_TIMEOUT_MS),
          RATCHET_CRASH_POINT: '',
          ...extra,
        },
      });
      runners.push(p);
      return p;
    },
    async caughtUp(timeoutMs = 60_000) {
      await waitFor(
        async () => {
          const [state] = await readProcessStates(pool);
          return state !== undefined && state.lagEvents === 0;
        },
        { what: 'the technician dispatch to catch up', timeoutMs, intervalMs: 200 },
      );
    },
    check: () => checkProcesses({ databaseUrl: db.url, processes: [technicianDispatch] }),
    async close() {
      await Promise.all(runners.map((r) => r.stop(5_000).catch(() => undefined)));
      await client.close().catch(() => undefined);
      await worker.drain(5_000).catch(() => undefined);
      await pool.end().catch(() => undefined);
      await store.close().catch(() => undefined);
      await db.drop().catch(() => undefined);
      await nc.close().catch(() => undefined);
      await nats.stop();
    },
  };
}

/** A running load. */
export interface RiderLoad {
  /** Commands answered so far. */
  readonly sent: () => number;
  stop(): Promise<void>;
}

/**
 * Riders who mostly push locked arms on `turnstiles` turnstiles (`<prefix>-<n>`, installed first),
 * sometimes paying and passing, and technicians completing a random station's visit now and then.
 */
export function startRiders(
  client: RatchetClient,
  options: { prefix: string; turnstiles: number; lanes?: number; pauseMs?: number },
): RiderLoad {
  let running = true;
  let sent = 0;
  const send = async (id: string, type: 'install' | 'insertCoin' | 'pushArm'): Promise<void> => {
    await client.send(Turnstile, id, { type, payload: {} });
    sent += 1;
  };
  const lane = async (l: number): Promise<void> => {
    const ids = Array.from({ length: options.turnstiles }, (_, i) => `${options.prefix}-${i}`).filter(
      (_, i) => i % (options.lanes ?? 4) === l,
    );
    for (const id of ids) await send(id, 'install');
    while (running) {
      const id = ids[Math.floor(Math.random() * ids.length)]!;
      if (Math.random() < 0.15) {
        await send(id, 'insertCoin');
        await send(id, 'pushArm');
      } else await send(id, 'pushArm');
      if (options.pauseMs !== undefined) await delay(options.pauseMs);
    }
  };
  const technician = async (): Promise<void> => {
    while (running) {
      await delay(100);
      const station = STATION_IDS[Math.floor(Math.random() * STATION_IDS.length)]!;
      await client.sendRaw('station', station, { type: 'completeVisit', payload: {} });
    }
  };
  const all = Promise.all([...Array.from({ length: options.lanes ?? 4 }, (_, l) => lane(l)), technician()]);
  return {
    sent: () => sent,
    async stop() {
      running = false;
      await all;
    },
  };
}

/** What the technician dispatch's command log says: answers by outcome. */
export async function commandCounts(pool: pg.Pool): Promise<{ ok: number; rejected: number; failed: number }> {
  const r = await pool.query<{ outcome: string; n: string }>(
    `SELECT outcome, count(*) AS n FROM ratchet_processes.commands GROUP BY outcome`,
  );
  const counts = { ok: 0, rejected: 0, failed: 0 };
  for (const row of r.rows) counts[row.outcome as keyof typeof counts] = Number(row.n);
  return counts;
}

/** Commands of the dispatch the store committed that its log does not have (yet). */
export async function unloggedCommits(pool: pg.Pool): Promise<number> {
  const r = await pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM ratchet.processed_commands pc WHERE pc.command_id LIKE 'proc:technician-dispatch:%'
       AND NOT EXISTS (SELECT 1 FROM ratchet_processes.commands c WHERE c.command_id = pc.command_id)`,
  );
  return Number(r.rows[0]!.n);
}

/** Answers journaled for events not checkpointed yet (refusals a re-run must get again without sending). */
export async function journaledAnswers(pool: pg.Pool): Promise<number> {
  const r = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ratchet_processes.answers WHERE process = 'technician-dispatch'`);
  return Number(r.rows[0]!.n);
}
