// One worker in the test's own process against a private nats-server and a fresh database, with a
// client: the fixture the worker tests share. Stop it in afterAll.
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { connectClient, type RatchetClient } from '@ratchet/client';
import { createPostgresEventStore, type PostgresEventStore } from '@ratchet/event-store-postgres';
import { startNatsServer, type NatsServerHandle } from '@ratchet/launchers';
import { createTestDatabase, type TestDatabase } from '@ratchet/testing';
import { Turnstile } from '@ratchet/turnstile';
import { createWorker, type Worker, type WorkerOptions } from '@ratchet/worker';

/** The running fixture. */
export interface InProcessWorker {
  readonly natsServer: NatsServerHandle;
  readonly db: TestDatabase;
  readonly nc: NatsConnection;
  /** The store as migrated (not wrapped). */
  readonly store: PostgresEventStore;
  readonly worker: Worker;
  readonly client: RatchetClient;
  /** Client, worker (drained), connections, database and server, in that order. */
  stop(): Promise<void>;
}

/** Options of {@link startInProcessWorker}. */
export interface InProcessWorkerOptions {
  /** Prefix of the test database's name. */
  readonly database: string;
  /** Worker options besides nats and store; aggregates default to the turnstile. */
  readonly worker?: Omit<WorkerOptions, 'nats' | 'store' | 'aggregates'> & { readonly aggregates?: WorkerOptions['aggregates'] };
  /** Store pool size. Default the store's. */
  readonly poolSize?: number;
  /** What the worker gets instead of the store itself (e.g. a recording proxy). */
  readonly wrapStore?: (store: PostgresEventStore) => PostgresEventStore;
  /** The client's overall budget per command. Default 10,000 ms. */
  readonly clientTimeoutMs?: number;
}

export async function startInProcessWorker(options: InProcessWorkerOptions): Promise<InProcessWorker> {
  const natsServer = await startNatsServer();
  const db = await createTestDatabase(options.database);
  const nc = await connect({ servers: natsServer.url });
  const store = createPostgresEventStore({
    connectionString: db.url,
    ...(options.poolSize === undefined ? {} : { poolSize: options.poolSize }),
  });
  await store.migrate();
  const worker = createWorker({
    nats: nc,
    jetstream: nc,
    store: options.wrapStore?.(store) ?? store,
    ...options.worker,
    aggregates: options.worker?.aggregates ?? [Turnstile],
  });
  await worker.start();
  const client = await connectClient({ servers: natsServer.url, timeoutMs: options.clientTimeoutMs ?? 10_000 });
  return {
    natsServer,
    db,
    nc,
    store,
    worker,
    client,
    async stop() {
      await client.close();
      await worker.drain(5_000);
      await nc.close();
      await store.close();
      await db.drop();
      await natsServer.stop();
    },
  };
}
