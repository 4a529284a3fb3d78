import { rm } from 'node:fs/promises';
import { connectClient } from '@ratchet/client';
import { startDashboard, ReadModel } from '@ratchet/dashboard';
import { createPglitePool, InProcessNats } from '@ratchet/embedded';
import { createPostgresEventStore } from '@ratchet/event-store-postgres';
import { startGateway } from '@ratchet/gateway';
import { createProcessRunner } from '@ratchet/process/runner';
import { createProjector, type Projector } from '@ratchet/projector';
import { createWorker, type Worker } from '@ratchet/worker';
import type { Logger } from 'pino';
import { startControlServer } from './control-server.js';
import type { DemoApp } from './demo-app.js';
import type { Infrastructure } from './infrastructure.js';

/** The warning every embedded run logs, and what the page says. */
export const EMBEDDED_WARNING = 'embedded mode: not distributed (PGlite + in-process transport)';

const WORKER_ID = 'embedded-worker';

/** Options of {@link startEmbeddedInfrastructure}. */
export interface StartEmbeddedOptions {
  readonly log: Logger;
  /** The app to serve, loaded in this process (as the worker, projector and dashboard processes load it). */
  readonly app: DemoApp;
  /** Why embedded mode was chosen, for the log. */
  readonly reason: string;
  /** PGlite data directory; default in memory (nothing kept after exit). */
  readonly pgliteDir?: string;
  /** Wipe `pgliteDir` first. */
  readonly fresh?: boolean;
}

/**
 * Ratchet with no NATS and no Postgres, in one process: PGlite behind the store's pool, an
 * in-process bus for the worker, the client and the dashboard. Not distributed: one worker (no
 * relay, static ownership of every partition), the projector following the store's feed (no
 * JetStream), the dashboard in this process, no failover.
 * @example
 * const infra = await startEmbeddedInfrastructure({ log, app: await loadDemoApp(undefined), reason: 'no binaries' });
 */
export async function startEmbeddedInfrastructure(options: StartEmbeddedOptions): Promise<Infrastructure> {
  const { log } = options;
  log.warn({ reason: options.reason }, EMBEDDED_WARNING);
  const { app, file } = options.app;
  log.info({ app: app.name, file }, 'app loaded');
  if (options.fresh && options.pgliteDir !== undefined) await rm(options.pgliteDir, { recursive: true, force: true });
  const started = Date.now();
  const pool = await createPglitePool(options.pgliteDir);
  log.info({ ms: Date.now() - started, dataDir: options.pgliteDir ?? 'memory' }, 'PGlite started');
  const bus = new InProcessNats();
  const store = createPostgresEventStore({ pool });
  const label = `embedded, not distributed: PGlite (${options.pgliteDir ?? 'in memory'}) + in-process transport, one process`;
  let worker: Worker | undefined;
  let projector: Projector | undefined;
  return {
    label,
    distributed: false,
    warning: EMBEDDED_WARNING,
    pool,
    store,
    async startServices(workers, cleanups) {
      if (workers !== 1)
        log.info({ asked: workers }, 'embedded mode runs one worker: several in one process would share one thread and one connection');
      const w = createWorker({
        nats: bus.connect('worker'),
        store,
        aggregates: app.aggregates,
        workerId: WORKER_ID,
        relay: false,
        logger: log.child({ component: 'worker' }),
      });
      await w.start();
      cleanups.push(() => w.drain(8_000));
      worker = w;
      if (app.projections.length > 0) {
        const p = createProjector({
          source: 'feed',
          store,
          pool,
          projections: app.projections,
          logger: log.child({ component: 'projector' }),
        });
        await p.start();
        cleanups.push(() => p.stop());
        projector = p;
      }
      if (app.processes.length > 0) {
        // Process managers follow the feed too: one runner, so it holds no transaction while its
        // commands are answered (PGlite has one connection, which the worker needs for them).
        const client = await connectClient({ connection: bus.connect('processes'), timeoutMs: 20_000 });
        const runner = createProcessRunner({
          source: 'feed',
          client,
          store,
          pool,
          processes: app.processes,
          logger: log.child({ component: 'processes' }),
        });
        await runner.start();
        cleanups.push(async () => {
          await runner.stop(5_000);
          await client.close();
        });
      }
      log.info(
        { worker: WORKER_ID, projector: projector !== undefined, processes: app.processes.map((p) => p.name) },
        'embedded worker, projector and processes (feed mode) started',
      );
      return 1;
    },
    connectClient: () => connectClient({ connection: bus.connect('client'), timeoutMs: 20_000 }),
    async startDashboard(request, cleanups) {
      const served = worker;
      if (served === undefined) throw new Error('start the embedded worker before the dashboard');
      // The dashboard reads /cluster from each listed worker's ops port: the one worker lists this server as its own.
      let controlPort = 0;
      const fixed =
        'Embedded mode: one worker inside the demo process, so workers cannot be killed or added. Run the demo with NATS and Postgres to try failover.';
      const control = await startControlServer(
        {
          workers: () => [{ id: WORKER_ID, pid: process.pid, httpPort: controlPort, alive: true, exit: null }],
          clusterView: async () => ({
            workerId: WORKER_ID,
            partitions: await store.partitionEpochs(),
            owned: served.ownedPartitions().map((p) => p.partition),
          }),
          fixed,
        },
        request.simulator,
      );
      controlPort = control.port;
      cleanups.push(() => control.close());
      const dashboard = await startDashboard({
        port: request.port,
        readModel: new ReadModel(pool, 'public', store.schema),
        // The time-travel page reads the same PGlite store the worker writes.
        timeTravel: store,
        app,
        client: request.client,
        log: log.child({ component: 'dashboard' }),
        controlUrl: control.url,
        distributed: false,
        fixedWorkers: fixed,
        infrastructure: label,
      });
      cleanups.push(() => dashboard.close());
      return dashboard.port;
    },
    async startGateway(request, cleanups) {
      // In this process, on the demo's client; read-your-writes waits on the feed-mode projector.
      const gateway = await startGateway({
        port: request.port,
        host: '127.0.0.1',
        client: request.client,
        aggregates: app.aggregates,
        ...(projector === undefined ? {} : { projections: { definitions: app.projections, waiter: projector } }),
        openApi: { title: `${app.name} command gateway` },
        logger: log.child({ component: 'gateway' }),
      });
      cleanups.push(() => gateway.close(5_000));
      return gateway.port;
    },
    stop: () => pool.end(),
  };
}
