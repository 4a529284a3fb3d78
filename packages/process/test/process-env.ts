// The process runner's integration fixture: a private nats-server, a fresh database, a worker that
// serves the turnstile and the alarm (its relay publishing to JetStream) and a client.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { connectClient, type RatchetClient } from '@ratchet/client';
import { createPostgresEventStore, type PostgresEventStore } from '@ratchet/event-store-postgres';
import { startNatsServer, waitFor, type NatsServerHandle } from '@ratchet/launchers';
import { createTestDatabase, type TestDatabase } from '@ratchet/testing';
import { Turnstile } from '@ratchet/turnstile';
import { createWorker, type Worker } from '@ratchet/worker';
import pg from 'pg';
import { pino } from 'pino';
import { Alarm } from './fixtures/alarm.js';

export interface ProcessEnv {
  readonly nats: NatsServerHandle;
  readonly nc: NatsConnection;
  readonly db: TestDatabase;
  readonly store: PostgresEventStore;
  readonly pool: pg.Pool;
  readonly worker: Worker;
  readonly client: RatchetClient;
  /** Wait until the process has handled every turnstile event in the store. */
  caughtUp(process: string, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startProcessEnv(prefix: string): Promise<ProcessEnv> {
  const nats = await startNatsServer();
  const nc = await connect({ servers: nats.url });
  const db = await createTestDatabase(prefix);
  const store = createPostgresEventStore({ connectionString: db.url });
  await store.migrate();
  const pool = new pg.Pool({ connectionString: db.url, max: 8 });
  pool.on('error', () => undefined);
  const worker = createWorker({
    nats: nc,
    jetstream: nc,
    store,
    aggregates: [Turnstile, Alarm],
    relayPollIntervalMs: 20,
    logger: pino({ level: 'silent' }),
  });
  await worker.start();
  const client = await connectClient({ servers: nats.url, timeoutMs: 5_000 });
  return {
    nats,
    nc,
    db,
    store,
    pool,
    worker,
    client,
    async caughtUp(process, timeoutMs = 30_000) {
      await waitFor(
        async () => {
          const r = await pool.query<{ lag: string }>(
            `SELECT (SELECT coalesce(sum(version), 0) FROM ratchet.streams WHERE stream_id LIKE 'turnstile/%')
                  - (SELECT coalesce(sum(last_version), 0) FROM ratchet_processes.positions WHERE process = $1) AS lag`,
            [process],
          );
          return Number(r.rows[0]!.lag) === 0;
        },
        { what: `process ${process} to catch up`, timeoutMs },
      );
    },
    async close() {
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
