// The bookstore on real services, as `ratchet dev` will run it: a private nats-server, a fresh
// database, and the worker, projector and gateway processes loading examples/bookstore/src/app.ts
// through RATCHET_APP. Every process is stopped by pid in `stop()`, whatever failed before.
import { fileURLToPath } from 'node:url';
import { startNatsServer, startServiceProcess, type NatsServerHandle, type ServiceProcess } from '@ratchet/launchers';
import { createTestDatabase, type TestDatabase } from '@ratchet/testing';

/** The app module, by path: what the services load. */
export const BOOKSTORE_APP = fileURLToPath(new URL('../src/app.ts', import.meta.url));
/** The page's entry: what `ratchet dev examples/bookstore` starts beside the services. */
export const BOOKSTORE_WEB = fileURLToPath(new URL('../web.ts', import.meta.url));

/** A running bookstore back end. */
export interface BookstoreStack {
  readonly nats: NatsServerHandle;
  readonly db: TestDatabase;
  readonly worker: ServiceProcess;
  readonly projector: ServiceProcess;
  readonly gateway: ServiceProcess;
  /** The gateway's base URL. */
  readonly gatewayUrl: string;
  /** Stop the services, the nats-server, and drop the database. */
  stop(): Promise<void>;
}

/** Start the bookstore's services (with `env` added to theirs); on a failure, stop what was started and rethrow. */
export async function startBookstoreStack(name: string, env: Readonly<Record<string, string>> = {}): Promise<BookstoreStack> {
  const started: Array<{ stop(): Promise<unknown> }> = [];
  const stop = async (): Promise<void> => {
    // Newest first: the gateway and projector before the worker, the servers last.
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
  };
  try {
    const nats = await startNatsServer();
    started.push(nats);
    const db = await createTestDatabase(name);
    started.push({ stop: () => db.drop() });
    const common = {
      NATS_URL: nats.url,
      DATABASE_URL: db.url,
      HTTP_PORT: '0',
      RATCHET_APP: BOOKSTORE_APP,
      RATCHET_PARTITIONS: '8',
      ...env,
    };
    const worker = await startServiceProcess({
      entry: 'services/worker/src/main.ts',
      name: `${name}-worker`,
      env: { ...common, CLUSTER_MODE: 'static' },
    });
    started.push(worker);
    const projector = await startServiceProcess({
      entry: 'services/projector/src/main.ts',
      name: `${name}-projector`,
      readyMessage: 'projector ready',
      env: common,
    });
    started.push(projector);
    const gateway = await startServiceProcess({
      entry: 'services/gateway/src/main.ts',
      name: `${name}-gateway`,
      readyMessage: 'gateway ready',
      env: { ...common, HTTP_HOST: '127.0.0.1', GATEWAY_WAIT_FOR_TIMEOUT_MS: '10000' },
    });
    started.push(gateway);
    return { nats, db, worker, projector, gateway, gatewayUrl: `http://127.0.0.1:${String(gateway.ready.httpPort)}`, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
