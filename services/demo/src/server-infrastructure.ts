import { connectClient } from '@ratchet/client';
import { createPostgresEventStore, handlePoolErrors } from '@ratchet/event-store-postgres';
import type { Servers } from '@ratchet/launchers';
import pg from 'pg';
import type { Logger } from 'pino';
import { startControlServer } from './control-server.js';
import { needsProjector, type DemoApp } from './demo-app.js';
import { DemoCluster } from './demo-cluster.js';
import type { Infrastructure } from './infrastructure.js';
import { waitForAssignment } from './wait-for-assignment.js';

/** Options of {@link createServerInfrastructure}. */
export interface ServerInfrastructureOptions {
  /** The project directory (the repo root in this repository): the service processes run from there. */
  readonly root: string;
  /** The app the processes load. */
  readonly app: DemoApp;
  /** Data directory of the servers the demo started, for the label. */
  readonly dataDir: string;
  /** Where the service processes' log files go. */
  readonly logDir: string;
  readonly log: Logger;
  /** Aborted on SIGINT/SIGTERM: services stop sooner. */
  readonly signal: AbortSignal;
  /** Aborted on a second Ctrl-C: every service process is SIGKILLed at once. */
  readonly kill?: AbortSignal;
}

/**
 * The distributed demo on real servers: workers (membership mode), the projector, the gateway, the
 * dashboard and the app's web server as child processes over NATS and Postgres, each with its log
 * file, stopped by pid.
 */
export function createServerInfrastructure(servers: Servers, options: ServerInfrastructureOptions): Infrastructure {
  const { natsUrl, databaseUrl } = servers;
  if (natsUrl === undefined || databaseUrl === undefined) throw new Error(`no NATS or Postgres URL in ${servers.summary}`);
  const { log, signal, kill, logDir } = options;
  const started = servers.natsPid !== undefined || servers.postgresPid !== undefined;
  if (servers.natsPid !== undefined) log.info({ url: natsUrl, pid: servers.natsPid }, 'started nats-server');
  if (servers.postgresPid !== undefined) log.info({ url: databaseUrl, pid: servers.postgresPid }, 'started Postgres');
  const label = `${servers.summary}${started ? `; data in ${options.dataDir}` : ''}`;
  let poolEnded = false;
  const pool = handlePoolErrors(new pg.Pool({ connectionString: databaseUrl, max: 20 }), (err) => {
    if (!poolEnded) log.warn({ err }, 'Postgres connection lost');
  });
  const cluster = new DemoCluster({ root: options.root, logDir, natsUrl, databaseUrl, log, app: options.app.file });
  const projector = needsProjector(options.app.app);
  const store = createPostgresEventStore({ pool });
  return {
    label,
    distributed: true,
    logDir,
    urls: { nats: natsUrl, database: databaseUrl },
    pool,
    store,
    async startServices(workers, cleanups) {
      // Killing by pid on a second Ctrl-C; the orderly stop drains.
      kill?.addEventListener('abort', () => cluster.killAll(), { once: true });
      cleanups.push(() => cluster.stop(signal.aborted ? 4_000 : 15_000));
      log.info({ workers, projector, logs: logDir }, 'starting workers and the projector');
      await Promise.all([...Array.from({ length: workers }, () => cluster.addWorker()), ...(projector ? [cluster.startProjector()] : [])]);
      const wait = await waitForAssignment({
        owners: () => store.partitionEpochs(),
        workers: cluster
          .workers()
          .filter((w) => w.alive)
          .map((w) => w.id),
        partitions: Number(process.env.RATCHET_PARTITIONS || 64),
        timeoutMs: 30_000,
        signal,
      });
      if (wait.settled) log.info({ waitedMs: wait.waitedMs }, 'every partition is with its worker');
      else log.warn({ waitedMs: wait.waitedMs, misplaced: wait.misplaced }, 'partitions still moving between workers; starting anyway');
      return workers;
    },
    connectClient: () => connectClient({ servers: natsUrl.split(','), timeoutMs: 20_000 }),
    async startDashboard(request, cleanups) {
      const control = await startControlServer(cluster, request.simulator);
      cleanups.push(() => control.close());
      const dashboard = await cluster.startDashboard({
        HTTP_PORT: String(request.port),
        DEMO_CONTROL_URL: control.url,
        DEMO_DISTRIBUTED: 'true',
        DEMO_INFRASTRUCTURE: label,
      });
      return Number(dashboard.ready.httpPort);
    },
    async startGateway(request) {
      // Stopped with the cluster (the last started first), before the workers.
      const gateway = await cluster.startGateway(request.port);
      return Number(gateway.ready.httpPort);
    },
    async startWeb(request) {
      await cluster.startWeb(request.entry, request.port, request.gatewayUrl);
    },
    async stop() {
      poolEnded = true;
      try {
        await pool.end();
      } finally {
        // Last: the workers and the projector have drained by now (runDemo stops them first).
        if (started) log.info({ natsPid: servers.natsPid, postgresPid: servers.postgresPid }, 'stopping the servers the demo started');
        await servers.teardown();
        if (started) log.info('servers stopped');
      }
    },
  };
}
